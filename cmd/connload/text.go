package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The text summary is laid out in columns: a topic, a count right-aligned
// under the counts above it, and what the count is, in words and, for the
// pool's counters, by the name of connpool's metric, wrapped to the width
// of the terminal or of 80 columns:
//
//	pool          635,801  Gets (connpool_gets_total)
//	                    1    idle: served at once by an idle connection
const (
	topicWidth = 10 // "requests  "
	countWidth = 11 // "  635,801"
	textCol    = topicWidth + countWidth + 2
)

// textWidth returns the width to write a summary to w in: the terminal's,
// kept between 60 and 100 columns, or 80.
func textWidth(w io.Writer) int {
	if !isTerminal(w) {
		return 80
	}
	return min(max(terminalWidth(w), 60), 100)
}

// page builds text wrapped to a width.
type page struct {
	b     strings.Builder
	width int
}

// para writes topic in the first column and text after it, wrapped, the
// following lines indented to the text.
func (p *page) para(topic, text string) {
	p.wrap(fmt.Sprintf("%-*s", topicWidth, topic), topicWidth, text)
}

// count writes topic, n right-aligned in the count column, and text after
// it, wrapped; sub indents the text as a label of the counter above.
func (p *page) count(topic string, n string, sub bool, text string) {
	head := fmt.Sprintf("%-*s%*s  ", topicWidth, topic, countWidth, n)
	indent := textCol
	if sub {
		head += "  "
		indent += 2
	}
	p.wrap(head, indent, text)
}

// wrap writes head and text, breaking text between words so that no line
// is wider than p.width, the lines after the first indented by indent.
func (p *page) wrap(head string, indent int, text string) {
	line := strings.TrimRight(head, " ")
	col := utf8.RuneCountInString(head)
	first := true
	for _, w := range strings.Fields(text) {
		n := utf8.RuneCountInString(w)
		switch {
		case first:
			line, col = head+w, col+n
			first = false
		case col+1+n > p.width:
			p.b.WriteString(line + "\n")
			line, col = strings.Repeat(" ", indent)+w, indent+n
		default:
			line, col = line+" "+w, col+1+n
		}
	}
	p.b.WriteString(line + "\n")
}

// writeText writes s for a person, in width columns.
func (s *summary) writeText(w io.Writer, width int) error {
	p := &page{width: width}
	s.describe(p)
	s.requests(p)
	s.latency(p)
	s.errors(p)
	s.rate(p)
	s.pool(p)
	s.tcpPool(p)
	s.delivery(p)
	s.server(p)
	if s.HDRFile != "" {
		p.para("hdr", "latency distribution written to "+s.HDRFile)
	}
	_, err := io.WriteString(w, p.b.String())
	return err
}

// describe writes what was run.
func (s *summary) describe(p *page) {
	st := s.Settings
	pool := "a ConnPool"
	if s.Mode == modeWrite {
		pool = "a TCPPool"
	}
	server := "the server at " + s.Addr
	if s.EmbeddedServer {
		server = "the embedded server at " + s.Addr
	}
	how := "for " + showDuration(time.Duration(st.DurationNS))
	if st.N > 0 {
		how = count(st.N, "request", "requests")
	}
	if st.Rate > 0 {
		how += " at " + perSecond(st.Rate) + " requests/s"
	}
	if st.WarmupNS > 0 {
		how += " after a " + showDuration(time.Duration(st.WarmupNS)) + " warm-up"
	}
	label := ""
	if s.Label != "" {
		label = s.Label + ": "
	}
	p.para("connload", fmt.Sprintf("%s%s mode: %s, %s of %s, %d-byte messages, %s, %s",
		label, s.Mode, count(uint64(st.Clients), "client", "clients"), pool,
		count(uint64(st.Conns), "connection", "connections"), st.Size, server, how))
}

func (s *summary) requests(p *page) {
	noun := "requests"
	if s.Mode == modeWrite {
		noun = "writes"
	}
	text := fmt.Sprintf("%s in %.2fs, %s/s: ", commas(s.Requests), time.Duration(s.ElapsedNS).Seconds(), commas(uint64(math.Round(s.PerSecond))))
	switch {
	case s.Requests == 0:
		text += "none completed"
	case s.Errors == 0:
		text += "all succeeded"
	default:
		text += fmt.Sprintf("%s succeeded, %s failed", commas(s.OK), commas(s.Errors))
	}
	switch {
	case s.Abandoned:
		text += "; cut short by Ctrl-C twice, the requests in flight abandoned"
	case s.Interrupted:
		text += "; cut short by Ctrl-C"
	}
	p.para(noun, text)
}

func (s *summary) latency(p *page) {
	l := s.Latency
	fmt.Fprintf(&p.b, "%-*s%8s%8s%8s%8s%8s%8s\n", topicWidth, "latency", "mean", "p50", "p90", "p99", "p99.9", "max")
	row := func(name string, st *latencyStats) {
		if st == nil {
			fmt.Fprintf(&p.b, "  %-*s%8s%8s%8s%8s%8s%8s\n", topicWidth-2, name, "n/a", "n/a", "n/a", "n/a", "n/a", "n/a")
			return
		}
		d := func(ns int64) string { return showDuration(time.Duration(ns)) }
		fmt.Fprintf(&p.b, "  %-*s%8s%8s%8s%8s%8s%8s\n", topicWidth-2, name,
			d(st.Mean), d(st.P50), d(st.P90), d(st.P99), d(st.P999), d(st.Max))
	}
	from := "from the start of each request"
	if s.Settings.Rate > 0 {
		from = "from when each request was sent, or was due if every client was busy then,"
	}
	var note string
	switch s.Mode {
	case modeEcho:
		row("request", l.Request)
		row("get", l.Get)
		row("exchange", l.Exchange)
		note = "request: " + from + " to its reply; get: the wait for a connection from the pool; exchange: writing the message and reading its echo"
	case modeWrite:
		if s.Settings.Rate > 0 {
			row("request", l.Request)
			row("write", l.Exchange)
			note = "request: " + from + " to the end of its Write; write: the Write call"
		} else {
			row("write", l.Exchange)
			note = "write: the Write call, which returns once the local kernel has the bytes"
		}
	}
	if s.OK == 0 {
		note = "n/a: no request succeeded"
	}
	p.para("", note)
}

func (s *summary) errors(p *page) {
	if s.Errors == 0 {
		p.para("errors", "none")
		return
	}
	p.count("errors", commas(s.Errors), false, "failed requests, by kind:")
	k, e := s.ErrorsByKind, s.ErrorSamples
	if e == nil {
		e = &kindSamples{}
	}
	timeout := showDuration(time.Duration(s.Settings.TimeoutNS))
	for _, r := range []struct {
		n             uint64
		kind, meaning string
		sample, plain string
	}{
		{k.Timeout, "timeout", "no reply within -timeout (" + timeout + ")", e.Timeout, ""},
		{k.GetTimeout, "get timeout", "no connection from the pool within -timeout (" + timeout + "); the pool counts these Gets as canceled", "", ""},
		{k.Reset, "reset", "the connection was reset (the server crashed, or dropped it)", e.Reset, ""},
		{k.EOF, "EOF", "the server closed the connection before replying", e.EOF, "EOF unexpected EOF"},
		{k.Refused, "refused", "a dial found nothing listening", e.Refused, ""},
		{k.Other, "other", "", e.Other, ""},
	} {
		if r.n == 0 {
			continue
		}
		text := r.kind + ": " + r.meaning
		if r.sample != "" && !strings.Contains(r.plain, r.sample) {
			if r.meaning != "" {
				text += "; e.g. "
			}
			text += r.sample
		}
		p.count("", commas(r.n), true, text)
	}
}

func (s *summary) rate(p *page) {
	r := s.Rate
	if r == nil {
		return
	}
	p.count("schedule", commas(r.Due), false, fmt.Sprintf("requests came due at -rate %s/s", perSecond(r.PerSecond)))
	p.count("", commas(r.Sent-r.Late), true, "sent on time")
	if r.Late > 0 {
		p.count("", commas(r.Late), true, "sent late: every client was busy when they came due, so the server, the pool or -clients could not keep up with -rate")
	}
	if r.Unsent > 0 {
		p.count("", commas(r.Unsent), true, "never sent: still waiting for a free client when the run ended")
	}
}

func (s *summary) pool(p *page) {
	st := s.Pool
	if st == nil {
		return
	}
	clients, conns := s.Settings.Clients, s.Settings.Conns
	g := st.Gets
	p.count("pool", commas(g.total()), false, "Gets (connpool_gets_total)")
	if g.Idle > 0 {
		p.count("", commas(g.Idle), true, `idle: served at once by an idle connection`)
	}
	if g.Waited > 0 {
		why := "waited: none was idle, so they waited for one to be dialled or given back"
		if clients > conns {
			why += fmt.Sprintf("; %d clients share %d connections, so most Gets wait", clients, conns)
		}
		p.count("", commas(g.Waited), true, why)
	}
	if g.Canceled > 0 {
		why := "canceled: gave up waiting"
		switch {
		case s.Unfinished > 0 && s.ErrorsByKind.GetTimeout > 0:
			why += fmt.Sprintf(": %s at -timeout (errors above), %s when the run ended (not counted as requests)",
				commas(s.ErrorsByKind.GetTimeout), commas(s.Unfinished))
		case s.Unfinished > 0:
			why += " when the run ended; not counted as requests"
		case s.ErrorsByKind.GetTimeout > 0:
			why += " at -timeout (errors above)"
		}
		p.count("", commas(g.Canceled), true, why)
	}
	if g.Failed > 0 {
		p.count("", commas(g.Failed), true, "failed: a dial failed, or the pool was closed")
	}
	dials := "connections dialled (connpool_dials_total)"
	if st.DialErrors > 0 {
		dials += fmt.Sprintf(", %s of them failed (connpool_dial_errors_total)", commas(st.DialErrors))
	}
	p.count("", commas(st.Dials), false, dials)
	if c := st.Closed.total(); c > 0 {
		p.count("", commas(c), false, "connections closed (connpool_closed_connections_total), by reason:")
		for _, r := range st.Closed.reasons() {
			if r.n > 0 {
				p.count("", commas(r.n), true, r.label+": "+r.meaning)
			}
		}
	}
	if st.Leaks > 0 {
		p.count("", commas(st.Leaks), false, "connections held past the leak threshold (connpool_leaks_total)")
	}
	p.count("", strconv.Itoa(st.Open), false, "connections open at the end (connpool_open_connections)")
}

func (s *summary) tcpPool(p *page) {
	st := s.TCPPool
	if st == nil {
		return
	}
	p.count("tcppool", commas(st.Writes), false, "Writes that returned no error (connpool_writes_total)")
	if st.FailedWrites > 0 {
		p.count("", commas(st.FailedWrites), false, "Writes that failed (connpool_failed_writes_total)")
	}
	p.count("", showBytes(st.Bytes), false, "written (connpool_written_bytes_total)")
	if st.Retries > 0 {
		p.count("", commas(st.Retries), false, "attempts of Writes beyond their first (connpool_write_retries_total)")
	}
	p.count("", commas(st.Reconnects), false, "connections redialled after one failed (connpool_reconnects_total)")
	if st.DialErrors > 0 {
		p.count("", commas(st.DialErrors), false, "dials that failed (connpool_dial_errors_total)")
	}
	p.count("", fmt.Sprintf("%d/%d", st.ConnsUp, st.Size), false, "connections up at the end, of the pool's size (connpool_open_connections, connpool_max_connections)")
}

func (s *summary) delivery(p *page) {
	d := s.Delivery
	if d == nil {
		return
	}
	acked := "messages acknowledged: Writes that returned no error"
	if s.Settings.WarmupNS > 0 {
		acked += ", warm-up included"
	}
	p.count("delivery", commas(d.AckedMessages), false, acked)
	p.count("", commas(d.DeliveredMessages), false, "read by the server")
	switch {
	case d.LostMessages > 0:
		lost := uint64(d.LostMessages)
		p.count("", commas(lost), false, fmt.Sprintf(
			"lost: %s written after the server began to close their connection, %s in its receive buffer when it closed",
			commas(d.LostAfterClose), commas(lost-d.LostAfterClose)))
		p.para("", "TCP cannot tell a sender which written bytes a closing server read.")
	case d.LostMessages < 0:
		p.count("", signed(-d.LostMessages), false, "more read than acknowledged: messages of Writes that failed part way")
	default:
		p.count("", "0", false, "lost")
	}
}

func (s *summary) server(p *page) {
	v := s.Server
	if v == nil {
		return
	}
	torn := "none cut short"
	if v.Torn > 0 {
		torn = count(v.Torn, "connection", "connections") + " ended part way through a message"
	}
	p.para("server", fmt.Sprintf("%s accepted, %s read (%s), %s",
		count(v.Accepted, "connection", "connections"), count(v.Messages, "message", "messages"), showBytes(v.Bytes), torn))
	if c := s.Chaos; c != nil {
		p.para("chaos", fmt.Sprintf("%s, %s, %s with a %s outage (an event every %s or so)",
			count(c.Resets, "reset", "resets"), count(c.Closes, "clean close", "clean closes"),
			count(c.Restarts, "restart", "restarts"),
			showDuration(time.Duration(c.OutageNS)), showDuration(time.Duration(c.EveryNS))))
	}
}

// commas formats n with a comma between each group of three digits.
func commas(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// perSecond formats a rate as -rate takes it: its whole part with commas,
// and a fraction if it has one.
func perSecond(r float64) string {
	whole, frac, _ := strings.Cut(strconv.FormatFloat(r, 'f', -1, 64), ".")
	n, _ := strconv.ParseUint(whole, 10, 64)
	if frac != "" {
		return commas(n) + "." + frac
	}
	return commas(n)
}

// count formats n and the noun that goes with it.
func count(n uint64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return commas(n) + " " + many
}

func signed(n int64) string {
	if n < 0 {
		return "-" + commas(uint64(-n))
	}
	return commas(uint64(n))
}

// showDuration rounds d to three significant digits: latencies measured
// to the nanosecond are noise past that.
func showDuration(d time.Duration) string {
	p := time.Duration(1)
	for d/p >= 1000 {
		p *= 10
	}
	return d.Round(p).String()
}

// showBytes formats n in decimal units.
func showBytes(n uint64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, prefix := float64(n)/unit, "kMGTPE"
	i := 0
	for v >= unit && i < len(prefix)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", v, prefix[i])
}
