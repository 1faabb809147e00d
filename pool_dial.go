package connpool

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/seed-a245f091/connpool/internal/sock"
)

// errClosedUnused is the dial error the pool records when a server closes
// a connection it accepted before the pool could use it once, as a server
// at its connection limit does: the pool then backs off as from a server
// that refuses, instead of dialling it again at once.
var errClosedUnused = errors.New("connpool: the server closed a new connection before its first use")

// dialForWaitersLocked starts one dial for each waiter not already covered
// by a dial in flight, as far as MaxConns allows. While dials fail it starts
// one at a time, and none before the backoff allows; the maintainer dials
// when it ends. Caller must hold p.mu.
func (p *ConnPool) dialForWaitersLocked(now time.Duration) {
	for p.waiters.Len() > p.dialing && p.roomLocked() {
		if !p.mayDialLocked(now) {
			p.maintainLocked()
			return
		}
		p.startDialLocked()
	}
}

// mayDialLocked reports whether a dial may start at now: always while
// dials succeed; while they fail, one at a time, once the backoff has
// passed. Caller must hold p.mu.
func (p *ConnPool) mayDialLocked(now time.Duration) bool {
	return p.dialErr == nil || (p.dialing == 0 && now >= p.retryAt)
}

// startDialLocked reserves a slot and dials in a new goroutine. Caller must
// hold p.mu.
func (p *ConnPool) startDialLocked() {
	p.open++
	p.dialing++
	gen := p.gen
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		p.dialAndDeliver(gen)
	}()
}

// dialAndDeliver runs a dial whose slot the caller reserved (open and
// dialing counted), in generation gen, and hands its result on: a
// connection to the longest waiter or the idle list, an error to the
// longest waiter. It returns the dial's error.
func (p *ConnPool) dialAndDeliver(gen uint32) error {
	nc, took, err := p.dialer.open(p.ctx, p.cfg.Addr)
	now := p.clock.Now()
	// The hooks run before the connection is used. One that panics leaves
	// no slot and no connection behind, then the panic goes on.
	delivered := false
	defer func() {
		if !delivered {
			defer func() { // also if the connection's Close panics
				p.mu.Lock()
				p.dialing--
				p.freeSlotLocked()
				p.mu.Unlock()
			}()
			if nc != nil {
				nc.Close()
			}
		}
	}()
	if p.cfg.OnDial != nil {
		p.cfg.OnDial(nc, err, took)
	}
	if obs := p.obs.load(); obs != nil {
		observeDial(obs, took, err)
	}
	// The connection's own methods that the pool calls to take it in
	// (RemoteAddr, and a wrapper's NetConn or SyscallConn) run here, not
	// under p.mu: a wrapper's that panics leaves no lock behind.
	var sk sock.Socket
	var name *string // the pool's name, if it has none yet
	if err == nil {
		sk.Init(nc)
		if p.name.Load() == nil {
			addr := remoteAddr(nc)
			name = &addr
		}
	}
	delivered = true

	p.mu.Lock()
	p.dialing--
	p.stats.dials++
	if err != nil {
		p.stats.dialErrors++
		if p.closed {
			// Most likely canceled by the pool's Close: no failure of the
			// server's, and nothing to back off from or to log.
			p.freeSlotLocked()
			p.mu.Unlock()
			return err
		}
		first := p.dialFailedLocked(err, now)
		p.freeSlotLocked()
		wait := p.retryAt - now
		p.mu.Unlock()
		p.logDialFailure(err, first, wait)
		return err
	}
	recovered, failures, since := p.dialSucceededLocked(now)
	if name != nil {
		p.name.CompareAndSwap(nil, name)
	}
	c := p.newConnLocked(nc, sk, now, gen)
	if p.closed || c.gen != p.gen {
		reason := CloseReset
		if p.closed {
			reason = ClosePoolClosed
		}
		p.releaseLocked(c, reason)
		p.mu.Unlock()
		p.closeConn(c, reason)
		return nil
	}
	watch, noWatch := p.watcherLocked()
	extra, d := p.deliverLocked(c, now, true)
	p.dialForWaitersLocked(now) // others may have waited while dials failed
	if p.maintained {
		// A top-up's connection handed to a Get leaves the pool short.
		p.maintainLocked()
	}
	p.mu.Unlock()
	d.send()
	if noWatch != nil {
		p.logNoWatcher(noWatch)
	}
	if recovered {
		p.logger().log(slog.LevelInfo, "dials recovered",
			slog.String("addr", p.cfg.Addr), slog.Uint64("failures", failures), slog.Duration("after", since))
	}
	if watch != nil {
		// After delivery, not before: the connection is in p.conns by now,
		// so no event can come for an id the pool does not know, and a
		// close that came first is reported as soon as it is added.
		watch.Add(&c.sock, c.token()) // an error leaves the probe to find a close
	}
	if extra != nil {
		p.closeConn(extra, CloseMaxIdle)
	}
	return nil
}

// dialFailedLocked records a failed dial at now: it sets the backoff before
// the next one and ends the longest wait with the error. It reports
// whether this failure began a run of them. Caller must hold p.mu.
func (p *ConnPool) dialFailedLocked(err error, now time.Duration) (first bool) {
	first = p.dialErr == nil
	p.dialErr = err
	p.retryAt = now + p.bo.next(now)
	// The error goes to the longest waiter: each waiting Get is owed one
	// dial, so while the server is down the Gets fail one by one, a
	// backoff step apart, rather than wait for ever or dial once each.
	p.failWaiterLocked(fmt.Errorf("connpool: dial: %w", err), now)
	p.maintainLocked()
	return first
}

// dialSucceededLocked ends a run of failed dials, if there was one, and
// reports it: how many failed and for how long. Caller must hold p.mu.
func (p *ConnPool) dialSucceededLocked(now time.Duration) (recovered bool, failures uint64, since time.Duration) {
	if p.dialErr == nil {
		return false, 0, 0
	}
	failures, since = uint64(p.bo.failures), p.bo.failingFor(now)
	p.dialErr = nil
	p.bo.reset()
	return true, failures, since
}

// logDialFailure logs a failed dial: at Warn the first of a run, at Debug
// the others, with the wait before the next attempt.
func (p *ConnPool) logDialFailure(err error, first bool, wait time.Duration) {
	level, msg := slog.LevelDebug, "dial failed again"
	if first {
		level, msg = slog.LevelWarn, "dial failed; backing off"
	}
	p.logger().log(level, msg,
		slog.String("addr", p.cfg.Addr), slog.String("err", err.Error()), slog.Duration("retry_in", wait))
}

// failWaiterLocked ends the longest wait, if any, with err. Caller must hold
// p.mu.
func (p *ConnPool) failWaiterLocked(err error, now time.Duration) {
	w, ok := p.waiters.PopFront()
	if !ok {
		return
	}
	p.stats.gets++
	p.stats.getsFailed++
	p.stats.waitTime += waited(w, now)
	w.ch <- handoff{err: err}
}
