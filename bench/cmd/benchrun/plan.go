package main

import (
	"fmt"
	"slices"
)

// The shape of the benchmarks, as the bench module spells it: each row of
// a benchmark that may hang runs in a process of its own, so the plan names
// them.
var (
	checkoutPools = []string{"connpool", "puddle", "fatih", "buraksezer", "silenceper", "naive"}
	getPutPerCPU  = []int{1, 4, 32, 128, 512}
	getPutConns   = []int{8, 512}
	procs         = []int{1, 2}
)

// plan returns the processes of a run. The full plan takes about ten
// minutes on two CPUs; the quick one checks every step of the pipeline,
// and every pool, in about a minute.
func plan(quick bool) []job {
	var jobs []job
	add := func(bench, benchtime string, count int, extra ...string) {
		for _, cpu := range procs {
			jobs = append(jobs, job{bench: bench, cpu: cpu, benchtime: benchtime, count: count, extra: extra})
		}
	}
	perCPU, conns := getPutPerCPU, getPutConns
	// Runs of the pool of 8 are 3s, one per row: the report takes their
	// statistics from the 100ms windows, and a state that forms late in
	// a run shows in them. The other rows are six runs each.
	seriesTime, seriesCount, benchtime, count := "3s", 1, "200ms", 6
	rtTime, onceCount, heapConns, pairTime := "500ms", 6, "10000", "500ms"
	if quick {
		perCPU, conns = []int{4, 32}, []int{8, 512}
		seriesTime, benchtime, count = "300ms", "20ms", 2
		rtTime, onceCount, heapConns, pairTime = "50ms", 2, "1000", "20ms"
	}
	// The pools of a row run one after another, first to last in one row
	// and last to first in the next, so that the machine's drift over the
	// run falls on the pools compared alike, not on whichever ran last.
	row := 0
	for _, per := range perCPU {
		for _, n := range conns {
			for _, cpu := range procs {
				pools := checkoutPools
				if row%2 == 1 {
					pools = slices.Clone(pools)
					slices.Reverse(pools)
				}
				row++
				for _, pool := range pools {
					if per > 128 && pool != "connpool" && pool != "puddle" {
						continue
					}
					j := job{bench: fmt.Sprintf("^BenchmarkGetPut$/^Pool=%s$/^PerCPU=%d$/^Conns=%d$", pool, per, n),
						cpu: cpu, benchtime: benchtime, count: count}
					if n == 8 {
						j.benchtime, j.count = seriesTime, seriesCount
					}
					jobs = append(jobs, j)
				}
			}
		}
	}
	// The baselines are read beside the rows of a pool of 8, so they run
	// as those do.
	for _, base := range []string{"none", "mutex"} {
		for _, per := range []int{1, 4, 32} {
			add(fmt.Sprintf("^BenchmarkGetPutBaseline$/^Pool=%s$/^PerCPU=%d$/^Conns=8$", base, per), seriesTime, seriesCount)
		}
	}
	// The probe and observer rows compare connpool with itself, one
	// setting against another, within a few percent: each run of each
	// setting is a process of its own, the two settings taking turns in
	// ABBA order, so that the machine's drift over the run, and whatever
	// the first benchmark of a process pays, fall on both alike.
	for _, pair := range [][2]string{
		{"^BenchmarkGetPutProbe$/^Probe=default/", "^BenchmarkGetPutProbe$/^Probe=off/"},
		{"^BenchmarkGetPutObserver$/^Observer=none/", "^BenchmarkGetPutObserver$/^Observer=counting/"},
	} {
		for i := range count {
			a, b := pair[0], pair[1]
			if i%2 == 1 {
				a, b = b, a
			}
			add(a, pairTime, 1)
			add(b, pairTime, 1)
		}
	}
	// The round trips of the pools take turns too, one run each a round,
	// first to last in one round and last to first in the next: run six
	// times in a row, each pool's runs fell on a different stretch of the
	// machine's drift, enough to move a ratio by half.
	for i := range onceCount {
		pools := checkoutPools
		if i%2 == 1 {
			pools = slices.Clone(pools)
			slices.Reverse(pools)
		}
		for _, pool := range pools {
			add(fmt.Sprintf("^BenchmarkRoundTrip$/^Pool=%s/", pool), rtTime, 1)
		}
	}
	add("^BenchmarkStreamWrite$", rtTime, onceCount)
	for _, pool := range checkoutPools {
		jobs = append(jobs, job{bench: fmt.Sprintf("^BenchmarkHeap$/^Pool=%s/", pool), cpu: 2,
			benchtime: "1x", count: onceCount, extra: []string{"-heapconns=" + heapConns}})
	}
	recoveryTime := "300ms"
	if quick {
		recoveryTime = "1x"
	}
	for _, load := range []string{"idle", "steady"} {
		for _, pool := range append(checkoutPools, "tcppool") {
			add(fmt.Sprintf("^BenchmarkRecovery$/^Load=%s$/^Pool=%s$", load, pool), recoveryTime, onceCount)
		}
	}
	add("^BenchmarkLoss$", recoveryTime, onceCount)
	return jobs
}
