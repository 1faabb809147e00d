package sock

import (
	"encoding/binary"
	"syscall"
)

// tcpEstablished is TCP_ESTABLISHED in tcpi_state: any other state of a
// connected socket (CLOSE_WAIT above all) means the peer has closed or reset
// it.
const tcpEstablished = 1

// finReceived reports whether the peer of the TCP socket fd has closed its
// side, even with bytes still waiting to be read. Linux reports it in the
// TCP state, the first byte of TCP_INFO, which getsockopt truncates to the
// four bytes asked for.
func finReceived(fd uintptr) bool {
	v, err := syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_INFO)
	if err != nil {
		return false // not TCP: no state to read
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(v))
	return b[0] != tcpEstablished
}
