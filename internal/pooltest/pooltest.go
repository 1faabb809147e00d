// Package pooltest holds what the tests of the metrics exporters share: a
// pool to a test server, a pool that cannot dial, and a known workload
// whose counts the exporters' output is checked against.
package pooltest

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/testserver"
)

// NewPool returns a ConnPool to s (if not nil) described by cfg; it is
// drained, its goroutines ended, when the test ends.
func NewPool(t testing.TB, s *testserver.Server, cfg connpool.Config) *connpool.ConnPool {
	t.Helper()
	if s != nil {
		cfg.Addr = s.Addr()
	}
	p, err := connpool.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testserver.WaitLimit)
		defer cancel()
		if n, err := p.Drain(ctx); err != nil {
			t.Errorf("Drain: %d connections still out: %v", n, err)
		}
	})
	return p
}

// DialTCPPool returns a TCPPool described by cfg, closed when the test ends.
func DialTCPPool(t testing.TB, cfg connpool.TCPPoolConfig) *connpool.TCPPool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testserver.WaitLimit)
	defer cancel()
	p, err := connpool.DialPool(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// Refusing is a Dial function that fails as a dial to a closed port does.
func Refusing(context.Context, string, string) (net.Conn, error) {
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

// Get checks a connection out of p.
func Get(t testing.TB, p *connpool.ConnPool) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testserver.WaitLimit)
	defer cancel()
	c, err := p.Get(ctx)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return c
}

// GetResult is what a Get in the background returned.
type GetResult struct {
	C   net.Conn
	Err error
}

// GetAsync starts a Get on p in the background, with ctx, and returns where
// its result arrives.
func GetAsync(p *connpool.ConnPool, ctx context.Context) <-chan GetResult {
	ch := make(chan GetResult, 1)
	go func() {
		c, err := p.Get(ctx)
		ch <- GetResult{c, err}
	}()
	return ch
}

// WaitFor waits until cond holds. The pools have no event to wait on for
// what these tests wait for (a Get joining the line, a connection coming
// up), so it looks at their Stats, yielding in between, until cond holds
// or testserver.WaitLimit passes.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testserver.WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// Workload runs a known workload on db, a pool of 2 connections to an echo
// server, and down, a pool of 1 that cannot dial, and checks their Stats
// against its own count of what happened, so that a Stats that missed an
// event is caught too, not only an exporter that misreads Stats. Midway,
// while a Get waits with both of db's connections out, it calls midway
// with db's Stats and the number of connections given back so far. It
// returns that number at the end.
//
// The workload: a Get that dials; five Gets and a TryGet from the idle
// list; two Gets holding both connections and a third waiting for one;
// a Get canceled while it waits; a Get past its deadline; a connection
// marked unusable; a Get on down whose dial fails.
func Workload(t testing.TB, db, down *connpool.ConnPool, midway func(st connpool.Stats, returns int)) (returns int) {
	t.Helper()
	put := func(c net.Conn) {
		t.Helper()
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		returns++
	}
	put(Get(t, db))
	for range 5 {
		put(Get(t, db))
	}
	c, err := db.TryGet()
	if err != nil {
		t.Fatalf("TryGet: %v", err)
	}
	put(c)

	c1, c2 := Get(t, db), Get(t, db)
	waiter := GetAsync(db, context.Background())
	WaitFor(t, "a Get waiting", func() bool { return db.Stats().Waiting == 1 })
	st := db.Stats()
	if st.Waiting != 1 || st.InUse != 2 || st.Idle != 0 {
		t.Fatalf("stats while a Get waits: %+v", st)
	}
	midway(st, returns)
	put(c1)
	r := <-waiter
	if r.Err != nil {
		t.Fatalf("the waiting Get: %v", r.Err)
	}
	c3 := r.C

	ctx, cancel := context.WithCancel(context.Background())
	canceled := GetAsync(db, ctx)
	WaitFor(t, "a Get waiting", func() bool { return db.Stats().Waiting == 1 })
	cancel()
	if r := <-canceled; !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("the canceled Get returned %v, %v; want context.Canceled", r.C, r.Err)
	}
	late, cancelLate := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelLate()
	if _, err := db.Get(late); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a Get past its deadline returned %v", err)
	}

	c2.(*connpool.PoolConn).MarkUnusable()
	put(c2)
	put(c3)

	if _, err := down.Get(context.Background()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Get on a pool that cannot dial: %v, want ECONNREFUSED", err)
	}

	st = db.Stats()
	if st.GetsFromIdle != 7 || st.GetsWaited != 3 || st.GetsCanceled != 2 || st.GetsTimedOut != 1 || st.GetsFailed != 0 ||
		st.Dials != 2 || st.DialErrors != 0 || st.ClosedUnusable != 1 || st.Closed() != 1 ||
		st.Open != 1 || st.Idle != 1 || st.InUse != 0 || st.Waiting != 0 || st.MaxConns != 2 {
		t.Fatalf("db stats after the workload: %+v", st)
	}
	if dst := down.Stats(); dst.GetsFailed != 1 || dst.Dials != 1 || dst.DialErrors != 1 || dst.Open != 0 {
		t.Fatalf("down stats after the workload: %+v", dst)
	}
	return returns
}

// Reconnect has srv close logs' only connection and writes until the pool
// has replaced it, for the checks of the stale close, the reconnect and
// the dials. The next Write's probe finds the close and the pool redials;
// should the close not have arrived yet, that Write goes into the dead
// socket and a later one finds the reset.
func Reconnect(t testing.TB, srv *testserver.Server, logs *connpool.TCPPool) connpool.TCPPoolStats {
	t.Helper()
	if _, err := logs.Write([]byte("before\n")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	srv.WaitTotal(len("before\n"))
	srv.CloseConns()
	srv.WaitOpen(0)
	WaitFor(t, "a reconnect", func() bool {
		logs.Write([]byte("after\n")) // may fail: the check is against Stats
		st := logs.Stats()
		return st.Reconnects > 0 && st.ConnsUp == 1
	})
	st := logs.Stats()
	if st.Dials < 2 {
		t.Fatalf("stats after the reconnect: %+v", st)
	}
	return st
}

// ObservedPool is a ConnPool that counts the observers attached to it and
// not yet removed, for the checks that an exporter removes its own.
type ObservedPool struct {
	*connpool.ConnPool
	attached atomic.Int32
}

// Observe attaches o to the pool and counts it until it is removed.
func (p *ObservedPool) Observe(o connpool.Observer) (remove func()) {
	p.attached.Add(1)
	rm := p.ConnPool.Observe(o)
	var once sync.Once
	return func() {
		once.Do(func() {
			rm()
			p.attached.Add(-1)
		})
	}
}

// Attached returns the number of observers attached and not removed.
func (p *ObservedPool) Attached() int { return int(p.attached.Load()) }

// WaitingWrite returns a TCPPool named name with one connection to srv,
// that connection broken under the pool, and a Write waiting for it to
// come back: the pool's redial cannot finish until release is called.
// release lets it, and checks that the Write then succeeds. For the checks
// of what an exporter says of Writes waiting.
func WaitingWrite(t testing.TB, srv *testserver.Server, name string) (logs *connpool.TCPPool, release func()) {
	t.Helper()
	gate := make(chan struct{})
	first := make(chan net.Conn, 1)
	var dials atomic.Int32
	var d net.Dialer
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) > 1 {
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		c, err := d.DialContext(ctx, network, addr)
		if err == nil && dials.Load() == 1 {
			first <- c
		}
		return c, err
	}
	// Attempts enough for the Write to wait out the test.
	logs = DialTCPPool(t, connpool.TCPPoolConfig{Name: name, Addrs: []string{srv.Addr()}, Size: 1, Dial: dial, MaxAttempts: 1 << 20})
	(<-first).Close()
	done := make(chan error, 1)
	go func() {
		_, err := logs.Write([]byte("waited\n"))
		done <- err
	}()
	WaitFor(t, "a Write waiting", func() bool {
		select {
		case err := <-done:
			t.Fatalf("the Write returned %v before it waited", err)
		default:
		}
		return logs.Stats().Waiting == 1
	})
	return logs, func() {
		t.Helper()
		close(gate)
		if err := <-done; err != nil {
			t.Fatalf("the waiting Write: %v", err)
		}
	}
}

// BenchGetPut measures Get and return on a pool of 8 connections to a new
// echo server, prefilled, on one goroutine and on GOMAXPROCS goroutines,
// with attach applied to each pool before timing.
func BenchGetPut(b *testing.B, attach func(*testing.B, *connpool.ConnPool)) {
	getPut := func(p *connpool.ConnPool) error {
		c, err := p.Get(context.Background())
		if err != nil {
			return err
		}
		return c.Close()
	}
	open := func(b *testing.B) *connpool.ConnPool {
		const size = 8
		s := testserver.Start(b, (*testserver.Server).Echo)
		p := NewPool(b, s, connpool.Config{Name: "bench", MaxConns: size, InitialConns: size})
		s.WaitOpen(size)
		attach(b, p)
		return p
	}
	b.Run("Goroutines=1", func(b *testing.B) {
		p := open(b)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if err := getPut(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Goroutines=GOMAXPROCS", func(b *testing.B) {
		p := open(b)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := getPut(p); err != nil {
					b.Error(err) // not Fatal: this is not the benchmark's goroutine
					return
				}
			}
		})
	})
}

// CloseReasons returns how many close reasons connpool names, for the
// exporters' checks that none is left out.
func CloseReasons() int {
	n := 0
	for r := connpool.CloseReason(1); r.String() != "unknown"; r++ {
		n++
	}
	return n
}
