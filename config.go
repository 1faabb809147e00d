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

// Config describes a [ConnPool]. The zero value is not usable: Dial and
// MaxConns are required. [New] validates a Config once and copies it, so
// changing a Config after New has no effect on the pool.
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
	// Zero means none; at most MaxConns.
	InitialConns int

	// MaxIdleConns is how many idle connections the pool keeps; a
	// connection returned beyond it is closed. Zero means MaxConns (every
	// connection may idle); at least InitialConns and at most MaxConns.
	MaxIdleConns int
}

// ErrInvalidConfig is wrapped by every error [New] and [NewChannelPool]
// return for a setting out of range or missing.
var ErrInvalidConfig = errors.New("connpool: invalid config")

// validate checks c and fills in its defaults. Every default is set here.
func (c *Config) validate() error {
	if c.Dial == nil {
		return fmt.Errorf("%w: Dial is nil", ErrInvalidConfig)
	}
	if c.MaxConns < 1 {
		return fmt.Errorf("%w: MaxConns is %d, want at least 1", ErrInvalidConfig, c.MaxConns)
	}
	if c.InitialConns < 0 || c.InitialConns > c.MaxConns {
		return fmt.Errorf("%w: InitialConns is %d, want 0 to MaxConns (%d)", ErrInvalidConfig, c.InitialConns, c.MaxConns)
	}
	if c.MaxIdleConns < 0 || c.MaxIdleConns > c.MaxConns {
		return fmt.Errorf("%w: MaxIdleConns is %d, want 0 to MaxConns (%d)", ErrInvalidConfig, c.MaxIdleConns, c.MaxConns)
	}
	if c.MaxIdleConns == 0 {
		c.MaxIdleConns = c.MaxConns
	}
	if c.InitialConns > c.MaxIdleConns {
		return fmt.Errorf("%w: InitialConns (%d) is more than MaxIdleConns (%d): the extra would be closed at once", ErrInvalidConfig, c.InitialConns, c.MaxIdleConns)
	}
	if c.DialTimeout < 0 {
		return fmt.Errorf("%w: DialTimeout is %v, want 0 or more", ErrInvalidConfig, c.DialTimeout)
	}
	return nil
}
