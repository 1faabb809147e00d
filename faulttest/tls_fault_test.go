package faulttest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/testserver"
)

// The ConnPool failure tests over TLS 1.3, as the pool's users run it:
// Config.Dial is a tls.Dialer's DialContext, the server a TLS listener
// that sends session tickets (its default). What the tests check is what
// the TCP ones check (see pool_fault_test.go), where TLS changes how the
// pool must look: a TLS server sends records nobody asked for, so bytes
// waiting on an idle connection are no alarm, but a close behind them is;
// and a close_notify goodbye to a server that reads nothing waits for
// room in the socket, so Drain must not wait for it past its context.

// startTLSServer starts a TLS 1.3 server whose connections run handle,
// and returns it with a client config that trusts it, for
// tls.Dialer{Config: client}.
//
// The client keeps a session cache, without which it asks for no session
// ticket and crypto/tls's server sends none. The server asks for a client
// certificate (the client sends none): crypto/tls's server then sends its
// ticket once the client's Finished has come, rather than in its first
// flight, where the client's handshake may read it along with the
// server's Finished. So the ticket comes after the pool's dial has
// returned, unasked, and waits in the socket until the connection's next
// read.
func startTLSServer(t *testing.T, handle testserver.Handler) (*server, *tls.Config) {
	t.Helper()
	srvCfg, client := testserver.TLSConfigs(t)
	srvCfg.ClientAuth = tls.RequestClientCert
	client.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	srv := testserver.StartWrapped(t, func(ln net.Listener) net.Listener { return tls.NewListener(ln, srvCfg) }, handle)
	return srv, client
}

// startStalledTLSServer starts a TLS server (as startTLSServer) that reads
// nothing after its handshake, until release.
func startStalledTLSServer(t *testing.T) (srv *server, client *tls.Config, release func()) {
	t.Helper()
	stop := make(chan struct{})
	release = sync.OnceFunc(func() { close(stop) })
	srv, client = startTLSServer(t, func(_ *server, _ int, c net.Conn) {
		if c.(*tls.Conn).Handshake() == nil {
			<-stop // and read nothing
		}
	})
	t.Cleanup(release) // before the server's Close, which waits for the handlers
	return srv, client, release
}

// tlsDial is the pool's dial function for client.
func tlsDial(client *tls.Config) connpool.DialFunc {
	return (&tls.Dialer{Config: client}).DialContext
}

// allUnread is a condition for waitPoolSockets: the pool has n sockets, and
// on each bytes wait unread (a session ticket, on these tests' servers).
func allUnread(n int) func([]tcpSocket) bool {
	return func(ss []tcpSocket) bool {
		return len(ss) == n && !slices.ContainsFunc(ss, func(s tcpSocket) bool { return s.unread == 0 })
	}
}

// The server resets the pool's idle TLS connections, each with a session
// ticket still unread in its socket. The probe looks through the TLS
// layer; the bytes waiting do not hide the reset behind them: every
// connection is closed as stale, and Gets get new connections that work.
func TestPoolTLSServerResetsIdleConns(t *testing.T) {
	// reset_peer sets SO_LINGER to 0 on the proxy's sockets of the
	// connections opened while it is in place, so that the proxy passes
	// the server's close on as a RST; but it also resets a connection as
	// soon as the first bytes come its way, which over TLS are the
	// server's handshake. So the server holds its handshake back until
	// the toxic, its work done, is gone again.
	gate := make(chan struct{})
	open := sync.OnceFunc(func() { close(gate) })
	srv, client := startTLSServer(t, func(s *server, id int, c net.Conn) {
		<-gate
		s.Copy(id, c)
	})
	t.Cleanup(open) // before the server's Close, which waits for the handlers
	px := startProxy(t, srv.Addr())
	px.AddToxic("reset", "reset_peer", "downstream", map[string]any{"timeout": 0})
	const n = 4
	fp := newFaultPool(t, px.Addr(), connpool.Config{MaxConns: n, Dial: tlsDial(client)})

	type got struct {
		c   net.Conn
		err error
	}
	gets := make(chan got, n)
	for range n {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			c, err := fp.Get(ctx)
			gets <- got{c, err}
		}()
	}
	srv.WaitUntil("the pool's dials to reach the server", func() bool { return srv.Accepts() == n })
	// The proxy takes connections one at a time and sets their sockets
	// up before it takes the next: once it has taken one more, the pool's
	// are set up, toxic and all.
	marker, err := net.Dial("tcp", px.Addr())
	if err != nil {
		t.Fatal(err)
	}
	srv.WaitUntil("the proxy to take a connection after the pool's", func() bool { return srv.Accepts() == n+1 })
	px.ResetToxics()
	marker.Close()
	open()
	for range n {
		g := <-gets
		if g.err != nil {
			t.Fatalf("Get: %v", g.err)
		}
		g.c.Close()
	}
	waitPoolSockets(t, px, "the session tickets", allUnread(n))

	srv.CloseConns()
	// A reset socket leaves the kernel's table.
	waitPoolSockets(t, px, "the resets", func(ss []tcpSocket) bool { return len(ss) == 0 })
	fp.checkReplacedAfterResets(t, srv, px, n)
}

// A healthy idle TLS connection with a session ticket waiting in its
// socket: bytes nobody asked for, which on plain TCP make the probe close
// the connection. On TLS they are no alarm, so the connection, idle past
// ProbeAfter, is handed out again, and works. Its first checkout does no
// I/O: a read would take the ticket off the socket.
func TestPoolTLSSessionTicketIsNoAlarm(t *testing.T) {
	srv, client := startTLSServer(t, (*testserver.Server).Copy)
	px := startProxy(t, srv.Addr())
	fp := newFaultPool(t, px.Addr(), connpool.Config{MaxConns: 1, Dial: tlsDial(client)})

	c := fp.mustGet(t)
	port := localPort(c)
	c.Close()
	waitPoolSockets(t, px, "the session ticket", allUnread(1))
	for i := range 2 {
		c = fp.mustGet(t)
		if p := localPort(c); p != port {
			t.Fatalf("checkout %d got the connection from port %d, want the idle one from port %d (stats %+v)", i, p, port, fp.Stats())
		}
		roundTrip(t, c, fmt.Sprintf("ticket read, %d", i))
		c.Close()
	}
	if st := fp.Stats(); st.Dials != 1 || st.ClosedStale != 0 {
		t.Errorf("stats %+v, want the one connection kept", st)
	}
	fp.drainAndCheck(t, srv, px, connpool.Stats{Dials: 1, ClosedPoolClosed: 1})
}

// The TLS server restarts: the proxy goes down, closing every connection
// through it behind the session tickets still unread, and refusing new
// ones, then comes back. While it is down a Get fails with the dial's
// error, never with a dead connection; once it is back, Gets succeed.
func TestPoolTLSServerRestart(t *testing.T) {
	srv, client := startTLSServer(t, (*testserver.Server).Copy)
	px := startProxy(t, srv.Addr())
	const n = 3
	fp := newFaultPool(t, px.Addr(), connpool.Config{MaxConns: n, InitialConns: n, Dial: tlsDial(client)})
	waitPoolSockets(t, px, "the session tickets", allUnread(n))

	fp.checkRestart(t, srv, px, n)
}

// A TLS server that has stopped reading, with the pool's sockets to it
// full: a close_notify goodbye waits for room that never comes, up to the
// five seconds crypto/tls gives it. Drain, whose context ends first, must
// not wait that long: it cuts short the goodbye of the connection given
// back before it, by closing the socket under it, and closes the one still
// checked out under its holder without a goodbye; it returns that one,
// with its context's error, and leaves no socket open. The holder's I/O
// then fails, and its Close frees the slot.
//
// The pool dials the server itself: a proxy, which reads on while it has
// room to pass bytes on, would shut its window and open it again, and the
// kernel could not tell the test when the proxy had stopped for good.
func TestPoolTLSDrainCutsStalledGoodbyes(t *testing.T) {
	srv, client, release := startStalledTLSServer(t)
	fp := newFaultPool(t, srv.Addr(), connpool.Config{MaxConns: 2, Dial: tlsDial(client)})

	idle, held := fp.mustGet(t), fp.mustGet(t)
	idleTLS, heldTLS := idle.NetConn().(*tls.Conn), held.NetConn().(*tls.Conn)
	stallSend(t, srv, idle)
	stallSend(t, srv, held)
	idle.Close()

	// Any time short of crypto/tls's five seconds will do.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if n, err := fp.Drain(ctx); n != 1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain = %d, %v; want the 1 connection checked out and %v", n, err, context.DeadlineExceeded)
	}
	// CloseWrite on a *tls.Conn whose close_notify has been sent, or has
	// failed, returns what sending it returned, and sends nothing more:
	// nil for a goodbye that went out, a timeout for one crypto/tls gave
	// up on, net.ErrClosed for one whose socket was closed under it.
	for name, tc := range map[string]*tls.Conn{"idle": idleTLS, "checked-out": heldTLS} {
		if err := tc.CloseWrite(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("the %s connection's goodbye ended with %v; want it cut short by its socket's close (%v)", name, err, net.ErrClosed)
		}
	}
	if ss := poolSockets(t, srv); len(ss) != 0 {
		t.Errorf("after Drain, the pool's sockets %+v are still open", ss)
	}
	if _, err := held.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the holder's Read after Drain = %v, want an error wrapping %v", err, net.ErrClosed)
	}
	if err := held.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the holder's Close after Drain = %v, want an error wrapping %v", err, net.ErrClosed)
	}
	release()
	fp.drainAndCheck(t, srv, srv, connpool.Stats{Dials: 2, ClosedPoolClosed: 2})
}

// A connection given back after the pool began to close, to a TLS server
// that has stopped reading: the holder's Close says the close_notify
// goodbye itself, and it waits for room that never comes. A Drain whose
// context ends meanwhile cuts that goodbye short too: the holder's Close
// returns, and no socket is left open.
func TestPoolTLSDrainCutsAHoldersGoodbye(t *testing.T) {
	srv, client, release := startStalledTLSServer(t)
	closing := make(chan struct{}, 1)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := tlsDial(client)(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return closeSignal{c, closing}, nil
	}
	fp := newFaultPool(t, srv.Addr(), connpool.Config{MaxConns: 1, Dial: dial})
	held := fp.mustGet(t)
	heldTLS := tlsOf(held)
	stallSend(t, srv, held)

	fp.Close() // Drain may follow a Close
	closed := make(chan error, 1)
	go func() { closed <- held.Close() }()
	select {
	case <-closing: // the pool has begun the goodbye
	case <-time.After(waitLimit):
		t.Fatal("the holder's Close never closed the connection")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := fp.Drain(ctx); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("Drain = %d, %v; want 0 and %v", n, err, context.Canceled)
	}
	select {
	case <-closed:
	case <-time.After(waitLimit):
		t.Fatal("after Drain gave up, the holder's Close still waits on its goodbye")
	}
	if err := heldTLS.CloseWrite(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the goodbye ended with %v; want it cut short by its socket's close (%v)", err, net.ErrClosed)
	}
	if ss := poolSockets(t, srv); len(ss) != 0 {
		t.Errorf("after Drain, the pool's sockets %+v are still open", ss)
	}
	release()
}

// closeSignal is a connection that says when its Close begins. Its
// NetConn leads the pool's probe, and Drain, to the connection under it.
type closeSignal struct {
	net.Conn
	closing chan<- struct{}
}

func (c closeSignal) NetConn() net.Conn { return c.Conn }

func (c closeSignal) Close() error {
	select {
	case c.closing <- struct{}{}:
	default:
	}
	return c.Conn.Close()
}

// tlsOf returns the *tls.Conn under c, through any wrapper with a NetConn
// method, or nil if there is none.
func tlsOf(c net.Conn) *tls.Conn {
	for {
		switch x := c.(type) {
		case *tls.Conn:
			return x
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return nil
		}
	}
}

// stallSend fills the send buffer of c, whose peer has stopped reading,
// so that nothing more can be written to it: a close_notify would wait.
// It writes to the socket beneath the TLS layer, which a write that timed
// out would break for good, and it writes without blocking until the
// kernel takes no more: in ever smaller writes down to a byte, since a
// socket that refuses a new buffer may still append a few bytes to its
// last one. Bytes in flight may yet be acknowledged and make room; so it
// goes on until the kernel probes the peer's shut window with nothing in
// flight, and then fills the buffer once more.
func stallSend(t *testing.T, to dialled, c *connpool.PoolConn) {
	t.Helper()
	raw, err := tlsOf(c).NetConn().(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 64<<10)
	fill := func() {
		for size := len(junk); size > 0; {
			var werr error
			if err := raw.Write(func(fd uintptr) bool {
				for {
					if _, werr = syscall.Write(int(fd), junk[:size]); werr != syscall.EINTR {
						return true // never wait: the socket's poller would
					}
				}
			}); err != nil {
				t.Fatal(err)
			}
			switch werr {
			case nil:
			case syscall.EAGAIN:
				size /= 2
			default:
				t.Fatalf("writing beneath TLS: %v", werr)
			}
		}
	}
	port := localPort(c)
	waitPoolSockets(t, to, "the peer's window to shut", func(ss []tcpSocket) bool {
		fill()
		return slices.ContainsFunc(ss, func(s tcpSocket) bool {
			return s.localPort == port && s.timer == tcpTimerZeroWindow
		})
	})
	fill()
}
