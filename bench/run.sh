#!/usr/bin/env bash
# Runs every benchmark scenario of issue 5 side by side, in one go test run,
# into bench/results.txt, then writes BENCHMARKS.md and bench/benchmarks.png
# from that output. Run it on a quiet machine; it takes about 7 minutes.
#
#   bench/run.sh                       # the full run: -count 5, -benchtime 1s
#   COUNT=1 BENCHTIME=100ms bench/run.sh   # a quick check of the pipeline
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

count=${COUNT:-5}
benchtime=${BENCHTIME:-1s}
cmd=(go -C bench test -run '^$'
	-bench '^Benchmark(GetPutScaling|RoundTrip|StreamWrite|Recovery|Loss)$'
	-cpu 1,2 -count "$count" -benchtime "$benchtime" -timeout 30m .)

# quote prints its argument as the shell would need it typed.
quote() {
	case $1 in
	*[!A-Za-z0-9_./,:=+-]*) printf "'%s'" "$1" ;;
	*) printf '%s' "$1" ;;
	esac
}
shown=""
for arg in "${cmd[@]}"; do
	shown+="$(quote "$arg") "
done
shown+="> bench/results.txt"
echo "$shown" >&2
"${cmd[@]}" | tee bench/results.txt

# The report quotes how it was made, from the repository's root.
env=""
[[ $count != 5 ]] && env+="COUNT=$count "
[[ $benchtime != 1s ]] && env+="BENCHTIME=$benchtime "
how="${env}bench/run.sh   # which runs:
$shown
go -C bench run ./cmd/benchreport -md BENCHMARKS.md -png bench/benchmarks.png bench/results.txt"

go -C bench run ./cmd/benchreport \
	-md "$root/BENCHMARKS.md" -png "$root/bench/benchmarks.png" \
	-cmd "$how" "$root/bench/results.txt"
echo "wrote BENCHMARKS.md and bench/benchmarks.png" >&2
