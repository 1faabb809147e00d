//go:build !unix

package connpool_test

import (
	"errors"
	"net"
	"testing"
)

// awaitReadable has no way here to wait for a socket without reading it.
func awaitReadable(net.Conn) error { return errors.ErrUnsupported }

// fillSendBuffer has no way here to write to a socket without blocking.
func fillSendBuffer(t *testing.T, _ net.Conn) {
	t.Skip("fillSendBuffer needs a unix socket")
}
