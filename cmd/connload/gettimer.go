package main

import (
	"context"
	"sync/atomic"
	"time"
)

// getTimer gives up a client's Get at -timeout. A context with a deadline
// per Get would cost a timer, a context, a channel and a registration with
// the run's context, under its lock, on every request: a seventh of the
// default run's throughput. A getTimer instead keeps one timer and one
// context per client, re-arms the timer for each Get, and makes a new
// context only after one has been cancelled, on a timeout.
//
// The client calls arm and disarm, one Get at a time; the timer's
// function, fire, runs on a goroutine of its own, maybe late.
type getTimer struct {
	timeout time.Duration
	epoch   time.Time // armed counts from it
	timer   *time.Timer
	last    int64 // the latest value stored in armed; the client's alone

	// armed is the start of the Get in progress, in ns since epoch, each
	// value new so that fire's compare-and-swap cannot mistake one Get
	// for another; 0 between Gets, and -1 once fire has cancelled one.
	armed atomic.Int64
	// cur is the context of the Gets since the last timeout. The client
	// stores it before arming a Get with it, and replaces it only after
	// the Get is over, so a fire that found armed at a value finds cur as
	// it was for that Get.
	cur atomic.Pointer[getContext]
}

type getContext struct {
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc
}

func newGetTimer(timeout time.Duration) *getTimer {
	g := &getTimer{timeout: timeout, epoch: time.Now()}
	g.timer = time.AfterFunc(time.Hour, g.fire)
	g.timer.Stop()
	return g
}

// arm bounds a Get that began at start, and returns its context, which
// ends with parent, or when the Get has taken the timeout.
func (g *getTimer) arm(parent context.Context, start time.Time) context.Context {
	c := g.cur.Load()
	if c == nil || c.parent != parent {
		if c != nil {
			c.cancel()
		}
		ctx, cancel := context.WithCancel(parent)
		c = &getContext{parent: parent, ctx: ctx, cancel: cancel}
		g.cur.Store(c)
	}
	g.last = max(int64(start.Sub(g.epoch)), g.last+1)
	g.armed.Store(g.last)
	g.timer.Reset(g.timeout - time.Since(start))
	return c.ctx
}

// disarm ends the bound on the Get, and reports whether the timeout ended
// it (or was about to: the Get may have succeeded all the same).
func (g *getTimer) disarm() (fired bool) {
	g.timer.Stop()
	if g.armed.CompareAndSwap(g.last, 0) {
		return false
	}
	// fire has cancelled, or is about to cancel, the context: the next
	// Get takes a new one.
	g.armed.Store(0)
	if c := g.cur.Swap(nil); c != nil {
		c.cancel()
	}
	return true
}

// fire cancels the Get in progress if it has taken the timeout. A fire
// meant for an earlier Get, run late, finds the Get in progress younger
// and leaves it be: its own timer is armed.
func (g *getTimer) fire() {
	v := g.armed.Load()
	if v <= 0 || time.Since(g.epoch)-time.Duration(v) < g.timeout {
		return
	}
	c := g.cur.Load()
	if g.armed.CompareAndSwap(v, -1) && c != nil {
		c.cancel()
	}
}

// close releases the context, once the client is done.
func (g *getTimer) close() {
	g.timer.Stop()
	if c := g.cur.Swap(nil); c != nil {
		c.cancel()
	}
}
