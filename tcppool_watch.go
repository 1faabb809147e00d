package connpool

import (
	"log/slog"
)

// On Linux each connection of a TCPPool that probes (ProbeAfter not
// negative) is added, once, by the probe before its first Write, to an
// epoll set of the pool's own (see sock.Watcher), as a ConnPool's are, so
// that the pool hears of a peer's FIN or RST as the kernel does. It then
// makes the next Write on the connection probe it, however recently the
// connection was written to, and so move on to another one: without it, a
// Write within ProbeAfter of the one before goes onto a connection whose
// server may have closed it since, and is lost once the server stops
// reading. Elsewhere the probe after ProbeAfter alone finds them.

// startWatcher makes the pool's socket watcher and starts its goroutine,
// if the pool probes at all and the platform has one. It is called as the
// pool is made, before anything else runs.
func (p *TCPPool) startWatcher() {
	if p.probeGap < 0 {
		return
	}
	w, err := startWatching(&p.wg, p.peerGone)
	if err != nil {
		p.log.log(slog.LevelWarn, "no socket watcher; closed connections are found by the probe alone",
			slog.String("err", err.Error()))
	}
	if w == nil {
		return
	}
	p.watch = w
	p.watched = make(map[uint64]*liveConn)
}

// peerGone is told by the watcher that the peer of the connection named
// token closed or reset it. It makes the next Write on it probe it, as on
// a connection just installed, or a probe under way look again; the
// probe's verdict does the rest, as after an idle time (see checkIdle).
// It never waits on a probe, which runs a wrapper's own Control.
func (p *TCPPool) peerGone(token uint64) {
	if h := p.testHookGone.Load(); h != nil {
		defer (*h)()
	}
	p.liveMu.Lock()
	lc := p.watched[token]
	p.liveMu.Unlock()
	if lc == nil {
		return // closed since
	}
	for {
		last := lc.lastWrite.Load()
		switch {
		case last == probing:
			// A probe under way may have looked before the close came:
			// tell it to look again, rather than wait for it.
			if lc.lastWrite.CompareAndSwap(probing, probingHeard) {
				return
			}
			continue
		case last < 0:
			return // found gone already, or due for its probe
		}
		if lc.lastWrite.CompareAndSwap(last, unprobed) {
			return
		}
	}
}
