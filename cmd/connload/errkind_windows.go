package main

import (
	"errors"
	"syscall"
)

// Windows codes the syscall package does not name.
const (
	errConnectionRefused syscall.Errno = 1225  // ERROR_CONNECTION_REFUSED
	wsaeConnRefused      syscall.Errno = 10061 // WSAECONNREFUSED
)

// sysKind classifies err by its Windows error code: kindReset, kindRefused
// or kindOther. Windows reports socket errors with WSA codes, which the
// syscall package does not map onto ECONNRESET and ECONNREFUSED.
func sysKind(err error) errKind {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.WSAECONNRESET, syscall.WSAECONNABORTED,
			syscall.ERROR_NETNAME_DELETED, // a reset seen by an overlapped read
			syscall.ERROR_BROKEN_PIPE:
			return kindReset
		case wsaeConnRefused, errConnectionRefused:
			return kindRefused
		}
	}
	return kindOther
}
