//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"os"
	"syscall"
	"unsafe"
)

// termColumns returns the width of the terminal f is, or 0 if f is no
// terminal. It is the one ioctl x/term makes; the syscall package routes
// it through libc where the system wants that (macOS, OpenBSD). It goes
// through SyscallConn rather than Fd, which would put f in blocking mode.
func termColumns(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	var ws struct{ row, col, xpixel, ypixel uint16 }
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, uintptr(syscall.TIOCGWINSZ), uintptr(unsafe.Pointer(&ws)))
	}); err != nil || errno != 0 {
		return 0
	}
	return int(ws.col)
}
