package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Latencies go into a log-linear histogram rather than a slice, so that a
// run of any length takes the same memory and the progress line can read
// percentiles while clients record. Each power of two is split into
// 1<<subBits buckets, so a bucket is at most 1/64 of its values wide and a
// percentile read at its midpoint is within 0.8% of the true value.
const (
	subBits    = 6
	numBuckets = 2048 // covers 0 to 2^37 ns (137s); longer goes in the last
)

// histogram counts latencies. Its methods are safe for concurrent use:
// clients share a few histograms rather than each having one, which would
// be 16 KiB a client, or all sharing one, whose counters would bounce
// between processors.
type histogram struct {
	counts [numBuckets]atomic.Uint64
	max    atomic.Int64 // ns
}

func bucketOf(d time.Duration) int {
	v := uint64(max(d, 0))
	shift := max(0, bits.Len64(v)-(subBits+1))
	return min(shift<<subBits+int(v>>shift), numBuckets-1)
}

// bucketMid returns the middle of bucket i's range of values.
func bucketMid(i int) time.Duration {
	if i < 2<<subBits {
		return time.Duration(i) // one value wide
	}
	shift := i>>subBits - 1
	lo := uint64(i-shift<<subBits) << shift
	return time.Duration(lo + (1<<shift)/2)
}

func (h *histogram) record(d time.Duration) {
	h.counts[bucketOf(d)].Add(1)
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
	l.max = max(l.max, time.Duration(h.max.Load()))
}

// since returns the latencies recorded in l but not in earlier, which must
// be an earlier snapshot of the same histograms. Its max is l's, the
// largest since the start.
func (l *latencies) since(earlier *latencies) latencies {
	d := latencies{max: l.max}
	for i := range l.counts {
		d.counts[i] = l.counts[i] - earlier.counts[i]
		d.n += d.counts[i]
	}
	return d
}

// quantile returns the latency below which a fraction q of those recorded
// fall, or 0 if none were. It never exceeds the largest recorded.
func (l *latencies) quantile(q float64) time.Duration {
	if l.n == 0 {
		return 0
	}
	rank := uint64(q*float64(l.n-1)) + 1 // 1-based rank of the value wanted
	var seen uint64
	for i, c := range l.counts {
		if seen += c; seen >= rank {
			return min(bucketMid(i), l.max)
		}
	}
	return l.max
}
