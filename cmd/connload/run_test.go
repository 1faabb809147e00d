package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkEchoSums checks the identities the summary of an echo run without
// -warmup promises.
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
		{"errors == sum of errors by kind", s.Errors, k.Timeout + k.GetTimeout + k.Reset + k.EOF + k.Refused + k.Other},
		{"sent == requests + unfinished", s.Sent, s.Requests + s.Unfinished},
		{"gets == sent", p.Gets.total(), s.Sent},
		{"gets canceled == get timeouts + unfinished", p.Gets.Canceled, k.GetTimeout + s.Unfinished},
		{"errors == gets failed + get timeouts + closed unusable", s.Errors, p.Gets.Failed + k.GetTimeout + p.Closed.Unusable},
		{"dials - dial errors - closed == open - dialing", p.Dials - p.DialErrors - p.Closed.total(), uint64(p.Open - p.Dialing)},
	} {
		if c.left != c.right {
			t.Errorf("%s: %d != %d", c.what, c.left, c.right)
		}
	}
	if p.GetsDialed > p.Gets.Waited {
		t.Errorf("gets dialed %d > gets waited %d", p.GetsDialed, p.Gets.Waited)
	}
	if p.Gets.Failed > p.DialErrors {
		t.Errorf("gets failed %d > dial errors %d: only a dial error fails a Get here", p.Gets.Failed, p.DialErrors)
	}
	if k.Refused > p.DialErrors {
		t.Errorf("refused %d > dial errors %d", k.Refused, p.DialErrors)
	}
	checkLatency(t, s)
	if v := s.Server; v != nil {
		// Every connection the server accepted came from a dial, but not
		// every such dial succeeded: one cut by a chaos restart can fail
		// after the server's accept.
		if v.Accepted > p.Dials {
			t.Errorf("server accepted %d connections, more than the %d dials", v.Accepted, p.Dials)
		}
		if v.Messages < s.OK {
			t.Errorf("server saw %d messages, fewer than the %d echoed", v.Messages, s.OK)
		}
	}
}

// checkLatency checks that each part of the latency has as many samples
// as requests succeeded, in order, and is null when none did.
func checkLatency(t *testing.T, s *summary) {
	t.Helper()
	parts := map[string]*latencyStats{"request": s.Latency.Request, "exchange": s.Latency.Exchange}
	if s.Mode == modeEcho {
		parts["get"] = s.Latency.Get
	} else if s.Latency.Get != nil {
		t.Error("write mode reports a wait for a connection")
	}
	for name, l := range parts {
		if s.OK == 0 {
			if l != nil {
				t.Errorf("latency %s %+v with no success", name, l)
			}
			continue
		}
		switch {
		case l == nil:
			t.Errorf("no latency %s", name)
		case l.Count != s.OK:
			t.Errorf("latency %s of %d requests, %d succeeded", name, l.Count, s.OK)
		case !(0 <= l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max && l.Mean <= l.Max):
			t.Errorf("latency %s out of order: %+v", name, l)
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
	if s.Mode != modeEcho || !s.EmbeddedServer || s.Interrupted || s.Chaos != nil || s.TCPPool != nil || s.Rate != nil {
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
	// The pool's counters go by the names of the exporters' metrics.
	pool := raw["pool"].(map[string]any)
	for _, key := range []string{"connpool_gets_total", "connpool_dials_total", "connpool_dial_errors_total",
		"connpool_closed_connections_total", "connpool_open_connections", "connpool_waiting_gets"} {
		if _, ok := pool[key]; !ok {
			t.Errorf("JSON summary has no pool.%s", key)
		}
	}
	if got := pool["connpool_gets_total"].(map[string]any)["waited"]; got == nil {
		t.Error(`JSON summary has no pool.connpool_gets_total.waited`)
	}
}

func TestEchoRunText(t *testing.T) {
	code, stdout, stderr := runCmd(t, "-duration", "100ms", "-clients", "4", "-conns", "2", "-progress", "0")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{
		"connload  echo mode: 4 clients, a ConnPool of 2 connections", "\nrequests  ", "all succeeded",
		"\nlatency ", "\n  request ", "\n  get ", "\n  exchange ", "\nerrors    none\n",
		"Gets (connpool_gets_total)", "(connpool_dials_total)", "\nserver    ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary has no %q:\n%s", want, stdout)
		}
	}
	for i, line := range strings.Split(stdout, "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("line %d is %d columns wide, more than 80:\n%s", i+1, n, line)
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
	if s.Settings.ProbeAfter != "0s" {
		t.Errorf("settings: probe after %q, want 0s", s.Settings.ProbeAfter)
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
	if d.LostBytes != 0 || d.DeliveredBytes != d.AckedBytes+d.PartialBytes || d.LostAfterClose != 0 {
		t.Errorf("delivered %d bytes, acknowledged %d + %d partial, %d lost after a close",
			d.DeliveredBytes, d.AckedBytes, d.PartialBytes, d.LostAfterClose)
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
	checkLatency(t, s)
}

// TestWriteChaosRun checks that write mode survives chaos, never reports
// more delivered than was sent, and never more lost after a close than
// lost.
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
	if int64(d.LostAfterClose) > max(d.LostMessages, 0) {
		t.Errorf("%d lost after a close, of %d lost", d.LostAfterClose, d.LostMessages)
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

// silentServer accepts connections and reads from them, but never
// replies: a server that has hung. It stops when the test ends.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { io.Copy(io.Discard, c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestTimeouts runs against a server that never answers: every request
// fails at -timeout, those holding a connection as timeouts and those
// waiting for one as get timeouts, and none waits the whole run.
func TestTimeouts(t *testing.T) {
	addr := silentServer(t)
	code, stdout, stderr := runCmd(t, "-addr", addr, "-json", "-progress", "0",
		"-clients", "8", "-conns", "2", "-timeout", "20ms", "-duration", "300ms")
	if code != exitFailed || !strings.Contains(stderr, "no request succeeded") {
		t.Errorf("exit %d, stderr %q; want %d and no request succeeded", code, stderr, exitFailed)
	}
	s, _ := decodeSummary(t, stdout)
	checkEchoSums(t, s)
	k := s.ErrorsByKind
	if s.OK != 0 || k.Timeout == 0 || k.GetTimeout == 0 || k.Timeout+k.GetTimeout != s.Errors {
		t.Errorf("%d ok, errors %+v; want only timeouts and get timeouts, some of each", s.OK, k)
	}
	if s.Unfinished > uint64(s.Settings.Clients) {
		t.Errorf("%d requests unfinished at the end, more than the %d clients", s.Unfinished, s.Settings.Clients)
	}
	if s.ErrorSamples == nil || s.ErrorSamples.GetTimeout != errGetTimeout.Error() {
		t.Errorf("get timeout sample: %+v", s.ErrorSamples)
	}

	// No success: the latency is not there, rather than 0s.
	code, stdout, _ = runCmd(t, "-addr", addr, "-progress", "0", "-clients", "2", "-conns", "1", "-timeout", "10ms", "-n", "4")
	if code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
	for _, want := range []string{"\n  request      n/a     n/a", "n/a: no request succeeded", "timeout: no reply within -timeout (10ms)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary has no %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, " 0s ") {
		t.Errorf("summary shows a latency of 0s:\n%s", stdout)
	}
}

// TestCount checks -n: exactly so many requests, in a closed loop and on
// a schedule.
func TestCount(t *testing.T) {
	s, _ := runJSON(t, "-n", "500", "-clients", "4", "-conns", "2")
	checkEchoSums(t, s)
	if s.Requests != 500 || s.Sent != 500 || s.OK != 500 {
		t.Errorf("-n 500: sent %d, %d requests, %d ok", s.Sent, s.Requests, s.OK)
	}
	s, _ = runJSON(t, "-n", "200", "-rate", "4000/s", "-clients", "4", "-conns", "2")
	checkEchoSums(t, s)
	if s.Requests != 200 || s.Rate == nil || s.Rate.Due != 200 || s.Rate.Sent != 200 || s.Rate.Unsent != 0 {
		t.Errorf("-n 200 -rate 4000/s: %d requests, rate %+v", s.Requests, s.Rate)
	}
}

// TestLowRateLastsItsDuration checks that a run at a rate too low for a
// second request to come due still lasts -duration, so that its rate is
// over the time asked for, not over the moment its one request took.
func TestLowRateLastsItsDuration(t *testing.T) {
	s, _ := runJSON(t, "-rate", "0.001/s", "-duration", "200ms")
	if s.Requests != 1 {
		t.Fatalf("%d requests at 0.001/s over 200ms, want 1", s.Requests)
	}
	if elapsed := time.Duration(s.ElapsedNS); elapsed < 200*time.Millisecond {
		t.Errorf("the run lasted %v, want the 200ms asked for", elapsed)
	}
	if s.PerSecond > 5 {
		t.Errorf("%v requests/s, want about 1 request over 200ms", s.PerSecond)
	}
}

// TestWarmup checks that the warm-up is left out: the pool is full by the
// time the measurement starts, so it dials nothing during it.
func TestWarmup(t *testing.T) {
	code, stdout, stderr := runCmd(t, "-json", "-progress", "0", "-warmup", "100ms", "-duration", "100ms",
		"-interval", "20ms", "-clients", "8", "-conns", "2")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	recs, s := decodeLines(t, stdout)
	if s.Pool.Dials != 0 || s.Pool.DialErrors != 0 {
		t.Errorf("%d dials, %d failed, after the warm-up filled the pool", s.Pool.Dials, s.Pool.DialErrors)
	}
	if s.OK == 0 || s.Settings.WarmupNS == 0 {
		t.Errorf("%d ok, warm-up %dns", s.OK, s.Settings.WarmupNS)
	}
	if len(recs) == 0 || recs[0].StartNS != 0 || recs[0].Pool.Dials != 0 {
		t.Errorf("first record %+v: want one from the measurement's start, with no dial", recs)
	}
	// The server counts the warm-up too.
	if s.Server.Messages <= s.OK {
		t.Errorf("server read %d messages, the measurement had %d: the warm-up's are missing", s.Server.Messages, s.OK)
	}
}

// TestInterrupt cancels the context, as Ctrl-C does, once the first
// progress report is out: run says it is stopping, stops early, and prints
// the summary so far.
func TestInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout syncBuffer
	stderr := syncBuffer{onWrite: func([]byte) { cancel() }}
	code := run(ctx, context.Background(), []string{"-duration", "30s", "-progress", "20ms", "-clients", "4", "-json"}, &stdout, &stderr)
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, stderr.String())
	}
	if !strings.Contains(stderr.String(), "connload: stopping") {
		t.Errorf("no notice of stopping:\n%s", stderr.String())
	}
	s, _ := decodeSummary(t, stdout.String())
	if !s.Interrupted || s.Abandoned {
		t.Errorf("summary interrupted %v, abandoned %v; want interrupted only", s.Interrupted, s.Abandoned)
	}
	checkEchoSums(t, s)
}

// TestQuit interrupts twice a run whose requests would otherwise wait an
// hour for a server that never answers: the second interrupt abandons
// them, and run returns with the summary so far. Without it this test
// would hang.
func TestQuit(t *testing.T) {
	addr := silentServer(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	quit, abandon := context.WithCancel(context.Background())
	defer abandon()
	var stdout syncBuffer
	stderr := syncBuffer{onWrite: func(p []byte) {
		stop() // at the first progress line
		if strings.Contains(string(p), "connload: stopping") {
			abandon()
		}
	}}
	code := run(ctx, quit, []string{"-addr", addr, "-timeout", "1h", "-clients", "4", "-conns", "2",
		"-duration", "1h", "-progress", "10ms", "-json"}, &stdout, &stderr)
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, stderr.String())
	}
	if !strings.Contains(stderr.String(), "connload: stopping: waiting up to 1h0m0s for the requests in flight") ||
		!strings.Contains(stderr.String(), "connload: quitting") {
		t.Errorf("no notices of stopping and quitting:\n%s", stderr.String())
	}
	s, _ := decodeSummary(t, stdout.String())
	if !s.Interrupted || !s.Abandoned || s.Requests != 0 || s.Unfinished != s.Sent {
		t.Errorf("interrupted %v, abandoned %v, %d requests, %d of %d sent unfinished; want every request abandoned",
			s.Interrupted, s.Abandoned, s.Requests, s.Unfinished, s.Sent)
	}
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

// TestCompare runs two pool sizes one after the other and checks the
// report sets them side by side.
func TestCompare(t *testing.T) {
	code, stdout, stderr := runCmd(t, "-json", "-progress", "0", "-duration", "100ms", "-clients", "4", "-compare", "conns=1")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var c comparisonReport
	decodeStrict(t, stdout, &c)
	a, b := c.Runs[0], c.Runs[1]
	if c.Type != "compare" || a.Label != "conns=8" || b.Label != "conns=1" || a.Settings.Conns != 8 || b.Settings.Conns != 1 {
		t.Fatalf("compare: type %q, runs %q (%d conns) and %q (%d conns)", c.Type, a.Label, a.Settings.Conns, b.Label, b.Settings.Conns)
	}
	for _, s := range c.Runs {
		checkEchoSums(t, s)
		if s.OK == 0 {
			t.Errorf("%s: no request succeeded", s.Label)
		}
	}
	r := c.Ratios["requests_per_second"]
	if r == nil || *r != b.PerSecond/a.PerSecond {
		t.Errorf("ratio of requests/s %v, want %v", r, b.PerSecond/a.PerSecond)
	}

	code, stdout, stderr = runCmd(t, "-progress", "0", "-n", "100", "-clients", "2", "-compare", "probe-after=0 vs probe-after=off")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "probe-after=0s") || !strings.Contains(stdout, "probe-after=off") || !strings.Contains(stdout, "B/A") {
		t.Errorf("side by side:\n%s", stdout)
	}
}

// TestHDR writes the latency distribution and reads it back as the
// HdrHistogram plotters do: value and percentile columns, ascending, up
// to 100% at the total count.
func TestHDR(t *testing.T) {
	file := filepath.Join(t.TempDir(), "latency.hdr")
	s, _ := runJSON(t, "-n", "1000", "-clients", "4", "-hdr", file)
	if s.HDRFile != file {
		t.Errorf("summary names %q, want %q", s.HDRFile, file)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lastValue, lastPct float64
	var lastCount uint64
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] == "Value" || strings.HasPrefix(fields[0], "#") {
			continue
		}
		value, err1 := strconv.ParseFloat(fields[0], 64)
		pct, err2 := strconv.ParseFloat(fields[1], 64)
		cnt, err3 := strconv.ParseUint(fields[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || value < lastValue || pct < lastPct || cnt < lastCount {
			t.Fatalf("line %q after value %v, percentile %v, count %d", sc.Text(), lastValue, lastPct, lastCount)
		}
		lastValue, lastPct, lastCount = value, pct, cnt
		lines++
	}
	if lastPct != 1 || lastCount != s.OK || lines < 10 {
		t.Errorf("%d lines, the last at percentile %v with count %d; want 1 and %d", lines, lastPct, lastCount, s.OK)
	}
	if want := float64(s.Latency.Request.Max) / 1e6; lastValue < want-0.0005 || lastValue > want+0.0005 {
		t.Errorf("last value %vms, the maximum is %vms", lastValue, want)
	}
}
