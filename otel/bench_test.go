package connpoolotel_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/pooltest"
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
		b.Run(exp.name, func(b *testing.B) { pooltest.BenchGetPut(b, exp.attach) })
	}
}

// countingObserver counts the events it is told of.
type countingObserver struct{ waits, uses, dials atomic.Int64 }

func (o *countingObserver) ObserveWait(time.Duration)        { o.waits.Add(1) }
func (o *countingObserver) ObserveUse(time.Duration)         { o.uses.Add(1) }
func (o *countingObserver) ObserveDial(time.Duration, error) { o.dials.Add(1) }
