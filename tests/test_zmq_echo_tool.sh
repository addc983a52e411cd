#!/bin/bash
# curvecp-zmq-echo (rfc/curvecp.md 12.8): server and client modes from a
# shell. Echo of argument and stdin messages (with a NaCl key directory and
# with zcert files), the server's -v line naming the client's key, refusals
# that end with a clear message and a non-zero exit within a bounded time
# (wrong server key, wrong server name), usage and fatal errors, and a
# clean exit 0 on SIGTERM and on SIGINT.
# Usage: test_zmq_echo_tool.sh <build dir> <source dir>
set -u
build=${1:?build directory}
echo_tool="$build/curvecp-zmq-echo"
makekey="$build/curvecp-makekey"
printkey="$build/curvecp-printkey"
work=$(mktemp -d /tmp/test_zmq_echo_tool.XXXXXX)
failures=0
server_pid=""

cleanup () {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

check () {             # check <description> <command...>: passes if the command succeeds
    local what=$1
    shift
    if "$@"; then
        echo "ok: $what"
    else
        echo "FAILED: $what"
        failures=$((failures + 1))
    fi
}

# start_server <log> <args...>: runs the server with -v on a free port;
# sets server_pid and endpoint (from its "listening" line).
start_server () {
    local log=$1
    shift
    timeout -k 10 120 "$echo_tool" -v "$@" tcp://127.0.0.1:* 2> "$log" &
    server_pid=$!
    endpoint=""
    for _ in $(seq 1 50); do
        endpoint=$(sed -n 's/^listening //p' "$log")
        [ -n "$endpoint" ] && return 0
        sleep 0.1
    done
    echo "server did not start:"; cat "$log"
    exit 1
}

# stop_server <signal>: the server must exit 0 within 5 s.
stop_server () {
    kill "-$1" "$server_pid"
    local waited=0
    while kill -0 "$server_pid" 2>/dev/null && [ $waited -lt 50 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 "$server_pid" 2>/dev/null; then
        echo "FAILED: server still running 5 s after SIG$1"
        failures=$((failures + 1))
        kill -KILL "$server_pid"
    fi
    wait "$server_pid"
    stopped_rc=$?
    server_pid=""
}

[ -x "$echo_tool" ] || { echo "missing $echo_tool"; exit 1; }

# ---- usage and fatal errors -------------------------------------------------
"$echo_tool" > /dev/null 2> "$work/usage.err"
rc=$?
check "no arguments: usage, exit 100" [ $rc -eq 100 ]
check "usage text names both modes" grep -q -- "-c \[-v\]" "$work/usage.err"
"$echo_tool" -t 0 -c x y > /dev/null 2>&1
check "-t 0 is a usage error" [ $? -eq 100 ]
"$echo_tool" -n "$(printf 'a%.0s' $(seq 1 70))" k tcp://127.0.0.1:1 > /dev/null 2>&1
check "a 70-byte label in -n is a usage error" [ $? -eq 100 ]
"$echo_tool" "$work/none" tcp://127.0.0.1:1 2> "$work/nokeys.err"
check "unreadable keys: exit 111" [ $? -eq 111 ]
check "... with a message" grep -q "unable to read keys" "$work/nokeys.err"
"$echo_tool" -c nothex tcp://127.0.0.1:1 x 2> "$work/badkey.err"
check "bad serverkey: exit 111" [ $? -eq 111 ]
check "... with a message" grep -q "neither 64 hex digits" "$work/badkey.err"

"$makekey" "$work/server" || exit 1
"$makekey" "$work/client" || exit 1
"$echo_tool" "$work/server" "nonsense://x" 2> "$work/bind.err"
check "an endpoint that cannot be bound: exit 111" [ $? -eq 111 ]
check "... with a message" grep -q "unable to bind" "$work/bind.err"
"$echo_tool" -c "$(printf '%064x' 1)" "nonsense://x" hello 2> "$work/connect.err"
check "an endpoint that cannot be connected: exit 111" [ $? -eq 111 ]
check "... with a message" grep -q "unable to connect" "$work/connect.err"

# ---- echo with a key directory ------------------------------------------------
server_key=$("$printkey" "$work/server")
client_key=$("$printkey" "$work/client")
start_server "$work/server1.log" "$work/server"
timeout -k 10 30 "$echo_tool" -c -v -k "$work/client" "$server_key" "$endpoint" \
    hello "two words" "" "$(printf 'x%.0s' $(seq 1 3000))" > "$work/out1" 2> "$work/err1"
rc=$?
check "client with arguments: exit 0" [ $rc -eq 0 ]
printf 'hello\ntwo words\n\n%s\n' "$(printf 'x%.0s' $(seq 1 3000))" > "$work/want1"
check "four replies printed in order, byte-exact" cmp -s "$work/out1" "$work/want1"
check "client -v prints its key" grep -qx "key $client_key" "$work/err1"

printf 'line one\nline two\nline three\n' | timeout -k 10 30 "$echo_tool" -c "$work/server" "$endpoint" > "$work/out2"
rc=$?
check "stdin lines, server key from its key directory: exit 0" [ $rc -eq 0 ]
check "three lines echoed" [ "$(cat "$work/out2")" = "$(printf 'line one\nline two\nline three')" ]

timeout -k 10 30 "$echo_tool" -c "$server_key" "$endpoint" < /dev/null > "$work/out3"
check "no messages at all: handshake only, exit 0" [ $? -eq 0 ]

# ---- refusals: clear message, non-zero exit, bounded time ------------------------
wrong_key=$(printf '%064x' 12345)
start=$(date +%s)
timeout -k 10 20 "$echo_tool" -c -t 2 "$wrong_key" "$endpoint" hello > "$work/out4" 2> "$work/err4"
rc=$?
elapsed=$(( $(date +%s) - start ))
# a failed handshake is a failed connection: NaCl's fatal code (issue 15)
check "wrong server key: exit 111 (not killed by the 20 s guard: rc $rc)" [ $rc -eq 111 ]
check "... in one line naming the failure" grep -qx "curvecp-zmq-echo: fatal: .*(handshake-timeout; 0 of 1 replies)" "$work/err4"
check "... says no Cookie came (wrong key)" grep -q "no Cookie from the server" "$work/err4"
check "... prints no reply" [ ! -s "$work/out4" ]
echo "wrong key refused after ${elapsed}s (-t 2)"

timeout -k 10 20 "$echo_tool" -c -t 2 -n other.example "$server_key" "$endpoint" hello > /dev/null 2> "$work/err5"
rc=$?
check "wrong server name: exit 111" [ $rc -eq 111 ]
check "... says the Initiate was never answered" grep -q "never answered the Initiate" "$work/err5"

stop_server TERM
check "SIGTERM: server exits 0 (rc $stopped_rc)" [ "$stopped_rc" -eq 0 ]
check "server -v named the client's key" grep -qx "client $client_key" "$work/server1.log"
clients=$(grep -c '^client [0-9a-f]\{64\}$' "$work/server1.log")
# the two clients that sent messages; the handshake-only one sent none
check "server -v named exactly the 2 connections that sent messages (got $clients)" [ "$clients" -eq 2 ]

# ---- zcert files and a server name; SIGINT ------------------------------------------
if /usr/bin/python3 -c "import zmq.auth" 2>/dev/null; then
    /usr/bin/python3 -c "import zmq.auth, sys; zmq.auth.create_certificates(sys.argv[1], 'server')" "$work"
    start_server "$work/server2.log" -n echo.example "$work/server.key_secret"
    timeout -k 10 30 "$echo_tool" -c -n echo.example "$work/server.key" "$endpoint" zcert > "$work/out6"
    check "zcert server keys, zcert public file as serverkey, -n name: exit 0" [ $? -eq 0 ]
    check "... echoed" [ "$(cat "$work/out6")" = zcert ]
    stop_server INT
    check "SIGINT: server exits 0 (rc $stopped_rc)" [ "$stopped_rc" -eq 0 ]
else
    echo "SKIP: python3 zmq.auth not available to write zcert files"
fi

# ---- curvecp-makekey -z: zcert pairs round trip; -a allow-list -----------------------
"$makekey" -z "$work/zserver" || exit 1
mkdir "$work/allowed"
"$makekey" -z "$work/allowed/friend" || exit 1
mv "$work/allowed/friend_secret" "$work/friend_secret"
check "makekey -z: the secret file is 0600" [ "$(stat -c %a "$work/zserver_secret")" = 600 ]
check "printkey reads both halves alike" [ "$("$printkey" "$work/zserver")" = "$("$printkey" "$work/zserver_secret")" ]
"$makekey" -z "$work/zserver" 2> "$work/err7"
check "makekey -z never overwrites (exit 111)" [ $? -eq 111 ]
start_server "$work/server3.log" -a "$work/allowed" "$work/zserver_secret"
timeout -k 10 30 "$echo_tool" -c -k "$work/friend_secret" "$work/zserver" "$endpoint" friend > "$work/out8"
check "makekey -z keys, -a: a listed client is echoed" [ $? -eq 0 ] && [ "$(cat "$work/out8")" = friend ]
check "... the server named it in hex" grep -qx "client $("$printkey" "$work/allowed/friend")" "$work/server3.log"
timeout -k 10 30 "$echo_tool" -c -t 2 "$work/zserver" "$endpoint" stranger > /dev/null 2> "$work/err9"
check "-a: an unlisted client fails (exit 111)" [ $? -eq 111 ]
check "... in one line" [ "$(wc -l < "$work/err9")" -eq 1 ]
stop_server TERM
"$echo_tool" -a "$work/nothere" "$work/zserver_secret" tcp://127.0.0.1:* 2> /dev/null
check "-a with a missing directory: exit 111" [ $? -eq 111 ]
"$echo_tool" -c -a "$work/allowed" "$work/zserver" tcp://127.0.0.1:5 2> /dev/null
check "-a on a client: usage error 100" [ $? -eq 100 ]
"$echo_tool" "$work/zserver_secret" tcp://127.0.0.1:99998 2> "$work/err10"
check "port 99998: usage error 100" [ $? -eq 100 ]
check "... naming the endpoint" grep -q "bad endpoint: 'tcp://127.0.0.1:99998'" "$work/err10"

if [ $failures -ne 0 ]; then
    echo "test_zmq_echo_tool: $failures check(s) failed"
    exit 1
fi
echo "test_zmq_echo_tool: OK"
