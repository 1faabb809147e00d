package connpool

import (
	"math/rand/v2"
	"time"
)

// backoff computes delays between attempts that keep failing: exponential
// from base, capped at max, with full jitter (a uniform draw from zero to the
// exponential step), so that many clients whose server went away do not
// come back at the same instant.
//
// The zero value is not useful; set base and max. A backoff is not safe for
// concurrent use.
type backoff struct {
	base, max time.Duration
	attempt   int
}

// next returns the delay before the next attempt and counts one more.
func (b *backoff) next() time.Duration {
	step := b.step()
	b.attempt++
	if step <= 0 {
		return 0
	}
	return rand.N(step) + 1
}

// step returns the current exponential step: base doubled once per attempt so
// far, capped at max.
func (b *backoff) step() time.Duration {
	step := b.base
	for i := 0; i < b.attempt && step < b.max; i++ {
		step *= 2
	}
	return min(step, b.max)
}

// reset starts over after a success.
func (b *backoff) reset() { b.attempt = 0 }
