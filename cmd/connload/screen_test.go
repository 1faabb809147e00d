package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// gaugeTarget is a target whose only use is its stats, for the status line.
type gaugeTarget struct{ st stats }

func (g gaugeTarget) requester(int) requester { panic("not for requests") }
func (gaugeTarget) bound(time.Time)           {}
func (gaugeTarget) abort()                    {}
func (g gaugeTarget) stats() stats            { return g.st }
func (gaugeTarget) close()                    {}

// busyStatus returns the status line fields of a busy echo run: the
// numbers of the default run, 2.5s into it.
func busyStatus(t *testing.T, cfg config) []field {
	t.Helper()
	start := time.Now()
	r := &reporter{
		cfg: cfg, ctx: context.Background(), started: make(chan bool, 1),
		tgt: gaugeTarget{stats{pool: &poolStats{Max: 8, Open: 8, Waiting: 56}}},
	}
	rec := newRecorder(1)
	r.phase(rec, &schedule{start: start}, &stats{})
	tl := rec.client(0)
	record := func(n int) {
		for i := range n {
			tl.begin(false)
			tl.ok(time.Duration(200_000+i%300_000), 0, 0)
		}
	}
	record(423_133)
	last := rec.tally() // at 2s
	record(106_827)
	v, _ := r.snapshot()
	return r.statusFields(start.Add(2500*time.Millisecond), v, last, start.Add(2*time.Second))
}

// statusLine writes fields as the status line on a terminal of width
// columns and returns what a user sees: the line after its last \r.
func statusLine(t *testing.T, width int, fields []field) string {
	t.Helper()
	var out bytes.Buffer
	s := &screen{err: &out, out: &out, tty: true, width: func() int { return width }}
	s.status(fields)
	text := out.String()
	if !strings.HasPrefix(text, "\r") || strings.Contains(text, "\n") {
		t.Errorf("status on a terminal %q: want a line rewritten in place", text)
	}
	return text[strings.LastIndex(text, "\r")+1:]
}

// TestStatusLayout checks the status line on terminals of 80 and 120
// columns: it never reaches the last column, where a terminal would wrap
// it and leave fragments, and it drops detail before numbers.
// TestStatusAcrossWarmup checks the first status lines of the measurement
// after a warm-up: counted from the measurement's start, with none of the
// warm-up's requests, even for a tick that came due before the start.
func TestStatusAcrossWarmup(t *testing.T) {
	t0 := time.Now()
	r := &reporter{
		cfg: config{mode: modeEcho, timeout: time.Second}, ctx: context.Background(), started: make(chan bool, 1),
		tgt: gaugeTarget{stats{pool: &poolStats{Max: 8, Open: 8}}},
	}
	record := func(rec *recorder, n int) {
		tl := rec.client(0)
		for range n {
			tl.begin(false)
			tl.ok(time.Millisecond, 0, 0)
		}
	}
	var prev lastStatus
	warm := newRecorder(1)
	r.phase(warm, &schedule{start: t0}, nil)
	record(warm, 1000)
	if line := fit(r.statusAt(t0.Add(time.Second), &prev), 0); !strings.Contains(line, "warm-up   1.0s") || !strings.Contains(line, "1,000 requests") {
		t.Errorf("warm-up status %q, want warm-up 1.0s and 1,000 requests", line)
	}

	start := t0.Add(2 * time.Second)
	rec := newRecorder(1)
	r.phase(rec, &schedule{start: start}, &stats{})
	record(rec, 10)
	for _, tc := range []struct {
		at   time.Time
		add  int
		want []string
	}{
		{start.Add(-100 * time.Millisecond), 0, []string{"  0.0s", " 10 requests"}},
		{start.Add(500 * time.Millisecond), 10, []string{"  0.5s", " 20 requests", " 20/s"}},
	} {
		record(rec, tc.add)
		line := fit(r.statusAt(tc.at, &prev), 0)
		for _, want := range tc.want {
			if !strings.Contains(line, want) {
				t.Errorf("status at %v: %q, want %q", tc.at.Sub(start), line, want)
			}
		}
		if strings.Contains(line, "warm") || strings.Contains(line, "-0") {
			t.Errorf("status at %v: %q, still the warm-up's", tc.at.Sub(start), line)
		}
	}
}

func TestPerSecond(t *testing.T) {
	for r, want := range map[float64]string{0.5: "0.5", 2.5: "2.5", 1000: "1,000", 20000: "20,000", 1234.25: "1,234.25", 0.001: "0.001"} {
		if got := perSecond(r); got != want {
			t.Errorf("perSecond(%v) = %q, want %q", r, got, want)
		}
	}
}

func TestStatusLayout(t *testing.T) {
	cfg := config{mode: modeEcho, timeout: time.Second}
	fields := busyStatus(t, cfg)
	var r *reporter
	full := fit(fields, 0)
	if n := utf8.RuneCountInString(full); n <= 80 || n >= 120 {
		t.Fatalf("the full status is %d columns, want between 80 and 120 for this test:\n%s", n, full)
	}

	wide := statusLine(t, 120, fields)
	if wide != full {
		t.Errorf("at 120 columns:\n got %q\nwant %q", wide, full)
	}
	for _, want := range []string{"  2.5s", "529,960 requests", "/s", "p99 ", "0 failed", "conns 8 open, 0 idle, 56 Gets waiting"} {
		if !strings.Contains(wide, want) {
			t.Errorf("at 120 columns, no %q in %q", want, wide)
		}
	}

	narrow := statusLine(t, 80, fields)
	if n := utf8.RuneCountInString(narrow); n > 79 {
		t.Errorf("at 80 columns the status is %d wide: %q", n, narrow)
	}
	for _, want := range []string{"  2.5s", "529,960 ", "/s", "p99 ", "0 "} {
		if !strings.Contains(narrow, want) {
			t.Errorf("at 80 columns, no %q in %q", want, narrow)
		}
	}

	// A terminal too narrow for all but the time keeps the time.
	if tiny := statusLine(t, 10, fields); tiny != "  2.5s" {
		t.Errorf("at 10 columns: %q", tiny)
	}

	// With -rate the late count joins, in a write run the TCPPool's
	// connections.
	cfg.rate = 1000
	cfg.mode = modeWrite
	r = &reporter{cfg: cfg, ctx: context.Background(), started: make(chan bool, 1),
		tgt: gaugeTarget{stats{tcpPool: &tcpPoolStats{Size: 8, ConnsUp: 7, Reconnects: 3}}}}
	rec := newRecorder(1)
	r.phase(rec, &schedule{start: time.Now()}, &stats{})
	v, _ := r.snapshot()
	line := fit(r.statusFields(time.Now(), v, nil, time.Time{}), 120)
	for _, want := range []string{"0 writes", "p99 n/a", "0 late", "conns 7/8 up, 3 redials"} {
		if !strings.Contains(line, want) {
			t.Errorf("write status has no %q: %q", want, line)
		}
	}
}

// TestStatusRewrite checks that a shorter status blanks out the end of the
// longer one before it, and that a notice or the end clears the line
// first, so that no fragment is left on the terminal.
func TestStatusRewrite(t *testing.T) {
	var out bytes.Buffer
	s := &screen{err: &out, out: &out, tty: true, shared: true, width: func() int { return 80 }}
	s.status([]field{{long: "a long status line"}})
	s.status([]field{{long: "short"}})
	if got, want := out.String(), "\ra long status line\rshort             "; got != want {
		t.Errorf("rewrite:\n got %q\nwant %q", got, want)
	}
	out.Reset()
	s.notice("connload: stopping")
	s.record([]byte("row\n"))
	s.status([]field{{long: "again"}})
	s.clear()
	want := "\r" + strings.Repeat(" ", 18) + "\r" + "connload: stopping\n" + "row\n" + "\ragain" + "\r     \r"
	if got := out.String(); got != want {
		t.Errorf("notice, record and clear:\n got %q\nwant %q", got, want)
	}

	// Not on a terminal: a line per status, in full, and nothing to clear.
	out.Reset()
	s = &screen{err: &out, out: &out, width: func() int { return 10 }}
	s.status([]field{{long: "a status wider than ten columns"}})
	s.clear()
	if got := out.String(); got != "a status wider than ten columns\n" {
		t.Errorf("status off a terminal: %q", got)
	}
}

// sampleSummary returns the summary of a troubled run, with every part
// the text can show.
func sampleSummary() *summary {
	lat := &latencyStats{Count: 100_000, Mean: 290_000, P50: 285_000, P90: 326_000, P99: 424_000, P999: 1_100_000, Max: 8_330_000}
	return &summary{
		Mode: modeEcho, Addr: "127.0.0.1:44975", EmbeddedServer: true,
		Settings:  settings{Clients: 64, Conns: 8, Size: 64, DurationNS: int64(3 * time.Second), Rate: 40000, TimeoutNS: int64(time.Second)},
		ElapsedNS: int64(3 * time.Second), Sent: 120_000, Requests: 119_944, OK: 100_000, Errors: 19_944, Unfinished: 56,
		PerSecond:    39_981,
		Latency:      latencyBlock{Request: lat, Get: lat, Exchange: lat},
		ErrorsByKind: kindCounts{Timeout: 10_000, GetTimeout: 5_000, Reset: 4_000, EOF: 900, Refused: 40, Other: 4},
		ErrorSamples: &kindSamples{
			Timeout: "read tcp 127.0.0.1:50000->127.0.0.1:44975: i/o timeout", GetTimeout: errGetTimeout.Error(),
			Reset: "read tcp 127.0.0.1:50000->127.0.0.1:44975: read: connection reset by peer",
			EOF:   "EOF", Refused: "connpool: dial: dial tcp 127.0.0.1:44975: connect: connection refused",
			Other: errBadReply.Error(),
		},
		Rate: &rateSummary{PerSecond: 40000, Due: 120_100, Sent: 120_000, Late: 3_000, Unsent: 100},
		Pool: &poolStats{
			Max: 8, Open: 8,
			Gets:  getsByOutcome{Idle: 1_000, Waited: 113_904, Canceled: 5_056, Failed: 40},
			Dials: 900, DialErrors: 40,
			Closed: closedByReason{Stale: 10, Unusable: 14_904},
		},
		Server: &serverSummary{Accepted: 860, Messages: 110_000, Bytes: 7_040_000, Torn: 3},
		Chaos:  &chaosSummary{EveryNS: int64(100 * time.Millisecond), OutageNS: int64(50 * time.Millisecond), Resets: 12, Closes: 14, Restarts: 3},
	}
}

// TestSummaryLayout checks the text summary at 80 and 120 columns: no
// line wider, every counter explained, no error sample that only repeats
// its kind, and n/a where nothing succeeded.
func TestSummaryLayout(t *testing.T) {
	for _, width := range []int{80, 120} {
		var out bytes.Buffer
		if err := sampleSummary().writeText(&out, width); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		for i, line := range strings.Split(text, "\n") {
			if n := utf8.RuneCountInString(line); n > width {
				t.Errorf("%d columns: line %d is %d wide:\n%s", width, i+1, n, line)
			}
		}
		for _, want := range []string{
			"Gets (connpool_gets_total)", "idle: served at once", "waited: none was idle", "64 clients share 8 connections",
			"canceled: gave up waiting: 5,000 at -timeout", "56 when the run ended", "failed: a dial failed",
			"(connpool_dials_total)", "(connpool_dial_errors_total)", "(connpool_closed_connections_total)",
			"stale: found closed or reset by the server", "unusable: closed after a request on it failed",
			"(connpool_open_connections)",
			"timeout: no reply within -timeout (1s); e.g. read tcp", "get timeout: no connection from the pool within -timeout (1s)",
			"reset: the connection was reset", "EOF: the server closed the connection before replying\n",
			"refused: a dial found nothing listening", "other: " + errBadReply.Error(),
			"requests came due at -rate 40,000/s", "sent on time", "sent late: every client was busy", "never sent",
			"3 connections ended part way through a message", "12 resets, 14 clean closes, 3 restarts",
		} {
			if !strings.Contains(strings.Join(strings.Fields(text), " "), strings.Join(strings.Fields(want), " ")) {
				t.Errorf("%d columns: no %q in\n%s", width, want, text)
			}
		}
		if strings.Contains(text, "e.g. EOF") {
			t.Errorf("%d columns: the EOF sample repeats its kind:\n%s", width, text)
		}
	}

	s := sampleSummary()
	s.OK, s.Latency = 0, latencyBlock{}
	var out bytes.Buffer
	s.writeText(&out, 80)
	if !strings.Contains(out.String(), "  request      n/a     n/a     n/a") || !strings.Contains(out.String(), "n/a: no request succeeded") {
		t.Errorf("summary with no success:\n%s", out.String())
	}
}

// TestDeliveryText checks what write mode says of messages lost: how
// many, how many of those written after the server began to close, and
// in one line why TCP cannot tell.
func TestDeliveryText(t *testing.T) {
	s := &summary{
		Mode: modeWrite, Settings: settings{Clients: 8, Conns: 2, Size: 64, TimeoutNS: int64(time.Second)},
		ElapsedNS: int64(time.Second), Sent: 120_000, Requests: 120_000, OK: 120_000,
		TCPPool:  &tcpPoolStats{Size: 2, ConnsUp: 2, Writes: 120_000, Bytes: 7_680_000, Reconnects: 40},
		Delivery: &delivery{AckedMessages: 120_000, DeliveredMessages: 114_733, LostMessages: 5_267, LostAfterClose: 4_980},
	}
	var out bytes.Buffer
	s.writeText(&out, 80)
	text := out.String()
	for _, want := range []string{
		"delivery       120,000  messages acknowledged", "114,733  read by the server",
		"5,267  lost: 4,980 written after the server began to close their connection, 287 in its receive buffer",
		"\n          TCP cannot tell a sender which written bytes a closing server read.\n",
		"(connpool_writes_total)", "(connpool_reconnects_total)",
	} {
		if !strings.Contains(strings.Join(strings.Fields(text), " "), strings.Join(strings.Fields(want), " ")) && !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	if !strings.Contains(text, "\n          TCP cannot tell a sender which written bytes a closing server read.\n") {
		t.Errorf("the reason is not one line of its own:\n%s", text)
	}
}
