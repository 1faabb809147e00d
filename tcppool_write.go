package connpool

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/seed-a245f091/connpool/internal/sock"
)

// errShortWrite is the cause when a connection wrote less than asked
// without saying why.
var errShortWrite = errors.New("connpool: connection wrote less than asked and returned no error")

// Write writes b whole on one connection, as described on [TCPPool]. It
// returns 0 <= n <= len(b), and an error if n < len(b): one wrapping
// [net.ErrClosed] after Close, one satisfying errors.Is(err,
// os.ErrDeadlineExceeded) past the write deadline, and otherwise one
// wrapping the last write or dial error once the attempts are used up.
// Such an error never reads as what a caller tests for on its own Write:
// an io.EOF (a Read's clean end of stream, a TLS dial its server closed
// before the handshake) is wrapped as the peer's close, and a timeout of
// an earlier Write or of a dial keeps its text but not its Timeout or
// os.ErrDeadlineExceeded.
func (p *TCPPool) Write(b []byte) (int, error) {
	sp := p.slots.Load()
	if sp == nil {
		return 0, errNotDialled
	}
	if p.closed.Load() {
		p.failedWrites.Add(1)
		return 0, errTCPPoolClosed
	}
	if d := p.wdl.Load(); d != 0 && time.Now().UnixNano() >= d {
		p.failedWrites.Add(1)
		return 0, errWriteTimeout
	}
	if len(b) == 0 { // nothing to send, and no connection needed for it
		p.shares[0].writes.Add(1)
		return 0, nil
	}
	n, err := p.write(*sp, b)
	if err != nil { // a success was counted by writeOn, on its connection's share
		p.failedWrites.Add(1)
		if n > 0 {
			p.shares[0].bytes.Add(uint64(n))
		}
	}
	return n, err
}

// write makes the attempts of one Write.
func (p *TCPPool) write(slots []*slot, b []byte) (int, error) {
	attempts := int(p.attempts.Load())
	obs := p.obs.load()
	var start time.Duration
	if obs != nil {
		start = p.clock.Now()
	}
	var lastErr error // of the last attempt, if it was a write
	// waiting is set while this Write is counted in Stats.Waiting: from
	// when it first finds no connection up until it has one or returns.
	waiting := false
	defer p.stopWaiting(&waiting)
	var waitEnds time.Duration // see pause
	// A connection that the check before the write finds closed by its
	// peer (after a server restart, say) costs no attempt if the Write
	// can go on to another connection up: nothing was tried on it. It
	// costs one if none is up, as the Write would have failed on it
	// then. At most once per connection of the pool, so that a server
	// closing every connection it accepts still uses the attempts up.
	freeChecks := len(slots)
	unpaid := false // a failed check, free if another connection is up
	for attempt := 1; ; {
		s, lc := p.pick(slots, len(b))
		if lc == nil {
			// Nothing up. Join the sleepers before looking again, so that a
			// connection coming up between the two looks closes wake.
			wake := p.sleep()
			slots = *p.slots.Load()
			if s, lc = p.pick(slots, len(b)); lc == nil {
				if unpaid {
					unpaid = false
					if attempt >= attempts {
						p.unsleep()
						return 0, p.giveUp("write", attempt, lastErr)
					}
					attempt++
					p.retries.Add(1)
					waitEnds = 0
				}
				if !waiting {
					waiting = true
					p.waitingWrites.Add(1)
				}
				full, err := p.pause(wake, &p.wdl, &waitEnds)
				p.unsleep()
				if err != nil {
					return 0, err
				}
				if full && attempt >= attempts {
					// The last attempt was a wait, in full: the error is
					// the last write's, if any, or the pool's; or a
					// timeout, if the wait ended with the deadline.
					if err := p.nextAttempt("write", &p.wdl, lastErr); err != nil {
						return 0, err
					}
					return 0, p.giveUp("write", attempt, lastErr)
				}
				lastErr = nil
				if err := p.nextAttempt("write", &p.wdl, lastErr); err != nil {
					return 0, err
				}
				if full {
					attempt++
					p.retries.Add(1)
				}
				slots = *p.slots.Load() // SetPoolSize may have changed them
				continue
			}
			p.unsleep()
		}
		p.stopWaiting(&waiting)
		unpaid = false
		var picked time.Duration
		if obs != nil {
			picked = p.clock.Now()
		}
		n, next, err := p.writeOn(s, lc, b)
		if obs != nil {
			observeWait(obs, picked-start)
			observeUse(obs, p.clock.Now()-picked)
		}
		if next == writeDone {
			return n, err
		}
		lastErr = err
		if next == writeCheckFailed && freeChecks > 0 {
			freeChecks--
			unpaid = true
			if err := p.nextAttempt("write", &p.wdl, lastErr); err != nil {
				return 0, err
			}
			slots = *p.slots.Load()
			continue
		}
		if attempt >= attempts {
			return 0, p.giveUp("write", attempt, lastErr)
		}
		if err := p.nextAttempt("write", &p.wdl, lastErr); err != nil {
			return 0, err
		}
		attempt++
		p.retries.Add(1)
		waitEnds = 0 // a wait cut short before this attempt is over
		slots = *p.slots.Load()
	}
}

// nextAttempt returns the error that ends a Read or Write before its next
// attempt, if the pool has closed or the deadline in dl has passed.
func (p *TCPPool) nextAttempt(op string, dl *atomic.Int64, last error) error {
	if p.closed.Load() {
		return errTCPPoolClosed
	}
	if d := dl.Load(); d != 0 && time.Now().UnixNano() >= d {
		return p.timedOut(op, last)
	}
	return nil
}

// pick asks the balancer for a connection and takes a reference on it, or
// on the next one up after it. It returns nil if none is up.
func (p *TCPPool) pick(slots []*slot, size int) (*slot, *liveConn) {
	n := len(slots)
	i := p.cfg.Balancer.Pick(ConnSet{slots}, size)
	if i == -1 {
		return nil, nil
	}
	if i < 0 || i >= n {
		i = (i%n + n) % n // as documented on Balancer: a hash may be negative
	}
	for range n {
		s := slots[i]
		if lc := s.live.Load(); lc != nil && lc.acquire() {
			return s, lc
		}
		if i++; i == n {
			i = 0
		}
	}
	return nil, nil
}

// What a Write does after an attempt (writeOn).
const (
	writeDone        = iota // return what the attempt returned
	writeAgain              // go on to another connection: nothing of b reached this one, or RetryPartialWrites allows it
	writeCheckFailed        // go on to another connection: the check before the write found this one closed
)

// writeOn writes b on lc, the connection of s, passing on the reference
// the caller took, and says what the Write does next.
func (p *TCPPool) writeOn(s *slot, lc *liveConn, b []byte) (n int, next int, err error) {
	if p.probeGap >= 0 {
		now := int64(p.clock.Now())
		last := lc.lastWrite.Load()
		if last < 0 || probeDue(p.probeGap, time.Duration(now-last)) {
			if !p.checkIdle(s, lc, now, last) {
				lc.release()
				p.retire(s, lc, sock.ErrPeerClosed)
				return 0, writeCheckFailed, &opError{op: "write", addr: lc.addr, err: sock.ErrPeerClosed}
			}
		} else if now > last {
			// A CAS, not a Store, so as not to undo a probe claimed since
			// the Load. Losing to another Write is harmless: its time is
			// at worst a little older, which only brings the next probe
			// forward.
			lc.lastWrite.CompareAndSwap(last, now)
		}
	}
	lc.wmu.Lock()
	if lc.closed.Load() {
		// Retired by the Write before this one, which broke it: nothing
		// was tried on it.
		lc.wmu.Unlock()
		lc.release()
		if p.closed.Load() {
			return 0, writeDone, errTCPPoolClosed
		}
		return 0, writeCheckFailed, &opError{op: "write", addr: lc.addr, err: errConnLost}
	}
	n, err = lc.Conn.Write(b)
	n = min(max(n, 0), len(b)) // keep io.Writer's contract whatever the conn does
	if err == nil && n == len(b) {
		lc.wmu.Unlock()
		lc.release()
		lc.markUsed()
		s.share.writes.Add(1)
		s.share.bytes.Add(uint64(n))
		return n, writeDone, nil
	}
	if err == nil {
		err = errShortWrite
	}
	closed := p.closed.Load()
	timeout := isTimeout(err)
	if !closed && (n > 0 || !timeout || !lc.plain) {
		// A timeout before the first byte leaves a socket's stream as it
		// was; anything else leaves it broken or torn, so it must end
		// here, before the next Write on it goes out. So does any timeout
		// of a Write through a layer over the socket: a *tls.Conn may
		// have sent part of a record and count no byte written, and fails
		// every later Write.
		p.retire(s, lc, err)
	}
	lc.wmu.Unlock()
	lc.release()
	if closed {
		return n, writeDone, errTCPPoolClosed
	}
	if errors.Is(err, net.ErrClosed) {
		// Another goroutine closed it, having found it broken. Do not
		// pass net.ErrClosed on: the pool is not closed.
		err = errConnLost
	}
	werr := &opError{op: "write", addr: lc.addr, err: err}
	if timeout {
		return n, writeDone, werr
	}
	if n == 0 || p.cfg.RetryPartialWrites {
		s.share.bytes.Add(uint64(n)) // the torn start went out all the same
		return 0, writeAgain, werr
	}
	return n, writeDone, &opError{op: "write", addr: lc.addr, detail: fmt.Sprintf("connection failed after %d of %d bytes", n, len(b)), err: notEOF(err)}
}

// States of liveConn.lastWrite other than a time, which is never negative.
const (
	probing      = -1 // a Write is probing the connection
	peerGone     = -2 // the probe found the peer had closed it
	unprobed     = -3 // just installed: the first Write probes it
	probingHeard = -4 // probing, and the watcher heard of a close meanwhile
)

// checkIdle makes sure a Write that starts at now on lc, the connection of
// s, where it found lastWrite at last, goes out only after a probe found
// lc sound; it returns false if the probe found the peer gone. The first
// Write to find lc idle probes it; those that find the probe running wait
// for its verdict, as they could otherwise hand their bytes to a socket
// the probe is about to find dead. They wait by yielding: the probe is one
// non-blocking system call, over before parking and waking a goroutine
// would be. A peer gone behind bytes not read yet leaves lc to be drained
// by Read, if the pool is read from at all.
func (p *TCPPool) checkIdle(s *slot, lc *liveConn, now, last int64) bool {
	for ; ; last = lc.lastWrite.Load() {
		switch {
		case last == peerGone:
			return false
		case last == probing || last == probingHeard:
			runtime.Gosched()
			continue
		case last != unprobed && !probeDue(p.probeGap, time.Duration(now-last)):
			return true // probed, or written to by a Write that needed no probe, since now was read
		}
		if !lc.lastWrite.CompareAndSwap(last, probing) {
			continue
		}
		// The claim is ours: no other goroutine touches lc.sock until the
		// verdict is stored below, which hands it on to the next
		// claimer's CAS.
		if lc.token != 0 && !lc.watching {
			// The first probe, on the first Write, adds it to the
			// watcher: a peer's close from then on makes the next Write
			// probe again. A socket the watcher will not take is left to
			// the probe alone.
			lc.watching = true
			p.watch.Add(&lc.sock, lc.token)
		}
		err := lc.sock.Probe()
		for !sock.PeerGone(err) && !lc.lastWrite.CompareAndSwap(probing, now) {
			// The watcher heard of a close while the probe ran: look again.
			lc.lastWrite.Store(probing)
			err = lc.sock.Probe()
		}
		if !sock.PeerGone(err) {
			return true
		}
		if lc.closed.Load() || p.closed.Load() {
			// Closed under the probe on this side, by the pool's Close or
			// a Write that retired it: no doing of the peer's.
			lc.lastWrite.Store(peerGone)
			return false
		}
		msg := "peer closed an idle connection; replacing it before the write"
		if p.read.Load() && (err == sock.ErrClosedAfterData || p.reading.Load() || lc.readFrom.Load()) {
			// Left open for Read: for the bytes that wait on it (or may,
			// in a layer such as TLS that a Read has taken bytes from and
			// that reads ahead), or for a Read under way, which then sees
			// its end of stream as it would have had no Write come
			// first. (One with nothing to
			// read and no Read under way is closed: a Read that starts
			// now finds the new connection.) Before the verdict, so that
			// the Writes waiting for it find lc draining already and
			// leave it open.
			p.drain(s, lc, err)
			msg = "peer closed an idle connection; replacing it before the write, and keeping it for Read"
			if err == sock.ErrClosedAfterData {
				msg = "peer closed an idle connection after sending bytes not read yet; replacing it before the write, and keeping it for Read"
			}
		}
		lc.lastWrite.Store(peerGone)
		p.stale.Add(1)
		p.log.log(slog.LevelInfo, msg, slog.String("addr", lc.addr))
		return false
	}
}

// giveUp builds the error of a Read or Write out of attempts: the error of
// its last attempt if that was a write, else the pool's last error; or
// the pool's closed error if Close is what ended the last attempt.
func (p *TCPPool) giveUp(op string, attempts int, last error) error {
	if p.closed.Load() {
		return errTCPPoolClosed
	}
	if last == nil {
		last = p.lastError()
	}
	return &opError{op: op, detail: gaveUp(attempts), err: notEOF(last)}
}

// gaveUp is the detail of the error of a Read or Write, of a TCPPool or a
// TCPClient, that used up its attempts.
func gaveUp(attempts int) string {
	if attempts == 1 {
		return "gave up after 1 attempt"
	}
	return "gave up after " + strconv.Itoa(attempts) + " attempts"
}

// timedOut builds the error of a Read or Write that reached its deadline
// after waiting for a connection: a timeout that wraps the last write or
// dial error too, so that errors.Is finds both.
func (p *TCPPool) timedOut(op string, last error) error {
	if last == nil {
		p.mu.Lock()
		last = p.lastErr
		p.mu.Unlock()
	}
	if last == nil {
		if op == "write" {
			return errWriteTimeout
		}
		return errReadTimeout
	}
	return &opError{op: op, err: fmt.Errorf("%w; last error: %w", os.ErrDeadlineExceeded, notEOF(last))}
}

// lastError returns the pool's last dial or connection error, or
// errNoConn if nothing has failed yet.
func (p *TCPPool) lastError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastErr == nil {
		return errNoConn
	}
	return p.lastErr
}

// stopWaiting takes a Write out of Stats.Waiting if *waiting says it is
// counted there.
func (p *TCPPool) stopWaiting(waiting *bool) {
	if *waiting {
		*waiting = false
		p.waitingWrites.Add(-1)
	}
}

// sleep registers the caller as waiting for a connection or a deadline
// change and returns the channel that will tell it. The caller must call
// unsleep when it stops waiting.
func (p *TCPPool) sleep() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sleepers++
	return p.wake
}

func (p *TCPPool) unsleep() {
	p.mu.Lock()
	p.sleepers--
	p.mu.Unlock()
}

// wakeLocked wakes every Read and Write waiting. The channel is replaced
// only if someone waits, so that a deadline set per request by a busy
// caller does not allocate. Caller must hold p.mu.
func (p *TCPPool) wakeLocked() {
	if p.sleepers > 0 {
		close(p.wake)
		p.wake = make(chan struct{})
	}
}

// pause waits, after sleep, for wake, for the rest of one attempt's
// DialBackoff, or until the deadline in dl (which the caller then
// reports). *ends is when the attempt's wait ends on the pool's clock, or
// 0 before it starts: a wait that wake cuts short (a connection up, a
// deadline moved) goes on where it was, so that neither counts as an
// attempt. pause reports whether the attempt's wait is over, and returns
// an error only if the pool closes.
func (p *TCPPool) pause(wake <-chan struct{}, dl *atomic.Int64, ends *time.Duration) (full bool, err error) {
	now := p.clock.Now()
	if *ends == 0 {
		*ends = now + time.Duration(p.dialBackoff.Load())
	}
	var expired <-chan time.Time
	if deadline := dl.Load(); deadline != 0 {
		left := untilDeadline(deadline)
		if left <= 0 {
			return false, nil
		}
		// The deadline is on the wall clock, as net.Conn's are.
		dt := time.NewTimer(left)
		defer dt.Stop()
		expired = dt.C
	}
	t := p.clock.TimerAt(*ends)
	defer t.Stop()
	select {
	case <-wake:
	case <-t.C():
		*ends = 0
		return true, nil
	case <-expired:
	case <-p.done:
		return false, errTCPPoolClosed
	}
	return false, nil
}

// untilDeadline returns how long until the deadline d, in the pool's
// atomic form (see unixNano) and not 0, on the wall clock: 0 or less once
// it has passed. It does not overflow on deadlines centuries away.
func untilDeadline(d int64) time.Duration {
	now := time.Now().UnixNano()
	if d <= now {
		return 0
	}
	return time.Duration(d - now)
}
