#!/bin/bash
# bench_udp_connect.sh BUILD [RUNS] - connect + 10-byte round trip, as a
# user of the tools sees it: the client tool starts, connects, its
# program sends 10 bytes, the server's program echoes them, the client's
# program reads them back and everything closes; the figure is the
# client tool's wall time, median of RUNS (default 15; NaCl 5 runs).
#   ours: curvecp-server -m / curvecp-client -m
#   NaCl: curvecpserver + curvecpmessage / curvecpclient + curvecpmessage -c
# Prints: RESULT udp_connect_rtt_10B ours=<ms> peer=<ms> ratio=<x> unit=ms
# (ratio = ours / NaCl: the target is <= 0.1)
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
RUNS=${2:-15}
WORK=$(mktemp -d /tmp/curvecp-connect.XXXXXX)
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill $SERVER_PID 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"
curvecpmakekey key >/dev/null
PK=$(curvecpprintkey key)
EXT=00000000000000000000000000000000
PORT=$((46000 + $$ % 1000))

# series RUNS SERVER... -- CLIENT... : median milliseconds
series () {
    local runs=$1; shift
    local server=() client=()
    while [ "$1" != -- ]; do server+=("$1"); shift; done; shift
    client=("$@")
    timeout 300 "${server[@]}" t key 127.0.0.1 $PORT $EXT "${SERVER_HANDLER[@]}" cat &
    SERVER_PID=$!
    sleep 0.3
    local times=()
    for i in $(seq 1 $runs); do
        local start=$(date +%s%N)
        out=$(timeout 20 "${client[@]}" t $PK 127.0.0.1 $PORT $EXT "${CLIENT_HANDLER[@]}" \
              sh -c 'printf 0123456789 >&7; exec 7>&-; head -c 10 <&6')
        local end=$(date +%s%N)
        [ "$out" = 0123456789 ] || { echo "echo failed: '$out'" >&2; }
        times+=($(( (end - start) / 1000 )))
    done
    kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null
    SERVER_PID=""
    PORT=$((PORT + 1))
    printf "%s\n" "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p" | awk '{ printf "%.2f", $1 / 1000 }'
}

SERVER_HANDLER=(); CLIENT_HANDLER=()
ours=$(series $RUNS $BUILD/curvecp-server -m -- $BUILD/curvecp-client -m)
SERVER_HANDLER=(curvecpmessage); CLIENT_HANDLER=(curvecpmessage -c)
nacl=$(series 5 curvecpserver -- curvecpclient)
printf "RESULT udp_connect_rtt_10B ours=%s peer=%s ratio=%.3f unit=ms\n" $ours $nacl $(echo "$ours / $nacl" | bc -l)
