package connpool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/seed-a245f091/connpool/internal/isnil"
)

// ErrNilConn is wrapped by the error of a dial whose function returned
// neither a connection nor an error: a nil net.Conn, or a nil pointer in
// one (a nil *tls.Conn, say).
var ErrNilConn = errors.New("connpool: dial returned a nil connection and a nil error")

// dialer opens connections for both pools: one dial function, one timeout,
// one clock, and one rule for what a dial's result means.
type dialer struct {
	dial    DialFunc
	network string
	timeout time.Duration
	clock   clock
}

// open dials addr, bounded by ctx and the dial timeout, and returns the
// connection or the error and how long the dial took. A (nil, nil) from
// the dial function, or a nil pointer as the connection with no error, is
// an error wrapping ErrNilConn; a connection that comes with an error, or
// after ctx or the timeout ended (from a dial function that ignored its
// context), is closed, so a caller that gets an error holds nothing.
func (d *dialer) open(ctx context.Context, addr string) (net.Conn, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	start := d.clock.Now()
	conn, err := d.dial(ctx, d.network, addr)
	took := d.clock.Now() - start
	// A nil pointer in the interface is no connection either: a factory
	// that returns tls.Dial's results returns a nil *tls.Conn with its
	// error, and closing that would panic.
	if isnil.Value(conn) {
		conn = nil
	}
	switch {
	case err == nil && conn == nil:
		err = ErrNilConn
	case err == nil && ctx.Err() != nil:
		err = fmt.Errorf("connpool: dial returned after its context ended: %w", ctx.Err())
	}
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		return nil, took, err
	}
	return conn, took, nil
}

// backoff computes the waits between attempts that keep failing, for both
// pools: each wait is drawn at random (full jitter) up to a quarter of the
// time the failures have been going on, but up to no less than base and no
// more than max; a success resets it. So the waits grow with the outage,
// and the first attempt after the server returns comes within a quarter of
// the outage, or within base if that is longer: a blip costs a blip, and a
// long outage an attempt per max or so. The attempts an outage of T costs
// grow as the logarithm of T until the waits reach max; a quarter rather
// than a half doubles that small
// number and halves the wait after a short outage (BenchmarkRecovery in
// bench/, a 50ms restart under load: a median of 8–10ms at a half against
// a first step of 10ms, about 4.5ms at a quarter).
// (Doubling the step at every failure instead would put that attempt up to
// twice the outage away, since a run of quick failures doubles it many
// times over.) Full jitter keeps many clients whose server went away from
// coming back at the same instant.
//
// The zero value is not useful; set base and max. A backoff is not safe for
// concurrent use.
type backoff struct {
	base, max time.Duration
	failures  int           // failures in a row so far
	since     time.Duration // when the first of them happened
}

// outageShare is the share of an outage, 1/outageShare, that one wait of a
// backoff may reach.
const outageShare = 4

// next counts one more failure, at now, and returns the wait before the
// next attempt: at least 1ns, at most the step.
func (b *backoff) next(now time.Duration) time.Duration {
	if b.failures == 0 {
		b.since = now
	}
	b.failures++
	step := min(b.max, max(b.base, (now-b.since)/outageShare))
	if step <= 0 {
		return 1
	}
	return rand.N(step) + 1
}

// reset starts over after a success.
func (b *backoff) reset() { b.failures = 0 }

// failing reports whether the last attempt failed.
func (b *backoff) failing() bool { return b.failures > 0 }

// failingFor returns how long the failures have been going on at now.
func (b *backoff) failingFor(now time.Duration) time.Duration {
	if b.failures == 0 {
		return 0
	}
	return now - b.since
}
