package connpool_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/pooltest"
	"github.com/seed-a245f091/connpool/internal/testserver"
)

// A returned connection goes to the idle list, so a Get that is running
// takes it at once even while another waits, until the longest waiter has
// waited 50µs; from then on returns go straight to it.
func TestReturnsGoToWaiterOnlyOnceItHasWaitedLong(t *testing.T) {
	s := newServer(t)
	p, clk := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	held := get(t, p)
	woken, release := p.HoldWoken()
	got := getAsync(t, p)
	waitWaiting(t, p, 1)

	// The waiter has waited no time at all on the pool's clock: the
	// connection goes to the idle list, the waiter is woken, and a Get
	// that runs before the waiter does takes the connection.
	held.Close()
	<-woken
	barged, err := p.TryGet()
	if err != nil {
		t.Fatalf("TryGet right after a return, with the waiter woken but not yet running: %v", err)
	}
	release()
	waitWaiting(t, p, 1) // the woken waiter found it taken and is back in line

	// Just short of 50µs: still to whoever asks first.
	clk.Advance(50*time.Microsecond - time.Nanosecond)
	woken, release = p.HoldWoken()
	barged.Close()
	<-woken
	barged, err = p.TryGet()
	if err != nil {
		t.Fatalf("TryGet with the waiter in line just short of 50µs: %v", err)
	}
	release()
	waitWaiting(t, p, 1)

	clk.Advance(time.Nanosecond)
	barged.Close() // the waiter has now waited 50µs: it gets the connection
	if c, err := p.TryGet(); err == nil {
		c.Close()
		t.Fatal("a Get took the connection from a waiter that had waited 50µs")
	}
	c := <-got
	echo(t, c, "mine at last")
	c.Close()
	// The first Get dialled (it waited), the two TryGets that barged took
	// it from idle, the third TryGet failed, and the waiter waited.
	if st := p.Stats(); st.GetsWaited != 2 || st.GetsFromIdle != 2 || st.GetsFailed != 1 || st.Gets != 5 {
		t.Errorf("stats %+v: want 2 Gets served after waiting, 2 from idle, 1 failed", st)
	}
}

// Two waiters woken at once, both coming back empty-handed, keep their
// order in line, whichever comes back first. A Get woken to take an idle
// connection wakes the next waiter if more remain idle, before its own
// connection has passed its HealthCheck; here that check fails while a
// running Get takes the other connection, so both woken waiters go back,
// the older first, and the next connection must still go to the older.
func TestWokenWaitersGoBackInTheirOrder(t *testing.T) {
	s := newServer(t)
	var dials atomic.Int32
	gate := make(chan struct{})
	checking := make(chan struct{})
	failCheck := make(chan struct{})
	var checks atomic.Int32
	p, clk := newFakePool(t, connpool.Config{
		MaxConns: 2,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			if dials.Add(1) > 2 {
				select {
				case <-gate:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return dialTo(s)(ctx, "", "")
		},
		HealthCheck: func(ctx context.Context, c net.Conn) error {
			if checks.Add(1) == 1 {
				close(checking)
				<-failCheck
				return errors.New("the first check fails")
			}
			return nil
		},
	})
	a, b := get(t, p), get(t, p)

	served := make(chan int, 2)
	release := make(chan struct{})
	for id := 1; id <= 2; id++ {
		go func() {
			c, err := p.Get(context.Background())
			if err != nil {
				t.Error(err)
				served <- 0
				return
			}
			served <- id
			<-release
			c.Close()
		}()
		waitWaiting(t, p, id) // the first joins the line, then the second
	}

	woken1, release1 := p.HoldWoken()
	a.Close() // idle; the first waiter is woken, and held
	<-woken1
	b.Close()                // idle too; a waiter is already woken
	clk.Advance(time.Second) // both idle long enough to be checked
	woken2, release2 := p.HoldWoken()
	release1() // the first takes one, wakes the second (held) and checks its own
	<-checking
	<-woken2
	taken, err := p.TryGet() // a running Get takes the other
	if err != nil {
		t.Fatal(err)
	}
	close(failCheck) // the first finds nothing: back in line, a dial held at the gate
	waitWaiting(t, p, 1)
	release2() // the second finds nothing: back in line
	waitWaiting(t, p, 2)
	close(gate) // the new connection goes to the front of the line
	first := <-served
	close(release)
	taken.Close()
	<-served
	if first != 1 {
		t.Errorf("waiter %d served first; want waiter 1, which joined the line first", first)
	}
}

// A waiter whose context ends just as a returned connection wakes it,
// before it can leave the line, passes the wake-up on to the next waiter
// and returns its context's error: the connection does not sit idle while
// a Get waits for it.
func TestCanceledWaiterPassesItsWakeUpOn(t *testing.T) {
	s := newServer(t)
	p, _ := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	held := get(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := getErrAsync(ctx, p)
	waitWaiting(t, p, 1)
	second := getAsync(t, p)
	waitWaiting(t, p, 2)

	canceled, release := p.HoldCanceled()
	cancel()
	<-canceled   // the first waiter has seen its context end, and is still in line
	held.Close() // no time has passed: to the idle list, waking the first waiter
	release()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Get = %v, want context.Canceled", err)
	}
	select {
	case c := <-second:
		echo(t, c, "the wake-up was passed on")
		c.Close()
	case <-time.After(testserver.WaitLimit):
		t.Fatal("the second waiter was never woken, with a connection idle")
	}
	if st := p.Stats(); st.GetsCanceled != 1 || st.GetsWaited != 2 {
		t.Errorf("stats %+v: want 1 Get canceled and 2 served after waiting", st)
	}
}

// A waiter whose context ends just as a returned connection is handed to
// it (it has waited long), before it can leave the line, keeps the
// connection: the pool handed it over first, and counted it.
func TestHandoffToAWaiterWhoseContextEndsIsKept(t *testing.T) {
	s := newServer(t)
	p, clk := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	held := get(t, p)
	socket := underlying(held)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		c   net.Conn
		err error
	}
	res := make(chan result, 1)
	go func() {
		c, err := p.Get(ctx)
		res <- result{c, err}
	}()
	waitWaiting(t, p, 1)

	canceled, release := p.HoldCanceled()
	cancel()
	<-canceled
	clk.Advance(time.Millisecond) // past the handoff threshold
	held.Close()                  // handed straight to the waiter
	release()
	r := <-res
	if r.err != nil || r.c == nil {
		t.Fatalf("Get = %v, %v; want the connection handed over", r.c, r.err)
	}
	if underlying(r.c) != socket {
		t.Error("got another socket than the one handed over")
	}
	echo(t, r.c, "kept")
	r.c.Close()
	wantCounts(t, p, 1, 1)
	if st := p.Stats(); st.GetsCanceled != 0 || st.GetsWaited != 2 {
		t.Errorf("stats %+v: want no Get canceled and 2 served after waiting", st)
	}
}

// No Get starves while others keep taking and giving back: many more
// goroutines than connections share a budget of round trips, and every
// one of them gets at least a quarter of an even share. (A goroutine that
// has just given a connection back may take it again before a waiter
// that has waited less than 50µs: under -race on two CPUs, the fewest
// seen in 30 runs was 58 of an even share of 100, the most 120.)
func TestNoGetStarvesUnderContention(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 2})
	const goroutines, budget = 16, 16 * 100
	var left atomic.Int64
	left.Store(budget)
	var done [goroutines]int
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4)
			for left.Add(-1) >= 0 {
				c, err := p.Get(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				_, err = c.Write([]byte("ping"))
				if err == nil {
					_, err = io.ReadFull(c, buf)
				}
				c.Close()
				if err != nil {
					t.Error(err)
					return
				}
				done[g]++
			}
		}()
	}
	wg.Wait()
	least, most := done[0], done[0]
	for _, n := range done {
		least, most = min(least, n), max(most, n)
	}
	t.Logf("round trips per goroutine: fewest %d, most %d", least, most)
	if fair := budget / goroutines; least < fair/4 {
		t.Errorf("a goroutine got %d of %d round trips shared by %d goroutines (an even share: %d): %v", least, budget, goroutines, fair, done)
	}
	st := p.Stats()
	checkStats(t, st)
	if st.Gets != budget || st.Open > 2 {
		t.Errorf("stats %+v: want %d Gets on at most 2 connections", st, budget)
	}
}

// Eight returns at once to eight waiters: each waiter gets one, none is
// left waiting while a connection sits idle.
func TestEveryIdleConnReachesAWaiter(t *testing.T) {
	s := newServer(t)
	p, _ := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 8})
	var held []net.Conn
	for range 8 {
		held = append(held, get(t, p))
	}
	var gots []<-chan net.Conn
	for i := range 8 {
		gots = append(gots, getAsync(t, p))
		waitWaiting(t, p, i+1)
	}
	for _, c := range held {
		c.Close()
	}
	for _, got := range gots {
		c := <-got
		echo(t, c, "served")
		c.Close()
	}
	wantCounts(t, p, 8, 8)
}

// waitCloseOf waits until hook reports a close for reason.
func waitCloseOf(t testing.TB, closed <-chan connpool.CloseReason, want connpool.CloseReason) {
	t.Helper()
	select {
	case r := <-closed:
		if r != want {
			t.Fatalf("closed for %v, want %v", r, want)
		}
	case <-time.After(testserver.WaitLimit):
		t.Fatalf("no connection closed for %v", want)
	}
}

// A connection whose peer has closed it is never handed out, whatever its
// idle time, over TCP and over TLS 1.3 (whose session tickets wait unread
// on the socket): on Linux the pool hears of it from the kernel and closes
// it by itself; past ProbeAfter, the probe at Get catches it everywhere.
func TestClosedByPeerIsNeverHandedOutAtAnyIdleAge(t *testing.T) {
	requireProbe(t)
	for _, transport := range []string{"TCP", "TLS"} {
		for _, idle := range []time.Duration{100 * time.Microsecond, 100 * time.Millisecond, time.Second} {
			t.Run(fmt.Sprintf("%s/Idle=%v", transport, idle), func(t *testing.T) {
				if idle < probeAfter && !connpool.WatchSupported {
					t.Skip("below ProbeAfter only the socket watcher (Linux) sees a close")
				}
				var s *server
				var dial connpool.DialFunc
				if transport == "TLS" {
					s, dial = newTLSServer(t)
				} else {
					s, dial = newServer(t), nil
				}
				closed := make(chan connpool.CloseReason, 4)
				p, clk := newFakePool(t, connpool.Config{
					Addr: s.Addr(), Dial: dial, MaxConns: 1,
					OnClose: func(_ net.Conn, r connpool.CloseReason) { closed <- r },
				})
				c := get(t, p)
				echo(t, c, "before") // a TLS server has sent its tickets by now
				socket := underlying(c)
				if tc, ok := socket.(*tls.Conn); ok {
					socket = tc.NetConn()
				}
				c.Close()
				clk.Advance(idle)
				s.CloseConns()
				waitPeerClosed(t, socket) // the FIN is in this side's kernel
				if idle < probeAfter {
					// No probe at this age: the watcher must have closed it.
					waitCloseOf(t, closed, connpool.CloseStale)
				}
				c = get(t, p)
				defer c.Close()
				if u := underlying(c); u == socket || (transport == "TLS" && u.(*tls.Conn).NetConn() == socket) {
					t.Fatal("handed out the connection the server closed")
				}
				echo(t, c, "after")
				if st := p.Stats(); st.ClosedStale != 1 || st.Dials != 2 {
					t.Errorf("stats %+v: want 1 closed stale and 2 dials", st)
				}
			})
		}
	}
}

// On Linux an idle connection the server closes is closed by the pool at
// once, without a Get, and MinIdleConns dials its replacement.
func TestPeerCloseOfIdleConnIsSeenWithoutAGet(t *testing.T) {
	if !connpool.WatchSupported {
		t.Skip("no socket watcher on this platform")
	}
	s := newServer(t)
	closed := make(chan connpool.CloseReason, 4)
	p := newPool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 2, MinIdleConns: 1,
		OnClose: func(_ net.Conn, r connpool.CloseReason) { closed <- r },
	})
	c := get(t, p) // used once, so the server's close is not taken for a refusal
	// While c was out none was idle, and MinIdleConns may have had a spare
	// dialled, if c did not come back first: one or two are idle.
	c.Close()
	p.WaitDials()
	n := p.Stats().Idle
	s.WaitOpen(n)
	accepts := s.Accepts()
	s.CloseConns()
	for range n {
		waitCloseOf(t, closed, connpool.CloseStale)
	}
	s.WaitUntil("the replacement", func() bool { return s.Accepts() == accepts+1 && s.OpenConns() == 1 })
	p.WaitDials()
	if st := p.Stats(); st.Gets != 1 || st.Idle != 1 || st.ClosedStale != uint64(n) {
		t.Errorf("stats %+v: want the one Get, 1 idle replacement, %d closed stale", st, n)
	}
}

// A connection checked out when its peer closes it is closed when it comes
// back, for CloseStale, however soon: it is never pooled again.
func TestPeerCloseOfCheckedOutConnClosesItOnReturn(t *testing.T) {
	if !connpool.WatchSupported {
		t.Skip("no socket watcher on this platform")
	}
	s := newServer(t)
	closes := newCloses()
	p, _ := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1, OnClose: closes.hook})
	gone := p.PeersGone()
	c := get(t, p)
	socket := underlying(c)
	s.WaitOpen(1)
	s.CloseConns()
	select {
	case <-gone: // the pool has heard of it, with the connection out
	case <-time.After(testserver.WaitLimit):
		t.Fatal("the pool never heard of the peer's close")
	}
	c.Close()
	closes.wait(t, 1, connpool.CloseStale)
	c = get(t, p)
	defer c.Close()
	if underlying(c) == socket {
		t.Fatal("the connection its peer closed was handed out again")
	}
	echo(t, c, "a live one")
	if st := p.Stats(); st.ClosedStale != 1 || st.Dials != 2 {
		t.Errorf("ClosedStale = %d, Dials = %d; want 1 and 2", st.ClosedStale, st.Dials)
	}
}

// A server that closes every connection it accepts before any use (one at
// its connection limit, say) does not make the MinIdleConns top-up dial in
// a loop: each lost connection waits a backoff step before the next dial.
func TestTopUpBacksOffFromServerClosingNewConns(t *testing.T) {
	if !connpool.WatchSupported {
		t.Skip("no socket watcher on this platform")
	}
	s := newTCPServer(t, func(*testserver.Server, int, net.Conn) {}) // closes at once
	p, clk := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 2, MinIdleConns: 1, DialBackoff: time.Second})
	for i := 1; i <= 3; i++ {
		s.WaitUntil(fmt.Sprintf("%d accepts", i), func() bool { return s.Accepts() >= i })
		waitTimer(t, clk) // the top-up waits out the backoff
		if n := s.Accepts(); n != i {
			t.Fatalf("after %d backoff steps, %d dials", i-1, n)
		}
		clk.Advance(time.Minute)
	}
	if st := p.Stats(); st.Gets != 0 || st.DialErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

// The top-up's backoff from a server that closed new connections ends
// when a connection is used: a pool left short then tops up at once, with
// no time passing, rather than waiting out the step it was in.
func TestTopUpBackoffEndsWhenAConnectionIsUsed(t *testing.T) {
	if !connpool.WatchSupported {
		t.Skip("no socket watcher on this platform")
	}
	s := newTCPServer(t, func(s *testserver.Server, id int, c net.Conn) {
		if id > 0 { // the first is closed at once, before any use
			s.Drain(id, c)
		}
	})
	cl := newCloses()
	p, _ := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 3, MinIdleConns: 1,
		DialBackoff: time.Hour, MaxDialBackoff: time.Hour, OnClose: cl.hook,
	})
	cl.wait(t, 1, connpool.CloseStale) // the top-up backs off, for an hour
	if got := s.Accepts(); got != 1 {
		t.Fatalf("%d accepts; want the top-up backing off after the first", got)
	}
	c := get(t, p) // a Get dials for itself, and its connection is used
	defer c.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	s.WaitUntil("a spare dialled once a connection was used", func() bool { return s.Accepts() == 3 })
}

// A connection given back is out of reach of its old handle: every method
// of the old PoolConn leaves the next holder of the same socket alone.
func TestStaleHandleTouchesNothing(t *testing.T) {
	past := time.Now().Add(-time.Hour)
	for _, tc := range []struct {
		name string
		use  func(old *connpool.PoolConn) error // must fail with net.ErrClosed, or be harmless
	}{
		{"Read", func(old *connpool.PoolConn) error { _, err := old.Read(make([]byte, 1)); return err }},
		{"Write", func(old *connpool.PoolConn) error { _, err := old.Write([]byte("x")); return err }},
		{"SetDeadline", func(old *connpool.PoolConn) error { return old.SetDeadline(past) }},
		{"SetReadDeadline", func(old *connpool.PoolConn) error { return old.SetReadDeadline(past) }},
		{"SetWriteDeadline", func(old *connpool.PoolConn) error { return old.SetWriteDeadline(past) }},
		{"Close", func(old *connpool.PoolConn) error { return old.Close() }},
		{"MarkUnusable", func(old *connpool.PoolConn) error { old.MarkUnusable(); return net.ErrClosed }},
		{"Addrs", func(old *connpool.PoolConn) error {
			if old.LocalAddr() == nil || old.RemoteAddr() == nil {
				return errors.New("nil address after Close")
			}
			return net.ErrClosed
		}},
		{"NetConn", func(old *connpool.PoolConn) error { return old.NetConn().SetDeadline(past) }},
		{"ConnField", func(old *connpool.PoolConn) error {
			if err := old.Conn.SetReadDeadline(past); !errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("Conn.SetReadDeadline = %v", err)
			}
			_, err := old.Conn.Write([]byte("x"))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
			old := get(t, p).(*connpool.PoolConn)
			socket := old.NetConn()
			old.Close()
			next := get(t, p)
			if underlying(next) != socket {
				t.Fatal("expected the same socket again")
			}
			if err := tc.use(old); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("on the old handle: %v, want an error wrapping net.ErrClosed", err)
			}
			echo(t, next, "unaffected") // no deadline, no stray byte, no close
			wantCounts(t, p, 0, 1)
			next.Close()
			wantCounts(t, p, 1, 1)
			if st := p.Stats(); st.Closed() != 0 {
				t.Errorf("the pool closed a connection: %+v", st)
			}
		})
	}
}

// A deadline a holder sets lasts as long as its checkout.
func TestDeadlineIsClearedOnReturn(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	c := get(t, p)
	socket := underlying(c)
	c.SetDeadline(time.Now().Add(-time.Hour))
	c.Close()
	c = get(t, p)
	defer c.Close()
	if underlying(c) != socket {
		t.Fatal("expected the same socket again")
	}
	echo(t, c, "no deadline left over")
}

// A Read or Write that fails, a timeout included, leaves the stream in an
// unknown state: the reply to the request that timed out may still come
// and be read by the next holder as its own. Close then closes the socket
// instead of pooling it; a Read and Write that succeed do not. The fake
// clock keeps the probe out of it: the next Get comes well within
// ProbeAfter, as it does in a busy program.
func TestFailedIOMakesTheConnUnusable(t *testing.T) {
	past := time.Now().Add(-time.Hour)
	for _, tc := range []struct {
		name string
		fail func(c net.Conn) error
		// also is the other reason the close may have: on Linux the pool
		// may hear of the server's close before the Read's EOF comes back.
		also connpool.CloseReason
	}{
		{"ReadTimeout", func(c net.Conn) error {
			if _, err := io.WriteString(c, "late reply"); err != nil {
				return err
			}
			c.SetReadDeadline(past) // gives up before the echo is read
			_, err := c.Read(make([]byte, 1))
			return err
		}, 0},
		{"WriteTimeout", func(c net.Conn) error {
			c.SetWriteDeadline(past)
			_, err := c.Write([]byte("never sent"))
			return err
		}, 0},
		{"ReadEOF", func(c net.Conn) error {
			_, err := c.Read(make([]byte, 1)) // the server has closed it
			return err
		}, connpool.CloseStale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			closes := newCloses()
			p, _ := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1, OnClose: closes.hook})
			c := get(t, p)
			socket := underlying(c)
			echo(t, c, "fine") // I/O that succeeds marks nothing
			c.Close()
			c = get(t, p)
			if underlying(c) != socket {
				t.Fatal("a connection whose I/O succeeded was replaced")
			}
			if tc.name == "ReadEOF" {
				s.CloseConns()
			}
			if err := tc.fail(c); err == nil {
				t.Fatal("the I/O meant to fail succeeded")
			}
			c.Close()
			if r := <-closes.ch; r != connpool.CloseUnusable && (tc.also == 0 || r != tc.also) {
				t.Fatalf("closed for %v, want %v", r, connpool.CloseUnusable)
			}
			c = get(t, p)
			defer c.Close()
			if underlying(c) == socket {
				t.Fatal("the connection whose I/O failed was handed out again")
			}
			echo(t, c, "clean stream") // would read "late reply" on the old one
			if st := p.Stats(); st.Closed() != 1 || st.Dials != 2 {
				t.Errorf("Closed() = %d, Dials = %d; want 1 and 2", st.Closed(), st.Dials)
			}
		})
	}
}

// A connection given back while the idle list is full and Gets wait goes
// to the longest waiter rather than being closed as over MaxIdleConns, and
// no Get dials for want of it.
func TestReturnToAFullIdleListServesAWaiter(t *testing.T) {
	s := newServer(t)
	p, _ := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 2, MaxIdleConns: 1})
	a, b := get(t, p), get(t, p)
	got := make(chan error, 2)
	giveBack := make(chan struct{}) // closed once the stats are read
	for range 2 {
		go func() {
			c, err := p.Get(context.Background())
			if err == nil {
				// Not before the stats are read: with the woken waiter
				// still out of line, a return would find the idle list
				// full and no waiter.
				<-giveBack
				c.Close()
			}
			got <- err
		}()
	}
	if !p.WaitWaiting(2, testserver.WaitLimit) {
		t.Fatal("the Gets did not wait in line")
	}
	woken, release := p.HoldWoken()
	a.Close() // idle, and the longest waiter is woken to take it
	<-woken
	b.Close() // the idle list is full, and the other waiter has waited no time
	st := p.Stats()
	release()
	close(giveBack)
	for range 2 {
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	}
	if st.ClosedMaxIdle != 0 || st.Dialing != 0 {
		t.Errorf("ClosedMaxIdle = %d, Dialing = %d at the return; want 0 and 0", st.ClosedMaxIdle, st.Dialing)
	}
}

// Closing a TLS connection whose Write timed out, on a server that reads
// nothing, sends no close_notify alert: crypto/tls would wait five seconds
// for room in the send buffer, and fail, inside the holder's Close.
func TestClosingABrokenTLSConnSendsNoGoodbye(t *testing.T) {
	s, clientCfg := newStalledTLSServer(t)
	closes := newCloses()
	p := newPool(t, connpool.Config{
		MaxConns: 1, OnClose: closes.hook,
		Dial: (&tls.Dialer{Config: clientCfg}).DialContext, Addr: s.Addr(),
	})
	c := get(t, p)
	c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
	msg := make([]byte, 10<<10)
	for {
		if _, err := c.Write(msg); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Write = %v, want a timeout once the socket buffers are full", err)
			}
			break
		}
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close = %v, want nil", err)
	}
	if r := <-closes.ch; r != connpool.CloseUnusable {
		t.Errorf("closed for %v, want %v", r, connpool.CloseUnusable)
	}
}

// closeOps are the two calls that close every idle connection at once.
var closeOps = []struct {
	name string
	do   func(*connpool.ConnPool)
}{{"Close", (*connpool.ConnPool).Close}, {"Reset", (*connpool.ConnPool).Reset}}

// Close and Reset say a TLS goodbye on every idle connection, which to a
// server that stopped reading waits for room in the socket (crypto/tls
// gives it five seconds): they say them all at once, so that such a
// server costs one wait, not one per connection. Each goodbye is held
// here until all of them have begun, which saying them one after another
// would never let happen.
func TestCloseSaysTLSGoodbyesConcurrently(t *testing.T) {
	for _, op := range closeOps {
		t.Run(op.name, func(t *testing.T) {
			const size = 4
			st := startStalledTLS(t, size)
			p := newPool(t, connpool.Config{Addr: st.srv.Addr(), MaxConns: size, Dial: st.dial})
			conns := make([]net.Conn, size)
			for i := range conns {
				conns[i] = get(t, p)
				// What a holder's Writes leave behind on a server that
				// stopped reading: every buffer on the way full.
				fillSendBuffer(t, <-st.raws)
			}
			for _, c := range conns {
				c.Close()
			}
			st.closesConcurrently(t, op.name, func() { op.do(p) })
			if s := p.Stats(); s.Open != 0 {
				t.Errorf("stats %+v: want nothing open", s)
			}
		})
	}
}

// began waits until a TLS write of st's armed connections (a goodbye, a
// handshake) has begun, and fails t if none does.
func (st *stalledTLS) began(t *testing.T, what string) {
	t.Helper()
	select {
	case <-st.writing:
	case <-time.After(tcpWait):
		t.Fatalf("%s never began", what)
	}
}

// returns waits for done, and fails t if it does not come while st holds
// every goodbye: what sent on done waited on one.
func returns[T any](t *testing.T, what string, done <-chan T) T {
	t.Helper()
	select {
	case v := <-done:
		return v
	case <-time.After(tcpWait):
		t.Fatalf("%s did not return while a TLS goodbye waited on its server: it waits on the goodbye", what)
		panic("unreachable")
	}
}

// idleOutFirstOfTwo idles two connections of p, a pool with a 10s
// IdleTimeout on clk, a second apart, arms st, and moves clk until the
// maintainer has begun the goodbye of the first, timed out; the second,
// idle 9.5s, stays.
func (st *stalledTLS) idleOutFirstOfTwo(t *testing.T, p *connpool.ConnPool, clk *connpool.FakeClock) {
	t.Helper()
	a, b := get(t, p), get(t, p)
	a.Close()
	waitTimer(t, clk) // advancing before the maintainer's timer exists would skip it
	clk.Advance(time.Second)
	b.Close()
	// Nor may the clock move while the maintainer plans for a's timeout.
	waitTimerWithin(t, clk, 9*time.Second)
	st.armed.Store(true)
	clk.Advance(9500 * time.Millisecond)
	st.began(t, "the maintainer's goodbye to the timed-out connection")
}

// A Get or TryGet that closes a TLS connection gone past its lifetime or
// idle timeout does not wait on its goodbye, which to a server that
// stopped reading takes up to five seconds: the goodbyes are held here
// until the calls have returned, which they could not do waiting.
func TestGetDoesNotWaitOnAGoodbye(t *testing.T) {
	t.Run("Get, lifetime passed during HealthCheck", func(t *testing.T) {
		st := startStalledTLS(t, 1)
		defer st.letGo()
		var clk *connpool.FakeClock
		p, clk := newFakePool(t, connpool.Config{
			Addr: st.srv.Addr(), Dial: st.dial, MaxConns: 1, MaxLifetime: 10 * time.Second,
			HealthCheck: func(context.Context, net.Conn) error {
				clk.Advance(time.Minute) // the check takes long enough for the lifetime to pass
				return nil
			},
		})
		get(t, p).Close()
		clk.Advance(time.Second) // idle past HealthCheckAfter
		st.armed.Store(true)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := p.Get(ctx)
			done <- err
		}()
		st.began(t, "the expired connection's goodbye")
		cancel() // the Get waits for the slot the goodbye holds
		if err := returns(t, "Get", done); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get = %v, want context.Canceled", err)
		}
	})
	t.Run("TryGet, idle timeout passed", func(t *testing.T) {
		st := startStalledTLS(t, 2)
		defer st.letGo()
		p, clk := newFakePool(t, connpool.Config{
			Addr: st.srv.Addr(), Dial: st.dial, MaxConns: 2, IdleTimeout: 10 * time.Second,
		})
		st.idleOutFirstOfTwo(t, p, clk)
		clk.Advance(time.Second) // the second idle past its timeout too
		done := make(chan error, 1)
		go func() {
			_, err := p.TryGet()
			done <- err
		}()
		if err := returns(t, "TryGet", done); !errors.Is(err, connpool.ErrNotAvailable) {
			t.Fatalf("TryGet = %v, want ErrNotAvailable", err)
		}
	})
}

// The maintainer closes connections past their idle timeout without
// waiting on their goodbyes: the spare that MinIdleConns asks for is
// dialled while a goodbye to a server that stopped reading still waits.
func TestMaintainerDoesNotWaitOnAGoodbye(t *testing.T) {
	st := startStalledTLS(t, 2)
	defer st.letGo()
	p, clk := newFakePool(t, connpool.Config{
		Addr: st.srv.Addr(), Dial: st.dial, MaxConns: 3, MinIdleConns: 1, IdleTimeout: 10 * time.Second,
		MaxLifetime: time.Hour, // so that the maintainer, with a wake planned, stays
	})
	// Two idle connections a second apart, never two out at once, which
	// would have the pool dial a third spare: the one MinIdleConns keeps
	// ready, s, and a, taken and given back.
	a := get(t, p)
	pooltest.WaitFor(t, "the spare", func() bool { return p.Len() == 1 })
	a.Close()
	waitTimer(t, clk)
	clk.Advance(time.Second)
	get(t, p).Close()                      // a again, the latest returned
	waitTimerWithin(t, clk, 9*time.Second) // s's timeout, planned
	st.armed.Store(true)
	clk.Advance(9500 * time.Millisecond)
	st.began(t, "the maintainer's goodbye to the timed-out spare")
	c := get(t, p) // a: no spare left
	defer c.Close()
	st.began(t, "the dial of a new spare")
}

// Drain whose context ends while the goodbyes of the idle connections
// still wait on a server that stopped reading returns then, with the
// context's error, and cuts those goodbyes short.
func TestDrainDoesNotOutwaitItsContextOnAGoodbye(t *testing.T) {
	st := startStalledTLS(t, 1)
	defer st.letGo()
	p := newPool(t, connpool.Config{Addr: st.srv.Addr(), Dial: st.dial, MaxConns: 1})
	c := get(t, p)
	// What a holder's Writes leave behind on a server that stopped
	// reading: every buffer on the way full, so the goodbye waits.
	fillSendBuffer(t, <-st.raws)
	c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := p.Drain(ctx)
		done <- result{n, err}
	}()
	if r := returns(t, "Drain", done); r.n != 0 || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Drain = %d, %v; want 0, context.Canceled", r.n, r.err)
	}
	if s := p.Stats(); s.Open != 0 {
		t.Errorf("stats %+v after Drain: want nothing open", s)
	}
}

// Drain that gives up closes every connection still checked out, also
// when the Close of one of them panics (a wrapper's own); the panic then
// reaches Drain's caller.
func TestDrainGivingUpClosesEverySocketDespiteAPanickingClose(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{MaxConns: 3, Dial: panickingCloses(dialTo(s))})
	held := []net.Conn{get(t, p), get(t, p), get(t, p)}
	s.WaitOpen(3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := recovered(func() { p.Drain(ctx) }); r != errPanicOnClose {
		t.Fatalf("Drain panicked with %v, want %v", r, errPanicOnClose)
	}
	s.WaitOpen(0)
	for _, c := range held {
		recovered(func() { c.Close() })
	}
	if st := p.Stats(); st.Open != 0 {
		t.Errorf("stats %+v: want nothing open", st)
	}
}

// A Close while another goroutine's Read on the same PoolConn is blocked
// closes the socket, which ends the Read, instead of pooling a socket in
// an unknown state.
func TestCloseDuringReadClosesTheSocket(t *testing.T) {
	s := newTCPServer(t, nil) // reads, never answers
	reading := make(chan struct{}, 1)
	p := newPool(t, connpool.Config{
		MaxConns: 1,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, err := dialTo(s)(ctx, "", "")
			return signalingReads{c, reading}, err
		},
	})
	c := get(t, p)
	readErr := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		readErr <- err
	}()
	<-reading // inside the socket's Read
	c.Close()
	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("the blocked Read returned no error")
		}
	case <-time.After(testserver.WaitLimit):
		t.Fatal("the blocked Read did not end")
	}
	if st := p.Stats(); st.ClosedUnusable != 1 || st.Open != 0 {
		t.Errorf("stats %+v: want the socket closed as unusable", st)
	}
}

// signalingReads is a connection that says when a Read begins.
type signalingReads struct {
	net.Conn
	reading chan<- struct{}
}

func (c signalingReads) Read(b []byte) (int, error) {
	select {
	case c.reading <- struct{}{}:
	default:
	}
	return c.Conn.Read(b)
}

// recovered runs f and returns what it panicked with.
func recovered(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

// panickingClear is a connection whose SetDeadline panics when it clears
// the deadlines.
type panickingClear struct{ net.Conn }

func (c panickingClear) SetDeadline(t time.Time) error {
	if t.IsZero() {
		panic("deadline bug")
	}
	return c.Conn.SetDeadline(t)
}

// panickingAddr is a connection whose RemoteAddr panics, as a wrapper
// around no connection does.
type panickingAddr struct{ net.Conn }

func (panickingAddr) RemoteAddr() net.Addr { panic("address bug") }

// panickingNetConn is a wrapper whose NetConn panics.
type panickingNetConn struct{ net.Conn }

func (panickingNetConn) NetConn() net.Conn { panic("address bug") }

// Callbacks that panic leave no slot or lock behind: the panic reaches
// the caller, and with MaxConns 1 the pool goes on serving.
func TestPanickingCallbacksLeakNothing(t *testing.T) {
	// The methods of a connection the pool calls to take it in, such as
	// RemoteAddr to name a pool that has no name, run before the pool
	// takes its lock: one that panics leaves none held, and New's cleanup
	// closes what it dialled.
	for _, wrap := range []struct {
		name string
		wrap func(net.Conn) net.Conn
	}{
		{"RemoteAddr in New", func(c net.Conn) net.Conn { return panickingAddr{c} }},
		{"NetConn in New", func(c net.Conn) net.Conn { return panickingNetConn{c} }},
	} {
		t.Run(wrap.name, func(t *testing.T) {
			s := newServer(t)
			factory := func() (net.Conn, error) {
				c, err := dialTo(s)(context.Background(), "", "")
				if err != nil {
					return nil, err
				}
				return wrap.wrap(c), nil
			}
			done := make(chan any, 1)
			go func() { done <- recovered(func() { connpool.NewChannelPool(2, 2, factory) }) }()
			select {
			case r := <-done:
				if r != "address bug" {
					t.Fatalf("NewChannelPool panicked with %v, want the connection's panic", r)
				}
			case <-time.After(testserver.WaitLimit):
				t.Fatal("NewChannelPool hung on the lock a panic left held")
			}
			s.WaitUntil("the connection closed", func() bool { return s.Accepts() == 1 && s.OpenConns() == 0 })
		})
	}

	t.Run("Dial in New", func(t *testing.T) {
		s := newServer(t)
		var calls atomic.Int32
		cfg := connpool.Config{
			MaxConns: 3, InitialConns: 3,
			Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
				if calls.Add(1) == 2 {
					panic("dial bug")
				}
				return dialTo(s)(ctx, "", "")
			},
		}
		if r := recovered(func() { connpool.New(cfg) }); r != "dial bug" {
			t.Fatalf("New panicked with %v, want the dial function's panic", r)
		}
		// The connection dialled before the panic is closed; goleak checks
		// that no goroutine of the pool is left.
		s.WaitUntil("the first connection closed", func() bool { return s.Accepts() == 1 && s.OpenConns() == 0 })
	})
	t.Run("HealthCheck", func(t *testing.T) {
		s := newServer(t)
		var calls atomic.Int32
		p, clk := newFakePool(t, connpool.Config{
			Addr: s.Addr(), MaxConns: 1, InitialConns: 1,
			HealthCheck: func(context.Context, net.Conn) error {
				if calls.Add(1) == 1 {
					panic("health check bug")
				}
				return nil
			},
		})
		clk.Advance(time.Hour)
		if r := recovered(func() { p.Get(context.Background()) }); r != "health check bug" {
			t.Fatalf("Get panicked with %v, want the health check's panic", r)
		}
		c := get(t, p) // MaxConns 1: the slot is free again
		echo(t, c, "after the panic")
		c.Close()
		if st := p.Stats(); st.ClosedHealthCheck != 1 || st.Open != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("OnClose", func(t *testing.T) {
		s := newServer(t)
		var calls atomic.Int32
		p := newPool(t, connpool.Config{
			Addr: s.Addr(), MaxConns: 1,
			OnClose: func(net.Conn, connpool.CloseReason) {
				if calls.Add(1) == 1 {
					panic("hook bug")
				}
			},
		})
		c := get(t, p).(*connpool.PoolConn)
		c.MarkUnusable()
		if r := recovered(func() { c.Close() }); r != "hook bug" {
			t.Fatalf("Close panicked with %v", r)
		}
		c = get(t, p).(*connpool.PoolConn)
		echo(t, c, "after the panic")
		c.Close()
		wantCounts(t, p, 1, 1)
	})
	// A wrapper whose SetDeadline panics when the pool clears the
	// holder's deadline: the return closes the connection and frees its
	// slot, and the panic reaches the holder's Close.
	t.Run("SetDeadline in the return", func(t *testing.T) {
		s := newServer(t)
		p := newPool(t, connpool.Config{
			MaxConns: 1,
			Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
				c, err := dialTo(s)(ctx, "", "")
				if err != nil {
					return nil, err
				}
				return panickingClear{c}, nil
			},
		})
		c := get(t, p)
		if err := c.SetDeadline(time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if r := recovered(func() { c.Close() }); r != "deadline bug" {
			t.Fatalf("Close panicked with %v, want SetDeadline's panic", r)
		}
		c = get(t, p) // MaxConns 1: the slot is free again
		echo(t, c, "after the panic")
		c.Close()
		if st := p.Stats(); st.ClosedUnusable != 1 || st.Open != 1 || st.Dials != 2 {
			t.Errorf("stats %+v", st)
		}
	})
	// Close and Reset close every idle connection at once: one hook that
	// panics leaves none of them open.
	for _, op := range closeOps {
		t.Run("OnClose in "+op.name, func(t *testing.T) {
			s := newServer(t)
			var calls atomic.Int32
			p := newPool(t, connpool.Config{
				Addr: s.Addr(), MaxConns: 3, InitialConns: 3,
				OnClose: func(net.Conn, connpool.CloseReason) {
					if calls.Add(1) == 1 {
						panic("hook bug")
					}
				},
			})
			s.WaitOpen(3)
			if r := recovered(func() { op.do(p) }); r != "hook bug" {
				t.Fatalf("%s panicked with %v", op.name, r)
			}
			s.WaitOpen(0)
			if st := p.Stats(); st.Open != 0 {
				t.Errorf("stats %+v: want nothing open", st)
			}
		})
	}
	// Nor does a connection whose Close panics (a wrapper's): the panic
	// reaches the caller once every idle connection is closed, and OnClose
	// hears of each of them.
	for _, op := range closeOps {
		t.Run("socket Close in "+op.name, func(t *testing.T) {
			s := newServer(t)
			var reported atomic.Int32
			p := newPool(t, connpool.Config{
				MaxConns: 3, InitialConns: 3,
				Dial:    panickingCloses(dialTo(s)),
				OnClose: func(net.Conn, connpool.CloseReason) { reported.Add(1) },
			})
			s.WaitOpen(3)
			if r := recovered(func() { op.do(p) }); r != errPanicOnClose {
				t.Fatalf("%s panicked with %v, want %v", op.name, r, errPanicOnClose)
			}
			s.WaitOpen(0)
			if st := p.Stats(); st.Open != 0 {
				t.Errorf("stats %+v: want nothing open", st)
			}
			if n := reported.Load(); n != 3 {
				t.Errorf("OnClose reported %d of the 3 connections closed", n)
			}
		})
	}
	// The same for one connection closed on its return: its slot is free
	// for the next Get, and OnClose hears of it.
	t.Run("socket Close in a return", func(t *testing.T) {
		s := newServer(t)
		var reasons []connpool.CloseReason
		p := newPool(t, connpool.Config{
			MaxConns: 1,
			Dial:     panickingCloses(dialTo(s)),
			OnClose:  func(_ net.Conn, r connpool.CloseReason) { reasons = append(reasons, r) },
		})
		c := get(t, p).(*connpool.PoolConn)
		c.MarkUnusable()
		if r := recovered(func() { c.Close() }); r != errPanicOnClose {
			t.Fatalf("Close panicked with %v, want %v", r, errPanicOnClose)
		}
		if len(reasons) != 1 || reasons[0] != connpool.CloseUnusable {
			t.Errorf("OnClose reported %v, want [%v]", reasons, connpool.CloseUnusable)
		}
		c = get(t, p).(*connpool.PoolConn)
		echo(t, c, "after the panic")
		c.MarkUnusable()
		recovered(func() { c.Close() })
	})
	t.Run("OnDial", func(t *testing.T) {
		s := newServer(t)
		var calls atomic.Int32
		cfg := connpool.Config{
			Addr: s.Addr(), MaxConns: 1, InitialConns: 1,
			OnDial: func(net.Conn, error, time.Duration) {
				if calls.Add(1) == 1 {
					panic("hook bug")
				}
			},
		}
		if r := recovered(func() { connpool.New(cfg) }); r != "hook bug" {
			t.Fatalf("New panicked with %v", r)
		}
		s.WaitOpen(0) // the connection it dialled is closed
		p := newPool(t, cfg)
		c := get(t, p)
		echo(t, c, "the second pool")
		c.Close()
	})
	t.Run("Observer", func(t *testing.T) {
		s := newServer(t)
		p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1, InitialConns: 1})
		o := &panickyObserver{}
		p.Observe(o)
		if r := recovered(func() { p.Get(context.Background()) }); r != "observer bug" {
			t.Fatalf("Get panicked with %v", r)
		}
		o.off.Store(true)
		c := get(t, p)
		echo(t, c, "after the panic")
		c.Close()
		wantCounts(t, p, 1, 1)
	})
}

type panickyObserver struct{ off atomic.Bool }

func (o *panickyObserver) ObserveWait(time.Duration) {
	if !o.off.Load() {
		panic("observer bug")
	}
}
func (o *panickyObserver) ObserveUse(time.Duration)         {}
func (o *panickyObserver) ObserveDial(time.Duration, error) {}

// A loop of TryGets against a server that is down dials no more often than
// the backoff allows.
func TestTryGetObeysDialBackoff(t *testing.T) {
	var dials atomic.Int32
	errDown := errors.New("down")
	p, clk := newFakePool(t, connpool.Config{
		MaxConns: 4, DialBackoff: time.Second,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			dials.Add(1)
			return nil, errDown
		},
	})
	if _, err := p.TryGet(); !errors.Is(err, connpool.ErrNotAvailable) {
		t.Fatalf("TryGet = %v", err)
	}
	p.WaitDials()
	for range 1000 {
		p.TryGet()
	}
	p.WaitDials()
	if n := dials.Load(); n != 1 {
		t.Fatalf("1000 TryGets in one backoff step dialled %d times, want 1", n)
	}
	clk.Advance(time.Minute)
	p.TryGet()
	p.WaitDials()
	if n := dials.Load(); n != 2 {
		t.Errorf("after the backoff, %d dials, want 2", n)
	}
}

// Any MaxConns from 1 up is accepted, and the pool's memory follows the
// connections open, not the limit.
func TestMaxConnsUpToMaxInt(t *testing.T) {
	s := newServer(t)
	for _, n := range []int{0, -1, math.MinInt} {
		if _, err := connpool.New(connpool.Config{Addr: s.Addr(), MaxConns: n}); !errors.Is(err, connpool.ErrInvalidConfig) {
			t.Errorf("MaxConns %d: %v, want ErrInvalidConfig", n, err)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: math.MaxInt, MinIdleConns: 2})
	p.WaitDials()
	runtime.ReadMemStats(&after)
	if grown := int64(after.TotalAlloc - before.TotalAlloc); grown > 1<<20 {
		t.Errorf("New with MaxConns MaxInt allocated %d bytes", grown)
	}
	c := get(t, p)
	p.WaitDials() // taking one left one idle: the top-up dials a third
	echo(t, c, "unbounded")
	c.Close()
	if st := p.Stats(); st.MaxConns != math.MaxInt || st.Open != 3 || st.Idle != 3 {
		t.Errorf("stats %+v: want 3 open and idle", st)
	}
}

// Reset closes idle connections at once, checked-out ones as they come
// back, and what a dial under way brings; the pool then dials anew.
func TestResetRetiresEveryConnectionDialledBefore(t *testing.T) {
	s := newServer(t)
	cl := newCloses()
	dial, dialing, release := slowDialer(s)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 4, InitialConns: 2, OnClose: cl.hook})
	held := get(t, p)
	p.Reset()
	cl.wait(t, 1, connpool.CloseReset) // the idle one
	echo(t, held, "a holder is not interrupted")
	held.Close()
	cl.wait(t, 1, connpool.CloseReset) // the one out, on its return
	wantCounts(t, p, 0, 0)
	c := get(t, p)
	echo(t, c, "dialled after the Reset")
	c.Close()
	if st := p.Stats(); st.ClosedReset != 2 || st.Dials != 3 {
		t.Errorf("stats %+v: want 2 closed by the Reset, 3 dials", st)
	}

	// A dial started before a Reset brings a connection that is closed.
	q := newPool(t, connpool.Config{Dial: dial, MaxConns: 1, OnClose: cl.hook})
	got := getErrAsync(context.Background(), q)
	<-dialing
	q.Reset()
	close(release)
	q.WaitDials()
	cl.wait(t, 1, connpool.CloseReset)
	if err := <-got; err != nil {
		t.Fatalf("Get waiting through a Reset: %v", err)
	}
	p.Close()
	p.Reset() // after Close: nothing
}

// Ages and timeouts hold while the pool's own background work is stuck:
// no Get takes its time from a goroutine that can block. Here the
// MinIdleConns top-up is stuck in a dial, and a connection idle past
// ProbeAfter, which only a Get's own clock can tell, must still be peeked
// at: its stray bytes keep it from being handed out.
func TestTimeDoesNotFreezeWhileATopUpDialIsStuck(t *testing.T) {
	s := newServer(t)
	var stuck atomic.Bool
	release := make(chan struct{})
	dialing := make(chan struct{}, 1)
	p, clk := newFakePool(t, connpool.Config{
		MaxConns: 4, MinIdleConns: 1,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			if stuck.Load() {
				dialing <- struct{}{}
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return dialTo(s)(ctx, "", "")
		},
	})
	defer close(release)
	p.WaitDials() // the first top-up is in
	stuck.Store(true)
	c := get(t, p)
	<-dialing // taking it left the pool short: the top-up dials, and sticks
	socket := underlying(c)
	c.Close()
	s.WaitOpen(1)
	s.Push("x")
	waitReadable(t, socket)
	clk.Advance(time.Hour)
	if c, err := p.TryGet(); err == nil {
		c.Close()
		t.Fatal("handed out a connection with stray bytes while a dial was stuck")
	}
	if st := p.Stats(); st.ClosedStale != 1 {
		t.Errorf("ClosedStale = %d, want 1", st.ClosedStale)
	}
}

// gatedConn is a TCP connection whose first use of its socket by the pool
// (the watcher adding it, after the connection has been delivered) waits
// until gate is closed, or for a second at most: a way to hold New between
// two of its initial dials.
type gatedConn struct {
	net.Conn
	gate <-chan struct{}
}

func (c *gatedConn) SyscallConn() (syscall.RawConn, error) {
	rc, err := c.Conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil, err
	}
	return gatedRawConn{rc, c.gate}, nil
}

type gatedRawConn struct {
	syscall.RawConn
	gate <-chan struct{}
}

func (r gatedRawConn) Control(f func(fd uintptr)) error {
	select {
	case <-r.gate:
	case <-time.After(time.Second): // nothing else dials while New runs
	}
	return r.RawConn.Control(f)
}

// MaxConns is a hard limit, also while New dials its InitialConns: the
// MinIdleConns top-up must not dial beside New's own dials, or the pool
// opens more than MaxConns connections (here 3 for a MaxConns of 2, the
// extra one closed at once as over MaxIdleConns).
func TestNewStaysWithinMaxConnsWithMinIdleConns(t *testing.T) {
	if !connpool.WatchSupported {
		t.Skip("needs the socket watcher, whose Add is the hook that holds New")
	}
	s := newServer(t)
	var dials atomic.Int32
	second := make(chan struct{})
	p := newPool(t, connpool.Config{
		MaxConns: 2, InitialConns: 2, MinIdleConns: 2,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			n := dials.Add(1)
			if n == 2 {
				close(second)
			}
			c, err := dialTo(s)(ctx, "", "")
			if err != nil || n != 1 {
				return c, err
			}
			// New waits in the watcher's Add of its first connection
			// until a second dial has begun.
			return &gatedConn{Conn: c, gate: second}, nil
		},
	})
	p.WaitDials()
	if st := p.Stats(); st.Dials != 2 || st.ClosedMaxIdle != 0 {
		t.Errorf("stats %+v: want 2 dials for InitialConns 2 and MinIdleConns 2 with MaxConns 2", st)
	}
}

// A duration setting as long as time.Duration holds means "never" in
// effect: it neither overflows the pool's arithmetic nor fires at once.
func TestLongestDurationsNeverFire(t *testing.T) {
	s := newServer(t)
	const forever = time.Duration(math.MaxInt64)
	var checks atomic.Int32
	p, clk := newFakePool(t, connpool.Config{
		Addr: s.Addr(), MaxConns: 1, MinIdleConns: 1,
		IdleTimeout: forever, MaxLifetime: forever, MaxLifetimeJitter: time.Nanosecond,
		LeakThreshold: forever, ProbeAfter: forever, HealthCheckAfter: forever,
		DialTimeout: forever, DialBackoff: forever, MaxDialBackoff: forever,
		HealthCheck: func(context.Context, net.Conn) error {
			checks.Add(1)
			return nil
		},
	})
	pooltest.WaitFor(t, "the top-up", func() bool { st := p.Stats(); return st.Idle == 1 && st.Dialing == 0 })
	for range 3 {
		c := get(t, p)
		clk.Advance(time.Hour)
		echo(t, c, "still here")
		c.Close()
		clk.Advance(time.Hour)
	}
	st := p.Stats()
	if st.Dials != 1 || st.Closed() != 0 || st.Leaks != 0 || checks.Load() != 0 {
		t.Errorf("stats %+v, %d health checks: want the one connection kept, no leak reported, no check", st, checks.Load())
	}
}

// socketOpen reports whether the socket c has not been closed.
func socketOpen(c net.Conn) bool {
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return false
	}
	return rc.Control(func(uintptr) {}) == nil
}

// A Drain whose context ends cuts short the goodbyes still under way, also
// those the maintainer (or a Get or TryGet) began in a goroutine of the
// pool's before the Drain: none is left waiting on an open socket, for up
// to the five seconds crypto/tls allows, after Drain has returned.
func TestDrainCutsShortAGoodbyeBegunInAPoolGoroutine(t *testing.T) {
	st := startStalledTLS(t, 1)
	defer st.letGo()
	p, clk := newFakePool(t, connpool.Config{
		Addr: st.srv.Addr(), Dial: st.dial, MaxConns: 1, IdleTimeout: 10 * time.Second,
	})
	get(t, p).Close()
	raw := <-st.raws
	waitTimer(t, clk) // advancing before the maintainer's timer exists would skip it
	st.armed.Store(true)
	clk.Advance(11 * time.Second) // the maintainer times the idle connection out
	st.began(t, "the maintainer's goodbye to the timed-out connection")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() {
		_, err := p.Drain(ctx)
		done <- err
	}()
	if err := returns(t, "Drain", done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Drain = %v, want context.Canceled", err)
	}
	if socketOpen(raw) {
		t.Error("Drain gave up and returned, but the goodbye a pool goroutine began on a timed-out TLS " +
			"connection still waits on its open socket: Drain did not cut it short")
	}
}
