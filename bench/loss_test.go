package bench

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	// lossRun is how long the writers write in one iteration of the loss
	// scenario.
	lossRun = 100 * time.Millisecond

	// lossCloseEvery is how often the server closes a connection, the one
	// open longest.
	lossCloseEvery = 5 * time.Millisecond

	// lossGrace is how long the server goes on reading a connection after
	// telling the client, with FIN, that it is closing it.
	lossGrace = 2 * time.Millisecond
)

// lossImpls are the pools of the loss scenario: TCPPool with its defaults,
// TCPPool probing before every write, and the naive round-robin. The raw
// fan-out does not reconnect, so the first close would end it.
var lossImpls = []streamImpl{
	{"tcppool", openTCPPool},
	{"tcppoolprobe", func(addr string, opt streamOptions) (io.WriteCloser, error) {
		opt.idleProbe = time.Nanosecond
		return openTCPPool(addr, opt)
	}},
	{"naiverr", openNaiveRR},
}

// BenchmarkLoss measures messages lost when the server closes connections
// under a writer's feet. Eight goroutines write 100-byte messages over 4
// connections for 100ms, while the server closes one connection every 5ms,
// gracefully: it sends FIN, reads what arrives for 2ms more (or until the
// client closes its side), then closes. It reports, per 100ms run:
//
//   - lost-msgs: messages whose Write returned success but which the server
//     never received whole (each message carries a number of its own, so
//     that neither a failed Write's message arriving nor one sent twice
//     makes up for one lost);
//   - sent-msgs: Writes that returned success.
//
// Under Rate=max every goroutine writes as fast as it can; under Rate=paced
// each writes one message every 4ms, a steady log stream in which each
// connection rests 2ms between writes. Pool=tcppoolprobe is a TCPPool with
// ProbeAfter 1ns, so that every Write checks its connection first, not only
// the first after a rest of 1ms.
func BenchmarkLoss(b *testing.B) {
	for _, rate := range []struct {
		name  string
		pause time.Duration
	}{{"max", 0}, {"paced", 4 * time.Millisecond}} {
		for _, impl := range lossImpls {
			b.Run(fmt.Sprintf("Rate=%s/Pool=%s", rate.name, impl.name), func(b *testing.B) {
				var got seqSet
				srv := newServer(b, frames(got.add))
				var lost, sent int64
				for b.Loop() {
					l, s := lossOnce(b, srv, &got, impl, rate.pause)
					lost += l
					sent += s
				}
				b.ReportMetric(float64(lost)/float64(b.N), "lost-msgs")
				b.ReportMetric(float64(sent)/float64(b.N), "sent-msgs")
			})
		}
	}
}

// lossOnce runs one iteration of BenchmarkLoss and returns the messages lost
// and those Writes reported sent.
func lossOnce(b *testing.B, srv *server, got *seqSet, impl streamImpl, pause time.Duration) (lost, sent int64) {
	b.StopTimer()
	got.reset()
	srv.resetAccepts()
	var dialled atomic.Int64
	w, err := impl.open(srv.addr, streamOptions{dialled: &dialled})
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()

	var (
		next atomic.Uint64
		ok   [streamWriters][]uint64 // the messages each writer's Writes reported sent
		wg   sync.WaitGroup
		stop = make(chan struct{})
	)
	wg.Add(streamWriters + 1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(lossCloseEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				srv.closeOldest(lossGrace)
			}
		}
	}()
	for i := range streamWriters {
		go func() {
			defer wg.Done()
			msg := newFrame(0)
			var tick <-chan time.Time
			if pause > 0 {
				t := time.NewTicker(pause)
				defer t.Stop()
				tick = t.C
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				seq := next.Add(1)
				putFrame(msg, seq)
				if _, err := w.Write(msg); err == nil {
					ok[i] = append(ok[i], seq)
				}
				if tick != nil {
					select {
					case <-stop:
						return
					case <-tick:
					}
				}
			}
		}()
	}
	time.Sleep(lossRun)
	close(stop)
	wg.Wait()

	b.StopTimer()
	defer b.StartTimer()
	// Close the pool so that the server reads every connection to its end
	// (or to the end of its grace), then count.
	w.Close()
	if err := srv.waitDone(dialled.Load()); err != nil {
		b.Fatal(err)
	}
	for _, seqs := range ok {
		sent += int64(len(seqs))
		for _, seq := range seqs {
			if !got.has(seq) {
				lost++
			}
		}
	}
	return lost, sent
}

// seqSet is the set of message numbers a server received whole.
type seqSet struct {
	mu   sync.Mutex
	seqs map[uint64]struct{} // guarded by mu
}

func (s *seqSet) add(seq uint64) {
	s.mu.Lock()
	s.seqs[seq] = struct{}{}
	s.mu.Unlock()
}

func (s *seqSet) has(seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.seqs[seq]
	return ok
}

func (s *seqSet) reset() {
	s.mu.Lock()
	s.seqs = make(map[uint64]struct{})
	s.mu.Unlock()
}
