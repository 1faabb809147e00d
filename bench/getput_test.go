package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// getPutPerCPU and getPutConns are the shape of BenchmarkGetPut: goroutines
// per GOMAXPROCS, and connections in the pool. 512 per CPU (1024
// goroutines at GOMAXPROCS 2) runs for connpool and puddle only, the pair
// the targets compare, to keep the full run short.
var (
	getPutPerCPU = []int{1, 4, 32, 128, 512}
	getPutConns  = []int{8, 512}
)

// timeEvery is how often a goroutine times its Get: one in timeEvery, the
// same for every pool, so that reading the clock adds about 1/timeEvery of
// its cost to each Get instead of all of it. It is odd so that the timed
// Gets do not fall in step with anything a pool does every 2^k Gets (such
// as allocating a block of handles), which would put that cost in every
// sample or in none.
const timeEvery = 7

// BenchmarkGetPut measures checking a connection out and giving it back, no
// I/O, on real sockets to the server process (so the runtime's netpoller is
// active, as in a program), with perCPU goroutines per GOMAXPROCS sharing a
// pool of conns. Besides ns/op and allocations it reports:
//
//   - waits/op: the share of Gets that found every connection out and
//     waited, for the pools that count it (connpool and puddle);
//   - dials/op: connections dialled while timed (fatih/pool and the naive
//     pool dial when none is idle, instead of waiting);
//   - fairness: the fewest Get+returns of any goroutine over the run
//     divided by the most;
//   - p99-wait-ns: the 99th percentile of a Get's duration, from one Get in
//     seven timed on every goroutine;
//   - mallocs/op: allocations per op, not rounded down to whole ones as
//     allocs/op is.
//
// Fairness, p99 and the time series cover the run's first benchtime only
// (see monitor), the same span for every pool.
//
// With -series, each row's run is also written down in 100ms windows (see
// flushSeries).
func BenchmarkGetPut(b *testing.B) {
	addrs := helperServer(b)
	for _, impl := range checkoutImpls {
		b.Run("Pool="+impl.name, func(b *testing.B) {
			for _, perCPU := range getPutPerCPU {
				if perCPU > 128 && impl.name != "connpool" && impl.name != "puddle" {
					continue
				}
				b.Run(fmt.Sprintf("PerCPU=%d", perCPU), func(b *testing.B) {
					for _, size := range getPutConns {
						b.Run(fmt.Sprintf("Conns=%d", size), func(b *testing.B) {
							benchGetPut(b, impl, addrs.discard, perCPU, size, checkoutOptions{}, nil)
						})
					}
				})
			}
		})
	}
}

// BenchmarkGetPutProbe measures connpool's Get+return with its stale
// connection probe at the default ProbeAfter and with the probe off, on a
// hot pool: connections come back within microseconds, so the default
// should cost next to nothing.
func BenchmarkGetPutProbe(b *testing.B) {
	addrs := helperServer(b)
	for _, probe := range []struct {
		name  string
		after time.Duration
	}{{"default", 0}, {"off", -1}} {
		for _, perCPU := range []int{1, 4} {
			b.Run(fmt.Sprintf("Probe=%s/PerCPU=%d/Conns=8", probe.name, perCPU), func(b *testing.B) {
				benchGetPut(b, checkoutImpls[0], addrs.discard, perCPU, 8, checkoutOptions{probeAfter: probe.after}, nil)
			})
		}
	}
}

// BenchmarkGetPutObserver measures connpool's Get+return with no observer
// and with one that counts every event. Where the root package cannot
// attach one yet, the rows with an observer are skipped.
func BenchmarkGetPutObserver(b *testing.B) {
	addrs := helperServer(b)
	for _, observed := range []bool{false, true} {
		name := "none"
		var attach func(checkoutPool) error
		if observed {
			name, attach = "counting", observeConnpool
		}
		b.Run(fmt.Sprintf("Observer=%s/PerCPU=4/Conns=8", name), func(b *testing.B) {
			benchGetPut(b, checkoutImpls[0], addrs.discard, 4, 8, checkoutOptions{}, attach)
		})
	}
}

// benchGetPut runs Get+return on perCPU*GOMAXPROCS goroutines over a pool of
// size connections to addr. attach, if not nil, is applied to the pool
// before timing; an error from it skips the benchmark.
func benchGetPut(b *testing.B, impl checkoutImpl, addr string, perCPU, size int, opt checkoutOptions, attach func(checkoutPool) error) {
	conns := new(connCounter)
	p, err := impl.open(conns.counting(dialer(addr)), size, opt)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		p.close()
		if n := conns.open.Load(); n != 0 {
			b.Errorf("%d connections still open after closing the pool", n)
		}
	})
	if attach != nil {
		if err := attach(p); err != nil {
			b.Skip(err)
		}
	}
	conns.resetPeak()
	waits := p.waits
	waits0, counted := p.waits()
	if !counted {
		waits = nil
	}
	workers := make([]worker, perCPU*runtime.GOMAXPROCS(0))
	var next atomic.Int64
	b.SetParallelism(perCPU)
	b.ReportAllocs()
	mon := startMonitor(b, workers, waits)
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	mallocs := mem.Mallocs
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &workers[next.Add(1)-1]
		ctx := context.Background()
		for i := 0; pb.Next(); i++ {
			var start time.Time
			timed := i%timeEvery == 0 && mon.measuring.Load()
			if timed {
				start = time.Now()
			}
			h, err := p.get(ctx)
			if err != nil {
				b.Error(err) // not Fatal: this is not the benchmark's goroutine
				return
			}
			if timed {
				w.hist.record(time.Since(start))
			}
			p.put(h, false)
			w.ops.Add(1)
		}
	})
	b.StopTimer()
	runtime.ReadMemStats(&mem)
	mallocs = mem.Mallocs - mallocs
	windows, counts := mon.finish(workers)
	saveSeries(b, windows)
	if counted {
		n, _ := p.waits()
		b.ReportMetric(float64(n-waits0)/float64(b.N), "waits/op")
	}
	b.ReportMetric(float64(conns.dialled.Load())/float64(b.N), "dials/op")
	// allocs/op, as go test reports it, is whole allocations per op,
	// rounded down: a pool that allocates once every few ops shows 0.
	b.ReportMetric(float64(mallocs)/float64(b.N), "mallocs/op")
	b.ReportMetric(fairness(counts), "fairness")
	b.ReportMetric(float64(mergedHist(workers).quantile(0.99)), "p99-wait-ns")
}
