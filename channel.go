package connpool

import (
	"context"
	"math"
	"net"
)

// Factory opens a connection for [NewChannelPool].
type Factory func() (net.Conn, error)

// Pool is the interface of the pool [NewChannelPool] returns, kept from
// buraksezer/connpool v0.6.0 so that code written against it builds
// unchanged. [*ConnPool] implements it. (fatih/pool's Pool, whose Get
// takes no context, is in the package connpool/fatih.)
type Pool interface {
	// Get returns a connection from the pool; closing it gives it back.
	Get(ctx context.Context) (net.Conn, error)

	// Close closes the pool and its connections.
	Close()

	// Len returns the number of idle connections.
	Len() int

	// NumberOfConns returns the number of open connections.
	NumberOfConns() int
}

// NewChannelPool returns a pool that keeps at most maxCap connections open,
// after opening initialCap of them with factory. It is [New] with
// Config{Dial: factory, MaxConns: maxCap, InitialConns: initialCap} and
// every other setting at its default (the idle probe included), but for
// DialTimeout: as in buraksezer/connpool v0.6.0, a dial takes as long as
// factory does (a Get still ends with its context, the dial going on for
// the next). Use New for the other settings. As in buraksezer/connpool,
// maxCap is a hard limit: at the limit, Get waits.
//
// It returns an error wrapping [ErrInvalidConfig] if factory is nil or the
// capacities are out of range (0 <= initialCap <= maxCap, maxCap > 0), and an
// error wrapping the factory's if an initial connection fails.
func NewChannelPool(initialCap, maxCap int, factory Factory) (Pool, error) {
	return newChannelPool(initialCap, maxCap, factory, newRealClock())
}

func newChannelPool(initialCap, maxCap int, factory Factory, clk clock) (Pool, error) {
	if factory == nil {
		return nil, invalid("factory is nil")
	}
	if initialCap < 0 || maxCap <= 0 || initialCap > maxCap {
		return nil, invalid("capacities initialCap=%d maxCap=%d, want 0 <= initialCap <= maxCap and maxCap > 0", initialCap, maxCap)
	}
	p, err := newPool(Config{
		Dial:         func(context.Context, string, string) (net.Conn, error) { return factory() },
		MaxConns:     maxCap,
		InitialConns: initialCap,
		// A Factory takes no context, so a timeout could not stop it, only
		// throw away what it brings late.
		DialTimeout: math.MaxInt64,
	}, clk)
	if err != nil {
		return nil, err // not p: a nil *ConnPool in a Pool is not nil
	}
	return p, nil
}
