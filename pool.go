package connpool

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
)

// maxYields is how many times a Get that finds every connection out lets
// other goroutines run before it waits in line.
const maxYields = 4

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
	cfg Config // validated; read-only after New

	// ctx is the parent of every dial. Close cancels it, so dials that
	// honour their context end with the pool.
	ctx    context.Context
	cancel context.CancelFunc

	dials sync.WaitGroup // background dials in flight

	waiterPool sync.Pool // of *waiter; reused so waiting does not allocate

	mu sync.Mutex
	// The fields below are guarded by mu. Invariants while mu is free:
	//   - idle.len() > 0 implies waiters.len() == 0;
	//   - open == idle.len() + (connections checked out) + dialing;
	//   - open <= cfg.MaxConns.
	closed  bool
	idle    ring[*conn] // back is the most recently returned
	waiters ring[*waiter]   // front is the longest waiting
	open    int
	dialing int

	testHookWait func() // called after a Get joins the line; nil but in tests
}

// waiter is a Get waiting for a connection. Its channel has room for one
// handoff, sent under mu by whoever removes the waiter from the queue, so a
// sender never blocks and a waiter that finds itself gone from the queue
// knows a handoff is already in its channel.
type waiter struct {
	ch chan handoff
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
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &ConnPool{cfg: cfg}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.waiterPool.New = func() any { return &waiter{ch: make(chan handoff, 1)} }
	p.idle.buf = make([]*conn, cfg.MaxIdleConns)
	for i := 0; i < cfg.InitialConns; i++ {
		conn, err := p.dialOnce()
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("connpool: dialling initial connection %d of %d: %w", i+1, cfg.InitialConns, err)
		}
		p.lock()
		p.open++
		p.deliverLocked(p.newConn(conn)) // InitialConns <= MaxIdleConns: none extra
		p.mu.Unlock()
	}
	return p, nil
}

// Get returns a connection from the pool: an idle one if there is one, else
// a new one if fewer than MaxConns are open, else the next one returned.
// Closing the returned connection (a [*PoolConn]) gives it back.
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
		return nil, ctx.Err()
	default:
	}
	for yields := 0; ; yields++ {
		p.lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		if pc, ok := p.popIdleLocked(); ok {
			p.mu.Unlock()
			return pc, nil
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
		p.mu.Unlock()
		runtime.Gosched()
	}
	w := p.waiterPool.Get().(*waiter)
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
	p.lock()
	if p.waiters.remove(w) {
		// Nothing was or will be sent to w. A dial started on w's behalf
		// goes on and serves the next waiter or the idle list.
		p.mu.Unlock()
		p.waiterPool.Put(w)
		return nil, ctx.Err()
	}
	p.mu.Unlock()
	// The handoff was sent before we took mu, so it is in the channel.
	h := <-w.ch
	p.waiterPool.Put(w)
	if h.pc != nil {
		h.pc.Close() // pass it on to the next waiter
	}
	return nil, ctx.Err()
}

// TryGet is the non-blocking twin of Get: it returns an idle connection if
// there is one and [ErrNotAvailable] otherwise, never waiting for a dial or
// a return. When it finds none idle and the pool has room, it starts a dial
// in the background so that a later TryGet or Get finds a connection.
// It returns [ErrClosed] on a closed pool.
func (p *ConnPool) TryGet() (net.Conn, error) {
	p.lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if pc, ok := p.popIdleLocked(); ok {
		return pc, nil
	}
	// One dial beyond those already claimed by waiters, never more, so a
	// loop of TryGets cannot start a storm of dials.
	if p.dialing <= p.waiters.len() && p.open < p.cfg.MaxConns {
		p.startDialLocked()
	}
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
// finish. Gets waiting at the time return [ErrClosed]. Close does not wait
// and may be called more than once.
func (p *ConnPool) Close() {
	p.lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	idle := make([]*conn, 0, p.idle.len())
	for {
		pc, ok := p.idle.popFront()
		if !ok {
			break
		}
		idle = append(idle, pc)
	}
	p.open -= len(idle)
	for {
		w, ok := p.waiters.popFront()
		if !ok {
			break
		}
		w.ch <- handoff{err: ErrClosed}
	}
	p.mu.Unlock()
	p.cancel()
	for _, c := range idle {
		c.nc.Close()
	}
}

// lock takes p.mu, trying a few times without blocking first. The critical
// sections under mu are a few dozen instructions, but sync.Mutex parks a
// goroutine at once, without spinning, whenever its processor has other
// goroutines to run: with more goroutines than processors, a holder
// returning a connection would be put to sleep, its connection with it, and
// every Get would end up waiting in line. A short spin avoids that convoy.
func (p *ConnPool) lock() {
	for range 64 {
		if p.mu.TryLock() {
			return
		}
	}
	p.mu.Lock()
}

// popIdleLocked checks out the most recently returned idle connection.
// Caller must hold p.mu.
func (p *ConnPool) popIdleLocked() (*PoolConn, bool) {
	c, ok := p.idle.popBack()
	if !ok {
		return nil, false
	}
	return c.checkOut(), true
}

// dialForWaitersLocked starts one dial for each waiter not already covered
// by a dial in flight, as far as MaxConns allows. Caller must hold p.mu.
func (p *ConnPool) dialForWaitersLocked() {
	for p.waiters.len() > p.dialing && p.open < p.cfg.MaxConns {
		p.startDialLocked()
	}
}

// startDialLocked reserves a slot and dials in a new goroutine. Caller must
// hold p.mu.
func (p *ConnPool) startDialLocked() {
	p.open++
	p.dialing++
	p.dials.Add(1)
	go p.dial()
}

// dialOnce calls the dial function once, bounded by the pool's lifetime and
// DialTimeout, and turns a (nil, nil) result into an error.
func (p *ConnPool) dialOnce() (net.Conn, error) {
	ctx := p.ctx
	if p.cfg.DialTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.DialTimeout)
		defer cancel()
	}
	conn, err := p.cfg.Dial(ctx)
	switch {
	case err != nil:
		if conn != nil {
			conn.Close()
		}
		return nil, err
	case conn == nil:
		return nil, ErrNilConn
	}
	return conn, nil
}

// dial runs a dial reserved by startDialLocked and hands its result on.
func (p *ConnPool) dial() {
	defer p.dials.Done()
	conn, err := p.dialOnce()

	p.lock()
	p.dialing--
	if err != nil {
		p.open--
		// The error goes to the longest waiter: every waiter is owed one
		// dial attempt, so a dead server fails each Get once instead of
		// leaving it to wait forever or starting a storm of retries.
		if w, ok := p.waiters.popFront(); ok {
			w.ch <- handoff{err: fmt.Errorf("connpool: dial: %w", err)}
		}
		p.dialForWaitersLocked()
		p.mu.Unlock()
		return
	}
	if p.closed {
		p.open--
		p.mu.Unlock()
		conn.Close()
		return
	}
	extra := p.deliverLocked(p.newConn(conn))
	p.mu.Unlock()
	if extra != nil {
		extra.nc.Close()
	}
}

// deliverLocked hands a connection that is not checked out to the longest
// waiter, or else to the idle list. If the idle list is full it releases
// the connection's slot and returns it for the caller to close after
// unlocking. Caller must hold p.mu and the pool must be open.
func (p *ConnPool) deliverLocked(c *conn) (extra *conn) {
	if w, ok := p.waiters.popFront(); ok {
		w.ch <- handoff{pc: c.checkOut()}
		return nil
	}
	if p.idle.len() >= p.cfg.MaxIdleConns {
		p.open--
		return c
	}
	p.idle.pushBack(c)
	return nil
}

// put takes back a connection its holder has released.
func (p *ConnPool) put(c *conn, unusable bool) error {
	if unusable {
		return p.discard(c)
	}
	p.lock()
	if p.closed {
		p.open--
		p.mu.Unlock()
		return c.nc.Close()
	}
	extra := p.deliverLocked(c)
	p.mu.Unlock()
	if extra != nil {
		return extra.nc.Close()
	}
	return nil
}

// discard closes a released connection for good and frees its slot, which
// may let a waiter dial.
func (p *ConnPool) discard(c *conn) error {
	err := c.nc.Close()
	p.lock()
	p.open--
	if !p.closed {
		p.dialForWaitersLocked()
	}
	p.mu.Unlock()
	return err
}
