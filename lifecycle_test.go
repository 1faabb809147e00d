package connpool_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/pooltest"
	"github.com/seed-a245f091/connpool/internal/testserver"
)

// newFakePool builds a pool on a fake clock and closes it at the end of the
// test, waiting for its background work.
func newFakePool(t testing.TB, cfg connpool.Config) (*connpool.ConnPool, *connpool.FakeClock) {
	t.Helper()
	clk := connpool.NewFakeClock()
	p, err := connpool.NewWithClock(cfg, clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		p.WaitDials()
	})
	return p, clk
}

// requireProbe skips a test of the stale-connection probe where the
// platform has none.
func requireProbe(t *testing.T) {
	t.Helper()
	if !connpool.ProbeSupported {
		t.Skip("no stale-connection probe on this platform")
	}
}

// closes records OnClose calls.
type closes struct {
	mu      sync.Mutex
	reasons []connpool.CloseReason
	ch      chan connpool.CloseReason
}

func newCloses() *closes { return &closes{ch: make(chan connpool.CloseReason, 100)} }

func (c *closes) hook(_ net.Conn, r connpool.CloseReason) {
	c.mu.Lock()
	c.reasons = append(c.reasons, r)
	c.mu.Unlock()
	c.ch <- r
}

// wait waits for the next n closes and checks their reason.
func (c *closes) wait(t testing.TB, n int, want connpool.CloseReason) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for range n {
		select {
		case r := <-c.ch:
			if r != want {
				t.Fatalf("closed for %v, want %v", r, want)
			}
		case <-timeout:
			t.Fatalf("timed out waiting for a close (%v)", want)
		}
	}
}

func TestDeadConnectionIsNotHandedOut(t *testing.T) {
	requireProbe(t)
	s := newServer(t)
	cl := newCloses()
	p, clk := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 2, InitialConns: 2, OnClose: cl.hook})
	s.WaitOpen(2)
	s.CloseConns() // the server restarts, or times idle clients out
	s.WaitOpen(0)
	clk.Advance(probeAfter)

	c := get(t, p)
	echo(t, c, "fresh after a restart")
	c.Close()
	cl.wait(t, 2, connpool.CloseStale)
	st := p.Stats()
	if st.ClosedStale != 2 || st.Dials != 3 || st.Open != 1 {
		t.Errorf("stats %+v: want 2 closed stale, 3 dials, 1 open", st)
	}
}

// strayBytesOnIdle checks p's only connection out and gives it back, has
// the server send it msg unasked, and returns its socket once the bytes
// are in this side's kernel.
func strayBytesOnIdle(t testing.TB, p connpool.Pool, s *server, msg string) net.Conn {
	t.Helper()
	c := get(t, p)
	socket := underlying(c)
	c.Close()
	s.WaitOpen(1)
	s.Push(msg)
	waitReadable(t, socket)
	return socket
}

// A connection given back less than ProbeAfter ago goes out without a
// peek: bytes the server sent it meanwhile are still there for the holder.
func TestProbeIsSkippedForRecentlyReturnedConns(t *testing.T) {
	s := newServer(t)
	p, clk := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1, InitialConns: 1})
	first := strayBytesOnIdle(t, p, s, "x")
	clk.Advance(probeAfter - time.Microsecond)
	c := get(t, p) // inside the bypass window: not probed
	defer c.Close()
	if underlying(c) != first {
		t.Fatal("a connection returned within ProbeAfter was replaced")
	}
	if st := p.Stats(); st.ClosedStale != 0 || st.Dials != 1 {
		t.Errorf("stats %+v: a recently returned connection was probed", st)
	}
	buf := make([]byte, 1)
	if _, err := io.ReadFull(c, buf); err != nil || buf[0] != 'x' {
		t.Errorf("read %q, %v: want the byte the server sent", buf, err)
	}
}

func TestUnaskedBytesMakeAConnStale(t *testing.T) {
	requireProbe(t)
	s := newServer(t)
	p, clk := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	socket := strayBytesOnIdle(t, p, s, "stray reply")
	clk.Advance(time.Hour)
	c := get(t, p)
	if underlying(c) == socket {
		t.Fatal("handed out the connection with a stray reply")
	}
	echo(t, c, "clean stream") // would read "stray reply" on the old one
	c.Close()
	if st := p.Stats(); st.ClosedStale != 1 {
		t.Errorf("ClosedStale = %d, want 1", st.ClosedStale)
	}
}

// TryGet peeks at an idle connection as Get does: one with bytes nobody
// asked for is closed, not handed out, and TryGet reports none available.
func TestTryGetProbesIdleConns(t *testing.T) {
	requireProbe(t)
	s := newServer(t)
	p, clk := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	socket := strayBytesOnIdle(t, p, s, "stray reply")
	clk.Advance(time.Hour)
	c, err := p.TryGet()
	if err == nil {
		defer c.Close()
		if underlying(c) == socket {
			t.Fatal("TryGet handed out the connection with a stray reply")
		}
	} else if !errors.Is(err, connpool.ErrNotAvailable) {
		t.Fatalf("TryGet = %v, want ErrNotAvailable or a fresh connection", err)
	}
	if st := p.Stats(); st.ClosedStale != 1 {
		t.Errorf("ClosedStale = %d, want 1", st.ClosedStale)
	}
}

func TestLeftoverReadDeadlineIsNoFalseAlarm(t *testing.T) {
	s := newServer(t)
	p, clk := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	c := get(t, p)
	first := underlying(c)
	c.SetReadDeadline(time.Now().Add(-time.Second)) // in the past, left behind
	c.Close()
	clk.Advance(time.Hour)
	c = get(t, p)
	defer c.Close()
	if underlying(c) != first {
		t.Error("a healthy connection with a past read deadline was thrown away")
	}
	if st := p.Stats(); st.ClosedStale != 0 {
		t.Errorf("ClosedStale = %d, want 0", st.ClosedStale)
	}
}

func TestHealthCheckRunsOnlyOnConnsIdleLongEnough(t *testing.T) {
	s := newServer(t)
	var checks atomic.Int32
	errPing := errors.New("ping failed")
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 1, InitialConns: 1, ProbeAfter: time.Second,
		HealthCheck: func(ctx context.Context, c net.Conn) error {
			if checks.Add(1) == 1 {
				return errPing
			}
			echo(t, c, "ping")
			return nil
		},
	})
	c := get(t, p) // new enough: no check
	c.Close()
	if n := checks.Load(); n != 0 {
		t.Fatalf("health check ran %d times on a hot connection", n)
	}
	clk.Advance(time.Second)
	c = get(t, p) // first check fails: closed, a new one dialled
	c.Close()
	clk.Advance(time.Second)
	c = get(t, p) // second check passes
	c.Close()
	st := p.Stats()
	if checks.Load() != 2 || st.ClosedHealthCheck != 1 || st.Dials != 2 {
		t.Errorf("checks=%d stats=%+v: want 2 checks, 1 closed by the check, 2 dials", checks.Load(), st)
	}
}

// A Get whose context ends while HealthCheck runs, and whose check fails
// for it, returns the context's error: it does not go on to check, and
// close, every other idle connection with the context that has ended.
func TestCanceledGetStopsCheckingIdleConns(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var checks atomic.Int32
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 5, InitialConns: 5,
		HealthCheck: func(ctx context.Context, _ net.Conn) error {
			checks.Add(1)
			cancel() // the caller gives up while the ping is under way
			<-ctx.Done()
			return ctx.Err()
		},
	})
	clk.Advance(time.Hour)
	if c, err := p.Get(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get = %v, %v; want context.Canceled", c, err)
	}
	p.WaitDials()
	st := p.Stats()
	if checks.Load() != 1 || st.ClosedHealthCheck != 1 || st.Idle != 4 || st.Dials != 5 || st.GetsCanceled != 1 {
		t.Errorf("checks=%d stats=%+v: want 1 check, 1 closed by it, 4 idle, no dial, 1 Get canceled", checks.Load(), st)
	}
}

// Close ends a Get in a HealthCheck that waits on its context, as it ends
// a Get that waits in line: the check's context ends with the pool.
func TestCloseEndsAGetInItsHealthCheck(t *testing.T) {
	s := newServer(t)
	cl := newCloses()
	checking := make(chan struct{})
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 1, InitialConns: 1, OnClose: cl.hook,
		HealthCheck: func(ctx context.Context, _ net.Conn) error {
			close(checking)
			<-ctx.Done() // a ping to a server that no longer answers
			return ctx.Err()
		},
	})
	clk.Advance(time.Hour)
	got := make(chan error, 1)
	go func() {
		_, err := p.Get(context.Background())
		got <- err
	}()
	<-checking
	p.Close()
	waitErrIs(t, got, connpool.ErrClosed, "a Get in its health check, at Close,")
	cl.wait(t, 1, connpool.ClosePoolClosed)
}

// A Get whose HealthCheck is under way when the pool is Reset or closed
// does not hand out the connection it checked: after a Reset it takes a
// connection dialled since, after a Close it fails with ErrClosed.
// A health check may bound its ping with a deadline on the socket; the
// holder gets the socket without it.
func TestHealthCheckDeadlinesDoNotReachTheHolder(t *testing.T) {
	s := newServer(t)
	var checks atomic.Int32
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 1,
		HealthCheck: func(_ context.Context, c net.Conn) error {
			checks.Add(1)
			if err := c.SetDeadline(time.Now().Add(testserver.WaitLimit)); err != nil {
				return err
			}
			echo(t, c, "ping")
			return c.SetReadDeadline(time.Now().Add(-time.Second)) // as if the ping had just timed out
		},
	})
	get(t, p).Close()
	clk.Advance(time.Second)
	c := get(t, p)
	defer c.Close()
	if n := checks.Load(); n != 1 {
		t.Fatalf("health check ran %d times, want 1", n)
	}
	echo(t, c, "no deadline left over from the check")
}

func TestHealthCheckDoesNotOutliveResetOrClose(t *testing.T) {
	for _, tc := range []struct {
		name   string
		act    func(*connpool.ConnPool)
		reason connpool.CloseReason
	}{
		{"Reset", (*connpool.ConnPool).Reset, connpool.CloseReset},
		{"Close", func(p *connpool.ConnPool) { p.Close() }, connpool.ClosePoolClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			cl := newCloses()
			checking := make(chan struct{})
			release := make(chan struct{})
			var checks atomic.Int32
			p, clk := newFakePool(t, connpool.Config{
				Addr: s.Addr(), MaxConns: 2, InitialConns: 1, OnClose: cl.hook,
				HealthCheck: func(context.Context, net.Conn) error {
					if checks.Add(1) == 1 {
						close(checking)
						<-release
					}
					return nil
				},
			})
			clk.Advance(time.Hour)
			type result struct {
				c   net.Conn
				err error
			}
			got := make(chan result, 1)
			go func() {
				c, err := p.Get(context.Background())
				got <- result{c, err}
			}()
			<-checking
			tc.act(p)
			close(release)
			r := <-got
			cl.wait(t, 1, tc.reason)
			if tc.reason == connpool.ClosePoolClosed {
				if !errors.Is(r.err, connpool.ErrClosed) {
					t.Fatalf("Get = %v, %v; want ErrClosed", r.c, r.err)
				}
				return
			}
			if r.err != nil {
				t.Fatal(r.err)
			}
			defer r.c.Close()
			if st := p.Stats(); st.Dials != 2 || st.ClosedReset != 1 {
				t.Errorf("stats %+v: want the checked connection closed for the Reset, and a second dial", st)
			}
			s.WaitUntil("the connection dialled before the Reset closed", func() bool { return !s.IsOpen(0) })
		})
	}
}

// With the peek off, a connection due for its HealthCheck gets the check
// alone: bytes waiting on it are the check's business.
func TestProbeOffLeavesHealthCheckAlone(t *testing.T) {
	s := newServer(t)
	var checks atomic.Int32
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 1, ProbeAfter: -1,
		HealthCheck: func(context.Context, net.Conn) error {
			checks.Add(1)
			return nil
		},
	})
	socket := strayBytesOnIdle(t, p, s, "x")
	clk.Advance(time.Hour)
	c := get(t, p)
	defer c.Close()
	if underlying(c) != socket || checks.Load() != 1 {
		t.Errorf("replaced: %v, health checks: %d; want the same connection, checked once", underlying(c) != socket, checks.Load())
	}
	if st := p.Stats(); st.ClosedStale != 0 {
		t.Errorf("ClosedStale = %d with the probe off", st.ClosedStale)
	}
}

func TestProbeCanBeTurnedOff(t *testing.T) {
	s := newServer(t)
	p, clk := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1, ProbeAfter: -1})
	socket := strayBytesOnIdle(t, p, s, "x")
	clk.Advance(time.Hour)
	c := get(t, p)
	if underlying(c) != socket {
		t.Error("a connection was replaced with the probe off")
	}
	c.(*connpool.PoolConn).MarkUnusable() // it has a stray byte
	c.Close()
	if st := p.Stats(); st.ClosedStale != 0 {
		t.Errorf("ClosedStale = %d with the probe off", st.ClosedStale)
	}
}

func TestNewChannelPoolProbesByDefault(t *testing.T) {
	requireProbe(t)
	s := newServer(t)
	clk := connpool.NewFakeClock()
	p, err := connpool.NewChannelPoolWithClock(1, 1, factory(s), clk)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	socket := strayBytesOnIdle(t, p, s, "a reply nobody asked for")
	clk.Advance(time.Hour)
	c := get(t, p)
	if underlying(c) == socket {
		t.Fatal("handed out the connection with a stray reply")
	}
	echo(t, c, "a switch from buraksezer/connpool gets this for free")
	c.Close()
	if st := p.(*connpool.ConnPool).Stats(); st.ClosedStale != 1 {
		t.Errorf("ClosedStale = %d, want 1", st.ClosedStale)
	}
}

// newTLSServer is newServer behind TLS 1.3. Its dialer completes the
// handshake, after which the server sends session tickets unasked.
func newTLSServer(t testing.TB) (*server, connpool.DialFunc) {
	t.Helper()
	serverCfg, clientCfg := testserver.TLSConfigs(t)
	s := newServerWith(t, func(ln net.Listener) net.Listener { return tls.NewListener(ln, serverCfg) })
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		d := tls.Dialer{Config: clientCfg}
		c, err := d.DialContext(ctx, "tcp", s.Addr())
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return s, dial
}

func TestTLSSessionTicketsAreNoAlarm(t *testing.T) {
	requireProbe(t)
	s, dial := newTLSServer(t)
	p, clk := newFakePool(t, connpool.Config{Dial: dial, MaxConns: 1})
	c := get(t, p)
	echo(t, c, "over tls") // the server handshakes and sends its tickets
	first := underlying(c)
	c.Close()
	clk.Advance(time.Hour)

	c = get(t, p)
	if underlying(c) != first {
		t.Error("a healthy TLS connection was thrown away")
	}
	echo(t, c, "still over tls")
	c.Close()

	s.WaitOpen(1)
	s.CloseConns()
	s.WaitOpen(0)
	clk.Advance(time.Hour)
	c = get(t, p)
	if underlying(c) == first {
		t.Error("a TLS connection the server closed was handed out")
	}
	echo(t, c, "new tls connection")
	c.Close()
	if st := p.Stats(); st.ClosedStale != 1 {
		t.Errorf("ClosedStale = %d, want 1", st.ClosedStale)
	}
}

func TestIdleTimeoutClosesIdleConnsInTheBackground(t *testing.T) {
	s := newServer(t)
	cl := newCloses()
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 3, InitialConns: 3, IdleTimeout: time.Minute, OnClose: cl.hook,
	})
	if !p.Maintaining() {
		t.Fatal("no maintainer with idle connections and an idle timeout")
	}
	waitTimer(t, clk) // advancing before the maintainer's timer exists would skip it
	clk.Advance(59 * time.Second)
	if n := p.Len(); n != 3 {
		t.Fatalf("Len() = %d before the idle timeout", n)
	}
	clk.Advance(time.Second)
	cl.wait(t, 3, connpool.CloseIdleTimeout)
	s.WaitOpen(0)
	p.WaitDials() // the maintainer leaves once nothing is idle
	wantCounts(t, p, 0, 0)
	if st := p.Stats(); st.ClosedIdleTimeout != 3 {
		t.Errorf("ClosedIdleTimeout = %d, want 3", st.ClosedIdleTimeout)
	}
}

func TestIdleTimeoutSparesMinIdleConns(t *testing.T) {
	s := newServer(t)
	cl := newCloses()
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 4, InitialConns: 3, MinIdleConns: 1,
		IdleTimeout: time.Minute, OnClose: cl.hook,
	})
	waitTimer(t, clk)
	clk.Advance(time.Hour)
	cl.wait(t, 2, connpool.CloseIdleTimeout)
	p.WaitDials()
	wantCounts(t, p, 1, 1)
	s.WaitOpen(1)
}

// A return that makes the idle list longer than MinIdleConns puts the
// oldest idle connection under the idle timeout again; if that is past,
// the maintainer closes it then, not when it next meant to wake.
func TestReturnPastMinIdleConnsReapsTheOldestAtOnce(t *testing.T) {
	s := newServer(t)
	cl := newCloses()
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 3, MinIdleConns: 1, IdleTimeout: time.Second,
		LeakThreshold: 2500 * time.Millisecond, OnClose: cl.hook,
	})
	settled := func() bool { st := p.Stats(); return st.Idle == 1 && st.Dialing == 0 }
	pooltest.WaitFor(t, "the first top-up", settled)
	x := get(t, p)
	pooltest.WaitFor(t, "the second top-up", settled)
	y := get(t, p)
	defer y.Close()
	pooltest.WaitFor(t, "the third top-up", settled)
	// One idle, spared by MinIdleConns; the maintainer sleeps until the
	// two checkouts are due as leaks, at 2.5s.
	clk.Advance(2 * time.Second)
	x.Close() // the spared one, idle 2s, is now past its idle timeout
	cl.wait(t, 1, connpool.CloseIdleTimeout)
	if st := p.Stats(); st.Idle != 1 {
		t.Errorf("%d idle after the oldest was closed, want the one returned", st.Idle)
	}
}

// Get applies the idle timeout as the maintainer does: a connection past
// it is closed, unless it is one of the MinIdleConns kept ready, which Get
// hands out (after the peek) rather than make its caller wait for a
// dial. Whichever of the two closes the spare beyond MinIdleConns, Get
// gets the other.
func TestGetSparesMinIdleConnsPastIdleTimeout(t *testing.T) {
	s := newServer(t)
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 4, InitialConns: 2, MinIdleConns: 1, IdleTimeout: time.Minute,
	})
	clk.Advance(time.Hour)
	c := get(t, p)
	defer c.Close()
	echo(t, c, "still good")
	if st := p.Stats(); st.ClosedIdleTimeout != 1 || st.GetsFromIdle != 1 {
		t.Errorf("stats %+v: want 1 closed for the idle timeout and the Get served from the idle list", st)
	}
}

func TestMaxLifetimeJitterIsFixedPerConn(t *testing.T) {
	s := newServer(t)
	cl := newCloses()
	const life, jitter = 10 * time.Minute, 5 * time.Minute
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 8, InitialConns: 8, MaxLifetime: life, MaxLifetimeJitter: jitter,
		OnClose: cl.hook,
	})
	born := clk.Now()
	var conns []*connpool.PoolConn
	seen := map[time.Duration]bool{}
	for range 8 {
		c := get(t, p).(*connpool.PoolConn)
		exp := connpool.ExpiresAt(c)
		if exp < born+life-jitter || exp > born+life {
			t.Errorf("expires %v after dial, want %v to %v", exp-born, life-jitter, life)
		}
		seen[exp] = true
		conns = append(conns, c)
	}
	if len(seen) < 2 {
		t.Error("every connection expires at the same instant: no jitter")
	}
	// Returning and taking again does not draw the jitter again.
	want := connpool.ExpiresAt(conns[0])
	for range 5 {
		conns[0].Close()
		conns[0] = get(t, p).(*connpool.PoolConn)
	}
	if got := connpool.ExpiresAt(conns[0]); got != want {
		t.Errorf("lifetime moved from %v to %v on reuse", want, got)
	}
	for _, c := range conns {
		c.Close()
	}
	waitTimer(t, clk)
	clk.Advance(life)
	cl.wait(t, 8, connpool.CloseMaxLifetime)
	p.WaitDials()
	wantCounts(t, p, 0, 0)
}

func TestMaxLifetimeClosesCheckedOutConnOnReturn(t *testing.T) {
	s := newServer(t)
	p, clk := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1, MaxLifetime: time.Minute})
	c := get(t, p)
	clk.Advance(time.Minute)
	echo(t, c, "a holder is not interrupted")
	c.Close()
	wantCounts(t, p, 0, 0)
	s.WaitOpen(0)
	if st := p.Stats(); st.ClosedMaxLifetime != 1 {
		t.Errorf("ClosedMaxLifetime = %d, want 1", st.ClosedMaxLifetime)
	}
}

// A Get judges each idle connection it takes by the clock as it takes it.
// Closing one past its lifetime may take a while (a TLS goodbye to a peer
// that reads nothing, a slow OnClose), and the next idle connection may
// outlive its own lifetime meanwhile: it must not go out.
func TestGetJudgesEachIdleConnWhenItTakesIt(t *testing.T) {
	t.Run("Get", func(t *testing.T) {
		testJudgedWhenTaken(t, func(p *connpool.ConnPool) (net.Conn, error) { return p.Get(context.Background()) })
	})
	t.Run("TryGet", func(t *testing.T) { testJudgedWhenTaken(t, (*connpool.ConnPool).TryGet) })
}

// A HealthCheck that lasts long enough for the connection it checks to
// outlive its lifetime fails it: the Get closes it and hands out another.
func TestGetJudgesTheLifetimeAfterTheHealthCheck(t *testing.T) {
	s := newServer(t)
	const life = 10 * time.Second
	var clk *connpool.FakeClock
	var checks atomic.Int32
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 1, MaxLifetime: life,
		HealthCheck: func(context.Context, net.Conn) error {
			if checks.Add(1) == 1 {
				clk.Advance(life) // a slow check, as the pool's clock sees it
			}
			return nil
		},
	})
	c := get(t, p).(*connpool.PoolConn) // a new connection: no check
	first := c.NetConn()
	c.Close()
	clk.Advance(life / 2) // idle long enough to be checked, not to expire
	c = get(t, p).(*connpool.PoolConn)
	defer c.Close()
	if c.NetConn() == first {
		t.Fatal("Get handed out a connection that outlived its lifetime during its health check")
	}
	echo(t, c, "a new connection")
	if st := p.Stats(); st.ClosedMaxLifetime != 1 || st.ClosedHealthCheck != 0 || s.Accepts() != 2 {
		t.Errorf("stats %+v, %d accepted: want the first connection closed for its lifetime and a second dialled", st, s.Accepts())
	}
}

func testJudgedWhenTaken(t *testing.T, take func(*connpool.ConnPool) (net.Conn, error)) {
	s := newServer(t)
	const life = 10 * time.Second
	var (
		mu          sync.Mutex
		x, a        net.Conn // the maintainer's first to close and the Get's
		clk         *connpool.FakeClock
		xClosing    = make(chan struct{})
		releaseMain = make(chan struct{})
	)
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 3, IdleOrder: connpool.FIFO, MaxLifetime: life,
		OnClose: func(nc net.Conn, _ connpool.CloseReason) {
			mu.Lock()
			isX, isA := nc == x, nc == a
			mu.Unlock()
			switch {
			case isX: // holds the maintainer, which would close b itself
				close(xClosing)
				<-releaseMain
			case isA: // a slow close, as the pool's clock sees it
				clk.Advance(life)
			}
		},
	})
	var once sync.Once
	release := func() { once.Do(func() { close(releaseMain) }) }
	defer release()

	t0 := clk.Now()
	cx := get(t, p).(*connpool.PoolConn) // its lifetime ends at t0+10s
	clk.Advance(time.Second)
	ca := get(t, p).(*connpool.PoolConn) // t0+11s
	clk.Advance(5 * time.Second)
	cb := get(t, p).(*connpool.PoolConn) // t0+16s
	mu.Lock()
	x, a = cx.NetConn(), ca.NetConn()
	mu.Unlock()
	b, bEnds := cb.NetConn(), connpool.ExpiresAt(cb)
	cx.Close() // idle, front to back: x, a, b
	ca.Close()
	cb.Close()

	waitTimer(t, clk)
	clk.Advance(t0 + life - clk.Now()) // the maintainer closes x
	<-xClosing
	clk.Advance(time.Second) // a Get finds a past its lifetime and closes it
	c, err := take(p)
	if errors.Is(err, connpool.ErrNotAvailable) {
		release() // TryGet closed b too, and has none to hand out
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if now := clk.Now(); underlying(c) == b && now >= bEnds {
		t.Errorf("Get handed out a connection %v past its lifetime", now-bEnds)
	}
	release()
}

func TestMinIdleConnsAreToppedUpWithBackoff(t *testing.T) {
	s := newServer(t)
	var attempts atomic.Int32
	var down atomic.Bool
	down.Store(true)
	errDown := errors.New("server down")
	p, clk := newFakePool(t, connpool.Config{
		MaxConns: 4, MinIdleConns: 2, DialBackoff: time.Second, MaxDialBackoff: 8 * time.Second,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			attempts.Add(1)
			if down.Load() {
				return nil, errDown
			}
			return dialTo(s)(ctx, "", "")
		},
	})
	// The pool first dials both spares at once. Once they have failed,
	// each backoff step allows one attempt: the maintainer makes a timer
	// after every failure and dials again only when it fires.
	const steps = 6
	for i := 1; i <= steps; i++ {
		waitTimer(t, clk)
		if n := attempts.Load(); n != int32(i+1) {
			t.Fatalf("after %d backoff steps, %d dial attempts, want %d", i-1, n, i+1)
		}
		if i == steps {
			down.Store(false) // the server is back for the next attempt
		}
		clk.Advance(8 * time.Second) // at least the largest step
	}
	p.WaitDials() // tops up, then leaves: no idle timeout, nothing to wait for
	wantCounts(t, p, 2, 2)
	s.WaitOpen(2)

	// Taking one leaves the pool short: the maintainer dials a spare.
	c := get(t, p)
	p.WaitDials()
	wantCounts(t, p, 2, 3)
	c.Close()
}

// A Get that joins the line while the dial backoff holds dials back is
// dialled for when the backoff ends, also while the maintainer sleeps
// towards a later deadline (here, an hour's LeakThreshold).
func TestGetInLineDuringBackoffIsDialledFor(t *testing.T) {
	s := newServer(t)
	var down atomic.Bool
	p, clk := newFakePool(t, connpool.Config{
		MaxConns: 2, LeakThreshold: time.Hour, DialBackoff: time.Second, MaxDialBackoff: time.Second,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			if down.Load() {
				return nil, errors.New("server down")
			}
			return dialTo(s)(ctx, "", "")
		},
	})
	held := get(t, p) // the maintainer watches it for an hour
	defer held.Close()
	waitTimerWithin(t, clk, time.Hour)
	down.Store(true)
	if _, err := p.Get(context.Background()); err == nil {
		t.Fatal("Get succeeded with the server down")
	}
	down.Store(false)
	got := make(chan error, 1)
	go func() {
		c, err := p.Get(context.Background())
		if err == nil {
			c.Close()
		}
		got <- err
	}()
	if !p.WaitWaiting(1, 10*time.Second) {
		t.Fatal("the Get did not wait in line")
	}
	waitTimerWithin(t, clk, time.Second) // the end of the backoff
	clk.Advance(time.Second)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// A server that closes a connection before its first use makes the
// MinIdleConns top-up back off, and dial again once the backoff ends,
// also while the maintainer sleeps towards a later deadline (here, an
// hour's MaxLifetime).
func TestTopUpDialsAgainAfterAnUnusedConnIsClosed(t *testing.T) {
	if !connpool.WatchSupported {
		t.Skip("no socket watcher on this platform")
	}
	s := newTCPServer(t, func(s *server, id int, c net.Conn) {
		if id == 0 {
			return // closed at once
		}
		s.Drain(id, c)
	})
	cl := newCloses()
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 2, MinIdleConns: 1, MaxLifetime: time.Hour,
		DialBackoff: time.Second, MaxDialBackoff: time.Second, OnClose: cl.hook,
	})
	cl.wait(t, 1, connpool.CloseStale)
	waitTimerWithin(t, clk, time.Second) // the end of the top-up's backoff
	clk.Advance(time.Second)
	s.WaitUntil("a second connection", func() bool { return s.Accepts() == 2 })
	for p.Len() != 1 {
		waitTimerWithin(t, clk, time.Hour) // it replans once the dial is in
	}
}

// waitTimerWithin waits until a timer on clk is due within d.
func waitTimerWithin(t testing.TB, clk *connpool.FakeClock, d time.Duration) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		if next := clk.NextDeadline(); next > 0 && next <= d {
			return
		}
		select {
		case <-clk.TimerMade():
		case <-timeout:
			t.Fatalf("no timer due within %v (next in %v)", d, clk.NextDeadline())
		}
	}
}

// waitTimer waits until the maintainer has armed a timer on clk.
func waitTimer(t testing.TB, clk *connpool.FakeClock) {
	t.Helper()
	for clk.Timers() == 0 {
		select {
		case <-clk.TimerMade():
		case <-time.After(10 * time.Second):
			t.Fatal("the maintainer armed no timer")
		}
	}
}

func TestIdleOrder(t *testing.T) {
	for _, tc := range []struct {
		order connpool.IdleOrder
		want  int // which of the three returned connections comes back first
	}{{connpool.LIFO, 2}, {connpool.FIFO, 0}} {
		s := newServer(t)
		p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 3, IdleOrder: tc.order})
		var socks []net.Conn
		var cs []net.Conn
		for range 3 {
			c := get(t, p)
			cs = append(cs, c)
			socks = append(socks, underlying(c))
		}
		for _, c := range cs {
			c.Close()
		}
		c := get(t, p)
		if underlying(c) != socks[tc.want] {
			t.Errorf("order %d: got a different connection than #%d", tc.order, tc.want)
		}
		c.Close()
	}
}

func TestNoMaintainerWithoutWork(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 2, InitialConns: 2})
	c := get(t, p)
	c.Close()
	if p.Maintaining() {
		t.Error("a maintainer runs with no idle timeout, lifetime or minimum")
	}
	q, _ := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 2, IdleTimeout: time.Minute})
	if q.Maintaining() {
		t.Error("a maintainer runs with nothing idle")
	}
}

func TestHooksSeeDialsAndCloses(t *testing.T) {
	s := newServer(t)
	var mu sync.Mutex
	var dialErrs, dialOK int
	cl := newCloses()
	fail := true
	p, clk := newFakePool(t, connpool.Config{
		MaxConns: 1,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				fail = false
				return nil, errors.New("first dial fails")
			}
			return dialTo(s)(ctx, "", "")
		},
		OnDial: func(c net.Conn, err error, took time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				dialErrs++
				if c != nil {
					t.Error("OnDial got a connection with an error")
				}
			} else {
				dialOK++
			}
			if took < 0 {
				t.Errorf("dial took %v", took)
			}
		},
		OnClose: cl.hook,
	})
	if _, err := p.Get(context.Background()); err == nil {
		t.Fatal("first Get succeeded")
	}
	clk.Advance(time.Minute) // past the dial backoff
	c := get(t, p)
	c.(*connpool.PoolConn).MarkUnusable()
	c.Close()
	cl.wait(t, 1, connpool.CloseUnusable)
	mu.Lock()
	defer mu.Unlock()
	if dialErrs != 1 || dialOK != 1 {
		t.Errorf("OnDial saw %d errors and %d connections, want 1 and 1", dialErrs, dialOK)
	}
	if got := connpool.CloseUnusable.String(); got != "unusable" {
		t.Errorf("CloseUnusable.String() = %q", got)
	}
}

func TestDrainWaitsForCheckedOutConns(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 3, InitialConns: 3})
	a, b := get(t, p), get(t, p)
	s.WaitOpen(3) // the server may not have accepted them all yet
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	var bBack atomic.Bool // set before the last connection comes back
	go func() {
		n, err := p.Drain(context.Background())
		if !bBack.Load() {
			t.Errorf("Drain returned %d, %v with a connection still out", n, err)
		}
		done <- result{n, err}
	}()
	s.WaitOpen(2) // the idle one is closed at once
	if _, err := p.Get(context.Background()); !errors.Is(err, connpool.ErrClosed) {
		t.Errorf("Get while draining = %v, want ErrClosed", err)
	}
	echo(t, a, "finishing my request")
	a.Close()
	bBack.Store(true)
	b.Close()
	if r := <-done; r.n != 0 || r.err != nil {
		t.Errorf("Drain = %d, %v; want 0, nil", r.n, r.err)
	}
	s.WaitOpen(0)
	wantCounts(t, p, 0, 0)
}

// A Drain that returns has heard every OnClose out, that of a connection
// its holder gave back last included.
func TestDrainReturnsAfterEveryOnClose(t *testing.T) {
	s := newServer(t)
	var heard atomic.Int32
	p := newPool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 2, InitialConns: 2,
		OnClose: func(net.Conn, connpool.CloseReason) {
			time.Sleep(20 * time.Millisecond) // a slow hook: metrics, say
			heard.Add(1)
		},
	})
	c := get(t, p)
	done := make(chan int32, 1)
	go func() {
		if n, err := p.Drain(context.Background()); n != 0 || err != nil {
			t.Errorf("Drain = %d, %v; want 0, nil", n, err)
		}
		done <- heard.Load()
	}()
	s.WaitOpen(1) // the idle one is closed
	c.Close()
	if n := <-done; n != 2 {
		t.Fatalf("Drain returned having heard %d OnClose calls; want 2", n)
	}
}

func TestDrainGivesUpWithItsContext(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 2})
	held := get(t, p)
	// One with a deadline to clear at its return, on a socket Drain has
	// closed: the close is still the pool's.
	timed := get(t, p)
	timed.SetDeadline(time.Now().Add(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	n, err := p.Drain(ctx)
	if n != 2 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain = %d, %v; want 2, DeadlineExceeded", n, err)
	}
	s.WaitOpen(0) // closed under their holders
	if _, err := held.Write([]byte("x")); err == nil {
		t.Error("write on a connection closed by Drain succeeded")
	}
	held.Close()
	timed.Close()
	wantCounts(t, p, 0, 0)
	if st := p.Stats(); st.ClosedPoolClosed != 2 {
		t.Errorf("ClosedPoolClosed = %d, want 2", st.ClosedPoolClosed)
	}
}

// A MinIdleConns top-up whose connection goes to a Get that was waiting
// for it leaves the pool short again, and the pool dials another spare.
func TestTopUpHandedToAWaiterIsReplaced(t *testing.T) {
	s := newServer(t)
	gate := make(chan struct{})
	dialed := make(chan struct{}, 10)
	var first atomic.Bool
	first.Store(true)
	p := newPool(t, connpool.Config{
		MaxConns: 3, MinIdleConns: 1,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			dialed <- struct{}{}
			if first.Swap(false) {
				select { // a test that fails first must not leave the dial blocked
				case <-gate:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return dialTo(s)(ctx, "", "")
		},
	})
	select {
	case <-dialed: // the top-up, held at the gate
	case <-time.After(testserver.WaitLimit):
		t.Fatal("no top-up dial")
	}
	got := getAsync(t, p)
	waitWaiting(t, p, 1) // no dial of its own: the top-up is on its way
	close(gate)
	var c net.Conn
	select {
	case c = <-got:
	case <-time.After(testserver.WaitLimit):
		t.Fatal("the top-up's connection did not reach the waiting Get")
	}
	defer c.Close()
	select { // none idle, none dialling, 1 of 3 open
	case <-dialed:
	case <-time.After(testserver.WaitLimit):
		t.Fatalf("no spare dialled after the top-up went to a Get: %+v", p.Stats())
	}
}

// While the top-up waits out its own backoff (the server closed what it
// dialled before any use) past the end of the dial backoff, the maintainer
// sleeps until the top-up may dial: it does not spin on a time already
// past. The backoffs are drawn at random; the test retries until the
// top-up's ends after the dial backoff's.
func TestMaintainerSleepsThroughTheTopUpBackoff(t *testing.T) {
	if !connpool.WatchSupported {
		t.Skip("the top-up backoff follows a peer's close, which only the watcher hears of in the background")
	}
	for attempt := 0; ; attempt++ {
		if attempt == 50 {
			t.Fatal("the top-up backoff never ended after the dial backoff in 50 tries")
		}
		if maintainerSleepsThroughTopUpBackoff(t) {
			return
		}
	}
}

func maintainerSleepsThroughTopUpBackoff(t *testing.T) (tried bool) {
	s := newServer(t)
	defer s.Close()
	clk := connpool.NewFakeClock()
	first, second := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	p, err := connpool.NewWithClock(connpool.Config{
		MaxConns: 3, MinIdleConns: 2,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			switch calls.Add(1) {
			case 1:
				select { // a test that fails first must not leave the dial blocked
				case <-first:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return dialTo(s)(ctx, "", "")
			case 2:
				select { // a test that fails first must not leave the dial blocked
				case <-second:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return nil, errors.New("refused: the server is at its limit")
		},
	}, clk)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		p.Close()
		p.WaitDials()
	}()
	gone := p.PeersGone()
	close(first)
	pooltest.WaitFor(t, "the first top-up idle", func() bool { return p.Stats().Idle == 1 })
	close(second)
	pooltest.WaitFor(t, "the second top-up failed", func() bool { return p.Stats().DialErrors == 1 })
	s.WaitOpen(1)  // accepted, so that CloseConns finds it
	s.CloseConns() // the server drops the connection it never saw used
	select {
	case <-gone:
	case <-time.After(testserver.WaitLimit):
		t.Fatal("the watcher did not hear of the server's close")
	}
	now := clk.Now()
	retryAt, topUpAt := p.DialTimes()
	if !(now < retryAt && retryAt < topUpAt) {
		return false
	}
	for len(clk.TimerMade()) > 0 {
		<-clk.TimerMade()
	}
	clk.Advance(retryAt - now) // past the dial backoff, not the top-up's
	// The clock stands still from here: a maintainer that sleeps makes
	// one timer, one that spins makes them as fast as it can.
	made := 0
	limit := time.After(time.Second)
	for made < 1000 {
		select {
		case <-clk.TimerMade():
			made++
		case <-limit:
			return true
		}
	}
	t.Fatalf("the maintainer made %d timers with the clock standing still: it spins", made)
	return true
}

// A Drain that gives up closes the TLS connections still out without a
// goodbye: a close_notify alert waits up to five seconds for room on a
// peer that reads nothing, and Drain would wait so for each.
func TestDrainGivingUpSendsNoTLSGoodbye(t *testing.T) {
	s, clientCfg, noGoodbye := newGoodbyeWatchingTLSServer(t)
	p := newPool(t, connpool.Config{
		MaxConns: 1, Addr: s.Addr(),
		Dial: (&tls.Dialer{Config: clientCfg}).DialContext,
	})
	held := get(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := p.Drain(ctx); n != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Drain = %d, %v; want 1, Canceled", n, err)
	}
	noGoodbye("the connection Drain gave up on")
	held.Close()
	wantCounts(t, p, 0, 0)
}

// Drain of a pool with nothing open returns 0 and nil, and has waited for
// the pool's goroutines, even with a context that has already ended.
func TestDrainOfAClosedPoolIgnoresAnEndedContext(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	get(t, p).Close()
	p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 { // a select between two ready cases would pick either
		if n, err := p.Drain(ctx); n != 0 || err != nil {
			t.Fatalf("Drain = %d, %v; want 0, nil", n, err)
		}
	}
}

// checkStats checks the identities Stats documents.
func checkStats(t testing.TB, st connpool.Stats) {
	t.Helper()
	if st.Open != st.Idle+st.InUse+st.Dialing {
		t.Errorf("Open %d != Idle %d + InUse %d + Dialing %d", st.Open, st.Idle, st.InUse, st.Dialing)
	}
	if st.Gets != st.GetsFromIdle+st.GetsWaited+st.GetsCanceled+st.GetsFailed {
		t.Errorf("Gets %d != FromIdle %d + Waited %d + Canceled %d + Failed %d",
			st.Gets, st.GetsFromIdle, st.GetsWaited, st.GetsCanceled, st.GetsFailed)
	}
	if int64(st.Dials)-int64(st.DialErrors)-int64(st.Closed()) != int64(st.Open-st.Dialing) {
		t.Errorf("Dials %d - DialErrors %d - Closed %d != Open %d - Dialing %d",
			st.Dials, st.DialErrors, st.Closed(), st.Open, st.Dialing)
	}
	if st.GetsDialed > st.GetsWaited {
		t.Errorf("GetsDialed %d > GetsWaited %d", st.GetsDialed, st.GetsWaited)
	}
	if st.GetsTimedOut > st.GetsCanceled {
		t.Errorf("GetsTimedOut %d > GetsCanceled %d", st.GetsTimedOut, st.GetsCanceled)
	}
	if st.Open > st.MaxConns || st.InUse < 0 {
		t.Errorf("Open %d, InUse %d with MaxConns %d", st.Open, st.InUse, st.MaxConns)
	}
}

func TestStatsAddUpUnderLoad(t *testing.T) {
	s := newServer(t)
	var dials atomic.Int32
	p := newPool(t, connpool.Config{
		MaxConns: 4, MaxIdleConns: 2, ProbeAfter: time.Nanosecond,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			if dials.Add(1)%5 == 0 {
				return nil, errors.New("every fifth dial fails")
			}
			return dialTo(s)(ctx, "", "")
		},
	})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var prev connpool.Stats
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 150; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%3)*time.Millisecond)
				c, err := p.Get(ctx)
				cancel()
				if err != nil {
					continue
				}
				if (w+i)%9 == 0 {
					c.(*connpool.PoolConn).MarkUnusable()
				}
				c.Close()
			}
		}()
	}
	go func() { wg.Wait(); close(stop) }()
	for done := false; !done; {
		select {
		case <-stop:
			done = true
		default:
		}
		st := p.Stats()
		checkStats(t, st)
		if st.Gets < prev.Gets || st.Dials < prev.Dials || st.Closed() < prev.Closed() || st.WaitTime < prev.WaitTime {
			t.Fatalf("a counter went backwards: %+v then %+v", prev, st)
		}
		prev = st
	}
	p.Close()
	p.WaitDials()
	st := p.Stats()
	checkStats(t, st)
	if st.Open != 0 || st.Gets != 16*150 {
		t.Errorf("after Close: %+v; want nothing open and %d Gets", st, 16*150)
	}
	if st.ClosedUnusable == 0 || st.DialErrors == 0 || st.GetsWaited == 0 {
		t.Errorf("the load did not reach every path: %+v", st)
	}
}

// HealthCheckAfter is how long a connection must have been idle before
// HealthCheck runs on it. A connection held for a long time and given back
// has been idle for no time at all when the next Get takes it: no check is
// due. (The return must not date the connection's idle time from the
// latest Get instead of from the return.)
func TestHealthCheckSkipsAConnectionHeldLongButIdleBriefly(t *testing.T) {
	s := newServer(t)
	var checks atomic.Int32
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 1, HealthCheckAfter: 500 * time.Millisecond,
		HealthCheck: func(context.Context, net.Conn) error {
			checks.Add(1)
			return nil
		},
	})
	c := get(t, p)
	clk.Advance(time.Second) // held for a second: a long request
	c.Close()
	c = get(t, p) // taken again at once: idle for no time at all
	echo(t, c, "no ping needed")
	c.Close()
	if n := checks.Load(); n != 0 {
		t.Errorf("HealthCheck ran %d times on a connection idle for 0s (HealthCheckAfter 500ms)", n)
	}
}

// IdleTimeout never closes a connection that would leave fewer than
// MinIdleConns idle. When, in one pass of the maintainer, one idle
// connection is past its lifetime and an older-idle one past its idle
// timeout, the lifetime closes the first, so the second is the one
// MinIdleConns spares: the idle timeout must not close it too.
func TestIdleTimeoutSparesMinIdleConnsBesideALifetimeClose(t *testing.T) {
	s := newServer(t)
	cl := newCloses()
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 2, MinIdleConns: 1,
		IdleTimeout: time.Minute, MaxLifetime: 10 * time.Minute, MaxLifetimeJitter: time.Nanosecond,
		OnClose: cl.hook,
	})
	settled := func() bool { st := p.Stats(); return st.Idle == 1 && st.Dialing == 0 }
	pooltest.WaitFor(t, "the first top-up", settled) // b, dialled at 0: its lifetime ends at 10m
	clk.Advance(5 * time.Minute)
	b := get(t, p)
	pooltest.WaitFor(t, "the second top-up", settled) // a, dialled and idle from 5m
	clk.Advance(time.Second)
	b.Close() // idle from 5m1s, behind a
	// At 10m1s b is past its lifetime, and a, idle 5m1s, past its idle
	// timeout. b goes for its lifetime; a is then the one spare.
	waitTimerWithin(t, clk, time.Minute) // the maintainer sleeps until a's idle timeout
	clk.Advance(5 * time.Minute)
	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case r := <-cl.ch:
			done = r == connpool.CloseMaxLifetime
		case <-timeout:
			t.Fatalf("no close for the lifetime: %+v", p.Stats())
		}
	}
	if st := p.Stats(); st.ClosedIdleTimeout != 0 {
		t.Errorf("stats %+v: the idle timeout closed the MinIdleConns spare along with the connection past its lifetime", st)
	}
}

// embeddedTLS is a user's wrapper (metrics, logging) that embeds the
// *tls.Conn its Dial made, and with it the *tls.Conn's NetConn method.
type embeddedTLS struct {
	*tls.Conn
}

// Records a TLS server sends unasked (session tickets) are no alarm, also
// when Dial returns the *tls.Conn embedded in a wrapper: the connection
// stays in the pool.
func TestTLSWrapperUnaskedRecordsAreNoAlarm(t *testing.T) {
	requireProbe(t)
	s, dial := newTLSServer(t)
	wrapped := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &embeddedTLS{c.(*tls.Conn)}, nil
	}
	p, clk := newFakePool(t, connpool.Config{Dial: wrapped, MaxConns: 1})
	c := get(t, p)
	echo(t, c, "over tls")
	first := underlying(c).(*embeddedTLS)
	c.Close()

	s.WaitOpen(1)
	s.Push("unasked") // a record sent unasked, as a session ticket is
	if err := awaitReadable(first.NetConn()); err != nil {
		skipUnsupported(t, err)
		t.Fatalf("waiting for the record: %v", err)
	}
	clk.Advance(time.Hour)
	c = get(t, p)
	defer c.Close()
	if underlying(c) != first {
		t.Error("a healthy TLS connection was thrown away for a record sent unasked")
	}
	if st := p.Stats(); st.ClosedStale != 0 || st.Dials != 1 {
		t.Errorf("ClosedStale = %d, Dials = %d; want 0 and 1", st.ClosedStale, st.Dials)
	}
}

// A connection held past LeakThreshold while the pool drains (Drain waiting
// on it, the very case a leak report is for) is a leak all the same: it is
// counted in Stats.Leaks and warned of, with its Get's stack, by the time
// it comes back. The maintainer, which scans for leaks, stops at Close, so
// such a checkout used to go uncounted and unreported.
func TestLeakHeldDuringDrainIsCounted(t *testing.T) {
	s := newServer(t)
	logs := newLogRecorder()
	p, clk := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1, LeakThreshold: time.Minute, Logger: slog.New(logs)})
	c := get(t, p)
	waitTimer(t, clk) // the maintainer waits for the checkout's threshold
	drained := make(chan error, 1)
	go func() {
		_, err := p.Drain(context.Background())
		drained <- err
	}()
	pooltest.WaitFor(t, "the maintainer to stop", func() bool { return !p.Maintaining() })
	clk.Advance(10 * time.Minute) // Drain waits on a connection held ten times the threshold
	c.Close()
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Leaks != 1 {
		t.Errorf("Leaks = %d for a checkout held 10m with LeakThreshold 1m, want 1", st.Leaks)
	}
	r, ok := logs.find("connection held longer than LeakThreshold")
	if !ok || !strings.Contains(attrs(r)["stack"], "TestLeakHeldDuringDrainIsCounted") {
		t.Errorf("no leak warning with the Get's stack (found %v)", ok)
	}
}

// A connection the server closes before the pool lent it out (one of
// InitialConns, say, that the server's own idle timeout closed before
// any traffic), on a pool without MinIdleConns, where nothing is topped
// up, is a stale connection, not a failed dial: no "dial failed" record,
// no dial error counted.
func TestIdleCloseOfAnUnusedConnIsNoDialFailureWithoutMinIdleConns(t *testing.T) {
	if !connpool.WatchSupported {
		t.Skip("no socket watcher on this platform")
	}
	s := newServer(t)
	logs := newLogRecorder()
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1, Logger: slog.New(logs)})
	gone := p.PeersGone()
	if _, err := p.TryGet(); !errors.Is(err, connpool.ErrNotAvailable) { // dials one in the background
		t.Fatalf("TryGet = %v, want ErrNotAvailable", err)
	}
	p.WaitDials()
	pooltest.WaitFor(t, "the connection idle", func() bool { return p.Len() == 1 })
	s.WaitOpen(1)
	s.CloseConns() // the server's idle timeout, before any use
	select {
	case <-gone:
	case <-time.After(testserver.WaitLimit):
		t.Fatal("the watcher never heard of the server's close")
	}
	if r, ok := logs.find("dial failed"); ok {
		t.Errorf("an idle connection closed by its server before first use, with MinIdleConns 0, logged %q at %v with %v",
			r.Message, r.Level, attrs(r))
	}
	if st := p.Stats(); st.DialErrors != 0 || st.ClosedStale != 1 {
		t.Errorf("stats %+v: want no dial error and one stale close", st)
	}
}

// Drain with a context that has already ended, on a pool with nothing
// checked out, closes the idle connections and returns 0 and nil: it
// gives nothing up, and every goroutine of the pool has ended.
func TestDrainWithAnEndedContextOfAPoolWithNothingOut(t *testing.T) {
	s := newServer(t)
	p, err := connpool.New(connpool.Config{Addr: s.Addr(), MaxConns: 4, InitialConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := p.Drain(ctx); n != 0 || err != nil {
		t.Fatalf("Drain = %d, %v; want 0, nil with nothing checked out", n, err)
	}
	if st := p.Stats(); st.Open != 0 || st.ClosedPoolClosed != 2 {
		t.Errorf("stats %+v: want nothing open, 2 closed for the pool's close", st)
	}
	s.WaitUntil("both connections closed", func() bool { return s.OpenConns() == 0 })
}
