package faulttest

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// waitLimit bounds every wait on a condition. A passing test never waits
// this long; a failing one fails instead of hanging.
const waitLimit = 10 * time.Second

// server is a real TCP server on 127.0.0.1:0. Each connection it accepts
// runs its handler; it tracks the connections it holds so that a test can
// close them, and signals every change so that a test can wait for a
// condition without polling.
type server struct {
	t      testing.TB
	ln     net.Listener
	handle func(s *server, id int, c net.Conn)

	mu      sync.Mutex
	conns   map[int]net.Conn // open, by accept order
	accepts int
	changed chan struct{} // closed and replaced by Notify
	wg      sync.WaitGroup
}

// startServer starts a server whose connections run handle, with id the
// accept order from 0; the server closes the connection when handle
// returns. It is closed when the test ends.
func startServer(t testing.TB, handle func(s *server, id int, c net.Conn)) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, ln: ln, handle: handle, conns: map[int]net.Conn{}, changed: make(chan struct{})}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// startEchoServer starts a server that sends back whatever it receives.
func startEchoServer(t testing.TB) *server {
	t.Helper()
	return startServer(t, func(_ *server, _ int, c net.Conn) { io.Copy(c, c) })
}

func (s *server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		id := s.accepts
		s.accepts++
		s.conns[id] = c
		s.mu.Unlock()
		s.Notify()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(s, id, c)
			c.Close()
			s.mu.Lock()
			delete(s.conns, id)
			s.mu.Unlock()
			s.Notify()
		}()
	}
}

// Addr returns the address the server listens on.
func (s *server) Addr() string { return s.ln.Addr().String() }

// Accepts returns how many connections the server has accepted.
func (s *server) Accepts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepts
}

// OpenConns returns how many connections the server holds open.
func (s *server) OpenConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Notify wakes WaitUntil; handlers call it when their own state changes.
func (s *server) Notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// WaitUntil waits until cond is true, checking it after every Notify, and
// fails the test after waitLimit. cond must do its own locking.
func (s *server) WaitUntil(what string, cond func() bool) {
	s.t.Helper()
	expired := time.NewTimer(waitLimit)
	defer expired.Stop()
	for {
		s.mu.Lock()
		ch := s.changed // before cond: a change after cond closes ch
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-expired.C:
			s.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// CloseConns closes, cleanly, every connection the server holds; the
// server goes on listening.
func (s *server) CloseConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

// Close stops the server and waits for its goroutines.
func (s *server) Close() {
	s.ln.Close()
	s.CloseConns()
	s.wg.Wait()
}

// proxy is a toxiproxy running in this process between 127.0.0.1:0 and an
// upstream address.
type proxy struct {
	t testing.TB
	p *toxiproxy.Proxy
}

// startProxy starts a proxy to upstream. It is stopped when the test
// ends, after its toxics are removed (so none is left holding data).
func startProxy(t testing.TB, upstream string) *proxy {
	t.Helper()
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(api, t.Name(), "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	px := &proxy{t: t, p: p}
	t.Cleanup(func() {
		px.ResetToxics()
		p.Stop()
	})
	return px
}

// Addr returns the address the proxy listens on; it keeps it across Down
// and Up.
func (px *proxy) Addr() string {
	px.p.Lock()
	defer px.p.Unlock()
	return px.p.Listen
}

// AddToxic adds a toxic of type typ on stream ("upstream": client to
// server, or "downstream"), with the given attributes, to the proxy's
// present and future connections.
func (px *proxy) AddToxic(name, typ, stream string, attrs map[string]any) {
	px.t.Helper()
	spec, err := json.Marshal(map[string]any{"name": name, "type": typ, "stream": stream, "attributes": attrs})
	if err != nil {
		px.t.Fatal(err)
	}
	if _, err := px.p.Toxics.AddToxicJson(strings.NewReader(string(spec))); err != nil {
		px.t.Fatalf("adding toxic %s: %v", name, err)
	}
}

// ResetToxics removes every toxic.
func (px *proxy) ResetToxics() { px.p.Toxics.ResetToxics(context.Background()) }

// Down stops the proxy: it closes every connection through it and stops
// listening, so that dials to it are refused.
func (px *proxy) Down() { px.p.Stop() }

// Up starts the proxy again on the same address.
func (px *proxy) Up() {
	px.t.Helper()
	if err := px.p.Start(); err != nil {
		px.t.Fatalf("restarting the proxy: %v", err)
	}
}

// Socket states in Linux's /proc/net/tcp (include/net/tcp_states.h).
const (
	tcpStateEstablished = "01"
	tcpStateCloseWait   = "08" // the peer has closed; this end has not
)

// tcpSocket is an IPv4 TCP socket of this machine as the kernel sees it.
type tcpSocket struct {
	localPort, remotePort int
	state                 string // tcpStateEstablished, tcpStateCloseWait, ...
	unread                int    // bytes received and not yet read
}

// tcpSockets returns the IPv4 TCP sockets of this machine, from Linux's
// /proc/net/tcp. A process learns that its peer closed, reset or sent
// something only when it reads; the kernel's table tells a test without
// reading. It skips the test where there is no such table.
func tcpSockets(t testing.TB) []tcpSocket {
	t.Helper()
	table, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skipf("needs Linux's /proc/net/tcp to see what the kernel knows of a socket: %v", err)
	}
	port := func(addr string) int {
		_, hex, _ := strings.Cut(addr, ":")
		p, _ := strconv.ParseUint(hex, 16, 16)
		return int(p)
	}
	var ss []tcpSocket
	for _, line := range strings.Split(string(table), "\n")[1:] {
		// sl local_address rem_address st tx_queue:rx_queue ...
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		_, rx, _ := strings.Cut(f[4], ":")
		unread, _ := strconv.ParseUint(rx, 16, 32)
		ss = append(ss, tcpSocket{localPort: port(f[1]), remotePort: port(f[2]), state: f[3], unread: int(unread)})
	}
	return ss
}
