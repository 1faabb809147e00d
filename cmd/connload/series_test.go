package main

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// runSeries runs with -json and -interval and returns the records and the
// summary.
func runSeries(t *testing.T, args ...string) ([]intervalRecord, *summary) {
	t.Helper()
	code, stdout, stderr := runCmd(t, append([]string{"-json", "-progress", "0", "-interval", "20ms"}, args...)...)
	if code != exitOK {
		t.Fatalf("run %s: exit %d, stderr:\n%s", strings.Join(args, " "), code, stderr)
	}
	recs, s := decodeLines(t, stdout)
	// However many ticks of -interval the run saw (a ticker drops those
	// its reader is too slow for, and a busy machine may delay them past
	// the end), the last record, of the interval the end cut short, is
	// always there. TestSeriesRecordsChain checks a series of several.
	if len(recs) < 1 {
		t.Fatalf("no record in a run of %dns", s.ElapsedNS)
	}
	return recs, s
}

// TestSeriesRecordsChain makes a series of several records, the last cut
// short by the end of the run as finish takes it, and checks that they
// follow each other and add up to the summary, and that the table has its
// header once, then a row per record.
func TestSeriesRecordsChain(t *testing.T) {
	cfg := config{mode: modeEcho, rate: 1000, interval: 20 * time.Millisecond}
	start := time.Now()
	sched := &schedule{clock: wallClock{}, start: start, end: start.Add(70 * time.Millisecond), rate: cfg.rate}
	base := stats{pool: &poolStats{Dials: 2}}
	ser := newSeries(cfg, "", sched, start, base)
	rec := newRecorder(2)
	pool := *base.pool
	var recs []intervalRecord
	var table strings.Builder
	for i, end := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond, 70 * time.Millisecond} {
		for j := range i + 1 {
			c := rec.client(j)
			c.begin(j == 1)
			c.ok(time.Millisecond, 0, time.Millisecond)
			c.begin(false)
			c.fail(io.EOF, 0)
		}
		pool.Dials++
		pool.Gets.Idle += uint64(i)
		now := pool // the pool's stats at the end of the record
		r := ser.next(end, rec.tally(), stats{pool: &now})
		if want := uint64(i + 1); r.OK != want || r.Errors != want || r.Pool.Dials != 1 {
			t.Errorf("record %d: %d ok, %d errors, %d dials; want %d, %d, 1", i, r.OK, r.Errors, r.Pool.Dials, want, want)
		}
		recs = append(recs, *r)
		table.Write(ser.text(r))
	}
	elapsed := 70 * time.Millisecond
	s := newSummary(cfg, outcome{
		elapsed: elapsed,
		t:       rec.tally(),
		due:     sched.dueBy(elapsed),
		stats:   stats{pool: &pool}.sub(base),
	})
	checkSeriesSums(t, recs, s)
	if s.OK != 10 || s.Errors != 10 {
		t.Errorf("summary of %d ok and %d errors, want 10 of each", s.OK, s.Errors)
	}
	lines := strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n")
	if len(lines) != 1+len(recs) {
		t.Fatalf("a table of %d lines for %d records:\n%s", len(lines), len(recs), table.String())
	}
	if h := strings.Join(strings.Fields(lines[0]), " "); h != "time req/s errors p50 p99 p99.9 max late open idle wait dials" {
		t.Errorf("header %q", lines[0])
	}
	for _, l := range lines[1:] {
		if len([]rune(l)) > 80 || len(strings.Fields(l)) != 12 {
			t.Errorf("row %q", l)
		}
	}
}

// checkSeriesSums checks that the records follow each other without a gap
// and that their counts add up to the summary's.
func checkSeriesSums(t *testing.T, recs []intervalRecord, s *summary) {
	t.Helper()
	var sum intervalRecord
	var kinds kindCounts
	var get, exchange, request uint64
	var pool poolStats
	var tcp tcpPoolStats
	var rate rateSummary
	for i, r := range recs {
		if i > 0 && r.StartNS != recs[i-1].EndNS || r.EndNS < r.StartNS {
			t.Errorf("record %d from %d to %d, after one ending at %d", i, r.StartNS, r.EndNS, recs[max(i-1, 0)].EndNS)
		}
		if r.Requests != r.OK+r.Errors {
			t.Errorf("record %d: %d requests, %d ok, %d errors", i, r.Requests, r.OK, r.Errors)
		}
		sum.Sent += r.Sent
		sum.Requests += r.Requests
		sum.OK += r.OK
		sum.Errors += r.Errors
		sum.Unfinished += r.Unfinished
		addFields(&kinds, r.ErrorsByKind)
		for _, c := range []struct {
			n *uint64
			l *latencyStats
		}{{&request, r.Latency.Request}, {&get, r.Latency.Get}, {&exchange, r.Latency.Exchange}} {
			if c.l != nil {
				*c.n += c.l.Count
			}
		}
		if p := r.Pool; p != nil {
			addFields(&pool.Gets, p.Gets)
			addFields(&pool.Closed, p.Closed)
			pool.Dials += p.Dials
			pool.DialErrors += p.DialErrors
			pool.GetsDialed += p.GetsDialed
			pool.WaitTime += p.WaitTime
		}
		if p := r.TCPPool; p != nil {
			tcp.Writes += p.Writes
			tcp.FailedWrites += p.FailedWrites
			tcp.Bytes += p.Bytes
			tcp.Reconnects += p.Reconnects
			tcp.DialErrors += p.DialErrors
			tcp.Retries += p.Retries
		}
		if q := r.Rate; q != nil {
			rate.Due += q.Due
			rate.Sent += q.Sent
			rate.Late += q.Late
		}
	}
	for _, c := range []struct {
		what          string
		series, total uint64
	}{
		{"sent", sum.Sent, s.Sent},
		{"requests", sum.Requests, s.Requests},
		{"ok", sum.OK, s.OK},
		{"errors", sum.Errors, s.Errors},
		{"unfinished", sum.Unfinished, s.Unfinished},
		{"latency samples", request, s.OK},
		{"exchange samples", exchange, s.OK},
	} {
		if c.series != c.total {
			t.Errorf("%s: the records add up to %d, the summary has %d", c.what, c.series, c.total)
		}
	}
	if kinds != s.ErrorsByKind {
		t.Errorf("errors by kind: the records add up to %+v, the summary has %+v", kinds, s.ErrorsByKind)
	}
	last := recs[len(recs)-1]
	if last.EndNS != s.ElapsedNS {
		t.Errorf("the last record ends at %d, the run at %d", last.EndNS, s.ElapsedNS)
	}
	if p := s.Pool; p != nil {
		if get != s.OK {
			t.Errorf("get samples: the records add up to %d, the summary has %d", get, s.OK)
		}
		if pool.Gets != p.Gets || pool.Closed != p.Closed || pool.Dials != p.Dials || pool.DialErrors != p.DialErrors ||
			pool.GetsDialed != p.GetsDialed || pool.WaitTime != p.WaitTime {
			t.Errorf("pool counters: the records add up to\n%+v\nthe summary has\n%+v", pool, *p)
		}
		if l := last.Pool; l.Open != p.Open || l.Idle != p.Idle || l.Waiting != p.Waiting {
			t.Errorf("gauges: the last record has %+v, the summary %+v", *l, *p)
		}
	}
	if p := s.TCPPool; p != nil {
		if tcp.Writes != p.Writes || tcp.FailedWrites != p.FailedWrites || tcp.Bytes != p.Bytes ||
			tcp.Reconnects != p.Reconnects || tcp.DialErrors != p.DialErrors || tcp.Retries != p.Retries {
			t.Errorf("tcppool counters: the records add up to %+v, the summary has %+v", tcp, *p)
		}
	}
	if q := s.Rate; q != nil && (rate.Due != q.Due || rate.Sent != q.Sent || rate.Late != q.Late) {
		t.Errorf("schedule: the records add up to %+v, the summary has %+v", rate, *q)
	}
}

// addFields adds each uint64 field of v to the same field of sum.
func addFields[T any](sum *T, v T) {
	s, a := reflect.ValueOf(sum).Elem(), reflect.ValueOf(v)
	for i := range s.NumField() {
		s.Field(i).SetUint(s.Field(i).Uint() + a.Field(i).Uint())
	}
}

// TestSeriesAddsUp runs against a misbehaving server, so that there are
// errors, redials and closes to count, and checks that the time series
// adds up to the summary.
func TestSeriesAddsUp(t *testing.T) {
	recs, s := runSeries(t, "-chaos", "-chaos-every", "10ms", "-chaos-outage", "10ms",
		"-duration", "300ms", "-clients", "16", "-conns", "4", "-probe-after", "0")
	checkSeriesSums(t, recs, s)
	if s.Errors == 0 || s.Pool.Dials < 2 {
		t.Errorf("%d errors, %d dials under chaos: nothing to add up", s.Errors, s.Pool.Dials)
	}
}

// TestSeriesAddsUpRate does the same on a schedule, in write mode.
func TestSeriesAddsUpRate(t *testing.T) {
	recs, s := runSeries(t, "-mode", "write", "-rate", "5000/s", "-duration", "200ms", "-clients", "4", "-conns", "2",
		"-chaos", "-chaos-every", "20ms")
	checkSeriesSums(t, recs, s)
	if s.Rate == nil || s.Rate.Due != 1000 {
		t.Errorf("schedule %+v, want 1000 due in 200ms at 5000/s", s.Rate)
	}
}

// TestSeriesText checks the time series as a table: a header, then a row
// per record, within 80 columns.
func TestSeriesText(t *testing.T) {
	code, stdout, stderr := runCmd(t, "-progress", "0", "-interval", "50ms", "-duration", "200ms", "-clients", "4", "-rate", "1000/s")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	lines := strings.Split(stdout, "\n")
	if h := strings.Fields(lines[0]); strings.Join(h, " ") != "time req/s errors p50 p99 p99.9 max late open idle wait dials" {
		t.Errorf("header %q", lines[0])
	}
	rows := 0
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "connload ") {
			break
		}
		if len([]rune(l)) > 80 || len(strings.Fields(l)) != 12 {
			t.Errorf("row %q", l)
		}
		rows++
	}
	if rows < 1 {
		t.Errorf("no row, not even the last one, of the interval the end cut short:\n%s", stdout)
	}
}
