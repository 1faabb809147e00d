package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Names of the benchmarks and pools, as the bench module spells them.
const (
	benchGetPut   = "BenchmarkGetPut"
	benchBaseline = "BenchmarkGetPutBaseline"
	benchProbe    = "BenchmarkGetPutProbe"
	benchObserver = "BenchmarkGetPutObserver"
	benchRound    = "BenchmarkRoundTrip"
	benchHeap     = "BenchmarkHeap"
	benchStream   = "BenchmarkStreamWrite"
	benchRecovery = "BenchmarkRecovery"
	benchLoss     = "BenchmarkLoss"
)

var (
	checkoutPools = []string{"connpool", "puddle", "fatih", "buraksezer", "silenceper", "naive"}
	streamPools   = []string{"tcppool", "fanout", "naiverr"}
	recoveryPools = append(append([]string(nil), checkoutPools...), "tcppool")
	lossPools     = []string{"tcppool", "tcppoolprobe", "naiverr"}
)

// labels are the names the report gives the pools.
var labels = map[string]string{
	"connpool":     "connpool",
	"puddle":       "puddle",
	"fatih":        "fatih/pool",
	"buraksezer":   "buraksezer",
	"silenceper":   "silenceper",
	"naive":        "naive",
	"tcppool":      "TCPPool",
	"tcppoolprobe": "TCPPool, probe every Write",
	"fanout":       "raw fan-out",
	"naiverr":      "naive round-robin",
}

// The benchmark targets, with the tolerances the report reads them by.
const (
	getPutMaxRatio = 0.5  // connpool ÷ puddle, ns/op
	minFairness    = 0.8  // fewest ÷ most ops of any goroutine
	maxGrowth      = 1.25 // ns/op at the most goroutines (or connections) ÷ at the fewest compared
	heapMaxRatio   = 1.25 // heap per lent connection, connpool ÷ puddle
	probeMaxRatio  = 1.10 // probe at its default ÷ probe off
	streamMaxRatio = 1.2  // TCPPool ÷ raw fan-out, ns/op
)

// Machine describes where the benchmarks ran.
type Machine struct {
	GoVersion, OS, Arch, CPU string
	NumCPU                   int
}

// Version is a module the benchmarks were built with.
type Version struct{ Path, Version string }

// Info is what the report says about how it was made.
type Info struct {
	Machine  Machine
	Command  string
	Versions []Version
	// Chart and Series are the paths of the overview chart and the time
	// series chart, relative to the report; empty for none.
	Chart, Series string
	// Readme is the text of the README whose claim the report checks;
	// empty for none.
	Readme string
}

// target is one of the benchmark targets and how the run fared.
type target struct {
	name, state, detail string // state: met, missed or not measured
}

const (
	met         = "met"
	missed      = "missed"
	notMeasured = "not measured"
)

type report struct {
	d       *Data
	info    Info
	b       strings.Builder
	targets []target
}

func (r *report) printf(format string, args ...any) { fmt.Fprintf(&r.b, format, args...) }

func (r *report) target(name, state, detail string) {
	r.targets = append(r.targets, target{name, state, detail})
}

// Markdown returns BENCHMARKS.md for the run in d.
func Markdown(d *Data, info Info) string {
	r := &report{d: d, info: info}
	r.getPut()
	r.probe()
	r.observer()
	r.roundTrip()
	r.heap()
	r.stream()
	r.recovery()
	r.loss()
	r.readme()
	body := r.b.String()

	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Benchmarks\n\n")
	w("connpool beside the pools a user would pick instead, all in one run on one machine, every scenario on real " +
		"loopback TCP sockets: for the checkout pool, [jackc/puddle/v2](https://github.com/jackc/puddle), " +
		"[fatih/pool](https://github.com/fatih/pool) v3, [buraksezer/connpool](https://github.com/buraksezer/connpool), " +
		"[silenceper/pool](https://github.com/silenceper/pool) and a naive channel pool (`bench/naive.go`); for TCPPool, " +
		"a raw fan-out over sockets and a samber/go-tcp-pool-style round-robin (`bench/roundrobin.go`: samber/go-tcp-pool " +
		"itself cannot be fetched through the Go module proxy). The benchmarks are in `bench/` (a module of its own); " +
		"this file and the charts are written by `bench/cmd/benchreport` from the run's output, `bench/results.txt` " +
		"and `bench/series.txt`.\n\n")
	w("## How these figures were produced\n\n")
	w("```sh\n%s\n```\n\n", info.Command)
	w("| | |\n|---|---|\n")
	w("| Go | %s |\n", info.Machine.GoVersion)
	w("| OS/arch | %s/%s |\n", info.Machine.OS, info.Machine.Arch)
	w("| CPU | %s |\n", info.Machine.CPU)
	w("| CPUs (nproc) | %d |\n", info.Machine.NumCPU)
	w("| GOMAXPROCS | %s |\n", joinInts(d.procs))
	for _, v := range info.Versions {
		w("| %s | %s |\n", v.Path, v.Version)
	}
	w("\n")
	w("%s\n", method)
	hung, failed := d.Hung()
	w("## Rows that hung or failed\n\n")
	if len(hung)+len(failed) == 0 {
		w("None: every row finished.\n\n")
	} else {
		w("A row that made no progress for 2s, or outlived its process's time limit, is shown as *hung* in the " +
			"tables; the rest of the run went on without it.\n\n")
		for _, h := range hung {
			w("- hung: %s\n", h)
		}
		for _, f := range failed {
			w("- failed: %s\n", f)
		}
		w("\n")
	}
	w("## Targets\n\n")
	for _, t := range r.targets {
		w("- %s: **%s**. %s\n", t.name, t.state, t.detail)
	}
	w("\n")
	if info.Chart != "" {
		w("![Every scenario, every pool: medians](%s)\n\n", info.Chart)
	}
	w("%s", body)
	if info.Series != "" {
		w("## Over time\n\n")
		w("Each contended Get+return row with a pool of 8, in 100ms windows over its 3s run: ns/op per window " +
			"(above) and, for the pools that count them, waits/op (below). A state that forms late in a run, such " +
			"as a convoy, shows as a step; the medians in section 1 are over these windows.\n\n")
		w("![Get+return over time](%s)\n", info.Series)
	}
	return b.String()
}

// method is the method section.
const method = `## Method

- **Sockets.** Every scenario runs on real TCP connections over 127.0.0.1 (addresses from ` + "`127.0.0.1:0`" + `, never a fixed port), so the runtime's netpoller is active even where a benchmark does no I/O. The servers of Get+return, request/response, the heap row and stream writes run in a separate process (the bench test binary run again as ` + "`TestHelperServer`" + `), so that their goroutines are not scheduled by the client's runtime; the restart and close scenarios keep their server in-process, since they stop it, restart it and count what it received.
- **Processes and time limits.** ` + "`bench/cmd/benchrun`" + ` runs each row of a pool that might hang in a test process of its own. A benchmark whose goroutines make no progress for 2s ends its process (exit status 3), and a process that outlives its time limit is killed; either way the row is recorded as *hung* and the run goes on.
- **Runs.** Get+return with a pool of 8 is one 3s run per row, recorded in 100ms windows; its ns/op and waits/op medians and intervals are over the windows (about 30). go test sizes a run from a shorter one before it, so a run can last several times its benchtime (a pool that is cheap at first and slows later runs longest); its windows, fairness and p99 wait are taken over its first benchtime only, the same span for every pool, and each window ends when its count is read, not when its tick was due. allocs per op in the tables is mallocs/op, allocations counted over the run and divided by its ops, since go test's allocs/op rounds down to whole allocations. Consecutive windows of one run are not independent samples, so those intervals are narrower than the spread between runs would be. The pools of a Get+return row run one after another, first to last in one row and last to first in the next, so that the machine's drift over the run falls on the pools of a row alike; on a shared machine the same code still differs from one process to the next by more than those intervals (up to 1.5× at one goroutine per CPU), so a ratio near 1 says less than its p-value suggests. Every other row is six runs (` + "`-count 6`" + `) and its statistics are over the runs; the round trips' six runs of each pool take turns with the other pools', one run each a round, in the order of the Get+return rows. The probe and observer rows, which compare connpool with itself within a few percent, are six runs of 500ms for each setting, each run a process of its own, the two settings taking turns in ABBA order so that the machine's drift over the run falls on both alike.
- **Statistics.** The results are read with ` + "`golang.org/x/perf/benchfmt`" + ` and summarized with ` + "`benchmath.AssumeNothing`" + `, benchstat's own statistics: each figure is a median, ±x% is its 95% confidence interval. A ratio a ÷ b is the ratio of the medians; the bracket is the interval the two medians' intervals allow (a's low over b's high to a's high over b's low), and p is the Mann-Whitney U test of the two samples, as benchstat prints it; ~ marks a difference that is not significant (p ≥ 0.05). Below 1 is better for times and bytes, above 1 for throughput.
- **Get+return** (` + "`BenchmarkGetPut`" + `): perCPU × GOMAXPROCS goroutines (` + "`b.RunParallel`" + `) check a connection out and give it back, no I/O. Each goroutine counts its own operations, and times one Get in seven (the same for every pool; an odd number, so that the timed Gets do not fall in step with what a pool does every 2^k Gets): **fairness** is the fewest operations of any goroutine over the run divided by the most, **p99 wait** the 99th percentile of the timed Gets. **waits/op** is the pool's own count of Gets that found no idle connection (connpool and puddle keep one); **dials/op** counts connections dialled while timed (fatih/pool and the naive pool dial instead of waiting). 512 goroutines per CPU runs for connpool and puddle only. At GOMAXPROCS 1 a goroutine that never blocks keeps the CPU for its whole time slice, so fairness there is mostly the scheduler's.
- **Targets.** "Nothing grows" is read as: connpool's ns/op at 512 goroutines per CPU at most 1.25× that at 32 (a 16-fold increase), its ns/op with a pool of 512 at most 1.25× that with a pool of 8 at one goroutine per CPU, and 0 allocs/op everywhere. A target on a ratio is met by the median ratio; the interval and p-value say how firmly.
- **Heap** (` + "`BenchmarkHeap`" + `): 10,000 sockets are dialled to the server process; the live heap after a GC with the sockets alone is subtracted from the live heap after the pool was built from them and lent every one of them once (all out at once) and taken them back; the difference is divided by 10,000. The process raises its soft limit on open files to the hard limit; if that is not enough the row runs on fake connections and says ` + "`Conn=fake`" + `.
- **Request/response** (` + "`BenchmarkRoundTrip`" + `): 64 clients share a pool of 8 connections to an echo server; each request checks a connection out, writes 32 bytes, reads the echo and gives it back. **peak** is the most connections open at once, counted on the client: a pool that dials past its cap (fatih/pool, the naive pool) runs on more than 8.
- **Stream writes, recovery, loss**: as in sections 6 to 8.
`

// row is a line of a table: its label cells, its GOMAXPROCS and the k=v
// pairs that pick its entries.
type row struct {
	labels []string
	procs  int
	kv     []string
}

// column is a column of a table: its heading and its cell for each row.
type column struct {
	head string
	cell func(row) string
}

// table writes a Markdown table of rows, leaving out rows with no entry.
func (r *report) table(labelHeads []string, rows []row, cols []column) {
	r.printf("| %s |", strings.Join(labelHeads, " | "))
	for _, c := range cols {
		r.printf(" %s |", c.head)
	}
	r.printf("\n|%s", strings.Repeat("---:|", len(labelHeads)+len(cols)))
	r.printf("\n")
	for _, rw := range rows {
		r.printf("| %s |", strings.Join(rw.labels, " | "))
		for _, c := range cols {
			r.printf(" %s |", c.cell(rw))
		}
		r.printf("\n")
	}
	r.printf("\n")
}

// statCol is a column of unit for pool, as its median and interval.
func (r *report) statCol(head, bench, pool, unit string, format func(float64) string) column {
	return column{head, func(rw row) string {
		return statCell(r.d.Get(bench, rw.procs, append(rw.kv, "Pool="+pool)...), unit, format)
	}}
}

// statCell formats unit of e as "45.8 ±3%", or says why there is none.
func statCell(e *entry, unit string, format func(float64) string) string {
	if e == nil {
		return "–"
	}
	s, ok := e.stat(unit)
	if !ok {
		if e.status != "" {
			return e.status
		}
		return "–"
	}
	cell := format(s.Center)
	if s.n > 1 {
		cell += " ±" + s.PctRangeString()
	}
	if e.status != "" {
		cell += " (" + e.status + " once)"
	}
	return cell
}

// ratioCol is a column of a's unit divided by b's.
func (r *report) ratioCol(head, bench, a, b, unit string) column {
	return column{head, func(rw row) string {
		rt, why := r.ratio(bench, rw.procs, rw.kv, a, b, unit)
		if why != "" {
			return why
		}
		return rt.String()
	}}
}

// ratio compares unit of pools a and b in the row picked by kv; why says
// why there is no ratio.
func (r *report) ratio(bench string, procs int, kv []string, a, b, unit string) (ratio, string) {
	ea := r.d.Get(bench, procs, append(kv, "Pool="+a)...)
	eb := r.d.Get(bench, procs, append(kv, "Pool="+b)...)
	return ratioOf(ea, eb, unit)
}

func ratioOf(ea, eb *entry, unit string) (ratio, string) {
	sa, ok1 := ea.stat(unit)
	sb, ok2 := eb.stat(unit)
	switch {
	case !ok1 && ea != nil && ea.status != "":
		return ratio{}, ea.status
	case !ok2 && eb != nil && eb.status != "":
		return ratio{}, "other " + eb.status
	case !ok1 || !ok2:
		return ratio{}, "–"
	}
	rt, ok := compare(sa, sb)
	if !ok {
		return ratio{}, "–"
	}
	return rt, ""
}

// getPutRows are the rows of a Get+return table with a pool of size.
func (r *report) getPutRows(bench string, size string, extra ...string) []row {
	var rows []row
	for _, p := range r.d.procs {
		for _, per := range r.d.Values(bench, "PerCPU") {
			kv := append([]string{"PerCPU=" + per, "Conns=" + size}, extra...)
			if r.d.Get(bench, p, kv...) == nil {
				continue
			}
			n, _ := strconv.Atoi(per)
			rows = append(rows, row{[]string{strconv.Itoa(p), strconv.Itoa(n * p)}, p, kv})
		}
	}
	return rows
}

func (r *report) getPut() {
	r.printf("## 1. Get and return\n\n")
	r.printf("`BenchmarkGetPut`: goroutines share a pool of 8, or of 512, real sockets to the server process, and " +
		"check a connection out and give it back with no I/O. ns/op of every pool, then connpool's ratio to each:\n\n")
	heads := []string{"GOMAXPROCS", "goroutines"}
	for _, size := range r.d.Values(benchGetPut, "Conns") {
		rows := r.getPutRows(benchGetPut, size)
		if len(rows) == 0 {
			continue
		}
		r.printf("### Pool of %s: ns/op\n\n", size)
		var cols []column
		for _, pool := range checkoutPools {
			cols = append(cols, r.statCol(labels[pool], benchGetPut, pool, "ns/op", num))
		}
		r.table(heads, rows, cols)
		r.printf("### Pool of %s: connpool ÷ each, ns/op\n\n", size)
		cols = nil
		for _, pool := range checkoutPools[1:] {
			cols = append(cols, r.ratioCol("÷ "+labels[pool], benchGetPut, "connpool", pool, "ns/op"))
		}
		r.table(heads, rows, cols)
		r.printf("### Pool of %s: fairness, p99 wait, waits/op or dials/op, allocs/op (B/op)\n\n", size)
		// Only the pool of 8 runs long enough (3s) for fairness to say
		// anything of a pool: the others run 200ms, less than the
		// scheduler's time slices of tens of goroutines take.
		fair := size == "8"
		cols = nil
		for _, pool := range checkoutPools {
			cols = append(cols, column{labels[pool], func(rw row) string {
				e := r.d.Get(benchGetPut, rw.procs, append(rw.kv, "Pool="+pool)...)
				return detailCell(e, fair)
			}})
		}
		r.table(heads, rows, cols)
	}
	r.printf("Each cell of the last tables: fairness / p99 of the wait for a connection / waits per Get " +
		"(w, where the pool counts them) or dials per Get (d) / allocs per op (bytes per op). " +
		"Fairness is given for the pool of 8 only: the other rows run 200ms each, and at GOMAXPROCS 1, " +
		"where a goroutine that never blocks keeps the CPU for a time slice of about 10ms, most of 32 or more " +
		"goroutines have not run at all by then, with no pool as with any, so the figure would be the scheduler's.\n\n")
	r.baselines()
	r.getPutTargets()
}

// baselines writes BenchmarkGetPutBaseline's rows beside connpool's with a
// pool of 8.
func (r *report) baselines() {
	rows := r.getPutRows(benchBaseline, "8", "Pool=none")
	if len(rows) == 0 {
		return
	}
	for i := range rows {
		rows[i].kv = rows[i].kv[:2]
	}
	r.printf("### Baselines: the loop alone, and a bare mutex\n\n")
	r.printf("`BenchmarkGetPutBaseline` runs the same loop, as long, on two stand-ins that are not pools. " +
		"*none* hands every goroutine the same connection and takes it back doing nothing: its ns/op is the " +
		"loop's own cost, and its fairness the most the scheduler gives goroutines that never block. *mutex* " +
		"takes and releases one sync.Mutex in get and one in put, the least a pool with one lock does. " +
		"connpool's rows with a pool of 8 beside them:\n\n")
	get := func(bench, pool string, rw row) *entry {
		return r.d.Get(bench, rw.procs, append(rw.kv, "Pool="+pool)...)
	}
	var cols []column
	for _, c := range []struct{ head, bench, pool string }{
		{"none", benchBaseline, "none"},
		{"mutex", benchBaseline, "mutex"},
		{"connpool", benchGetPut, "connpool"},
	} {
		cols = append(cols,
			column{c.head + ": ns/op", func(rw row) string { return statCell(get(c.bench, c.pool, rw), "ns/op", num) }},
			column{c.head + ": fairness", func(rw row) string { return fairCell(get(c.bench, c.pool, rw)) }})
	}
	r.table([]string{"GOMAXPROCS", "goroutines"}, rows, cols)
}

// fairCell is the median fairness of e's runs, as the detail cells give it.
func fairCell(e *entry) string {
	if f, ok := e.stat("fairness"); ok {
		return num(f.Center)
	}
	if e != nil {
		return orDash(e.status)
	}
	return "–"
}

// baseline returns the median of unit in BenchmarkGetPutBaseline's row of
// pool at perCPU goroutines per CPU and GOMAXPROCS procs.
func (r *report) baseline(procs int, pool, perCPU, unit string) (float64, bool) {
	s, ok := r.d.Get(benchBaseline, procs, "Pool="+pool, "PerCPU="+perCPU, "Conns=8").stat(unit)
	return s.Center, ok
}

// detailCell is a Get+return row's fairness, p99 wait, waits or dials, and
// allocations, medians over its runs.
func detailCell(e *entry, fair bool) string {
	if e == nil {
		return "–"
	}
	if len(e.values["fairness"]) == 0 {
		return orDash(e.status)
	}
	med := func(unit string) float64 {
		s, _ := e.stat(unit)
		return s.Center
	}
	fairness := "–"
	if fair {
		fairness = num(med("fairness"))
	}
	parts := []string{fairness, dur(med("p99-wait-ns"))}
	if _, ok := e.values["waits/op"]; ok {
		parts = append(parts, "w "+num(med("waits/op")))
	} else {
		parts = append(parts, "d "+num(med("dials/op")))
	}
	allocs := med("allocs/op")
	if _, ok := e.values["mallocs/op"]; ok {
		allocs = med("mallocs/op")
	}
	parts = append(parts, fmt.Sprintf("%s (%s)", num(allocs), num(med("B/op"))))
	return strings.Join(parts, " / ")
}

// allocsPerOp returns the most allocations per op of e's runs: mallocs/op,
// which keeps the fraction, where the run reports it, else go test's
// allocs/op, which is rounded down to whole allocations.
func allocsPerOp(e *entry) (float64, bool) {
	if a, ok := e.max("mallocs/op"); ok {
		return a, true
	}
	return e.max("allocs/op")
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func (r *report) getPutTargets() {
	const name = "Get+return, pool of 8, 1, 4 and 32 goroutines per CPU at GOMAXPROCS 1 and 2"
	var ratios, over, allocs, unfair, waits []string
	var maxBytes float64
	rows := 0
	missing := false
	for _, p := range []int{1, 2} {
		for _, per := range []string{"1", "4", "32"} {
			kv := []string{"PerCPU=" + per, "Conns=8"}
			at := fmt.Sprintf("%s per CPU at GOMAXPROCS %d", per, p)
			c := r.d.Get(benchGetPut, p, append(kv, "Pool=connpool")...)
			rt, why := r.ratio(benchGetPut, p, kv, "connpool", "puddle", "ns/op")
			if why != "" {
				missing = true
				ratios = append(ratios, at+": "+why)
				continue
			}
			rows++
			ratios = append(ratios, fmt.Sprintf("%s: %s", at, rt))
			if rt.r > getPutMaxRatio {
				over = append(over, at)
			}
			if a, _ := allocsPerOp(c); a != 0 {
				allocs = append(allocs, fmt.Sprintf("%s: %s", at, num(a)))
			}
			if b, ok := c.max("B/op"); ok {
				maxBytes = max(maxBytes, b)
			}
			if f, ok := c.stat("fairness"); ok && f.Center < minFairness {
				u := fmt.Sprintf("%s: %s", at, num(f.Center))
				none, ok1 := r.baseline(p, "none", per, "fairness")
				mu, ok2 := r.baseline(p, "mutex", per, "fairness")
				if ok1 && ok2 {
					u += fmt.Sprintf(" (with no pool at all, %s; with a bare mutex, %s)", num(none), num(mu))
				}
				unfair = append(unfair, u)
			}
			w, _ := c.stat("waits/op")
			pw, _ := c.stat("p99-wait-ns")
			waits = append(waits, fmt.Sprintf("%s: %s waits/op, p99 wait %s", at, num(w.Center), dur(pw.Center)))
		}
	}
	if rows == 0 {
		r.target(name+": ns/op at most 0.5× puddle's", notMeasured, "No such rows in this run.")
		return
	}
	state := met
	detail := "connpool ÷ puddle: " + strings.Join(ratios, "; ") + "."
	if len(over) > 0 || missing {
		state = missed
		if len(over) > 0 {
			cost := ""
			c := r.d.Get(benchGetPut, 1, "Pool=connpool", "PerCPU=1", "Conns=8")
			pd := r.d.Get(benchGetPut, 1, "Pool=puddle", "PerCPU=1", "Conns=8")
			cs, ok1 := c.stat("ns/op")
			ps, ok2 := pd.stat("ns/op")
			if ok1 && ok2 {
				cost = fmt.Sprintf(" (%s against puddle's %s, one goroutine at GOMAXPROCS 1", dur(cs.Center), dur(ps.Center))
				none, ok1 := r.baseline(1, "none", "1", "ns/op")
				mu, ok2 := r.baseline(1, "mutex", "1", "ns/op")
				if ok1 && ok2 {
					cost += fmt.Sprintf("; the loop alone %s, with two bare mutex turns %s", dur(none), dur(mu))
				}
				cost += ")"
			}
			detail += " Above 0.5 at " + strings.Join(over, ", ") + ". Where it is above, what a Get and its " +
				"return cost connpool" + cost + " is mostly two turns of its mutex, one clock read per Get " +
				"(a clock that a goroutine of the pool refreshed instead froze whenever that goroutine was " +
				"blocked) and a 32-byte handle per checkout (what makes a late Close harmless); the " +
				"benchmark's own loop, counting and timing adds the same to both pools. With many " +
				"more goroutines than connections the gap widens, as long as no convoy forms (see the " +
				"time series)."
		}
	}
	r.target(name+": ns/op at most 0.5× puddle's at every one", state, detail)
	if len(allocs) == 0 {
		detail := "connpool's allocs/op, as go test counts them (whole allocations per op), is 0 in every run of these rows."
		if maxBytes > 0 {
			detail += fmt.Sprintf(" Its B/op, at most %s, is the handles: every checkout lends its socket through a "+
				"PoolConn never used before, and they are allocated many at a time.", num(maxBytes))
		}
		r.target(name+": 0 allocs/op", met, detail)
	} else {
		detail := "connpool's allocations per op: " + strings.Join(allocs, "; ") + "."
		if maxBytes > 0 {
			detail += fmt.Sprintf(" They are the handles (B/op at most %s): every checkout lends its socket "+
				"through a PoolConn never used before, which is what makes a late Close harmless, and the "+
				"handles are allocated several at a time, so go test's allocs/op, rounded down to whole "+
				"allocations, shows 0.", num(maxBytes))
		}
		r.target(name+": 0 allocs/op", missed, detail)
	}
	if len(unfair) == 0 {
		r.target(name+": fairness at least 0.8", met, "Every row's fewest ÷ most operations of a goroutine is 0.8 or more.")
	} else {
		r.target(name+": fairness at least 0.8", missed, "connpool's fairness: "+strings.Join(unfair, "; ")+
			". In these rows few Gets or none wait for a connection, so which goroutine runs is the scheduler's "+
			"choice: at GOMAXPROCS 1 a goroutine keeps the CPU for its time slice unless the pool makes it "+
			"wait, and over a 3s run with many goroutines some get fewer slices than others. A goroutine "+
			"preempted while it holds the pool's mutex makes the others that run meanwhile park on it, and "+
			"each of them, woken, runs out the rest of the time slice of the goroutine that woke it instead "+
			"of a slice of its own; the channel pools' idle lists are guarded by the runtime's own locks, "+
			"under which no goroutine is preempted. The figures in brackets are the same loop with no pool "+
			"at all and with one bare sync.Mutex (BenchmarkGetPutBaseline); where the first is below 0.8 "+
			"too, no pool could meet the target in that row, and where the second is, no pool with a "+
			"mutex could.")
	}
	r.target(name+": waits/op and the p99 of the wait reported", met, "connpool: "+strings.Join(waits, "; ")+
		". The tables of section 1 have them for every pool.")

	// Nothing grows with goroutines or connections.
	var growth []string
	grew, seen := false, false
	for _, p := range r.d.procs {
		for _, size := range []string{"8", "512"} {
			lo := r.d.Get(benchGetPut, p, "Pool=connpool", "PerCPU=32", "Conns="+size)
			hi := r.d.Get(benchGetPut, p, "Pool=connpool", "PerCPU=512", "Conns="+size)
			if rt, why := ratioOf(hi, lo, "ns/op"); why == "" {
				seen = true
				grew = grew || rt.r > maxGrowth
				growth = append(growth, fmt.Sprintf("512 ÷ 32 goroutines per CPU, pool of %s, GOMAXPROCS %d: %s%s", size, p, rt, overGrowth(rt)))
			}
		}
		small := r.d.Get(benchGetPut, p, "Pool=connpool", "PerCPU=1", "Conns=8")
		big := r.d.Get(benchGetPut, p, "Pool=connpool", "PerCPU=1", "Conns=512")
		if rt, why := ratioOf(big, small, "ns/op"); why == "" {
			seen = true
			grew = grew || rt.r > maxGrowth
			growth = append(growth, fmt.Sprintf("pool of 512 ÷ pool of 8, 1 goroutine per CPU, GOMAXPROCS %d: %s%s", p, rt, overGrowth(rt)))
		}
	}
	allocFree := true
	lo, hi := math.Inf(1), 0.0
	for _, e := range r.d.entries {
		if e.bench == benchGetPut && e.keys["Pool"] == "connpool" {
			if a, ok := allocsPerOp(e); ok {
				lo, hi = min(lo, a), max(hi, a)
			}
		}
	}
	if hi > 0 {
		allocFree = false
		growth = append(growth, fmt.Sprintf("allocations per op %s to %s in connpool's rows (the handles, as above)", num(lo), num(hi)))
	}
	switch {
	case !seen:
		r.target("Pool of 8 and 512 with up to 1024 goroutines: nothing grows", notMeasured, "No such rows in this run.")
	case grew || !allocFree:
		r.target("Pool of 8 and 512 with up to 1024 goroutines: nothing grows", missed, strings.Join(growth, "; ")+
			". On a pool of 8, once the line of waiting Gets stays longer than connpool's 50µs handoff "+
			"threshold (with hundreds of goroutines per connection and no I/O), returned connections go to "+
			"the waiters first come, first served and every Get pays a park and a wake-up, as every one of "+
			"puddle's does: the price of no Get waiting much past its turn. The time series shows where. "+
			"On a pool of 512 at GOMAXPROCS 2 the cost grows from 8 goroutines on, where no Get waits for a "+
			"connection yet (waits/op 0 up to 256 goroutines): what grows is the wait for the pool's mutex, "+
			"which with no I/O is taken several million times a second. "+
			"sync.Mutex does not spin while other goroutines are runnable, so with more goroutines than "+
			"processors a Get that finds it taken parks; puddle, whose Acquire and Release also take a "+
			"mutex, grows the same way, while fatih/pool, buraksezer/connpool and the naive pool, whose idle "+
			"lists are channels, stay flat there.")
	default:
		r.target("Pool of 8 and 512 with up to 1024 goroutines: nothing grows", met, strings.Join(growth, "; ")+
			"; 0 allocs/op in every row.")
	}
}

// overGrowth marks a growth ratio above maxGrowth.
func overGrowth(rt ratio) string {
	if rt.r > maxGrowth {
		return fmt.Sprintf(" (above %.2f)", maxGrowth)
	}
	return ""
}

func (r *report) probe() {
	rows := r.getPutRows(benchProbe, "8", "Probe=default")
	r.printf("## 2. Stale-connection probe\n\n")
	r.printf("`BenchmarkGetPutProbe`: connpool's Get+return on a hot pool of 8 with its probe at the default " +
		"`ProbeAfter` and with `ProbeAfter: -1` (off).\n\n")
	if len(rows) == 0 {
		r.printf("Not in this run.\n\n")
		r.target("Get+return with stale detection on, hot pool: within 10% of detection off", notMeasured, "Not in this run.")
		return
	}
	for i := range rows {
		rows[i].kv = rows[i].kv[:2] // PerCPU and Conns; the columns pick Probe
	}
	pick := func(probe string) func(row) *entry {
		return func(rw row) *entry {
			return r.d.Get(benchProbe, rw.procs, append(rw.kv, "Probe="+probe)...)
		}
	}
	on, off := pick("default"), pick("off")
	var details []string
	state := met
	r.table([]string{"GOMAXPROCS", "goroutines"}, rows, []column{
		{"probe at default, ns/op", func(rw row) string { return statCell(on(rw), "ns/op", num) }},
		{"probe off, ns/op", func(rw row) string { return statCell(off(rw), "ns/op", num) }},
		{"on ÷ off", func(rw row) string {
			rt, why := ratioOf(on(rw), off(rw), "ns/op")
			if why != "" {
				state = missed
				return why
			}
			if rt.r > probeMaxRatio {
				state = missed
			}
			details = append(details, fmt.Sprintf("%s goroutines at GOMAXPROCS %d: %s", rw.labels[1], rw.procs, rt))
			return rt.String()
		}},
	})
	detail := "On ÷ off: " + strings.Join(details, "; ") + "."
	if state == missed {
		detail += " On a hot pool no connection has been idle for ProbeAfter, so with the probe on or off " +
			"Get runs the same instructions (a comparison of the idle time, and no system call); a ratio " +
			"above 1.10 here is the machine's drift between the runs, as its interval shows."
	}
	r.target("Get+return with stale detection on (default ProbeAfter), hot pool: within 10% of detection off",
		state, detail)
}

func (r *report) observer() {
	r.printf("## 3. Observer\n\n")
	rows := r.getPutRows(benchObserver, "8", "Observer=counting")
	if len(rows) == 0 {
		r.printf("`BenchmarkGetPutObserver` compares Get+return with and without an observer that counts every " +
			"event. The root package this run was built with has no `Observe` yet, so the rows with an observer " +
			"were skipped.\n\n")
		r.target("Get+return with and without an observer attached", notMeasured,
			"The root package this run was built with has no Observe; the benchmark is wired behind bench/impl_connpool_test.go's observeConnpool and runs once it has.")
		return
	}
	for i := range rows {
		rows[i].kv = rows[i].kv[:2]
	}
	with := func(rw row) *entry { return r.d.Get(benchObserver, rw.procs, append(rw.kv, "Observer=counting")...) }
	without := func(rw row) *entry { return r.d.Get(benchObserver, rw.procs, append(rw.kv, "Observer=none")...) }
	var details []string
	r.table([]string{"GOMAXPROCS", "goroutines"}, rows, []column{
		{"no observer, ns/op", func(rw row) string { return statCell(without(rw), "ns/op", num) }},
		{"counting observer, ns/op", func(rw row) string { return statCell(with(rw), "ns/op", num) }},
		{"with ÷ without", func(rw row) string {
			rt, why := ratioOf(with(rw), without(rw), "ns/op")
			if why != "" {
				return why
			}
			details = append(details, fmt.Sprintf("GOMAXPROCS %d: %s", rw.procs, rt))
			return rt.String()
		}},
	})
	r.target("Get+return with and without an observer attached", met, "Measured; with ÷ without: "+strings.Join(details, "; ")+".")
}

// procRows are one row per GOMAXPROCS, picking kv.
func (r *report) procRows(bench string, kv ...string) []row {
	var rows []row
	for _, p := range r.d.procs {
		for _, e := range r.d.entries {
			if e.bench == bench && e.procs == p {
				rows = append(rows, row{[]string{strconv.Itoa(p)}, p, kv})
				break
			}
		}
	}
	return rows
}

func (r *report) roundTrip() {
	r.printf("## 4. Request and response\n\n")
	r.printf("`BenchmarkRoundTrip`: 64 clients, a pool of 8, an echo server in the server process; a request " +
		"checks a connection out, writes 32 bytes, reads the echo and gives the connection back.\n\n")
	rows := r.procRows(benchRound)
	if len(rows) == 0 {
		r.printf("Not in this run.\n\n")
		r.target("Round-trip throughput at least puddle's", notMeasured, "Not in this run.")
		return
	}
	heads := []string{"GOMAXPROCS"}
	var cols []column
	for _, pool := range checkoutPools {
		cols = append(cols, r.statCol(labels[pool], benchRound, pool, "req/s", kilo))
	}
	r.printf("Requests per second:\n\n")
	r.table(heads, rows, cols)
	cols = nil
	for _, pool := range checkoutPools[1:] {
		cols = append(cols, r.ratioCol("connpool ÷ "+labels[pool], benchRound, "connpool", pool, "req/s"))
	}
	r.printf("connpool's throughput ÷ each:\n\n")
	r.table(heads, rows, cols)
	cols = nil
	for _, pool := range checkoutPools {
		cols = append(cols, column{labels[pool], func(rw row) string {
			e := r.d.Get(benchRound, rw.procs, "Pool="+pool)
			if e == nil || len(e.values["p50-ns"]) == 0 {
				if e != nil {
					return orDash(e.status)
				}
				return "–"
			}
			med := func(unit string) float64 { s, _ := e.stat(unit); return s.Center }
			peak, _ := e.max("peak-conns")
			return fmt.Sprintf("%s / %s / %s / %s / %s", dur(med("p50-ns")), dur(med("p99-ns")), dur(med("p999-ns")),
				num(med("fairness")), num(peak))
		}})
	}
	r.printf("Latency p50 / p99 / p99.9, fairness (fewest requests of a client ÷ most), and the most connections " +
		"open at once (more than 8: the pool dialled past its cap):\n\n")
	r.table(heads, rows, cols)

	state := met
	var details []string
	for _, rw := range rows {
		rt, why := r.ratio(benchRound, rw.procs, nil, "connpool", "puddle", "req/s")
		if why != "" {
			state = missed
			details = append(details, fmt.Sprintf("GOMAXPROCS %d: %s", rw.procs, why))
			continue
		}
		d := fmt.Sprintf("GOMAXPROCS %d: %s", rw.procs, rt)
		if rt.r < 1 {
			state = missed
			if !rt.sig {
				d += " (below, but not significantly)"
			}
		}
		details = append(details, d)
	}
	r.target("Round-trip throughput at least puddle's", state, "connpool ÷ puddle, req/s: "+strings.Join(details, "; ")+".")
}

func (r *report) heap() {
	r.printf("## 5. Heap per lent connection\n\n")
	var rows []row
	for _, n := range r.d.Values(benchHeap, "Conns") {
		for _, kind := range r.d.Values(benchHeap, "Conn") {
			for _, p := range r.d.procs {
				if r.d.Get(benchHeap, p, "Conns="+n, "Conn="+kind) != nil {
					rows = append(rows, row{[]string{n, kind}, p, []string{"Conns=" + n, "Conn=" + kind}})
				}
			}
		}
	}
	if len(rows) == 0 {
		r.printf("Not in this run.\n\n")
		r.target("Heap bytes per lent connection at most 1.25× puddle's", notMeasured, "Not in this run.")
		return
	}
	r.printf("`BenchmarkHeap`: live heap bytes per connection of a pool that has lent each of its connections " +
		"once, beyond the connections themselves (see the method).\n\n")
	heads := []string{"connections", "sockets"}
	var cols []column
	for _, pool := range checkoutPools {
		cols = append(cols, r.statCol(labels[pool], benchHeap, pool, "heap-B/conn", num))
	}
	r.table(heads, rows, cols)
	cols = nil
	for _, pool := range checkoutPools[1:] {
		cols = append(cols, r.ratioCol("connpool ÷ "+labels[pool], benchHeap, "connpool", pool, "heap-B/conn"))
	}
	r.table(heads, rows, cols)
	state := met
	var details []string
	for _, rw := range rows {
		rt, why := r.ratio(benchHeap, rw.procs, rw.kv, "connpool", "puddle", "heap-B/conn")
		if why != "" {
			state = missed
			details = append(details, why)
			continue
		}
		if rt.r > heapMaxRatio {
			state = missed
		}
		label := fmt.Sprintf("%s connections", rw.labels[0])
		if rw.labels[1] != "tcp" {
			label += " (" + rw.labels[1] + " connections)"
		}
		details = append(details, fmt.Sprintf("%s: %s", label, rt))
	}
	r.target("Heap bytes per lent connection (10,000 connections, each lent once) at most 1.25× puddle's", state,
		"connpool ÷ puddle: "+strings.Join(details, "; ")+".")
}

func (r *report) stream() {
	r.printf("## 6. Stream writes\n\n")
	r.printf("`BenchmarkStreamWrite`: 8 goroutines write 100-byte messages over 4 connections to a server in the " +
		"server process that reads and discards: through a TCPPool (defaults: round-robin, idle probe), through a raw " +
		"fan-out (an atomic counter over 4 sockets, no lock of its own, no reconnection: the floor), and through the " +
		"naive round-robin (a mutex over the index, a read-write mutex per connection, as go-tcp-pool).\n\n")
	rows := r.procRows(benchStream)
	if len(rows) == 0 {
		r.printf("Not in this run.\n\n")
		r.target("Stream writes within 1.2× of the raw fan-out", notMeasured, "Not in this run.")
		return
	}
	var cols []column
	for _, pool := range streamPools {
		cols = append(cols, r.statCol(labels[pool]+" ns/op", benchStream, pool, "ns/op", num))
	}
	cols = append(cols,
		r.ratioCol("TCPPool ÷ fan-out", benchStream, "tcppool", "fanout", "ns/op"),
		r.ratioCol("TCPPool ÷ naive round-robin", benchStream, "tcppool", "naiverr", "ns/op"),
		r.statCol("TCPPool allocs/op", benchStream, "tcppool", "allocs/op", num))
	r.table([]string{"GOMAXPROCS"}, rows, cols)
	state := met
	var details []string
	for _, rw := range rows {
		rt, why := r.ratio(benchStream, rw.procs, nil, "tcppool", "fanout", "ns/op")
		if why != "" {
			state = missed
			continue
		}
		if rt.r > streamMaxRatio {
			state = missed
		}
		details = append(details, fmt.Sprintf("GOMAXPROCS %d: %s", rw.procs, rt))
	}
	r.target("Stream writes within 1.2× of the raw fan-out", state, "TCPPool ÷ fan-out, ns/op: "+strings.Join(details, "; ")+".")
}

// keyRows are one row per value of key and GOMAXPROCS.
func (r *report) keyRows(bench, key string) []row {
	var rows []row
	for _, v := range r.d.Values(bench, key) {
		for _, p := range r.d.procs {
			if r.d.Get(bench, p, key+"="+v) != nil {
				rows = append(rows, row{[]string{v, strconv.Itoa(p)}, p, []string{key + "=" + v}})
			}
		}
	}
	return rows
}

func (r *report) recovery() {
	r.printf("## 7. Recovery after a server restart\n\n")
	r.printf("`BenchmarkRecovery`: the server (in-process, a listener on 127.0.0.1) closes its listener and every " +
		"connection, stays down 50ms, and listens again on the same port; 8 clients share a pool of 8. Each " +
		"iteration is one restart. **recover** is the time from the server's return to the first successful " +
		"request (for the write-only TCPPool, to the first message the restarted server receives); **failed** " +
		"counts requests made after the return that failed. Under *idle* load the pool sits idle through the " +
		"outage and the clients start at the return; under *steady* load they run throughout, one request per " +
		"millisecond each. Every pool runs with its defaults.\n\n")
	rows := r.keyRows(benchRecovery, "Load")
	if len(rows) == 0 {
		r.printf("Not in this run.\n\n")
		r.target("Recovery within one backoff step of the server's return", notMeasured, "Not in this run.")
		return
	}
	var cols []column
	for _, pool := range recoveryPools {
		cols = append(cols, r.statCol(labels[pool], benchRecovery, pool, "recover-ns", dur))
	}
	r.printf("Recover:\n\n")
	r.table([]string{"load", "GOMAXPROCS"}, rows, cols)
	cols = nil
	for _, pool := range recoveryPools {
		cols = append(cols, r.statCol(labels[pool], benchRecovery, pool, "failed-reqs", num))
	}
	r.printf("Failed requests per restart:\n\n")
	r.table([]string{"load", "GOMAXPROCS"}, rows, cols)

	state := met
	var details []string
	for _, pool := range []string{"connpool", "tcppool"} {
		worst, step, at := 0.0, 0.0, ""
		for _, rw := range rows {
			e := r.d.Get(benchRecovery, rw.procs, append(rw.kv, "Pool="+pool)...)
			s, ok := e.stat("recover-ns")
			if !ok {
				state = missed
				details = append(details, fmt.Sprintf("%s under %s load at GOMAXPROCS %d: %s", labels[pool], rw.labels[0], rw.procs, statCell(e, "recover-ns", dur)))
				continue
			}
			st, _ := e.stat("backoff-ns")
			if s.Center > worst {
				worst, step, at = s.Center, st.Center, fmt.Sprintf("%s load at GOMAXPROCS %d", rw.labels[0], rw.procs)
			}
			if s.Center > st.Center {
				state = missed
			}
		}
		if at != "" {
			details = append(details, fmt.Sprintf("%s's slowest median is %s (%s) against its first backoff step of %s", labels[pool], dur(worst), at, dur(step)))
		}
	}
	r.target("Recovery within one backoff step of the server's return", state, strings.Join(details, "; ")+
		" (one step read strictly: each pool's first).")
}

func (r *report) loss() {
	r.printf("## 8. Loss when the server closes connections\n\n")
	r.printf("`BenchmarkLoss`: 8 goroutines write 100-byte messages over 4 connections for 100ms while the " +
		"in-process server closes one connection every 5ms, gracefully (FIN, then 2ms more of reading). **lost** " +
		"counts messages whose Write returned success but which the server never received whole, per 100ms run; " +
		"**sent** counts Writes that returned success. *paced*: each goroutine writes one message every 4ms; " +
		"*max*: as fast as it can.\n\n")
	rows := r.keyRows(benchLoss, "Rate")
	if len(rows) == 0 {
		r.printf("Not in this run.\n\n")
		r.target("Zero loss in the graceful-close scenario at a paced rate", notMeasured, "Not in this run.")
		return
	}
	var cols []column
	for _, pool := range lossPools {
		cols = append(cols, column{labels[pool] + " lost / sent", func(rw row) string {
			e := r.d.Get(benchLoss, rw.procs, append(rw.kv, "Pool="+pool)...)
			return statCell(e, "lost-msgs", num) + " / " + statCell(e, "sent-msgs", num)
		}})
	}
	r.table([]string{"rate", "GOMAXPROCS"}, rows, cols)
	r.printf("At the max rate no TCP client can promise zero loss without acknowledgements from the server: a " +
		"Write returns once the local kernel has the bytes, and what the server had not read when it closed is " +
		"lost whatever the client does.\n\n")
	state, seen := met, false
	var details []string
	for _, rw := range rows {
		if rw.labels[0] != "paced" {
			continue
		}
		e := r.d.Get(benchLoss, rw.procs, append(rw.kv, "Pool=tcppool")...)
		worst, ok := e.max("lost-msgs")
		if !ok {
			state = missed
			continue
		}
		seen = true
		if worst > 0 {
			state = missed
		}
		s, _ := e.stat("lost-msgs")
		details = append(details, fmt.Sprintf("GOMAXPROCS %d: median %s, worst run %s", rw.procs, num(s.Center), num(worst)))
	}
	if !seen {
		r.target("Zero loss in the graceful-close scenario at a paced rate", notMeasured, "The paced rate is not in this run.")
		return
	}
	r.target("Zero loss in the graceful-close scenario at a paced rate", state, "TCPPool's lost messages per run: "+strings.Join(details, "; ")+".")
}

// readme checks that the README quotes the Get+return rows of this run,
// and gives the sentence it should quote if it does not.
func (r *report) readme() {
	lo, hi := math.Inf(1), math.Inf(-1)
	n := 0
	for _, p := range r.d.procs {
		for _, per := range []string{"1", "4", "32"} {
			rt, why := r.ratio(benchGetPut, p, []string{"PerCPU=" + per, "Conns=8"}, "connpool", "puddle", "ns/op")
			if why != "" {
				continue
			}
			n++
			lo, hi = math.Min(lo, rt.r), math.Max(hi, rt.r)
		}
	}
	name := "README: the cost of Get and return quoted from this file, with its conditions"
	if n == 0 {
		r.target(name, notMeasured, "No Get+return rows beside puddle in this run.")
		return
	}
	quote := fmt.Sprintf("On real loopback sockets, Get and return cost %s to %s times puddle's Acquire and Release "+
		"(a pool of 8; 1, 4 and 32 goroutines per CPU; GOMAXPROCS %s; see BENCHMARKS.md, section 1)",
		ratioNum(lo), ratioNum(hi), joinInts(r.d.procs))
	switch {
	case r.info.Readme == "":
		r.target(name, notMeasured, fmt.Sprintf("No README was given to check; from this run it should say: %q.", quote))
	case strings.Contains(flatten(r.info.Readme), flatten(quote)):
		r.target(name, met, fmt.Sprintf("The README says, from this run: %q.", quote))
	default:
		r.target(name, missed, fmt.Sprintf("The README does not say what this run gives: %q.", quote))
	}
}

// flatten returns s in lower case with every run of white space made one
// space, so that a sentence matches however a text wraps it.
func flatten(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}
