package connpool_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/testserver"
)

// liveConn counts its socket in live from its dial until its Close.
type liveConn struct {
	net.Conn
	live *atomic.Int64
	once sync.Once
}

func (c *liveConn) NetConn() net.Conn { return c.Conn }

func (c *liveConn) Close() error {
	c.once.Do(func() { c.live.Add(-1) })
	return c.Conn.Close()
}

// A random mix of every operation (Get with contexts that end at every
// point, TryGet, I/O, MarkUnusable, deadlines, late calls on returned
// handles, Reset, the server closing connections, failing dials and health
// checks, idle timeouts, lifetimes, spares, leaks, a Drain midway) keeps
// the books: the identities Stats documents hold throughout, counters never
// go backwards, no more than MaxConns sockets are ever open, no holder
// reads another's bytes, and at the end every count agrees with the hooks',
// the observer's and the callers' own. Whatever the schedule, none of this
// may fail; the seed is logged so that a failing mix can be replayed.
func TestRandomLoadKeepsTheBooks(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	for round := range 3 {
		for _, drain := range []bool{false, true} {
			t.Run(fmt.Sprintf("round=%d/drainMidway=%v", round, drain), func(t *testing.T) {
				randomLoad(t, seed+uint64(round), round, drain)
			})
		}
	}
}

func randomLoad(t *testing.T, seed uint64, round int, drainMidway bool) {
	s := testserver.Start(t, (*testserver.Server).Echo)
	var dialCalls, onDials, onCloses, live, maxLive atomic.Int64
	obs := &countingObserver{}
	cfg := connpool.Config{
		Name:             "random",
		MaxConns:         4,
		MaxIdleConns:     3,
		MinIdleConns:     1 + round%2,
		IdleTimeout:      time.Duration(1+round) * time.Millisecond,
		MaxLifetime:      20 * time.Millisecond,
		ProbeAfter:       time.Duration(round) * 50 * time.Microsecond,
		HealthCheckAfter: 200 * time.Microsecond,
		LeakThreshold:    3 * time.Millisecond,
		DialBackoff:      100 * time.Microsecond,
		MaxDialBackoff:   time.Millisecond,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			if dialCalls.Add(1)%7 == 0 {
				return nil, errors.New("every seventh dial fails")
			}
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", s.Addr())
			if err != nil {
				return nil, err
			}
			n := live.Add(1)
			for m := maxLive.Load(); n > m && !maxLive.CompareAndSwap(m, n); m = maxLive.Load() {
			}
			return &liveConn{Conn: c, live: &live}, nil
		},
		HealthCheck: func(ctx context.Context, c net.Conn) error {
			if rand.N(10) == 0 {
				return errors.New("a health check failing at random")
			}
			return ctx.Err()
		},
		OnDial:  func(net.Conn, error, time.Duration) { onDials.Add(1) },
		OnClose: func(net.Conn, connpool.CloseReason) { onCloses.Add(1) },
	}
	p, err := connpool.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Observe(obs)

	const workers, ops = 12, 250
	var calls, served atomic.Int64
	half := make(chan struct{})
	var halfOnce sync.Once
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := range ops {
				if calls.Add(1) == workers*ops/2 {
					halfOnce.Do(func() { close(half) })
				}
				switch r.IntN(40) {
				case 0:
					p.Reset()
				case 1:
					s.CloseConns()
				}
				c, err := randomGet(p, r)
				if err != nil {
					continue
				}
				served.Add(1)
				pc := c.(*connpool.PoolConn)
				msg := fmt.Sprintf("w%d-i%d;", w, i)
				switch r.IntN(6) {
				case 0:
					pc.MarkUnusable()
				case 1:
					pc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
					fallthrough
				default:
					if _, err := io.WriteString(pc, msg); err == nil {
						buf := make([]byte, len(msg))
						if _, err := io.ReadFull(pc, buf); err == nil && string(buf) != msg {
							t.Errorf("holder read %q, want %q: another holder's bytes", buf, msg)
						}
					}
				}
				if r.IntN(20) == 0 {
					time.Sleep(cfg.LeakThreshold + time.Millisecond) // a holder slow enough to count as a leak
				}
				pc.Close()
				if err := pc.Close(); !errors.Is(err, net.ErrClosed) {
					t.Errorf("second Close = %v, want net.ErrClosed", err)
				}
				pc.SetDeadline(time.Now().Add(-time.Hour))
				pc.Write([]byte("late"))
			}
		}()
	}
	stop := make(chan struct{})
	go func() { wg.Wait(); close(stop) }()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		if !drainMidway {
			return
		}
		<-half
		ctx, cancel := context.WithTimeout(context.Background(), testserver.WaitLimit)
		defer cancel()
		if n, err := p.Drain(ctx); n != 0 || err != nil {
			t.Errorf("Drain midway = %d, %v; want 0, nil", n, err)
		}
	}()

	var prev connpool.Stats
	// Sampled on a ticker, not in a busy loop, which at GOMAXPROCS 1 would
	// keep the processor from the workers for whole time slices.
	tick := time.NewTicker(20 * time.Microsecond)
	defer tick.Stop()
	for running := true; running && !t.Failed(); {
		select {
		case <-stop:
			running = false
		case <-tick.C:
		}
		st := p.Stats()
		checkStats(t, st)
		if st.Gets < prev.Gets || st.Dials < prev.Dials || st.Closed() < prev.Closed() ||
			st.WaitTime < prev.WaitTime || st.Leaks < prev.Leaks {
			t.Fatalf("a counter went backwards: %+v, then %+v", prev, st)
		}
		if st.Idle > st.MaxIdleConns {
			t.Errorf("Idle %d > MaxIdleConns %d", st.Idle, st.MaxIdleConns)
		}
		prev = st
	}
	<-stop
	<-drained
	ctx, cancel := context.WithTimeout(context.Background(), testserver.WaitLimit)
	defer cancel()
	if n, err := p.Drain(ctx); n != 0 || err != nil {
		t.Fatalf("Drain = %d, %v; want 0, nil", n, err)
	}
	st := p.Stats()
	checkStats(t, st)
	if st.Open != 0 || st.Idle != 0 || st.InUse != 0 || st.Dialing != 0 || st.Waiting != 0 {
		t.Errorf("after Drain: %+v", st)
	}
	if int64(st.Gets) != calls.Load() {
		t.Errorf("Gets = %d, want %d, one per call", st.Gets, calls.Load())
	}
	if got := int64(st.GetsFromIdle + st.GetsWaited); got != served.Load() {
		t.Errorf("GetsFromIdle + GetsWaited = %d, want %d connections handed out", got, served.Load())
	}
	// The MinIdleConns top-up New starts may finish before Observe.
	if d := int64(st.Dials) - obs.dials.Load(); int64(st.Dials) != onDials.Load() || d < 0 || d > int64(cfg.MinIdleConns) {
		t.Errorf("Dials = %d, OnDial calls %d, ObserveDial calls %d", st.Dials, onDials.Load(), obs.dials.Load())
	}
	if int64(st.Closed()) != onCloses.Load() {
		t.Errorf("Closed() = %d, OnClose calls %d", st.Closed(), onCloses.Load())
	}
	if obs.uses.Load() != served.Load() || obs.waits.Load() != served.Load() {
		t.Errorf("ObserveUse %d, ObserveWait %d; want %d each, one per connection handed out",
			obs.uses.Load(), obs.waits.Load(), served.Load())
	}
	if n := live.Load(); n != 0 {
		t.Errorf("%d sockets dialled and never closed", n)
	}
	if m := maxLive.Load(); m > int64(cfg.MaxConns) {
		t.Errorf("%d sockets open at once with MaxConns %d", m, cfg.MaxConns)
	}
	s.WaitOpen(0)
}

// randomGet gets a connection from p with a context picked by r: one ended
// already, one that ends at a random moment or times out soon, or one that
// lasts; or it calls TryGet.
func randomGet(p *connpool.ConnPool, r *rand.Rand) (net.Conn, error) {
	switch r.IntN(8) {
	case 0:
		return p.TryGet()
	case 1:
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return p.Get(ctx)
	case 2:
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(300))*time.Microsecond)
		defer cancel()
		return p.Get(ctx)
	case 3:
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		timer := time.AfterFunc(time.Duration(r.IntN(200))*time.Microsecond, cancel)
		defer timer.Stop()
		return p.Get(ctx)
	default:
		ctx, cancel := context.WithTimeout(context.Background(), testserver.WaitLimit)
		defer cancel()
		return p.Get(ctx)
	}
}
