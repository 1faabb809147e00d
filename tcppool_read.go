package connpool

import (
	"errors"
	"io"
	"net"
	"runtime"
	"time"
)

// readBufSize is how much a reader goroutine reads ahead on its
// connection before a Read takes it.
const readBufSize = 16 << 10

// chunk is what a reader goroutine read from one connection and a Read has
// not taken yet: lc.rbuf[off:end].
type chunk struct {
	lc       *liveConn
	off, end int
}

// Read reads from the pool's connections, as described on [TCPPool]: from
// the connection itself while the pool has one, and otherwise from
// whichever connection has bytes, never from two in one call. It returns an
// error wrapping [net.ErrClosed] after Close, one satisfying errors.Is(err,
// os.ErrDeadlineExceeded) past the read deadline, and, with one
// connection (and reader goroutines never started, see [TCPPool]), io.EOF
// at a clean close, the error that ended it otherwise,
// or, if it cannot be redialled within MaxAttempts, one wrapping the last
// dial error (one that would read as the end of a stream or as the Read's
// own timeout passes on as the peer's close, or as text alone, as for
// [TCPPool.Write]).
func (p *TCPPool) Read(b []byte) (int, error) {
	if p.slots.Load() == nil {
		return 0, errNotDialled
	}
	if p.closed.Load() {
		return 0, errTCPPoolClosed
	}
	if !p.read.Load() {
		p.read.Store(true)
	}
	p.readMu.Lock()
	defer p.readMu.Unlock()
	if p.closed.Load() { // closed while this Read waited its turn
		return 0, errTCPPoolClosed
	}
	if d := p.rdl.Load(); d != 0 && time.Now().UnixNano() >= d {
		return 0, errReadTimeout
	}
	if len(b) == 0 {
		return 0, nil
	}
	// p.readers is written holding readMu, which this Read holds.
	if !p.readers && len(*p.slots.Load()) == 1 {
		return p.readOne(b)
	}
	return p.readAny(b)
}

// readOne reads from the pool's single connection, waiting for it to come
// up if it is down; or first, from the connection its server closed,
// drained, until its bytes are all taken. Caller must hold
// p.readMu.
func (p *TCPPool) readOne(b []byte) (int, error) {
	p.reading.Store(true) // Reads go one at a time, under readMu
	defer p.reading.Store(false)
	attempts := int(p.attempts.Load())
	var waitEnds time.Duration // see pause
	for attempt := 1; ; {
		s := (*p.slots.Load())[0]
		lc := s.draining.Load()
		draining := lc != nil
		if !draining {
			lc = s.live.Load()
		}
		if lc == nil {
			wake := p.sleep()
			if lc = s.live.Load(); lc == nil {
				full, err := p.pause(wake, &p.rdl, &waitEnds)
				p.unsleep()
				if err != nil {
					return 0, err
				}
				if full && attempt >= attempts {
					// A wait that ended with the deadline is a timeout.
					if err := p.nextAttempt("read", &p.rdl, nil); err != nil {
						return 0, err
					}
					return 0, p.giveUp("read", attempt, nil)
				}
				if full {
					attempt++
				}
				if err := p.nextAttempt("read", &p.rdl, nil); err != nil {
					return 0, err
				}
				continue
			}
			p.unsleep()
		}
		// No reference is taken: a Read may block for long, and must not
		// hold the connection open after SetPoolSize or a failure retires
		// it; closing it ends the Read, which is what is wanted.
		n, err := lc.Read(b)
		if n > 0 {
			lc.markRead()
			// Bytes taken from lc as the live connection count as
			// drained too if a probe found its peer gone: the Read may
			// have reached the socket after the probe saw them waiting.
			// A probe still running is waited for, as Writes wait for
			// it (one system call): one that finds lc sound says
			// nothing of a later drain.
			l := lc.lastWrite.Load()
			for !draining && (l == probing || l == probingHeard) {
				runtime.Gosched()
				l = lc.lastWrite.Load()
			}
			if draining || l == peerGone {
				lc.drainRead = true
			}
		}
		if err == nil {
			return n, nil
		}
		if p.closed.Load() {
			return n, errTCPPoolClosed
		}
		if isTimeout(err) {
			return n, &opError{op: "read", addr: lc.addr, err: err}
		}
		p.lost(s, lc, err)
		if draining && n == 0 && !lc.drainRead {
			// It held nothing for the caller (TLS records only, such as
			// session tickets): its close, seen by the Write that
			// replaced it, is no news. Read on from the replacement.
			continue
		}
		if err == io.EOF {
			// A clean close, reported as io.Reader callers expect: as
			// io.EOF itself, which they compare with ==.
			return n, io.EOF
		}
		if errors.Is(err, net.ErrClosed) {
			err = errConnLost
		}
		return n, &opError{op: "read", addr: lc.addr, err: err}
	}
}

// readAny returns bytes that reader goroutines read, starting them if they
// are not running. Caller must hold p.readMu.
func (p *TCPPool) readAny(b []byte) (int, error) {
	if !p.readers {
		p.startReaders()
	}
	if p.pend.lc != nil {
		return p.take(b), nil
	}
	for {
		// Join the sleepers before reading the deadline: a SetReadDeadline
		// after this either is seen below or closes wake.
		wake := p.sleep()
		var expired <-chan time.Time
		if d := p.rdl.Load(); d != 0 {
			left := untilDeadline(d)
			if left <= 0 {
				p.unsleep()
				return 0, errReadTimeout
			}
			if p.readTimer == nil {
				p.readTimer = time.NewTimer(left)
			} else {
				p.readTimer.Reset(left)
			}
			expired = p.readTimer.C
		}
		var c chunk
		var err error
		got := false
		select {
		case c = <-p.ready:
			got = true
		case <-wake: // a deadline changed, or a connection came up
		case <-expired: // checked at the top of the loop
		case <-p.done:
			err = errTCPPoolClosed
		}
		p.unsleep()
		if expired != nil {
			p.readTimer.Stop()
		}
		switch {
		case got:
			p.pend = c
			return p.take(b), nil
		case err != nil:
			return 0, err
		}
	}
}

// take copies the pending chunk into b and, once it is all taken, lets its
// reader read on. Caller must hold p.readMu.
func (p *TCPPool) take(b []byte) int {
	c := &p.pend
	n := copy(b, c.lc.rbuf[c.off:c.end])
	c.off += n
	if c.off == c.end {
		lc := c.lc
		*c = chunk{}
		lc.consumed <- struct{}{} // never blocks: capacity 1, one chunk out at a time
	}
	return n
}

// startReaders turns the reader mode on for good and starts a reader on
// every connection up. Caller must hold p.readMu.
func (p *TCPPool) startReaders() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.readers = true
	for _, s := range *p.slots.Load() {
		for _, lc := range [...]*liveConn{s.live.Load(), s.draining.Load()} {
			if lc != nil {
				// Read enforces the deadline now; a reader must not
				// stop on it.
				lc.SetReadDeadline(time.Time{})
				p.startReaderLocked(s, lc)
			}
		}
	}
}

// startReaderLocked starts the reader goroutine of lc. Caller must hold
// p.mu.
func (p *TCPPool) startReaderLocked(s *slot, lc *liveConn) {
	if p.closed.Load() {
		return
	}
	lc.rbuf = make([]byte, readBufSize)
	lc.consumed = make(chan struct{}, 1)
	p.wg.Add(1)
	go p.readLoop(s, lc)
}

// readLoop reads from lc and hands each chunk to Read, waiting for it to be
// taken before reading more, until the connection fails or the pool
// closes. A failure retires the connection: its replacement gets a reader
// of its own.
func (p *TCPPool) readLoop(s *slot, lc *liveConn) {
	defer p.wg.Done()
	for {
		n, err := lc.Read(lc.rbuf)
		if n > 0 {
			lc.markRead()
			select {
			case p.ready <- chunk{lc: lc, end: n}:
			case <-p.done:
				return
			}
			select {
			case <-lc.consumed:
			case <-p.done:
				return
			}
		}
		if err != nil {
			p.lost(s, lc, err) // nothing if it was retired already
			return
		}
	}
}
