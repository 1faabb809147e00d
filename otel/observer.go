package connpoolotel

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// observer feeds one pool's events to its histograms. The attribute set
// is built once, and passed as a slice made once, so that a Record builds
// neither a set nor the slice of its variadic options.
type observer struct {
	create, wait, use metric.Float64Histogram
	opts              []metric.RecordOption
	stopped           atomic.Bool // set by Unregister
}

func (o *observer) record(h metric.Float64Histogram, d time.Duration) {
	if o.stopped.Load() {
		return
	}
	h.Record(context.Background(), d.Seconds(), o.opts...)
}

func (o *observer) ObserveWait(d time.Duration)          { o.record(o.wait, d) }
func (o *observer) ObserveUse(d time.Duration)           { o.record(o.use, d) }
func (o *observer) ObserveDial(d time.Duration, _ error) { o.record(o.create, d) }
