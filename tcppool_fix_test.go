package connpool_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/pooltest"
	"github.com/seed-a245f091/connpool/internal/testserver"
)

// signalingWrites is a connection that says when a Write begins.
type signalingWrites struct {
	net.Conn
	writing chan<- struct{}
}

func (c signalingWrites) Write(b []byte) (int, error) {
	c.writing <- struct{}{}
	return c.Conn.Write(b)
}

// Close ends every Write in progress, also one blocked on a connection
// that SetPoolSize removed while the Write was under way.
func TestTCPPoolCloseEndsWritesOnRemovedConnections(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	srv := newTCPServer(t, func(*testserver.Server, int, net.Conn) { <-hold }) // never reads
	writing := make(chan struct{}, 2)
	p, err := connpool.DialPool(context.Background(), connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, Size: 2,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := new(net.Dialer).DialContext(ctx, network, addr)
			return signalingWrites{c, writing}, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<20) // more than the socket buffers hold
	done := make(chan error, 2)
	for range 2 { // round-robin: one on each connection
		go func() {
			_, err := p.Write(big)
			done <- err
		}()
	}
	<-writing
	<-writing
	if err := p.SetPoolSize(1); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	for range 2 {
		select {
		case err := <-done:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("a Write blocked at Close returned %v, want net.ErrClosed", err)
			}
		case <-time.After(testserver.WaitLimit):
			t.Fatal("a Write blocked on a removed connection outlived Close")
		}
	}
	<-closed
}

// A write deadline set while a Write is blocked on a connection that
// SetPoolSize removed ends that Write too.
func TestTCPPoolWriteDeadlineReachesRemovedConnections(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	srv := newTCPServer(t, func(*testserver.Server, int, net.Conn) { <-hold }) // never reads
	writing := make(chan struct{}, 1)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, Size: 2,
		Balancer: connpool.BalancerFunc(func(c connpool.ConnSet, _ int) int { return c.Len() - 1 }),
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := new(net.Dialer).DialContext(ctx, network, addr)
			return signalingWrites{c, writing}, err
		},
	})
	waitConnsUp(t, p, 2)
	done := make(chan error, 1)
	go func() {
		_, err := p.Write(make([]byte, 64<<20)) // more than the socket buffers hold
		done <- err
	}()
	<-writing
	if err := p.SetPoolSize(1); err != nil { // removes the Write's connection
		t.Fatal(err)
	}
	if err := p.SetWriteDeadline(time.Now().Add(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitErrIs(t, done, os.ErrDeadlineExceeded, "a Write on a removed connection, past its deadline,")
}

// armedSocket is a socket under a layer such as TLS that, while armed,
// says when the layer begins a write on it.
type armedSocket struct {
	net.Conn
	armed   *atomic.Bool
	writing chan<- struct{}
}

func (c armedSocket) Write(b []byte) (int, error) {
	if c.armed.Load() {
		c.writing <- struct{}{}
	}
	return c.Conn.Write(b)
}

// NetConn lets the pool's probe reach the socket.
func (c armedSocket) NetConn() net.Conn { return c.Conn }

// A Write through TLS that times out breaks the *tls.Conn for good (every
// later Write on it fails), even when it reports no byte written: the pool
// replaces the connection, and Writes go on once the deadline is lifted.
func TestTCPPoolTLSWriteTimeoutReplacesTheConnection(t *testing.T) {
	srv, clientCfg := newStalledTLSServer(t)
	clientCfg = clientCfg.Clone()
	clientCfg.DynamicRecordSizingDisabled = true // a message is one record, written whole or not at all
	var armed atomic.Bool
	writing := make(chan struct{}, 1)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, DialBackoff: time.Millisecond, MaxAttempts: tcpAttempts,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := new(net.Dialer).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(armedSocket{c, &armed, writing}, clientCfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			return tc, nil
		},
	})
	type result struct {
		n   int
		err error
	}
	msg := make([]byte, 10<<10)
	for {
		// The deadline passes once the Write is in the socket, past the
		// pool's and the TLS layer's own checks of it. A Write that
		// finishes first found room in the socket buffers, which the
		// server, never reading, lets fill up: a later one times out.
		armed.Store(true)
		done := make(chan result, 1)
		go func() {
			n, err := p.Write(msg)
			done <- result{n, err}
		}()
		select {
		case <-writing:
		case <-time.After(testserver.WaitLimit):
			t.Fatal("the Write never reached the socket")
		}
		armed.Store(false)
		if err := p.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		var r result
		select {
		case r = <-done:
		case <-time.After(testserver.WaitLimit):
			t.Fatal("a Write past its deadline did not return")
		}
		if err := p.SetWriteDeadline(time.Time{}); err != nil {
			t.Fatal(err)
		}
		if r.err == nil {
			continue
		}
		if !errors.Is(r.err, os.ErrDeadlineExceeded) || r.n != 0 {
			t.Fatalf("Write = %d, %v; want 0 and a timeout", r.n, r.err)
		}
		break
	}
	for i := range 3 {
		mustWrite(t, p, []byte("x"))
		if st := p.Stats(); i == 0 && st.Reconnects != 1 {
			t.Errorf("Reconnects = %d after the timeout, want 1", st.Reconnects)
		}
	}
	srv.WaitUntil("the Writes after the timeout", func() bool { return len(srv.Data()[1]) == 3 })
}

// Close returns at once once Reads have started the reader goroutines,
// with connections removed by SetPoolSize among them, while the server
// keeps its side open.
func TestTCPPoolCloseWithReadersDoesNotWaitForServer(t *testing.T) {
	srv := newTCPServer(t, nil)
	p, err := connpool.DialPool(context.Background(), connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 1)) // several connections: readers start
		readErr <- err
	}()
	srv.WaitOpen(3)
	if err := p.SetPoolSize(1); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(testserver.WaitLimit):
		t.Fatal("Close waited for the server")
	}
	if err := <-readErr; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read at Close returned %v, want net.ErrClosed", err)
	}
	srv.WaitOpen(0)
}

// With one connection, a clean close by the server is io.EOF itself, as
// io.Reader callers compare it with ==, so io.ReadAll reports no error.
func TestTCPPoolReadReturnsEOFAtCleanClose(t *testing.T) {
	srv := newTCPServer(t, func(_ *testserver.Server, _ int, c net.Conn) { io.WriteString(c, "hello") })
	p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}})
	got, err := io.ReadAll(p)
	if err != nil || string(got) != "hello" {
		t.Fatalf("ReadAll = %q, %v; want %q and no error", got, err, "hello")
	}
	// The next Read is on the replacement, which says hello too.
	buf := make([]byte, 5)
	if _, err := io.ReadFull(p, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("Read after EOF = %q, %v", buf, err)
	}
	if _, err := p.Read(buf); err != io.EOF {
		t.Fatalf("Read at the second close = %v, want io.EOF itself", err)
	}
}

// A peer that closes its sending side but goes on reading is taken as
// going away: the connection is replaced before the next write on it, and
// nothing written is lost.
func TestTCPPoolHalfClosingPeerIsReplacedBeforeTheNextWrite(t *testing.T) {
	srv := newTCPServer(t, func(s *testserver.Server, id int, c net.Conn) {
		if id == 0 {
			// Once the first message is in: a half-close before it would
			// keep the first Write's probe from letting it through.
			b := make([]byte, len("first"))
			if _, err := io.ReadFull(c, b); err != nil {
				return
			}
			s.Record(id, b)
			c.(*net.TCPConn).CloseWrite()
		}
		s.Drain(id, c)
	})
	p, clk := fakeTCPPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, ProbeAfter: time.Hour, MaxAttempts: noAttemptLimit})
	mustWrite(t, p, []byte("first"))
	waitPeerClosedSeen(t, p)
	clk.Advance(time.Hour) // the next write probes first
	// The redial and the Write's waits for it take a backoff step each;
	// steps of a second keep the new connection clear of ProbeAfter.
	autoAdvance(t, clk, time.Second)
	boundWrites(t, p)
	mustWrite(t, p, []byte("second"))
	srv.WaitTotal(len("firstsecond"))
	data := srv.Data()
	if string(data[0]) != "first" || string(data[1]) != "second" {
		t.Fatalf("server got %q; want first on the half-closed connection, second on its replacement", data)
	}
	if st := p.Stats(); st.Reconnects != 1 || st.ClosedStale != 1 || st.FailedWrites != 0 {
		t.Errorf("stats %+v: want 1 reconnect after 1 connection found closed, no failure", st)
	}
}

// A connection lost unused long after its dial, to a server's idle
// timeout say, is redialled as any other: to the same server, not the
// next address.
func TestTCPPoolConnectionLostUnusedLaterStaysOnItsServer(t *testing.T) {
	a := newTCPServer(t, nil)
	b := newTCPServer(t, nil)
	p, clk := fakeTCPPool(t, connpool.TCPPoolConfig{Addrs: []string{a.Addr(), b.Addr()}, Size: 1, MaxAttempts: noAttemptLimit})
	a.WaitUntil("the connection", func() bool { return a.Accepts() == 1 })
	a.CloseConns() // its idle timeout
	waitPeerClosedSeen(t, p)
	clk.Advance(time.Hour)
	autoAdvance(t, clk, time.Second)
	boundWrites(t, p)
	mustWrite(t, p, []byte("x"))
	a.WaitTotal(1)
	if n := b.Accepts(); n != 0 {
		t.Errorf("the other server was dialled %d times, want 0", n)
	}
}

// A connection lost while its server is down: the first redial that fails
// is logged at Warn, as the first of a run, the later ones at Debug.
func TestTCPPoolLogsTheFirstFailedRedialAtWarn(t *testing.T) {
	srv := newTCPServer(t, nil)
	logs := newLogRecorder()
	var refusing atomic.Bool
	p, clk := fakeTCPPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, MaxAttempts: 1, Logger: slog.New(logs),
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if refusing.Load() {
				return nil, syscall.ECONNREFUSED
			}
			return new(net.Dialer).DialContext(ctx, network, addr)
		},
	})
	mustWrite(t, p, []byte("x"))
	srv.WaitTotal(1)
	refusing.Store(true)
	srv.CloseConns()
	waitPeerClosedSeen(t, p)
	clk.Advance(time.Hour) // the next Write probes, and finds it closed
	p.Write([]byte("y"))
	autoAdvance(t, clk, time.Second)
	if r := logs.wait(t, "dial failed; backing off"); r.Level != slog.LevelWarn {
		t.Errorf("%q at %v, want Warn", r.Message, r.Level)
	}
}

// A connection just dialled is probed before its first Write: a server
// that closed it at once (one at its connection limit, say) gets no bytes
// that the Write then reports sent.
func TestTCPPoolProbesANewConnectionBeforeItsFirstWrite(t *testing.T) {
	if !connpool.ProbeSupported {
		t.Skip("no probe on this platform")
	}
	srv := newTCPServer(t, func(s *testserver.Server, id int, c net.Conn) {
		if id == 0 {
			return // closed at once
		}
		s.Drain(id, c)
	})
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, DialBackoff: time.Millisecond, MaxAttempts: tcpAttempts,
	})
	waitPeerClosedSeen(t, p)
	mustWrite(t, p, []byte("hello"))
	srv.WaitUntil("hello on the second connection", func() bool { return string(srv.Data()[1]) == "hello" })
	if st := p.Stats(); st.ClosedStale != 1 {
		t.Errorf("ClosedStale = %d, want 1", st.ClosedStale)
	}
}

// A connection lost before its first use, as to a server that closes what
// it accepts, counts as a failed dial: the slot fails over to the next
// address instead of dialling the same server again.
func TestTCPPoolFailsOverFromAServerThatClosesWhatItAccepts(t *testing.T) {
	if !connpool.ProbeSupported {
		t.Skip("no probe on this platform")
	}
	full := newTCPServer(t, func(*testserver.Server, int, net.Conn) {}) // closes every connection at once
	good := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{full.Addr(), good.Addr()}, Size: 1, DialBackoff: time.Millisecond, MaxAttempts: tcpAttempts,
	})
	waitPeerClosedSeen(t, p)
	mustWrite(t, p, []byte("hello"))
	good.WaitTotal(len("hello"))
	if n := full.Accepts(); n != 1 {
		t.Errorf("the server that closes what it accepts was dialled %d times, want 1", n)
	}
}

// SetMaxRetries(n) makes n attempts in all, as go-tcp-pool counts them,
// and 0 (or less) makes one; a Write that gives up says how many it made
// and wraps the last error. The waits between attempts run on the pool's
// clock, so this takes no time.
func TestTCPPoolSetMaxRetriesCountsAttemptsInAll(t *testing.T) {
	// Every connection fails every write, so every attempt fails.
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := new(net.Dialer).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &faultyConn{Conn: c, write: func(net.Conn, []byte) (int, error) { return 0, syscall.ECONNRESET }}, nil
	}
	for _, tc := range []struct{ set, attempts int }{{3, 3}, {1, 1}, {0, 1}, {-5, 1}} {
		t.Run(fmt.Sprintf("SetMaxRetries(%d)", tc.set), func(t *testing.T) {
			srv := newTCPServer(t, nil)
			p, clk := fakeTCPPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Dial: dial})
			autoAdvance(t, clk, time.Hour)
			p.SetMaxRetries(tc.set)
			_, err := p.Write([]byte("x"))
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("Write = %v, want an error wrapping the connection's", err)
			}
			want := fmt.Sprintf("gave up after %d attempts: ", tc.attempts)
			if tc.attempts == 1 {
				want = "gave up after 1 attempt: "
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Write error %q does not say %q", err, want)
			}
			if st := p.Stats(); st.Retries != uint64(tc.attempts-1) || st.FailedWrites != 1 {
				t.Errorf("stats %+v: want %d retries and 1 failed write", st, tc.attempts-1)
			}
		})
	}
}

// A Read or Write waiting for a connection counts an attempt per
// DialBackoff waited, not per wake-up: deadlines that other goroutines
// move meanwhile (one per request, say) do not use its attempts up.
func TestTCPPoolDeadlineChangesUseNoAttempts(t *testing.T) {
	for _, op := range []string{"Read", "Write"} {
		t.Run(op, func(t *testing.T) {
			// The first connection is one end of a pipe, whose other end
			// is closed once the pool is up; every dial after fails.
			local, remote := net.Pipe()
			var dials atomic.Int32
			p, clk := fakeTCPPool(t, connpool.TCPPoolConfig{
				Addrs: []string{"backend"}, Size: 1, MaxAttempts: 3, DialBackoff: time.Second,
				Dial: func(context.Context, string, string) (net.Conn, error) {
					if dials.Add(1) == 1 {
						return local, nil
					}
					return nil, syscall.ECONNREFUSED
				},
			})
			remote.Close()
			if op == "Read" {
				if _, err := p.Read(make([]byte, 1)); err != io.EOF {
					t.Fatalf("Read on the closed connection = %v, want io.EOF", err)
				}
			}
			done := make(chan error, 1)
			go func() {
				var err error
				if op == "Read" {
					_, err = p.Read(make([]byte, 1))
				} else {
					_, err = p.Write([]byte("x")) // fails on the pipe, then waits
				}
				done <- err
			}()
			// The redial's backoff and the wait for a connection.
			pooltest.WaitFor(t, "the "+op+" waiting", func() bool { return p.Sleepers() == 1 && clk.Timers() == 2 })
			for i := range 10 {
				select {
				case <-clk.TimerMade():
				default:
				}
				if err := p.SetDeadline(time.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				select {
				case <-clk.TimerMade(): // it waits again
				case err := <-done:
					t.Fatalf("after %d deadline changes and no time, the %s returned %v", i+1, op, err)
				case <-time.After(testserver.WaitLimit):
					t.Fatalf("the %s did not wait again after a deadline change", op)
				}
			}
			autoAdvance(t, clk, time.Second)
			clk.Advance(time.Second)
			err := <-done
			if want := "gave up after 3 attempts"; err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("%s = %v, want an error saying %q", op, err, want)
			}
			if st := p.Stats(); op == "Write" && st.Retries != 2 {
				t.Errorf("Retries = %d, want 2", st.Retries)
			}
		})
	}
}

// A Write whose deadline passes during its attempt made that one attempt:
// Stats.Retries, the attempts beyond the first, stays 0.
func TestTCPPoolRetriesCountNoAttemptCutOffByTheDeadline(t *testing.T) {
	srv := newTCPServer(t, nil)
	var p *connpool.TCPPool
	p = dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, MaxAttempts: 10, DialBackoff: time.Millisecond,
		Dial: faultyDial(func(net.Conn, []byte) (int, error) {
			p.SetWriteDeadline(time.Now().Add(-time.Second)) // passes while the attempt runs
			return 0, syscall.ECONNRESET
		}),
	})
	if _, err := p.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write = %v, want a timeout", err)
	}
	if st := p.Stats(); st.Retries != 0 {
		t.Errorf("Retries = %d after a Write that made one attempt, want 0", st.Retries)
	}
}

// A read deadline centuries past, set while a Read waits for bytes from
// several connections, ends the Read as one just past does.
func TestTCPPoolFarPastReadDeadlineEndsAWaitingRead(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: 2})
	waitConnsUp(t, p, 2)
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 8))
		done <- err
	}()
	pooltest.WaitFor(t, "a Read waiting for bytes", func() bool { return p.Sleepers() == 1 })
	if err := p.SetReadDeadline(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	waitErrIs(t, done, os.ErrDeadlineExceeded, "a Read waiting past a deadline in 1600")
}

// A Balancer's negative index other than -1, a hash modulo the number of
// connections say, is taken modulo it as documented, not as "none".
func TestTCPPoolBalancerNegativeIndexIsTakenModulo(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, Size: 3, MaxAttempts: 1,
		Balancer: connpool.BalancerFunc(func(connpool.ConnSet, int) int { return -2 }),
	})
	waitConnsUp(t, p, 3)
	mustWrite(t, p, []byte("x"))
}

// A connection's redials wait out a backoff that grows while dials fail,
// capped and jittered, and starts over once one succeeds: all on the
// pool's clock.
func TestTCPPoolRedialBacksOffOnTheClock(t *testing.T) {
	srv := newTCPServer(t, nil)
	dialed := make(chan struct{}, 16)
	var down atomic.Bool
	const base, limit = time.Second, 4 * time.Second
	p, clk := fakeTCPPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, DialBackoff: base, MaxDialBackoff: limit,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			defer func() { dialed <- struct{}{} }()
			if down.Load() {
				return nil, syscall.ECONNREFUSED
			}
			return new(net.Dialer).DialContext(ctx, network, addr)
		},
	})
	<-dialed
	down.Store(true)
	srv.WaitOpen(1)
	srv.CloseConns()
	waitPeerClosedSeen(t, p)
	clk.Advance(time.Hour) // the next write probes first, and finds it closed
	p.SetMaxRetries(1)
	if _, err := p.Write([]byte("lost")); err == nil {
		t.Fatal("a Write with its only connection closed and one attempt succeeded")
	}
	// Each wait is at most half the time the connection has been down,
	// at least up to base and at most limit. The fake clock stands still
	// between a timer firing and the dial it lets through failing.
	var outage time.Duration
	for step := 1; step <= 5; step++ {
		waitTimer(t, clk)
		wait := clk.NextDeadline()
		if ceiling := min(limit, max(base, outage/2)); wait <= 0 || wait > ceiling {
			t.Errorf("backoff step %d, %v into the outage: waits %v, want (0, %v]", step, outage, wait, ceiling)
		}
		outage += wait
		if step == 5 {
			down.Store(false)
		}
		clk.Advance(wait)
		<-dialed
	}
	if !p.WaitConnsUp(1, testserver.WaitLimit) {
		t.Fatal("the connection never came back")
	}
	if st := p.Stats(); st.Reconnects != 1 || st.DialErrors != 4 || st.Dials != 6 {
		t.Errorf("stats %+v: want 1 reconnect after 4 failed dials, 6 dials in all", st)
	}
}

// With nothing up, the last attempt is a wait for a connection, as every
// other: with MaxAttempts 1, a Write while the connection is being
// redialled waits for it, up to DialBackoff, instead of failing at once.
func TestTCPPoolLastAttemptWaitsForAConnection(t *testing.T) {
	srv := newTCPServer(t, func(s *testserver.Server, id int, c net.Conn) {
		if id == 0 {
			return // closes the first connection at once
		}
		s.Drain(id, c)
	})
	p, clk := fakeTCPPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, Size: 1, MaxAttempts: 1, DialBackoff: time.Second,
	})
	if _, err := p.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read = %v, want io.EOF", err)
	}
	// The connection is down; its redial waits for its backoff on clk.
	done := make(chan error, 1)
	go func() {
		_, err := p.Write([]byte("x"))
		done <- err
	}()
	pooltest.WaitFor(t, "the Write waiting for the redial", func() bool {
		select {
		case err := <-done:
			t.Fatalf("Write returned %v at once, without its attempt's wait of up to DialBackoff", err)
		default:
		}
		return p.Sleepers() == 1 && clk.Timers() == 2
	})
	clk.Advance(time.Second - time.Nanosecond) // the redial's backoff, within the Write's wait
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Write = %v after the connection came back within its attempt", err)
		}
	case <-time.After(testserver.WaitLimit):
		t.Fatal("the Write did not return")
	}
}

// A connection SetPoolSize removes is closed without a TLS goodbye: a
// close_notify alert waits up to five seconds for room on a peer that
// reads nothing, and would keep SetPoolSize, or the last Write on the
// connection, waiting so.
func TestTCPPoolRemovedTLSConnSendsNoGoodbye(t *testing.T) {
	srv, clientCfg, noGoodbye := newGoodbyeWatchingTLSServer(t)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, Size: 2,
		Dial: (&tls.Dialer{Config: clientCfg}).DialContext,
	})
	waitConnsUp(t, p, 2)
	if err := p.SetPoolSize(1); err != nil {
		t.Fatal(err)
	}
	noGoodbye("the removed connection")
}

// Close closes a TLS connection with no Write in progress gracefully: its
// server gets a close_notify, as from any TLS client that hangs up.
func TestTCPPoolCloseSaysTLSGoodbye(t *testing.T) {
	const size = 2
	serverCfg, clientCfg := testserver.TLSConfigs(t)
	serverCfg.SessionTicketsDisabled = true // nothing unread: the client's close is a FIN
	handshook := make(chan struct{}, size)
	after := make(chan []byte, size)
	srv := testserver.StartWrapped(t, func(ln net.Listener) net.Listener { return tls.NewListener(ln, serverCfg) },
		func(_ *testserver.Server, _ int, c net.Conn) {
			tc := c.(*tls.Conn)
			if err := tc.Handshake(); err != nil {
				t.Errorf("server handshake: %v", err)
			}
			handshook <- struct{}{}
			// Under TLS, so that the close_notify comes as bytes.
			b, _ := io.ReadAll(tc.NetConn())
			after <- b
		})
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, Size: size,
		Dial: (&tls.Dialer{Config: clientCfg}).DialContext,
	})
	waitConnsUp(t, p, size)
	for range size {
		// Before Close: the server's handshake, done, has read nothing
		// of what comes after.
		select {
		case <-handshook:
		case <-time.After(tcpWait):
			t.Fatal("the server's handshakes did not end")
		}
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	for range size {
		select {
		case b := <-after:
			if len(b) == 0 {
				t.Error("a connection ended with nothing after its handshake: Close sent no close_notify")
			}
		case <-time.After(tcpWait):
			t.Fatal("a connection is still open after Close")
		}
	}
}

// gatedSocket is a socket under TLS that, once armed, says when the layer
// begins a write on it and holds the write until open is closed; once open
// is closed, writes go through unsaid, so that none made as the test ends
// (a goodbye to a dial the pool's Close cut short, say) waits for it.
type gatedSocket struct {
	net.Conn
	armed   *atomic.Bool
	writing chan<- struct{}
	open    <-chan struct{}
}

func (c gatedSocket) Write(b []byte) (int, error) {
	if c.armed.Load() {
		select {
		case c.writing <- struct{}{}:
			<-c.open
		case <-c.open:
		}
	}
	return c.Conn.Write(b)
}

// NetConn lets the pool's probe reach the socket.
func (c gatedSocket) NetConn() net.Conn { return c.Conn }

// stalledTLS is a TLS server that reads nothing after its handshake, and
// a Dial whose connections, once armed, hold every TLS write (a goodbye,
// when the pool closes them) until letGo.
type stalledTLS struct {
	srv     *testserver.Server
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	raws    chan net.Conn // the socket under each connection dialled
	armed   atomic.Bool
	writing chan struct{}
	hold    chan struct{} // the server's handlers
	open    chan struct{} // the held writes
	release sync.Once
}

func startStalledTLS(t *testing.T, size int) *stalledTLS {
	serverCfg, clientCfg := testserver.TLSConfigs(t)
	st := &stalledTLS{
		raws:    make(chan net.Conn, size),
		writing: make(chan struct{}, size),
		hold:    make(chan struct{}),
		open:    make(chan struct{}),
	}
	st.srv = testserver.StartWrapped(t, func(ln net.Listener) net.Listener { return tls.NewListener(ln, serverCfg) },
		func(_ *testserver.Server, _ int, c net.Conn) {
			c.(*tls.Conn).Handshake()
			<-st.hold // reads nothing
		})
	st.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := new(net.Dialer).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(gatedSocket{c, &st.armed, st.writing, st.open}, clientCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		// The sockets of the first size connections, for the test to
		// read; a later dial (a spare the pool tops up, say) must not
		// wait on a test that reads no more.
		select {
		case st.raws <- c:
		default:
		}
		return tc, nil
	}
	// After the server's cleanup, so run before it: it waits on its
	// handlers.
	t.Cleanup(st.letGo)
	return st
}

func (st *stalledTLS) letGo() {
	st.release.Do(func() {
		close(st.hold)
		close(st.open)
	})
}

// closesConcurrently arms the connections, calls do, and fails t unless
// do begins a goodbye on each of the size connections of startStalledTLS
// while none of them can end, then returns once they are let go. The
// server closes its connections behind the bytes it did not read, so the
// kernel resets them, which ends the goodbyes let through.
func (st *stalledTLS) closesConcurrently(t *testing.T, name string, do func()) {
	t.Helper()
	size := cap(st.writing)
	// Also if t fails: the pool's cleanup would wait on the held goodbyes.
	defer st.letGo()
	st.armed.Store(true)
	closed := make(chan struct{})
	go func() {
		do()
		close(closed)
	}()
	for i := range size {
		select {
		case <-st.writing:
		case <-closed:
			t.Fatalf("%s returned having said %d goodbyes of %d", name, i, size)
		case <-time.After(tcpWait):
			t.Fatalf("%s began %d goodbyes of %d while the first ones waited: it says them one after another", name, i, size)
		}
	}
	st.letGo()
	select {
	case <-closed:
	case <-time.After(tcpWait):
		t.Fatalf("%s did not return once the server went", name)
	}
}

// Close says a TLS goodbye on every connection, which to a server that
// stopped reading waits for room in the socket (crypto/tls gives it five
// seconds): Close says them all at once, so that such a server costs it
// one wait, not one per connection. Each goodbye is held here until all
// of them have begun, which Close saying them one after another would
// never let happen.
func TestTCPPoolCloseSaysTLSGoodbyesConcurrently(t *testing.T) {
	const size = 4
	st := startStalledTLS(t, size)
	p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{st.srv.Addr()}, Size: size, Dial: st.dial})
	waitConnsUp(t, p, size)
	for range size {
		// What Writes leave behind them on a server that stopped reading:
		// every buffer on the way full, no Write in progress.
		fillSendBuffer(t, <-st.raws)
	}
	st.closesConcurrently(t, "Close", func() { p.Close() })
}

// panicOnClose is a connection whose Close closes the socket and then
// panics, as a faulty wrapper's might.
type panicOnClose struct{ net.Conn }

var errPanicOnClose = errors.New("a Close that panics")

func (c panicOnClose) Close() error {
	c.Conn.Close()
	panic(errPanicOnClose)
}

// panickingCloses dials with dial and wraps each connection in
// panicOnClose.
func panickingCloses(dial connpool.DialFunc) connpool.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return panicOnClose{c}, nil
	}
}

// TCPPool.Close closes layered connections in goroutines of its own; a
// panic in one of them must reach Close's caller, as it would from a Close
// made inline, not end the program from a goroutine nobody can recover.
func TestTCPPoolCloseRaisesAConnectionsPanicInItsCaller(t *testing.T) {
	srv := testserver.Start(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, Size: 1,
		Dial: panickingCloses(new(net.Dialer).DialContext),
	})
	defer func() {
		if r := recover(); r != errPanicOnClose {
			t.Errorf("Close panicked with %v, want %v", r, errPanicOnClose)
		}
	}()
	p.Close()
	t.Error("Close returned")
}

// A connection's Close that panics must not cut TCPPool.Close short: the
// panic reaches the caller only once every goroutine of the pool has
// ended, here a redial still inside its Dial.
func TestTCPPoolCloseWaitsForItsGoroutinesWhenAConnectionsClosePanics(t *testing.T) {
	srv := testserver.Start(t, nil)
	var calls atomic.Int32
	dialing := make(chan struct{})
	release := make(chan struct{})
	var dialReturned atomic.Bool
	dialPanicking := panickingCloses(new(net.Dialer).DialContext)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, Size: 2, DialBackoff: time.Millisecond,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			switch calls.Add(1) {
			case 1:
				return dialPanicking(ctx, network, addr)
			case 2:
				return nil, errors.New("refused")
			case 3:
				close(dialing)
			}
			<-ctx.Done()
			<-release
			dialReturned.Store(true)
			return nil, ctx.Err()
		},
	})
	<-dialing
	ended := make(chan bool)
	go func() {
		defer func() {
			r := recover()
			if r != errPanicOnClose {
				t.Errorf("Close panicked with %v, want %v", r, errPanicOnClose)
			}
			ended <- dialReturned.Load()
		}()
		p.Close()
	}()
	var returned bool
	select {
	case returned = <-ended:
		close(release)
	case <-time.After(100 * time.Millisecond):
		// Close is waiting, as it should; let the dial end.
		close(release)
		returned = <-ended
	}
	if !returned {
		t.Error("Close panicked while the pool's redial was still in its Dial")
	}
}

// A Write whose probe finds the connection closed because the pool's own
// Close closed it under the probe is no stale connection: the server
// closed nothing, so ClosedStale stays 0 and nothing is logged as "peer
// closed an idle connection".
func TestTCPPoolCloseUnderAProbeIsNoStaleConnection(t *testing.T) {
	if !connpool.ProbeSupported {
		t.Skip("no probe on this platform")
	}
	srv := newTCPServer(t, nil)
	logs := newLogRecorder()
	var p *connpool.TCPPool
	var once sync.Once
	// The first probe (the first Write on a new connection always probes)
	// runs Close first, as a Close that comes in the same instant would.
	closeFirst := func() { once.Do(func() { p.Close() }) }
	p = dialPool(t, connpool.TCPPoolConfig{
		Addrs:  []string{srv.Addr()},
		Dial:   dialProbeHook(closeFirst),
		Logger: slog.New(logs),
	})
	if _, err := p.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write cut short by Close = %v, want net.ErrClosed", err)
	}
	if st := p.Stats(); st.ClosedStale != 0 {
		t.Errorf("ClosedStale = %d after the pool's own Close closed the connection, want 0 (the server closed nothing)", st.ClosedStale)
	}
	if r, ok := logs.find("peer closed"); ok {
		t.Errorf("logged %q at %v, but the pool closed the connection itself", r.Message, r.Level)
	}
	if srv.Total() != 0 {
		t.Errorf("the server got %d bytes, want none", srv.Total())
	}
}

// A Write that finds connections closed by the server (after a restart,
// or by its idle timeout) goes on to one that is up, however few attempts
// it has: a connection the check before the write finds closed costs no
// attempt while another is up, as nothing was tried on it.
func TestTCPPoolConnectionsFoundClosedCostNoAttempt(t *testing.T) {
	const size = 4
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, Size: size, MaxAttempts: 1,
		ProbeAfter: time.Nanosecond, // every Write probes
		// Every Write starts at the first connection and goes on in order.
		Balancer: connpool.BalancerFunc(func(connpool.ConnSet, int) int { return 0 }),
	})
	waitConnsUp(t, p, size)
	srv.WaitOpen(size)
	// The server closes all but the last connection.
	for i := range size - 1 {
		c := p.SlotConn(i)
		for id := range srv.Accepts() {
			if sc := srv.Conn(id); sc != nil && sc.RemoteAddr().String() == c.LocalAddr().String() {
				sc.Close()
			}
		}
		if !connpool.WaitConnPeerClosed(c, tcpWait) {
			t.Fatalf("connection %d never saw the server's close", i)
		}
	}
	if n, err := p.Write([]byte("x")); err != nil {
		t.Fatalf("Write with one attempt past %d connections closed by the server = %d, %v; stats %+v", size-1, n, err, p.Stats())
	}
	if st := p.Stats(); st.Writes != 1 || st.FailedWrites != 0 || st.Retries != 0 || st.ClosedStale == 0 {
		t.Fatalf("stats %+v; want one Write, no retry, and closed connections found stale", st)
	}
}

// A server that closes every connection it accepts still uses a Write's
// attempts up: the checks that cost none are at most one per connection.
func TestTCPPoolServerClosingEveryConnectionEndsTheWrite(t *testing.T) {
	srv := newTCPServer(t, func(*testserver.Server, int, net.Conn) {}) // closes at once
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, Size: 2, MaxAttempts: 2,
		DialBackoff: time.Millisecond, MaxDialBackoff: time.Millisecond,
		// Each connection comes up once the server's close has reached it.
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := new(net.Dialer).DialContext(ctx, network, addr)
			if err == nil && !connpool.WaitConnPeerClosed(c, tcpWait) {
				c.Close()
				return nil, errors.New("the server's close never came")
			}
			return c, err
		},
	})
	if n, err := p.Write([]byte("x")); err == nil {
		t.Fatalf("Write to a server that closes every connection = %d, nil; stats %+v", n, p.Stats())
	}
	if st := p.Stats(); st.FailedWrites != 1 || st.Writes != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// tearingConn is a socket that holds the Write the socket cuts short after
// part of its bytes went out (the first one), saying so on torn, until
// hold is closed; a Write that begins on it meanwhile says so on entered.
type tearingConn struct {
	net.Conn
	st *tearing
}

type tearing struct {
	tore    atomic.Bool
	holding atomic.Bool
	torn    chan struct{}
	hold    chan struct{}
	entered chan struct{}
}

func (c tearingConn) Write(b []byte) (int, error) {
	if c.st.holding.Load() {
		select {
		case c.st.entered <- struct{}{}:
		default:
		}
	}
	n, err := c.Conn.Write(b)
	if err != nil && n > 0 && c.st.tore.CompareAndSwap(false, true) {
		c.st.holding.Store(true)
		close(c.st.torn)
		<-c.st.hold
		c.st.holding.Store(false)
	}
	return n, err
}

// waitParked waits until a goroutine's stack holds every one of frames,
// failing if bad fires first.
func waitParked(t *testing.T, bad <-chan struct{}, why string, frames ...string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(testserver.WaitLimit)
	for {
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			all := true
			for _, f := range frames {
				all = all && strings.Contains(g, f)
			}
			if all {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine parked in %v", frames)
		}
		select {
		case <-bad:
			t.Fatal(why)
		case <-time.After(time.Millisecond):
		}
	}
}

// A Write that its deadline cuts short after part of its bytes went out
// retires its connection before any other Write goes out on it, even one
// that had taken the connection already and finds the deadline lifted:
// the peer sees the torn message at the end of its stream, and the other
// Write's bytes on the next connection.
func TestTCPPoolTornWriteRetiresBeforeTheNextWriteGoesOut(t *testing.T) {
	srv, release := startStallingServer(t)
	st := &tearing{torn: make(chan struct{}), hold: make(chan struct{}), entered: make(chan struct{}, 1)}
	var once sync.Once
	letGo := func() { once.Do(func() { release(); close(st.hold) }) }
	t.Cleanup(letGo) // before the server's Close
	var dials atomic.Int32
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, DialBackoff: time.Millisecond, MaxAttempts: tcpAttempts,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := new(net.Dialer).DialContext(ctx, network, addr)
			if err != nil || dials.Add(1) > 1 {
				return c, err
			}
			return tearingConn{c, st}, nil
		},
	})
	torn := make(chan error, 1)
	go func() {
		_, err := p.Write(make([]byte, 64<<20)) // more than the socket buffers hold
		torn <- err
	}()
	srv.WaitTotal(1)
	if err := p.SetWriteDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	<-st.torn
	if err := p.SetWriteDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	next := make(chan error, 1)
	go func() {
		_, err := p.Write([]byte("NEXT"))
		next <- err
	}()
	// The next Write waits for the torn one to finish with the connection.
	waitParked(t, st.entered, "a Write went out on a connection a torn Write had yet to retire",
		"(*Mutex).lockSlow", "(*TCPPool).writeOn")
	letGo()
	waitErrIs(t, torn, os.ErrDeadlineExceeded, "the Write the deadline cut short")
	if err := <-next; err != nil {
		t.Fatalf("the next Write = %v", err)
	}
	srv.WaitUntil("NEXT on the next connection", func() bool { return string(srv.Data()[1]) == "NEXT" })
	if got := srv.Data()[0]; strings.HasSuffix(string(got), "NEXT") {
		t.Error("the next Write followed the torn message on its stream")
	}
}

// A Write that gives up after a Read saw its connection end cleanly
// returns an error that is not io.EOF, which a caller would take for the
// end of a stream: the pool's last error is the peer's close.
func TestTCPPoolWriteGivingUpAfterACleanCloseIsNoEOF(t *testing.T) {
	srv := testserver.Start(t, func(_ *testserver.Server, _ int, c net.Conn) { c.Close() })
	var dials atomic.Int32
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, MaxAttempts: 1, DialBackoff: time.Millisecond,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) > 1 {
				<-ctx.Done() // the redial hangs until the pool closes
				return nil, ctx.Err()
			}
			return new(net.Dialer).DialContext(ctx, network, addr)
		},
	})
	if n, err := p.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("Read = %d, %v; want 0, io.EOF at the server's close", n, err)
	}
	_, err := p.Write([]byte("x"))
	if err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("Write = %v; want an error, not one wrapping io.EOF", err)
	}
}

// A TLS server that closes what it accepts before its handshake (a TLS
// proxy with no backend, a server at its connection limit) makes every
// redial fail with a bare io.EOF from crypto/tls. A Write or a Read that
// then gives up must not return an error wrapping io.EOF, which its caller
// would take for the end of a stream.
func TestTCPPoolGivingUpAfterDialsEndedByEOFIsNoEOF(t *testing.T) {
	serverCfg, clientCfg := testserver.TLSConfigs(t)
	srv := testserver.StartWrapped(t,
		func(ln net.Listener) net.Listener { return tls.NewListener(ln, serverCfg) },
		func(_ *testserver.Server, id int, c net.Conn) {
			if id == 0 {
				c.(*tls.Conn).Handshake() // the first connection works, then the server goes
				return
			}
			// The later ones: the ClientHello is read whole, then the
			// connection is closed before any answer (a plain FIN).
			raw := c.(*tls.Conn).NetConn()
			var h [5]byte
			if _, err := io.ReadFull(raw, h[:]); err == nil {
				io.CopyN(io.Discard, raw, int64(h[3])<<8|int64(h[4]))
			}
		})
	tlsDial := (&tls.Dialer{Config: clientCfg}).DialContext
	var dials atomic.Int32
	third := make(chan struct{})
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, MaxAttempts: 3, DialBackoff: time.Millisecond,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) == 3 {
				close(third) // the second dial has failed, and its error is the pool's
			}
			return tlsDial(ctx, network, addr)
		},
	})
	waitPeerClosedSeen(t, p)
	p.Write([]byte("x")) // finds the connection closed and starts the redials
	select {
	case <-third:
	case <-time.After(tcpWait):
		t.Fatal("no redial after the first failed")
	}
	_, werr := p.Write([]byte("x"))
	_, rerr := p.Read(make([]byte, 1))
	if werr == nil || errors.Is(werr, io.EOF) {
		t.Errorf("Write = %v; want an error that does not wrap io.EOF", werr)
	}
	if rerr == nil || errors.Is(rerr, io.EOF) {
		t.Errorf("Read = %v; want an error that does not wrap io.EOF", rerr)
	}
}

// A Write or a Read with no deadline that gives up, because no connection
// came up, does not report a deadline exceeded: the pool's last error,
// left by an earlier Write that its deadline cut short, is a timeout of
// that Write's, not of theirs.
func TestTCPPoolGivingUpWithNoDeadlineIsNoTimeout(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	srv := newTCPServer(t, func(*testserver.Server, int, net.Conn) { <-hold }) // reads nothing
	var dials atomic.Int32
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()}, MaxAttempts: 3, DialBackoff: 5 * time.Millisecond,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) > 1 {
				<-ctx.Done() // the host has gone: redials hang until the pool closes
				return nil, ctx.Err()
			}
			return new(net.Dialer).DialContext(ctx, network, addr)
		},
	})
	big := make([]byte, 64<<20) // before the deadline: making it takes a while
	p.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	n, err := p.Write(big)
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 {
		t.Fatalf("a Write larger than the buffers, to a server that reads nothing = %d, %v; want part of it, and a timeout", n, err)
	}
	p.SetWriteDeadline(time.Time{})
	var ne net.Error
	if _, err := p.Write([]byte("x")); err == nil || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("Write with no deadline, giving up = %v; want an error and no timeout", err)
	}
	if _, err := p.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("Read with no deadline, giving up = %v; want an error and no timeout", err)
	}
}

// Where the kernel tells of a peer's close (Linux), a Write right after
// one that the server then closed its connection under goes onto a new
// connection, not onto the closed one, however recently the connection
// was written to: ProbeAfter (an hour here) does not hold the probe back.
// Without the watcher it would go onto the closed socket, and be lost once
// the server stops reading.
func TestTCPPoolWriteAfterThePeerClosedGoesElsewhereWithinProbeAfter(t *testing.T) {
	if !connpool.WatchSupported {
		t.Skip("no socket watcher on this platform")
	}
	closeNow := make(chan struct{})
	srv := newTCPServer(t, func(s *testserver.Server, id int, c net.Conn) {
		if id == 0 {
			buf := make([]byte, 4)
			io.ReadFull(c, buf)
			s.Record(id, buf)
			<-closeNow
			return // closed, reading nothing more
		}
		s.Drain(id, c)
	})
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{srv.Addr()},
		ProbeAfter:  time.Hour,
		MaxAttempts: tcpAttempts,
		DialBackoff: time.Millisecond,
	})
	mustWrite(t, p, []byte("aaaa")) // the first Write probes, and the watcher takes the socket
	srv.WaitUntil("aaaa", func() bool { return bytes.Equal(srv.Data()[0], []byte("aaaa")) })
	seen := p.PeerGoneSeen()
	close(closeNow)
	select {
	case <-seen:
	case <-time.After(tcpWait):
		t.Fatal("the pool did not hear of the server's close")
	}
	mustWrite(t, p, []byte("bbbb"))
	srv.WaitUntil("bbbb on a new connection", func() bool { return bytes.Equal(srv.Data()[1], []byte("bbbb")) })
	if st := p.Stats(); st.ClosedStale != 1 {
		t.Errorf("ClosedStale = %d, want 1", st.ClosedStale)
	}
}

// armedConn is a TCP connection whose socket's next Control, once armed,
// runs hook first: the probe before a Write reaches the socket through
// it.
type armedConn struct {
	*net.TCPConn
	armed *atomic.Bool
	hook  func(c *net.TCPConn)
}

func (c armedConn) SyscallConn() (syscall.RawConn, error) {
	rc, err := c.TCPConn.SyscallConn()
	if err != nil {
		return nil, err
	}
	return armedRawConn{rc, c}, nil
}

type armedRawConn struct {
	syscall.RawConn
	c armedConn
}

func (rc armedRawConn) Control(f func(fd uintptr)) error {
	if rc.c.armed.CompareAndSwap(true, false) {
		rc.c.hook(rc.c.TCPConn)
	}
	return rc.RawConn.Control(f)
}

// The socket watcher, told of a peer's close while a probe of that very
// connection runs (in a wrapper's Control, which may take its time), does
// not wait for the probe: it tells it to look again, and the pool's Close,
// called from within that Control, returns.
func TestTCPPoolWatcherDoesNotWaitOnAProbe(t *testing.T) {
	if !connpool.WatchSupported {
		t.Skip("no socket watcher on this platform")
	}
	closeNow := make(chan struct{})
	srv := newTCPServer(t, func(s *testserver.Server, id int, c net.Conn) {
		if id == 0 {
			<-closeNow
			return
		}
		s.Drain(id, c)
	})
	var armed atomic.Bool
	var p *connpool.TCPPool
	var seen <-chan struct{}
	result := make(chan string, 1)
	hook := func(c *net.TCPConn) {
		close(closeNow)
		select {
		case <-seen:
		case <-time.After(tcpWait):
			result <- "the watcher did not act on the close while the probe ran"
			return
		}
		closed := make(chan struct{})
		go func() { p.Close(); close(closed) }()
		select {
		case <-closed:
			result <- ""
		case <-time.After(tcpWait):
			result <- "Close, called from within the probe's Control, did not return"
		}
	}
	p = dialPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{srv.Addr()},
		ProbeAfter:  time.Nanosecond,
		MaxAttempts: tcpAttempts,
		DialBackoff: time.Millisecond,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := new(net.Dialer).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return armedConn{c.(*net.TCPConn), &armed, hook}, nil
		},
	})
	mustWrite(t, p, []byte("aaaa")) // the first probe: the watcher takes the socket
	seen = p.PeerGoneSeen()
	armed.Store(true)
	p.Write([]byte("bbbb")) // its probe's Control closes the server's end, then the pool
	if msg := <-result; msg != "" {
		t.Fatal(msg)
	}
}
