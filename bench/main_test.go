package bench

import (
	"flag"
	"testing"

	"go.uber.org/goleak"
)

// seriesOut names the file the Get+return benchmarks append their time series
// to (see series.go's flushSeries); empty for none. bench/cmd/benchrun sets it.
var seriesOut = flag.String("series", "", "append the Get+return time series to this `file`")

// TestMain fails the run if a benchmark leaves a goroutine behind, such as a
// dial or a destructor still running after its pool was closed. The server
// process and the time series are finished before goleak looks.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(finishing{m})
}

// finishing runs the tests and benchmarks, then stops the server process
// and writes the time series, so that goleak sees neither.
type finishing struct{ m *testing.M }

func (f finishing) Run() int {
	code := f.m.Run()
	stopHelper()
	if err := flushSeries(*seriesOut); err != nil {
		println("bench: writing the time series:", err.Error())
		if code == 0 {
			code = 1
		}
	}
	return code
}
