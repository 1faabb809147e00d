// Command connload puts a server under load through a connpool pool and
// reports what happened: throughput, latency, errors and the pool's own
// statistics, by the names of connpool's metrics. With no flags it starts
// an embedded line-echo server on 127.0.0.1, so it needs nothing installed:
//
//	go run ./cmd/connload                      # 64 clients, 8 conns, 3s, embedded echo server
//	go run ./cmd/connload -rate 20000/s        # an open loop: 20,000 requests a second, on schedule
//	go run ./cmd/connload -n 100000 -warmup 1s # 100,000 requests, after a warm-up left out
//	go run ./cmd/connload -interval 1s         # a line of figures every second
//	go run ./cmd/connload -hdr latency.hdr     # the latency distribution, for an HdrHistogram plotter
//	go run ./cmd/connload -compare conns=16    # 8 connections, then 16, side by side
//	go run ./cmd/connload -chaos               # the server resets, closes and restarts now and then
//	go run ./cmd/connload -mode write          # write-only through a TCPPool, delivery checked
//	go run ./cmd/connload -addr host:port      # your own line-echo server
//	go run ./cmd/connload -json                # the summary as JSON
//	go run ./cmd/connload -h                   # every flag and its default
//
// # Modes
//
// In echo mode (the default) each client takes a connection from a
// [connpool.ConnPool], writes a message of -size bytes ending in a newline,
// reads the reply up to its newline, checks that it is the message, and
// gives the connection back; after an error it marks the connection
// unusable, so the pool closes it. The whole request, the wait for a
// connection included, is bounded by -timeout: a request that gets no
// connection in time fails as a "get timeout", one whose reply does not
// come in time as a "timeout". The -max-idle, -min-idle, -idle-timeout,
// -max-lifetime, -probe-after and -dial-timeout flags set the pool's
// Config.
//
// In write mode each client writes messages to one [connpool.TCPPool], as a
// log shipper would, and nothing is read; latency is the time a Write
// takes. The embedded server then only reads and counts, so the summary can
// compare the messages the writers were told were sent with those that
// arrived, and tell of those lost how many were written after the server
// began to close their connection: a Write returns once the local kernel
// has the bytes, and TCP cannot tell a sender which of them a closing
// server read.
//
// # Closed and open loop
//
// By default each client sends its next request when its last one is
// done: a closed loop, which measures throughput, but which sends fewer
// requests when the server stalls, so that its latency hides the stall
// (coordinated omission). With -rate the schedule is open: requests come
// due at a constant rate whether or not the server keeps up, -clients of
// them at most in flight, and a request that comes due while every client
// is busy counts its latency from when it was due, as wrk2 and vegeta
// count it. The summary says how many came due, how many were sent late
// (a millisecond or more after they were due) and how many never were.
//
// -n sends so many requests instead of running for -duration. -warmup
// loads the server first for so long, then lets the requests in flight
// finish before the measurement starts: nothing of the warm-up is in the
// figures, the pool's counters included (the embedded server's counts,
// and write mode's delivery, count it).
//
// # Output
//
// Progress goes to stderr every -progress: on a terminal one line
// rewritten in place, cut to the terminal's width, elsewhere one line per
// report (-progress 0 turns it off). With -interval, a record of the
// requests, errors by kind, latency percentiles and the pool's gauges and
// counters goes to stdout every interval: a row of a table, or with -json
// one JSON object a line, the records adding up to the summary. The
// summary goes to stdout when the run ends: latency split into the wait
// for a connection and the exchange on it (mean, p50, p90, p99, p99.9 and
// max, or n/a when nothing succeeded), errors by kind with an example of
// each, the schedule with -rate, and the pool's counters, each explained
// and named as connpool's metrics exporters name it (connpool_gets_total
// and so on); with -json, one JSON object whose pool fields carry those
// names. -hdr writes the latency distribution in HdrHistogram's percentile
// text format, which the HdrHistogram plotters read.
//
// -compare runs the load twice against the same server, with a setting
// changed, and prints the two side by side with their ratios. Its value is
// name=value settings of the second run, the first being the other flags as
// given, or the settings of both runs separated by "vs":
//
//	connload -compare conns=16
//	connload -compare 'probe-after=0 vs probe-after=off'
//
// # Chaos
//
// With -chaos the embedded server misbehaves about every -chaos-every: it
// resets a connection (as a crash or a middlebox does), closes one cleanly
// between two messages (as a server that limits connection age does), or,
// one time in ten, closes its listener and every connection and listens
// again on the same port -chaos-outage later. The summary then shows the
// pool at work: dials and dial errors, connections closed as unusable or
// found stale by the probe, and the errors clients saw. A connection closed
// while idle in the pool is caught by the probe before reuse only if it
// has been idle for -probe-after; try -probe-after 0 with fewer clients
// than connections to watch it.
//
// # Ctrl-C
//
// The first Ctrl-C says "stopping" at once, sends no more requests and
// waits, up to -timeout, for those in flight; a second one abandons them
// and prints the summary so far at once.
//
// # Exit status
//
// 0 after a run with at least one successful request; 1 if the load could
// not start (the server cannot be reached, say) or no request succeeded; 2
// for bad flags; 130 if interrupted, after printing the summary so far.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
)

func main() {
	// The first Ctrl-C stops the run: no new requests, and those in flight
	// finish (within -timeout). The second abandons those, and the summary
	// so far is printed at once. After that, a third kills the process as
	// usual, should anything still hang.
	ctx, stop := context.WithCancel(context.Background())
	quit, abandon := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	go func() {
		<-sigs
		stop()
		<-sigs
		abandon()
		signal.Stop(sigs)
	}()
	os.Exit(run(ctx, quit, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses of run.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130 // as a shell reports a command ended by SIGINT
)

// run is the command: it parses args, runs the load until it is done or
// ctx ends, writes the summary to stdout and progress and errors to
// stderr, and returns the exit status. When quit ends too, it abandons the
// requests in flight rather than wait for them. Every goroutine it starts
// has ended when it returns.
func run(ctx, quit context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errReported):
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "connload: %v\nRun connload -h for the flags.\n", err)
		return exitUsage
	}

	sides := []side{{cfg: cfg}}
	if cfg.compare != nil {
		sides = cfg.compare.sides[:]
	}
	// The -hdr files are created before the load, so that a path that
	// cannot be written fails at once rather than after the run.
	var hdrFiles []*os.File
	defer func() {
		for _, f := range hdrFiles {
			f.Close()
		}
	}()
	if cfg.hdr != "" {
		for i := range sides {
			f, err := os.Create(hdrName(cfg.hdr, i, len(sides)))
			if err != nil {
				fmt.Fprintf(stderr, "connload: -hdr: %v\n", err)
				return exitFailed
			}
			hdrFiles = append(hdrFiles, f)
		}
	}

	addr := cfg.addr
	var srv *server
	if addr == "" {
		if srv, err = startServer(cfg.mode == modeWrite); err != nil {
			fmt.Fprintf(stderr, "connload: starting the embedded server: %v\n", err)
			return exitFailed
		}
		defer srv.shutdown(0)
		addr = srv.addr
	}

	scr := newScreen(stdout, stderr)
	var sums []*summary
	for i, sd := range sides {
		if i > 0 && ctx.Err() != nil {
			break // Ctrl-C during the first run: the second is not started
		}
		if i > 0 && srv != nil && !srv.up() {
			fmt.Fprintf(stderr, "connload: the embedded server cannot listen on %s again for the second run\n", srv.addr)
			return exitFailed
		}
		s, err := runOne(ctx, quit, sd.cfg, sd.label, addr, srv, scr)
		if s == nil {
			fmt.Fprintf(stderr, "connload: %v\n", err)
			switch {
			case isConfigError(err):
				return exitUsage
			case ctx.Err() != nil:
				return exitInterrupted
			}
			return exitFailed
		}
		if err != nil {
			fmt.Fprintf(stderr, "connload: %v\n", err)
			return exitFailed
		}
		if hdrFiles != nil {
			f := hdrFiles[i]
			if err := writeHDR(f, s.hist); err != nil {
				fmt.Fprintf(stderr, "connload: -hdr: %v\n", err)
				return exitFailed
			}
			s.HDRFile = f.Name()
		}
		sums = append(sums, s)
	}

	if err := writeOutput(stdout, cfg, sums); err != nil {
		fmt.Fprintf(stderr, "connload: writing the summary: %v\n", err)
		return exitFailed
	}
	for _, s := range sums {
		if s.Interrupted {
			return exitInterrupted
		}
	}
	for _, s := range sums {
		if s.OK == 0 {
			fmt.Fprintln(stderr, "connload: no request succeeded")
			return exitFailed
		}
	}
	return exitOK
}

// writeOutput writes the summary, or with -compare both runs side by side
// (or the first alone, if Ctrl-C stopped the run before the second).
func writeOutput(w io.Writer, cfg config, sums []*summary) error {
	compact := cfg.interval > 0 // a stream of JSON lines
	if len(sums) == 2 {
		c := newComparisonReport(sums[0], sums[1])
		if cfg.json {
			return writeJSON(w, c, compact)
		}
		return c.writeText(w, textWidth(w))
	}
	if cfg.json {
		return writeJSON(w, sums[0], compact)
	}
	return sums[0].writeText(w, textWidth(w))
}

// hdrName returns the -hdr file of run i of n: name itself for one run,
// and for the two of -compare name with -a and -b before its extension.
func hdrName(name string, i, n int) string {
	if n == 1 {
		return name
	}
	ext := filepath.Ext(name)
	return strings.TrimSuffix(name, ext) + "-" + string(rune('a'+i)) + ext
}
