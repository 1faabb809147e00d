package connpool

import (
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// leakInfo is what a checkout keeps while Config.LeakThreshold is set: the
// stack of the Get that took the connection, and whether it has been
// reported.
type leakInfo struct {
	stack    []uintptr
	reported bool // guarded by ConnPool.mu
}

// noteCheckout records the caller's stack for pc's checkout, for a leak
// report. The stack starts at Get or TryGet.
func (p *ConnPool) noteCheckout(pc *PoolConn) {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs) // runtime.Callers, noteCheckout, got
	info := &leakInfo{stack: pcs[:n]}
	p.mu.Lock()
	if p.leaks == nil {
		p.leaks = make(map[*conn]*leakInfo)
	}
	p.leaks[pc.c] = info
	p.leaksDue++
	// The maintainer may have looked at the checkouts before this one had
	// its stack: make it look again by the time this one is due.
	if !p.maintaining {
		p.maintainLocked()
	} else if due := pc.c.movedAt + p.cfg.LeakThreshold; due < p.maintWake {
		p.kickMaintainer()
	}
	p.mu.Unlock()
}

// leaked is a checkout found held past LeakThreshold.
type leaked struct {
	info *leakInfo
	nc   net.Conn // its address is read in reportLeaks, not under p.mu
	held time.Duration
}

// leaksLocked returns the checkouts held past LeakThreshold at now that
// have not been reported yet, counting them, and the time the next one
// will be due, or zero. Caller must hold p.mu.
func (p *ConnPool) leaksLocked(now time.Duration) (found []leaked, next time.Duration) {
	if p.cfg.LeakThreshold <= 0 {
		return nil, 0
	}
	for c, info := range p.leaks {
		if info.reported {
			continue
		}
		due := c.movedAt + p.cfg.LeakThreshold
		if now < due {
			if next == 0 || due < next {
				next = due
			}
			continue
		}
		info.reported = true
		p.leaksDue--
		p.stats.leaks++
		found = append(found, leaked{info: info, nc: c.nc, held: now - c.movedAt})
	}
	return found, next
}

// reportLeaks logs the leaks leaksLocked found.
func (p *ConnPool) reportLeaks(ls []leaked) {
	for _, l := range ls {
		p.logger().log(slog.LevelWarn, "connection held longer than LeakThreshold; possible leak",
			slog.String("addr", remoteAddr(l.nc)), slog.Duration("held", l.held),
			slog.Duration("threshold", p.cfg.LeakThreshold), slog.String("stack", formatStack(l.info.stack)))
	}
}

// leakReturned logs the return of a checkout reported as a leak; late says
// it was found so only at its return, and is reported first.
func (p *ConnPool) leakReturned(info *leakInfo, nc net.Conn, held time.Duration, late bool) {
	if late {
		p.reportLeaks([]leaked{{info: info, nc: nc, held: held}})
	}
	if info.reported {
		p.logger().log(slog.LevelInfo, "connection reported as a possible leak came back", slog.Duration("held", held))
	}
}

// formatStack renders a stack as "function file:line" lines.
func formatStack(pcs []uintptr) string {
	var b strings.Builder
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		b.WriteString(f.Function)
		b.WriteString("\n\t")
		b.WriteString(f.File)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(f.Line))
		b.WriteByte('\n')
		if !more {
			return b.String()
		}
	}
}
