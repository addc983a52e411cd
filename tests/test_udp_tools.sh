#!/bin/bash
# test_udp_tools.sh BUILD SRC - curvecp-server / curvecp-client as tools:
# usage and fatal exit codes (100 / 111, as NaCl's), the child's exit code
# passed through, virtual hosts (-H), an address list with a dead address,
# IPv6, and the -m mode with the program on fds 6/7.
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SERVER=$BUILD/curvecp-server
CLIENT=$BUILD/curvecp-client
WORK=$(mktemp -d /tmp/curvecp-tools.XXXXXX)
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
EXT=000102030405060708090a0b0c0d0e0f
PORT=$((43000 + $$ % 1000))

# ---- usage and fatal errors ------------------------------------------------
$SERVER >/dev/null 2>&1; check "server without arguments exits 100" 100 $?
$SERVER -c 0 n key 127.0.0.1 $PORT $EXT cat >/dev/null 2>&1; check "server -c 0 exits 100" 100 $?
$SERVER -x n key 127.0.0.1 $PORT $EXT cat >/dev/null 2>&1; check "server unknown option exits 100" 100 $?
$SERVER n key 127.0.0.1 $PORT 0011 cat >/dev/null 2>&1; check "server short ext exits 100" 100 $?
$SERVER n key 127.0.0.1 123456 $EXT cat >/dev/null 2>&1; check "server 6-digit port exits 100" 100 $?
$SERVER n key 1.2.3 $PORT $EXT cat >/dev/null 2>&1; check "server bad ip exits 100" 100 $?
out=$($SERVER n nokeydir 127.0.0.1 $PORT $EXT cat 2>&1); check "server missing keydir exits 111" 111 $?
# quiet by default as curvecpserver, but a failure to start says why (issue 15)
check "server says why it cannot start" "curvecp-server: fatal: unable to read key directory nokeydir: unable to read nokeydir/publickey: file does not exist" "$out"
out=$($SERVER -q n nokeydir 127.0.0.1 $PORT $EXT cat 2>&1); check "server -q: still 111" 111 $?
check "server -q is silent" "" "$out"
out=$($SERVER -Q n nokeydir 127.0.0.1 $PORT $EXT cat 2>&1)
case "$out" in *fatal*) check "server -Q prints the fatal error" yes yes ;; *) check "server -Q prints the fatal error" fatal "$out" ;; esac
$CLIENT >/dev/null 2>&1; check "client without arguments exits 100" 100 $?
$CLIENT n 00 127.0.0.1 $PORT $EXT cat >/dev/null 2>&1; check "client short key exits 100" 100 $?
$CLIENT n $PK 127.0.0.1,,127.0.0.2 $PORT $EXT cat >/dev/null 2>&1; check "client bad ip list exits 100" 100 $?
$CLIENT -c nokeydir n $PK 127.0.0.1 $PORT $EXT cat >/dev/null 2>&1; check "client missing keydir exits 111" 111 $?

# ---- a server with three names ---------------------------------------------
timeout -k 10 60 $SERVER -m -H 'b.example=echo B-here' -H 'c.example=exit 3' \
    a.example key 127.0.0.1 $PORT $EXT sh -c 'echo A-here' &
SERVER_PIDS="$SERVER_PIDS $!"
sleep 0.3
out=$(timeout -k 10 10 $CLIENT -m a.example $PK 127.0.0.1 $PORT $EXT sh -c 'cat <&6'); rc=$?
check "name a.example runs prog" "A-here/0" "$out/$rc"
out=$(timeout -k 10 10 $CLIENT -m b.example $PK 127.0.0.1 $PORT $EXT sh -c 'cat <&6'); rc=$?
check "name b.example runs its -H command" "B-here/0" "$out/$rc"
out=$(timeout -k 10 10 $CLIENT -m c.example $PK 127.0.0.1 $PORT $EXT sh -c 'cat <&6; exit 5'); rc=$?
check "client exits with its child's code" "/5" "$out/$rc"
out=$(timeout -k 10 3 $CLIENT -m nothere.example $PK 127.0.0.1 $PORT $EXT sh -c 'cat <&6'); rc=$?
check "an unknown name is never served (client times out)" "/124" "$out/$rc"
# fd 8/9 client against the -m server, with a dead address in the list
# (127.0.0.9 has no server: its Hello costs one wait if tried first)
start=$(date +%s.%N)
out=$(timeout -k 10 30 $CLIENT b.example $PK 127.0.0.9,127.0.0.1 $PORT $EXT curvecpmessage -c sh -c 'cat <&6'); rc=$?
echo "     (address list with a dead address: $(echo "$(date +%s.%N) - $start" | bc) s)"
check "address list with a dead address" "B-here/0" "$out/$rc"

# ---- IPv6 and the fd 8/9 server --------------------------------------------
PORT6=$((PORT + 1))
timeout -k 10 60 $SERVER v6.example key ::1 $PORT6 $EXT curvecpmessage sh -c 'tr a-z A-Z' &
SERVER_PIDS="$SERVER_PIDS $!"
sleep 0.3
out=$(timeout -k 10 10 $CLIENT -m v6.example $PK ::1 $PORT6 $EXT sh -c 'echo hello six >&7; exec 7>&-; cat <&6'); rc=$?
check "IPv6, fd 8/9 server with curvecpmessage, -m client" "HELLO SIX/0" "$out/$rc"

# ---- -c limit: a second client waits for the first --------------------------
PORT1=$((PORT + 2))
timeout -k 10 60 $SERVER -m -c 1 one.example key 127.0.0.1 $PORT1 $EXT sh -c 'head -c 3; echo done' &
SERVER_PIDS="$SERVER_PIDS $!"
sleep 0.3
( sleep 1.5; echo abc ) | timeout -k 10 20 $CLIENT -m one.example $PK 127.0.0.1 $PORT1 $EXT sh -c 'exec 3<&0; cat <&3 >&7 & exec 7>&- 3<&-; cat <&6' > first.out &
first=$!
sleep 0.5
out=$(echo xyz | timeout -k 10 20 $CLIENT -m one.example $PK 127.0.0.1 $PORT1 $EXT sh -c 'exec 3<&0; cat <&3 >&7 & exec 7>&- 3<&-; cat <&6'); rc=$?
wait $first
check "limit 1: first client served" "abcdone" "$(tr -d '\n' < first.out)"
check "limit 1: second client served after the first" "xyzdone/0" "$(echo $out | tr -d ' \n')/$rc"

echo "test_udp_tools: $fails failure(s)"
[ $fails -eq 0 ]
