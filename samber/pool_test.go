package pool_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool/internal/testserver"
	pool "github.com/seed-a245f091/connpool/samber"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// samber/go-tcp-pool v1's API, with its exact signatures, named as code
// written against it names it. A rename or a changed signature fails to
// compile. The methods of TCPPool and TCPClient are pinned in the root
// package, whose types these are.
var (
	_ func(network, addr string) (*pool.TCPPool, error)                      = pool.Dial
	_ func(network string, laddr, raddr *net.TCPAddr) (*pool.TCPPool, error) = pool.DialTCP
	_ func(*pool.TCPPool, uint) error                                        = (*pool.TCPPool).SetPoolSize
	_ func(*pool.TCPPool, int)                                               = (*pool.TCPPool).SetMaxRetries
	_ func(*pool.TCPPool, time.Duration)                                     = (*pool.TCPPool).SetRetryInterval
	_ net.Conn                                                               = (*pool.TCPPool)(nil)
	_                                                                        = pool.TCPClient{TCPConn: (*net.TCPConn)(nil)}
	_ func(*pool.TCPClient, int)                                             = (*pool.TCPClient).SetMaxRetries
	_ func(*pool.TCPClient, time.Duration)                                   = (*pool.TCPClient).SetRetryInterval
	_ func(*pool.TCPClient, []byte) (int, error)                             = (*pool.TCPClient).Write
)

// The calls of go-tcp-pool's README, in its order, against a real server;
// then what go-tcp-pool could not do: Read, and a clear error after Close.
func TestGoTCPPoolCodeRunsUnchanged(t *testing.T) {
	s := testserver.Start(t, (*testserver.Server).Echo)
	conn, err := pool.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetPoolSize(10); err != nil {
		t.Fatal(err)
	}
	conn.SetMaxRetries(10)
	conn.SetRetryInterval(10 * time.Millisecond)
	msg := []byte("Hello, world!\n")
	if n, err := conn.Write(msg); n != len(msg) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(testserver.WaitLimit)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != string(msg) {
		t.Fatalf("ReadFull = %q, %v; want the echo %q", got, err, msg)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := conn.Write(msg); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %d, %v; want 0 and an error wrapping net.ErrClosed", n, err)
	}
}

func TestDialTCP(t *testing.T) {
	s := testserver.Start(t, (*testserver.Server).Echo)
	raddr, err := net.ResolveTCPAddr("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pool.DialTCP("tcp", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if n, err := conn.Write([]byte("x")); n != 1 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if _, err := pool.DialTCP("udp", nil, raddr); err == nil {
		t.Fatal(`DialTCP("udp") succeeded`)
	}
}

// A TCPClient is built from a connection, as go-tcp-pool built each of
// its own, and writes on it.
func TestTCPClientFromAConnection(t *testing.T) {
	s := testserver.Start(t, (*testserver.Server).Echo)
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	client := &pool.TCPClient{TCPConn: c.(*net.TCPConn)}
	defer client.Close()
	client.SetMaxRetries(3)
	client.SetRetryInterval(time.Millisecond)
	if n, err := client.Write([]byte("ping")); n != 4 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	client.SetReadDeadline(time.Now().Add(testserver.WaitLimit))
	got := make([]byte, 4)
	if _, err := io.ReadFull(client, got); err != nil || string(got) != "ping" {
		t.Fatalf("ReadFull = %q, %v; want the echo", got, err)
	}
}
