#!/usr/bin/env bash
# Measures what one pipeline stage adds to the one before it, the way the
# targets are stated (bench/README.md, "Targets"): both stages alternated in
# one-stage processes, round after round, on one core, and the median and
# quartiles of the per-round ratios reported. On a shared host single runs
# vary by 10-30 %; alternating keeps the neighbours' load about the same for
# both stages of a round, and the quartiles say how far to trust the median.
#
#   bench/ratio.sh CAPTURE [STAGES_BINARY...]
#
# Without a binary it builds the working tree's (go test -c ./bench). With
# several (e.g. the build before a change and after it), every round runs
# each of them in turn, so that they are compared under the same load.
#
#   BENCH_ROUNDS  rounds (default 10)
#   BENCH_BASE    the stage measured against (default reassembly)
#   BENCH_OVER    the stage measured (default httpflow-records; diagnose
#                 over httpflow-records is the rules' target)
#   BENCH_CPU     the core every process is pinned to (default 1)
#
# "in the pass" is the benchmark's own CPU count around its loop
# (packets/cpu-s), without the process's start-up; "whole process" is user +
# system time of the process (/usr/bin/time), as the first rounds counted.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 CAPTURE [STAGES_BINARY...]" >&2; exit 2; }
capture=$1
shift
rounds=${BENCH_ROUNDS:-10}
base=${BENCH_BASE:-reassembly}
over=${BENCH_OVER:-httpflow-records}
cpu=${BENCH_CPU:-1}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ $# -eq 0 ]; then
  go test -c -o "$out/stages.test" ./bench
  set -- "$out/stages.test"
fi

# run BINARY STAGE prints the pass's CPU seconds per packet and the
# process's CPU seconds.
run() {
  /usr/bin/time -f "%U %S" -o "$out/time" taskset -c "$cpu" env GOMAXPROCS=1 CONNSCOPE_BENCH_PCAP="$capture" \
    "$1" -test.run '^$' -test.bench "^BenchmarkPipeline/$2\$" -test.benchtime 1x >"$out/bench" 2>&1 ||
    { cat "$out/bench" >&2; exit 1; }
  local pass
  pass=$(awk '{ for (i = 1; i < NF; i++) if ($(i+1) == "packets/cpu-s") print 1 / $i }' "$out/bench")
  [ -n "$pass" ] || { cat "$out/bench" >&2; echo "$0: no packets/cpu-s from $1 $2" >&2; exit 1; }
  echo "$pass $(awk '{ print $1 + $2 }' "$out/time")"
}

for round in $(seq "$rounds"); do
  for bin in "$@"; do
    # Alternate which stage goes first, so neither is always the one
    # after a pause.
    if [ $((round % 2)) = 0 ]; then
      b=$(run "$bin" "$base"); o=$(run "$bin" "$over")
    else
      o=$(run "$bin" "$over"); b=$(run "$bin" "$base")
    fi
    echo "$bin $b $o" >>"$out/rounds"
  done
done

# For each binary: medians and quartiles of over/base - 1, in the pass and
# for the whole process, and the stages' median CPU seconds.
for bin in "$@"; do
  awk -v bin="$bin" -v base="$base" -v over="$over" '
    function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } }
    function q(a, n, p,   x, i) { x = 1 + (n - 1) * p; i = int(x); return i >= n ? a[n] : a[i] + (x - i) * (a[i+1] - a[i]) }
    $1 == bin { n++; pass[n] = 100 * ($4 / $2 - 1); proc[n] = 100 * ($5 / $3 - 1); bcpu[n] = $3; ocpu[n] = $5 }
    END {
      sort(pass, n); sort(proc, n); sort(bcpu, n); sort(ocpu, n)
      printf "%s: %s adds to %s, %d round%s\n", bin, over, base, n, n == 1 ? "" : "s"
      printf "  in the pass    median %+.1f %%  (quartiles %+.1f / %+.1f)\n", q(pass, n, .5), q(pass, n, .25), q(pass, n, .75)
      printf "  whole process  median %+.1f %%  (quartiles %+.1f / %+.1f); CPU-s %s %.3f, %s %.3f\n", q(proc, n, .5), q(proc, n, .25), q(proc, n, .75), base, q(bcpu, n, .5), over, q(ocpu, n, .5)
    }' "$out/rounds"
done
