package connpoolotel

import (
	"context"

	"github.com/seed-a245f091/connpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/dbconv"
)

// The attributes of the pool's own instruments, and their values: those
// of the Prometheus exporter's outcome and reason labels.
const (
	outcomeKey = attribute.Key("connpool.get.outcome")
	reasonKey  = attribute.Key("connpool.close.reason")
)

var (
	outcomes = [...]string{"idle", "waited", "canceled", "failed"}
	reasons  = [...]string{"idle_timeout", "max_lifetime", "stale", "health_check", "max_idle", "unusable", "pool_closed", "reset"}
)

// Indexes in outcomes and reasons.
const (
	outcomeIdle = iota
	outcomeWaited
	outcomeCanceled
	outcomeFailed
)

const (
	reasonIdleTimeout = iota
	reasonMaxLifetime
	reasonStale
	reasonHealthCheck
	reasonMaxIdle
	reasonUnusable
	reasonPoolClosed
	reasonReset
)

// attrs are the attribute sets of one pool's measurements, as options
// built once, so that neither a callback nor an event builds a set.
type attrs struct {
	pool, idle, used metric.MeasurementOption
	outcome          [len(outcomes)]metric.MeasurementOption
	reason           [len(reasons)]metric.MeasurementOption
	record           []metric.RecordOption // pool, for the histograms
}

func newAttrs(name string) attrs {
	with := func(kv ...attribute.KeyValue) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(append(kv, semconv.DBClientConnectionPoolName(name))...))
	}
	a := attrs{
		pool: with(),
		idle: with(semconv.DBClientConnectionStateIdle),
		used: with(semconv.DBClientConnectionStateUsed),
	}
	for i, o := range outcomes {
		a.outcome[i] = with(outcomeKey.String(o))
	}
	for i, r := range reasons {
		a.reason[i] = with(reasonKey.String(r))
	}
	a.record = []metric.RecordOption{a.pool}
	return a
}

// builder makes a pool's instruments from meter, collecting the
// observables for the callback and the errors.
type builder struct {
	meter       metric.Meter
	attrs       attrs
	observables []metric.Observable
	errs        []error
}

func (b *builder) add(o metric.Observable, err error) {
	b.observables = append(b.observables, o)
	if err != nil {
		b.errs = append(b.errs, err)
	}
}

func (b *builder) counter(name, unit, desc string) metric.Int64ObservableCounter {
	c, err := b.meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	b.add(c, err)
	return c
}

func (b *builder) upDownCounter(name, unit, desc string) metric.Int64ObservableUpDownCounter {
	c, err := b.meter.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	b.add(c, err)
	return c
}

// observer returns the pool's observer, with its three histograms.
func (b *builder) observer() *observer {
	bounds := metric.WithExplicitBucketBoundaries(bucketBounds...)
	create, err1 := dbconv.NewClientConnectionCreateTime(b.meter, bounds)
	wait, err2 := dbconv.NewClientConnectionWaitTime(b.meter, bounds)
	use, err3 := dbconv.NewClientConnectionUseTime(b.meter, bounds)
	b.errs = append(b.errs, err1, err2, err3) // errors.Join drops the nils
	return &observer{create: create.Inst(), wait: wait.Inst(), use: use.Inst(), opts: b.attrs.record}
}

// upDown adds an UpDownCounter of the conventions, as dbconv makes it.
func (b *builder) upDown(i interface {
	Inst() metric.Int64ObservableUpDownCounter
}, err error) metric.Int64ObservableUpDownCounter {
	b.add(i.Inst(), err)
	return i.Inst()
}

// The instruments both pools have.
func (b *builder) connectionCount() metric.Int64ObservableUpDownCounter {
	return b.upDown(dbconv.NewClientConnectionCountObservable(b.meter))
}

func (b *builder) connectionMax() metric.Int64ObservableUpDownCounter {
	return b.upDown(dbconv.NewClientConnectionMaxObservable(b.meter))
}

func (b *builder) dials() (dials, dialErrors, closed metric.Int64ObservableCounter) {
	return b.counter("connpool.dials", "{dial}", "Dial attempts finished."),
		b.counter("connpool.dial_errors", "{error}", "Dial attempts that failed."),
		b.counter("connpool.closed_connections", "{connection}", "Connections the pool closed, by reason.")
}

// counts are the values of a pool's monotonic counters, those of both
// kinds of pool: a ConnPool leaves the TCPPool's at zero, a TCPPool the
// ConnPool's (and every close reason but stale).
type counts struct {
	gets                  [len(outcomes)]uint64
	timeouts, leaks       uint64
	dials, dialErrors     uint64
	closed                [len(reasons)]uint64
	writes, written       uint64
	failedWrites, retries uint64
	reconnects            uint64
}

func (c counts) plus(d counts) counts {
	return c.each(d, func(a, b uint64) uint64 { return a + b })
}

// minus returns c less d, field by field, with 0 where d is the larger.
func (c counts) minus(d counts) counts {
	return c.each(d, func(a, b uint64) uint64 { return a - min(a, b) })
}

// each returns the counts f makes of c's and d's, field by field.
func (c counts) each(d counts, f func(a, b uint64) uint64) counts {
	for i := range c.gets {
		c.gets[i] = f(c.gets[i], d.gets[i])
	}
	c.timeouts = f(c.timeouts, d.timeouts)
	c.leaks = f(c.leaks, d.leaks)
	c.dials = f(c.dials, d.dials)
	c.dialErrors = f(c.dialErrors, d.dialErrors)
	for i := range c.closed {
		c.closed[i] = f(c.closed[i], d.closed[i])
	}
	c.writes = f(c.writes, d.writes)
	c.written = f(c.written, d.written)
	c.failedWrites = f(c.failedWrites, d.failedWrites)
	c.retries = f(c.retries, d.retries)
	c.reconnects = f(c.reconnects, d.reconnects)
	return c
}

func connCounts(st connpool.Stats) counts {
	return counts{
		gets:       [...]uint64{outcomeIdle: st.GetsFromIdle, outcomeWaited: st.GetsWaited, outcomeCanceled: st.GetsCanceled, outcomeFailed: st.GetsFailed},
		timeouts:   st.GetsTimedOut,
		leaks:      st.Leaks,
		dials:      st.Dials,
		dialErrors: st.DialErrors,
		closed: [...]uint64{
			reasonIdleTimeout: st.ClosedIdleTimeout,
			reasonMaxLifetime: st.ClosedMaxLifetime,
			reasonStale:       st.ClosedStale,
			reasonHealthCheck: st.ClosedHealthCheck,
			reasonMaxIdle:     st.ClosedMaxIdle,
			reasonUnusable:    st.ClosedUnusable,
			reasonPoolClosed:  st.ClosedPoolClosed,
			reasonReset:       st.ClosedReset,
		},
	}
}

func tcpCounts(st connpool.TCPPoolStats) counts {
	var c counts
	c.dials = st.Dials
	c.dialErrors = st.DialErrors
	c.closed[reasonStale] = st.ClosedStale
	c.writes = st.Writes
	c.written = st.Bytes
	c.failedWrites = st.FailedWrites
	c.retries = st.Retries
	c.reconnects = st.Reconnects
	return c
}

// connPool makes a ConnPool's observable instruments and returns the
// callback that reads p's Stats into them, the counters as base plus what
// p counted since from.
func (b *builder) connPool(p connPool, base, from counts) metric.Callback {
	count := b.connectionCount()
	idleMax := b.upDown(dbconv.NewClientConnectionIdleMaxObservable(b.meter))
	idleMin := b.upDown(dbconv.NewClientConnectionIdleMinObservable(b.meter))
	maxConns := b.connectionMax()
	pending := b.upDown(dbconv.NewClientConnectionPendingRequestsObservable(b.meter))
	timeouts, err := dbconv.NewClientConnectionTimeoutsObservable(b.meter)
	b.add(timeouts.Inst(), err)
	gets := b.counter("connpool.gets", "{get}", "Gets that returned, by outcome: served from the idle list, after waiting, ended by their context, or failed.")
	dials, dialErrors, closed := b.dials()
	dialing := b.upDownCounter("connpool.dialing_connections", "{connection}", "Connections being dialled.")
	leaks := b.counter("connpool.leaks", "{leak}", "Checkouts held longer than the pool's leak threshold.")

	a := b.attrs
	return func(_ context.Context, o metric.Observer) error {
		st := p.Stats()
		o.ObserveInt64(count, int64(st.Idle), a.idle)
		o.ObserveInt64(count, int64(st.InUse), a.used)
		o.ObserveInt64(idleMax, int64(st.MaxIdleConns), a.pool)
		o.ObserveInt64(idleMin, int64(st.MinIdleConns), a.pool)
		o.ObserveInt64(maxConns, int64(st.MaxConns), a.pool)
		o.ObserveInt64(pending, int64(st.Waiting), a.pool)
		o.ObserveInt64(dialing, int64(st.Dialing), a.pool)

		c := base.plus(connCounts(st).minus(from))
		o.ObserveInt64(timeouts.Inst(), int64(c.timeouts), a.pool)
		for i, n := range c.gets {
			o.ObserveInt64(gets, int64(n), a.outcome[i])
		}
		o.ObserveInt64(dials, int64(c.dials), a.pool)
		o.ObserveInt64(dialErrors, int64(c.dialErrors), a.pool)
		for i, n := range c.closed {
			o.ObserveInt64(closed, int64(n), a.reason[i])
		}
		o.ObserveInt64(leaks, int64(c.leaks), a.pool)
		return nil
	}
}

// tcpPool is connPool for a TCPPool.
func (b *builder) tcpPool(p tcpPool, base, from counts) metric.Callback {
	count := b.connectionCount()
	maxConns := b.connectionMax()
	pending := b.upDown(dbconv.NewClientConnectionPendingRequestsObservable(b.meter))
	dials, dialErrors, closed := b.dials()
	writes := b.counter("connpool.writes", "{write}", "Writes that returned no error.")
	written := b.counter("connpool.written", "By", "Bytes written, those of Writes that failed part way included.")
	failed := b.counter("connpool.failed_writes", "{write}", "Writes that returned an error.")
	retries := b.counter("connpool.write_retries", "{retry}", "Attempts Writes made beyond their first.")
	reconnects := b.counter("connpool.reconnects", "{reconnect}", "Connections that replaced one that failed.")

	a := b.attrs
	return func(_ context.Context, o metric.Observer) error {
		st := p.Stats()
		o.ObserveInt64(count, int64(st.ConnsUp), a.used)
		o.ObserveInt64(maxConns, int64(st.Size), a.pool)
		o.ObserveInt64(pending, int64(st.Waiting), a.pool)

		c := base.plus(tcpCounts(st).minus(from))
		o.ObserveInt64(dials, int64(c.dials), a.pool)
		o.ObserveInt64(dialErrors, int64(c.dialErrors), a.pool)
		o.ObserveInt64(closed, int64(c.closed[reasonStale]), a.reason[reasonStale])
		o.ObserveInt64(writes, int64(c.writes), a.pool)
		o.ObserveInt64(written, int64(c.written), a.pool)
		o.ObserveInt64(failed, int64(c.failedWrites), a.pool)
		o.ObserveInt64(retries, int64(c.retries), a.pool)
		o.ObserveInt64(reconnects, int64(c.reconnects), a.pool)
		return nil
	}
}

var _ connpool.Observer = (*observer)(nil)
