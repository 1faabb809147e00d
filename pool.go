package connpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-a245f091/connpool/internal/isnil"
	"github.com/seed-a245f091/connpool/internal/ring"
	"github.com/seed-a245f091/connpool/internal/sock"
)

var (
	// ErrClosed is returned by Get and TryGet on a closed pool, and to every
	// Get that is waiting when the pool closes. A closed TCPPool's errors
	// wrap it too.
	ErrClosed = errors.New("connpool: pool is closed")

	// ErrNotAvailable is returned by [ConnPool.TryGet] when no idle
	// connection is ready.
	ErrNotAvailable = errors.New("connpool: no idle connection available")
)

// starveAfter is how long the longest waiting Get may wait before returned
// connections are handed to it directly instead of being left for whoever
// asks first (see ConnPool). sync.Mutex switches at 1ms. A pool's holders
// do I/O, and whenever an exchange is quicker than the threshold, the Gets
// that come back first keep the connections until a waiter has waited the
// threshold itself, which becomes the waiters' p99. On loopback round
// trips (cmd/connload) with 2 clients per connection (16 on 8, 8 on 2),
// the p99 of a Get's wait was 260µs at 250µs, 95–100µs at 50µs, and
// 86–93µs first come first served (a threshold of 0); with 64 clients on
// 8, whose waits are longer than either threshold, 250µs and 50µs were
// alike. With no I/O at all (bench/, a pool of 8), 50µs against 250µs
// costs 6% at 32 goroutines per CPU and GOMAXPROCS 1, and 1.8 times at 128
// per CPU, where half the Gets then wait (230ns against 130ns; puddle's,
// whose every Get waits, 490ns); at GOMAXPROCS 2 the cost is the pool's
// mutex, the same at both.
const starveAfter = 50 * time.Microsecond

// ConnPool is a pool of network connections with a hard limit on how many
// are open. Get checks a connection out; closing the returned connection
// checks it back in. Build one with [New] or [NewChannelPool]; the zero
// value is not usable.
//
// A Get takes an idle connection if there is one, dials one if there is
// room, and otherwise waits in line. A connection given back goes to the
// idle list and the longest waiting Get is woken to take it; a Get that
// comes meanwhile, already running, may take it first, and the woken one
// then waits again at the front of the line (behind any that joined it
// earlier and were woken too). That keeps connections
// moving when there are many more goroutines than processors: handing each
// returned connection to a parked goroutine, which holds it until the
// scheduler gets round to it, would make every Get wait (a convoy). So
// that no Get waits for long, once the longest waiter has waited 50µs,
// returned connections are handed to the waiters in line, first come
// first served, until the line has caught up, as sync.Mutex does with its
// starvation mode. A new connection goes straight to the longest waiter
// in line.
//
// Dials run on their own: a Get that gives up during a slow dial returns at
// once, and the dial's connection goes to the next waiter or to the idle
// list.
//
// A ConnPool is safe for concurrent use by multiple goroutines.
type ConnPool struct {
	cfg    Config // validated; read-only after New
	dialer dialer
	clock  clock
	ages   bool // IdleTimeout or MaxLifetime is set: a return reads the clock
	// maintained: IdleTimeout, MaxLifetime, MinIdleConns or LeakThreshold
	// is set, so the maintainer may have work whenever connections move.
	maintained bool
	name       atomic.Pointer[string]
	obs        observers
	log        *slog.Logger

	// ctx is the parent of every dial. Close cancels it, so dials that
	// honour their context end with the pool, and so does the maintainer.
	ctx    context.Context
	cancel context.CancelFunc

	bg      sync.WaitGroup // background dials and the maintainer
	watchWG sync.WaitGroup // the watcher, which runs until Close

	waiterPool sync.Pool // of *waiter; reused so waiting does not allocate

	// kick wakes the maintainer early (buffered: a send never blocks, and
	// one pending kick is enough).
	kick chan struct{}

	// mu guards the fields below. No function returns holding it if it was
	// called without it, or the other way round. Invariants while mu is
	// free:
	//   - open == idle.Len() + (connections checked out) + dialing;
	//   - open <= cfg.MaxConns;
	//   - every open connection that is not being dialled is in conns;
	//   - idle.Len() > 0 and waiters.Len() > 0 only while woken: a waiter
	//     has been woken to take an idle connection and has not yet tried.
	mu        sync.Mutex
	closed    bool
	idle      ring.Ring[*conn]   // front returned longest ago, back most recently
	waiters   ring.Ring[*waiter] // front is the longest waiting
	tickets   uint64             // the last waiter's ticket
	woken     bool
	open      int // connections counted against MaxConns: idle, checked out, dialling
	dialing   int
	closing   int                 // connections released whose sockets are being closed: they count against MaxConns too
	conns     []*conn             // every open connection but those being dialled, by conn.slot; nil in a free slot
	freeSlots []int32             // slots of conns free for the next connection
	seq       uint32              // the last conn.seq handed out
	leaks     map[*conn]*leakInfo // checkouts' stacks, while LeakThreshold is set
	leaksDue  int                 // checkouts in leaks not reported yet
	handles   []PoolConn          // unused handles of the current block
	gen       uint32              // the number of Resets so far
	lastNow   time.Duration       // the latest time a Get read from the clock
	drained   chan struct{}       // closed once the pool is closed and open is 0
	watch     *sock.Watcher       // nil until the first connection, or if there is none here
	watchOff  bool                // no watcher could be made
	// byes are the connections released whose goodbyes are under way
	// (see byeBegins); cutByes says a Drain gave up, so that those begun
	// from then on are cut short too.
	byes    map[*conn]struct{}
	cutByes bool
	// The maintainer: running says it is, wake when it means to wake next
	// (0 while it plans, under mu).
	maintaining bool
	maintWake   time.Duration
	// starting: New is dialling InitialConns, and the maintainer waits
	// for it to finish, so that a MinIdleConns top-up does not dial beside
	// New's own dials past MaxConns.
	starting bool
	// While dials fail, dialErr is the last one's error, bo counts them,
	// and no dial starts before retryAt.
	dialErr error
	retryAt time.Duration
	bo      backoff
	// The MinIdleConns top-up also waits until topUpAt while the server
	// closes what it dials before any use (see peerGone).
	topUpAt time.Duration
	topUp   backoff
	stats   counters

	testHookWait     func() // called after a Get joins the line; nil but in tests
	testHookWoken    func() // called when a waiter is woken to try again; nil but in tests
	testHookCanceled func() // called when a waiter's context ends, before it takes mu; nil but in tests
	testHookGone     func() // called when the watcher has dealt with a peer's close; nil but in tests
}

// waiter is a Get waiting for a connection. Its channel has room for one
// handoff, sent by whoever removes the waiter from the line, under mu or,
// for a connection, just after releasing it (see delivery): so a sender
// never blocks, and a waiter that finds itself gone from the line knows a
// handoff is in its channel or on its way.
type waiter struct {
	ch     chan handoff
	since  time.Duration // when its Get started
	ticket uint64        // its place in line: the order in which Gets joined it
}

// handoff is what a waiter is sent: a connection, an error, or, with both
// nil, a wake-up to try the idle list again.
type handoff struct {
	pc  *PoolConn
	err error
}

// waited returns how long w has waited at now. A caller that read the clock
// before taking p.mu may hold a now earlier than w.since: that counts as no
// wait, so that Stats.WaitTime never goes backwards.
func waited(w *waiter, now time.Duration) time.Duration {
	return max(0, now-w.since)
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
		dialer:     dialer{dial: cfg.Dial, network: cfg.Network, timeout: cfg.DialTimeout, clock: clk},
		clock:      clk,
		ages:       cfg.IdleTimeout > 0 || cfg.MaxLifetime > 0,
		maintained: cfg.IdleTimeout > 0 || cfg.MaxLifetime > 0 || cfg.MinIdleConns > 0 || cfg.LeakThreshold > 0,
		log:        cfg.Logger,
		kick:       make(chan struct{}, 1),
		drained:    make(chan struct{}),
		bo:         backoff{base: cfg.DialBackoff, max: cfg.MaxDialBackoff},
		topUp:      backoff{base: cfg.DialBackoff, max: cfg.MaxDialBackoff},
	}
	if cfg.Name != "" {
		p.name.Store(&cfg.Name)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.waiterPool.New = func() any { return &waiter{ch: make(chan handoff, 1)} }
	// A hook that panics during an initial dial leaves nothing behind.
	built := false
	p.starting = true // no other goroutine has p yet
	defer func() {
		if !built {
			p.Close()
			p.wait()
		}
	}()
	for i := 0; i < cfg.InitialConns; i++ {
		p.mu.Lock()
		p.open++
		p.dialing++
		gen := p.gen
		p.mu.Unlock()
		if err := p.dialAndDeliver(gen); err != nil {
			return nil, fmt.Errorf("connpool: dialling initial connection %d of %d: %w", i+1, cfg.InitialConns, err)
		}
	}
	p.mu.Lock()
	p.starting = false
	p.maintainLocked()
	p.mu.Unlock()
	built = true
	return p, nil
}

// Name returns the pool's name: Config.Name, or Config.Addr, or the remote
// address of its first connection, or "" before that one is dialled.
func (p *ConnPool) Name() string {
	if n := p.name.Load(); n != nil {
		return *n
	}
	return ""
}

// Observe adds o to the observers of the pool's events, from now on, and
// returns the function that removes it again. Events already under way
// when remove returns may still reach o; after that, none does, and a pool
// whose observers are all removed costs what one with none costs. Observe
// and remove are safe to call at any time, remove more than once;
// Observe(nil), or a nil pointer, adds nothing.
func (p *ConnPool) Observe(o Observer) (remove func()) { return p.obs.add(o) }

// Get returns a connection from the pool: an idle one if there is one, else
// a new one if fewer than MaxConns are open, else the next one given back
// (see [ConnPool] for the order). Closing the returned connection, a
// [*PoolConn], gives it back.
//
// An idle connection is checked before it is handed out (see
// [Config.ProbeAfter] and [Config.HealthCheck]); one that fails is closed
// and Get takes another.
//
// Get returns ctx.Err() if ctx ends first (at once if ctx is already
// done and the pool is open), [ErrClosed] if the pool is or becomes
// closed (also when ctx is already done), and an error
// wrapping the dial error if the dial it waited for failed. If
// Config.HealthCheck panics, the connection it checked is closed and the
// panic goes on to Get's caller.
func (p *ConnPool) Get(ctx context.Context) (net.Conn, error) {
	// Done, not Err: for a cancelable context Done is an atomic load where
	// Err takes a lock.
	select {
	case <-ctx.Done():
		err := ctx.Err()
		p.mu.Lock()
		if p.closed {
			// A closed pool says so first, as database/sql does: the
			// caller's next Get, with a fresh context, would fail too.
			err = ErrClosed
			p.stats.gets++
			p.stats.getsFailed++
		} else {
			p.countCanceledLocked(err)
		}
		p.mu.Unlock()
		return nil, err
	default:
	}
	start := p.clock.Now()
	now := start
	var w *waiter // set once this Get has joined the line
	p.mu.Lock()
	for {
		if p.closed {
			p.stats.gets++
			p.stats.getsFailed++
			if w != nil {
				p.stats.waitTime += waited(w, now)
			}
			p.mu.Unlock()
			p.freeWaiter(w)
			return nil, ErrClosed
		}
		p.lastNow = max(p.lastNow, now)
		pc, idle, expired, why := p.takeIdleLocked(now, w != nil)
		if expired != nil {
			p.mu.Unlock()
			p.closeSoon(expired, why)
			now = p.clock.Now() // the close may have taken a while
			p.mu.Lock()
			continue
		}
		if pc != nil {
			probe, health := p.checksDue(idle)
			if !probe && !health {
				p.countGetLocked(w, now)
				p.mu.Unlock()
				return p.got(pc, w, start, now), nil
			}
			p.mu.Unlock()
			if p.check(ctx, pc, probe, health) {
				p.mu.Lock()
				p.countGetLocked(w, now)
				p.mu.Unlock()
				return p.got(pc, w, start, 0), nil
			}
			now = p.clock.Now()
			p.mu.Lock()
			if err := ctx.Err(); err != nil {
				// A health check that obeys ctx fails once it ends, so
				// the next idle connection would fail its check too.
				p.countCanceledLocked(err)
				if w != nil {
					p.stats.waitTime += waited(w, now)
				}
				p.mu.Unlock()
				p.freeWaiter(w)
				return nil, err
			}
			continue
		}

		// Nothing idle: wait in line. A waiter woken to try again, who
		// found the connection taken, goes back to its place.
		if w == nil {
			w = p.waiterPool.Get().(*waiter)
			w.since = now
			p.tickets++
			w.ticket = p.tickets
			p.waiters.PushBack(w)
		} else {
			p.requeueLocked(w)
		}
		p.dialForWaitersLocked(now)
		if p.testHookWait != nil {
			p.testHookWait()
		}
		p.mu.Unlock()

		h, err := p.await(ctx, w)
		if err != nil || h.pc != nil || h.err != nil {
			p.freeWaiter(w)
			if err != nil {
				return nil, err
			}
			if h.err != nil {
				return nil, h.err
			}
			return p.got(h.pc, nil, start, 0), nil
		}
		// Woken to try the idle list again.
		if p.testHookWoken != nil {
			p.testHookWoken()
		}
		now = p.clock.Now()
		p.mu.Lock()
		p.woken = false
	}
}

// got finishes a Get that has pc: it frees the Get's waiter, if it had
// one, and reports the wait to the observers. now is when the Get got pc,
// or 0 for a caller that has not read the clock since: only an observer
// needs it.
func (p *ConnPool) got(pc *PoolConn, w *waiter, start, now time.Duration) *PoolConn {
	p.freeWaiter(w)
	if p.cfg.LeakThreshold > 0 {
		p.noteCheckout(pc)
	}
	if obs := p.obs.load(); obs != nil {
		// An observer that panics must not take the connection with it.
		done := false
		defer func() {
			if !done {
				pc.Close()
			}
		}()
		if now == 0 {
			now = p.clock.Now()
		}
		observeWait(obs, now-start)
		done = true
	}
	return pc
}

// countGetLocked counts a Get served from the idle list, after waiting in
// line (w not nil) or not. Caller must hold p.mu.
func (p *ConnPool) countGetLocked(w *waiter, now time.Duration) {
	p.stats.gets++
	if w == nil {
		p.stats.getsFromIdle++
		return
	}
	p.stats.getsWaited++
	p.stats.waitTime += waited(w, now)
}

// await waits for w's handoff or for ctx to end. It returns the handoff
// (a connection, an error, or, with both nil, a wake-up to try again), or
// ctx's error, having taken w out of the line.
func (p *ConnPool) await(ctx context.Context, w *waiter) (handoff, error) {
	done := ctx.Done()
	if done == nil {
		// A context that never ends: a plain receive parks and wakes for
		// less than a select on two channels.
		return <-w.ch, nil
	}
	select {
	case h := <-w.ch:
		return h, nil
	case <-done:
	}
	if p.testHookCanceled != nil {
		p.testHookCanceled()
	}
	now := p.clock.Now()
	p.mu.Lock()
	if p.waiters.Remove(w) {
		// Nothing was or will be sent to w. A dial started on w's behalf
		// goes on and serves the next waiter or the idle list.
		p.countCanceledLocked(ctx.Err())
		p.stats.waitTime += waited(w, now)
		p.mu.Unlock()
		return handoff{}, ctx.Err()
	}
	p.mu.Unlock()
	// Whoever took w out of the line has sent it something, or is about
	// to, without mu.
	h := <-w.ch
	if h.pc != nil || h.err != nil {
		// The handoff was decided, and counted, before we took mu: the
		// Get was served before it noticed its context ending, so it
		// keeps the result.
		return h, nil
	}
	// A wake-up this Get will not use goes to the next waiter.
	p.mu.Lock()
	defer p.mu.Unlock()
	p.woken = false
	p.wakeLocked()
	p.countCanceledLocked(ctx.Err())
	p.stats.waitTime += waited(w, now)
	return handoff{}, ctx.Err()
}

// requeueLocked puts w, woken and back to wait, in its place in line: at
// the front, but behind any waiter that joined the line before it. Such a
// waiter was woken too, and is back already: a Get that takes an idle
// connection wakes the next waiter if more remain idle, before its own
// connection has passed its probe or HealthCheck, so two woken Gets may
// both come back empty-handed, in either order. Caller must hold p.mu.
func (p *ConnPool) requeueLocked(w *waiter) {
	var buf [4]*waiter
	ahead := buf[:0]
	for {
		f, ok := p.waiters.Front()
		if !ok || f.ticket > w.ticket {
			break
		}
		p.waiters.PopFront()
		ahead = append(ahead, f)
	}
	p.waiters.PushFront(w)
	for i := len(ahead) - 1; i >= 0; i-- {
		p.waiters.PushFront(ahead[i])
	}
}

func (p *ConnPool) freeWaiter(w *waiter) {
	if w != nil {
		p.waiterPool.Put(w)
	}
}

// wakeLocked wakes the longest waiter to try the idle list, if connections
// sit idle while Gets wait and none has been woken already. It keeps the
// invariant that idle connections and waiters coexist only while a waiter
// is woken. Caller must hold p.mu.
func (p *ConnPool) wakeLocked() {
	if p.woken || p.idle.Len() == 0 {
		return
	}
	if w, ok := p.waiters.PopFront(); ok {
		p.woken = true
		w.ch <- handoff{}
	}
}

// takeIdleLocked takes the next idle connection in IdleOrder and checks it
// out at now, and returns it with how long it was idle, or nil if none is
// idle. One past its lifetime or idle timeout it releases instead and
// returns as expired, with why, for the caller to close after unlocking
// and then try again. A Get woken to take a connection passes the wake-up
// on if more remain idle. Caller must hold p.mu.
func (p *ConnPool) takeIdleLocked(now time.Duration, woken bool) (pc *PoolConn, idle time.Duration, expired *conn, why CloseReason) {
	var c *conn
	var ok bool
	if p.cfg.IdleOrder == FIFO {
		c, ok = p.idle.PopFront()
	} else {
		c, ok = p.idle.PopBack()
	}
	if !ok {
		return nil, 0, nil, 0
	}
	if woken {
		p.wakeLocked()
	}
	if p.maintained {
		p.maintainLocked() // the idle list may have shrunk below MinIdleConns
	}
	if why := p.unfitLocked(c, now); why != 0 {
		p.releaseLocked(c, why)
		return nil, 0, c, why
	}
	idle = now - c.movedAt
	return p.checkOutLocked(c, now), idle, nil, 0
}

// unfitLocked returns why the idle connection c, just taken out of the
// idle list, must be closed rather than handed out at now, or 0. As in
// the maintainer, the idle timeout spares MinIdleConns connections: c is
// one of them if fewer remain idle. Caller must hold p.mu.
func (p *ConnPool) unfitLocked(c *conn, now time.Duration) CloseReason {
	switch {
	case c.outlived(now):
		return CloseMaxLifetime
	case p.idle.Len() >= p.cfg.MinIdleConns && p.idledOut(c, now):
		return CloseIdleTimeout
	}
	return 0
}

// idledOut reports whether c, idle since c.movedAt, has been idle longer
// than IdleTimeout at now.
func (p *ConnPool) idledOut(c *conn, now time.Duration) bool {
	return p.cfg.IdleTimeout > 0 && now-c.movedAt >= p.cfg.IdleTimeout
}

// checksDue reports whether a connection idle for idle, about to be handed
// out, is due for the probe and for the health check.
func (p *ConnPool) checksDue(idle time.Duration) (probe, health bool) {
	probe = probeDue(p.cfg.ProbeAfter, idle)
	health = p.cfg.HealthCheck != nil && probeDue(p.cfg.HealthCheckAfter, idle)
	return probe, health
}

// check runs, as probe and health say, the probe and the user's health
// check on pc's connection, which has been idle a while, with p.mu
// released. If either fails, or the health check panics or lasts past the
// connection's lifetime, or the pool was closed or Reset meanwhile, it
// closes the connection and releases its slot, and returns false.
func (p *ConnPool) check(ctx context.Context, pc *PoolConn, probe, health bool) (ok bool) {
	c := pc.c
	reason := CloseStale
	defer func() {
		if !ok {
			pc.state.Store(flagReleased)
			p.discard(c, reason)
		}
	}()
	if probe {
		if err := c.sock.Probe(); err != nil {
			p.logger().log(slog.LevelInfo, "stale connection closed before use",
				slog.String("addr", remoteAddr(c.nc)), slog.String("reason", err.Error()))
			return false
		}
	}
	if health {
		reason = CloseHealthCheck
		err := p.healthCheck(ctx, c.nc)
		if err == nil {
			// The holder gets the socket without the deadlines that bound
			// the check.
			err = c.nc.SetDeadline(time.Time{})
		}
		if err != nil {
			if p.ctx.Err() != nil {
				reason = ClosePoolClosed // Close ended the check
			}
			p.logger().log(slog.LevelInfo, "connection failed its health check",
				slog.String("addr", remoteAddr(c.nc)), slog.String("err", err.Error()))
			return false
		}
		if c.outlived(p.clock.Now()) {
			// The check took long enough for c to outlive its lifetime.
			reason = CloseMaxLifetime
			return false
		}
	}
	p.mu.Lock()
	reason = p.retiredLocked(c)
	p.mu.Unlock()
	return reason == 0
}

// healthCheck runs Config.HealthCheck on nc with a context that ends with
// ctx or with the pool: Close ends a Get in its check as it ends one that
// waits.
func (p *ConnPool) healthCheck(ctx context.Context, nc net.Conn) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.ctx, cancel)()
	return p.cfg.HealthCheck(ctx, nc)
}

// retiredLocked returns why the checked-out connection c may not be handed
// out, or 0: the pool was closed, or Reset since c's dial began, or the
// watcher heard its peer close it. Caller must hold p.mu.
func (p *ConnPool) retiredLocked(c *conn) CloseReason {
	switch {
	case p.closed:
		return ClosePoolClosed
	case c.dead:
		return CloseStale
	case c.gen != p.gen:
		return CloseReset
	}
	return 0
}

// discard closes a connection that is neither idle nor with a holder, and
// releases its slot.
func (p *ConnPool) discard(c *conn, reason CloseReason) {
	p.mu.Lock()
	p.releaseLocked(c, reason)
	p.mu.Unlock()
	p.closeSoon(c, reason)
}

// closeSoon is closeConn for a Get or TryGet, which must not wait on a
// goodbye (TLS's close_notify waits up to five seconds on a peer that
// reads nothing): a connection whose close says none it closes at once,
// one that says one in a goroutine of the pool's, where a panic of its
// Close or OnClose ends the program. Caller must have released c, whose
// slot stays taken until its Close returns: so Drain waits for it, and no
// Wait on p.bg can be under way.
func (p *ConnPool) closeSoon(c *conn, reason CloseReason) {
	if !c.mayWait(reason) {
		p.closeConn(c, reason)
		return
	}
	p.bg.Go(func() { p.closeConn(c, reason) })
}

// TryGet is the non-blocking twin of Get: it returns an idle connection if
// there is one and [ErrNotAvailable] otherwise, never waiting for a dial or
// a return. An idle connection is probed as Get probes it, but
// [Config.HealthCheck], which may wait on the network, is not run. When
// TryGet finds none idle and the pool has room, it starts a dial in the
// background, unless a dial that no waiting Get is owed is already under
// way or the dial backoff holds dials back, so that a later TryGet or Get
// finds a connection: a loop of TryGets dials no more often than Gets
// would. It returns [ErrClosed] on a closed pool.
func (p *ConnPool) TryGet() (net.Conn, error) {
	now := p.clock.Now()
	p.mu.Lock()
	for {
		if p.closed {
			p.stats.gets++
			p.stats.getsFailed++
			p.mu.Unlock()
			return nil, ErrClosed
		}
		p.lastNow = max(p.lastNow, now)
		pc, idle, expired, why := p.takeIdleLocked(now, false)
		if expired != nil {
			p.mu.Unlock()
			p.closeSoon(expired, why)
			now = p.clock.Now() // the close may have taken a while
			p.mu.Lock()
			continue
		}
		if pc == nil {
			break
		}
		if probe, _ := p.checksDue(idle); probe {
			p.mu.Unlock()
			if !p.check(context.Background(), pc, true, false) {
				now = p.clock.Now()
				p.mu.Lock()
				continue
			}
			p.mu.Lock()
		}
		p.countGetLocked(nil, now)
		p.mu.Unlock()
		return p.got(pc, nil, now, now), nil
	}
	// One dial beyond those already claimed by waiters, never more.
	if p.dialing <= p.waiters.Len() && p.roomLocked() && p.mayDialLocked(now) {
		p.startDialLocked()
	}
	p.stats.gets++
	p.stats.getsFailed++
	p.mu.Unlock()
	return nil, ErrNotAvailable
}

// Len returns the number of idle connections.
func (p *ConnPool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idle.Len()
}

// NumberOfConns returns the number of open connections: idle, checked out
// and being dialled. It is 0 once the pool is closed and every connection
// has come back. A connection being closed is not counted, though it holds
// its slot of MaxConns until its socket is closed.
func (p *ConnPool) NumberOfConns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open
}

// Reset closes every idle connection now and every checked-out one when it
// comes back, and has dials already under way close what they bring, so
// that from now on the pool hands out only connections dialled after the
// call: for a server that failed over or changed its credentials. The pool
// stays open; MinIdleConns are dialled again. Reset closes the idle
// connections as [ConnPool.Close] does, concurrently, and returns once
// they are closed. Reset may be called at any time, also after Close,
// where it does nothing.
func (p *ConnPool) Reset() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.gen++
	idle := p.takeAllIdleLocked(CloseReset)
	p.mu.Unlock()
	p.logger().log(slog.LevelInfo, "pool reset", slog.Int("closed_idle", len(idle)))
	p.closeAll(idle)
}

// takeAllIdleLocked empties the idle list, releasing each connection for
// reason, and returns them for the caller to close with closeAll after
// unlocking. Caller must hold p.mu.
func (p *ConnPool) takeAllIdleLocked(reason CloseReason) []reaped {
	idle := make([]reaped, 0, p.idle.Len())
	for {
		c, ok := p.idle.PopFront()
		if !ok {
			return idle
		}
		idle = append(idle, reaped{c, reason})
		p.releaseLocked(c, reason)
	}
}

// Close closes the pool: idle connections at once, checked-out connections
// as they come back, and connections still being dialled as their dials
// finish. Gets waiting at the time return [ErrClosed]. Close does not wait
// for connections checked out or being dialled; see [ConnPool.Drain] for
// that. It may be called more than once.
//
// Close closes each idle connection with the connection's own Close, so
// that one through TLS sends a close_notify. To a server that has stopped
// reading, that alert waits for room in the socket, up to the five seconds
// crypto/tls allows it; Close therefore closes layered connections
// concurrently and waits for them all, so that such a server costs those
// five seconds once, not once per connection. A connection's Close that
// panics stops none of the others; the panic reaches Close's caller once
// they are all closed. [ConnPool.Reset] closes idle connections the same
// way.
func (p *ConnPool) Close() { p.closeAll(p.shut()) }

// shut closes the pool, unless it is closed already, and returns its idle
// connections, released, for the caller to close.
func (p *ConnPool) shut() []reaped {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	idle := p.takeAllIdleLocked(ClosePoolClosed)
	now := p.clock.Now()
	for p.waiters.Len() > 0 {
		p.failWaiterLocked(ErrClosed, now)
	}
	watch := p.watch
	p.checkDrainedLocked()
	p.mu.Unlock()
	p.cancel()
	if watch != nil {
		watch.Close()
	}
	return idle
}

// Drain closes the pool gracefully. It stops handing out connections (Gets
// return [ErrClosed], as after Close), closes the idle ones, and waits until
// every checked-out connection has come back and every background goroutine
// of the pool has ended, or until ctx ends. If ctx ends first, Drain closes
// the sockets still checked out under their holders, cuts short the
// goodbyes still under way (a TLS close_notify to a server that reads
// nothing), and returns how many connections were checked out, with
// ctx.Err(): a holder's I/O then fails, and its Close frees the
// connection's slot and returns an error wrapping [net.ErrClosed]. It
// returns 0 and nil once everything is closed, also with a ctx that has
// already ended if nothing was checked out or being dialled and the idle
// connections had no goodbye to say (plain TCP). Drain may be called more
// than once, and after Close.
func (p *ConnPool) Drain(ctx context.Context) (outstanding int, err error) {
	// The idle connections' goodbyes, which to a server that stopped
	// reading wait up to five seconds each, are said while Drain waits on
	// ctx; a panic of theirs goes on to Drain's caller, as from Close.
	idle := p.shut()
	idleMayWait := false
	for _, r := range idle {
		idleMayWait = idleMayWait || r.c.mayWait(r.reason)
	}
	closed := make(chan struct{})
	var panicked any
	go func() {
		defer close(closed)
		defer func() { panicked = recover() }()
		p.closeAll(idle)
	}()
	settle := func() {
		<-closed
		if panicked != nil {
			panic(panicked)
		}
	}
	p.mu.Lock()
	drained := p.drained
	out := p.open - p.dialing
	p.mu.Unlock()
	p.logger().log(slog.LevelInfo, "draining", slog.Int("checked_out", out))
	select {
	case <-drained:
	case <-ctx.Done():
		if !idleMayWait {
			// The idle connections' closes, begun just now, wait on no
			// peer: let them end before judging whether anything is
			// left, so that a pool with nothing out drains even with a
			// context already ended.
			settle()
		}
	}
	select {
	case <-drained: // also if it was so by the time ctx ended
		// Nothing is open, so no dial is in flight: the background
		// goroutines are on their way out.
		settle()
		p.wait()
		return 0, nil
	default:
	}
	defer settle()
	p.mu.Lock()
	held := make([]*conn, 0, len(p.conns))
	for _, c := range p.conns {
		if c != nil {
			held = append(held, c)
		}
	}
	outstanding = p.open - p.dialing
	p.cutByes = true
	byes := make([]*conn, 0, len(p.byes))
	for c := range p.byes {
		byes = append(byes, c)
	}
	p.mu.Unlock()
	p.logger().log(slog.LevelWarn, "drain gave up; closing connections under their holders",
		slog.Int("checked_out", outstanding), slog.String("err", ctx.Err().Error()))
	// The goodbyes still under way, Drain's own, those of holders' Closes
	// and those begun earlier in the pool's goroutines, end on the closed
	// socket at once.
	for _, c := range byes {
		sock.Inner(c.nc).Close()
	}
	// No TLS goodbye, which could wait on each; a wrapper's Close that
	// panics leaves none of the others open.
	closeEach(held, func(*conn) bool { return false }, func(c *conn) { sock.Abort(c.nc) })
	return outstanding, ctx.Err()
}

// wait waits for every goroutine of a closed pool to end.
func (p *ConnPool) wait() {
	p.bg.Wait()
	p.watchWG.Wait()
}

// put takes back the connection of a handle its holder has released, with
// the handle's state at the time.
func (p *ConnPool) put(c *conn, state uint64) error {
	obs := p.obs.load()
	// The time of return matters to the idle timeout and the lifetime, to
	// the observers, and to whether the next Get runs the HealthCheck, a
	// round trip; otherwise only to whether the next Get probes the
	// connection, for which the time of the latest Get, which is no later,
	// errs on the side of probing, and saves a clock read per return.
	var now time.Duration
	exact := p.ages || obs != nil || p.cfg.LeakThreshold > 0 || p.cfg.HealthCheck != nil
	if exact {
		now = p.clock.Now()
	}
	reason := CloseReason(0)
	failed := state&flagFailed != 0
	switch {
	case state&flagUnusable != 0, state&callsMask != 0:
		reason = CloseUnusable
	case failed:
		// Closed below, for the pool's closing or the peer's close if
		// either came first.
	case state&flagDeadline != 0:
		// A socket that takes no deadline is broken, or was closed by
		// Drain: the same as a failed Read or Write.
		var panicked any
		if failed, panicked = clearDeadline(c.nc); panicked != nil {
			defer panic(panicked) // once the connection is closed
		}
	}
	p.mu.Lock()
	if !exact {
		now = p.lastNow
	}
	if obs != nil {
		defer observeUse(obs, now-c.movedAt)
	}
	if info := p.leaks[c]; info != nil {
		delete(p.leaks, c)
		held := now - c.movedAt
		late := false
		if !info.reported {
			p.leaksDue--
			// Held past the threshold but not seen by the maintainer,
			// which had not woken yet or stopped with the pool's Close
			// (a Drain waiting on this very checkout): a leak all the same.
			if held >= p.cfg.LeakThreshold {
				info.reported, late = true, true
				p.stats.leaks++
			}
		}
		defer p.leakReturned(info, c.nc, held, late)
	}
	switch {
	case reason != 0:
	case p.closed:
		reason = ClosePoolClosed
	case c.dead:
		reason = CloseStale
	case failed:
		reason = CloseUnusable
	case c.gen != p.gen:
		reason = CloseReset
	case c.outlived(now):
		reason = CloseMaxLifetime
	}
	if reason != 0 {
		p.releaseLocked(c, reason)
		c.failed = failed
		p.mu.Unlock()
		return p.closeConn(c, reason)
	}
	extra, d := p.deliverLocked(c, now, false)
	p.mu.Unlock()
	d.send()
	if extra != nil {
		return p.closeConn(extra, CloseMaxIdle)
	}
	return nil
}

// clearDeadline clears the deadlines of nc, given back, and reports
// whether that failed. A SetDeadline that panics (a wrapper's own) counts
// as failed, and its panic is returned for the caller to raise once the
// connection is closed and its slot freed.
func clearDeadline(nc net.Conn) (failed bool, panicked any) {
	defer func() {
		if panicked = recover(); panicked != nil {
			failed = true
		}
	}()
	return nc.SetDeadline(time.Time{}) != nil, nil
}

// deliverLocked hands a connection that is not checked out to the longest
// waiter, if it is new (fresh), the waiter has waited starveAfter, or the
// idle list is full, or else to the idle list, waking the longest waiter
// to come and take it. The handoff to a waiter it returns, for the caller
// to send after unlocking. If the idle list is full and no Get waits, it
// releases the connection and returns it, for the caller to close with
// closeConn (reason CloseMaxIdle) after unlocking. Caller must hold p.mu,
// and the pool must be open.
func (p *ConnPool) deliverLocked(c *conn, now time.Duration, fresh bool) (extra *conn, d delivery) {
	if w, ok := p.waiters.Front(); ok {
		full := p.idle.Len() >= p.cfg.MaxIdleConns
		if t := p.clock.Now(); fresh || full || t-w.since >= starveAfter {
			p.waiters.PopFront()
			p.stats.gets++
			p.stats.getsWaited++
			if fresh {
				p.stats.getsDialed++
			}
			p.stats.waitTime += waited(w, t)
			return nil, delivery{w, p.checkOutLocked(c, t)}
		}
	}
	if p.idle.Len() >= p.cfg.MaxIdleConns {
		p.releaseLocked(c, CloseMaxIdle)
		return c, delivery{}
	}
	c.movedAt = now
	p.idle.PushBack(c)
	p.wakeLocked()
	switch {
	case !p.maintained:
	case p.maintaining:
		// With c, the oldest idle connection may no longer be one of the
		// MinIdleConns spared, and its idle timeout may be past already.
		if d := earliest(p.deadline(c), p.idleTimeoutDueLocked()); d != 0 && d < p.maintWake {
			p.kickMaintainer()
		}
	default:
		p.maintainLocked()
	}
	return nil, delivery{}
}

// delivery is a connection checked out to a waiter, under p.mu, to be
// sent to it once p.mu is free: the send wakes the waiter's goroutine,
// which is best done outside the lock every Get and return takes. With
// many goroutines per processor, sending under the lock made the others
// queue on it, in a state that lasted seconds.
type delivery struct {
	w  *waiter
	pc *PoolConn
}

// send sends d's connection to its waiter, if there is one.
func (d delivery) send() {
	if d.w != nil {
		d.w.ch <- handoff{pc: d.pc}
	}
}

// releaseLocked removes c, which is neither idle nor in line for a waiter,
// from the pool's books, so that the caller can close it with closeConn
// or closeAll after unlocking. Until its socket is closed, c keeps its
// slot (counted in p.closing): MaxConns bounds the sockets open, and a
// Close can take a while (a TLS goodbye, a wrapper's own Close). Caller
// must hold p.mu.
func (p *ConnPool) releaseLocked(c *conn, reason CloseReason) {
	p.forgetLocked(c)
	p.stats.closed[reason]++
	p.open--
	p.closing++
}

// roomLocked reports whether MaxConns leaves room for another dial.
// Caller must hold p.mu.
func (p *ConnPool) roomLocked() bool { return p.open+p.closing < p.cfg.MaxConns }

// socketsClosed gives up the slots of n connections released by
// releaseLocked, whose sockets are closed now.
func (p *ConnPool) socketsClosed(n int) {
	p.mu.Lock()
	p.closing -= n
	p.slotFreedLocked()
	p.mu.Unlock()
}

// freeSlotLocked gives up a slot counted in p.open that holds no socket: a
// dial's that failed. Caller must hold p.mu.
func (p *ConnPool) freeSlotLocked() {
	p.open--
	p.slotFreedLocked()
}

// slotFreedLocked follows a slot's release: on an open pool a waiter may
// now dial, on a closed one the last slot completes a drain. Caller must
// hold p.mu.
func (p *ConnPool) slotFreedLocked() {
	if p.closed {
		p.checkDrainedLocked()
		return
	}
	p.dialForWaitersLocked(p.lastNow)
	if p.maintained {
		p.maintainLocked()
	}
}

// checkDrainedLocked closes p.drained once a closed pool has nothing open.
// Caller must hold p.mu.
func (p *ConnPool) checkDrainedLocked() {
	if p.closed && p.open == 0 && p.closing == 0 {
		select {
		case <-p.drained:
		default:
			close(p.drained)
		}
	}
}

// closeConn closes a connection released by releaseLocked, reports it to
// the OnClose hook and then gives up its slot. All three happen even if
// the socket's Close or the hook panics, whose panic then goes on.
func (p *ConnPool) closeConn(c *conn, reason CloseReason) error {
	// The slot is given up after the hook has run, so that a Drain that
	// returns has heard every hook out.
	defer p.socketsClosed(1)
	if p.cfg.OnClose != nil {
		defer p.cfg.OnClose(c.nc, reason)
	}
	if c.mayWait(reason) {
		p.byeBegins(c)
		defer p.byeEnds(c)
	}
	return c.closeSocket(reason)
}

// byeBegins enters c, about to be closed with a goodbye that may wait on
// its peer, in p.byes, so that a Drain that gives up cuts the goodbye
// short, by closing the socket under it, on which the goodbye ends at
// once; after such a Drain it cuts it short at once.
func (p *ConnPool) byeBegins(c *conn) {
	p.mu.Lock()
	if p.byes == nil {
		p.byes = make(map[*conn]struct{})
	}
	p.byes[c] = struct{}{}
	cut := p.cutByes
	p.mu.Unlock()
	if cut {
		sock.Inner(c.nc).Close()
	}
}

// byeEnds takes c, closed, out of p.byes.
func (p *ConnPool) byeEnds(c *conn) {
	p.mu.Lock()
	delete(p.byes, c)
	p.mu.Unlock()
}

// closeAll is closeConn for several connections, each with its reason: it
// closes every socket, layered ones concurrently (see closeEach), before
// it reports any to the hook, so that neither a socket's Close nor a hook
// that panics leaves any open. Every connection is reported, also when a
// socket's Close panicked; a hook that panics loses the reports after its
// own.
func (p *ConnPool) closeAll(rs []reaped) {
	if len(rs) == 0 {
		return
	}
	defer p.socketsClosed(len(rs)) // after the hooks, as in closeConn
	if p.cfg.OnClose != nil {
		defer func() {
			for _, r := range rs {
				p.cfg.OnClose(r.c.nc, r.reason)
			}
		}()
	}
	closeEach(rs, func(r reaped) bool { return !isSocket(r.c.nc) }, func(r reaped) {
		if r.c.mayWait(r.reason) {
			p.byeBegins(r.c)
			defer p.byeEnds(r.c)
		}
		r.c.closeSocket(r.reason)
	})
}

// closeSocket closes c's socket, closed for reason. One that failed, or
// whose peer is gone, it closes without a goodbye (see sock.Abort): a TLS
// close_notify alert would wait up to five seconds on a peer that reads
// nothing, in its holder's Close.
func (c *conn) closeSocket(reason CloseReason) error {
	if c.abortOn(reason) {
		return sock.Abort(c.nc)
	}
	return c.nc.Close()
}

// abortOn reports whether c, closed for reason, is closed without a
// goodbye: it failed, or its peer is gone.
func (c *conn) abortOn(reason CloseReason) bool {
	return c.failed || reason == CloseUnusable || reason == CloseStale || reason == CloseHealthCheck
}

// mayWait reports whether closing c for reason may wait on its peer: a
// layer over the socket (TLS, a wrapper) says its goodbye. A plain
// socket's close never waits.
func (c *conn) mayWait(reason CloseReason) bool {
	return !isSocket(c.nc) && !c.abortOn(reason)
}

// logger returns the pool's logger, with its name as it stands.
func (p *ConnPool) logger() logger { return logger{l: p.log, name: p.Name()} }

// remoteAddr returns c's remote address as a string, or "" if it has none.
func remoteAddr(c net.Conn) string {
	if a := c.RemoteAddr(); !isnil.Value(a) {
		return a.String()
	}
	return ""
}
