package connpool_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
)

// The side-by-side benchmarks, against other pools and on a server in
// another process, are in the bench module; these measure the costs of
// the pool's own options against itself, on real TCP connections to
// 127.0.0.1.

// BenchmarkGetPutProbe measures checking an idle TCP connection out of a
// prefilled pool of 8 and back in, with no I/O, under each probe policy:
//
//   - Probe=off: ProbeAfter -1, no probe at all; the baseline.
//   - Pool=hot: the default ProbeAfter; every connection came back a moment
//     ago, inside the bypass window, so no Get probes.
//   - Pool=cold: ProbeAfter 1ns; every connection counts as idle long
//     enough, so every Get pays for the probe's system call.
//
// Each runs on one goroutine and on GOMAXPROCS goroutines (fewer than the
// 8 connections, so no Get waits and the figures are the probe's alone).
func BenchmarkGetPutProbe(b *testing.B) {
	for _, policy := range []struct {
		name       string
		probeAfter time.Duration
	}{
		{"Probe=off", -1},
		{"Pool=hot", 0},
		{"Pool=cold", time.Nanosecond},
	} {
		b.Run(policy.name, func(b *testing.B) {
			benchGetPut(b, func(b *testing.B) *connpool.ConnPool {
				return newBenchPool(b, connpool.Config{ProbeAfter: policy.probeAfter})
			})
		})
	}
}

// BenchmarkGetPutObserver measures Get and return with no observer and
// with one that counts what it is told, the cheapest an exporter can be.
func BenchmarkGetPutObserver(b *testing.B) {
	b.Run("Observer=none", func(b *testing.B) {
		benchGetPut(b, func(b *testing.B) *connpool.ConnPool { return newBenchPool(b, connpool.Config{}) })
	})
	b.Run("Observer=counting", func(b *testing.B) {
		benchGetPut(b, func(b *testing.B) *connpool.ConnPool {
			p := newBenchPool(b, connpool.Config{})
			p.Observe(new(countingObserver))
			return p
		})
	})
}

// countingObserver counts the events it is told of.
type countingObserver struct{ waits, uses, dials atomic.Int64 }

func (o *countingObserver) ObserveWait(time.Duration)        { o.waits.Add(1) }
func (o *countingObserver) ObserveUse(time.Duration)         { o.uses.Add(1) }
func (o *countingObserver) ObserveDial(time.Duration, error) { o.dials.Add(1) }

// benchGetPut runs getPut on one goroutine and on GOMAXPROCS goroutines,
// each on a pool of its own made by open.
func benchGetPut(b *testing.B, open func(*testing.B) *connpool.ConnPool) {
	b.Run("Goroutines=1", func(b *testing.B) {
		p := open(b)
		b.ReportAllocs()
		for b.Loop() {
			if err := getPut(p); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		checkNoStale(b, p)
	})
	b.Run("Goroutines=GOMAXPROCS", func(b *testing.B) {
		p := open(b)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := getPut(p); err != nil {
					b.Error(err) // not Fatal: this is not the benchmark's goroutine
					return
				}
			}
		})
		b.StopTimer()
		checkNoStale(b, p)
	})
}

// newBenchPool returns cfg as a pool of 8 connections to a new echo
// server, prefilled.
func newBenchPool(b *testing.B, cfg connpool.Config) *connpool.ConnPool {
	b.Helper()
	const size = 8
	s := newServer(b)
	cfg.Addr, cfg.MaxConns, cfg.InitialConns = s.Addr(), size, size
	p, err := connpool.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		p.Close()
		p.WaitDials()
	})
	s.WaitOpen(size)
	return p
}

// getPut checks a connection out and gives it back.
func getPut(p *connpool.ConnPool) error {
	c, err := p.Get(context.Background())
	if err != nil {
		return err
	}
	return c.Close()
}

// checkNoStale fails the benchmark if the probe closed a healthy
// connection, or if the pool had to dial: both would make the figures
// measure something other than the probe.
func checkNoStale(b *testing.B, p *connpool.ConnPool) {
	b.Helper()
	if st := p.Stats(); st.ClosedStale != 0 || st.Dials != 8 || st.Open != 8 {
		b.Fatalf("stats %+v, want no connection closed and 8 dials", st)
	}
}

var _ net.Conn = (*connpool.PoolConn)(nil)
