package main

import (
	"bytes"
	"strings"
	"testing"
)

// sample is go test -bench output as the bench module prints it, with the
// lines that are not results: logs, a failure, the summary.
const sample = `goos: linux
goarch: amd64
pkg: github.com/seed-a245f091/connpool/bench
cpu: AMD EPYC 7B13
BenchmarkGetPutScaling/Pool=connpool/PerCPU=1         	 9000000	       120.0 ns/op	         0 dials/op	       0 B/op	       0 allocs/op
BenchmarkGetPutScaling/Pool=connpool/PerCPU=1         	 9000000	       100.0 ns/op	         0 dials/op	       0 B/op	       0 allocs/op
BenchmarkGetPutScaling/Pool=connpool/PerCPU=1         	 9000000	       110.0 ns/op	         0 dials/op	       0 B/op	       0 allocs/op
BenchmarkGetPutScaling/Pool=connpool/PerCPU=1-2       	 9000000	        90.0 ns/op	         0 dials/op	       0 B/op	       0 allocs/op
BenchmarkGetPutScaling/Pool=puddle/PerCPU=1           	 5000000	       300 ns/op	         0 dials/op	       0 B/op	       0 allocs/op
BenchmarkGetPutScaling/Pool=puddle/PerCPU=1-2         	 5000000	       200 ns/op	         0 dials/op	       0 B/op	       0 allocs/op
BenchmarkRecovery/Load=idle/Pool=tcppool-2            	      21	  53939788 ns/op	         0.1429 failed-reqs	   2146120 recover-ns
--- BENCH: BenchmarkRecovery/Load=steady/Pool=connpool-2
    recovery_test.go:329: a log line: 12 ns/op
BenchmarkRoundTrip/Pool=connpool/Clients=64/Conns=8-2 	   82068	     14218 ns/op	         0 dials/op	   3948544 p99-ns	         8.000 peak-conns	     70335 req/s	       0 B/op	       0 allocs/op
BenchmarkLoss/Rate=max/Pool=tcppool-2
--- FAIL: BenchmarkLoss/Rate=max/Pool=tcppool-2
BenchmarkStreamWrite/Pool=tcppool/Conns=4/Goroutines=8-16	  640552	      1911 ns/op	  52.33 MB/s	       0 B/op	       0 allocs/op
PASS
ok  	github.com/seed-a245f091/connpool/bench	14.209s
`

func TestParse(t *testing.T) {
	out, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.Config["cpu"], "AMD EPYC 7B13"; got != want {
		t.Errorf("cpu = %q, want %q", got, want)
	}
	if got, want := out.Config["goarch"], "amd64"; got != want {
		t.Errorf("goarch = %q, want %q", got, want)
	}
	if got, want := len(out.Results), 9; got != want {
		t.Fatalf("%d results, want %d: %+v", got, want, out.Results)
	}

	first := out.Results[0]
	if first.Name != "BenchmarkGetPutScaling/Pool=connpool/PerCPU=1" || first.Procs != 1 || first.Iters != 9000000 {
		t.Errorf("first result = %+v, want its name without suffix, procs 1, 9000000 iterations", first)
	}
	if first.Bench() != "BenchmarkGetPutScaling" || first.Key("Pool") != "connpool" || first.Key("PerCPU") != "1" || first.Key("Nope") != "" {
		t.Errorf("Bench, Key of %q = %q, %q, %q, %q", first.Name, first.Bench(), first.Key("Pool"), first.Key("PerCPU"), first.Key("Nope"))
	}
	rt := out.Results[7]
	if rt.Procs != 2 || rt.Key("Clients") != "64" {
		t.Errorf("round trip result = %+v, want procs 2, Clients 64", rt)
	}
	for unit, want := range map[string]float64{"ns/op": 14218, "p99-ns": 3948544, "peak-conns": 8, "req/s": 70335, "allocs/op": 0} {
		if got, ok := rt.Metrics[unit]; !ok || got != want {
			t.Errorf("round trip %s = %v (present %v), want %v", unit, got, ok, want)
		}
	}
	if st := out.Results[8]; st.Procs != 16 || st.Metrics["MB/s"] != 52.33 {
		t.Errorf("stream result = %+v, want procs 16, 52.33 MB/s", st)
	}

	s := out.Summarize()
	if got := s.Procs(); len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 16 {
		t.Errorf("Procs = %v, want [1 2 16]", got)
	}
	st, ok := s.Get("BenchmarkGetPutScaling", 1, "ns/op", "Pool=connpool", "PerCPU=1")
	if !ok || st.Median != 110 || st.Min != 100 || st.Max != 120 || st.Runs != 3 {
		t.Errorf("connpool at 1 = %+v, %v; want median 110 of 3 runs, 100 to 120", st, ok)
	}
	if st, ok := s.Get("BenchmarkGetPutScaling", 2, "ns/op", "Pool=puddle"); !ok || st.Median != 200 {
		t.Errorf("puddle at 2 = %+v, %v; want median 200", st, ok)
	}
	if _, ok := s.Get("BenchmarkGetPutScaling", 2, "ns/op", "Pool=naive"); ok {
		t.Error("found a result for a pool that is not in the output")
	}
	if _, ok := s.Get("BenchmarkRecovery", 2, "lost-msgs", "Pool=tcppool"); ok {
		t.Error("found a metric that is not in the output")
	}
	if got := s.Values("BenchmarkGetPutScaling", "Pool"); len(got) != 2 || got[0] != "connpool" || got[1] != "puddle" {
		t.Errorf("Values(Pool) = %v, want [connpool puddle]", got)
	}
}

func TestParseMedianOfEven(t *testing.T) {
	if got := summarize([]float64{4, 1, 3, 2}); got.Median != 2.5 || got.Min != 1 || got.Max != 4 {
		t.Errorf("summarize = %+v, want median 2.5, 1 to 4", got)
	}
}

func TestParseErrors(t *testing.T) {
	for name, in := range map[string]string{
		"no results": "goos: linux\nPASS\n",
		"bad value":  "BenchmarkX-2 \t 10 \t 1.2.3 ns/op\n",
		"odd fields": "BenchmarkX-2 \t 10 \t 12 ns/op 7\n",
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("%s: Parse succeeded, want an error", name)
		}
	}
}

func TestMarkdownTargets(t *testing.T) {
	out, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	md := Markdown(out.Summarize(), Machine{GoVersion: "go1.26", OS: "linux", Arch: "amd64", CPU: "AMD EPYC 7B13", NumCPU: 2}, "./bench/run.sh", "bench/benchmarks.png")
	for _, want := range []string{
		"./bench/run.sh",
		"| CPU | AMD EPYC 7B13 |",
		"| 1 | 1 | 110 | 300 | – | 0.37 | – | 0 |",
		"- Get+return at most half of puddle's ns/op at every concurrency, with 0 allocs: **met**.",
		"![Benchmarks: every scenario, every pool](bench/benchmarks.png)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestWriteChart(t *testing.T) {
	out, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteChart(&buf, out.Summarize()); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("chart is not a PNG: starts %q", buf.Bytes()[:min(8, buf.Len())])
	}
}
