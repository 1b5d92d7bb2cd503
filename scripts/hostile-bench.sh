#!/bin/sh
# hostile-bench.sh: run every adversarial capture of internal/hostile at the
# full size issue 7 names (and at half of it) through the built connscope
# binary, rendered as the text summary, HAR and JUnit (the two formats
# whose documents grow with the report), and print CPU time, wall time and
# peak RSS for each, with the full/half ratio of CPU time per format: about
# 2 means time linear in the input.
#
#   scripts/hostile-bench.sh                 # every scenario, default limits
#   scripts/hostile-bench.sh syn-flood       # only the named ones (Go tests too)
#   KEEP=1 scripts/hostile-bench.sh          # keep the captures in $WORK
#   FORMATS="json html" scripts/hostile-bench.sh  # other formats (FORMAT=x: one)
#   BENCH_CPU=0 scripts/hostile-bench.sh     # pin to core 0 instead of 1
#
# Every measured process (each connscope run, and the Go tests with the
# binaries they start) is pinned to one core with taskset, core 1 unless
# BENCH_CPU names another (as in bench/ratio.sh), so that its CPU time does
# not move with the machine's load and the Go runtime sees one CPU.
#
# Then it runs the Go tests at full size (CONNSCOPE_HOSTILE_FULL=1), which
# check exit status and the 256 MB RSS cap again from inside Go (text, and
# HAR and JUnit on the scenarios that list the most). Needs GNU
# time (/usr/bin/time) and taskset. Takes ten minutes or more.
set -eu

cd "$(dirname "$0")/.."
WORK=${WORK:-$(mktemp -d /tmp/connscope-hostile.XXXXXX)}
FORMATS=${FORMATS:-${FORMAT:-text har junit}}
CAP_MB=${CONNSCOPE_HOSTILE_RSS_MB:-256}
CPU=${BENCH_CPU:-1}
mkdir -p "$WORK"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT

go build -o "$WORK/connscope" ./cmd/connscope
go build -o "$WORK/hostilegen" ./internal/hostile/hostilegen

# The Go tests at the end run the same scenarios: all of them, or those named.
tests='^(TestAdversarialCaptures|TestAdversarialHARJUnit)$'
if [ $# -gt 0 ]; then
	scenarios="$*"
	tests="$tests/^($(echo "$*" | tr ' ' '|'))\$"
else
	scenarios=$("$WORK/hostilegen" -list | cut -f1)
fi

printf '%-16s %-6s %10s %12s %8s %8s %8s %8s  %s\n' scenario format n "file MB" "cpu s" "wall s" "RSS MB" "cpu x" "warnings"
over=0
for s in $scenarios; do
	full=$("$WORK/hostilegen" -list | awk -F'\t' -v s="$s" '$1 == s { print $2 }')
	[ -n "$full" ] || { echo "no scenario $s" >&2; exit 2; }
	for f in $FORMATS; do unset "prev_$f"; done
	for n in $((full / 2)) "$full"; do
		pcap="$WORK/$s-$n.pcap"
		"$WORK/hostilegen" -n "$n" "$s" "$pcap"
		mb=$(( $(stat -c %s "$pcap") / 1048576 ))
		for f in $FORMATS; do
			case $f in
			text) render="--show summary --color never" ;;
			*) render="--format $f" ;;
			esac
			# %U %S %e %M: user s, system s, wall s, peak RSS KiB.
			/usr/bin/time -f '%U %S %e %M' -o "$WORK/time" taskset -c "$CPU" "$WORK/connscope" analyze $render "$pcap" >"$WORK/out" 2>"$WORK/err" || {
				echo "$s n=$n -f $f: connscope failed (exit $?):" >&2; cat "$WORK/err" >&2; exit 1; }
			set -- $(tail -1 "$WORK/time")
			cpu=$(echo "$1 $2" | awk '{ printf "%.2f", $1 + $2 }')
			rss=$(( $4 / 1024 ))
			eval "prev=\${prev_$f:-}"
			ratio=-
			[ -z "$prev" ] || ratio=$(echo "$cpu $prev" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "-" }')
			# Warnings are read from the text summary; other formats show "-".
			warn=-
			[ "$f" != text ] || warn=$(grep -o 'warning: [^:]*' "$WORK/out" | grep -v "$WORK" | sed 's/warning: //' | sort -u | tr '\n' ';' | cut -c1-120 || true)
			printf '%-16s %-6s %10s %12s %8s %8s %8s %8s  %s\n' "$s" "$f" "$n" "$mb" "$cpu" "$3" "$rss" "$ratio" "$warn"
			[ "$rss" -le "$CAP_MB" ] || { echo "  over the ${CAP_MB} MB cap" >&2; over=1; }
			eval "prev_$f=\$cpu"
		done
		rm -f "$pcap"
	done
done

echo
echo "Go tests at full size (CONNSCOPE_HOSTILE_FULL=1), on core $CPU:"
CONNSCOPE_HOSTILE_FULL=1 taskset -c "$CPU" go test -count=1 -timeout 60m -run "$tests" -v ./internal/hostile | grep -E '^(---|    ---|ok|FAIL|PASS)|RSS' || over=1
exit $over
