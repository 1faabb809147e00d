// Package pool is a drop-in for github.com/fatih/pool v3: code written
// against it builds unchanged once its import path is changed to
// github.com/seed-a245f091/connpool/fatih, and runs on a
// [connpool.ConnPool].
//
// Its Get takes no context, as fatih/pool's does. What changes is what
// fatih/pool got wrong:
//
//   - maxCap is a hard limit. fatih/pool dials past it whenever no
//     connection is idle; here a Get at the limit waits until a connection
//     is given back, with no way to give up, since Get takes no context.
//     Code that held more than maxCap connections at once worked with
//     fatih/pool and now waits for ever: raise maxCap to what the code
//     really holds, or move to connpool's own Get, which takes a context.
//   - Closing a PoolConn twice no longer puts the socket in the pool twice
//     and lends it to two holders.
//   - A factory that returns (nil, nil) is an error, not a nil connection.
//   - A PoolConn whose Read or Write failed, a timeout included, is closed
//     by its Close, as after MarkUnusable, so a late reply cannot reach
//     the next holder.
//   - Idle connections the server closed are not handed out.
//   - Errors wrap connpool's sentinels ([connpool.ErrInvalidConfig],
//     [ErrClosed]) and the factory's error, so errors.Is works.
package pool

import (
	"context"
	"net"

	"github.com/seed-a245f091/connpool"
)

// ErrClosed is returned by Get on a closed pool. It is connpool.ErrClosed.
var ErrClosed = connpool.ErrClosed

// Factory opens a connection for the pool.
type Factory = connpool.Factory

// PoolConn is the connection Get returns: closing it gives it back, and
// MarkUnusable, or a Read or Write that failed, makes Close close it
// instead. It is connpool.PoolConn.
type PoolConn = connpool.PoolConn

// Pool is fatih/pool's interface: Get without a context, Close and Len.
type Pool interface {
	// Get returns a connection from the pool, waiting for one to be given
	// back if maxCap are open. Closing it gives it back.
	Get() (net.Conn, error)

	// Close closes the pool and its idle connections; connections checked
	// out are closed as they come back.
	Close()

	// Len returns the number of idle connections.
	Len() int
}

// NewChannelPool returns a pool that keeps at most maxCap connections open,
// after opening initialCap of them with factory. It returns an error
// wrapping connpool.ErrInvalidConfig if factory is nil or the capacities
// are out of range (0 <= initialCap <= maxCap, maxCap > 0), and an error
// wrapping the factory's if an initial connection fails.
func NewChannelPool(initialCap, maxCap int, factory Factory) (Pool, error) {
	p, err := connpool.NewChannelPool(initialCap, maxCap, factory)
	if err != nil {
		return nil, err
	}
	return channelPool{p}, nil
}

// channelPool is a connpool.Pool seen through fatih/pool's interface.
type channelPool struct{ p connpool.Pool }

func (c channelPool) Get() (net.Conn, error) { return c.p.Get(context.Background()) }
func (c channelPool) Close()                 { c.p.Close() }
func (c channelPool) Len() int               { return c.p.Len() }
