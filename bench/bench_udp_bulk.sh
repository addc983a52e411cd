#!/bin/bash
# bench_udp_bulk.sh BUILD [BYTES] - bulk transfer over UDP on loopback.
#
# The client sends BYTES (default 10 MB) to a server whose program
# discards them; the figure is BYTES / wall time of the client tool
# (handshake and process start included, as a user sees it):
#   ours: curvecp-server -m  /  curvecp-client -m   (median of 3 runs)
#   NaCl: curvecpserver + curvecpmessage  /  curvecpclient + curvecpmessage -c
# and, in the same run, a raw blast of 1184-byte datagrams (bench-udp-blast),
# and the library path in one process (bench-udp-lib: server and client
# threads, no tools, no pipes; median of 3, offload on; off alongside).
# Cycles per byte (perf stat: CPU time of every process and thread
# involved, user and kernel, handshake and process start included, times
# the CPU's clock from /proc/cpuinfo, since virtual machines often have no
# cycle counter) for one more run of each path, where perf works.
# Prints:
#   RESULT udp_bulk_10MB_vs_nacl ours=<MB/s> peer=<MB/s> ratio=<x> unit=MB/s
#   RESULT udp_bulk_vs_raw_blast ours=<MB/s> peer=<MB/s> ratio=<x> unit=MB/s
#   RESULT udp_bulk_lib_vs_blast ours=<MB/s> peer=<MB/s> ratio=<x> unit=MB/s
#   RESULT udp_bulk_cycles_per_byte_tools_vs_lib ours=<c/B> peer=<c/B> ratio=<x> unit=cycles/B
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
# (with PERF=1, both run under perf stat; their cycles go to server.perf
# and client.perf)
PERF=0
run_once () {
    local server=() client=()
    while [ "$1" != -- ]; do server+=("$1"); shift; done; shift
    client=("$@")
    if [ $PERF = 1 ]; then
        server=(perf stat -x, -e task-clock -o "$WORK/server.perf" "${server[@]}")
        client=(perf stat -x, -e task-clock -o "$WORK/client.perf" "${client[@]}")
    fi
    timeout 600 "${server[@]}" t key 127.0.0.1 $PORT $EXT "${SERVER_HANDLER[@]}" sh -c 'cat >/dev/null' &
    local pid=$!
    sleep 0.3
    local start=$(date +%s.%N)
    timeout 600 "${client[@]}" t $PK 127.0.0.1 $PORT $EXT "${CLIENT_HANDLER[@]}" \
        sh -c 'cat "$1" >&7; exec 7>&-; cat <&6 >/dev/null' sh "$WORK/data" || echo "client failed" >&2
    local end=$(date +%s.%N)
    [ $PERF = 1 ] && sleep 0.3          # let the server finish the connection before its end
    kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null
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
lib_out=$($BUILD/bench-udp-lib $BYTES 3 $blast)

# cycles per byte: one more run of each path under perf stat
MHZ=$(awk -F: '/^cpu MHz/ { print $2 + 0; exit }' /proc/cpuinfo)
cycles () { awk -F, -v mhz="${MHZ:-0}" '$3 ~ /task-clock/ && $1 ~ /^[0-9.]+$/ { printf "%.0f\n", $1 * 1000 * mhz }' "$1" 2>/dev/null | head -1; }
cpb_tools=""; cpb_lib=""
if [ -n "$MHZ" ] && perf stat -e task-clock true >/dev/null 2>&1; then
    PERF=1; SERVER_HANDLER=(); CLIENT_HANDLER=()
    run_once $BUILD/curvecp-server -m -- $BUILD/curvecp-client -m >/dev/null
    PERF=0
    sc=$(cycles "$WORK/server.perf"); cc=$(cycles "$WORK/client.perf")
    perf stat -x, -e task-clock -o "$WORK/lib.perf" $BUILD/bench-udp-lib $BYTES 1 0 on >/dev/null
    lc=$(cycles "$WORK/lib.perf")
    if [ -n "$sc" ] && [ -n "$cc" ] && [ -n "$lc" ]; then
        cpb_tools=$(echo "($sc + $cc) / $BYTES" | bc -l)
        cpb_lib=$(echo "$lc / $BYTES" | bc -l)
        printf "# cycles per byte (CPU time x $MHZ MHz): tools %.1f (server %.1f, client %.1f), library %.1f\n" $cpb_tools \
            $(echo "$sc / $BYTES" | bc -l) $(echo "$cc / $BYTES" | bc -l) $cpb_lib
    fi
fi

ours=$(echo "$BYTES / $ours_t / 1000000" | bc -l)
nacl=$(echo "$BYTES / $nacl_t / 1000000" | bc -l)
echo "# $BYTES bytes: ours $t1 $t2 $t3 s (median $ours_t), NaCl $nacl_t s; raw blast $blast MB/s"
printf "RESULT udp_bulk_10MB_vs_nacl ours=%.1f peer=%.2f ratio=%.1f unit=MB/s\n" $ours $nacl $(echo "$ours / $nacl" | bc -l)
printf "RESULT udp_bulk_vs_raw_blast ours=%.1f peer=%.1f ratio=%.2f unit=MB/s\n" $ours $blast $(echo "$ours / $blast" | bc -l)
echo "$lib_out" | grep -E '^(#|RESULT)'
[ -n "$cpb_tools" ] && printf "RESULT udp_bulk_cycles_per_byte_tools_vs_lib ours=%.1f peer=%.1f ratio=%.2f unit=cycles/B\n" \
    $cpb_tools $cpb_lib $(echo "$cpb_tools / $cpb_lib" | bc -l)
true
