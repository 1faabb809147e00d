package connpool

import (
	"errors"
	"net"
)

// errPeerClosed: the peer closed or reset the connection.
var errPeerClosed = errors.New("connpool: peer closed the connection")

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
//
// probe keeps nothing from one call to the next, so it is safe for
// concurrent use, and each call looks through the wrappers again and
// allocates. A caller that probes the same connection again and again from
// one goroutine at a time should keep a [prober] for it instead.
func probe(conn net.Conn) error {
	var p prober
	return p.probe(conn)
}

// probe is [probe] for the pooled socket c, with what the earlier probes
// of c found out kept in c.prober; it allocates only on the first call.
// Only the goroutine that has c checked out may call it (see conn.prober).
func (c *conn) probe() error { return c.prober.probe(c.nc) }
