// Command benchreport turns the output of the bench module's benchmarks into
// BENCHMARKS.md and its charts: every scenario, connpool and TCPPool beside
// every peer in the same run, each ratio with its confidence interval and
// significance from golang.org/x/perf/benchmath, and the benchmark targets
// marked met, missed or not measured.
//
// Usage:
//
//	benchreport [-md BENCHMARKS.md] [-chart benchmarks.png] [-series-chart timeseries.png]
//		[-series series.txt] [-gomod go.mod] [-cmd "command"] results.txt
//
// It reads go test -bench output (from bench/cmd/benchrun) from the file
// named, and the Get+return time series from -series. The machine is
// described from the output's goos, goarch and cpu lines, /proc/cpuinfo and
// `go version`, and the versions of the peers from the bench module's
// go.mod: run it on the machine that ran the benchmarks.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

func main() {
	md := flag.String("md", "BENCHMARKS.md", "write the report to this `file`")
	chart := flag.String("chart", "benchmarks.png", "write the overview chart to this `file`; empty for none")
	seriesChart := flag.String("series-chart", "timeseries.png", "write the time series chart to this `file`; empty for none")
	series := flag.String("series", "", "read the Get+return time series from this `file`")
	gomod := flag.String("gomod", "go.mod", "read the versions of the peers from this `go.mod`")
	command := flag.String("cmd", "bench/run.sh", "the `command` that produced the results, quoted in the report")
	readme := flag.String("readme", "", "check the claim of this README `file` against the results; empty for none")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: benchreport [flags] results.txt\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *series, *gomod, *md, *chart, *seriesChart, *command, *readme); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(resultsPath, seriesPath, gomodPath, mdPath, chartPath, seriesChartPath, command, readmePath string) error {
	results, err := os.Open(resultsPath)
	if err != nil {
		return err
	}
	defer results.Close()
	var series io.Reader
	if seriesPath != "" {
		f, err := os.Open(seriesPath)
		if err != nil {
			return err
		}
		defer f.Close()
		series = f
	}
	d, err := Load(results, series)
	if err != nil {
		return err
	}
	info := Info{Machine: machine(d.config), Command: command}
	if readmePath != "" {
		text, err := os.ReadFile(readmePath)
		if err != nil {
			return err
		}
		info.Readme = string(text)
	}
	if info.Versions, err = versions(gomodPath, d.config["connpool-commit"]); err != nil {
		return err
	}
	write := func(path string, draw func(io.Writer, *Data) error) (string, error) {
		if path == "" {
			return "", nil
		}
		var buf bytes.Buffer
		if err := draw(&buf, d); err != nil {
			return "", fmt.Errorf("drawing %s: %w", path, err)
		}
		return relPath(mdPath, path), os.WriteFile(path, buf.Bytes(), 0o644)
	}
	if info.Chart, err = write(chartPath, WriteChart); err != nil {
		return err
	}
	if info.Series, err = write(seriesChartPath, WriteSeriesChart); err != nil {
		return err
	}
	return os.WriteFile(mdPath, []byte(Markdown(d, info)), 0o644)
}

// versions returns the modules the bench module requires directly, from
// its go.mod, and the commit of the connpool checkout it replaces: measured,
// the one benchrun recorded in the results, or else the one checked out
// now.
func versions(path, measured string) ([]Version, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	vs := parseRequires(string(data))
	if measured == "" {
		if out, err := exec.Command("git", "-C", filepath.Dir(path), "log", "-1", "--format=%h %cs").Output(); err == nil {
			measured = strings.TrimSpace(string(out))
		}
	}
	commit := "this checkout"
	if measured != "" {
		commit = "this checkout, commit " + measured
	}
	for i := range vs {
		if vs[i].Path == "github.com/seed-a245f091/connpool" {
			vs[i].Version = commit
		}
	}
	return vs, nil
}

// parseRequires returns the direct requirements of a go.mod file.
func parseRequires(gomod string) []Version {
	var vs []Version
	block := false
	for _, line := range strings.Split(gomod, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "require (":
			block = true
			continue
		case block && line == ")":
			block = false
			continue
		case strings.HasPrefix(line, "require "):
			line = strings.TrimPrefix(line, "require ")
		case !block:
			continue
		}
		if strings.Contains(line, "// indirect") {
			continue
		}
		if f := strings.Fields(line); len(f) >= 2 {
			vs = append(vs, Version{f[0], f[1]})
		}
	}
	return vs
}

// relPath returns the path of target relative to the directory of from, as
// a Markdown link wants it.
func relPath(from, target string) string {
	fromDir, err1 := filepath.Abs(filepath.Dir(from))
	abs, err2 := filepath.Abs(target)
	if err1 != nil || err2 != nil {
		return filepath.ToSlash(target)
	}
	rel, err := filepath.Rel(fromDir, abs)
	if err != nil {
		return filepath.ToSlash(target)
	}
	return filepath.ToSlash(rel)
}

// machine describes this machine, preferring what the benchmark output
// says where it says it.
func machine(config map[string]string) Machine {
	m := Machine{
		GoVersion: config["go-version"],
		OS:        orDefault(config["goos"], runtime.GOOS),
		Arch:      orDefault(config["goarch"], runtime.GOARCH),
		CPU:       orDefault(config["cpu"], cpuModel("/proc/cpuinfo")),
		NumCPU:    runtime.NumCPU(),
	}
	if n, err := strconv.Atoi(config["nproc"]); err == nil && n > 0 {
		m.NumCPU = n
	}
	if m.GoVersion == "" {
		m.GoVersion = runtime.Version()
		if v, err := exec.Command("go", "version").Output(); err == nil {
			m.GoVersion = strings.TrimSpace(string(v))
		}
	}
	if m.CPU == "" {
		m.CPU = "unknown"
	}
	return m
}

// cpuModel returns the first "model name" in the cpuinfo file at path, or ""
// if there is none (as on systems without /proc).
func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
