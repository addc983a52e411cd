#!/bin/bash
# The README's first command: curvecp-demo ends by itself, succeeds, moved
# the file over both carriers with matching digests, printed a throughput
# for each, and left no temporary files behind. Run exactly as the README
# says (20 MB by default: a second or two on loopback).
set -u
build="${1:?build dir}"
out=$(timeout -k 10 60 "$build/curvecp-demo" 2>&1)
rc=$?
echo "$out"
fail () { echo "test_demo: $1"; exit 1; }
[ $rc -eq 0 ] || fail "curvecp-demo exited with $rc"
for carrier in ØMQ UDP; do
    line=$(echo "$out" | grep "^  $carrier  ")
    echo "$line" | grep -Eq "20\.0 MB in [0-9.]+ s = +[0-9.]+ MB/s   SHA-256 matches$" \
        || fail "no verified transfer with a throughput over $carrier"
done
echo "$out" | grep -q "^curvecp-demo: OK (server stopped, temporary files removed)$" || fail "no OK line"
work=$(echo "$out" | sed -n 's/^  work dir    \(\/tmp\/curvecp-demo-[A-Za-z0-9]*\) .*/\1/p')
[ -n "$work" ] || fail "no work dir printed"
[ ! -e "$work" ] || fail "$work left behind"
# a bad option is refused with a usage line, nothing started
timeout -k 10 10 "$build/curvecp-demo" -s 0 > /dev/null 2>&1
[ $? -eq 2 ] || fail "-s 0 should exit 2"
echo "test_demo: OK"
