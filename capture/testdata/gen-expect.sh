#!/bin/sh
# Regenerates shared-pcaps.tsv: what tshark sees in every capture of the
# shared folder, for TestSharedPcaps to compare the Reader and Decoder with.
#
#   capture/testdata/gen-expect.sh [PCAP_DIR] > capture/testdata/shared-pcaps.tsv
#
# Columns: file, frames (frames tshark numbers: packet records, plus pcapng
# custom and systemd journal blocks, which it lists as frames), tcp (frames whose
# outermost transport is TCP: tshark's "tcp" filter minus TCP headers quoted
# inside ICMP errors), first and last frame time in ns since the epoch
# of frames that have one ("-" when none). Files tshark cannot open get
# frames "error".
set -eu
dir=${1:-${CONNSCOPE_SHARED_PCAPS:-$(dirname "$0")/../../../shared/pcaps}}
printf 'file\tframes\ttcp\tfirst_ns\tlast_ns\n'
for f in "$dir"/*.pcap "$dir"/*.pcapng; do
	[ -e "$f" ] || continue
	name=$(basename "$f")
	# tshark reports a file cut short on stderr but still prints the frames before.
	rows=$(tshark -n -r "$f" -T fields -e frame.number -e frame.time_epoch 2>/dev/null || true)
	if [ -z "$rows" ] && ! capinfos "$f" >/dev/null 2>&1; then
		printf '%s\terror\t-\t-\t-\n' "$name"
		continue
	fi
	frames=$(printf '%s\n' "$rows" | grep -c . || true)
	times=$(printf '%s\n' "$rows" | cut -f2)
	tcp=$(tshark -n -r "$f" -Y 'tcp && !icmp && !icmpv6' -T fields -e frame.number 2>/dev/null | grep -c . || true)
	first=$(printf '%s\n' "$times" | grep . | head -n1)
	last=$(printf '%s\n' "$times" | grep . | tail -n1)
	ns() { [ -n "$1" ] && echo "$1" | awk -F. '{ f = $2; while (length(f) < 9) f = f "0"; printf "%s%s", $1, substr(f, 1, 9) }' | sed 's/^0*\([0-9]\)/\1/' || echo -; }
	printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$frames" "$tcp" "$(ns "$first")" "$(ns "$last")"
done

# linktypes.tsv: tshark's dissection of linktypes.pcapng (written by
# go test ./capture -run TestLinkTypesAgainstTshark -update-linktypes), with
# UDP port 8472 read as VXLAN, as connscope reads it (Linux's default VXLAN
# port, which tshark 4.0 leaves as data); linktypes-default.tsv: the same
# with tshark's defaults, which differ only in the frames of that port.
here=$(dirname "$0")
linktypes() {
	tshark -n -r "$here/linktypes.pcapng" -o tcp.relative_sequence_numbers:FALSE "$@" -T fields \
		-e frame.number -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e tcp.srcport -e tcp.dstport -e tcp.len \
		-e ieee8021ad.id -e vlan.id -e tcp.options.mss_val -e tcp.options.wscale.shift -e tcp.options.sack_perm \
		-e tcp.options.timestamp.tsval -e tcp.options.timestamp.tsecr -e frame.protocols 2>/dev/null
}
linktypes -d udp.port==8472,vxlan > "$here/linktypes.tsv"
linktypes > "$here/linktypes-default.tsv"
