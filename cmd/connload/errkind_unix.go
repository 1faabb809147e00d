//go:build !windows && !plan9

package main

import (
	"errors"
	"syscall"
)

// sysKind classifies err by its errno: kindReset, kindRefused or kindOther.
func sysKind(err error) errKind {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ECONNRESET, syscall.ECONNABORTED,
			syscall.EPIPE: // a write to a connection the peer reset
			return kindReset
		case syscall.ECONNREFUSED:
			return kindRefused
		}
	}
	return kindOther
}
