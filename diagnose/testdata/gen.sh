#!/usr/bin/env bash
# gen.sh - record the real-kernel captures in diagnose/testdata/captures:
# behaviour the shared generator (testdata/gen) does not record yet, for
# rules that need a real capture where they must fire (README.md there).
#
#   sudo diagnose/testdata/gen.sh [SCENARIO...]
#
# A client and a server (gen/main.go) run in two network namespaces of
# their own (dgen-cli, dgen-srv) joined by a veth pair, 10.78.0.1 <->
# 10.78.0.2; tcpdump records the client's side. Everything is torn down on
# exit. Needs root, ip, tcpdump and Go.
set -euo pipefail
cd "$(dirname "$0")"
NSC=dgen-cli
NSS=dgen-srv
WORK=$(mktemp -d /tmp/dgen.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del $NSC 2>/dev/null || true
	ip netns del $NSS 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
ip netns del $NSC 2>/dev/null || true
ip netns del $NSS 2>/dev/null || true
ip netns add $NSC
ip netns add $NSS
ip link add dgen-c netns $NSC type veth peer name dgen-s netns $NSS
ip -n $NSC addr add 10.78.0.1/24 dev dgen-c
ip -n $NSS addr add 10.78.0.2/24 dev dgen-s
for ns in $NSC $NSS; do ip -n $ns link set lo up; done
ip -n $NSC link set dgen-c up
ip -n $NSS link set dgen-s up
# Wire-sized segments, as on a real link.
if command -v ethtool >/dev/null; then
	ip netns exec $NSC ethtool -K dgen-c tso off gso off gro off >/dev/null 2>&1 || true
	ip netns exec $NSS ethtool -K dgen-s tso off gso off gro off >/dev/null 2>&1 || true
fi
go build -o "$WORK/gen" ./gen

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(data-after-close data-after-half-close close-delimited-reset)
mkdir -p captures
for s in "${scenarios[@]}"; do
	ip netns exec $NSS "$WORK/gen" -mode server -scenario "$s" -addr 10.78.0.2:80 &
	srv=$!
	PIDS+=("$srv")
	ip netns exec $NSC tcpdump -i dgen-c -s 0 -U -w "captures/$s.pcap" tcp 2>"$WORK/tcpdump.log" &
	cap=$!
	PIDS+=("$cap")
	sleep 2
	ip netns exec $NSC "$WORK/gen" -mode client -scenario "$s" -addr 10.78.0.2:80
	sleep 1.5
	kill -INT "$cap"; wait "$cap" 2>/dev/null || true
	kill "$srv"; wait "$srv" 2>/dev/null || true
	echo "recorded captures/$s.pcap ($(tcpdump -r "captures/$s.pcap" 2>/dev/null | wc -l) packets)"
done
