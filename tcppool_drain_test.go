package connpool_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/testserver"
)

// answerThenClose is a server handler that answers each 4-byte request
// with "re:" and the request, and closes connection 0 once it has
// answered closeAfter requests.
func answerThenClose(closeAfter int) testserver.Handler {
	return func(_ *testserver.Server, id int, c net.Conn) {
		buf := make([]byte, 4)
		for i := 1; ; i++ {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if _, err := c.Write(append([]byte("re:"), buf...)); err != nil {
				return
			}
			if id == 0 && i == closeAfter {
				return
			}
		}
	}
}

// mustReadFull reads exactly len(want) bytes from p and fails the test
// unless they are want.
func mustReadFull(t *testing.T, p *connpool.TCPPool, want string) {
	t.Helper()
	got := make([]byte, len(want))
	if n, err := io.ReadFull(p, got); err != nil || string(got) != want {
		t.Fatalf("ReadFull = %q, %v; want %q", got[:n], err, want)
	}
}

// probingPool dials a TCPPool to addr (through dial, unless nil) whose
// every Write probes its connection, which redials at once and never
// gives a Write up, and whose Reads give up testserver.WaitLimit from now.
func probingPool(t *testing.T, addr string, dial connpool.DialFunc) *connpool.TCPPool {
	t.Helper()
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{addr},
		Dial:        dial,
		ProbeAfter:  time.Nanosecond, // every Write probes
		MaxAttempts: tcpAttempts,
		DialBackoff: time.Millisecond,
	})
	if err := p.SetReadDeadline(time.Now().Add(testserver.WaitLimit)); err != nil {
		t.Fatal(err)
	}
	return p
}

// A server that answers a request and then closes (a graceful restart,
// say) leaves the answer waiting behind its FIN. The probe before the
// next Write sends that Write to a new connection, but keeps the old one
// for Read, which returns the answer, then io.EOF for the old
// connection's end, then what comes on the new one.
func TestTCPPoolReadGetsAnswerSentBeforeServerClosed(t *testing.T) {
	srv := newTCPServer(t, answerThenClose(2))
	p := probingPool(t, srv.Addr(), nil)
	mustWrite(t, p, []byte("aaaa"))
	mustReadFull(t, p, "re:aaaa")
	mustWrite(t, p, []byte("bbbb")) // answered; then the server closes
	waitPeerClosedSeen(t, p)
	mustWrite(t, p, []byte("cccc")) // on a new connection
	if n := p.OpenConns(); n != 2 {
		t.Fatalf("%d connections open, want 2: the closed one, its answer unread, and its replacement", n)
	}
	mustReadFull(t, p, "re:bbbb")
	if n, err := p.Read(make([]byte, 16)); n != 0 || err != io.EOF {
		t.Fatalf("Read after the closed connection's last bytes = %d, %v; want 0, io.EOF", n, err)
	}
	if n := p.OpenConns(); n != 1 {
		t.Fatalf("%d connections open once the closed one was read to its end, want 1", n)
	}
	mustReadFull(t, p, "re:cccc")
	if st := p.Stats(); st.ClosedStale != 1 || st.Reconnects != 1 || st.FailedWrites != 0 {
		t.Fatalf("stats %+v, want 1 stale connection, 1 reconnect, no failed write", st)
	}
}

// A pool that nobody reads from (a log shipper whose server says goodbye
// before it closes) does not keep a closed connection open for its
// unread bytes.
func TestTCPPoolNeverReadDoesNotKeepClosedConnection(t *testing.T) {
	srv := newTCPServer(t, answerThenClose(1))
	p := probingPool(t, srv.Addr(), nil)
	mustWrite(t, p, []byte("aaaa"))
	waitPeerClosedSeen(t, p)
	mustWrite(t, p, []byte("bbbb"))
	if n := p.OpenConns(); n != 1 {
		t.Fatalf("%d connections open, want 1: the closed one goes at once", n)
	}
}

// With several connections, reader goroutines read ahead at most 16 KiB
// each; what the server sent beyond that before closing stays in the
// socket. A Write whose probe finds the close leaves the connection to
// its reader, so Read gets every byte.
func TestTCPPoolReadersGetEverythingSentBeforeServerClosed(t *testing.T) {
	const answer = 20 << 10 // more than a reader reads ahead
	srv := newTCPServer(t, func(_ *testserver.Server, id int, c net.Conn) {
		b := make([]byte, 1)
		for {
			if _, err := c.Read(b); err != nil {
				return
			}
			if b[0] == 'q' {
				c.Write(bytes.Repeat([]byte("x"), answer))
				return // and close
			}
			if _, err := c.Write(b); err != nil {
				return
			}
		}
	})
	p := probingPool(t, srv.Addr(), nil)
	mustWrite(t, p, []byte("q"))
	waitPeerClosedSeen(t, p)
	if err := p.SetPoolSize(2); err != nil {
		t.Fatal(err)
	}
	waitConnsUp(t, p, 2)
	// The first Read, with two connections, starts the readers; the one
	// on the closed connection reads the first 16 KiB of the answer.
	xs := 0
	buf := make([]byte, 1)
	if _, err := io.ReadFull(p, buf); err != nil {
		t.Fatal(err)
	}
	xs += bytes.Count(buf, []byte("x"))
	// Write until one Write has found the closed connection.
	for i := 0; p.Stats().ClosedStale == 0; i++ {
		if i == 10000 {
			t.Fatalf("10000 Writes and none found the closed connection; stats %+v", p.Stats())
		}
		mustWrite(t, p, []byte("w"))
	}
	buf = make([]byte, 4096)
	for xs < answer {
		n, err := p.Read(buf)
		if err != nil {
			t.Fatalf("Read = %v with %d of the %d bytes sent before the close read", err, xs, answer)
		}
		xs += bytes.Count(buf[:n], []byte("x"))
	}
}

// Under TLS, the records waiting behind a server's FIN may be its
// close_notify alone. A connection drained of nothing but that is no news
// to Read, which reads on from the replacement.
func TestTCPPoolTLSCloseNotifyAloneIsNoEOF(t *testing.T) {
	serverCfg, clientCfg := testserver.TLSConfigs(t)
	srv := testserver.StartWrapped(t, func(ln net.Listener) net.Listener { return tls.NewListener(ln, serverCfg) }, answerThenClose(1))
	p := probingPool(t, srv.Addr(), (&tls.Dialer{Config: clientCfg}).DialContext)
	mustWrite(t, p, []byte("aaaa"))
	mustReadFull(t, p, "re:aaaa") // takes the session tickets too
	waitPeerClosedSeen(t, p)      // the close_notify waits in front of the FIN
	mustWrite(t, p, []byte("bbbb"))
	got := make([]byte, 7)
	n, err := io.ReadFull(p, got)
	if errors.Is(err, io.EOF) {
		t.Fatal("Read = io.EOF for a connection that held nothing but its close_notify")
	}
	if err != nil || string(got) != "re:bbbb" {
		t.Fatalf("ReadFull = %q, %v; want %q", got[:n], err, "re:bbbb")
	}
	if n := p.OpenConns(); n != 1 {
		t.Fatalf("%d connections open, want 1", n)
	}
}

// The same under TLS: the answer comes through, then io.EOF, then the new
// connection's answer.
func TestTCPPoolTLSReadGetsAnswerSentBeforeServerClosed(t *testing.T) {
	serverCfg, clientCfg := testserver.TLSConfigs(t)
	srv := testserver.StartWrapped(t, func(ln net.Listener) net.Listener { return tls.NewListener(ln, serverCfg) }, answerThenClose(2))
	p := probingPool(t, srv.Addr(), (&tls.Dialer{Config: clientCfg}).DialContext)
	mustWrite(t, p, []byte("aaaa"))
	mustReadFull(t, p, "re:aaaa")
	mustWrite(t, p, []byte("bbbb"))
	waitPeerClosedSeen(t, p)
	mustWrite(t, p, []byte("cccc"))
	mustReadFull(t, p, "re:bbbb")
	if n, err := p.Read(make([]byte, 16)); n != 0 || err != io.EOF {
		t.Fatalf("Read after the closed connection's last bytes = %d, %v; want 0, io.EOF", n, err)
	}
	mustReadFull(t, p, "re:cccc")
}

// gate holds, until the test releases it, the first Write of a chosen
// payload, or the first Read once armed, on the first connection that
// dialGated dials: a goroutine that has picked the connection but not yet
// made its system call. Its onCloseWrite, if set, runs once, when the
// pool has shut the connection's sending side.
type gate struct {
	mu           sync.Mutex
	write        string // the payload whose first Write is held
	read         bool   // hold the next Read
	entered      chan struct{}
	released     chan struct{}
	onCloseWrite func()
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}), released: make(chan struct{})}
}

// armRead makes the next Read wait for release.
func (g *gate) armRead() {
	g.mu.Lock()
	g.read = true
	g.mu.Unlock()
}

func (g *gate) holdIf(held bool) {
	if held {
		close(g.entered)
		<-g.released
	}
}

type gateConn struct {
	*net.TCPConn
	g *gate
}

func (c gateConn) Write(b []byte) (int, error) {
	c.g.mu.Lock()
	held := c.g.write != "" && string(b) == c.g.write
	if held {
		c.g.write = ""
	}
	c.g.mu.Unlock()
	c.g.holdIf(held)
	return c.TCPConn.Write(b)
}

func (c gateConn) Read(b []byte) (int, error) {
	c.g.mu.Lock()
	held := c.g.read
	c.g.read = false
	c.g.mu.Unlock()
	c.g.holdIf(held)
	return c.TCPConn.Read(b)
}

func (c gateConn) CloseWrite() error {
	err := c.TCPConn.CloseWrite()
	c.g.mu.Lock()
	f := c.g.onCloseWrite
	c.g.onCloseWrite = nil
	c.g.mu.Unlock()
	if f != nil {
		f()
	}
	return err
}

// dialGated dials TCP connections, the first of them through g.
func dialGated(g *gate) func(context.Context, string, string) (net.Conn, error) {
	var first sync.Once
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := new(net.Dialer).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		gated := false
		first.Do(func() { gated = true })
		if gated {
			return gateConn{c.(*net.TCPConn), g}, nil
		}
		return c, nil
	}
}

// byeOnStop starts a server whose first connection sends "hi!!", then,
// once stop is called, "bye!" and closes; the others read what comes.
func byeOnStop(t *testing.T) (srv *server, stop func()) {
	closeNow := make(chan struct{})
	srv = newTCPServer(t, func(s *testserver.Server, id int, c net.Conn) {
		if id == 0 {
			c.Write([]byte("hi!!"))
			<-closeNow
			c.Write([]byte("bye!")) // unread when the next probe runs
			return
		}
		s.Drain(id, c)
	})
	return srv, closeOnce(t, closeNow)
}

// A Write that passed its probe and is on its way to the socket when
// another Write's probe finds the server gone behind unread bytes fails
// there and goes on to the new connection: it does not report success for
// bytes handed to a peer that is gone.
func TestTCPPoolWriteUnderWayOnDrainedConnectionArrives(t *testing.T) {
	srv, stop := byeOnStop(t)
	g := newGate()
	g.write = "cccc"
	p := probingPool(t, srv.Addr(), dialGated(g))
	mustReadFull(t, p, "hi!!") // the pool is read from
	done := make(chan error, 1)
	go func() {
		_, err := p.Write([]byte("cccc")) // probes (sound), then is held
		done <- err
	}()
	<-g.entered
	stop() // the server sends "bye!" and closes
	waitPeerClosedSeen(t, p)
	mustWrite(t, p, []byte("dddd")) // its probe finds the close: a new connection
	close(g.released)
	if err := <-done; err != nil {
		t.Fatalf("Write(cccc) = %v; want it sent on the new connection", err)
	}
	mustWrite(t, p, []byte("eeee"))
	srv.WaitUntil("eeee", func() bool { return bytes.Contains(srv.Data()[1], []byte("eeee")) })
	if !bytes.Contains(srv.Data()[1], []byte("cccc")) {
		t.Fatalf("Write(cccc) reported success, but the server never got it; it got %q", srv.Data())
	}
	mustReadFull(t, p, "bye!")
}

// A Write that fails on the socket that the probe of another found closed
// behind unread bytes, as that probe shuts its sending side, goes on to
// the new connection and leaves the old one to Read: the server's last
// answer is not lost to the failed Write closing it.
func TestTCPPoolWriteFailingAsDrainShutsItLeavesTheAnswer(t *testing.T) {
	srv, stop := byeOnStop(t)
	g := newGate()
	g.write = "cccc"
	done := make(chan error, 1)
	var heldErr error
	g.onCloseWrite = func() {
		close(g.released) // the held Write reaches the shut socket, fails
		heldErr = <-done  // and is sent on the new connection
	}
	p := probingPool(t, srv.Addr(), dialGated(g))
	mustReadFull(t, p, "hi!!") // the pool is read from
	go func() {
		_, err := p.Write([]byte("cccc")) // probes (sound), then is held
		done <- err
	}()
	<-g.entered
	stop() // the server sends "bye!" and closes
	waitPeerClosedSeen(t, p)
	mustWrite(t, p, []byte("dddd")) // its probe finds the close, shuts the socket's sending side
	if heldErr != nil {
		t.Fatalf("Write(cccc) = %v; want it sent on the new connection", heldErr)
	}
	mustReadFull(t, p, "bye!")
	if n, err := p.Read(make([]byte, 16)); n != 0 || err != io.EOF {
		t.Fatalf("Read after the closed connection's last bytes = %d, %v; want 0, io.EOF", n, err)
	}
	srv.WaitUntil("cccc and dddd", func() bool {
		d := srv.Data()[1]
		return bytes.Contains(d, []byte("cccc")) && bytes.Contains(d, []byte("dddd"))
	})
}

// A Read already on its way to the socket when the probe finds the
// server's close takes the answer as from the live connection; the next
// Read still returns io.EOF for that connection's end before the new
// connection's answer.
func TestTCPPoolReadUnderWayAsServerClosesStillGetsEOF(t *testing.T) {
	closeNow := make(chan struct{})
	answer := answerThenClose(1)
	srv := newTCPServer(t, func(s *testserver.Server, id int, c net.Conn) {
		if id == 0 {
			<-closeNow
		}
		answer(s, id, c)
	})
	stop := closeOnce(t, closeNow)
	g := newGate()
	p := probingPool(t, srv.Addr(), dialGated(g))
	mustWrite(t, p, []byte("aaaa"))
	g.armRead()
	first := make(chan string, 1)
	go func() {
		b := make([]byte, 7)
		n, err := io.ReadFull(p, b) // held before the socket
		if err != nil {
			t.Errorf("first Read: %v", err)
		}
		first <- string(b[:n])
	}()
	<-g.entered
	stop() // the server answers "re:aaaa" and closes
	waitPeerClosedSeen(t, p)
	mustWrite(t, p, []byte("bbbb")) // its probe finds the close: a new connection
	close(g.released)
	if got := <-first; got != "re:aaaa" {
		t.Fatalf("first Read = %q, want %q", got, "re:aaaa")
	}
	if n, err := p.Read(make([]byte, 16)); n != 0 || err != io.EOF {
		t.Fatalf("Read after the closed connection's last bytes = %d, %v; want 0, io.EOF", n, err)
	}
	mustReadFull(t, p, "re:bbbb")
}

// A Read under way when the server closes with nothing more to send ends
// in io.EOF, also when a Write's probe sees the close first: the Write
// moves on to a new connection, and the old one stays open for the Read,
// which would otherwise fail on a connection closed under it.
func TestTCPPoolReadUnderWayAtACleanCloseWithNoBytesGetsEOF(t *testing.T) {
	closeNow := make(chan struct{})
	srv := newTCPServer(t, answerThenCloseOn(closeNow))
	stop := closeOnce(t, closeNow)
	g := newGate()
	p := probingPool(t, srv.Addr(), dialGated(g))
	mustWrite(t, p, []byte("aaaa"))
	mustReadFull(t, p, "re:aaaa")
	g.armRead()
	got := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 16)) // held before the socket
		got <- err
	}()
	<-g.entered
	stop() // a FIN, and no bytes
	waitPeerClosedSeen(t, p)
	mustWrite(t, p, []byte("bbbb")) // its probe sees the close first
	close(g.released)
	if err := <-got; err != io.EOF {
		t.Fatalf("Read under way at the server's clean close = %v; want io.EOF", err)
	}
	srv.WaitUntil("bbbb on the new connection", func() bool {
		return bytes.Contains(srv.Data()[1], []byte("bbbb"))
	})
}

// signalReadConn is a *tls.Conn that closes got when a Read returns bytes
// once armed. NetConn gives the *tls.Conn, so that the pool still sees
// TLS on the way down to the socket.
type signalReadConn struct {
	*tls.Conn
	armed atomic.Bool
	got   chan struct{}
}

func (c *signalReadConn) NetConn() net.Conn { return c.Conn }

func (c *signalReadConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && c.armed.CompareAndSwap(true, false) {
		close(c.got)
	}
	return n, err
}

// A Read that takes bytes while a probe that finds the connection sound
// runs does not count them as drained: when the connection is later
// drained of nothing but a TLS close_notify, Read reads on without an
// io.EOF.
func TestTCPPoolReadDuringSoundProbeIsNoDrain(t *testing.T) {
	serverCfg, clientCfg := testserver.TLSConfigs(t)
	closeNow := make(chan struct{})
	var once sync.Once
	stop := func() { once.Do(func() { close(closeNow) }) }
	answer := answerThenClose(0)
	srv := testserver.StartWrapped(t, func(ln net.Listener) net.Listener { return tls.NewListener(ln, serverCfg) },
		func(s *testserver.Server, id int, c net.Conn) {
			if id != 0 {
				answer(s, id, c)
				return
			}
			buf := make([]byte, 4)
			for range 2 { // aaaa, bbbb
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
				if _, err := c.Write(append([]byte("re:"), buf...)); err != nil {
					return
				}
			}
			<-closeNow // then a close_notify, and the FIN
		})
	t.Cleanup(stop)

	var probeArmed atomic.Bool
	probing, probeGo := make(chan struct{}), make(chan struct{})
	hook := func() {
		if probeArmed.CompareAndSwap(true, false) {
			close(probing)
			<-probeGo
		}
	}
	var first atomic.Pointer[signalReadConn]
	p := probingPool(t, srv.Addr(), func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialProbeHook(hook)(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(c, clientCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		sc := &signalReadConn{Conn: tc, got: make(chan struct{})}
		first.CompareAndSwap(nil, sc)
		return sc, nil
	})
	mustWrite(t, p, []byte("aaaa"))

	// The next Write's probe is held; a Read takes "re:aaaa" meanwhile.
	probeArmed.Store(true)
	wrote := make(chan error, 1)
	go func() {
		_, err := p.Write([]byte("bbbb"))
		wrote <- err
	}()
	<-probing
	first.Load().armed.Store(true)
	read := make(chan string, 1)
	go func() {
		b := make([]byte, 7)
		n, err := io.ReadFull(p, b)
		if err != nil {
			t.Errorf("ReadFull: %v", err)
		}
		read <- string(b[:n])
	}()
	<-first.Load().got // the Read has the bytes, while the probe runs
	close(probeGo)     // and finds the connection sound
	if got := <-read; got != "re:aaaa" {
		t.Fatalf("first Read = %q, want %q", got, "re:aaaa")
	}
	if err := <-wrote; err != nil {
		t.Fatalf("Write(bbbb) = %v", err)
	}
	mustReadFull(t, p, "re:bbbb")

	stop() // the server sends its close_notify and closes
	waitPeerClosedSeen(t, p)
	mustWrite(t, p, []byte("cccc")) // drains the old connection, goes to a new one
	b := make([]byte, 7)
	n, err := io.ReadFull(p, b)
	if errors.Is(err, io.EOF) {
		t.Fatal("Read = io.EOF for a connection that held nothing but its close_notify when drained")
	}
	if err != nil || string(b[:n]) != "re:cccc" {
		t.Fatalf("ReadFull = %q, %v; want %q", b[:n], err, "re:cccc")
	}
}

// A connection its server closed with nothing left unread, and no Read
// under way on it, is closed, also on a pool that has been read from: a
// pool read once (a greeting, say) and only written to since keeps no
// connection open that nothing will read.
func TestTCPPoolReadOnceKeepsNoClosedConnectionWithNothingToRead(t *testing.T) {
	closeNow := make(chan struct{})
	srv := newTCPServer(t, answerThenCloseOn(closeNow))
	p := probingPool(t, srv.Addr(), nil)
	mustWrite(t, p, []byte("aaaa"))
	mustReadFull(t, p, "re:aaaa") // the one and only Read
	close(closeNow)
	waitPeerClosedSeen(t, p)
	mustWrite(t, p, []byte("bbbb")) // its probe finds the close: a new connection
	if n := p.OpenConns(); n != 1 {
		t.Fatalf("%d connections open, want 1: the one its server closed, with nothing to read, is still open", n)
	}
}

// Through TLS, the rest of an answer the server sent before it closed is
// read also when the socket holds only the close: the *tls.Conn read the
// records ahead, so the probe before a Write finds nothing unread on the
// socket, and the connection must still be kept for Read.
func TestTCPPoolTLSAnswerPartlyReadSurvivesTheProbe(t *testing.T) {
	p := tlsAnswerThenClosePool(t, func(req []byte) [][]byte { return [][]byte{append([]byte("re:"), req...)} })
	mustWrite(t, p, []byte("aaaa"))
	waitPeerClosedSeen(t, p)  // the answer, the close_notify and the FIN are in
	mustReadFull(t, p, "re:") // the *tls.Conn takes all of it from the socket
	mustWrite(t, p, []byte("bbbb"))
	mustReadFull(t, p, "aaaa") // the rest of the answer
}

// tlsAnswerThenClosePool returns a probingPool to a TLS server that
// answers the first connection's first 4-byte request with the records
// answer makes of it, one Write each, and closes it; it reads the later
// connections to their end.
func tlsAnswerThenClosePool(t *testing.T, answer func(req []byte) [][]byte) *connpool.TCPPool {
	t.Helper()
	serverCfg, clientCfg := testserver.TLSConfigs(t)
	srv := testserver.StartWrapped(t, func(ln net.Listener) net.Listener { return tls.NewListener(ln, serverCfg) },
		func(s *testserver.Server, id int, c net.Conn) {
			if id != 0 {
				s.Drain(id, c)
				return
			}
			buf := make([]byte, 4)
			io.ReadFull(c, buf)
			for _, r := range answer(buf) {
				c.Write(r)
			}
		})
	return probingPool(t, srv.Addr(), (&tls.Dialer{Config: clientCfg}).DialContext)
}

// answerThenCloseOn is a server that answers the first connection's first
// 4-byte request with "re:" and the request, then closes it cleanly, with
// nothing left unread, once closeNow is closed; it reads the later
// connections to their end.
func answerThenCloseOn(closeNow <-chan struct{}) testserver.Handler {
	return func(s *testserver.Server, id int, c net.Conn) {
		if id == 0 {
			buf := make([]byte, 4)
			io.ReadFull(c, buf)
			c.Write(append([]byte("re:"), buf...))
			<-closeNow
			return
		}
		s.Drain(id, c)
	}
}

// closeOnce returns a function that closes ch the first time it is
// called, and calls it at the test's end too: registered after the
// server, it runs before the server's Close, which waits for the handlers
// that wait on ch.
func closeOnce(t *testing.T, ch chan struct{}) (stop func()) {
	var once sync.Once
	stop = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(stop)
	return stop
}

// With several connections, reader goroutines read ahead: under TLS, the
// one on a connection whose server answered in two records and closed
// may hold the second record in the *tls.Conn, the socket then empty
// but for the FIN. A Write's probe that finds that FIN must not cost
// Read the record: the reader reads it from the *tls.Conn, whether the
// probe kept the connection open or closed its socket.
func TestTCPPoolTLSReaderHoldsTheAnswerPastTheProbe(t *testing.T) {
	p := tlsAnswerThenClosePool(t, func(req []byte) [][]byte { return [][]byte{[]byte("re:"), req} })
	mustWrite(t, p, []byte("aaaa"))
	waitPeerClosedSeen(t, p) // both records, the close_notify and the FIN are in
	if err := p.SetPoolSize(2); err != nil {
		t.Fatal(err)
	}
	waitConnsUp(t, p, 2)
	// The first Read, with two connections, starts the readers; the one
	// on the closed connection takes all of its bytes from the socket
	// and hands Read the first record.
	mustReadFull(t, p, "r")
	for i := 0; p.Stats().ClosedStale == 0; i++ {
		if i == 10000 {
			t.Fatalf("10000 Writes and none found the closed connection; stats %+v", p.Stats())
		}
		mustWrite(t, p, []byte("w"))
	}
	mustReadFull(t, p, "e:aaaa")
}
