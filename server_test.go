package connpool_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
)

// server is the echo server the pool's tests talk to: a tcpServer whose
// connections send back what they get, so tests can also see from the other
// side what the pool did to its sockets.
type server = tcpServer

func newServer(t testing.TB) *server { return newServerWith(t, nil) }

// newServerWith is newServer with its listener wrapped by wrap, if not nil.
func newServerWith(t testing.TB, wrap func(net.Listener) net.Listener) *server {
	t.Helper()
	return newTCPServerWrapped(t, wrap, (*tcpServer).echo)
}

// accepted returns the number of connections accepted so far.
func (s *server) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepts
}

// waitOpen waits until the server holds exactly n connections open.
func (s *server) waitOpen(t testing.TB, n int) {
	t.Helper()
	s.waitUntil(fmt.Sprintf("%d open connections", n), func() bool { return len(s.conns) == n })
}

// dialer returns a DialFunc for the server's address.
func (s *server) dialer() func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", s.addr())
	}
}

// factory returns a Factory for the server's address.
func (s *server) factory() func() (net.Conn, error) {
	return func() (net.Conn, error) { return net.Dial("tcp", s.addr()) }
}

// push writes msg, unasked, on every connection the server holds.
func (s *server) push(t testing.TB, msg string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatal(err)
		}
	}
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
