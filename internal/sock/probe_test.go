//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sock

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool/internal/testserver"
)

// The probe is tested here, inside the package, against real sockets on
// 127.0.0.1: each test brings a connection into a state, waits until the
// kernel of the probing side knows it, and checks what the probe says.

// tcpPair returns both ends of a TCP connection on 127.0.0.1, closed when
// the test ends.
func tcpPair(t *testing.T) (client, server net.Conn) {
	return streamPair(t, "tcp", "127.0.0.1:0")
}

// unixPair returns both ends of a Unix-domain stream connection, closed
// when the test ends.
func unixPair(t *testing.T) (client, server net.Conn) {
	return streamPair(t, "unix", t.TempDir()+"/s")
}

// streamPair returns both ends of a stream connection on network to a
// listener at addr, closed when the test ends.
func streamPair(t *testing.T, network, addr string) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The kernel completes the handshake before Accept, so no goroutine
	// is needed to dial.
	client, err = net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// tlsPair returns both ends of a TLS 1.3 connection on 127.0.0.1, after
// the handshake, with the TCP connection under the client. The server has
// sent its session tickets, which the client has not read.
func tlsPair(t *testing.T) (client *tls.Conn, rawClient net.Conn, server *tls.Conn) {
	t.Helper()
	rawClient, rawServer := tcpPair(t)
	serverCfg, clientCfg := testserver.TLSConfigs(t)
	client, server = tls.Client(rawClient, clientCfg), tls.Server(rawServer, serverCfg)
	handshake := make(chan error, 1)
	go func() { handshake <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-handshake; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	return client, rawClient, server
}

// waitSocket waits, without reading anything, until ready says so of the
// socket under c, which must be a *net.TCPConn: RawConn.Read calls ready
// each time the runtime's poller sees the socket readable, so the wait
// ends on the kernel's event, not on a timer. It fails the test after 10s.
func waitSocket(t *testing.T, c net.Conn, ready func(fd uintptr) bool) {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	if err := rc.Read(ready); err != nil {
		t.Fatalf("waiting for the socket: %v", err)
	}
}

// readable reports whether bytes, or the peer's close or reset, wait on
// the socket fd. It reads nothing.
func readable(fd uintptr) bool {
	var b [1]byte
	for {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err != syscall.EINTR {
			return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
		}
	}
}

// checkProbe probes nc with the one-shot Probe, then twice through a
// Socket (the second time with what the first found out), and fails the
// test unless each says want.
func checkProbe(t *testing.T, nc net.Conn, want error) {
	t.Helper()
	if err := Probe(nc); err != want {
		t.Errorf("Probe = %v, want %v", err, want)
	}
	var s Socket
	s.Init(nc)
	for i := range 2 {
		if err := s.Probe(); err != want {
			t.Errorf("probe %d through a Socket = %v, want %v", i+1, err, want)
		}
	}
}

// socketOf returns a Socket for nc.
func socketOf(nc net.Conn) *Socket {
	s := new(Socket)
	s.Init(nc)
	return s
}

func TestProbeHealthyConn(t *testing.T) {
	client, _ := tcpPair(t)
	checkProbe(t, client, nil)
}

func TestProbePeerClosed(t *testing.T) {
	client, server := tcpPair(t)
	server.Close()
	waitSocket(t, client, readable)
	checkProbe(t, client, ErrPeerClosed)
}

func TestProbePeerReset(t *testing.T) {
	client, server := tcpPair(t)
	server.(*net.TCPConn).SetLinger(0) // close with a RST
	server.Close()
	waitSocket(t, client, readable)
	checkProbe(t, client, ErrPeerClosed)
}

func TestProbeUnreadData(t *testing.T) {
	client, server := tcpPair(t)
	if _, err := server.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	waitSocket(t, client, readable)
	checkProbe(t, client, ErrUnreadData)

	// Once the stray byte is read, the connection is healthy again: a
	// pooled socket's prober does not hold on to an earlier verdict.
	c := socketOf(client)
	if err := c.Probe(); err != ErrUnreadData {
		t.Fatalf("probe = %v, want %v", err, ErrUnreadData)
	}
	if _, err := io.ReadFull(client, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if err := c.Probe(); err != nil {
		t.Errorf("probe after the stray byte was read = %v, want nil", err)
	}
}

// A close behind unread bytes is a close: a writer that never reads (a
// log shipper whose server sends a goodbye line, say) must not write to
// the connection; and it is told from a close with nothing waiting, as a
// reader may still want the bytes. Only Linux tells it without reading
// the bytes.
func TestProbePeerClosedBehindUnreadData(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux tells a close behind unread bytes without reading them")
	}
	client, server := tcpPair(t)
	if _, err := server.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	server.Close()
	waitSocket(t, client, finReceived)
	checkProbe(t, client, ErrClosedAfterData)
}

// A read deadline left in the past by the last holder is no false alarm
// (go-sql-driver/mysql issue 963), and hides no close either.
func TestProbeIgnoresLeftoverReadDeadline(t *testing.T) {
	client, server := tcpPair(t)
	client.SetReadDeadline(time.Now().Add(-time.Second))
	checkProbe(t, client, nil)

	server.Close()
	waitSocket(t, client, readable) // clears the deadline while it waits
	client.SetReadDeadline(time.Now().Add(-time.Second))
	checkProbe(t, client, ErrPeerClosed)
}

// TLS servers send records unasked (TLS 1.3 session tickets, here with
// application data after them); bytes waiting under TLS are no alarm.
func TestProbeTLSUnreadDataIsNoAlarm(t *testing.T) {
	client, rawClient, server := tlsPair(t)
	if _, err := server.Write([]byte("unasked")); err != nil {
		t.Fatal(err)
	}
	waitSocket(t, rawClient, readable)
	checkProbe(t, client, nil)
}

func TestProbeTLSPeerClosed(t *testing.T) {
	t.Run("NothingWaiting", func(t *testing.T) {
		client, rawClient, server := tlsPair(t)
		// A round trip, so that the client reads the session tickets and
		// nothing is left waiting when the server goes.
		if _, err := client.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(server, buf); err != nil {
			t.Fatal(err)
		}
		if _, err := server.Write(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(client, buf); err != nil {
			t.Fatal(err)
		}
		server.NetConn().Close() // no close_notify: a crash, or a reset middlebox
		waitSocket(t, rawClient, readable)
		checkProbe(t, client, ErrPeerClosed)
	})
	t.Run("BehindUnreadRecords", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("only Linux tells a close behind unread bytes without reading them")
		}
		client, rawClient, server := tlsPair(t)
		// The session tickets and the close_notify alert wait unread in
		// front of the FIN.
		server.Close()
		waitSocket(t, rawClient, finReceived)
		checkProbe(t, client, ErrClosedAfterData)
	})
}

// netConnWrapper stands for a user's wrapper (metrics, logging) that
// exposes the connection it wraps.
type netConnWrapper struct {
	net.Conn
	inner net.Conn
}

func (w netConnWrapper) NetConn() net.Conn { return w.inner }

func TestProbeLooksThroughNetConnWrappers(t *testing.T) {
	client, server := tcpPair(t)
	if _, err := server.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	waitSocket(t, client, readable)
	// Neither wrapper is a syscall.Conn: only unwrapping finds the byte.
	checkProbe(t, netConnWrapper{Conn: client, inner: client}, ErrUnreadData)
	checkProbe(t, &netConnWrapper{Conn: netConnWrapper{Conn: client, inner: client}, inner: netConnWrapper{Conn: client, inner: client}}, ErrUnreadData)
	// Unwrapping stops at a wrapper that exposes nothing or itself.
	checkProbe(t, netConnWrapper{Conn: client}, nil)
	self := &netConnWrapper{Conn: client}
	self.inner = self
	checkProbe(t, self, nil)
}

// funcWrapper is a wrapper that cannot be compared with ==.
type funcWrapper struct {
	net.Conn
	inner func() net.Conn
}

func (w funcWrapper) NetConn() net.Conn { return w.inner() }

// A wrapper that cannot be compared is looked through like any, also one
// that returns itself, and Abort closes what it wraps.
func TestUncomparableWrappers(t *testing.T) {
	client, server := tcpPair(t)
	if _, err := server.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	waitSocket(t, client, readable)
	w := funcWrapper{Conn: client, inner: func() net.Conn { return client }}
	checkProbe(t, w, ErrUnreadData)
	var self funcWrapper
	self = funcWrapper{Conn: client, inner: func() net.Conn { return self }}
	checkProbe(t, self, nil)
	if err := Abort(w); err != nil {
		t.Errorf("Abort = %v", err)
	}
	if _, err := client.Write([]byte("y")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Abort = %v, want net.ErrClosed", err)
	}
}

func TestProbeWithoutSocketIsNil(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	checkProbe(t, a, nil)
}

// A socket closed on our side, by Drain under a holder say, is dead,
// whether or not an earlier probe kept its RawConn.
func TestProbeClosedConn(t *testing.T) {
	client, _ := tcpPair(t)
	c := socketOf(client)
	if err := c.Probe(); err != nil {
		t.Fatalf("probe = %v, want nil", err)
	}
	client.Close()
	if err := c.Probe(); err != ErrPeerClosed {
		t.Errorf("probe through a Socket after Close = %v, want %v", err, ErrPeerClosed)
	}
	if err := Probe(client); err != ErrPeerClosed {
		t.Errorf("probe after Close = %v, want %v", err, ErrPeerClosed)
	}
}

// Probing a Socket again costs a system call and nothing else.
func TestProbeOfPooledSocketDoesNotAllocate(t *testing.T) {
	for _, tc := range []struct {
		name string
		nc   func(t *testing.T) net.Conn
	}{
		{"TCP", func(t *testing.T) net.Conn { c, _ := tcpPair(t); return c }},
		{"TLS", func(t *testing.T) net.Conn { c, _, _ := tlsPair(t); return c }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := socketOf(tc.nc(t))
			var err error
			allocs := testing.AllocsPerRun(100, func() { err = c.Probe() })
			if err != nil || allocs != 0 {
				t.Errorf("probe = %v with %v allocations, want nil with none", err, allocs)
			}
		})
	}
}

// embeddedTLS is a user's wrapper (metrics, logging) that embeds the
// *tls.Conn it wraps: it gets the *tls.Conn's NetConn method, which leads
// to the TCP socket under the TLS layer.
type embeddedTLS struct {
	*tls.Conn
}

// Bytes waiting under TLS are no alarm (session tickets), also when the
// *tls.Conn is embedded in a wrapper rather than exposed by its NetConn.
func TestProbeTLSEmbeddedInAWrapperUnreadDataIsNoAlarm(t *testing.T) {
	client, rawClient, server := tlsPair(t)
	if _, err := server.Write([]byte("unasked")); err != nil { // a record sent unasked, as a session ticket is
		t.Fatal(err)
	}
	waitSocket(t, rawClient, readable)
	checkProbe(t, client, nil) // as the *tls.Conn itself
	checkProbe(t, embeddedTLS{client}, nil)
	checkProbe(t, &embeddedTLS{client}, nil)
}

// unsupportedRaw is a user's wrapper that implements syscall.Conn by
// passing the call on, and says ErrUnsupported where what it wraps has no
// socket to give (a *tls.Conn, a net.Pipe).
type unsupportedRaw struct {
	net.Conn
}

func (w unsupportedRaw) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := w.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// A connection whose wrapper cannot give its socket cannot be probed: it
// probes as healthy, as one with no SyscallConn at all does, not as closed.
func TestProbeUnsupportedSyscallConnIsNotClosed(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	checkProbe(t, unsupportedRaw{a}, nil)

	client, _, _ := tlsPair(t)
	checkProbe(t, unsupportedRaw{client}, nil)
}

// On Linux a close behind unread bytes is told from bytes alone on a
// Unix-domain socket as on TCP: the Network of either pool may be "unix".
func TestProbeUnixPeerClosedBehindUnreadData(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux tells a close behind unread bytes without reading them")
	}
	client, server := unixPair(t)
	if _, err := server.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	waitSocket(t, client, readable)
	checkProbe(t, client, ErrUnreadData) // the bytes alone, before the close
	server.Close()                       // a Unix socket's peer learns of the close within the call
	checkProbe(t, client, ErrClosedAfterData)
}
