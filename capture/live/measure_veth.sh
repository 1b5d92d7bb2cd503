#!/bin/sh
# Measures the packets per second the live capture sustains, and the kernel
# drops, during bulk transfers over a veth pair between two network
# namespaces (needs root; ethtool for the MTU-sized variant).
# Usage: capture/live/measure_veth.sh [count]   (run from the repository root)
set -eu
count=${1:-3}
exec go test -run '^$' -bench 'VethCapture' -benchtime 1x -count "$count" ./capture/live
