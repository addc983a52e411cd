#!/bin/bash
# bench_udp_bulk.sh BUILD [BYTES] - bulk transfer over UDP on loopback.
#
# The client sends BYTES (default 10 MB) to a server whose program
# discards them; the figure is BYTES / wall time of the client tool
# (handshake and process start included, as a user sees it):
#   ours: curvecp-server -m  /  curvecp-client -m   (median of 3 runs)
#   NaCl: curvecpserver + curvecpmessage  /  curvecpclient + curvecpmessage -c
# and, in the same run, a raw blast of 1184-byte datagrams (bench-udp-blast).
# Prints:
#   RESULT udp_bulk_10MB_vs_nacl ours=<MB/s> peer=<MB/s> ratio=<x> unit=MB/s
#   RESULT udp_bulk_vs_raw_blast ours=<MB/s> peer=<MB/s> ratio=<x> unit=MB/s
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
BYTES=${2:-10000000}
WORK=$(mktemp -d /tmp/curvecp-bulk.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
curvecpmakekey key >/dev/null
PK=$(curvecpprintkey key)
EXT=00000000000000000000000000000000
head -c $BYTES /dev/urandom > data
PORT=$((44000 + $$ % 1000))

# run_once SERVER... -- CLIENT... : seconds the client took
run_once () {
    local server=() client=()
    while [ "$1" != -- ]; do server+=("$1"); shift; done; shift
    client=("$@")
    timeout 600 "${server[@]}" t key 127.0.0.1 $PORT $EXT "${SERVER_HANDLER[@]}" sh -c 'cat >/dev/null' &
    local pid=$!
    sleep 0.3
    local start=$(date +%s.%N)
    timeout 600 "${client[@]}" t $PK 127.0.0.1 $PORT $EXT "${CLIENT_HANDLER[@]}" \
        sh -c 'cat "$1" >&7; exec 7>&-; cat <&6 >/dev/null' sh "$WORK/data" || echo "client failed" >&2
    local end=$(date +%s.%N)
    kill $pid 2>/dev/null; wait $pid 2>/dev/null
    PORT=$((PORT + 1))
    echo "$end - $start" | bc -l
}

median3 () { printf "%s\n" "$@" | sort -g | sed -n 2p; }

SERVER_HANDLER=(); CLIENT_HANDLER=()
t1=$(run_once $BUILD/curvecp-server -m -- $BUILD/curvecp-client -m)
t2=$(run_once $BUILD/curvecp-server -m -- $BUILD/curvecp-client -m)
t3=$(run_once $BUILD/curvecp-server -m -- $BUILD/curvecp-client -m)
ours_t=$(median3 $t1 $t2 $t3)
SERVER_HANDLER=(curvecpmessage); CLIENT_HANDLER=(curvecpmessage -c)
nacl_t=$(run_once curvecpserver -- curvecpclient)
blast=$($BUILD/bench-udp-blast 1 | awk '/^BLAST/ { print $2 }')

ours=$(echo "$BYTES / $ours_t / 1000000" | bc -l)
nacl=$(echo "$BYTES / $nacl_t / 1000000" | bc -l)
echo "# $BYTES bytes: ours $t1 $t2 $t3 s (median $ours_t), NaCl $nacl_t s; raw blast $blast MB/s"
printf "RESULT udp_bulk_10MB_vs_nacl ours=%.1f peer=%.2f ratio=%.1f unit=MB/s\n" $ours $nacl $(echo "$ours / $nacl" | bc -l)
printf "RESULT udp_bulk_vs_raw_blast ours=%.1f peer=%.1f ratio=%.2f unit=MB/s\n" $ours $blast $(echo "$ours / $blast" | bc -l)
