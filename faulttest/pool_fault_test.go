package faulttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
)

// The ConnPool failure tests: a pool dialling an echo server through a
// toxiproxy, ProbeAfter 1ns so that every idle connection is probed before
// it is handed out. Each test breaks the path the way a network or a
// server does, then checks that
//   - no connection the peer had closed is handed out: every connection a
//     Get returns carries an echo round trip (where the OS itself cannot
//     know a connection is dead, the test says so and checks what can be
//     checked);
//   - Gets succeed once the server can be reached again;
//   - Stats account for every connection closed, by the reason the test
//     caused, and agree with the OnClose hook;
//   - after Drain nothing is left open: not in the pool's books, not on
//     the server, not among this machine's sockets (and TestMain checks
//     that no goroutine is).

// faultPool is a ConnPool with what its OnClose hook saw.
type faultPool struct {
	*connpool.ConnPool
	mu     sync.Mutex
	closes map[connpool.CloseReason]uint64
}

// newFaultPool returns a pool of connections to addr with cfg's settings,
// but for Addr, ProbeAfter and OnClose, which it sets. It is closed when
// the test ends, if the test has not drained it.
func newFaultPool(t *testing.T, addr string, cfg connpool.Config) *faultPool {
	t.Helper()
	fp := &faultPool{closes: map[connpool.CloseReason]uint64{}}
	cfg.Addr = addr
	cfg.DialTimeout = waitLimit
	cfg.ProbeAfter = time.Nanosecond // every idle connection is probed
	cfg.OnClose = func(_ net.Conn, r connpool.CloseReason) {
		fp.mu.Lock()
		fp.closes[r]++
		fp.mu.Unlock()
	}
	p, err := connpool.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	fp.ConnPool = p
	return fp
}

// mustGet gets a connection, failing the test after waitLimit.
func (fp *faultPool) mustGet(t *testing.T) *connpool.PoolConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, err := fp.Get(ctx)
	if err != nil {
		t.Fatalf("Get: %v (stats %+v)", err, fp.Stats())
	}
	return c.(*connpool.PoolConn)
}

// drainAndCheck drains the pool, whose connections go to to (srv's proxy,
// or srv itself), and checks that it left nothing open, and that its
// counters match want (Dials, DialErrors and every Closed counter) and its
// OnClose hook.
func (fp *faultPool) drainAndCheck(t *testing.T, srv *server, to dialled, want connpool.Stats) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if n, err := fp.Drain(ctx); n != 0 || err != nil {
		t.Fatalf("Drain = %d, %v; want 0, nil", n, err)
	}
	st := fp.Stats()
	if n := fp.NumberOfConns(); n != 0 || st.Open != 0 || st.Idle != 0 || st.InUse != 0 || st.Dialing != 0 {
		t.Errorf("after Drain, NumberOfConns() = %d and stats %+v; want nothing open", n, st)
	}
	checkStats(t, st)
	if st.Dials != want.Dials || st.DialErrors != want.DialErrors {
		t.Errorf("%d dials, %d of them failed; want %d and %d", st.Dials, st.DialErrors, want.Dials, want.DialErrors)
	}
	closed := closedBy(st)
	if w := closedBy(want); !maps.Equal(closed, w) {
		t.Errorf("connections closed %v, want %v", closed, w)
	}
	fp.mu.Lock()
	hooked := maps.Clone(fp.closes)
	fp.mu.Unlock()
	if !maps.Equal(hooked, closed) {
		t.Errorf("OnClose saw %v closed, Stats count %v", hooked, closed)
	}
	// The server holds a connection from the proxy for each connection
	// the proxy holds from the pool (or the pool's own): it sees the close
	// when the proxy has passed it on.
	srv.WaitUntil("the server to hold no connection", func() bool { return srv.OpenConns() == 0 })
	// A connection the pool forgot would stay ESTABLISHED, or in
	// CLOSE_WAIT once its peer had closed. A close by the pool takes it out
	// of these states at once, so this needs no wait.
	if ss := poolSockets(t, to); len(ss) != 0 {
		t.Errorf("after Drain, the pool's sockets %+v are still open", ss)
	}
}

// checkStats checks the identities that Stats documents: every connection
// dialled is open or counted closed, and every Get is counted once.
func checkStats(t *testing.T, st connpool.Stats) {
	t.Helper()
	if st.Open != st.Idle+st.InUse+st.Dialing {
		t.Errorf("Open %d != Idle %d + InUse %d + Dialing %d", st.Open, st.Idle, st.InUse, st.Dialing)
	}
	if int64(st.Dials)-int64(st.DialErrors)-int64(st.Closed()) != int64(st.Open-st.Dialing) {
		t.Errorf("Dials %d - DialErrors %d - Closed %d != Open %d - Dialing %d",
			st.Dials, st.DialErrors, st.Closed(), st.Open, st.Dialing)
	}
	if st.Gets != st.GetsFromIdle+st.GetsWaited+st.GetsCanceled+st.GetsFailed {
		t.Errorf("Gets %d != FromIdle %d + Waited %d + Canceled %d + Failed %d",
			st.Gets, st.GetsFromIdle, st.GetsWaited, st.GetsCanceled, st.GetsFailed)
	}
}

// The server drops the pool's idle connections behind a proxy that turns
// every close into a reset (reset_peer): the pool's sockets get RSTs, the
// probe finds each dead, and Gets get new connections that work.
func TestPoolServerResetsIdleConns(t *testing.T) {
	srv := startEchoServer(t)
	px := startProxy(t, srv.Addr())
	// reset_peer acts on connections opened while it is in place: it sets
	// SO_LINGER to 0 on both of the proxy's sockets, so that the proxy
	// passes the server's close on to the pool as a RST.
	px.AddToxic("reset", "reset_peer", "downstream", map[string]any{"timeout": 0})
	const n = 4
	fp := newFaultPool(t, px.Addr(), connpool.Config{MaxConns: n, InitialConns: n})
	srv.WaitUntil("the pool's connections to reach the server", func() bool { return srv.OpenConns() == n })

	srv.CloseConns()
	// A closed socket would move to CLOSE_WAIT; a reset one leaves the
	// kernel's table.
	waitPoolSockets(t, px, "the resets", func(ss []tcpSocket) bool { return len(ss) == 0 })
	px.ResetToxics() // what is dialled from now on is healthy

	fp.checkReplacedAfterResets(t, srv, px, n)
}

// checkReplacedAfterResets checks a pool of n connections, all of them
// reset while idle: n Gets get new connections that work, the reset ones
// are counted stale, and Drain leaves nothing open.
func (fp *faultPool) checkReplacedAfterResets(t *testing.T, srv *server, px *proxy, n int) {
	t.Helper()
	held := make([]*connpool.PoolConn, n)
	for i := range held {
		held[i] = fp.mustGet(t)
		roundTrip(t, held[i], fmt.Sprintf("after the resets, %d", i))
	}
	st := fp.Stats()
	if st.ClosedStale != uint64(n) || st.InUse != n {
		t.Errorf("stats %+v, want the %d reset connections closed as stale and %d new ones in use", st, n, n)
	}
	checkStats(t, st)
	for _, c := range held {
		c.Close()
	}
	fp.drainAndCheck(t, srv, px, connpool.Stats{Dials: 2 * uint64(n), ClosedStale: uint64(n), ClosedPoolClosed: uint64(n)})
}

// A black hole: the proxy keeps the connections open but drops what the
// pool sends (a timeout toxic with no timeout). Neither the OS nor the
// probe can tell such a connection from a healthy one until a reply fails
// to come, so the pool hands it out; the holder's deadline ends the wait,
// and MarkUnusable keeps the connection from coming back.
func TestPoolBlackHole(t *testing.T) {
	srv := startEchoServer(t)
	px := startProxy(t, srv.Addr())
	fp := newFaultPool(t, px.Addr(), connpool.Config{MaxConns: 2, InitialConns: 2})
	srv.WaitUntil("the pool's connections to reach the server", func() bool { return srv.OpenConns() == 2 })
	px.AddToxic("blackhole", "timeout", "upstream", map[string]any{"timeout": 0})

	c := fp.mustGet(t) // nothing has reached this machine to fail the probe
	c.SetDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := io.WriteString(c, "into the void"); err != nil {
		t.Fatalf("write into the black hole: %v", err) // the proxy takes it
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read from the black hole = %v, want a timeout", err)
	}
	c.MarkUnusable()
	c.Close()

	// Taking the toxic away closes the connections it held (toxiproxy
	// v2.5.0's timeout toxic closes its stream on cleanup): the pool's
	// idle one gets a FIN, and the probe finds it closed.
	px.ResetToxics()
	waitPoolSockets(t, px, "the close of the black hole's connections", noneEstablished)
	c = fp.mustGet(t)
	roundTrip(t, c, "out of the void")
	c.Close()
	fp.drainAndCheck(t, srv, px, connpool.Stats{Dials: 3, ClosedUnusable: 1, ClosedStale: 1, ClosedPoolClosed: 1})
}

// Latency on the way back (a latency toxic): slow connections are healthy,
// and the probe, which does not wait on the network, keeps them. A holder
// that gives up on a slow reply and returns the connection without marking
// it would leave the reply to arrive for the next holder; the Read that
// timed out marked it, so its Close closes the socket, and the next holder
// gets a clean connection, not someone else's reply.
func TestPoolLatency(t *testing.T) {
	srv := startEchoServer(t)
	px := startProxy(t, srv.Addr())
	const latency = 250 * time.Millisecond
	px.AddToxic("latency", "latency", "downstream", map[string]any{"latency": latency.Milliseconds(), "jitter": 0})
	fp := newFaultPool(t, px.Addr(), connpool.Config{MaxConns: 1})

	for i := range 2 {
		c := fp.mustGet(t)
		roundTrip(t, c, fmt.Sprintf("slow but sound, %d", i))
		c.Close()
	}
	if st := fp.Stats(); st.Dials != 1 || st.ClosedStale != 0 {
		t.Fatalf("stats %+v, want the slow connection kept", st)
	}

	c := fp.mustGet(t)
	const msg = "too slow"
	// The reply cannot come before the latency is up: the deadline passes
	// first.
	c.SetDeadline(time.Now().Add(latency / 25))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read before the latency is up = %v, want a timeout", err)
	}
	port := localPort(c)
	c.Close() // unmarked, as if nothing had happened

	c = fp.mustGet(t)
	if localPort(c) == port {
		t.Fatal("the connection whose reply is late was handed out again")
	}
	roundTrip(t, c, "a clean stream") // would read "too slow" on the old one
	c.Close()
	fp.drainAndCheck(t, srv, px, connpool.Stats{Dials: 2, ClosedUnusable: 1, ClosedPoolClosed: 1})
}

// A proxy that cuts each connection after so many bytes from the server
// (limit_data), as a middlebox with a quota does. A reply cut short fails
// its holder, who marks the connection unusable. A connection cut just
// after a whole reply looks sound to its holder and comes back; the probe
// finds it closed before anyone else gets it.
func TestPoolLimitData(t *testing.T) {
	srv := startEchoServer(t)
	px := startProxy(t, srv.Addr())
	const limit = 8
	px.AddToxic("limit", "limit_data", "downstream", map[string]any{"bytes": limit})
	fp := newFaultPool(t, px.Addr(), connpool.Config{MaxConns: 2})

	c := fp.mustGet(t)
	roundTrip(t, c, "12345678") // exactly the limit: whole, then a FIN
	port := localPort(c)
	c.Close()
	waitPoolSockets(t, px, "the cut", noneEstablished)

	c = fp.mustGet(t)
	if localPort(c) == port {
		t.Fatal("the connection the proxy cut was handed out")
	}
	c.SetDeadline(time.Now().Add(waitLimit))
	if _, err := io.WriteString(c, "beyond the limit"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("beyond the limit"))
	if n, err := io.ReadFull(c, buf); n != limit || err != io.ErrUnexpectedEOF {
		t.Fatalf("read of a reply cut short = %d, %v; want %d, %v", n, err, limit, io.ErrUnexpectedEOF)
	}
	c.MarkUnusable()
	c.Close()

	px.ResetToxics()
	c = fp.mustGet(t)
	roundTrip(t, c, "no limit now, so well beyond eight bytes")
	c.Close()
	fp.drainAndCheck(t, srv, px, connpool.Stats{Dials: 3, ClosedStale: 1, ClosedUnusable: 1, ClosedPoolClosed: 1})
}

// The server restarts: the proxy is disabled, which closes every
// connection through it and refuses new ones, then enabled again. While
// it is down a Get fails with the dial's error, never with a dead
// connection; once it is back, Gets succeed.
func TestPoolServerRestart(t *testing.T) {
	srv := startEchoServer(t)
	px := startProxy(t, srv.Addr())
	const n = 3
	fp := newFaultPool(t, px.Addr(), connpool.Config{MaxConns: n, InitialConns: n})
	srv.WaitUntil("the pool's connections to reach the server", func() bool { return srv.OpenConns() == n })

	fp.checkRestart(t, srv, px, n)
}

// checkRestart takes the proxy to the server of fp, a pool of n idle
// connections, down and up again: while it is down a Get fails with the
// refused dial, the n connections closed as stale, and once it is back a
// Get gets one that works, and Drain leaves nothing open.
func (fp *faultPool) checkRestart(t *testing.T, srv *server, px *proxy, n int) {
	t.Helper()
	px.Down()
	waitPoolSockets(t, px, "the proxy's closes", noneEstablished)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if c, err := fp.Get(ctx); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Get with the server down = %v, %v; want an error wrapping the refused dial", c, err)
	}
	st := fp.Stats()
	if st.ClosedStale != uint64(n) || st.DialErrors != 1 || st.Open != 0 {
		t.Fatalf("stats %+v, want the %d dead connections closed, 1 failed dial and nothing open", st, n)
	}
	checkStats(t, st)

	px.Up()
	c := fp.mustGet(t)
	roundTrip(t, c, "back again")
	c.Close()
	fp.drainAndCheck(t, srv, px, connpool.Stats{Dials: uint64(n) + 2, DialErrors: 1, ClosedStale: uint64(n), ClosedPoolClosed: 1})
}

// closedBy returns st's counts of closed connections by reason, leaving
// out those at 0.
func closedBy(st connpool.Stats) map[connpool.CloseReason]uint64 {
	m := map[connpool.CloseReason]uint64{
		connpool.CloseIdleTimeout: st.ClosedIdleTimeout,
		connpool.CloseMaxLifetime: st.ClosedMaxLifetime,
		connpool.CloseStale:       st.ClosedStale,
		connpool.CloseHealthCheck: st.ClosedHealthCheck,
		connpool.CloseMaxIdle:     st.ClosedMaxIdle,
		connpool.CloseUnusable:    st.ClosedUnusable,
		connpool.ClosePoolClosed:  st.ClosedPoolClosed,
	}
	maps.DeleteFunc(m, func(_ connpool.CloseReason, n uint64) bool { return n == 0 })
	return m
}

// poolSockets returns this machine's sockets connected to to (the proxy,
// or the server a pool dials directly) that are open on this side: the
// pool's. It leaves out those closed on this side (in TIME_WAIT, say),
// which may be left from an earlier test whose proxy had the same port,
// and those the peer reset, which the kernel drops from its table at once.
func poolSockets(t *testing.T, to dialled) []tcpSocket {
	t.Helper()
	_, p, err := net.SplitHostPort(to.Addr())
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(p)
	var ss []tcpSocket
	for _, s := range tcpSockets(t) {
		if s.remotePort == port && (s.state == tcpStateEstablished || s.state == tcpStateCloseWait) {
			ss = append(ss, s)
		}
	}
	return ss
}

// waitPoolSockets waits until cond holds of the pool's sockets, and fails
// the test after waitLimit. A pool learns that its peer closed, reset or
// wrote to an idle connection only when it looks, and the test must not
// look through the pool before the kernel knows; nothing signals that, so
// this polls the kernel's table, every millisecond.
func waitPoolSockets(t *testing.T, to dialled, what string, cond func([]tcpSocket) bool) {
	t.Helper()
	expired := time.Now().Add(waitLimit)
	for !cond(poolSockets(t, to)) {
		if time.Now().After(expired) {
			t.Fatalf("timed out waiting for %s: sockets %+v", what, poolSockets(t, to))
		}
		time.Sleep(time.Millisecond)
	}
}

// noneEstablished is a condition for waitPoolSockets: every connection of
// the pool has been closed or reset by its peer.
func noneEstablished(ss []tcpSocket) bool {
	for _, s := range ss {
		if s.state == tcpStateEstablished {
			return false
		}
	}
	return true
}

// roundTrip sends msg on c and checks that the echo server sends it back,
// within waitLimit.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(waitLimit))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(buf) != msg {
		t.Fatalf("echo %q, want %q", buf, msg)
	}
}

// localPort returns the port of c's end.
func localPort(c net.Conn) int { return c.LocalAddr().(*net.TCPAddr).Port }
