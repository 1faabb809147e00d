package connpoolprom_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/pooltest"
	connpoolprom "github.com/seed-a245f091/connpool/prometheus"
)

// BenchmarkGetPut measures checking an idle TCP connection to 127.0.0.1
// out of a prefilled pool of 8 and back in, on one goroutine and on
// GOMAXPROCS goroutines, with:
//
//   - Exporter=none: no observer; the baseline.
//   - Exporter=counting: an observer that counts its calls, the least any
//     observer costs (the pool reads the clock for it at each return).
//   - Exporter=prometheus: the Collector's observer, feeding histograms,
//     registered in a registry.
func BenchmarkGetPut(b *testing.B) {
	for _, exp := range []struct {
		name   string
		attach func(*connpool.ConnPool)
	}{
		{"Exporter=none", func(*connpool.ConnPool) {}},
		{"Exporter=counting", func(p *connpool.ConnPool) { p.Observe(new(countingObserver)) }},
		{"Exporter=prometheus", func(p *connpool.ConnPool) {
			prometheus.NewRegistry().MustRegister(connpoolprom.NewCollector(p))
		}},
	} {
		b.Run(exp.name, func(b *testing.B) {
			pooltest.BenchGetPut(b, func(_ *testing.B, p *connpool.ConnPool) { exp.attach(p) })
		})
	}
}

// countingObserver counts the events it is told of.
type countingObserver struct{ waits, uses, dials atomic.Int64 }

func (o *countingObserver) ObserveWait(time.Duration)        { o.waits.Add(1) }
func (o *countingObserver) ObserveUse(time.Duration)         { o.uses.Add(1) }
func (o *countingObserver) ObserveDial(time.Duration, error) { o.dials.Add(1) }
