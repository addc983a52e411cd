#!/bin/bash
# test_udp_workers_tools.sh BUILD SRC - curvecp-server -w N (N worker
# threads on one port): bad -w values exit 100; with -w 2 and -w 4 the
# fd 8/9 server (NaCl's curvecpmessage as each connection's handler) and
# the -m server serve many clients at once, NaCl's curvecpclient and
# curvecp-client alike, each getting its own answer; the server runs N
# threads.
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SERVER=$BUILD/curvecp-server
CLIENT=$BUILD/curvecp-client
for tool in curvecpclient curvecpmessage curvecpmakekey curvecpprintkey; do
    command -v $tool >/dev/null || { echo "FAIL: NaCl tool $tool is missing (apt-get install nacl-tools)"; exit 1; }
done
WORK=$(mktemp -d /tmp/curvecp-workers.XXXXXX)
SERVER_PIDS=""
cleanup () {
    for p in $SERVER_PIDS; do kill $p 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
fails=0
check () {   # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}
curvecpmakekey key >/dev/null
PK=$(curvecpprintkey key)
EXT=00112233445566778899aabbccddeeff
PORT=$((48500 + $$ % 400))
CLIENTS=12

$SERVER -w 0 n key 127.0.0.1 $PORT $EXT cat >/dev/null 2>&1; check "server -w 0 exits 100" 100 $?
$SERVER -w 65 n key 127.0.0.1 $PORT $EXT cat >/dev/null 2>&1; check "server -w 65 exits 100" 100 $?
$SERVER -w x n key 127.0.0.1 $PORT $EXT cat >/dev/null 2>&1; check "server -w x exits 100" 100 $?

# serve W MODE PORT: clients in parallel, half NaCl's, half ours
serve () {
    local w=$1 mode=$2 port=$3
    if [ "$mode" = m ]; then
        timeout -k 10 120 $SERVER -m -w $w -c 64 w.example key 127.0.0.1 $port $EXT sh -c 'tr a-z A-Z' &
    else
        timeout -k 10 120 $SERVER -w $w -c 64 w.example key 127.0.0.1 $port $EXT curvecpmessage sh -c 'tr a-z A-Z' &
    fi
    local pid=$!
    SERVER_PIDS="$SERVER_PIDS $pid"
    sleep 0.3
    local server_pid=$(cat /proc/$pid/task/$pid/children 2>/dev/null | tr -d ' ')   # timeout's child
    check "-w $w ($mode): the server runs $w threads" $w "$(ls /proc/$server_pid/task 2>/dev/null | wc -l)"
    local pids=""
    for i in $(seq 1 $CLIENTS); do
        if [ $((i % 2)) = 0 ]; then
            timeout -k 10 30 curvecpclient w.example $PK 127.0.0.1 $port $EXT curvecpmessage -c \
                sh -c "echo client $i >&7; exec 7>&-; cat <&6" > out.$w.$mode.$i 2>/dev/null &
        else
            timeout -k 10 30 $CLIENT -m w.example $PK 127.0.0.1 $port $EXT \
                sh -c "echo client $i >&7; exec 7>&-; cat <&6" > out.$w.$mode.$i 2>/dev/null &
        fi
        pids="$pids $!"
    done
    local ok=0
    for p in $pids; do wait $p; done
    for i in $(seq 1 $CLIENTS); do
        [ "$(cat out.$w.$mode.$i)" = "CLIENT $i" ] && ok=$((ok + 1))
    done
    check "-w $w ($mode): $CLIENTS clients at once (NaCl's and ours) answered" $CLIENTS $ok
    kill $pid 2>/dev/null
}
serve 2 fds $PORT
serve 4 fds $((PORT + 1))
serve 2 m $((PORT + 2))
serve 4 m $((PORT + 3))

[ $fails = 0 ] && echo "test_udp_workers_tools: ok" && exit 0
echo "test_udp_workers_tools: $fails failed"
exit 1
