// Package bench compares connpool with other connection pools. It holds the
// benchmarks and NaivePool, the baseline they measure against; none of it is
// meant for production use.
package bench

import (
	"errors"
	"fmt"
	"net"
	"sync"
)

// ErrNaiveClosed is returned by [NaivePool.Get] on a closed pool.
var ErrNaiveClosed = errors.New("bench: naive pool is closed")

// NaivePool is the baseline: a pool built like fatih/pool's channelPool, a
// buffered channel of idle connections. It is a faithful copy of that
// design, flaws included, so the benchmarks show what connpool improves on:
//
//   - Get never waits. When the channel is empty it dials, however many
//     connections are already out, so maxCap bounds only the idle ones
//     (fatih/pool issue 26). A Close that finds the channel full closes
//     the connection, so under load the pool churns connections.
//   - Every Get allocates a new wrapper, as fatih/pool's wrapConn does.
//
// A NaivePool is safe for concurrent use by multiple goroutines.
type NaivePool struct {
	mu      sync.RWMutex
	conns   chan net.Conn // guarded by mu; nil once closed
	factory func() (net.Conn, error)
}

// NewNaivePool returns a pool whose channel holds up to maxCap idle
// connections, after filling it with initialCap connections from factory.
// It returns an error if the capacities are out of range or a dial fails.
func NewNaivePool(initialCap, maxCap int, factory func() (net.Conn, error)) (*NaivePool, error) {
	if initialCap < 0 || maxCap <= 0 || initialCap > maxCap || factory == nil {
		return nil, errors.New("bench: invalid naive pool settings")
	}
	p := &NaivePool{conns: make(chan net.Conn, maxCap), factory: factory}
	for i := 0; i < initialCap; i++ {
		conn, err := factory()
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("bench: filling naive pool: %w", err)
		}
		p.conns <- conn
	}
	return p, nil
}

// Get returns an idle connection, or a new one from the factory if none is
// idle. Closing the returned connection (a [*NaiveConn]) gives it back.
// It returns [ErrNaiveClosed] on a closed pool.
func (p *NaivePool) Get() (net.Conn, error) {
	p.mu.RLock()
	conns, factory := p.conns, p.factory
	p.mu.RUnlock()
	if conns == nil {
		return nil, ErrNaiveClosed
	}
	select {
	case conn := <-conns:
		if conn == nil { // closed while we received
			return nil, ErrNaiveClosed
		}
		return p.wrap(conn), nil
	default:
		conn, err := factory()
		if err != nil {
			return nil, err
		}
		return p.wrap(conn), nil
	}
}

// Close closes the pool and its idle connections. Connections checked out
// are closed when they are given back. Close may be called more than once.
func (p *NaivePool) Close() {
	p.mu.Lock()
	conns := p.conns
	p.conns, p.factory = nil, nil
	p.mu.Unlock()
	if conns == nil {
		return
	}
	close(conns)
	for conn := range conns {
		conn.Close()
	}
}

// Len returns the number of idle connections.
func (p *NaivePool) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.conns)
}

// put gives conn back to the channel, or closes it if the pool is closed or
// the channel is full. Holding mu (shared) keeps Close from closing the
// channel under the send.
func (p *NaivePool) put(conn net.Conn) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.conns == nil {
		return conn.Close()
	}
	select {
	case p.conns <- conn:
		return nil
	default:
		return conn.Close()
	}
}

// wrap allocates a fresh wrapper for each Get, as fatih/pool does.
func (p *NaivePool) wrap(conn net.Conn) *NaiveConn {
	return &NaiveConn{Conn: conn, pool: p}
}

// NaiveConn is a connection checked out of a [NaivePool]; its Close gives
// the connection back instead of closing it, unless MarkUnusable was called.
// Like fatih/pool's PoolConn, it does not guard against a second Close,
// which gives the same connection back twice.
type NaiveConn struct {
	net.Conn
	pool *NaivePool

	mu       sync.RWMutex
	unusable bool // guarded by mu
}

// Close gives the connection back to the pool, or closes it if it was
// marked unusable.
func (c *NaiveConn) Close() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.unusable {
		return c.Conn.Close()
	}
	return c.pool.put(c.Conn)
}

// MarkUnusable makes the next Close close the connection instead of giving
// it back.
func (c *NaiveConn) MarkUnusable() {
	c.mu.Lock()
	c.unusable = true
	c.mu.Unlock()
}
