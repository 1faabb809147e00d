package connpool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"
)

// ErrNilConn is wrapped by the error of a dial whose function returned
// neither a connection nor an error.
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
// the dial function is an error wrapping ErrNilConn; a connection that
// comes with an error, or after ctx or the timeout ended (from a dial
// function that ignored its context), is closed, so a caller that gets an
// error holds nothing.
func (d *dialer) open(ctx context.Context, addr string) (net.Conn, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	start := d.clock.Now()
	conn, err := d.dial(ctx, d.network, addr)
	took := d.clock.Now() - start
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
// pools: exponential from base, capped at max, with full jitter (a uniform
// draw from zero to the exponential step), so that many clients whose
// server went away do not come back at the same instant. A success resets
// it.
//
// The zero value is not useful; set base and max. A backoff is not safe for
// concurrent use.
type backoff struct {
	base, max time.Duration
	attempt   int // failures in a row so far
}

// next counts one more failure and returns the wait before the next
// attempt: at least 1ns, at most the step.
func (b *backoff) next() time.Duration {
	step := b.base
	for i := 0; i < b.attempt && step < b.max; i++ {
		step *= 2
	}
	step = min(step, b.max)
	b.attempt++
	if step <= 0 {
		return 1
	}
	return rand.N(step) + 1
}

// reset starts over after a success.
func (b *backoff) reset() { b.attempt = 0 }

// failing reports whether the last attempt failed.
func (b *backoff) failing() bool { return b.attempt > 0 }
