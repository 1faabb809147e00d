package connpool

import (
	"math"
	"time"
)

// SetDeadline sets the read and write deadlines; see SetReadDeadline and
// SetWriteDeadline.
func (p *TCPPool) SetDeadline(t time.Time) error {
	if err := p.SetReadDeadline(t); err != nil {
		return err
	}
	return p.SetWriteDeadline(t)
}

// SetWriteDeadline sets the deadline of Writes, on every connection now
// and every connection dialled later; a zero t means none. Writes waiting
// for a connection see the change at once. It returns an error wrapping
// [net.ErrClosed] after Close.
func (p *TCPPool) SetWriteDeadline(t time.Time) error {
	return p.setDeadline(t, &p.wdlTime, &p.wdl, func(lc *liveConn) { lc.SetWriteDeadline(t) })
}

// SetReadDeadline sets the deadline of Reads, on every connection now and
// every connection dialled later (once reader goroutines run, Read itself
// enforces it); a zero t means none. A Read waiting sees the change at
// once. It returns an error wrapping [net.ErrClosed] after Close.
func (p *TCPPool) SetReadDeadline(t time.Time) error {
	return p.setDeadline(t, &p.rdlTime, &p.rdl, func(lc *liveConn) {
		if !p.readers {
			lc.SetReadDeadline(t)
		}
	})
}

// setDeadline records a deadline t in given and ns, applies it to every
// open connection with apply (called holding p.mu; an error from the
// connection means it just failed, and its replacement gets t), those
// that SetPoolSize removed but Writes still use included, and wakes the
// waiting Reads and Writes.
func (p *TCPPool) setDeadline(t time.Time, given *time.Time, ns interface{ Store(int64) }, apply func(*liveConn)) error {
	if p.slots.Load() == nil {
		return errNotDialled
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return errTCPPoolClosed
	}
	*given = t
	ns.Store(unixNano(t))
	p.liveMu.Lock()
	for lc := range p.live {
		apply(lc)
	}
	p.liveMu.Unlock()
	p.wakeLocked()
	return nil
}

// unixNano turns a deadline into the pool's atomic form: 0 for none, and
// never 0 otherwise; a deadline beyond what int64 nanoseconds hold is
// as good as none but still counts as set.
func unixNano(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Year() >= 2262:
		return math.MaxInt64
	case t.Year() < 1678:
		return math.MinInt64
	}
	if ns := t.UnixNano(); ns != 0 {
		return ns
	}
	return 1
}
