package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-a245f091/connpool"
)

// Every call into connpool is in this file, so that a change of its API
// is a change here. The spots marked "API:" are where the API being built
// on main names things differently.

// maxConns bounds -conns: a TCPPool takes at most 65536 connections (more
// than the ephemeral ports to one address), and a ConnPool of more is
// more likely a typo than a test.
const maxConns = 1 << 16

// isConfigError reports whether err is connpool's error for a setting out
// of range: a usage error, not a failure of the run.
func isConfigError(err error) bool { return errors.Is(err, connpool.ErrInvalidConfig) }

// shutdownGrace is how long the embedded server waits, at the end, for
// connections its clients have hung up to end by themselves, so that a
// sink has counted everything sent before it closes what is left.
const shutdownGrace = 2 * time.Second

// target is a pool under load and the clients that drive it.
type target interface {
	// client sends messages on behalf of one client until ctx ends,
	// recording each outcome with t.
	client(ctx context.Context, id int, t tallier)
	// ending is called once when the run ends with clients still
	// sending, to bound how long they take to stop.
	ending()
	// gauge describes the pool's connections for the progress line.
	gauge() string
	// close closes the pool and waits for its goroutines.
	close()
	// report adds the pool's statistics to s.
	report(s *summary)
}

// runLoad runs the load cfg describes and returns its summary. Progress
// reports go to progress. It returns an error only if the load could not
// start; a run cut short by ctx returns the summary so far, marked
// interrupted. Every goroutine it starts has ended when it returns.
func runLoad(ctx context.Context, cfg config, progress io.Writer) (*summary, error) {
	addr := cfg.addr
	var srv *server
	if addr == "" {
		var err error
		if srv, err = startServer(cfg.mode == modeWrite); err != nil {
			return nil, fmt.Errorf("starting the embedded server: %w", err)
		}
		addr = srv.addr
	}

	var tgt target
	var err error
	if cfg.mode == modeWrite {
		tgt, err = openWrite(ctx, cfg, addr)
	} else {
		tgt, err = openEcho(cfg, addr)
	}
	if err != nil {
		if srv != nil {
			srv.shutdown(0)
		}
		return nil, err
	}
	if srv != nil && cfg.chaos {
		srv.startChaos(cfg.chaosEvery, cfg.chaosOutage)
	}

	rec := newRecorder(cfg.clients)
	runCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tgt.client(runCtx, i, rec.client(i))
		}()
	}
	stopProgress := startProgress(progress, cfg, start, rec, tgt.gauge)

	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-runCtx.Done():
		tgt.ending()
		<-done
	}
	elapsed := time.Since(start)
	stopProgress()
	if srv != nil {
		srv.stopChaos()
	}
	tgt.close()
	if srv != nil {
		// After the pool's close: a sink has counted everything only
		// once its clients have hung up and it has read to the end.
		srv.shutdown(shutdownGrace)
	}

	s := newSummary(cfg, addr, elapsed, ctx.Err() != nil, rec.tally())
	tgt.report(s)
	if srv != nil {
		s.addServer(srv, cfg)
	}
	return s, nil
}

// recorder collects the outcome of every request. Clients record into
// shards, a few clients to each, so that no counter bounces between every
// processor. Its methods are safe for concurrent use.
type recorder struct {
	shards  []shard
	samples [numKinds]atomic.Pointer[string] // the first error of each kind
}

type shard struct {
	ok, failed atomic.Uint64
	kinds      [numKinds]atomic.Uint64
	partial    atomic.Uint64 // bytes sent by Writes that failed part way
	hist       histogram     // latencies of successful requests
}

func newRecorder(clients int) *recorder {
	return &recorder{shards: make([]shard, min(clients, 4*runtime.GOMAXPROCS(0)))}
}

// client returns the tallier of client number i.
func (r *recorder) client(i int) tallier {
	return tallier{r, &r.shards[i%len(r.shards)]}
}

// tallier records the outcomes of one client.
type tallier struct {
	r  *recorder
	sh *shard
}

// ok records a successful request that took d.
func (t tallier) ok(d time.Duration) {
	t.sh.hist.record(d)
	t.sh.ok.Add(1)
}

// fail records a failed request, and for a Write the bytes it sent.
func (t tallier) fail(err error, sent int) {
	k := classify(err)
	t.sh.kinds[k].Add(1)
	t.sh.partial.Add(uint64(sent))
	t.sh.failed.Add(1)
	if t.r.samples[k].Load() == nil {
		msg := err.Error()
		t.r.samples[k].CompareAndSwap(nil, &msg)
	}
}

// tally is a snapshot of a recorder.
type tally struct {
	ok, failed uint64
	kinds      [numKinds]uint64
	samples    [numKinds]string
	partial    uint64
	lat        latencies
}

// tally adds up the shards. It is exact once the clients have stopped.
func (r *recorder) tally() *tally {
	t := new(tally)
	for i := range r.shards {
		sh := &r.shards[i]
		t.ok += sh.ok.Load()
		t.failed += sh.failed.Load()
		for k := range t.kinds {
			t.kinds[k] += sh.kinds[k].Load()
		}
		t.partial += sh.partial.Load()
		t.lat.add(&sh.hist)
	}
	for k := range r.samples {
		if p := r.samples[k].Load(); p != nil {
			t.samples[k] = *p
		}
	}
	return t
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

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

// echoTarget is the ConnPool of echo mode.
type echoTarget struct {
	pool       *connpool.ConnPool
	size       int
	timeout    time.Duration
	errorPause time.Duration
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
		// API: Name: "connload" (the pool label of the metrics), Addr:
		// addr, and Dial left nil, a net.Dialer: Dial is now a
		// DialFunc(ctx, network, addr).
		Dial: func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		},
		DialTimeout: cfg.dialTimeout,
		MaxConns:    cfg.conns,
		// One connection before the clients start, so that a wrong
		// address is a clear error at once rather than a run of failures.
		InitialConns: 1,
		MaxIdleConns: cfg.maxIdle,
		MinIdleConns: cfg.minIdle,
		IdleTimeout:  cfg.idleTimeout,
		MaxLifetime:  cfg.maxLifetime,
		// API: ProbeAfter 0 will mean 1ms, no longer 500ms; negative is
		// off in both.
		ProbeAfter: probe,
	})
	if err != nil {
		if isConfigError(err) {
			return nil, err
		}
		return nil, fmt.Errorf("cannot reach %s: %w", addr, err)
	}
	return &echoTarget{pool: pool, size: cfg.size, timeout: cfg.timeout, errorPause: cfg.errorPause}, nil
}

func (e *echoTarget) client(ctx context.Context, id int, t tallier) {
	msg := message(e.size)
	reply := make([]byte, e.size)
	for seq := uint64(id) << 40; ctx.Err() == nil; seq++ {
		stamp(msg, seq)
		start := time.Now()
		conn, err := e.pool.Acquire(ctx)
		if err != nil {
			// Acquire returns ctx.Err() itself when the run ends while it
			// waits: that Get was no request. Anything else (a dial error)
			// failed one.
			if cerr := ctx.Err(); cerr != nil && err == cerr {
				return
			}
			t.fail(err, 0)
			pause(ctx, e.errorPause)
			continue
		}
		err = exchange(conn, msg, reply, e.timeout)
		if err != nil {
			// The stream is in an unknown state: a reply may still come.
			conn.MarkUnusable()
		}
		conn.Close()
		if err != nil {
			t.fail(err, 0)
			pause(ctx, e.errorPause)
			continue
		}
		t.ok(time.Since(start))
	}
}

// exchange sends msg on c and reads its echo into reply, within timeout.
// The reply is read up to its newline and no further, so that nothing of
// it is left behind for the connection's next holder.
func exchange(c net.Conn, msg, reply []byte, timeout time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
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
		if err == io.EOF && n > 0 {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
	}
	if string(reply[:n]) != string(msg) { // compiles to a comparison, no copy
		return errBadReply
	}
	return nil
}

func (e *echoTarget) ending() {} // each request has its own deadline

func (e *echoTarget) gauge() string {
	st := e.pool.Stats()
	return fmt.Sprintf("conns %d open, %d idle, %d waiting", st.Open, st.Idle, st.Waiting)
}

// close closes the pool and waits until every connection is closed and
// every background dial has ended.
func (e *echoTarget) close() {
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout+shutdownGrace)
	defer cancel()
	e.pool.Drain(ctx)
}

func (e *echoTarget) report(s *summary) {
	st := e.pool.Stats()
	s.Pool = &poolSummary{
		Dials:        st.Dials,
		DialErrors:   st.DialErrors,
		Gets:         st.Gets,
		GetsFromIdle: st.GetsFromIdle,
		GetsWaited:   st.GetsWaited,
		GetsDialed:   st.GetsDialed,
		GetsCanceled: st.GetsCanceled,
		GetsFailed:   st.GetsFailed,
		WaitTimeNS:   int64(st.WaitTime),
		Open:         st.Open,
		Closed: closedSummary{
			Total:       st.Closed(),
			Unusable:    st.ClosedUnusable,
			Stale:       st.ClosedStale,
			IdleTimeout: st.ClosedIdleTimeout,
			MaxLifetime: st.ClosedMaxLifetime,
			MaxIdle:     st.ClosedMaxIdle,
			HealthCheck: st.ClosedHealthCheck,
			PoolClosed:  st.ClosedPoolClosed,
		},
	}
}

// writeTarget is the TCPPool of write mode.
type writeTarget struct {
	pool       *connpool.TCPPool
	size       int
	timeout    time.Duration
	errorPause time.Duration
}

func openWrite(ctx context.Context, cfg config, addr string) (*writeTarget, error) {
	pool, err := connpool.DialPool(ctx, connpool.TCPPoolConfig{
		Addrs:       []string{addr},
		Size:        cfg.conns,
		DialTimeout: cfg.dialTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot reach %s: %w", addr, err)
	}
	return &writeTarget{pool: pool, size: cfg.size, timeout: cfg.timeout, errorPause: cfg.errorPause}, nil
}

func (w *writeTarget) client(ctx context.Context, _ int, t tallier) {
	msg := message(w.size)
	for ctx.Err() == nil {
		start := time.Now()
		n, err := w.pool.Write(msg)
		if err != nil {
			t.fail(err, n)
			pause(ctx, w.errorPause)
			continue
		}
		t.ok(time.Since(start))
	}
}

// ending bounds the Writes in progress. A write deadline is the pool's,
// not one Write's, so during the run Writes are left to block as long as
// the server makes them: that is the backpressure a writer would see.
func (w *writeTarget) ending() {
	w.pool.SetWriteDeadline(time.Now().Add(w.timeout))
}

func (w *writeTarget) gauge() string {
	st := w.pool.Stats()
	return fmt.Sprintf("conns %d/%d up, %d reconnects", st.ConnsUp, st.Size, st.Reconnects)
}

func (w *writeTarget) close() { w.pool.Close() }

func (w *writeTarget) report(s *summary) {
	st := w.pool.Stats()
	s.TCPPool = &tcpPoolSummary{
		Writes:       st.Writes,
		Bytes:        st.Bytes,
		FailedWrites: st.FailedWrites,
		Retries:      st.Retries,
		Reconnects:   st.Reconnects,
		DialErrors:   st.DialErrors,
		Size:         st.Size,
	}
}
