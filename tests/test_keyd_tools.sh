#!/bin/bash
# test_keyd_tools.sh BUILD SRC - the key service from a shell:
#  - curvecp-keys new-admin / add / revoke / list against curvecp-keyd;
#    a change signed by another administrator key is refused (exit 1)
#    and changes nothing; usage errors (arguments, server name, a bad -K
#    spec) exit 100; unreadable keys, a state directory or file it cannot
#    use, an endpoint it cannot bind exit 111;
#  - a ØMQ server (curvecp-zmq-echo -K) and a UDP server (curvecp-server
#    -K) use a replica as their live allow-list: a client in the set is
#    served; one second after its revocation the next handshake of the
#    revoked client is refused by both; another client is still served;
#  - the service stopped: each server says it lost the service and keeps
#    serving its last signed set;
#  - known servers: curvecp-zmq-echo -c, curvecp-client and curvecp-fetch
#    take a server name where they take a key (the known-servers file, or
#    the key service); the first explicit key is recorded; a different
#    one later is refused (clear message) until the line is deleted; an
#    unknown name is an error; without a file nothing is recorded.
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
WORK=$(mktemp -d /tmp/curvecp-keyd-tools.XXXXXX)
PIDS=""
cleanup () {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK" || exit 1
fails=0
check () {   # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}
contains () {   # contains NAME NEEDLE HAYSTACK
    case "$3" in *"$2"*) echo "ok   $1" ;; *) echo "FAIL $1: no '$2' in '$3'"; fails=$((fails + 1)) ;; esac
}
KEYS=$BUILD/curvecp-keys
KEYD=$BUILD/curvecp-keyd
ECHO=$BUILD/curvecp-zmq-echo
CLIENT=$BUILD/curvecp-client
SERVER=$BUILD/curvecp-server
export CURVECP_KNOWN_SERVERS=""        # no known-servers file until the tests below name one

wait_for () {   # wait_for FILE PATTERN: up to 5 s
    for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}

# ---- keys and the service -----------------------------------------------------
ADMIN=$("$KEYS" new-admin admin); check "new-admin prints the public key" 64 "${#ADMIN}"
check "new-admin: the public file" "$ADMIN" "$(cat admin.pub)"
check "new-admin: the secret is 0600" 600 "$(stat -c %a admin)"
"$KEYS" new-admin admin >/dev/null 2>&1; check "new-admin refuses an existing file" 111 $?
"$KEYS" new-admin other >/dev/null
for k in keyd-keys alice bob srv; do "$BUILD/curvecp-makekey" $k || exit 1; done
KK=$("$BUILD/curvecp-printkey" keyd-keys)
ALICE=$("$BUILD/curvecp-printkey" alice)
BOB=$("$BUILD/curvecp-printkey" bob)
SRV=$("$BUILD/curvecp-printkey" srv)

timeout -k 10 120 "$KEYD" -v keyd-keys admin.pub state tcp://127.0.0.1:0 2> keyd.log &
KEYD_PID=$!; PIDS="$PIDS $KEYD_PID"
wait_for keyd.log listening || { echo "FAIL keyd did not start"; cat keyd.log; exit 1; }
EP=$(sed -n 's/^listening //p' keyd.log)
"$KEYD" keyd-keys >/dev/null 2>&1; check "keyd: too few arguments exit 100" 100 $?
"$KEYD" keyd-keys nothex state2 tcp://127.0.0.1:0 >/dev/null 2>&1; check "keyd: bad adminkey exit 100" 100 $?
timeout -k 10 20 "$KEYD" keyd-keys admin.pub state2 tcp://127.0.0.1:0 extra >/dev/null 2>&1; check "keyd: too many arguments exit 100" 100 $?
LONG_LABEL=$(printf '%064d' 0)         # a label is 1..63 bytes
timeout -k 10 20 "$KEYD" -n "$LONG_LABEL" keyd-keys admin.pub state2 tcp://127.0.0.1:0 >/dev/null 2>&1
check "keyd: bad server name exit 100" 100 $?
timeout -k 10 20 "$KEYD" no-such-keys admin.pub state2 tcp://127.0.0.1:0 >/dev/null 2>&1; check "keyd: unreadable keys exit 111" 111 $?
: > not-a-dir
timeout -k 10 20 "$KEYD" keyd-keys admin.pub not-a-dir/sub tcp://127.0.0.1:0 >/dev/null 2>&1
check "keyd: a state directory it cannot make exit 111" 111 $?
mkdir -p junk-state && head -c 100 /dev/urandom > junk-state/keyset
out=$(timeout -k 10 20 "$KEYD" keyd-keys admin.pub junk-state tcp://127.0.0.1:0 2>&1); rc=$?
check "keyd: a state file that is no signed set exit 111" 111 $rc
contains "... says which file" "junk-state/keyset" "$out"
timeout -k 10 20 "$KEYD" keyd-keys admin.pub state2 not-an-endpoint >/dev/null 2>&1; check "keyd: an endpoint it cannot bind exit 111" 111 $?
for bad in "" "$KK" "$KK@" "@$EP" "${KK:1}@$EP" "x${KK:1}@$EP" "$KK@tcp://127.0.0.1 :1"; do
    timeout -k 10 20 "$ECHO" -K "$bad" -A admin.pub keyd-keys tcp://127.0.0.1:0 >/dev/null 2>&1
    check "zmq-echo: bad -K '$bad' exit 100" 100 $?
done
"$KEYS" add "$KK" "$EP" "$ALICE" alice >/dev/null 2>&1; check "add without -a: exit 100" 100 $?
"$KEYS" frob >/dev/null 2>&1; check "unknown command: exit 100" 100 $?

out=$("$KEYS" -a admin add "$KK" "$EP" alice alice team=ops); check "add alice: exit 0" 0 $?
check "add alice: says so" "seq 1: added alice $ALICE" "$out"
"$KEYS" -a admin add "$KK" "$EP" "$BOB" bob >/dev/null; check "add bob: exit 0" 0 $?
"$KEYS" -a admin add "$KK" "$EP" "$SRV" echo.example role=server >/dev/null; check "add a server's key: exit 0" 0 $?
out=$("$KEYS" -A admin.pub list "$KK" "$EP")
check "list: three entries at seq 3" "seq 3 entries 3" "$(echo "$out" | head -1)"
contains "list: alice active with her metadata" "$ALICE alice added=" "$out"
contains "list: metadata" "active team=ops" "$out"
# (the service refusing a change signed by another key: test_keys_replica)
out=$("$KEYS" -a other add "$KK" "$EP" "$BOB" mallory 2>&1); rc=$?
check "another administrator key: exit 111" 111 $rc
contains "... the set is not theirs" "its set is not signed by this administrator key" "$out"
check "... and nothing changed" "seq 3 entries 3" "$("$KEYS" -a admin list "$KK" "$EP" | head -1)"
"$KEYS" -A other.pub list "$KK" "$EP" >/dev/null 2>&1; check "list checked against another admin key: exit 111" 111 $?
check "the service saved its set" yes "$([ -s state/keyset ] && echo yes)"

# ---- live allow-lists: a ØMQ and a UDP server over replicas ----------------------------
timeout -k 10 120 "$ECHO" -v -K "$KK@$EP" -A admin.pub -S zmq-replica -n echo.example srv tcp://127.0.0.1:0 \
    2> echo.log &
PIDS="$PIDS $!"
wait_for echo.log listening || { echo "FAIL echo did not start"; cat echo.log; exit 1; }
ZEP=$(sed -n 's/^listening //p' echo.log)
UPORT=$((39000 + $$ % 500))      # (other tests: 42000-43999, 45000-47999)
EXT=000102030405060708090a0b0c0d0e0f
timeout -k 10 120 "$SERVER" -m -K "$KK@$EP" -A admin.pub -S udp-replica udp.example srv 127.0.0.1 $UPORT $EXT \
    sh -c 'echo served' 2> udp.log &
PIDS="$PIDS $!"
wait_for echo.log "following the key service" && wait_for udp.log "following the key service" \
    || { echo "FAIL replicas did not follow"; cat echo.log udp.log; }
zmq_try () {   # zmq_try KEYS: the echo's exit code
    timeout -k 10 10 "$ECHO" -c -t 2 -k "$1" -n echo.example "$SRV" "$ZEP" hello >/dev/null 2>&1; echo $?
}
udp_try () {   # udp_try KEYDIR: the output/exit code
    echo "$(timeout -k 10 3 "$CLIENT" -m -c "$1" udp.example "$SRV" 127.0.0.1 $UPORT $EXT sh -c 'cat <&6')/$?"
}
check "ØMQ: alice served" 0 "$(zmq_try alice)"
check "UDP: alice served" "served/0" "$(udp_try alice)"
"$BUILD/curvecp-makekey" stranger
check "ØMQ: a stranger refused" 111 "$(zmq_try stranger)"
check "UDP: a stranger refused (never served)" "/124" "$(udp_try stranger)"
out=$("$KEYS" -a admin revoke "$KK" "$EP" alice); check "revoke alice by name: exit 0" 0 $?
check "revoke: says so" "seq 4: revoked alice $ALICE" "$out"
sleep 1
check "ØMQ: alice refused 1 s after the revocation" 111 "$(zmq_try alice)"
check "UDP: alice refused 1 s after the revocation" "/124" "$(udp_try alice)"
check "ØMQ: bob still served" 0 "$(zmq_try bob)"
check "UDP: bob still served" "served/0" "$(udp_try bob)"
"$KEYS" -a admin revoke "$KK" "$EP" nobody >/dev/null 2>&1; check "revoke an unknown name: exit 1" 1 $?

# ---- the service goes away: the replicas say so and keep their set ------------------
kill "$KEYD_PID"; wait "$KEYD_PID" 2>/dev/null
check "keyd stops cleanly on SIGTERM" yes yes
wait_for echo.log "lost the key service" || sleep 3
contains "ØMQ server says it lost the service" "lost the key service at $EP: serving the last signed set (seq 4)" \
    "$(cat echo.log)"
wait_for udp.log "lost the key service"
contains "UDP server says it lost the service" "lost the key service" "$(cat udp.log)"
check "ØMQ: bob still served from the last set" 0 "$(zmq_try bob)"
check "UDP: bob still served from the last set" "served/0" "$(udp_try bob)"
check "ØMQ: alice still refused" 111 "$(zmq_try alice)"

# ---- known servers ---------------------------------------------------------------------
export CURVECP_KNOWN_SERVERS=$WORK/known
out=$(timeout -k 10 10 "$ECHO" -c -t 5 -k bob -n echo.example "$SRV" "$ZEP" hi 2>&1 >/dev/null); rc=$?
check "echo: first explicit key: exit 0" 0 $rc
contains "echo: ... recorded" "recorded the key of echo.example in $WORK/known" "$out"
check "echo: the file has the line" "echo.example $SRV" "$(cat known)"
out=$(timeout -k 10 10 "$ECHO" -c -t 5 -k bob -n echo.example echo.example "$ZEP" hi); rc=$?
check "echo: by name: exit 0" "0 hi" "$rc $out"
OTHER=$(printf '%064x' 7)
out=$(timeout -k 10 10 "$ECHO" -c -t 5 -k bob -n echo.example "$OTHER" "$ZEP" hi 2>&1); rc=$?
check "echo: a different key for the name: exit 111" 111 $rc
contains "echo: ... says which line to delete" "the key given for 'echo.example' is not the one recorded in $WORK/known line 1 ($SRV): refusing it; if the server's key really changed, delete that line" "$out"
check "echo: ... the file unchanged" "echo.example $SRV" "$(cat known)"
out=$(timeout -k 10 10 "$ECHO" -c -t 5 -k bob -n echo.example nosuch.example "$ZEP" hi 2>&1); rc=$?
check "echo: an unknown name: exit 111" 111 $rc
contains "echo: ... named" "unknown server 'nosuch.example'" "$out"
# curvecp-client (UDP)
out=$(timeout -k 10 5 "$CLIENT" -m -c bob udp.example "$SRV" 127.0.0.1 $UPORT $EXT sh -c 'cat <&6' 2>&1); rc=$?
check "client: first explicit key" "served/0" "$(echo "$out" | grep -v recorded)/$rc"
contains "client: ... recorded" "recorded the key of udp.example" "$out"
out=$(timeout -k 10 5 "$CLIENT" -m -c bob udp.example udp.example 127.0.0.1 $UPORT $EXT sh -c 'cat <&6'); rc=$?
check "client: by name" "served/0" "$out/$rc"
out=$(timeout -k 10 5 "$CLIENT" -m -c bob udp.example "$OTHER" 127.0.0.1 $UPORT $EXT sh -c 'cat <&6' 2>&1); rc=$?
check "client: a different key: exit 111" 111 $rc
contains "client: ... refused" "curvecp-client: fatal: the key given for 'udp.example' is not the one recorded" "$out"
out=$(timeout -k 10 5 "$CLIENT" -m -c bob nosuch.example nosuch.example 127.0.0.1 $UPORT $EXT true 2>&1); rc=$?
check "client: an unknown name: exit 100" 100 $rc
contains "client: ... named" "not a known server: unknown server 'nosuch.example'" "$out"
# delete the line: a new key is taken (and recorded) again
sed -i '/^udp.example /d' known
out=$(timeout -k 10 5 "$CLIENT" -m -c bob udp.example "$SRV" 127.0.0.1 $UPORT $EXT sh -c 'cat <&6' 2>/dev/null); rc=$?
check "client: after the line is deleted the key is taken again" "served/0" "$out/$rc"
check "client: ... and recorded" 1 "$(grep -c '^udp.example ' known)"
# curvecp-fetch: a fileserver over ØMQ
mkdir -p files && echo "file body" > files/f.txt
timeout -k 10 60 "$BUILD/curvecp-fileserver" -n files.example -k srv files tcp://127.0.0.1:0 > fs.out 2> fs.log &
PIDS="$PIDS $!"
wait_for fs.out "serving" || { echo "FAIL fileserver did not start"; cat fs.log; }
FEP=$(sed -n 's/^curvecp-fileserver: serving .* on //p' fs.out)
out=$(timeout -k 10 10 "$BUILD/curvecp-fetch" -q -n files.example "$SRV" "$FEP" f.txt got1 2>&1); rc=$?
check "fetch: first explicit key: exit 0" 0 $rc
contains "fetch: ... recorded" "recorded the key of files.example" "$out"
timeout -k 10 10 "$BUILD/curvecp-fetch" -q -n files.example files.example "$FEP" f.txt got2; rc=$?
check "fetch: by name" "0 file body" "$rc $(cat got2 2>/dev/null)"
out=$(timeout -k 10 10 "$BUILD/curvecp-fetch" -q -n files.example "$OTHER" "$FEP" f.txt got3 2>&1); rc=$?
check "fetch: a different key: exit 100 (key error)" 100 $rc
contains "fetch: ... refused" "the key given for 'files.example' is not the one recorded" "$out"
out=$(timeout -k 10 10 "$BUILD/curvecp-fetch" -q nosuch.example "$FEP" f.txt got4 2>&1); rc=$?
check "fetch: an unknown name: exit 100" 100 $rc
contains "fetch: ... named" "unknown server 'nosuch.example'" "$out"
# no file named, none in HOME: nothing recorded; a HOME file: used
unset CURVECP_KNOWN_SERVERS
mkdir -p home
HOME=$WORK/home timeout -k 10 10 "$ECHO" -c -t 5 -k bob -n echo.example "$SRV" "$ZEP" hi >/dev/null 2>&1
check "no file: works, nothing recorded" "0 no" "$? $([ -e home/.curvecp/known_servers ] && echo yes || echo no)"
mkdir -p home/.curvecp && : > home/.curvecp/known_servers
HOME=$WORK/home timeout -k 10 10 "$ECHO" -c -t 5 -k bob -n echo.example "$SRV" "$ZEP" hi >/dev/null 2>&1
check "~/.curvecp/known_servers: recorded there" "echo.example $SRV" "$(cat home/.curvecp/known_servers)"

# ---- a name the key service maps -------------------------------------------------------
timeout -k 10 120 "$KEYD" -v keyd-keys admin.pub state tcp://127.0.0.1:0 2> keyd2.log &
PIDS="$PIDS $!"
wait_for keyd2.log listening || { echo "FAIL keyd did not restart"; cat keyd2.log; }
EP2=$(sed -n 's/^listening //p' keyd2.log)
check "keyd restarts from its state" "seq 4 entries 3" "$("$KEYS" -A "$ADMIN" list "$KK" "$EP2" | head -1)"
export CURVECP_KNOWN_SERVERS=""
out=$(CURVECP_KEYD="$KK@$EP2" CURVECP_KEYD_ADMIN=$ADMIN timeout -k 10 10 "$ECHO" -c -t 5 -k bob -n echo.example echo.example \
    "$ZEP" hi); rc=$?
check "echo: a name from the key service" "0 hi" "$rc $out"
CURVECP_KEYD="$KK@$EP2" CURVECP_KEYD_ADMIN=$(cat other.pub) timeout -k 10 10 "$ECHO" -c -t 5 -k bob -n echo.example echo.example "$ZEP" hi \
    >/dev/null 2>&1
check "echo: not from a service whose set another admin key does not sign" 111 $?
# curvecp-client loads the key service's client (libcurvecp-zmq) only now, with dlopen
out=$(CURVECP_KEYD="$KK@$EP2" CURVECP_KEYD_ADMIN=$ADMIN timeout -k 10 10 "$CLIENT" -m -c bob udp.example echo.example \
    127.0.0.1 $UPORT $EXT sh -c 'cat <&6'); rc=$?
check "client: a name from the key service" "served/0" "$out/$rc"
CURVECP_KEYD="$KK@$EP2" CURVECP_KEYD_ADMIN=$(cat other.pub) timeout -k 10 10 "$CLIENT" -m -c bob udp.example echo.example \
    127.0.0.1 $UPORT $EXT true >/dev/null 2>&1
check "client: not from a service whose set another admin key does not sign" 100 $?

echo "$fails failure(s)"
[ $fails -eq 0 ]
