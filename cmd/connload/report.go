package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// summary is what a run measured. It is printed as text, or as JSON with
// -json; durations in JSON are integer nanoseconds, named _ns.
//
// Its numbers add up: Requests == OK + Errors, and Errors is the sum of
// ErrorsByKind. A request is counted when it completes; one the end of the
// run cuts short while it waits for a connection is not counted (the pool
// counts it in GetsCanceled). In echo mode, once the pool is drained:
//
//	Requests == Pool.Gets - Pool.GetsCanceled
//	Errors == Pool.GetsFailed + Pool.Closed.Unusable
//	Pool.Dials - Pool.DialErrors == Pool.Closed.Total
//
// since every dial failure fails the Get waiting for it, and every other
// failure marks its connection unusable. In write mode, OK and Errors are
// the TCPPool's Writes and FailedWrites.
type summary struct {
	Mode           string          `json:"mode"`
	Addr           string          `json:"addr"`
	EmbeddedServer bool            `json:"embedded_server"`
	Settings       settings        `json:"settings"`
	Interrupted    bool            `json:"interrupted"` // by Ctrl-C
	ElapsedNS      int64           `json:"elapsed_ns"`
	Requests       uint64          `json:"requests"` // completed, successful or not
	OK             uint64          `json:"ok"`
	Errors         uint64          `json:"errors"`
	PerSecond      float64         `json:"requests_per_second"` // of Requests
	Latency        latencySummary  `json:"latency_ns"`          // of OK requests
	ErrorsByKind   kindCounts      `json:"errors_by_kind"`
	ErrorSamples   *kindSamples    `json:"error_samples,omitempty"` // the first error of each kind
	Pool           *poolSummary    `json:"pool,omitempty"`          // echo mode
	TCPPool        *tcpPoolSummary `json:"tcppool,omitempty"`       // write mode
	Server         *serverSummary  `json:"server,omitempty"`        // embedded server
	Delivery       *delivery       `json:"delivery,omitempty"`      // write mode, embedded server
	Chaos          *chaosSummary   `json:"chaos,omitempty"`
}

type settings struct {
	Clients       int   `json:"clients"`
	Conns         int   `json:"conns"`
	Size          int   `json:"size"`
	DurationNS    int64 `json:"duration_ns"`
	TimeoutNS     int64 `json:"timeout_ns"`
	ErrorPauseNS  int64 `json:"error_pause_ns"`
	DialTimeoutNS int64 `json:"dial_timeout_ns"`
	// Of the ConnPool, in echo mode only.
	MaxIdle       *int   `json:"max_idle,omitempty"` // 0: -conns
	MinIdle       *int   `json:"min_idle,omitempty"`
	IdleTimeoutNS *int64 `json:"idle_timeout_ns,omitempty"` // 0: never
	MaxLifetimeNS *int64 `json:"max_lifetime_ns,omitempty"` // 0: never
	ProbeAfter    string `json:"probe_after,omitempty"`     // a duration, "off", or "default" (the pool's)
}

type latencySummary struct {
	P50 int64 `json:"p50"`
	P90 int64 `json:"p90"`
	P99 int64 `json:"p99"`
	Max int64 `json:"max"`
}

type kindCounts struct {
	Timeout uint64 `json:"timeout"`
	Reset   uint64 `json:"reset"`
	EOF     uint64 `json:"eof"`
	Refused uint64 `json:"refused"`
	Other   uint64 `json:"other"`
}

type kindSamples struct {
	Timeout string `json:"timeout,omitempty"`
	Reset   string `json:"reset,omitempty"`
	EOF     string `json:"eof,omitempty"`
	Refused string `json:"refused,omitempty"`
	Other   string `json:"other,omitempty"`
}

// poolSummary is the ConnPool's connpool.Stats after the run, the pool
// closed and drained.
type poolSummary struct {
	Dials        uint64        `json:"dials"`
	DialErrors   uint64        `json:"dial_errors"`
	Gets         uint64        `json:"gets"`
	GetsFromIdle uint64        `json:"gets_from_idle"`
	GetsWaited   uint64        `json:"gets_waited"`
	GetsDialed   uint64        `json:"gets_dialed"` // of GetsWaited, served by a new connection
	GetsCanceled uint64        `json:"gets_canceled"`
	GetsFailed   uint64        `json:"gets_failed"`
	WaitTimeNS   int64         `json:"wait_time_ns"` // total, of every Get that waited
	Open         int           `json:"open"`         // 0 once drained
	Closed       closedSummary `json:"closed"`
}

type closedSummary struct {
	Total       uint64 `json:"total"`
	Unusable    uint64 `json:"unusable"`
	Stale       uint64 `json:"stale"`
	IdleTimeout uint64 `json:"idle_timeout"`
	MaxLifetime uint64 `json:"max_lifetime"`
	MaxIdle     uint64 `json:"max_idle"`
	HealthCheck uint64 `json:"health_check"`
	PoolClosed  uint64 `json:"pool_closed"`
}

// tcpPoolSummary is the TCPPool's connpool.TCPPoolStats after the run.
type tcpPoolSummary struct {
	Writes       uint64 `json:"writes"`
	Bytes        uint64 `json:"bytes"`
	FailedWrites uint64 `json:"failed_writes"`
	Retries      uint64 `json:"retries"`
	Reconnects   uint64 `json:"reconnects"`
	DialErrors   uint64 `json:"dial_errors"`
	Size         int    `json:"size"`
}

type serverSummary struct {
	Accepted uint64 `json:"accepted"`
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
	Torn     uint64 `json:"torn"` // connections that ended part way through a message
}

// delivery compares what the writers were told was sent with what the
// embedded server received. Without chaos nothing is lost.
type delivery struct {
	AckedMessages     uint64 `json:"acknowledged_messages"` // successful Writes
	AckedBytes        uint64 `json:"acknowledged_bytes"`
	PartialBytes      uint64 `json:"partial_bytes"` // sent by Writes that failed part way
	DeliveredMessages uint64 `json:"delivered_messages"`
	DeliveredBytes    uint64 `json:"delivered_bytes"`
	// Acknowledged but not delivered; negative if more arrived than was
	// acknowledged.
	LostMessages int64 `json:"lost_messages"`
	LostBytes    int64 `json:"lost_bytes"` // of acknowledged and partial bytes
}

type chaosSummary struct {
	EveryNS  int64  `json:"every_ns"`
	OutageNS int64  `json:"outage_ns"`
	Resets   uint64 `json:"resets"`
	Closes   uint64 `json:"closes"`
	Restarts uint64 `json:"restarts"`
}

func newSummary(cfg config, addr string, elapsed time.Duration, interrupted bool, t *tally) *summary {
	s := &summary{
		Mode:           cfg.mode,
		Addr:           addr,
		EmbeddedServer: cfg.addr == "",
		Settings: settings{
			Clients:       cfg.clients,
			Conns:         cfg.conns,
			Size:          cfg.size,
			DurationNS:    int64(cfg.duration),
			TimeoutNS:     int64(cfg.timeout),
			ErrorPauseNS:  int64(cfg.errorPause),
			DialTimeoutNS: int64(cfg.dialTimeout),
		},
		Interrupted: interrupted,
		ElapsedNS:   int64(elapsed),
		Requests:    t.ok + t.failed,
		OK:          t.ok,
		Errors:      t.failed,
		PerSecond:   float64(t.ok+t.failed) / elapsed.Seconds(),
		Latency: latencySummary{
			P50: int64(t.lat.quantile(0.50)),
			P90: int64(t.lat.quantile(0.90)),
			P99: int64(t.lat.quantile(0.99)),
			Max: int64(t.lat.max),
		},
		ErrorsByKind: kindCounts{
			Timeout: t.kinds[kindTimeout],
			Reset:   t.kinds[kindReset],
			EOF:     t.kinds[kindEOF],
			Refused: t.kinds[kindRefused],
			Other:   t.kinds[kindOther],
		},
	}
	if t.failed > 0 {
		s.ErrorSamples = &kindSamples{
			Timeout: t.samples[kindTimeout],
			Reset:   t.samples[kindReset],
			EOF:     t.samples[kindEOF],
			Refused: t.samples[kindRefused],
			Other:   t.samples[kindOther],
		}
	}
	if cfg.mode == modeEcho {
		s.Settings.MaxIdle = &cfg.maxIdle
		s.Settings.MinIdle = &cfg.minIdle
		s.Settings.IdleTimeoutNS = ptr(int64(cfg.idleTimeout))
		s.Settings.MaxLifetimeNS = ptr(int64(cfg.maxLifetime))
		s.Settings.ProbeAfter = probeFlag{&cfg.probeAfter}.String()
	}
	if cfg.mode == modeWrite && s.EmbeddedServer {
		s.Delivery = &delivery{
			AckedMessages: t.ok,
			AckedBytes:    t.ok * uint64(cfg.size),
			PartialBytes:  t.partial,
		}
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// addServer adds what the embedded server counted, once it has stopped.
func (s *summary) addServer(srv *server, cfg config) {
	st := &srv.stats
	s.Server = &serverSummary{
		Accepted: st.accepted.Load(),
		Messages: st.messages.Load(),
		Bytes:    st.bytes.Load(),
		Torn:     st.torn.Load(),
	}
	if d := s.Delivery; d != nil {
		d.DeliveredMessages = s.Server.Messages
		d.DeliveredBytes = s.Server.Bytes
		d.LostMessages = int64(d.AckedMessages) - int64(d.DeliveredMessages)
		d.LostBytes = int64(d.AckedBytes+d.PartialBytes) - int64(d.DeliveredBytes)
	}
	if cfg.chaos {
		s.Chaos = &chaosSummary{
			EveryNS:  int64(cfg.chaosEvery),
			OutageNS: int64(cfg.chaosOutage),
			Resets:   st.resets.Load(),
			Closes:   st.closes.Load(),
			Restarts: st.restarts.Load(),
		}
	}
}

func (s *summary) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// writeText writes s for a person: one topic a line, labels in a column.
func (s *summary) writeText(w io.Writer) error {
	var b strings.Builder
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%-9s %s\n", label, fmt.Sprintf(format, args...))
	}
	server := "server " + s.Addr
	if s.EmbeddedServer {
		server = "embedded server " + s.Addr
	}
	fmt.Fprintf(&b, "connload: %s mode, %s on %s, %d-byte messages, %s\n",
		s.Mode, count(uint64(s.Settings.Clients), "client", "clients"),
		count(uint64(s.Settings.Conns), "conn", "conns"), s.Settings.Size, server)

	noun, of := "requests", "successful requests, from Get to reply"
	if s.Mode == modeWrite {
		noun, of = "writes", "successful Writes"
	}
	elapsed := fmt.Sprintf("%.2fs", time.Duration(s.ElapsedNS).Seconds())
	if s.Interrupted {
		elapsed += " (interrupted)"
	}
	line(noun, "%s in %s: %s/s (%s ok, %s failed)", commas(s.Requests), elapsed,
		commas(uint64(s.PerSecond)), commas(s.OK), commas(s.Errors))
	l := s.Latency
	line("latency", "p50 %s  p90 %s  p99 %s  max %s  (%s)", showDuration(time.Duration(l.P50)),
		showDuration(time.Duration(l.P90)), showDuration(time.Duration(l.P99)), showDuration(time.Duration(l.Max)), of)
	k := s.ErrorsByKind
	line("errors", "%s timeout, %s reset, %s EOF, %s refused, %s other",
		commas(k.Timeout), commas(k.Reset), commas(k.EOF), commas(k.Refused), commas(k.Other))
	if e := s.ErrorSamples; e != nil {
		for _, sample := range []struct{ kind, msg string }{
			{"timeout", e.Timeout}, {"reset", e.Reset}, {"EOF", e.EOF}, {"refused", e.Refused}, {"other", e.Other},
		} {
			if sample.msg != "" {
				line("", "  %s, e.g.: %s", sample.kind, sample.msg)
			}
		}
	}

	if p := s.Pool; p != nil {
		c := p.Closed
		var reasons []string
		for _, r := range []struct {
			n    uint64
			name string
		}{
			{c.Unusable, "unusable"}, {c.Stale, "stale"}, {c.IdleTimeout, "idle timeout"},
			{c.MaxLifetime, "max lifetime"}, {c.MaxIdle, "over max idle"},
			{c.HealthCheck, "health check"}, {c.PoolClosed, "pool closed"},
		} {
			if r.n > 0 {
				reasons = append(reasons, commas(r.n)+" "+r.name)
			}
		}
		closed := "closed " + commas(c.Total)
		if len(reasons) > 0 {
			closed += ": " + strings.Join(reasons, ", ")
		}
		line("pool", "%s (%s failed), %s", count(p.Dials, "dial", "dials"), commas(p.DialErrors), closed)
		line("", "%s: %s from idle, %s waited (%s for a new conn), %s failed, %s canceled",
			count(p.Gets, "get", "gets"), commas(p.GetsFromIdle), commas(p.GetsWaited),
			commas(p.GetsDialed), commas(p.GetsFailed), commas(p.GetsCanceled))
		wait, mean := time.Duration(p.WaitTimeNS), time.Duration(0)
		if p.Gets > 0 {
			mean = wait / time.Duration(p.Gets)
		}
		line("", "%s waiting for a conn per get on average, %s in all", showDuration(mean), showDuration(wait))
	}
	if p := s.TCPPool; p != nil {
		line("tcppool", "%s: %s, %s, %s, %s written",
			count(uint64(p.Size), "conn", "conns"), count(p.Reconnects, "reconnect", "reconnects"),
			count(p.DialErrors, "dial error", "dial errors"), count(p.Retries, "retry", "retries"), showBytes(p.Bytes))
	}
	if d := s.Delivery; d != nil {
		line("delivery", "%s acknowledged (%s), %s delivered (%s), %s lost",
			count(d.AckedMessages, "message", "messages"), showBytes(d.AckedBytes), commas(d.DeliveredMessages),
			showBytes(d.DeliveredBytes), signed(d.LostMessages))
	}
	if v := s.Server; v != nil {
		line("server", "%s accepted, %s (%s), %s torn",
			count(v.Accepted, "connection", "connections"), count(v.Messages, "message", "messages"),
			showBytes(v.Bytes), commas(v.Torn))
	}
	if c := s.Chaos; c != nil {
		line("chaos", "%s, %s, %s with a %s outage (an event every %s or so)",
			count(c.Resets, "reset", "resets"), count(c.Closes, "clean close", "clean closes"),
			count(c.Restarts, "restart", "restarts"),
			showDuration(time.Duration(c.OutageNS)), showDuration(time.Duration(c.EveryNS)))
	}
	_, err := io.WriteString(w, b.String())
	return err
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
