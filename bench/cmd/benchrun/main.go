// Command benchrun runs the bench module's benchmarks as bench/run.sh asks:
// each row, or a few rows that cannot hang, in a test process of its own
// with a time limit, so that a pool that deadlocks costs its own row and
// nothing else. A row whose process the benchmarks end as hung (exit status
// 3: no progress for 2s), or that outlives its time limit, is written to the
// results as a line with the unit "hung"; one that fails for another reason,
// with the unit "failed". bench/cmd/benchreport shows both.
//
// Usage:
//
//	benchrun -test bench.test -out results.txt -series series.txt [-quick]
//
// It runs the test binary given (built with go test -c from the bench
// module) and writes the benchmark output to -out and the Get+return time
// series to -series, replacing both.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

func main() {
	bin := flag.String("test", "bench.test", "the bench module's test `binary`")
	out := flag.String("out", "results.txt", "write the benchmark output to this `file`")
	seriesOut := flag.String("series", "series.txt", "write the Get+return time series to this `file`")
	quick := flag.Bool("quick", false, "run the short plan that checks the pipeline")
	flag.Parse()
	if err := run(*bin, *out, *seriesOut, *quick); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

// checkout names the commit of the repository the benchmarks were built
// from, its short hash and date, with " +dirty" if Go files or go.mod files
// differ from it; "" outside a git checkout.
func checkout() string {
	out, err := exec.Command("git", "log", "-1", "--format=%h %cs").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "status", "--porcelain", "--", ":/*.go", ":/*go.mod", ":/*go.sum").Output()
	if err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += " +dirty"
	}
	return c
}

func run(bin, outPath, seriesPath string, quick bool) error {
	jobs := plan(quick)
	out, err := os.Create(outPath)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := os.WriteFile(seriesPath, nil, 0o644); err != nil {
		return err
	}
	// Configuration lines, as benchfmt reads them: the report names the
	// commit, Go and CPUs measured, not those of where it is written.
	if _, err := fmt.Fprintf(out, "go-version: %s\nnproc: %d\n", runtime.Version(), runtime.NumCPU()); err != nil {
		return err
	}
	if c := checkout(); c != "" {
		if _, err := fmt.Fprintf(out, "connpool-commit: %s\n", c); err != nil {
			return err
		}
	}
	start := time.Now()
	var hung, failed []string
	for i, j := range jobs {
		t := time.Now()
		res := j.run(bin, seriesPath)
		if _, err := out.Write(res.output); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "[%d/%d %s] %s -cpu %d: %s in %.1fs\n", i+1, len(jobs),
			time.Since(start).Round(time.Second), j.bench, j.cpu, res.status, time.Since(t).Seconds())
		if res.detail != "" {
			fmt.Fprintf(os.Stderr, "    %s\n", strings.ReplaceAll(res.detail, "\n", "\n    "))
		}
		switch res.status {
		case statusHung:
			hung = append(hung, res.row)
		case statusFailed:
			failed = append(failed, res.row)
		}
	}
	fmt.Fprintf(os.Stderr, "benchrun: %d processes in %s; %d hung, %d failed\n",
		len(jobs), time.Since(start).Round(time.Second), len(hung), len(failed))
	for _, r := range hung {
		fmt.Fprintf(os.Stderr, "  hung: %s\n", r)
	}
	for _, r := range failed {
		fmt.Fprintf(os.Stderr, "  failed: %s\n", r)
	}
	return out.Close()
}

// job is one test process: the benchmarks matching bench, at one
// GOMAXPROCS.
type job struct {
	bench     string // -test.bench pattern
	cpu       int
	benchtime string
	count     int
	extra     []string // more flags for the test binary
}

const (
	statusOK     = "ok"
	statusHung   = "hung"
	statusFailed = "failed"
)

// result is what a job's process left.
type result struct {
	output []byte // its standard output, with the hung or failed row completed
	status string
	row    string // the row that hung or failed
	detail string // why, from its standard error
}

// limit is the time a job may take: its runs with room for go test's
// calibration runs and the set-up of each, and a minute for a slow machine.
func (j job) limit() time.Duration {
	per := time.Second
	if d, err := time.ParseDuration(j.benchtime); err == nil {
		per = d
	}
	return time.Duration(j.count)*3*per*4 + time.Minute
}

func (j job) run(bin, seriesPath string) result {
	ctx, cancel := context.WithTimeout(context.Background(), j.limit())
	defer cancel()
	args := []string{
		"-test.run=^$", "-test.bench=" + j.bench,
		fmt.Sprintf("-test.cpu=%d", j.cpu), fmt.Sprintf("-test.count=%d", j.count),
		"-test.benchtime=" + j.benchtime, "-test.timeout=" + (j.limit() + time.Minute).String(),
		"-series=" + seriesPath,
	}
	cmd := exec.CommandContext(ctx, bin, append(args, j.extra...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	res := result{output: stdout.Bytes(), status: statusOK}
	if err == nil {
		return res
	}
	res.status = statusFailed
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		res.status = statusHung
		res.detail = fmt.Sprintf("killed after its time limit of %v", j.limit())
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		res.status = statusHung
		res.detail = strings.TrimSpace(stderr.String())
	default:
		res.detail = strings.TrimSpace(lastLines(stdout.String()+stderr.String(), 12))
	}
	res.output, res.row = completeRow(res.output, res.status)
	if res.row == "" {
		res.row = fmt.Sprintf("%s at -cpu %d (before any row started)", j.bench, j.cpu)
	}
	return res
}

// completeRow finds the rows of a process's output that have a name but no
// figures, and gives each the status as its one measurement, so that the
// row is in the results: "BenchmarkX-2  1  1 hung". go test prints a
// benchmark's name before running it, so the row a process was running when
// it stopped is its last line, a name alone; a row that failed has its name
// followed by "--- FAIL". It returns the rows it completed.
func completeRow(output []byte, status string) ([]byte, string) {
	lines := strings.SplitAfter(string(output), "\n")
	var rows []string
	for i, line := range lines {
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[1] == "---":
			at := strings.Index(line, "---")
			lines[i] = fmt.Sprintf("%s\t1\t1 %s\n%s", f[0], statusFailed, line[at:])
			rows = append(rows, f[0])
		case len(f) == 1 && i == len(lines)-1:
			lines[i] = fmt.Sprintf("%s\t1\t1 %s\n", f[0], status)
			rows = append(rows, f[0])
		}
	}
	return []byte(strings.Join(lines, "")), strings.Join(rows, ", ")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
