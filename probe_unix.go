//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package connpool

import (
	"net"
	"syscall"
)

// peek looks at the socket under conn with a non-blocking MSG_PEEK. It goes
// through RawConn.Control, not RawConn.Read, so a read deadline left on the
// connection by its last holder cannot turn into a false alarm. Bytes
// waiting are errUnreadData unless encrypted, in which case only a close
// behind them counts.
func peek(conn net.Conn, encrypted bool) error {
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
			case err != nil, n == 0:
				result = errPeerClosed
			case !encrypted:
				result = errUnreadData
			case finReceived(fd):
				result = errPeerClosed
			}
			return
		}
	})
	if cerr != nil {
		return errPeerClosed
	}
	return result
}
