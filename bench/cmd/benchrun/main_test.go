package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestCompleteRowHung(t *testing.T) {
	out := "goos: linux\nBenchmarkA-2   \t 10 \t 5 ns/op\nBenchmarkB/Pool=x-2         \t"
	got, rows := completeRow([]byte(out), statusHung)
	want := "goos: linux\nBenchmarkA-2   \t 10 \t 5 ns/op\nBenchmarkB/Pool=x-2\t1\t1 hung\n"
	if string(got) != want || rows != "BenchmarkB/Pool=x-2" {
		t.Errorf("completeRow = %q, %q; want %q", got, rows, want)
	}
}

func TestCompleteRowFailed(t *testing.T) {
	out := "BenchmarkB-2  \t--- FAIL: BenchmarkB-2\n    x_test.go:1: boom\nBenchmarkC-2 \t 3 \t 1 ns/op\n"
	got, rows := completeRow([]byte(out), statusFailed)
	if !strings.HasPrefix(string(got), "BenchmarkB-2\t1\t1 failed\n--- FAIL: BenchmarkB-2\n") || rows != "BenchmarkB-2" {
		t.Errorf("completeRow = %q, %q", got, rows)
	}
	if !strings.Contains(string(got), "BenchmarkC-2 \t 3 \t 1 ns/op\n") {
		t.Errorf("completeRow lost a finished row: %q", got)
	}
}

// Every row is one job, but for the paired rows, which are jobs of one run
// each.
func TestPlanRowsOnce(t *testing.T) {
	for _, quick := range []bool{false, true} {
		seen := map[string]bool{}
		for _, j := range plan(quick) {
			key := j.bench + "@" + string(rune('0'+j.cpu))
			if seen[key] && j.count != 1 {
				t.Errorf("quick=%v: %s at -cpu %d twice", quick, j.bench, j.cpu)
			}
			seen[key] = true
		}
	}
}

// The two settings of a paired row run as often as each other, and each
// goes first as often as the other: neither takes the drift of the run.
func TestPlanPairsTakeTurns(t *testing.T) {
	for _, quick := range []bool{false, true} {
		for _, prefix := range []string{"^BenchmarkGetPutProbe$/", "^BenchmarkGetPutObserver$/"} {
			for _, cpu := range procs {
				var order []string
				for _, j := range plan(quick) {
					if j.cpu == cpu && strings.HasPrefix(j.bench, prefix) {
						order = append(order, j.bench)
					}
				}
				if len(order) < 4 || len(order)%2 != 0 {
					t.Fatalf("quick=%v: %s at -cpu %d: %d jobs, want an even number of at least 4", quick, prefix, cpu, len(order))
				}
				first := map[string]int{}
				for i := 0; i < len(order); i += 2 {
					if order[i] == order[i+1] {
						t.Errorf("quick=%v: %s at -cpu %d: one setting twice in a pair: %v", quick, prefix, cpu, order)
					}
					first[order[i]]++
				}
				if len(first) != 2 || first[order[0]] != first[order[1]] {
					t.Errorf("quick=%v: %s at -cpu %d: goes first %v", quick, prefix, cpu, first)
				}
			}
		}
	}
}
