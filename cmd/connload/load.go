package main

// Every call into connpool is in this file, so that a change of its API
// is a change here.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-a245f091/connpool"
)

// maxConns bounds -conns: a TCPPool takes at most 65536 connections (more
// than the ephemeral ports to one address), and a ConnPool of more is
// more likely a typo than a test.
const maxConns = 1 << 16

// isConfigError reports whether err is connpool's error for a setting out
// of range: a usage error, not a failure of the run.
func isConfigError(err error) bool { return errors.Is(err, connpool.ErrInvalidConfig) }

// echoTarget is the ConnPool of echo mode.
type echoTarget struct {
	pool     *connpool.ConnPool
	size     int
	timeout  time.Duration
	inflight []inflight // by client
}

// inflight is one client's exchange in progress, for abort to cut short.
type inflight struct {
	mu      sync.Mutex
	conn    net.Conn // the connection being exchanged on; nil between exchanges
	aborted bool
}

// enter records that the client exchanges on conn, or reports false if the
// run was aborted. The client sets conn's deadline before it enters, so
// that abort's deadline, set later, wins.
func (s *inflight) enter(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aborted {
		return false
	}
	s.conn = conn
	return true
}

// leave records that the exchange is over, and reports whether the run
// was aborted meanwhile.
func (s *inflight) leave() (aborted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn = nil
	return s.aborted
}

func openEcho(cfg config, addr string) (*echoTarget, error) {
	probe := cfg.probeAfter
	switch probe {
	case probeDefault:
		probe = 0 // the pool's own default
	case 0:
		// ProbeAfter 0 is the pool's default; 1ns is older than any idle
		// connection, so every one is checked.
		probe = time.Nanosecond
	}
	pool, err := connpool.New(connpool.Config{
		Name:        "connload", // the pool label of the metrics
		Addr:        addr,
		DialTimeout: cfg.dialTimeout,
		MaxConns:    cfg.conns,
		// One connection before the clients start, so that a wrong
		// address is a clear error at once rather than a run of failures.
		InitialConns: 1,
		MaxIdleConns: cfg.maxIdle,
		MinIdleConns: cfg.minIdle,
		IdleTimeout:  cfg.idleTimeout,
		MaxLifetime:  cfg.maxLifetime,
		ProbeAfter:   probe,
	})
	if err != nil {
		if isConfigError(err) {
			return nil, err
		}
		return nil, fmt.Errorf("cannot reach %s: %w", addr, err)
	}
	return &echoTarget{pool: pool, size: cfg.size, timeout: cfg.timeout, inflight: make([]inflight, cfg.clients)}, nil
}

func (e *echoTarget) requester(id int) requester {
	return &echoClient{
		e: e, slot: &e.inflight[id], timer: newGetTimer(e.timeout), seq: uint64(id) << 40,
		msg: message(e.size), reply: make([]byte, e.size),
	}
}

// echoClient is one client of echo mode.
type echoClient struct {
	e          *echoTarget
	slot       *inflight
	timer      *getTimer
	seq        uint64
	msg, reply []byte
}

func (c *echoClient) done() { c.timer.close() }

// do takes a connection, sends a message, reads its echo, and gives the
// connection back; after an error it marks the connection unusable, so the
// pool closes it. The whole request, Get included, has -timeout.
func (c *echoClient) do(ctx context.Context) result {
	c.seq++
	stamp(c.msg, c.seq)
	start := time.Now()
	deadline := start.Add(c.e.timeout)
	conn, err := c.e.pool.Get(c.timer.arm(ctx, start))
	timedOut := c.timer.disarm()
	got := time.Now()
	if err != nil {
		switch {
		case ctx.Err() != nil:
			// The run ended while the Get waited: that was no request.
			return result{unfinished: true}
		case timedOut && errors.Is(err, context.Canceled):
			err = errGetTimeout
		}
		return result{get: got.Sub(start), err: err}
	}
	aborted := false
	if err = conn.SetDeadline(deadline); err == nil {
		if !c.slot.enter(conn) {
			conn.Close()
			return result{unfinished: true}
		}
		err = exchange(conn, c.msg, c.reply)
		aborted = c.slot.leave()
	}
	if err != nil {
		// The stream is in an unknown state: a reply may still come.
		conn.(*connpool.PoolConn).MarkUnusable()
	}
	conn.Close()
	if aborted {
		return result{unfinished: true}
	}
	return result{get: got.Sub(start), exchange: time.Since(got), err: err}
}

// exchange sends msg on c and reads its echo into reply, within the
// deadline set on c. The reply is read up to its newline and no further,
// so that nothing of it is left behind for the connection's next holder.
func exchange(c net.Conn, msg, reply []byte) error {
	if _, err := c.Write(msg); err != nil {
		return err
	}
	n := 0
	for n < len(reply) {
		m, err := c.Read(reply[n:])
		n += m
		if n > 0 && reply[n-1] == '\n' {
			break
		}
		if err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	if string(reply[:n]) != string(msg) { // compiles to a comparison, no copy
		return errBadReply
	}
	return nil
}

func (e *echoTarget) bound(time.Time) {} // each request has its own deadline

// abort makes every exchange in progress fail at once, and the clients'
// next ones too: the second Ctrl-C. For each client, either abort takes the
// slot's lock first, and the client's enter then sees aborted, or the
// client entered first, and abort then finds its connection and moves the
// deadline the client set before entering into the past.
func (e *echoTarget) abort() {
	past := time.Unix(1, 0)
	for i := range e.inflight {
		s := &e.inflight[i]
		s.mu.Lock()
		s.aborted = true
		if s.conn != nil {
			s.conn.SetDeadline(past)
		}
		s.mu.Unlock()
	}
}

func (e *echoTarget) stats() stats {
	st := e.pool.Stats()
	return stats{pool: &poolStats{
		Max:     st.MaxConns,
		Open:    st.Open,
		Idle:    st.Idle,
		InUse:   st.InUse,
		Dialing: st.Dialing,
		Waiting: st.Waiting,
		Gets: getsByOutcome{
			Idle:     st.GetsFromIdle,
			Waited:   st.GetsWaited,
			Canceled: st.GetsCanceled,
			Failed:   st.GetsFailed,
		},
		GetsDialed: st.GetsDialed,
		WaitTime:   st.WaitTime,
		Dials:      st.Dials,
		DialErrors: st.DialErrors,
		Closed: closedByReason{
			IdleTimeout: st.ClosedIdleTimeout,
			MaxLifetime: st.ClosedMaxLifetime,
			Stale:       st.ClosedStale,
			HealthCheck: st.ClosedHealthCheck,
			MaxIdle:     st.ClosedMaxIdle,
			Unusable:    st.ClosedUnusable,
			PoolClosed:  st.ClosedPoolClosed,
			Reset:       st.ClosedReset,
		},
		Leaks: st.Leaks,
	}}
}

// close closes the pool and waits until every connection is closed and
// every background dial has ended.
func (e *echoTarget) close() {
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout+shutdownGrace)
	defer cancel()
	e.pool.Drain(ctx)
}

// writeTarget is the TCPPool of write mode.
type writeTarget struct {
	pool    *connpool.TCPPool
	size    int
	timeout time.Duration
	aborted atomic.Bool
}

// openWrite dials the TCPPool. With book, the pool's connections are
// dialled through it, so that the summary can tell which lost messages
// were written after the embedded server began to close their connection.
func openWrite(ctx context.Context, cfg config, addr string, book *ledger) (*writeTarget, error) {
	var dial connpool.DialFunc
	if book != nil {
		dial = book.dial
	}
	pool, err := connpool.DialPool(ctx, connpool.TCPPoolConfig{
		Name:        "connload",
		Addrs:       []string{addr},
		Size:        cfg.conns,
		DialTimeout: cfg.dialTimeout,
		Dial:        dial,
	})
	if err != nil {
		if isConfigError(err) {
			return nil, err
		}
		return nil, fmt.Errorf("cannot reach %s: %w", addr, err)
	}
	return &writeTarget{pool: pool, size: cfg.size, timeout: cfg.timeout}, nil
}

func (w *writeTarget) requester(int) requester {
	return &writeClient{w: w, msg: message(w.size)}
}

// writeClient is one client of write mode.
type writeClient struct {
	w   *writeTarget
	msg []byte
}

// do writes one message. Nothing is read: the latency is the Write's.
func (c *writeClient) done() {}

func (c *writeClient) do(context.Context) result {
	start := time.Now()
	n, err := c.w.pool.Write(c.msg)
	took := time.Since(start)
	switch {
	case err == nil:
		return result{exchange: took}
	case c.w.aborted.Load():
		return result{unfinished: true}
	}
	return result{exchange: took, err: err, partial: n}
}

// bound sets the pool's write deadline. A write deadline is the pool's,
// not one Write's, so during the run Writes are left to block as long as
// the server makes them, which is the backpressure a writer would see,
// and only those in progress at the end are bounded.
func (w *writeTarget) bound(t time.Time) { w.pool.SetWriteDeadline(t) }

// abort makes the Writes in progress fail at once.
func (w *writeTarget) abort() {
	w.aborted.Store(true)
	w.pool.SetWriteDeadline(time.Unix(1, 0))
}

func (w *writeTarget) stats() stats {
	st := w.pool.Stats()
	return stats{tcpPool: &tcpPoolStats{
		Size:         st.Size,
		ConnsUp:      st.ConnsUp,
		Writes:       st.Writes,
		Bytes:        st.Bytes,
		FailedWrites: st.FailedWrites,
		Retries:      st.Retries,
		Reconnects:   st.Reconnects,
		Dials:        st.Dials,
		DialErrors:   st.DialErrors,
	}}
}

func (w *writeTarget) close() { w.pool.Close() }

// message returns a message of size bytes: printable filler and a closing
// newline.
func message(size int) []byte {
	m := make([]byte, size)
	for i := range size - 1 {
		m[i] = 'a' + byte(i%26)
	}
	m[size-1] = '\n'
	return m
}

// stamp writes n in hex over the start of msg, as far as it fits, so that
// a late reply to an earlier request cannot pass for the reply to this one.
func stamp(msg []byte, n uint64) {
	const hex = "0123456789abcdef"
	for i := min(len(msg)-1, 16) - 1; i >= 0; i-- {
		msg[i] = hex[n&15]
		n >>= 4
	}
}
