package connpool

import (
	"crypto/tls"
	"errors"
	"net"
)

var (
	// errPeerClosed: the peer closed or reset the connection.
	errPeerClosed = errors.New("connpool: peer closed the connection")
	// errUnreadData: the peer sent bytes nobody asked for, so the
	// connection's protocol state is unknown.
	errUnreadData = errors.New("connpool: unread data on an idle connection")
)

// probe tells, without a round trip and without blocking, whether conn is
// still usable: it returns errPeerClosed if the peer has closed or reset it,
// errUnreadData if bytes are waiting that nobody asked for, and nil if the
// connection looks healthy or cannot be probed on this platform.
//
// It looks through *tls.Conn and any wrapper with a NetConn method down to a
// socket. On TLS, bytes waiting are no alarm, because servers send records
// unasked (TLS 1.3 session tickets); there only a closed or reset
// connection counts, and where bytes are waiting, a close behind them is
// seen only where the platform reports TCP state (Linux).
func probe(conn net.Conn) error {
	encrypted := false
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
		break
	}
	return peek(conn, encrypted)
}
