package sock

import (
	"os"
	"syscall"
)

// WatchSupported says whether a Watcher can be made here.
const WatchSupported = true

// Watcher hears from the kernel when the peer of a watched socket closes
// or resets it, without a system call on the sockets' own paths.
//
// It is an epoll set of its own, to which each socket is added once, for
// EPOLLRDHUP alone, edge-triggered: a peer's FIN raises EPOLLRDHUP and an
// RST EPOLLHUP or EPOLLERR (reported whatever was asked), while data
// arriving, the sockets' everyday traffic, raises nothing here. Go's
// runtime keeps the sockets in its own epoll set as well, for their reads
// and writes; the two sets do not interfere. A socket closed by its owner
// leaves the set by itself, so there is no removal. The set's own file
// descriptor is handed to the runtime's poller, so the goroutine in Wait
// sleeps without holding a thread.
//
// Add and Close may be called from any goroutine; Wait from one.
type Watcher struct {
	f  *os.File
	rc syscall.RawConn
}

// NewWatcher returns a Watcher, or an error if the kernel will not make
// the epoll set (out of file descriptors, say).
func NewWatcher() (*Watcher, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// Non-blocking, so that os.NewFile hands it to the runtime's poller.
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	f := os.NewFile(uintptr(fd), "connpool-watcher")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Watcher{f: f, rc: rc}, nil
}

// Add watches s, whose events Wait reports with token. It returns an
// error if s has no socket, the socket is closed, or the kernel refuses.
// If the peer has already closed, the event comes at once.
func (w *Watcher) Add(s *Socket, token uint64) error {
	if s.rc == nil {
		return ErrPeerClosed
	}
	ev := syscall.EpollEvent{
		Events: syscall.EPOLLRDHUP | syscall.EPOLLET&0xffffffff,
		Fd:     int32(uint32(token)),
		Pad:    int32(uint32(token >> 32)),
	}
	var err error
	// Both file descriptors are used under Control, which keeps each
	// open until the call returns, so neither number can be reused by
	// another file meanwhile. The socket's Control, which may be a
	// wrapper's own code, is the outer one: it runs before the watcher's
	// file is held, so that whatever it does, Close of the watcher
	// included, cannot wait on this call.
	serr := s.rc.Control(func(fd uintptr) {
		werr := w.rc.Control(func(epfd uintptr) {
			err = syscall.EpollCtl(int(epfd), syscall.EPOLL_CTL_ADD, int(fd), &ev)
		})
		if werr != nil {
			err = werr
		}
	})
	if serr != nil {
		return serr
	}
	if err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Wait calls gone with the token of each watched socket whose peer closed
// or reset it, as the kernel reports them, until Close; then it returns.
func (w *Watcher) Wait(gone func(token uint64)) {
	var events [64]syscall.EpollEvent
	var n int
	collect := func(epfd uintptr) bool {
		for {
			var err error
			n, err = syscall.EpollWait(int(epfd), events[:], 0)
			if err != syscall.EINTR {
				return n > 0 || err != nil
			}
		}
	}
	for {
		n = 0
		if err := w.rc.Read(collect); err != nil {
			return // closed
		}
		for _, ev := range events[:max(n, 0)] {
			gone(uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32)
		}
	}
}

// Close stops the watcher: Wait returns, and the epoll set is closed once
// no Add is using it.
func (w *Watcher) Close() error { return w.f.Close() }
