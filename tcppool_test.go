package connpool_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"reflect"
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

// tcpWait bounds every wait on a condition in these tests. A passing test
// never waits this long; a failing one fails instead of hanging.
const tcpWait = 10 * time.Second

// tcpAttempts is MaxAttempts for tests where no Write may fail: with a
// DialBackoff of 1ms, a Write waits up to about tcpWait for a redial.
const tcpAttempts = 10000

// noAttemptLimit is MaxAttempts for Writes that must not fail while the
// pool's clock runs on by itself (see autoAdvance), where a count of
// attempts bounds no time; boundWrites bounds them instead.
const noAttemptLimit = math.MaxInt

// boundWrites sets p's write deadline testserver.WaitLimit from now: a
// Write that waits for a connection longer fails instead of hanging.
func boundWrites(t testing.TB, p *connpool.TCPPool) {
	t.Helper()
	if err := p.SetWriteDeadline(time.Now().Add(testserver.WaitLimit)); err != nil {
		t.Fatal(err)
	}
}

// deadAddr returns an address on 127.0.0.1 that refuses connections for
// as long as the test runs: a port bound by a socket that does not listen,
// so that no other process can take it meanwhile (as one could a port
// merely closed).
func deadAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// fakeTCPPool is dialPool on a fake clock, for the pool's backoff, its
// waits for a connection and its probe; deadlines stay on the wall clock.
func fakeTCPPool(t testing.TB, cfg connpool.TCPPoolConfig) (*connpool.TCPPool, *connpool.FakeClock) {
	t.Helper()
	clk := connpool.NewFakeClock()
	p, err := connpool.NewTCPPoolWithClock(context.Background(), cfg, clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, clk
}

// autoAdvance moves clk on by step each time a timer is made on it, until
// the test ends: for tests that need the pool's backoff and waits to run
// their course, but not to take any time. Every wait for a connection then
// ends at once, so a Write waiting for a redial uses its attempts up as
// fast as the processor lets it, however soon the redial comes: a Write
// that must not fail needs noAttemptLimit and boundWrites.
func autoAdvance(t testing.TB, clk *connpool.FakeClock, step time.Duration) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-clk.TimerMade():
				clk.Advance(step)
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		<-stopped
	})
}

// dialPool calls DialPool and closes the pool at the end of the test.
func dialPool(t testing.TB, cfg connpool.TCPPoolConfig) *connpool.TCPPool {
	t.Helper()
	p, err := connpool.DialPool(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func mustWrite(t testing.TB, w io.Writer, b []byte) {
	t.Helper()
	if n, err := w.Write(b); n != len(b) || err != nil {
		t.Fatalf("Write(%d bytes) = %d, %v", len(b), n, err)
	}
}

// waitConnsUp waits until n connections of p are up.
func waitConnsUp(t testing.TB, p *connpool.TCPPool, n int) {
	t.Helper()
	if !p.WaitConnsUp(n, tcpWait) {
		t.Fatalf("timed out waiting for %d connections up; stats %+v", n, p.Stats())
	}
}

func TestTCPPoolDropInAPIWritesArrive(t *testing.T) {
	srv := newTCPServer(t, nil)
	p, err := connpool.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var conn net.Conn = p // what go-tcp-pool users hold
	if err := p.SetPoolSize(4); err != nil {
		t.Fatal(err)
	}
	p.SetMaxRetries(10)
	p.SetRetryInterval(10 * time.Millisecond)
	msg := []byte("Hello, world!\n")
	for range 20 {
		mustWrite(t, conn, msg)
	}
	srv.WaitTotal(20 * len(msg))
	var all []byte
	for _, b := range srv.Data() {
		all = append(all, b...)
	}
	if want := bytes.Repeat(msg, 20); !bytes.Equal(all, want) {
		t.Fatalf("server got %q, want 20 greetings", all)
	}
	if st := p.Stats(); st.Writes != 20 || st.Bytes != uint64(20*len(msg)) || st.Size != 4 {
		t.Fatalf("stats %+v, want 20 writes of %d bytes over 4 connections", st, 20*len(msg))
	}
}

func TestTCPPoolDialTCPUsesResolvedAddress(t *testing.T) {
	srv := newTCPServer(t, nil)
	raddr, err := net.ResolveTCPAddr("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	p, err := connpool.DialTCP("tcp", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	mustWrite(t, p, []byte("x"))
	srv.WaitTotal(1)
	if got := p.RemoteAddr().String(); got != srv.Addr() {
		t.Fatalf("RemoteAddr = %s, want %s", got, srv.Addr())
	}
}

// DialTCP's laddr is the local address of the pool's connections, as
// net.DialTCP's is: here 127.0.0.2, which Linux's loopback answers to.
func TestTCPPoolDialTCPBindsLocalAddress(t *testing.T) {
	srv := newTCPServer(t, nil)
	raddr, err := net.ResolveTCPAddr("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	laddr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	if ln, err := net.ListenTCP("tcp", laddr); err != nil {
		t.Skipf("127.0.0.2 is not a local address here: %v", err)
	} else {
		ln.Close()
	}
	p, err := connpool.DialTCP("tcp", laddr, raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	mustWrite(t, p, []byte("x"))
	srv.WaitTotal(1)
	got, ok := p.LocalAddr().(*net.TCPAddr)
	if !ok || !got.IP.Equal(laddr.IP) {
		t.Fatalf("LocalAddr = %v, want an address on %v", p.LocalAddr(), laddr.IP)
	}
	if peer := srv.Conn(0).RemoteAddr().(*net.TCPAddr); !peer.IP.Equal(laddr.IP) {
		t.Errorf("the server sees the pool at %v, want %v", peer, laddr.IP)
	}
}

func TestTCPPoolDialRejectsBadInput(t *testing.T) {
	raddr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	for _, tc := range []struct {
		name string
		dial func() (*connpool.TCPPool, error)
	}{
		{"Dial/udp", func() (*connpool.TCPPool, error) { return connpool.Dial("udp", "127.0.0.1:1") }},
		{"Dial/no port", func() (*connpool.TCPPool, error) { return connpool.Dial("tcp", "127.0.0.1") }},
		{"DialTCP/unix", func() (*connpool.TCPPool, error) { return connpool.DialTCP("unix", nil, raddr) }},
		{"DialTCP/nil raddr", func() (*connpool.TCPPool, error) { return connpool.DialTCP("tcp", nil, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.dial()
			if p != nil {
				p.Close()
			}
			if err == nil || p != nil {
				t.Fatalf("got %v, %v; want an error and no pool", p, err)
			}
		})
	}
	// The error names what the caller passed, not a field of a config
	// the caller never wrote.
	p, err := connpool.Dial("tcp", "")
	if p != nil || !errors.Is(err, connpool.ErrInvalidConfig) || !strings.Contains(err.Error(), "addr is empty") {
		t.Fatalf(`Dial("tcp", "") = %v, %v; want an error wrapping ErrInvalidConfig saying addr is empty`, p, err)
	}
}

// go-tcp-pool's Dial succeeds while the server is down, and so does this
// one: the pool keeps dialling, and Writes fail cleanly meanwhile.
func TestTCPPoolDialToDownServerReturnsPoolWhoseWritesFail(t *testing.T) {
	p, err := connpool.Dial("tcp", deadAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetMaxRetries(2)
	p.SetRetryInterval(time.Millisecond)
	n, err := p.Write([]byte("lost"))
	if n != 0 || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Write = %d, %v; want 0 and an error wrapping ECONNREFUSED", n, err)
	}
	if st := p.Stats(); st.FailedWrites != 1 || st.DialErrors == 0 || st.ConnsUp != 0 {
		t.Fatalf("stats %+v, want 1 failed write, dial errors, nothing up", st)
	}
}

func TestTCPPoolDialPoolRejectsBadConfig(t *testing.T) {
	addr := deadAddr(t)
	for _, tc := range []struct {
		name string
		cfg  connpool.TCPPoolConfig
	}{
		{"no address", connpool.TCPPoolConfig{}},
		{"empty address", connpool.TCPPoolConfig{Addrs: []string{addr, ""}}},
		{"negative size", connpool.TCPPoolConfig{Addrs: []string{addr}, Size: -1}},
		{"size too big", connpool.TCPPoolConfig{Addrs: []string{addr}, Size: 65536 + 1}},
		{"negative dial timeout", connpool.TCPPoolConfig{Addrs: []string{addr}, DialTimeout: -1}},
		{"negative retry interval", connpool.TCPPoolConfig{Addrs: []string{addr}, DialBackoff: -1}},
		{"negative max backoff", connpool.TCPPoolConfig{Addrs: []string{addr}, MaxDialBackoff: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := connpool.DialPool(context.Background(), tc.cfg)
			if !errors.Is(err, connpool.ErrInvalidConfig) || p != nil {
				t.Fatalf("DialPool = %v, %v; want an error wrapping ErrInvalidConfig", p, err)
			}
		})
	}
	//lint:ignore SA1012 a nil context is the bad input under test
	if _, err := connpool.DialPool(nil, connpool.TCPPoolConfig{Addrs: []string{addr}}); !errors.Is(err, connpool.ErrInvalidConfig) {
		t.Fatalf("DialPool(nil ctx) error %v, want ErrInvalidConfig", err)
	}
}

func TestTCPPoolDialPoolFailsWhenNothingAnswers(t *testing.T) {
	cfg := connpool.TCPPoolConfig{Addrs: []string{deadAddr(t)}, Size: 3}
	p, err := connpool.DialPool(context.Background(), cfg)
	if p != nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("DialPool = %v, %v; want an error wrapping ECONNREFUSED", p, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg.Addrs = []string{newTCPServer(t, nil).Addr()}
	p, err = connpool.DialPool(ctx, cfg)
	if p != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("DialPool(canceled) = %v, %v; want an error wrapping context.Canceled", p, err)
	}
}

// A Dial that returns no connection and no error, or a nil pointer as its
// connection, fails the pool's dial with ErrNilConn, and one that returns a
// nil pointer beside its error fails with that error: no panic, nothing up.
func TestTCPPoolDialOfNilConnIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name string
		conn net.Conn
	}{{"nil", nil}, {"nil *tls.Conn", (*tls.Conn)(nil)}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := connpool.TCPPoolConfig{
				Addrs: []string{deadAddr(t)},
				Size:  2,
				Dial:  func(context.Context, string, string) (net.Conn, error) { return tc.conn, nil },
			}
			p, err := connpool.DialPool(context.Background(), cfg)
			if p != nil || !errors.Is(err, connpool.ErrNilConn) {
				t.Fatalf("DialPool = %v, %v; want an error wrapping ErrNilConn", p, err)
			}
		})
	}
	// What tls.Dial returns when the server is down: a nil *tls.Conn and
	// the error.
	cfg := connpool.TCPPoolConfig{
		Addrs: []string{deadAddr(t)},
		Dial: func(_ context.Context, network, addr string) (net.Conn, error) {
			return tls.Dial(network, addr, &tls.Config{ServerName: "localhost"})
		},
	}
	if p, err := connpool.DialPool(context.Background(), cfg); p != nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("DialPool with tls.Dial = %v, %v; want an error wrapping ECONNREFUSED", p, err)
	}
}

func TestTCPPoolFailsOverToNextAddress(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{deadAddr(t), srv.Addr()},
		Size:        2,
		DialBackoff: time.Millisecond,
	})
	waitConnsUp(t, p, 2) // the connection homed on the dead backend moved on
	for range 10 {
		mustWrite(t, p, []byte("m"))
	}
	srv.WaitTotal(10)
	if st := p.Stats(); st.DialErrors == 0 {
		t.Fatalf("stats %+v: want the dead backend's dial error counted", st)
	}
}

// perConn returns how many bytes each server connection received, sorted.
func perConn(srv *testserver.Server) []int {
	var counts []int
	for _, b := range srv.Data() {
		counts = append(counts, len(b))
	}
	return counts
}

func TestTCPPoolRoundRobinSpreadsWritesEvenly(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: 4})
	for range 40 {
		mustWrite(t, p, []byte("r"))
	}
	srv.WaitTotal(40)
	counts := perConn(srv)
	if !reflect.DeepEqual(counts, []int{10, 10, 10, 10}) {
		t.Fatalf("bytes per connection %v, want 10 on each of 4", counts)
	}
}

func TestTCPPoolUsesCustomBalancer(t *testing.T) {
	srv := newTCPServer(t, nil)
	picks := atomic.Int64{}
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()},
		Size:  3,
		Balancer: connpool.BalancerFunc(func(c connpool.ConnSet, size int) int {
			picks.Add(1)
			if c.Len() != 3 || size != 1 {
				t.Errorf("Pick saw %d connections and a size of %d, want 3 and 1", c.Len(), size)
			}
			return 2
		}),
	})
	for range 12 {
		mustWrite(t, p, []byte("c"))
	}
	srv.WaitTotal(12)
	counts := perConn(srv)
	nonEmpty := 0
	for _, n := range counts {
		if n > 0 {
			nonEmpty++
		}
	}
	if nonEmpty != 1 || picks.Load() != 12 {
		t.Fatalf("bytes per connection %v after %d picks; want all 12 on one connection", counts, picks.Load())
	}
}

func TestTCPPoolBalancerRefusingEveryConnFailsWrite(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{srv.Addr()},
		MaxAttempts: 3,
		DialBackoff: time.Millisecond,
		Balancer:    connpool.BalancerFunc(func(connpool.ConnSet, int) int { return -1 }),
	})
	if n, err := p.Write([]byte("no")); n != 0 || err == nil {
		t.Fatalf("Write = %d, %v; want 0 and an error", n, err)
	}
	if st := p.Stats(); st.Retries != 2 || st.FailedWrites != 1 {
		t.Fatalf("stats %+v, want 2 retries and 1 failed write", st)
	}
}

func TestBalancersSkipDownConnections(t *testing.T) {
	t.Run("RoundRobin", func(t *testing.T) {
		b := connpool.RoundRobin()
		set := connpool.NewTestConnSet(-1, 0, -1, 0)
		var got []int
		for range 4 {
			got = append(got, b.Pick(set, 1))
		}
		// Starting at 0, 1, 2, 3 in turn: each start goes to the next up.
		if want := []int{1, 1, 3, 3}; !reflect.DeepEqual(got, want) {
			t.Fatalf("picks %v, want %v", got, want)
		}
		if i := b.Pick(connpool.NewTestConnSet(-1, -1), 1); i != -1 {
			t.Fatalf("pick with all down = %d, want -1", i)
		}
	})
	t.Run("LeastLoaded", func(t *testing.T) {
		b := connpool.LeastLoaded()
		set := connpool.NewTestConnSet(5, -1, 2, 7)
		for range 4 {
			if i := b.Pick(set, 1); i != 2 {
				t.Fatalf("pick = %d, want 2, the up connection with fewest writes in flight", i)
			}
		}
		seen := map[int]bool{}
		idle := connpool.NewTestConnSet(0, -1, 0, 0)
		for range 4 {
			seen[b.Pick(idle, 1)] = true
		}
		if !reflect.DeepEqual(seen, map[int]bool{0: true, 2: true, 3: true}) {
			t.Fatalf("picks among idle connections %v, want 0, 2 and 3 in turn", seen)
		}
		if i := b.Pick(connpool.NewTestConnSet(-1), 1); i != -1 {
			t.Fatalf("pick with all down = %d, want -1", i)
		}
	})
	t.Run("Random", func(t *testing.T) {
		b := connpool.Random()
		set := connpool.NewTestConnSet(-1, -1, 3, -1)
		for range 20 {
			if i := b.Pick(set, 1); i != 2 {
				t.Fatalf("pick = %d, want 2, the only connection up", i)
			}
		}
		if i := b.Pick(connpool.NewTestConnSet(-1, -1), 1); i != -1 {
			t.Fatalf("pick with all down = %d, want -1", i)
		}
		// Uniform over those up, whatever precedes them: each of two gets
		// half, to within ten standard deviations of 10,000 draws.
		counts := map[int]int{}
		gaps := connpool.NewTestConnSet(0, -1, -1, 0)
		for range 10000 {
			counts[b.Pick(gaps, 1)]++
		}
		if len(counts) != 2 || counts[0] < 4500 || counts[3] < 4500 {
			t.Fatalf("10,000 picks between connections 0 and 3 went %v, want about half each", counts)
		}
	})
}

func TestConnSetReportsConnections(t *testing.T) {
	set := connpool.NewTestConnSet(3, -1)
	if set.Len() != 2 || !set.Up(0) || set.Up(1) || set.InFlight(0) != 3 || set.InFlight(1) != 0 ||
		set.Addr(0) != "backend" || set.Addr(1) != "" {
		t.Fatalf("ConnSet reports Len %d, Up %v %v, InFlight %d %d, Addr %q %q",
			set.Len(), set.Up(0), set.Up(1), set.InFlight(0), set.InFlight(1), set.Addr(0), set.Addr(1))
	}
}

func wantTimeout(t *testing.T, op string, n int, err error) {
	t.Helper()
	var ne net.Error
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%s = %d, %v; want 0 and a timeout wrapping os.ErrDeadlineExceeded", op, n, err)
	}
}

func TestTCPPoolPastDeadlineFailsAtOnce(t *testing.T) {
	srv := newTCPServer(t, (*testserver.Server).Echo)
	for _, size := range []int{1, 3} {
		t.Run(fmt.Sprintf("Size=%d", size), func(t *testing.T) {
			p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: size})
			past := time.Now().Add(-time.Second)
			if err := p.SetDeadline(past); err != nil {
				t.Fatal(err)
			}
			n, err := p.Write([]byte("late"))
			wantTimeout(t, "Write", n, err)
			n, err = p.Read(make([]byte, 8))
			wantTimeout(t, "Read", n, err)

			if err := p.SetDeadline(time.Time{}); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, p, []byte("ok"))
			buf := make([]byte, 2)
			if _, err := io.ReadFull(p, buf); err != nil || string(buf) != "ok" {
				t.Fatalf("Read after clearing the deadline = %q, %v", buf, err)
			}
		})
	}
}

func TestTCPPoolReadDeadlineEndsBlockedRead(t *testing.T) {
	srv := newTCPServer(t, nil) // never answers
	for _, size := range []int{1, 3} {
		t.Run(fmt.Sprintf("Size=%d", size), func(t *testing.T) {
			p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: size})
			if err := p.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			n, err := p.Read(make([]byte, 8))
			wantTimeout(t, "Read", n, err)
		})
	}
}

func TestTCPPoolReadDeadlineMovedEarlierWakesRead(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: 2})
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 8))
		done <- err
	}()
	if err := p.SetReadDeadline(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := p.SetReadDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %v, want a timeout", err)
	}
}

func TestTCPPoolWriteDeadlineBoundsWaitForConnection(t *testing.T) {
	p, err := connpool.Dial("tcp", deadAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetMaxRetries(1 << 30) // only the deadline can end the wait
	if err := p.SetWriteDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	n, err := p.Write([]byte("x"))
	wantTimeout(t, "Write", n, err)
	// The timeout says why no connection was up: the dials were refused.
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Write error %q does not wrap the last dial error", err)
	}
}

// deadlineConn records the deadlines set on it.
type deadlineConn struct {
	net.Conn
	mu             sync.Mutex
	read, write    time.Time
	readSet, wrSet int
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.read, c.readSet = t, c.readSet+1
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.write, c.wrSet = t, c.wrSet+1
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func TestTCPPoolDeadlinesApplyToNewConnections(t *testing.T) {
	srv := newTCPServer(t, nil)
	dialled := make(chan *deadlineConn, 10)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{srv.Addr()},
		DialBackoff: time.Millisecond,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := new(net.Dialer).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			dc := &deadlineConn{Conn: c}
			dialled <- dc
			return dc, nil
		},
	})
	first := <-dialled
	rd, wd := time.Now().Add(time.Hour), time.Now().Add(2*time.Hour)
	if err := p.SetReadDeadline(rd); err != nil {
		t.Fatal(err)
	}
	if err := p.SetWriteDeadline(wd); err != nil {
		t.Fatal(err)
	}
	first.mu.Lock()
	if !first.read.Equal(rd) || !first.write.Equal(wd) {
		t.Errorf("current connection has deadlines %v, %v; want %v, %v", first.read, first.write, rd, wd)
	}
	first.mu.Unlock()

	srv.WaitUntil("a connection", func() bool { return srv.Accepts() == 1 })
	srv.CloseConns()
	// The Read sees the close and the pool redials.
	if _, err := p.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("Read = %v, want EOF", err)
	}
	second := <-dialled
	waitConnsUp(t, p, 1)
	second.mu.Lock()
	defer second.mu.Unlock()
	if !second.read.Equal(rd) || !second.write.Equal(wd) {
		t.Fatalf("new connection has deadlines %v, %v; want %v, %v", second.read, second.write, rd, wd)
	}
}

func wantClosed(t *testing.T, op string, n int, err error) {
	t.Helper()
	if n != 0 || !errors.Is(err, net.ErrClosed) || !errors.Is(err, connpool.ErrClosed) {
		t.Fatalf("%s = %d, %v; want 0 and an error wrapping net.ErrClosed and ErrClosed", op, n, err)
	}
}

func TestTCPPoolCloseIsIdempotentAndFinal(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: 3})
	if err := p.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	n, err := p.Write([]byte("x"))
	wantClosed(t, "Write", n, err)
	n, err = p.Read(make([]byte, 1))
	wantClosed(t, "Read", n, err)
	for name, err := range map[string]error{
		"SetPoolSize":      p.SetPoolSize(2),
		"SetDeadline":      p.SetDeadline(time.Now()),
		"SetReadDeadline":  p.SetReadDeadline(time.Now()),
		"SetWriteDeadline": p.SetWriteDeadline(time.Now()),
	} {
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s after Close = %v, want net.ErrClosed", name, err)
		}
	}
	if st := p.Stats(); st.ConnsUp != 0 || st.FailedWrites != 1 {
		t.Fatalf("stats after Close %+v, want nothing up and the Write after Close failed", st)
	}
	srv.WaitUntil("the pool's connections closed", func() bool { return srv.OpenConns() == 0 })
}

func TestTCPPoolCloseEndsBlockedRead(t *testing.T) {
	srv := newTCPServer(t, nil)
	for _, size := range []int{1, 3} {
		t.Run(fmt.Sprintf("Size=%d", size), func(t *testing.T) {
			p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: size})
			done := make(chan error, 1)
			go func() {
				n, err := p.Read(make([]byte, 8))
				if n != 0 {
					err = fmt.Errorf("read %d bytes: %v", n, err)
				}
				done <- err
			}()
			p.Close()
			if err := <-done; !errors.Is(err, net.ErrClosed) {
				t.Fatalf("blocked Read returned %v, want net.ErrClosed", err)
			}
		})
	}
}

func TestTCPPoolCloseEndsWriteWaitingForConnection(t *testing.T) {
	p, err := connpool.Dial("tcp", deadAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	p.SetMaxRetries(1 << 30)
	done := make(chan error, 1)
	go func() {
		_, err := p.Write([]byte("x"))
		done <- err
	}()
	p.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("waiting Write returned %v, want net.ErrClosed", err)
	}
}

// A Write on its last attempt whose probe Close cuts short returns the
// closed pool's error too, not a failed attempt's.
func TestTCPPoolCloseDuringLastAttemptsProbe(t *testing.T) {
	srv := newTCPServer(t, nil)
	var p *connpool.TCPPool
	ready := make(chan struct{})
	var once sync.Once
	p = dialPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{srv.Addr()},
		MaxAttempts: 1,
		Dial: dialProbeHook(func() {
			<-ready
			once.Do(func() { p.Close() })
		}),
	})
	close(ready)
	if n, err := p.Write([]byte("hello")); n != 0 || !errors.Is(err, net.ErrClosed) || !errors.Is(err, connpool.ErrClosed) {
		t.Fatalf("Write cut short by Close = %d, %v; want 0 and an error wrapping net.ErrClosed and ErrClosed", n, err)
	}
}

func TestTCPPoolZeroValueReturnsErrors(t *testing.T) {
	var p connpool.TCPPool
	if n, err := p.Write([]byte("x")); n != 0 || err == nil {
		t.Errorf("Write = %d, %v", n, err)
	}
	if n, err := p.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("Read = %d, %v", n, err)
	}
	for name, err := range map[string]error{
		"Close":       p.Close(),
		"SetPoolSize": p.SetPoolSize(2),
		"SetDeadline": p.SetDeadline(time.Now()),
	} {
		if err == nil {
			t.Errorf("%s on the zero TCPPool returned no error", name)
		}
	}
	p.SetMaxRetries(1)
	p.SetRetryInterval(time.Second)
	if p.LocalAddr() == nil || p.RemoteAddr() == nil || p.Stats() != (connpool.TCPPoolStats{}) {
		t.Errorf("zero TCPPool: LocalAddr %v, RemoteAddr %v, Stats %+v", p.LocalAddr(), p.RemoteAddr(), p.Stats())
	}
}

func TestTCPPoolAddrsAreNeverNil(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}})
	la, ok := p.LocalAddr().(*net.TCPAddr)
	if !ok || la == nil || !la.IP.IsLoopback() {
		t.Fatalf("LocalAddr = %#v, want the loopback address of the connection", p.LocalAddr())
	}
	if got := p.RemoteAddr().String(); got != srv.Addr() {
		t.Fatalf("RemoteAddr = %s, want %s", got, srv.Addr())
	}

	dead := deadAddr(t)
	down, err := connpool.Dial("tcp", dead)
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	for name, a := range map[string]net.Addr{"LocalAddr": down.LocalAddr(), "RemoteAddr": down.RemoteAddr()} {
		if v := reflect.ValueOf(a); a == nil || v.Kind() == reflect.Pointer && v.IsNil() {
			t.Fatalf("%s of a pool with nothing up = %#v, want a usable address", name, a)
		}
	}
	if got := down.RemoteAddr().String(); got != dead {
		t.Fatalf("RemoteAddr with nothing up = %s, want %s", got, dead)
	}
}

func TestTCPPoolReadOnOneConnectionIsRequestResponse(t *testing.T) {
	srv := newTCPServer(t, (*testserver.Server).Echo)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{srv.Addr()},
		MaxAttempts: tcpAttempts, // room for the redial below on a slow machine
		DialBackoff: time.Millisecond,
	})
	roundTrip := func(msg string) {
		t.Helper()
		mustWrite(t, p, []byte(msg))
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(p, buf); err != nil || string(buf) != msg {
			t.Fatalf("read back %q, %v; want %q", buf, err, msg)
		}
	}
	roundTrip("ping")
	srv.CloseConns()
	n, err := p.Read(make([]byte, 4))
	if n != 0 || !errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after the server closed = %d, %v; want 0 and EOF", n, err)
	}
	roundTrip("pong") // on the new connection
	if st := p.Stats(); st.Reconnects != 1 {
		t.Fatalf("stats %+v, want 1 reconnect", st)
	}
}

// letters answers each byte it receives with 100 copies of a letter of its
// own, one letter per connection.
func letters(s *testserver.Server, id int, c net.Conn) {
	reply := bytes.Repeat([]byte{byte('a' + id)}, 100)
	buf := make([]byte, 64)
	for {
		n, err := c.Read(buf)
		s.Record(id, buf[:n])
		for range n {
			if _, err := c.Write(reply); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func TestTCPPoolReadOnSeveralConnectionsNeverMixesThem(t *testing.T) {
	srv := newTCPServer(t, letters)
	p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: 4})
	for range 40 {
		mustWrite(t, p, []byte("?")) // 10 per connection, round-robin
	}
	got := map[byte]int{}
	buf := make([]byte, 8192)
	for total := 0; total < 4000; {
		n, err := p.Read(buf)
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", total, err)
		}
		if n == 0 {
			t.Fatal("Read returned 0 bytes and no error")
		}
		if bytes.Count(buf[:n], buf[:1]) != n {
			t.Fatalf("one Read returned bytes of two connections: %q", buf[:n])
		}
		got[buf[0]] += n
		total += n
	}
	if want := map[byte]int{'a': 1000, 'b': 1000, 'c': 1000, 'd': 1000}; !reflect.DeepEqual(got, want) {
		t.Fatalf("bytes per connection %v, want %v", got, want)
	}
}

func TestTCPPoolSetPoolSizeRejectsBadSizes(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: 2})
	for _, size := range []uint{0, 65536 + 1} {
		if err := p.SetPoolSize(size); !errors.Is(err, connpool.ErrInvalidConfig) {
			t.Errorf("SetPoolSize(%d) = %v, want ErrInvalidConfig", size, err)
		}
	}
	if st := p.Stats(); st.Size != 2 || st.ConnsUp != 2 {
		t.Fatalf("stats %+v, want the pool unchanged: 2 connections up", st)
	}
}

func TestTCPPoolGrowingNeverBlocksWriters(t *testing.T) {
	srv := newTCPServer(t, nil)
	release := make(chan struct{})
	var dials atomic.Int64
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs: []string{srv.Addr()},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) > 1 { // every dial after the first hangs until released
				select {
				case <-release:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return new(net.Dialer).DialContext(ctx, network, addr)
		},
	})
	if err := p.SetPoolSize(4); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		mustWrite(t, p, []byte("w")) // all on the first connection: the rest are dialling
	}
	srv.WaitTotal(10)
	if st := p.Stats(); st.Size != 4 || st.ConnsUp != 1 {
		t.Fatalf("stats %+v, want 4 connections, 1 up", st)
	}
	close(release)
	waitConnsUp(t, p, 4)
}

func TestTCPPoolShrinkingClosesRemovedConnections(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: 4})
	srv.WaitUntil("4 connections", func() bool { return srv.OpenConns() == 4 })
	if err := p.SetPoolSize(1); err != nil {
		t.Fatal(err)
	}
	srv.WaitUntil("3 connections closed", func() bool { return srv.OpenConns() == 1 })
	for range 5 {
		mustWrite(t, p, []byte("s"))
	}
	srv.WaitTotal(5)
	if st := p.Stats(); st.Size != 1 || st.ConnsUp != 1 {
		t.Fatalf("stats %+v, want 1 connection up", st)
	}
}

// A server closing an idle connection is seen by the probe before the next
// write, which goes to a new connection instead of being lost.
func TestTCPPoolWriteAfterPeerClosedIdleConnectionArrives(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{srv.Addr()},
		ProbeAfter:  time.Nanosecond, // any pause counts as idle
		MaxAttempts: tcpAttempts,
		DialBackoff: time.Millisecond,
	})
	mustWrite(t, p, []byte("1"))
	srv.WaitTotal(1)
	srv.CloseConns()
	waitPeerClosedSeen(t, p)
	mustWrite(t, p, []byte("2"))
	srv.WaitTotal(2)
	if got := srv.Data()[1]; string(got) != "2" {
		t.Fatalf("new connection got %q, want %q", got, "2")
	}
	if st := p.Stats(); st.Writes != 2 || st.FailedWrites != 0 || st.Reconnects != 1 {
		t.Fatalf("stats %+v, want 2 writes, none failed, 1 reconnect", st)
	}
}

// waitPeerClosedSeen waits until the FIN of a server that closed p's only
// connection has reached the pool's socket: before that, the OS itself
// does not know, and the data of a write would be lost whatever the pool
// did.
func waitPeerClosedSeen(t *testing.T, p *connpool.TCPPool) {
	t.Helper()
	if !p.WaitPeerClosed(tcpWait) {
		t.Fatalf("the pool's socket never saw the close: probe %v", p.ProbeConns())
	}
}

// probeHookConn is a TCP connection that runs hook before each probe of
// its socket: the probe reaches the socket through SyscallConn.
type probeHookConn struct {
	*net.TCPConn
	hook func()
}

func (c probeHookConn) SyscallConn() (syscall.RawConn, error) {
	rc, err := c.TCPConn.SyscallConn()
	if err != nil {
		return nil, err
	}
	return hookRawConn{rc, c.hook}, nil
}

type hookRawConn struct {
	syscall.RawConn
	hook func()
}

func (rc hookRawConn) Control(f func(fd uintptr)) error {
	rc.hook()
	return rc.RawConn.Control(f)
}

// dialProbeHook dials TCP connections that run hook before each probe.
func dialProbeHook(hook func()) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := new(net.Dialer).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return probeHookConn{c.(*net.TCPConn), hook}, nil
	}
}

// Writes that start together on a connection the server closed while it
// idled all wait for the probe the first of them makes, rather than go
// into the dead socket while it runs: no Write reports success for a
// message that never arrived.
func TestTCPPoolConcurrentWritesAfterPeerClosedIdleConnectionArrive(t *testing.T) {
	const idle, writers, rounds = time.Second, 16, 5
	srv := newTCPServer(t, nil)
	p, clk := fakeTCPPool(t, connpool.TCPPoolConfig{
		Addrs:      []string{srv.Addr()},
		ProbeAfter: idle,
		// A probe that takes a millisecond, as one does when its goroutine
		// loses its processor part way: time enough for every other Write
		// that started with the prober to reach the socket.
		Dial:        dialProbeHook(func() { time.Sleep(time.Millisecond) }),
		MaxAttempts: noAttemptLimit,
		DialBackoff: time.Millisecond,
	})
	autoAdvance(t, clk, time.Hour) // redials wait out a backoff step, at no cost in time
	// A marker is written alone after each round, on the connection that
	// replaced the closed one, so once it is in, everything written on
	// that connection before it is in too. Round 0 only opens the stream.
	marker := func(round int) []byte { return frame(writers, round, 12) }
	mustWrite(t, p, marker(0))
	srv.WaitTotal(len(marker(0)))
	want := map[[2]int]bool{{writers, 0}: true}
	for round := 1; round <= rounds; round++ {
		boundWrites(t, p)
		srv.CloseConns()
		waitPeerClosedSeen(t, p)
		clk.Advance(idle) // the probe is due

		start := make(chan struct{})
		ok := make([]bool, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := frame(w, round, 12)
				<-start
				n, err := p.Write(b)
				if n != len(b) || err != nil {
					t.Errorf("round %d, writer %d: Write = %d, %v", round, w, n, err)
					return
				}
				ok[w] = true
			}()
		}
		close(start)
		wg.Wait()
		m := marker(round)
		mustWrite(t, p, m)
		srv.WaitUntil(fmt.Sprintf("the marker of round %d", round), func() bool {
			for _, stream := range srv.Data() {
				if bytes.HasSuffix(stream, m) {
					return true
				}
			}
			return false
		})
		for w := range writers {
			if ok[w] {
				want[[2]int{w, round}] = true
			}
		}
		want[[2]int{writers, round}] = true
		got := map[[2]int]bool{}
		for _, stream := range srv.Data() {
			for _, k := range parseFrames(t, stream) {
				got[k] = true
			}
		}
		for k := range want {
			if !got[k] {
				t.Fatalf("round %d: writer %d's message of round %d was reported written but never arrived", round, k[0], k[1])
			}
		}
	}
}

// A Write that probes its connection first allocates no more than one
// that does not: nothing.
func TestTCPPoolWriteThatProbesDoesNotAllocate(t *testing.T) {
	srv := newTCPServer(t, nil)
	var probes atomic.Int64
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs:      []string{srv.Addr()},
		ProbeAfter: time.Nanosecond, // every Write probes
		Dial:       dialProbeHook(func() { probes.Add(1) }),
	})
	msg := []byte("p")
	const runs = 100
	allocs := testing.AllocsPerRun(runs, func() { mustWrite(t, p, msg) })
	if probes.Load() < runs {
		t.Fatalf("%d probes in %d Writes: the Writes did not all probe", probes.Load(), runs)
	}
	if allocs != 0 {
		t.Fatalf("a Write that probes makes %v allocations, want 0", allocs)
	}
}

// faultyConn fails writes as a test tells it to.
type faultyConn struct {
	net.Conn
	write func(c net.Conn, b []byte) (int, error) // nil: pass through
}

func (c *faultyConn) Write(b []byte) (int, error) {
	if c.write != nil {
		return c.write(c.Conn, b)
	}
	return c.Conn.Write(b)
}

// faultyDial dials real connections; the first one writes through fault.
func faultyDial(fault func(c net.Conn, b []byte) (int, error)) func(context.Context, string, string) (net.Conn, error) {
	var dials atomic.Int64
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := new(net.Dialer).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if dials.Add(1) == 1 {
			return &faultyConn{Conn: c, write: fault}, nil
		}
		return c, nil
	}
}

// halfThenFail writes half of b, then fails.
func halfThenFail(c net.Conn, b []byte) (int, error) {
	n, _ := c.Write(b[:len(b)/2])
	return n, syscall.EPIPE
}

func TestTCPPoolPartialWriteIsNotRetriedByDefault(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Dial: faultyDial(halfThenFail)})
	n, err := p.Write([]byte("abcdefgh"))
	if n != 4 || !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Write = %d, %v; want 4 and the EPIPE", n, err)
	}
	// The torn connection was closed at once: its peer sees the half
	// message at the end of the stream.
	srv.WaitUntil("the torn connection closed", func() bool {
		return !srv.IsOpen(0) && string(srv.Data()[0]) == "abcd"
	})
	if st := p.Stats(); st.FailedWrites != 1 || st.Bytes != 4 || st.Retries != 0 {
		t.Fatalf("stats %+v, want 1 failed write of 4 bytes, no retry", st)
	}
}

func TestTCPPoolPartialWriteIsRetriedWhenChosen(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs:              []string{srv.Addr()},
		Dial:               faultyDial(halfThenFail),
		RetryPartialWrites: true,
		MaxAttempts:        tcpAttempts,
		DialBackoff:        time.Millisecond,
	})
	mustWrite(t, p, []byte("abcdefgh"))
	srv.WaitTotal(4 + 8)
	if got := srv.Data(); string(got[0]) != "abcd" || string(got[1]) != "abcdefgh" {
		t.Fatalf("server got %q, want the torn half then the whole message on a new connection", got)
	}
	if st := p.Stats(); st.Writes != 1 || st.Bytes != 4+8 {
		t.Fatalf("stats %+v, want 1 write and the 12 bytes that went out", st)
	}
}

func TestTCPPoolWriteKeepsIOWriterContract(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(net.Conn, []byte) (int, error)
	}{
		{"negative count", func(net.Conn, []byte) (int, error) { return -1, syscall.ECONNRESET }},
		{"count beyond buffer", func(c net.Conn, b []byte) (int, error) { n, err := c.Write(b); return n + 10, err }},
		{"short write without error", func(c net.Conn, b []byte) (int, error) { return c.Write(b[:1]) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTCPServer(t, nil)
			p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Dial: faultyDial(tc.fault), MaxAttempts: 1})
			b := []byte("contract")
			n, err := p.Write(b)
			if n < 0 || n > len(b) || (n < len(b)) != (err != nil) {
				t.Fatalf("Write = %d, %v: breaks 0 <= n <= len(b), n < len(b) only with an error", n, err)
			}
		})
	}
}

func TestTCPPoolStatsCountReconnects(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{srv.Addr()},
		Size:        2,
		MaxAttempts: tcpAttempts,
		DialBackoff: time.Millisecond,
	})
	mustWrite(t, p, []byte("12345"))
	srv.WaitUntil("2 connections", func() bool { return srv.Accepts() == 2 })
	srv.CloseConns()
	// Writes find the connections closed, through the idle probe or a
	// write error, and the pool replaces them. (A write that races with
	// the close may be lost: the OS did not know yet.)
	expired := time.Now().Add(tcpWait)
	for p.Stats().Reconnects < 2 {
		if _, err := p.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(expired) {
			t.Fatalf("stats %+v, want 2 reconnects", p.Stats())
		}
	}
	st := p.Stats()
	if st.Writes < 2 || st.Bytes < 6 || st.FailedWrites != 0 || st.Size != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// A nil BalancerFunc is no Balancer: the pool round-robins, as with none.
func TestTCPPoolNilBalancerFuncMeansTheDefault(t *testing.T) {
	srv := newTCPServer(t, nil)
	var none connpool.BalancerFunc
	p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: 2, Balancer: none})
	waitConnsUp(t, p, 2)
	for range 4 {
		mustWrite(t, p, []byte("x"))
	}
	srv.WaitTotal(4)
	if n := srv.Accepts(); n != 2 {
		t.Fatalf("%d connections; want 2", n)
	}
	for id, b := range srv.Data() {
		if len(b) != 2 {
			t.Errorf("connection %d got %q; want 2 of the 4 writes, as RoundRobin spreads them", id, b)
		}
	}
}

// An empty Write sends nothing and succeeds, counted as a Write, while
// the pool is open; after Close it fails like any other.
func TestTCPPoolEmptyWriteIsCountedAndFailsAfterClose(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: 1})
	for _, b := range [][]byte{nil, {}} {
		if n, err := p.Write(b); n != 0 || err != nil {
			t.Fatalf("Write(%v) = %d, %v; want 0, nil", b, n, err)
		}
	}
	if st := p.Stats(); st.Writes != 2 || st.Bytes != 0 || st.FailedWrites != 0 {
		t.Fatalf("stats %+v, want 2 writes of no bytes", st)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write(nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("empty Write after Close: %v, want net.ErrClosed", err)
	}
	if st := p.Stats(); st.Writes != 2 || st.FailedWrites != 1 {
		t.Fatalf("stats %+v, want the empty Write after Close failed", st)
	}
}

// frame is a message of the hammer tests: a length, then the writer and
// sequence number, then filler.
func frame(writer, seq, size int) []byte {
	b := make([]byte, 4+size)
	binary.BigEndian.PutUint32(b, uint32(size))
	binary.BigEndian.PutUint32(b[4:], uint32(writer))
	binary.BigEndian.PutUint32(b[8:], uint32(seq))
	for i := 12; i < len(b); i++ {
		b[i] = byte(writer + seq + i)
	}
	return b
}

// parseFrames checks that stream holds whole frames only and returns their
// (writer, seq) keys.
func parseFrames(t testing.TB, stream []byte) [][2]int {
	t.Helper()
	var keys [][2]int
	for len(stream) > 0 {
		if len(stream) < 4 {
			t.Fatalf("stream ends in a torn length: %x", stream)
		}
		size := int(binary.BigEndian.Uint32(stream))
		if len(stream) < 4+size {
			t.Fatalf("stream ends in a torn frame of %d bytes, %d there", size, len(stream)-4)
		}
		writer, seq := int(binary.BigEndian.Uint32(stream[4:])), int(binary.BigEndian.Uint32(stream[8:]))
		if !bytes.Equal(stream[:4+size], frame(writer, seq, size)) {
			t.Fatalf("frame of writer %d seq %d is corrupt: two Writes mixed", writer, seq)
		}
		keys = append(keys, [2]int{writer, seq})
		stream = stream[4+size:]
	}
	return keys
}

// Writers race with resizes; every Write succeeds and every message arrives
// once and whole, whatever connection carried it.
func TestTCPPoolHammerWritesWhileResizing(t *testing.T) {
	srv := newTCPServer(t, nil)
	p := dialPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{srv.Addr()},
		Size:        4,
		Balancer:    connpool.LeastLoaded(),
		MaxAttempts: tcpAttempts,
		DialBackoff: time.Millisecond,
	})
	const writers, perWriter = 8, 200
	var wg sync.WaitGroup
	total := 0
	for w := range writers {
		for seq := range perWriter {
			total += 4 + 12 + (w*perWriter+seq)%300
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range perWriter {
				b := frame(w, seq, 12+(w*perWriter+seq)%300)
				if n, err := p.Write(b); n != len(b) || err != nil {
					t.Errorf("writer %d: Write = %d, %v", w, n, err)
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	resized := make(chan struct{})
	go func() {
		defer close(resized)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := p.SetPoolSize(uint(1 + i%6)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-resized
	srv.WaitTotal(total)
	seen := map[[2]int]int{}
	for _, stream := range srv.Data() {
		for _, k := range parseFrames(t, stream) {
			seen[k]++
		}
	}
	for w := range writers {
		for seq := range perWriter {
			if seen[[2]int{w, seq}] != 1 {
				t.Fatalf("writer %d seq %d arrived %d times, want once", w, seq, seen[[2]int{w, seq}])
			}
		}
	}
}

// TestTCPPoolStatsWaitingCountsWritesWaitingForAConnection checks that
// Stats.Waiting counts a Write that found no connection up, for its whole
// wait, and not a Read waiting for data.
func TestTCPPoolStatsWaitingCountsWritesWaitingForAConnection(t *testing.T) {
	srv := newTCPServer(t, nil)
	// Two connections, so that Read waits for either, not in one socket's Read.
	quiet := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: 2})
	read := make(chan error, 1)
	go func() {
		_, err := quiet.Read(make([]byte, 1))
		read <- err
	}()
	pooltest.WaitFor(t, "a Read waiting for data", func() bool { return quiet.Sleepers() == 1 })
	if st := quiet.Stats(); st.Waiting != 0 {
		t.Errorf("Stats.Waiting with a Read waiting for data = %d, want 0", st.Waiting)
	}
	quiet.Close()
	if err := <-read; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("the Read returned %v, want net.ErrClosed", err)
	}

	logs, release := pooltest.WaitingWrite(t, srv, "logs")
	// Between two of the Write's attempts it is still waiting.
	retries := logs.Stats().Retries
	pooltest.WaitFor(t, "three more attempts", func() bool {
		st := logs.Stats()
		if st.Waiting != 1 {
			t.Fatalf("Stats.Waiting with a Write waiting = %d, want 1 (%+v)", st.Waiting, st)
		}
		return st.Retries >= retries+3
	})
	release()
	if st := logs.Stats(); st.Waiting != 0 {
		t.Errorf("Stats.Waiting once the Write is done = %d, want 0", st.Waiting)
	}
}
