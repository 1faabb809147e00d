package main

import (
	"strings"
	"testing"
)

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

func TestPlanRowsOnce(t *testing.T) {
	for _, quick := range []bool{false, true} {
		seen := map[string]bool{}
		for _, j := range plan(quick) {
			key := j.bench + "@" + string(rune('0'+j.cpu))
			if seen[key] {
				t.Errorf("quick=%v: %s at -cpu %d twice", quick, j.bench, j.cpu)
			}
			seen[key] = true
		}
	}
}
