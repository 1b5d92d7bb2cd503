#!/usr/bin/env bash
# Measures connscope on a benchmark capture (bench/record.sh makes them),
# stage by stage, in CPU time (user + system) and peak RSS, on one core:
#
#   read+decode  capture.Reader and capture.Decoder only
#   +reassembly  the Assembler with a consumer that drops the bytes
#   +httpflow    HTTP/1.x parsing and pairing of every connection
#   +httpflow-handoff  the same handing each transaction on as it settles,
#                keeping none (what the parsing target will be measured on
#                once diagnose takes transactions that way)
#   +diagnose    the rules over every connection, then Finish
#   analysis     analysis.Analyzer: all of the above plus the Report
#   cli json     the connscope binary, --format json to /dev/null
#   cli text     the connscope binary, text report to /dev/null
#
# Each stage runs in its own process (the Go benchmarks in bench/, one at a
# time) so its peak RSS is its own. CPU time, not wall time, is what the
# targets are stated in: the machine is shared, and wall time measures the
# neighbours too. tshark's and tcptrace's conversation summaries of the
# same file are shown for reference with BENCH_REFERENCE=1.
#
#   bench/run.sh [CAPTURE...]
#
# BENCH_STAGES lists the stages to run (default: all but httpflow-floor, e.g.
# BENCH_STAGES="decode reassembly" for the foundation alone, none for
# the CLI alone).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- bench/out/short.pcap bench/out/mixed.pcap
# CONNSCOPE_BIN measures another build of the CLI (e.g. a change being tried).
bin="${CONNSCOPE_BIN:-/tmp/connscope-bench}"
[ -n "${CONNSCOPE_BIN:-}" ] || go build -o "$bin" ./cmd/connscope
go test -c -o /tmp/connscope-stages.test ./bench
cpu="${BENCH_CPU:-0}" # the one core every stage is pinned to

# measure LABEL PACKETS CMD... prints CPU seconds, packets per CPU second
# and peak RSS of CMD, and leaves the CPU seconds in $last_cpu.
measure() {
  local label=$1 packets=$2; shift 2
  /usr/bin/time -f "%U %S %M %e" -o /tmp/csbench-time "$@" >/tmp/csbench-out 2>/tmp/csbench-err || { cat /tmp/csbench-err; return 1; }
  read -r usr sys kb wall < /tmp/csbench-time
  last_cpu=$(echo "$usr + $sys" | bc -l)
  printf '%-18s user %6.2f s  sys %6.2f s  cpu %6.2f s  %9.0f packets/cpu-s  peak RSS %7.1f MB  (wall %6.2f s)\n' \
    "$label" "$usr" "$sys" "$last_cpu" "$(echo "$packets / $last_cpu" | bc -l)" "$(echo "$kb / 1024" | bc -l)" "$wall"
}

for f in "$@"; do
  packets=$(capinfos -c -M "$f" | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}')
  echo "== $f: $packets packets, $(du -h "$f" | cut -f1)"
  declare -A cost=() pass=()
  for st in ${BENCH_STAGES:-decode reassembly httpflow httpflow-records httpflow-nofields httpflow-handoff diagnose analysis}; do
    [ "$st" != none ] || continue # BENCH_STAGES=none: the CLI alone
    measure "$st" "$packets" taskset -c "$cpu" env GOMAXPROCS=1 CONNSCOPE_BENCH_PCAP="$f" \
      /tmp/connscope-stages.test -test.run '^$' -test.bench "^BenchmarkPipeline/$st\$" -test.benchtime 1x
    cost[$st]=$last_cpu
    # The pass alone: the benchmark's own CPU count around its loop, without
    # the process's start-up (runtime and package initialisation, about
    # 0.05 CPU-s here), which the time above includes.
    pass[$st]=$(awk -v p="$packets" '{ for (i = 1; i < NF; i++) if ($(i+1) == "packets/cpu-s") print p / $i }' /tmp/csbench-out)
  done
  if [ "${BENCH_CLI:-1}" = 1 ]; then # BENCH_CLI=0 skips the binary
    measure "cli json" "$packets" taskset -c "$cpu" env GOMAXPROCS=1 "$bin" analyze --format json "$f"
    measure "cli text" "$packets" taskset -c "$cpu" env GOMAXPROCS=1 "$bin" analyze "$f"
  fi
  pct() { echo "100 * ($1 - $2) / $2" | bc -l; }
  # The targets' ratios, on the stages they are defined on: parsing as
  # analysis parses (httpflow-records: the parser plus the records diagnose
  # keeps) over the foundation, and the rules (the diagnose stage parses the
  # same way) over that parsing. One run each: on a shared machine,
  # alternate several (bench/README.md).
  if [ -n "${cost[httpflow-records]:-}" ] && [ -n "${cost[reassembly]:-}" ]; then
    printf 'httpflow-records adds %.0f %% to reassembly in the pass, %.0f %% to the whole process (target <= 30 %%)\n' \
      "$(pct "${pass[httpflow-records]}" "${pass[reassembly]}")" "$(pct "${cost[httpflow-records]}" "${cost[reassembly]}")"
  fi
  if [ -n "${cost[httpflow-nofields]:-}" ] && [ -n "${cost[reassembly]:-}" ]; then
    printf 'httpflow-nofields adds %.0f %% to reassembly in the pass, %.0f %% to the whole process (the parser keeping its own records)\n' \
      "$(pct "${pass[httpflow-nofields]}" "${pass[reassembly]}")" "$(pct "${cost[httpflow-nofields]}" "${cost[reassembly]}")"
  fi
  if [ -n "${cost[httpflow-handoff]:-}" ] && [ -n "${cost[reassembly]:-}" ]; then
    printf 'httpflow-handoff adds %.0f %% to reassembly in the pass, %.0f %% to the whole process (keeping no transaction)\n' \
      "$(pct "${pass[httpflow-handoff]}" "${pass[reassembly]}")" "$(pct "${cost[httpflow-handoff]}" "${cost[reassembly]}")"
  fi
  if [ -n "${cost[httpflow-records]:-}" ] && [ -n "${cost[diagnose]:-}" ]; then
    printf 'diagnose adds %.0f %% to httpflow-records in the pass, %.0f %% to the whole process (target <= 15 %%)\n' \
      "$(pct "${pass[diagnose]}" "${pass[httpflow-records]}")" "$(pct "${cost[diagnose]}" "${cost[httpflow-records]}")"
  fi
  if [ "${BENCH_REFERENCE:-0}" = 1 ]; then
    if command -v tshark >/dev/null; then measure "tshark conv" "$packets" tshark -q -z conv,tcp -r "$f"; fi
    if command -v tcptrace >/dev/null; then measure "tcptrace -n" "$packets" tcptrace -n "$f"; fi
  fi
done
