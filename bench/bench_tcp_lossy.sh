#!/bin/bash
# bench_tcp_lossy.sh BUILD [BYTES] - TCP through the same lossy path as
# bench_udp_lossy.sh (the kernel here has no netem): two network namespaces,
# each with a TUN device, and bench-tun-relay between them forwarding IP
# packets with bench-udp-relay's model (bench/bench_lossy.h: seeded drop
# probability in each direction, 10 ms each way = 20 ms RTT). For each loss
# percentage in LOSSES (default "0 1 2 5") it measures, in the same run:
#   ours: curvecp-client -m to curvecp-server -m (UDP) moving BYTES (10 MB)
#         through the TUN relay: the same figure as udp_lossy_*, through the
#         other relay, to show the two relays agree;
#   peer: one TCP connection moving BYTES, cut at TCP_TIMEOUT seconds
#         (default 60; a cut run counts the bytes that arrived in that
#         time), once per congestion control in TCP_CCS (default "bbr cubic",
#         those the kernel has; set on the sender's socket).
# Goodput is measured at the receiver, in MB/s. Needs root (ip netns,
# /dev/net/tun); without it, it says so and prints no RESULT line.
# Prints: RESULT tcp_<cc>_lossy_<p>pct_20ms ours=<MB/s> peer=<MB/s> ratio=<x> unit=MB/s
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
BYTES=${2:-10000000}
TCP_TIMEOUT=${TCP_TIMEOUT:-60}
NS_A=curvecp-tcpa-$$ NS_B=curvecp-tcpb-$$ DEV=ctun0
ADDR_A=10.201.0.1 ADDR_B=10.201.0.2
WORK=$(mktemp -d /tmp/curvecp-tcplossy.XXXXXX)
RELAY_PID=""
cleanup () {
    [ -n "$RELAY_PID" ] && kill $RELAY_PID 2>/dev/null && wait $RELAY_PID 2>/dev/null
    for ns in $NS_A $NS_B; do    # ends what runs in them, then the namespace
        pids=$(ip netns pids $ns 2>/dev/null) && [ -n "$pids" ] && kill $pids 2>/dev/null
        ip netns del $ns 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || ! ip netns add $NS_A 2>/dev/null; then
    echo "# bench_tcp_lossy.sh: needs root, ip netns and /dev/net/tun: skipped"
    exit 0
fi
ip netns add $NS_B
side () {      # side NS ADDR PEER: a TUN device and a point-to-point address
    ip netns exec $1 ip link set lo up
    ip netns exec $1 ip tuntap add dev $DEV mode tun
    ip netns exec $1 ip addr add $2 peer $3 dev $DEV
    ip netns exec $1 ip link set $DEV up
}
side $NS_A $ADDR_A $ADDR_B
side $NS_B $ADDR_B $ADDR_A
cd "$WORK"
curvecpmakekey key >/dev/null
PK=$(curvecpprintkey key)
EXT=00000000000000000000000000000000
head -c $BYTES /dev/urandom > data

relay () {     # relay LOSS SECONDS: start bench-tun-relay, wait until it is ready
    $BUILD/bench-tun-relay /run/netns/$NS_A $DEV /run/netns/$NS_B $DEV $1 10 42 $2 \
        > "$WORK/relay.out" 2>"$WORK/relay.log" &
    RELAY_PID=$!
    for _ in $(seq 50); do grep -q ready "$WORK/relay.out" 2>/dev/null && return; sleep 0.1; done
}
relay_stop () {
    kill $RELAY_PID 2>/dev/null; wait $RELAY_PID 2>/dev/null; RELAY_PID=""
    sed "s/^/# /" "$WORK/relay.log" >&2
}

# ours LOSS: seconds for BYTES through curvecp-client/-server -m, or "fail"
ours () {
    rm -f "$WORK/got"
    relay $1 400
    timeout 400 ip netns exec $NS_B $BUILD/curvecp-server -m t key $ADDR_B 4500 $EXT \
        sh -c 'cat > "$1"' sh "$WORK/got" &
    local server_pid=$!
    sleep 0.3
    local start=$(date +%s.%N)
    timeout 380 ip netns exec $NS_A $BUILD/curvecp-client -m t $PK $ADDR_B 4500 $EXT \
        sh -c 'cat "$1" >&7; exec 7>&-; cat <&6 >/dev/null' sh "$WORK/data"
    local rc=$?
    local end=$(date +%s.%N)
    sleep 0.5
    kill $server_pid 2>/dev/null; wait $server_pid 2>/dev/null
    relay_stop
    if [ $rc -ne 0 ] || ! cmp -s "$WORK/data" "$WORK/got"; then echo fail; return; fi
    echo "$end - $start" | bc -l
}

# tcp LOSS CC: "bytes seconds" received over one TCP connection, cut at TCP_TIMEOUT
tcp () {
    relay $1 $((TCP_TIMEOUT + 30))
    ip netns exec $NS_B python3 - $ADDR_B $TCP_TIMEOUT > "$WORK/tcp.out" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); start = time.monotonic(); limit = float(sys.argv[2]); got = 0
while True:
    left = start + limit - time.monotonic()
    if left <= 0: break
    c.settimeout(left)
    try: b = c.recv(1 << 20)
    except socket.timeout: break
    if not b: break
    got += len(b)
print(got, min(time.monotonic() - start, limit))
PY
    local recv_pid=$!
    ip netns exec $NS_A python3 - $ADDR_B "$WORK/data" $TCP_TIMEOUT $2 <<'PY'
import socket, sys, time
for _ in range(50):
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, sys.argv[4].encode())
    s.settimeout(5)
    try: s.connect((sys.argv[1], 5001)); break
    except OSError: s.close(); time.sleep(0.1)
s.settimeout(float(sys.argv[3]) + 5)
try:
    with open(sys.argv[2], 'rb') as f: s.sendall(f.read())
    s.shutdown(socket.SHUT_WR); s.recv(1)
except OSError: pass
PY
    wait $recv_pid
    relay_stop
    cat "$WORK/tcp.out"
}

AVAILABLE=" $(sysctl -n net.ipv4.tcp_available_congestion_control) "
CCS=""
for cc in ${TCP_CCS:-bbr cubic}; do
    case $AVAILABLE in *" $cc "*) CCS="$CCS $cc" ;; *) echo "# TCP $cc: not in this kernel, skipped" ;; esac
done
for loss in ${LOSSES:-0 1 2 5}; do
    ours_t=$(ours $loss)
    echo "# loss $loss % (TUN relay): ours $BYTES bytes in $ours_t s"
    if [ "$ours_t" = fail ]; then ours=fail; else
        ours=$(printf %.3f "$(echo "$BYTES / $ours_t / 1000000" | bc -l)"); fi
    for cc in $CCS; do
        read -r tcp_bytes tcp_t <<< "$(tcp $loss $cc)"
        echo "# loss $loss % (TUN relay): TCP $cc ${tcp_bytes:-0} of $BYTES bytes in ${tcp_t:-?} s"
        if [ -z "${tcp_t:-}" ] || [ "${tcp_bytes:-0}" = 0 ]; then tcp=fail; else
            tcp=$(printf %.4f "$(echo "$tcp_bytes / $tcp_t / 1000000" | bc -l)"); fi
        if [ "$ours" = fail ] || [ "$tcp" = fail ]; then ratio=0; else
            ratio=$(printf %.2f "$(echo "$ours / $tcp" | bc -l)"); fi
        echo "RESULT tcp_${cc}_lossy_${loss}pct_20ms ours=$ours peer=$tcp ratio=$ratio unit=MB/s"
    done
done
