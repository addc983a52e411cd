#!/bin/bash
# test_tool_failures.sh BUILD SRC - a failed transfer never looks like a
# success (issue 15): when the peer goes silent (SIGSTOP) and the message
# layer gives up, curvecp-client -m, curvecp-server -m and curvecp-message
# end with exit 111 and one line naming the failure, and the program they
# run is told: its input is closed and it gets SIGHUP. The give-up is
# shortened with CURVECP_GIVE_UP_MS so each case takes a few seconds.
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SERVER=$BUILD/curvecp-server
CLIENT=$BUILD/curvecp-client
MESSAGE=$BUILD/curvecp-message
WORK=$(mktemp -d /tmp/curvecp-failures.XXXXXX)
PIDS=""
cleanup () {
    for p in $PIDS; do kill -CONT $p 2>/dev/null; kill $p 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
fails=0
check () {   # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}
contains () {   # contains NAME NEEDLE HAYSTACK
    case "$3" in *"$2"*) echo "ok   $1" ;; *) echo "FAIL $1: '$2' not in '$3'"; fails=$((fails + 1)) ;; esac
}
elapsed () { echo "$(date +%s.%N) - $1" | bc; }
within () {   # within NAME SECONDS START
    local took; took=$(elapsed "$3")
    check "$1 (took $took s)" yes "$(echo "$took < $2" | bc -l | sed 's/1/yes/;s/0/no/')"
}

"$BUILD/curvecp-makekey" key
PK=$("$BUILD/curvecp-printkey" key)
EXT=000102030405060708090a0b0c0d0e0f
PORT=$((45000 + $$ % 1000))
export CURVECP_GIVE_UP_MS=1500
# The program notes SIGHUP in a file; its own exit code (7) must not win.
HUP_PROG='trap "echo hup > $0.hup; exit 7" HUP; cat /dev/zero >&7'

# start_server NAME ARGS...: in the background, pid in SERVER_PID
start_server () {
    local name=$1; shift
    "$SERVER" "$@" 2> "$name.err" &
    SERVER_PID=$!
    PIDS="$PIDS $SERVER_PID"
    sleep 0.3
}

# ---- 1. client -m, server silent: the client gives up --------------------
start_server s1 -m -Q one key 127.0.0.1 $PORT $EXT sh -c 'cat > /dev/null'
( sleep 1; kill -STOP $SERVER_PID ) &
start=$(date +%s.%N)
err=$(timeout -k 10 20 "$CLIENT" -m one $PK 127.0.0.1 $PORT $EXT sh -c "$HUP_PROG" c1 2>&1); rc=$?
check "client -m, server silent: exit 111 (not 0, not the program's 7)" 111 $rc
check "client -m: one line saying what happened" \
    "curvecp-client: fatal: server stopped acknowledging data (peer-silent)" "$err"
check "client -m: the program got SIGHUP" hup "$(cat c1.hup 2>/dev/null)"
within "client -m: the give-up came in bounded time" 8 "$start"
kill -CONT $SERVER_PID; kill $SERVER_PID; wait $SERVER_PID 2>/dev/null

# ---- 2. server -m, client silent: the server's program is told ------------
PORT2=$((PORT + 1))
start_server s2 -m -Q two key 127.0.0.1 $PORT2 $EXT sh -c 'trap "echo hup > s2.hup; exit 7" HUP; cat /dev/zero'
"$CLIENT" -m two $PK 127.0.0.1 $PORT2 $EXT sh -c 'cat <&6 > /dev/null' 2>/dev/null & cp=$!
PIDS="$PIDS $cp"
sleep 1
kill -STOP $cp
for _ in $(seq 80); do [ -e s2.hup ] && break; sleep 0.1; done
check "server -m, client silent: the program got SIGHUP" hup "$(cat s2.hup 2>/dev/null)"
sleep 0.2
contains "server -m -Q: says the connection failed" "failed: client stopped acknowledging data (peer-silent)" "$(cat s2.err)"
check "server -m: still running after a failed connection" yes "$(kill -0 $SERVER_PID 2>/dev/null && echo yes || echo no)"
kill -9 $cp 2>/dev/null; wait $cp 2>/dev/null
kill $SERVER_PID; wait $SERVER_PID 2>/dev/null

# ---- 3. curvecp-message under curvecp-client, server silent ---------------
PORT3=$((PORT + 2))
start_server s3 three key 127.0.0.1 $PORT3 $EXT "$MESSAGE" sh -c 'cat > /dev/null'
( sleep 1; kill -STOP $SERVER_PID ) &
start=$(date +%s.%N)
err=$(timeout -k 10 20 "$CLIENT" three $PK 127.0.0.1 $PORT3 $EXT "$MESSAGE" -c sh -c "$HUP_PROG" m3 2>&1); rc=$?
check "curvecp-message, server silent: exit 111 through curvecp-client" 111 $rc
contains "curvecp-message: one line saying what happened" \
    "curvecp-message: fatal: connection failed: the server stopped acknowledging data (peer-silent" "$err"
check "curvecp-message: no 'killed by signal' from the client" no \
    "$(echo "$err" | grep -q 'killed by signal' && echo yes || echo no)"
check "curvecp-message: the program got SIGHUP" hup "$(cat m3.hup 2>/dev/null)"
within "curvecp-message: the give-up came in bounded time" 8 "$start"
kill -CONT $SERVER_PID; kill $SERVER_PID; wait $SERVER_PID 2>/dev/null

# ---- 4. a clean transfer still exits with the program's code, promptly ----
PORT4=$((PORT + 3))
start_server s4 -m -Q four key 127.0.0.1 $PORT4 $EXT sh -c 'cat'
start=$(date +%s.%N)
out=$(head -c 300000 /dev/zero | timeout -k 10 20 "$CLIENT" -m four $PK 127.0.0.1 $PORT4 $EXT \
      sh -c 'exec 3<&0; cat <&3 >&7 & exec 7>&- 3<&-; wc -c <&6; exit 4'); rc=$?
check "clean echo: the program's exit code" "300000/4" "$(echo $out)/$rc"
within "clean echo on loopback: the linger stays short" 3 "$start"
sleep 0.3
check "clean echo: no failure at the server" "" "$(cat s4.err)"
kill $SERVER_PID; wait $SERVER_PID 2>/dev/null

# ---- 5. client -v: each Hello is said; a taken port is named --------------
PORT5=$((PORT + 4))
err=$(timeout -k 10 2.5 "$CLIENT" -v five $PK 127.0.0.1 $PORT5 $EXT true 2>&1)
contains "client -v: first Hello" "curvecp-client: Hello 1 of 8 to 127.0.0.1:$PORT5" "$err"
contains "client -v: second Hello" "curvecp-client: Hello 2 of 8 to 127.0.0.1:$PORT5" "$err"
start_server s5 five key 127.0.0.1 $PORT5 $EXT true
err=$("$SERVER" five key 127.0.0.1 $PORT5 $EXT true 2>&1); rc=$?
check "server on a taken port: exit 111" 111 $rc
check "server on a taken port: says why" \
    "curvecp-server: fatal: unable to bind UDP port $PORT5 on 127.0.0.1: Address already in use" "$err"
kill $SERVER_PID; wait $SERVER_PID 2>/dev/null

# ---- 6. the peer's failure EOF: a refused client of a fileserver with -a ----
mkdir -p served allowed
PORT6=$((PORT + 5))
"$BUILD/curvecp-fileserver" -q -a allowed -k key served 127.0.0.1:$PORT6 > /dev/null 2>&1 & FS=$!
PIDS="$PIDS $FS"
sleep 0.3
start=$(date +%s.%N)
err=$(timeout -k 10 20 "$CLIENT" -m localhost $PK 127.0.0.1 $PORT6 00000000000000000000000000000000 \
      sh -c 'trap "exit 0" HUP; while :; do sleep 0.1; done' 2>&1); rc=$?
check "failure EOF from the server: exit 111 (the program's own code was 0)" 111 $rc
check "failure EOF: one line saying so" \
    "curvecp-client: fatal: the peer ended its stream with a failure (failure-eof)" "$err"
# (the refusal comes before sh can set its trap, so SIGHUP just ends it:
#  the SIGHUP itself is checked in 1-3)
within "failure EOF: promptly" 8 "$start"
err=$(timeout -k 10 20 "$CLIENT" localhost $PK 127.0.0.1 $PORT6 00000000000000000000000000000000 \
      "$MESSAGE" -c sh -c 'trap "exit 0" HUP; while :; do sleep 0.1; done' 2>&1); rc=$?
check "failure EOF through curvecp-message: exit 111" 111 $rc
check "failure EOF through curvecp-message: one line saying so" \
    "curvecp-message: fatal: the server ended its stream with a failure (failure-eof)" "$err"
kill $FS; wait $FS 2>/dev/null

# ---- 7. the client lingers: its last acknowledgement lost, it answers ----
# the server's retransmission. A relay drops what the client sends just
# after the server's late data and EOF; without the linger the server
# would resend to nobody and give up (-Q prints that).
cat > relay.py <<'PYEOF'
import socket, select, sys, time
listen, server = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", listen))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
client = None; last = None; drop_until = None; dropped = 0
end = time.monotonic() + 20
while time.monotonic() < end:
    for sock in select.select([s, u], [], [], 0.5)[0]:
        data, addr = sock.recvfrom(65536)
        now = time.monotonic()
        if sock is s:
            client = addr
            if drop_until is not None and now < drop_until:
                dropped += 1; print("dropped", dropped, flush=True); continue
            u.sendto(data, ("127.0.0.1", server))
        else:
            # the server speaks after 300 ms of quiet: lose the client's answer (5 ms)
            if last is not None and now - last > 0.3 and drop_until is None:
                drop_until = now + 0.005
            last = now
            if client: s.sendto(data, client)
PYEOF
PORT7=$((PORT + 6)); RELAY7=$((PORT + 7))
CURVECP_GIVE_UP_MS=1000 "$SERVER" -m -Q seven key 127.0.0.1 $PORT7 $EXT sh -c 'echo early; sleep 0.6; echo late' 2> s7.err &
SERVER_PID=$!; PIDS="$PIDS $SERVER_PID"
/usr/bin/python3 relay.py $RELAY7 $PORT7 > relay.out & RP=$!
PIDS="$PIDS $RP"
sleep 0.4
out=$(timeout -k 10 10 "$CLIENT" -m seven $PK 127.0.0.1 $RELAY7 $EXT sh -c 'exec 7>&-; cat <&6'); rc=$?
check "linger: the transfer itself" "early late/0" "$(echo $out)/$rc"
sleep 1.6       # past the server's give-up, had it been left unanswered
contains "linger: the relay lost the client's acknowledgement" "dropped 1" "$(cat relay.out)"
check "linger: the server's resent EOF was answered (no give-up)" "" "$(cat s7.err)"
kill $SERVER_PID $RP; wait $SERVER_PID $RP 2>/dev/null

[ $fails -eq 0 ] && echo "test_tool_failures: OK" || echo "test_tool_failures: $fails failure(s)"
[ $fails -eq 0 ]
