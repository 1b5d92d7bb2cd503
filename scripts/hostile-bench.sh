#!/bin/sh
# hostile-bench.sh: run every adversarial capture of internal/hostile at the
# full size issue 7 names (and at half of it) through the built connscope
# binary, and print CPU time, wall time and peak RSS for each, with the
# full/half ratio of CPU time: about 2 means time linear in the input.
#
#   scripts/hostile-bench.sh              # every scenario, default limits
#   scripts/hostile-bench.sh syn-flood    # only the named ones
#   KEEP=1 scripts/hostile-bench.sh       # keep the captures in $WORK
#   FORMAT=json scripts/hostile-bench.sh  # render JSON instead of the text summary
#
# Then it runs the Go tests at full size (CONNSCOPE_HOSTILE_FULL=1), which
# check exit status and the 256 MB RSS cap again from inside Go. Needs GNU
# time (/usr/bin/time). Takes a few minutes on two cores.
set -eu

cd "$(dirname "$0")/.."
WORK=${WORK:-$(mktemp -d /tmp/connscope-hostile.XXXXXX)}
FORMAT=${FORMAT:-text}
CAP_MB=${CONNSCOPE_HOSTILE_RSS_MB:-256}
mkdir -p "$WORK"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT

go build -o "$WORK/connscope" ./cmd/connscope
go build -o "$WORK/hostilegen" ./internal/hostile/hostilegen

if [ $# -gt 0 ]; then
	scenarios="$*"
else
	scenarios=$("$WORK/hostilegen" -list | cut -f1)
fi

case $FORMAT in
text) render="--show summary --color never" ;;
*) render="--format $FORMAT" ;;
esac

printf '%-16s %10s %12s %8s %8s %8s %8s  %s\n' scenario n "file MB" "cpu s" "wall s" "RSS MB" "cpu x" "warnings"
over=0
for s in $scenarios; do
	full=$("$WORK/hostilegen" -list | awk -F'\t' -v s="$s" '$1 == s { print $2 }')
	[ -n "$full" ] || { echo "no scenario $s" >&2; exit 2; }
	prev=""
	for n in $((full / 2)) "$full"; do
		pcap="$WORK/$s-$n.pcap"
		"$WORK/hostilegen" -n "$n" "$s" "$pcap"
		mb=$(( $(stat -c %s "$pcap") / 1048576 ))
		# %U %S %e %M: user s, system s, wall s, peak RSS KiB.
		/usr/bin/time -f '%U %S %e %M' -o "$WORK/time" "$WORK/connscope" analyze $render "$pcap" >"$WORK/out" 2>"$WORK/err" || {
			echo "$s n=$n: connscope failed (exit $?):" >&2; cat "$WORK/err" >&2; exit 1; }
		set -- $(tail -1 "$WORK/time")
		cpu=$(echo "$1 $2" | awk '{ printf "%.2f", $1 + $2 }')
		rss=$(( $4 / 1024 ))
		ratio=-
		[ -z "$prev" ] || ratio=$(echo "$cpu $prev" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "-" }')
		warn=$(grep -o 'warning: [^:]*' "$WORK/out" | grep -v "$WORK" | sed 's/warning: //' | sort -u | tr '\n' ';' | cut -c1-120 || true)
		printf '%-16s %10s %12s %8s %8s %8s %8s  %s\n' "$s" "$n" "$mb" "$cpu" "$3" "$rss" "$ratio" "$warn"
		[ "$rss" -le "$CAP_MB" ] || { echo "  over the ${CAP_MB} MB cap" >&2; over=1; }
		prev=$cpu
		rm -f "$pcap"
	done
done

echo
echo "Go tests at full size (CONNSCOPE_HOSTILE_FULL=1):"
CONNSCOPE_HOSTILE_FULL=1 go test -count=1 -timeout 60m -run TestAdversarialCaptures -v ./internal/hostile | grep -E '^(---|    ---|ok|FAIL|PASS)|RSS' || over=1
exit $over
