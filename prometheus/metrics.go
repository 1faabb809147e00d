package connpoolprom

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/seed-a245f091/connpool"
)

// descs are the descriptors of the metrics read from Stats, made once per
// Collector.
type descs struct {
	open, idle, inUse, dialing, waiting, max                *prometheus.Desc
	gets, dials, dialErrors, closed, leaks                  *prometheus.Desc
	writes, writtenBytes, failedWrites, retries, reconnects *prometheus.Desc
}

func newDescs() descs {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append([]string{"pool"}, labels...), nil)
	}
	return descs{
		open:    desc("connpool_open_connections", "Connections open: idle, in use and being dialled (for a TCPPool, connections up)."),
		idle:    desc("connpool_idle_connections", "Connections idle in the pool."),
		inUse:   desc("connpool_in_use_connections", "Connections checked out."),
		dialing: desc("connpool_dialing_connections", "Connections being dialled."),
		waiting: desc("connpool_waiting_gets", "Gets waiting in line for a connection (for a TCPPool, Writes waiting for one to come up)."),
		max:     desc("connpool_max_connections", "Most connections the pool keeps open (for a TCPPool, its size)."),

		gets:       desc("connpool_gets_total", "Gets that returned, by outcome: served from the idle list, after waiting, ended by their context, or failed.", "outcome"),
		dials:      desc("connpool_dials_total", "Dial attempts finished."),
		dialErrors: desc("connpool_dial_errors_total", "Dial attempts that failed."),
		closed:     desc("connpool_closed_connections_total", "Connections the pool closed, by reason.", "reason"),
		leaks:      desc("connpool_leaks_total", "Checkouts held longer than the pool's leak threshold."),

		writes:       desc("connpool_writes_total", "Writes that returned no error."),
		writtenBytes: desc("connpool_written_bytes_total", "Bytes written, those of Writes that failed part way included."),
		failedWrites: desc("connpool_failed_writes_total", "Writes that returned an error."),
		retries:      desc("connpool_write_retries_total", "Attempts Writes made beyond their first."),
		reconnects:   desc("connpool_reconnects_total", "Connections that replaced one that failed."),
	}
}

func (d *descs) all() []*prometheus.Desc {
	return []*prometheus.Desc{
		d.open, d.idle, d.inUse, d.dialing, d.waiting, d.max,
		d.gets, d.dials, d.dialErrors, d.closed, d.leaks,
		d.writes, d.writtenBytes, d.failedWrites, d.retries, d.reconnects,
	}
}

// The values of connpool_closed_connections_total's reason label, one per
// connpool.CloseReason, and of connpool_gets_total's outcome label.
const (
	reasonIdleTimeout = "idle_timeout"
	reasonMaxLifetime = "max_lifetime"
	reasonStale       = "stale"
	reasonHealthCheck = "health_check"
	reasonMaxIdle     = "max_idle"
	reasonUnusable    = "unusable"
	reasonPoolClosed  = "pool_closed"
	reasonReset       = "reset"

	outcomeIdle     = "idle"
	outcomeWaited   = "waited"
	outcomeCanceled = "canceled"
	outcomeFailed   = "failed"
)

// emitter sends one pool's series, its pool label first.
type emitter struct {
	ch   chan<- prometheus.Metric
	pool string
}

func (e emitter) send(desc *prometheus.Desc, typ prometheus.ValueType, v float64, labels []string) {
	e.ch <- prometheus.MustNewConstMetric(desc, typ, v, append([]string{e.pool}, labels...)...)
}

func (e emitter) gauge(desc *prometheus.Desc, v int, labels ...string) {
	e.send(desc, prometheus.GaugeValue, float64(v), labels)
}

func (e emitter) counter(desc *prometheus.Desc, v uint64, labels ...string) {
	e.send(desc, prometheus.CounterValue, float64(v), labels)
}

func (d *descs) collectConnPool(ch chan<- prometheus.Metric, pool string, st connpool.Stats) {
	e := emitter{ch, pool}
	gauge, counter := e.gauge, e.counter
	gauge(d.open, st.Open)
	gauge(d.idle, st.Idle)
	gauge(d.inUse, st.InUse)
	gauge(d.dialing, st.Dialing)
	gauge(d.waiting, st.Waiting)
	gauge(d.max, st.MaxConns)

	counter(d.gets, st.GetsFromIdle, outcomeIdle)
	counter(d.gets, st.GetsWaited, outcomeWaited)
	counter(d.gets, st.GetsCanceled, outcomeCanceled)
	counter(d.gets, st.GetsFailed, outcomeFailed)
	counter(d.dials, st.Dials)
	counter(d.dialErrors, st.DialErrors)
	counter(d.closed, st.ClosedIdleTimeout, reasonIdleTimeout)
	counter(d.closed, st.ClosedMaxLifetime, reasonMaxLifetime)
	counter(d.closed, st.ClosedStale, reasonStale)
	counter(d.closed, st.ClosedHealthCheck, reasonHealthCheck)
	counter(d.closed, st.ClosedMaxIdle, reasonMaxIdle)
	counter(d.closed, st.ClosedUnusable, reasonUnusable)
	counter(d.closed, st.ClosedPoolClosed, reasonPoolClosed)
	counter(d.closed, st.ClosedReset, reasonReset)
	counter(d.leaks, st.Leaks)
}

func (d *descs) collectTCPPool(ch chan<- prometheus.Metric, pool string, st connpool.TCPPoolStats) {
	e := emitter{ch, pool}
	gauge, counter := e.gauge, e.counter
	gauge(d.open, st.ConnsUp)
	gauge(d.waiting, st.Waiting)
	gauge(d.max, st.Size)

	counter(d.writes, st.Writes)
	counter(d.writtenBytes, st.Bytes)
	counter(d.failedWrites, st.FailedWrites)
	counter(d.retries, st.Retries)
	counter(d.reconnects, st.Reconnects)
	counter(d.dials, st.Dials)
	counter(d.dialErrors, st.DialErrors)
	counter(d.closed, st.ClosedStale, reasonStale)
}
