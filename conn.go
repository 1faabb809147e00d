package connpool

import (
	"fmt"
	"net"
	"sync/atomic"
)

// Checkout states of a PoolConn.
const (
	stateHeld     int32 = iota // checked out; the zero value
	stateReleased              // back in the pool, or closed
)

// errReleased is returned by a PoolConn used after it was given back.
var errReleased = fmt.Errorf("connpool: connection already returned to the pool: %w", net.ErrClosed)

// PoolConn is a connection checked out of a [ConnPool]. It embeds the
// underlying net.Conn; its Close gives the connection back to the pool
// instead of closing it, unless [PoolConn.MarkUnusable] was called.
//
// A PoolConn belongs to the holder that got it until that holder calls
// Close. A second Close is harmless and returns an error wrapping
// [net.ErrClosed], as do Read and Write after Close. The pool reuses the
// same PoolConn for the next holder of the same connection, so a holder
// must not keep using it after Close.
//
// Its methods are safe for concurrent use.
type PoolConn struct {
	net.Conn

	pool     *ConnPool
	state    atomic.Int32 // stateHeld or stateReleased
	unusable atomic.Bool
}

// Close gives the connection back to its pool, or closes it if it was marked
// unusable or the pool is closed.
func (pc *PoolConn) Close() error {
	if !pc.state.CompareAndSwap(stateHeld, stateReleased) {
		return errReleased
	}
	if pc.pool == nil { // built by hand, not by a pool
		return pc.Conn.Close()
	}
	return pc.pool.put(pc)
}

// MarkUnusable makes the next Close close the underlying connection and free
// its slot in the pool, instead of returning it. Use it when the connection
// has failed or its state is unknown.
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

// checkOut marks pc held by a new holder. Caller must hold pc.pool.mu.
func (pc *PoolConn) checkOut() { pc.state.Store(stateHeld) }
