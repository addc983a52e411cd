#!/bin/bash
# Run the ØMQ carrier benchmark (ours vs libzmq CURVE, same run) and show
# the RESULT lines as a table. Usage: bench/run-zmq.sh [build-dir] [seconds-per-run]
set -eu
build="${1:-build}"
seconds="${2:-1.5}"
status=0
out=$(timeout 120 "$build/bench-zmq" "$seconds" 2>/dev/null) || status=$?
echo "$out"
[ "$status" = 0 ] || echo "bench-zmq failed (exit $status): a figure above is missing or from a side that gave up"
echo
printf "%-24s %14s %14s %8s  %s\n" figure ours "libzmq CURVE" ratio unit
echo "$out" | sed -n 's/^RESULT \([^ ]*\) ours=\([^ ]*\) peer=\([^ ]*\) ratio=\([^ ]*\) unit=\(.*\)$/\1 \2 \3 \4 \5/p' |
    while read -r name ours peer ratio unit; do
        printf "%-24s %14s %14s %8s  %s\n" "$name" "$ours" "$peer" "$ratio" "$unit"
    done
exit "$status"
