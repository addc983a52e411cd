#!/bin/bash
# test_udp_client_nocookie.sh BUILD SRC - curvecp-client to an address
# where nothing answers is not silent (issue 15): with -v it says each of
# NaCl's 8 Hellos and where it went, and it always ends with one line and
# exit 111 when the Hello schedule is spent. The schedule is NaCl's (about
# 62 s) and is not shortened: this is the one test that waits for it.
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
WORK=$(mktemp -d /tmp/curvecp-nocookie.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
fails=0
check () {   # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}
"$BUILD/curvecp-makekey" key
PK=$("$BUILD/curvecp-printkey" key)
EXT=000102030405060708090a0b0c0d0e0f
PORT=$((47000 + $$ % 1000))       # nothing listens there
timeout -k 10 100 "$BUILD/curvecp-client" -v n $PK 127.0.0.1 $PORT $EXT true 2> v.err; rc=$?
check "-v, no server: exit 111" 111 $rc
check "-v: 8 Hello lines" 8 "$(grep -c "^curvecp-client: Hello [1-8] of 8 to 127.0.0.1:$PORT$" v.err)"
check "-v: ends with one line saying what happened" \
    "curvecp-client: fatal: no response from server: no Cookie after 8 Hellos (no server at that address and port, or a wrong server key or extension) (handshake-timeout)" \
    "$(tail -1 v.err)"
[ $fails -eq 0 ] && echo "test_udp_client_nocookie: OK" || echo "test_udp_client_nocookie: $fails failure(s)"
[ $fails -eq 0 ]
