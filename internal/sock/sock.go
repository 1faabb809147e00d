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

	// ErrUnreadData is what Probe reports of a connection with bytes
	// waiting that nobody asked for: its protocol state is unknown.
	ErrUnreadData = errors.New("connpool: unread data on an idle connection")
)

// Probe tells, without a round trip and without blocking, whether conn is
// still usable: ErrPeerClosed, ErrUnreadData, or nil if it looks healthy or
// cannot be probed on this platform. It allocates; a caller that probes
// the same connection again and again keeps a [Socket] instead.
func Probe(conn net.Conn) error {
	var s Socket
	s.Init(conn)
	return s.Probe()
}

// unwrap looks through *tls.Conn and any wrapper with a NetConn method down
// to the innermost connection, and reports whether TLS was on the way.
func unwrap(conn net.Conn) (inner net.Conn, encrypted bool) {
	for {
		switch c := conn.(type) {
		case *tls.Conn:
			encrypted = true
			conn = c.NetConn()
			continue
		case interface{ NetConn() net.Conn }:
			if inner := c.NetConn(); inner != nil && inner != conn {
				conn = inner
				continue
			}
		}
		return conn, encrypted
	}
}
