package connpool

import (
	"context"
	"time"
)

// CloseReason says why a pool closed a connection. Its zero value is an
// unknown reason, which the pools never report.
type CloseReason int

const (
	// CloseIdleTimeout: idle longer than Config.IdleTimeout.
	CloseIdleTimeout CloseReason = iota + 1
	// CloseMaxLifetime: older than its share of Config.MaxLifetime.
	CloseMaxLifetime
	// CloseStale: the peer closed or reset it, or sent bytes nobody asked
	// for, as the probe or the kernel told the pool.
	CloseStale
	// CloseHealthCheck: Config.HealthCheck returned an error.
	CloseHealthCheck
	// CloseMaxIdle: returned while MaxIdleConns connections were idle.
	CloseMaxIdle
	// CloseUnusable: returned after PoolConn.MarkUnusable, or while a Read,
	// Write or deadline call on it was still in progress, or after a Read
	// or Write on it failed (if neither the pool's closing nor the peer's
	// close came first: those are ClosePoolClosed and CloseStale).
	CloseUnusable
	// ClosePoolClosed: the pool was closed or drained.
	ClosePoolClosed
	// CloseReset: dialled before the latest ConnPool.Reset.
	CloseReset

	numCloseReasons
)

var closeReasonNames = [numCloseReasons]string{
	"unknown", "idle timeout", "max lifetime", "stale", "health check", "over max idle", "unusable", "pool closed", "reset",
}

// String returns a short lower-case name for r, such as "idle timeout".
func (r CloseReason) String() string {
	if r < 0 || r >= numCloseReasons {
		return "unknown"
	}
	return closeReasonNames[r]
}

// Stats is a snapshot of a [ConnPool]'s state and of its counters since it
// was built. Counters never go backwards, and they add up:
//
//	Open == Idle + InUse + Dialing
//	Gets == GetsFromIdle + GetsWaited + GetsCanceled + GetsFailed
//	Dials - DialErrors - Closed() == Open - Dialing
//	GetsDialed <= GetsWaited
//	GetsTimedOut <= GetsCanceled
type Stats struct {
	Name         string // the pool's name (Config.Name)
	MaxConns     int    // Config.MaxConns
	MaxIdleConns int    // Config.MaxIdleConns, its default filled in
	MinIdleConns int    // Config.MinIdleConns
	Open         int    // idle + in use + dialling (not those being closed)
	Idle         int    // in the idle list
	InUse        int    // checked out
	Dialing      int    // dials in flight
	Waiting      int    // Gets waiting in line

	Gets         uint64        // Get and TryGet calls that have returned
	GetsFromIdle uint64        // served from the idle list without waiting
	GetsWaited   uint64        // served after waiting in line
	GetsDialed   uint64        // of GetsWaited, served by a new connection
	GetsCanceled uint64        // ended by their context, waiting or not
	GetsTimedOut uint64        // of GetsCanceled, ended by their context's deadline
	GetsFailed   uint64        // ended by a dial error, ErrClosed or ErrNotAvailable
	WaitTime     time.Duration // total time Gets spent in line, served or not

	Dials      uint64 // dial attempts finished, including InitialConns
	DialErrors uint64 // of Dials, those that failed

	ClosedIdleTimeout uint64 // closed for CloseIdleTimeout
	ClosedMaxLifetime uint64 // closed for CloseMaxLifetime
	ClosedStale       uint64 // closed for CloseStale
	ClosedHealthCheck uint64 // closed for CloseHealthCheck
	ClosedMaxIdle     uint64 // closed for CloseMaxIdle
	ClosedUnusable    uint64 // closed for CloseUnusable
	ClosedPoolClosed  uint64 // closed for ClosePoolClosed
	ClosedReset       uint64 // closed for CloseReset

	Leaks uint64 // checkouts held longer than Config.LeakThreshold
}

// Closed returns the number of connections the pool has closed, for any
// reason.
func (s Stats) Closed() uint64 {
	return s.ClosedIdleTimeout + s.ClosedMaxLifetime + s.ClosedStale + s.ClosedHealthCheck +
		s.ClosedMaxIdle + s.ClosedUnusable + s.ClosedPoolClosed + s.ClosedReset
}

// counters are a ConnPool's cumulative statistics, guarded by ConnPool.mu.
type counters struct {
	gets, getsFromIdle, getsWaited, getsDialed, getsCanceled, getsFailed uint64
	getsTimedOut                                                         uint64
	waitTime                                                             time.Duration
	dials, dialErrors                                                    uint64
	closed                                                               [numCloseReasons]uint64
	leaks                                                                uint64
}

// countCanceledLocked counts a Get ended by its context with err (ctx.Err()).
// Caller must hold p.mu.
func (p *ConnPool) countCanceledLocked(err error) {
	p.stats.gets++
	p.stats.getsCanceled++
	if err == context.DeadlineExceeded {
		p.stats.getsTimedOut++
	}
}

// Stats returns a snapshot of the pool's state and counters, taken at one
// instant. It is safe to call at any time, also after Close.
func (p *ConnPool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &p.stats
	return Stats{
		Name:         p.Name(),
		MaxConns:     p.cfg.MaxConns,
		MaxIdleConns: p.cfg.MaxIdleConns,
		MinIdleConns: p.cfg.MinIdleConns,
		Open:         p.open,
		Idle:         p.idle.Len(),
		InUse:        p.open - p.idle.Len() - p.dialing,
		Dialing:      p.dialing,
		Waiting:      p.waiters.Len(),

		Gets:         c.gets,
		GetsFromIdle: c.getsFromIdle,
		GetsWaited:   c.getsWaited,
		GetsDialed:   c.getsDialed,
		GetsCanceled: c.getsCanceled,
		GetsTimedOut: c.getsTimedOut,
		GetsFailed:   c.getsFailed,
		WaitTime:     c.waitTime,

		Dials:      c.dials,
		DialErrors: c.dialErrors,

		ClosedIdleTimeout: c.closed[CloseIdleTimeout],
		ClosedMaxLifetime: c.closed[CloseMaxLifetime],
		ClosedStale:       c.closed[CloseStale],
		ClosedHealthCheck: c.closed[CloseHealthCheck],
		ClosedMaxIdle:     c.closed[CloseMaxIdle],
		ClosedUnusable:    c.closed[CloseUnusable],
		ClosedPoolClosed:  c.closed[ClosePoolClosed],
		ClosedReset:       c.closed[CloseReset],

		Leaks: c.leaks,
	}
}
