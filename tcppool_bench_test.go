package connpool_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/testserver"
)

// discardServer accepts connections on 127.0.0.1 and drains them, doing
// as little as it can so that the benchmarks measure the writers.
type discardServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newDiscardServer(b *testing.B) *discardServer {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &discardServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	b.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// fanOut is the floor TCPPool is measured against: a round-robin over raw
// sockets with no lock of its own, since a net.Conn's write lock already
// keeps each Write whole. It does nothing about failures.
type fanOut struct {
	conns []net.Conn
	next  atomic.Uint64
}

func (f *fanOut) Write(b []byte) (int, error) {
	return f.conns[(f.next.Add(1)-1)%uint64(len(f.conns))].Write(b)
}

// BenchmarkTCPPoolWrite measures 100-byte Writes from 8 goroutines over 4
// connections: through a TCPPool with each balancer, through one that
// probes before every Write (the cost of the idle probe, paid in full),
// and through the raw fan-out, in the same run so that the ratio is fair.
func BenchmarkTCPPoolWrite(b *testing.B) {
	const conns, goroutines = 4, 8
	msg := bytes.Repeat([]byte("m"), 100)
	open := map[string]func(b *testing.B, addr string) io.Writer{
		"RawFanOut": func(b *testing.B, addr string) io.Writer {
			f := &fanOut{}
			for range conns {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { c.Close() })
				f.conns = append(f.conns, c)
			}
			return f
		},
	}
	type setup struct {
		balancer  func() connpool.Balancer
		idleProbe time.Duration
	}
	for name, set := range map[string]setup{
		"Balancer=RoundRobin":               {connpool.RoundRobin, 0},
		"Balancer=LeastLoaded":              {connpool.LeastLoaded, 0},
		"Balancer=Random":                   {connpool.Random, 0},
		"Balancer=RoundRobin/IdleProbe=1ns": {connpool.RoundRobin, time.Nanosecond},
	} {
		open["TCPPool/"+name] = func(b *testing.B, addr string) io.Writer {
			p, err := connpool.DialPool(context.Background(), connpool.TCPPoolConfig{
				Addrs:      []string{addr},
				Size:       conns,
				Balancer:   set.balancer(),
				ProbeAfter: set.idleProbe,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { p.Close() })
			if st := p.Stats(); st.ConnsUp != conns {
				b.Fatalf("stats %+v, want %d connections up", st, conns)
			}
			return p
		}
	}
	for _, impl := range []string{
		"RawFanOut",
		"TCPPool/Balancer=RoundRobin",
		"TCPPool/Balancer=LeastLoaded",
		"TCPPool/Balancer=Random",
		"TCPPool/Balancer=RoundRobin/IdleProbe=1ns",
	} {
		b.Run("Impl="+impl+"/Conns=4/Goroutines=8", func(b *testing.B) {
			w := open[impl](b, newDiscardServer(b).ln.Addr().String())
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((goroutines + procs - 1) / procs)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if n, err := w.Write(msg); n != len(msg) || err != nil {
						b.Errorf("Write = %d, %v", n, err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkTCPPoolRoundTrip measures a 100-byte request and its echoed
// answer on one connection, one at a time: through a TCPPool of one
// connection (its Write, then its Read) and through the raw socket, in the
// same run so that the ratio is fair. It is the cost of TCPPool's Read
// path where a caller would see it, in a round trip on a real socket.
func BenchmarkTCPPoolRoundTrip(b *testing.B) {
	msg := bytes.Repeat([]byte("m"), 100)
	open := map[string]func(b *testing.B, addr string) io.ReadWriter{
		"Raw": func(b *testing.B, addr string) io.ReadWriter {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { c.Close() })
			return c
		},
		"TCPPool": func(b *testing.B, addr string) io.ReadWriter {
			p, err := connpool.DialPool(context.Background(), connpool.TCPPoolConfig{
				Addrs: []string{addr},
				Size:  1,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { p.Close() })
			return p
		},
	}
	for _, impl := range []string{"Raw", "TCPPool"} {
		b.Run("Impl="+impl, func(b *testing.B) {
			rw := open[impl](b, testserver.Start(b, (*testserver.Server).Copy).Addr())
			buf := make([]byte, len(msg))
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := rw.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(rw, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
