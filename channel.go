package connpool

import (
	"context"
	"fmt"
	"net"
)

// Factory opens a connection for [NewChannelPool].
type Factory func() (net.Conn, error)

// Pool is the interface of the pool [NewChannelPool] returns, kept from
// fatih/pool and buraksezer/connpool so that code written against them
// builds unchanged. [*ConnPool] implements it.
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
// Config{Dial: factory, MaxConns: maxCap, InitialConns: initialCap}; use New
// for the other settings.
//
// It returns an error wrapping [ErrInvalidConfig] if factory is nil or the
// capacities are out of range (0 <= initialCap <= maxCap, maxCap > 0), and an
// error wrapping the factory's if an initial connection fails.
func NewChannelPool(initialCap, maxCap int, factory Factory) (Pool, error) {
	if factory == nil {
		return nil, fmt.Errorf("%w: factory is nil", ErrInvalidConfig)
	}
	if initialCap < 0 || maxCap <= 0 || initialCap > maxCap {
		return nil, fmt.Errorf("%w: capacities initialCap=%d maxCap=%d, want 0 <= initialCap <= maxCap and maxCap > 0", ErrInvalidConfig, initialCap, maxCap)
	}
	p, err := New(Config{
		Dial:         func(context.Context) (net.Conn, error) { return factory() },
		MaxConns:     maxCap,
		InitialConns: initialCap,
	})
	if err != nil {
		return nil, err // not p: a nil *ConnPool in a Pool is not nil
	}
	return p, nil
}
