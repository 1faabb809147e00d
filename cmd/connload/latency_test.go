package main

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestBucketBounds checks that every value falls in a bucket that holds
// it, whose top, the value reported for it, is within the promised 0.8%.
func TestBucketBounds(t *testing.T) {
	check := func(v time.Duration) {
		i := bucketOf(v)
		lo, _ := bucketRange(i)
		top := bucketTop(i)
		if v < lo || v > top || float64(top-v) > float64(v)/128 {
			t.Errorf("value %d: bucket %d of %d to %d", v, i, lo, top)
		}
	}
	for v := range time.Duration(1 << 12) {
		check(v)
	}
	for range 100_000 {
		check(time.Duration(rand.Int64N(1 << maxBits)))
	}
	// The buckets tile the values: each starts where the last ended.
	for i := 1; i < numBuckets; i++ {
		if lo, _ := bucketRange(i); lo != bucketTop(i-1)+1 {
			t.Fatalf("bucket %d starts at %d, bucket %d ends at %d", i, lo, i-1, bucketTop(i-1))
		}
	}
	if top := bucketTop(numBuckets - 1); top != 1<<maxBits-1 {
		t.Errorf("last bucket ends at %d, want 2^%d-1", top, maxBits)
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
		{0.999, 999 * time.Microsecond}, // the nearest rank: 999.0000000000001 must not round up
		{1, 1000 * time.Microsecond},
	} {
		got := l.quantile(tc.q)
		if got < tc.want || got > tc.want+tc.want/128 {
			t.Errorf("quantile(%v) = %v, want %v or up to 0.8%% above", tc.q, got, tc.want)
		}
	}
	if l.max != time.Millisecond || l.n != 1000 || l.mean() != 500500*time.Nanosecond {
		t.Errorf("max %v, n %d, mean %v", l.max, l.n, l.mean())
	}

	// Since an earlier snapshot: only what came after.
	earlier := l
	for range 10 {
		h.record(5 * time.Millisecond)
	}
	var now latencies
	now.add(&h)
	recent := now.since(&earlier)
	if recent.n != 10 || recent.quantile(0.5) != now.max || recent.max != now.max || recent.mean() != 5*time.Millisecond {
		t.Errorf("since: n %d, median %v, max %v, mean %v; want 10 and %v", recent.n, recent.quantile(0.5), recent.max, recent.mean(), now.max)
	}
	// The maximum of what came since is the top of the highest bucket
	// reached, when the overall maximum came before.
	earlier = now
	h.record(2 * time.Millisecond)
	var later latencies
	later.add(&h)
	if d := later.since(&earlier); d.max < 2*time.Millisecond || d.max > 2*time.Millisecond+2*time.Millisecond/128 {
		t.Errorf("since: max %v, want 2ms or up to 0.8%% above", d.max)
	}

	var empty latencies
	if got := empty.quantile(0.99); got != 0 || empty.mean() != 0 || empty.stddev() != 0 {
		t.Errorf("quantile of nothing = %v, mean %v", got, empty.mean())
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
