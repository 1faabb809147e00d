package connpool_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// server is a line-agnostic echo server on 127.0.0.1 that counts the
// connections it holds open, so tests can see what the pool did to its
// sockets from the other side.
type server struct {
	ln      net.Listener
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	accepts int
	changed chan struct{} // closed and replaced on every change
	wg      sync.WaitGroup
}

func newServer(t testing.TB) *server { return newServerWith(t, nil) }

// newServerWith is newServer with its listener wrapped by wrap, if not nil.
func newServerWith(t testing.TB, wrap func(net.Listener) net.Listener) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	s := &server{ln: ln, conns: map[net.Conn]struct{}{}, changed: make(chan struct{})}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *server) addr() string { return s.ln.Addr().String() }

func (s *server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.accepts++
		s.notifyLocked()
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			io.Copy(c, c)
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.notifyLocked()
			s.mu.Unlock()
		}()
	}
}

func (s *server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
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
	timeout := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		got, changed := len(s.conns), s.changed
		s.mu.Unlock()
		if got == n {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("server holds %d connections open, want %d", got, n)
		}
	}
}

// close stops the server and closes every connection it holds.
func (s *server) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
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

// closeConns closes the server's side of every connection, as a server
// restarting or timing out idle clients does.
func (s *server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// push writes msg, unasked, on every connection the server holds.
func (s *server) push(t testing.TB, msg string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatal(err)
		}
	}
}
