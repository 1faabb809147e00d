package connpool_test

import (
	"context"
	"net"
	"time"

	"github.com/seed-a245f091/connpool"
)

// buraksezerPool is buraksezer/connpool v0.6.0's Pool. connpool.Pool has
// its methods, and no other: code that implements it implements ours.
type buraksezerPool interface {
	Get(context.Context) (net.Conn, error)
	Close()
	Len() int
	NumberOfConns() int
}

// Every identifier of the two libraries connpool replaces, with its exact
// signature there: buraksezer/connpool v0.6.0 and samber/go-tcp-pool v1.
// Code written against them builds with only its import path changed; a
// rename, a changed signature or an interface's added method here fails
// to compile. (fatih/pool v3's API is checked in the fatih package.)
var (
	// buraksezer/connpool v0.6.0
	_ func(initialCap, maxCap int, factory connpool.Factory) (connpool.Pool, error) = connpool.NewChannelPool
	_ connpool.Factory                                                              = func() (net.Conn, error) { return nil, nil }
	_ error                                                                         = connpool.ErrClosed
	_ buraksezerPool                                                                = connpool.Pool(nil)
	_ connpool.Pool                                                                 = buraksezerPool(nil) // and not a method more
	_ net.Conn                                                                      = (*connpool.PoolConn)(nil)
	_ func(*connpool.PoolConn) error                                                = (*connpool.PoolConn).Close
	_ func(*connpool.PoolConn)                                                      = (*connpool.PoolConn).MarkUnusable
	_ func(*connpool.PoolConn) net.Conn                                             = func(p *connpool.PoolConn) net.Conn { return p.Conn }
	_                                                                               = connpool.PoolConn{Conn: nil}

	// samber/go-tcp-pool v1
	_ func(network, addr string) (*connpool.TCPPool, error)                      = connpool.Dial
	_ func(network string, laddr, raddr *net.TCPAddr) (*connpool.TCPPool, error) = connpool.DialTCP
	_ func(*connpool.TCPPool, uint) error                                        = (*connpool.TCPPool).SetPoolSize
	_ func(*connpool.TCPPool, int)                                               = (*connpool.TCPPool).SetMaxRetries
	_ func(*connpool.TCPPool, time.Duration)                                     = (*connpool.TCPPool).SetRetryInterval
	_ func(*connpool.TCPPool, []byte) (int, error)                               = (*connpool.TCPPool).Read
	_ func(*connpool.TCPPool, []byte) (int, error)                               = (*connpool.TCPPool).Write
	_ func(*connpool.TCPPool) error                                              = (*connpool.TCPPool).Close
	_ func(*connpool.TCPPool) net.Addr                                           = (*connpool.TCPPool).LocalAddr
	_ func(*connpool.TCPPool) net.Addr                                           = (*connpool.TCPPool).RemoteAddr
	_ func(*connpool.TCPPool, time.Time) error                                   = (*connpool.TCPPool).SetDeadline
	_ func(*connpool.TCPPool, time.Time) error                                   = (*connpool.TCPPool).SetReadDeadline
	_ func(*connpool.TCPPool, time.Time) error                                   = (*connpool.TCPPool).SetWriteDeadline
	_ net.Conn                                                                   = (*connpool.TCPPool)(nil)
	_ func(*connpool.TCPClient, int)                                             = (*connpool.TCPClient).SetMaxRetries
	_ func(*connpool.TCPClient, time.Duration)                                   = (*connpool.TCPClient).SetRetryInterval
	_ func(*connpool.TCPClient, []byte) (int, error)                             = (*connpool.TCPClient).Write
	_                                                                            = connpool.TCPPool{}
	_                                                                            = connpool.TCPClient{TCPConn: (*net.TCPConn)(nil)} // the embedded *net.TCPConn
	_ func(*connpool.TCPClient) error                                            = (*connpool.TCPClient).CloseWrite                 // promoted from it
	_ net.Conn                                                                   = (*connpool.TCPClient)(nil)
)
