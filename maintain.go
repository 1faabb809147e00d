package connpool

import "time"

// The maintainer is one goroutine that closes idle connections past their
// idle timeout or lifetime, keeps MinIdleConns connections ready, dials for
// waiting Gets when a dial backoff ends, and reads the clock for Gets while
// they come often (see nowLocked). It runs only while it has something to
// do, so a pool without those settings, with no dial failing and no Gets
// for a while, has no goroutine of its own.

// maintainLocked starts the maintainer if it has work and is not running.
// Caller must hold p.mu.
func (p *ConnPool) maintainLocked() {
	if p.closed {
		return
	}
	if p.maintaining {
		// A connection taken or closed may leave the pool short of
		// MinIdleConns; unless the maintainer is waiting out a backoff,
		// tell it now rather than at its next deadline.
		if !p.maintBackoff && p.idle.len() < p.cfg.MinIdleConns && p.open < p.cfg.MaxConns {
			p.kickMaintainer()
		}
		return
	}
	if !p.maintenanceDueLocked() {
		return
	}
	p.maintaining = true
	p.bg.Add(1)
	go p.maintain()
}

// maintenanceDueLocked reports whether the maintainer has anything to do or
// to wait for. Caller must hold p.mu.
func (p *ConnPool) maintenanceDueLocked() bool {
	if p.idle.len() < p.cfg.MinIdleConns && p.open < p.cfg.MaxConns {
		return true
	}
	if p.waitingOnBackoffLocked() || p.ticking {
		return true
	}
	// Idle timeouts spare the MinIdleConns most recently returned.
	return (p.cfg.MaxLifetime > 0 && p.idle.len() > 0) ||
		(p.cfg.IdleTimeout > 0 && p.idle.len() > p.cfg.MinIdleConns)
}

// waitingOnBackoffLocked reports whether Gets wait for a dial that the dial
// backoff holds back. Caller must hold p.mu.
func (p *ConnPool) waitingOnBackoffLocked() bool {
	return p.dialErr != nil && p.dialing == 0 && p.waiters.len() > 0 && p.open < p.cfg.MaxConns
}

// kickMaintainer wakes the maintainer to look again.
func (p *ConnPool) kickMaintainer() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// deadline returns when the idle connection c must be closed by, or zero.
func (p *ConnPool) deadline(c *conn) time.Duration {
	d := c.expiresAt
	if p.cfg.IdleTimeout > 0 {
		if t := c.returnedAt + p.cfg.IdleTimeout; d == 0 || t < d {
			d = t
		}
	}
	return d
}

func (p *ConnPool) maintain() {
	defer p.bg.Done()
	for {
		now := p.clock.Now()
		p.lock()
		if p.closed {
			p.maintaining, p.ticking = false, false
			p.mu.Unlock()
			return
		}
		if p.ticking {
			p.coarseNow = now
			if now-p.lastTick >= coarseTick {
				p.lastTick = now
				if p.busy {
					p.quiet = 0
				} else if p.quiet++; p.quiet >= quietTicks {
					p.ticking = false // Gets read the clock again
				}
				p.busy = false
			}
		}
		expired := p.reapLocked(now)
		short := p.idle.len() < p.cfg.MinIdleConns && p.open < p.cfg.MaxConns
		// The pool's dial backoff holds for the maintainer's dials too.
		retryAt := time.Duration(0)
		if p.dialErr != nil {
			retryAt = p.dialRetryAt
		}
		dial := short && now >= retryAt
		if dial {
			p.open++
			p.dialing++
		}
		wake := p.nextDeadlineLocked()
		if short && !dial && (wake == 0 || retryAt < wake) {
			wake = retryAt
		}
		if !dial && p.waitingOnBackoffLocked() {
			if now >= p.dialRetryAt {
				p.startDialLocked() // its result wakes us if it fails
			} else if wake == 0 || p.dialRetryAt < wake {
				wake = p.dialRetryAt
			}
		}
		if p.ticking {
			if t := p.lastTick + coarseTick; wake == 0 || t < wake {
				wake = t
			}
		}
		if !dial && wake == 0 {
			p.maintaining = false
			p.mu.Unlock()
			p.closeAll(expired)
			return
		}
		p.maintWake = wake
		p.maintBackoff = short && !dial
		p.mu.Unlock()
		p.closeAll(expired)

		if dial {
			p.dialAndDeliver()
			continue
		}
		t := p.clock.NewTimer(wake - now)
		select {
		case <-t.C():
		case <-p.kick:
		case <-p.ctx.Done():
		}
		t.Stop()
	}
}

// reaped is an idle connection the maintainer took out, and why.
type reaped struct {
	c      *conn
	reason CloseReason
}

// reapLocked takes out of the idle list, and releases, the connections past
// their lifetime, and those idle longer than IdleTimeout as long as
// MinIdleConns remain. Caller must hold p.mu.
func (p *ConnPool) reapLocked(now time.Duration) []reaped {
	var out []reaped
	// The idle list runs from the connection returned longest ago to the
	// latest, so the idle timeout takes the oldest first.
	spare := p.idle.len() - p.cfg.MinIdleConns
	p.idle.filter(func(c *conn) bool {
		if c.outlived(now) {
			out = append(out, reaped{c, CloseMaxLifetime})
			spare--
			return false
		}
		if spare > 0 && p.idledOut(c, now) {
			out = append(out, reaped{c, CloseIdleTimeout})
			spare--
			return false
		}
		return true
	})
	for _, r := range out {
		p.releaseLocked(r.c, r.reason)
	}
	return out
}

// nextDeadlineLocked returns the earliest time at which an idle connection
// will be due for reaping, or zero if none will. Caller must hold p.mu.
func (p *ConnPool) nextDeadlineLocked() time.Duration {
	var next time.Duration
	earlier := func(t time.Duration) {
		if t != 0 && (next == 0 || t < next) {
			next = t
		}
	}
	for i := 0; i < p.idle.len(); i++ {
		earlier(p.idle.at(i).expiresAt)
	}
	// Only the connections beyond MinIdleConns time out, oldest first.
	if p.cfg.IdleTimeout > 0 && p.idle.len() > p.cfg.MinIdleConns {
		earlier(p.idle.at(0).returnedAt + p.cfg.IdleTimeout)
	}
	return next
}

// closeAll closes connections reaped by reapLocked.
func (p *ConnPool) closeAll(rs []reaped) {
	for _, r := range rs {
		p.closeConn(r.c, r.reason)
	}
}
