//go:build unix

package connpool_test

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool/internal/testserver"
)

// awaitReadable waits for waitReadable, peeking from the runtime's poller.
func awaitReadable(nc net.Conn) error {
	rc, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	nc.SetReadDeadline(time.Now().Add(testserver.WaitLimit))
	defer nc.SetReadDeadline(time.Time{})
	return rc.Read(func(fd uintptr) bool {
		var b [1]byte
		for {
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if err != syscall.EINTR {
				return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
			}
		}
	})
}

// fillSendBuffer writes to the raw socket c, without blocking, until the
// kernel takes no more: its send buffer and its peer's receive buffer are
// full, as they are after Writes to a peer that stopped reading.
func fillSendBuffer(t *testing.T, c net.Conn) {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<10)
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		for _, b := range [][]byte{big, big[:1]} {
			for {
				_, err := syscall.Write(int(fd), b)
				if err == syscall.EINTR {
					continue
				}
				if err == syscall.EAGAIN {
					break
				}
				if err != nil {
					werr = err
					return true
				}
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if werr != nil {
		t.Fatal(werr)
	}
}
