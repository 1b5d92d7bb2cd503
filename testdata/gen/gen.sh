#!/usr/bin/env bash
# gen.sh - regenerate connscope's real-kernel test captures (testdata/captures).
#
# Every capture records real Linux TCP stacks talking HTTP/1.x: a client and a
# server (testdata/gen/csgen) run in two network namespaces made here
# (csgen-cli, csgen-srv) and joined either by a veth pair or by two TAP
# devices and the userspace delay relay testdata/gen/tapdelay (netem is not
# available; the relay gives a real RTT and can drop chosen frames). tcpdump
# or dumpcap records on the client's interface unless a scenario says
# otherwise. Traffic only ever flows between 10.77.0.1/fd77::1 (client) and
# 10.77.0.2/fd77::2 (server) inside those namespaces, plus 127.0.0.1 inside the
# server namespace for the proxy scenarios, and 10.77.1.2 (server), through a
# router namespace csgen-rtr, for the fragmentation scenario (topo_routed).
#
# Usage (as root; needs ip, tcpdump, dumpcap, editcap, mergecap, tshark, curl, Go;
# installs ethtool with apt if missing):
#
#   testdata/gen/gen.sh              # every scenario, about 5-6 minutes
#   testdata/gen/gen.sh NAME...      # only these (names: see scenario_* below)
#   testdata/gen/gen.sh -l           # list scenario names
#
# It is idempotent: it first removes anything a previous run left behind
# (namespaces named csgen-*), and on exit, even on failure or Ctrl-C, it kills
# the processes it started and deletes its namespaces and temporary files.
# Captures are written to testdata/captures/ (or $CSGEN_OUT), replacing files of
# the same name.
# Timing-dependent details (exact timestamps, ports, ISNs, how many probes)
# change from run to run; MANIFEST.md describes what each capture must show.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${CSGEN_OUT:-$ROOT/testdata/captures} # CSGEN_OUT: write elsewhere (e.g. to try changes)
WORK=$(mktemp -d /tmp/csgen.XXXXXX)
BIN=$WORK/bin
NSC=csgen-cli
NSS=csgen-srv
NSM=csgen-mon # mirror-port namespace, VLAN captures only
C4=10.77.0.1
S4=10.77.0.2
C6=fd77::1
S6=fd77::2
declare -a PIDS=()   # background processes this run started
IFC=""               # client-side interface of the current topology
IFS_SRV=""           # server-side interface
IFMON=""             # mirror TAP (VLAN captures)
CAP_PID=""
CAP_FILE=""

log() { printf '[gen %s] %s\n' "$(date +%T)" "$*" >&2; }

kill_ours() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	PIDS=()
}

del_namespaces() {
	local ns pid
	for ns in $(ip netns list | awk '{print $1}' | grep '^csgen-' || true); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
}

PREPARED=0 # set once this run may own csgen-* namespaces (not for -l)

cleanup() {
	kill_ours
	[ "$PREPARED" = 0 ] || del_namespaces
	if [ "${KEEP:-0}" = 1 ]; then echo "gen.sh: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need() {
	command -v "$1" >/dev/null || { echo "gen.sh: $1 is required" >&2; exit 1; }
}

prepare() {
	[ "$(id -u)" = 0 ] || { echo "gen.sh: must run as root (network namespaces, tcpdump)" >&2; exit 1; }
	for t in ip tcpdump dumpcap editcap mergecap tshark go; do need "$t"; done
	if ! command -v ethtool >/dev/null; then
		apt-get install -y -qq ethtool >/dev/null || { apt-get update -qq && apt-get install -y -qq ethtool >/dev/null; }
	fi
	PREPARED=1
	del_namespaces
	mkdir -p "$BIN" "$OUT"
	(cd "$ROOT" && go build -o "$BIN/csgen" ./testdata/gen/csgen && go build -o "$BIN/tapdelay" ./testdata/gen/tapdelay && go build -o "$BIN/pcapswap" ./testdata/gen/pcapswap && go build -o "$BIN/encap" ./testdata/gen/encap)
}

# ---- topologies -----------------------------------------------------------

new_namespaces() {
	local ns
	for ns in "$NSC" "$NSS"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=${1:-1} net.ipv6.conf.default.disable_ipv6=${1:-1}
	done
}

no_offloads() { # $1 ns, $2 dev: keep every captured segment MSS-sized
	ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
}

# topo_veth [v4|v6]: client and server joined by a veth pair.
topo_veth() {
	local mode=${1:-v4} dc=csgc0 ds=csgs0
	if [ "$mode" = v6 ]; then new_namespaces 0; else new_namespaces 1; fi
	ip link add "$dc" netns "$NSC" address 02:00:00:77:00:01 type veth peer name "$ds" netns "$NSS" address 02:00:00:77:00:02
	no_offloads "$NSC" "$dc"
	no_offloads "$NSS" "$ds"
	ip -n "$NSC" link set "$dc" up
	ip -n "$NSS" link set "$ds" up
	IFC=$dc
	IFS_SRV=$ds
	if [ "$mode" = v6 ]; then
		ip -n "$NSC" addr add "$C6/64" dev "$dc" nodad
		ip -n "$NSS" addr add "$S6/64" dev "$ds" nodad
	else
		ip -n "$NSC" addr add "$C4/24" dev "$dc"
		ip -n "$NSS" addr add "$S4/24" dev "$ds"
	fi
}

# topo_relay DELAY [DROP...]: client and server on TAP devices joined by the
# tapdelay relay, which delays each frame by DELAY one way and applies the
# drop rules (see testdata/gen/tapdelay).
#
# With MIRROR_TAGS set (e.g. 100, or ad200,100 for QinQ), the relay also
# copies every frame, with those VLAN tags inserted, to a third TAP in a
# namespace csgen-mon that has no addresses: a switch mirror port on a trunk.
# This kernel has no 802.1Q support (CONFIG_VLAN_8021Q is off, and bridge VLAN
# filtering too), so tagged traffic cannot come from a VLAN device; the TCP
# exchange is still the two real stacks, only the tags are added on the way.
# IFMON then names the mirror TAP, in namespace $NSM.
topo_relay() {
	local delay=$1
	shift
	local args=()
	for d in "$@"; do args+=(-drop "$d"); done
	new_namespaces 1
	if [ -n "${MIRROR_TAGS:-}" ]; then
		ip netns add "$NSM"
		ip netns exec "$NSM" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		ip -n "$NSM" tuntap add dev csgtapm mode tap
		no_offloads "$NSM" csgtapm
		ip -n "$NSM" link set csgtapm up
		IFMON=csgtapm
		args+=(-mirror "$NSM/csgtapm" -mirror-tags "$MIRROR_TAGS")
	fi
	ip -n "$NSC" tuntap add dev csgtapc mode tap
	ip -n "$NSS" tuntap add dev csgtaps mode tap
	ip -n "$NSC" link set csgtapc address 02:00:00:77:00:01
	ip -n "$NSS" link set csgtaps address 02:00:00:77:00:02
	no_offloads "$NSC" csgtapc
	no_offloads "$NSS" csgtaps
	ip -n "$NSC" addr add "$C4/24" dev csgtapc
	ip -n "$NSS" addr add "$S4/24" dev csgtaps
	ip -n "$NSC" link set csgtapc up
	ip -n "$NSS" link set csgtaps up
	IFC=csgtapc
	IFS_SRV=csgtaps
	"$BIN/tapdelay" -a "$NSC/csgtapc" -b "$NSS/csgtaps" -delay "$delay" "${args[@]}" >"$WORK/relay.log" 2>&1 &
	PIDS+=($!)
	wait_for "$WORK/relay.log" ready
}

wait_for() { # $1 file, $2 text: wait up to 5 s for text to appear in file
	local i
	for i in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "gen.sh: timed out waiting for '$2' in $1:" >&2
	cat "$1" >&2
	return 1
}

# ---- capture, server, client ---------------------------------------------

# cap_start FILE [ns] [iface] [tcpdump args...]: start recording. A name ending
# in .pcapng is recorded with dumpcap (tcpdump 4.99 writes pcap only).
cap_start() {
	CAP_FILE=$1
	local ns=${2:-$NSC} dev=${3:-$IFC}
	shift $(( $# < 3 ? $# : 3 ))
	: >"$WORK/cap.log"
	if [[ $CAP_FILE == *.pcapng ]]; then
		ip netns exec "$ns" dumpcap -i "$dev" -s 0 -B 8 -w "$WORK/$CAP_FILE" "$@" >"$WORK/cap.log" 2>&1 &
		CAP_PID=$!
		wait_for "$WORK/cap.log" "Capturing on"
	else
		ip netns exec "$ns" tcpdump -i "$dev" -s 0 -B 8192 -U --immediate-mode -w "$WORK/$CAP_FILE" "$@" >"$WORK/cap.log" 2>&1 &
		CAP_PID=$!
		wait_for "$WORK/cap.log" "listening on"
	fi
	sleep 0.2
}

cap_stop() {
	sleep 0.3 # let the last ACKs and FINs arrive
	kill -INT "$CAP_PID" 2>/dev/null || true
	wait "$CAP_PID" 2>/dev/null || true
	CAP_PID=""
	# A recording that lost packets would teach the tests a gap that never
	# happened: fail, so the scenario is rerun (gen.sh NAME).
	local dropped
	dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p; s/.*dropped on interface.*: [0-9]*\/\([0-9]*\) .*/\1/p' "$WORK/cap.log" | awk '{s += $1} END {print s + 0}')
	if [ "$dropped" != 0 ]; then
		echo "gen.sh: the capture of $CAP_FILE dropped $dropped packets; rerun this scenario" >&2
		cat "$WORK/cap.log" >&2
		return 1
	fi
}

srv_start() { # srv_start PORT [csgen server flags...]: server on S4 (or S6 with SRV6=1)
	local port=$1
	shift
	local addr="$S4:$port"
	[ "${SRV6:-0}" = 1 ] && addr="[$S6]:$port"
	ip netns exec "$NSS" "$BIN/csgen" server "$@" "$addr" >>"$WORK/server.log" 2>&1 &
	PIDS+=($!)
	local i
	for i in $(seq 100); do
		ip netns exec "$NSS" ss -Hltn "sport = :$port" | grep -q . && return 0
		sleep 0.05
	done
	echo "gen.sh: server did not listen on $port" >&2
	cat "$WORK/server.log" >&2
	return 1
}

client() { # client SCENARIO [ADDR]
	ip netns exec "$NSC" "$BIN/csgen" client "$1" "${2:-$S4:80}" 2>>"$WORK/client.log"
}

# finish: stop recording, tear the topology down, move the capture into place.
finish() {
	local name=$CAP_FILE
	cap_stop
	kill_ours
	del_namespaces
	mv "$WORK/$name" "$OUT/$name"
	chmod 644 "$OUT/$name"
	log "$name: $(stat -c %s "$OUT/$name") bytes"
}

# ---- scenarios ------------------------------------------------------------
# Each scenario_NAME records one or more files. MANIFEST.md explains them.

scenario_keepalive_reuse() {
	topo_veth
	srv_start 80
	cap_start keepalive-reuse.pcap
	client keepalive-reuse
	finish
}

scenario_conn_per_request() {
	topo_veth
	srv_start 80
	cap_start conn-per-request.pcap
	client conn-per-request
	finish
}

scenario_tuple_reuse_fin() {
	topo_veth
	srv_start 80
	cap_start tuple-reuse-fin.pcap
	client tuple-reuse-fin
	finish
}

scenario_tuple_reuse_rst() {
	topo_veth
	srv_start 80
	cap_start tuple-reuse-rst.pcap
	client tuple-reuse-rst
	finish
}

scenario_rst_teardown() {
	topo_veth
	srv_start 80
	cap_start rst-teardown.pcap
	client rst-teardown
	finish
}

scenario_loss_retransmit() {
	# Recorded on the server's TAP, before the relay drops anything, so the
	# lost originals and their retransmissions are both in the file.
	topo_relay 10ms b2a:data:5 b2a:has=X-Drop:1 a2b:has=/loss/3:1
	srv_start 80
	cap_start loss-retransmit.pcap "$NSS" "$IFS_SRV"
	client loss-retransmit
	finish
}

scenario_zero_window() {
	topo_veth
	srv_start 80
	cap_start zero-window.pcap
	client zero-window
	finish
}

scenario_ipv6() {
	topo_veth v6
	SRV6=1 srv_start 80
	cap_start ipv6.pcap
	client keepalive-reuse "[$S6]:80"
	finish
}

scenario_vlan() {
	MIRROR_TAGS=100 topo_relay 0ms # recorded on the mirror port: 802.1Q tag 100
	srv_start 80
	cap_start vlan.pcap "$NSM" "$IFMON"
	client basic
	finish
}

scenario_qinq() {
	MIRROR_TAGS=ad200,100 topo_relay 0ms # outer 802.1ad tag 200, inner 802.1Q tag 100
	srv_start 80
	cap_start qinq.pcap "$NSM" "$IFMON"
	client basic
	finish
}

scenario_sll2_any() {
	topo_veth
	srv_start 80
	cap_start sll2-any.pcap "$NSC" any # tcpdump 4.99 -i any: LINKTYPE_LINUX_SLL2
	client basic
	finish
}

scenario_pcapng() {
	topo_veth
	srv_start 80
	cap_start basic.pcapng
	client basic
	finish
}

scenario_ns_resolution() {
	topo_veth
	srv_start 80
	cap_start ns-resolution.pcap "$NSC" "$IFC" --time-stamp-precision=nano
	client basic
	finish
}

scenario_multi_linktype() {
	# Two interfaces with different link types in one pcapng: an Ethernet
	# recording of one exchange and an SLL2 recording of another, merged
	# with mergecap (which keeps one interface block per link type).
	topo_veth
	srv_start 80
	cap_start part-eth.pcap
	client basic
	finish
	topo_veth
	srv_start 80
	cap_start part-sll2.pcap "$NSC" any
	client keepalive-reuse
	finish
	mergecap -F pcapng -w "$OUT/multi-linktype.pcapng" "$OUT/part-eth.pcap" "$OUT/part-sll2.pcap"
	rm -f "$OUT/part-eth.pcap" "$OUT/part-sll2.pcap"
	chmod 644 "$OUT/multi-linktype.pcapng"
}

scenario_gzip() {
	# Compressed copies: gzip -n so the bytes do not depend on file times.
	[ -f "$OUT/basic.pcapng" ] || scenario_pcapng
	[ -f "$OUT/ns-resolution.pcap" ] || scenario_ns_resolution
	gzip -9nc "$OUT/basic.pcapng" >"$OUT/basic.pcapng.gz"
	gzip -9nc "$OUT/ns-resolution.pcap" >"$OUT/ns-resolution.pcap.gz"
	chmod 644 "$OUT/basic.pcapng.gz" "$OUT/ns-resolution.pcap.gz"
}


# simple NAME [csgen server flags...]: veth, origin server on port 80, the
# client scenario NAME recorded as NAME.pcap on the client's interface.
simple() {
	local name=$1
	shift
	topo_veth
	srv_start 80 "$@"
	cap_start "$name.pcap"
	client "$name"
	finish
}

# ---- HTTP scenarios (issue 3) ----

scenario_pipeline_get() { simple pipeline-get; }
scenario_pipeline_post() { simple pipeline-post; }
scenario_expect_100_continue() { simple expect-100-continue; }
scenario_chunked_trailers() { simple chunked-trailers; }
scenario_head_content_length() { simple head-content-length; }
scenario_not_modified_304() { simple not-modified-304; }
scenario_http10_close_delimited() { simple http10-close-delimited; }
scenario_truncated_fin() { simple truncated-fin; }
scenario_truncated_rst() { simple truncated-rst; }
scenario_chunked_no_last_chunk() { simple chunked-no-last-chunk; }
scenario_upgrade_101() { simple upgrade-101; }

scenario_gap_mid_response() {
	# Recorded whole, then the single frame carrying "csgen body line 000100"
	# (inside the 12000-byte body of /gap/2) is deleted with editcap: a
	# capture gap (the packet was on the wire, acknowledged, but not recorded).
	simple gap-mid-response
	local f=$OUT/gap-mid-response.pcap frame
	frame=$(tshark -r "$f" -Y 'frame contains "csgen body line 000100"' -T fields -e frame.number 2>/dev/null | head -1)
	[ -n "$frame" ] || { echo "gen.sh: gap frame not found" >&2; return 1; }
	editcap -F pcap "$f" "$WORK/gap.pcap" "$frame"
	mv "$WORK/gap.pcap" "$f"
	chmod 644 "$f"
	log "gap-mid-response.pcap: deleted original frame $frame"
	echo "$frame" >"$WORK/gap-frame"
}

scenario_connect_tunnel() {
	topo_veth
	srv_start 3128 -kind connectproxy
	cap_start connect-tunnel.pcap
	client connect-tunnel "$S4:3128"
	finish
}

# run_as FILE CLIENT [csgen server flags...]: like simple, but the capture
# FILE.pcap records client scenario CLIENT (used when two files share one
# client and differ in the server's socket options).
run_as() {
	local file=$1 name=$2
	shift 2
	topo_veth
	srv_start 80 "$@"
	cap_start "$file.pcap"
	client "$name"
	finish
}

# relayed FILE CLIENT DELAY [DROP...]: over the delay relay, origin server
# with SRVFLAGS, recorded on the client's TAP.
relayed() {
	local file=$1 name=$2
	shift 2
	topo_relay "$@"
	[ -z "${SYSCTL_SRV:-}" ] || ip netns exec "$NSS" sysctl -qw "$SYSCTL_SRV"
	# shellcheck disable=SC2086
	srv_start 80 ${SRVFLAGS:-}
	cap_start "$file.pcap"
	client "$name"
	finish
}

# ---- diagnose scenarios (issue 4): the problem, and its look-alike ----

scenario_handshake_short_conns() { relayed handshake-short-conns handshake-short-conns 25ms; }
scenario_syn_retransmit() { relayed syn-retransmit syn-retransmit 25ms a2b:syn:1; }
scenario_handshake_reused_conn() { relayed handshake-reused-conn handshake-reused-conn 25ms; }
scenario_delayed_ack_wait() { run_as delayed-ack-wait delayed-ack-wait -nagle; }
scenario_delayed_ack_nodelay() { run_as delayed-ack-nodelay delayed-ack-wait; }
scenario_delayed_ack_harmless() { simple delayed-ack-harmless; }

# cwnd_clamped FILE [CLIENT ROUTE OPTIONS...]: relay 5 ms, the server's route
# clamps its congestion window to one segment (initcwnd 1, cwnd locked at 1),
# so every response segment waits for the client's ACK of the one before; the
# client's route takes the given options (quickack 1: no delayed ACKs).
cwnd_clamped() {
	local file=$1
	shift
	topo_relay 5ms
	ip -n "$NSS" route replace 10.77.0.0/24 dev "$IFS_SRV" src "$S4" initcwnd 1 cwnd lock 1
	[ $# = 0 ] || ip -n "$NSC" route replace 10.77.0.0/24 dev "$IFC" src "$C4" "$@"
	srv_start 80
	# The cwnd lock applies through the kernel's TCP metrics cache, whose
	# entry for the client appears when a first connection closes: warm it
	# up unrecorded.
	client basic >/dev/null
	sleep 0.1
	cap_start "$file.pcap"
	client delayed-ack-cwnd
	finish
}
scenario_delayed_ack_cwnd() { cwnd_clamped delayed-ack-cwnd; }
scenario_delayed_ack_cwnd_quickack() { cwnd_clamped delayed-ack-cwnd-quickack quickack 1; }
scenario_slow_start_fresh() { relayed slow-start-fresh slow-start-fresh 30ms; }
scenario_slow_start_warm() { relayed slow-start-warm slow-start-warm 30ms; }
scenario_slow_start_restart_idle() { relayed slow-start-restart-idle slow-start-idle 30ms; }
scenario_slow_start_no_restart_idle() {
	SYSCTL_SRV=net.ipv4.tcp_slow_start_after_idle=0 relayed slow-start-no-restart-idle slow-start-idle 30ms
}
scenario_nagle_stall_client() { simple nagle-stall-client; }
scenario_nagle_nodelay_client() { simple nagle-nodelay-client; }
scenario_churn_no_keepalive() { simple churn-no-keepalive; }
scenario_time_wait_reuse() {
	# Only four ephemeral ports, so sixteen short connections reuse 4-tuples
	# that the server (which closes first) still holds in TIME_WAIT.
	topo_veth
	ip netns exec "$NSC" sysctl -qw net.ipv4.ip_local_port_range="40000 40003"
	srv_start 80
	cap_start time-wait-reuse.pcap
	client time-wait-reuse
	finish
}
scenario_hop_proxy_connection() { simple hop-proxy-connection; }
scenario_hop_keepalive_without_connection() { simple hop-keepalive-without-connection; }
scenario_hop_connection_keepalive_http11() { simple hop-connection-keepalive-http11; }
scenario_hop_connection_e2e() { simple hop-connection-e2e; }
scenario_dumb_proxy_hang() {
	topo_veth
	srv_start 3128 -kind dumbproxy -idle 1500ms
	cap_start dumb-proxy-hang.pcap
	client dumb-proxy-hang "$S4:3128"
	finish
}
scenario_slow_response_reused() { simple slow-response-reused; }
scenario_serial_idle_gaps() { simple serial-idle-gaps; }
scenario_pipeline_hol_blocking() { simple pipeline-hol-blocking; }
scenario_parallel_12() { simple parallel-12; }
scenario_parallel_6() { simple parallel-6; }
scenario_pipeline_http10() { simple pipeline-http10; }
scenario_pipeline_unanswered_close() { simple pipeline-unanswered-close; }
scenario_rst_unread_pipelined() { simple rst-unread-pipelined; }
scenario_body_exceeds_content_length() { simple body-exceeds-content-length; }
scenario_rst_unread_body() { simple rst-unread-body; }
scenario_post_resent_new_conn() { simple post-resent-new-conn; }
scenario_get_retried_new_conn() { simple get-retried-new-conn; }
scenario_keepalive_race() { SRVFLAGS="-idle 500ms" relayed keepalive-race keepalive-race 30ms; }
scenario_keepalive_idle_close_clean() { SRVFLAGS="-idle 500ms" relayed keepalive-idle-close-clean keepalive-idle-close-clean 30ms; }
scenario_rto_delayed_transaction() { relayed rto-delayed-transaction rto-delayed-transaction 20ms b2a:has=X-Drop:1 a2b:has=/rto/3:1; }
scenario_http10_keepalive_ok() { simple http10-keepalive-ok; }
scenario_healthy_page_load() { simple healthy-page-load; }

# ---- IP fragmentation ----

# topo_routed MTU: the client and the server on two subnets, joined by a
# router namespace (csgen-rtr) that forwards between them. The client's link
# has an MTU of MTU at both ends, the server's 1500. The client's route to the
# server advertises MSS 1460 (advmss), so the server sends full-size segments;
# the server has PMTU discovery off (net.ipv4.ip_no_pmtu_disc=1: Don't
# Fragment clear), so the router fragments them onto the client's link, as a
# router in front of a tunnel or VPN with a smaller MTU does. The server is
# 10.77.1.2 (SRV4_ROUTED); the client keeps 10.77.0.1.
NSR=csgen-rtr
SRV4_ROUTED=10.77.1.2
topo_routed() {
	local mtu=$1 pair
	new_namespaces 1
	ip netns add "$NSR"
	ip -n "$NSR" link set lo up
	ip netns exec "$NSR" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 net.ipv4.ip_forward=1
	ip link add csgc0 netns "$NSC" address 02:00:00:77:00:01 type veth peer name csgrc netns "$NSR" address 02:00:00:77:00:fe
	ip link add csgs0 netns "$NSS" address 02:00:00:77:00:02 type veth peer name csgrs netns "$NSR" address 02:00:00:77:00:fd
	for pair in "$NSC csgc0" "$NSR csgrc" "$NSR csgrs" "$NSS csgs0"; do
		# shellcheck disable=SC2086
		no_offloads $pair
	done
	ip -n "$NSC" link set csgc0 mtu "$mtu" up
	ip -n "$NSR" link set csgrc mtu "$mtu" up
	ip -n "$NSR" link set csgrs up
	ip -n "$NSS" link set csgs0 up
	ip -n "$NSC" addr add "$C4/24" dev csgc0
	ip -n "$NSR" addr add 10.77.0.254/24 dev csgrc
	ip -n "$NSR" addr add 10.77.1.254/24 dev csgrs
	ip -n "$NSS" addr add "$SRV4_ROUTED/24" dev csgs0
	ip -n "$NSC" route add 10.77.1.0/24 via 10.77.0.254 advmss 1460
	ip -n "$NSS" route add 10.77.0.0/24 via 10.77.1.254
	ip netns exec "$NSS" sysctl -qw net.ipv4.ip_no_pmtu_disc=1
	IFC=csgc0
	IFS_SRV=csgs0
}

scenario_fragmented_http() {
	# Two GETs on one keep-alive connection (curl), the responses (3000
	# and 20000 bytes) in 1500-byte datagrams that the router cuts into
	# fragments of at most 576 bytes; recorded on the client's interface,
	# so every response segment is in the file only as fragments.
	topo_routed 576
	S4=$SRV4_ROUTED srv_start 80
	cap_start fragmented-http.pcap
	ip netns exec "$NSC" curl -sS --http1.1 -o /dev/null -o /dev/null \
		"http://$SRV4_ROUTED/frag?size=3000" "http://$SRV4_ROUTED/frag?size=20000" 2>>"$WORK/client.log"
	finish
}

scenario_bigendian() {
	# Big-endian copies (tcpdump writes host order, little-endian here):
	# every header field byte-swapped by testdata/gen/pcapswap, packets as
	# recorded.
	[ -f "$OUT/keepalive-reuse.pcap" ] || scenario_keepalive_reuse
	[ -f "$OUT/ns-resolution.pcap" ] || scenario_ns_resolution
	"$BIN/pcapswap" "$OUT/keepalive-reuse.pcap" "$OUT/keepalive-reuse-be.pcap"
	"$BIN/pcapswap" "$OUT/ns-resolution.pcap" "$OUT/ns-resolution-be.pcap"
}

# topo_vxlan [PORT]: client and server joined by a veth pair, the underlay
# (10.77.9.1 and 10.77.9.2, MACs 02:00:00:77:09:01/02), and over it a Linux
# VXLAN device each (VNI 42, UDP port PORT, MTU 1450 by default) holding
# the usual addresses and MACs. Recorded on the client's underlay
# interface, every frame the two stacks exchange is inside VXLAN. PORT
# defaults to 4789; "default" gives no dstport, so the kernel picks its own
# default, 8472 (the pre-IANA port that flannel's VXLAN backend also uses).
topo_vxlan() {
	local port=${1:-4789} dstport=()
	[ "$port" = default ] || dstport=(dstport "$port")
	new_namespaces 1
	ip link add csgc0 netns "$NSC" address 02:00:00:77:09:01 type veth peer name csgs0 netns "$NSS" address 02:00:00:77:09:02
	ip -n "$NSC" addr add 10.77.9.1/24 dev csgc0
	ip -n "$NSS" addr add 10.77.9.2/24 dev csgs0
	ip -n "$NSC" link add csgvx0 address 02:00:00:77:00:01 type vxlan id 42 local 10.77.9.1 remote 10.77.9.2 "${dstport[@]}" dev csgc0
	ip -n "$NSS" link add csgvx0 address 02:00:00:77:00:02 type vxlan id 42 local 10.77.9.2 remote 10.77.9.1 "${dstport[@]}" dev csgs0
	local pair
	for pair in "$NSC csgc0" "$NSS csgs0" "$NSC csgvx0" "$NSS csgvx0"; do
		# shellcheck disable=SC2086
		no_offloads $pair
		# shellcheck disable=SC2086
		ip -n ${pair% *} link set ${pair#* } up
	done
	ip -n "$NSC" addr add "$C4/24" dev csgvx0
	ip -n "$NSS" addr add "$S4/24" dev csgvx0
	IFC=csgc0
	IFS_SRV=csgs0
}

scenario_vxlan_kernel() {
	# Five GETs on one keep-alive connection (the keepalive-reuse client)
	# between two real stacks whose only link is Linux's VXLAN; the
	# recording is of the underlay, so connscope must follow the tunnel.
	topo_vxlan
	srv_start 80
	cap_start vxlan-kernel.pcap
	client keepalive-reuse
	finish
}

scenario_vxlan_8472() {
	# The same conversation as vxlan-kernel, over Linux VXLAN devices made
	# without dstport: the kernel's default port, 8472, as on a Kubernetes
	# node running flannel. tshark 4.0 reads it as VXLAN only when told
	# (-d udp.port==8472,vxlan); connscope follows it.
	topo_vxlan default
	srv_start 80
	cap_start vxlan-8472.pcap
	client keepalive-reuse
	finish
}

scenario_encapsulations() {
	# Real conversations in encapsulations this machine cannot send (no
	# MPLS or PPPoE in its kernel; Linux puts no IP in LLC/SNAP): the IP
	# frames of earlier captures rewritten by testdata/gen/encap, IP
	# packets and times as recorded. chunked-trailers has no IP packet over
	# the 1492 bytes 802.3 with LLC/SNAP leaves. Also a modified pcap
	# (magic a1b2cd34, 24-byte record headers) written by editcap.
	[ -f "$OUT/chunked-trailers.pcap" ] || scenario_chunked_trailers
	[ -f "$OUT/keepalive-reuse.pcap" ] || scenario_keepalive_reuse
	[ -f "$OUT/ipv6.pcap" ] || scenario_ipv6
	[ -f "$OUT/conn-per-request.pcap" ] || scenario_conn_per_request
	"$BIN/encap" llc-snap "$OUT/chunked-trailers.pcap" "$OUT/llc-snap.pcap"
	"$BIN/encap" mpls "$OUT/keepalive-reuse.pcap" "$OUT/mpls.pcap"
	"$BIN/encap" pppoe "$OUT/ipv6.pcap" "$OUT/pppoe-ipv6.pcap"
	editcap -F modpcap "$OUT/keepalive-reuse.pcap" "$OUT/keepalive-reuse-modified.pcap"
	# Tunnels (the kernel here has VXLAN but no GRE or IPIP modules):
	# the same captures in GRE, IP in IP, 6in4 and VXLAN, and a switch's
	# ERSPAN mirror of conn-per-request.
	"$BIN/encap" gre "$OUT/keepalive-reuse.pcap" "$OUT/gre.pcap"
	"$BIN/encap" ipip "$OUT/chunked-trailers.pcap" "$OUT/ipip.pcap"
	"$BIN/encap" ipip "$OUT/ipv6.pcap" "$OUT/6in4.pcap"
	"$BIN/encap" vxlan "$OUT/keepalive-reuse.pcap" "$OUT/vxlan.pcap"
	"$BIN/encap" erspan "$OUT/conn-per-request.pcap" "$OUT/erspan.pcap"
}

FOUNDATION="keepalive_reuse conn_per_request tuple_reuse_fin tuple_reuse_rst rst_teardown loss_retransmit zero_window ipv6 vlan qinq sll2_any pcapng ns_resolution multi_linktype gzip bigendian fragmented_http vxlan_kernel vxlan_8472"
HTTP="pipeline_get pipeline_post expect_100_continue chunked_trailers head_content_length not_modified_304 http10_close_delimited truncated_fin truncated_rst chunked_no_last_chunk gap_mid_response upgrade_101 connect_tunnel"
DIAGNOSE="handshake_short_conns syn_retransmit handshake_reused_conn delayed_ack_wait delayed_ack_nodelay delayed_ack_harmless delayed_ack_cwnd delayed_ack_cwnd_quickack slow_start_fresh slow_start_warm slow_start_restart_idle slow_start_no_restart_idle nagle_stall_client nagle_nodelay_client churn_no_keepalive time_wait_reuse hop_proxy_connection hop_keepalive_without_connection hop_connection_keepalive_http11 hop_connection_e2e dumb_proxy_hang slow_response_reused serial_idle_gaps pipeline_hol_blocking parallel_12 parallel_6 pipeline_http10 pipeline_unanswered_close rst_unread_pipelined body_exceeds_content_length rst_unread_body post_resent_new_conn get_retried_new_conn keepalive_race keepalive_idle_close_clean rto_delayed_transaction http10_keepalive_ok healthy_page_load"
# encapsulations rewrites captures of the other lists: it runs after them.
ALL="$FOUNDATION $HTTP $DIAGNOSE encapsulations"

main() {
	if [ "${1:-}" = -l ]; then
		echo "$ALL" | tr ' ' '\n'
		exit 0
	fi
	prepare
	local list=("$@")
	[ ${#list[@]} -gt 0 ] || read -r -a list <<<"$ALL"
	local s
	for s in "${list[@]}"; do
		s=${s//-/_}
		declare -F "scenario_$s" >/dev/null || { echo "gen.sh: unknown scenario $s (gen.sh -l lists them)" >&2; exit 2; }
		log "scenario $s"
		"scenario_$s"
	done
	log "done; logs were in $WORK (removed)"
}

main "$@"
