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

// connPool makes a ConnPool's observable instruments and returns the
// callback that reads p's Stats into them.
func (b *builder) connPool(p connPool) metric.Callback {
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
		o.ObserveInt64(timeouts.Inst(), int64(st.GetsTimedOut), a.pool)

		o.ObserveInt64(gets, int64(st.GetsFromIdle), a.outcome[outcomeIdle])
		o.ObserveInt64(gets, int64(st.GetsWaited), a.outcome[outcomeWaited])
		o.ObserveInt64(gets, int64(st.GetsCanceled), a.outcome[outcomeCanceled])
		o.ObserveInt64(gets, int64(st.GetsFailed), a.outcome[outcomeFailed])
		o.ObserveInt64(dials, int64(st.Dials), a.pool)
		o.ObserveInt64(dialErrors, int64(st.DialErrors), a.pool)
		o.ObserveInt64(closed, int64(st.ClosedIdleTimeout), a.reason[reasonIdleTimeout])
		o.ObserveInt64(closed, int64(st.ClosedMaxLifetime), a.reason[reasonMaxLifetime])
		o.ObserveInt64(closed, int64(st.ClosedStale), a.reason[reasonStale])
		o.ObserveInt64(closed, int64(st.ClosedHealthCheck), a.reason[reasonHealthCheck])
		o.ObserveInt64(closed, int64(st.ClosedMaxIdle), a.reason[reasonMaxIdle])
		o.ObserveInt64(closed, int64(st.ClosedUnusable), a.reason[reasonUnusable])
		o.ObserveInt64(closed, int64(st.ClosedPoolClosed), a.reason[reasonPoolClosed])
		o.ObserveInt64(closed, int64(st.ClosedReset), a.reason[reasonReset])
		o.ObserveInt64(dialing, int64(st.Dialing), a.pool)
		o.ObserveInt64(leaks, int64(st.Leaks), a.pool)
		return nil
	}
}

// tcpPool makes a TCPPool's observable instruments and returns the
// callback that reads p's Stats into them.
func (b *builder) tcpPool(p tcpPool) metric.Callback {
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
		o.ObserveInt64(dials, int64(st.Dials), a.pool)
		o.ObserveInt64(dialErrors, int64(st.DialErrors), a.pool)
		o.ObserveInt64(closed, int64(st.ClosedStale), a.reason[reasonStale])
		o.ObserveInt64(writes, int64(st.Writes), a.pool)
		o.ObserveInt64(written, int64(st.Bytes), a.pool)
		o.ObserveInt64(failed, int64(st.FailedWrites), a.pool)
		o.ObserveInt64(retries, int64(st.Retries), a.pool)
		o.ObserveInt64(reconnects, int64(st.Reconnects), a.pool)
		return nil
	}
}

var _ connpool.Observer = (*observer)(nil)
