package connpool

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// errTCPPoolClosed is returned by every method of a closed TCPPool. It
	// matches both ErrClosed and net.ErrClosed, the error a net.Conn user
	// tests for.
	errTCPPoolClosed = fmt.Errorf("%w: %w", ErrClosed, net.ErrClosed)

	// errNotDialled is returned by the methods of a TCPPool that was not
	// made by Dial, DialTCP or DialPool, such as the zero value.
	errNotDialled = errors.New("connpool: TCPPool not made by Dial, DialTCP or DialPool")

	// errWriteTimeout and errReadTimeout are returned past a deadline.
	// They are built once so that a deadline does not cost an allocation.
	errWriteTimeout = &opError{op: "write", err: os.ErrDeadlineExceeded}
	errReadTimeout  = &opError{op: "read", err: os.ErrDeadlineExceeded}

	// errConnLost is returned by a Read whose connection another goroutine
	// found broken and closed while the Read waited on it.
	errConnLost = errors.New("connpool: connection failed and is being replaced")

	// errNoConn stands in for the cause when nothing has failed yet, as
	// when a custom Balancer refuses every connection.
	errNoConn = errors.New("connpool: no connection is up")
)

// opError is a failed Read or Write of a TCPPool. It implements net.Error,
// so a caller that checks Timeout, as net.Conn users do, sees through it.
type opError struct {
	op     string // "read" or "write"
	addr   string // backend, if one was involved
	detail string
	err    error
}

func (e *opError) Error() string {
	var b strings.Builder
	b.WriteString("connpool: ")
	b.WriteString(e.op)
	if e.addr != "" {
		b.WriteString(" ")
		b.WriteString(e.addr)
	}
	if e.detail != "" {
		b.WriteString(": ")
		b.WriteString(e.detail)
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.err.Error(), "connpool: "))
	return b.String()
}

func (e *opError) Unwrap() error { return e.err }

// Timeout reports whether the cause was a deadline.
func (e *opError) Timeout() bool { return isTimeout(e.err) }

// Temporary is Timeout, as for the net package's own errors.
func (e *opError) Temporary() bool { return e.Timeout() }

// isTimeout reports whether err is a deadline expiring. errors.As stops at
// the first net.Error, so a *tls.Conn's permanent error after a timeout
// (whose Timeout is false: the connection is done for) is not one.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TCPPool is a net.Conn that spreads its Writes over several connections
// and reconnects them when they fail. It is a drop-in replacement for
// github.com/samber/go-tcp-pool v1: [Dial], [DialTCP], SetPoolSize,
// SetMaxRetries and SetRetryInterval keep their signatures. [DialPool]
// builds one over several backends with every setting in a
// [TCPPoolConfig]. The zero value is not usable; its methods return an
// error.
//
// # Writes
//
// Each Write goes whole onto one connection, chosen by the pool's
// [Balancer] among those that are up; Writes from several goroutines run
// in parallel on different connections. A Write that finds its connection
// broken before any byte left moves on to the next connection up, up to
// MaxRetries more attempts; the broken connection is redialled in the
// background with exponential backoff and full jitter. When no connection
// is up, a Write waits for one, up to RetryInterval per attempt, and gives
// up with an error wrapping the last dial or write error. A connection
// that has not been written to for [TCPPoolConfig.IdleProbe] is checked
// with a non-blocking peek before the next write, so data is not handed
// to a socket the peer has already closed; Writes that start on it while
// the check runs wait for its verdict. A connection that fails after
// part of a Write reached it is closed at once; see
// [TCPPoolConfig.RetryPartialWrites] for what happens to the Write.
// Write always returns 0 <= n <= len(b), and n < len(b) only with an
// error. In steady state a Write does not allocate.
//
// # Reads
//
// With one connection, a TCPPool is an ordinary net.Conn that reconnects:
// Read reads from the connection; if the connection fails, Read returns
// the error (an answer in flight on it is lost), and the next Read, like
// the next Write, uses its replacement. With several connections, Read
// returns bytes from whichever connection has some, never from two
// connections in one call; a connection failing is not reported by Read,
// only replaced (see [TCPPool.Stats]). The switch to the second mode
// happens on the first Read made while the pool has more than one
// connection, and is for good: from then on one goroutine per connection
// reads ahead (holding at most 16 KiB each until a Read takes it). Reads
// are served one at a time.
//
// # Deadlines and Close
//
// SetDeadline, SetReadDeadline and SetWriteDeadline apply to every
// connection, present and future; past a deadline, Read and Write fail at
// once with an error that satisfies errors.Is(err, os.ErrDeadlineExceeded)
// and whose Timeout method returns true. A Write waiting for a connection
// is bounded by the write deadline too. Close closes every connection and
// stops every goroutine of the pool; afterwards Read and Write return 0 and
// an error that satisfies errors.Is(err, net.ErrClosed) (and [ErrClosed]).
//
// A TCPPool is safe for concurrent use by multiple goroutines.
type TCPPool struct {
	cfg       TCPPoolConfig // validated; read-only after construction
	raddr     net.Addr      // RemoteAddr while no connection is up; never nil
	laddr     net.Addr      // LocalAddr while no connection is up; never nil
	epoch     time.Time     // origin of liveConn.lastWrite; has a monotonic reading
	probeIdle int64         // cfg.IdleProbe in ns; negative: never probe

	// Settings the go-tcp-pool setters change while the pool runs.
	maxRetries    atomic.Int64
	retryInterval atomic.Int64 // a time.Duration

	// slots is replaced whole, under mu, by SetPoolSize, so a Write works
	// on a consistent snapshot without a lock.
	slots atomic.Pointer[[]*slot]

	// Deadlines in Unix nanoseconds, 0 for none, for the lock-free check
	// at the start of Read and Write. Stored under mu.
	wdl, rdl atomic.Int64

	closed atomic.Bool     // stored under mu
	done   chan struct{}   // closed by Close
	ctx    context.Context // parent of every background dial
	cancel context.CancelFunc
	wg     sync.WaitGroup // redial and reader goroutines; Add only under mu while open

	// shares hold the counters every successful Write updates, split so
	// that Writes on different connections do not bounce one cache line
	// between CPUs; slot i adds to shares[i%len(shares)].
	shares                                        [8]counterShare
	failedWrites, retries, reconnects, dialErrors atomic.Uint64

	// readMu serializes Reads and guards pend and readTimer. It is taken
	// before mu, never after.
	readMu    sync.Mutex
	pend      chunk       // rest of the chunk the last Read did not take
	readTimer *time.Timer // reused by Reads waiting with a deadline
	ready     chan chunk  // reader goroutines hand their chunks to Read here

	mu sync.Mutex
	// Guarded by mu:
	wake     chan struct{} // closed and replaced when a connection comes up or a deadline changes, if sleepers > 0
	sleepers int           // Reads and Writes waiting on wake
	lastErr  error         // the last dial or connection error
	wdlTime  time.Time     // write deadline, as given
	rdlTime  time.Time     // read deadline, as given
	readers  bool          // reader goroutines are on; written holding readMu too
}

// counterShare is a share of a pool's Write counters, alone on its cache
// lines (128 bytes covers the adjacent line that x86 prefetches too).
type counterShare struct {
	writes, bytes atomic.Uint64
	_             [128 - 16]byte
}

// slot is one of the pool's connections, through all its reconnections.
type slot struct {
	home  int                      // index in cfg.Addrs of its first backend
	share *counterShare            // where Writes on it are counted
	live  atomic.Pointer[liveConn] // nil while down
	gone  chan struct{}            // closed when SetPoolSize removes the slot

	// Guarded by TCPPool.mu:
	removed   bool
	redialing bool // a redial goroutine runs for it
	everUp    bool // a connection was installed before: the next is a reconnect

	// Owned by the slot's single redial goroutine (or the first dial).
	bo   backoff
	next int // index in cfg.Addrs of its next dial
}

// liveConn is one connection of a slot, from its dial to its close.
type liveConn struct {
	net.Conn
	addr string

	// refs is 1 for the slot while the connection is installed, plus 1 per
	// Write in progress. Whoever drops it to 0 closes the connection, so
	// SetPoolSize can remove a connection without cutting a Write short.
	refs   atomic.Int64
	closed atomic.Bool

	// lastWrite is when the latest Write started or probe passed, in ns
	// since TCPPool.epoch, or else probing or peerGone. The Write whose
	// CAS puts probing in is the only user of prober until it stores the
	// verdict: a time, or peerGone for good (see checkIdle).
	lastWrite atomic.Int64
	prober    prober

	// For the reader goroutine, set before it starts.
	rbuf     []byte
	consumed chan struct{} // capacity 1: Read is done with rbuf
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

func (lc *liveConn) release() {
	if lc.refs.Add(-1) == 0 {
		lc.close()
	}
}

func (lc *liveConn) close() {
	if lc.closed.CompareAndSwap(false, true) {
		lc.Conn.Close()
	}
}

// States of liveConn.lastWrite other than a time, which is never negative.
const (
	probing  = -1 // a Write is probing the connection
	peerGone = -2 // the probe found the peer had closed it
)

// checkIdle makes sure a Write that starts at now on lc, where it found
// lastWrite at last, goes out only after a probe found lc sound; it
// returns false if the probe found the peer gone. The first Write to find
// lc idle probes it; those that find the probe running wait for its
// verdict, as they could otherwise hand their bytes to a socket the probe
// is about to find dead. They wait by yielding: the probe is one
// non-blocking system call, over before parking and waking a goroutine
// would be.
func (p *TCPPool) checkIdle(lc *liveConn, now, last int64) bool {
	for ; ; last = lc.lastWrite.Load() {
		switch {
		case last == peerGone:
			return false
		case last == probing:
			runtime.Gosched()
			continue
		case now-last < p.probeIdle:
			return true // probed, or written to by a Write that needed no probe, since now was read
		}
		if !lc.lastWrite.CompareAndSwap(last, probing) {
			continue
		}
		// The claim is ours: no other goroutine touches lc.prober until the
		// Store below, which hands it on to the next claimer's CAS.
		if lc.prober.probe(lc.Conn) == errPeerClosed {
			lc.lastWrite.Store(peerGone)
			return false
		}
		lc.lastWrite.Store(now)
		return true
	}
}

// Dial returns a TCPPool of one connection to addr, which it resolves
// first, on network "tcp", "tcp4" or "tcp6", as go-tcp-pool's Dial does.
// It returns an error only if addr does not resolve or network is not
// TCP: like go-tcp-pool, if the server cannot be reached, Dial still
// returns the pool, which keeps dialling in the background while Writes
// wait and fail as documented on [TCPPool]. Each dial goes to addr by
// name, so it follows DNS changes. Use [DialPool] to fail when nothing
// answers.
//
// The pool has the defaults of [TCPPoolConfig]: MaxRetries 10,
// RetryInterval 10ms, round-robin, and so on. Grow it with SetPoolSize.
func Dial(network, addr string) (*TCPPool, error) {
	raddr, err := net.ResolveTCPAddr(network, addr)
	if err != nil {
		return nil, fmt.Errorf("connpool: %w", err)
	}
	cfg := TCPPoolConfig{Addrs: []string{addr}, Network: network, Size: 1}
	return dialCompat(cfg, raddr, nil)
}

// DialTCP is [Dial] with the remote address already resolved, and laddr,
// if not nil, as the local address of every connection (so with a fixed
// port, only one connection can be up). It returns an error if network is
// not "tcp", "tcp4" or "tcp6", or raddr is nil; not if the server cannot
// be reached.
func DialTCP(network string, laddr, raddr *net.TCPAddr) (*TCPPool, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("connpool: DialTCP: %w", net.UnknownNetworkError(network))
	}
	if raddr == nil {
		return nil, fmt.Errorf("%w: DialTCP: raddr is nil", ErrInvalidConfig)
	}
	d := new(net.Dialer)
	var local net.Addr
	if laddr != nil { // not a nil *TCPAddr in the interface, which Dialer would use
		d.LocalAddr = laddr
		local = laddr
	}
	cfg := TCPPoolConfig{Addrs: []string{raddr.String()}, Network: network, Size: 1, Dial: d.DialContext}
	return dialCompat(cfg, raddr, local)
}

// dialCompat builds the pool for Dial and DialTCP: it dials the first
// connection before returning, so that a Write right after Dial finds it
// up, but a failure only sends it to the background.
func dialCompat(cfg TCPPoolConfig, raddr, laddr net.Addr) (*TCPPool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := newTCPPool(cfg, raddr, laddr)
	s := (*p.slots.Load())[0]
	addr := cfg.Addrs[0]
	conn, err := p.dial(p.ctx, addr)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.dialErrors.Add(1)
		p.lastErr = err
		p.startRedialLocked(s, true)
		return p, nil
	}
	p.installLocked(s, conn, addr)
	return p, nil
}

// DialPool returns a TCPPool described by cfg, after dialling its
// connections, at most 16 at a time. ctx bounds those first dials only.
// It returns the pool if at least one connection is up; the others are
// redialled in the background. It returns an error wrapping
// [ErrInvalidConfig] for a bad setting, and one wrapping the last dial
// error (and ctx.Err() if ctx ended) if no connection could be opened.
func DialPool(ctx context.Context, cfg TCPPoolConfig) (*TCPPool, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil context", ErrInvalidConfig)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var raddr net.Addr = poolAddr{cfg.Network, cfg.Addrs[0]}
	p := newTCPPool(cfg, raddr, nil)
	slots := *p.slots.Load()
	errs := make([]error, len(slots))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(slots), 16) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(slots); i = int(next.Add(1) - 1) {
				s := slots[i]
				addr := cfg.Addrs[s.home]
				conn, err := p.dial(ctx, addr)
				if err != nil {
					errs[i] = err
					continue
				}
				p.mu.Lock()
				p.installLocked(s, conn, addr)
				p.mu.Unlock()
			}
		}()
	}
	wg.Wait()

	var last error
	up := len(slots)
	for _, err := range errs {
		if err != nil {
			last = err
			up--
		}
	}
	if up == 0 {
		p.Close()
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("connpool: dial: %w: %w", err, last)
		}
		return nil, fmt.Errorf("connpool: dial: no connection could be opened: %w", last)
	}
	p.mu.Lock()
	for i, err := range errs {
		if err != nil {
			p.dialErrors.Add(1)
			p.lastErr = err
			slots[i].next = (slots[i].home + 1) % len(cfg.Addrs) // fail over
			p.startRedialLocked(slots[i], true)
		}
	}
	p.mu.Unlock()
	return p, nil
}

// newTCPPool returns a pool of cfg.Size connections, all down.
func newTCPPool(cfg TCPPoolConfig, raddr, laddr net.Addr) *TCPPool {
	if laddr == nil {
		laddr = poolAddr{network: cfg.Network}
		if strings.HasPrefix(cfg.Network, "tcp") {
			laddr = &net.TCPAddr{}
		}
	}
	if raddr == nil {
		raddr = poolAddr{cfg.Network, cfg.Addrs[0]}
	}
	p := &TCPPool{
		cfg:       cfg,
		raddr:     raddr,
		laddr:     laddr,
		epoch:     time.Now(),
		probeIdle: int64(cfg.IdleProbe),
		done:      make(chan struct{}),
		ready:     make(chan chunk),
		wake:      make(chan struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.maxRetries.Store(int64(cfg.MaxRetries))
	p.retryInterval.Store(int64(cfg.RetryInterval))
	slots := make([]*slot, cfg.Size)
	for i := range slots {
		slots[i] = p.newSlot(i)
	}
	p.slots.Store(&slots)
	return p
}

func (p *TCPPool) newSlot(i int) *slot {
	home := i % len(p.cfg.Addrs)
	return &slot{home: home, next: home, gone: make(chan struct{}), share: &p.shares[i%len(p.shares)]}
}

// poolAddr is the address of a backend before any connection to it is up.
type poolAddr struct{ network, addr string }

func (a poolAddr) Network() string { return a.network }
func (a poolAddr) String() string  { return a.addr }

// Write writes b whole on one connection, as described on [TCPPool]. It
// returns 0 <= n <= len(b), and an error if n < len(b): one wrapping
// [net.ErrClosed] after Close, one satisfying errors.Is(err,
// os.ErrDeadlineExceeded) past the write deadline, and otherwise one
// wrapping the last write or dial error once the retries are used up.
func (p *TCPPool) Write(b []byte) (int, error) {
	sp := p.slots.Load()
	if sp == nil {
		return 0, errNotDialled
	}
	if p.closed.Load() {
		return 0, errTCPPoolClosed
	}
	if d := p.wdl.Load(); d != 0 && time.Now().UnixNano() >= d {
		p.failedWrites.Add(1)
		return 0, errWriteTimeout
	}
	if len(b) == 0 {
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
	retries := int(p.maxRetries.Load())
	var lastErr error // of the last attempt, if it was a write
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if p.closed.Load() {
				return 0, errTCPPoolClosed
			}
			if d := p.wdl.Load(); d != 0 && time.Now().UnixNano() >= d {
				return 0, errWriteTimeout
			}
			p.retries.Add(1)
			slots = *p.slots.Load() // SetPoolSize may have changed them
		}
		s, lc := p.pick(slots, len(b))
		if lc == nil {
			// Nothing up. Join the sleepers before looking again, so that a
			// connection coming up between the two looks closes wake.
			wake := p.sleep()
			slots = *p.slots.Load()
			if s, lc = p.pick(slots, len(b)); lc == nil {
				if attempt >= retries {
					p.unsleep()
					return 0, p.giveUp("write", attempt, lastErr)
				}
				err := p.pause(wake, &p.wdl)
				p.unsleep()
				if err != nil {
					return 0, err
				}
				lastErr = nil
				continue
			}
			p.unsleep()
		}
		n, again, err := p.writeOn(s, lc, b)
		if !again {
			return n, err
		}
		lastErr = err
		if attempt >= retries {
			return 0, p.giveUp("write", attempt, lastErr)
		}
	}
}

// pick asks the balancer for a connection and takes a reference on it, or
// on the next one up after it. It returns nil if none is up.
func (p *TCPPool) pick(slots []*slot, size int) (*slot, *liveConn) {
	n := len(slots)
	i := p.cfg.Balancer.Pick(ConnSet{slots}, size)
	if i < 0 {
		return nil, nil
	}
	if i >= n {
		i %= n
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

// writeOn writes b on lc, the connection of s, passing on the reference
// the caller took. again reports that the Write may go on to another
// connection: nothing of b reached this one, or RetryPartialWrites allows
// it.
func (p *TCPPool) writeOn(s *slot, lc *liveConn, b []byte) (n int, again bool, err error) {
	if p.probeIdle >= 0 {
		// time.Since on a time with a monotonic reading reads only the
		// monotonic clock: cheaper than time.Now, and immune to clock steps.
		now := int64(time.Since(p.epoch))
		last := lc.lastWrite.Load()
		if last < 0 || now-last >= p.probeIdle {
			if !p.checkIdle(lc, now, last) {
				lc.release()
				p.retire(s, lc, errPeerClosed)
				return 0, true, &opError{op: "write", addr: lc.addr, err: errPeerClosed}
			}
		} else if now > last {
			// A CAS, not a Store, so as not to undo a probe claimed since
			// the Load. Losing to another Write is harmless: its time is
			// at worst a little older, which only brings the next probe
			// forward.
			lc.lastWrite.CompareAndSwap(last, now)
		}
	}
	n, err = lc.Conn.Write(b)
	lc.release()
	n = min(max(n, 0), len(b)) // keep io.Writer's contract whatever the conn does
	if err == nil {
		if n == len(b) {
			s.share.writes.Add(1)
			s.share.bytes.Add(uint64(n))
			return n, false, nil
		}
		err = errShortWrite
	}
	if p.closed.Load() {
		return n, false, errTCPPoolClosed
	}
	timeout := isTimeout(err)
	if n > 0 || !timeout {
		// A timeout before the first byte leaves the stream as it was;
		// anything else leaves it broken or torn, so it must end here.
		p.retire(s, lc, err)
	}
	if errors.Is(err, net.ErrClosed) {
		// Another goroutine closed it, having found it broken. Do not
		// pass net.ErrClosed on: the pool is not closed.
		err = errConnLost
	}
	werr := &opError{op: "write", addr: lc.addr, err: err}
	if timeout {
		return n, false, werr
	}
	if n == 0 || p.cfg.RetryPartialWrites {
		return 0, true, werr
	}
	return n, false, &opError{op: "write", addr: lc.addr, detail: fmt.Sprintf("connection failed after %d of %d bytes", n, len(b)), err: err}
}

// errShortWrite is the cause when a connection wrote less than asked
// without saying why.
var errShortWrite = errors.New("connpool: connection wrote less than asked and returned no error")

// giveUp builds the error of a Read or Write out of attempts: the error of
// its last attempt if that was a write, else the pool's last error.
func (p *TCPPool) giveUp(op string, attempt int, last error) error {
	if last == nil {
		p.mu.Lock()
		last = p.lastErr
		p.mu.Unlock()
	}
	if last == nil {
		last = errNoConn
	}
	return &opError{op: op, detail: fmt.Sprintf("gave up after %d attempts", attempt+1), err: last}
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

// pause waits, after sleep, for wake, for the retry interval, or until the
// deadline in dl (which the caller then reports). It returns an error only
// if the pool closes.
func (p *TCPPool) pause(wake <-chan struct{}, dl *atomic.Int64) error {
	d := time.Duration(p.retryInterval.Load())
	if deadline := dl.Load(); deadline != 0 {
		left := time.Duration(deadline - time.Now().UnixNano())
		if left <= 0 {
			return nil
		}
		d = min(d, left)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-wake:
	case <-t.C:
	case <-p.done:
		return errTCPPoolClosed
	}
	return nil
}

// retire takes lc, found broken, out of s, closes it and starts redialling.
// It does nothing if lc is no longer s's connection.
func (p *TCPPool) retire(s *slot, lc *liveConn, cause error) {
	if !s.live.CompareAndSwap(lc, nil) {
		return
	}
	lc.close() // at once: Writes in progress on it fail and move on
	lc.release()
	p.mu.Lock()
	p.lastErr = cause
	p.startRedialLocked(s, true)
	p.mu.Unlock()
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
	go p.redial(s, failed)
}

// redial dials for s until a connection is up, s is removed, or the pool
// closes. After a failed dial it fails over to the next address. The
// backoff starts over after every successful dial: a server that accepts
// is worth reconnecting to at once; the backoff is there to spare one that
// refuses or cannot be reached.
func (p *TCPPool) redial(s *slot, failed bool) {
	defer p.wg.Done()
	var timer *time.Timer
	for {
		if failed {
			interval := time.Duration(p.retryInterval.Load())
			s.bo.base, s.bo.max = interval, max(p.cfg.MaxBackoff, interval)
			d := s.bo.next()
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			select {
			case <-timer.C:
			case <-p.done:
				timer.Stop()
				return
			case <-s.gone:
				timer.Stop()
				return
			}
		}
		failed = true
		addr := p.cfg.Addrs[s.next]
		conn, err := p.dial(p.ctx, addr)
		if err != nil {
			p.dialErrors.Add(1)
			s.next = (s.next + 1) % len(p.cfg.Addrs)
			p.mu.Lock()
			p.lastErr = err
			p.mu.Unlock()
			continue
		}
		s.bo.reset()
		p.mu.Lock()
		p.installLocked(s, conn, addr)
		p.mu.Unlock()
		return
	}
}

// dial opens one connection to addr, bounded by ctx and DialTimeout.
func (p *TCPPool) dial(ctx context.Context, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	conn, err := p.cfg.Dial(ctx, p.cfg.Network, addr)
	switch {
	case err != nil:
		if conn != nil {
			conn.Close()
		}
		return nil, err
	case conn == nil:
		return nil, ErrNilConn
	}
	return conn, nil
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
	lc := &liveConn{Conn: conn, addr: addr}
	lc.refs.Store(1)
	lc.lastWrite.Store(int64(time.Since(p.epoch)))
	if !p.wdlTime.IsZero() {
		conn.SetWriteDeadline(p.wdlTime)
	}
	if p.readers {
		p.startReaderLocked(s, lc)
	} else if !p.rdlTime.IsZero() {
		conn.SetReadDeadline(p.rdlTime)
	}
	if s.everUp {
		p.reconnects.Add(1)
	}
	s.everUp = true
	s.live.Store(lc)
	p.wakeLocked()
}

// SetPoolSize changes the number of connections to size. New connections
// are dialled in the background, and removed ones are closed as soon as
// the Writes in progress on them finish, so SetPoolSize never waits for a
// dial or a Write, nor makes a Write wait. It returns an error wrapping
// [ErrInvalidConfig], and changes nothing, if size is 0 or more than
// [MaxTCPPoolSize], and one wrapping [net.ErrClosed] after Close.
func (p *TCPPool) SetPoolSize(size uint) error {
	if p.slots.Load() == nil {
		return errNotDialled
	}
	if size == 0 || size > MaxTCPPoolSize {
		return fmt.Errorf("%w: pool size %d, want 1 to %d", ErrInvalidConfig, size, MaxTCPPoolSize)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return errTCPPoolClosed
	}
	old := *p.slots.Load()
	n := int(size)
	if n == len(old) {
		return nil
	}
	slots := make([]*slot, n)
	copy(slots, old)
	for i := len(old); i < n; i++ {
		slots[i] = p.newSlot(i)
		p.startRedialLocked(slots[i], false)
	}
	if n < len(old) {
		for _, s := range old[n:] {
			s.removed = true
			close(s.gone)
			if lc := s.live.Swap(nil); lc != nil {
				lc.release() // the last Write on it closes it
			}
		}
	}
	p.slots.Store(&slots)
	return nil
}

// SetMaxRetries sets [TCPPoolConfig.MaxRetries] for the Writes that start
// from now on. Unlike in the config, 0 means no retries (one attempt), as
// does a negative n.
func (p *TCPPool) SetMaxRetries(n int) {
	p.maxRetries.Store(int64(max(n, 0)))
}

// SetRetryInterval sets [TCPPoolConfig.RetryInterval], for the waits and
// reconnection delays that start from now on. A d of zero or less is
// taken as 1ms: waiting Writes wake as soon as a connection comes up, so
// the interval only paces reconnections and bounds the wait, and a zero
// would make a dead server be dialled in a tight loop.
func (p *TCPPool) SetRetryInterval(d time.Duration) {
	if d <= 0 {
		d = time.Millisecond
	}
	p.retryInterval.Store(int64(d))
}

// Close closes every connection and stops every goroutine of the pool,
// waiting for them; Reads and Writes in progress return an error wrapping
// [net.ErrClosed]. Calling Close again does nothing and returns nil.
func (p *TCPPool) Close() error {
	if p.slots.Load() == nil {
		return errNotDialled
	}
	p.mu.Lock()
	if p.closed.Load() {
		p.mu.Unlock()
		return nil
	}
	p.closed.Store(true)
	close(p.done)
	p.cancel()
	slots := *p.slots.Load()
	p.mu.Unlock()
	for _, s := range slots {
		if lc := s.live.Swap(nil); lc != nil {
			lc.close()
		}
	}
	p.wg.Wait()
	return nil
}

// LocalAddr returns the local address of the first connection up, or, if
// none is, the local address given to DialTCP or an unspecified address.
// It never returns nil.
func (p *TCPPool) LocalAddr() net.Addr {
	if lc := p.firstUp(); lc != nil {
		if a := lc.LocalAddr(); !isNilAddr(a) {
			return a
		}
	}
	if p.laddr == nil {
		return poolAddr{}
	}
	return p.laddr
}

// RemoteAddr returns the remote address of the first connection up, or,
// if none is, the address of the first backend. It never returns nil.
func (p *TCPPool) RemoteAddr() net.Addr {
	if lc := p.firstUp(); lc != nil {
		if a := lc.RemoteAddr(); !isNilAddr(a) {
			return a
		}
	}
	if p.raddr == nil {
		return poolAddr{}
	}
	return p.raddr
}

func (p *TCPPool) firstUp() *liveConn {
	sp := p.slots.Load()
	if sp == nil {
		return nil
	}
	for _, s := range *sp {
		if lc := s.live.Load(); lc != nil {
			return lc
		}
	}
	return nil
}

// isNilAddr reports whether a is nil or a nil pointer in an interface,
// which a custom connection might return.
func isNilAddr(a net.Addr) bool {
	if a == nil {
		return true
	}
	v := reflect.ValueOf(a)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

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
	if p.slots.Load() == nil {
		return errNotDialled
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return errTCPPoolClosed
	}
	p.wdlTime = t
	p.wdl.Store(unixNano(t))
	for _, s := range *p.slots.Load() {
		if lc := s.live.Load(); lc != nil {
			lc.SetWriteDeadline(t) // an error means it just failed: its replacement gets t
		}
	}
	p.wakeLocked()
	return nil
}

// SetReadDeadline sets the deadline of Reads, on every connection now and
// every connection dialled later (once reader goroutines run, Read itself
// enforces it); a zero t means none. A Read waiting sees the change at
// once. It returns an error wrapping [net.ErrClosed] after Close.
func (p *TCPPool) SetReadDeadline(t time.Time) error {
	if p.slots.Load() == nil {
		return errNotDialled
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return errTCPPoolClosed
	}
	p.rdlTime = t
	p.rdl.Store(unixNano(t))
	if !p.readers {
		for _, s := range *p.slots.Load() {
			if lc := s.live.Load(); lc != nil {
				lc.SetReadDeadline(t)
			}
		}
	}
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

// TCPPoolStats are the counters of a [TCPPool], from [TCPPool.Stats].
type TCPPoolStats struct {
	Writes       uint64 // Writes that returned no error
	Bytes        uint64 // bytes written, including those of Writes that failed part way
	FailedWrites uint64 // Writes that returned an error
	Retries      uint64 // attempts Writes made beyond their first
	Reconnects   uint64 // connections that replaced one that failed
	DialErrors   uint64 // dials that failed
	ConnsUp      int    // connections up now
	Size         int    // connections the pool keeps, up or not
}

// Stats returns the pool's counters since it was made. Each counter is
// read atomically, but not all at the same instant. The zero TCPPool
// returns zero stats.
func (p *TCPPool) Stats() TCPPoolStats {
	sp := p.slots.Load()
	if sp == nil {
		return TCPPoolStats{}
	}
	st := TCPPoolStats{
		FailedWrites: p.failedWrites.Load(),
		Retries:      p.retries.Load(),
		Reconnects:   p.reconnects.Load(),
		DialErrors:   p.dialErrors.Load(),
		Size:         len(*sp),
	}
	for i := range p.shares {
		st.Writes += p.shares[i].writes.Load()
		st.Bytes += p.shares[i].bytes.Load()
	}
	for _, s := range *sp {
		if s.live.Load() != nil {
			st.ConnsUp++
		}
	}
	return st
}

var _ net.Conn = (*TCPPool)(nil)
