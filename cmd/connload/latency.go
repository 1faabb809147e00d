package main

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Latencies go into a log-linear histogram rather than a slice, so that a
// run of any length takes the same memory and the progress line and the
// time series can read percentiles while clients record. The layout is
// HdrHistogram's for two significant digits, a lowest discernible value of
// 1ns and a highest trackable value of 2^37-1ns (137s): values below 256
// have a bucket each, and each later power of two is split into 128
// buckets, so a bucket is at most 1/128 of its values wide. A percentile is
// reported, as HdrHistogram reports it, as the top of its bucket: never
// below the true value, and at most 0.8% above it.
const (
	subBits    = 7
	maxBits    = 37                                 // values up to 2^maxBits-1 ns; longer ones go in the last bucket
	numBuckets = (maxBits - subBits + 1) << subBits // 3968, HdrHistogram's counts array length for this layout

	// hdrBuckets and hdrSubBuckets are HdrHistogram's names for the layout,
	// written in the footer of the percentile text format.
	hdrBuckets    = maxBits - subBits // 30: 0-255, then one a power of two up to 2^37
	hdrSubBuckets = 2 << subBits      // 256
)

// histogram counts latencies. Its methods are safe for concurrent use:
// clients share a few histograms rather than each having one, which would
// be 31 KiB a client, or all sharing one, whose counters would bounce
// between processors.
type histogram struct {
	counts [numBuckets]atomic.Uint64
	sum    atomic.Uint64 // ns, for the mean
	max    atomic.Int64  // ns
}

func bucketOf(d time.Duration) int {
	v := uint64(max(d, 0))
	shift := max(0, bits.Len64(v)-(subBits+1))
	return min(shift<<subBits+int(v>>shift), numBuckets-1)
}

// bucketRange returns the smallest value in bucket i and the bucket's
// width.
func bucketRange(i int) (lo, width time.Duration) {
	if i < 2<<subBits {
		return time.Duration(i), 1
	}
	shift := i>>subBits - 1
	return time.Duration(uint64(i-shift<<subBits) << shift), 1 << shift
}

// bucketTop returns the largest value of bucket i: HdrHistogram's highest
// equivalent value.
func bucketTop(i int) time.Duration {
	lo, w := bucketRange(i)
	return lo + w - 1
}

// bucketMid returns the middle of bucket i: HdrHistogram's median
// equivalent value, used for the standard deviation.
func bucketMid(i int) time.Duration {
	lo, w := bucketRange(i)
	return lo + w/2
}

func (h *histogram) record(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(d)].Add(1)
	h.sum.Add(uint64(d))
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// latencies is a snapshot of one or more histograms.
type latencies struct {
	counts [numBuckets]uint64
	n      uint64
	sum    uint64 // ns
	max    time.Duration
}

// add adds h's counts to l. Counts recorded meanwhile may or may not be
// included, each on its own: a snapshot taken during a run is approximate,
// one taken after it exact.
func (l *latencies) add(h *histogram) {
	for i := range h.counts {
		c := h.counts[i].Load()
		l.counts[i] += c
		l.n += c
	}
	l.sum += h.sum.Load()
	l.max = max(l.max, time.Duration(h.max.Load()))
}

// since returns the latencies recorded in l but not in earlier, which must
// be an earlier snapshot of the same histograms. A maximum cannot be
// subtracted, so unless earlier is empty the maximum of the difference is
// the top of its highest bucket, or l's maximum if that is smaller.
func (l *latencies) since(earlier *latencies) latencies {
	d := latencies{sum: l.sum - earlier.sum}
	top := -1
	for i := range l.counts {
		d.counts[i] = l.counts[i] - earlier.counts[i]
		d.n += d.counts[i]
		if d.counts[i] > 0 {
			top = i
		}
	}
	switch {
	case earlier.n == 0:
		d.max = l.max
	case top >= 0:
		d.max = min(bucketTop(top), l.max)
	}
	return d
}

// quantile returns the smallest latency at or below which a fraction q of
// those recorded fall (the nearest rank, as HdrHistogram's
// getValueAtPercentile), as the top of its bucket, or 0 if none were
// recorded. It never exceeds the largest recorded.
func (l *latencies) quantile(q float64) time.Duration {
	if l.n == 0 {
		return 0
	}
	// The tiny cut keeps q*n from rounding up past a whole rank: 0.999 *
	// 1000 is 999.0000000000001 in floating point.
	rank := uint64(math.Ceil(q * float64(l.n) * (1 - 1e-12)))
	rank = min(max(rank, 1), l.n)
	var seen uint64
	for i, c := range l.counts {
		if seen += c; seen >= rank {
			return min(bucketTop(i), l.max)
		}
	}
	return l.max
}

// mean returns the mean latency, exact, or 0 if none were recorded.
func (l *latencies) mean() time.Duration {
	if l.n == 0 {
		return 0
	}
	return time.Duration(l.sum / l.n)
}

// stddev returns the standard deviation, from the middle of each bucket
// as HdrHistogram computes it.
func (l *latencies) stddev() time.Duration {
	if l.n == 0 {
		return 0
	}
	mean := float64(l.mean())
	var sq float64
	for i, c := range l.counts {
		if c > 0 {
			dev := float64(bucketMid(i)) - mean
			sq += dev * dev * float64(c)
		}
	}
	return time.Duration(math.Sqrt(sq / float64(l.n)))
}
