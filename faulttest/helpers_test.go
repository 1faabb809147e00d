package faulttest

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
	"github.com/seed-a245f091/connpool/internal/testserver"
)

// waitLimit bounds every wait on a condition. A passing test never waits
// this long; a failing one fails instead of hanging.
const waitLimit = testserver.WaitLimit

// server is the shared test server: real TCP on 127.0.0.1:0, tracking the
// connections it holds and signalling every change, so that a test can
// wait for a condition without polling.
type server = testserver.Server

// startServer starts a server whose connections run handle, with id the
// accept order from 0; the server closes the connection when handle
// returns. It is closed when the test ends.
func startServer(t testing.TB, handle testserver.Handler) *server {
	t.Helper()
	return testserver.Start(t, handle)
}

// startEchoServer starts a server that sends back whatever it receives.
func startEchoServer(t testing.TB) *server {
	t.Helper()
	return testserver.Start(t, (*testserver.Server).Copy)
}

// dialled is what a pool dials: a proxy, or a server directly.
type dialled interface{ Addr() string }

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

// tcpTimerZeroWindow is the timer of a socket in Linux's /proc/net/tcp
// (net/ipv4/tcp_ipv4.c) while it probes a peer whose receive window is
// shut: it has bytes to send, none in flight, and no room to send them.
const tcpTimerZeroWindow = 4

// tcpSocket is an IPv4 TCP socket of this machine as the kernel sees it.
type tcpSocket struct {
	localPort, remotePort int
	state                 string // tcpStateEstablished, tcpStateCloseWait, ...
	unread                int    // bytes received and not yet read
	timer                 int    // the kernel's pending timer: tcpTimerZeroWindow, ...
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
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when ...
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		_, rx, _ := strings.Cut(f[4], ":")
		unread, _ := strconv.ParseUint(rx, 16, 32)
		tr, _, _ := strings.Cut(f[5], ":")
		timer, _ := strconv.ParseUint(tr, 16, 8)
		ss = append(ss, tcpSocket{
			localPort: port(f[1]), remotePort: port(f[2]), state: f[3],
			unread: int(unread), timer: int(timer),
		})
	}
	return ss
}
