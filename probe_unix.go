//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package connpool

import (
	"net"
	"syscall"
)

// peek looks at the socket under conn with a non-blocking MSG_PEEK. It goes
// through RawConn.Control, not RawConn.Read, so a read deadline left on the
// connection by its last holder cannot turn into a false alarm.
func peek(conn net.Conn) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return errPeerClosed // the socket is already closed
	}
	var result error
	cerr := rc.Control(func(fd uintptr) {
		var b [1]byte
		for {
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
				result = nil
			case err != nil:
				result = errPeerClosed
			case n == 0:
				result = errPeerClosed
			default:
				result = errUnreadData
			}
			return
		}
	})
	if cerr != nil {
		return errPeerClosed
	}
	return result
}
