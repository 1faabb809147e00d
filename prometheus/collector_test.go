package connpoolprom_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/pooltest"
	"github.com/seed-a245f091/connpool/internal/testserver"
	connpoolprom "github.com/seed-a245f091/connpool/prometheus"
)

// The families a ConnPool and a TCPPool have series in: the package
// documentation's lists, which the load tool prints under the same names.
var (
	connPoolFamilies = []string{
		"connpool_closed_connections_total",
		"connpool_dial_errors_total",
		"connpool_dial_seconds",
		"connpool_dialing_connections",
		"connpool_dials_total",
		"connpool_gets_total",
		"connpool_idle_connections",
		"connpool_in_use_connections",
		"connpool_leaks_total",
		"connpool_max_connections",
		"connpool_open_connections",
		"connpool_use_seconds",
		"connpool_wait_seconds",
		"connpool_waiting_gets",
	}
	tcpPoolFamilies = []string{
		"connpool_closed_connections_total",
		"connpool_dial_errors_total",
		"connpool_dial_seconds",
		"connpool_dials_total",
		"connpool_failed_writes_total",
		"connpool_max_connections",
		"connpool_open_connections",
		"connpool_reconnects_total",
		"connpool_use_seconds",
		"connpool_wait_seconds",
		"connpool_waiting_gets",
		"connpool_write_retries_total",
		"connpool_writes_total",
		"connpool_written_bytes_total",
	}
	closeReasons = []string{"health_check", "idle_timeout", "max_idle", "max_lifetime", "pool_closed", "reset", "stale", "unusable"}
	getOutcomes  = []string{"canceled", "failed", "idle", "waited"}
)

// TestConnPoolMetrics runs a known workload on two ConnPools, one of them
// unable to dial, and checks every metric of the scrape against their
// Stats and the histograms against the events: while a Get waits, and at
// the end.
func TestConnPoolMetrics(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	db := newPool(t, srv, connpool.Config{Name: "db", MaxConns: 2})
	down := newPool(t, nil, connpool.Config{Name: "down", Dial: refusing, MaxConns: 1})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(connpoolprom.NewCollector(db, down))
	s := newScraper(t, reg)

	returns := pooltest.Workload(t, db, down, func(st connpool.Stats, returns int) {
		checkConnPool(t, s.scrape(), st, returns, 0)
	})
	st, dst := db.Stats(), down.Stats()
	fams := s.scrape()
	checkConnPool(t, fams, st, returns, 0)
	checkConnPool(t, fams, dst, 0, 0)
}

// checkConnPool checks the scrape's series for the pool of st against st,
// and the histograms' counts against the events: a wait for every Get
// that returned a connection, a use for each of the returns, and a dial
// for each dial after the first dialsBefore, which were done before the
// pool was added.
func checkConnPool(t *testing.T, fams families, st connpool.Stats, returns int, dialsBefore uint64) {
	t.Helper()
	pool := st.Name
	if got := fams.ofPool(pool); !slices.Equal(got, connPoolFamilies) {
		t.Errorf("pool %s has series in\n%v\nwant\n%v", pool, got, connPoolFamilies)
	}
	for _, m := range []struct {
		name string
		want float64
	}{
		{"connpool_open_connections", float64(st.Open)},
		{"connpool_idle_connections", float64(st.Idle)},
		{"connpool_in_use_connections", float64(st.InUse)},
		{"connpool_dialing_connections", float64(st.Dialing)},
		{"connpool_waiting_gets", float64(st.Waiting)},
		{"connpool_max_connections", float64(st.MaxConns)},
		{"connpool_dials_total", float64(st.Dials)},
		{"connpool_dial_errors_total", float64(st.DialErrors)},
		{"connpool_leaks_total", float64(st.Leaks)},
	} {
		if got := fams.value(m.name, "pool", pool); got != m.want {
			t.Errorf("%s{pool=%q} = %v, want %v", m.name, pool, got, m.want)
		}
	}
	labelled := func(name, label string, want map[string]uint64) {
		t.Helper()
		for v, n := range want {
			if got := fams.value(name, label, v, "pool", pool); got != float64(n) {
				t.Errorf("%s{%s=%q,pool=%q} = %v, want %v", name, label, v, pool, got, n)
			}
		}
	}
	labelled("connpool_gets_total", "outcome", map[string]uint64{
		"idle": st.GetsFromIdle, "waited": st.GetsWaited, "canceled": st.GetsCanceled, "failed": st.GetsFailed,
	})
	if got := fams.labelValues("connpool_gets_total", pool, "outcome"); !slices.Equal(got, getOutcomes) {
		t.Errorf("outcomes %v, want %v", got, getOutcomes)
	}
	labelled("connpool_closed_connections_total", "reason", map[string]uint64{
		"idle_timeout": st.ClosedIdleTimeout, "max_lifetime": st.ClosedMaxLifetime, "stale": st.ClosedStale,
		"health_check": st.ClosedHealthCheck, "max_idle": st.ClosedMaxIdle, "unusable": st.ClosedUnusable,
		"pool_closed": st.ClosedPoolClosed, "reset": st.ClosedReset,
	})
	if got := fams.labelValues("connpool_closed_connections_total", pool, "reason"); !slices.Equal(got, closeReasons) {
		t.Errorf("reasons %v, want %v", got, closeReasons)
	}
	checkHistogram(t, fams, "connpool_wait_seconds", pool, st.GetsFromIdle+st.GetsWaited)
	checkHistogram(t, fams, "connpool_use_seconds", pool, uint64(returns))
	checkHistogram(t, fams, "connpool_dial_seconds", pool, st.Dials-dialsBefore)
}

// checkHistogram checks that histogram name of pool has count
// observations in DefBuckets (and +Inf, which the text format adds).
func checkHistogram(t *testing.T, fams families, name, pool string, count uint64) {
	t.Helper()
	h := fams.histogram(name, "pool", pool)
	if h.GetSampleCount() != count {
		t.Errorf("%s{pool=%q} has %d observations, want %d", name, pool, h.GetSampleCount(), count)
	}
	if h.GetSampleSum() < 0 || count == 0 && h.GetSampleSum() != 0 {
		t.Errorf("%s{pool=%q} sums to %v", name, pool, h.GetSampleSum())
	}
	var bounds []float64
	for _, b := range h.GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	want := append(slices.Clone(connpoolprom.DefBuckets), math.Inf(1))
	if !slices.Equal(bounds, want) {
		t.Errorf("%s{pool=%q} has buckets %v, want %v", name, pool, bounds, want)
	}
	if b := h.GetBucket(); len(b) > 0 && b[len(b)-1].GetCumulativeCount() != count {
		t.Errorf("%s{pool=%q} has %d in its +Inf bucket, want %d", name, pool, b[len(b)-1].GetCumulativeCount(), count)
	}
}

// TestCloseReasons checks that every connpool.CloseReason has a series,
// so that a reason added to the root package is not left out here.
func TestCloseReasons(t *testing.T) {
	if known := pooltest.CloseReasons(); known != len(closeReasons) {
		t.Fatalf("connpool has %d close reasons, the collector exports %d: %v", known, len(closeReasons), closeReasons)
	}
}

// TestTCPPoolMetrics writes through a TCPPool and checks every metric of
// the scrape against its Stats, and the histograms against the writes.
func TestTCPPoolMetrics(t *testing.T) {
	srv := testserver.Start(t, nil)
	logs := dialTCPPool(t, connpool.TCPPoolConfig{Name: "logs", Addrs: []string{srv.Addr()}, Size: 2})
	dialsBefore := logs.Stats().Dials // DialPool dials before the pool can be added
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(connpoolprom.NewCollector(logs))
	s := newScraper(t, reg)

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
	checkTCPPool(t, s.scrape(), st, writes, dialsBefore)
}

// TestTCPPoolReconnect has the server close a TCPPool's connection and
// writes until the pool has replaced it, then checks every metric against
// Stats: the stale close, the reconnect and the dials.
func TestTCPPoolReconnect(t *testing.T) {
	srv := testserver.Start(t, nil)
	logs := dialTCPPool(t, connpool.TCPPoolConfig{Name: "logs", Addrs: []string{srv.Addr()}, Size: 1})
	dialsBefore := logs.Stats().Dials
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(connpoolprom.NewCollector(logs))
	s := newScraper(t, reg)

	st := pooltest.Reconnect(t, srv, logs)
	checkTCPPool(t, s.scrape(), st, -1, dialsBefore)
}

// TestTCPPoolWaiting checks that a Write waiting for a connection to come
// back shows in connpool_waiting_gets, and leaves it when it is done.
func TestTCPPoolWaiting(t *testing.T) {
	srv := testserver.Start(t, nil)
	logs, release := pooltest.WaitingWrite(t, srv, "logs")
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(connpoolprom.NewCollector(logs))
	s := newScraper(t, reg)

	if got := s.scrape().value("connpool_waiting_gets", "pool", "logs"); got != 1 {
		t.Errorf("connpool_waiting_gets with a Write waiting = %v, want 1", got)
	}
	release()
	if got := s.scrape().value("connpool_waiting_gets", "pool", "logs"); got != 0 {
		t.Errorf("connpool_waiting_gets once the Write is done = %v, want 0", got)
	}
}

// checkTCPPool checks the scrape's series for the TCPPool of st against
// st, and the histograms against the events: attempts write attempts on a
// connection (if not negative; otherwise as many waits as uses, and at
// least one per Write), and a dial for each dial after the first
// dialsBefore.
func checkTCPPool(t *testing.T, fams families, st connpool.TCPPoolStats, attempts int, dialsBefore uint64) {
	t.Helper()
	pool := st.Name
	if got := fams.ofPool(pool); !slices.Equal(got, tcpPoolFamilies) {
		t.Errorf("pool %s has series in\n%v\nwant\n%v", pool, got, tcpPoolFamilies)
	}
	for _, m := range []struct {
		name string
		want float64
	}{
		{"connpool_open_connections", float64(st.ConnsUp)},
		{"connpool_max_connections", float64(st.Size)},
		{"connpool_waiting_gets", float64(st.Waiting)},
		{"connpool_writes_total", float64(st.Writes)},
		{"connpool_written_bytes_total", float64(st.Bytes)},
		{"connpool_failed_writes_total", float64(st.FailedWrites)},
		{"connpool_write_retries_total", float64(st.Retries)},
		{"connpool_reconnects_total", float64(st.Reconnects)},
		{"connpool_dials_total", float64(st.Dials)},
		{"connpool_dial_errors_total", float64(st.DialErrors)},
	} {
		if got := fams.value(m.name, "pool", pool); got != m.want {
			t.Errorf("%s{pool=%q} = %v, want %v", m.name, pool, got, m.want)
		}
	}
	if got := fams.value("connpool_closed_connections_total", "pool", pool, "reason", "stale"); got != float64(st.ClosedStale) {
		t.Errorf("connpool_closed_connections_total{pool=%q,reason=\"stale\"} = %v, want %v", pool, got, st.ClosedStale)
	}
	if got := fams.labelValues("connpool_closed_connections_total", pool, "reason"); !slices.Equal(got, []string{"stale"}) {
		t.Errorf("reasons %v, want only stale", got)
	}
	if attempts >= 0 {
		checkHistogram(t, fams, "connpool_wait_seconds", pool, uint64(attempts))
		checkHistogram(t, fams, "connpool_use_seconds", pool, uint64(attempts))
	} else {
		waits := fams.histogram("connpool_wait_seconds", "pool", pool).GetSampleCount()
		uses := fams.histogram("connpool_use_seconds", "pool", pool).GetSampleCount()
		if waits != uses || waits < st.Writes {
			t.Errorf("%d waits and %d uses observed for %d Writes", waits, uses, st.Writes)
		}
	}
	checkHistogram(t, fams, "connpool_dial_seconds", pool, st.Dials-dialsBefore)
}

// TestRefused checks that a collector of pools it cannot tell apart, or of
// something else, fails to register, and that Add refuses them too.
func TestRefused(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	a := newPool(t, srv, connpool.Config{Name: "same", MaxConns: 1})
	b := newPool(t, srv, connpool.Config{Name: "same", MaxConns: 1})
	unnamed := newPool(t, nil, connpool.Config{Dial: refusing, MaxConns: 1})
	other := newPool(t, srv, connpool.Config{Name: "other", MaxConns: 1})
	fine := newPool(t, srv, connpool.Config{Name: "fine", MaxConns: 1})
	notUTF8 := newPool(t, srv, connpool.Config{Name: "bad\xff", MaxConns: 1})
	for _, tc := range []struct {
		name  string
		pools []connpoolprom.Pool
		want  string
	}{
		{"same name", []connpoolprom.Pool{a, b}, `named "same"`},
		{"same pool twice", []connpoolprom.Pool{a, a}, `named "same"`},
		{"no name", []connpoolprom.Pool{unnamed}, "no name"},
		{"name not UTF-8", []connpoolprom.Pool{fine, notUTF8}, "UTF-8"},
		{"nil", []connpoolprom.Pool{nil}, "nil pool"},
		{"nil *ConnPool", []connpoolprom.Pool{(*connpool.ConnPool)(nil)}, "nil pool"},
		{"nil *TCPPool", []connpoolprom.Pool{(*connpool.TCPPool)(nil)}, "nil pool"},
		{"not a pool", []connpoolprom.Pool{fakePool{}}, "neither"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := prometheus.NewRegistry().Register(connpoolprom.NewCollector(tc.pools...))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Register: %v, want an error saying %q", err, tc.want)
			}
			c := connpoolprom.NewCollector(other)
			if err := c.Add(tc.pools...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Add: %v, want an error saying %q", err, tc.want)
			}
		})
	}
	c := connpoolprom.NewCollector(a)
	if err := c.Add(b); err == nil {
		t.Errorf("Add of a second pool named %q: no error", b.Name())
	}
	// An Add that fails adds none of its pools, not even those before the
	// one refused.
	c = connpoolprom.NewCollector(other)
	if err := c.Add(fine, notUTF8); err == nil {
		t.Fatal("Add of a pool whose name is not UTF-8: no error")
	}
	if err := c.Add(fine); err != nil {
		t.Errorf("Add(fine) after a failed Add(fine, notUTF8): %v, want nil", err)
	}
}

// fakePool has the methods of Pool but no Stats.
type fakePool struct{}

func (fakePool) Name() string                     { return "fake" }
func (fakePool) Observe(connpool.Observer) func() { return func() {} }

// TestAdd adds a pool to a registered collector, and checks that a second
// collector is refused by the registry rather than merged into the first.
func TestAdd(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	a := newPool(t, srv, connpool.Config{Name: "a", MaxConns: 1})
	b := newPool(t, srv, connpool.Config{Name: "b", MaxConns: 1})
	reg := prometheus.NewPedanticRegistry()
	c := connpoolprom.NewCollector()
	reg.MustRegister(c)
	if err := c.Add(a); err != nil {
		t.Fatal(err)
	}
	get(t, b).Close() // before b is added: not in b's histograms
	if err := c.Add(b); err != nil {
		t.Fatal(err)
	}
	get(t, a).Close()
	fams := newScraper(t, reg).scrape()
	checkConnPool(t, fams, a.Stats(), 1, 0)
	checkHistogram(t, fams, "connpool_wait_seconds", "b", 0)
	if got := fams.value("connpool_gets_total", "pool", "b", "outcome", "waited"); got != 1 {
		t.Errorf("b's Gets before it was added: %v, want 1", got)
	}
	if err := reg.Register(connpoolprom.NewCollector(newPool(t, srv, connpool.Config{Name: "c", MaxConns: 1}))); err == nil {
		t.Error("a second collector registered in the same registry")
	}
}

// TestRemove checks that a pool removed from a Collector has no series
// left and no observer attached, that the others keep theirs, that another
// pool of its name does not remove it, and that its name can be added
// again.
func TestRemove(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	a := &pooltest.ObservedPool{ConnPool: newPool(t, srv, connpool.Config{Name: "a", MaxConns: 1})}
	b := newPool(t, srv, connpool.Config{Name: "b", MaxConns: 1})
	reg := prometheus.NewPedanticRegistry()
	c := connpoolprom.NewCollector(a, b)
	reg.MustRegister(c)
	s := newScraper(t, reg)
	get(t, a.ConnPool).Close()
	get(t, b).Close()
	if got := s.scrape().ofPool("a"); !slices.Equal(got, connPoolFamilies) {
		t.Fatalf("pool a has series in %v before Remove, want %v", got, connPoolFamilies)
	}

	if c.Remove(newPool(t, srv, connpool.Config{Name: "a", MaxConns: 1})) {
		t.Error("Remove of another pool named a = true, want false")
	}
	if got := s.scrape().ofPool("a"); !slices.Equal(got, connPoolFamilies) {
		t.Fatalf("pool a has series in %v after Remove of another pool of its name, want %v", got, connPoolFamilies)
	}
	if !c.Remove(a) {
		t.Fatal("Remove(a) = false, want true")
	}
	if c.Remove(a) {
		t.Error("a second Remove(a) = true, want false")
	}
	if c.Remove(nil) || c.Remove((*connpool.ConnPool)(nil)) {
		t.Error("Remove of a nil pool = true, want false")
	}
	if n := a.Attached(); n != 0 {
		t.Errorf("%d observers still attached to a after Remove, want 0", n)
	}
	fams := s.scrape()
	if got := fams.ofPool("a"); len(got) != 0 {
		t.Errorf("pool a has series in %v after Remove, want none", got)
	}
	checkConnPool(t, fams, b.Stats(), 1, 0)

	if err := c.Add(a); err != nil {
		t.Fatalf("adding a again: %v", err)
	}
	get(t, a.ConnPool).Close()
	checkHistogram(t, s.scrape(), "connpool_use_seconds", "a", 1)
}

// TestOpts checks that Opts set the buckets and make native histograms.
func TestOpts(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	p := newPool(t, srv, connpool.Config{Name: "db", MaxConns: 1})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(connpoolprom.NewCollectorOpts(connpoolprom.Opts{Buckets: []float64{0.5, 1}, NativeHistogramBucketFactor: 1.1}, p))
	get(t, p).Close()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range fams {
		if f.GetName() != "connpool_wait_seconds" {
			continue
		}
		found++
		h := f.GetMetric()[0].GetHistogram()
		if len(h.GetBucket()) != 2 || h.GetBucket()[1].GetUpperBound() != 1 {
			t.Errorf("buckets %v, want 0.5 and 1", h.GetBucket())
		}
		if h.Schema == nil || h.GetSampleCount() != 1 {
			t.Errorf("not a native histogram of one observation: %v", h)
		}
	}
	if found != 1 {
		t.Errorf("%d families connpool_wait_seconds", found)
	}
}

// TestScrapeWhileBusy scrapes a pool while goroutines Get and return its
// connections and another pool is added: under -race, every access the
// collector makes is checked.
func TestScrapeWhileBusy(t *testing.T) {
	srv := testserver.Start(t, (*testserver.Server).Echo)
	p := newPool(t, srv, connpool.Config{Name: "busy", MaxConns: 2})
	later := newPool(t, srv, connpool.Config{Name: "later", MaxConns: 1})
	reg := prometheus.NewPedanticRegistry()
	c := connpoolprom.NewCollector(p)
	reg.MustRegister(c)
	s := newScraper(t, reg)

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
	wg.Go(func() {
		if err := c.Add(later); err != nil {
			t.Error(err)
		}
	})
	var last float64
	for range 5 {
		fams := s.scrape()
		got := fams.histogram("connpool_use_seconds", "pool", "busy").GetSampleCount()
		if float64(got) < last {
			t.Errorf("use count went back from %v to %v", last, got)
		}
		last = float64(got)
	}
	wg.Wait()
	// A Get served before the dial it started finished leaves that dial
	// running.
	pooltest.WaitFor(t, "the dials to finish", func() bool { return p.Stats().Dialing == 0 })
	st := p.Stats()
	checkConnPool(t, s.scrape(), st, workers*rounds, 0)
}
