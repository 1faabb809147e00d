package connpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-a245f091/connpool/internal/isnil"
	"github.com/seed-a245f091/connpool/internal/sock"
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

// isTimeout reports whether err is a deadline expiring. (A *tls.Conn whose
// Write timed out keeps failing every Write with a timeout: see writeOn.)
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TCPPool is a net.Conn that spreads its Writes over several connections
// and reconnects them when they fail. It is a drop-in replacement for
// github.com/samber/go-tcp-pool v1: [Dial], [DialTCP], SetPoolSize,
// SetMaxRetries and SetRetryInterval keep their signatures. go-tcp-pool's
// package is named pool and this one connpool: code that calls pool.Dial
// builds with its import path changed to
// github.com/seed-a245f091/connpool/samber, a package named pool, or with
// this one's imported under that name:
//
//	import pool "github.com/seed-a245f091/connpool"
//
// [DialPool] builds one over several backends with every setting in a
// [TCPPoolConfig]. The zero value is not usable; its methods return an
// error.
//
// # Writes
//
// Each Write goes whole onto one connection, chosen by the pool's
// [Balancer] among those that are up; Writes from several goroutines run
// in parallel on different connections. A Write that finds its connection
// broken before any byte left moves on to the next connection up, up to
// MaxAttempts attempts in all (connections the check before the write
// finds closed cost none while another is up, so those a server restart
// left cost a Write one attempt in all); the broken connection is
// redialled in the background with a jittered backoff that grows with
// the outage (see [TCPPoolConfig.DialBackoff]). A connection lost before any Write or
// Read on it succeeded, within MaxDialBackoff of its dial, as to a server
// that closes what it accepts, counts as a failed dial: the backoff goes
// on growing, and the next dial goes to the next address. (One lost later
// unused, to a server's idle timeout say, is redialled as any other.) When
// no connection is up, a Write waits for one, up to DialBackoff per
// attempt, the last included, and gives up with an error wrapping the
// last dial or write error (one that would read as the end of a stream or
// as the Write's own timeout passes on as the peer's close, or as text
// alone: see [TCPPool.Write]). A connection just dialled, or not written to
// for [TCPPoolConfig.ProbeAfter], is checked with a non-blocking peek
// before the next write, so data is not handed to a socket the peer has
// already closed; Writes that start on it while the check runs wait for
// its verdict. A connection that fails after part of a Write reached it
// is closed at once; see [TCPPoolConfig.RetryPartialWrites] for what
// happens to the Write. A Write that reaches its deadline before writing
// a byte keeps its connection if that is a plain socket; through TLS, or
// any other layer over the socket, the connection is replaced, as a
// *tls.Conn whose Write timed out may have sent part of a record and
// fails every later Write. A connection closed because it failed gets no
// TLS close_notify, which would make the Write wait for a peer that has
// stopped reading. Write always returns 0 <= n <= len(b), and n < len(b)
// only with an error. In steady state a Write does not allocate.
//
// # Reads
//
// With one connection, a TCPPool is an ordinary net.Conn that reconnects:
// Read reads from the connection; if the connection fails, Read returns
// the error (io.EOF itself at a clean close, as io.Reader callers expect;
// an answer in flight on it is lost), and the next Read, like the next
// Write, uses its replacement. With several connections, Read returns
// bytes from whichever connection has some, never from two connections in
// one call; a connection failing is not reported by Read, only replaced
// (see [TCPPool.Stats]). The switch to the second mode happens on the
// first Read made while the pool has more than one connection, and is for
// good: from then on one goroutine per connection reads ahead (holding at
// most 16 KiB each until a Read takes it). Reads are served one at a time.
//
// # Deadlines and Close
//
// SetDeadline, SetReadDeadline and SetWriteDeadline apply to every
// connection, present and future; past a deadline, Read and Write fail at
// once with an error that satisfies errors.Is(err, os.ErrDeadlineExceeded)
// and whose Timeout method returns true; a Write that waited in vain for a
// connection wraps the last dial error too. A Write waiting for a
// connection is bounded by the write deadline. Close closes every
// connection, those that SetPoolSize removed but Writes still use
// included, which ends every Read and Write in progress, and stops every
// goroutine of the pool; afterwards Read and Write return 0 and an error
// that satisfies errors.Is(err, net.ErrClosed) (and [ErrClosed]).
//
// A connection closed while bytes its server sent wait unread (at Close,
// or when SetPoolSize removes it) is reset by the kernel, not closed, and
// whatever earlier Writes left in its send buffer, not yet received by
// the server, is lost: TCP has no clean close for a socket with unread
// bytes. With a server that sends anything back, Read what it sends.
//
// A connection the probe before a Write finds closed by its server is
// replaced for Writes at once, its sending side shut so that Writes
// already under way on it fail there and move on, but, once Read has been
// called on the pool at least once, kept open for Read if the server sent
// bytes before it closed that are still unread (the answer to the last
// request, from a server that restarts gracefully, say; through TLS, or
// any layer that reads ahead, once a Read has taken bytes from it, since
// the layer may hold more of them than the socket shows), or, with one
// connection, if a Read is under way on it, which then ends as it would
// have with no Write first, with io.EOF at a clean close. With one
// connection, Read returns those bytes, then io.EOF for the old
// connection's end, then what comes on the new one (a connection that
// held nothing for a Read, only a TLS close_notify say, ends without an
// io.EOF, unless a Read was under way on it); with several, its reader
// goroutine goes on to the end as before. Each connection slot keeps at
// most one such connection: the next one kept so closes it, read or not.
// A pool never read from, and one with nothing to keep, closes such a
// connection at once.
//
// A TCPPool is safe for concurrent use by multiple goroutines.
type TCPPool struct {
	cfg      TCPPoolConfig // validated; read-only after construction
	dialer   dialer
	clock    clock
	raddr    net.Addr      // RemoteAddr while no connection is up; never nil
	laddr    net.Addr      // LocalAddr while no connection is up; never nil
	probeGap time.Duration // cfg.ProbeAfter; negative: never probe
	obs      observers
	log      logger

	// Settings the go-tcp-pool setters change while the pool runs.
	attempts    atomic.Int64
	dialBackoff atomic.Int64 // a time.Duration

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
	shares                                                      [8]counterShare
	failedWrites, retries, reconnects, dials, dialErrors, stale atomic.Uint64

	// waitingWrites counts Writes waiting for a connection to come up.
	waitingWrites atomic.Int64

	// read says Read has been called: from then on a connection its
	// server closed is drained (see drain) if bytes wait on it, or may in
	// a layer that reads ahead (see liveConn.readFrom), or while reading
	// says a Read is under way in readOne, where it would otherwise fail
	// on a connection closed under it.
	read    atomic.Bool
	reading atomic.Bool

	// readMu serializes Reads and guards pend and readTimer. It is taken
	// before mu, never after.
	readMu    sync.Mutex
	pend      chunk       // rest of the chunk the last Read did not take
	readTimer *time.Timer // reused by Reads waiting with a deadline
	ready     chan chunk  // reader goroutines hand their chunks to Read here

	// liveMu guards live, every connection open, installed or removed by
	// SetPoolSize but still in use, so that Close can end them all. It is
	// taken last: nothing else is locked while it is held.
	liveMu sync.Mutex
	live   map[*liveConn]struct{}
	// watch is the pool's socket watcher (nil if there is none), set as
	// the pool is made. watched holds, by token, the connections in it,
	// and tokens numbers them: both under liveMu.
	watch   *sock.Watcher
	watched map[uint64]*liveConn
	tokens  uint64
	// testHookGone, for tests, is called after the watcher's news of a
	// peer's close has been acted on.
	testHookGone atomic.Pointer[func()]

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

// Dial returns a TCPPool of one connection to addr, which it resolves
// first, on network "tcp", "tcp4" or "tcp6" (empty means "tcp"), as
// go-tcp-pool's Dial does. It returns an error only for an address it
// cannot use: one wrapping [net.UnknownNetworkError] if network is not
// TCP, one wrapping the resolver's error (a [*net.AddrError] or
// [*net.DNSError]) if addr does not resolve, and one wrapping
// [ErrInvalidConfig] if addr is empty. Like go-tcp-pool, if the server
// cannot be reached, Dial still returns the pool, which keeps dialling in
// the background while Writes wait and fail as documented on [TCPPool].
// Each dial goes to addr by name, so it follows DNS changes. Use
// [DialPool] to fail when nothing answers.
//
// The pool has the defaults of [TCPPoolConfig]: 10 attempts per Write,
// DialBackoff 10ms, round-robin, and so on. Grow it with SetPoolSize.
func Dial(network, addr string) (*TCPPool, error) {
	if addr == "" {
		return nil, invalid("addr is empty")
	}
	raddr, err := net.ResolveTCPAddr(network, addr)
	if err != nil {
		return nil, fmt.Errorf("connpool: %w", err)
	}
	cfg := TCPPoolConfig{Addrs: []string{addr}, Network: network, Size: 1}
	return dialCompat(cfg, raddr, nil)
}

// DialTCP is [Dial] with the remote address already resolved, and laddr,
// if not nil, as the local address of every connection (so with a fixed
// port, only one connection can be up). It returns an error wrapping
// [net.UnknownNetworkError] if network is not "tcp", "tcp4" or "tcp6",
// and one wrapping [ErrInvalidConfig] if raddr is nil; none if the server
// cannot be reached.
func DialTCP(network string, laddr, raddr *net.TCPAddr) (*TCPPool, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("connpool: DialTCP: %w", net.UnknownNetworkError(network))
	}
	if raddr == nil {
		return nil, invalid("DialTCP: raddr is nil")
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
	p := newTCPPool(cfg, raddr, laddr, newRealClock())
	s := (*p.slots.Load())[0]
	addr := cfg.Addrs[0]
	conn, err := p.dial(p.ctx, addr)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.setLastErrLocked(err)
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
	return dialPool(ctx, cfg, newRealClock())
}

func dialPool(ctx context.Context, cfg TCPPoolConfig, clk clock) (*TCPPool, error) {
	if ctx == nil {
		return nil, invalid("nil context")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := newTCPPool(cfg, nil, nil, clk)
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
			p.setLastErrLocked(err)
			slots[i].next = (slots[i].home + 1) % len(cfg.Addrs) // fail over
			p.startRedialLocked(slots[i], true)
		}
	}
	p.mu.Unlock()
	return p, nil
}

// newTCPPool returns a pool of cfg.Size connections, all down.
func newTCPPool(cfg TCPPoolConfig, raddr, laddr net.Addr, clk clock) *TCPPool {
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
		cfg:      cfg,
		dialer:   dialer{dial: cfg.Dial, network: cfg.Network, timeout: cfg.DialTimeout, clock: clk},
		clock:    clk,
		raddr:    raddr,
		laddr:    laddr,
		probeGap: cfg.ProbeAfter,
		log:      logger{l: cfg.Logger, name: cfg.Name},
		done:     make(chan struct{}),
		ready:    make(chan chunk),
		wake:     make(chan struct{}),
		live:     make(map[*liveConn]struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.startWatcher()
	p.attempts.Store(int64(cfg.MaxAttempts))
	p.dialBackoff.Store(int64(cfg.DialBackoff))
	slots := make([]*slot, cfg.Size)
	for i := range slots {
		slots[i] = p.newSlot(i)
	}
	p.slots.Store(&slots)
	return p
}

// poolAddr is the address of a backend before any connection to it is up.
type poolAddr struct{ network, addr string }

func (a poolAddr) Network() string { return a.network }
func (a poolAddr) String() string  { return a.addr }

// Name returns the pool's name: TCPPoolConfig.Name, or the first address.
func (p *TCPPool) Name() string { return p.cfg.Name }

// Observe adds o to the observers of the pool's events, from now on: each
// dial, and each write attempt's wait for a connection and its write (see
// [Observer]). It returns the function that removes o again, as
// [ConnPool.Observe] does.
func (p *TCPPool) Observe(o Observer) (remove func()) { return p.obs.add(o) }

// Close closes every connection and stops every goroutine of the pool,
// waiting for them; Reads and Writes in progress return an error wrapping
// [net.ErrClosed]. It closes each connection with the connection's own
// Close, so that one through TLS with no Write in progress sends a
// close_notify, as a graceful close should. To a server that has stopped
// reading, that alert waits for room in the socket, up to the five
// seconds crypto/tls allows it; Close therefore closes the connections
// concurrently and waits for them all, so that such a server costs it
// those five seconds once in all, not once per connection. Close takes as
// long as the slowest connection's Close: with plain TCP, or TLS to
// servers that read, it waits on no server. A connection's Close that
// panics stops none of the others; the panic reaches Close's caller once
// every goroutine of the pool has ended. Calling Close again does nothing
// and returns nil.
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
	for _, s := range *p.slots.Load() {
		s.live.Store(nil)
	}
	p.mu.Unlock()
	// Every connection, installed or not: a Write blocked on one that
	// SetPoolSize removed, or a reader goroutine, ends as it closes.
	p.liveMu.Lock()
	open := make([]*liveConn, 0, len(p.live))
	for lc := range p.live {
		open = append(open, lc)
	}
	p.liveMu.Unlock()
	defer p.wg.Wait() // also if a connection's Close panics
	if p.watch != nil {
		p.watch.Close()
	}
	closeEach(open, func(lc *liveConn) bool { return !lc.plain }, func(lc *liveConn) { lc.close(false) })
	return nil
}

// LocalAddr returns the local address of the first connection up, or, if
// none is, the local address given to DialTCP or an unspecified address.
// It never returns nil.
func (p *TCPPool) LocalAddr() net.Addr {
	if lc := p.firstUp(); lc != nil {
		if a := lc.LocalAddr(); !isnil.Value(a) {
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
		if a := lc.RemoteAddr(); !isnil.Value(a) {
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

// TCPPoolStats are the counters of a [TCPPool], from [TCPPool.Stats].
// Dials, DialErrors and ClosedStale count what a ConnPool's [Stats] fields
// of the same names count.
type TCPPoolStats struct {
	Name         string // the pool's name (TCPPoolConfig.Name)
	Writes       uint64 // Writes that returned no error
	Bytes        uint64 // bytes written, including those of Writes (or attempts) that failed part way
	FailedWrites uint64 // Writes that returned an error
	Retries      uint64 // attempts Writes made beyond their first
	Reconnects   uint64 // connections that replaced one that failed
	Dials        uint64 // dial attempts finished
	DialErrors   uint64 // of Dials, those that failed
	ClosedStale  uint64 // connections the probe found closed by their peer
	Waiting      int    // Writes waiting for a connection to come up
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
		Name:         p.cfg.Name,
		FailedWrites: p.failedWrites.Load(),
		Retries:      p.retries.Load(),
		Reconnects:   p.reconnects.Load(),
		Dials:        p.dials.Load(),
		DialErrors:   p.dialErrors.Load(),
		ClosedStale:  p.stale.Load(),
		Waiting:      int(p.waitingWrites.Load()),
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

// dial opens one connection to addr, bounded by ctx and DialTimeout, and
// counts and reports it.
func (p *TCPPool) dial(ctx context.Context, addr string) (net.Conn, error) {
	conn, took, err := p.dialer.open(ctx, addr)
	p.dials.Add(1)
	if err != nil {
		p.dialErrors.Add(1)
	}
	if obs := p.obs.load(); obs != nil {
		done := false
		defer func() {
			if !done && conn != nil {
				conn.Close() // an observer panicked: leave nothing open
			}
		}()
		observeDial(obs, took, err)
		done = true
	}
	return conn, err
}

var _ net.Conn = (*TCPPool)(nil)

// logDial logs a connection's dial failing, at Warn the first of a run and
// at Debug the others, or its coming back after failures.
func (p *TCPPool) logDial(addr string, err error, failures int) {
	switch {
	case err == nil && failures > 0:
		p.log.log(slog.LevelInfo, "connection back up", slog.String("addr", addr), slog.Int("failures", failures))
	case err != nil && failures == 1:
		p.log.log(slog.LevelWarn, "dial failed; backing off", slog.String("addr", addr), slog.String("err", err.Error()))
	case err != nil:
		p.log.log(slog.LevelDebug, "dial failed again", slog.String("addr", addr), slog.String("err", err.Error()), slog.Int("failures", failures))
	}
}
