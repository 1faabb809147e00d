package connpoolotel_test

import (
	"context"
	"net"
	"os"
	"slices"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/testserver"
	connpoolotel "github.com/seed-a245f091/connpool/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// waitLimit bounds every wait on a condition: a passing test never waits
// this long, a failing one fails instead of hanging.
const waitLimit = testserver.WaitLimit

// newPool returns a ConnPool to s described by cfg; it is drained, its
// goroutines ended, when the test ends.
func newPool(t testing.TB, s *testserver.Server, cfg connpool.Config) *connpool.ConnPool {
	t.Helper()
	if s != nil {
		cfg.Addr = s.Addr()
	}
	p, err := connpool.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if n, err := p.Drain(ctx); err != nil {
			t.Errorf("Drain: %d connections still out: %v", n, err)
		}
	})
	return p
}

func dialTCPPool(t *testing.T, cfg connpool.TCPPoolConfig) *connpool.TCPPool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	p, err := connpool.DialPool(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// refusing is a Dial function that fails as a dial to a closed port does.
func refusing(context.Context, string, string) (net.Conn, error) {
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

func get(t testing.TB, p *connpool.ConnPool) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, err := p.Get(ctx)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return c
}

// getAsync starts a Get on p in the background, with ctx, and returns
// where its result arrives.
func getAsync(p *connpool.ConnPool, ctx context.Context) <-chan getResult {
	ch := make(chan getResult, 1)
	go func() {
		c, err := p.Get(ctx)
		ch <- getResult{c, err}
	}()
	return ch
}

type getResult struct {
	c   net.Conn
	err error
}

// waitFor waits until cond holds. The pools have no event to wait on for
// what a test waits for here (a Get joining the line, a connection coming
// up), so it looks at their Stats, yielding in between, until cond holds
// or waitLimit passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// newProvider returns a meter provider whose ManualReader collects on
// demand; it is shut down when the test ends.
func newProvider(t testing.TB) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) {
	r := sdkmetric.NewManualReader()
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
