package main

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestBucketBounds checks that every value falls in a bucket whose middle
// is within the promised 0.8% of it.
func TestBucketBounds(t *testing.T) {
	check := func(v time.Duration) {
		mid := bucketMid(bucketOf(v))
		if diff := (mid - v).Abs(); float64(diff) > float64(v)/128+1 {
			t.Errorf("value %d: bucket %d, middle %d, off by %d", v, bucketOf(v), mid, diff)
		}
	}
	for v := range time.Duration(1 << 12) {
		check(v)
	}
	for range 100_000 {
		check(time.Duration(rand.Int64N(1 << 37)))
	}
	if got := bucketOf(-time.Second); got != 0 {
		t.Errorf("negative value in bucket %d, want 0", got)
	}
	if got := bucketOf(time.Hour); got != numBuckets-1 {
		t.Errorf("an hour in bucket %d, want the last", got)
	}
}

func TestQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	var l latencies
	l.add(&h)
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0, time.Microsecond},
		{0.5, 500 * time.Microsecond},
		{0.9, 900 * time.Microsecond},
		{0.99, 990 * time.Microsecond},
		{1, 1000 * time.Microsecond},
	} {
		got := l.quantile(tc.q)
		if diff := (got - tc.want).Abs(); diff > tc.want/100 {
			t.Errorf("quantile(%v) = %v, want %v within 1%%", tc.q, got, tc.want)
		}
	}
	if l.max != time.Millisecond || l.n != 1000 {
		t.Errorf("max %v, n %d", l.max, l.n)
	}

	// Since an earlier snapshot: only what came after.
	earlier := l
	for range 10 {
		h.record(5 * time.Millisecond)
	}
	var now latencies
	now.add(&h)
	recent := now.since(&earlier)
	if recent.n != 10 || recent.quantile(0.5) != now.max {
		t.Errorf("since: n %d, median %v, want 10 and %v", recent.n, recent.quantile(0.5), now.max)
	}

	var empty latencies
	if got := empty.quantile(0.99); got != 0 {
		t.Errorf("quantile of nothing = %v", got)
	}
}

func TestFormatting(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		0: "0s", 831490 * time.Nanosecond: "831µs", 1138688: "1.14ms", 42: "42ns", 2*time.Minute + 47*time.Second + 912*time.Millisecond: "2m48s",
	} {
		if got := showDuration(d); got != want {
			t.Errorf("showDuration(%d) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[uint64]string{999: "999 B", 1000: "1.0 kB", 121_800_000: "121.8 MB"} {
		if got := showBytes(n); got != want {
			t.Errorf("showBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
