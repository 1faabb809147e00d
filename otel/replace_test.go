package connpoolotel_test

import (
	"testing"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/testserver"
	connpoolotel "github.com/seed-a245f091/connpool/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// counters follows the monotonic counters of one pool name over
// collections: the last value of each series on a cumulative reader, the
// sum of its deltas on a delta reader. It fails the test if a cumulative
// value goes back or a delta is negative.
type counters struct {
	t           *testing.T
	r           *sdkmetric.ManualReader
	pool        string
	temporality metricdata.Temporality
	totals      map[string]int64 // by series
}

func newCounters(t *testing.T, r *sdkmetric.ManualReader, pool string, temporality metricdata.Temporality) *counters {
	return &counters{t: t, r: r, pool: pool, temporality: temporality, totals: map[string]int64{}}
}

// series names the series of instrument name for the pool, with kv.
func (c *counters) series(name string, kv ...attribute.KeyValue) string {
	s := set(c.pool, kv...)
	return name + "{" + s.Encoded(attribute.DefaultEncoder()) + "}"
}

// collect collects and takes in every monotonic data point of the pool.
func (c *counters) collect(when string) {
	c.t.Helper()
	for name, m := range collect(c.t, c.r).metrics {
		d, ok := m.Data.(metricdata.Sum[int64])
		if !ok || !d.IsMonotonic {
			continue
		}
		if d.Temporality != c.temporality {
			c.t.Errorf("%s has temporality %v, want %v", name, d.Temporality, c.temporality)
		}
		for _, p := range d.DataPoints {
			if v, _ := p.Attributes.Value(poolKey); v.AsString() != c.pool {
				continue
			}
			key := c.series(name, p.Attributes.ToSlice()...)
			switch {
			case c.temporality == metricdata.DeltaTemporality && p.Value < 0:
				c.t.Errorf("%s: %s has a delta of %d", when, key, p.Value)
			case c.temporality == metricdata.CumulativeTemporality && p.Value < c.totals[key]:
				c.t.Errorf("%s: %s went back from %d to %d", when, key, c.totals[key], p.Value)
			}
			if c.temporality == metricdata.DeltaTemporality {
				c.totals[key] += p.Value
			} else {
				c.totals[key] = p.Value
			}
		}
	}
}

// check checks that the series of instrument name with kv adds up to want.
func (c *counters) check(want uint64, name string, kv ...attribute.KeyValue) {
	c.t.Helper()
	key := c.series(name, kv...)
	if got := c.totals[key]; got != int64(want) {
		c.t.Errorf("%s adds up to %d, want %d", key, got, want)
	}
}

// tryGet takes an idle connection from p and gives it back, n times.
func tryGet(t *testing.T, p *connpool.ConnPool, n int) {
	t.Helper()
	for range n {
		c, err := p.TryGet()
		if err != nil {
			t.Fatalf("TryGet: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

func unregister(t *testing.T, reg *connpoolotel.Registration) {
	t.Helper()
	if err := reg.Unregister(); err != nil {
		t.Fatalf("Unregister: %v", err)
	}
}

// TestReplacedPoolCounters unregisters a pool and instruments another of
// the same name with the same meter provider, and checks that the second
// pool's counters go on from the first's: on a cumulative reader no
// counter goes back, on a delta reader no delta is negative, and on both
// each counter adds up to the two pools' Stats, the events of the first
// after its last collection included.
func TestReplacedPoolCounters(t *testing.T) {
	for _, temporality := range []metricdata.Temporality{metricdata.CumulativeTemporality, metricdata.DeltaTemporality} {
		t.Run(temporality.String(), func(t *testing.T) {
			srv := testserver.Start(t, (*testserver.Server).Echo)
			mp, r := newProvider(t, withTemporality(temporality))
			c := newCounters(t, r, "db", temporality)

			first := newPool(t, srv, connpool.Config{Name: "db", MaxConns: 1})
			reg := instrument(t, first, connpoolotel.WithMeterProvider(mp))
			get(t, first).Close()
			tryGet(t, first, 2)
			c.collect("with the first pool")
			tryGet(t, first, 1)
			unregister(t, reg)

			second := newPool(t, srv, connpool.Config{Name: "db", MaxConns: 1})
			instrument(t, second, connpoolotel.WithMeterProvider(mp))
			c.collect("once the second pool is instrumented")
			get(t, second).Close()
			tryGet(t, second, 1)
			c.collect("after the second pool's Gets")

			a, b := first.Stats(), second.Stats()
			if a.GetsFromIdle != 3 || a.GetsWaited != 1 || a.Dials != 1 {
				t.Fatalf("the first pool's stats: %+v", a)
			}
			for _, o := range []struct {
				outcome string
				want    uint64
			}{
				{"idle", a.GetsFromIdle + b.GetsFromIdle},
				{"waited", a.GetsWaited + b.GetsWaited},
				{"canceled", a.GetsCanceled + b.GetsCanceled},
				{"failed", a.GetsFailed + b.GetsFailed},
			} {
				c.check(o.want, "connpool.gets", outcomeKey.String(o.outcome))
			}
			c.check(a.Dials+b.Dials, "connpool.dials")
			c.check(a.DialErrors+b.DialErrors, "connpool.dial_errors")
			c.check(a.Leaks+b.Leaks, "connpool.leaks")
			c.check(a.GetsTimedOut+b.GetsTimedOut, "db.client.connection.timeouts")
		})
	}
}

// TestReusedNameOtherKind gives a name in turn to a ConnPool, two
// TCPPools and a ConnPool again, each instrumented with the same meter
// provider once the one before is unregistered, and checks that no
// counter goes back: the counters both kinds have go on from every pool
// before, the others from the pools of their kind.
func TestReusedNameOtherKind(t *testing.T) {
	echo := testserver.Start(t, (*testserver.Server).Echo)
	sink := testserver.Start(t, nil)
	mp, r := newProvider(t)
	c := newCounters(t, r, "db", metricdata.CumulativeTemporality)

	conn1 := newPool(t, echo, connpool.Config{Name: "db", MaxConns: 1})
	reg := instrument(t, conn1, connpoolotel.WithMeterProvider(mp))
	get(t, conn1).Close()
	tryGet(t, conn1, 1)
	c.collect("with the first ConnPool")
	unregister(t, reg)

	var tcp [2]*connpool.TCPPool
	for i := range tcp {
		tcp[i] = dialTCPPool(t, connpool.TCPPoolConfig{Name: "db", Addrs: []string{sink.Addr()}, Size: 1})
		reg = instrument(t, tcp[i], connpoolotel.WithMeterProvider(mp))
		c.collect("once a TCPPool is instrumented")
		if _, err := tcp[i].Write([]byte("a line\n")); err != nil {
			t.Fatalf("Write: %v", err)
		}
		c.collect("after a TCPPool's Write")
		unregister(t, reg)
	}

	conn2 := newPool(t, echo, connpool.Config{Name: "db", MaxConns: 1})
	instrument(t, conn2, connpoolotel.WithMeterProvider(mp))
	c.collect("once the second ConnPool is instrumented")
	get(t, conn2).Close()
	c.collect("after the second ConnPool's Get")

	a, b := conn1.Stats(), conn2.Stats()
	s, u := tcp[0].Stats(), tcp[1].Stats()
	c.check(a.GetsFromIdle+b.GetsFromIdle, "connpool.gets", outcomeKey.String("idle"))
	c.check(a.GetsWaited+b.GetsWaited, "connpool.gets", outcomeKey.String("waited"))
	c.check(a.Dials+s.Dials+u.Dials+b.Dials, "connpool.dials")
	c.check(s.Writes+u.Writes, "connpool.writes")
	c.check(s.Bytes+u.Bytes, "connpool.written")
	if a.Dials+b.Dials != 2 || s.Writes+u.Writes != 2 {
		t.Errorf("the pools' stats: %+v, %+v, %+v, %+v", a, s, u, b)
	}
}

// A pool unregistered and instrumented again with the same provider (to
// change its options, say) reports each event once: what it counted
// before its Unregister is in the kept values and in its Stats both, and
// is not added a second time.
func TestPoolInstrumentedAgainCountsEachEventOnce(t *testing.T) {
	for _, temporality := range []metricdata.Temporality{metricdata.CumulativeTemporality, metricdata.DeltaTemporality} {
		t.Run(temporality.String(), func(t *testing.T) {
			srv := testserver.Start(t, (*testserver.Server).Echo)
			mp, r := newProvider(t, withTemporality(temporality))
			c := newCounters(t, r, "db", temporality)
			p := newPool(t, srv, connpool.Config{Name: "db", MaxConns: 1})

			reg := instrument(t, p, connpoolotel.WithMeterProvider(mp))
			get(t, p).Close()
			tryGet(t, p, 3)
			c.collect("in the first registration")
			unregister(t, reg)
			instrument(t, p, connpoolotel.WithMeterProvider(mp))
			tryGet(t, p, 1)
			c.collect("in the second registration")

			st := p.Stats()
			c.check(st.GetsFromIdle, "connpool.gets", outcomeKey.String("idle"))
			c.check(st.GetsWaited, "connpool.gets", outcomeKey.String("waited"))
			c.check(st.Dials, "connpool.dials")
		})
	}
}

// withTemporality has a reader report every instrument with temporality.
func withTemporality(temporality metricdata.Temporality) sdkmetric.ManualReaderOption {
	return sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality { return temporality })
}
