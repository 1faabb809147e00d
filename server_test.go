package connpool_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/testserver"
)

// server is the echo server the ConnPool tests talk to: a
// testserver.Server whose connections send back what they get, so tests
// can also see from the other side what the pool did to its sockets.
type server = testserver.Server

func newServer(t testing.TB) *server { return newServerWith(t, nil) }

// newServerWith is newServer with its listener wrapped by wrap, if not nil.
func newServerWith(t testing.TB, wrap func(net.Listener) net.Listener) *server {
	t.Helper()
	return testserver.StartWrapped(t, wrap, (*testserver.Server).Echo)
}

// newTCPServer starts a server whose connections run handle; nil means
// record everything until EOF.
func newTCPServer(t testing.TB, handle testserver.Handler) *server {
	t.Helper()
	return testserver.Start(t, handle)
}

// dialTo returns a DialFunc for the server's address, whatever address the
// pool passes.
func dialTo(s *server) connpool.DialFunc {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", s.Addr())
	}
}

// factory returns a Factory for the server's address.
func factory(s *server) func() (net.Conn, error) {
	return func() (net.Conn, error) { return net.Dial("tcp", s.Addr()) }
}

// echo writes msg on c and reads it back.
func echo(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(buf) != msg {
		t.Fatalf("echo = %q, want %q", buf, msg)
	}
}

// probeAfter is Config.ProbeAfter's default.
const probeAfter = time.Millisecond

// waitReadable waits, without reading anything, until the kernel has bytes,
// or the peer's close or reset, waiting on nc, a *net.TCPConn: the
// runtime's poller calls the check each time it sees the socket readable,
// so the wait ends on the kernel's event, not on a timer.
func waitReadable(t testing.TB, nc net.Conn) {
	t.Helper()
	if err := awaitReadable(nc); err != nil {
		skipUnsupported(t, err)
		t.Fatalf("waiting for the socket: %v", err)
	}
}

// waitPeerClosed is waitReadable for a socket whose peer closes it, and
// which the pool may close first on hearing of it: that counts as seen.
func waitPeerClosed(t testing.TB, nc net.Conn) {
	t.Helper()
	if err := awaitReadable(nc); err != nil && !errors.Is(err, net.ErrClosed) {
		skipUnsupported(t, err)
		t.Fatalf("waiting for the socket: %v", err)
	}
}

// startStallingServer starts a server whose first connection reads one
// byte, to show that a Write has begun, then nothing until release is
// called, then everything, as the later connections do from the start.
func startStallingServer(t *testing.T) (srv *testserver.Server, release func()) {
	hold := make(chan struct{})
	srv = testserver.Start(t, func(s *testserver.Server, id int, c net.Conn) {
		if id == 0 {
			b := make([]byte, 1)
			if _, err := io.ReadFull(c, b); err != nil {
				return
			}
			s.Record(id, b)
			<-hold
		}
		s.Drain(id, c)
	})
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release) // before the server's Close, which waits for its handlers
	return srv, release
}

// skipUnsupported skips a test that needs what this platform's tests
// cannot do (err wraps errors.ErrUnsupported).
func skipUnsupported(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip(err)
	}
}

// newStalledTLSServer starts a TLS 1.3 server whose first connection
// completes its handshake and then reads nothing until the test ends, so
// that Writes on it fill the socket buffers; it drains the later ones. It
// returns the server and the TLS config for its clients.
func newStalledTLSServer(t *testing.T) (*server, *tls.Config) {
	t.Helper()
	serverCfg, clientCfg := testserver.TLSConfigs(t)
	hold := make(chan struct{})
	srv := testserver.StartWrapped(t, func(ln net.Listener) net.Listener { return tls.NewListener(ln, serverCfg) },
		func(s *testserver.Server, id int, c net.Conn) {
			if id == 0 {
				c.(*tls.Conn).Handshake()
				<-hold
				return
			}
			s.Drain(id, c)
		})
	t.Cleanup(func() { close(hold) }) // before the server's own, which waits for it
	return srv, clientCfg
}

// newGoodbyeWatchingTLSServer starts a TLS server that, after each
// handshake, reads the raw socket under TLS until the client closes it, so
// that a close_notify alert reaches it as bytes, and sends no session
// tickets, so that the client has nothing unread and its close is a plain
// FIN. noGoodbye fails the test unless the next connection to end did so
// without sending anything after its handshake.
func newGoodbyeWatchingTLSServer(t *testing.T) (s *server, client *tls.Config, noGoodbye func(what string)) {
	t.Helper()
	serverCfg, clientCfg := testserver.TLSConfigs(t)
	serverCfg.SessionTicketsDisabled = true
	after := make(chan []byte, 16)
	s = testserver.StartWrapped(t, func(ln net.Listener) net.Listener { return tls.NewListener(ln, serverCfg) },
		func(_ *testserver.Server, _ int, c net.Conn) {
			tc := c.(*tls.Conn)
			if err := tc.Handshake(); err != nil {
				after <- []byte("handshake failed: " + err.Error())
				return
			}
			b, _ := io.ReadAll(tc.NetConn())
			after <- b
		})
	return s, clientCfg, func(what string) {
		t.Helper()
		select {
		case b := <-after:
			if len(b) != 0 {
				t.Errorf("the server read %q after the handshake of %s, want nothing (no close_notify)", b, what)
			}
		case <-time.After(testserver.WaitLimit):
			t.Fatalf("%s is still open", what)
		}
	}
}

// waitErrIs waits for the error of op from done, and fails the test unless
// it comes within testserver.WaitLimit and is want (errors.Is).
func waitErrIs(t testing.TB, done <-chan error, want error, op string) {
	t.Helper()
	select {
	case err := <-done:
		if !errors.Is(err, want) {
			t.Fatalf("%s = %v, want %v", op, err, want)
		}
	case <-time.After(testserver.WaitLimit):
		t.Fatalf("%s did not return", op)
	}
}
