package connpool

import (
	"testing"
	"time"
)

// Each wait is at most a quarter of the time failures have been going on, but the
// step is at least base and at most max; a reset starts over.
func TestBackoffGrowsWithTheOutage(t *testing.T) {
	const base, limit = 10 * time.Millisecond, time.Second
	b := backoff{base: base, max: limit}
	now := time.Hour
	start := now
	for range 1000 {
		wait := b.next(now)
		ceiling := min(limit, max(base, (now-start)/4))
		if wait <= 0 || wait > ceiling {
			t.Fatalf("%v into the outage: wait %v, want (0, %v]", now-start, wait, ceiling)
		}
		now += wait
	}
	if now-start < 10*time.Second {
		t.Errorf("1000 attempts took %v: the waits did not grow", now-start)
	}
	if !b.failing() || b.failingFor(now) != now-start {
		t.Errorf("failing %v for %v, want true for %v", b.failing(), b.failingFor(now), now-start)
	}
	b.reset()
	if b.failing() {
		t.Error("failing after reset")
	}
	if wait := b.next(now + time.Hour); wait > base {
		t.Errorf("first wait after a reset %v, want at most %v", wait, base)
	}
}
