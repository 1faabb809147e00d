package connpoolotel_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/testserver"
	connpoolotel "github.com/seed-a245f091/connpool/otel"
)

// BenchmarkGetPut measures checking an idle TCP connection to 127.0.0.1
// out of a prefilled pool of 8 and back in, on one goroutine and on
// GOMAXPROCS goroutines, with:
//
//   - Exporter=none: no observer; the baseline.
//   - Exporter=counting: an observer that counts its calls, the least any
//     observer costs (the pool reads the clock for it at each return).
//   - Exporter=otel: the observer Instrument adds, feeding the histograms
//     of the SDK's meter provider, with a ManualReader.
func BenchmarkGetPut(b *testing.B) {
	for _, exp := range []struct {
		name   string
		attach func(*testing.B, *connpool.ConnPool)
	}{
		{"Exporter=none", func(*testing.B, *connpool.ConnPool) {}},
		{"Exporter=counting", func(_ *testing.B, p *connpool.ConnPool) { p.Observe(new(countingObserver)) }},
		{"Exporter=otel", func(b *testing.B, p *connpool.ConnPool) {
			mp, _ := newProvider(b)
			instrument(b, p, connpoolotel.WithMeterProvider(mp))
		}},
	} {
		b.Run(exp.name, func(b *testing.B) {
			b.Run("Goroutines=1", func(b *testing.B) {
				p := newBenchPool(b)
				exp.attach(b, p)
				b.ReportAllocs()
				for b.Loop() {
					if err := getPut(p); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Goroutines=GOMAXPROCS", func(b *testing.B) {
				p := newBenchPool(b)
				exp.attach(b, p)
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
			})
		})
	}
}

// newBenchPool returns a pool of 8 connections to a new echo server,
// prefilled.
func newBenchPool(b *testing.B) *connpool.ConnPool {
	b.Helper()
	const size = 8
	s := testserver.Start(b, (*testserver.Server).Echo)
	p := newPool(b, s, connpool.Config{Name: "bench", MaxConns: size, InitialConns: size})
	s.WaitOpen(size)
	return p
}

func getPut(p *connpool.ConnPool) error {
	c, err := p.Get(context.Background())
	if err != nil {
		return err
	}
	return c.Close()
}

// countingObserver counts the events it is told of.
type countingObserver struct{ waits, uses, dials atomic.Int64 }

func (o *countingObserver) ObserveWait(time.Duration)        { o.waits.Add(1) }
func (o *countingObserver) ObserveUse(time.Duration)         { o.uses.Add(1) }
func (o *countingObserver) ObserveDial(time.Duration, error) { o.dials.Add(1) }
