#!/usr/bin/env bash
# Records a large capture of real loopback HTTP traffic for benchmarks:
# many short connections (the server closes each) and keep-alive
# connections with larger responses, inside a private network namespace.
#
#   sudo bench/record.sh [OUT.pcap] [SHORT_CONNS] [KEEPALIVE_CONNS]
#
# Defaults (60000 short, 300 keep-alive x 200 requests) give roughly 1.5 M
# packets and 1.2 GB in about a minute. Needs root and tcpdump.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench/out/loopback-http.pcap}"
short="${2:-60000}"
ka="${3:-300}"
ns=csbench-$$
mkdir -p "$(dirname "$out")"
cleanup() { ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; }
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
ip netns exec "$ns" tcpdump -i lo -s 0 -B 262144 -w "$out" tcp port 8080 2>/tmp/csbench-tcpdump.log &
sleep 1
ip netns exec "$ns" /tmp/connscope-loadgen -mode server -addr 127.0.0.1:8080 &
sleep 0.5
ip netns exec "$ns" /tmp/connscope-loadgen -mode client -addr 127.0.0.1:8080 -short "$short" -keepalive "$ka"
sleep 1
ip netns exec "$ns" pkill -INT tcpdump || true
sleep 1
cat /tmp/csbench-tcpdump.log | tail -3
ls -l "$out"
