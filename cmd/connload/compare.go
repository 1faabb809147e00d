package main

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// comparisonReport is the output of -compare: the two runs' summaries and
// the ratio of each figure, the second run's over the first's.
type comparisonReport struct {
	Type   string              `json:"type"` // "compare"
	Runs   [2]*summary         `json:"runs"`
	Ratios map[string]*float64 `json:"ratios"` // null where the first run's figure is 0
}

// metric is one figure the comparison sets side by side.
type metric struct {
	key, name string
	value     func(*summary) (v float64, ok bool)
	show      func(float64) string
}

// compared returns the figures to compare for runs of mode.
func compared(mode string, rate bool) []metric {
	num := func(v float64) string { return commas(uint64(v)) }
	dur := func(v float64) string { return showDuration(time.Duration(v)) }
	lat := func(part string, pick func(latencyBlock) *latencyStats, q string, f func(*latencyStats) int64) metric {
		return metric{
			key:  "latency_" + part + "_" + strings.ReplaceAll(q, ".", "_"),
			name: part + " " + q,
			value: func(s *summary) (float64, bool) {
				l := pick(s.Latency)
				if l == nil {
					return 0, false
				}
				return float64(f(l)), true
			},
			show: dur,
		}
	}
	req := func(b latencyBlock) *latencyStats { return b.Request }
	get := func(b latencyBlock) *latencyStats { return b.Get }
	xch := func(b latencyBlock) *latencyStats { return b.Exchange }
	ms := []metric{
		{"requests_per_second", "requests/s", func(s *summary) (float64, bool) { return s.PerSecond, true }, num},
		{"requests", "requests", func(s *summary) (float64, bool) { return float64(s.Requests), true }, num},
		{"errors", "errors", func(s *summary) (float64, bool) { return float64(s.Errors), true }, num},
		lat("request", req, "mean", func(l *latencyStats) int64 { return l.Mean }),
		lat("request", req, "p50", func(l *latencyStats) int64 { return l.P50 }),
		lat("request", req, "p99", func(l *latencyStats) int64 { return l.P99 }),
		lat("request", req, "p99.9", func(l *latencyStats) int64 { return l.P999 }),
		lat("request", req, "max", func(l *latencyStats) int64 { return l.Max }),
	}
	if mode == modeEcho {
		ms = append(ms,
			lat("get", get, "p99", func(l *latencyStats) int64 { return l.P99 }),
			lat("exchange", xch, "p99", func(l *latencyStats) int64 { return l.P99 }),
		)
	}
	if rate {
		ms = append(ms,
			metric{"late", "sent late", func(s *summary) (float64, bool) { return float64(s.Rate.Late), true }, num},
			metric{"unsent", "never sent", func(s *summary) (float64, bool) { return float64(s.Rate.Unsent), true }, num},
		)
	}
	switch mode {
	case modeEcho:
		ms = append(ms,
			metric{"connpool_gets_total_waited", "Gets waited", func(s *summary) (float64, bool) { return float64(s.Pool.Gets.Waited), true }, num},
			metric{"connpool_dials_total", "dials", func(s *summary) (float64, bool) { return float64(s.Pool.Dials), true }, num},
			metric{"connpool_closed_connections_total", "closed", func(s *summary) (float64, bool) { return float64(s.Pool.Closed.total()), true }, num},
		)
	case modeWrite:
		ms = append(ms,
			metric{"connpool_reconnects_total", "redials", func(s *summary) (float64, bool) { return float64(s.TCPPool.Reconnects), true }, num},
			metric{"lost_messages", "lost", func(s *summary) (float64, bool) {
				if s.Delivery == nil {
					return 0, false
				}
				return float64(max(s.Delivery.LostMessages, 0)), true
			}, num},
		)
	}
	return ms
}

func newComparisonReport(a, b *summary) *comparisonReport {
	c := &comparisonReport{Type: "compare", Runs: [2]*summary{a, b}, Ratios: map[string]*float64{}}
	for _, m := range compared(a.Mode, a.Rate != nil && b.Rate != nil) {
		va, oka := m.value(a)
		vb, okb := m.value(b)
		var r *float64
		if oka && okb && va != 0 {
			r = ptr(vb / va)
		}
		c.Ratios[m.key] = r
	}
	return c
}

// writeText writes the two runs side by side, with the ratio of each
// figure, then what each run was.
func (c *comparisonReport) writeText(w io.Writer, width int) error {
	a, b := c.Runs[0], c.Runs[1]
	p := &page{width: width}
	how := showDuration(time.Duration(a.Settings.DurationNS)) + " each"
	if a.Settings.N > 0 {
		how = count(a.Settings.N, "request", "requests") + " each"
	}
	server := "the server at " + a.Addr
	if a.EmbeddedServer {
		server = "the embedded server at " + a.Addr
	}
	p.para("connload", fmt.Sprintf("%s mode, %s, %s, one run after the other", a.Mode, server, how))

	heads := [2]string{a.Label, b.Label}
	colWidth := 12
	if utf8.RuneCountInString(a.Label) > colWidth-2 || utf8.RuneCountInString(b.Label) > colWidth-2 {
		heads = [2]string{"A", "B"}
		p.para("A", a.Label)
		p.para("B", b.Label)
	}
	const nameWidth = 18
	fmt.Fprintf(&p.b, "%-*s%*s%*s%*s\n", nameWidth, "", colWidth, heads[0], colWidth, heads[1], 8, "B/A")
	for _, m := range compared(a.Mode, a.Rate != nil && b.Rate != nil) {
		cell := func(s *summary) string {
			v, ok := m.value(s)
			if !ok {
				return "n/a"
			}
			return m.show(v)
		}
		ratio := "-"
		if r := c.Ratios[m.key]; r != nil {
			ratio = fmt.Sprintf("%.2f", *r)
		}
		fmt.Fprintf(&p.b, "%-*s%*s%*s%*s\n", nameWidth, m.name, colWidth, cell(a), colWidth, cell(b), 8, ratio)
	}
	p.para("", "B/A: the second run's figure over the first's; - where the first's is 0 or n/a. Each run in full:")
	if _, err := io.WriteString(w, p.b.String()+"\n"); err != nil {
		return err
	}
	for i, s := range c.Runs {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := s.writeText(w, width); err != nil {
			return err
		}
	}
	return nil
}
