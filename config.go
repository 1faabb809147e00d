package connpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// DialFunc opens a connection to address on network. It has the signature
// of [net.Dialer.DialContext] and [crypto/tls.Dialer.DialContext], so
// either can be passed as it is. Both pools use it.
//
// The context carries the pool's lifetime and its DialTimeout: it is not
// the context of the Get or Write that asked for the connection, because a
// dial may finish after that caller has given up (its connection then
// serves the next one). A DialFunc must return a non-nil connection or a
// non-nil error, and return soon after ctx is done; it may be called from
// several goroutines at once.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// IdleOrder is the order in which idle connections are reused.
type IdleOrder int

const (
	// LIFO reuses the most recently returned connection first: a few warm
	// connections serve a light load and the rest age out under
	// IdleTimeout. The default.
	LIFO IdleOrder = iota
	// FIFO reuses the connection idle longest first, spreading use evenly
	// over every idle connection.
	FIFO
)

// Defaults, shared by both pools where they have the same setting.
const (
	defaultDialTimeout      = 5 * time.Second
	defaultDialBackoff      = 10 * time.Millisecond
	defaultMaxDialBackoff   = time.Second
	defaultProbeAfter       = time.Millisecond
	defaultHealthCheckAfter = 500 * time.Millisecond
)

// longest is the longest a duration setting is taken to be: a hundred
// years, never in effect, and short enough that the pools' sums of a
// setting and a reading of their clock cannot overflow.
const longest = 100 * 365 * 24 * time.Hour

// Config describes a [ConnPool]. MaxConns is required, and Addr or Dial;
// every other field has a default, given on it. [New] validates a Config
// once and copies it, so changing a Config after New has no effect on the
// pool. A duration longer than a hundred years is taken as a hundred
// years, so that one as long as time.Duration holds means never.
type Config struct {
	// Name names the pool in its log records and metrics. Empty means
	// Addr, or, if Addr is empty too, the remote address of the pool's
	// first connection.
	Name string

	// Network and Addr are passed to Dial. Empty Network means "tcp".
	Network, Addr string

	// Dial opens a connection. Nil means a [net.Dialer] dialling Network
	// and Addr, in which case Addr is required. For TLS, pass
	// (&tls.Dialer{Config: c}).DialContext.
	Dial DialFunc

	// DialTimeout bounds each dial. Zero means 5s. Close cancels dials in
	// flight whatever the timeout.
	DialTimeout time.Duration

	// MaxConns is the hard limit on open connections: idle, checked out,
	// being dialled and being closed, together (a connection the pool
	// closes keeps its place until its Close returns). Required: at least
	// 1, and up to math.MaxInt, as the pool's memory grows with the
	// connections actually open, not with MaxConns.
	MaxConns int

	// InitialConns connections are dialled by New before it returns. If any
	// of those dials fails, New closes what it opened and returns the error.
	// Zero means none; at most MaxIdleConns.
	InitialConns int

	// MaxIdleConns is how many idle connections the pool keeps; a
	// connection returned beyond it is closed. Zero means MaxConns (every
	// connection may idle); at most MaxConns.
	MaxIdleConns int

	// MinIdleConns idle connections are kept ready: whenever fewer are
	// idle or being dialled, and fewer than MaxConns are open, the pool
	// dials more in the background, one at a time while dials fail (see
	// DialBackoff). IdleTimeout never closes a connection that would leave
	// fewer than MinIdleConns idle. Zero means none; at most MaxIdleConns.
	MinIdleConns int

	// IdleOrder is the order idle connections are reused in. Zero means LIFO.
	IdleOrder IdleOrder

	// IdleTimeout closes connections that have been idle longer, in the
	// background and at the Get that finds one, all but the MinIdleConns
	// kept ready (those a Get hands out, after the peek). Zero means idle
	// connections are kept however long they wait.
	IdleTimeout time.Duration

	// MaxLifetime closes connections this long after they were dialled:
	// idle ones in the background, checked-out ones when they come back.
	// Each connection's lifetime is cut short by a random part of
	// MaxLifetimeJitter, drawn once when it is dialled, so connections
	// dialled together do not all reconnect together. Zero means no limit.
	MaxLifetime time.Duration

	// MaxLifetimeJitter is the most a connection's lifetime is shortened
	// by. Zero means MaxLifetime/10; at most MaxLifetime.
	MaxLifetimeJitter time.Duration

	// ProbeAfter is how long a connection must have been idle before Get
	// peeks at its socket, without blocking, before handing it out: if the
	// peer has closed or reset it, or sent bytes nobody asked for, the
	// pool closes it and Get takes another. The peek is a system call but
	// no round trip. Zero means 1ms; a negative value turns it off.
	//
	// On Linux the pool also hears of a peer's close or reset from the
	// kernel as it happens, whatever the idle time, and closes the
	// connection in the background (see the package documentation); the
	// peek then adds the bytes sent unasked, and closes that arrive in the
	// moment before the pool hears of them.
	ProbeAfter time.Duration

	// HealthCheck, if set, runs before Get hands out a connection that has
	// been idle at least HealthCheckAfter, after the peek, with the Get's
	// context, which also ends if the pool is closed meanwhile: a
	// protocol-level ping, say. An error closes the connection
	// and Get takes another, unless the Get's context has ended: Get then
	// returns the context's error, as the next check would fail for it
	// too. Deadlines the check sets on conn are cleared before Get hands
	// it out. A connection that outlives its MaxLifetime during the check
	// is closed as expired, and Get takes another. Nil means no check
	// beyond the peek.
	HealthCheck func(ctx context.Context, conn net.Conn) error

	// HealthCheckAfter is how long a connection must have been idle before
	// HealthCheck runs on it. Zero means 500ms; a negative value means
	// never.
	HealthCheckAfter time.Duration

	// DialBackoff and MaxDialBackoff bound the wait before the next dial
	// while dials fail: each wait is drawn at random (full jitter) up to a
	// quarter of the time dials have been failing, but up to no less than
	// DialBackoff and no more than MaxDialBackoff, so the first attempt
	// after the server is back comes within a quarter of the outage (or
	// within DialBackoff, if that is longer), and a long outage costs a
	// trickle of about one attempt per MaxDialBackoff.
	// While dials fail, the pool dials one at a
	// time, each failure ends the longest wait with the dial's error, and
	// the other Gets wait for the next attempt, a connection coming back,
	// or their context, instead of dialling each. The first dial that
	// succeeds ends the backoff. Zero DialBackoff means 10ms;
	// zero MaxDialBackoff means 1s, or DialBackoff if that is longer.
	DialBackoff, MaxDialBackoff time.Duration

	// OnDial, if set, is called after every dial with its connection or
	// error and how long it took, before the connection is used. It runs
	// without the pool's lock held and must not block.
	OnDial func(conn net.Conn, err error, took time.Duration)

	// OnClose, if set, is called after the pool closes a connection, with
	// the reason, before the connection's place under MaxConns is free for
	// another dial: a Drain that returns has heard every OnClose out. It
	// runs without the pool's lock held and must not block.
	OnClose func(conn net.Conn, reason CloseReason)

	// Logger, if set, receives the records an operator needs: dials
	// failing and recovering, the backoff engaged and cleared, stale and
	// dead connections found, held connections past LeakThreshold, and
	// drains. Never one per Get. Nil means silent.
	Logger *slog.Logger

	// LeakThreshold, if more than zero, is how long a connection may stay
	// checked out before the pool logs a warning, with the stack of the Get
	// that took it, and counts it in [Stats].Leaks. The stack is captured
	// at every Get only while LeakThreshold is set. Zero means no leak
	// detection.
	LeakThreshold time.Duration
}

// ErrInvalidConfig is wrapped by every error [New], [NewChannelPool],
// [DialPool] and [TCPPool.SetPoolSize] return for a setting out of range or
// missing, and by the error of [Dial] for an empty address and of
// [DialTCP] for a nil raddr. The other errors of Dial and DialTCP, for a
// network that is not TCP or an address that does not resolve, do not
// wrap it.
var ErrInvalidConfig = errors.New("connpool: invalid config")

// invalid returns an error wrapping ErrInvalidConfig.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// validate checks c and fills in its defaults. Every default is set here.
func (c *Config) validate() error {
	if c.Dial == nil && c.Addr == "" {
		return invalid("Dial is nil and Addr is empty")
	}
	if c.MaxConns < 1 {
		return invalid("MaxConns is %d, want at least 1", c.MaxConns)
	}
	if c.MaxIdleConns < 0 || c.MaxIdleConns > c.MaxConns {
		return invalid("MaxIdleConns is %d, want 0 to MaxConns (%d)", c.MaxIdleConns, c.MaxConns)
	}
	if c.MaxIdleConns == 0 {
		c.MaxIdleConns = c.MaxConns
	}
	if c.InitialConns < 0 || c.InitialConns > c.MaxIdleConns {
		return invalid("InitialConns is %d, want 0 to MaxIdleConns (%d)", c.InitialConns, c.MaxIdleConns)
	}
	if c.MinIdleConns < 0 || c.MinIdleConns > c.MaxIdleConns {
		return invalid("MinIdleConns is %d, want 0 to MaxIdleConns (%d)", c.MinIdleConns, c.MaxIdleConns)
	}
	if c.IdleOrder != LIFO && c.IdleOrder != FIFO {
		return invalid("IdleOrder is %d, want LIFO or FIFO", c.IdleOrder)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
	}{
		{"IdleTimeout", &c.IdleTimeout},
		{"MaxLifetime", &c.MaxLifetime},
		{"MaxLifetimeJitter", &c.MaxLifetimeJitter},
		{"LeakThreshold", &c.LeakThreshold},
	} {
		if *d.v < 0 {
			return invalid("%s is %v, want 0 or more", d.name, *d.v)
		}
		*d.v = min(*d.v, longest)
	}
	c.ProbeAfter = min(c.ProbeAfter, longest)
	c.HealthCheckAfter = min(c.HealthCheckAfter, longest)
	if c.MaxLifetimeJitter > c.MaxLifetime {
		return invalid("MaxLifetimeJitter (%v) is more than MaxLifetime (%v)", c.MaxLifetimeJitter, c.MaxLifetime)
	}
	if c.MaxLifetimeJitter == 0 {
		c.MaxLifetimeJitter = c.MaxLifetime / 10
	}
	if c.ProbeAfter == 0 {
		c.ProbeAfter = defaultProbeAfter
	}
	if c.HealthCheckAfter == 0 {
		c.HealthCheckAfter = defaultHealthCheckAfter
	}
	if c.Name == "" {
		c.Name = c.Addr
	}
	return validateDial(&c.Network, &c.Dial, &c.DialTimeout, &c.DialBackoff, &c.MaxDialBackoff)
}

// validateDial checks and defaults the settings both pools' configs share.
func validateDial(network *string, dial *DialFunc, timeout, backoff, maxBackoff *time.Duration) error {
	if *network == "" {
		*network = "tcp"
	}
	if *dial == nil {
		*dial = new(net.Dialer).DialContext
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"DialTimeout", timeout, defaultDialTimeout},
		{"DialBackoff", backoff, defaultDialBackoff},
		{"MaxDialBackoff", maxBackoff, max(defaultMaxDialBackoff, *backoff)},
	} {
		switch {
		case *d.v < 0:
			return invalid("%s is %v, want 0 or more", d.name, *d.v)
		case *d.v == 0:
			*d.v = d.def
		}
		*d.v = min(*d.v, longest)
	}
	if *maxBackoff < *backoff {
		return invalid("MaxDialBackoff (%v) is less than DialBackoff (%v)", *maxBackoff, *backoff)
	}
	return nil
}
