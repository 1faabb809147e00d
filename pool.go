package connpool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"time"
)

// maxYields is how many times a Get that finds every connection out lets
// other goroutines run before it waits in line.
const maxYields = 16

var (
	// ErrClosed is returned by Get and TryGet on a closed pool, and to every
	// Get that is waiting when the pool closes.
	ErrClosed = errors.New("connpool: pool is closed")

	// ErrNotAvailable is returned by [ConnPool.TryGet] when no idle
	// connection is ready.
	ErrNotAvailable = errors.New("connpool: no idle connection available")

	// ErrNilConn is wrapped by the error a Get returns when the dial
	// function returned neither a connection nor an error.
	ErrNilConn = errors.New("connpool: dial returned a nil connection and a nil error")
)

// ConnPool is a pool of network connections with a hard limit on how many are
// open. Get checks a connection out; closing the returned connection checks it
// back in. Build one with [New]; the zero value is not usable.
//
// Gets that find no idle connection and no room to dial wait in line and are
// served first come, first served: a returned connection goes to the longest
// waiter, and no connection idles while a Get waits. A dial runs on its own:
// a Get that gives up during a slow dial returns at once, and the dial's
// connection goes to the next waiter or to the idle list.
//
// A ConnPool is safe for concurrent use by multiple goroutines.
type ConnPool struct {
	cfg        Config // validated; read-only after New
	clock      clock
	ages       bool // IdleTimeout or MaxLifetime is set: returns read the clock
	maintained bool // ages, or MinIdleConns is set: a maintainer may be needed

	// ctx is the parent of every dial. Close cancels it, so dials that
	// honour their context end with the pool, and so does the maintainer.
	ctx    context.Context
	cancel context.CancelFunc

	bg sync.WaitGroup // background dials and the maintainer

	waiterPool sync.Pool // of *waiter; reused so waiting does not allocate

	// kick wakes the maintainer early (buffered: a send never blocks, and
	// one pending kick is enough).
	kick chan struct{}

	// mu guards the fields below. Take it with p.lock. Invariants while
	// mu is free:
	//   - idle.len() > 0 implies waiters.len() == 0;
	//   - open == idle.len() + (connections checked out) + dialing;
	//   - open <= cfg.MaxConns;
	//   - every open connection, idle or checked out, is in conns.
	mu           sync.Mutex
	closed       bool
	idle         ring[*conn]   // front returned longest ago, back most recently
	waiters      ring[*waiter] // front is the longest waiting
	open         int
	dialing      int
	conns        map[*conn]struct{}
	drained      chan struct{} // closed once the pool is closed and open is 0
	maintaining  bool          // the maintainer goroutine is running
	maintWake    time.Duration // when the maintainer means to wake next
	maintBackoff bool          // it waits out a backoff after a failed dial
	lastNow      time.Duration // the time of the latest Get (see nowLocked)
	// While Gets come often, the maintainer reads the clock for them (see
	// nowLocked): ticking says it does, coarseNow is its latest reading,
	// lastTick when it last counted a tick, quiet how many ticks in a row
	// saw no Get, and busy whether a Get came since the last tick. lastRead
	// is when a Get last read the clock itself.
	coarse    bool // the clock is the real one, which ticking may stand in for
	ticking   bool
	coarseNow time.Duration
	lastTick  time.Duration
	quiet     int
	busy      bool
	lastRead  time.Duration
	// While dials fail, dialErr is the last one's error, dialFailSince when
	// the first of them failed, and no new dial starts before dialRetryAt.
	dialErr       error
	dialFailSince time.Duration
	dialRetryAt   time.Duration
	stats         counters

	testHookWait func() // called after a Get joins the line; nil but in tests
}

// waiter is a Get waiting for a connection. Its channel has room for one
// handoff, sent under mu by whoever removes the waiter from the queue, so a
// sender never blocks and a waiter that finds itself gone from the queue
// knows a handoff is already in its channel.
type waiter struct {
	ch    chan handoff
	since time.Duration // when it joined the line
}

// waited returns how long w has waited at now. A caller that read the clock
// before taking p.mu may hold a now earlier than w.since: that counts as no
// wait, so that Stats.WaitTime never goes backwards.
func waited(w *waiter, now time.Duration) time.Duration {
	return max(0, now-w.since)
}

type handoff struct {
	pc  *PoolConn
	err error
}

// New returns a pool described by cfg, after dialling cfg.InitialConns
// connections. It returns an error wrapping [ErrInvalidConfig] for a bad
// setting, or the first dial error if an initial connection fails, having
// closed those it opened.
func New(cfg Config) (*ConnPool, error) {
	return newPool(cfg, newRealClock())
}

func newPool(cfg Config, clk clock) (*ConnPool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &ConnPool{
		cfg:        cfg,
		clock:      clk,
		ages:       cfg.IdleTimeout > 0 || cfg.MaxLifetime > 0,
		maintained: cfg.IdleTimeout > 0 || cfg.MaxLifetime > 0 || cfg.MinIdleConns > 0,
		kick:       make(chan struct{}, 1),
		conns:      make(map[*conn]struct{}, cfg.MaxConns),
		drained:    make(chan struct{}),
	}
	// The tick's lag would blur a short ProbeAfter, so only a long one, or
	// none, lets the maintainer read the clock for Gets.
	_, real := clk.(realClock)
	p.coarse = real && (cfg.ProbeAfter < 0 || cfg.ProbeAfter >= coarseMinProbeAfter)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.waiterPool.New = func() any { return &waiter{ch: make(chan handoff, 1)} }
	p.idle.buf = make([]*conn, cfg.MaxIdleConns)
	for i := 0; i < cfg.InitialConns; i++ {
		p.lock()
		p.open++
		p.dialing++
		p.mu.Unlock()
		if err := p.dialAndDeliver(); err != nil {
			p.Close()
			return nil, fmt.Errorf("connpool: dialling initial connection %d of %d: %w", i+1, cfg.InitialConns, err)
		}
	}
	p.lock()
	p.maintainLocked()
	p.mu.Unlock()
	return p, nil
}

// Get returns a connection from the pool: an idle one if there is one, else
// a new one if fewer than MaxConns are open, else the next one returned.
// Closing the returned connection (a [*PoolConn]) gives it back.
//
// An idle connection is checked before it is handed out (see
// [Config.ProbeAfter]); one that fails is closed and Get takes another.
//
// Get returns ctx.Err() if ctx ends first (at once if ctx is already done),
// [ErrClosed] if the pool is or becomes closed, and an error wrapping the
// dial error if the dial it waited for failed.
func (p *ConnPool) Get(ctx context.Context) (net.Conn, error) {
	pc, err := p.Acquire(ctx)
	if err != nil {
		return nil, err // not pc: a nil *PoolConn in a net.Conn is not nil
	}
	return pc, nil
}

// Acquire is [ConnPool.Get] returning the concrete [*PoolConn].
func (p *ConnPool) Acquire(ctx context.Context) (*PoolConn, error) {
	// Done, not Err: for a cancelable context Done is an atomic load where
	// Err takes a lock.
	select {
	case <-ctx.Done():
		p.lock()
		p.stats.gets++
		p.stats.getsCanceled++
		p.mu.Unlock()
		return nil, ctx.Err()
	default:
	}
	var now time.Duration
	for yields := 0; ; {
		p.lock()
		now = p.nowLocked()
		if p.closed {
			p.stats.gets++
			p.stats.getsFailed++
			p.mu.Unlock()
			return nil, ErrClosed
		}
		switch pc, got := p.takeIdleLocked(ctx, now, true); got {
		case idleTaken:
			return pc, nil
		case idleClosed:
			continue
		}
		// Every connection is out and nobody waits yet. With more
		// goroutines than processors, the holders are often runnable but
		// not running, a moment from giving their connections back: let
		// them run before joining the line, because a connection handed to
		// a parked waiter stays out until the scheduler gets round to it,
		// and the line then never drains (a convoy). Once anyone waits,
		// newcomers join behind them at once.
		if yields == maxYields || p.waiters.len() > 0 || p.open < p.cfg.MaxConns {
			break
		}
		yields++
		p.mu.Unlock()
		runtime.Gosched()
	}
	w := p.waiterPool.Get().(*waiter)
	w.since = now
	if p.ticking {
		// A tick's time can lag by 5ms, a lot beside a wait; the wait's end
		// is read from the clock, so its start must be too.
		w.since = p.clock.Now()
	}
	p.waiters.pushBack(w)
	p.dialForWaitersLocked()
	if p.testHookWait != nil {
		p.testHookWait()
	}
	p.mu.Unlock()

	select {
	case h := <-w.ch:
		p.waiterPool.Put(w)
		return h.pc, h.err
	case <-ctx.Done():
	}
	now = p.clock.Now()
	p.lock()
	if p.waiters.remove(w) {
		// Nothing was or will be sent to w. A dial started on w's behalf
		// goes on and serves the next waiter or the idle list.
		p.stats.gets++
		p.stats.getsCanceled++
		p.stats.waitTime += waited(w, now)
		p.mu.Unlock()
		p.waiterPool.Put(w)
		return nil, ctx.Err()
	}
	p.mu.Unlock()
	// The handoff was sent, and counted, before we took mu: the Get was
	// served before it noticed its context ending, so it keeps the result.
	h := <-w.ch
	p.waiterPool.Put(w)
	return h.pc, h.err
}

// Outcomes of takeIdleLocked.
const (
	idleNone   = iota // nothing idle; p.mu still held
	idleTaken         // a connection passed its checks; p.mu released
	idleClosed        // one failed them and was closed; p.mu released
)

// takeIdleLocked tries to serve a Get from the idle list: it takes a
// connection, closes it if it has expired or fails the checks that
// [Config.ProbeAfter] calls for (HealthCheck only if health is set), and
// checks it out otherwise. Caller must hold p.mu; see the outcomes for
// whether it still does.
func (p *ConnPool) takeIdleLocked(ctx context.Context, now time.Duration, health bool) (*PoolConn, int) {
	var c *conn
	var ok bool
	if p.cfg.IdleOrder == FIFO {
		c, ok = p.idle.popFront()
	} else {
		c, ok = p.idle.popBack()
	}
	if !ok {
		return nil, idleNone
	}
	if p.maintained {
		p.maintainLocked() // the idle list may have shrunk below MinIdleConns
	}
	if p.ages {
		if reason, expired := p.expired(c, now); expired {
			p.releaseLocked(c, reason)
			p.mu.Unlock()
			p.closeConn(c, reason)
			return nil, idleClosed
		}
	}
	pc := c.checkOut()
	if p.cfg.ProbeAfter < 0 || now-c.returnedAt < p.cfg.ProbeAfter {
		p.stats.gets++
		p.stats.getsFromIdle++
		p.mu.Unlock()
		return pc, idleTaken
	}
	p.mu.Unlock()
	reason, err := p.check(ctx, c, health)
	p.lock()
	if err != nil {
		pc.state.Store(stateReleased)
		p.releaseLocked(c, reason)
		p.mu.Unlock()
		p.closeConn(c, reason)
		return nil, idleClosed
	}
	p.stats.gets++
	p.stats.getsFromIdle++
	p.mu.Unlock()
	return pc, idleTaken
}

// check runs the probe and, if health is set, the user's health check on a
// connection that has been idle a while.
func (p *ConnPool) check(ctx context.Context, c *conn, health bool) (CloseReason, error) {
	if err := c.probe(); err != nil {
		return CloseStale, err
	}
	if health && p.cfg.HealthCheck != nil {
		if err := p.cfg.HealthCheck(ctx, c.nc); err != nil {
			return CloseHealthCheck, err
		}
	}
	return 0, nil
}

// expired reports whether c, idle since c.returnedAt, is past its lifetime
// or its idle timeout at now, and which.
func (p *ConnPool) expired(c *conn, now time.Duration) (CloseReason, bool) {
	if c.outlived(now) {
		return CloseMaxLifetime, true
	}
	if p.idledOut(c, now) {
		return CloseIdleTimeout, true
	}
	return 0, false
}

// idledOut reports whether c, idle since c.returnedAt, has been idle longer
// than IdleTimeout at now.
func (p *ConnPool) idledOut(c *conn, now time.Duration) bool {
	return p.cfg.IdleTimeout > 0 && now-c.returnedAt >= p.cfg.IdleTimeout
}

// TryGet is the non-blocking twin of Get: it returns an idle connection if
// there is one and [ErrNotAvailable] otherwise, never waiting for a dial or
// a return. An idle connection is probed as Get probes it, but
// [Config.HealthCheck], which may wait on the network, is not run. When
// TryGet finds none idle and the pool has room, it starts a dial in the
// background so that a later TryGet or Get finds a connection.
// It returns [ErrClosed] on a closed pool.
func (p *ConnPool) TryGet() (net.Conn, error) {
	for {
		p.lock()
		now := p.nowLocked()
		if p.closed {
			p.stats.gets++
			p.stats.getsFailed++
			p.mu.Unlock()
			return nil, ErrClosed
		}
		pc, got := p.takeIdleLocked(context.Background(), now, false)
		if got == idleTaken {
			return pc, nil
		}
		if got == idleNone {
			break
		}
	}
	// One dial beyond those already claimed by waiters, never more, so a
	// loop of TryGets cannot start a storm of dials.
	if p.dialing <= p.waiters.len() && p.open < p.cfg.MaxConns {
		p.startDialLocked()
	}
	p.stats.gets++
	p.stats.getsFailed++
	p.mu.Unlock()
	return nil, ErrNotAvailable
}

// Len returns the number of idle connections.
func (p *ConnPool) Len() int {
	p.lock()
	defer p.mu.Unlock()
	return p.idle.len()
}

// NumberOfConns returns the number of open connections: idle, checked out
// and being dialled. It is 0 once the pool is closed and every connection
// has come back.
func (p *ConnPool) NumberOfConns() int {
	p.lock()
	defer p.mu.Unlock()
	return p.open
}

// Close closes the pool: idle connections at once, checked-out connections
// as they come back, and connections still being dialled as their dials
// finish. Gets waiting at the time return [ErrClosed]. Close does not wait;
// see [ConnPool.Drain] for that. It may be called more than once.
func (p *ConnPool) Close() {
	p.lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	idle := make([]*conn, 0, p.idle.len())
	for {
		c, ok := p.idle.popFront()
		if !ok {
			break
		}
		idle = append(idle, c)
		p.releaseLocked(c, ClosePoolClosed)
	}
	for {
		w, ok := p.waiters.popFront()
		if !ok {
			break
		}
		p.stats.gets++
		p.stats.getsFailed++
		p.stats.waitTime += waited(w, p.clock.Now())
		w.ch <- handoff{err: ErrClosed}
	}
	p.checkDrainedLocked()
	p.mu.Unlock()
	p.cancel()
	for _, c := range idle {
		p.closeConn(c, ClosePoolClosed)
	}
}

// Drain closes the pool gracefully. It stops handing out connections (Gets
// return [ErrClosed], as after Close), closes the idle ones, and waits until
// every checked-out connection has come back and every background dial has
// ended, or until ctx ends. If ctx ends first, Drain closes the sockets still
// checked out under their holders (whose I/O then fails, and whose Close
// releases them) and returns how many there were, with ctx.Err(). It returns
// 0 and nil once everything is closed. Drain may be called more than once,
// and after Close.
func (p *ConnPool) Drain(ctx context.Context) (outstanding int, err error) {
	p.Close()
	p.lock()
	drained := p.drained
	p.mu.Unlock()
	select {
	case <-drained:
		// Nothing is open, so no dial is in flight: the background
		// goroutines are on their way out.
		p.bg.Wait()
		return 0, nil
	case <-ctx.Done():
	}
	p.lock()
	out := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		out = append(out, c)
	}
	outstanding = p.open - p.dialing
	p.mu.Unlock()
	for _, c := range out {
		c.nc.Close()
	}
	return outstanding, ctx.Err()
}

// Reading the monotonic clock costs a Get as much as the rest of it. While
// Gets come more often than coarseTick, the maintainer reads the clock for
// them once a coarseTick instead, until quietTicks ticks pass without a Get.
// Times then lag by up to a tick (more if the maintainer is kept from
// running), which the uses of a Get's time (ProbeAfter, at least hundreds of
// milliseconds by design; IdleTimeout; MaxLifetime; wait statistics) can
// bear.
const (
	coarseTick          = 5 * time.Millisecond
	quietTicks          = 20
	coarseMinProbeAfter = 20 * coarseTick
)

// nowLocked returns the time for a Get, from the clock or from the
// maintainer's latest tick, and records it as p.lastNow. Caller must hold
// p.mu.
func (p *ConnPool) nowLocked() time.Duration {
	if p.ticking {
		p.busy = true
		p.lastNow = p.coarseNow
		return p.coarseNow
	}
	now := p.clock.Now()
	if p.coarse && now-p.lastRead < coarseTick && !p.closed {
		p.ticking = true
		p.coarseNow, p.lastTick, p.quiet = now, now, 0
		if p.maintaining {
			p.kickMaintainer()
		} else {
			p.maintainLocked()
		}
	}
	p.lastRead = now
	p.lastNow = now
	return now
}

// lock takes p.mu, trying a few times without blocking first. The critical
// sections under mu are a few dozen instructions, but sync.Mutex parks a
// goroutine at once, without spinning, whenever its processor has other
// goroutines to run: with more goroutines than processors, a holder
// returning a connection would be put to sleep, its connection with it.
// A short spin keeps it running.
func (p *ConnPool) lock() {
	for range 64 {
		if p.mu.TryLock() {
			return
		}
	}
	p.mu.Lock()
}

// dialForWaitersLocked starts one dial for each waiter not already covered
// by a dial in flight, as far as MaxConns allows. While dials fail it starts
// one at a time, and none before the backoff allows. Caller must hold p.mu.
func (p *ConnPool) dialForWaitersLocked() {
	if p.waiters.len() <= p.dialing || p.open >= p.cfg.MaxConns {
		return
	}
	if p.dialErr != nil {
		if p.dialing == 0 && p.clock.Now() >= p.dialRetryAt {
			p.startDialLocked()
		} else {
			p.maintainLocked() // to dial when the backoff ends
		}
		return
	}
	for p.waiters.len() > p.dialing && p.open < p.cfg.MaxConns {
		p.startDialLocked()
	}
}

// startDialLocked reserves a slot and dials in a new goroutine. Caller must
// hold p.mu.
func (p *ConnPool) startDialLocked() {
	p.open++
	p.dialing++
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		p.dialAndDeliver()
	}()
}

// dialAndDeliver runs a dial whose slot the caller reserved (open and
// dialing counted) and hands its result on: a connection to the longest
// waiter or the idle list, an error to the longest waiter. It returns the
// dial's error.
func (p *ConnPool) dialAndDeliver() error {
	ctx := p.ctx
	if p.cfg.DialTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.DialTimeout)
		defer cancel()
	}
	start := p.clock.Now()
	nc, err := p.cfg.Dial(ctx)
	if err == nil && nc == nil {
		err = ErrNilConn
	}
	if err != nil && nc != nil {
		nc.Close()
		nc = nil
	}
	now := p.clock.Now()
	if p.cfg.OnDial != nil {
		p.cfg.OnDial(nc, err, now-start)
	}

	p.lock()
	p.dialing--
	p.stats.dials++
	if err != nil {
		p.stats.dialErrors++
		if p.dialErr == nil {
			p.dialFailSince = now
		}
		p.dialErr = err
		p.dialRetryAt = now + p.dialDelay(now-p.dialFailSince)
		// The error goes to the longest waiter: each waiting Get is owed
		// one dial, so while the server is down the Gets fail one by one,
		// a backoff step apart, rather than wait for ever or dial once each.
		p.failWaiterLocked(fmt.Errorf("connpool: dial: %w", err), now)
		p.freeSlotLocked()
		if p.maintaining {
			p.kickMaintainer() // to dial for the others when the backoff ends
		} else {
			p.maintainLocked()
		}
		p.mu.Unlock()
		return err
	}
	p.dialErr = nil
	c := p.newConn(nc, now)
	p.conns[c] = struct{}{}
	if p.closed {
		p.releaseLocked(c, ClosePoolClosed)
		p.mu.Unlock()
		p.closeConn(c, ClosePoolClosed)
		return nil
	}
	extra := p.deliverLocked(c, now, true)
	p.dialForWaitersLocked() // others may have waited while dials failed
	p.mu.Unlock()
	if extra != nil {
		p.closeConn(extra, CloseMaxIdle)
	}
	return nil
}

// dialDelay returns how long to wait before the next dial when dials have
// been failing for the time given: a random part (full jitter) of half that
// time, bounded by DialBackoff and MaxDialBackoff. The waits grow
// geometrically with the attempts, yet the first attempt after a server
// returns comes within half the outage: a blip costs a blip, and a long
// outage one attempt per MaxDialBackoff.
func (p *ConnPool) dialDelay(failing time.Duration) time.Duration {
	step := min(p.cfg.MaxDialBackoff, max(p.cfg.DialBackoff, failing/2))
	return rand.N(step) + 1
}

// failWaiterLocked ends the longest wait, if any, with err. Caller must hold
// p.mu.
func (p *ConnPool) failWaiterLocked(err error, now time.Duration) {
	w, ok := p.waiters.popFront()
	if !ok {
		return
	}
	p.stats.gets++
	p.stats.getsFailed++
	p.stats.waitTime += waited(w, now)
	w.ch <- handoff{err: err}
}

// deliverLocked hands a connection that is not checked out to the longest
// waiter, or else to the idle list. If the idle list is full it releases the
// connection and returns it, for the caller to close with closeConn (reason
// CloseMaxIdle) after unlocking. fresh says whether it was just dialled.
// Caller must hold p.mu, and the pool must be open.
func (p *ConnPool) deliverLocked(c *conn, now time.Duration, fresh bool) (extra *conn) {
	if w, ok := p.waiters.popFront(); ok {
		p.stats.gets++
		p.stats.getsWaited++
		if fresh {
			p.stats.getsDialed++
		}
		p.stats.waitTime += waited(w, p.clock.Now())
		w.ch <- handoff{pc: c.checkOut()}
		return nil
	}
	if p.idle.len() >= p.cfg.MaxIdleConns {
		p.releaseLocked(c, CloseMaxIdle)
		return c
	}
	c.returnedAt = now
	p.idle.pushBack(c)
	switch {
	case !p.maintained:
	case p.maintaining:
		if d := p.deadline(c); d != 0 && d < p.maintWake {
			p.kickMaintainer()
		}
	default:
		p.maintainLocked()
	}
	return nil
}

// put takes back a connection its holder has released.
func (p *ConnPool) put(c *conn, unusable bool) error {
	// The time of return matters to the idle timeout and the lifetime,
	// which need the clock. Otherwise it only decides whether the next Get
	// probes the connection, and the time of the latest Get, which is no
	// later, errs on the side of probing; reading the clock would double
	// the cost of a Get and return.
	var now time.Duration
	if p.ages {
		now = p.clock.Now()
	}
	p.lock()
	if !p.ages {
		now = p.lastNow
	}
	reason, discard := CloseReason(0), true
	switch {
	case p.closed:
		reason = ClosePoolClosed
	case unusable:
		reason = CloseUnusable
	case c.outlived(now):
		reason = CloseMaxLifetime
	default:
		discard = false
	}
	if discard {
		p.releaseLocked(c, reason)
		p.mu.Unlock()
		return p.closeConn(c, reason)
	}
	extra := p.deliverLocked(c, now, false)
	p.mu.Unlock()
	if extra != nil {
		return p.closeConn(extra, CloseMaxIdle)
	}
	return nil
}

// releaseLocked removes c, which is neither idle nor in line for a waiter,
// from the pool's books, so that the caller can close it with closeConn
// after unlocking. Caller must hold p.mu.
func (p *ConnPool) releaseLocked(c *conn, reason CloseReason) {
	delete(p.conns, c)
	p.stats.closed[reason]++
	p.freeSlotLocked()
}

// freeSlotLocked gives up a slot counted in p.open: on an open pool a
// waiter may now dial, on a closed one the last slot completes a drain.
// Caller must hold p.mu.
func (p *ConnPool) freeSlotLocked() {
	p.open--
	if p.closed {
		p.checkDrainedLocked()
		return
	}
	p.dialForWaitersLocked()
	if p.maintained {
		p.maintainLocked()
	}
}

// checkDrainedLocked closes p.drained once a closed pool has nothing open.
// Caller must hold p.mu.
func (p *ConnPool) checkDrainedLocked() {
	if p.closed && p.open == 0 {
		select {
		case <-p.drained:
		default:
			close(p.drained)
		}
	}
}

// closeConn closes a connection released by releaseLocked and reports it to
// the OnClose hook.
func (p *ConnPool) closeConn(c *conn, reason CloseReason) error {
	err := c.nc.Close()
	if p.cfg.OnClose != nil {
		p.cfg.OnClose(c.nc, reason)
	}
	return err
}
