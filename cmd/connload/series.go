package main

import (
	"bytes"
	"fmt"
	"math"
	"time"
)

// intervalRecord is one record of the time series (-interval): what
// completed in the interval, and the pool at its end. The records of a
// run add up to its summary: the last one, of the interval cut short by
// the end, is taken once the clients have stopped, from the same figures
// as the summary.
type intervalRecord struct {
	Type         string       `json:"type"`            // "interval"
	Label        string       `json:"label,omitempty"` // the setting, in a -compare
	StartNS      int64        `json:"start_ns"`        // since the measurement began, after the warm-up
	EndNS        int64        `json:"end_ns"`
	Sent         uint64       `json:"sent"`
	Requests     uint64       `json:"requests"`
	OK           uint64       `json:"ok"`
	Errors       uint64       `json:"errors"`
	Unfinished   uint64       `json:"unfinished"`
	PerSecond    float64      `json:"requests_per_second"`
	ErrorsByKind kindCounts   `json:"errors_by_kind"`
	Latency      latencyBlock `json:"latency_ns"`
	Rate         *rateSummary `json:"rate,omitempty"`
	// The pool's gauges at the end of the interval, and its counters'
	// increase during it.
	Pool    *poolStats    `json:"pool,omitempty"`
	TCPPool *tcpPoolStats `json:"tcppool,omitempty"`
}

// series makes the records of one run's time series.
type series struct {
	cfg       config
	label     string
	sched     *schedule
	start     time.Time // of the measurement
	last      *tally    // at the end of the last record
	lastStats stats
	lastEnd   time.Duration
	rows      int // text rows written, for the header
}

func newSeries(cfg config, label string, sched *schedule, start time.Time, base stats) *series {
	return &series{cfg: cfg, label: label, sched: sched, start: start, last: new(tally), lastStats: base}
}

// next returns the record from the end of the last one to end, given the
// recorder's tally and the pool's stats at end.
func (s *series) next(end time.Duration, t *tally, st stats) *intervalRecord {
	d := t.since(s.last)
	r := &intervalRecord{
		Type:         "interval",
		Label:        s.label,
		StartNS:      int64(s.lastEnd),
		EndNS:        int64(end),
		Sent:         d.sent,
		Requests:     d.requests(),
		OK:           d.ok,
		Errors:       d.failed,
		Unfinished:   d.unfinished,
		ErrorsByKind: kindCountsOf(&d.kinds),
		Latency:      latencyBlockOf(d, s.cfg.mode),
	}
	if span := end - s.lastEnd; span > 0 {
		r.PerSecond = float64(r.Requests) / span.Seconds()
	}
	if s.cfg.rate > 0 {
		due := s.sched.dueBy(end) - s.sched.dueBy(s.lastEnd)
		r.Rate = &rateSummary{PerSecond: s.cfg.rate, Due: due, Sent: d.sent, Late: d.late}
		if due > d.sent {
			r.Rate.Unsent = due - d.sent
		}
	}
	inc := st.sub(s.lastStats)
	r.Pool, r.TCPPool = inc.pool, inc.tcpPool
	s.last, s.lastStats, s.lastEnd = t, st, end
	return r
}

// text formats r as a row of a table, after the table's header if it is
// the first row.
func (s *series) text(r *intervalRecord) []byte {
	var b bytes.Buffer
	write := s.cfg.mode == modeWrite
	if s.rows == 0 {
		if s.label != "" {
			fmt.Fprintf(&b, "%s:\n", s.label)
		}
		noun := "req/s"
		if write {
			noun = "writes/s"
		}
		fmt.Fprintf(&b, "%6s %8s %6s %6s %6s %6s %6s", "time", noun, "errors", "p50", "p99", "p99.9", "max")
		if s.cfg.rate > 0 {
			fmt.Fprintf(&b, " %6s", "late")
		}
		if write {
			fmt.Fprintf(&b, " %4s %7s\n", "up", "redials")
		} else {
			fmt.Fprintf(&b, " %4s %4s %4s %5s\n", "open", "idle", "wait", "dials")
		}
	}
	s.rows++
	l := r.Latency.Request
	col := func(pick func(*latencyStats) int64) string {
		if l == nil {
			return "n/a"
		}
		return showDuration(time.Duration(pick(l)))
	}
	fmt.Fprintf(&b, "%6s %8s %6s %6s %6s %6s %6s",
		showDuration(time.Duration(r.EndNS).Round(time.Millisecond)), commas(uint64(math.Round(r.PerSecond))), commas(r.Errors),
		col(func(l *latencyStats) int64 { return l.P50 }), col(func(l *latencyStats) int64 { return l.P99 }),
		col(func(l *latencyStats) int64 { return l.P999 }), col(func(l *latencyStats) int64 { return l.Max }))
	if r.Rate != nil {
		fmt.Fprintf(&b, " %6s", commas(r.Rate.Late))
	}
	switch {
	case r.Pool != nil:
		p := r.Pool
		fmt.Fprintf(&b, " %4d %4d %4d %5s\n", p.Open, p.Idle, p.Waiting, commas(p.Dials))
	case r.TCPPool != nil:
		p := r.TCPPool
		fmt.Fprintf(&b, " %4d %7s\n", p.ConnsUp, commas(p.Reconnects))
	default:
		b.WriteByte('\n')
	}
	return b.Bytes()
}
