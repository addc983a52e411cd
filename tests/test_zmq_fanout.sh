#!/bin/bash
# The zmq-fanout example ends by itself and succeeds: alice and bob read
# all ten ticks, carol the five before her revocation and refuses the
# other five (no key); the epoch switch after the revocation is under 1 s.
set -u
build="$1"
out=$(timeout -k 10 60 "$build/zmq-fanout" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "zmq-fanout exited with $rc"; exit 1; }
echo "$out" | grep -qx "alice read 10 ticks, refused 0 it had no key for" || { echo "alice did not read 10"; exit 1; }
echo "$out" | grep -qx "bob read 10 ticks, refused 0 it had no key for" || { echo "bob did not read 10"; exit 1; }
echo "$out" | grep -qx "carol read 5 ticks, refused 5 it had no key for, denied: revoked" \
    || { echo "carol did not stop after 5"; exit 1; }
[ "$(echo "$out" | grep -c '^carol reads tick: tick ')" -eq 5 ] || { echo "carol printed other than 5 ticks"; exit 1; }
echo "$out" | grep -q "^carol reads tick: tick 6" && { echo "carol read tick 6"; exit 1; }
ms=$(echo "$out" | sed -n 's/^publisher: revoked carol; epoch [0-9]* -> [0-9]* in \([0-9.]*\) ms.*/\1/p')
[ -n "$ms" ] && awk -v ms="$ms" 'BEGIN { exit !(ms < 1000) }' || { echo "switch took ${ms:-?} ms"; exit 1; }
echo "$out" | grep -q "^zmq-fanout: OK$" || exit 1
echo "test_zmq_fanout: OK"
