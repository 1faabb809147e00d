package connpool

import (
	"context"
	"fmt"
	"net"
	"time"
)

// Defaults of a [TCPPoolConfig], also used by [Dial] and [DialTCP].
const (
	// DefaultMaxRetries is the default of [TCPPoolConfig.MaxRetries]: the
	// number go-tcp-pool v1 gives its first connection.
	DefaultMaxRetries = 10

	// DefaultRetryInterval is the default of
	// [TCPPoolConfig.RetryInterval]: the interval go-tcp-pool v1 gives its
	// first connection.
	DefaultRetryInterval = 10 * time.Millisecond

	// DefaultMaxBackoff is the default of [TCPPoolConfig.MaxBackoff]. It is
	// short so that a pool is back within a second of its server: dialling
	// a refusing server twice a second per connection costs it little.
	DefaultMaxBackoff = 500 * time.Millisecond

	// DefaultDialTimeout is the default of [TCPPoolConfig.DialTimeout].
	DefaultDialTimeout = 5 * time.Second

	// DefaultIdleProbe is the default of [TCPPoolConfig.IdleProbe]. A
	// connection written to more often than this is never probed, so the
	// probe's system call is paid only by connections that were resting
	// anyway.
	DefaultIdleProbe = time.Millisecond

	// MaxTCPPoolSize is the largest size a TCPPool accepts, in
	// [TCPPoolConfig.Size] and [TCPPool.SetPoolSize]: more connections than
	// there are ephemeral ports to one address is always a mistake.
	MaxTCPPoolSize = 1 << 16
)

// TCPPoolConfig describes a [TCPPool] for [DialPool]. Addrs is required;
// every other field has a default, documented on it, that DialPool fills
// in. DialPool validates the config once and copies it (Addrs too), so
// changing a TCPPoolConfig afterwards has no effect on the pool. A setting
// out of range makes DialPool return an error wrapping [ErrInvalidConfig].
type TCPPoolConfig struct {
	// Addrs are the backends, as "host:port" for TCP. Required: at least
	// one, none empty. Connection i is first dialled to
	// Addrs[i%len(Addrs)]; when a dial fails, that connection's next
	// attempt goes to the next address in the list, so a pool over a
	// cluster fails over from a backend that is down. A connection stays
	// on the backend it reached until it fails.
	Addrs []string

	// Network is the network passed to Dial. Empty means "tcp".
	Network string

	// Size is the number of connections the pool keeps. Zero means one
	// per address. At most [MaxTCPPoolSize]. [TCPPool.SetPoolSize]
	// changes it later.
	Size int

	// Balancer picks the connection for each Write. Nil means a new
	// [RoundRobin]. See also [LeastLoaded] and [Random].
	Balancer Balancer

	// Dial opens a connection to addr on network. The context carries
	// DialTimeout and the pool's lifetime: Close cancels it and waits for
	// the dials in flight, so Dial must return soon after ctx is done.
	// Nil means a net.Dialer. For TLS, pass (&tls.Dialer{Config:
	// c}).DialContext. Dial must return a non-nil connection or a non-nil
	// error; it is called from several goroutines at once.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// DialTimeout bounds each dial. Zero means [DefaultDialTimeout].
	DialTimeout time.Duration

	// MaxRetries is how many more attempts a Write makes after one fails:
	// an attempt is a write on a connection or, when none is up, a wait of
	// up to RetryInterval for one to come up. A Read on a one-connection
	// pool waits for its connection the same way. Zero means
	// [DefaultMaxRetries]; a negative value means none: one attempt.
	MaxRetries int

	// RetryInterval is how long a Write waits for a connection when none
	// is up before trying again (it wakes at once when one comes up), and
	// the base of the exponential backoff between a connection's
	// reconnection attempts. With everything down, a Write so gives up
	// after about MaxRetries × RetryInterval. Zero means
	// [DefaultRetryInterval].
	RetryInterval time.Duration

	// MaxBackoff caps the delay between reconnection attempts of one
	// connection; each delay is drawn uniformly between zero and the
	// exponential step (full jitter). Zero means [DefaultMaxBackoff]; it
	// is raised to RetryInterval if smaller.
	MaxBackoff time.Duration

	// IdleProbe is how long a connection may go without a write before
	// the next write on it first checks, with one non-blocking system
	// call, that the peer has not closed it; if it has, the write goes to
	// another connection instead of being lost in a dead socket. Writes
	// that start together share one check, and none goes out before it
	// is done. Zero means [DefaultIdleProbe]; a negative value turns the
	// check off.
	IdleProbe time.Duration

	// RetryPartialWrites chooses what happens when a connection fails
	// after part of a Write reached it. Either way that connection is
	// closed at once, so its peer sees the torn message at the end of a
	// stream, never followed by more data. If false (the default), Write
	// returns the count of bytes written and the error, and retries
	// nothing. If true, the whole Write is retried on another connection
	// (and if every retry fails, Write returns 0 and the error), so the
	// peer may receive the start of the message twice: choose it only if
	// the receiver discards a message cut short by the end of its
	// connection.
	RetryPartialWrites bool
}

// validate checks c and fills in its defaults. Every default is set here.
func (c *TCPPoolConfig) validate() error {
	if len(c.Addrs) == 0 {
		return fmt.Errorf("%w: Addrs is empty, want at least one address", ErrInvalidConfig)
	}
	for i, a := range c.Addrs {
		if a == "" {
			return fmt.Errorf("%w: Addrs[%d] is empty", ErrInvalidConfig, i)
		}
	}
	c.Addrs = append([]string(nil), c.Addrs...) // the caller keeps its slice
	if c.Network == "" {
		c.Network = "tcp"
	}
	switch {
	case c.Size < 0 || c.Size > MaxTCPPoolSize:
		return fmt.Errorf("%w: Size is %d, want 0 to %d", ErrInvalidConfig, c.Size, MaxTCPPoolSize)
	case c.Size == 0:
		c.Size = min(len(c.Addrs), MaxTCPPoolSize)
	}
	if c.Balancer == nil {
		c.Balancer = RoundRobin()
	}
	if c.Dial == nil {
		c.Dial = new(net.Dialer).DialContext
	}
	switch {
	case c.DialTimeout < 0:
		return fmt.Errorf("%w: DialTimeout is %v, want 0 or more", ErrInvalidConfig, c.DialTimeout)
	case c.DialTimeout == 0:
		c.DialTimeout = DefaultDialTimeout
	}
	switch {
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultMaxRetries
	}
	switch {
	case c.RetryInterval < 0:
		return fmt.Errorf("%w: RetryInterval is %v, want 0 or more", ErrInvalidConfig, c.RetryInterval)
	case c.RetryInterval == 0:
		c.RetryInterval = DefaultRetryInterval
	}
	switch {
	case c.MaxBackoff < 0:
		return fmt.Errorf("%w: MaxBackoff is %v, want 0 or more", ErrInvalidConfig, c.MaxBackoff)
	case c.MaxBackoff == 0:
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.IdleProbe == 0 {
		c.IdleProbe = DefaultIdleProbe
	}
	return nil
}
