// Package sock looks at the socket under a pooled connection without
// reading from it: a non-blocking peek that tells whether the peer has
// closed or reset the connection or sent bytes nobody asked for, and, on
// Linux, a watcher that hears of a peer's close as the kernel does.
package sock

import (
	"crypto/tls"
	"errors"
	"net"
)

var (
	// ErrPeerClosed is what Probe reports of a connection whose peer has
	// closed or reset it, or which is closed on this side.
	ErrPeerClosed = errors.New("connpool: peer closed the connection")

	// ErrClosedAfterData is what Probe reports, where the platform tells
	// (Linux), of a connection whose peer closed it behind bytes still
	// waiting to be read: a reply the peer sent before it went, say.
	ErrClosedAfterData = errors.New("connpool: peer closed the connection after sending bytes not read yet")

	// ErrUnreadData is what Probe reports of a connection with bytes
	// waiting that nobody asked for: its protocol state is unknown.
	ErrUnreadData = errors.New("connpool: unread data on an idle connection")
)

// PeerGone reports whether err, a result of Probe, says the peer has
// closed the connection, behind unread bytes or not.
func PeerGone(err error) bool { return err == ErrPeerClosed || err == ErrClosedAfterData }

// Probe tells, without a round trip and without blocking, whether conn is
// still usable: ErrPeerClosed, ErrClosedAfterData, ErrUnreadData, or nil
// if it looks healthy or cannot be probed on this platform. It allocates;
// a caller that probes the same connection again and again keeps a
// [Socket] instead.
func Probe(conn net.Conn) error {
	var s Socket
	s.Init(conn)
	return s.Probe()
}

// Abort closes conn, which is broken, without a goodbye: first the
// innermost connection under TLS and NetConn wrappers, then conn itself,
// so that the wrappers let go of what they hold but a *tls.Conn sends no
// close_notify alert, which on a connection whose peer reads nothing
// waits up to five seconds for room in the send buffer. It returns the
// innermost connection's error.
func Abort(conn net.Conn) error {
	inner, _, wrapped := unwrap(conn)
	err := inner.Close()
	if wrapped {
		conn.Close() // fails at once on the closed socket
	}
	return err
}

// Inner returns the innermost connection under conn's TLS and NetConn
// wrappers: conn itself if it has none.
func Inner(conn net.Conn) net.Conn {
	inner, _, _ := unwrap(conn)
	return inner
}

// CloseWrite shuts down the sending side of the socket under conn, below
// any TLS or NetConn wrapper, and leaves its receiving side open: a Write
// on conn fails from then on, while what the peer sent can still be read.
// It does nothing where there is no such socket.
func CloseWrite(conn net.Conn) error {
	inner, _, _ := unwrap(conn)
	if cw, ok := inner.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// maxUnwrap bounds how many layers unwrap looks through: a wrapper's
// NetConn may return the wrapper itself, and wrappers need not be
// comparable, so unwrap cannot tell.
const maxUnwrap = 16

// unwrap looks through *tls.Conn and any wrapper with a NetConn method down
// to the innermost connection, and reports whether TLS was on the way and
// whether there was any layer at all.
func unwrap(conn net.Conn) (inner net.Conn, encrypted, wrapped bool) {
	for range maxUnwrap {
		switch c := conn.(type) {
		case *tls.Conn:
			encrypted = true
			conn = c.NetConn()
		case interface{ NetConn() net.Conn }:
			// A wrapper that embeds a *tls.Conn has its NetConn, which
			// leads past the TLS layer to the socket: it is TLS all the
			// same.
			if _, ok := c.(interface{ ConnectionState() tls.ConnectionState }); ok {
				encrypted = true
			}
			next := c.NetConn()
			if next == nil {
				return conn, encrypted, wrapped
			}
			conn = next
		default:
			return conn, encrypted, wrapped
		}
		wrapped = true
	}
	return conn, encrypted, wrapped
}
