#!/bin/bash
# bench_tunnel.sh BUILD [ROUNDS] - curvecp-tunnel against spiped and
# stunnel4 (TLS 1.3, a self-signed P-256 certificate made here), all on
# loopback, in the same run: each tunnel is a pair (encrypting side in
# front of a decrypting side in front of bench_tunnel_load.py's service).
#   bulk  200 MB through the tunnel to a sink, MB/s (higher is better)
#   conn  new connection + 10-byte echo + close, per second (higher is better)
#   rtt   10-byte round trip on an open connection, median us (lower is better),
#         SETTLE (3) seconds after the connection test
# Each figure is the best of ROUNDS (default 3) rounds, the three tunnels
# taking turns within a round, so load on the machine hits them alike.
# Prints, for PEER in spiped and stunnel4:
#   RESULT tunnel_bulk_200MB_vs_PEER ours=.. peer=.. ratio=ours/peer unit=MB/s
#   RESULT tunnel_conn_echo_vs_PEER ours=.. peer=.. ratio=ours/peer unit=conn/s
#   RESULT tunnel_rtt_10B_vs_PEER ours=.. peer=.. ratio=peer/ours unit=us_lower_is_better
# (every ratio > 1 means curvecp-tunnel is better). Needs spiped, stunnel4,
# openssl and python3.
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
ROUNDS=${2:-3}
BENCH=$(cd "$(dirname "$0")" && pwd)
LOAD="python3 $BENCH/bench_tunnel_load.py"
MB=${TUNNEL_BENCH_MB:-200}
CONN_SECONDS=${TUNNEL_BENCH_CONN_SECONDS:-3}
RTT_COUNT=${TUNNEL_BENCH_RTT_COUNT:-2000}
# The round trip is taken on an otherwise idle tunnel, SETTLE seconds
# after the connection test, for every tunnel alike: right after
# thousands of connections ours measured 127-209 us, against 92-102 us
# three seconds later (spiped 94-104 us either way). Not found yet what
# holds it: closed connections linger only 250 ms, and the extra time
# was in the kernel, not in our code (perf).
SETTLE=${TUNNEL_BENCH_SETTLE:-3}
WORK=$(mktemp -d /tmp/curvecp-tunnel-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"

for tool in spiped stunnel4 openssl python3; do
    command -v $tool >/dev/null || { echo "bench_tunnel: $tool is missing" >&2; exit 1; }
done

# seven ports the kernel says are free now (TCP and UDP alike)
read SVC OURS_E OURS_D SPIPED_E SPIPED_D STUNNEL_E STUNNEL_D < <(python3 -c '
import socket
held, ports = [], []
while len(ports) < 7:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        held.append(t); continue
    held += [t, u]; ports.append(port)
print(*ports)')

start () { "$@" & PIDS+=($!); }

start $LOAD serve $SVC

# ours
"$BUILD/curvecp-makekey" key >/dev/null
PK=$("$BUILD/curvecp-printkey" key)
start "$BUILD/curvecp-tunnel" -q -d -s 127.0.0.1:$OURS_D -t 127.0.0.1:$SVC -k key -c 1000
start "$BUILD/curvecp-tunnel" -q -e -s 127.0.0.1:$OURS_E -t 127.0.0.1:$OURS_D -p "$PK" -c 1000

# spiped
dd if=/dev/urandom of=spiped.key bs=32 count=1 2>/dev/null
start spiped -F -d -s "[127.0.0.1]:$SPIPED_D" -t "[127.0.0.1]:$SVC" -k spiped.key -n 1000
start spiped -F -e -s "[127.0.0.1]:$SPIPED_E" -t "[127.0.0.1]:$SPIPED_D" -k spiped.key -n 1000

# stunnel4, TLS 1.3 only
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -keyout tls.key -out tls.crt 2>/dev/null
cat > stunnel-d.conf <<EOF
foreground = yes
pid =
debug = 3
[d]
accept = 127.0.0.1:$STUNNEL_D
connect = 127.0.0.1:$SVC
cert = $WORK/tls.crt
key = $WORK/tls.key
sslVersionMin = TLSv1.3
EOF
cat > stunnel-e.conf <<EOF
foreground = yes
pid =
debug = 3
[e]
client = yes
accept = 127.0.0.1:$STUNNEL_E
connect = 127.0.0.1:$STUNNEL_D
sslVersionMin = TLSv1.3
EOF
start stunnel4 stunnel-d.conf 2>stunnel-d.log
start stunnel4 stunnel-e.conf 2>stunnel-e.log
sleep 1
for p in $SVC $OURS_E $SPIPED_E $STUNNEL_E; do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $p), timeout=5).close()" 2>/dev/null \
        || { echo "bench_tunnel: nothing listens on port $p (see above)" >&2; exit 1; }
done

# one figure: mode port arg; empty on failure
measure () { timeout 300 $LOAD "$1" "$2" "$3" 2>>load.err || echo ""; }

# best of: max for higher-is-better, min for rtt
better () {  # better KIND OLD NEW
    if [ -z "$2" ]; then echo "$3"; return; fi
    if [ -z "$3" ]; then echo "$2"; return; fi
    if [ "$1" = rtt ]; then
        python3 -c "print(min($2, $3))"
    else
        python3 -c "print(max($2, $3))"
    fi
}

declare -A BEST
for round in $(seq 1 "$ROUNDS"); do
    for name in ours spiped stunnel4; do
        case $name in
            ours) port=$OURS_E ;;
            spiped) port=$SPIPED_E ;;
            stunnel4) port=$STUNNEL_E ;;
        esac
        b=$(measure bulk $port $MB)
        c=$(measure conns $port $CONN_SECONDS)
        sleep "$SETTLE"
        r=$(measure rtt $port $RTT_COUNT)
        echo "round $round $name: bulk $b MB/s, conn $c /s, rtt $r us" >&2
        BEST[bulk_$name]=$(better bulk "${BEST[bulk_$name]:-}" "$b")
        BEST[conn_$name]=$(better conn "${BEST[conn_$name]:-}" "$c")
        BEST[rtt_$name]=$(better rtt "${BEST[rtt_$name]:-}" "$r")
    done
done

ratio () { python3 -c "print('%.2f' % ($1 / $2))" 2>/dev/null || echo nan; }
for peer in spiped stunnel4; do
    o=${BEST[bulk_ours]:-0}; p=${BEST[bulk_$peer]:-0}
    echo "RESULT tunnel_bulk_${MB}MB_vs_$peer ours=$o peer=$p ratio=$(ratio "$o" "$p") unit=MB/s"
    o=${BEST[conn_ours]:-0}; p=${BEST[conn_$peer]:-0}
    echo "RESULT tunnel_conn_echo_vs_$peer ours=$o peer=$p ratio=$(ratio "$o" "$p") unit=conn/s"
    o=${BEST[rtt_ours]:-0}; p=${BEST[rtt_$peer]:-0}
    echo "RESULT tunnel_rtt_10B_vs_$peer ours=$o peer=$p ratio=$(ratio "$p" "$o") unit=us_lower_is_better"
done
