#!/usr/bin/env bash
# Counts the instructions, cache misses and branch mispredictions of pipeline
# stages under valgrind's cachegrind, on the first packets of a capture: a
# simulated machine, so the counts are the same from run to run whatever the
# neighbours do, where CPU time on a shared host moves by 10-30 %. Use it to
# compare two builds of a stage, or a stage with the one before it (see
# "httpflow, fifth round" in bench/README.md); confirm the result in CPU time
# with alternated runs.
#
#   bench/cachegrind.sh CAPTURE [PACKETS [STAGE...]]
#
# PACKETS (default 150000) are cut from the capture's start with tcpdump;
# STAGE defaults to "reassembly httpflow-records". GOGC is off unless set,
# so that when the collector runs does not move the counts; set GOGC=100 to
# count its work too. Needs valgrind and tcpdump (apt-get install -y valgrind
# tcpdump). The runtime is told not to use RDTSCP, which valgrind 3.19 does
# not emulate. CACHEGRIND_KEEP=PREFIX keeps each stage's counts as
# PREFIX.STAGE, for cg_annotate (per function: cg_annotate --auto=no FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 CAPTURE [PACKETS [STAGE...]]" >&2; exit 2; }
capture=$1
packets=${2:-150000}
shift $(($# >= 2 ? 2 : 1))
[ $# -gt 0 ] || set -- reassembly httpflow-records
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tcpdump -r "$capture" -c "$packets" -w "$out/cut.pcap" 2>/dev/null
go test -c -o "$out/stages.test" ./bench
for stage in "$@"; do
  CONNSCOPE_BENCH_PCAP="$out/cut.pcap" GOMAXPROCS=1 GOGC="${GOGC:-off}" \
    GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off \
    valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes \
    --cachegrind-out-file="$out/cg.$stage" "$out/stages.test" \
    -test.run '^$' -test.bench "^BenchmarkPipeline/$stage\$" -test.benchtime 1x 2>&1 |
    awk -v st="$stage" '
      /txns\/op/ { for (i = 1; i <= NF; i++) if ($(i+1) == "txns/op") txns = $i }
      /I +refs/ { ir = $4 } /I1 +misses/ { i1 = $4 } /D1 +misses/ { d1 = $4 }
      /LL misses/ { ll = $4 } /Mispredicts/ { bm = $3 }
      END { printf "%-18s instructions %s  I1 misses %s  D1 misses %s  LL misses %s  mispredicted branches %s  transactions %s\n", st, ir, i1, d1, ll, bm, (txns ? txns : "-") }'
  [ -z "${CACHEGRIND_KEEP:-}" ] || cp "$out/cg.$stage" "$CACHEGRIND_KEEP.$stage"
done
