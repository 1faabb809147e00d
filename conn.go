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
	stateReleased              // given back, for good
)

// handleBlock is how many PoolConn handles a socket gets at a time. Every
// checkout lends the socket through a handle never used before, so that a
// second Close, or a late one from a deferred call, finds its own handle
// released and does nothing, however many times the socket has been lent
// out since. Handles come in blocks so that Get allocates once per
// handleBlock checkouts of a socket, not on each; a block is garbage once
// no holder keeps any of its handles. (pgxpool hands out its *Conn the same
// way.)
const handleBlock = 64

// errReleased is returned by a PoolConn used after it was given back.
var errReleased = fmt.Errorf("connpool: connection already returned to the pool: %w", net.ErrClosed)

// PoolConn is a connection checked out of a [ConnPool]. It embeds the
// underlying net.Conn; its Close gives the connection back to the pool
// instead of closing it, unless [PoolConn.MarkUnusable] was called.
//
// A PoolConn belongs to the holder that got it until that holder calls
// Close. After that, Close again does nothing, and Read and Write fail; each
// returns an error wrapping [net.ErrClosed]. A PoolConn is never handed out
// twice: the next holder of the same socket gets another, so a late Close
// cannot take the socket from under it.
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
	handles    []PoolConn    // unused handles, for the next checkouts
}

// newConn wraps a socket dialled at now. Its lifetime is fixed here, jitter
// included, once for good: a jitter drawn again at each return would
// average itself away.
func (p *ConnPool) newConn(nc net.Conn, now time.Duration) *conn {
	c := &conn{nc: nc, pool: p}
	if life := p.cfg.MaxLifetime; life > 0 {
		if j := p.cfg.MaxLifetimeJitter; j > 0 {
			life -= rand.N(j)
		}
		c.expiresAt = now + life
	}
	return c
}

// outlived reports whether c is past the end of its lifetime at now.
func (c *conn) outlived(now time.Duration) bool {
	return c.expiresAt != 0 && now >= c.expiresAt
}

// checkOut lends c to a new holder through a handle of its own, held from
// the start (its zero state). Caller must hold c.pool.mu.
func (c *conn) checkOut() *PoolConn {
	if len(c.handles) == 0 {
		c.handles = make([]PoolConn, handleBlock)
	}
	h := &c.handles[0]
	c.handles = c.handles[1:]
	h.Conn = c.nc
	h.c = c
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
