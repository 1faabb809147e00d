package connpool

import (
	"context"
	"sync"
	"time"

	"github.com/seed-a245f091/connpool/internal/sock"
)

// WaitDials blocks until no background work of the pool (dials, and the
// maintainer) is running, and, once the pool is closed, until its watcher
// has stopped too.
func (p *ConnPool) WaitDials() {
	// A close gives up its slot after its OnClose has run, and the freed
	// slot may start a dial or the maintainer: wait for the closes first,
	// so that no background work starts while bg.Wait waits.
	for {
		p.mu.Lock()
		closing := p.closing
		p.mu.Unlock()
		if closing == 0 {
			break
		}
		time.Sleep(50 * time.Microsecond)
	}
	p.bg.Wait()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		p.watchWG.Wait()
	}
}

// Waiting returns the number of Gets waiting in line.
func (p *ConnPool) Waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiters.Len()
}

// Maintaining reports whether the maintainer goroutine is running.
func (p *ConnPool) Maintaining() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maintaining
}

// WaitWaiting waits until n Gets wait in line, and reports whether that
// happened within timeout.
func (p *ConnPool) WaitWaiting(n int, timeout time.Duration) bool {
	joined := make(chan struct{}, 1)
	p.mu.Lock()
	p.testHookWait = func() {
		select {
		case joined <- struct{}{}:
		default:
		}
	}
	p.mu.Unlock()
	expired := time.After(timeout)
	for {
		if p.Waiting() == n {
			return true
		}
		select {
		case <-joined:
		case <-expired:
			return false
		}
	}
}

// HoldWoken makes the next waiter woken to try the idle list again signal
// woken and then wait for release before it tries. Call it before the
// waiter is woken.
func (p *ConnPool) HoldWoken() (woken <-chan struct{}, release func()) {
	return p.holdOnce(&p.testHookWoken)
}

// HoldCanceled makes the next waiter whose context ends signal canceled
// and then wait for release before it takes the pool's lock to leave the
// line. Call it before the context ends.
func (p *ConnPool) HoldCanceled() (canceled <-chan struct{}, release func()) {
	return p.holdOnce(&p.testHookCanceled)
}

// holdOnce sets *hook, under p.mu, to a hook that the first time it is
// called closes reached and then waits for release.
func (p *ConnPool) holdOnce(hook *func()) (reached <-chan struct{}, release func()) {
	ch := make(chan struct{})
	gate := make(chan struct{})
	var once sync.Once
	p.mu.Lock()
	*hook = func() {
		once.Do(func() {
			close(ch)
			<-gate
		})
	}
	p.mu.Unlock()
	return ch, func() { close(gate) }
}

// PeersGone returns a channel that receives each time the watcher has
// dealt with a peer's close or reset. Call it before the first
// connection is dialled.
func (p *ConnPool) PeersGone() <-chan struct{} {
	gone := make(chan struct{}, 16)
	p.testHookGone = func() { gone <- struct{}{} }
	return gone
}

// DialTimes returns when the next dial may start after failures
// (retryAt) and when the MinIdleConns top-up may (topUpAt), on the pool's
// clock.
func (p *ConnPool) DialTimes() (retryAt, topUpAt time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.retryAt, p.topUpAt
}

// NewWithClock is New with a fake clock.
func NewWithClock(cfg Config, c *FakeClock) (*ConnPool, error) { return newPool(cfg, c) }

// FakeClock is a clock that moves only when told to. Its timers fire when
// Advance moves it past their deadline.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Duration
	timers  []*fakeTimer
	created chan struct{} // signalled when a timer is made
}

// NewFakeClock returns a FakeClock an hour after its origin.
func NewFakeClock() *FakeClock {
	return &FakeClock{now: time.Hour, created: make(chan struct{}, 1)}
}

// Now returns the fake time.
func (c *FakeClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// TimerAt makes a timer firing when the fake clock reads at.
func (c *FakeClock) TimerAt(at time.Duration) timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, at: at, ch: make(chan time.Time, 1)}
	if at <= c.now {
		t.ch <- time.Time{}
	} else {
		c.timers = append(c.timers, t)
	}
	select {
	case c.created <- struct{}{}:
	default:
	}
	return t
}

// Advance moves the clock on by d and fires the timers due by then.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now += d
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at > c.now {
			kept = append(kept, t)
			continue
		}
		t.ch <- time.Time{}
	}
	clear(c.timers[len(kept):])
	c.timers = kept
}

// NextDeadline returns how long until the earliest timer fires, or 0 if
// none waits.
func (c *FakeClock) NextDeadline() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next time.Duration
	for _, t := range c.timers {
		if next == 0 || t.at-c.now < next {
			next = t.at - c.now
		}
	}
	return next
}

// Timers returns the number of timers waiting to fire.
func (c *FakeClock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// TimerMade returns a channel signalled when a timer is made.
func (c *FakeClock) TimerMade() <-chan struct{} { return c.created }

type fakeTimer struct {
	clock *FakeClock
	at    time.Duration
	ch    chan time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, u := range c.timers {
		if u == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// DialTimeout returns the bound on each of p's dials.
func (p *ConnPool) DialTimeout() time.Duration { return p.dialer.timeout }

// ExpiresAt returns when pc's socket reaches the end of its lifetime.
func ExpiresAt(pc *PoolConn) time.Duration { return pc.c.expiresAt }

// NewChannelPoolWithClock is NewChannelPool with a fake clock.
func NewChannelPoolWithClock(initialCap, maxCap int, factory Factory, c *FakeClock) (Pool, error) {
	return newChannelPool(initialCap, maxCap, factory, c)
}

// ProbeSupported says whether this platform has the stale-connection probe.
const ProbeSupported = sock.Supported

// WatchSupported says whether this platform has the socket watcher.
const WatchSupported = sock.WatchSupported

// NewTCPPoolWithClock is DialPool with a fake clock.
func NewTCPPoolWithClock(ctx context.Context, cfg TCPPoolConfig, c *FakeClock) (*TCPPool, error) {
	return dialPool(ctx, cfg, c)
}
