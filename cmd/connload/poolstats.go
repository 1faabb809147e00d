package main

import "time"

// poolStats is what the pool under load reports, in connload's own terms,
// so that load.go alone knows connpool's types. The JSON names are those
// of connpool's metrics exporters, so that what a user sees here is what
// their dashboard shows. Gauges are values at one instant; counters count
// from the pool's start until sub turns them into the increase over a
// span, as a dashboard's increase() would.
type poolStats struct {
	// ConnPool (echo mode).
	Max     int `json:"connpool_max_connections"`
	Open    int `json:"connpool_open_connections"`
	Idle    int `json:"connpool_idle_connections"`
	InUse   int `json:"connpool_in_use_connections"`
	Dialing int `json:"connpool_dialing_connections"`
	Waiting int `json:"connpool_waiting_gets"`

	Gets       getsByOutcome  `json:"connpool_gets_total"`
	GetsDialed uint64         `json:"gets_waited_for_a_dial"` // of Gets.Waited, served by a new connection; no metric
	WaitTime   time.Duration  `json:"wait_ns"`                // the time Gets spent waiting, in all
	Dials      uint64         `json:"connpool_dials_total"`
	DialErrors uint64         `json:"connpool_dial_errors_total"`
	Closed     closedByReason `json:"connpool_closed_connections_total"`
	Leaks      uint64         `json:"connpool_leaks_total"`
}

// getsByOutcome is connpool_gets_total by its outcome label.
type getsByOutcome struct {
	Idle     uint64 `json:"idle"`     // served at once by an idle connection
	Waited   uint64 `json:"waited"`   // served after waiting
	Canceled uint64 `json:"canceled"` // ended by their context: -timeout, or the end of the run
	Failed   uint64 `json:"failed"`   // ended by a dial error or the pool's close
}

func (g getsByOutcome) total() uint64 { return g.Idle + g.Waited + g.Canceled + g.Failed }

func (g getsByOutcome) sub(b getsByOutcome) getsByOutcome {
	return getsByOutcome{g.Idle - b.Idle, g.Waited - b.Waited, g.Canceled - b.Canceled, g.Failed - b.Failed}
}

// closedByReason is connpool_closed_connections_total by its reason label.
type closedByReason struct {
	IdleTimeout uint64 `json:"idle_timeout"`
	MaxLifetime uint64 `json:"max_lifetime"`
	Stale       uint64 `json:"stale"`
	HealthCheck uint64 `json:"health_check"`
	MaxIdle     uint64 `json:"max_idle"`
	Unusable    uint64 `json:"unusable"`
	PoolClosed  uint64 `json:"pool_closed"`
	Reset       uint64 `json:"reset"`
}

// labelCount is one label of a counter, with what it means to a user.
type labelCount struct {
	label   string
	n       uint64
	meaning string
}

// reasons returns the reasons in the exporter's order, explained.
func (c closedByReason) reasons() []labelCount {
	return []labelCount{
		{"idle_timeout", c.IdleTimeout, "idle longer than -idle-timeout"},
		{"max_lifetime", c.MaxLifetime, "older than -max-lifetime"},
		{"stale", c.Stale, "found closed or reset by the server, by the kernel's word or a probe before reuse"},
		{"health_check", c.HealthCheck, "failed the health check"},
		{"max_idle", c.MaxIdle, "given back while -max-idle were idle"},
		{"unusable", c.Unusable, "closed after a request on it failed"},
		{"pool_closed", c.PoolClosed, "closed with the pool"},
		{"reset", c.Reset, "closed by a Reset of the pool"},
	}
}

func (c closedByReason) total() uint64 {
	var n uint64
	for _, r := range c.reasons() {
		n += r.n
	}
	return n
}

func (c closedByReason) sub(b closedByReason) closedByReason {
	return closedByReason{
		c.IdleTimeout - b.IdleTimeout, c.MaxLifetime - b.MaxLifetime, c.Stale - b.Stale,
		c.HealthCheck - b.HealthCheck, c.MaxIdle - b.MaxIdle, c.Unusable - b.Unusable,
		c.PoolClosed - b.PoolClosed, c.Reset - b.Reset,
	}
}

// sub returns s with its counters counted from base, an earlier snapshot
// of the same pool; the gauges stay s's.
func (s poolStats) sub(base poolStats) poolStats {
	s.Gets = s.Gets.sub(base.Gets)
	s.GetsDialed -= base.GetsDialed
	s.WaitTime -= base.WaitTime
	s.Dials -= base.Dials
	s.DialErrors -= base.DialErrors
	s.Closed = s.Closed.sub(base.Closed)
	s.Leaks -= base.Leaks
	return s
}

// tcpPoolStats is what a TCPPool reports (write mode), with the exporters'
// names, as poolStats.
type tcpPoolStats struct {
	Size    int `json:"connpool_max_connections"`
	ConnsUp int `json:"connpool_open_connections"`

	Writes       uint64 `json:"connpool_writes_total"`
	Bytes        uint64 `json:"connpool_written_bytes_total"`
	FailedWrites uint64 `json:"connpool_failed_writes_total"`
	Retries      uint64 `json:"connpool_write_retries_total"`
	Reconnects   uint64 `json:"connpool_reconnects_total"`
	Dials        uint64 `json:"connpool_dials_total"`
	DialErrors   uint64 `json:"connpool_dial_errors_total"`
}

func (s tcpPoolStats) sub(base tcpPoolStats) tcpPoolStats {
	s.Writes -= base.Writes
	s.Bytes -= base.Bytes
	s.FailedWrites -= base.FailedWrites
	s.Retries -= base.Retries
	s.Reconnects -= base.Reconnects
	s.Dials -= base.Dials
	s.DialErrors -= base.DialErrors
	return s
}

// stats is a snapshot of the pool under load: one of the two is set.
type stats struct {
	pool    *poolStats
	tcpPool *tcpPoolStats
}

// sub returns s with its counters counted from base.
func (s stats) sub(base stats) stats {
	if s.pool != nil && base.pool != nil {
		p := s.pool.sub(*base.pool)
		s.pool = &p
	}
	if s.tcpPool != nil && base.tcpPool != nil {
		p := s.tcpPool.sub(*base.tcpPool)
		s.tcpPool = &p
	}
	return s
}
