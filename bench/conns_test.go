package bench

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"time"
)

// dialFunc opens a connection; each pool's adapter turns it into what that
// pool's constructor takes.
type dialFunc func(ctx context.Context) (net.Conn, error)

// dialer returns a dialFunc for a TCP address.
func dialer(addr string) dialFunc {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

// connCounter counts the connections a pool opens and closes, so that a
// benchmark can report the dials a pool made while timed and the most
// connections it held open at once, and check that closing the pool closed
// them all. It counts on the client side, the same way for every pool.
type connCounter struct {
	open    atomic.Int64 // dialled and not yet closed
	peak    atomic.Int64 // most open at once since the last resetPeak
	dialled atomic.Int64
}

// counting wraps dial so that cc counts what it opens. The connections it
// returns are countedConns: every pool under comparison gets the same
// wrapper, so it costs them all the same.
func (cc *connCounter) counting(dial dialFunc) dialFunc {
	return func(ctx context.Context) (net.Conn, error) {
		c, err := dial(ctx)
		if err != nil {
			return nil, err
		}
		cc.dialled.Add(1)
		n := cc.open.Add(1)
		for p := cc.peak.Load(); n > p && !cc.peak.CompareAndSwap(p, n); p = cc.peak.Load() {
		}
		return &countedConn{Conn: c, cc: cc}, nil
	}
}

// resetPeak starts measuring the peak afresh and the dials from zero.
func (cc *connCounter) resetPeak() {
	cc.peak.Store(cc.open.Load())
	cc.dialled.Store(0)
}

// countedConn is a connection counted by a connCounter.
type countedConn struct {
	net.Conn
	cc     *connCounter
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.cc.open.Add(-1)
	}
	return c.Conn.Close()
}

// NetConn returns the socket, so that connpool's idle probe, which looks for
// a NetConn method on a wrapper, reaches it.
func (c *countedConn) NetConn() net.Conn { return c.Conn }

// fakeConn is a net.Conn that does no I/O, for the heap row when this
// process may not open enough sockets; the report labels such a row.
type fakeConn struct{ closed atomic.Bool }

var errFakeIO = errors.New("bench: fake connection does no I/O")

func fakeDial(context.Context) (net.Conn, error) { return new(fakeConn), nil }

func (c *fakeConn) Read([]byte) (int, error)  { return 0, errFakeIO }
func (c *fakeConn) Write([]byte) (int, error) { return 0, errFakeIO }

func (c *fakeConn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return net.ErrClosed
	}
	return nil
}

func (c *fakeConn) LocalAddr() net.Addr              { return fakeAddr{} }
func (c *fakeConn) RemoteAddr() net.Addr             { return fakeAddr{} }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

type fakeAddr struct{}

func (fakeAddr) Network() string { return "fake" }
func (fakeAddr) String() string  { return "fake" }
