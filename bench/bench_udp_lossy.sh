#!/bin/bash
# bench_udp_lossy.sh BUILD [OURS_BYTES] [NACL_BYTES] - bulk transfer through
# a lossy relay (bench-udp-relay: 10 ms each way = 20 ms RTT, seeded loss
# in each direction: 1 % and then 5 %, or the percentages in LOSSES, e.g.
# LOSSES="0 1 2 5"), ours vs NaCl's tools, measured in the same run. NaCl's
# runs are cut at NACL_TIMEOUT seconds (default 380): a run cut short is
# "fail" (ratio=0). Ours moves 10 MB; NaCl's tools move 3 MB by default
# (at these losses 10 MB takes them 2-4 minutes per run: BASELINES.md;
# 3 MB is long enough for their loss recovery to dominate, 1 MB is not),
# and the figure is throughput, so the sizes compare fairly.
# Prints: RESULT udp_lossy_<p>pct_20ms ours=<MB/s> peer=<MB/s> ratio=<x> unit=MB/s
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
OURS_BYTES=${2:-10000000}
NACL_BYTES=${3:-${NACL_BYTES:-3000000}}
WORK=$(mktemp -d /tmp/curvecp-lossy.XXXXXX)
RELAY_PID=""
trap '[ -n "$RELAY_PID" ] && kill $RELAY_PID 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"
curvecpmakekey key >/dev/null
PK=$(curvecpprintkey key)
EXT=00000000000000000000000000000000
head -c $OURS_BYTES /dev/urandom > data.ours
head -c $NACL_BYTES /dev/urandom > data.nacl
PORT=$((45000 + ($$ % 500) * 2))

# through LOSS SEED FILE SERVER... -- CLIENT... : seconds, or "fail"
through () {
    local loss=$1 seed=$2 file=$3 limit=$4; shift 4
    local server=() client=()
    while [ "$1" != -- ]; do server+=("$1"); shift; done; shift
    client=("$@")
    local sport=$PORT rport=$((PORT + 1))
    PORT=$((PORT + 2))
    timeout 400 "${server[@]}" t key 127.0.0.1 $sport $EXT "${SERVER_HANDLER[@]}" \
        sh -c 'cat > "$1"' sh "$WORK/got" &
    local server_pid=$!
    $BUILD/bench-udp-relay $rport 127.0.0.1 $sport $loss 10 $seed 400 2>"$WORK/relay.log" &
    RELAY_PID=$!
    sleep 0.3
    local start=$(date +%s.%N)
    timeout $limit "${client[@]}" t $PK 127.0.0.1 $rport $EXT "${CLIENT_HANDLER[@]}" \
        sh -c 'cat "$1" >&7; exec 7>&-; cat <&6 >/dev/null' sh "$file"
    local rc=$?
    local end=$(date +%s.%N)
    sleep 0.5
    kill $server_pid $RELAY_PID 2>/dev/null; wait $server_pid $RELAY_PID 2>/dev/null
    RELAY_PID=""
    if [ $rc -ne 0 ] || ! cmp -s "$file" "$WORK/got"; then echo fail; return; fi
    echo "$end - $start" | bc -l
}

NACL_TIMEOUT=${NACL_TIMEOUT:-380}
for loss in ${LOSSES:-1 5}; do
    SERVER_HANDLER=(); CLIENT_HANDLER=()
    ours_t=$(through $loss 42 data.ours 380 $BUILD/curvecp-server -m -- $BUILD/curvecp-client -m)
    SERVER_HANDLER=(curvecpmessage); CLIENT_HANDLER=(curvecpmessage -c)
    nacl_t=$(through $loss 42 data.nacl $NACL_TIMEOUT curvecpserver -- curvecpclient)
    echo "# loss $loss %: ours $OURS_BYTES bytes in $ours_t s, NaCl $NACL_BYTES bytes in $nacl_t s"
    if [ "$ours_t" = fail ] || [ "$nacl_t" = fail ]; then
        echo "RESULT udp_lossy_${loss}pct_20ms ours=${ours_t} peer=${nacl_t} ratio=0 unit=MB/s"
        continue
    fi
    ours=$(echo "$OURS_BYTES / $ours_t / 1000000" | bc -l)
    nacl=$(echo "$NACL_BYTES / $nacl_t / 1000000" | bc -l)
    printf "RESULT udp_lossy_%spct_20ms ours=%.3f peer=%.4f ratio=%.1f unit=MB/s\n" $loss $ours $nacl \
        $(echo "$ours / $nacl" | bc -l)
done
