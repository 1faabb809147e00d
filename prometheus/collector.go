package connpoolprom

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed-a245f091/connpool"
)

// Pool is a pool a [Collector] exports: a [*connpool.ConnPool] or a
// [*connpool.TCPPool], or a type that wraps one and has its Stats method
// too. (For the [connpool.Pool] that [connpool.NewChannelPool] returns,
// pass pool.(*connpool.ConnPool).)
type Pool interface {
	// Name is the pool's name, the value of its label on the series.
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

// DefBuckets are the histograms' bucket bounds, in seconds, unless
// [Opts].Buckets says otherwise: a Get served from the idle list waits
// microseconds, a dial over a network milliseconds, and a checkout lasts
// as long as its holder wants, so they span 10µs to 10s.
var DefBuckets = []float64{
	0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10,
}

// Opts are a [Collector]'s settings. The zero value is the default.
type Opts struct {
	// Buckets are the upper bounds of the histograms' buckets, in
	// seconds, as for [prometheus.HistogramOpts]. Nil means [DefBuckets].
	Buckets []float64

	// NativeHistogramBucketFactor, if more than 1, makes the histograms
	// native histograms too, with this growth factor from one bucket to
	// the next, as for [prometheus.HistogramOpts]; 1.1 is a good value. A
	// scrape that does not ask for native histograms still gets the
	// classic buckets. Zero means classic histograms only.
	NativeHistogramBucketFactor float64
}

// Collector is a [prometheus.Collector] of the metrics of one or many
// pools, listed in the package documentation. Make one with
// [NewCollector] or [NewCollectorOpts]; the zero value is not usable. It
// is safe for concurrent use: pools may be added and removed while it is
// scraped.
type Collector struct {
	descs           descs
	wait, use, dial *prometheus.HistogramVec
	err             error // from NewCollector, sent by Describe

	mu    sync.Mutex
	pools []member            // guarded by mu; replaced, never changed in place
	names map[string]struct{} // guarded by mu: the names in pools
}

// member is a pool in a Collector, under its name. One of conn and tcp is
// set.
type member struct {
	pool   Pool // as given to Add
	name   string
	conn   connPool
	tcp    tcpPool
	remove func() // removes the pool's observer
}

// NewCollector returns a Collector of pools with the default [Opts].
// Register it with a [prometheus.Registerer]: if a pool is of an unknown
// kind, has no name or one that is not valid UTF-8, or has the name of
// another, Register returns the error (and MustRegister panics with it),
// and no pool is observed.
func NewCollector(pools ...Pool) *Collector {
	return NewCollectorOpts(Opts{}, pools...)
}

// NewCollectorOpts is [NewCollector] with settings.
func NewCollectorOpts(opts Opts, pools ...Pool) *Collector {
	buckets := opts.Buckets
	if buckets == nil {
		buckets = DefBuckets
	}
	hist := func(name, help string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                        name,
			Help:                        help,
			Buckets:                     buckets,
			NativeHistogramBucketFactor: opts.NativeHistogramBucketFactor,
		}, []string{"pool"})
	}
	c := &Collector{
		descs: newDescs(),
		wait:  hist("connpool_wait_seconds", "Time a Get waited for its connection (for a TCPPool, a write attempt for a connection up)."),
		use:   hist("connpool_use_seconds", "Time a connection was checked out, from Get to its return (for a TCPPool, a write attempt took)."),
		dial:  hist("connpool_dial_seconds", "Time each dial took, failed ones included."),
		names: make(map[string]struct{}),
	}
	c.err = c.Add(pools...)
	return c
}

// Add adds pools to c, observing each from now on: the histograms count
// only what happens after. It returns an error, and adds none of them, if
// one is nil or of an unknown kind, has no name (see the package
// documentation) or one that is not valid UTF-8, or has the name of a
// pool in c or of another in pools.
// [Collector.Remove] removes one.
func (c *Collector) Add(pools ...Pool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	add := make([]member, 0, len(pools))
	seen := make(map[string]struct{}, len(pools))
	for i, p := range pools {
		m, err := newMember(p)
		if err != nil {
			return fmt.Errorf("connpoolprom: pool %d: %w", i, err)
		}
		_, dup := c.names[m.name]
		if _, twice := seen[m.name]; dup || twice {
			return fmt.Errorf("connpoolprom: pool %d: another pool is named %q: give each pool its own name", i, m.name)
		}
		seen[m.name] = struct{}{}
		add = append(add, m)
	}
	for i, m := range add {
		m.remove = pools[i].Observe(&observer{
			wait: c.wait.WithLabelValues(m.name),
			use:  c.use.WithLabelValues(m.name),
			dial: c.dial.WithLabelValues(m.name),
		})
		c.names[m.name] = struct{}{}
		c.pools = append(slices.Clip(c.pools), m)
	}
	return nil
}

// Remove removes p from c, for a pool that is closed or should no longer
// be exported: c stops observing it, and no longer exports its series,
// histograms included. Its name is free again for Add. It reports whether
// c had p: another pool of the same name is not p, and stays. (A pool of
// a type whose values cannot be compared with == is known by its name
// alone.)
func (c *Collector) Remove(p Pool) bool {
	if isNil(p) {
		return false
	}
	name := p.Name()
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.IndexFunc(c.pools, func(m member) bool { return m.name == name && samePool(m.pool, p) })
	if i < 0 {
		return false
	}
	c.pools[i].remove()
	c.pools = slices.Delete(slices.Clone(c.pools), i, i+1)
	delete(c.names, name)
	c.wait.DeleteLabelValues(name)
	c.use.DeleteLabelValues(name)
	c.dial.DeleteLabelValues(name)
	return true
}

func newMember(p Pool) (member, error) {
	if isNil(p) {
		return member{}, errors.New("nil pool")
	}
	m := member{pool: p, name: p.Name()}
	switch p := p.(type) {
	case connPool:
		m.conn = p
	case tcpPool:
		m.tcp = p
	default:
		return member{}, fmt.Errorf("%T is neither a *connpool.ConnPool nor a *connpool.TCPPool", p)
	}
	if m.name == "" {
		return member{}, errors.New("the pool has no name yet: set its Config.Name")
	}
	if !utf8.ValidString(m.name) {
		return member{}, fmt.Errorf("the pool's name %q is not valid UTF-8, which a label value must be", m.name)
	}
	return m, nil
}

// Describe sends the descriptors of every metric c may collect, whatever
// its pools; if NewCollector found an error, it sends an invalid
// descriptor with it first, so that registering c fails.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	if c.err != nil {
		ch <- prometheus.NewInvalidDesc(c.err)
	}
	for _, d := range c.descs.all() {
		ch <- d
	}
	c.wait.Describe(ch)
	c.use.Describe(ch)
	c.dial.Describe(ch)
}

// Collect sends the metrics of every pool, read from its Stats now, and
// the histograms.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	pools := c.pools // Add and Remove replace it: this one stays as it is
	c.mu.Unlock()
	for _, m := range pools {
		if m.conn != nil {
			c.descs.collectConnPool(ch, m.name, m.conn.Stats())
		} else {
			c.descs.collectTCPPool(ch, m.name, m.tcp.Stats())
		}
	}
	c.wait.Collect(ch)
	c.use.Collect(ch)
	c.dial.Collect(ch)
}

var _ prometheus.Collector = (*Collector)(nil)

// samePool reports whether a and b are the same pool: equal, for pools
// that can be compared, which pointers to pools can; true for any others.
func samePool(a, b Pool) bool {
	if !reflect.ValueOf(a).Comparable() || !reflect.ValueOf(b).Comparable() {
		return true
	}
	return a == b
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
