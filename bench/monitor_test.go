package bench

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// worker is one goroutine's share of a parallel benchmark: its own count of
// operations and its own histogram of timed Gets, so that recording is an
// uncontended add. The padding keeps two workers' counters off one cache
// line.
type worker struct {
	ops  atomic.Uint64
	_    [120]byte
	hist latencyHist
}

// window is one 100ms window of a run: how many operations finished and how
// many Gets waited in it.
type window struct {
	at         time.Duration // end of the window, from the start of the run
	ops, waits uint64
	waitsKnown bool
}

const (
	// windowLen is the width of a window of the time series.
	windowLen = 100 * time.Millisecond
	// stallAfter is how long a run may go without finishing an operation
	// before the benchmark takes its pool for hung.
	stallAfter = 2 * time.Second
)

// monitor watches a parallel run: every windowLen it sums the workers'
// counts into a window, and it ends the process if the run makes no
// progress for stallAfter (a pool that deadlocked), saying which benchmark
// hung. bench/cmd/benchrun records that benchmark as hung and goes on.
//
// A run lasts as long as go test makes it, which can be several times the
// benchtime when its estimate of b.N came from a shorter run that was
// cheaper per op. So that every pool is judged over the same span, the
// monitor keeps windows, and each worker's count for fairness, only for the
// run's first benchtime (its whole length under an iteration count, -benchtime
// Nx), and tells the workers, through measuring, when to stop timing Gets.
type monitor struct {
	stop      chan struct{}
	done      chan struct{}
	measuring atomic.Bool
	windows   []window // written by the monitor's goroutine until done closes
	counts    []uint64 // each worker's ops at the end of the span, or nil
}

// span is how much of each run the monitor measures: the -benchtime
// duration, or 0 for the whole run.
func span() time.Duration {
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return 0
	}
	d, err := time.ParseDuration(f.Value.String())
	if err != nil {
		return 0 // an iteration count
	}
	return d
}

// startMonitor starts watching workers; waits, if not nil, reads the pool's
// count of Gets that waited.
func startMonitor(b *testing.B, workers []worker, waits func() (uint64, bool)) *monitor {
	m := &monitor{stop: make(chan struct{}), done: make(chan struct{})}
	m.measuring.Store(true)
	sum := func() uint64 {
		var n uint64
		for i := range workers {
			n += workers[i].ops.Load()
		}
		return n
	}
	name := b.Name()
	measure := span()
	go func() {
		defer close(m.done)
		// The start before the ticker, so that no tick comes before it,
		// and each window ends when its ops are read, not when its tick
		// was due: with goroutines that never block, the monitor may get
		// the CPU tens of milliseconds after the tick.
		start := time.Now()
		t := time.NewTicker(windowLen)
		defer t.Stop()
		lastOps, lastWaits := sum(), uint64(0)
		if waits != nil {
			lastWaits, _ = waits()
		}
		lastProgress := start
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				ops := sum()
				now := time.Now()
				w := window{at: now.Sub(start), ops: ops - lastOps}
				if waits != nil {
					var n uint64
					n, w.waitsKnown = waits()
					w.waits = n - lastWaits
					lastWaits = n
				}
				if m.measuring.Load() {
					m.windows = append(m.windows, w)
					if measure > 0 && w.at >= measure {
						m.measuring.Store(false)
						m.counts = make([]uint64, len(workers))
						for i := range workers {
							m.counts[i] = workers[i].ops.Load()
						}
					}
				}
				if ops != lastOps {
					lastProgress = now
				} else if now.Sub(lastProgress) >= stallAfter {
					hung(name, fmt.Sprintf("no operation finished in %v", stallAfter))
				}
				lastOps = ops
			}
		}
	}()
	return m
}

// finish stops the monitor and returns its windows, and each worker's
// ops over the span it measured.
func (m *monitor) finish(workers []worker) ([]window, []uint64) {
	close(m.stop)
	<-m.done
	if m.counts == nil {
		m.counts = make([]uint64, len(workers))
		for i := range workers {
			m.counts[i] = workers[i].ops.Load()
		}
	}
	return m.windows, m.counts
}

// hung ends the process on a benchmark that cannot finish: its goroutines
// are stuck inside a pool, and the benchmark cannot return without them.
// Exit status 3 tells bench/cmd/benchrun to record the benchmark as hung.
func hung(name, why string) {
	fmt.Fprintf(os.Stderr, "\nbench: %s hung: %s\n", name, why)
	os.Exit(3)
}

// fairness returns the fewest operations any worker finished divided by
// the most: 1 when every goroutine got its share.
func fairness(counts []uint64) float64 {
	if len(counts) == 0 {
		return 1
	}
	lo, hi := slices.Min(counts), slices.Max(counts)
	if hi == 0 {
		return 1
	}
	return float64(lo) / float64(hi)
}

// mergedHist returns the workers' histograms added together.
func mergedHist(workers []worker) *latencyHist {
	var all latencyHist
	for i := range workers {
		all.merge(&workers[i].hist)
	}
	return &all
}

// series holds the last run's windows of each Get+return benchmark, by its
// name as go test prints it. Each b.N run overwrites the one before, so
// what is left is the run go test reports.
var series struct {
	mu   sync.Mutex
	runs map[string][]window
	keys []string // in first-run order
}

func saveSeries(b *testing.B, ws []window) {
	name := b.Name()
	if p := runtime.GOMAXPROCS(0); p != 1 {
		name += fmt.Sprintf("-%d", p)
	}
	series.mu.Lock()
	defer series.mu.Unlock()
	if series.runs == nil {
		series.runs = map[string][]window{}
	}
	if _, ok := series.runs[name]; !ok {
		series.keys = append(series.keys, name)
	}
	series.runs[name] = slices.Clone(ws)
}

// flushSeries appends the saved time series to the file at path, if path is
// not empty, one line per window in the benchmark format: the window's
// operations as the iteration count, then its ns/op, waits/op (where the
// pool counts waits) and the window's end in ms since the run's start.
// bench/cmd/benchreport reads them with the results.
func flushSeries(path string) error {
	if path == "" {
		return nil
	}
	series.mu.Lock()
	defer series.mu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	for _, name := range series.keys {
		prev := time.Duration(0)
		for _, w := range series.runs[name] {
			width := w.at - prev
			prev = w.at
			if w.ops == 0 {
				fmt.Fprintf(f, "%s\t1\t%d window-ns\t%.0f at-ms\t1 stalled\n", name, width.Nanoseconds(), w.at.Seconds()*1e3)
				continue
			}
			fmt.Fprintf(f, "%s\t%d\t%.2f ns/op", name, w.ops, float64(width.Nanoseconds())/float64(w.ops))
			if w.waitsKnown {
				fmt.Fprintf(f, "\t%.4f waits/op", float64(w.waits)/float64(w.ops))
			}
			fmt.Fprintf(f, "\t%.0f at-ms\n", w.at.Seconds()*1e3)
		}
	}
	return f.Close()
}
