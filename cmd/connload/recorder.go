package main

import (
	"runtime"
	"sync/atomic"
	"time"
)

// recorder collects the outcome of every request of one phase of a run.
// Clients record into shards, a few clients to each, so that no counter
// bounces between every processor. Its methods are safe for concurrent
// use.
type recorder struct {
	shards  []shard
	samples [numKinds]atomic.Pointer[string] // the first error of each kind
}

type shard struct {
	sent       atomic.Uint64 // requests begun
	late       atomic.Uint64 // of sent, begun after they were due (with -rate)
	ok, failed atomic.Uint64
	unfinished atomic.Uint64 // of sent, cut short by the end of the run
	kinds      [numKinds]atomic.Uint64
	partial    atomic.Uint64 // bytes sent by Writes that failed part way

	// Latencies of successful requests: from when each was due to its end,
	// and the two parts of that a request spends on the pool, waiting for
	// a connection and exchanging on it.
	total, get, exchange histogram
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

// begin records that a request was sent, late or not.
func (t tallier) begin(late bool) {
	t.sh.sent.Add(1)
	if late {
		t.sh.late.Add(1)
	}
}

// ok records a successful request.
func (t tallier) ok(total, get, exchange time.Duration) {
	t.sh.total.record(total)
	t.sh.get.record(get)
	t.sh.exchange.record(exchange)
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

// unfinished records a request the end of the run cut short before it
// could succeed or fail: one waiting for a connection when the run ended,
// or one a second Ctrl-C abandoned.
func (t tallier) unfinished() { t.sh.unfinished.Add(1) }

// tally is a snapshot of a recorder.
type tally struct {
	sent, late, ok, failed, unfinished uint64
	kinds                              [numKinds]uint64
	samples                            [numKinds]string
	partial                            uint64
	total, get, exchange               latencies
}

// requests returns the requests that completed, successful or not.
func (t *tally) requests() uint64 { return t.ok + t.failed }

// tally adds up the shards. It is exact once the clients have stopped.
func (r *recorder) tally() *tally {
	t := new(tally)
	for i := range r.shards {
		sh := &r.shards[i]
		t.sent += sh.sent.Load()
		t.late += sh.late.Load()
		t.ok += sh.ok.Load()
		t.failed += sh.failed.Load()
		t.unfinished += sh.unfinished.Load()
		for k := range t.kinds {
			t.kinds[k] += sh.kinds[k].Load()
		}
		t.partial += sh.partial.Load()
		t.total.add(&sh.total)
		t.get.add(&sh.get)
		t.exchange.add(&sh.exchange)
	}
	for k := range r.samples {
		if p := r.samples[k].Load(); p != nil {
			t.samples[k] = *p
		}
	}
	return t
}

// since returns what t counted after earlier, an earlier tally of the same
// recorder: the figures of one interval. Its samples are t's.
func (t *tally) since(earlier *tally) *tally {
	d := &tally{
		sent:       t.sent - earlier.sent,
		late:       t.late - earlier.late,
		ok:         t.ok - earlier.ok,
		failed:     t.failed - earlier.failed,
		unfinished: t.unfinished - earlier.unfinished,
		samples:    t.samples,
		partial:    t.partial - earlier.partial,
		total:      t.total.since(&earlier.total),
		get:        t.get.since(&earlier.get),
		exchange:   t.exchange.since(&earlier.exchange),
	}
	for k := range d.kinds {
		d.kinds[k] = t.kinds[k] - earlier.kinds[k]
	}
	return d
}
