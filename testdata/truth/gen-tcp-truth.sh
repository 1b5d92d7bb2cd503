#!/usr/bin/env bash
# gen-tcp-truth.sh regenerates tshark's view of the TCP connections in every
# capture that reassembly's ground-truth test (reassembly/truth_test.go)
# compares connscope against:
#
#   testdata/**/*.{pcap,pcapng,cap,pcap.gz,pcapng.gz}  -> testdata/truth/tcp/local/<path with / as __>.json
#   ../shared/pcaps/*  (or $CONNSCOPE_SHARED_PCAPS)    -> testdata/truth/tcp/shared/<name>.json
#
# Each JSON file holds tshark's TCP stream count and, per stream (tcp.stream),
# the endpoints (a = source of the stream's first frame), first and last
# frame, packets and payload bytes (sum of tcp.len) per direction, and how
# many frames tshark flags as retransmissions (tcp.analysis.retransmission,
# which includes fast and spurious ones) per direction. The capture's SHA-256
# lets the test tell a stale truth file from a real disagreement.
#
# Needs tshark and python3. Run from anywhere: ./testdata/truth/gen-tcp-truth.sh
# With arguments, only the captures named (paths under testdata/, or names in
# the shared folder) are redone: gen-tcp-truth.sh testdata/captures/vlan.pcap
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/testdata/truth/tcp"
shared="${CONNSCOPE_SHARED_PCAPS:-$root/../shared/pcaps}"
command -v tshark >/dev/null || { echo "gen-tcp-truth: tshark not found" >&2; exit 1; }
command -v python3 >/dev/null || { echo "gen-tcp-truth: python3 not found" >&2; exit 1; }
version="$(tshark --version 2>/dev/null | head -1)"

# UDP to port 8472 is VXLAN, as connscope reads it: Linux's default VXLAN
# port (flannel's and Cilium's), which tshark 4.0 leaves as data. No other
# capture here carries UDP port 8472.
decode_as=(-d udp.port==8472,vxlan)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3

# one FILE OUTPUT SOURCE-NAME: runs tshark over FILE and queues the result
# for the single aggregation pass below.
one() {
	local file="$1" json="$2" name="$3" i
	i="$(printf '%04d' "$n")"
	# Work on a snapshot, so that the hash describes exactly what tshark
	# read even if the capture is rewritten meanwhile.
	cp "$file" "$work/$i.capture"
	# Frames carrying TCP, except ICMP errors that quote a TCP header.
	tshark -n -r "$work/$i.capture" "${decode_as[@]}" -Y 'tcp && !icmp && !icmpv6' -T fields -E occurrence=l -E separator='|' \
		-e frame.number -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport \
		-e tcp.len -e tcp.analysis.retransmission -e tcp.analysis.fast_retransmission \
		-e tcp.analysis.spurious_retransmission -e frame.protocols >"$work/$i.fields" 2>"$work/$i.err" || true
	printf '%s\t%s\t%s\t%s\n' "$i" "$file" "$json" "$name" >>"$work/manifest"
}

n=0
wanted() { # wanted PATH: true when no arguments were given or PATH is one of them
	[ "${#args[@]}" -eq 0 ] && return 0
	local a
	for a in "${args[@]}"; do
		case "$1" in *"/${a#./}" | "${a}") return 0 ;; esac
	done
	return 1
}
args=("$@")

while IFS= read -r -d '' f; do
	wanted "$f" || continue
	rel="${f#"$root/testdata/"}"
	one "$f" "$out/local/${rel//\//__}.json" "testdata/$rel"
	n=$((n + 1))
done < <(find "$root/testdata" -path "$root/testdata/truth" -prune -o -type f \
	\( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.pcap.gz' -o -name '*.pcapng.gz' \) -print0 | sort -z)

if [ -d "$shared" ]; then
	for f in "$shared"/*; do
		case "$f" in *.md) continue ;; esac
		[ -f "$f" ] || continue
		wanted "$f" || continue
		one "$f" "$out/shared/$(basename "$f").json" "$(basename "$f")"
		n=$((n + 1))
	done
else
	echo "gen-tcp-truth: $shared not found; shared captures skipped" >&2
fi
[ -f "$work/manifest" ] || { echo "gen-tcp-truth: no captures found" >&2; exit 1; }
"$py" - "$work" "$version" <<'PY'
import hashlib, json, os, sys
work, version = sys.argv[1:3]
def fmt(ip, port):
    return ("[%s]:%s" % (ip, port)) if ":" in ip else ("%s:%s" % (ip, port))
for entry in open(os.path.join(work, "manifest")):
    i, capfile, out, name = entry.rstrip("\n").split("\t")
    streams = {}
    for line in open(os.path.join(work, i + ".fields")):
        f = line.rstrip("\n").split("|")
        if len(f) < 12 or not f[1]:
            continue
        frame, stream = int(f[0]), int(f[1])
        # The addresses are the innermost IP layer's (tshark gives each
        # field's last occurrence): in a tunnel such as 6in4 the outer
        # packet is IPv4 and the inner IPv6.
        inner = [p for p in (f[12].split(":") if len(f) > 12 else []) if p in ("ip", "ipv6")]
        if inner and inner[-1] == "ipv6":
            s, d = fmt(f[3], f[4]), fmt(f[6], f[7])
        elif inner:
            s, d = fmt(f[2], f[4]), fmt(f[5], f[7])
        else:
            s, d = fmt(f[2] or f[3], f[4]), fmt(f[5] or f[6], f[7])
        st = streams.get(stream)
        if st is None:
            st = streams[stream] = {"stream": stream, "a": s, "b": d, "first_frame": frame, "last_frame": frame,
                                    "packets": {"a_to_b": 0, "b_to_a": 0}, "bytes": {"a_to_b": 0, "b_to_a": 0},
                                    "retransmissions": {"a_to_b": 0, "b_to_a": 0},
                                    "fast_retransmissions": 0, "spurious_retransmissions": 0}
        way = "a_to_b" if s == st["a"] else "b_to_a"
        st["last_frame"] = frame
        st["packets"][way] += 1
        st["bytes"][way] += int(f[8] or 0)
        if f[9]:
            st["retransmissions"][way] += 1
        if f[10]:
            st["fast_retransmissions"] += 1
        if f[11]:
            st["spurious_retransmissions"] += 1
    err = [l for l in open(os.path.join(work, i + ".err")).read().splitlines()
           if l.strip() and not l.startswith("Running as user")]
    snapshot = os.path.join(work, i + ".capture")
    with open(snapshot, "rb") as c:
        sha = hashlib.sha256(c.read()).hexdigest()
    doc = {"capture": name, "sha256": sha, "generator": "testdata/truth/gen-tcp-truth.sh", "tshark": version,
           "tcp_streams": len(streams), "streams": [streams[k] for k in sorted(streams)]}
    if err:
        doc["tshark_stderr"] = err[0].replace(snapshot, name)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as o:
        json.dump(doc, o, indent=1, sort_keys=True)
        o.write("\n")
PY
echo "gen-tcp-truth: wrote $n files under ${out#"$root/"}"
