package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
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
)

// echoOnly are the flags that configure the ConnPool, which write mode does
// not use: giving one with -mode write is a mistake worth reporting.
var echoOnly = []string{"max-idle", "min-idle", "idle-timeout", "max-lifetime", "probe-after"}

// usageError is a flag value out of range, or flags that do not go
// together: an error of parseFlags the flag package has not reported.
type usageError string

func (e usageError) Error() string { return string(e) }

// errReported is returned by parseFlags when the flag package has already
// printed the error and the usage text.
var errReported = errors.New("bad flags, already reported")

// parseFlags parses args into a config. It returns flag.ErrHelp for -h,
// errReported for a syntax error the flag package has printed to stderr
// with the usage, and a usageError for a value out of range.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	cfg := config{probeAfter: probeDefault}
	fs := flag.NewFlagSet("connload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader)
		fs.PrintDefaults()
	}

	fs.StringVar(&cfg.addr, "addr", "", "the `host:port` to load: a line-echo server, or any TCP server with -mode write (default: an embedded server on 127.0.0.1)")
	fs.StringVar(&cfg.mode, "mode", modeEcho, "echo: request and reply through a ConnPool; write: write-only through a TCPPool")
	fs.IntVar(&cfg.clients, "clients", 64, "concurrent clients, each sending one message at a time")
	fs.IntVar(&cfg.conns, "conns", 8, "connections: the pool's MaxConns (echo) or Size (write)")
	fs.DurationVar(&cfg.duration, "duration", 3*time.Second, "how long to run")
	fs.IntVar(&cfg.size, "size", 64, "message size in `bytes`, the closing newline included")
	fs.DurationVar(&cfg.timeout, "timeout", time.Second, "deadline of each request (echo); how long Writes in progress at the end may take (write)")
	fs.DurationVar(&cfg.errorPause, "error-pause", 10*time.Millisecond, "how long a client waits after a failed request before the next (0: at once)")

	fs.IntVar(&cfg.maxIdle, "max-idle", 0, "idle connections kept (0: as many as -conns)")
	fs.IntVar(&cfg.minIdle, "min-idle", 0, "idle connections kept ready, dialled in the background")
	fs.DurationVar(&cfg.idleTimeout, "idle-timeout", 0, "close connections idle longer than this (0: never)")
	fs.DurationVar(&cfg.maxLifetime, "max-lifetime", 0, "close connections this long after they were dialled (0: never)")
	fs.Var(probeFlag{&cfg.probeAfter}, "probe-after", "check a connection idle for this `duration` or longer for a closed peer before reuse (0: every one; off: never; default: the pool's)")
	fs.DurationVar(&cfg.dialTimeout, "dial-timeout", 5*time.Second, "bound on each dial")

	fs.BoolVar(&cfg.chaos, "chaos", false, "make the embedded server reset and close connections and restart now and then")
	fs.DurationVar(&cfg.chaosEvery, "chaos-every", 100*time.Millisecond, "mean time between chaos events")
	fs.DurationVar(&cfg.chaosOutage, "chaos-outage", 50*time.Millisecond, "how long the embedded server stays down when chaos restarts it")

	fs.BoolVar(&cfg.json, "json", false, "print the summary as one JSON object")
	fs.DurationVar(&cfg.progress, "progress", 500*time.Millisecond, "interval of the progress report on stderr (0: none)")

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
	return cfg, cfg.validate(set)
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
	case cfg.timeout <= 0:
		return bad("-timeout is %v, want more than 0", cfg.timeout)
	case cfg.dialTimeout <= 0:
		return bad("-dial-timeout is %v, want more than 0", cfg.dialTimeout)
	case cfg.errorPause < 0:
		return bad("-error-pause is %v, want 0 or more", cfg.errorPause)
	case cfg.progress < 0:
		return bad("-progress is %v, want 0 or more", cfg.progress)
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
