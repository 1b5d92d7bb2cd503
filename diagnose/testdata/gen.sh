#!/usr/bin/env bash
# gen.sh - record the real-kernel captures in diagnose/testdata/captures:
# behaviour the shared generator (testdata/gen) does not record yet, for
# rules that need a real capture where they must fire (README.md there).
#
#   sudo diagnose/testdata/gen.sh [SCENARIO...]
#
# A client and a server (gen/main.go) run in two network namespaces of
# their own (dgen-cli, dgen-srv), 10.78.0.1 <-> 10.78.0.2, joined by a veth
# pair, or for scenarios that need a round-trip time by two TAP devices and
# the shared generator's delay relay (testdata/gen/tapdelay, 25 ms each way);
# tcpdump records the client's side. Everything is torn down on exit.
# Needs root, ip, tcpdump and Go.
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
# topology veth|relay: fresh namespaces joined by a veth pair, or by TAPs
# and the delay relay; IFC is the client's interface.
topology() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	PIDS=()
	ip netns del $NSC 2>/dev/null || true
	ip netns del $NSS 2>/dev/null || true
	ip netns add $NSC
	ip netns add $NSS
	for ns in $NSC $NSS; do ip -n $ns link set lo up; done
	if [ "$1" = veth ]; then
		IFC=dgen-c IFSRV=dgen-s
		ip link add $IFC netns $NSC type veth peer name $IFSRV netns $NSS
	else
		IFC=dgen-tapc IFSRV=dgen-taps
		ip -n $NSC tuntap add dev $IFC mode tap
		ip -n $NSS tuntap add dev $IFSRV mode tap
		ip -n $NSC link set $IFC address 02:00:00:78:00:01
		ip -n $NSS link set $IFSRV address 02:00:00:78:00:02
	fi
	ip -n $NSC addr add 10.78.0.1/24 dev $IFC
	ip -n $NSS addr add 10.78.0.2/24 dev $IFSRV
	ip -n $NSC link set $IFC up
	ip -n $NSS link set $IFSRV up
	# Wire-sized segments, as on a real link.
	if command -v ethtool >/dev/null; then
		ip netns exec $NSC ethtool -K $IFC tso off gso off gro off >/dev/null 2>&1 || true
		ip netns exec $NSS ethtool -K $IFSRV tso off gso off gro off >/dev/null 2>&1 || true
	fi
	if [ "$1" = relay ]; then
		"$WORK/tapdelay" -a $NSC/$IFC -b $NSS/$IFSRV -delay 25ms >"$WORK/relay.log" 2>&1 &
		PIDS+=($!)
		sleep 1
	fi
}

go build -o "$WORK/gen" ./gen
(cd ../.. && go build -o "$WORK/tapdelay" ./testdata/gen/tapdelay)

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(data-after-close data-after-half-close close-delimited-reset small-initial-window)
mkdir -p captures
for s in "${scenarios[@]}"; do
	case $s in
	small-initial-window)
		topology relay
		ip -n $NSS route change 10.78.0.0/24 dev $IFSRV initcwnd 4
		;;
	*) topology veth ;;
	esac
	ip netns exec $NSS "$WORK/gen" -mode server -scenario "$s" -addr 10.78.0.2:80 &
	srv=$!
	PIDS+=("$srv")
	ip netns exec $NSC tcpdump -i $IFC -s 0 -U -w "captures/$s.pcap" tcp 2>"$WORK/tcpdump.log" &
	cap=$!
	PIDS+=("$cap")
	sleep 2
	ip netns exec $NSC "$WORK/gen" -mode client -scenario "$s" -addr 10.78.0.2:80
	sleep 1.5
	kill -INT "$cap"; wait "$cap" 2>/dev/null || true
	kill "$srv"; wait "$srv" 2>/dev/null || true
	echo "recorded captures/$s.pcap ($(tcpdump -r "captures/$s.pcap" 2>/dev/null | wc -l) packets)"
done
