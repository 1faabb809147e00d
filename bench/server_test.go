package bench

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// server is a TCP server on 127.0.0.1 that can go down and come back on the
// same port, as a restarted server does. Each connection is served by
// handle on its own goroutine and closed when handle returns.
type server struct {
	addr   string
	handle func(net.Conn)

	mu    sync.Mutex
	ln    net.Listener          // guarded by mu; nil while down
	conns map[net.Conn]struct{} // guarded by mu
	order []net.Conn            // guarded by mu; conns, oldest first
	told  map[net.Conn]bool     // guarded by mu; conns closeOldest is closing
	// accepts counts the connections accepted since the last start or
	// resetAccepts, kept or not. Guarded by mu.
	accepts int64
	changed chan struct{}  // guarded by mu; closed and replaced on every accept and close
	wg      sync.WaitGroup // accept loop and handlers
}

// newServer starts a server and registers its stopping with tb.Cleanup.
func newServer(tb testing.TB, handle func(net.Conn)) *server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &server{addr: ln.Addr().String(), handle: handle, conns: map[net.Conn]struct{}{}, changed: make(chan struct{})}
	s.serve(ln)
	tb.Cleanup(s.stop)
	return s
}

// serve accepts on ln. Caller must hold s.mu, or be newServer.
func (s *server) serve(ln net.Listener) {
	s.ln = ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.accepts++
			s.notifyLocked()
			if s.ln != ln { // stopped while this one was accepted
				s.mu.Unlock()
				c.Close()
				return
			}
			s.conns[c] = struct{}{}
			s.order = append(s.order, c)
			s.wg.Add(1)
			s.mu.Unlock()
			go func() {
				defer s.wg.Done()
				s.handle(c)
				c.Close()
				s.forget(c)
			}()
		}
	}()
}

func (s *server) forget(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	delete(s.told, c)
	if i := slices.Index(s.order, c); i >= 0 {
		s.order = slices.Delete(s.order, i, i+1)
	}
	s.notifyLocked()
}

// notifyLocked wakes waitDone. Caller must hold s.mu.
func (s *server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// stop closes the listener and every connection, as a server going down
// does, and waits for the handlers to return.
func (s *server) stop() {
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// start listens again on the server's port and returns when it did: from
// then on the kernel completes connections to it. Another socket can hold
// the port for a moment after the listener closed, so it tries for a while.
func (s *server) start() (time.Time, error) {
	var err error
	for range 100 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			up := time.Now()
			s.mu.Lock()
			s.accepts = 0
			s.serve(ln)
			s.mu.Unlock()
			return up, nil
		}
		time.Sleep(time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("listening again on %s: %w", s.addr, err)
}

// resetAccepts starts counting accepted connections afresh, for waitDone.
// Call it while no dial to the server is in progress.
func (s *server) resetAccepts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepts = 0
}

// waitDone waits until the server has accepted dialled connections since
// the last start or resetAccepts, and has finished with every connection:
// so every byte the client sent has been read or lost. The caller must have
// closed its side of every connection, so that each handler reads to its
// end. It fails after a while rather than hang a benchmark.
func (s *server) waitDone(dialled int64) error {
	timeout := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		accepts, open, changed := s.accepts, len(s.conns), s.changed
		s.mu.Unlock()
		if accepts >= dialled && open == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-timeout:
			return fmt.Errorf("server accepted %d of %d connections and holds %d open", accepts, dialled, open)
		}
	}
}

// closeOldest starts a graceful close of the connection open longest that
// is not closing yet, if any: the server sends FIN, telling the client it
// is going away, and goes on reading for grace, or until the client closes
// its side, and then closes the connection. Bytes arriving after that are
// lost to a reset, as with any server. Bytes that arrive in time are read
// whole, whatever the handler does with them.
func (s *server) closeOldest(grace time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.order {
		if s.told[c] {
			continue
		}
		if s.told == nil {
			s.told = map[net.Conn]bool{}
		}
		s.told[c] = true
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(grace))
		return
	}
}

// echo is a handler that echoes what it reads.
func echo(c net.Conn) { io.Copy(c, c) }

// frameSize is the size of a message in the write scenarios: an 8-byte
// sequence number followed by filler.
const frameSize = 100

// newFrame returns a message carrying seq.
func newFrame(seq uint64) []byte {
	b := make([]byte, frameSize)
	putFrame(b, seq)
	return b
}

func putFrame(b []byte, seq uint64) {
	binary.BigEndian.PutUint64(b, seq)
	for i := 8; i < len(b); i++ {
		b[i] = 'm'
	}
}

// frames returns a handler that reads frames until EOF or an error and
// calls got with the sequence number of each complete one. A frame cut
// short by the end of the stream is not counted.
func frames(got func(seq uint64)) func(net.Conn) {
	return func(c net.Conn) {
		r := bufio.NewReaderSize(c, 64<<10) // one read for many frames
		var buf [frameSize]byte
		for {
			if _, err := io.ReadFull(r, buf[:]); err != nil {
				return
			}
			got(binary.BigEndian.Uint64(buf[:]))
		}
	}
}

// echoOn writes msg on c and reads the echo into buf, which is as long.
func echoOn(c net.Conn, msg, buf []byte) error {
	if _, err := c.Write(msg); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != string(msg) {
		return errBadEcho
	}
	return nil
}

var errBadEcho = errors.New("bench: echo differs from the request")
