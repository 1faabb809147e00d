package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// sample is benchrun output as the bench module prints it: six runs of
// two Get+return rows, a row that hung, a failure, lines that are not
// results.
func sample() string {
	var b strings.Builder
	b.WriteString("goos: linux\ngoarch: amd64\npkg: github.com/seed-a245f091/connpool/bench\ncpu: AMD EPYC 7B13\n")
	for i := range 6 {
		fmt.Fprintf(&b, "BenchmarkGetPut/Pool=connpool/PerCPU=1/Conns=512-2 \t 1000 \t %d ns/op \t 0.9 fairness \t 900 p99-wait-ns \t 0 waits/op \t 0 dials/op \t 0 B/op \t 0 allocs/op\n", 100+i)
		fmt.Fprintf(&b, "BenchmarkGetPut/Pool=puddle/PerCPU=1/Conns=512-2 \t 1000 \t %d ns/op \t 0.95 fairness \t 1000 p99-wait-ns \t 0 waits/op \t 0 dials/op \t 0 B/op \t 0 allocs/op\n", 300+i)
		fmt.Fprintf(&b, "BenchmarkRoundTrip/Pool=connpool/Clients=64/Conns=8-2 \t 1000 \t 14000 ns/op \t %d req/s \t 1e6 p50-ns \t 4e6 p99-ns \t 5e6 p999-ns \t 0.9 fairness \t 8 peak-conns \t 0 dials/op\n", 70000+i)
		fmt.Fprintf(&b, "BenchmarkRoundTrip/Pool=puddle/Clients=64/Conns=8-2 \t 1000 \t 14000 ns/op \t %d req/s \t 1e6 p50-ns \t 4e6 p99-ns \t 5e6 p999-ns \t 0.9 fairness \t 8 peak-conns \t 0 dials/op\n", 70001+i)
		fmt.Fprintf(&b, "BenchmarkLoss/Rate=paced/Pool=tcppool-2 \t 1 \t 1e8 ns/op \t 0 lost-msgs \t 200 sent-msgs\n")
	}
	b.WriteString("BenchmarkGetPut/Pool=silenceper/PerCPU=32/Conns=8 \t1\t1 hung\n")
	b.WriteString("BenchmarkGetPut/Pool=naive/PerCPU=32/Conns=8-2\t1\t1 failed\n--- FAIL: BenchmarkGetPut/Pool=naive/PerCPU=32/Conns=8-2\n")
	b.WriteString("BenchmarkGetPut/Pool=connpool/PerCPU=32/Conns=8 \t 30000000 \t 50 ns/op \t 0.85 fairness \t 700 p99-wait-ns \t 0 waits/op \t 0 dials/op \t 0 B/op \t 0 allocs/op\n")
	b.WriteString("BenchmarkGetPut/Pool=puddle/PerCPU=32/Conns=8 \t 10000000 \t 400 ns/op \t 0.6 fairness \t 9000 p99-wait-ns \t 0.9 waits/op \t 0 dials/op \t 60 B/op \t 1 allocs/op\n")
	b.WriteString("PASS\n")
	return b.String()
}

// seriesSample has ten windows for each of the contended rows, connpool's
// with a step at the sixth.
func seriesSample() string {
	var b strings.Builder
	for i := range 10 {
		ns := 50.0
		if i >= 5 {
			ns = 60
		}
		fmt.Fprintf(&b, "BenchmarkGetPut/Pool=connpool/PerCPU=32/Conns=8\t1000\t%.1f ns/op\t0.0 waits/op\t%d at-ms\n", ns, 100*(i+1))
		fmt.Fprintf(&b, "BenchmarkGetPut/Pool=puddle/PerCPU=32/Conns=8\t1000\t%d ns/op\t0.9 waits/op\t%d at-ms\n", 400+i, 100*(i+1))
	}
	b.WriteString("BenchmarkGetPut/Pool=puddle/PerCPU=32/Conns=8\t1\t100000000 window-ns\t1100 at-ms\t1 stalled\n")
	return b.String()
}

func load(t *testing.T) *Data {
	t.Helper()
	d, err := Load(strings.NewReader(sample()), strings.NewReader(seriesSample()))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The report names the machine the results came from, not the one that
// writes it.
func TestMachineIsTheResults(t *testing.T) {
	m := machine(map[string]string{"cpu": "AMD EPYC 7B13", "go-version": "go1.26.0", "nproc": "96"})
	if m.CPU != "AMD EPYC 7B13" || m.GoVersion != "go1.26.0" || m.NumCPU != 96 {
		t.Errorf("machine = %+v, want the results' cpu, go-version and nproc", m)
	}
}

func TestLoad(t *testing.T) {
	d := load(t)
	if got := d.config["cpu"]; got != "AMD EPYC 7B13" {
		t.Errorf("cpu = %q", got)
	}
	if got := joinInts(d.procs); got != "1, 2" {
		t.Errorf("procs = %s, want 1, 2", got)
	}
	e := d.Get(benchGetPut, 2, "Pool=connpool", "Conns=512")
	if e == nil || len(e.values["ns/op"]) != 6 || e.keys["PerCPU"] != "1" {
		t.Fatalf("connpool row = %+v, want six ns/op values", e)
	}
	s, ok := e.stat("ns/op")
	if !ok || s.Center != 102.5 || s.Lo != 100 || s.Hi != 105 || s.windows {
		t.Errorf("stat = %+v, want the median 102.5 in [100, 105], over runs", s)
	}
	hung, failed := d.Hung()
	if len(hung) != 1 || hung[0] != "GetPut/Pool=silenceper/PerCPU=32/Conns=8 at GOMAXPROCS 1" {
		t.Errorf("hung = %q", hung)
	}
	if len(failed) != 1 || !strings.Contains(failed[0], "Pool=naive") {
		t.Errorf("failed = %q", failed)
	}
	// One 3s run: ns/op comes from its windows, a stalled one counted at
	// the window's whole width.
	w := d.Get(benchGetPut, 1, "Pool=puddle", "PerCPU=32", "Conns=8")
	if s, ok := w.stat("ns/op"); !ok || !s.windows || s.n != 11 {
		t.Errorf("puddle windows stat = %+v, want 11 windows", s)
	}
	if s, _ := w.stat("waits/op"); s.n != 10 {
		t.Errorf("waits/op over %d windows, want the 10 that did not stall", s.n)
	}
}

func TestCompare(t *testing.T) {
	d := load(t)
	rt, why := ratioOf(d.Get(benchGetPut, 2, "Pool=connpool", "Conns=512"), d.Get(benchGetPut, 2, "Pool=puddle", "Conns=512"), "ns/op")
	if why != "" {
		t.Fatal(why)
	}
	if rt.r != 102.5/302.5 || rt.lo != 100.0/305 || rt.hi != 105.0/300 || !rt.sig || rt.p > 0.01 {
		t.Errorf("ratio = %+v, want 102.5/302.5 in [100/305, 105/300], significant", rt)
	}
	if got, want := rt.String(), "0.34 [0.33, 0.35] p=0.002"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	same, _ := ratioOf(d.Get(benchRound, 2, "Pool=connpool"), d.Get(benchRound, 2, "Pool=puddle"), "req/s")
	if same.sig || !strings.HasSuffix(same.String(), " ~") {
		t.Errorf("overlapping samples compare as %s, want ~", same)
	}
	if _, why := ratioOf(d.Get(benchGetPut, 1, "Pool=silenceper"), d.Get(benchGetPut, 1, "Pool=puddle", "PerCPU=32"), "ns/op"); why != "hung" {
		t.Errorf("ratio of a hung row: %q, want hung", why)
	}
}

func TestMarkdown(t *testing.T) {
	d := load(t)
	md := Markdown(d, Info{
		Machine:  Machine{GoVersion: "go1.26", OS: "linux", Arch: "amd64", CPU: "AMD EPYC 7B13", NumCPU: 2},
		Command:  "bench/run.sh",
		Versions: parseRequires("module x\n\nrequire (\n\tgithub.com/jackc/puddle/v2 v2.2.3\n\tgolang.org/x/text v0.1.0 // indirect\n)\n"),
		Chart:    "bench/benchmarks.png",
		Series:   "bench/timeseries.png",
		Readme:   "Measured: on real loopback sockets, Get and return cost 0.14 to 0.14 times puddle's Acquire\nand Release (a pool of 8; 1, 4 and 32 goroutines per CPU;\nGOMAXPROCS 1, 2; see BENCHMARKS.md, section 1), at 0 allocs/op.",
	})
	for _, want := range []string{
		"bench/run.sh",
		"| CPU | AMD EPYC 7B13 |",
		"| github.com/jackc/puddle/v2 | v2.2.3 |",
		"- hung: GetPut/Pool=silenceper/PerCPU=32/Conns=8 at GOMAXPROCS 1",
		"| 2 | 2 | 102 ±2% | 302 ±1% | – | – | – | – |",
		"| 2 | 2 | 0.34 [0.33, 0.35] p=0.002 |",
		"| 1 | 32 | 55 ±9% | 405 ±1% | – | – | hung | – |",
		"| 2 | 2 | – / 900ns / w 0 / 0 (0) |",      // pool of 512: too short a run for fairness
		"| 1 | 32 | 0.850 / 700ns / w 0 / 0 (0) |", // pool of 8
		"ns/op at most 0.5× puddle's at every one: **missed**",
		"Round-trip throughput at least puddle's: **missed**",
		"(below, but not significantly)",
		"Zero loss in the graceful-close scenario at a paced rate: **met**",
		"Get+return with and without an observer attached: **not measured**",
		"README: the cost of Get and return quoted from this file, with its conditions: **met**. The README says, from this run: \"On real loopback sockets, Get and return cost 0.14 to 0.14 times puddle",
		"![Get+return over time](bench/timeseries.png)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(md)
	}
}

// TestReadmeClaim checks that a README quoting other figures than the
// run's, or none given, does not pass for one that quotes them.
func TestReadmeClaim(t *testing.T) {
	d := load(t)
	const name = "README: the cost of Get and return quoted from this file, with its conditions: "
	for readme, want := range map[string]string{
		"Get and return cost 0.24 to 0.78 times puddle's Acquire and Release (a pool of 8; 1, 4 and 32 goroutines per CPU; GOMAXPROCS 1, 2; see BENCHMARKS.md, section 1)": "**missed**. The README does not say what this run gives",
		"": "**not measured**. No README was given to check",
	} {
		if md := Markdown(d, Info{Readme: readme}); !strings.Contains(md, name+want) {
			t.Errorf("README %q: the report lacks %q", readme, name+want)
		}
	}
}

func TestCharts(t *testing.T) {
	d := load(t)
	for name, draw := range map[string]func(*bytes.Buffer, *Data) error{
		"overview":    func(b *bytes.Buffer, d *Data) error { return WriteChart(b, d) },
		"time series": func(b *bytes.Buffer, d *Data) error { return WriteSeriesChart(b, d) },
	} {
		var buf bytes.Buffer
		if err := draw(&buf, d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("%s chart is not a PNG", name)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(strings.NewReader("goos: linux\nPASS\n"), nil); err == nil {
		t.Error("Load of output without results succeeded")
	}
}

// TestBaselines checks that the baseline rows get their table and are
// quoted in the reasons of the Get+return targets they bear on, and that
// the allocations target says what B/op a row has.
func TestBaselines(t *testing.T) {
	var b strings.Builder
	b.WriteString("goos: linux\ngoarch: amd64\npkg: github.com/seed-a245f091/connpool/bench\n")
	for i := range 6 {
		fmt.Fprintf(&b, "BenchmarkGetPut/Pool=connpool/PerCPU=1/Conns=8 \t 1000 \t %d ns/op \t 0.5 fairness \t 900 p99-wait-ns \t 0 waits/op \t 0 dials/op \t 36 B/op \t 0 allocs/op\n", 100+i)
		fmt.Fprintf(&b, "BenchmarkGetPut/Pool=puddle/PerCPU=1/Conns=8 \t 1000 \t %d ns/op \t 0.9 fairness \t 900 p99-wait-ns \t 0 waits/op \t 0 dials/op \t 0 B/op \t 0 allocs/op\n", 140+i)
		fmt.Fprintf(&b, "BenchmarkGetPutBaseline/Pool=none/PerCPU=1/Conns=8 \t 1000 \t 15 ns/op \t 0.6 fairness \t 30 p99-wait-ns \t 0 dials/op \t 0 B/op \t 0 allocs/op\n")
		fmt.Fprintf(&b, "BenchmarkGetPutBaseline/Pool=mutex/PerCPU=1/Conns=8 \t 1000 \t 42 ns/op \t 0.7 fairness \t 40 p99-wait-ns \t 0 dials/op \t 0 B/op \t 0 allocs/op\n")
	}
	d, err := Load(strings.NewReader(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	md := Markdown(d, Info{})
	for _, want := range []string{
		"### Baselines: the loop alone, and a bare mutex",
		"| 1 | 1 | 15 ±0% | 0.600 | 42 ±0% | 0.700 | 102 ±2% | 0.500 |",
		"1 per CPU at GOMAXPROCS 1: 0.500 (with no pool at all, 0.600; with a bare mutex, 0.700)",
		"the loop alone 15ns, with two bare mutex turns 42ns",
		"is 0 in every run of these rows. Its B/op, at most 36, is the handles",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(md)
	}
}

// TestDurRounds checks that a duration in the prose matches the same
// figure in the tables, which round to three significant digits.
func TestDurRounds(t *testing.T) {
	for _, c := range []struct {
		ns   float64
		want string
	}{
		{111.6, "112ns"},
		{26.9, "27ns"},
		{1499.6, "1.5µs"},
		{2.6e6, "2.6ms"},
	} {
		if got := dur(c.ns); got != c.want {
			t.Errorf("dur(%v) = %q, want %q", c.ns, got, c.want)
		}
	}
}
