#!/bin/bash
# The udp-echo example (server and client in one poll loop) ends by
# itself, succeeds, and its server printed the client's key as the
# client announced it.
set -u
build="$1"
out=$(timeout -k 10 60 "$build/udp-echo" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "udp-echo exited with $rc"; exit 1; }
key=$(echo "$out" | sed -n "s/^client key: //p")
[ -n "$key" ] || { echo "no client key printed"; exit 1; }
echo "$out" | grep -qxF "server: connection from client $key" || { echo "server saw another key"; exit 1; }
echo "$out" | grep -q "^udp-echo: 1000000 of 1000000 bytes echoed$" || exit 1
echo "$out" | grep -q "^udp-echo: OK$" || exit 1
echo "test_udp_echo: OK"
