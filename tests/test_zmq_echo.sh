#!/bin/bash
# The zmq-echo example ends by itself, succeeds, and its server printed
# each client's key exactly as the client announced it, in hex as every
# curvecp tool prints keys.
set -u
build="$1"
out=$(timeout -k 10 60 "$build/zmq-echo" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "zmq-echo exited with $rc"; exit 1; }
for n in 1 2; do
    key=$(echo "$out" | sed -n "s/^client $n key: //p")
    [ -n "$key" ] || { echo "no key printed for client $n"; exit 1; }
    echo "$key" | grep -qx '[0-9a-f]\{64\}' || { echo "client $n's key is not 64 hex digits: $key"; exit 1; }
    seen=$(echo "$out" | grep -cF "server: from client $key (")
    [ "$seen" -eq 3 ] || { echo "server saw client $n's key $seen times, expected 3"; exit 1; }
done
echo "$out" | grep -q "^zmq-echo: OK$" || exit 1
echo "test_zmq_echo: OK"
