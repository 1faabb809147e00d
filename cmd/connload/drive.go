package main

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"
)

// shutdownGrace is how long the embedded server waits, at the end, for
// connections its clients have hung up to end by themselves, so that a
// sink has counted everything sent before the summary is made.
const shutdownGrace = 2 * time.Second

// target is a pool under load.
type target interface {
	// requester returns what client number id sends its requests with.
	requester(id int) requester
	// bound makes the requests in progress end by t, if they have no
	// deadline of their own; the zero t lifts the bound.
	bound(t time.Time)
	// abort makes the requests in progress, and any later, end at once.
	abort()
	// stats returns the pool's gauges and counters now.
	stats() stats
	// close closes the pool and waits for its goroutines.
	close()
}

// requester sends the requests of one client, one at a time.
type requester interface {
	// do sends one request and returns its outcome. When ctx, the run's,
	// ends, a request still waiting for a connection gives up.
	do(ctx context.Context) result
	// done releases what the requester holds, once the client is done.
	done()
}

// result is the outcome of one request.
type result struct {
	get, exchange time.Duration // the two parts of a request on the pool
	err           error         // nil if it succeeded
	partial       int           // bytes a failed Write sent
	unfinished    bool          // the end of the run cut it short: no success, no failure
}

func openTarget(ctx context.Context, cfg config, addr string, book *ledger) (target, error) {
	if cfg.mode == modeWrite {
		w, err := openWrite(ctx, cfg, addr, book)
		if err != nil {
			return nil, err
		}
		return w, nil
	}
	e, err := openEcho(cfg, addr)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// runOne runs the load cfg describes once against addr, srv being the
// embedded server there or nil, and returns its summary; label names the
// setting in a -compare. It returns an error only if the load could not
// start or the time series could not be written; a run cut short by ctx
// returns the summary so far, marked interrupted, and one cut short by
// quit too, the requests in flight abandoned. Every goroutine it starts
// has ended when it returns.
func runOne(ctx, quit context.Context, cfg config, label, addr string, srv *server, scr *screen) (*summary, error) {
	var book *ledger
	var srvBase serverCount
	if srv != nil {
		if cfg.mode == modeWrite {
			book = newLedger()
		}
		srv.book.Store(book)
		defer srv.book.Store(nil)
		srvBase = srv.stats.snapshot()
	}
	tgt, err := openTarget(ctx, cfg, addr, book)
	if err != nil {
		return nil, err
	}
	if srv != nil && cfg.chaos {
		srv.startChaos(cfg.chaosEvery, cfg.chaosOutage)
	}
	rep := startReporter(ctx, quit, scr, cfg, label, tgt)

	var clk wallClock
	var warm *tally
	abandoned := false
	if cfg.warmup > 0 {
		rec := newRecorder(cfg.clients)
		now := clk.now()
		sched := &schedule{clock: clk, start: now, end: now.Add(cfg.warmup), rate: cfg.rate}
		rep.phase(rec, sched, nil)
		_, abandoned = runPhase(ctx, quit, cfg, clk, tgt, rec, sched)
		warm = rec.tally()
	}

	// The pool's counters count from its start, the dial before the run
	// included, unless a warm-up is left out of them.
	var base stats
	if cfg.warmup > 0 {
		base = tgt.stats()
	}
	rec := newRecorder(cfg.clients)
	start := clk.now()
	sched := &schedule{clock: clk, start: start, limit: cfg.n, rate: cfg.rate}
	if cfg.n == 0 {
		sched.end = start.Add(cfg.duration)
	}
	var stopped time.Duration
	if ctx.Err() == nil {
		rep.phase(rec, sched, &base)
		stopped, abandoned = runPhase(ctx, quit, cfg, clk, tgt, rec, sched)
	}
	// Stopped first, the reporter has written no record that ends after
	// the end of the run.
	rep.halt()
	elapsed := clk.now().Sub(start)
	final, st := rec.tally(), tgt.stats()
	werr := rep.finish(final, st, elapsed)

	if srv != nil {
		srv.stopChaos()
	}
	tgt.close()
	var srvCount *serverCount
	if srv != nil {
		grace := shutdownGrace
		if abandoned {
			grace = 0
		}
		srv.quiesce(grace)
		c := srv.stats.snapshot().sub(srvBase)
		srvCount = &c
	}
	s := newSummary(cfg, outcome{
		label:       label,
		addr:        addr,
		elapsed:     elapsed,
		interrupted: ctx.Err() != nil,
		abandoned:   abandoned,
		t:           final,
		warm:        warm,
		due:         sched.dueBy(stopped),
		stats:       st.sub(base),
		server:      srvCount,
		book:        book,
	})
	return s, werr
}

// runPhase runs the clients on sched until it ends, or ctx does, and waits
// for the requests in flight. It returns how long after the schedule's
// start the clients stopped taking requests, and whether quit ended the
// wait for the requests in flight, which were then abandoned.
func runPhase(ctx, quit context.Context, cfg config, clk clock, tgt target, rec *recorder, sched *schedule) (stopped time.Duration, abandoned bool) {
	var runCtx context.Context
	var cancel context.CancelFunc
	if sched.end.IsZero() {
		runCtx, cancel = context.WithCancel(ctx)
	} else {
		runCtx, cancel = context.WithDeadline(ctx, sched.end)
	}
	defer cancel()
	tgt.bound(time.Time{})
	var wg sync.WaitGroup
	for i := range cfg.clients {
		req, t := tgt.requester(i), rec.client(i)
		wg.Go(func() { runClient(runCtx, clk, sched, req, t, cfg.errorPause) })
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()

	select {
	case <-done:
		if !sched.end.IsZero() {
			// The schedule had no request due before its end (a low
			// rate): the run still lasts its duration, so that the rate
			// it reports is over the time asked for.
			clk.sleepUntil(ctx, sched.end) // or until the first Ctrl-C
		}
		return clk.now().Sub(sched.start), false
	case <-runCtx.Done():
	case <-quit.Done():
	}
	stopped = clk.now().Sub(sched.start)
	cancel()
	tgt.bound(time.Now().Add(cfg.timeout))
	select {
	case <-done:
		return stopped, false
	case <-quit.Done():
	}
	tgt.abort()
	<-done
	return stopped, true
}

// runClient sends requests as sched hands them out until it has no more
// or ctx ends, and records each outcome with t. In a closed loop a client
// that saw a request fail waits errorPause before the next, so that a
// server refusing at once is not hammered; with a rate the schedule sets
// the pace.
func runClient(ctx context.Context, clk clock, sched *schedule, req requester, t tallier, errorPause time.Duration) {
	defer req.done()
	for {
		from, late, ok := sched.take(ctx)
		if !ok {
			return
		}
		t.begin(late)
		r := req.do(ctx)
		switch {
		case r.unfinished:
			t.unfinished()
		case r.err != nil:
			t.fail(r.err, r.partial)
			if sched.rate == 0 && errorPause > 0 {
				clk.sleepUntil(ctx, clk.now().Add(errorPause))
			}
		default:
			t.ok(clk.now().Sub(from), r.get, r.exchange)
		}
	}
}

// reporter shows one run as it goes: the status line every -progress, a
// record of the time series every -interval, and at once a notice when
// Ctrl-C stops the run. It runs in a goroutine of its own until finish.
type reporter struct {
	scr       *screen
	cfg       config
	label     string
	tgt       target
	ctx, quit context.Context

	// mu guards the phase: what the goroutine reads to report.
	mu      sync.Mutex
	rec     *recorder
	sched   *schedule
	warming bool
	ser     *series   // of the measurement, with -interval
	started chan bool // receives once the measurement starts

	stop, done chan struct{}
	err        error // of writing a record; the goroutine's until done
}

func startReporter(ctx, quit context.Context, scr *screen, cfg config, label string, tgt target) *reporter {
	r := &reporter{
		scr: scr, cfg: cfg, label: label, tgt: tgt, ctx: ctx, quit: quit,
		started: make(chan bool, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go r.run()
	return r
}

// phase tells the reporter that a phase of the run starts on rec and
// sched: the measurement if base, the pool's stats at its start, is set,
// else the warm-up.
func (r *reporter) phase(rec *recorder, sched *schedule, base *stats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec, r.sched, r.warming = rec, sched, base == nil
	if base != nil {
		if r.cfg.interval > 0 {
			r.ser = newSeries(r.cfg, r.label, sched, sched.start, *base)
		}
		r.started <- true
	}
}

func (r *reporter) run() {
	defer close(r.done)
	var status, interval <-chan time.Time
	if r.cfg.progress > 0 {
		t := time.NewTicker(r.cfg.progress)
		defer t.Stop()
		status = t.C
	}
	stopping, quitting := r.ctx.Done(), r.quit.Done()
	var prev lastStatus
	const quitNotice = "connload: quitting: the requests in flight are abandoned"
	for {
		select {
		case <-r.stop:
			// A stop or a quit that came as the run ended still gets its
			// notice: select may have picked the end first.
			if stopping != nil && r.ctx.Err() != nil {
				r.scr.notice(r.stoppingNotice())
			}
			if quitting != nil && r.quit.Err() != nil {
				r.scr.notice(quitNotice)
			}
			return
		case <-r.started:
			if r.cfg.interval > 0 {
				t := time.NewTicker(r.cfg.interval)
				defer t.Stop()
				interval = t.C
			}
		case now := <-status:
			if fs := r.statusAt(now, &prev); fs != nil {
				r.scr.status(fs)
			}
		case now := <-interval:
			r.mu.Lock()
			rec, ser := r.rec, r.ser
			r.mu.Unlock()
			if err := r.emit(ser.next(now.Sub(ser.start), rec.tally(), r.tgt.stats())); err != nil {
				r.err = err
				interval = nil
			}
		case <-stopping:
			stopping = nil
			r.scr.notice(r.stoppingNotice())
		case <-quitting:
			quitting = nil
			r.scr.notice(quitNotice)
		}
	}
}

// lastStatus is what the last status line showed: the recent p99 and
// rate are of the requests since.
type lastStatus struct {
	rec *recorder // whose tally cur is
	cur *tally
	at  time.Time
}

// statusAt returns the status line for a tick at now, and notes it in
// prev; nil before the first phase. A line of a new phase counts from the
// phase's start, even if the tick came due before it.
func (r *reporter) statusAt(now time.Time, prev *lastStatus) []field {
	v, ok := r.snapshot()
	if !ok {
		return nil
	}
	if v.rec != prev.rec {
		*prev = lastStatus{rec: v.rec}
	}
	now = later(now, v.start)
	fs := r.statusFields(now, v, prev.cur, prev.at)
	prev.cur, prev.at = v.cur, now
	return fs
}

func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// view is what a status line shows of the phase under way.
type view struct {
	rec     *recorder
	cur     *tally // rec's, now
	start   time.Time
	warming bool
}

// snapshot returns the phase now, read at once so that its tally, start
// and name agree; false before the first phase.
func (r *reporter) snapshot() (view, bool) {
	r.mu.Lock()
	v := view{rec: r.rec, warming: r.warming}
	if r.sched != nil {
		v.start = r.sched.start
	}
	r.mu.Unlock()
	if v.rec == nil {
		return view{}, false
	}
	v.cur = v.rec.tally()
	return v, true
}

func (r *reporter) stoppingNotice() string {
	noun := "requests"
	if r.cfg.mode == modeWrite {
		noun = "Writes"
	}
	return fmt.Sprintf("connload: stopping: waiting up to %s for the %s in flight (Ctrl-C again to quit at once)",
		showDuration(r.cfg.timeout), noun)
}

// statusFields makes the status line: the time, then the counts and
// recent latency, then the pool. last, taken at lastAt, is nil at the
// phase's first status.
func (r *reporter) statusFields(now time.Time, v view, last *tally, lastAt time.Time) []field {
	cur, start, warming := v.cur, v.start, v.warming
	var fs []field
	if r.label != "" {
		fs = append(fs, field{long: r.label + ":", keep: true})
	}
	elapsed := fmt.Sprintf("%5.1fs", now.Sub(start).Seconds())
	switch {
	case r.ctx.Err() != nil:
		fs = append(fs, field{long: "stopping", keep: true})
	case warming:
		fs = append(fs, field{long: "warm-up " + elapsed, short: "warm " + elapsed, keep: true})
	default:
		fs = append(fs, field{long: elapsed, keep: true})
	}
	noun, short := "requests", "req"
	if r.cfg.mode == modeWrite {
		noun, short = "writes", "wr"
	}
	n := cur.requests()
	fs = append(fs, field{long: commas(n) + " " + noun, short: commas(n) + " " + short})
	if last == nil { // the first status of the phase
		last, lastAt = new(tally), start
	}
	recent := cur.total.since(&last.total)
	if now.After(lastAt) {
		fs = append(fs, field{long: commas(uint64(float64(n-last.requests())/now.Sub(lastAt).Seconds())) + "/s"})
	}
	p99 := "n/a"
	if recent.n > 0 {
		p99 = showDuration(recent.quantile(0.99))
	}
	fs = append(fs, field{long: "p99 " + p99})
	fs = append(fs, field{long: commas(cur.failed) + " failed", short: commas(cur.failed) + " err"})
	if r.cfg.rate > 0 {
		fs = append(fs, field{long: commas(cur.late) + " late"})
	}
	st := r.tgt.stats()
	switch {
	case st.pool != nil:
		p := st.pool
		fs = append(fs, field{
			long:  fmt.Sprintf("conns %d open, %d idle, %d Gets waiting", p.Open, p.Idle, p.Waiting),
			short: fmt.Sprintf("%d open %d idle %d wait", p.Open, p.Idle, p.Waiting),
		})
	case st.tcpPool != nil:
		p := st.tcpPool
		fs = append(fs, field{
			long:  fmt.Sprintf("conns %d/%d up, %s", p.ConnsUp, p.Size, count(p.Reconnects, "redial", "redials")),
			short: fmt.Sprintf("%d/%d up", p.ConnsUp, p.Size),
		})
	}
	return fs
}

// emit writes one record of the time series: a JSON line with -json, else
// a row of a table.
func (r *reporter) emit(rec *intervalRecord) error {
	if r.cfg.json {
		var b bytes.Buffer
		if err := writeJSON(&b, rec, true); err != nil {
			return err
		}
		return r.scr.record(b.Bytes())
	}
	r.mu.Lock()
	ser := r.ser
	r.mu.Unlock()
	return r.scr.record(ser.text(rec))
}

// halt stops the reporter's goroutine and clears the status line.
func (r *reporter) halt() {
	close(r.stop)
	<-r.done
	r.scr.clear()
}

// finish, after halt, writes the last record of the time series, if there
// is one: the interval cut short by the end, from final, the recorder's
// tally once the clients have stopped, and st, the pool's stats then. It
// returns the first error writing a record.
func (r *reporter) finish(final *tally, st stats, elapsed time.Duration) error {
	if r.err != nil {
		return fmt.Errorf("writing the time series: %w", r.err)
	}
	if r.ser != nil {
		if err := r.emit(r.ser.next(elapsed, final, st)); err != nil {
			return fmt.Errorf("writing the time series: %w", err)
		}
	}
	return nil
}
