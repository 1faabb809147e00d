package connpool

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"
)

// Checkout states of a PoolConn.
const (
	stateHeld     int32 = iota // checked out; the zero value
	stateReleased              // given back, or not yet handed out
)

// handlesPerConn is how many PoolConn handles each socket rotates through.
// A holder's handle is reissued only after the same socket has been checked
// out handlesPerConn-1 more times, so a second Close, or a late one from a
// deferred call, finds its handle released and does nothing. A handle per
// checkout would need an allocation per Get; a fixed rotation allocated with
// the socket keeps Get free of allocations.
const handlesPerConn = 8

// errReleased is returned by a PoolConn used after it was given back.
var errReleased = fmt.Errorf("connpool: connection already returned to the pool: %w", net.ErrClosed)

// PoolConn is a connection checked out of a [ConnPool]. It embeds the
// underlying net.Conn; its Close gives the connection back to the pool
// instead of closing it, unless [PoolConn.MarkUnusable] was called.
//
// A PoolConn belongs to the holder that got it until that holder calls
// Close. After that, Close again is harmless, and Read and Write fail; each
// returns an error wrapping [net.ErrClosed]. The pool reissues a PoolConn
// only after its socket has been checked out several more times (see the
// package documentation), so keep no reference to it after Close.
//
// Its methods are safe for concurrent use.
type PoolConn struct {
	net.Conn

	c        *conn        // the pooled socket; nil for a PoolConn built by hand
	state    atomic.Int32 // stateHeld or stateReleased
	unusable atomic.Bool
}

// conn is a socket owned by a pool, with the handles it is lent out by.
type conn struct {
	nc        net.Conn
	pool      *ConnPool
	expiresAt time.Duration // end of its lifetime on the pool clock, jitter included; 0 for none
	// prober keeps, from one probe of nc to the next, what makes a probe
	// free of allocations. It has no lock: only the goroutine that has c
	// checked out probes it, between taking it from the idle list and
	// handing it over, and pool.mu, taken to move c out of the idle list
	// and back in, orders each holder's probe after the last one's.
	prober prober
	// Guarded by pool.mu:
	returnedAt time.Duration // when it last joined the idle list
	next       int           // index of the handle for the next checkout
	handles    [handlesPerConn]PoolConn
}

// newConn wraps a socket dialled at now. Its handles start released, and its
// lifetime is fixed here, jitter included, once for good: a jitter drawn
// again at each return would average itself away.
func (p *ConnPool) newConn(nc net.Conn, now time.Duration) *conn {
	c := &conn{nc: nc, pool: p}
	if life := p.cfg.MaxLifetime; life > 0 {
		if j := p.cfg.MaxLifetimeJitter; j > 0 {
			life -= rand.N(j)
		}
		c.expiresAt = now + life
	}
	for i := range c.handles {
		h := &c.handles[i]
		h.Conn = nc
		h.c = c
		h.state.Store(stateReleased)
	}
	return c
}

// checkOut lends c to a new holder through its next handle. Caller must
// hold c.pool.mu.
func (c *conn) checkOut() *PoolConn {
	h := &c.handles[c.next]
	c.next++
	if c.next == handlesPerConn {
		c.next = 0
	}
	// A handle whose holder marked it unusable had its socket closed, so
	// it is not reissued; only a MarkUnusable racing with its holder's own
	// Close can leave the flag set. Loading first saves an atomic store,
	// which is a full barrier on amd64, on every Get.
	if h.unusable.Load() {
		h.unusable.Store(false)
	}
	h.state.Store(stateHeld)
	return h
}

// Close gives the connection back to its pool, or closes it if it was marked
// unusable or the pool is closed.
func (pc *PoolConn) Close() error {
	if !pc.state.CompareAndSwap(stateHeld, stateReleased) {
		return errReleased
	}
	if pc.c == nil { // built by hand, not by a pool
		return pc.Conn.Close()
	}
	return pc.c.pool.put(pc.c, pc.unusable.Load())
}

// MarkUnusable makes the next Close close the underlying connection and free
// its slot in the pool, instead of returning it. Use it when the connection
// has failed or its state is unknown. It does nothing after Close.
func (pc *PoolConn) MarkUnusable() {
	if pc.state.Load() == stateHeld {
		pc.unusable.Store(true)
	}
}

// Read reads from the underlying connection, or fails with an error
// wrapping [net.ErrClosed] after Close.
func (pc *PoolConn) Read(b []byte) (int, error) {
	if pc.state.Load() != stateHeld {
		return 0, errReleased
	}
	return pc.Conn.Read(b)
}

// Write writes to the underlying connection, or fails with an error
// wrapping [net.ErrClosed] after Close.
func (pc *PoolConn) Write(b []byte) (int, error) {
	if pc.state.Load() != stateHeld {
		return 0, errReleased
	}
	return pc.Conn.Write(b)
}

// NetConn returns the underlying connection, for code that needs its
// concrete type (a *net.TCPConn or *tls.Conn, say). The pool still owns it.
func (pc *PoolConn) NetConn() net.Conn { return pc.Conn }
