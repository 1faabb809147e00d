package connpoolotel

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"weak"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/seed-a245f091/connpool"
)

// ScopeName is the name of the meter the instruments come from.
const ScopeName = "github.com/seed-a245f091/connpool/otel"

// Pool is a pool [Instrument] reports on: a [*connpool.ConnPool] or a
// [*connpool.TCPPool], or a type that wraps one and has its Stats method
// too. (For the [connpool.Pool] that [connpool.NewChannelPool] returns,
// pass pool.(*connpool.ConnPool).)
type Pool interface {
	// Name is the pool's name, the value of db.client.connection.pool.name
	// on its metrics.
	Name() string
	// Observe adds an observer of the pool's waits, uses and dials, for
	// the histograms, and returns the function that removes it.
	Observe(connpool.Observer) (remove func())
}

// connPool and tcpPool tell the two kinds of Pool apart by their Stats.
type connPool interface {
	Stats() connpool.Stats
}

type tcpPool interface {
	Stats() connpool.TCPPoolStats
}

// Option is a setting of [Instrument].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config holds Instrument's settings; every default is set in Instrument.
type config struct {
	provider metric.MeterProvider
}

// WithMeterProvider reports through mp. Without it, or with nil,
// Instrument uses the global provider, [otel.GetMeterProvider], as it is
// when Instrument is called.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.provider = mp })
}

// bucketBounds are the histograms' advised bucket boundaries, in seconds,
// listed in the package documentation.
var bucketBounds = []float64{
	0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10,
}

// Registration is a pool's instrumentation, from [Instrument]. It is safe
// for concurrent use.
type Registration struct {
	reg    metric.Registration
	obs    *observer
	remove func() // removes obs from the pool
	claim  claim
	key    any           // the pool's key in the kept values (see poolKey)
	base   counts        // the kept values the callback adds to
	from   counts        // the pool's own counts that base includes already
	own    func() counts // the counters of the pool's Stats

	once sync.Once
	err  error
}

// Unregister stops reporting the pool: its callback is unregistered, and
// its observer is removed from the pool and records no event that starts
// after Unregister returns. The pool's name is free again for
// Instrument. Once the callback is unregistered, Unregister reads the
// pool's Stats a last time and keeps its counters' values as they were
// reported, from which a pool of the same name instrumented later with
// the same meter provider goes on, so that no counter goes back on its
// series; this pool, instrumented again, counts no event twice. The
// package documentation says which and how. Nothing is kept for a meter provider that cannot be compared.
// The histograms' series stay as they were: the SDK keeps the data points
// of synchronous instruments, and a pool of the same name instrumented
// again adds to them. It returns the error of unregistering the callback,
// the same at every call.
func (r *Registration) Unregister() error {
	r.once.Do(func() {
		r.obs.stopped.Store(true)
		r.remove()
		r.err = r.reg.Unregister()
		// One read of the Stats for both, as the pool may count on
		// meanwhile: what it counts after it, the next Instrument of
		// the pool reports.
		own := r.own()
		r.claim.release(r.base.plus(own.minus(r.from)), r.key, own)
	})
	return r.err
}

// Instrument reports p's metrics, listed in the package documentation,
// from now on: the observable instruments from p's Stats at each
// collection (so the counters include what happened before, and what the
// pools of the same name unregistered before counted, see
// [Registration.Unregister]), the histograms from the events after the
// call. It returns an error, and instruments nothing, if p is nil or of an
// unknown kind, has no name or the name of a pool already instrumented
// with the same meter provider, or if the meter provider fails to make an
// instrument or register the callback. Instrument is safe for concurrent
// use.
func Instrument(p Pool, opts ...Option) (*Registration, error) {
	var cfg config
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.provider == nil {
		cfg.provider = otel.GetMeterProvider()
	}
	if isNil(p) {
		return nil, errors.New("connpoolotel: nil pool")
	}
	name := p.Name()
	if name == "" {
		return nil, errors.New("connpoolotel: the pool has no name yet: set its Config.Name")
	}
	cp, isConn := p.(connPool)
	tp, isTCP := p.(tcpPool)
	if !isConn && !isTCP {
		return nil, fmt.Errorf("connpoolotel: %T is neither a *connpool.ConnPool nor a *connpool.TCPPool", p)
	}
	key := poolKey(p)
	c, base, from, err := claimName(cfg.provider, name, key)
	if err != nil {
		return nil, err
	}
	b := builder{
		meter: cfg.provider.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL)),
		attrs: newAttrs(name),
	}
	obs := b.observer()
	var callback metric.Callback
	if isConn {
		callback = b.connPool(cp, base, from)
	} else {
		callback = b.tcpPool(tp, base, from)
	}
	if err := errors.Join(b.errs...); err != nil {
		c.free()
		return nil, fmt.Errorf("connpoolotel: %w", err)
	}
	reg, err := b.meter.RegisterCallback(callback, b.observables...)
	if err != nil {
		c.free()
		return nil, fmt.Errorf("connpoolotel: registering the callback: %w", err)
	}
	remove := p.Observe(obs)
	own := func() counts { return tcpCounts(tp.Stats()) }
	if isConn {
		own = func() counts { return connCounts(cp.Stats()) }
	}
	return &Registration{reg: reg, obs: obs, remove: remove, claim: c, key: key, base: base, from: from, own: own}, nil
}

// poolKey returns a key that tells p apart from every other pool, for the
// values kept at its Unregister, without keeping p from being freed: a
// weak pointer to it. A type that wraps a pool has none, and nil is
// returned: each of its Instruments is taken for a pool of its own.
func poolKey(p Pool) any {
	switch p := p.(type) {
	case *connpool.ConnPool:
		return weak.Make(p)
	case *connpool.TCPPool:
		return weak.Make(p)
	}
	return nil
}

// freed reports whether the pool of key, from poolKey, has been freed.
func freed(key any) bool {
	switch k := key.(type) {
	case weak.Pointer[connpool.ConnPool]:
		return k.Value() == nil
	case weak.Pointer[connpool.TCPPool]:
		return k.Value() == nil
	}
	return true
}

// names holds, by meter provider, the pool names instrumented and not
// yet unregistered, and the counters' values that the pools of each name
// unregistered left, which the next pool of the name goes on from.
var names = struct {
	sync.Mutex
	m map[claim]nameState
}{m: make(map[claim]nameState)}

// nameState is a name's entry in names.
type nameState struct {
	taken bool   // by a pool instrumented and not unregistered
	base  counts // the counters' values the pools unregistered left
	// own holds, by poolKey, the counters of the Stats of each pool
	// unregistered, as base has them: a pool instrumented again reports
	// only what it counted since.
	own map[any]counts
}

// claim is a pool name taken for a meter provider. Its zero value claims
// nothing.
type claim struct {
	provider metric.MeterProvider
	name     string
}

// claimName takes name for mp, and returns the counters' values that the
// pools of that name before left, and those of the pool of key that they
// include, or returns an error if it is taken. A provider that is not
// comparable, so that it cannot be a map key, is not checked, and has
// nothing kept: the value, not only its type (a struct of a comparable
// type may hold a func in an interface field).
func claimName(mp metric.MeterProvider, name string, key any) (c claim, base, from counts, err error) {
	if !reflect.ValueOf(mp).Comparable() {
		return claim{}, counts{}, counts{}, nil
	}
	c = claim{mp, name}
	names.Lock()
	defer names.Unlock()
	st := names.m[c]
	if st.taken {
		return claim{}, counts{}, counts{}, fmt.Errorf("connpoolotel: a pool named %q is already instrumented with this meter provider: give each pool its own name", name)
	}
	if key != nil {
		from = st.own[key]
	}
	st.taken = true
	names.m[c] = st
	return c, st.base, from, nil
}

// free frees the name, keeping what was kept.
func (c claim) free() {
	if c.provider == nil {
		return
	}
	names.Lock()
	defer names.Unlock()
	st := names.m[c]
	st.taken = false
	if st.base == (counts{}) {
		delete(names.m, c)
	} else {
		names.m[c] = st
	}
}

// release frees the name, and keeps the counters' values as reported,
// totals, for the next pool of the name, and own, the counters of the
// Stats of the pool of key, which totals includes. A name whose counters
// are all zero leaves no entry.
func (c claim) release(totals counts, key any, own counts) {
	if c.provider == nil {
		return
	}
	names.Lock()
	defer names.Unlock()
	if totals == (counts{}) {
		delete(names.m, c)
		return
	}
	st := names.m[c]
	st.taken = false
	st.base = totals
	for k := range st.own {
		if freed(k) {
			delete(st.own, k)
		}
	}
	if key != nil {
		if st.own == nil {
			st.own = make(map[any]counts)
		}
		st.own[key] = own
	}
	names.m[c] = st
}

// isNil reports whether p is nil, or a nil pointer (or other nil value)
// under the interface, whose methods would panic. (The root module has the
// same check in an internal package, which this module, versioned apart
// from it, must not import.)
func isNil(p Pool) bool {
	if p == nil {
		return true
	}
	switch v := reflect.ValueOf(p); v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return v.IsNil()
	}
	return false
}
