package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// poolSize is the number of connections of every pool in the request and
// response scenarios: MaxConns for connpool, MaxSize for puddle, maxCap or
// MaxCap for the others.
const poolSize = 8

// BenchmarkRoundTrip measures request and response over loopback: 64
// clients share a pool of 8 connections to an echo server in the server
// process, and each request checks a connection out, writes a 32-byte
// message, reads the echo and gives the connection back. It reports
// throughput (req/s); the 50th, 99th and 99.9th percentiles of a request's
// latency, waiting for a connection included (p50-ns, p99-ns, p999-ns);
// fairness, the fewest requests of any client divided by the most; and the
// most connections open at once (peak-conns), which is more than 8 for a
// pool that dials past its cap.
func BenchmarkRoundTrip(b *testing.B) {
	const clients = 64
	addrs := helperServer(b)
	for _, impl := range checkoutImpls {
		b.Run(fmt.Sprintf("Pool=%s/Clients=%d/Conns=%d", impl.name, clients, poolSize), func(b *testing.B) {
			conns := new(connCounter)
			p, err := impl.open(conns.counting(dialer(addrs.echo)), poolSize, checkoutOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(p.close)
			conns.resetPeak()

			// RunParallel starts parallelism*GOMAXPROCS goroutines: exactly
			// 64 when GOMAXPROCS divides 64, else the next multiple.
			procs := runtime.GOMAXPROCS(0)
			par := (clients + procs - 1) / procs
			workers := make([]worker, par*procs)
			var next atomic.Int64
			msg := []byte("0123456789abcdef0123456789abcdef")
			b.SetParallelism(par)
			b.ReportAllocs()
			mon := startMonitor(b, workers, nil)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := &workers[next.Add(1)-1]
				buf := make([]byte, len(msg))
				ctx := context.Background()
				for pb.Next() {
					start := time.Now()
					if err := roundTrip(ctx, p, msg, buf); err != nil {
						b.Error(err) // not Fatal: this is not the benchmark's goroutine
						return
					}
					if mon.measuring.Load() {
						w.hist.record(time.Since(start))
					}
					w.ops.Add(1)
				}
			})
			b.StopTimer()
			_, counts := mon.finish(workers)
			all := mergedHist(workers)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(all.quantile(0.5)), "p50-ns")
			b.ReportMetric(float64(all.quantile(0.99)), "p99-ns")
			b.ReportMetric(float64(all.quantile(0.999)), "p999-ns")
			b.ReportMetric(fairness(counts), "fairness")
			b.ReportMetric(float64(conns.dialled.Load())/float64(b.N), "dials/op")
			b.ReportMetric(float64(conns.peak.Load()), "peak-conns")
		})
	}
}
