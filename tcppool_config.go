package connpool

import (
	"log/slog"
	"time"

	"github.com/seed-a245f091/connpool/internal/isnil"
)

// maxTCPPoolSize is the largest size a TCPPool accepts, in
// TCPPoolConfig.Size and TCPPool.SetPoolSize: more connections than there
// are ephemeral ports to one address is always a mistake.
const maxTCPPoolSize = 1 << 16

// defaultMaxAttempts is the default of TCPPoolConfig.MaxAttempts: the
// count go-tcp-pool v1 gives its first connection.
const defaultMaxAttempts = 10

// TCPPoolConfig describes a [TCPPool] for [DialPool]. Addrs is required;
// every other field has a default, given on it, that DialPool fills in.
// DialPool validates the config once and copies it (Addrs too), so
// changing a TCPPoolConfig afterwards has no effect on the pool. A setting
// out of range makes DialPool return an error wrapping [ErrInvalidConfig],
// and a duration longer than a hundred years is taken as a hundred years.
// The settings both pools have mean the same in both.
type TCPPoolConfig struct {
	// Name names the pool in its log records and metrics. Empty means
	// Addrs[0].
	Name string

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
	// per address; at most 65536. [TCPPool.SetPoolSize] changes it later.
	Size int

	// Balancer picks the connection for each Write. Nil, or a nil
	// BalancerFunc or pointer, means a new [RoundRobin]. See also
	// [LeastLoaded] and [Random].
	Balancer Balancer

	// Dial opens a connection to an address of Addrs. Nil means a
	// [net.Dialer]. For TLS, pass (&tls.Dialer{Config: c}).DialContext.
	// Close cancels the context of dials in flight and waits for them.
	Dial DialFunc

	// DialTimeout bounds each dial. Zero means 5s.
	DialTimeout time.Duration

	// MaxAttempts is how many attempts a Write makes in all, the first
	// included, counted as go-tcp-pool counts its retries: an attempt is a
	// write on a connection or, when none is up, a wait of up to
	// DialBackoff for one to come up. A connection that the check before
	// the write (see ProbeAfter) finds closed by its peer costs no attempt
	// if another connection is up to go on to, once per connection of the
	// pool in each Write. A Read on a one-connection pool waits for its
	// connection the same way. With everything down, a
	// Write gives up after about MaxAttempts × DialBackoff. Zero means 10.
	// [TCPPool.SetMaxRetries] changes it later.
	MaxAttempts int

	// DialBackoff and MaxDialBackoff bound the wait between the
	// reconnection attempts of one connection, as for a ConnPool: each wait
	// is drawn at random (full jitter) up to a quarter of the time the
	// connection has been down, but up to no less than DialBackoff and no
	// more than MaxDialBackoff, and starts over once a connection is up,
	// unless it is lost unused (see [TCPPool]).
	// DialBackoff is also how long a Write waits per attempt when no
	// connection is up (it wakes at once when one comes up; a deadline
	// moved meanwhile does not end the attempt). Zero DialBackoff means
	// 10ms; zero MaxDialBackoff means 1s, or DialBackoff if that is
	// longer. [TCPPool.SetRetryInterval] sets DialBackoff.
	DialBackoff, MaxDialBackoff time.Duration

	// ProbeAfter is how long a connection may go without a write before
	// the next write on it first peeks at its socket, with one
	// non-blocking system call, to see that the peer has not closed it
	// (the first write on a connection just dialled always peeks); if
	// it has, the write goes to another connection instead of being lost in
	// a dead socket, and the connection is redialled. Writes that start
	// together share one peek, and none goes out before it is done. Zero
	// means 1ms; a negative value turns it off, and the socket watcher
	// with it.
	//
	// On Linux the pool also hears from the kernel, through an epoll set
	// of its own that each connection joins at its first write, when a
	// peer closes or resets a connection; the next write on it then
	// peeks however recently the connection was written to, so a write
	// within ProbeAfter of the one before does not go onto a connection
	// its server has closed since (but for the instant between the close
	// and the pool hearing of it).
	//
	// A peer that closes its sending side (a half-close) is taken as going
	// away, since a socket the peer has shut down may be reset at the next
	// write: its connection is replaced before the next write on it.
	ProbeAfter time.Duration

	// RetryPartialWrites chooses what happens when a connection fails
	// after part of a Write reached it. Either way that connection is
	// closed at once, so its peer sees the torn message at the end of a
	// stream, never followed by more data. If false (the default), Write
	// returns the count of bytes written and the error, and retries
	// nothing. If true, the whole Write is retried on another connection
	// (and if every retry fails, Write returns 0 and the error), so the
	// peer may receive the start of the message twice: choose it only if
	// the receiver discards a message cut short by the end of its
	// connection. A Write cut short by its own deadline is not retried
	// either way: it returns the count of bytes written and the timeout.
	RetryPartialWrites bool

	// Logger, if set, receives the records an operator needs: dials
	// failing and recovering, and connections found closed by their peer.
	// Never one per Write. Nil means silent.
	Logger *slog.Logger
}

// validate checks c and fills in its defaults. Every default is set here.
func (c *TCPPoolConfig) validate() error {
	if len(c.Addrs) == 0 {
		return invalid("Addrs is empty, want at least one address")
	}
	for i, a := range c.Addrs {
		if a == "" {
			return invalid("Addrs[%d] is empty", i)
		}
	}
	c.Addrs = append([]string(nil), c.Addrs...) // the caller keeps its slice
	switch {
	case c.Size < 0 || c.Size > maxTCPPoolSize:
		return invalid("Size is %d, want 0 to %d", c.Size, maxTCPPoolSize)
	case c.Size == 0:
		c.Size = min(len(c.Addrs), maxTCPPoolSize)
	}
	if isnil.Value(c.Balancer) { // a nil BalancerFunc too
		c.Balancer = RoundRobin()
	}
	switch {
	case c.MaxAttempts < 0:
		return invalid("MaxAttempts is %d, want 0 or more", c.MaxAttempts)
	case c.MaxAttempts == 0:
		c.MaxAttempts = defaultMaxAttempts
	}
	if c.ProbeAfter == 0 {
		c.ProbeAfter = defaultProbeAfter
	}
	c.ProbeAfter = min(c.ProbeAfter, longest)
	if c.Name == "" {
		c.Name = c.Addrs[0]
	}
	return validateDial(&c.Network, &c.Dial, &c.DialTimeout, &c.DialBackoff, &c.MaxDialBackoff)
}

// probeDue reports whether a connection idle for idle is due for the probe
// under the setting after (both pools' ProbeAfter).
func probeDue(after, idle time.Duration) bool {
	return after >= 0 && idle >= after
}
