package sock

import (
	"encoding/binary"
	"syscall"
	"unsafe"
)

// tcpEstablished is TCP_ESTABLISHED in tcpi_state: any other state of a
// connected socket (CLOSE_WAIT above all) means the peer has closed or reset
// it.
const tcpEstablished = 1

// pollRDHUP is POLLRDHUP, which poll reports of a stream socket whose peer
// has shut down its sending side.
const pollRDHUP = 0x2000

// finReceived reports whether the peer of the stream socket fd has closed
// its side, even with bytes still waiting to be read. Linux reports it of
// TCP in the TCP state, the first byte of TCP_INFO, which getsockopt
// truncates to the four bytes asked for, and of other stream sockets (Unix
// domain) as POLLRDHUP.
func finReceived(fd uintptr) bool {
	v, err := syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_INFO)
	if err != nil {
		return rdhup(fd) // not TCP: no state to read
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(v))
	return b[0] != tcpEstablished
}

// rdhup reports whether poll, without waiting, finds POLLRDHUP on fd.
func rdhup(fd uintptr) bool {
	pfd := struct {
		fd              int32
		events, revents int16
	}{fd: int32(fd), events: pollRDHUP}
	var ts syscall.Timespec // zero: do not wait
	for {
		n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1,
			uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		return errno == 0 && n == 1 && pfd.revents&pollRDHUP != 0
	}
}
