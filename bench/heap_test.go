package bench

import (
	"context"
	"flag"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
)

// heapConns is the number of connections of the heap benchmark; the quick
// run of bench/run.sh lowers it.
var heapConns = flag.Int("heapconns", 10000, "connections in BenchmarkHeap")

// BenchmarkHeap measures the heap a pool keeps per connection it has lent:
// each iteration dials heapConns sockets to the server process, measures
// the live heap (after a GC) with the sockets alone, then builds the pool
// from those sockets, lends every connection once (all out at once, so
// every one is lent) and takes them all back, and measures again. It
// reports heap-B/conn, the difference divided by the connections. Where
// this process may not open that many files even after raising its soft
// limit, the row runs on fake connections and its name says Conn=fake.
func BenchmarkHeap(b *testing.B) {
	n := *heapConns
	kind, dial := "tcp", dialFunc(nil)
	if limit := raiseFileLimit(); limit < uint64(n)+256 {
		kind, dial = "fake", fakeDial
	} else {
		dial = dialer(helperServer(b).discard)
	}
	for _, impl := range checkoutImpls {
		b.Run(fmt.Sprintf("Pool=%s/Conns=%d/Conn=%s", impl.name, n, kind), func(b *testing.B) {
			var sum float64
			for b.Loop() {
				sum += heapPerConn(b, impl, dial, n)
			}
			b.ReportMetric(sum/float64(b.N), "heap-B/conn")
		})
	}
}

// heapPerConn runs one iteration of BenchmarkHeap.
func heapPerConn(b *testing.B, impl checkoutImpl, dial dialFunc, n int) float64 {
	ctx := context.Background()
	raw, err := dialMany(ctx, dial, n)
	if err != nil {
		b.Fatal(err)
	}
	handles := make([]any, n) // allocated before the first measurement
	alone := liveHeap()

	next := 0 // the pools fill themselves one dial at a time
	p, err := impl.open(func(context.Context) (net.Conn, error) {
		if next == len(raw) {
			return nil, fmt.Errorf("bench: the pool asked for more than its %d connections", n)
		}
		next++
		return raw[next-1], nil
	}, n, checkoutOptions{})
	if err != nil {
		for _, c := range raw {
			c.Close()
		}
		b.Fatal(err)
	}
	defer p.close()
	for i := range handles {
		if handles[i], err = p.get(ctx); err != nil {
			b.Fatal(err)
		}
	}
	for i, h := range handles {
		p.put(h, false)
		handles[i] = nil
	}
	pooled := liveHeap()
	runtime.KeepAlive(raw)
	runtime.KeepAlive(handles)
	return (float64(pooled) - float64(alone)) / float64(n)
}

// dialMany dials n connections, 8 at a time.
func dialMany(ctx context.Context, dial dialFunc, n int) ([]net.Conn, error) {
	const dialers = 8
	conns := make([]net.Conn, n)
	errs := make([]error, dialers)
	var wg sync.WaitGroup
	for d := range dialers {
		wg.Go(func() {
			for i := d; i < n && errs[d] == nil; i += dialers {
				conns[i], errs[d] = dial(ctx)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			for _, c := range conns {
				if c != nil {
					c.Close()
				}
			}
			return nil, err
		}
	}
	return conns, nil
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
