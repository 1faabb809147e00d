#!/usr/bin/env bash
# Runs every benchmark scenario, every pool beside connpool, each row that
# might hang in a test process of its own with a time limit
# (bench/cmd/benchrun), into bench/results.txt and bench/series.txt; then
# writes BENCHMARKS.md, bench/benchmarks.png and bench/timeseries.png from
# them (bench/cmd/benchreport). The full run takes about 12 minutes on a
# machine of 2 CPUs; run it on a quiet one.
#
#   bench/run.sh            # the full run
#   QUICK=1 bench/run.sh    # a short run that checks the whole pipeline (CI),
#                           # into a temporary directory: nothing committed changes
#   REPORT=1 bench/run.sh   # only rewrite the report from the last full run's results
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

quick=${QUICK:-}
out=$root
flags=()
if [[ -n $quick ]]; then
	out=$(mktemp -d)
	mkdir -p "$out/bench"
	flags=(-quick)
fi
bin=$(mktemp -d)/bench.test
trap 'rm -rf "$(dirname "$bin")"; if [[ -n $quick ]]; then rm -rf "$out"; fi' EXIT

if [[ -z ${REPORT:-} ]]; then
	go -C bench test -c -o "$bin" .
	go -C bench run ./cmd/benchrun "${flags[@]}" -test "$bin" \
		-out "$out/bench/results.txt" -series "$out/bench/series.txt"
fi

# The report quotes how it was made, from the repository's root; paths
# after go -C bench are relative to bench/.
how="${quick:+QUICK=1 }bench/run.sh   # which runs:
go -C bench test -c -o bench.test .
go -C bench run ./cmd/benchrun ${flags[*]:+${flags[*]} }-test bench.test -out results.txt -series series.txt
go -C bench run ./cmd/benchreport -series series.txt -gomod go.mod -readme ../README.md -md ../BENCHMARKS.md \\
	-chart benchmarks.png -series-chart timeseries.png results.txt"

go -C bench run ./cmd/benchreport -series "$out/bench/series.txt" -gomod "$root/bench/go.mod" -readme "$root/README.md" \
	-md "$out/BENCHMARKS.md" -chart "$out/bench/benchmarks.png" -series-chart "$out/bench/timeseries.png" \
	-cmd "$how" "$out/bench/results.txt"
if [[ -n $quick ]]; then
	grep -q '^## Targets' "$out/BENCHMARKS.md"
	echo "quick run: the pipeline works (BENCHMARKS.md not replaced)" >&2
else
	echo "wrote BENCHMARKS.md, bench/results.txt, bench/series.txt, bench/benchmarks.png and bench/timeseries.png" >&2
fi
