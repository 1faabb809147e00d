package main

import (
	"encoding/json"
	"io"
	"time"
)

// summary is what a run measured, after its warm-up. It is printed as
// text, or as JSON with -json; durations in JSON are integer nanoseconds,
// named _ns, and the pool's figures carry the names of connpool's metrics
// exporters.
//
// Its numbers add up: Requests == OK + Errors, Errors is the sum of
// ErrorsByKind, and Sent == Requests + Unfinished, a request being counted
// when it completes. In echo mode without -warmup, with the pool's
// counters taken when the clients have stopped:
//
//	Pool.Gets.total() == Sent
//	Pool.Gets.Canceled == ErrorsByKind.GetTimeout + Unfinished
//	Errors == Pool.Gets.Failed + ErrorsByKind.GetTimeout + Pool.Closed.Unusable
//	Pool.Dials - Pool.DialErrors - Pool.Closed.total() == Pool.Open - Pool.Dialing
//
// since every request makes one Get, a Get ends early only at -timeout or
// the end of the run, and every other failure marks its connection
// unusable. In write mode, OK and Errors are the TCPPool's Writes and
// FailedWrites. The time series (-interval) adds up to the summary: the
// sum of its records' counts is the summary's.
type summary struct {
	Type           string         `json:"type"`            // "summary"
	Label          string         `json:"label,omitempty"` // the setting, in a -compare
	Mode           string         `json:"mode"`
	Addr           string         `json:"addr"`
	EmbeddedServer bool           `json:"embedded_server"`
	Settings       settings       `json:"settings"`
	Interrupted    bool           `json:"interrupted"` // by Ctrl-C
	Abandoned      bool           `json:"abandoned"`   // by a second Ctrl-C: requests in flight were not waited for
	ElapsedNS      int64          `json:"elapsed_ns"`  // of the measurement, the warm-up left out
	Sent           uint64         `json:"sent"`        // requests begun
	Requests       uint64         `json:"requests"`    // completed, successful or not
	OK             uint64         `json:"ok"`
	Errors         uint64         `json:"errors"`
	Unfinished     uint64         `json:"unfinished"`          // cut short by the end of the run, waiting for a connection
	PerSecond      float64        `json:"requests_per_second"` // of Requests
	Latency        latencyBlock   `json:"latency_ns"`          // of OK requests
	ErrorsByKind   kindCounts     `json:"errors_by_kind"`
	ErrorSamples   *kindSamples   `json:"error_samples,omitempty"` // the first error of each kind
	Rate           *rateSummary   `json:"rate,omitempty"`          // with -rate
	Pool           *poolStats     `json:"pool,omitempty"`          // echo mode
	TCPPool        *tcpPoolStats  `json:"tcppool,omitempty"`       // write mode
	Server         *serverSummary `json:"server,omitempty"`        // embedded server
	Delivery       *delivery      `json:"delivery,omitempty"`      // write mode, embedded server
	Chaos          *chaosSummary  `json:"chaos,omitempty"`
	HDRFile        string         `json:"hdr_file,omitempty"` // where -hdr wrote the latency distribution

	// hist is the distribution of Latency.Request, for -hdr.
	hist *latencies
}

type settings struct {
	Clients       int     `json:"clients"`
	Conns         int     `json:"conns"`
	Size          int     `json:"size"`
	DurationNS    int64   `json:"duration_ns,omitempty"` // without -n
	N             uint64  `json:"n,omitempty"`
	Rate          float64 `json:"rate,omitempty"` // requests a second; 0: a closed loop
	WarmupNS      int64   `json:"warmup_ns"`
	TimeoutNS     int64   `json:"timeout_ns"`
	ErrorPauseNS  int64   `json:"error_pause_ns"`
	DialTimeoutNS int64   `json:"dial_timeout_ns"`
	// Of the ConnPool, in echo mode only.
	MaxIdle       *int   `json:"max_idle,omitempty"` // 0: -conns
	MinIdle       *int   `json:"min_idle,omitempty"`
	IdleTimeoutNS *int64 `json:"idle_timeout_ns,omitempty"` // 0: never
	MaxLifetimeNS *int64 `json:"max_lifetime_ns,omitempty"` // 0: never
	ProbeAfter    string `json:"probe_after,omitempty"`     // a duration, "off", or "default" (the pool's)
}

// latencyBlock is the latency of successful requests, and its two parts
// on the pool. A part is null when no request succeeded.
type latencyBlock struct {
	// Request runs from when the request was sent, or with -rate from
	// when it was due if no client was free then, to its end: the reply
	// read, or the Write returned.
	Request *latencyStats `json:"request"`
	// Get is the wait for a connection (echo mode).
	Get *latencyStats `json:"get"`
	// Exchange is the time on the connection: the message written and
	// its reply read, or the Write (write mode).
	Exchange *latencyStats `json:"exchange"`
}

type latencyStats struct {
	Count uint64 `json:"count"`
	Mean  int64  `json:"mean"`
	P50   int64  `json:"p50"`
	P90   int64  `json:"p90"`
	P99   int64  `json:"p99"`
	P999  int64  `json:"p99_9"`
	Max   int64  `json:"max"`
}

// statsOf returns the figures of l, or nil if it is empty.
func statsOf(l *latencies) *latencyStats {
	if l.n == 0 {
		return nil
	}
	return &latencyStats{
		Count: l.n,
		Mean:  int64(l.mean()),
		P50:   int64(l.quantile(0.50)),
		P90:   int64(l.quantile(0.90)),
		P99:   int64(l.quantile(0.99)),
		P999:  int64(l.quantile(0.999)),
		Max:   int64(l.max),
	}
}

func latencyBlockOf(t *tally, mode string) latencyBlock {
	b := latencyBlock{Request: statsOf(&t.total), Exchange: statsOf(&t.exchange)}
	if mode == modeEcho {
		b.Get = statsOf(&t.get)
	}
	return b
}

type kindCounts struct {
	Timeout    uint64 `json:"timeout"`
	GetTimeout uint64 `json:"get_timeout"`
	Reset      uint64 `json:"reset"`
	EOF        uint64 `json:"eof"`
	Refused    uint64 `json:"refused"`
	Other      uint64 `json:"other"`
}

func kindCountsOf(k *[numKinds]uint64) kindCounts {
	return kindCounts{
		Timeout:    k[kindTimeout],
		GetTimeout: k[kindGetTimeout],
		Reset:      k[kindReset],
		EOF:        k[kindEOF],
		Refused:    k[kindRefused],
		Other:      k[kindOther],
	}
}

type kindSamples struct {
	Timeout    string `json:"timeout,omitempty"`
	GetTimeout string `json:"get_timeout,omitempty"`
	Reset      string `json:"reset,omitempty"`
	EOF        string `json:"eof,omitempty"`
	Refused    string `json:"refused,omitempty"`
	Other      string `json:"other,omitempty"`
}

// rateSummary is how the schedule of -rate was kept: of the requests that
// came due, those sent on time, late (every client was busy when they came
// due), and never (still waiting for a client when the run ended).
type rateSummary struct {
	PerSecond float64 `json:"per_second"`
	Due       uint64  `json:"due"`
	Sent      uint64  `json:"sent"`
	Late      uint64  `json:"late"`   // of sent
	Unsent    uint64  `json:"unsent"` // due - sent
}

type serverSummary struct {
	Accepted uint64 `json:"accepted"`
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
	Torn     uint64 `json:"torn"` // connections that ended part way through a message
}

// delivery compares what the writers were told was sent with what the
// embedded server received, the warm-up's messages included. Without
// chaos nothing is lost.
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
	// Of the lost, those written after the server began to close their
	// connection; the rest were in the server's receive buffer when it
	// closed.
	LostAfterClose uint64 `json:"lost_after_close"`
}

type chaosSummary struct {
	EveryNS  int64  `json:"every_ns"`
	OutageNS int64  `json:"outage_ns"`
	Resets   uint64 `json:"resets"`
	Closes   uint64 `json:"closes"`
	Restarts uint64 `json:"restarts"`
}

// outcome is what runOne hands newSummary besides the config.
type outcome struct {
	label       string
	addr        string
	elapsed     time.Duration
	interrupted bool
	abandoned   bool
	t           *tally       // of the measurement
	warm        *tally       // of the warm-up; nil without
	due         uint64       // requests the schedule made due (with -rate)
	stats       stats        // of the pool, counted from the measurement's start
	server      *serverCount // of the embedded server over the run, warm-up included
	book        *ledger      // write mode, embedded server
}

func newSummary(cfg config, o outcome) *summary {
	t := o.t
	s := &summary{
		Type:           "summary",
		Label:          o.label,
		Mode:           cfg.mode,
		Addr:           o.addr,
		EmbeddedServer: cfg.addr == "",
		Settings: settings{
			Clients:       cfg.clients,
			Conns:         cfg.conns,
			Size:          cfg.size,
			N:             cfg.n,
			Rate:          cfg.rate,
			WarmupNS:      int64(cfg.warmup),
			TimeoutNS:     int64(cfg.timeout),
			ErrorPauseNS:  int64(cfg.errorPause),
			DialTimeoutNS: int64(cfg.dialTimeout),
		},
		Interrupted:  o.interrupted,
		Abandoned:    o.abandoned,
		ElapsedNS:    int64(o.elapsed),
		Sent:         t.sent,
		Requests:     t.requests(),
		OK:           t.ok,
		Errors:       t.failed,
		Unfinished:   t.unfinished,
		Latency:      latencyBlockOf(t, cfg.mode),
		ErrorsByKind: kindCountsOf(&t.kinds),
		Pool:         o.stats.pool,
		TCPPool:      o.stats.tcpPool,
		hist:         &t.total,
	}
	if o.elapsed > 0 {
		s.PerSecond = float64(s.Requests) / o.elapsed.Seconds()
	}
	if cfg.n == 0 {
		s.Settings.DurationNS = int64(cfg.duration)
	}
	if t.failed > 0 {
		s.ErrorSamples = &kindSamples{
			Timeout:    t.samples[kindTimeout],
			GetTimeout: t.samples[kindGetTimeout],
			Reset:      t.samples[kindReset],
			EOF:        t.samples[kindEOF],
			Refused:    t.samples[kindRefused],
			Other:      t.samples[kindOther],
		}
	}
	if cfg.rate > 0 {
		s.Rate = &rateSummary{PerSecond: cfg.rate, Due: o.due, Sent: t.sent, Late: t.late}
		if o.due > t.sent {
			s.Rate.Unsent = o.due - t.sent
		}
	}
	if cfg.mode == modeEcho {
		s.Settings.MaxIdle = &cfg.maxIdle
		s.Settings.MinIdle = &cfg.minIdle
		s.Settings.IdleTimeoutNS = ptr(int64(cfg.idleTimeout))
		s.Settings.MaxLifetimeNS = ptr(int64(cfg.maxLifetime))
		s.Settings.ProbeAfter = probeFlag{&cfg.probeAfter}.String()
	}
	if v := o.server; v != nil {
		s.Server = &serverSummary{Accepted: v.accepted, Messages: v.messages, Bytes: v.bytes, Torn: v.torn}
		if cfg.chaos {
			s.Chaos = &chaosSummary{
				EveryNS:  int64(cfg.chaosEvery),
				OutageNS: int64(cfg.chaosOutage),
				Resets:   v.resets,
				Closes:   v.closes,
				Restarts: v.restarts,
			}
		}
		if cfg.mode == modeWrite {
			ok, partial := t.ok, t.partial
			if w := o.warm; w != nil {
				ok, partial = ok+w.ok, partial+w.partial
			}
			d := &delivery{
				AckedMessages:     ok,
				AckedBytes:        ok * uint64(cfg.size),
				PartialBytes:      partial,
				DeliveredMessages: v.messages,
				DeliveredBytes:    v.bytes,
			}
			d.LostMessages = int64(d.AckedMessages) - int64(d.DeliveredMessages)
			d.LostBytes = int64(d.AckedBytes+d.PartialBytes) - int64(d.DeliveredBytes)
			if o.book != nil && d.LostMessages > 0 {
				d.LostAfterClose = min(o.book.lostAfterClose(), uint64(d.LostMessages))
			}
			s.Delivery = d
		}
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// writeJSON writes s as one JSON object; indented unless compact, for a
// stream of one object a line.
func writeJSON(w io.Writer, v any, compact bool) error {
	enc := json.NewEncoder(w)
	if !compact {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}
