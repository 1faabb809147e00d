package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	// outage is how long the server stays down in the recovery scenario:
	// a real restart takes seconds, scaled down so that an iteration takes
	// a tenth of a second.
	outage = 50 * time.Millisecond

	// recoveryClients make requests through each pool of poolSize
	// connections.
	recoveryClients = 8

	// steadyPace is the pause between two requests of a client under
	// Load=steady, failed or not.
	steadyPace = time.Millisecond

	// deliveryWait is how long a client of a write-only pool waits for the
	// server to receive a message the pool reported written before taking
	// it for lost and writing another. Loopback delivers in microseconds.
	deliveryWait = 10 * time.Millisecond

	// recoveryWait bounds an iteration: the clients a pool has not served
	// within it after the server's return give up, and count in
	// unserved-clients.
	recoveryWait = 5 * time.Second
)

// BenchmarkRecovery measures what happens when the server restarts: it
// closes its listener and every connection, stays down for 50ms, and
// listens again on the same port. Eight clients share a pool of 8
// connections. Each iteration is one restart, and reports:
//
//   - recover-ns: from the server's return to the first successful request
//     after it (for the write-only TCPPool, to the first message the
//     restarted server receives);
//   - failed-reqs: requests made after the server's return that failed (for
//     TCPPool, Writes that returned an error, plus Writes that returned
//     success but whose message never arrived);
//   - refused-reqs: of failed-reqs, those that failed with "connection
//     refused": the error of a dial made while the server was down, since
//     none made after its return is refused;
//   - lost-reqs, for TCPPool only: of failed-reqs, the Writes that returned
//     success but whose message never arrived;
//   - unserved-clients: clients still without a success 5s after the
//     return, when the iteration gives up on them (recover-ns then counts
//     the 5s if no client had one).
//
// Under Load=idle the pool sits idle, full of connections the server closed,
// while the server is down, and the clients start when it returns, each
// retrying at once until it has one success: this measures stale
// connections. Under Load=steady the clients run throughout, one request
// per millisecond each: this measures how soon the pool notices the return.
func BenchmarkRecovery(b *testing.B) {
	for _, load := range []string{"idle", "steady"} {
		for _, impl := range recoveryImpls {
			b.Run(fmt.Sprintf("Load=%s/Pool=%s", load, impl.name), func(b *testing.B) {
				rec := new(received)
				handle := echo
				if impl.writeOnly {
					handle = frames(rec.add)
				}
				srv := newServer(b, handle)
				var recoverSum time.Duration
				var unservedSum, failedSum, refusedSum, lostSum int
				for b.Loop() {
					o := restartOnce(b, srv, rec, impl, load == "steady")
					recoverSum += o.recover
					unservedSum += o.unserved
					failedSum += o.failed
					refusedSum += o.refused
					lostSum += o.lost
				}
				b.ReportMetric(float64(recoverSum.Nanoseconds())/float64(b.N), "recover-ns")
				b.ReportMetric(float64(failedSum)/float64(b.N), "failed-reqs")
				b.ReportMetric(float64(refusedSum)/float64(b.N), "refused-reqs")
				b.ReportMetric(float64(unservedSum)/float64(b.N), "unserved-clients")
				if impl.writeOnly {
					b.ReportMetric(float64(lostSum)/float64(b.N), "lost-reqs")
				}
				// The first step of the pool's dial backoff, which the
				// recovery target is judged against.
				switch impl.name {
				case "connpool":
					b.ReportMetric(float64(connpoolBackoffStep.Nanoseconds()), "backoff-ns")
				case "tcppool":
					b.ReportMetric(float64(tcppoolBackoffStep.Nanoseconds()), "backoff-ns")
				}
			})
		}
	}
}

// requester makes requests through a pool for the recovery scenario.
type requester interface {
	// request sends a request carrying seq, using frame, which is
	// frameSize long, and buf, as long, for the reply. It returns the
	// request's error; for a write-only pool, nil means the Write
	// succeeded, not that the message arrived.
	request(ctx context.Context, seq uint64, frame, buf []byte) error
	close()
}

// recoveryImpl is a pool under comparison in the recovery scenario.
type recoveryImpl struct {
	name      string
	writeOnly bool // no reply: the server confirms requests; see requester
	// open opens the pool, which counts the connections it opens in
	// dialled if it is write-only.
	open func(addr string, dialled *atomic.Int64) (requester, error)
}

// recoveryImpls are every checkout pool and TCPPool, each with its
// defaults.
var recoveryImpls = func() []recoveryImpl {
	var impls []recoveryImpl
	for _, impl := range checkoutImpls {
		opt := checkoutOptions{}
		impls = append(impls, recoveryImpl{impl.name, false, func(addr string, _ *atomic.Int64) (requester, error) {
			p, err := impl.open(dialer(addr), poolSize, opt)
			return rtRequester{p}, err
		}})
	}
	return append(impls, recoveryImpl{"tcppool", true, func(addr string, dialled *atomic.Int64) (requester, error) {
		w, err := openTCPPool(addr, streamOptions{size: poolSize, dialled: dialled})
		return writeRequester{w}, err
	}})
}()

// rtRequester makes echo requests through a checkout pool.
type rtRequester struct{ p checkoutPool }

func (r rtRequester) request(ctx context.Context, seq uint64, frame, buf []byte) error {
	putFrame(frame, seq)
	return roundTrip(ctx, r.p, frame, buf)
}

func (r rtRequester) close() {
	if r.p != nil {
		r.p.close()
	}
}

// writeRequester writes messages through a write-only pool.
type writeRequester struct{ w io.WriteCloser }

func (r writeRequester) request(_ context.Context, seq uint64, frame, _ []byte) error {
	putFrame(frame, seq)
	_, err := r.w.Write(frame)
	return err
}

func (r writeRequester) close() {
	if r.w != nil {
		r.w.Close()
	}
}

// received records the messages a server received.
type received struct {
	mu      sync.Mutex
	seqs    map[uint64]bool // guarded by mu
	first   time.Time       // guarded by mu; when the first message arrived
	changed chan struct{}   // guarded by mu; closed and replaced by add
}

func (r *received) add(seq uint64) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seqs == nil {
		r.seqs = map[uint64]bool{}
	}
	r.seqs[seq] = true
	if r.first.IsZero() {
		r.first = now
	}
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

// wait reports whether message seq arrives within timeout.
func (r *received) wait(seq uint64, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		r.mu.Lock()
		if r.seqs[seq] {
			r.mu.Unlock()
			return true
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-t.C:
			return false
		}
	}
}

// reset forgets what was received so far.
func (r *received) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.seqs)
	r.first = time.Time{}
}

func (r *received) has(seq uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seqs[seq]
}

func (r *received) firstAt() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first
}

// restartOutcome is what one restart cost.
type restartOutcome struct {
	recover  time.Duration
	unserved int // clients with no success within recoveryWait
	failed   int // requests made after the return that failed
	refused  int // of failed, those refused: by a dial made before the return
	lost     int // of failed, Writes reported written that never arrived
}

// result is the outcome of a request that ended after the server's return.
type result struct {
	seq        uint64
	start, end time.Time
	err        error
}

// restartOnce opens a pool on srv, restarts srv under the given load, and
// measures the recovery. The pool's opening and closing are not timed.
func restartOnce(b *testing.B, srv *server, rec *received, impl recoveryImpl, steady bool) restartOutcome {
	b.StopTimer()
	var dialled atomic.Int64 // by a write-only pool
	r, err := impl.open(srv.addr, &dialled)
	if err != nil {
		b.Fatal(err)
	}
	var closeOnce sync.Once
	closePool := func() { closeOnce.Do(r.close) }
	defer closePool()
	b.StartTimer()

	var (
		up      atomic.Pointer[time.Time] // when the server returned; nil before
		seq     atomic.Uint64
		mu      sync.Mutex
		results []result // guarded by mu
		wg      sync.WaitGroup
	)
	stop := make(chan struct{})
	var served atomic.Int64 // clients done with a success
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := func() {
		defer wg.Done()
		frame, buf := make([]byte, frameSize), make([]byte, frameSize)
		for {
			s := seq.Add(1)
			start := time.Now()
			err := r.request(ctx, s, frame, buf)
			end := time.Now()
			if t := up.Load(); t != nil && !end.Before(*t) {
				mu.Lock()
				results = append(results, result{s, start, end, err})
				mu.Unlock()
				// A write-only pool's success counts once the server has
				// the message; one that never arrives is counted as failed
				// at the end, and the client goes on.
				if err == nil && (!impl.writeOnly || rec.wait(s, deliveryWait)) {
					served.Add(1)
					return
				}
			}
			if !steady {
				select {
				case <-stop:
					return
				default:
				}
				continue
			}
			select {
			case <-stop:
				return
			case <-time.After(steadyPace):
			}
		}
	}
	startClients := func() {
		wg.Add(recoveryClients)
		for range recoveryClients {
			go client()
		}
	}

	if steady {
		startClients()
		time.Sleep(5 * steadyPace) // the pool in use
	}
	srv.stop()
	time.Sleep(outage)
	rec.reset()
	dialled.Store(0) // the server is down: no dial succeeds until start
	// A request needs the accept loop, which starts after t, to succeed, so
	// none can succeed before t; dials made while listen ran fail, and
	// count only if they started after t.
	t, err := srv.start()
	if err != nil {
		close(stop)
		wg.Wait()
		b.Fatal(err)
	}
	up.Store(&t)
	if !steady {
		startClients()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	timeout := time.NewTimer(recoveryWait)
	defer timeout.Stop()
	var o restartOutcome
	select {
	case <-done:
	case <-timeout.C:
		close(stop)
		cancel()
		// A pool whose Get takes no context cannot be told to give up: if
		// its clients are still stuck after a while, it is hung.
		select {
		case <-done:
		case <-time.After(stallAfter):
			hung(b.Name(), fmt.Sprintf("clients still waiting in Get %v after the iteration gave up on them", stallAfter))
		}
		o.unserved = recoveryClients - int(served.Load())
	}
	b.StopTimer()
	defer b.StartTimer()

	for _, res := range results {
		// A request cut short by the iteration's end is no failure of the
		// pool's.
		if res.err != nil && !res.start.Before(t) && !errors.Is(res.err, context.Canceled) {
			o.failed++
			if errors.Is(res.err, syscall.ECONNREFUSED) {
				o.refused++
			}
		}
	}
	if !impl.writeOnly {
		first := time.Time{}
		for _, res := range results {
			if res.err == nil && (first.IsZero() || res.end.Before(first)) {
				first = res.end
			}
		}
		o.recover = sinceOr(t, first)
		return o
	}
	// A Write's success says only that the local kernel took the message:
	// close the pool, so that the server reads every connection to its
	// end, and look for each message it reported written.
	closePool()
	if err := srv.waitDone(dialled.Load()); err != nil {
		b.Fatal(err)
	}
	for _, res := range results {
		if res.err == nil && !res.start.Before(t) && !rec.has(res.seq) {
			o.failed++
			o.lost++
		}
	}
	o.recover = sinceOr(t, rec.firstAt())
	return o
}

// sinceOr returns how long after t the first success came, or recoveryWait
// if none came (first is zero): a lower bound.
func sinceOr(t, first time.Time) time.Duration {
	if first.IsZero() {
		return recoveryWait
	}
	return first.Sub(t)
}
