//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sock

import (
	"net"
	"syscall"
)

// Supported says whether Probe can see a closed or reset socket here.
const Supported = false

// Socket cannot look at a socket without reading on this platform, so
// every connection probes as healthy.
type Socket struct{}

// Init does nothing here.
func (*Socket) Init(net.Conn) {}

// RawConn returns nil here.
func (*Socket) RawConn() syscall.RawConn { return nil }

// Probe returns nil here.
func (*Socket) Probe() error { return nil }
