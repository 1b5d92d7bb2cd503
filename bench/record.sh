#!/usr/bin/env bash
# Records a benchmark capture of real loopback HTTP traffic (bench/loadgen)
# inside a private network namespace, with 1500-byte frames:
#
#   bench/record.sh short [OUT]   ~100 000 short connections (one request
#                                 each, the server closes): ~1.1 M packets,
#                                 ~220 MB, default OUT bench/out/short.pcap.
#                                 The throughput target's capture.
#   bench/record.sh mixed [OUT]   40 000 short connections and 60 keep-alive
#                                 connections x 200 requests with responses
#                                 up to 181 kB: ~1.3 GB, default OUT
#                                 bench/out/mixed.pcap. The memory target's
#                                 capture (1-2 GB, tens of thousands of
#                                 connections).
#   bench/record.sh keepalive [OUT]
#                                 300 keep-alive connections x 1200
#                                 browser-like GETs (a dozen header
#                                 fields) with 100-4600-byte responses, no
#                                 short connections: ~1.3 M packets,
#                                 360 000 transactions, default OUT
#                                 bench/out/keepalive.pcap. The capture of
#                                 issue 3's parsing target (a
#                                 keep-alive-heavy capture: nearly every
#                                 packet carries a header block).
#
# SHORT, KEEPALIVE, REQUESTS (per keep-alive connection), KA_MIN and KA_MAX
# (its response sizes), WORKERS and PAUSE in the environment override the
# mode's numbers. Needs root and tcpdump. tcpdump drops packets when it
# cannot keep up (a loaded machine, too many concurrent workers): the script says how
# many and exits 1 if any were dropped, since a capture with holes measures
# gap handling rather than the usual path. Fewer WORKERS and a longer PAUSE
# between keep-alive requests keep it whole. Captures are not committed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-short}"
case "$mode" in
short) : "${SHORT:=100000}" "${KEEPALIVE:=0}" "${WORKERS:=4}" "${PAUSE:=0s}" ;;
mixed) : "${SHORT:=40000}" "${KEEPALIVE:=60}" "${WORKERS:=2}" "${PAUSE:=2ms}" ;;
keepalive)
  : "${SHORT:=0}" "${KEEPALIVE:=300}" "${REQUESTS:=1200}" "${KA_MIN:=100}" "${KA_MAX:=4600}" \
    "${WORKERS:=2}" "${PAUSE:=0s}"
  browser=-browser
  ;;
*) echo "usage: $0 short|mixed|keepalive [OUT]" >&2; exit 2 ;;
esac
: "${REQUESTS:=200}" "${KA_MIN:=1000}" "${KA_MAX:=181000}" "${browser:=}"
out="${2:-bench/out/$mode.pcap}"
ns=csbench-$$
log=$(mktemp)
mkdir -p "$(dirname "$out")"
cleanup() {
  ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
# A real link's frame size: 1500-byte MTU and no segmentation offloads, so
# the capture sees wire-sized segments rather than 64 kB super-packets.
ip -n "$ns" link set lo mtu 1500
if command -v ethtool >/dev/null; then
  ip netns exec "$ns" ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
fi
go build -o /tmp/connscope-loadgen ./bench/loadgen
# A 1 GiB kernel buffer (-B is in KiB) rides out bursts while tcpdump writes.
ip netns exec "$ns" tcpdump -i lo -s 0 -B 1048576 -w "$out" tcp port 8080 2>"$log" &
tcpdump_pid=$!
sleep 1
ip netns exec "$ns" /tmp/connscope-loadgen -mode server -addr 127.0.0.1:8080 &
sleep 0.5
ip netns exec "$ns" /tmp/connscope-loadgen -mode client -addr 127.0.0.1:8080 \
  -short "$SHORT" -keepalive "$KEEPALIVE" -requests "$REQUESTS" -ka-min "$KA_MIN" -ka-max "$KA_MAX" \
  -workers "$WORKERS" -pause "$PAUSE" ${browser:+"$browser"}
sleep 1
kill -INT "$tcpdump_pid" || true
wait "$tcpdump_pid" || true
tail -3 "$log"
ls -l "$out"
dropped=$(awk '/dropped by kernel/ {print $1}' "$log")
if [ "${dropped:-0}" != 0 ]; then
  echo "tcpdump dropped $dropped packets: try fewer WORKERS or a longer PAUSE" >&2
  exit 1
fi
