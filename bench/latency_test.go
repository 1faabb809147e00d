package bench

import (
	"math"
	"math/bits"
	"testing"
	"time"
)

// latencyHist is a histogram of durations with buckets about 1% wide, so
// that recording is a few instructions and allocates nothing: a benchmark
// gives each goroutine its own and merges them at the end.
type latencyHist struct {
	counts [(65 - histBits) << histBits]uint64
}

// histBits is the number of significant bits a bucket keeps: values up to
// 2^histBits nanoseconds are exact, larger ones lose precision of at most
// 1 in 2^(histBits-1).
const histBits = 7

// bucket returns the index of v's bucket: v's shift (how many low bits it
// loses) above its top histBits bits, which keep their leading 1 once v is
// past 2^histBits. Indexes grow with v.
func bucket(v uint64) int {
	shift := max(bits.Len64(v), histBits) - histBits
	return shift<<histBits | int(v>>shift)&(1<<histBits-1)
}

// bucketValue returns the middle of bucket i.
func bucketValue(i int) uint64 {
	shift := i >> histBits
	low := uint64(i&(1<<histBits-1)) << shift
	return low + (1<<shift)/2
}

func (h *latencyHist) record(d time.Duration) {
	h.counts[bucket(uint64(max(d, 0)))]++
}

func (h *latencyHist) merge(o *latencyHist) {
	for i, n := range o.counts {
		h.counts[i] += n
	}
}

// quantile returns the q-quantile of the recorded durations, in
// nanoseconds, to the precision of a bucket; 0 if none was recorded.
func (h *latencyHist) quantile(q float64) uint64 {
	var total uint64
	for _, n := range h.counts {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total-1)) + 1 // 1-based rank of the quantile
	var seen uint64
	for i, n := range h.counts {
		if seen += n; seen >= rank {
			return bucketValue(i)
		}
	}
	return bucketValue(len(h.counts) - 1)
}

func TestLatencyHistQuantile(t *testing.T) {
	var h latencyHist
	if got := h.quantile(0.99); got != 0 {
		t.Errorf("empty quantile = %d, want 0", got)
	}
	for v := 1; v <= 1000; v++ {
		h.record(time.Duration(v) * time.Microsecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0, time.Microsecond}, {0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}} {
		got := time.Duration(h.quantile(tc.q))
		if diff := got - tc.want; diff < -tc.want/64 || diff > tc.want/64 {
			t.Errorf("quantile(%v) = %v, want %v within 1/64", tc.q, got, tc.want)
		}
	}
}

func TestBucketOrder(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1 << 20, 1<<20 + 1, 1 << 40, 1<<64 - 1} {
		i := bucket(v)
		if i < prev {
			t.Errorf("bucket(%d) = %d, below the bucket of a smaller value (%d)", v, i, prev)
		}
		if i >= len(latencyHist{}.counts) {
			t.Fatalf("bucket(%d) = %d, out of range", v, i)
		}
		if mid := bucketValue(i); math.Abs(float64(mid)-float64(v)) > float64(v)/64 {
			t.Errorf("bucketValue(bucket(%d)) = %d, more than 1/64 off", v, mid)
		}
		prev = i
	}
}
