package connpool_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	"github.com/seed-a245f091/connpool/internal/testserver"
)

// recordingObserver keeps every duration it is told.
type recordingObserver struct {
	mu                 sync.Mutex
	waits, uses, dials []time.Duration
	dialErrs           int
}

func (o *recordingObserver) ObserveWait(d time.Duration) {
	o.mu.Lock()
	o.waits = append(o.waits, d)
	o.mu.Unlock()
}

func (o *recordingObserver) ObserveUse(d time.Duration) {
	o.mu.Lock()
	o.uses = append(o.uses, d)
	o.mu.Unlock()
}

func (o *recordingObserver) ObserveDial(d time.Duration, err error) {
	o.mu.Lock()
	o.dials = append(o.dials, d)
	if err != nil {
		o.dialErrs++
	}
	o.mu.Unlock()
}

func TestObserverSeesEveryWaitUseAndDial(t *testing.T) {
	s := newServer(t)
	var fail bool
	var mu sync.Mutex
	p, clk := newFakePool(t, connpool.Config{
		MaxConns: 2,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				return nil, errors.New("refused")
			}
			return dialTo(s)(ctx, "", "")
		},
	})
	o := new(recordingObserver)
	p.Observe(o)
	c := get(t, p) // dialled: it waited for the dial
	clk.Advance(3 * time.Second)
	c.Close() // held 3s on the pool's clock
	c = get(t, p)
	c.Close()
	mu.Lock()
	fail = true
	mu.Unlock()
	held := get(t, p)
	if _, err := p.Get(context.Background()); err == nil { // dials, fails
		t.Fatal("Get with the dial failing succeeded")
	}
	held.Close()
	p.WaitDials()
	o.mu.Lock()
	defer o.mu.Unlock()
	st := p.Stats()
	if len(o.waits) != 3 || len(o.uses) != 3 || len(o.dials) != int(st.Dials) || o.dialErrs != int(st.DialErrors) || o.dialErrs != 1 {
		t.Fatalf("observed %d waits, %d uses, %d dials (%d failed); stats %+v", len(o.waits), len(o.uses), len(o.dials), o.dialErrs, st)
	}
	if o.uses[0] != 3*time.Second {
		t.Errorf("first checkout held %v, want 3s", o.uses[0])
	}
}

// TestObserveRemove checks that a removed observer hears nothing more
// while the others still hear every event, that removing twice is
// harmless, and that Observe(nil) adds nothing, on both pools.
func TestObserveRemove(t *testing.T) {
	s := newServer(t)
	p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1})
	kept, gone := new(recordingObserver), new(recordingObserver)
	p.Observe(kept)
	remove := p.Observe(gone)
	p.Observe(nil)() // none of these calls may panic
	p.Observe((*recordingObserver)(nil))()
	get(t, p).Close() // dials: both hear the dial, the wait and the use
	remove()
	remove()
	get(t, p).Close()
	kept.mu.Lock()
	gone.mu.Lock()
	if len(kept.waits) != 2 || len(kept.uses) != 2 || len(kept.dials) != 1 {
		t.Errorf("the observer kept heard %d waits, %d uses, %d dials; want 2, 2, 1", len(kept.waits), len(kept.uses), len(kept.dials))
	}
	if len(gone.waits) != 1 || len(gone.uses) != 1 || len(gone.dials) != 1 {
		t.Errorf("the observer removed heard %d waits, %d uses, %d dials; want 1, 1, 1", len(gone.waits), len(gone.uses), len(gone.dials))
	}
	kept.mu.Unlock()
	gone.mu.Unlock()

	srv := newTCPServer(t, nil)
	logs := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{srv.Addr()}, Size: 1})
	o := new(recordingObserver)
	remove = logs.Observe(o)
	logs.Observe(nil)()
	logs.Observe((*recordingObserver)(nil))()
	if _, err := logs.Write([]byte("heard\n")); err != nil {
		t.Fatal(err)
	}
	remove()
	if _, err := logs.Write([]byte("not heard\n")); err != nil {
		t.Fatal(err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.waits) != 1 || len(o.uses) != 1 {
		t.Errorf("the TCPPool's observer heard %d waits and %d uses over one Write before its removal and one after; want 1 and 1", len(o.waits), len(o.uses))
	}
}

// logRecorder is a slog.Handler that keeps the records it is handed.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
	added   chan struct{}
}

func newLogRecorder() *logRecorder { return &logRecorder{added: make(chan struct{}, 100)} }

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r.Clone())
	h.mu.Unlock()
	select {
	case h.added <- struct{}{}:
	default:
	}
	return nil
}

// find returns the first record whose message starts with msg.
func (h *logRecorder) find(msg string) (slog.Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if strings.HasPrefix(r.Message, msg) {
			return r, true
		}
	}
	return slog.Record{}, false
}

// wait waits for a record whose message starts with msg.
func (h *logRecorder) wait(t testing.TB, msg string) slog.Record {
	t.Helper()
	deadline := time.After(testserver.WaitLimit)
	for {
		if r, ok := h.find(msg); ok {
			return r
		}
		select {
		case <-h.added:
		case <-deadline:
			t.Fatalf("no log record %q", msg)
		}
	}
}

func (h *logRecorder) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.records)
}

func attrs(r slog.Record) map[string]string {
	m := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

func TestLoggerRecordsWhatAnOperatorNeeds(t *testing.T) {
	s := newServer(t)
	logs := newLogRecorder()
	var down sync.Mutex
	refusing := false
	p, clk := newFakePool(t, connpool.Config{
		Name: "db", Addr: s.Addr(), MaxConns: 2, Logger: slog.New(logs),
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			down.Lock()
			defer down.Unlock()
			if refusing {
				return nil, errors.New("connection refused")
			}
			return new(net.Dialer).DialContext(ctx, network, addr)
		},
	})
	for range 100 { // a healthy run logs nothing
		c := get(t, p)
		c.Close()
	}
	if n := logs.len(); n != 0 {
		t.Fatalf("%d log records from 100 healthy Gets", n)
	}

	down.Lock()
	refusing = true
	down.Unlock()
	held := get(t, p)
	p.Get(context.Background()) // its dial fails
	r := logs.wait(t, "dial failed; backing off")
	if a := attrs(r); r.Level != slog.LevelWarn || a["pool"] != "db" || a["addr"] != s.Addr() || a["err"] != "connection refused" || a["retry_in"] == "" {
		t.Errorf("record %q at %v with %v", r.Message, r.Level, a)
	}
	down.Lock()
	refusing = false
	down.Unlock()
	got := getAsync(t, p) // waits out the backoff, then dials
	waitTimer(t, clk)
	clk.Advance(time.Hour)
	c := <-got
	c.Close()
	held.Close()
	r = logs.wait(t, "dials recovered")
	if a := attrs(r); r.Level != slog.LevelInfo || a["failures"] != "1" || a["after"] == "" {
		t.Errorf("record %q at %v with %v", r.Message, r.Level, a)
	}

	p.Drain(context.Background())
	logs.wait(t, "draining")
}

func TestLeakThresholdWarnsWithTheStackOfTheGet(t *testing.T) {
	s := newServer(t)
	logs := newLogRecorder()
	p, clk := newFakePool(t, connpool.Config{Addr: s.Addr(), MaxConns: 2, LeakThreshold: time.Minute, Logger: slog.New(logs)})
	quick := get(t, p)
	quick.Close() // back in time: no warning
	c := get(t, p)
	waitTimer(t, clk)
	clk.Advance(2 * time.Minute)
	r := logs.wait(t, "connection held longer than LeakThreshold")
	a := attrs(r)
	if r.Level != slog.LevelWarn || !strings.Contains(a["stack"], "TestLeakThresholdWarnsWithTheStackOfTheGet") || a["held"] != "2m0s" {
		t.Errorf("record %q at %v with %v", r.Message, r.Level, a)
	}
	if st := p.Stats(); st.Leaks != 1 {
		t.Errorf("Leaks = %d, want 1", st.Leaks)
	}
	c.Close()
	logs.wait(t, "connection reported as a possible leak came back")
	if st := p.Stats(); st.Leaks != 1 {
		t.Errorf("Leaks = %d after the return, want 1", st.Leaks)
	}
}

func TestPoolNameDefaults(t *testing.T) {
	s := newServer(t)
	if p := newPool(t, connpool.Config{Name: "cache", Addr: s.Addr(), MaxConns: 1}); p.Name() != "cache" {
		t.Errorf("Name() = %q, want the Config's", p.Name())
	}
	if p := newPool(t, connpool.Config{Addr: s.Addr(), MaxConns: 1}); p.Name() != s.Addr() {
		t.Errorf("Name() = %q, want Addr", p.Name())
	}
	p := newPool(t, connpool.Config{Dial: dialTo(s), MaxConns: 1})
	if p.Name() != "" {
		t.Errorf("Name() = %q before any dial", p.Name())
	}
	c := get(t, p)
	c.Close()
	if p.Name() != s.Addr() || p.Stats().Name != s.Addr() {
		t.Errorf("Name() = %q after the first dial, want its remote address %s", p.Name(), s.Addr())
	}
	tp := dialPool(t, connpool.TCPPoolConfig{Addrs: []string{s.Addr()}})
	if tp.Name() != s.Addr() || tp.Stats().Name != s.Addr() {
		t.Errorf("TCPPool Name() = %q, want its first address", tp.Name())
	}
}

// Close cancels the dials in flight. Their error is the pool's own doing,
// not a failing server: no "dial failed; backing off" record, which an
// operator would read as an outage at every shutdown of a pool that was
// dialling (a MinIdleConns top-up, a Get waiting, a TryGet).
func TestCloseDuringADialLogsNoDialFailure(t *testing.T) {
	logs := newLogRecorder()
	dialing := make(chan struct{})
	p := newPool(t, connpool.Config{
		MaxConns: 1, Logger: slog.New(logs),
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			close(dialing)
			<-ctx.Done() // a dial that honours its context, to a server slow to answer
			return nil, ctx.Err()
		},
	})
	if _, err := p.TryGet(); !errors.Is(err, connpool.ErrNotAvailable) {
		t.Fatalf("TryGet = %v, want ErrNotAvailable", err)
	}
	<-dialing
	p.Close()
	p.WaitDials()
	if r, ok := logs.find("dial failed"); ok {
		t.Errorf("Close of a pool with a dial in flight logged %q at %v with %v: the dial was canceled by Close, it did not fail",
			r.Message, r.Level, attrs(r))
	}
}
