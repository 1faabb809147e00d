package connpoolotel_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/pooltest"
	"github.com/seed-a245f091/connpool/internal/testserver"
	connpoolotel "github.com/seed-a245f091/connpool/otel"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// spec is what an instrument must be: its unit and kind.
type spec struct {
	unit string
	kind string // counter, updown or histogram
}

// The instruments of a ConnPool and of a TCPPool: the package
// documentation's lists.
var (
	connPoolInstruments = map[string]spec{
		"db.client.connection.count":            {"{connection}", "updown"},
		"db.client.connection.idle.max":         {"{connection}", "updown"},
		"db.client.connection.idle.min":         {"{connection}", "updown"},
		"db.client.connection.max":              {"{connection}", "updown"},
		"db.client.connection.pending_requests": {"{request}", "updown"},
		"db.client.connection.timeouts":         {"{timeout}", "counter"},
		"db.client.connection.create_time":      {"s", "histogram"},
		"db.client.connection.wait_time":        {"s", "histogram"},
		"db.client.connection.use_time":         {"s", "histogram"},
		"connpool.gets":                         {"{get}", "counter"},
		"connpool.dials":                        {"{dial}", "counter"},
		"connpool.dial_errors":                  {"{error}", "counter"},
		"connpool.closed_connections":           {"{connection}", "counter"},
		"connpool.dialing_connections":          {"{connection}", "updown"},
		"connpool.leaks":                        {"{leak}", "counter"},
	}
	tcpPoolInstruments = map[string]spec{
		"db.client.connection.count":            {"{connection}", "updown"},
		"db.client.connection.max":              {"{connection}", "updown"},
		"db.client.connection.pending_requests": {"{request}", "updown"},
		"db.client.connection.create_time":      {"s", "histogram"},
		"db.client.connection.wait_time":        {"s", "histogram"},
		"db.client.connection.use_time":         {"s", "histogram"},
		"connpool.dials":                        {"{dial}", "counter"},
		"connpool.dial_errors":                  {"{error}", "counter"},
		"connpool.closed_connections":           {"{connection}", "counter"},
		"connpool.writes":                       {"{write}", "counter"},
		"connpool.written":                      {"By", "counter"},
		"connpool.failed_writes":                {"{write}", "counter"},
		"connpool.write_retries":                {"{retry}", "counter"},
		"connpool.reconnects":                   {"{reconnect}", "counter"},
	}
	closeReasons = []string{"idle_timeout", "max_lifetime", "stale", "health_check", "max_idle", "unusable", "pool_closed", "reset"}
	bounds       = []float64{0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}
)

var (
	stateKey   = attribute.Key("db.client.connection.state")
	outcomeKey = attribute.Key("connpool.get.outcome")
	reasonKey  = attribute.Key("connpool.close.reason")
)

// TestConnPoolInstruments runs a known workload on two ConnPools, one of
// them unable to dial, and checks every instrument against their Stats
// and the histograms against the events: while a Get waits, and at the
// end.
func TestConnPoolInstruments(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	db := newPool(t, srv, connpool.Config{Name: "db", MaxConns: 2, MinIdleConns: 0, MaxIdleConns: 2})
	down := newPool(t, nil, connpool.Config{Name: "down", Dial: refusing, MaxConns: 1})
	mp, r := newProvider(t)
	instrument(t, db, connpoolotel.WithMeterProvider(mp))
	instrument(t, down, connpoolotel.WithMeterProvider(mp))

	returns := pooltest.Workload(t, db, down, func(st connpool.Stats, returns int) {
		checkConnPool(t, collect(t, r), st, 0, 2, returns, 0)
	})
	st, dst := db.Stats(), down.Stats()
	got := collect(t, r)
	checkConnPool(t, got, st, 0, 2, returns, 0)
	checkConnPool(t, got, dst, 0, 1, 0, 0)
}

// checkConnPool checks every instrument's data points for the pool of st
// against st and the idle limits, and the histograms' counts against the
// events: a wait for every Get that returned a connection, a use for each
// of the returns, and a dial for each dial after the first dialsBefore.
func checkConnPool(t *testing.T, got collected, st connpool.Stats, minIdle, maxIdle, returns int, dialsBefore uint64) {
	t.Helper()
	pool := st.Name
	checkSpecs(t, got, pool, connPoolInstruments)
	ps := set(pool)
	for _, m := range []struct {
		name      string
		monotonic bool
		want      int
	}{
		{"db.client.connection.idle.max", false, maxIdle},
		{"db.client.connection.idle.min", false, minIdle},
		{"db.client.connection.max", false, st.MaxConns},
		{"db.client.connection.pending_requests", false, st.Waiting},
		{"db.client.connection.timeouts", true, int(st.GetsTimedOut)},
		{"connpool.dials", true, int(st.Dials)},
		{"connpool.dial_errors", true, int(st.DialErrors)},
		{"connpool.dialing_connections", false, st.Dialing},
		{"connpool.leaks", true, int(st.Leaks)},
	} {
		if v := got.sum(m.name, m.monotonic, ps); v != int64(m.want) {
			t.Errorf("%s{pool=%q} = %d, want %d", m.name, pool, v, m.want)
		}
		if n := len(got.pointsOf(m.name, pool)); n != 1 {
			t.Errorf("%s has %d data points for pool %q, want 1", m.name, n, pool)
		}
	}
	labelled := func(name string, monotonic bool, key attribute.Key, want map[string]uint64) {
		t.Helper()
		for v, n := range want {
			if got := got.sum(name, monotonic, set(pool, key.String(v))); got != int64(n) {
				t.Errorf("%s{pool=%q,%s=%q} = %d, want %d", name, pool, key, v, got, n)
			}
		}
		if n := len(got.pointsOf(name, pool)); n != len(want) {
			t.Errorf("%s has %d data points for pool %q, want %d", name, n, pool, len(want))
		}
	}
	labelled("db.client.connection.count", false, stateKey, map[string]uint64{"idle": uint64(st.Idle), "used": uint64(st.InUse)})
	labelled("connpool.gets", true, outcomeKey, map[string]uint64{
		"idle": st.GetsFromIdle, "waited": st.GetsWaited, "canceled": st.GetsCanceled, "failed": st.GetsFailed,
	})
	labelled("connpool.closed_connections", true, reasonKey, map[string]uint64{
		"idle_timeout": st.ClosedIdleTimeout, "max_lifetime": st.ClosedMaxLifetime, "stale": st.ClosedStale,
		"health_check": st.ClosedHealthCheck, "max_idle": st.ClosedMaxIdle, "unusable": st.ClosedUnusable,
		"pool_closed": st.ClosedPoolClosed, "reset": st.ClosedReset,
	})
	checkHistogram(t, got, "db.client.connection.wait_time", pool, st.GetsFromIdle+st.GetsWaited)
	checkHistogram(t, got, "db.client.connection.use_time", pool, uint64(returns))
	checkHistogram(t, got, "db.client.connection.create_time", pool, st.Dials-dialsBefore)
}

// checkSpecs checks that pool has data points in exactly the instruments
// of specs, each of its unit and kind and with a description. A
// histogram has no data point for a pool until it records for it, so one
// without is let off here, for checkHistogram to check its count.
func checkSpecs(t *testing.T, got collected, pool string, specs map[string]spec) {
	t.Helper()
	var want []string
	for name, s := range specs {
		if s.kind == "histogram" && len(got.pointsOf(name, pool)) == 0 {
			continue
		}
		want = append(want, name)
		m := got.metrics[name]
		if m.Unit != s.unit {
			t.Errorf("%s has unit %q, want %q", name, m.Unit, s.unit)
		}
		if m.Description == "" {
			t.Errorf("%s has no description", name)
		}
		if s.kind == "histogram" {
			got.histogram(name, pool) // fails unless a histogram
		}
	}
	slices.Sort(want)
	if names := got.ofPool(pool); !slices.Equal(names, want) {
		t.Errorf("pool %s has data points in\n%v\nwant\n%v", pool, names, want)
	}
}

// checkHistogram checks that histogram name of pool has count
// observations in the advised buckets (and no data point if none).
func checkHistogram(t *testing.T, got collected, name, pool string, count uint64) {
	t.Helper()
	if count == 0 && len(got.pointsOf(name, pool)) == 0 {
		return
	}
	h := got.histogram(name, pool)
	if h.Count != count {
		t.Errorf("%s{pool=%q} has %d observations, want %d", name, pool, h.Count, count)
	}
	if !slices.Equal(h.Bounds, bounds) {
		t.Errorf("%s{pool=%q} has bounds %v, want %v", name, pool, h.Bounds, bounds)
	}
	var n uint64
	for _, c := range h.BucketCounts {
		n += c
	}
	if n != count || h.Sum < 0 || count == 0 && h.Sum != 0 {
		t.Errorf("%s{pool=%q}: %d in its buckets, sum %v, for %d observations", name, pool, n, h.Sum, count)
	}
}

// TestCloseReasons checks that every connpool.CloseReason has a data
// point, so that a reason added to the root package is not left out here.
func TestCloseReasons(t *testing.T) {
	if known := pooltest.CloseReasons(); known != len(closeReasons) {
		t.Fatalf("connpool has %d close reasons, the instruments report %d: %v", known, len(closeReasons), closeReasons)
	}
}

// TestIdleConns checks that the idle limits are the pool's Config.
func TestIdleConns(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	mp, r := newProvider(t)
	p := newPool(t, srv, connpool.Config{Name: "default", MaxConns: 4})
	q := newPool(t, srv, connpool.Config{Name: "given", MaxConns: 4, MinIdleConns: 1, MaxIdleConns: 3})
	instrument(t, p, connpoolotel.WithMeterProvider(mp))
	instrument(t, q, connpoolotel.WithMeterProvider(mp))
	got := collect(t, r)
	for _, c := range []struct {
		pool     string
		min, max int64
	}{{"default", 0, 4}, {"given", 1, 3}} {
		if v := got.sum("db.client.connection.idle.min", false, set(c.pool)); v != c.min {
			t.Errorf("%s: idle.min %d, want %d", c.pool, v, c.min)
		}
		if v := got.sum("db.client.connection.idle.max", false, set(c.pool)); v != c.max {
			t.Errorf("%s: idle.max %d, want %d", c.pool, v, c.max)
		}
	}
}

// TestTCPPoolInstruments writes through a TCPPool and checks every
// instrument against its Stats, and the histograms against the writes.
func TestTCPPoolInstruments(t *testing.T) {
	srv := testserver.Start(t, nil)
	logs := dialTCPPool(t, connpool.TCPPoolConfig{Name: "logs", Addrs: []string{srv.Addr()}, Size: 2})
	dialsBefore := logs.Stats().Dials // DialPool dials before the pool can be instrumented
	mp, r := newProvider(t)
	instrument(t, logs, connpoolotel.WithMeterProvider(mp))

	const writes, msg = 10, "a log line\n"
	for range writes {
		if _, err := logs.Write([]byte(msg)); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	srv.WaitTotal(writes * len(msg))
	st := logs.Stats()
	if st.Writes != writes || st.Bytes != writes*uint64(len(msg)) || st.FailedWrites != 0 || st.Retries != 0 ||
		st.Dials != 2 || st.DialErrors != 0 || st.ConnsUp != 2 || st.Size != 2 {
		t.Fatalf("stats after the writes: %+v", st)
	}
	checkTCPPool(t, collect(t, r), st, writes, dialsBefore)
}

// TestTCPPoolReconnect has the server close a TCPPool's connection and
// writes until the pool has replaced it, then checks every instrument
// against Stats: the stale close, the reconnect and the dials.
func TestTCPPoolReconnect(t *testing.T) {
	srv := testserver.Start(t, nil)
	logs := dialTCPPool(t, connpool.TCPPoolConfig{Name: "logs", Addrs: []string{srv.Addr()}, Size: 1})
	dialsBefore := logs.Stats().Dials
	mp, r := newProvider(t)
	instrument(t, logs, connpoolotel.WithMeterProvider(mp))

	st := pooltest.Reconnect(t, srv, logs)
	checkTCPPool(t, collect(t, r), st, -1, dialsBefore)
}

// TestTCPPoolWaiting checks that a Write waiting for a connection to come
// back shows in db.client.connection.pending_requests, and leaves it when
// it is done.
func TestTCPPoolWaiting(t *testing.T) {
	srv := testserver.Start(t, nil)
	logs, release := pooltest.WaitingWrite(t, srv, "logs")
	mp, r := newProvider(t)
	instrument(t, logs, connpoolotel.WithMeterProvider(mp))

	const pending = "db.client.connection.pending_requests"
	if got := collect(t, r).sum(pending, false, set("logs")); got != 1 {
		t.Errorf("%s with a Write waiting = %d, want 1", pending, got)
	}
	release()
	if got := collect(t, r).sum(pending, false, set("logs")); got != 0 {
		t.Errorf("%s once the Write is done = %d, want 0", pending, got)
	}
}

// checkTCPPool checks every instrument's data points for the TCPPool of
// st against st, and the histograms against the events: attempts write
// attempts on a connection (if not negative; otherwise as many waits as
// uses, and at least one per Write), and a dial for each dial after the
// first dialsBefore.
func checkTCPPool(t *testing.T, got collected, st connpool.TCPPoolStats, attempts int, dialsBefore uint64) {
	t.Helper()
	pool := st.Name
	checkSpecs(t, got, pool, tcpPoolInstruments)
	ps := set(pool)
	for _, m := range []struct {
		name      string
		monotonic bool
		attrs     attribute.Set
		want      int64
	}{
		{"db.client.connection.count", false, set(pool, stateKey.String("used")), int64(st.ConnsUp)},
		{"db.client.connection.max", false, ps, int64(st.Size)},
		{"db.client.connection.pending_requests", false, ps, int64(st.Waiting)},
		{"connpool.dials", true, ps, int64(st.Dials)},
		{"connpool.dial_errors", true, ps, int64(st.DialErrors)},
		{"connpool.closed_connections", true, set(pool, reasonKey.String("stale")), int64(st.ClosedStale)},
		{"connpool.writes", true, ps, int64(st.Writes)},
		{"connpool.written", true, ps, int64(st.Bytes)},
		{"connpool.failed_writes", true, ps, int64(st.FailedWrites)},
		{"connpool.write_retries", true, ps, int64(st.Retries)},
		{"connpool.reconnects", true, ps, int64(st.Reconnects)},
	} {
		if v := got.sum(m.name, m.monotonic, m.attrs); v != m.want {
			t.Errorf("%s%v = %d, want %d", m.name, m.attrs.ToSlice(), v, m.want)
		}
		if n := len(got.pointsOf(m.name, pool)); n != 1 {
			t.Errorf("%s has %d data points for pool %q, want 1", m.name, n, pool)
		}
	}
	if attempts >= 0 {
		checkHistogram(t, got, "db.client.connection.wait_time", pool, uint64(attempts))
		checkHistogram(t, got, "db.client.connection.use_time", pool, uint64(attempts))
	} else {
		waits := got.histogram("db.client.connection.wait_time", pool).Count
		uses := got.histogram("db.client.connection.use_time", pool).Count
		if waits != uses || waits < st.Writes {
			t.Errorf("%d waits and %d uses recorded for %d Writes", waits, uses, st.Writes)
		}
	}
	checkHistogram(t, got, "db.client.connection.create_time", pool, st.Dials-dialsBefore)
}

// TestRefused checks that Instrument refuses what it cannot report on
// apart: a pool named as another on the same provider, one with no name,
// nil, and something not a pool.
func TestRefused(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	mp, _ := newProvider(t)
	a := newPool(t, srv, connpool.Config{Name: "same", MaxConns: 1})
	b := newPool(t, srv, connpool.Config{Name: "same", MaxConns: 1})
	unnamed := newPool(t, nil, connpool.Config{Dial: refusing, MaxConns: 1})
	reg := instrument(t, a, connpoolotel.WithMeterProvider(mp))
	for _, tc := range []struct {
		name string
		pool connpoolotel.Pool
		want string
	}{
		{"same name", b, `named "same"`},
		{"same pool twice", a, `named "same"`},
		{"no name", unnamed, "no name"},
		{"nil", nil, "nil pool"},
		{"nil *ConnPool", (*connpool.ConnPool)(nil), "nil pool"},
		{"nil *TCPPool", (*connpool.TCPPool)(nil), "nil pool"},
		{"not a pool", fakePool{}, "neither"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := connpoolotel.Instrument(tc.pool, connpoolotel.WithMeterProvider(mp))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Instrument: %v, want an error saying %q", err, tc.want)
			}
		})
	}
	// Another provider, or the same once the first is unregistered, takes
	// the name.
	other, _ := newProvider(t)
	instrument(t, b, connpoolotel.WithMeterProvider(other))
	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	instrument(t, b, connpoolotel.WithMeterProvider(mp))
}

// fakePool has the methods of Pool but no Stats.
type fakePool struct{}

func (fakePool) Name() string                     { return "fake" }
func (fakePool) Observe(connpool.Observer) func() { return func() {} }

// TestUnregister checks that after Unregister the pool's observable
// instruments report nothing and its histograms count nothing more.
func TestUnregister(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	p := &pooltest.ObservedPool{ConnPool: newPool(t, srv, connpool.Config{Name: "db", MaxConns: 1})}
	mp, r := newProvider(t)
	reg := instrument(t, p, connpoolotel.WithMeterProvider(mp))
	get(t, p.ConnPool).Close()
	if n := collect(t, r).histogram("db.client.connection.use_time", "db").Count; n != 1 {
		t.Fatalf("use_time counts %d, want 1", n)
	}
	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	if err := reg.Unregister(); err != nil {
		t.Fatalf("second Unregister: %v", err)
	}
	if n := p.Attached(); n != 0 {
		t.Errorf("%d observers still attached to the pool after Unregister, want 0", n)
	}
	get(t, p.ConnPool).Close()
	got := collect(t, r)
	if n := got.histogram("db.client.connection.use_time", "db").Count; n != 1 {
		t.Errorf("use_time counts %d after Unregister, want still 1", n)
	}
	if pts := got.pointsOf("connpool.gets", "db"); len(pts) != 0 {
		t.Errorf("connpool.gets reports %d data points after Unregister", len(pts))
	}
}

// wrappedProvider is a user's meter provider of a comparable struct type
// whose field may hold a value that is not comparable.
type wrappedProvider struct{ metric.MeterProvider }

// funcProvider is a meter provider that cannot be compared.
type funcProvider struct {
	metric.MeterProvider
	hook func()
}

// TestUncomparableProvider checks that a meter provider that cannot be a
// map key, though its type is comparable, is taken without a panic.
func TestUncomparableProvider(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	mp, r := newProvider(t)
	p := newPool(t, srv, connpool.Config{Name: "wrapped", MaxConns: 1})
	instrument(t, p, connpoolotel.WithMeterProvider(wrappedProvider{funcProvider{mp, func() {}}}))
	get(t, p).Close()
	if v := collect(t, r).sum("connpool.gets", true, set("wrapped", outcomeKey.String("waited"))); v != 1 {
		t.Errorf("connpool.gets{waited} = %d, want 1", v)
	}
}

// TestGlobalProvider checks that Instrument reports through the global
// meter provider when given none.
func TestGlobalProvider(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	p := newPool(t, srv, connpool.Config{Name: "global", MaxConns: 1})
	mp, r := newProvider(t)
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(mp)
	t.Cleanup(func() { otel.SetMeterProvider(prev) })
	instrument(t, p)
	get(t, p).Close()
	if v := collect(t, r).sum("connpool.gets", true, set("global", outcomeKey.String("waited"))); v != 1 {
		t.Errorf("connpool.gets{waited} = %d through the global provider, want 1", v)
	}
}

// TestNoopProvider checks that the no-op provider, which is what the
// global one is before a program sets one, takes a pool without error.
func TestNoopProvider(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	p := newPool(t, srv, connpool.Config{Name: "noop", MaxConns: 1})
	instrument(t, p, connpoolotel.WithMeterProvider(noop.NewMeterProvider()))
	get(t, p).Close()
}

// TestCollectWhileBusy collects while goroutines Get and return a pool's
// connections and another pool is instrumented: under -race, every
// access the instruments make is checked.
func TestCollectWhileBusy(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	p := newPool(t, srv, connpool.Config{Name: "busy", MaxConns: 2})
	later := newPool(t, srv, connpool.Config{Name: "later", MaxConns: 1})
	mp, r := newProvider(t)
	instrument(t, p, connpoolotel.WithMeterProvider(mp))

	const workers, rounds = 4, 200
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				conn, err := p.Get(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				conn.Close()
			}
		})
	}
	var laterReg *connpoolotel.Registration
	wg.Go(func() {
		var err error
		if laterReg, err = connpoolotel.Instrument(later, connpoolotel.WithMeterProvider(mp)); err != nil {
			t.Error(err)
		}
	})
	var last uint64
	for range 5 {
		got := collect(t, r)
		if len(got.pointsOf("db.client.connection.use_time", "busy")) == 0 {
			continue // nothing returned yet
		}
		n := got.histogram("db.client.connection.use_time", "busy").Count
		if n < last {
			t.Errorf("use count went back from %d to %d", last, n)
		}
		last = n
	}
	wg.Wait()
	if laterReg != nil {
		defer laterReg.Unregister()
	}
	// A Get served before the dial it started finished leaves that dial
	// running.
	pooltest.WaitFor(t, "the dials to finish", func() bool { return p.Stats().Dialing == 0 })
	st := p.Stats()
	checkConnPool(t, collect(t, r), st, 0, 2, workers*rounds, 0)
}
