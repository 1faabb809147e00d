package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"time"
)

// hdrTicksPerHalf is the number of percentile lines written for each
// halving of the distance to 100%: HdrHistogram's default of 5 gives
// lines at 0%, 10%, ... 50%, 55%, ... 75%, 77.5%, ... up to the maximum.
const hdrTicksPerHalf = 5

// writeHDR writes l in HdrHistogram's percentile text format, the output
// of outputPercentileDistribution(out, 5, 1e6) in the Java library and of
// wrk2's --latency, which the HdrHistogram plotters read: values in
// milliseconds, one line per percentile step, then the mean, standard
// deviation, maximum and count.
func writeHDR(w io.Writer, l *latencies) error {
	bw := bufio.NewWriter(w)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	fmt.Fprintf(bw, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)")
	if l.n > 0 {
		// As HdrHistogram's PercentileIterator: walk the buckets, and at
		// each write a line for every percentile step its cumulative count
		// reaches; the last bucket gets one such line, then a last one at
		// 100%.
		level, cum, last := 0.0, uint64(0), 0
		for i, c := range l.counts {
			if c == 0 {
				continue
			}
			cum += c
			last = i
			pct := 100 * float64(cum) / float64(l.n)
			for pct >= level {
				fmt.Fprintf(bw, "%12.3f %2.12f %10d %14.2f\n",
					ms(min(bucketTop(i), l.max)), level/100, cum, 1/(1-level/100))
				level = nextPercentile(level)
				if cum == l.n {
					break
				}
			}
			if cum == l.n {
				break
			}
		}
		fmt.Fprintf(bw, "%12.3f %2.12f %10d\n", ms(min(bucketTop(last), l.max)), 1.0, l.n)
	}
	fmt.Fprintf(bw, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", ms(l.mean()), ms(l.stddev()))
	fmt.Fprintf(bw, "#[Max     = %12.3f, Total count    = %12d]\n", ms(l.max), l.n)
	fmt.Fprintf(bw, "#[Buckets = %12d, SubBuckets     = %12d]\n", hdrBuckets, hdrSubBuckets)
	return bw.Flush()
}

// nextPercentile returns the percentile step after level: each halving of
// the distance to 100% is split into hdrTicksPerHalf steps.
func nextPercentile(level float64) float64 {
	halvings := math.Floor(math.Log2(100 / (100 - level)))
	return level + 100/(hdrTicksPerHalf*math.Exp2(halvings+1))
}
