#!/bin/sh
# Runs the capture package's fuzz targets for longer than CI does.
#
#   capture/testdata/fuzz-long.sh [DURATION]    (default 10m per target)
#
# A crash leaves its input under capture/testdata/fuzz/<Target>/; commit it
# (go test then replays it as a regression test) together with the fix.
set -eu
cd "$(dirname "$0")/../.."
time=${1:-10m}
for target in FuzzReader FuzzDecode FuzzFragments; do
	echo "== $target for $time"
	go test ./capture -run XXX -fuzz "^$target\$" -fuzztime "$time"
done
