package connpool_test

import (
	"context"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
)

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
			b.Run("Goroutines=1", func(b *testing.B) {
				p := newBenchProbePool(b, policy.probeAfter)
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
				p := newBenchProbePool(b, policy.probeAfter)
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
		})
	}
}

// newBenchProbePool returns a pool of 8 connections to a local server,
// all dialled before it returns, with the given ProbeAfter. It is closed,
// and its background work waited for, when the benchmark ends.
func newBenchProbePool(b *testing.B, probeAfter time.Duration) *connpool.ConnPool {
	b.Helper()
	const size = 8
	s := newServer(b)
	p, err := connpool.New(connpool.Config{
		Dial:         s.dialer(),
		MaxConns:     size,
		InitialConns: size,
		ProbeAfter:   probeAfter,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		p.Close()
		p.WaitDials()
	})
	s.waitOpen(b, size)
	return p
}

// getPut checks a connection out and gives it back. It takes the concrete
// *PoolConn from Acquire so that the figures hold no interface conversion.
func getPut(p *connpool.ConnPool) error {
	pc, err := p.Acquire(context.Background())
	if err != nil {
		return err
	}
	return pc.Close()
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
