package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// entry is every run of one benchmark row at one GOMAXPROCS.
type entry struct {
	name  string            // without the GOMAXPROCS suffix
	bench string            // the top-level name, "BenchmarkGetPut"
	keys  map[string]string // the name's k=v parts
	procs int
	// values holds each run's measurement by its unit as go test printed
	// it ("ns/op", not benchfmt's tidied "sec/op").
	values  map[string][]float64
	status  string // "hung" or "failed" if a run of the row did not finish
	windows []window
}

// window is one 100ms window of a Get+return run's time series.
type window struct {
	atMS, nsPerOp, waitsPerOp float64
	hasWaits, stalled         bool
}

// Data is a run's results, read with benchfmt.
type Data struct {
	entries []*entry
	procs   []int
	config  map[string]string // the files' "key: value" lines, such as cpu
}

// Load reads the benchmark output and the time series (nil for none).
// Lines benchfmt cannot read are skipped, as benchstat skips them.
func Load(results, series io.Reader) (*Data, error) {
	d := &Data{config: map[string]string{}}
	index := map[string]*entry{}
	err := scan(results, "results", func(r *benchfmt.Result) {
		e := d.entry(index, r)
		for _, v := range r.Values {
			unit, val := v.Unit, v.Value
			if v.OrigUnit != "" {
				unit, val = v.OrigUnit, v.OrigValue
			}
			switch unit {
			case "hung", "failed":
				e.status = unit
				continue
			}
			e.values[unit] = append(e.values[unit], val)
		}
		for _, c := range r.Config {
			if c.File {
				d.config[c.Key] = string(c.Value)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if len(d.entries) == 0 {
		return nil, errors.New("no benchmark results in the input")
	}
	if series != nil {
		err := scan(series, "series", func(r *benchfmt.Result) {
			e := d.entry(index, r)
			w := window{}
			for _, v := range r.Values {
				unit, val := v.Unit, v.Value
				if v.OrigUnit != "" {
					unit, val = v.OrigUnit, v.OrigValue
				}
				switch unit {
				case "ns/op", "window-ns":
					w.nsPerOp = val
				case "waits/op":
					w.waitsPerOp, w.hasWaits = val, true
				case "at-ms":
					w.atMS = val
				case "stalled":
					w.stalled = true
				}
			}
			e.windows = append(e.windows, w)
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(d.procs)
	return d, nil
}

func scan(in io.Reader, name string, f func(*benchfmt.Result)) error {
	rd := benchfmt.NewReader(in, name)
	for rd.Scan() {
		if r, ok := rd.Result().(*benchfmt.Result); ok {
			f(r)
		}
	}
	return rd.Err()
}

// entry returns the entry of r's row, adding it if it is new.
func (d *Data) entry(index map[string]*entry, r *benchfmt.Result) *entry {
	base, parts := r.Name.Parts()
	e := &entry{bench: "Benchmark" + string(base), keys: map[string]string{}, procs: 1, values: map[string][]float64{}}
	name := e.bench
	for _, p := range parts {
		s := string(p)
		if n, err := strconv.Atoi(strings.TrimPrefix(s, "-")); err == nil && strings.HasPrefix(s, "-") {
			e.procs = n
			continue
		}
		name += s
		if k, v, ok := strings.Cut(strings.TrimPrefix(s, "/"), "="); ok {
			e.keys[k] = v
		}
	}
	e.name = name
	key := fmt.Sprintf("%s@%d", name, e.procs)
	if old, ok := index[key]; ok {
		return old
	}
	index[key] = e
	d.entries = append(d.entries, e)
	if !slices.Contains(d.procs, e.procs) {
		d.procs = append(d.procs, e.procs)
	}
	return e
}

// Get returns the row of bench at procs whose name has every k=v pair of
// kv, or nil.
func (d *Data) Get(bench string, procs int, kv ...string) *entry {
next:
	for _, e := range d.entries {
		if e.bench != bench || e.procs != procs {
			continue
		}
		for _, pair := range kv {
			k, v, _ := strings.Cut(pair, "=")
			if e.keys[k] != v {
				continue next
			}
		}
		return e
	}
	return nil
}

// Values returns the values key k takes among bench's rows, in the order
// first seen.
func (d *Data) Values(bench, k string) []string {
	var vs []string
	for _, e := range d.entries {
		if v, ok := e.keys[k]; ok && e.bench == bench && !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}
	return vs
}

// Hung returns the rows that hung or failed, as "name at GOMAXPROCS n".
func (d *Data) Hung() (hung, failed []string) {
	for _, e := range d.entries {
		row := fmt.Sprintf("%s at GOMAXPROCS %d", strings.TrimPrefix(e.name, "Benchmark"), e.procs)
		switch e.status {
		case "hung":
			hung = append(hung, row)
		case "failed":
			failed = append(failed, row)
		}
	}
	return hung, failed
}

// minWindows is the fewest windows a row needs for its statistics to come
// from them: benchmath's median needs six values for a 95% interval.
const minWindows = 6

// stat is a summary of one metric of a row: benchmath's median and its 95%
// confidence interval, assuming nothing about the distribution.
type stat struct {
	benchmath.Summary
	sample  *benchmath.Sample
	n       int
	windows bool // the values are 100ms windows of one run, not runs
}

// stat summarizes unit over e's runs or, for ns/op and waits/op of a row
// with a time series and fewer than six runs, over its windows.
func (e *entry) stat(unit string) (stat, bool) {
	if e == nil {
		return stat{}, false
	}
	vs, fromWindows := e.values[unit], false
	if (unit == "ns/op" || unit == "waits/op") && len(vs) < minWindows && len(e.windows) >= minWindows {
		vs, fromWindows = nil, true
		for _, w := range e.windows {
			switch {
			case unit == "ns/op":
				vs = append(vs, w.nsPerOp)
			case w.hasWaits && !w.stalled:
				vs = append(vs, w.waitsPerOp)
			}
		}
	}
	if len(vs) == 0 {
		return stat{}, false
	}
	s := benchmath.NewSample(slices.Clone(vs), &benchmath.DefaultThresholds)
	return stat{benchmath.AssumeNothing.Summary(s, 0.95), s, len(vs), fromWindows}, true
}

// max returns the largest value of unit over e's runs.
func (e *entry) max(unit string) (float64, bool) {
	if e == nil || len(e.values[unit]) == 0 {
		return 0, false
	}
	return slices.Max(e.values[unit]), true
}

// ratio compares two rows' medians: a's divided by b's, with the interval
// the two medians' 95% intervals allow (a's low over b's high to a's high
// over b's low), and the p-value of benchmath's Mann-Whitney U test of
// the two samples, as benchstat prints it.
type ratio struct {
	r, lo, hi, p float64
	sig          bool // p below 0.05
}

func compare(a, b stat) (ratio, bool) {
	if b.Center == 0 {
		return ratio{}, false
	}
	c := benchmath.AssumeNothing.Compare(a.sample, b.sample)
	rt := ratio{r: a.Center / b.Center, lo: a.Lo / b.Hi, hi: math.Inf(1), p: c.P, sig: c.P < c.Alpha}
	if b.Lo > 0 {
		rt.hi = a.Hi / b.Lo
	}
	if math.IsInf(a.Lo, 0) || math.IsInf(b.Hi, 0) || math.IsNaN(rt.lo) {
		rt.lo = math.Inf(-1)
	}
	if math.IsInf(a.Hi, 0) {
		rt.hi = math.Inf(1)
	}
	return rt, true
}

// String formats a ratio as "0.43 [0.40, 0.47] p=0.002", or with "~" for a
// difference that is not significant, as benchstat marks it.
func (rt ratio) String() string {
	iv := "[no interval]"
	if !math.IsInf(rt.lo, 0) && !math.IsInf(rt.hi, 0) {
		iv = fmt.Sprintf("[%s, %s]", ratioNum(rt.lo), ratioNum(rt.hi))
	}
	mark := ""
	if !rt.sig {
		mark = " ~"
	}
	return fmt.Sprintf("%s %s p=%.3f%s", ratioNum(rt.r), iv, rt.p, mark)
}

func ratioNum(v float64) string {
	switch a := math.Abs(v); {
	case a >= 10:
		return fmt.Sprintf("%.0f", v)
	case a >= 0.01 || a == 0:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.2g", v)
	}
}
