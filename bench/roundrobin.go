package bench

import (
	"errors"
	"net"
	"sync"
	"time"
)

// ErrNaiveRetries is returned by [NaiveRoundRobin.Write] when every attempt
// failed.
var ErrNaiveRetries = errors.New("bench: naive round-robin gave up after its retries")

// NaiveRoundRobin is the baseline for connpool's TCPPool: a write-only
// net.Conn-like pool built the way samber/go-tcp-pool v1 builds one, flaws
// included, so the benchmarks show what TCPPool improves on:
//
//   - A mutex guards the round-robin index and the slice of connections, and
//     every Write takes it, so all writers contend on one lock.
//   - Each connection has a read-write mutex: Writes hold it shared, a
//     reconnection holds it exclusively.
//   - A connection's failure is noticed only when a Write on it returns an
//     error. That Write then redials the same connection, sleeping between
//     attempts, and writes again on it; it never moves to another one. A
//     peer that closed the connection goes unnoticed until the kernel
//     reports the reset, so what was written in between is lost.
//
// A NaiveRoundRobin is safe for concurrent use by multiple goroutines.
type NaiveRoundRobin struct {
	mu    sync.Mutex
	next  int              // guarded by mu
	conns []*naiveRRClient // guarded by mu; nil once closed
}

// naiveRRClient is one connection of a NaiveRoundRobin.
type naiveRRClient struct {
	dial          func() (net.Conn, error)
	maxRetries    int
	retryInterval time.Duration

	mu     sync.RWMutex
	conn   net.Conn // guarded by mu; nil while disconnected
	closed bool     // guarded by mu
}

// NewNaiveRoundRobin returns a pool of size connections from dial. Like
// go-tcp-pool, it ignores a failed first dial: the first Write on that
// connection dials again. Each Write makes up to maxRetries attempts,
// sleeping retryInterval before each redial after the first.
func NewNaiveRoundRobin(size, maxRetries int, retryInterval time.Duration, dial func() (net.Conn, error)) *NaiveRoundRobin {
	p := &NaiveRoundRobin{conns: make([]*naiveRRClient, size)}
	for i := range p.conns {
		c := &naiveRRClient{dial: dial, maxRetries: maxRetries, retryInterval: retryInterval}
		c.conn, _ = dial()
		p.conns[i] = c
	}
	return p
}

// Write writes b on the next connection in turn. It returns
// [ErrNaiveRetries] if every attempt failed, and net.ErrClosed once the pool
// is closed.
func (p *NaiveRoundRobin) Write(b []byte) (int, error) {
	p.mu.Lock()
	if p.conns == nil {
		p.mu.Unlock()
		return 0, net.ErrClosed
	}
	c := p.conns[p.next%len(p.conns)]
	p.next++
	p.mu.Unlock()
	return c.write(b)
}

// Close closes every connection. Writes in progress fail.
func (p *NaiveRoundRobin) Close() error {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	return nil
}

func (c *naiveRRClient) write(b []byte) (int, error) {
	c.mu.RLock()
	conn := c.conn
	c.mu.RUnlock()
	for i := 0; i < c.maxRetries; i++ {
		if conn == nil {
			if i > 0 {
				time.Sleep(c.retryInterval)
			}
			var err error
			if conn, err = c.reconnect(); err != nil {
				if errors.Is(err, net.ErrClosed) {
					return 0, err
				}
				continue
			}
		}
		c.mu.RLock()
		n, err := conn.Write(b)
		c.mu.RUnlock()
		if err == nil {
			return n, nil
		}
		conn = nil
	}
	return 0, ErrNaiveRetries
}

// reconnect replaces the connection with a new one, closing the old.
func (c *naiveRRClient) reconnect() (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, net.ErrClosed
	}
	conn, err := c.dial()
	if err != nil {
		return nil, err
	}
	if c.conn != nil {
		c.conn.Close()
	}
	c.conn = conn
	return conn, nil
}

func (c *naiveRRClient) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}
