package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Result is one line of benchmark output: one run of one benchmark.
type Result struct {
	// Name is the full name without its GOMAXPROCS suffix, such as
	// "BenchmarkRoundTrip/Pool=connpool/Clients=64/Conns=8".
	Name string
	// Procs is GOMAXPROCS: the name's -N suffix, or 1 without one (go test
	// leaves it out for 1).
	Procs int
	// Iters is the number of iterations the run made.
	Iters int
	// Metrics holds each value by its unit, such as "ns/op" or "req/s".
	Metrics map[string]float64
}

// Bench returns the name of the top-level benchmark, such as
// "BenchmarkRoundTrip".
func (r Result) Bench() string {
	name, _, _ := strings.Cut(r.Name, "/")
	return name
}

// Key returns the value of the sub-benchmark key k (from a "k=v" part of
// the name), or "" if the name has none.
func (r Result) Key(k string) string {
	for _, part := range strings.Split(r.Name, "/")[1:] {
		if key, v, ok := strings.Cut(part, "="); ok && key == k {
			return v
		}
	}
	return ""
}

// Output is what a go test -bench run printed.
type Output struct {
	// Config holds the "key: value" lines, such as goos, goarch and cpu.
	// A later line overrides an earlier one.
	Config  map[string]string
	Results []Result
}

var configLine = regexp.MustCompile(`^([a-z][a-zA-Z0-9_-]*): (.*)$`)

// Parse reads go test -bench output in the standard benchmark format.
// Lines that are neither benchmark results nor configuration (test logs,
// PASS, ok) are skipped. It returns an error for a benchmark line it cannot
// read, or if it found no result at all.
func Parse(r io.Reader) (*Output, error) {
	out := &Output{Config: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if m := configLine.FindStringSubmatch(text); m != nil {
			out.Config[m[1]] = strings.TrimSpace(m[2])
			continue
		}
		if !strings.HasPrefix(text, "Benchmark") {
			continue
		}
		res, ok, err := parseResult(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if ok {
			out.Results = append(out.Results, res)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out.Results) == 0 {
		return nil, fmt.Errorf("no benchmark results in the input")
	}
	return out, nil
}

// parseResult reads a line that starts with "Benchmark". It reports ok
// false, without an error, for such a line that is not a result: a
// benchmark's name printed alone before its logs, or with a failure.
func parseResult(line string) (res Result, ok bool, err error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return res, false, nil
	}
	iters, err := strconv.Atoi(f[1])
	if err != nil {
		return res, false, nil // "BenchmarkX --- FAIL" and the like
	}
	if len(f)%2 != 0 {
		return res, false, fmt.Errorf("odd number of fields after the name and count: %q", line)
	}
	res = Result{Name: f[0], Procs: 1, Iters: iters, Metrics: map[string]float64{}}
	if i := strings.LastIndexByte(res.Name, '-'); i > 0 {
		if n, err := strconv.Atoi(res.Name[i+1:]); err == nil && n > 0 {
			res.Name, res.Procs = res.Name[:i], n
		}
	}
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return res, false, fmt.Errorf("value %q of %s: %w", f[i], f[i+1], err)
		}
		res.Metrics[f[i+1]] = v
	}
	return res, true, nil
}

// Stat summarizes the values of one metric over the runs of a benchmark.
type Stat struct {
	Median, Min, Max float64
	Runs             int
}

// summarize returns the statistics of vs, which must not be empty.
func summarize(vs []float64) Stat {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Stat{Median: med, Min: s[0], Max: s[n-1], Runs: n}
}

// Summary holds the statistics of every benchmark in an Output, over its
// runs (go test -count).
type Summary struct {
	results []Result // one per name and procs, in first-seen order
	stats   []map[string]Stat
	procs   []int
}

// Summarize groups o's results by name and GOMAXPROCS.
func (o *Output) Summarize() *Summary {
	type key struct {
		name  string
		procs int
	}
	index := map[key]int{}
	var values []map[string][]float64
	s := &Summary{}
	for _, r := range o.Results {
		k := key{r.Name, r.Procs}
		i, ok := index[k]
		if !ok {
			i = len(s.results)
			index[k] = i
			s.results = append(s.results, r)
			values = append(values, map[string][]float64{})
		}
		for unit, v := range r.Metrics {
			values[i][unit] = append(values[i][unit], v)
		}
		if !slices.Contains(s.procs, r.Procs) {
			s.procs = append(s.procs, r.Procs)
		}
	}
	for _, vs := range values {
		m := map[string]Stat{}
		for unit, v := range vs {
			m[unit] = summarize(v)
		}
		s.stats = append(s.stats, m)
	}
	slices.Sort(s.procs)
	return s
}

// Procs returns the GOMAXPROCS values the run used, in increasing order.
func (s *Summary) Procs() []int { return s.procs }

// Get returns the statistics of unit for the benchmark bench run at procs
// whose name has every "k=v" pair of kv (given as "k=v" strings). It
// reports false if there is none.
func (s *Summary) Get(bench string, procs int, unit string, kv ...string) (Stat, bool) {
next:
	for i, r := range s.results {
		if r.Bench() != bench || r.Procs != procs {
			continue
		}
		for _, pair := range kv {
			k, v, _ := strings.Cut(pair, "=")
			if r.Key(k) != v {
				continue next
			}
		}
		st, ok := s.stats[i][unit]
		return st, ok
	}
	return Stat{}, false
}

// Values returns the values of key k among the benchmark bench's names, in
// first-seen order.
func (s *Summary) Values(bench, k string) []string {
	var vs []string
	for _, r := range s.results {
		if v := r.Key(k); r.Bench() == bench && v != "" && !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}
	return vs
}
