package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// config is what the command line asks for, validated.
type config struct {
	addr       string // "" starts the embedded server
	mode       string // modeEcho or modeWrite
	clients    int
	conns      int
	duration   time.Duration
	n          uint64  // requests to send instead of running for duration; 0: none
	rate       float64 // requests per second, open loop; 0: closed loop
	warmup     time.Duration
	size       int // bytes per message, the closing newline included
	timeout    time.Duration
	errorPause time.Duration

	// Settings of the ConnPool (echo mode).
	maxIdle     int
	minIdle     int
	idleTimeout time.Duration
	maxLifetime time.Duration
	probeAfter  time.Duration // a duration (0: every idle connection), probeOff, or probeDefault
	dialTimeout time.Duration

	chaos       bool
	chaosEvery  time.Duration
	chaosOutage time.Duration

	json     bool
	progress time.Duration
	interval time.Duration // of the time series; 0: none
	hdr      string        // file for the latency distribution; "": none

	compareSpec string      // -compare as given
	compare     *comparison // -compare parsed; nil without
}

const (
	modeEcho  = "echo"
	modeWrite = "write"

	// Values of config.probeAfter besides a duration.
	probeOff     time.Duration = -1            // no probe
	probeDefault time.Duration = math.MinInt64 // the pool's own default

	// maxSize bounds -size: each client holds two messages, and a line
	// echo server buffers a whole line, so a larger message is more likely
	// a typo than a test.
	maxSize = 1 << 20

	// maxClients bounds -clients: each client is a goroutine with two
	// messages, and far more clients than this measure the scheduler
	// rather than the pool.
	maxClients = 100_000

	// maxRate bounds -rate: beyond it the schedule's timers, not the
	// pool, set the pace.
	maxRate = 10_000_000

	// minRate bounds -rate from below: a request every 1000s, far slower
	// than a run has any use for, still fits the schedule's arithmetic.
	minRate = 0.001

	// minInterval bounds -interval: a record is a line of output.
	minInterval = 10 * time.Millisecond
)

// echoOnly are the flags that configure the ConnPool, which write mode does
// not use: giving one with -mode write is a mistake worth reporting.
var echoOnly = []string{"max-idle", "min-idle", "idle-timeout", "max-lifetime", "probe-after"}

// comparable are the flags -compare may set: those of the load and the
// pool, not those that fix the server, the mode or the length of the runs,
// which must be the same on both sides for the figures to compare.
var comparable = []string{
	"clients", "conns", "rate", "size", "timeout", "error-pause",
	"max-idle", "min-idle", "idle-timeout", "max-lifetime", "probe-after", "dial-timeout",
}

// comparison is -compare: the two settings to run one after the other.
type comparison struct {
	sides [2]side
}

// side is one setting of a -compare: the config, and how it is labelled.
type side struct {
	label string // as the user would type it, such as "conns=8"
	cfg   config
}

// usageError is a flag value out of range, or flags that do not go
// together: an error of parseFlags the flag package has not reported.
type usageError string

func (e usageError) Error() string { return string(e) }

// errReported is returned by parseFlags when the flag package has already
// printed the error and the usage text.
var errReported = errors.New("bad flags, already reported")

// newFlagSet defines connload's flags on cfg, setting cfg to the defaults.
func newFlagSet(cfg *config, out io.Writer) *flag.FlagSet {
	*cfg = config{probeAfter: probeDefault}
	fs := flag.NewFlagSet("connload", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), usageFooter)
	}

	fs.StringVar(&cfg.addr, "addr", "", "the `host:port` to load: a line-echo server, or any TCP server with -mode write (default: an embedded server on 127.0.0.1)")
	fs.StringVar(&cfg.mode, "mode", modeEcho, "echo: request and reply through a ConnPool; write: write-only through a TCPPool")
	fs.IntVar(&cfg.clients, "clients", 64, "concurrent clients, each with one request at a time: with -rate, the most requests in flight")
	fs.IntVar(&cfg.conns, "conns", 8, "connections: the pool's MaxConns (echo) or Size (write)")
	fs.DurationVar(&cfg.duration, "duration", 3*time.Second, "how long to run, after the warm-up")
	fs.Uint64Var(&cfg.n, "n", 0, "send this many `requests`, after the warm-up, instead of running for -duration")
	fs.Var((*rateFlag)(&cfg.rate), "rate", "send requests at a fixed rate of `N/s`, each one's latency counted from when it was due if no client was free then (default: off, each client sends when its last request is done)")
	fs.DurationVar(&cfg.warmup, "warmup", 0, "load this long first and leave it out of every figure")
	fs.IntVar(&cfg.size, "size", 64, "message size in `bytes`, the closing newline included")
	fs.DurationVar(&cfg.timeout, "timeout", time.Second, "bound on each request, waiting for a connection included (echo); how long Writes in progress at the end may take (write)")
	fs.DurationVar(&cfg.errorPause, "error-pause", 10*time.Millisecond, "how long a client waits after a failed request before the next (0: at once); not with -rate")

	fs.IntVar(&cfg.maxIdle, "max-idle", 0, "idle connections kept (0: as many as -conns)")
	fs.IntVar(&cfg.minIdle, "min-idle", 0, "idle connections kept ready, dialled in the background")
	fs.DurationVar(&cfg.idleTimeout, "idle-timeout", 0, "close connections idle longer than this (0: never)")
	fs.DurationVar(&cfg.maxLifetime, "max-lifetime", 0, "close connections this long after they were dialled (0: never)")
	fs.Var(probeFlag{&cfg.probeAfter}, "probe-after", "check a connection idle for this `duration` or longer for a closed peer before reuse (0: every one; off: never; default: the pool's)")
	fs.DurationVar(&cfg.dialTimeout, "dial-timeout", 5*time.Second, "bound on each dial")

	fs.BoolVar(&cfg.chaos, "chaos", false, "make the embedded server reset and close connections and restart now and then")
	fs.DurationVar(&cfg.chaosEvery, "chaos-every", 100*time.Millisecond, "mean time between chaos events")
	fs.DurationVar(&cfg.chaosOutage, "chaos-outage", 50*time.Millisecond, "how long the embedded server stays down when chaos restarts it")

	fs.BoolVar(&cfg.json, "json", false, "print the summary as JSON (with -interval, one JSON object a line)")
	fs.DurationVar(&cfg.progress, "progress", 500*time.Millisecond, "interval of the progress line on stderr (0: none)")
	fs.DurationVar(&cfg.interval, "interval", 0, "print a record of requests, errors, latency and the pool every `duration` (0: none)")
	fs.StringVar(&cfg.hdr, "hdr", "", "write the latency distribution to `file` in HdrHistogram's percentile format")
	fs.StringVar(&cfg.compareSpec, "compare", "", "run twice and print the two side by side: `'name=value ...'` sets the second run, 'a=1 vs a=2' both (see below)")
	return fs
}

// parseFlags parses args into a config. It returns flag.ErrHelp for -h,
// errReported for a syntax error the flag package has printed to stderr
// with the usage, and a usageError for a value out of range.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := newFlagSet(&cfg, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, errReported
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if fs.NArg() > 0 {
		return cfg, usageError(fmt.Sprintf("unexpected argument %q: every flag is -name or -name value, before any argument", fs.Arg(0)))
	}
	if err := cfg.validate(set); err != nil {
		return cfg, err
	}
	if set["compare"] {
		c, err := parseCompare(cfg.compareSpec, cfg, set)
		if err != nil {
			return cfg, err
		}
		cfg.compare = c
	}
	return cfg, nil
}

// validate checks the values of cfg; set holds the flags given.
func (cfg *config) validate(set map[string]bool) error {
	bad := func(format string, args ...any) error {
		return usageError(fmt.Sprintf(format, args...))
	}
	switch cfg.mode {
	case modeEcho, modeWrite:
	default:
		return bad("-mode is %q, want echo or write", cfg.mode)
	}
	switch {
	case cfg.clients < 1 || cfg.clients > maxClients:
		return bad("-clients is %d, want 1 to %d", cfg.clients, maxClients)
	case cfg.conns < 1 || cfg.conns > maxConns:
		return bad("-conns is %d, want 1 to %d", cfg.conns, maxConns)
	case cfg.size < 1 || cfg.size > maxSize:
		return bad("-size is %d, want 1 to %d", cfg.size, maxSize)
	case cfg.duration <= 0:
		return bad("-duration is %v, want more than 0", cfg.duration)
	case set["n"] && cfg.n == 0:
		return bad("-n is 0, want 1 or more")
	case set["n"] && set["duration"]:
		return bad("-n and -duration both say when to stop: give one")
	case cfg.rate < 0 || cfg.rate > maxRate || cfg.rate > 0 && cfg.rate < minRate:
		return bad("-rate is %v/s, want %v/s to %d/s, or off", cfg.rate, minRate, maxRate)
	case cfg.rate > 0 && set["error-pause"]:
		return bad("-error-pause paces a closed loop; with -rate the schedule sets the pace")
	case cfg.warmup < 0:
		return bad("-warmup is %v, want 0 or more", cfg.warmup)
	case cfg.timeout <= 0:
		return bad("-timeout is %v, want more than 0", cfg.timeout)
	case cfg.dialTimeout <= 0:
		return bad("-dial-timeout is %v, want more than 0", cfg.dialTimeout)
	case cfg.errorPause < 0:
		return bad("-error-pause is %v, want 0 or more", cfg.errorPause)
	case cfg.progress < 0:
		return bad("-progress is %v, want 0 or more", cfg.progress)
	case cfg.interval < 0 || cfg.interval > 0 && cfg.interval < minInterval:
		return bad("-interval is %v, want 0 (none) or %v or more", cfg.interval, minInterval)
	case set["hdr"] && cfg.hdr == "":
		return bad("-hdr is empty, want a file name")
	case cfg.idleTimeout < 0:
		return bad("-idle-timeout is %v, want 0 or more", cfg.idleTimeout)
	case cfg.maxLifetime < 0:
		return bad("-max-lifetime is %v, want 0 or more", cfg.maxLifetime)
	case cfg.maxIdle < 0 || cfg.maxIdle > cfg.conns:
		return bad("-max-idle is %d, want 0 to -conns (%d)", cfg.maxIdle, cfg.conns)
	}
	maxIdle := cfg.maxIdle
	if maxIdle == 0 {
		maxIdle = cfg.conns
	}
	if cfg.minIdle < 0 || cfg.minIdle > maxIdle {
		return bad("-min-idle is %d, want 0 to -max-idle (%d)", cfg.minIdle, maxIdle)
	}
	if cfg.mode == modeWrite {
		for _, name := range echoOnly {
			if set[name] {
				return bad("-%s sets the ConnPool of echo mode; -mode write uses a TCPPool", name)
			}
		}
	}
	if cfg.chaos {
		if cfg.addr != "" {
			return bad("-chaos needs the embedded server; it cannot be used with -addr")
		}
		if cfg.chaosEvery <= 0 {
			return bad("-chaos-every is %v, want more than 0", cfg.chaosEvery)
		}
		if cfg.chaosOutage < 0 {
			return bad("-chaos-outage is %v, want 0 or more", cfg.chaosOutage)
		}
	} else {
		for _, name := range []string{"chaos-every", "chaos-outage"} {
			if set[name] {
				return bad("-%s needs -chaos", name)
			}
		}
	}
	return nil
}

// parseCompare parses the value of -compare: settings of the second run,
// as "name=value name=value", or of both, as "... vs ...". Each side is
// the other flags with its settings applied, validated as they are.
func parseCompare(spec string, base config, set map[string]bool) (*comparison, error) {
	bad := func(format string, args ...any) error {
		return usageError("-compare: " + fmt.Sprintf(format, args...))
	}
	words := strings.Fields(spec)
	var sides [2][]string
	if i := slices.Index(words, "vs"); i >= 0 {
		sides[0], sides[1] = words[:i], words[i+1:]
		if slices.Contains(sides[1], "vs") {
			return nil, bad(`%q has more than one "vs": it compares two settings`, spec)
		}
		if len(sides[0]) == 0 {
			return nil, bad(`%q has nothing before "vs"`, spec)
		}
	} else {
		sides[1] = words
	}
	if len(sides[1]) == 0 {
		return nil, bad("want settings such as conns=16, or conns=8 vs conns=16")
	}
	var c comparison
	for i, words := range sides {
		cfg, label, err := applySide(base, set, words, sides[1])
		if err != nil {
			return nil, bad("%v", err)
		}
		c.sides[i] = side{label: label, cfg: cfg}
	}
	if c.sides[0].label == c.sides[1].label {
		return nil, bad("both runs would be %s: give a setting that differs", c.sides[0].label)
	}
	return &c, nil
}

// applySide returns base with the settings in words applied, and its
// label: the settings as given, or, for a side given none, the values base
// has for the flags named in other.
func applySide(base config, set map[string]bool, words, other []string) (config, string, error) {
	var cfg config
	fs := newFlagSet(&cfg, io.Discard)
	cfg = base // the flags now set base's fields
	cfg.compareSpec, cfg.compare = "", nil
	given := maps.Clone(set)
	delete(given, "compare")
	var label []string
	for _, w := range words {
		name, value, ok := strings.Cut(strings.TrimLeft(w, "-"), "=")
		if !ok || name == "" {
			return cfg, "", fmt.Errorf("%q: want name=value, such as conns=16", w)
		}
		if !slices.Contains(comparable, name) {
			if fs.Lookup(name) == nil {
				return cfg, "", fmt.Errorf("%q: no such flag", name)
			}
			return cfg, "", fmt.Errorf("-%s cannot differ between the runs; these can: %s", name, strings.Join(comparable, ", "))
		}
		if err := fs.Set(name, value); err != nil {
			return cfg, "", fmt.Errorf("%s=%s: %v", name, value, err)
		}
		given[name] = true
		label = append(label, name+"="+fs.Lookup(name).Value.String())
	}
	if len(words) == 0 {
		for _, w := range other {
			name, _, _ := strings.Cut(strings.TrimLeft(w, "-"), "=")
			if f := fs.Lookup(name); f != nil {
				label = append(label, name+"="+f.Value.String())
			}
		}
	}
	if err := cfg.validate(given); err != nil {
		return cfg, "", err
	}
	return cfg, strings.Join(label, " "), nil
}

// rateFlag is -rate: requests a second, as N or N/s; 0 or off is a closed
// loop.
type rateFlag float64

func (r *rateFlag) String() string {
	if *r == 0 {
		return "off"
	}
	return strconv.FormatFloat(float64(*r), 'f', -1, 64) + "/s"
}

func (r *rateFlag) Set(s string) error {
	if strings.EqualFold(s, "off") {
		*r = 0
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "/s"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return errors.New("want requests a second, such as 1000/s, or off")
	}
	if v < 0 {
		return errors.New("negative; use off for a closed loop")
	}
	*r = rateFlag(v)
	return nil
}

// probeFlag is -probe-after: a duration, "off", or "default". It keeps
// connpool's convention that a negative ProbeAfter turns probing off, but
// spells it "off" so that every negative value on the command line is an
// error. Its zero value reads as "default", so that -h shows no default
// beside the flag's own words.
type probeFlag struct{ d *time.Duration }

func (p probeFlag) String() string {
	if p.d == nil {
		return "default"
	}
	switch *p.d {
	case probeDefault:
		return "default"
	case probeOff:
		return "off"
	}
	return p.d.String()
}

func (p probeFlag) Set(s string) error {
	switch strings.ToLower(s) {
	case "off":
		*p.d = probeOff
		return nil
	case "default":
		*p.d = probeDefault
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 500ms, or off, or default")
	}
	if d < 0 {
		return errors.New("negative; use off to turn checks off")
	}
	*p.d = d
	return nil
}

const usageHeader = `Usage: connload [flags]

connload drives a server through a connpool pool and prints what it
measured. With no flags it starts an embedded line-echo server on
127.0.0.1 and loads it for 3 seconds with 64 clients on 8 connections.

Flags:
`

const usageFooter = `
-compare runs the load twice against the same server, one setting after
the other, and prints the two side by side with their ratios. Its value is
the flags of the second run, as name=value, the first run being the other
flags as given; or both runs' flags, separated by "vs". For example:

  connload -compare conns=16                    # -conns 8 against 16
  connload -compare 'probe-after=0 vs probe-after=off'
  connload -rate 20000/s -compare 'clients=16 conns=4'

The flags a run may change are -clients, -conns, -rate, -size, -timeout,
-error-pause, -max-idle, -min-idle, -idle-timeout, -max-lifetime,
-probe-after and -dial-timeout.
`
