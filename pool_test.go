package connpool_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
)

func newPool(t testing.TB, cfg connpool.Config) *connpool.ConnPool {
	t.Helper()
	p, err := connpool.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		p.WaitDials()
	})
	return p
}

func get(t testing.TB, p connpool.Pool) net.Conn {
	t.Helper()
	c, err := p.Get(context.Background())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return c
}

func wantCounts(t testing.TB, p connpool.Pool, idle, open int) {
	t.Helper()
	if got := p.Len(); got != idle {
		t.Errorf("Len() = %d, want %d", got, idle)
	}
	if got := p.NumberOfConns(); got != open {
		t.Errorf("NumberOfConns() = %d, want %d", got, open)
	}
}

// underlying returns the socket behind a pooled connection.
func underlying(c net.Conn) net.Conn { return c.(*connpool.PoolConn).NetConn() }

func TestNewChannelPoolPrefills(t *testing.T) {
	s := newServer(t)
	p, err := connpool.NewChannelPool(3, 5, factory(s))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	wantCounts(t, p, 3, 3)
	s.WaitOpen(3)

	c := get(t, p)
	echo(t, c, "hello")
	wantCounts(t, p, 2, 3)
	c.Close()
	wantCounts(t, p, 3, 3)
	if s.Accepts() != 3 {
		t.Errorf("server accepted %d connections, want 3: Get should reuse an idle one", s.Accepts())
	}
}

// A Factory takes no context, so NewChannelPool times no dial out: a
// factory slower than New's default DialTimeout still serves, as it did
// in buraksezer/connpool.
func TestNewChannelPoolTimesNoDialOut(t *testing.T) {
	s := newServer(t)
	p, err := connpool.NewChannelPool(0, 1, factory(s))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if d := p.(*connpool.ConnPool).DialTimeout(); d < 100*365*24*time.Hour {
		t.Errorf("dial timeout %v, want none", d)
	}
}

func TestNewChannelPoolPrefillErrorClosesOpened(t *testing.T) {
	s := newServer(t)
	errDown := errors.New("server down")
	calls := 0
	factory := func() (net.Conn, error) {
		calls++
		if calls == 3 {
			return nil, errDown
		}
		return net.Dial("tcp", s.Addr())
	}
	p, err := connpool.NewChannelPool(4, 5, factory)
	if !errors.Is(err, errDown) {
		t.Fatalf("NewChannelPool error = %v, want one wrapping %v", err, errDown)
	}
	if p != nil {
		t.Errorf("NewChannelPool returned a pool with its error")
	}
	s.WaitOpen(0)
}

func TestInvalidSettingsAreErrors(t *testing.T) {
	s := newServer(t)
	for _, tc := range []struct {
		name             string
		initial, maxCap  int
		factory          connpool.Factory
		wantErrorMention string
	}{
		{"nil factory", 0, 1, nil, "factory"},
		{"zero max", 0, 0, factory(s), "maxCap"},
		{"negative max", 0, -1, factory(s), "maxCap"},
		{"negative initial", -1, 1, factory(s), "initialCap"},
		{"initial over max", 3, 2, factory(s), "initialCap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := connpool.NewChannelPool(tc.initial, tc.maxCap, tc.factory)
			if !errors.Is(err, connpool.ErrInvalidConfig) {
				t.Fatalf("error = %v, want ErrInvalidConfig", err)
			}
			if p != nil {
				t.Errorf("got a pool with the error")
			}
		})
	}
	for _, tc := range []struct {
		name string
		cfg  connpool.Config
	}{
		{"nil dial", connpool.Config{MaxConns: 1}},
		{"zero max", connpool.Config{Addr: s.Addr()}},
		{"initial over max", connpool.Config{Addr: s.Addr(), MaxConns: 1, InitialConns: 2}},
		{"idle over max", connpool.Config{Addr: s.Addr(), MaxConns: 1, MaxIdleConns: 2}},
		{"negative idle", connpool.Config{Addr: s.Addr(), MaxConns: 1, MaxIdleConns: -1}},
		{"initial over idle", connpool.Config{Addr: s.Addr(), MaxConns: 3, MaxIdleConns: 1, InitialConns: 2}},
		{"negative dial timeout", connpool.Config{Addr: s.Addr(), MaxConns: 1, DialTimeout: -time.Second}},
	} {
		t.Run("New/"+tc.name, func(t *testing.T) {
			p, err := connpool.New(tc.cfg)
			if !errors.Is(err, connpool.ErrInvalidConfig) {
				t.Fatalf("error = %v, want ErrInvalidConfig", err)
			}
			if p != nil {
				t.Errorf("got a pool with the error")
			}
		})
	}
	if s.Accepts() != 0 {
		t.Errorf("an invalid config dialled %d connections", s.Accepts())
	}
}

func TestMaxConnsIsAHardLimit(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 2})
	a, b := get(t, p), get(t, p)
	defer a.Close()
	defer b.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	c, err := p.Get(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get at the limit = %v, %v; want context.DeadlineExceeded", c, err)
	}
	if c != nil {
		t.Errorf("Get returned a connection with its error")
	}
	wantCounts(t, p, 0, 2)
	if n := p.Stats().Dials; n != 2 {
		t.Errorf("%d connections dialled, want 2", n)
	}
	// A canceled Get counts as canceled; one past its deadline as timed
	// out too.
	canceled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	p.Get(canceled)
	if st := p.Stats(); st.GetsCanceled != 2 || st.GetsTimedOut != 1 {
		t.Errorf("GetsCanceled %d, GetsTimedOut %d; want 2 and 1", st.GetsCanceled, st.GetsTimedOut)
	}
}

func TestGetWithDoneContextHandsOutNothing(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 2, InitialConns: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 3 {
		c, err := p.Get(ctx)
		if !errors.Is(err, context.Canceled) || c != nil {
			t.Fatalf("Get(done ctx) = %v, %v; want nil, context.Canceled", c, err)
		}
	}
	p.WaitDials()
	wantCounts(t, p, 1, 1)
}

func TestReturnedConnGoesToWaiter(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	held := get(t, p)
	got := getAsync(t, p)
	waitWaiting(t, p, 1)
	want := underlying(held)
	held.Close()
	c := <-got
	if underlying(c) != want {
		t.Errorf("waiter got a different socket than the one returned")
	}
	echo(t, c, "after handoff")
	wantCounts(t, p, 0, 1)
	c.Close()
}

// getAsync runs a Get in the background and hands its connection over.
func getAsync(t testing.TB, p *connpool.ConnPool) <-chan net.Conn {
	got := make(chan net.Conn, 1)
	go func() {
		c, err := p.Get(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	return got
}

// getErrAsync runs a Get with ctx in the background and hands its error
// over; a connection it gets it gives back at once.
func getErrAsync(ctx context.Context, p *connpool.ConnPool) <-chan error {
	errc := make(chan error, 1)
	go func() {
		c, err := p.Get(ctx)
		if err == nil {
			c.Close()
		}
		errc <- err
	}()
	return errc
}

// waitWaiting waits until n Gets wait in line.
func waitWaiting(t testing.TB, p *connpool.ConnPool, n int) {
	t.Helper()
	if !p.WaitWaiting(n, 10*time.Second) {
		t.Fatalf("%d Gets waiting, want %d", p.Waiting(), n)
	}
}

func TestWaitersAreServedFirstComeFirstServed(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	held := get(t, p)

	const n = 8
	order := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := p.Get(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			order <- i
			// A connection must never idle while someone waits.
			if p.Len() != 0 {
				t.Errorf("Len() = %d while %d Gets wait", p.Len(), p.Waiting())
			}
			c.Close()
		}()
		waitWaiting(t, p, i+1) // line them up in a known order
	}
	held.Close()
	wg.Wait()
	close(order)
	want := 0
	for i := range order {
		if i != want {
			t.Errorf("waiter %d served in turn %d", i, want)
		}
		want++
	}
	wantCounts(t, p, 1, 1)
}

// slowDialer returns a dial function to s that signals dialing when it
// starts and then waits until release is closed.
func slowDialer(s *server) (dial connpool.DialFunc, dialing <-chan struct{}, release chan struct{}) {
	started := make(chan struct{}, 1)
	release = make(chan struct{})
	dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
		started <- struct{}{}
		<-release
		return dialTo(s)(ctx, "", "")
	}
	return dial, started, release
}

func TestSlowDialOutlivesImpatientCaller(t *testing.T) {
	s := newServer(t)
	dial, dialing, release := slowDialer(s)
	p := newPool(t, connpool.Config{MaxConns: 1, Dial: dial})

	ctx, cancel := context.WithCancel(context.Background())
	errc := getErrAsync(ctx, p)
	<-dialing
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Get during a slow dial = %v, want context.Canceled", err)
	}
	wantCounts(t, p, 0, 1) // the dial still holds its slot

	close(release)
	p.WaitDials()
	wantCounts(t, p, 1, 1) // and its connection went to the pool
	c := get(t, p)
	echo(t, c, "dialled for someone else")
	c.Close()
	if s.Accepts() != 1 {
		t.Errorf("server accepted %d connections, want 1", s.Accepts())
	}
}

func TestSlowDialServesNextWaiter(t *testing.T) {
	s := newServer(t)
	dial, dialing, release := slowDialer(s)
	p := newPool(t, connpool.Config{MaxConns: 1, Dial: dial})
	ctx, cancel := context.WithCancel(context.Background())
	errc := getErrAsync(ctx, p)
	<-dialing
	got := getAsync(t, p)
	waitWaiting(t, p, 2)
	cancel()
	<-errc
	close(release)
	c := <-got
	echo(t, c, "second in line")
	c.Close()
}

func TestFailedDialFreesItsSlotAndBacksOff(t *testing.T) {
	s := newServer(t)
	errRefused := errors.New("refused")
	var fail atomic.Bool
	var dials atomic.Int32
	fail.Store(true)
	p, clk := newFakePool(t, connpool.Config{
		MaxConns: 2, DialBackoff: time.Second, MaxDialBackoff: 4 * time.Second,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			dials.Add(1)
			if fail.Load() {
				return nil, errRefused
			}
			return dialTo(s)(ctx, "", "")
		},
	})
	wantFail := func() {
		t.Helper()
		c, err := p.Get(context.Background())
		if !errors.Is(err, errRefused) || c != nil {
			t.Fatalf("Get = %v, %v; want an error wrapping %v", c, err, errRefused)
		}
	}
	wantFail()
	// A Get during the backoff waits for the next attempt, which comes when
	// the backoff ends, instead of dialling a server that is down.
	later := func() <-chan error {
		errc := make(chan error, 1)
		go func() {
			c, err := p.Get(context.Background())
			if err == nil {
				echo(t, c, "served after the backoff")
				c.Close()
			}
			errc <- err
		}()
		return errc
	}
	errc := later()
	waitTimer(t, clk)
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d dials within the backoff, want 1", n)
	}
	wantCounts(t, p, 0, 0)
	clk.Advance(4 * time.Second) // at least the first step
	if err := <-errc; !errors.Is(err, errRefused) {
		t.Fatalf("Get after the backoff = %v, want %v", err, errRefused)
	}
	if n := dials.Load(); n != 2 {
		t.Fatalf("%d dials after the backoff, want 2", n)
	}
	fail.Store(false)
	errc = later()
	waitTimer(t, clk)
	clk.Advance(4 * time.Second)
	if err := <-errc; err != nil {
		t.Fatalf("Get once the server is back: %v", err)
	}
	wantCounts(t, p, 1, 1)
	// The backoff ended with the first success: the next dial starts at once.
	a, b := get(t, p), get(t, p)
	a.Close()
	b.Close()
	wantCounts(t, p, 2, 2)
	if st := p.Stats(); st.DialErrors != 2 || st.Dials != 4 || st.GetsFailed != 2 {
		t.Errorf("stats %+v: want 2 dial errors in 4 dials, 2 failed Gets", st)
	}
}

// A factory that returns no connection and no error, or a nil pointer as
// its connection (a nil *tls.Conn would panic on first use), gets an
// error from Get, never a connection.
func TestNilConnFromFactoryIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name    string
		factory connpool.Factory
	}{
		{"nil", func() (net.Conn, error) { return nil, nil }},
		{"nil *tls.Conn", func() (net.Conn, error) { return (*tls.Conn)(nil), nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := connpool.NewChannelPool(0, 2, tc.factory)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			c, err := p.Get(context.Background())
			if !errors.Is(err, connpool.ErrNilConn) {
				t.Fatalf("Get = %v; want ErrNilConn", err)
			}
			if c != nil {
				t.Fatalf("Get returned a non-nil net.Conn %#v with its error", c)
			}
			wantCounts(t, p, 0, 0)

			_, err = connpool.NewChannelPool(1, 2, tc.factory)
			if !errors.Is(err, connpool.ErrNilConn) {
				t.Fatalf("NewChannelPool prefill error = %v; want ErrNilConn", err)
			}
		})
	}
}

// A factory that returns what tls.Dial returns hands the pool a nil
// *tls.Conn beside the error when the server is down: Get returns the
// error, and the pool does not call Close on the nil pointer.
func TestFactoryReturningNilTLSConnWithErrorIsThatError(t *testing.T) {
	addr := deadAddr(t)
	factory := func() (net.Conn, error) { return tls.Dial("tcp", addr, &tls.Config{ServerName: "localhost"}) }
	p, err := connpool.NewChannelPool(0, 2, factory)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := p.Get(context.Background())
	if !errors.Is(err, syscall.ECONNREFUSED) || c != nil {
		t.Fatalf("Get = %v, %v; want no connection and an error wrapping ECONNREFUSED", c, err)
	}
	wantCounts(t, p, 0, 0)
	if _, err := connpool.NewChannelPool(1, 2, factory); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("NewChannelPool prefill error = %v; want ECONNREFUSED", err)
	}
}

func TestDoubleCloseReturnsConnOnce(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 2})
	c := get(t, p)
	if err := c.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close = %v, want net.ErrClosed", err)
	}
	wantCounts(t, p, 1, 1)

	a, b := get(t, p), get(t, p)
	if underlying(a) == underlying(b) {
		t.Fatal("two holders got the same socket")
	}
	a.Close()
	b.Close()
	wantCounts(t, p, 2, 2)
}

func TestUnusableConnClosedTwiceFreesOneSlot(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 2})
	a, b := get(t, p), get(t, p)
	s.WaitOpen(2)
	a.(*connpool.PoolConn).MarkUnusable()
	a.Close()
	a.Close()
	wantCounts(t, p, 0, 1)
	s.WaitOpen(1)

	// The freed slot is exactly one: two more Gets must find one slot.
	c := get(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := p.Get(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get beyond MaxConns = %v, want DeadlineExceeded", err)
	}
	b.Close()
	c.Close()
	wantCounts(t, p, 2, 2)
}

func TestMarkUnusableFreesSlotForWaiter(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	a := get(t, p)
	got := getAsync(t, p)
	waitWaiting(t, p, 1)
	old := underlying(a)
	a.(*connpool.PoolConn).MarkUnusable()
	a.Close()
	c := <-got
	if underlying(c) == old {
		t.Fatal("waiter got the connection marked unusable")
	}
	echo(t, c, "fresh")
	c.Close()
	if s.Accepts() != 2 {
		t.Errorf("server accepted %d, want 2", s.Accepts())
	}
}

func TestUseAfterCloseIsAnError(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	c := get(t, p)
	c.Close()
	if n, err := c.Write([]byte("late")); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %d, %v; want 0, net.ErrClosed", n, err)
	}
	if n, err := c.Read(make([]byte, 1)); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close = %d, %v; want 0, net.ErrClosed", n, err)
	}
}

func TestPoolCloseClosesIdleNowAndCheckedOutOnReturn(t *testing.T) {
	s := newServer(t)
	p, err := connpool.New(connpool.Config{Addr: s.Addr(), MaxConns: 3, InitialConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	c := get(t, p)
	s.WaitOpen(3)
	p.Close()
	s.WaitOpen(1)
	wantCounts(t, p, 0, 1)
	echo(t, c, "still mine until I return it")
	if err := c.Close(); err != nil {
		t.Errorf("Close after pool Close: %v", err)
	}
	s.WaitOpen(0)
	wantCounts(t, p, 0, 0)
	p.Close() // twice is harmless

	if c, err := p.Get(context.Background()); !errors.Is(err, connpool.ErrClosed) || c != nil {
		t.Errorf("Get on closed pool = %v, %v; want ErrClosed", c, err)
	}
	if c, err := p.TryGet(); !errors.Is(err, connpool.ErrClosed) || c != nil {
		t.Errorf("TryGet on closed pool = %v, %v; want ErrClosed", c, err)
	}
	// A closed pool says so before a context that ended: a caller that
	// retries on a canceled Get with a fresh context would fail again.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c, err := p.Get(ctx); !errors.Is(err, connpool.ErrClosed) || c != nil {
		t.Errorf("Get on closed pool with a canceled context = %v, %v; want ErrClosed", c, err)
	}
	if st := p.Stats(); st.GetsCanceled != 0 {
		t.Errorf("Stats.GetsCanceled = %d after Gets on a closed pool, want 0", st.GetsCanceled)
	}
}

func TestPoolCloseWakesWaiters(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	held := get(t, p)
	const n = 5
	errc := make(chan error, n)
	for range n {
		go func() {
			_, err := p.Get(context.Background())
			errc <- err
		}()
	}
	waitWaiting(t, p, n)
	p.Close()
	for range n {
		if err := <-errc; !errors.Is(err, connpool.ErrClosed) {
			t.Errorf("waiting Get = %v, want ErrClosed", err)
		}
	}
	held.Close()
	wantCounts(t, p, 0, 0)
	s.WaitOpen(0)
}

func TestPoolCloseDuringDialClosesItsConn(t *testing.T) {
	s := newServer(t)
	release := make(chan struct{})
	dialing := make(chan struct{}, 1)
	p, err := connpool.New(connpool.Config{
		MaxConns: 1,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			dialing <- struct{}{}
			<-release // ignores its context, as a Factory does
			return net.Dial("tcp", s.Addr())
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	errc := getErrAsync(context.Background(), p)
	<-dialing
	p.Close()
	if err := <-errc; !errors.Is(err, connpool.ErrClosed) {
		t.Errorf("Get = %v, want ErrClosed", err)
	}
	wantCounts(t, p, 0, 1)
	close(release)
	p.WaitDials()
	wantCounts(t, p, 0, 0)
	s.WaitOpen(0)
}

func TestMaxIdleConnsClosesExtraReturns(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 3, MaxIdleConns: 1})
	a, b, c := get(t, p), get(t, p), get(t, p)
	s.WaitOpen(3)
	a.Close()
	b.Close()
	c.Close()
	wantCounts(t, p, 1, 1)
	s.WaitOpen(1)
}

func TestTryGetNeverWaits(t *testing.T) {
	s := newServer(t)
	dial, dialing, release := slowDialer(s)
	p := newPool(t, connpool.Config{Dial: dial, MaxConns: 1})
	for range 5 {
		if c, err := p.TryGet(); !errors.Is(err, connpool.ErrNotAvailable) || c != nil {
			t.Fatalf("TryGet on an empty pool = %v, %v; want ErrNotAvailable", c, err)
		}
	}
	<-dialing // the first TryGet started a dial in the background
	close(release)
	p.WaitDials()
	wantCounts(t, p, 1, 1) // one background dial, not five
	c, err := p.TryGet()
	if err != nil {
		t.Fatalf("TryGet with an idle connection: %v", err)
	}
	echo(t, c, "try")
	if _, err := p.TryGet(); !errors.Is(err, connpool.ErrNotAvailable) {
		t.Fatalf("TryGet at MaxConns = %v, want ErrNotAvailable", err)
	}
	c.Close()
}

// TestHammer runs many goroutines through Get, use, return and MarkUnusable
// while the pool closes under them, and checks that no socket is shared,
// none leaks, and the count ends at zero.
func TestHammer(t *testing.T) {
	s := newServer(t)
	p, err := connpool.New(connpool.Config{Addr: s.Addr(), MaxConns: 8, InitialConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	const workers = 48
	var (
		ops      atomic.Int64
		holders  sync.Map // socket -> struct{}: who holds what right now
		closedAt = make(chan struct{})
		wg       sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+i%5)*time.Millisecond)
				c, err := p.Get(ctx)
				cancel()
				if errors.Is(err, connpool.ErrClosed) {
					return
				}
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("Get: %v", err)
						return
					}
					continue
				}
				sock := underlying(c)
				if _, dup := holders.LoadOrStore(sock, struct{}{}); dup {
					t.Errorf("socket handed to two holders at once")
				}
				echo(t, c, fmt.Sprintf("w%d-%d", w, i))
				holders.Delete(sock)
				if i%7 == 0 {
					c.(*connpool.PoolConn).MarkUnusable()
				}
				c.Close()
				if i%11 == 0 {
					c.Close()
				}
				if ops.Add(1) == 2000 {
					close(closedAt)
				}
			}
		}()
	}
	<-closedAt
	p.Close()
	wg.Wait()
	p.WaitDials()
	wantCounts(t, p, 0, 0)
	s.WaitOpen(0)
}

// A Close from a holder that already gave the connection back, coming after
// the pool lent the socket to someone else (a deferred Close after an early
// one, say), must not take it from the new holder.
func TestLateCloseDoesNotReturnNextHoldersConn(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	first := get(t, p)
	socket := underlying(first)
	first.Close()
	second := get(t, p)
	if underlying(second) != socket {
		t.Fatal("expected the same socket again")
	}
	if err := first.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("late Close = %v, want net.ErrClosed", err)
	}
	first.(*connpool.PoolConn).MarkUnusable() // must not touch second's checkout
	wantCounts(t, p, 0, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if c, err := p.Get(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get while second holds the only connection = %v, %v", c, err)
	}
	echo(t, second, "still mine")
	second.Close()
	wantCounts(t, p, 1, 1)
	s.WaitOpen(1)
}

// slowClose is a socket whose Close waits for gate, as a *tls.Conn's does
// while its close_notify waits for room in the send buffer of a peer that
// reads nothing. It tells closing when its Close has begun.
type slowClose struct {
	net.Conn
	closing chan<- struct{}
	gate    <-chan struct{}
}

func (c *slowClose) NetConn() net.Conn { return c.Conn }

func (c *slowClose) Close() error {
	c.closing <- struct{}{}
	<-c.gate
	return c.Conn.Close()
}

// A connection the pool is closing is open until its Close returns, and
// keeps its slot till then: a waiter's dial into that slot would put
// MaxConns+1 sockets on the server, which a server with the same
// connection limit refuses.
func TestMaxConnsCountsAConnectionUntilItsCloseReturns(t *testing.T) {
	s := newServer(t)
	closing := make(chan struct{}, 1)
	gate := make(chan struct{})
	var dials atomic.Int32
	p := newPool(t, connpool.Config{
		MaxConns: 1,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			dials.Add(1)
			nc, err := dialTo(s)(ctx, "", "")
			if err != nil {
				return nil, err
			}
			return &slowClose{Conn: nc, closing: closing, gate: gate}, nil
		},
	})
	c := get(t, p)
	p.Reset() // so that its return closes it
	waiter := getAsync(t, p)
	waitWaiting(t, p, 1)
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	<-closing
	// The return has released the connection and its Close has begun: a
	// dial for the waiter would have started by now, under the pool's
	// lock, before the Close.
	if st := p.Stats(); st.Dialing != 0 || st.Waiting != 1 || dials.Load() != 1 {
		t.Errorf("while the old socket closes: Dialing %d, Waiting %d, %d dials; want 0, 1, 1",
			st.Dialing, st.Waiting, dials.Load())
	}
	close(gate)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	next := <-waiter
	defer next.Close()
	if n := dials.Load(); n != 2 {
		t.Errorf("%d dials, want 2", n)
	}
	checkStats(t, p.Stats())
}
