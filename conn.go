package connpool

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-a245f091/connpool/internal/sock"
)

// errReleased is returned by a PoolConn used after it was given back.
var errReleased = fmt.Errorf("connpool: connection already returned to the pool: %w", net.ErrClosed)

// conn is a socket owned by a ConnPool. It is kept small: a pool holds one
// per open connection (see the heap benchmark).
type conn struct {
	nc   net.Conn
	pool *ConnPool
	// sock is the socket under nc, for the probe and the watcher. A probe
	// needs no lock: only the goroutine that has c checked out probes it,
	// between taking it from the idle list and handing it over.
	sock      sock.Socket
	expiresAt time.Duration // end of its lifetime on the pool clock, jitter included; 0 for none

	// Guarded by pool.mu:
	// movedAt is when c last joined the idle list while it is idle, and
	// when it was last checked out while it is out.
	movedAt time.Duration
	slot    int32  // its index in pool.conns
	seq     uint32 // tells it from other connections that had its slot
	gen     uint32 // pool.gen when its dial started: a Reset since retires it
	lent    bool   // it has been checked out at least once
	dead    bool   // the kernel said the peer closed it while it was out
	failed  bool   // its holder's Read or Write failed; set once released
}

// newConnLocked wraps a connection dialled at now, whose socket is sk, in
// a dial started at generation gen, and enters it in p.conns. Its lifetime
// is fixed here, jitter included, once for good: a jitter drawn again at
// each return would average itself away. Caller must hold p.mu.
func (p *ConnPool) newConnLocked(nc net.Conn, sk sock.Socket, now time.Duration, gen uint32) *conn {
	p.seq++
	c := &conn{nc: nc, pool: p, seq: p.seq, gen: gen, sock: sk}
	if life := p.cfg.MaxLifetime; life > 0 {
		if j := p.cfg.MaxLifetimeJitter; j > 0 {
			life -= rand.N(j)
		}
		c.expiresAt = now + life
	}
	if n := len(p.freeSlots); n > 0 {
		c.slot = p.freeSlots[n-1]
		p.freeSlots = p.freeSlots[:n-1]
		p.conns[c.slot] = c
	} else {
		c.slot = int32(len(p.conns))
		p.conns = append(p.conns, c)
	}
	return c
}

// forgetLocked takes c out of p.conns. Caller must hold p.mu.
func (p *ConnPool) forgetLocked(c *conn) {
	p.conns[c.slot] = nil
	p.freeSlots = append(p.freeSlots, c.slot)
}

// token returns c's name in the watcher: its slot, and the sequence number
// that tells it from the slot's earlier and later holders.
func (c *conn) token() uint64 { return uint64(uint32(c.slot)) | uint64(c.seq)<<32 }

// connOfLocked returns the connection the watcher names token, or nil if
// it is gone. Caller must hold p.mu.
func (p *ConnPool) connOfLocked(token uint64) *conn {
	slot := int(uint32(token))
	if slot >= len(p.conns) {
		return nil
	}
	if c := p.conns[slot]; c != nil && c.seq == uint32(token>>32) {
		return c
	}
	return nil
}

// outlived reports whether c is past the end of its lifetime at now.
func (c *conn) outlived(now time.Duration) bool {
	return c.expiresAt != 0 && now >= c.expiresAt
}

// handleBlock is how many PoolConn handles a pool allocates at a time.
// Every checkout lends a socket through a handle never used before (see
// PoolConn), and handles come from pool-wide blocks so that Get allocates
// once per handleBlock checkouts, whichever sockets they lend: 32 bytes a
// checkout, garbage once no holder keeps any handle of the block. (pgxpool
// hands out its *Conn the same way.) An allocation costs about as much per
// byte whatever its size, so the block's size only sets how the cost is
// spread: 8 handles (256 bytes) keep the Get that allocates within about
// 100ns of the others, where 64 made one Get in 64 take half a microsecond
// longer, and a handle kept long pins little memory with it.
const handleBlock = 8

// checkOutLocked lends c to a new holder at now, through a handle of its
// own, held from the start (its zero state). Caller must hold p.mu.
func (p *ConnPool) checkOutLocked(c *conn, now time.Duration) *PoolConn {
	if len(p.handles) == 0 {
		p.handles = make([]PoolConn, handleBlock)
	}
	h := &p.handles[0]
	p.handles = p.handles[1:]
	h.Conn = c.nc
	h.c = c
	c.movedAt = now
	if !c.lent {
		c.lent = true
		if p.topUp.failing() { // the server keeps what it accepts
			p.topUp.reset()
			p.topUpAt = 0
			p.maintainLocked() // the top-up need wait no more
		}
	}
	return h
}

// PoolConn is a connection checked out of a [ConnPool]. Its Close gives the
// connection back to the pool instead of closing it, unless
// [PoolConn.MarkUnusable] was called. It embeds the underlying net.Conn,
// as in fatih/pool and buraksezer/connpool, but its own methods are the
// ones to call: they guard the socket once the PoolConn is given back.
//
// A PoolConn belongs to the holder that got it until that holder calls
// Close, and is never handed out again: the next holder of the same socket
// gets another PoolConn. So nothing done with a PoolConn after its Close
// reaches the socket's next holder. Close again returns an error and does
// nothing; Read, Write and the three deadline setters return an error;
// each error wraps [net.ErrClosed]. LocalAddr and RemoteAddr keep
// answering, as they only read. MarkUnusable does nothing. NetConn and
// the embedded Conn field are, from Close on, a stand-in whose methods
// fail the same way, so a copy of the field taken before Close is the
// only way back to the socket; don't keep one.
//
// A Read or Write through the PoolConn that fails, a timeout included,
// makes the connection unusable, so that its Close closes the socket: the
// reply to a request that timed out may still arrive, and the next holder
// would read it as the reply to its own. (I/O done on the embedded Conn
// field directly is not seen.)
//
// A deadline set through a PoolConn lasts as long as the checkout: the
// pool clears it when the connection comes back. One set on the embedded
// Conn field or on what NetConn returns is not seen, and is not cleared:
// clear it before Close, or the next holder inherits it.
//
// A Close while a Read, Write or deadline call on the same PoolConn is
// still in progress (from another goroutine) closes the socket instead of
// pooling it, since its state is then unknown; to cut blocked I/O short on
// purpose, call MarkUnusable and then Close.
//
// Its methods are safe for concurrent use, but reading or writing the
// Conn field concurrently with Close is a data race, as for any field.
type PoolConn struct {
	net.Conn

	c *conn // the pooled socket; nil for a PoolConn built by hand
	// state holds the checkout's flags in its high bits and, in its low 32
	// bits, the number of method calls in progress on the socket. One
	// atomic word for both makes the race between a call and Close
	// decidable: a call counts itself in and then checks for released;
	// Close sets released and then checks the count. Each reads what the
	// other wrote first, so either the call backs out or Close sees it.
	state atomic.Uint64
}

const (
	callsMask    = 1<<32 - 1
	flagReleased = 1 << 32 // given back, for good
	flagUnusable = 1 << 33 // MarkUnusable was called
	flagDeadline = 1 << 34 // a deadline was set, to clear on return
	flagFailed   = 1 << 35 // a Read or Write failed
)

// enter counts a call in, or returns false if pc was given back.
func (pc *PoolConn) enter() bool {
	if pc.state.Add(1)&flagReleased != 0 {
		pc.state.Add(^uint64(0))
		return false
	}
	return true
}

// exit counts a call out.
func (pc *PoolConn) exit() { pc.state.Add(^uint64(0)) }

// Close gives the connection back to its pool, or closes it if it was
// marked unusable, is past its lifetime, or the pool is closed. It returns
// the error of closing the socket, if the pool closed it. A second Close
// returns an error wrapping [net.ErrClosed] and does nothing.
func (pc *PoolConn) Close() error {
	for {
		s := pc.state.Load()
		if s&flagReleased != 0 {
			return errReleased
		}
		if !pc.state.CompareAndSwap(s, s|flagReleased) {
			continue
		}
		if pc.c == nil { // built by hand, not by a pool
			return pc.Conn.Close()
		}
		pc.Conn = (*staleConn)(pc)
		return pc.c.pool.put(pc.c, s)
	}
}

// MarkUnusable makes the next Close close the underlying connection and free
// its slot in the pool, instead of returning it. Use it when the connection
// has failed or its state is unknown, for a reason the pool cannot see (a
// failed Read or Write marks it on its own). It does nothing after Close.
func (pc *PoolConn) MarkUnusable() {
	if pc.state.Load()&flagReleased == 0 {
		pc.state.Or(flagUnusable)
	}
}

// socket returns the connection to call, for a PoolConn held: the pool's
// socket, or the embedded Conn of one built by hand.
func (pc *PoolConn) socket() net.Conn {
	if pc.c == nil {
		return pc.Conn
	}
	return pc.c.nc
}

// Read reads from the connection, or fails with an error wrapping
// [net.ErrClosed] after Close. A Read that returns an error, io.EOF and a
// deadline's included, makes the connection unusable, as
// [PoolConn.MarkUnusable] does.
func (pc *PoolConn) Read(b []byte) (int, error) {
	if !pc.enter() {
		return 0, errReleased
	}
	n, err := pc.socket().Read(b)
	pc.failed(err)
	pc.exit()
	return n, err
}

// Write writes to the connection, or fails with an error wrapping
// [net.ErrClosed] after Close. A Write that returns an error, a
// deadline's included, makes the connection unusable, as
// [PoolConn.MarkUnusable] does.
func (pc *PoolConn) Write(b []byte) (int, error) {
	if !pc.enter() {
		return 0, errReleased
	}
	n, err := pc.socket().Write(b)
	pc.failed(err)
	pc.exit()
	return n, err
}

// failed marks pc unusable if err, from a Read or Write, is not nil: after
// a failed or timed-out call the stream's state is unknown (part of a
// request may have gone out, or a late reply may yet arrive and be read
// by the next holder as its own), and io.EOF means the peer has closed.
// Caller must have counted itself in with enter.
func (pc *PoolConn) failed(err error) {
	if err != nil {
		pc.state.Or(flagFailed)
	}
}

// SetDeadline sets the connection's read and write deadlines until it is
// given back, or fails with an error wrapping [net.ErrClosed] after Close.
func (pc *PoolConn) SetDeadline(t time.Time) error {
	return pc.setDeadline(t, net.Conn.SetDeadline)
}

// SetReadDeadline sets the connection's read deadline until it is given
// back, or fails with an error wrapping [net.ErrClosed] after Close.
func (pc *PoolConn) SetReadDeadline(t time.Time) error {
	return pc.setDeadline(t, net.Conn.SetReadDeadline)
}

// SetWriteDeadline sets the connection's write deadline until it is given
// back, or fails with an error wrapping [net.ErrClosed] after Close.
func (pc *PoolConn) SetWriteDeadline(t time.Time) error {
	return pc.setDeadline(t, net.Conn.SetWriteDeadline)
}

func (pc *PoolConn) setDeadline(t time.Time, set func(net.Conn, time.Time) error) error {
	if !pc.enter() {
		return errReleased
	}
	pc.state.Or(flagDeadline)
	err := set(pc.socket(), t)
	pc.exit()
	return err
}

// LocalAddr returns the connection's local address, also after Close.
func (pc *PoolConn) LocalAddr() net.Addr { return pc.addrs().LocalAddr() }

// RemoteAddr returns the connection's remote address, also after Close.
func (pc *PoolConn) RemoteAddr() net.Addr { return pc.addrs().RemoteAddr() }

// addrs returns the connection whose addresses pc reports.
func (pc *PoolConn) addrs() net.Conn {
	if pc.c == nil {
		return pc.Conn
	}
	return pc.c.nc
}

// NetConn returns the underlying connection, for code that needs its
// concrete type (a *net.TCPConn or *tls.Conn, say); the pool still owns
// it. After Close it returns a stand-in whose methods fail with an error
// wrapping [net.ErrClosed].
func (pc *PoolConn) NetConn() net.Conn {
	if pc.state.Load()&flagReleased != 0 {
		return (*staleConn)(pc)
	}
	return pc.socket()
}

// staleConn is what a PoolConn given back shows in its Conn field and
// from NetConn: the same memory seen through a type whose methods touch no
// socket, so that the stand-in costs no allocation.
type staleConn PoolConn

func (*staleConn) Read([]byte) (int, error)         { return 0, errReleased }
func (*staleConn) Write([]byte) (int, error)        { return 0, errReleased }
func (*staleConn) Close() error                     { return errReleased }
func (*staleConn) SetDeadline(time.Time) error      { return errReleased }
func (*staleConn) SetReadDeadline(time.Time) error  { return errReleased }
func (*staleConn) SetWriteDeadline(time.Time) error { return errReleased }
func (s *staleConn) LocalAddr() net.Addr            { return (*PoolConn)(s).LocalAddr() }
func (s *staleConn) RemoteAddr() net.Addr           { return (*PoolConn)(s).RemoteAddr() }

// closeEach calls close on every item and waits for them all: inline for
// an item layered reports false for, and each other one in a goroutine of
// its own. A layer's goodbye (TLS's close_notify) may wait on its peer for
// seconds, and one after another such waits would add up; a plain socket's
// close never waits. A close that panics (a wrapper's own) stops none of
// the others: once all have returned, the first panic goes on in the
// caller, as it would have inline, not in a goroutine that would take the
// program.
func closeEach[T any](items []T, layered func(T) bool, close func(T)) {
	var wg sync.WaitGroup
	var panicked atomic.Pointer[any]
	run := func(item T) {
		defer func() {
			if r := recover(); r != nil {
				panicked.CompareAndSwap(nil, &r)
			}
		}()
		close(item)
	}
	for _, item := range items {
		if layered(item) {
			wg.Go(func() { run(item) })
		} else {
			run(item)
		}
	}
	wg.Wait()
	if r := panicked.Load(); r != nil {
		panic(*r)
	}
}
