// Package pool is a drop-in for github.com/samber/go-tcp-pool v1: code
// written against it, whose package is named pool too, builds unchanged
// once its import path is changed to
// github.com/seed-a245f091/connpool/samber, with or without a name on
// the import. Its names are connpool's own: [TCPPool] and [TCPClient] are
// aliases of [connpool.TCPPool] and [connpool.TCPClient], and [Dial] and
// [DialTCP] call [connpool.Dial] and [connpool.DialTCP].
//
// What changes is what go-tcp-pool got wrong; the root package's
// documentation has the list. In short: Read works; Write never reports a
// negative count; Write after Close, or after SetPoolSize(0), returns an
// error instead of panicking (SetPoolSize(0) is itself an error that
// changes nothing); SetMaxRetries(0) makes one attempt, where go-tcp-pool
// failed every Write; and a Write after the server closed an idle
// connection goes to a new connection instead of being lost.
//
// Code that imports the root package under the name pool builds the same:
// this package only saves writing that name.
package pool

import (
	"net"

	"github.com/seed-a245f091/connpool"
)

// TCPPool is a net.Conn over several TCP connections that spreads Writes
// over them and redials them when they break. See [connpool.TCPPool].
type TCPPool = connpool.TCPPool

// TCPClient is one TCP connection that a Write redials when it finds it
// broken. See [connpool.TCPClient].
type TCPClient = connpool.TCPClient

// Dial returns a TCPPool of one connection to addr on network, which must
// be "tcp", "tcp4" or "tcp6". See [connpool.Dial].
func Dial(network, addr string) (*TCPPool, error) {
	return connpool.Dial(network, addr)
}

// DialTCP is Dial with the addresses resolved: it dials raddr from laddr,
// if laddr is not nil. See [connpool.DialTCP].
func DialTCP(network string, laddr, raddr *net.TCPAddr) (*TCPPool, error) {
	return connpool.DialTCP(network, laddr, raddr)
}
