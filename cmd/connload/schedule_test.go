package main

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock whose time moves only when the test moves it. The
// goroutines that use it join it; once every one of them sleeps on it (or
// has left), the test moves the time to the earliest wake-up, so that a
// run of simulated seconds takes no real time and no real sleep.
type fakeClock struct {
	mu       sync.Mutex
	changed  *sync.Cond // a goroutine went to sleep or left
	t        time.Time
	joined   int // goroutines using the clock, not yet left
	sleepers []*sleeper
}

type sleeper struct {
	until time.Time
	wake  chan struct{}
}

func newFakeClock() *fakeClock {
	c := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.changed = sync.NewCond(&c.mu)
	return c
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleepUntil(ctx context.Context, t time.Time) bool {
	c.mu.Lock()
	if !t.After(c.t) {
		c.mu.Unlock()
		return ctx.Err() == nil
	}
	s := &sleeper{until: t, wake: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	c.changed.Broadcast()
	c.mu.Unlock()
	select {
	case <-s.wake:
		return true
	case <-ctx.Done():
		panic("fakeClock: the simulation's context never ends")
	}
}

func (c *fakeClock) join() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.joined++
}

func (c *fakeClock) leave() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.joined--
	c.changed.Broadcast()
}

// step waits until every goroutine that joined sleeps, then moves the time
// to the earliest wake-up and wakes whoever is due. It reports false once
// every goroutine has left.
func (c *fakeClock) step() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.joined > 0 && len(c.sleepers) < c.joined {
		c.changed.Wait()
	}
	if c.joined == 0 {
		return false
	}
	next := c.sleepers[0].until
	for _, s := range c.sleepers {
		if s.until.Before(next) {
			next = s.until
		}
	}
	c.t = next
	kept := c.sleepers[:0]
	for _, s := range c.sleepers {
		if s.until.After(c.t) {
			kept = append(kept, s)
		} else {
			close(s.wake)
		}
	}
	clear(c.sleepers[len(kept):])
	c.sleepers = kept
	return true
}

// fakeServer is a requester whose every request takes service on the
// fake clock.
type fakeServer struct {
	clk     *fakeClock
	service time.Duration
}

func (f fakeServer) do(ctx context.Context) result {
	f.clk.sleepUntil(ctx, f.clk.now().Add(f.service))
	return result{exchange: f.service}
}

func (fakeServer) done() {}

// simulate runs clients against a server taking service a request, on
// sched, which must use clk, until the schedule ends, and returns the
// tally.
func simulate(clk *fakeClock, sched *schedule, clients int, service time.Duration) *tally {
	rec := newRecorder(clients)
	for i := range clients {
		clk.join()
		go func() {
			defer clk.leave()
			runClient(context.Background(), clk, sched, fakeServer{clk, service}, rec.client(i), 0)
		}()
	}
	for clk.step() {
	}
	return rec.tally()
}

// TestScheduleUnderCapacity: 4 clients keep up with 1000 requests a second
// to a server taking 2ms each, so every request goes out when due and
// takes 2ms.
func TestScheduleUnderCapacity(t *testing.T) {
	clk := newFakeClock()
	start := clk.now()
	sched := &schedule{clock: clk, start: start, end: start.Add(time.Second), rate: 1000}
	got := simulate(clk, sched, 4, 2*time.Millisecond)
	if due := sched.dueBy(time.Second); due != 1000 || got.sent != due || got.late != 0 || got.ok != due {
		t.Errorf("due %d, sent %d, late %d, ok %d; want 1000 sent on time", due, got.sent, got.late, got.ok)
	}
	if l := got.total; l.max != 2*time.Millisecond || l.counts[bucketOf(2*time.Millisecond)] != l.n {
		t.Errorf("latency max %v, p50 %v; want every one 2ms", l.max, l.quantile(0.5))
	}
}

// TestScheduleOverCapacity: the same 4 clients against a server taking
// 8ms a request can send 500 a second. An open loop sends 500 of the 1000
// due, 496 of them late, the lateness growing to 496ms: its latency shows
// the backlog. A closed loop sends as many, and its latency, 8ms each,
// hides it (coordinated omission).
func TestScheduleOverCapacity(t *testing.T) {
	clk := newFakeClock()
	start := clk.now()
	open := &schedule{clock: clk, start: start, end: start.Add(time.Second), rate: 1000}
	got := simulate(clk, open, 4, 8*time.Millisecond)
	// Client j sends its k-th request at j+8k ms, the one due at 4k+j ms:
	// late for k >= 1, by 4k ms, and sends while j+8k < 1000, so k <= 124.
	due := open.dueBy(time.Second)
	if due != 1000 || got.sent != 500 || got.late != 496 || got.ok != 500 {
		t.Errorf("due %d, sent %d, late %d, ok %d; want 1000 due, 500 sent, 496 late", due, got.sent, got.late, got.ok)
	}
	if worst := got.total.max; worst != 4*124*time.Millisecond+8*time.Millisecond {
		t.Errorf("open loop: latency max %v, want 504ms (496ms late, then 8ms)", worst)
	}
	if ex := got.exchange.max; ex != 8*time.Millisecond {
		t.Errorf("open loop: exchange max %v, want 8ms", ex)
	}

	clk = newFakeClock()
	start = clk.now()
	closed := &schedule{clock: clk, start: start, end: start.Add(time.Second)}
	got = simulate(clk, closed, 4, 8*time.Millisecond)
	if got.sent != 500 || got.late != 0 || got.total.max != 8*time.Millisecond || closed.dueBy(time.Second) != 0 {
		t.Errorf("closed loop: sent %d, late %d, latency max %v; want 500, 0, 8ms", got.sent, got.late, got.total.max)
	}
}

// TestScheduleLimit: -n stops a schedule after so many requests, open or
// closed, however many clients ask.
func TestScheduleLimit(t *testing.T) {
	for _, rate := range []float64{0, 100} {
		clk := newFakeClock()
		sched := &schedule{clock: clk, start: clk.now(), limit: 10, rate: rate}
		got := simulate(clk, sched, 4, time.Millisecond)
		if got.sent != 10 || got.ok != 10 {
			t.Errorf("rate %v: sent %d, ok %d; want 10", rate, got.sent, got.ok)
		}
		if rate > 0 {
			if d := sched.dueBy(time.Hour); d != 10 {
				t.Errorf("due by the end %d, want 10", d)
			}
			// The last is due at 90ms and takes 1ms.
			if end := clk.now().Sub(sched.start); end != 91*time.Millisecond {
				t.Errorf("ended after %v, want 91ms", end)
			}
		}
	}
}

// TestDueBy checks that the count of requests due agrees with when take
// makes each due, at rates whose intervals floating point cannot hold.
func TestDueBy(t *testing.T) {
	for _, rate := range []float64{1, 3, 7, 10, 1000, 3333.3} {
		s := &schedule{start: time.Unix(0, 0), rate: rate}
		for i := range uint64(2000) {
			at := s.offset(i)
			if got := s.dueBy(at); got != i {
				t.Fatalf("rate %v: dueBy(offset(%d) = %v) = %d, want %d", rate, i, at, got, i)
			}
			if got := s.dueBy(at + 1); got != i+1 {
				t.Fatalf("rate %v: dueBy(offset(%d)+1ns) = %d, want %d", rate, i, got, i+1)
			}
		}
	}
}

// TestDueByFarFuture checks that a schedule whose requests come due later
// than a Duration holds counts them as never due, rather than as due long
// ago.
func TestDueByFarFuture(t *testing.T) {
	s := &schedule{start: time.Unix(0, 0), rate: 1e-11}
	if at := s.offset(1); at <= 0 {
		t.Fatalf("offset(1) at 1e-11/s = %v, want later than the start", at)
	}
	if got := s.dueBy(3 * time.Second); got != 1 {
		t.Fatalf("dueBy(3s) at 1e-11/s = %d, want 1 (request 0, due at the start)", got)
	}
}
