package connpoolotel_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/testserver"
	connpoolotel "github.com/seed-a245f091/connpool/otel"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A pool in use while it is unregistered and instrumented again, over and
// over, reports every event once: none that it counted while Unregister
// read its Stats is lost.
func TestPoolInstrumentedAgainUnderLoadLosesNoEvent(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	mp, r := newProvider(t, withTemporality(metricdata.CumulativeTemporality))
	c := newCounters(t, r, "db", metricdata.CumulativeTemporality)
	p := newPool(t, srv, connpool.Config{Name: "db", MaxConns: 4, MaxIdleConns: 4})
	for range 4 { // four idle connections
		defer get(t, p).Close()
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if conn, err := p.TryGet(); err == nil {
					conn.Close()
				}
			}
		}()
	}
	reg, err := connpoolotel.Instrument(p, connpoolotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if err := reg.Unregister(); err != nil {
			t.Fatal(err)
		}
		if reg, err = connpoolotel.Instrument(p, connpoolotel.WithMeterProvider(mp)); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	c.collect("after the re-instruments")
	unregister(t, reg)
	st := p.Stats()
	c.check(st.GetsFromIdle, "connpool.gets", outcomeKey.String("idle"))
	c.check(st.GetsFailed, "connpool.gets", outcomeKey.String("failed"))
}
