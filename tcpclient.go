package connpool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/seed-a245f091/connpool/internal/sock"
)

var (
	// errNoAddress is what a TCPClient's Write returns when it has no
	// connection and has never had one to take the address from.
	errNoAddress = errors.New("connpool: TCPClient has no connection and no address to dial")

	// errTCPClientClosed is what a TCPClient's Write returns once Close
	// has been called. It wraps net.ErrClosed, the error a net.Conn user
	// tests for.
	errTCPClientClosed = fmt.Errorf("connpool: TCPClient is closed: %w", net.ErrClosed)
)

// TCPClient is one TCP connection that a Write redials when it finds the
// connection broken. It is the type samber/go-tcp-pool v1 builds each
// connection of its pool from, kept with the same shape (the embedded
// *net.TCPConn, SetMaxRetries, SetRetryInterval, Write) so that code
// naming it builds unchanged. TCPPool does not use it: for a net.Conn
// that reconnects, use a TCPPool, of size one if need be ([Dial]), which
// also redials in the background, serves Read, takes deadlines and is
// safe for concurrent use.
//
// A TCPClient is built from a connection, as in
// &TCPClient{TCPConn: conn}; it redials conn's remote address. Its zero
// value has no connection and nothing to dial: Write returns an error at
// once, as no retry could find an address.
//
// Write checks the connection before it sends, with one non-blocking
// system call, so that bytes are not handed to a socket whose peer has
// closed it; if the connection is broken, or the write fails before
// sending anything, Write closes it, dials anew and tries again, as
// many times in all as SetMaxRetries says (at least once), waiting the
// retry interval between tries; io.Copy into a TCPClient goes through
// Write too (see ReadFrom and SyscallConn), but net.Buffers.WriteTo does
// not: it finds the embedded connection's own vectored write, which
// writes onto the current connection unchecked (write the buffers one by
// one instead, or use a TCPPool). Writes go one at a time, and are safe for
// concurrent use with each other, the setters and Close. Close does not
// wait for a Write, but ends it, whether it is blocked on a peer that
// reads nothing, waiting between tries or redialling. The
// methods of the embedded connection (Read, deadlines, addresses) act on
// whichever connection is current and race with a Write that replaces
// it; a deadline set through them applies to that connection only.
type TCPClient struct {
	*net.TCPConn

	wmu    sync.Mutex   // held by Write: one at a time
	raddr  *net.TCPAddr // where to redial, from the first connection seen; under wmu
	probed *net.TCPConn // the connection sock was set up for; under wmu
	sock   sock.Socket  // probes probed; under wmu

	// mu guards the settings, closed and ctx, and, with wmu held too,
	// changes to TCPConn, so that Close reads it without waiting for a
	// Write.
	mu            sync.Mutex
	maxRetries    int
	retryInterval time.Duration
	closed        bool
	// ctx, which Close cancels, bounds a Write's waits between tries and
	// its redials. The first Write makes it, as the zero value must work;
	// a Write that finds the client closed makes none.
	ctx    context.Context
	cancel context.CancelFunc

	// For tests; nil or zero otherwise, and set before the first Write.
	testHookWait func()        // called as a Write starts to wait between two tries
	testHookDial func()        // called as a Write starts to redial
	dialTimeout  time.Duration // of a redial; 0 means defaultDialTimeout
}

// SetMaxRetries sets how many times in all a Write tries before it gives
// up: each try checks the connection, dials a new one if it is broken, and
// writes. Zero or less means one try, where go-tcp-pool v1 made none and
// failed every Write.
func (c *TCPClient) SetMaxRetries(maxRetries int) {
	c.mu.Lock()
	c.maxRetries = maxRetries
	c.mu.Unlock()
}

// SetRetryInterval sets how long a Write waits between two tries. Zero or
// less means no wait.
func (c *TCPClient) SetRetryInterval(retryInterval time.Duration) {
	c.mu.Lock()
	c.retryInterval = retryInterval
	c.mu.Unlock()
}

// Write writes b on the current connection, checking it first and
// redialling if it is broken (see TCPClient). It returns len(b) and nil,
// or the count of bytes written and an error: a write that fails after
// sending part of b is not tried again, as that would send the part
// twice. After Close, or when Close ends it, it returns an error wrapping
// [net.ErrClosed]. With no connection and no address to dial, as on the
// zero value, it fails at once. A write that reaches a deadline set
// through the embedded connection returns the timeout, and is not tried
// again: a retry on a new connection, which has no deadline, would wait
// for as long as the peer does. If it wrote nothing, the connection is
// kept, as a timeout does not break it; if it wrote part of b, the
// connection is closed, so that its peer sees the torn message at the end
// of a stream, never followed by the next Write's bytes. A Write that
// gives up wraps the error of its last try, but a redial's timeout keeps
// only its text, so that it does not read as the Write's own deadline.
func (c *TCPClient) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	closed, tries, interval := c.closed, max(c.maxRetries, 1), c.retryInterval
	if !closed && c.ctx == nil {
		c.ctx, c.cancel = context.WithCancel(context.Background())
	}
	ctx := c.ctx
	c.mu.Unlock()
	if closed {
		return 0, &opError{op: "write", err: errTCPClientClosed}
	}
	var last error
	for i := range tries {
		if i > 0 && interval > 0 && !c.pause(ctx, interval) {
			return 0, &opError{op: "write", err: errTCPClientClosed}
		}
		tc, err := c.connect(ctx)
		if err != nil {
			// A try that Close cut short, or that failed as Close came,
			// is the closed client's error, not its own.
			if c.isClosed() {
				return 0, &opError{op: "write", err: errTCPClientClosed}
			}
			if err == errNoAddress {
				return 0, &opError{op: "write", err: err} // no retry can find one
			}
			last = err
			continue
		}
		n, err := tc.Write(b)
		if err == nil {
			return n, nil
		}
		if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) && !c.isClosed() {
			return n, &opError{op: "write", addr: c.raddr.String(), err: err}
		}
		c.replace(nil)
		if c.isClosed() {
			// Close ended the write.
			return n, &opError{op: "write", addr: c.raddr.String(), err: errTCPClientClosed}
		}
		if n > 0 {
			// Not again: a retry would send the first n bytes twice.
			return n, &opError{op: "write", addr: c.raddr.String(), err: err}
		}
		last = err
	}
	return 0, &opError{op: "write", detail: gaveUp(tries), err: asCause(last)}
}

// pause waits d between two tries of a Write, and reports false if Close
// ended the wait, by cancelling ctx, before d passed.
func (c *TCPClient) pause(ctx context.Context, d time.Duration) bool {
	if c.testHookWait != nil {
		c.testHookWait()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// SyscallConn returns the raw connection of the current socket, as the
// embedded *net.TCPConn's does, but one that the os package does not
// take for a socket of its poller: so that io.Copy from an *os.File into
// c, which asks the file's WriteTo first, does not sendfile onto the
// socket past Write, and goes through ReadFrom, and Write, instead.
func (c *TCPClient) SyscallConn() (syscall.RawConn, error) {
	c.mu.Lock()
	tc := c.TCPConn
	c.mu.Unlock()
	if tc == nil {
		return nil, syscall.EINVAL
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	return struct{ syscall.RawConn }{rc}, nil
}

// ReadFrom writes what it reads from r with Write, so that io.Copy into c
// checks the connection and redials as Write does, rather than take the
// ReadFrom of the embedded *net.TCPConn, which writes onto whatever
// connection is current, broken or nil, and runs alongside Writes instead
// of one at a time with them.
func (c *TCPClient) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{c}, r)
}

// connect returns a connection that looks usable: the current one if its
// probe finds it sound, else a new one dialled to c.raddr, which it makes
// current. It returns errTCPClientClosed once Close has been called; a
// redial under way when Close cancels ctx fails. Caller must hold c.wmu.
func (c *TCPClient) connect(ctx context.Context) (*net.TCPConn, error) {
	if tc := c.TCPConn; tc != nil {
		if c.probed != tc {
			if a, ok := tc.RemoteAddr().(*net.TCPAddr); ok && c.raddr == nil {
				c.raddr = a
			}
			c.sock.Init(tc)
			c.probed = tc
		}
		if !sock.PeerGone(c.sock.Probe()) {
			return tc, nil
		}
		c.replace(nil)
	}
	if c.isClosed() {
		return nil, errTCPClientClosed
	}
	if c.raddr == nil {
		return nil, errNoAddress
	}
	d := net.Dialer{Timeout: defaultDialTimeout}
	if c.dialTimeout != 0 {
		d.Timeout = c.dialTimeout
	}
	if c.testHookDial != nil {
		c.testHookDial()
	}
	nc, err := d.DialContext(ctx, "tcp", c.raddr.String())
	if err != nil {
		return nil, err
	}
	tc := nc.(*net.TCPConn)
	if !c.replace(tc) {
		tc.Close()
		return nil, errTCPClientClosed
	}
	return tc, nil
}

// replace closes the current connection, if any, and makes tc current
// instead, unless Close has been called: then it reports false and leaves
// tc alone. A nil tc leaves the closed connection current, as go-tcp-pool
// did when its redial failed, so that the promoted methods fail on it
// rather than dereference nil; its probe finds it closed. Caller must hold
// c.wmu.
func (c *TCPClient) replace(tc *net.TCPConn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.TCPConn != nil {
		c.TCPConn.Close()
	}
	if tc == nil {
		return true
	}
	if c.closed {
		return false
	}
	c.TCPConn = tc
	return true
}

func (c *TCPClient) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Close closes the current connection, if there is one, and ends the
// Write in progress, if any, whether it is blocked on the connection,
// waiting between tries or redialling, without waiting for it to return:
// that Write, and every Write after Close, returns an error wrapping
// [net.ErrClosed] rather than redial. Calling Close again does nothing
// and returns nil.
func (c *TCPClient) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.cancel != nil {
		c.cancel()
	}
	if c.TCPConn == nil {
		return nil
	}
	if err := c.TCPConn.Close(); !errors.Is(err, net.ErrClosed) {
		return err // nil, or a failure; closed already is no failure
	}
	return nil
}
