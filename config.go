package connpool

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// DialFunc opens a new connection. The context carries the pool's lifetime
// and [Config.DialTimeout]: it is not the context of the Get that asked for
// the connection, because a dial is allowed to finish after that caller has
// given up (its connection then serves the next caller). A DialFunc must
// return a non-nil connection or a non-nil error.
type DialFunc func(ctx context.Context) (net.Conn, error)

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

// Defaults for the zero values of [Config] fields.
const (
	DefaultProbeAfter     = 500 * time.Millisecond
	DefaultDialBackoff    = 10 * time.Millisecond
	DefaultMaxDialBackoff = time.Second
)

// Config describes a [ConnPool]. The zero value is not usable: Dial and
// MaxConns are required. [New] validates a Config once and copies it, so
// changing a Config after New has no effect on the pool. Every default is
// given on its field.
type Config struct {
	// Dial opens a connection. Required.
	Dial DialFunc

	// DialTimeout bounds each call of Dial. Zero means no bound other than
	// the pool's lifetime: Close cancels dials in flight.
	DialTimeout time.Duration

	// MaxConns is the hard limit on open connections: idle, checked out and
	// being dialled, together. Required, at least 1.
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
	// idle, and fewer than MaxConns are open, the pool dials more in the
	// background, one at a time, waiting between failed dials from
	// DialBackoff up to MaxDialBackoff with jitter, so a server that is down
	// sees a trickle of attempts rather than a storm. IdleTimeout never
	// closes a connection that would leave fewer than MinIdleConns idle.
	// Zero means none; at most MaxIdleConns.
	MinIdleConns int

	// IdleOrder is the order idle connections are reused in. Zero means LIFO.
	IdleOrder IdleOrder

	// IdleTimeout closes connections that have been idle longer. Zero means
	// idle connections are kept however long they wait.
	IdleTimeout time.Duration

	// MaxLifetime closes connections this long after they were dialled:
	// idle ones in the background, checked-out ones when they come back.
	// Each connection's lifetime is cut short by a random part of
	// MaxLifetimeJitter, drawn once when it is dialled, so connections dialled
	// together do not all reconnect together. Zero means no limit.
	MaxLifetime time.Duration

	// MaxLifetimeJitter is the most a connection's lifetime is shortened
	// by. Zero means MaxLifetime/10; at most MaxLifetime.
	MaxLifetimeJitter time.Duration

	// ProbeAfter is how long a connection must have been idle before Get
	// checks it, before handing it out, for signs that the peer has closed
	// or reset it, or sent bytes nobody asked for; such a connection is
	// closed and Get takes another. The check is a non-blocking peek at the
	// socket, a system call but no round trip, so it is skipped for
	// connections that came back within ProbeAfter. It needs a socket
	// (*net.TCPConn, *net.UnixConn, or a *tls.Conn or other wrapper with a
	// NetConn method around one) on Linux, macOS or a BSD; elsewhere only
	// HealthCheck runs. Zero means [DefaultProbeAfter]; a negative value
	// turns checks off, HealthCheck included. From 100ms up, while Gets come
	// more often than every 5ms, a Get takes the time from a 5ms tick of the
	// pool's own rather than the clock (see the package documentation), so
	// idle times are measured to within about 5ms; below 100ms every Get
	// reads the clock.
	ProbeAfter time.Duration

	// HealthCheck, if set, runs after the probe on every connection Get
	// checks (see ProbeAfter), with the Get's context: a protocol-level
	// ping, say. An error closes the connection and Get takes another. Nil
	// means no check beyond the probe.
	HealthCheck func(ctx context.Context, conn net.Conn) error

	// DialBackoff and MaxDialBackoff bound the wait before the next dial
	// while dials fail. Each wait is drawn at random (full jitter) up to half
	// the time dials have been failing, but no less than DialBackoff and no
	// more than MaxDialBackoff: a short outage costs a short wait, a long one
	// a trickle of one attempt per MaxDialBackoff. While dials fail, the
	// pool dials one at a time, each failure ends the longest wait with the
	// dial's error, and the other Gets wait for the next attempt (or for a
	// connection to come back, or their context) instead of dialling each.
	// The first dial that succeeds ends the backoff. The MinIdleConns top-up
	// waits the same way. Zero means [DefaultDialBackoff] (10ms) and
	// [DefaultMaxDialBackoff] (1s).
	DialBackoff, MaxDialBackoff time.Duration

	// OnDial, if set, is called after every dial with its connection or
	// error and how long it took. It runs on the dialling goroutine, without
	// the pool's lock held, and must not block.
	OnDial func(conn net.Conn, err error, took time.Duration)

	// OnClose, if set, is called after the pool closes a connection, with
	// the reason. It runs without the pool's lock held and must not block.
	OnClose func(conn net.Conn, reason CloseReason)
}

// ErrInvalidConfig is wrapped by every error [New] and [NewChannelPool]
// return for a setting out of range or missing.
var ErrInvalidConfig = errors.New("connpool: invalid config")

// validate checks c and fills in its defaults. Every default is set here.
func (c *Config) validate() error {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if c.Dial == nil {
		return invalid("Dial is nil")
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
		v    time.Duration
	}{
		{"DialTimeout", c.DialTimeout},
		{"IdleTimeout", c.IdleTimeout},
		{"MaxLifetime", c.MaxLifetime},
		{"MaxLifetimeJitter", c.MaxLifetimeJitter},
		{"DialBackoff", c.DialBackoff},
		{"MaxDialBackoff", c.MaxDialBackoff},
	} {
		if d.v < 0 {
			return invalid("%s is %v, want 0 or more", d.name, d.v)
		}
	}
	if c.MaxLifetimeJitter > c.MaxLifetime {
		return invalid("MaxLifetimeJitter (%v) is more than MaxLifetime (%v)", c.MaxLifetimeJitter, c.MaxLifetime)
	}
	if c.MaxLifetimeJitter == 0 {
		c.MaxLifetimeJitter = c.MaxLifetime / 10
	}
	if c.ProbeAfter == 0 {
		c.ProbeAfter = DefaultProbeAfter
	}
	if c.DialBackoff == 0 {
		c.DialBackoff = DefaultDialBackoff
	}
	if c.MaxDialBackoff == 0 {
		c.MaxDialBackoff = max(DefaultMaxDialBackoff, c.DialBackoff)
	}
	if c.MaxDialBackoff < c.DialBackoff {
		return invalid("MaxDialBackoff (%v) is less than DialBackoff (%v)", c.MaxDialBackoff, c.DialBackoff)
	}
	return nil
}
