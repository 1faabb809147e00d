package connpool

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-a245f091/connpool/internal/sock"
)

// slot is one of a TCPPool's connections, through all its reconnections.
type slot struct {
	home  int                      // index in cfg.Addrs of its first backend
	share *counterShare            // where Writes on it are counted
	live  atomic.Pointer[liveConn] // nil while down
	gone  chan struct{}            // closed when SetPoolSize removes the slot
	// draining is a connection of the slot that its server closed behind
	// bytes not read yet: out of the Writes' way, but open for Read to
	// take the bytes (see drain). Set under TCPPool.mu.
	draining atomic.Pointer[liveConn]

	// Guarded by TCPPool.mu:
	removed   bool
	redialing bool // a redial goroutine runs for it
	everUp    bool // a connection was installed before: the next is a reconnect
	// unproven says its last connection was lost before a Write or Read
	// on it succeeded, and soon after its dial (within MaxDialBackoff), as
	// to a server that closes what it accepts: not one an idle timeout
	// closed.
	unproven bool

	// Owned by the slot's single redial goroutine (or the first dial).
	bo   backoff
	next int // index in cfg.Addrs of its next dial
}

func (p *TCPPool) newSlot(i int) *slot {
	home := i % len(p.cfg.Addrs)
	return &slot{home: home, next: home, gone: make(chan struct{}), share: &p.shares[i%len(p.shares)]}
}

// liveConn is one connection of a slot, from its dial to its close.
type liveConn struct {
	net.Conn
	pool *TCPPool
	addr string

	// refs is 1 for the slot while the connection is installed, plus 1 per
	// Write in progress. Whoever drops it to 0 closes the connection, so
	// SetPoolSize can remove a connection without cutting a Write short.
	refs   atomic.Int64
	closed atomic.Bool
	// wmu makes the Writes on it go one at a time, from before the socket
	// write to after the retirement of a connection the write broke, so
	// that no Write's bytes follow a torn message onto its stream.
	wmu sync.Mutex
	// removed says SetPoolSize took it out of its slot: whoever drops the
	// last reference closes it without a TLS goodbye, which could keep
	// SetPoolSize or the last Write on it waiting up to five seconds on a
	// peer that reads nothing.
	removed atomic.Bool

	// lastWrite is when the latest Write started or probe passed, on the
	// pool's clock, or else unprobed, probing, probingHeard or peerGone.
	// The Write whose CAS puts probing in is the only user of sock until
	// it stores the verdict: a time, or peerGone for good (see checkIdle);
	// the watcher, hearing of a close meanwhile, turns probing into
	// probingHeard, and the Write probes again.
	lastWrite atomic.Int64
	sock      sock.Socket
	// used is set once a Write or Read on it has succeeded (markUsed).
	used atomic.Bool
	// readFrom is set once a Read took bytes from it: a layer such as TLS
	// may hold more of them, read from the socket already.
	readFrom atomic.Bool
	// dialled is when it was installed, on the pool's clock.
	dialled time.Duration
	// token names it to the pool's socket watcher, or is 0 if the pool
	// has none; watching says it was added to the watcher, by the first
	// probe, under the probe's claim (see checkIdle).
	token    uint64
	watching bool
	// plain says Conn is a socket itself, with no layer such as TLS over
	// it, so that a Write that timed out having written nothing left
	// nothing behind.
	plain bool

	// For the reader goroutine, set before it starts.
	rbuf     []byte
	consumed chan struct{} // capacity 1: Read is done with rbuf

	// drainRead says a Read took bytes from it while it drained, or once
	// a probe had found its peer gone. Guarded by TCPPool.readMu.
	drainRead bool
}

// acquire takes a reference for a Write; it fails once the connection is
// on its way to being closed.
func (lc *liveConn) acquire() bool {
	for {
		r := lc.refs.Load()
		if r <= 0 {
			return false
		}
		if lc.refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

// markUsed records that a Write or Read on lc succeeded. It stores only
// the first time, so that Writes in steady state only read the flag.
func (lc *liveConn) markUsed() {
	if !lc.used.Load() {
		lc.used.Store(true)
	}
}

// markRead marks lc used by a Read that took bytes from it, and, if a
// layer such as TLS is over its socket, read from (see readFrom).
func (lc *liveConn) markRead() {
	lc.markUsed()
	if !lc.plain && !lc.readFrom.Load() {
		lc.readFrom.Store(true)
	}
}

func (lc *liveConn) release() {
	if lc.refs.Add(-1) == 0 {
		lc.close(lc.removed.Load())
	}
}

// close closes the connection, once, and takes it off the pool's list of
// open connections. A broken one it closes without a goodbye (see
// sock.Abort): a Write that found it broken must not wait for one.
func (lc *liveConn) close(broken bool) {
	if lc.closed.CompareAndSwap(false, true) {
		if broken {
			sock.Abort(lc.Conn)
		} else {
			lc.Conn.Close()
		}
		p := lc.pool
		p.liveMu.Lock()
		delete(p.live, lc)
		if lc.token != 0 {
			delete(p.watched, lc.token)
		}
		p.liveMu.Unlock()
	}
}

// isSocket reports whether c is one of the net package's own sockets.
func isSocket(c net.Conn) bool {
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

// retire takes lc, found broken, out of s, closes it and starts redialling.
// If lc is no longer s's connection (SetPoolSize removed it, or another
// Write retired it first), it only closes it; unless s drains it, which
// ends when Read has taken its bytes.
func (p *TCPPool) retire(s *slot, lc *liveConn, cause error) {
	if !s.live.CompareAndSwap(lc, nil) {
		// drain swaps s.live and s.draining under mu: holding it, lc is
		// in one or the other if drain took it.
		p.mu.Lock()
		draining := s.draining.Load() == lc
		p.mu.Unlock()
		if !draining {
			lc.close(true)
		}
		return
	}
	p.retired(s, lc, cause)
}

// retired closes lc, which its caller took out of s.live, and starts
// redialling s.
func (p *TCPPool) retired(s *slot, lc *liveConn, cause error) {
	lc.close(true) // at once: Writes in progress on it fail and move on
	lc.release()
	p.mu.Lock()
	p.replaceLocked(s, lc, cause)
	p.mu.Unlock()
}

// replaceLocked starts redialling s, which lost lc to cause. Caller must
// hold p.mu.
func (p *TCPPool) replaceLocked(s *slot, lc *liveConn, cause error) {
	p.setLastErrLocked(cause)
	s.unproven = !lc.used.Load() && p.clock.Now()-lc.dialled < p.cfg.MaxDialBackoff
	p.startRedialLocked(s, true)
}

// setLastErrLocked records err, of a dial or of a connection lost, as the
// pool's last error, which a Read or Write that gives up later wraps as
// its cause (see asCause). Caller must hold p.mu.
func (p *TCPPool) setLastErrLocked(err error) {
	p.lastErr = asCause(err)
}

// asCause returns err, met by an earlier attempt or connection, as the
// cause that a Read or Write giving up wraps. That Read or Write did not
// meet err itself, so err must not pass for what its caller tests for:
// io.EOF, the end of a stream (a Read's clean end, or a TLS dial that the
// server closed before its handshake), counts as the peer's close; and a
// timeout, which would say that the caller's own deadline passed, keeps
// only its text.
func asCause(err error) error {
	if err = notEOF(err); isTimeout(err) {
		return fmt.Errorf("connpool: timed out earlier: %v", err)
	}
	return err
}

// notEOF returns err, which wraps io.EOF, as the peer's close, for a Read
// or Write error that must not read as the end of a stream.
func notEOF(err error) error {
	if !errors.Is(err, io.EOF) {
		return err
	}
	return fmt.Errorf("%w: %v", sock.ErrPeerClosed, err)
}

// drain takes lc, which the probe before a Write found closed by its
// server (cause), out of s and starts redialling, as retire does, but
// leaves it open for Read: to take the bytes the server sent before it
// went, the answer to a request it served, say, or, for a Read under way
// on it, to see its end of stream, which closing it would turn into a
// failure. lc keeps the slot's
// reference until Read reaches its end (see lost), or a later drain on s,
// or SetPoolSize removing s, drops it; so a slot holds at most one such
// connection. It does nothing if lc is no longer s's connection.
func (p *TCPPool) drain(s *slot, lc *liveConn, cause error) {
	// Take lc out of s first, under mu, where retire looks: a Write on it
	// that fails from here on finds it draining and leaves it open.
	var old *liveConn
	p.mu.Lock()
	took := s.live.CompareAndSwap(lc, nil)
	if took {
		lc.removed.Store(true) // its peer is gone: no TLS goodbye when it closes
		old = s.draining.Swap(lc)
		p.replaceLocked(s, lc, cause)
		p.wakeLocked() // a Read waiting for a connection has this one to read
	}
	p.mu.Unlock()
	// Then shut its sending side, whoever has it now: a Write that passed
	// its probe before this one and has yet to reach the socket must fail
	// and move on, as on a connection retire closes, not hand its bytes to
	// a peer that is gone. Reading goes on.
	sock.CloseWrite(lc.Conn)
	if old != nil {
		old.release() // its bytes were not read in time: lost, as they were before
	}
}

// lost deals with lc, whose Read failed with err: a connection drained
// dry is closed, any other retired.
func (p *TCPPool) lost(s *slot, lc *liveConn, err error) {
	// Both looks under mu, as drain moves lc from s.live to s.draining
	// under it: a reader that came to lc's end while drain ran must not
	// leave it draining with nobody to read it.
	p.mu.Lock()
	drained := s.draining.CompareAndSwap(lc, nil)
	live := !drained && s.live.CompareAndSwap(lc, nil)
	p.mu.Unlock()
	switch {
	case drained:
		lc.release()
	case live:
		p.retired(s, lc, err)
	default:
		lc.close(true) // retired, or removed by SetPoolSize, already
	}
}

// startRedialLocked starts the goroutine that dials for s, unless one runs
// or s or the pool is gone. failed means s lost a connection (or its first
// dial failed), so the first attempt waits a backoff delay. Caller must
// hold p.mu.
func (p *TCPPool) startRedialLocked(s *slot, failed bool) {
	if p.closed.Load() || s.removed || s.redialing {
		return
	}
	s.redialing = true
	p.wg.Add(1)
	go p.redial(s, failed, s.unproven)
}

// redial dials for s until a connection is up, s is removed, or the pool
// closes. After a failed dial it fails over to the next address. The
// backoff starts over unless the connection lost was unproven: a server
// that serves is worth reconnecting to at once; the backoff is there to
// spare one that refuses, cannot be reached, or closes what it accepts
// before its first use, which counts as a failed dial and fails over too.
func (p *TCPPool) redial(s *slot, failed, unproven bool) {
	defer p.wg.Done()
	if unproven {
		s.next = (s.next + 1) % len(p.cfg.Addrs)
	} else {
		s.bo.reset()
	}
	dialFailures := 0 // in a row, for the log
	for {
		if failed {
			base := time.Duration(p.dialBackoff.Load())
			s.bo.base, s.bo.max = base, max(p.cfg.MaxDialBackoff, base)
			now := p.clock.Now()
			t := p.clock.TimerAt(now + s.bo.next(now))
			select {
			case <-t.C():
			case <-p.done:
				t.Stop()
				return
			case <-s.gone:
				t.Stop()
				return
			}
		}
		failed = true
		addr := p.cfg.Addrs[s.next]
		conn, err := p.dial(p.ctx, addr)
		if err != nil {
			if p.closed.Load() {
				return
			}
			s.next = (s.next + 1) % len(p.cfg.Addrs)
			p.mu.Lock()
			p.setLastErrLocked(err)
			p.mu.Unlock()
			dialFailures++
			p.logDial(addr, err, dialFailures)
			continue
		}
		p.logDial(addr, nil, dialFailures)
		p.mu.Lock()
		p.installLocked(s, conn, addr)
		p.mu.Unlock()
		return
	}
}

// installLocked makes conn the connection of s, with the pool's deadlines,
// and wakes those waiting for one; or closes it if s or the pool is gone.
// Caller must hold p.mu: deadlines and the reader mode change under it, so
// a connection cannot miss a change.
func (p *TCPPool) installLocked(s *slot, conn net.Conn, addr string) {
	s.redialing = false
	if p.closed.Load() || s.removed {
		conn.Close()
		return
	}
	lc := &liveConn{Conn: conn, pool: p, addr: addr, plain: isSocket(conn), dialled: p.clock.Now()}
	lc.sock.Init(conn)
	lc.refs.Store(1)
	lc.lastWrite.Store(unprobed) // a server may close what it just accepted
	p.liveMu.Lock()
	p.live[lc] = struct{}{}
	if p.watch != nil {
		p.tokens++
		lc.token = p.tokens
		p.watched[lc.token] = lc
	}
	p.liveMu.Unlock()
	if !p.wdlTime.IsZero() {
		conn.SetWriteDeadline(p.wdlTime)
	}
	if !p.readers && !p.rdlTime.IsZero() {
		conn.SetReadDeadline(p.rdlTime)
	}
	if s.everUp {
		p.reconnects.Add(1)
	}
	s.everUp = true
	s.live.Store(lc)
	if p.readers {
		// After the Store: a reader that fails at once retires lc only
		// if lc is s's connection.
		p.startReaderLocked(s, lc)
	}
	p.wakeLocked()
}

// SetPoolSize changes the number of connections to size. New connections
// are dialled in the background, and removed ones are closed as soon as
// the Writes in progress on them finish (or at Close), without a TLS
// close_notify, which could wait on a peer that reads nothing; so
// SetPoolSize never waits for a dial, a Write or a peer, nor makes a
// Write wait. It returns an error wrapping [ErrInvalidConfig], and
// changes nothing, if size is 0 or more than 65536, and one wrapping
// [net.ErrClosed] after Close.
func (p *TCPPool) SetPoolSize(size uint) error {
	if p.slots.Load() == nil {
		return errNotDialled
	}
	if size == 0 || size > maxTCPPoolSize {
		return invalid("pool size %d, want 1 to %d", size, maxTCPPoolSize)
	}
	p.mu.Lock()
	removed, err := p.resizeLocked(int(size))
	p.mu.Unlock()
	for _, lc := range removed {
		lc.release() // the last Write on it closes it
	}
	return err
}

// resizeLocked gives the pool n slots, and returns the connections of the
// slots it removed, still referenced by the slots, for the caller to
// release after unlocking. Caller must hold p.mu.
func (p *TCPPool) resizeLocked(n int) (removed []*liveConn, err error) {
	if p.closed.Load() {
		return nil, errTCPPoolClosed
	}
	old := *p.slots.Load()
	if n == len(old) {
		return nil, nil
	}
	slots := make([]*slot, n)
	copy(slots, old)
	for i := len(old); i < n; i++ {
		slots[i] = p.newSlot(i)
		p.startRedialLocked(slots[i], false)
	}
	for _, s := range old[min(n, len(old)):] {
		s.removed = true
		close(s.gone)
		if lc := s.live.Swap(nil); lc != nil {
			lc.removed.Store(true)
			removed = append(removed, lc)
		}
		if lc := s.draining.Swap(nil); lc != nil {
			removed = append(removed, lc)
		}
	}
	p.slots.Store(&slots)
	return removed, nil
}

// SetMaxRetries sets [TCPPoolConfig.MaxAttempts] to n for the Writes that
// start from now on. Like go-tcp-pool, it counts attempts in all, the
// first included: n writes at most. An n of 0 or less, with which
// go-tcp-pool would fail every Write, means one attempt.
func (p *TCPPool) SetMaxRetries(n int) {
	p.attempts.Store(int64(max(n, 1)))
}

// SetRetryInterval sets [TCPPoolConfig.DialBackoff], for the waits and
// reconnection delays that start from now on. A d of zero or less is
// taken as 1ms: waiting Writes wake as soon as a connection comes up, so
// the interval only paces reconnections and bounds the wait, and a zero
// would make a dead server be dialled in a tight loop.
func (p *TCPPool) SetRetryInterval(d time.Duration) {
	if d <= 0 {
		d = time.Millisecond
	}
	p.dialBackoff.Store(int64(d))
}
