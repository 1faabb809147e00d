package main

import (
	"strings"
	"testing"
	"time"
)

// TestHDRFormat checks the percentile text format line by line on four
// values, 1 to 4ms: the steps of 10% to 50%, 5% to 75% and 2.5% after, as
// HdrHistogram's outputPercentileDistribution writes them, each value the
// top of its bucket (the 4ms one capped at the maximum recorded), the
// last line at 100% without the 1/(1-Percentile) column, and the footer.
func TestHDRFormat(t *testing.T) {
	var h histogram
	for i := 1; i <= 4; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	var l latencies
	l.add(&h)
	var out strings.Builder
	if err := writeHDR(&out, &l); err != nil {
		t.Fatal(err)
	}
	want := `       Value     Percentile TotalCount 1/(1-Percentile)

       1.004 0.000000000000          1           1.00
       1.004 0.100000000000          1           1.11
       1.004 0.200000000000          1           1.25
       2.007 0.300000000000          2           1.43
       2.007 0.400000000000          2           1.67
       2.007 0.500000000000          2           2.00
       3.015 0.550000000000          3           2.22
       3.015 0.600000000000          3           2.50
       3.015 0.650000000000          3           2.86
       3.015 0.700000000000          3           3.33
       3.015 0.750000000000          3           4.00
       4.000 0.775000000000          4           4.44
       4.000 1.000000000000          4
#[Mean    =        2.500, StdDeviation   =        1.120]
#[Max     =        4.000, Total count    =            4]
#[Buckets =           30, SubBuckets     =          256]
`
	if got := out.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}

	// An empty distribution is the header and the footer alone.
	out.Reset()
	writeHDR(&out, &latencies{})
	if got := out.String(); !strings.HasPrefix(got, "       Value") || strings.Count(got, "\n") != 5 {
		t.Errorf("empty:\n%s", got)
	}
}
