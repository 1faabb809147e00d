package faulttest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
)

// tcpRetries is MaxAttempts for pools whose Writes must not fail while the
// server listens: with a DialBackoff of 1ms, a Write waits up to about
// waitLimit for a connection.
const tcpRetries = 10000

// tcpFrame is a message of these tests: a length, the writer and sequence
// number, then filler derived from them, so that a message cut short or
// mixed with another is detected.
func tcpFrame(writer, seq, size int) []byte {
	b := make([]byte, 4+8+size)
	binary.BigEndian.PutUint32(b, uint32(8+size))
	binary.BigEndian.PutUint32(b[4:], uint32(writer))
	binary.BigEndian.PutUint32(b[8:], uint32(seq))
	for i := 12; i < len(b); i++ {
		b[i] = byte(writer*7 + seq + i)
	}
	return b
}

type tcpKey struct{ writer, seq int }

// tcpFrameSink is a server handler that reads frames and counts them. A
// frame cut short by the end of its connection is allowed (the pool closes
// a connection at once after a partial write); a corrupt one is not.
type tcpFrameSink struct {
	mu      sync.Mutex
	seen    map[tcpKey]int
	perConn map[int]int
	total   int
	corrupt []string
}

func newTCPFrameSink() *tcpFrameSink {
	return &tcpFrameSink{seen: map[tcpKey]int{}, perConn: map[int]int{}}
}

func (f *tcpFrameSink) handle(s *server, id int, c net.Conn) {
	r := bufio.NewReader(c)
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return // the end of the stream, maybe in a torn frame
		}
		size := int(binary.BigEndian.Uint32(hdr[:]))
		if size < 8 || size > 1<<20 {
			f.fail("connection %d: frame length %d", id, size)
			return
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		w, seq := int(binary.BigEndian.Uint32(body)), int(binary.BigEndian.Uint32(body[4:]))
		if !bytes.Equal(append(hdr[:], body...), tcpFrame(w, seq, size-8)) {
			f.fail("connection %d: frame of writer %d seq %d is corrupt", id, w, seq)
			return
		}
		f.mu.Lock()
		f.seen[tcpKey{w, seq}]++
		f.perConn[id]++
		f.total++
		f.mu.Unlock()
		s.Notify()
	}
}

func (f *tcpFrameSink) fail(format string, args ...any) {
	f.mu.Lock()
	f.corrupt = append(f.corrupt, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *tcpFrameSink) count(k tcpKey) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[k]
}

func (f *tcpFrameSink) frames() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total
}

// check fails the test if any frame arrived corrupt.
func (f *tcpFrameSink) check(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.corrupt {
		t.Error(c)
	}
}

// waitFrames waits until every frame of writer w from seq from to to
// (excluded) has arrived, and checks each arrived once.
func (f *tcpFrameSink) waitFrames(t *testing.T, s *server, w, from, to int) {
	t.Helper()
	s.WaitUntil(fmt.Sprintf("frames %d to %d of writer %d", from, to-1, w), func() bool {
		for seq := from; seq < to; seq++ {
			if f.count(tcpKey{w, seq}) == 0 {
				return false
			}
		}
		return true
	})
	for seq := from; seq < to; seq++ {
		if n := f.count(tcpKey{w, seq}); n != 1 {
			t.Fatalf("frame %d of writer %d arrived %d times, want once", seq, w, n)
		}
	}
}

func dialTCPPool(t *testing.T, cfg connpool.TCPPoolConfig) *connpool.TCPPool {
	t.Helper()
	p, err := connpool.DialPool(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func mustWriteFrame(t *testing.T, p *connpool.TCPPool, w, seq, size int) {
	t.Helper()
	b := tcpFrame(w, seq, size)
	if n, err := p.Write(b); n != len(b) || err != nil {
		t.Fatalf("Write of frame %d = %d, %v; want %d, nil (stats %+v)", seq, n, err, len(b), p.Stats())
	}
}

// A server behind a proxy that resets every connection as soon as data
// comes: Writes keep succeeding, on new connections, as long as the server
// listens (what they carried is lost: the OS of the sender cannot know).
func TestTCPPoolServerResetsEveryConnection(t *testing.T) {
	sink := newTCPFrameSink()
	srv := startServer(t, sink.handle)
	px := startProxy(t, srv.Addr())
	px.AddToxic("reset", "reset_peer", "upstream", map[string]any{"timeout": 0})
	p := dialTCPPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{px.Addr()},
		Size:        4,
		MaxAttempts: tcpRetries,
		DialBackoff: time.Millisecond,
	})
	// The resets reach the pool some time after the data that caused
	// them, so write until every connection was replaced a few times.
	seq := 0
	expired := time.Now().Add(waitLimit)
	for ; p.Stats().Reconnects < 3*4; seq++ {
		if time.Now().After(expired) {
			t.Fatalf("after %d Writes, stats %+v; want 12 reconnects", seq, p.Stats())
		}
		mustWriteFrame(t, p, 0, seq, 64)
	}
	if st := p.Stats(); st.FailedWrites != 0 {
		t.Fatalf("stats %+v, want no failed write", st)
	}

	// The resets stop: Writes go on succeeding, and soon arrive.
	px.ResetToxics()
	expired = time.Now().Add(waitLimit)
	for ; sink.frames() == 0; seq++ {
		if time.Now().After(expired) {
			t.Fatalf("no frame arrived after the resets stopped; stats %+v", p.Stats())
		}
		mustWriteFrame(t, p, 0, seq, 64)
	}
	sink.check(t)
}

// pooledSocketsEstablished counts the sockets of this machine connected to
// port on 127.0.0.1 and still in the ESTABLISHED state, from the Linux
// kernel's table. Once the peer of one has closed, it moves to CLOSE_WAIT.
func pooledSocketsEstablished(t *testing.T, port int) int {
	t.Helper()
	table, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skipf("needs Linux's /proc/net/tcp to see when the kernel has the FIN: %v", err)
	}
	n := 0
	for _, line := range strings.Split(string(table), "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) < 4 {
			continue
		}
		_, remPort, ok := strings.Cut(fields[2], ":")
		if !ok {
			continue
		}
		if p, err := strconv.ParseUint(remPort, 16, 16); err == nil && int(p) == port && fields[3] == "01" {
			n++
		}
	}
	return n
}

// A server that closes its connections cleanly while they are idle loses
// nothing: the pool sees the close before its next writes and sends them
// on new connections, so every one arrives.
func TestTCPPoolServerClosesIdleConnections(t *testing.T) {
	sink := newTCPFrameSink()
	srv := startServer(t, sink.handle)
	px := startProxy(t, srv.Addr())
	p := dialTCPPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{px.Addr()},
		Size:        4,
		ProbeAfter:  time.Nanosecond, // any pause counts as idle
		MaxAttempts: tcpRetries,
		DialBackoff: time.Millisecond,
	})
	for seq := range 20 {
		mustWriteFrame(t, p, 0, seq, 100)
	}
	sink.waitFrames(t, srv, 0, 0, 20)

	srv.CloseConns()
	// The close travels through the proxy to the pool's sockets. Until it
	// is there, the OS itself does not know, and nothing can save data
	// written in the meantime; so wait for the kernel to have it. There
	// is no event to wait on, hence the polling.
	_, portStr, _ := net.SplitHostPort(px.Addr())
	port, _ := strconv.Atoi(portStr)
	expired := time.Now().Add(waitLimit)
	for pooledSocketsEstablished(t, port) > 0 {
		if time.Now().After(expired) {
			t.Fatal("the pool's sockets never saw the server's close")
		}
		time.Sleep(time.Millisecond)
	}

	for seq := 20; seq < 40; seq++ {
		mustWriteFrame(t, p, 0, seq, 100)
	}
	sink.waitFrames(t, srv, 0, 20, 40)
	sink.check(t)
	if st := p.Stats(); st.Writes != 40 || st.FailedWrites != 0 || st.Reconnects == 0 {
		t.Fatalf("stats %+v, want 40 writes, none failed, on replaced connections", st)
	}
}

// A server that goes away for a while: Writes fail cleanly while it is
// down, and succeed again once it is back.
func TestTCPPoolServerDownThenBack(t *testing.T) {
	sink := newTCPFrameSink()
	srv := startServer(t, sink.handle)
	px := startProxy(t, srv.Addr())
	p := dialTCPPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{px.Addr()},
		Size:        2,
		MaxAttempts: 5,
		DialBackoff: 10 * time.Millisecond,
	})
	seq := 0
	for ; seq < 10; seq++ {
		mustWriteFrame(t, p, 0, seq, 100)
	}
	sink.waitFrames(t, srv, 0, 0, 10)

	px.Down()
	// Writes racing with the close may still be taken by the OS; the next
	// ones find the connections gone and fail.
	expired := time.Now().Add(waitLimit)
	for {
		b := tcpFrame(0, seq, 100)
		seq++
		n, err := p.Write(b)
		if err != nil {
			if n != 0 {
				t.Fatalf("failed Write = %d, %v; want 0 bytes", n, err)
			}
			break
		}
		if time.Now().After(expired) {
			t.Fatal("Writes kept succeeding with the server down")
		}
	}
	for range 5 {
		n, err := p.Write(tcpFrame(0, seq, 100))
		seq++
		if n != 0 || !errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, net.ErrClosed) {
			t.Fatalf("Write with the server down = %d, %v; want 0 and an error wrapping the refused dial", n, err)
		}
	}

	px.Up()
	expired = time.Now().Add(waitLimit)
	for {
		b := tcpFrame(1, 0, 100)
		n, err := p.Write(b)
		if err == nil && n == len(b) {
			break
		}
		if time.Now().After(expired) {
			t.Fatalf("Writes still fail with the server back: %d, %v", n, err)
		}
	}
	for i := 1; i < 20; i++ {
		mustWriteFrame(t, p, 1, i, 100)
	}
	sink.waitFrames(t, srv, 1, 0, 20)
	sink.check(t)
	if st := p.Stats(); st.DialErrors == 0 || st.Reconnects == 0 {
		t.Fatalf("stats %+v, want dial errors and reconnects", st)
	}
}

// A black hole: the proxy takes the pool's connections but the server
// behind it never reads, so the sockets fill and Writes block. The write
// deadline ends them.
func TestTCPPoolBlackHoleHonoursWriteDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := startServer(t, func(_ *server, _ int, c net.Conn) {
		<-release
		io.Copy(io.Discard, c)
	})
	px := startProxy(t, srv.Addr())
	p := dialTCPPool(t, connpool.TCPPoolConfig{Addrs: []string{px.Addr()}, Size: 2})
	// Before the proxy stops, let the server drain it to the end of every
	// connection: a proxy stopped while holding data leaves goroutines
	// blocked for good.
	t.Cleanup(func() {
		close(release)
		p.Close()
		srv.WaitUntil("the proxy drained", func() bool { return srv.OpenConns() == 0 })
	})

	if err := p.SetWriteDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	var err error
	var n int
	for i := 0; err == nil; i++ {
		if i == 4096 { // 256 MiB: far beyond any socket buffers
			t.Fatal("Writes never blocked")
		}
		n, err = p.Write(chunk)
	}
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() || n < 0 || n > len(chunk) {
		t.Fatalf("Write = %d, %v; want a timeout wrapping os.ErrDeadlineExceeded", n, err)
	}
	// Past the deadline, Writes fail at once.
	if n, err := p.Write(chunk); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write past the deadline = %d, %v; want 0 and a timeout", n, err)
	}
}

// Many writers share a pool whose bytes the proxy slices into small
// pieces: every message arrives once and whole, over every connection.
func TestTCPPoolManyWritersFramedMessagesArriveWhole(t *testing.T) {
	sink := newTCPFrameSink()
	srv := startServer(t, sink.handle)
	px := startProxy(t, srv.Addr())
	px.AddToxic("slicer", "slicer", "upstream", map[string]any{"average_size": 48, "size_variation": 32, "delay": 0})
	const conns, writers, perWriter = 4, 16, 100
	p := dialTCPPool(t, connpool.TCPPoolConfig{Addrs: []string{px.Addr()}, Size: conns})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range perWriter {
				b := tcpFrame(w, seq, (w*perWriter+seq*37)%700)
				if n, err := p.Write(b); n != len(b) || err != nil {
					t.Errorf("writer %d: Write = %d, %v", w, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	srv.WaitUntil("every frame", func() bool { return sink.frames() == writers*perWriter })
	sink.check(t)
	for w := range writers {
		for seq := range perWriter {
			if n := sink.count(tcpKey{w, seq}); n != 1 {
				t.Fatalf("frame %d of writer %d arrived %d times, want once", seq, w, n)
			}
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.perConn) != conns {
		t.Fatalf("frames per server connection %v, want some on each of %d", sink.perConn, conns)
	}
}

// With one connection, a TCPPool is a net.Conn that reconnects: a
// request/response exchange goes on over the new connection after the
// proxy cut the old one; the Read that was waiting gets the error.
func TestTCPPoolRequestResponseAcrossCut(t *testing.T) {
	srv := startEchoServer(t)
	px := startProxy(t, srv.Addr())
	p := dialTCPPool(t, connpool.TCPPoolConfig{
		Addrs:       []string{px.Addr()},
		MaxAttempts: tcpRetries,
		DialBackoff: time.Millisecond,
	})
	roundTrip := func(msg string) {
		t.Helper()
		if _, err := p.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(p, buf); err != nil || string(buf) != msg {
			t.Fatalf("read back %q, %v; want %q", buf, err, msg)
		}
	}
	roundTrip("ping")

	read := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 1))
		read <- err
	}()
	px.Down() // cuts the connection, whether or not the Read has started
	px.Up()
	if err := <-read; err == nil || errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read across the cut = %v, want the connection's error", err)
	}
	roundTrip("pong")
	if st := p.Stats(); st.Reconnects != 1 {
		t.Fatalf("stats %+v, want 1 reconnect", st)
	}
}
