package connpool

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/seed-a245f091/connpool/internal/isnil"
)

// Observer receives a pool's events as they happen, with their durations,
// for what [ConnPool.Stats] cannot give: histograms of the time Gets wait,
// the time connections are held, and the time dials take. The exporters in
// the prometheus and otel modules are Observers; add one with
// [ConnPool.Observe] or [TCPPool.Observe].
//
// Its methods are called on the goroutines of the events, without the
// pool's lock held, from many goroutines at once: they must be safe for
// concurrent use and quick, as they run on every Get and return. A method
// that panics does not leave the pool short of a connection; the panic
// goes on to the caller of the Get, TryGet, Close, Drain or Write, or, for
// a background dial, ends the program as any unrecovered panic does.
type Observer interface {
	// ObserveWait is called for every Get and TryGet that returns a
	// connection, with the time from its call until it had the connection
	// (zero for a TryGet or a Get served at once without a probe); for a
	// TCPPool, for every write attempt on a connection (a Write that is
	// retried makes several), with the time from the Write's call until
	// the attempt had its connection. A Write that never finds one up is
	// not observed.
	ObserveWait(d time.Duration)
	// ObserveUse is called for every checkout given back, with the time
	// from Get to Close; for a TCPPool, for every write attempt on a
	// connection, with the time the write took.
	ObserveUse(d time.Duration)
	// ObserveDial is called after every dial, with how long it took and
	// its error, if any.
	ObserveDial(d time.Duration, err error)
}

// observers is the set of a pool's Observers, replaced whole when one is
// added or removed, so that an event reads it with one atomic load and no
// lock: the cost of having none is that load.
type observers struct {
	set    atomic.Pointer[observerSet] // nil while there are none
	lastID atomic.Uint64
}

// observerSet is one version of a pool's observers: list[i] was added
// under ids[i].
type observerSet struct {
	list []Observer
	ids  []uint64
}

// add adds o, unless it is nil, and returns the function that removes it.
func (s *observers) add(o Observer) (remove func()) {
	if isnil.Value(o) { // a nil pointer too: its methods would panic in Get
		return func() {}
	}
	id := s.lastID.Add(1)
	s.update(func(old observerSet) observerSet {
		return observerSet{
			list: append(slices.Clip(old.list), o),
			ids:  append(slices.Clip(old.ids), id),
		}
	})
	return func() {
		s.update(func(old observerSet) observerSet {
			i := slices.Index(old.ids, id)
			if i < 0 {
				return old
			}
			return observerSet{
				list: slices.Delete(slices.Clone(old.list), i, i+1),
				ids:  slices.Delete(slices.Clone(old.ids), i, i+1),
			}
		})
	}
}

// update replaces the set with what next makes of it; an empty one is
// stored as nil.
func (s *observers) update(next func(observerSet) observerSet) {
	for {
		old := s.set.Load()
		var cur observerSet
		if old != nil {
			cur = *old
		}
		n := next(cur)
		var p *observerSet
		if len(n.list) > 0 {
			p = &n
		}
		if s.set.CompareAndSwap(old, p) {
			return
		}
	}
}

// load returns the observers, or nil if there are none.
func (s *observers) load() []Observer {
	if p := s.set.Load(); p != nil {
		return p.list
	}
	return nil
}

func observeWait(obs []Observer, d time.Duration) {
	for _, o := range obs {
		o.ObserveWait(d)
	}
}

func observeUse(obs []Observer, d time.Duration) {
	for _, o := range obs {
		o.ObserveUse(d)
	}
}

func observeDial(obs []Observer, d time.Duration, err error) {
	for _, o := range obs {
		o.ObserveDial(d, err)
	}
}

// logger writes a pool's log records, with the pool's name on each; its
// zero value, or one with a nil slog.Logger, is silent.
type logger struct {
	l    *slog.Logger
	name string
}

func (lg logger) log(level slog.Level, msg string, attrs ...slog.Attr) {
	if lg.l == nil {
		return
	}
	ctx := context.Background()
	if !lg.l.Enabled(ctx, level) {
		return
	}
	lg.l.LogAttrs(ctx, level, msg, append([]slog.Attr{slog.String("pool", lg.name)}, attrs...)...)
}
