#!/bin/bash
# test_gateway.sh BUILD SRC - curvecp-gateway in front of two servers.
#
# NaCl's curvecpserver (127.0.0.2) and ours (127.0.0.3), each with its own
# key and server extension, behind one gateway port (127.0.0.4); Linux
# routes all of 127/8 to lo. Then:
#   1. NaCl's curvecpclient and our curvecp-client each reach each server
#      through the gateway (4 transfers at once, both ways, byte-exact);
#   2. a client behind a relay that changes its source port mid-transfer
#      (ours and NaCl's) keeps its stream: the gateway follows it;
#   3. a bad routes file keeps the routes in force; a removed route drops
#      that server's packets (counted), a restored one serves it again;
#   4. a second gateway with -f 64 under a flood of random extensions,
#      addresses and bytes: flows stay at the bound, memory does not grow,
#      unknown extensions and junk are counted, and a real client (started
#      before the flood, and one started during it) is still served;
#   5. with -i 1, an idle flow expires.
# Every wait is bounded.
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SRC=$(cd "${2:?source dir}" && pwd)
for tool in curvecpserver curvecpclient curvecpmessage curvecpmakekey curvecpprintkey; do
    command -v $tool >/dev/null || { echo "FAIL: NaCl tool $tool is missing (apt-get install nacl-tools)"; exit 1; }
done
for tool in curvecp-gateway curvecp-server curvecp-client curvecp-makekey curvecp-printkey; do
    [ -x "$BUILD/$tool" ] || { echo "FAIL: $BUILD/$tool not built"; exit 1; }
done
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/curvecp-gateway.XXXXXX)
PIDS=""
cleanup () {
    for pid in $PIDS; do kill $pid 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
failures=0
pass () { echo "PASS: $1"; }
fail () { echo "FAIL: $1"; failures=$((failures + 1)); }
check () { if eval "$2"; then pass "$1"; else fail "$1"; fi; }

curvecpmakekey nkey >/dev/null && "$BUILD/curvecp-makekey" okey >/dev/null || { echo "FAIL: makekey"; exit 1; }
NPK=$(curvecpprintkey nkey)
OPK=$("$BUILD/curvecp-printkey" okey)
NEXT=4e61436c000000000000000000000001     # NaCl's server
OEXT=6f757273000000000000000000000002     # ours
BASE=$((46000 + $$ % 700 * 4))
GWPORT=$BASE NPORT=$((BASE + 1)) OPORT=$((BASE + 2)) RELAYPORT=$((BASE + 3))
GW=127.0.0.4

write_routes () {    # write_routes CONTENT: replaced atomically, as an editor would
    printf '%s\n' "$1" > routes.new && mv routes.new routes
}
BOTH_ROUTES="# test routes: extension, local server
$NEXT 127.0.0.2 $NPORT
$OEXT 127.0.0.3 $OPORT   # ours"
write_routes "$BOTH_ROUTES"

# Each server's program sends data.down and writes what it receives to
# up.<pid> in $WORK (both directions at once, as the interop matrix does).
SERVER_CHILD='cat "$1" & exec >/dev/null; cat > "up.$$"; wait'
head -c 1000000 /dev/urandom > data.down
timeout -k 10 300 curvecpserver test.example nkey 127.0.0.2 $NPORT $NEXT curvecpmessage \
    sh -c "$SERVER_CHILD" sh data.down 2> nserver.err &
PIDS="$PIDS $!"
timeout -k 10 300 "$BUILD/curvecp-server" -m test.example okey 127.0.0.3 $OPORT $OEXT \
    sh -c "$SERVER_CHILD" sh data.down 2> oserver.err &
PIDS="$PIDS $!"
# start_gateway LOG ARGS...: the gateway under timeout (so it ends even if
# this script is killed); GATEWAY is its own pid, for signals.
start_gateway () {
    local log=$1
    shift
    timeout -k 10 300 "$BUILD/curvecp-gateway" "$@" 2> $log &
    WRAPPER=$!
    PIDS="$PIDS $!"
    for i in $(seq 1 50); do
        GATEWAY=$(pgrep -P $! curvecp-gatewa)
        [ -n "$GATEWAY" ] && break
        sleep 0.1
    done
    sleep 0.3
}
start_gateway gw.err -v $GW $GWPORT routes
GWPID=$GATEWAY GWWRAPPER=$WRAPPER
# transfer NAME CLIENT(nacl|ours) SERVER(nacl|ours) IP PORT BYTES [SECONDS]:
# the client sends BYTES of its own and reads data.down; PASS if both
# arrive byte-exact (the upload in one of the servers' up.* files).
CLIENT_CHILD='cat "$1" >&7 & exec 7>&-; cat <&6 > "$2"; wait'
transfer () {
    local name=$1 client=$2 server=$3 ip=$4 port=$5 bytes=$6 secs=${7:-120}
    local pk=$NPK ext=$NEXT
    [ $server = ours ] && pk=$OPK ext=$OEXT
    local cmd="curvecpclient test.example $pk $ip $port $ext curvecpmessage -c"
    [ $client = ours ] && cmd="$BUILD/curvecp-client -m test.example $pk $ip $port $ext"
    head -c $bytes /dev/urandom > "sent.$name"
    timeout -k 10 $secs $cmd sh -c "$CLIENT_CHILD" sh "sent.$name" "got.$name" 2> "client.$name.err"
    local rc=$? up=none
    for i in $(seq 1 30); do
        for f in up.*; do cmp -s "$f" "sent.$name" && up=$f; done
        [ $up != none ] && break
        sleep 0.1
    done
    if [ $rc -eq 0 ] && cmp -s data.down "got.$name" && [ $up != none ]; then
        echo "PASS: $name ($bytes bytes up, $(stat -c %s data.down) down)"
    else
        echo "FAIL: $name (client exit $rc, $(stat -c %s "got.$name" 2>/dev/null || echo no) bytes down, upload $([ $up = none ] && echo not found || echo found))"
        sed 's/^/    client: /' "client.$name.err" | tail -5
    fi
}
# counters GATEWAYPID LOGFILE: ask for the counters and print their line
counters () {
    local before=$(grep -c '^curvecp-gateway: flows ' "$2")
    kill -USR1 $1
    for i in $(seq 1 50); do
        [ $(grep -c '^curvecp-gateway: flows ' "$2") -gt $before ] && break
        sleep 0.1
    done
    grep '^curvecp-gateway: flows ' "$2" | tail -1
}
# field LINE NAME: the number after NAME in a counters line (first match)
field () { echo "$1" | grep -o "$2 [0-9]*" | head -1 | grep -o '[0-9]*$' || echo 0; }
tally () { grep -c "^$1" results; }

# --- 1. the four combinations at once ----------------------------------------
for c in nacl ours; do
    for s in nacl ours; do
        transfer "${c}client-${s}server" $c $s $GW $GWPORT 1000000 &
    done
done > results
wait_jobs () { for job in $(jobs -p); do case " $PIDS " in *" $job "*) ;; *) wait $job ;; esac; done; }
wait_jobs
cat results
check "four combinations through one gateway port" '[ $(tally PASS) -eq 4 ]'
line=$(counters $GWPID gw.err)
echo "    $line"
check "four flows opened, one per connection" '[ $(field "$line" opened) -eq 4 ]'
check "the gateway dropped nothing from the servers" '! echo "$line" | grep -q "from servers: forwarded [0-9]*,"'

# --- 2. clients that move mid-transfer -------------------------------------------
: > results
for c in ours nacl; do
    port=$RELAYPORT
    [ $c = nacl ] && port=$((RELAYPORT + 700 * 4))
    timeout -k 10 150 $PY "$SRC/tests/gateway_relay.py" $port $GW $GWPORT 400 > relay.$c.out &
    relay=$!
    sleep 0.3
    bytes=3000000
    [ $c = nacl ] && bytes=1000000
    transfer "${c}client-moves" $c $([ $c = ours ] && echo ours || echo nacl) 127.0.0.1 $port $bytes >> results
    kill $relay 2>/dev/null
    grep -q switched relay.$c.out || echo "FAIL: ${c}client-moves: the relay never switched" >> results
done
cat results
check "a client that changes address keeps its stream (ours and NaCl's)" '[ $(tally PASS) -eq 2 ] && [ $(tally FAIL) -eq 0 ]'
line=$(counters $GWPID gw.err)
echo "    $line"
check "the gateway followed both moves" '[ $(field "$line" moved) -ge 2 ]'
check "the moves are logged (-v)" '[ $(grep -c "moved: client 127.0.0.1:" gw.err) -ge 2 ]'

# --- 3. routes file changes ------------------------------------------------------
write_routes "$BOTH_ROUTES
not-a-route 127.0.0.9 1"
for i in $(seq 1 30); do grep -q refused gw.err && break; sleep 0.1; done
check "a bad routes file is refused with its line" 'grep -q "routes file routes refused (line 4: .*): keeping the 2 routes in force" gw.err'
transfer after-bad-routes ours nacl $GW $GWPORT 10000 > results
cat results
check "the old routes still serve" '[ $(tally PASS) -eq 1 ]'

write_routes "$NEXT 127.0.0.2 $NPORT"
for i in $(seq 1 30); do grep -q "reloaded 1 routes" gw.err && break; sleep 0.1; done
check "a good routes file is reloaded" 'grep -q "reloaded 1 routes" gw.err'
before=$(field "$(counters $GWPID gw.err)" wrong-server-ext)
transfer removed-route ours ours $GW $GWPORT 10000 3 > results
line=$(counters $GWPID gw.err)
check "a removed route is not served" '[ $(tally FAIL) -eq 1 ]'
check "its packets are counted as wrong-server-ext" '[ $(field "$line" wrong-server-ext) -gt $before ]'
write_routes "$BOTH_ROUTES"
for i in $(seq 1 30); do grep -q "reloaded 2 routes" gw.err && break; sleep 0.1; done
transfer restored-route ours ours $GW $GWPORT 10000 > results
cat results
check "a restored route serves again" '[ $(tally PASS) -eq 1 ]'

# --- 4. a flood at a gateway with a bound of 64 flows ----------------------------
GW2=127.0.0.5
start_gateway gw2.err -f 64 $GW2 $GWPORT routes
GW2PID=$GATEWAY
rss () { grep VmRSS /proc/$1/status | grep -o '[0-9]*'; }
: > results
transfer flood-early ours ours $GW2 $GWPORT 3000000 >> results &
sleep 0.3
timeout -k 10 60 $PY "$SRC/tests/gateway_flood.py" $GW2 $GWPORT $OEXT 60000 6 > flood.out &
flood=$!
sleep 1
# the baseline once the flood has filled the table and the first transfer
# runs (the table's pages and the sockets' buffers are touched by then):
# from here on, five sixths of the flood may not grow memory
rss_before=$(rss $GW2PID)
transfer flood-late nacl nacl $GW2 $GWPORT 1000000 >> results &
wait $flood
wait_jobs
cat results flood.out
line=$(counters $GW2PID gw2.err)
echo "    $line"
rss_after=$(rss $GW2PID)
check "real clients are served during the flood" '[ $(tally PASS) -eq 2 ]'
check "flows stay within the bound of 64" 'echo "$line" | grep -q "^curvecp-gateway: flows \([0-9]\|[1-5][0-9]\|6[0-4]\) of 64,"'
check "the flood's flows were evicted (LRU)" '[ $(field "$line" evicted) -ge 1000 ]'
check "unknown extensions are counted (wrong-server-ext)" '[ $(field "$line" wrong-server-ext) -ge 15000 ]'
check "junk is counted by size or magic" '[ $(( $(field "$line" too-short) + $(field "$line" too-long) + $(field "$line" not-multiple-16) + $(field "$line" bad-magic) )) -ge 15000 ]'
echo "    VmRSS one second into the flood ${rss_before} kB, after it ${rss_after} kB"
check "memory did not grow during the flood (< 1 MB)" '[ $((rss_after - rss_before)) -lt 1024 ]'

# --- 5. idle flows expire (-i 1) ---------------------------------------------------
GW3=127.0.0.6
start_gateway gw3.err -v -i 1 $GW3 $GWPORT routes
GW3PID=$GATEWAY
transfer expiry ours ours $GW3 $GWPORT 10000 > results
cat results
sleep 2.5
line=$(counters $GW3PID gw3.err)
echo "    $line"
check "an idle flow expires" '[ $(tally PASS) -eq 1 ] && [ $(field "$line" expired) -eq 1 ] && echo "$line" | grep -q "^curvecp-gateway: flows 0 of 1000,"'
check "its expiry is logged (-v)" 'grep -q "flow 0 expired" gw3.err'

# --- exit: counters on SIGTERM, exit 0 -------------------------------------------
kill -TERM $GWPID
wait $GWWRAPPER
rc=$?
check "SIGTERM prints the counters and exits 0" '[ $rc -eq 0 ] && [ $(grep -c "^curvecp-gateway: flows " gw.err) -ge 5 ]'
if [ $failures -ne 0 ]; then
    echo "--- gateway log (tail)"; tail -20 gw.err; echo "--- flood gateway log"; tail -5 gw2.err
fi
echo "test_gateway: $failures failures"
[ $failures -eq 0 ]
