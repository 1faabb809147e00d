//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sock

import (
	"net"
	"syscall"
)

// Supported says whether Probe can see a closed or reset socket here.
const Supported = true

// Socket is the socket under one pooled connection, found once by looking
// through TLS and NetConn wrappers and kept, so that probing it again costs
// a system call and no allocation: whatever goes through an interface
// method escapes to the heap, so the syscall.RawConn and the callback
// handed to its Control are made once, by Init.
//
// The zero value is a connection with no socket, which probes as healthy.
// A Socket is not safe for concurrent use: the callback hands its verdict
// back through the Socket. A pool needs no lock for it because only the
// goroutine that has the connection checked out probes it.
type Socket struct {
	rc        syscall.RawConn  // the socket; nil if there is none
	encrypted bool             // a *tls.Conn was on the way down
	peekFn    func(fd uintptr) // s.peek, bound once
	result    error            // the verdict of the latest peek
	closed    bool             // the socket was closed when Init looked
}

// Init finds the socket under conn. It does no system call.
func (s *Socket) Init(conn net.Conn) {
	inner, encrypted := unwrap(conn)
	*s = Socket{encrypted: encrypted}
	sc, ok := inner.(syscall.Conn)
	if !ok {
		return // no socket to look at: a net.Pipe, say
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		s.closed = true
		return
	}
	s.rc = rc
	s.peekFn = s.peek
}

// RawConn returns the socket, or nil if conn had none.
func (s *Socket) RawConn() syscall.RawConn { return s.rc }

// Probe reports what a peek at the socket finds: ErrPeerClosed,
// ErrUnreadData, or nil. On TLS, bytes waiting are no alarm, because
// servers send records unasked (TLS 1.3 session tickets); there only a
// closed or reset connection counts, and where bytes are waiting, a close
// behind them is seen only where the platform reports TCP state (Linux).
func (s *Socket) Probe() error {
	if s.closed {
		return ErrPeerClosed
	}
	if s.rc == nil {
		return nil
	}
	if err := s.rc.Control(s.peekFn); err != nil {
		return ErrPeerClosed // closed on our side, by Drain say
	}
	return s.result
}

// peek looks at the socket fd with a non-blocking MSG_PEEK and leaves the
// verdict in s.result. It runs under RawConn.Control, not RawConn.Read, so
// a read deadline left on the connection by its last holder cannot turn
// into a false alarm.
func (s *Socket) peek(fd uintptr) {
	var b [1]byte
	for {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			s.result = nil
		case err != nil, n == 0:
			s.result = ErrPeerClosed
		case !s.encrypted:
			s.result = ErrUnreadData
		case finReceived(fd):
			s.result = ErrPeerClosed
		default:
			s.result = nil // TLS records sent unasked: no alarm
		}
		return
	}
}
