package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// server is the embedded server: a line echo, or in write mode a sink that
// reads and counts what it is sent. With chaos it misbehaves now and then,
// as servers do in production: it resets a connection, closes one between
// two messages, or goes down for a moment and comes back on the same port.
type server struct {
	sink bool
	addr string // fixed by the first listen, so a restart comes back on the same port

	// mu guards the fields below.
	mu     sync.Mutex
	ln     net.Listener // nil while down
	conns  map[*serverConn]struct{}
	closed bool
	// gone is closed, and replaced, whenever a connection ends, for
	// quiesce to wait on.
	gone chan struct{}

	// book, in a write-mode run, records what the server read from each
	// connection and when it began to close it (see ledger).
	book atomic.Pointer[ledger]

	// wg counts the accept loops and the connection handlers. A handler is
	// added only by an accept loop, which holds its own count meanwhile, so
	// the counter is never 0 when a handler is added.
	wg sync.WaitGroup

	// chaosStop is closed to stop the chaos goroutine, which closes
	// chaosDone when it has. Both are nil without chaos. Only the
	// goroutine that started the server touches them.
	chaosStop chan struct{}
	chaosDone chan struct{}

	stats serverCounters
}

// serverCounters are what the server saw. Messages are counted by their
// closing newline; bytes include those of torn messages.
type serverCounters struct {
	accepted atomic.Uint64
	bytes    atomic.Uint64
	messages atomic.Uint64
	torn     atomic.Uint64 // connections that ended part way through a message

	resets   atomic.Uint64
	closes   atomic.Uint64
	restarts atomic.Uint64
}

// serverCount is a snapshot of serverCounters, from the server's start.
type serverCount struct {
	accepted, bytes, messages, torn uint64
	resets, closes, restarts        uint64
}

func (c *serverCounters) snapshot() serverCount {
	return serverCount{
		accepted: c.accepted.Load(), bytes: c.bytes.Load(), messages: c.messages.Load(), torn: c.torn.Load(),
		resets: c.resets.Load(), closes: c.closes.Load(), restarts: c.restarts.Load(),
	}
}

// sub returns c counted from base, an earlier snapshot.
func (c serverCount) sub(base serverCount) serverCount {
	return serverCount{
		c.accepted - base.accepted, c.bytes - base.bytes, c.messages - base.messages, c.torn - base.torn,
		c.resets - base.resets, c.closes - base.closes, c.restarts - base.restarts,
	}
}

// serverConn is one accepted connection.
type serverConn struct {
	c *net.TCPConn
	// closing asks the handler to close the connection at the next
	// message boundary: the clean close of a server that limits how long
	// it keeps a connection.
	closing atomic.Bool
	// rec is the connection's record in the server's book, looked up
	// when the first bytes arrive or the server begins to close it.
	rec atomic.Pointer[connRecord]
}

// record returns sc's record in the book, or nil if there is no book.
func (s *server) record(sc *serverConn) *connRecord {
	if r := sc.rec.Load(); r != nil {
		return r
	}
	book := s.book.Load()
	if book == nil {
		return nil
	}
	sc.rec.CompareAndSwap(nil, book.server(sc.c.RemoteAddr().String()))
	return sc.rec.Load()
}

// beginClose notes in the book that the server has begun to close sc:
// whatever is written on it from now on is written to a closing
// connection.
func (s *server) beginClose(sc *serverConn) {
	if r := s.record(sc); r != nil {
		r.closing.Store(true)
	}
}

// startServer listens on 127.0.0.1 on a port of the system's choosing and
// serves until shutdown.
func startServer(sink bool) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{sink: sink, addr: ln.Addr().String(), conns: map[*serverConn]struct{}{}, gone: make(chan struct{})}
	s.mu.Lock()
	s.serveLocked(ln)
	s.mu.Unlock()
	return s, nil
}

// serveLocked starts accepting on ln. Caller must hold s.mu.
func (s *server) serveLocked(ln net.Listener) {
	s.ln = ln
	s.wg.Add(1)
	go s.accept(ln)
}

func (s *server) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, say: wait rather than spin, as
			// net/http does.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		sc := &serverConn{c: c.(*net.TCPConn)}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[sc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.stats.accepted.Add(1)
		go s.handle(sc)
	}
}

// handle echoes or sinks what sc sends until it closes, fails, or is asked
// to close. Echoing bytes as they come, rather than line by line, is the
// same to a client that waits for each reply, and needs no line buffer.
func (s *server) handle(sc *serverConn) {
	defer s.wg.Done()
	defer func() {
		sc.c.Close()
		s.mu.Lock()
		delete(s.conns, sc)
		close(s.gone)
		s.gone = make(chan struct{})
		s.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	boundary := true // no message has begun since the last newline
	for {
		n, err := sc.c.Read(buf)
		if n > 0 {
			boundary = buf[n-1] == '\n'
			m := uint64(bytes.Count(buf[:n], newline))
			s.stats.bytes.Add(uint64(n))
			s.stats.messages.Add(m)
			if r := s.record(sc); r != nil {
				r.read.Add(m)
			}
			if !s.sink {
				if _, werr := sc.c.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if sc.closing.Load() && (err == nil || isTimeout(err)) {
			if boundary {
				s.stats.closes.Add(1)
				return
			}
			if err != nil {
				// The chaos goroutine's deadline cut a message short:
				// read the rest of it, then close.
				sc.c.SetReadDeadline(time.Time{})
			}
			continue
		}
		if err != nil {
			if !boundary {
				s.stats.torn.Add(1)
			}
			return
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// startChaos starts the goroutine that misbehaves about every mean.
func (s *server) startChaos(every, outage time.Duration) {
	s.chaosStop = make(chan struct{})
	s.chaosDone = make(chan struct{})
	go func() {
		defer close(s.chaosDone)
		s.chaos(every, outage)
	}()
}

// chaos picks an event at random intervals, uniform between every/2 and
// 3*every/2, until stopped: one time in ten a restart, otherwise a reset
// or a clean close of a random connection, evenly.
func (s *server) chaos(every, outage time.Duration) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		t.Reset(every/2 + rand.N(every))
		select {
		case <-s.chaosStop:
			return
		case <-t.C:
		}
		switch r := rand.N(20); {
		case r < 2:
			s.restart(outage)
		case r < 11:
			if sc := s.pick(); sc != nil {
				// Linger 0 makes Close send a reset instead of a
				// graceful end of stream: the server crashed, or a
				// middlebox dropped the connection.
				s.beginClose(sc)
				sc.c.SetLinger(0)
				sc.c.Close()
				s.stats.resets.Add(1)
			}
		default:
			if sc := s.pick(); sc != nil && !sc.closing.Swap(true) {
				s.beginClose(sc)
				// Wake the handler if it waits for a message; it
				// closes once none is half read.
				sc.c.SetReadDeadline(time.Now())
			}
		}
	}
}

// pick returns a random connection, or nil if there is none.
func (s *server) pick() *serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) == 0 {
		return nil
	}
	i := rand.N(len(s.conns))
	for sc := range s.conns {
		if i == 0 {
			return sc
		}
		i--
	}
	return nil
}

// restart takes the server down, closing every connection as a process
// that exits would, and after outage listens again on the same port. It
// returns early, down, if chaos is stopped meanwhile.
func (s *server) restart(outage time.Duration) {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	var conns []*serverConn
	for sc := range s.conns {
		conns = append(conns, sc)
	}
	s.mu.Unlock()
	if ln == nil {
		return
	}
	s.stats.restarts.Add(1)
	ln.Close()
	for _, sc := range conns {
		s.beginClose(sc)
		sc.c.Close()
	}
	t := time.NewTimer(outage)
	defer t.Stop()
	for {
		select {
		case <-s.chaosStop:
			return
		case <-t.C:
		}
		if s.relisten() {
			return
		}
		t.Reset(10 * time.Millisecond)
	}
}

// relisten listens again on the server's port after a restart, and
// reports whether it is up. The port is ours unless another program took
// it meanwhile, which a later try may find undone.
func (s *server) relisten() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil || s.closed {
		return true
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return false
	}
	s.serveLocked(ln)
	return true
}

// stopChaos stops the chaos goroutine, if it runs, and waits for it. A
// restart it was in the middle of may leave the server down: see up.
func (s *server) stopChaos() {
	if s.chaosDone != nil {
		close(s.chaosStop)
		<-s.chaosDone
		s.chaosDone = nil
	}
}

// up makes sure the server listens, after chaos may have left it down, and
// reports whether it does, trying for a second if another program holds
// its port, as restart does.
func (s *server) up() bool {
	for range 100 {
		if s.relisten() {
			return true
		}
		time.Sleep(10 * time.Millisecond) // nothing to wait on but the other program
	}
	return false
}

// quiesce waits up to grace until no connection is open, so that the
// server has read everything its clients sent before they hung up.
func (s *server) quiesce(grace time.Duration) {
	t := time.NewTimer(grace)
	defer t.Stop()
	for {
		s.mu.Lock()
		n, gone := len(s.conns), s.gone
		s.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-gone:
		case <-t.C:
			return
		}
	}
}

// shutdown stops chaos and the server. It first stops accepting and gives
// the connections up to grace to end by themselves, so that a sink has
// read everything its clients sent before they hung up, then closes those
// left and waits for every goroutine of the server to end.
func (s *server) shutdown(grace time.Duration) {
	s.stopChaos()
	s.mu.Lock()
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	s.mu.Lock()
	for sc := range s.conns {
		sc.c.Close()
	}
	s.mu.Unlock()
	<-done
}
