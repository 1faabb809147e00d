package connpool_test

import (
	"context"
	"net"
	"reflect"
	"testing"
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
// TCPClient and PoolConn are used through pointers: their value types
// hold a sync.Mutex (TCPClient) and an atomic.Uint64 (PoolConn), which
// go vet forbids copying, so the method sets pinned are those of
// *TCPClient and *PoolConn.
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

// TestTCPClientHasTCPConnMethods checks that *TCPClient has every method
// of *net.TCPConn, which samber/go-tcp-pool's TCPClient embedded, with
// the same signature: those it overrides (Write, ReadFrom, SyscallConn
// and Close) as well as those promoted from its embedded *net.TCPConn,
// so that code calling them on a TCPClient keeps compiling.
func TestTCPClientHasTCPConnMethods(t *testing.T) {
	conn := reflect.TypeFor[*net.TCPConn]()
	client := reflect.TypeFor[*connpool.TCPClient]()
	if conn.NumMethod() == 0 {
		t.Fatal("*net.TCPConn has no methods")
	}
	for i := range conn.NumMethod() {
		m := conn.Method(i)
		c, ok := client.MethodByName(m.Name)
		if !ok {
			t.Errorf("*TCPClient has no method %s, which *net.TCPConn has", m.Name)
			continue
		}
		if want, got := withoutReceiver(m.Type), withoutReceiver(c.Type); got != want {
			t.Errorf("(*TCPClient).%[1]s is %[2]v, (*net.TCPConn).%[1]s is %[3]v", m.Name, got, want)
		}
	}
}

// withoutReceiver returns the type of the method whose type with its
// receiver is f.
func withoutReceiver(f reflect.Type) reflect.Type {
	var in, out []reflect.Type
	for i := 1; i < f.NumIn(); i++ {
		in = append(in, f.In(i))
	}
	for i := range f.NumOut() {
		out = append(out, f.Out(i))
	}
	return reflect.FuncOf(in, out, f.IsVariadic())
}
