package connpoolotel_test

import (
	"context"
	"slices"
	"sort"
	"testing"

	"github.com/seed-a245f091/connpool/internal/pooltest"
	connpoolotel "github.com/seed-a245f091/connpool/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The helpers shared with the other exporter's tests.
var (
	newPool     = pooltest.NewPool
	dialTCPPool = pooltest.DialTCPPool
	refusing    = pooltest.Refusing
	get         = pooltest.Get
)

// newProvider returns a meter provider whose ManualReader, made with
// opts, collects on demand; it is shut down when the test ends.
func newProvider(t testing.TB, opts ...sdkmetric.ManualReaderOption) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) {
	r := sdkmetric.NewManualReader(opts...)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() {
		if err := mp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return mp, r
}

func instrument(t testing.TB, p connpoolotel.Pool, opts ...connpoolotel.Option) *connpoolotel.Registration {
	t.Helper()
	reg, err := connpoolotel.Instrument(p, opts...)
	if err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	t.Cleanup(func() {
		if err := reg.Unregister(); err != nil {
			t.Error(err)
		}
	})
	return reg
}

// collected are the metrics of one collection from this package's
// meter, by name.
type collected struct {
	t       testing.TB
	metrics map[string]metricdata.Metrics
}

func collect(t testing.TB, r *sdkmetric.ManualReader) collected {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	c := collected{t: t, metrics: map[string]metricdata.Metrics{}}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != connpoolotel.ScopeName {
			t.Errorf("metrics from scope %q", sm.Scope.Name)
			continue
		}
		if want := "https://opentelemetry.io/schemas/1.43.0"; sm.Scope.SchemaURL != want {
			t.Errorf("schema URL %q, want %q", sm.Scope.SchemaURL, want)
		}
		for _, m := range sm.Metrics {
			c.metrics[m.Name] = m
		}
	}
	return c
}

const poolKey = attribute.Key("db.client.connection.pool.name")

// set returns the attribute set of pool's measurements, with kv.
func set(pool string, kv ...attribute.KeyValue) attribute.Set {
	return attribute.NewSet(append(kv, poolKey.String(pool))...)
}

// ofPool returns the names of the instruments with a data point for
// pool, sorted.
func (c collected) ofPool(pool string) []string {
	var names []string
	for name, m := range c.metrics {
		if slices.ContainsFunc(attrSets(m), func(s attribute.Set) bool {
			v, _ := s.Value(poolKey)
			return v.AsString() == pool
		}) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// pointsOf returns the attribute sets of the data points of instrument
// name for pool.
func (c collected) pointsOf(name, pool string) []attribute.Set {
	var sets []attribute.Set
	for _, s := range attrSets(c.metrics[name]) {
		if v, _ := s.Value(poolKey); v.AsString() == pool {
			sets = append(sets, s)
		}
	}
	return sets
}

func attrSets(m metricdata.Metrics) []attribute.Set {
	var sets []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	}
	return sets
}

// sum returns the value of instrument name, an observable counter if
// monotonic and an observable up-down counter otherwise, for attrs.
func (c collected) sum(name string, monotonic bool, attrs attribute.Set) int64 {
	c.t.Helper()
	m, ok := c.metrics[name]
	if !ok {
		c.t.Fatalf("no instrument %s", name)
	}
	d, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		c.t.Fatalf("%s is a %T, want a Sum[int64]", name, m.Data)
	}
	if d.IsMonotonic != monotonic || d.Temporality != metricdata.CumulativeTemporality {
		c.t.Errorf("%s: monotonic %v, temporality %v; want monotonic %v, cumulative", name, d.IsMonotonic, d.Temporality, monotonic)
	}
	for _, p := range d.DataPoints {
		if p.Attributes.Equals(&attrs) {
			return p.Value
		}
	}
	c.t.Fatalf("no data point of %s for %v", name, attrs.ToSlice())
	return 0
}

// histogram returns the data point of histogram name for pool.
func (c collected) histogram(name, pool string) metricdata.HistogramDataPoint[float64] {
	c.t.Helper()
	m, ok := c.metrics[name]
	if !ok {
		c.t.Fatalf("no instrument %s", name)
	}
	d, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		c.t.Fatalf("%s is a %T, want a Histogram[float64]", name, m.Data)
	}
	attrs := set(pool)
	for _, p := range d.DataPoints {
		if p.Attributes.Equals(&attrs) {
			return p
		}
	}
	c.t.Fatalf("no data point of %s for pool %s", name, pool)
	return metricdata.HistogramDataPoint[float64]{}
}
