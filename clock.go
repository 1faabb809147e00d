package connpool

import "time"

// clock is the pool's source of time. Tests replace it so that timeouts,
// lifetimes and backoff can be checked without sleeping.
//
// Readings are durations since the clock's origin, not time.Time values: the
// pool only ever compares and subtracts them, and plain integers keep Get
// and return cheap.
type clock interface {
	// Now returns the time since the clock's origin, more than zero.
	Now() time.Duration
	// TimerAt returns a timer that fires once, when the clock reads at:
	// a deadline, not a wait from whenever the timer is made, so that a
	// goroutine that read the time and lost the processor before making
	// its timer does not wake late.
	TimerAt(at time.Duration) timer
}

// timer is the part of *time.Timer the pool uses.
type timer interface {
	C() <-chan time.Time
	Stop() bool
}

// realClock reads the monotonic clock only: time.Now reads the wall clock as
// well, which doubles its cost, and Get reads the clock on every call.
type realClock struct {
	start time.Time // has a monotonic reading
}

// newRealClock returns a clock whose origin is a moment before now, so its
// readings are never zero.
func newRealClock() realClock { return realClock{start: time.Now().Add(-time.Second)} }

// Now returns the time since c.start: time.Since on a time with a monotonic
// reading reads the monotonic clock alone.
func (c realClock) Now() time.Duration { return time.Since(c.start) }

// TimerAt reads the clock again, so that the wait is from now, not from
// whenever the caller read at's base.
func (c realClock) TimerAt(at time.Duration) timer {
	return realTimer{time.NewTimer(at - c.Now())}
}

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }
