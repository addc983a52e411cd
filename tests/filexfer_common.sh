# filexfer_common.sh - the file-transfer tool tests, sourced by
# test_filexfer_udp.sh and test_filexfer_zmq.sh with CARRIER=udp|zmq set
# and $1 = build directory. curvecp-fileserver serves a directory on
# loopback; curvecp-fetch fetches from it: end to end (4 MB, digest,
# bytes), stopped with -m and resumed (only the rest sent), a corrupt
# partial copy, concurrent clients, every refusal (missing file, "..",
# absolute path, symlink escape, directory), wrong key, wrong name, server
# down, disk full, file size limit, usage errors - each with its exit code
# and one-line message.
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SERVER=$BUILD/curvecp-fileserver
FETCH=$BUILD/curvecp-fetch
WORK=$(mktemp -d /tmp/curvecp-filexfer.XXXXXX)
SERVER_PIDS=""
MOUNTED=""
cleanup () {
    for p in $SERVER_PIDS; do kill "$p" 2>/dev/null; done
    [ -n "$MOUNTED" ] && umount "$MOUNTED" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK" || exit 1
fails=0
check () {   # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}
contains () {   # contains NAME NEEDLE HAYSTACK
    case "$3" in *"$2"*) echo "ok   $1" ;; *) echo "FAIL $1: '$2' not in '$3'"; fails=$((fails + 1)) ;; esac
}
fetch () { timeout -k 10 30 "$FETCH" "$@"; }

# start_server KEYS ENDPOINT: runs in the background, sets EP to the real
# endpoint it printed (port 0 picks one).
STARTS=0
start_server () {
    STARTS=$((STARTS + 1))
    OUT=srv$STARTS.out
    timeout -k 10 120 "$SERVER" -k "$1" srv "$2" > "$OUT" 2>> srv.log &
    SERVER_PID=$!
    SERVER_PIDS="$SERVER_PIDS $SERVER_PID"
    EP=""
    for _ in $(seq 100); do
        EP=$(sed -n 's/^curvecp-fileserver: serving .* on //p' "$OUT" 2>/dev/null)
        [ -n "$EP" ] && break
        sleep 0.05
    done
    [ -n "$EP" ] || { echo "FAIL server did not start"; cat srv.log; exit 1; }
}

mkdir -p srv/sub
head -c 4194304 /dev/urandom > srv/big.bin
echo "outside" > outside.txt
ln -s "$WORK/outside.txt" srv/escape
SIZE=4194304

# ---- keys: NaCl key directories for UDP, zcert files for ØMQ ---------------
"$BUILD/curvecp-makekey" skeys
"$BUILD/curvecp-makekey" ckeys
if [ "$CARRIER" = zmq ]; then
    /usr/bin/python3 -c "import zmq.auth; zmq.auth.create_certificates('.', 'server'); zmq.auth.create_certificates('.', 'client')" \
        || { echo "FAIL cannot make zcert files"; exit 1; }
    SERVER_KEYS=server.key_secret; KEY_ARG=server.key; CLIENT_KEYS=client.key_secret; BIND=tcp://127.0.0.1:0
else
    SERVER_KEYS=skeys; KEY_ARG=skeys; CLIENT_KEYS=ckeys; BIND=127.0.0.1:0
fi
start_server "$SERVER_KEYS" "$BIND"
HEX=$(sed -n 's/^curvecp-fileserver: server key \([0-9a-f]*\),.*/\1/p' "$OUT")
check "server printed its key" 64 "${#HEX}"
echo "server $EP key $HEX"

# ---- end to end -----------------------------------------------------------------
out=$(fetch -v -c "$CLIENT_KEYS" "$KEY_ARG" "$EP" big.bin got.bin 2>&1); rc=$?
check "fetch exits 0" 0 $rc
contains "summary line" "saved got.bin ($SIZE bytes, SHA-256 verified): received $SIZE bytes from offset 0" "$out"
cmp -s srv/big.bin got.bin; check "copy equals the file" 0 $?
check "no .part left" no "$([ -e got.bin.part ] && echo yes || echo no)"
check "SHA-256 of the copy" "$(sha256sum < srv/big.bin)" "$(sha256sum < got.bin)"
out=$(fetch "$HEX" "$EP" big.bin 2>&1); rc=$?
check "hex key, default name, quiet when not a terminal" "0/" "$rc/$out"
cmp -s srv/big.bin big.bin; check "copy under PATH's own name" 0 $?
out=$(fetch -p "$HEX" "$EP" big.bin p.bin 2>&1)
contains "-p draws the bar" "100% [####################]" "$out"
contains "-p shows the ETA" "ETA" "$out"

# ---- stopped, then resumed ----------------------------------------------------
rm -f got.bin
out=$(fetch -m 1000000 "$HEX" "$EP" big.bin got.bin 2>&1); rc=$?
check "-m stops with exit 8" 8 $rc
contains "-m message" "stopped after 1000000 bytes as asked; got.bin.part kept" "$out"
check "partial copy holds the first 1000000 bytes" 1000000 "$(stat -c %s got.bin.part 2>/dev/null)"
cmp -s -n 1000000 srv/big.bin got.bin.part; check "partial copy is the file's start" 0 $?
out=$(fetch -v "$HEX" "$EP" big.bin got.bin 2>&1); rc=$?
check "resume exits 0" 0 $rc
contains "resume received only the rest" "received $((SIZE - 1000000)) bytes from offset 1000000" "$out"
cmp -s srv/big.bin got.bin; check "resumed copy equals the file" 0 $?
sleep 0.3
contains "server sent only the rest" "sent $((SIZE - 1000000)) bytes from offset 1000000 of $SIZE" "$(cat srv.log)"

# killed mid-transfer (SIGKILL: no chance to tidy up), then resumed
head -c 33554432 /dev/urandom > srv/huge.bin
"$FETCH" "$HEX" "$EP" huge.bin killed.bin 2>/dev/null & fp=$!     # killed below, whatever happens
for _ in $(seq 1000); do
    [ "$(stat -c %s killed.bin.part 2>/dev/null || echo 0)" -gt 1000000 ] && break
    sleep 0.01
done
kill -9 $fp 2>/dev/null; wait $fp 2>/dev/null
have=$(stat -c %s killed.bin.part 2>/dev/null || echo 0)
check "killed mid-transfer: partial copy kept" yes "$([ "$have" -gt 0 ] && [ "$have" -lt 33554432 ] && echo yes || echo "no ($have bytes)")"
out=$(fetch -v "$HEX" "$EP" huge.bin killed.bin 2>&1); rc=$?
check "killed, then resumed: exit 0" 0 $rc
contains "killed, then resumed: only the rest" "received $((33554432 - have)) bytes from offset $have" "$out"
cmp -s srv/huge.bin killed.bin; check "killed, then resumed: copy right" 0 $?
rm -f srv/huge.bin killed.bin

# a partial copy that is not the file's start: digest mismatch, removed
head -c 5000 /dev/zero > bad.bin.part
out=$(fetch "$HEX" "$EP" big.bin bad.bin 2>&1); rc=$?
check "corrupt partial copy exits 1" 1 $rc
contains "corrupt partial copy message" "SHA-256 mismatch" "$out"
check "corrupt partial copy removed" no "$([ -e bad.bin.part ] && echo yes || echo no)"
fetch "$HEX" "$EP" big.bin bad.bin; check "the next try succeeds" 0 $?
cmp -s srv/big.bin bad.bin; check "and is right" 0 $?

# two clients at once
fetch "$HEX" "$EP" big.bin c1.bin & p1=$!
fetch "$HEX" "$EP" big.bin c2.bin & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
check "two concurrent clients" "0/0" "$r1/$r2"
cmp -s srv/big.bin c1.bin && cmp -s srv/big.bin c2.bin; check "both copies right" 0 $?

# ---- refusals -------------------------------------------------------------------
refused () {   # refused NAME PATH CODE MESSAGE
    out=$(fetch "$HEX" "$EP" "$2" r.out 2>&1); rc=$?
    check "$1: exit $3" "$3" $rc
    check "$1: message" "curvecp-fetch: $2: $4" "$out"
    check "$1: nothing written" no "$([ -e r.out ] || [ -e r.out.part ] && echo yes || echo no)"
}
refused "missing file" nothere.bin 5 "no such file"
refused "dot-dot" ../outside.txt 6 "path outside the served directory"
refused "dot-dot inside" sub/../../outside.txt 6 "path outside the served directory"
refused "absolute path" /etc/passwd 6 "path outside the served directory"
refused "symlink escape" escape 6 "path outside the served directory"
refused "directory" sub 5 "not a regular file"
contains "server logs refusals" "\"escape\": refused: path outside the served directory" "$(cat srv.log)"

# ---- handshake failures ---------------------------------------------------------
WRONG=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
out=$(fetch -t 2 "$WRONG" "$EP" big.bin w.bin 2>&1); rc=$?
check "wrong server key: exit 4" 4 $rc
check "wrong server key: message" "curvecp-fetch: no handshake with $EP within 2 s: wrong server key or name (or no server there)" "$out"
out=$(fetch -t 2 -n other.example "$HEX" "$EP" big.bin w.bin 2>&1); rc=$?
check "wrong server name: exit 4" 4 $rc
# A port a server had and gave up, below the ephemeral range: a TCP
# connect that keeps retrying a free ephemeral port can meet itself
# (simultaneous open) and look like a listener.
LIVE=$EP
DEAD=""
for i in 1 2 3 4 5; do
    port=$((20000 + ($$ * 7 + i * 977) % 12000))
    want=${BIND%:0}:$port
    timeout -k 10 10 "$SERVER" -q -k "$SERVER_KEYS" srv "$want" > dead.out 2>/dev/null & dp=$!
    for _ in $(seq 40); do grep -q serving dead.out 2>/dev/null && break; sleep 0.05; done
    kill $dp 2>/dev/null; wait $dp 2>/dev/null
    DEAD=$(sed -n 's/^curvecp-fileserver: serving .* on //p' dead.out)
    [ -n "$DEAD" ] && break
done
check "found a port to be dead on" yes "$([ -n "$DEAD" ] && echo yes || echo no)"
EP=$LIVE
out=$(fetch -t 2 "$HEX" "$DEAD" big.bin w.bin 2>&1); rc=$?
check "server down: exit 3" 3 $rc
check "server down: message" "curvecp-fetch: server down: nothing listens at $DEAD (connection refused)" "$out"
check "no litter after handshake failures" no "$([ -e w.bin ] || [ -e w.bin.part ] && echo yes || echo no)"

# ---- local write errors ---------------------------------------------------------
mkdir -p small
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1m tmpfs small 2>/dev/null; then
    MOUNTED=$WORK/small
    out=$(fetch "$HEX" "$EP" big.bin small/big.bin 2>&1); rc=$?
    check "disk full: exit 7" 7 $rc
    check "disk full: message" "curvecp-fetch: cannot write small/big.bin.part: No space left on device (disk full)" "$out"
    umount small && MOUNTED=""
else
    echo "skip disk full (needs root to mount a small tmpfs)"
fi
out=$(ulimit -f 100; fetch "$HEX" "$EP" big.bin lim.bin 2>&1); rc=$?
check "file size limit: exit 7" 7 $rc
check "file size limit: message" "curvecp-fetch: cannot write lim.bin.part: File too large" "$out"
out=$(fetch "$HEX" "$EP" big.bin /nonexistent/dir/x 2>&1); rc=$?
check "unwritable directory: exit 7" 7 $rc
contains "unwritable directory: message" "cannot open /nonexistent/dir/x.part" "$out"

# ---- usage ------------------------------------------------------------------------
# usage errors exit 100 on every tool (NaCl's code) and name what is wrong
fetch > /dev/null 2>&1; check "no arguments: exit 100" 100 $?
out=$(fetch "$HEX" "nowhere" big.bin 2>&1); rc=$?
check "bad endpoint: exit 100" 100 $rc
contains "bad endpoint: message names it" "bad endpoint: 'nowhere'" "$out"
out=$(fetch "$HEX" "$EP" "$(printf 'a%.0s' $(seq 1025))" 2>&1); rc=$?
check "path over 1024 bytes: exit 100" 100 $rc
contains "path over 1024 bytes: message" "PATH is longer than 1024 bytes" "$out"
out=$(fetch 1234 "$EP" big.bin 2>&1); rc=$?
check "bad server key: exit 100" 100 $rc
contains "bad server key: message" "server key 1234: not 64 hex digits" "$out"
start=$(date +%s)
out=$(fetch "$HEX" "$EP" "" e.bin 2>&1); rc=$?
check "empty PATH: a usage error at once" "100/yes" "$rc/$([ $(($(date +%s) - start)) -lt 3 ] && echo yes || echo no)"
contains "empty PATH: message" "curvecp-fetch: PATH is empty" "$out"
out=$(fetch "$HEX" "$EP" big.bin big.bin 2>&1); rc=$?
check "existing LOCAL refused: exit 100" 100 $rc
contains "existing LOCAL refused: message" "big.bin exists: give -f to overwrite it" "$out"
echo junk > big.bin
fetch -f "$HEX" "$EP" big.bin big.bin; check "-f overwrites: exit 0" 0 $?
cmp -s srv/big.bin big.bin; check "-f overwrites: copy right" 0 $?
out=$(fetch -h); rc=$?
contains "fetch -h: usage on stdout, exit 0" "usage: curvecp-fetch" "$out/$rc"
check "fetch -h: exit 0" 0 $rc
out=$(fetch --bogus "$HEX" "$EP" big.bin 2>&1); rc=$?
check "fetch --bogus: exit 100" 100 $rc
contains "fetch --bogus: named" "unknown option '--bogus'" "$out"
"$SERVER" -k "$SERVER_KEYS" nodir "$BIND" > /dev/null 2>&1; check "server: missing directory exits 1" 1 $?
out=$("$SERVER" -k "$SERVER_KEYS" srv/big.bin "$BIND" 2>&1); rc=$?
check "server: a regular file as DIR is refused at start" "1/curvecp-fileserver: cannot serve srv/big.bin: not a directory" "$rc/$(echo "$out" | tail -1)"
out=$("$SERVER" srv "$BIND" 2>&1); rc=$?
check "server: no keys exits 100" 100 $rc
contains "server: no keys: named" "no server keys: give -k keys" "$out"
out=$("$SERVER" -k "$SERVER_KEYS" srv "${BIND%:0}:99998" 2>&1); rc=$?
check "server: port 99998 refused, exit 100" 100 $rc
contains "server: port 99998: named" "bad endpoint: '${BIND%:0}:99998'" "$out"
"$SERVER" -h > /dev/null; check "server -h: exit 0" 0 $?
out=$("$SERVER" -k "$SERVER_KEYS" srv "$LIVE" 2>&1); rc=$?
check "server: endpoint taken: exit 1" 1 $rc
contains "server: endpoint taken: the reason" "cannot bind $LIVE: Address already in use" "$out"
check "server: endpoint taken: no dangling socket warning" no "$(echo "$out" | grep -q dangling && echo yes || echo no)"

# ---- -a: an allow-list of zcert certificates (curvecp-makekey -z) ----------------
mkdir allowed
"$BUILD/curvecp-makekey" -z allowed/friend || { echo "FAIL makekey -z"; exit 1; }
mv allowed/friend_secret friend_secret
"$SERVER" -a allowed -k "$SERVER_KEYS" srv "$BIND" > allow-srv.out 2>> allow.log & ALLOWING=$!
SERVER_PIDS="$SERVER_PIDS $ALLOWING"
EP=""
for _ in $(seq 100); do
    EP=$(sed -n 's/^curvecp-fileserver: serving .* on //p' allow-srv.out 2>/dev/null)
    [ -n "$EP" ] && break
    sleep 0.05
done
fetch -t 3 -c friend_secret "$HEX" "$EP" big.bin friend.bin; check "-a: a listed client is served" 0 $?
cmp -s srv/big.bin friend.bin; check "-a: and its copy is right" 0 $?
out=$(fetch -t 3 "$HEX" "$EP" big.bin stranger.bin 2>&1); rc=$?
check "-a: an unlisted client gets nothing" "no/yes" \
    "$([ -e stranger.bin ] && echo yes || echo no)/$([ $rc -ne 0 ] && echo yes || echo no)"
echo "     (unlisted client: exit $rc: $out)"
kill $ALLOWING; wait $ALLOWING 2>/dev/null
out=$("$SERVER" -a nosuchdir -k "$SERVER_KEYS" srv "$BIND" 2>&1); rc=$?
check "-a with a missing directory: refused at start" "1/curvecp-fileserver: cannot read the allow-list directory nosuchdir" "$rc/$(echo "$out" | tail -1)"

# ---- the server dies mid-transfer: the .part is kept and the user told --------------
head -c 33554432 /dev/urandom > srv/huge2.bin
"$SERVER" -k "$SERVER_KEYS" srv "$BIND" > dying-srv.out 2>> srv.log & DYING=$!     # no timeout wrapper: killed below
SERVER_PIDS="$SERVER_PIDS $DYING"
EP=""
for _ in $(seq 100); do
    EP=$(sed -n 's/^curvecp-fileserver: serving .* on //p' dying-srv.out 2>/dev/null)
    [ -n "$EP" ] && break
    sleep 0.05
done
fetch -t 2 "$HEX" "$EP" huge2.bin dying.bin > dying.out 2>&1 & fp=$!
for _ in $(seq 1000); do
    [ "$(stat -c %s dying.bin.part 2>/dev/null || echo 0)" -gt 1000000 ] && break
    sleep 0.01
done
kill -9 $DYING; wait $DYING 2>/dev/null
wait $fp; rc=$?
check "server died mid-transfer: exit 111" 111 $rc
contains "server died mid-transfer: says the .part was kept" "dying.bin.part kept (" "$(cat dying.out)"
rm -f srv/huge2.bin dying.bin.part
EP=$LIVE

[ $fails -eq 0 ] && echo "test_filexfer_$CARRIER: OK" || echo "test_filexfer_$CARRIER: $fails failed"
[ $fails -eq 0 ]
