package connpool

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"
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
// goes on to the caller of the Get, Close or Write, or, for a background
// dial, ends the program as any unrecovered panic does.
type Observer interface {
	// ObserveWait is called for every Get and TryGet that returns a
	// connection, with the time from its call until it had the connection
	// (zero for a TryGet or a Get served at once without a probe); for a
	// TCPPool, for every Write, with the time it waited for a connection
	// to come up.
	ObserveWait(d time.Duration)
	// ObserveUse is called for every checkout given back, with the time
	// from Get to Close; for a TCPPool, for every Write, with the time the
	// write on its connection took.
	ObserveUse(d time.Duration)
	// ObserveDial is called after every dial, with how long it took and
	// its error, if any.
	ObserveDial(d time.Duration, err error)
}

// observers is the set of a pool's Observers, replaced whole when one is
// added, so that an event reads it with one atomic load and no lock: the
// cost of having none is that load.
type observers struct {
	p atomic.Pointer[[]Observer]
}

func (s *observers) add(o Observer) {
	for {
		old := s.p.Load()
		var next []Observer
		if old != nil {
			next = slices.Clip(*old)
		}
		next = append(next, o)
		if s.p.CompareAndSwap(old, &next) {
			return
		}
	}
}

// load returns the observers, or nil if there are none.
func (s *observers) load() []Observer {
	if p := s.p.Load(); p != nil {
		return *p
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
