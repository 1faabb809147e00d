//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package connpool

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// errUnreadData: the peer sent bytes nobody asked for, so the connection's
// protocol state is unknown.
var errUnreadData = errors.New("connpool: unread data on an idle connection")

// prober probes one connection, again and again, without allocating: the
// first probe looks through the wrappers down to the socket and keeps its
// syscall.RawConn, and the function it hands to RawConn.Control is bound
// once. Both would otherwise cost an allocation per probe, since whatever
// goes through an interface method escapes to the heap. The zero value is
// ready to use.
//
// A prober is not safe for concurrent use: the callback hands its result
// back through the prober. It needs no lock in a pool because a pooled
// connection is probed only by the goroutine that has it checked out (see
// conn.prober).
type prober struct {
	ready     bool             // the wrappers have been looked through
	encrypted bool             // a *tls.Conn was on the way down
	rc        syscall.RawConn  // the socket; nil if there is none
	control   func(fd uintptr) // p.peek, bound by the first probe
	result    error            // the verdict of the latest peek
}

// probe is [probe], with what earlier probes of the same connection found
// out. conn must be the connection the prober was first used on.
func (p *prober) probe(conn net.Conn) error {
	if !p.ready {
		inner, encrypted := unwrap(conn)
		if sc, ok := inner.(syscall.Conn); ok {
			rc, err := sc.SyscallConn()
			if err != nil {
				return errPeerClosed // the socket is already closed
			}
			p.rc = rc
			p.control = p.peek // bound once: a method value escapes into Control
		}
		p.encrypted = encrypted
		p.ready = true
	}
	if p.rc == nil {
		return nil // no socket to look at: a net.Pipe, say
	}
	if err := p.rc.Control(p.control); err != nil {
		return errPeerClosed // closed under the probe, by Drain say
	}
	return p.result
}

// peek looks at the socket fd with a non-blocking MSG_PEEK and leaves the
// verdict in p.result. It runs under RawConn.Control, not RawConn.Read, so
// a read deadline left on the connection by its last holder cannot turn
// into a false alarm. Bytes waiting are errUnreadData unless encrypted, in
// which case only a close behind them counts.
func (p *prober) peek(fd uintptr) {
	var b [1]byte
	for {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			p.result = nil
		case err != nil, n == 0:
			p.result = errPeerClosed
		case !p.encrypted:
			p.result = errUnreadData
		case finReceived(fd):
			p.result = errPeerClosed
		default:
			p.result = nil // TLS records sent unasked: no alarm
		}
		return
	}
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

// probeSupported says whether peek can see a closed or reset socket here.
const probeSupported = true
