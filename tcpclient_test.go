package connpool_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/testserver"
)

// dialClient returns a TCPClient built, as go-tcp-pool's code builds one,
// around a connection to srv.
func dialClient(t *testing.T, srv *testserver.Server) *connpool.TCPClient {
	t.Helper()
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := &connpool.TCPClient{TCPConn: nc.(*net.TCPConn)}
	t.Cleanup(func() { c.Close() })
	return c
}

// clientThePeerClosed returns a TCPClient that has written "one\n" to a
// server which then closed the connection, with the server and that first
// connection, once the close has reached the client.
func clientThePeerClosed(t *testing.T) (*testserver.Server, *connpool.TCPClient, *net.TCPConn) {
	t.Helper()
	srv := testserver.Start(t, nil)
	c := dialClient(t, srv)
	first := c.TCPConn
	if n, err := c.Write([]byte("one\n")); n != 4 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	srv.WaitTotal(4)
	srv.CloseConns()
	if !connpool.WaitConnPeerClosed(first, tcpWait) {
		t.Fatal("the server's close never reached the client")
	}
	return srv, c, first
}

func TestTCPClientRedialsAConnectionThePeerClosed(t *testing.T) {
	srv, c, first := clientThePeerClosed(t)
	// A plain *net.TCPConn would take these bytes and lose them: the
	// server's side is gone and answers them with a reset.
	if n, err := c.Write([]byte("two\n")); n != 4 || err != nil {
		t.Fatalf("Write after the server closed = %d, %v", n, err)
	}
	srv.WaitTotal(8)
	if c.TCPConn == first {
		t.Error("TCPConn is still the connection the server closed")
	}
	var got []string
	for _, b := range srv.Data() {
		got = append(got, string(b))
	}
	if len(got) != 2 || !strings.Contains(strings.Join(got, ""), "one\n") || !strings.Contains(strings.Join(got, ""), "two\n") {
		t.Errorf("server got %q, want one\\n and two\\n on two connections", got)
	}
}

func TestTCPClientWritesFromManyGoroutinesArriveWhole(t *testing.T) {
	srv := testserver.Start(t, nil)
	c := dialClient(t, srv)
	const goroutines, each = 8, 100
	msg := []byte("0123456789abcdef\n")
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				if n, err := c.Write(msg); n != len(msg) || err != nil {
					t.Errorf("Write = %d, %v", n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	srv.WaitTotal(goroutines * each * len(msg))
	for _, b := range srv.Data() {
		if want := strings.Repeat(string(msg), goroutines*each); string(b) != want {
			t.Fatalf("server got %d bytes, not %d whole messages", len(b), goroutines*each)
		}
	}
}

// The zero TCPClient has nothing to dial, and no retry can give it an
// address: its Write fails at once, without waiting between tries.
func TestTCPClientZeroValueFailsWithAnError(t *testing.T) {
	var c connpool.TCPClient
	defer c.Close() // ends a wait, should the Write begin one
	c.SetMaxRetries(3)
	c.SetRetryInterval(time.Hour) // a Write that waited would hang
	type result struct {
		n   int
		err error
	}
	written := make(chan result, 1)
	go func() {
		n, err := c.Write([]byte("x"))
		written <- result{n, err}
	}()
	var r result
	select {
	case r = <-written:
	case <-time.After(tcpWait):
		t.Fatal("Write on the zero TCPClient waited between tries for an error no retry can change")
	}
	if r.n != 0 || r.err == nil {
		t.Fatalf("Write on the zero TCPClient = %d, %v; want 0 and an error", r.n, r.err)
	}
	if msg := r.err.Error(); !strings.Contains(msg, "no address") || strings.Contains(msg, "attempt") {
		t.Errorf("error %q does not say there is no address, as final", msg)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close on the zero TCPClient = %v", err)
	}
}

func TestTCPClientAfterClose(t *testing.T) {
	srv := testserver.Start(t, nil)
	c := dialClient(t, srv)
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	srv.WaitOpen(1)
	if err := c.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if n, err := c.Write([]byte("y")); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %d, %v; want 0 and net.ErrClosed", n, err)
	} else if !strings.Contains(err.Error(), "TCPClient is closed") {
		t.Errorf("Write after Close = %q, want it to say the TCPClient is closed", err)
	}
	srv.WaitOpen(0)
	if srv.Accepts() != 1 {
		t.Errorf("the server accepted %d connections, want 1: Write after Close redialled", srv.Accepts())
	}
}

// Close does not wait for a Write blocked on a peer that reads nothing: it
// ends it, and the Write reports net.ErrClosed.
func TestTCPClientCloseEndsABlockedWrite(t *testing.T) {
	// The server reads one byte, to show that the Write has begun, and
	// then nothing until the test ends.
	srv, _ := startStallingServer(t)
	c := dialClient(t, srv)
	written := make(chan error, 1)
	go func() {
		// Far more than loopback's socket buffers hold: it blocks until
		// Close.
		_, err := c.Write(make([]byte, 64<<20))
		written <- err
	}()
	srv.WaitTotal(1)
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	case <-time.After(tcpWait):
		t.Fatal("Close waited for a Write blocked on a peer that reads nothing")
	}
	select {
	case err := <-written:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("the blocked Write returned %v, want net.ErrClosed", err)
		}
	case <-time.After(tcpWait):
		t.Fatal("Close did not end the blocked Write")
	}
}

// Close ends a Write waiting between two tries, here after its redial was
// refused, rather than let it wait out the retry interval: the Write
// returns net.ErrClosed.
func TestTCPClientCloseEndsAWriteWaitingBetweenTries(t *testing.T) {
	srv := testserver.Start(t, nil)
	c := dialClient(t, srv)
	first := c.TCPConn
	addr := first.RemoteAddr().String()
	srv.Close()
	holdPort(t, addr) // the redial is refused
	if !connpool.WaitConnPeerClosed(first, tcpWait) {
		t.Fatal("the server's close never reached the client")
	}
	waiting := make(chan struct{}, 1) // two tries: one wait
	c.OnWait(func() { waiting <- struct{}{} })
	c.SetMaxRetries(2)
	c.SetRetryInterval(time.Hour) // only Close can end the wait
	closeEndsWrite(t, c, waiting, "waiting between tries")
}

// unansweredPeer returns a connection that its server accepted and then
// closed, once the close has reached it, from a listening socket whose
// accept queue is then full, so that the kernel drops the SYN of any
// other connection to it: a dial there goes unanswered until the test
// ends, or the dialler gives up.
func unansweredPeer(t *testing.T) *net.TCPConn {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil { // room for one connection waiting
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}
	first, err := net.DialTCP("tcp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close() })
	afd, _, err := syscall.Accept(fd)
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(afd)
	filler, err := net.DialTCP("tcp", nil, addr) // waits in the queue, which is then full
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { filler.Close() })
	if !connpool.WaitConnPeerClosed(first, tcpWait) {
		t.Fatal("the server's close never reached the client")
	}
	return first
}

// Close ends a Write redialling a server that does not answer, rather
// than let the dial run its course, and the Write returns net.ErrClosed,
// not the dial's error.
func TestTCPClientCloseEndsAWriteRedialling(t *testing.T) {
	c := &connpool.TCPClient{TCPConn: unansweredPeer(t)}
	t.Cleanup(func() { c.Close() })
	// One try, so one redial; and one that only Close can end, as the
	// server never answers and the dial's timeout is far off.
	dialling := make(chan struct{}, 1)
	c.OnRedial(func() { dialling <- struct{}{} }, time.Hour)
	closeEndsWrite(t, c, dialling, "redialling")
}

// closeEndsWrite starts a Write on c, waits for reached, which a test hook
// signals once the Write is doing what it describes, then closes c: the
// Write must return an error wrapping net.ErrClosed.
func closeEndsWrite(t *testing.T, c *connpool.TCPClient, reached <-chan struct{}, doing string) {
	t.Helper()
	written := make(chan error, 1)
	go func() {
		_, err := c.Write([]byte("x"))
		written <- err
	}()
	select {
	case <-reached:
	case err := <-written:
		t.Fatalf("Write = %v before it began %s", err, doing)
	case <-time.After(tcpWait):
		t.Fatalf("the Write never began %s", doing)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	waitErrIs(t, written, net.ErrClosed, "a Write "+doing+" at Close")
}

// io.Copy into a TCPClient from a reader that is no io.WriterTo (a
// LimitedReader; an *os.File or a bufio.Reader end up the same way) calls
// the ReadFrom promoted from the embedded *net.TCPConn. It must go through
// Write, which checks the connection and redials, rather than write
// straight onto a connection the peer has closed and lose the bytes.
func TestTCPClientCopyIntoRedialsAConnectionThePeerClosed(t *testing.T) {
	srv, c, first := clientThePeerClosed(t)
	src := io.LimitReader(strings.NewReader("two\n"), 4) // no WriteTo
	if n, err := io.Copy(c, src); n != 4 || err != nil {
		t.Fatalf("io.Copy after the server closed = %d, %v", n, err)
	}
	if c.TCPConn == first {
		t.Fatal("io.Copy wrote onto the connection the server closed: the bytes are lost")
	}
	srv.WaitTotal(8)
}

// The zero value fails a Write with an error, as TCPClient's doc says;
// io.Copy into it must too, without a panic.
func TestTCPClientZeroValueCopyIntoFailsWithAnError(t *testing.T) {
	var c connpool.TCPClient
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("io.Copy into a zero TCPClient panicked: %v", r)
		}
	}()
	if _, err := io.Copy(&c, io.LimitReader(strings.NewReader("x"), 1)); err == nil {
		t.Fatal("io.Copy into a zero TCPClient succeeded")
	}
	// From a file, io.Copy asks the file's WriteTo first, which asks the
	// destination for its SyscallConn.
	f, err := os.CreateTemp(t.TempDir(), "copy")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("x"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SyscallConn(); err == nil {
		t.Fatal("SyscallConn of a zero TCPClient returned no error")
	}
	if _, err := io.Copy(&c, f); err == nil {
		t.Fatal("io.Copy from a file into a zero TCPClient succeeded")
	}
}

// A Write whose redial fails must leave a connection for the promoted
// methods (RemoteAddr, deadlines, Read) to act on, as go-tcp-pool's
// reconnect kept the old one when its dial failed: they must fail, not
// dereference a nil *net.TCPConn.
func TestTCPClientPromotedMethodsAfterAFailedRedial(t *testing.T) {
	srv := testserver.Start(t, nil)
	c := dialClient(t, srv)
	first := c.TCPConn
	addr := first.RemoteAddr().String()
	srv.Close()
	holdPort(t, addr) // the redial is refused
	if !connpool.WaitConnPeerClosed(first, tcpWait) {
		t.Fatal("the server's close never reached the client")
	}
	if n, err := c.Write([]byte("lost\n")); n != 0 || err == nil {
		t.Fatalf("Write with the server gone = %d, %v; want 0 and an error", n, err)
	}
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("a promoted method after a failed redial panicked: %v", r)
		}
	}()
	if got := c.RemoteAddr(); got == nil || got.String() != addr {
		t.Errorf("RemoteAddr = %v, want %s", got, addr)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("Read on the broken connection succeeded")
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close = %v, want nil", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
}

// holdPort binds a socket to addr, a port of 127.0.0.1 whose listener has
// just closed, and does not listen on it, so that dials to addr are refused
// until the test ends and no other listener can take the port meanwhile.
// It skips the test if another socket took the port first.
func holdPort(t *testing.T, addr string) {
	t.Helper()
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	// Past the closed connections' TIME_WAIT on the port, not past a
	// listener's bind.
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: a.Port}); err != nil {
		t.Skipf("another socket took %s before the test could hold it: %v", addr, err)
	}
}

// A deadline set through the embedded connection bounds a Write: one that
// reaches it returns the timeout and keeps the connection, rather than
// redial and write again on a connection without the deadline.
func TestTCPClientWriteObeysTheDeadline(t *testing.T) {
	srv := testserver.Start(t, nil)
	c := dialClient(t, srv)
	c.SetMaxRetries(3)
	first := c.TCPConn
	if err := c.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := c.Write([]byte("late\n"))
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write past the deadline = %d, %v; want 0 and os.ErrDeadlineExceeded", n, err)
	}
	if c.TCPConn != first {
		t.Error("a Write past its deadline replaced the connection")
	}
	if err := c.SetWriteDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, c, []byte("on time\n"))
	srv.WaitTotal(len("on time\n"))
}

// A Write that its deadline cuts short after part of its bytes went out
// closes the connection: the next Write goes to a new one, and the peer
// sees the torn message at the end of its stream, not followed by more.
func TestTCPClientWriteCutShortByTheDeadlineEndsTheStream(t *testing.T) {
	srv, release := startStallingServer(t)
	c := dialClient(t, srv)
	first := c.TCPConn
	written := make(chan int, 1)
	go func() {
		// Far more than loopback's socket buffers hold: it blocks until
		// the deadline.
		n, err := c.Write(make([]byte, 64<<20))
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Write = %d, %v; want os.ErrDeadlineExceeded", n, err)
		}
		written <- n
	}()
	srv.WaitTotal(1)
	if err := first.SetWriteDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	var n int
	select {
	case n = <-written:
	case <-time.After(tcpWait):
		t.Fatal("the deadline did not end the blocked Write")
	}
	if n == 0 {
		t.Fatal("the cut-short Write reports no byte written; the server read one")
	}
	// Clear the deadline, as a caller would before its next Write. (If the
	// Write closed first, as it should, that fails, harmlessly.)
	first.SetWriteDeadline(time.Time{})
	release()
	mustWrite(t, c, []byte("NEXT"))
	srv.WaitTotal(n + len("NEXT"))
	if c.TCPConn == first {
		t.Error("the connection the deadline tore is still in use")
	}
	if got := srv.Data()[0]; bytes.HasSuffix(got, []byte("NEXT")) {
		t.Error("the next Write followed the torn message on its stream")
	}
}

// io.Copy from a file into a TCPClient goes through Write: the connection
// the server closed is found and replaced, and the bytes arrive on the new
// one. io.Copy asks the source for WriteTo before it asks the destination
// for ReadFrom, and (*os.File).WriteTo would sendfile straight onto the
// current socket, dead or not, had the TCPClient's SyscallConn given it
// one its poller knows.
func TestTCPClientCopyFromFileGoesThroughWrite(t *testing.T) {
	srv, c, first := clientThePeerClosed(t)
	name := filepath.Join(t.TempDir(), "two")
	if err := os.WriteFile(name, []byte("two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := io.Copy(c, f)
	if n != 4 || err != nil {
		t.Fatalf("io.Copy from a file = %d, %v; want 4, nil", n, err)
	}
	if c.TCPConn == first {
		t.Fatal("io.Copy from a file reported 4 bytes written onto the connection the server had closed: " +
			"they went past Write's check and are lost")
	}
	srv.WaitTotal(len("one\ntwo\n"))
}

// A TCPClient with no deadline whose redials time out gives up with an
// error that says so in its text, but is no timeout: a caller testing
// Timeout() would take it for its own deadline.
func TestTCPClientGivingUpAfterRedialsTimedOutIsNoTimeout(t *testing.T) {
	_, c, _ := clientThePeerClosed(t)
	c.SetMaxRetries(2)
	c.OnRedial(func() {}, time.Nanosecond) // every redial times out at once
	n, err := c.Write([]byte("two\n"))
	if n != 0 || err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("Write = %d, %v; want 0 and an error naming the redial's timeout", n, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("Write with no deadline = %v, which is a timeout", err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Write with no deadline = %v, which wraps a deadline's error", err)
	}
}
