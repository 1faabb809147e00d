// Command connload puts a server under load through a connpool pool and
// reports what happened: throughput, latency, errors and the pool's own
// statistics. With no flags it starts an embedded line-echo server on
// 127.0.0.1, so it needs nothing installed:
//
//	go run ./cmd/connload                  # 64 clients, 8 conns, 3s, embedded echo server
//	go run ./cmd/connload -chaos           # the server resets, closes and restarts now and then
//	go run ./cmd/connload -mode write      # write-only through a TCPPool, delivery checked
//	go run ./cmd/connload -addr host:port  # your own line-echo server
//	go run ./cmd/connload -json            # the summary as one JSON object
//	go run ./cmd/connload -h               # every flag and its default
//
// # Modes
//
// In echo mode (the default) each client takes a connection from a
// [connpool.ConnPool], writes a message of -size bytes ending in a newline,
// reads the reply up to its newline, checks that it is the message, and
// gives the connection back; after an error it marks the connection
// unusable, so the pool closes it. Latency runs from Get to the end of the
// reply, so time spent waiting for a connection counts. The -max-idle,
// -min-idle, -idle-timeout, -max-lifetime, -probe-after and -dial-timeout
// flags set the pool's Config.
//
// In write mode each client writes messages to one [connpool.TCPPool], as a
// log shipper would, and nothing is read; latency is the time a Write
// takes. The embedded server then only reads and counts, so the summary can
// compare the messages the writers were told were sent with those that
// arrived.
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
// # Output
//
// Progress goes to stderr every -progress: on a terminal one line rewritten
// in place, elsewhere one line per report (-progress 0 turns it off). The
// summary goes to stdout when the run ends, or when Ctrl-C cuts it short.
// Errors are counted by kind: timeout, reset, EOF, refused and other, with
// the first message of each.
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	// After the first Ctrl-C, a second one kills the process as usual,
	// should the summary take too long.
	context.AfterFunc(ctx, stop)
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
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
// stderr, and returns the exit status. Every goroutine it starts has ended
// when it returns.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
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

	s, err := runLoad(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "connload: %v\n", err)
		if isConfigError(err) {
			return exitUsage
		}
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return exitFailed
	}
	if cfg.json {
		err = s.writeJSON(stdout)
	} else {
		err = s.writeText(stdout)
	}
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "connload: writing the summary: %v\n", err)
		return exitFailed
	case s.Interrupted:
		return exitInterrupted
	case s.OK == 0:
		fmt.Fprintln(stderr, "connload: no request succeeded")
		return exitFailed
	}
	return exitOK
}
