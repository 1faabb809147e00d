package main

import (
	"context"
	"net"
	"strings"
	"testing"
)

// checkEchoSums checks the identities the summary of an echo run promises.
func checkEchoSums(t *testing.T, s *summary) {
	t.Helper()
	k := s.ErrorsByKind
	p := s.Pool
	if p == nil {
		t.Fatal("no pool statistics")
	}
	for _, c := range []struct {
		what        string
		left, right uint64
	}{
		{"requests == ok + errors", s.Requests, s.OK + s.Errors},
		{"errors == sum of errors by kind", s.Errors, k.Timeout + k.Reset + k.EOF + k.Refused + k.Other},
		{"requests == gets - gets canceled", s.Requests, p.Gets - p.GetsCanceled},
		{"gets == from idle + waited + canceled + failed", p.Gets, p.GetsFromIdle + p.GetsWaited + p.GetsCanceled + p.GetsFailed},
		{"errors == gets failed + closed unusable", s.Errors, p.GetsFailed + p.Closed.Unusable},
		{"dials - dial errors == closed (pool drained)", p.Dials - p.DialErrors, p.Closed.Total},
		{"closed == sum of closed by reason", p.Closed.Total, p.Closed.Unusable + p.Closed.Stale + p.Closed.IdleTimeout +
			p.Closed.MaxLifetime + p.Closed.MaxIdle + p.Closed.HealthCheck + p.Closed.PoolClosed},
	} {
		if c.left != c.right {
			t.Errorf("%s: %d != %d", c.what, c.left, c.right)
		}
	}
	if p.Open != 0 {
		t.Errorf("%d connections open after the run", p.Open)
	}
	if p.GetsDialed > p.GetsWaited {
		t.Errorf("gets dialed %d > gets waited %d", p.GetsDialed, p.GetsWaited)
	}
	if p.GetsFailed > p.DialErrors {
		t.Errorf("gets failed %d > dial errors %d: only a dial error fails a Get here", p.GetsFailed, p.DialErrors)
	}
	if k.Refused > p.DialErrors {
		t.Errorf("refused %d > dial errors %d", k.Refused, p.DialErrors)
	}
	if s.OK > 0 {
		l := s.Latency
		if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
			t.Errorf("latency percentiles out of order: %+v", l)
		}
	}
	if v := s.Server; v != nil {
		// Every connection the server accepted came from a dial, but not
		// every such dial succeeded: one cancelled by the pool's Close at
		// the end of the run, or cut by a chaos restart, can fail after the
		// server's accept.
		if v.Accepted > p.Dials {
			t.Errorf("server accepted %d connections, more than the %d dials", v.Accepted, p.Dials)
		}
		if v.Messages < s.OK {
			t.Errorf("server saw %d messages, fewer than the %d echoed", v.Messages, s.OK)
		}
	}
}

// TestEchoRunAddsUp runs the default mode briefly against the embedded
// server and checks that the summary's numbers agree with each other.
func TestEchoRunAddsUp(t *testing.T) {
	s, raw := runJSON(t, "-duration", "200ms")
	checkEchoSums(t, s)
	if s.OK == 0 || s.Errors != 0 {
		t.Errorf("%d ok, %d errors; want some ok and no errors without chaos", s.OK, s.Errors)
	}
	if s.Mode != modeEcho || !s.EmbeddedServer || s.Interrupted || s.Chaos != nil || s.TCPPool != nil {
		t.Errorf("summary of a plain echo run: %+v", s)
	}
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") {
		t.Errorf("addr %q, want the embedded server on 127.0.0.1", s.Addr)
	}
	if s.Server.Accepted != s.Pool.Dials {
		// Each dial reached the server, and it stayed up to accept it.
		t.Errorf("server accepted %d, pool dialled %d", s.Server.Accepted, s.Pool.Dials)
	}
	if s.Server.Torn != 0 {
		t.Errorf("%d torn messages", s.Server.Torn)
	}
	for _, key := range []string{"requests", "ok", "errors", "requests_per_second", "latency_ns", "errors_by_kind", "pool", "elapsed_ns"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("JSON summary has no %q", key)
		}
	}
	if got := raw["pool"].(map[string]any)["closed"].(map[string]any)["pool_closed"]; got == nil {
		t.Error(`JSON summary has no pool.closed.pool_closed`)
	}
}

func TestEchoRunText(t *testing.T) {
	code, stdout, stderr := runCmd(t, "-duration", "100ms", "-clients", "4", "-conns", "2", "-progress", "0")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	for _, prefix := range []string{"connload: echo mode, 4 clients on 2 conns", "requests ", "latency ", "errors ", "pool ", "server "} {
		if !strings.Contains(stdout, "\n"+prefix) && !strings.HasPrefix(stdout, prefix) {
			t.Errorf("summary has no line starting %q:\n%s", prefix, stdout)
		}
	}
	if stderr != "" {
		t.Errorf("stderr with -progress 0: %q", stderr)
	}
}

// TestEchoRunPoolSettings runs with every pool setting given, so that each
// reaches connpool.Config and is accepted.
func TestEchoRunPoolSettings(t *testing.T) {
	s, _ := runJSON(t, "-duration", "150ms", "-clients", "4", "-conns", "4", "-max-idle", "3", "-min-idle", "2",
		"-idle-timeout", "20ms", "-max-lifetime", "50ms", "-probe-after", "0", "-dial-timeout", "1s")
	checkEchoSums(t, s)
	if s.OK == 0 {
		t.Error("no request succeeded")
	}
	if s.Pool.Closed.MaxLifetime == 0 {
		t.Errorf("no connection closed for its lifetime of 50ms in a 150ms run: %+v", s.Pool.Closed)
	}
}

// TestChaosRun runs briefly against a misbehaving embedded server: the run
// completes, some requests succeed, and the pool's dials and closes agree.
func TestChaosRun(t *testing.T) {
	s, _ := runJSON(t, "-chaos", "-chaos-every", "10ms", "-chaos-outage", "10ms",
		"-duration", "400ms", "-clients", "16", "-conns", "4", "-probe-after", "0")
	checkEchoSums(t, s)
	c := s.Chaos
	if c == nil {
		t.Fatal("no chaos statistics")
	}
	if c.Resets+c.Closes+c.Restarts == 0 {
		t.Error("no chaos event in 400ms at one every 10ms")
	}
	if s.OK == 0 {
		t.Error("no request succeeded")
	}
	if c.Resets+c.Closes+c.Restarts > 0 && s.Pool.Dials < 2 {
		t.Errorf("%d dials after the server dropped connections", s.Pool.Dials)
	}
}

// TestWriteRunDelivers checks write mode without chaos: every byte the
// writers were told was sent reaches the embedded server.
func TestWriteRunDelivers(t *testing.T) {
	s, _ := runJSON(t, "-mode", "write", "-duration", "200ms", "-clients", "8", "-conns", "2")
	tp, d := s.TCPPool, s.Delivery
	if tp == nil || d == nil || s.Server == nil {
		t.Fatalf("summary of a write run without tcppool, delivery or server: %+v", s)
	}
	if s.OK == 0 {
		t.Fatal("no write succeeded")
	}
	if s.Requests != s.OK+s.Errors || s.OK != tp.Writes || s.Errors != tp.FailedWrites {
		t.Errorf("requests %d, ok %d, errors %d; TCPPool writes %d, failed %d", s.Requests, s.OK, s.Errors, tp.Writes, tp.FailedWrites)
	}
	if d.AckedBytes != s.OK*uint64(s.Settings.Size) {
		t.Errorf("acknowledged %d bytes for %d messages of %d", d.AckedBytes, s.OK, s.Settings.Size)
	}
	if d.LostBytes != 0 || d.DeliveredBytes != d.AckedBytes+d.PartialBytes {
		t.Errorf("delivered %d bytes, acknowledged %d + %d partial", d.DeliveredBytes, d.AckedBytes, d.PartialBytes)
	}
	if s.Errors == 0 && (d.DeliveredMessages != d.AckedMessages || d.LostMessages != 0) {
		t.Errorf("delivered %d messages, acknowledged %d", d.DeliveredMessages, d.AckedMessages)
	}
	if s.Server.Torn != 0 && s.Errors == 0 {
		t.Errorf("%d torn messages with no failed write", s.Server.Torn)
	}
	if s.Pool != nil || s.Settings.MaxIdle != nil {
		t.Error("write mode reports ConnPool statistics or settings")
	}
}

// TestWriteChaosRun checks that write mode survives chaos and never
// reports more delivered than was sent.
func TestWriteChaosRun(t *testing.T) {
	s, _ := runJSON(t, "-mode", "write", "-chaos", "-chaos-every", "10ms", "-chaos-outage", "10ms",
		"-duration", "300ms", "-clients", "8", "-conns", "2")
	d := s.Delivery
	if s.OK == 0 {
		t.Error("no write succeeded")
	}
	if s.OK != s.TCPPool.Writes || s.Errors != s.TCPPool.FailedWrites {
		t.Errorf("ok %d, errors %d; TCPPool writes %d, failed %d", s.OK, s.Errors, s.TCPPool.Writes, s.TCPPool.FailedWrites)
	}
	if d.LostBytes < 0 || d.LostMessages < 0 {
		t.Errorf("more delivered than sent: %+v", d)
	}
}

// TestAddr runs against a server given by -addr, in both modes.
func TestAddr(t *testing.T) {
	for _, mode := range []string{modeEcho, modeWrite} {
		srv, err := startServer(mode == modeWrite)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := runJSON(t, "-addr", srv.addr, "-mode", mode, "-duration", "100ms", "-clients", "4", "-conns", "2")
		srv.shutdown(shutdownGrace)
		if s.EmbeddedServer || s.Server != nil || s.Delivery != nil || s.Addr != srv.addr {
			t.Errorf("%s: summary of a run against -addr: %+v", mode, s)
		}
		if s.OK == 0 {
			t.Errorf("%s: no request succeeded", mode)
		}
		if got := srv.stats.messages.Load(); got < s.OK {
			t.Errorf("%s: server saw %d messages, clients sent %d", mode, got, s.OK)
		}
	}
}

// TestAddrUnreachable checks that a server that cannot be reached is a
// clear error at once, not a run of failures.
func TestAddrUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	for _, mode := range []string{modeEcho, modeWrite} {
		code, stdout, stderr := runCmd(t, "-addr", addr, "-mode", mode, "-duration", "10s")
		if code != exitFailed {
			t.Errorf("%s: exit %d, want %d", mode, code, exitFailed)
		}
		if !strings.Contains(stderr, "cannot reach "+addr) {
			t.Errorf("%s: stderr: %q", mode, stderr)
		}
		if stdout != "" {
			t.Errorf("%s: stdout: %q", mode, stdout)
		}
	}
}

// TestInterrupt cancels the context, as Ctrl-C does, once the first
// progress report is out: run stops early and prints the summary so far.
func TestInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout syncBuffer
	stderr := syncBuffer{onWrite: func([]byte) { cancel() }}
	code := run(ctx, []string{"-duration", "30s", "-progress", "20ms", "-clients", "4", "-json"}, &stdout, &stderr)
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, stderr.String())
	}
	s, _ := decodeSummary(t, stdout.String())
	if !s.Interrupted {
		t.Error("summary not marked interrupted")
	}
	checkEchoSums(t, s)
}

// TestProgressLines checks the progress report when stderr is not a
// terminal: whole lines, nothing rewritten in place.
func TestProgressLines(t *testing.T) {
	code, _, stderr := runCmd(t, "-duration", "200ms", "-progress", "40ms", "-clients", "4")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "\r") {
		t.Errorf("progress rewrites lines on a non-terminal: %q", stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) == 0 || !strings.Contains(lines[0], " requests ") || !strings.Contains(lines[0], "conns ") {
		t.Errorf("progress:\n%s", stderr)
	}
}
