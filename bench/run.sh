#!/usr/bin/env bash
# Measures connscope on a benchmark capture (bench/record.sh makes one):
# packets per second and peak RSS of the full pipeline, with tshark's and
# tcptrace's conversation summaries on the same file for reference.
#
#   bench/run.sh [CAPTURE]
set -euo pipefail
cd "$(dirname "$0")/.."
f="${1:-bench/out/loopback-http.pcap}"
go build -o /tmp/connscope-bench ./cmd/connscope
packets=$(capinfos -c -M "$f" | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}')
echo "capture: $f, $packets packets, $(du -h "$f" | cut -f1)"
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o /tmp/csbench-time "$@" >/dev/null 2>/tmp/csbench-err || { cat /tmp/csbench-err; return 1; }
  read -r secs kb < /tmp/csbench-time
  printf '%-28s %8.2f s  %10.0f packets/s  peak RSS %6.1f MB\n' "$label" "$secs" "$(echo "$packets / $secs" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
}
# One core, as the targets are stated.
measure "connscope (json, 1 core)" taskset -c 0 env GOMAXPROCS=1 /tmp/connscope-bench analyze --format json "$f"
measure "connscope (text, 1 core)" taskset -c 0 env GOMAXPROCS=1 /tmp/connscope-bench analyze "$f"
if command -v tshark >/dev/null; then measure "tshark -z conv,tcp" tshark -q -z conv,tcp -r "$f"; fi
if command -v tcptrace >/dev/null; then measure "tcptrace -n" tcptrace -n "$f"; fi
