//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sock

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
)

// Supported says whether Probe can see a closed or reset socket here.
const Supported = true

// Socket is the socket under one pooled connection, found once by looking
// through TLS and NetConn wrappers and kept, so that probing it again costs
// a system call and no allocation. It is small, as a pool keeps one per
// connection: the callback handed to RawConn.Control, which would cost an
// allocation per probe if made each time and another per connection if
// kept in it, comes from a pool of peekers shared by every Socket.
//
// The zero value is a connection with no socket, which probes as healthy.
// Probe may be called from several goroutines at once; a pool probes a
// connection only from the goroutine that has it checked out anyway.
type Socket struct {
	rc        syscall.RawConn // the socket; nil if there is none
	encrypted bool            // a *tls.Conn was on the way down
	closed    bool            // the socket was closed when Init looked
}

// Init finds the socket under conn. It does no system call.
func (s *Socket) Init(conn net.Conn) {
	inner, encrypted, _ := unwrap(conn)
	*s = Socket{encrypted: encrypted}
	sc, ok := inner.(syscall.Conn)
	if !ok {
		return // no socket to look at: a net.Pipe, say
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		// A wrapper that cannot give its socket (ErrUnsupported, say)
		// leaves nothing to probe; only a closed one is closed.
		s.closed = errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed)
		return
	}
	s.rc = rc
}

// RawConn returns the socket, or nil if conn had none.
func (s *Socket) RawConn() syscall.RawConn { return s.rc }

// Probe reports what a peek at the socket finds: ErrPeerClosed,
// ErrClosedAfterData, ErrUnreadData, or nil. Where bytes are waiting, a
// close behind them is seen only where the platform reports TCP state
// (Linux), and then it is ErrClosedAfterData. On TLS, bytes waiting are
// no alarm, because servers send records unasked (TLS 1.3 session
// tickets); there only a closed or reset connection counts.
func (s *Socket) Probe() error {
	if s.closed {
		return ErrPeerClosed
	}
	if s.rc == nil {
		return nil
	}
	pk := peekers.Get().(*peeker)
	pk.encrypted = s.encrypted
	err := s.rc.Control(pk.fn)
	result := pk.result
	peekers.Put(pk)
	if err != nil {
		return ErrPeerClosed // closed on our side, by Drain say
	}
	return result
}

// peeker is the state of one peek, with its callback bound once.
type peeker struct {
	encrypted bool
	result    error
	fn        func(fd uintptr) // peek, bound to this peeker
}

var peekers = sync.Pool{New: func() any {
	pk := new(peeker)
	pk.fn = pk.peek
	return pk
}}

// peek looks at the socket fd with a non-blocking MSG_PEEK and leaves the
// verdict in pk.result. It runs under RawConn.Control, not RawConn.Read,
// so a read deadline left on the connection by its last holder cannot turn
// into a false alarm.
func (pk *peeker) peek(fd uintptr) {
	var b [1]byte
	for {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			pk.result = nil
		case err != nil, n == 0:
			pk.result = ErrPeerClosed
		case finReceived(fd):
			// Bytes wait, and a close behind them: a writer that
			// ignores what the peer sends must hear of the close,
			// and a reader may still want the bytes.
			pk.result = ErrClosedAfterData
		case !pk.encrypted:
			pk.result = ErrUnreadData
		default:
			pk.result = nil // TLS records sent unasked: no alarm
		}
		return
	}
}
