#!/usr/bin/env bash
# gen-http-truth.sh regenerates testdata/truth/http/*.json: what tshark's
# HTTP dissector sees in every capture under testdata/captures/ and the
# shared public captures (../shared/pcaps from the repository root, or
# $CONNSCOPE_SHARED_PCAPS). httpflow's TestTsharkTruth compares connscope
# with these files.
#
# Each JSON file holds, per HTTP request tshark found: the frame where
# tshark finished reassembling it, the method, the URI and tshark's TCP
# stream index; per response: the frame, the status code and the frame of
# the request tshark paired it with (http.request_in). tshark pairs a
# response with the most recent unanswered request it saw, which is wrong
# for pipelining; the Go test says where and why.
#
# Each file also records the capture's SHA-256: when a capture is
# regenerated, the test notices that its truth is stale.
#
# Usage: testdata/truth/gen-http-truth.sh   (from anywhere; needs tshark, jq
# and sha256sum)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/testdata/truth/http"
shared=${CONNSCOPE_SHARED_PCAPS:-$root/../shared/pcaps}
mkdir -p "$out"

command -v tshark >/dev/null || { echo "gen-http-truth: tshark not found" >&2; exit 1; }
command -v jq >/dev/null || { echo "gen-http-truth: jq not found" >&2; exit 1; }
version=$(tshark --version 2>/dev/null | head -1)
# UDP to port 8472 is VXLAN, as connscope reads it: Linux's default VXLAN
# port (flannel's and Cilium's), which tshark 4.0 leaves as data. No other
# capture here carries UDP port 8472.
decode_as=(-d udp.port==8472,vxlan)

# The JSON each capture gets. tshark prints one object per frame; a frame
# can carry several messages (pipelining), so each field is a list.
read -r -d '' program <<'JQ' || true
def num: if . == null then null else tonumber end;
[.[]._source.layers] as $frames |
{
  file: $file,
  source: $source,
  sha256: $sha256,
  tshark: $version,
  requests: [ $frames[] | select(.["http.request.method"]) | . as $l
    | range(0; ($l["http.request.method"] | length)) as $i
    | { frame: ($l["frame.number"][0] | num),
        stream: ($l["tcp.stream"][0] | num),
        method: $l["http.request.method"][$i],
        uri: (($l["http.request.uri"] // [])[$i]) } ],
  responses: [ $frames[] | select(.["http.response.code"]) | . as $l
    | range(0; ($l["http.response.code"] | length)) as $i
    | { frame: ($l["frame.number"][0] | num),
        stream: ($l["tcp.stream"][0] | num),
        code: ($l["http.response.code"][$i] | num),
        request_in: ((($l["http.request_in"] // [])[$i]) | num) } ]
}
JQ

gen() { # gen FILE SOURCE-LABEL
	local f=$1 label=$2 name json
	name=$(basename "$f")
	json="$out/$name.json"
	if ! tshark -n -r "$f" "${decode_as[@]}" -Y 'http.request || http.response' -T json \
		-e frame.number -e tcp.stream -e http.request.method -e http.request.uri \
		-e http.response.code -e http.request_in >"$json.raw" 2>"$json.err"; then
		# Unreadable captures (deliberately broken ones) get no truth file.
		if [ ! -s "$json.raw" ]; then
			echo "skip $name: $(grep -v "Running as user" "$json.err" | head -1)"
			rm -f "$json.raw" "$json.err"
			return
		fi
	fi
	[ -s "$json.raw" ] || echo '[]' >"$json.raw"
	jq --arg file "$name" --arg source "$label" --arg version "$version" \
		--arg sha256 "$(sha256sum "$f" | cut -d' ' -f1)" "$program" "$json.raw" >"$json"
	rm -f "$json.raw" "$json.err"
	printf '%-70s requests=%s responses=%s\n' "$name" \
		"$(jq '.requests | length' "$json")" "$(jq '.responses | length' "$json")"
}

shopt -s nullglob
for f in "$root"/testdata/captures/*.pcap "$root"/testdata/captures/*.pcapng "$root"/testdata/captures/*.gz; do
	gen "$f" "testdata/captures"
done
if [ -d "$shared" ]; then
	for f in "$shared"/*.pcap "$shared"/*.pcapng; do
		gen "$f" "shared"
	done
else
	echo "gen-http-truth: $shared not found; shared captures skipped" >&2
fi
