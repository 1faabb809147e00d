// Command benchreport turns the output of the bench module's benchmarks into
// BENCHMARKS.md and a chart: ratios of connpool against puddle and the naive
// pools, and of TCPPool against a raw fan-out, all from the same run, with
// the targets marked met or missed.
//
// Usage:
//
//	benchreport [-md BENCHMARKS.md] [-png benchmarks.png] [-cmd "command"] [results.txt]
//
// It reads the go test -bench output from the file named, or from standard
// input if none (or "-") is. The machine is described from the output's
// goos, goarch and cpu lines, /proc/cpuinfo and `go version`; run it on the
// machine that ran the benchmarks.
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
	"strings"
)

func main() {
	md := flag.String("md", "BENCHMARKS.md", "write the report to this `file`")
	png := flag.String("png", "benchmarks.png", "write the chart to this `file`; empty for none")
	command := flag.String("cmd", "go test -bench", "the `command` that produced the results, quoted in the report")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: benchreport [flags] [results.txt]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *md, *png, *command); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(input, mdPath, pngPath, command string) error {
	var in io.Reader = os.Stdin
	if input != "" && input != "-" {
		f, err := os.Open(input)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	out, err := Parse(in)
	if err != nil {
		return err
	}
	s := out.Summarize()

	chart := ""
	if pngPath != "" {
		var buf bytes.Buffer
		if err := WriteChart(&buf, s); err != nil {
			return fmt.Errorf("drawing the chart: %w", err)
		}
		if err := os.WriteFile(pngPath, buf.Bytes(), 0o644); err != nil {
			return err
		}
		chart = relPath(mdPath, pngPath)
	}
	text := Markdown(s, machine(out.Config), command, chart)
	return os.WriteFile(mdPath, []byte(text), 0o644)
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
		GoVersion: runtime.Version(),
		OS:        orDefault(config["goos"], runtime.GOOS),
		Arch:      orDefault(config["goarch"], runtime.GOARCH),
		CPU:       orDefault(cpuModel("/proc/cpuinfo"), config["cpu"]),
		NumCPU:    runtime.NumCPU(),
	}
	if v, err := exec.Command("go", "version").Output(); err == nil {
		m.GoVersion = strings.TrimSpace(string(v))
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
