#!/bin/bash
# Run the secured fan-out benchmark (ours vs libzmq CURVE PUB-SUB, same
# run: 64-byte messages to 1, 10 and 100 subscriber threads) and show the
# RESULT lines as a table.
# Usage: bench/run-pubsub.sh BUILD_DIR [only-N [messages-scale]]
set -eu
build="${1:?usage: bench/run-pubsub.sh BUILD_DIR [only-N [messages-scale]]}"
only="${2:-0}"
scale="${3:-1}"
out=$(timeout 900 "$build/bench-zmq-pubsub" "$only" "$scale")
echo "$out"
echo
printf "%-28s %14s %14s %8s  %s\n" figure ours "libzmq CURVE" ratio unit
echo "$out" | sed -n 's/^RESULT \([^ ]*\) ours=\([^ ]*\) peer=\([^ ]*\) ratio=\([^ ]*\) unit=\(.*\)$/\1 \2 \3 \4 \5/p' |
    while read -r name ours peer ratio unit; do
        printf "%-28s %14s %14s %8s  %s\n" "$name" "$ours" "$peer" "$ratio" "$unit"
    done
