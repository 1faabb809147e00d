package connpool

import "time"

// The maintainer is one goroutine that closes idle connections past their
// idle timeout or lifetime, keeps MinIdleConns connections ready, dials for
// waiting Gets when a dial backoff ends, and reports checkouts held past
// LeakThreshold. It never dials itself, so nothing it waits on can hold it
// up, and no Get depends on it to learn the time. It runs only while it
// has something to do, so a pool without those settings and with no dial
// failing has no goroutine of its own (but the watcher, on Linux).

// maintainLocked starts the maintainer if it has work and is not running,
// or wakes it if it must dial before it planned to wake. Caller must hold
// p.mu.
func (p *ConnPool) maintainLocked() {
	if p.closed || p.starting {
		return
	}
	if p.maintaining {
		if p.dialDueBeforeLocked(p.maintWake) {
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

// shortLocked reports whether fewer than MinIdleConns connections are idle
// or being dialled, with room to dial more. Caller must hold p.mu.
func (p *ConnPool) shortLocked() bool {
	return p.idle.Len()+p.dialing < p.cfg.MinIdleConns && p.roomLocked()
}

// mayTopUpLocked reports whether the MinIdleConns top-up may dial at now:
// as any dial may (mayDialLocked), and not before topUpAt. Caller must hold
// p.mu.
func (p *ConnPool) mayTopUpLocked(now time.Duration) bool {
	return p.mayDialLocked(now) && now >= p.topUpAt
}

// dialDueBeforeLocked reports whether the maintainer must start a dial
// before t: for Gets that wait out the dial backoff, or for MinIdleConns
// once the top-up's backoff and the dial backoff allow. A dial in flight
// while dials fail reports its end itself. Caller must hold p.mu.
func (p *ConnPool) dialDueBeforeLocked(t time.Duration) bool {
	if p.waitingOnBackoffLocked() && p.retryAt < t {
		return true
	}
	due, ok := p.topUpDueLocked()
	return ok && due < t
}

// topUpDueLocked returns when the MinIdleConns top-up may dial next, as
// both the top-up's backoff and the dial backoff allow, and false if it is
// not short or waits for a dial in flight while dials fail. Caller must
// hold p.mu.
func (p *ConnPool) topUpDueLocked() (due time.Duration, ok bool) {
	if !p.shortLocked() || (p.dialErr != nil && p.dialing > 0) {
		return 0, false
	}
	due = p.topUpAt
	if p.dialErr != nil {
		due = max(due, p.retryAt)
	}
	return due, true
}

// maintenanceDueLocked reports whether the maintainer has anything to do or
// to wait for. Caller must hold p.mu.
func (p *ConnPool) maintenanceDueLocked() bool {
	if p.shortLocked() || p.waitingOnBackoffLocked() {
		return true
	}
	if p.leaksDue > 0 {
		return true // a checkout not yet reported as held too long
	}
	// Idle timeouts spare the MinIdleConns most recently returned.
	return (p.cfg.MaxLifetime > 0 && p.idle.Len() > 0) ||
		(p.cfg.IdleTimeout > 0 && p.idle.Len() > p.cfg.MinIdleConns)
}

// waitingOnBackoffLocked reports whether Gets wait for a dial that the dial
// backoff holds back. Caller must hold p.mu.
func (p *ConnPool) waitingOnBackoffLocked() bool {
	return p.dialErr != nil && p.dialing == 0 && p.waiters.Len() > 0 && p.roomLocked()
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
		if t := c.movedAt + p.cfg.IdleTimeout; d == 0 || t < d {
			d = t
		}
	}
	return d
}

func (p *ConnPool) maintain() {
	defer p.bg.Done()
	for {
		now := p.clock.Now()
		p.mu.Lock()
		if p.closed {
			p.maintaining = false
			p.mu.Unlock()
			return
		}
		p.maintWake = 0 // planning: nothing need kick it
		expired := p.reapLocked(now)
		for p.shortLocked() && p.mayTopUpLocked(now) {
			p.startDialLocked() // its result kicks us if it fails
		}
		p.dialForWaitersLocked(now)
		leaks, wake := p.leaksLocked(now)
		wake = earliest(wake, p.nextDeadlineLocked())
		if p.waitingOnBackoffLocked() {
			wake = earliest(wake, p.retryAt)
		}
		// Not a time already past, which would make the loop spin: the
		// top-up above dials if it may.
		if due, ok := p.topUpDueLocked(); ok && due > now {
			wake = earliest(wake, due)
		}
		if wake == 0 {
			p.maintaining = false
			p.mu.Unlock()
			p.closeAllSoon(expired)
			p.reportLeaks(leaks)
			return
		}
		p.maintWake = wake
		p.mu.Unlock()
		p.closeAllSoon(expired)
		p.reportLeaks(leaks)

		t := p.clock.TimerAt(wake)
		select {
		case <-t.C():
		case <-p.kick:
		case <-p.ctx.Done():
		}
		t.Stop()
	}
}

// earliest returns the earlier of two times, zero standing for none.
func earliest(a, b time.Duration) time.Duration {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

// reaped is an idle connection taken out to be closed, and why.
type reaped struct {
	c      *conn
	reason CloseReason
}

// reapLocked takes out of the idle list, and releases, the connections past
// their lifetime, and those idle longer than IdleTimeout as long as
// MinIdleConns remain. Caller must hold p.mu.
func (p *ConnPool) reapLocked(now time.Duration) []reaped {
	if !p.ages {
		return nil
	}
	var out []reaped
	// The idle list runs from the connection returned longest ago to the
	// latest, so the idle timeout takes the oldest first. Those past their
	// lifetime go whatever their place, so they are none of the spares.
	spare := p.idle.Len() - p.cfg.MinIdleConns
	for i := 0; i < p.idle.Len(); i++ {
		if p.idle.At(i).outlived(now) {
			spare--
		}
	}
	p.idle.Filter(func(c *conn) bool {
		if c.outlived(now) {
			out = append(out, reaped{c, CloseMaxLifetime})
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
	for i := 0; i < p.idle.Len(); i++ {
		next = earliest(next, p.idle.At(i).expiresAt)
	}
	return earliest(next, p.idleTimeoutDueLocked())
}

// idleTimeoutDueLocked returns when the oldest idle connection reaches its
// idle timeout, or zero if none will: only the connections beyond
// MinIdleConns time out, oldest first. Caller must hold p.mu.
func (p *ConnPool) idleTimeoutDueLocked() time.Duration {
	if p.cfg.IdleTimeout > 0 && p.idle.Len() > p.cfg.MinIdleConns {
		return p.idle.At(0).movedAt + p.cfg.IdleTimeout
	}
	return 0
}

// closeAllSoon is closeAll for the maintainer, which must not wait on a
// goodbye while dials may come due: connections whose close says none it
// closes at once, and if any says one, all of them in a goroutine of the
// pool's. Their slots stay taken until closed, so no Wait on p.bg can be
// under way.
func (p *ConnPool) closeAllSoon(rs []reaped) {
	for _, r := range rs {
		if r.c.mayWait(r.reason) {
			p.bg.Go(func() { p.closeAll(rs) })
			return
		}
	}
	p.closeAll(rs)
}
