package connpool

import (
	"log/slog"
	"sync"

	"github.com/seed-a245f091/connpool/internal/sock"
)

// On Linux each pooled socket is added, once, to an epoll set of the
// pool's own (see sock.Watcher), and the watcher goroutine hears of a
// peer's FIN or RST as the kernel does, at any idle age, at no cost to Get
// or to the connection's traffic: an idle connection is closed at once
// (and MinIdleConns dials its replacement before anyone asks), one checked
// out is closed when it comes back. Elsewhere the probe alone finds them.

// watcherLocked returns the pool's watcher, starting it with the first
// connection, or nil if there is none on this platform or it could not be
// made; then, the first time only, also the error that the caller logs
// with logNoWatcher once p.mu is free. Caller must hold p.mu.
func (p *ConnPool) watcherLocked() (*sock.Watcher, error) {
	if p.watch != nil || p.watchOff || p.closed {
		return p.watch, nil
	}
	w, err := startWatching(&p.watchWG, p.peerGone)
	if w == nil {
		p.watchOff = true
		return nil, err
	}
	p.watch = w
	return w, nil
}

// startWatching makes a socket watcher and starts its goroutine, counted
// in wg, which tells gone of each watched socket's peer closing it, until
// the watcher's Close. It returns nil where the platform has no watcher,
// and nil and the error where the kernel would not make one (out of file
// descriptors, say), which the caller logs. ConnPool and TCPPool share it.
func startWatching(wg *sync.WaitGroup, gone func(token uint64)) (*sock.Watcher, error) {
	w, err := sock.NewWatcher()
	if err != nil {
		if !sock.WatchSupported {
			err = nil // none expected here
		}
		return nil, err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.Wait(gone)
	}()
	return w, nil
}

// logNoWatcher logs that the pool could not make its watcher, for err.
func (p *ConnPool) logNoWatcher(err error) {
	p.logger().log(slog.LevelWarn, "no socket watcher; stale connections are found by the probe alone",
		slog.String("err", err.Error()))
}

// peerGone is told by the watcher that the peer of the connection named
// token closed or reset it.
func (p *ConnPool) peerGone(token uint64) {
	if p.testHookGone != nil {
		defer p.testHookGone()
	}
	now := p.clock.Now()
	p.mu.Lock()
	c := p.connOfLocked(token)
	if c == nil || p.closed {
		p.mu.Unlock()
		return
	}
	if !p.idle.Remove(c) {
		c.dead = true // checked out: closed when it comes back
		p.mu.Unlock()
		return
	}
	// A server that closes connections before their first use (one at its
	// connection limit, say) would have the MinIdleConns top-up dial and
	// lose them in a tight loop: the top-up backs off instead, as from a
	// failed dial, until a connection is used again. Gets are not held
	// back: a connection dialled for a Get is used at once. For a
	// connection never lent, c.movedAt is the time of its dial; one lost
	// more than MaxDialBackoff after it (to the server's idle timeout,
	// say), or on a pool that tops nothing up, is no failed dial.
	unused := !c.lent && p.cfg.MinIdleConns > 0 && now-c.movedAt <= p.cfg.MaxDialBackoff
	first := false
	if unused {
		first = !p.topUp.failing()
		p.topUpAt = now + p.topUp.next(now)
	}
	p.releaseLocked(c, CloseStale)
	wait := p.topUpAt - now
	p.mu.Unlock()
	p.logger().log(slog.LevelInfo, "peer closed an idle connection", slog.String("addr", remoteAddr(c.nc)))
	if unused {
		p.logDialFailure(errClosedUnused, first, wait)
	}
	p.closeConn(c, CloseStale)
}
