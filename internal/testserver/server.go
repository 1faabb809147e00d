// Package testserver is the TCP server the connpool tests talk to, in the
// root module and in the failure tests: real sockets on 127.0.0.1:0, so
// that a test sees from the other side what a pool did to its
// connections, and waits on the server's own events rather than on time.
package testserver

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// WaitLimit bounds every wait on a condition. A passing test never waits
// this long; a failing one fails instead of hanging.
const WaitLimit = 10 * time.Second

// Handler serves one connection, id being its accept order from 0. The
// server closes the connection when the handler returns.
type Handler func(s *Server, id int, c net.Conn)

// Server is a TCP server on 127.0.0.1. It records the bytes each
// connection brings (when its handler calls Record, as Drain and Echo do),
// tracks the connections it holds, and signals every change, so that a
// test can wait for a condition without polling.
type Server struct {
	t      testing.TB
	ln     net.Listener
	handle Handler

	mu      sync.Mutex
	closed  bool             // Close has begun: connections accepted now are closed at once
	conns   map[int]net.Conn // open, by accept order
	accepts int
	data    map[int][]byte // bytes received, by connection
	total   int
	changed chan struct{} // closed and replaced on every change
	wg      sync.WaitGroup
}

// Start starts a server whose connections run handle; nil means Drain. It
// is closed when the test ends.
func Start(t testing.TB, handle Handler) *Server {
	t.Helper()
	return StartWrapped(t, nil, handle)
}

// StartWrapped is Start with the listener wrapped by wrap, if not nil (in
// TLS, say).
func StartWrapped(t testing.TB, wrap func(net.Listener) net.Listener, handle Handler) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	if handle == nil {
		handle = (*Server).Drain
	}
	s := &Server{
		t: t, ln: ln, handle: handle,
		conns: map[int]net.Conn{}, data: map[int][]byte{}, changed: make(chan struct{}),
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			// Accepted just before Close closed the listener, and missed
			// by its CloseConns: no handler may outlive the server.
			s.mu.Unlock()
			c.Close()
			return
		}
		id := s.accepts
		s.accepts++
		s.conns[id] = c
		s.notifyLocked()
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(s, id, c)
			c.Close()
			s.mu.Lock()
			delete(s.conns, id)
			s.notifyLocked()
			s.mu.Unlock()
		}()
	}
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Notify wakes WaitUntil; handlers call it when their own state changes.
func (s *Server) Notify() {
	s.mu.Lock()
	s.notifyLocked()
	s.mu.Unlock()
}

// Record notes bytes that connection id brought.
func (s *Server) Record(id int, b []byte) {
	s.mu.Lock()
	s.data[id] = append(s.data[id], b...)
	s.total += len(b)
	s.notifyLocked()
	s.mu.Unlock()
}

// Drain records everything the connection brings until EOF.
func (s *Server) Drain(id int, c net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		s.Record(id, buf[:n])
		if err != nil {
			return
		}
	}
}

// Echo records and sends back everything the connection brings.
func (s *Server) Echo(id int, c net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		s.Record(id, buf[:n])
		if n > 0 {
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Copy sends back everything the connection brings, recording nothing.
func (s *Server) Copy(_ int, c net.Conn) { io.Copy(c, c) }

// WaitUntil waits until cond is true, checking it after every change, and
// fails the test after WaitLimit. cond is called without the server's
// lock, so it may call the server's methods.
func (s *Server) WaitUntil(what string, cond func() bool) {
	s.t.Helper()
	expired := time.NewTimer(WaitLimit)
	defer expired.Stop()
	for {
		s.mu.Lock()
		ch := s.changed // before cond: a change after cond closes ch
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-expired.C:
			s.t.Fatalf("server: timed out waiting for %s", what)
		}
	}
}

// WaitOpen waits until the server holds exactly n connections open.
func (s *Server) WaitOpen(n int) {
	s.t.Helper()
	s.WaitUntil(fmt.Sprintf("%d open connections", n), func() bool { return s.OpenConns() == n })
}

// WaitTotal waits until the server has received n bytes in all.
func (s *Server) WaitTotal(n int) {
	s.t.Helper()
	s.WaitUntil(fmt.Sprintf("%d bytes", n), func() bool { return s.Total() >= n })
}

// Accepts returns how many connections the server has accepted.
func (s *Server) Accepts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepts
}

// OpenConns returns how many connections the server holds open.
func (s *Server) OpenConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// IsOpen reports whether the server still holds connection id open.
func (s *Server) IsOpen(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.conns[id]
	return ok
}

// Conn returns connection id, or nil once it is closed.
func (s *Server) Conn(id int) net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[id]
}

// Total returns the number of bytes received in all.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Data returns a copy of the bytes received, by connection.
func (s *Server) Data() map[int][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[int][]byte, len(s.data))
	for id, b := range s.data {
		m[id] = append([]byte(nil), b...)
	}
	return m
}

// Push writes msg, unasked, on every connection the server holds.
func (s *Server) Push(msg string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if _, err := io.WriteString(c, msg); err != nil {
			s.t.Fatal(err)
		}
	}
}

// CloseConns closes, cleanly, every connection the server holds; the
// server goes on listening.
func (s *Server) CloseConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

// Close stops the server and waits for its goroutines.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.CloseConns()
	s.wg.Wait()
}
