package main

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// clock is the time a run is scheduled and measured by: the wall clock, or
// a fake one in tests, so that the schedule is tested without sleeping.
type clock interface {
	now() time.Time
	// sleepUntil waits until t, or until ctx ends, and reports whether t
	// came first.
	sleepUntil(ctx context.Context, t time.Time) bool
}

// wallClock is the clock of a real run.
type wallClock struct{}

func (wallClock) now() time.Time { return time.Now() }

func (wallClock) sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// schedule hands out the requests of one phase of a run to the clients.
//
// In a closed loop (rate 0) a request is due when a client is free to send
// it, so its latency runs from when it is sent. With a rate the schedule is
// open: request number i is due at start + i/rate whether or not a client
// is free. A client that finishes a request takes the next one due; if
// that one is already due, no client was free when it came due, and its
// latency runs from when it was due, its wait for a client included (as
// wrk2 and vegeta count it), rather than left out as a closed loop leaves
// it out when the server stalls (coordinated omission). A request a free
// client waited for runs from when the client woke up to send it: a
// timer's wake-up can be late by up to a millisecond, and that is the
// tool's delay, not the server's.
//
// A request is counted late only if sent lateAfter or more after it was
// due, so that the moment a client takes to come back from one request to
// the next, or to be scheduled, is not taken for a backlog; its latency
// counts the wait all the same.
//
// A schedule ends at end (if set) or after limit requests (if set),
// whichever comes first; requests due by the end but not sent by then are
// the backlog the summary reports as never sent.
//
// Its methods are safe for concurrent use.
type schedule struct {
	clock clock
	start time.Time
	end   time.Time // zero: no end but limit (or the run's context)
	limit uint64    // 0: no limit
	rate  float64   // requests per second; 0: a closed loop

	next atomic.Uint64 // requests handed out
}

// take waits until the next request is due and returns the time its
// latency runs from, and whether it is sent late (see lateAfter). It
// returns ok false when the schedule has no more requests or ctx ends
// first.
func (s *schedule) take(ctx context.Context) (from time.Time, late, ok bool) {
	now := s.clock.now()
	if ctx.Err() != nil || !s.end.IsZero() && !now.Before(s.end) {
		return time.Time{}, false, false
	}
	i := s.next.Add(1) - 1
	if s.limit > 0 && i >= s.limit {
		return time.Time{}, false, false
	}
	if s.rate == 0 {
		return now, false, true
	}
	due := s.start.Add(s.offset(i))
	if !s.end.IsZero() && !due.Before(s.end) {
		return time.Time{}, false, false
	}
	if due.After(now) {
		if !s.clock.sleepUntil(ctx, due) {
			return time.Time{}, false, false
		}
		return s.clock.now(), false, true
	}
	return due, now.Sub(due) >= lateAfter, true
}

// lateAfter is how long after it was due a request counts as sent late.
const lateAfter = time.Millisecond

// offset returns how long after the start request i is due; one due
// later than a Duration holds, at the Duration's end.
func (s *schedule) offset(i uint64) time.Duration {
	d := float64(i) / s.rate * float64(time.Second)
	if d >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(d)
}

// dueBy returns how many requests of an open schedule came due in the
// first d of it, no more than the limit; 0 for a closed loop.
func (s *schedule) dueBy(d time.Duration) uint64 {
	if s.rate == 0 || d <= 0 {
		return 0
	}
	if !s.end.IsZero() {
		d = min(d, s.end.Sub(s.start))
	}
	// Request i is due at i/rate, so those due before d number about
	// d*rate; the count is then set by offset itself, so that it agrees
	// with take however the floating point rounds.
	n := uint64(math.Max(0, math.Floor(d.Seconds()*s.rate)))
	for s.offset(n) < d {
		n++
	}
	for n > 0 && s.offset(n-1) >= d {
		n--
	}
	if s.limit > 0 {
		n = min(n, s.limit)
	}
	return n
}
