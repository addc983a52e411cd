#!/usr/bin/env bash
# test_nacl_keys.sh - our key directories and long-term nonces against
# Debian's nacl-tools (curvecpmakekey, curvecpprintkey, curvecpserver,
# curvecpclient, curvecpmessage):
#   1. a keydir made by curvecpmakekey loads with our code, and our
#      curvecp-printkey prints exactly what curvecpprintkey prints;
#   2. usage and fatal errors exit 111 like NaCl's tools;
#   3. a keydir made by curvecp-makekey has NaCl's layout, curvecpprintkey
#      reads it, and curvecpserver serves with it: NaCl's client, given
#      our public key, gets its data echoed back;
#   4. after we took long-term nonces from a keydir, NaCl's server and
#      client continue past the range we reserved, and we continue past
#      theirs.
# Usage: test_nacl_keys.sh BUILD_DIR SOURCE_DIR; exit 0 = pass, 77 = skip.
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
MAKEKEY=$BUILD/curvecp-makekey
PRINTKEY=$BUILD/curvecp-printkey
KEYTOOL=$BUILD/tests/helper_keytool
MiB=1048576

for tool in curvecpmakekey curvecpprintkey curvecpserver curvecpclient curvecpmessage; do
    if ! command -v $tool >/dev/null; then
        echo "SKIP: $tool not installed (apt-get install nacl-tools)"
        exit 77
    fi
done
for program in "$MAKEKEY" "$PRINTKEY" "$KEYTOOL"; do
    [ -x "$program" ] || { echo "FAIL: $program not built"; exit 1; }
done

WORK=$(mktemp -d /tmp/curvecp-test-nacl-keys-XXXXXX)
SERVER_PID=
cleanup () {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK" || exit 1

failures=0
fail () { echo "FAIL: $*"; failures=$((failures + 1)); }
pass () { echo "ok: $*"; }
expect_eq () {  # what got want; an empty answer is never right
    if [ -n "$2" ] && [ "$2" == "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}
counter_of () { od -An -tu8 "$1/.expertsonly/noncecounter" | tr -d ' '; }
mode_of () { stat -c %a "$1"; }

# --- 1. NaCl's keydir, our code ------------------------------------------
curvecpmakekey nacl || fail "curvecpmakekey nacl"
curvecpprintkey nacl > nacl.theirs; rc_theirs=$?
"$PRINTKEY" nacl > nacl.ours; rc_ours=$?
expect_eq "printkey exit codes on a NaCl keydir" "$rc_ours" "$rc_theirs"
if cmp -s nacl.theirs nacl.ours && [ "$(stat -c %s nacl.ours)" == 65 ]; then
    pass "curvecp-printkey output is byte-exact with curvecpprintkey (65 bytes)"
else
    fail "printkey output differs: $(od -c nacl.ours | head -2) vs $(od -c nacl.theirs | head -2)"
fi
expect_eq "helper loads NaCl's keydir, keys match" "$(timeout -k 10 10 "$KEYTOOL" load nacl)" "$(cat nacl.theirs)"

# --- 2. exit codes ----------------------------------------------------------
check_exit () {  # description, then the two commands' arguments
    local what=$1 ours theirs
    shift
    timeout -k 10 10 "$PRINTKEY" "$@" > /dev/null 2> err.ours; ours=$?
    timeout -k 10 10 curvecpprintkey "$@" > /dev/null 2> err.theirs; theirs=$?
    expect_eq "printkey exit code, $what" "$ours" "$theirs"
}
check_exit "no argument"
check_exit "missing keydir" does-not-exist
grep -q "^curvecp-printkey: usage: curvecp-printkey keydir$" <("$PRINTKEY" 2>&1) \
    && pass "printkey usage line" || fail "printkey usage line"
mkdir short && head -c 31 nacl/publickey > short/publickey
check_exit "31-byte publickey" short

timeout -k 10 10 "$MAKEKEY" > /dev/null 2> err.ours; ours=$?
timeout -k 10 10 curvecpmakekey > /dev/null 2> err.theirs; theirs=$?
expect_eq "makekey exit code, no argument" "$ours" "$theirs"
expect_eq "makekey usage line" "$(sed 's/curvecp-makekey/curvecpmakekey/g' err.ours)" "$(cat err.theirs)"
timeout -k 10 10 "$MAKEKEY" nacl 2> err.ours; ours=$?
timeout -k 10 10 curvecpmakekey nacl 2> err.theirs; theirs=$?
expect_eq "makekey exit code, existing keydir" "$ours" "$theirs"
expect_eq "makekey message, existing keydir" "$(sed 's/curvecp-makekey/curvecpmakekey/' err.ours)" "$(cat err.theirs)"
expect_eq "existing keydir untouched" "$(curvecpprintkey nacl)" "$(cat nacl.theirs)"

# --- 3. our keydir, NaCl's tools ------------------------------------------------
"$MAKEKEY" server || fail "curvecp-makekey server"
"$MAKEKEY" client || fail "curvecp-makekey client"
expect_eq "keydir mode" "$(mode_of server)" 755
expect_eq "publickey mode" "$(mode_of server/publickey)" 644
expect_eq ".expertsonly mode" "$(mode_of server/.expertsonly)" 700
for f in secretkey lock noncekey noncecounter; do
    expect_eq ".expertsonly/$f mode" "$(mode_of server/.expertsonly/$f)" 600
done
expect_eq "file sizes" "$(cd server && stat -c %s publickey .expertsonly/secretkey .expertsonly/lock .expertsonly/noncekey .expertsonly/noncecounter | tr '\n' ' ')" "32 32 1 32 8 "
expect_eq "lock and counter are zero bytes" "$(cat server/.expertsonly/lock server/.expertsonly/noncecounter | od -An -tx1 | tr -d ' \n')" "000000000000000000"
SERVER_KEY=$(curvecpprintkey server)
expect_eq "curvecpprintkey reads our keydir" "$SERVER_KEY" "$("$PRINTKEY" server)"

# --- 4. our nonces first, then NaCl's -----------------------------------------
# A server takes 2^20 counters at a time, a client 1 (NaCl's reservations)
expect_eq "our server nonces" "$(timeout -k 10 10 "$KEYTOOL" nonces server $MiB 3 | tr '\n' ' ')" "0 1 2 "
expect_eq "server counter after us" "$(counter_of server)" $MiB
expect_eq "our client nonces" "$(timeout -k 10 10 "$KEYTOOL" nonces client 1 4 | tr '\n' ' ')" "0 1 2 3 "
expect_eq "client counter after us" "$(counter_of client)" 4

free_udp_port () {
    python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=$(free_udp_port)
EXT=0123456789abcdef0123456789abcdef
NAME=keys.test.example
# -v: the server is silent by default even when it dies
timeout -k 10 60 curvecpserver -v $NAME server 127.0.0.1 "$PORT" $EXT curvecpmessage cat \
    2> server.err &
SERVER_PID=$!
sleep 0.5
printf 'hello from the NaCl client through our keys\n' > sent.txt
timeout -k 10 30 curvecpclient -c client $NAME "$SERVER_KEY" 127.0.0.1 "$PORT" $EXT \
    curvecpmessage -c sh -c 'cat sent.txt >&7; exec 7>&-; cat <&6 > received.txt' \
    2> client.err
client_rc=$?
expect_eq "curvecpclient exit code" "$client_rc" 0
if [ -s received.txt ] && cmp -s sent.txt received.txt; then
    pass "data echoed by curvecpserver with our keydir"
else
    fail "echo through curvecpserver: received '$(cat received.txt 2>/dev/null)'"
    cat server.err client.err
fi
kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=

# NaCl's server reserved the 2^20 counters after ours, its client 1 more
expect_eq "server counter after curvecpserver" "$(counter_of server)" $((2 * MiB))
expect_eq "client counter after curvecpclient" "$(counter_of client)" 5
# ... and we go on past theirs
expect_eq "our server nonce after NaCl's" "$(timeout -k 10 10 "$KEYTOOL" nonces server $MiB 1)" $((2 * MiB))
expect_eq "our client nonce after NaCl's" "$(timeout -k 10 10 "$KEYTOOL" nonces client 1 1)" 5
expect_eq "keys still load after NaCl used the keydir" "$(timeout -k 10 10 "$KEYTOOL" load server)" "$SERVER_KEY"

if [ $failures -ne 0 ]; then
    echo "test_nacl_keys: $failures FAILED"
    exit 1
fi
echo "test_nacl_keys: OK"
exit 0
