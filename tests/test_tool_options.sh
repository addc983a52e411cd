#!/bin/bash
# test_tool_options.sh BUILD SRC - every tool follows the same command-line
# conventions (issue 15, src/app/curvecp_tool.h): -h and --help print the
# usage on stdout and exit 0 without doing anything else (no key
# directory called -h, no key printed); an unknown option is a usage
# error, exit 100, naming it; each tool names the argument that is wrong.
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
WORK=$(mktemp -d /tmp/curvecp-options.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
fails=0
check () {   # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}
contains () {   # contains NAME NEEDLE HAYSTACK
    case "$3" in *"$2"*) echo "ok   $1" ;; *) echo "FAIL $1: '$2' not in '$3'"; fails=$((fails + 1)) ;; esac
}

TOOLS="curvecp-client curvecp-server curvecp-message curvecp-makekey curvecp-printkey curvecp-fetch
       curvecp-fileserver curvecp-zmq-echo"
TOOLS="$TOOLS curvecp-gateway"
"$BUILD/curvecp-makekey" key
for tool in $TOOLS; do
    for help in -h --help; do
        out=$(timeout -k 10 5 "$BUILD/$tool" $help 2> err); rc=$?
        check "$tool $help: exit 0" 0 $rc
        contains "$tool $help: usage on stdout" "usage:" "$out"
        check "$tool $help: nothing on stderr" "" "$(cat err)"
    done
    # an option-looking argument where a key directory could go
    out=$(timeout -k 10 5 "$BUILD/$tool" -Z key 2>&1 >/dev/null); rc=$?
    check "$tool -Z: exit 100" 100 $rc
    contains "$tool -Z: names the option" "$tool: unknown option '-Z'" "$out"
    out=$(timeout -k 10 5 "$BUILD/$tool" --frobnicate key 2>&1 >/dev/null); rc=$?
    check "$tool --frobnicate: exit 100" 100 $rc
    contains "$tool --frobnicate: names the option" "$tool: unknown option '--frobnicate'" "$out"
done
check "makekey -h / --help made no directory" "" "$(ls -d -- -h --help 2>/dev/null)"
out=$("$BUILD/curvecp-printkey" --help key); check "printkey --help key prints no key" \
    no "$(echo "$out" | grep -qx '[0-9a-f]\{64\}' && echo yes || echo no)"

# arguments named when wrong
PK=$("$BUILD/curvecp-printkey" key)
EXT=000102030405060708090a0b0c0d0e0f
named () {   # named NAME NEEDLE COMMAND...: exit 100 and the message
    local what=$1 needle=$2; shift 2
    out=$(timeout -k 10 5 "$@" 2>&1 >/dev/null); rc=$?
    check "$what: exit 100" 100 $rc
    contains "$what: named" "$needle" "$out"
}
C=$BUILD/curvecp-client
S=$BUILD/curvecp-server
named "client bad key" "curvecp-client: bad server key: 'xyz' (64 hex digits)" $C n xyz 127.0.0.1 1 $EXT true
named "client bad ext" "curvecp-client: bad server extension: '00' (32 hex digits)" $C n $PK 127.0.0.1 1 00 true
named "client bad port" "curvecp-client: bad port: '99999' (0..65535)" $C n $PK 127.0.0.1 99999 $EXT true
named "client bad address" "curvecp-client: bad server address list: '1.2.3'" $C n $PK 1.2.3 1 $EXT true
LONG=$(printf 'a%.0s' $(seq 64))
named "client bad name" "curvecp-client: bad server name: '$LONG'" $C $LONG $PK 127.0.0.1 1 $EXT true
named "client too few arguments" "curvecp-client: 3 of the 6 arguments" $C n $PK 127.0.0.1
named "client -c without keydir" "curvecp-client: option -c needs an argument" $C -c
named "server bad port" "curvecp-server: bad port: '99999' (0..65535)" $S n key 127.0.0.1 99999 $EXT true
named "server bad address" "curvecp-server: bad address: '1.2.3'" $S n key 1.2.3 1 $EXT true
named "server -c 0" "curvecp-server: bad connection limit: -c '0'" $S -c 0 n key 127.0.0.1 1 $EXT true
named "server -H without =" "curvecp-server: bad virtual host: -H 'x'" $S -H x n key 127.0.0.1 1 $EXT true
named "message without a program" "curvecp-message: no program to run" $BUILD/curvecp-message -c
named "message bundled unknown option" "curvecp-message: unknown option '-x' in '-cx'" $BUILD/curvecp-message -cx true
named "zmq-echo -t 0" "curvecp-zmq-echo: bad -t '0'" $BUILD/curvecp-zmq-echo -c -t 0 $PK tcp://127.0.0.1:1
named "fetch -t x" "curvecp-fetch: bad -t 'x'" $BUILD/curvecp-fetch -t x $PK 127.0.0.1:1 f
named "fileserver bad endpoint" "curvecp-fileserver: bad endpoint: 'tcp://127.0.0.1:99998'" \
    $BUILD/curvecp-fileserver -k key . tcp://127.0.0.1:99998
G=$BUILD/curvecp-gateway
named "gateway bad port" "curvecp-gateway: bad port: '99999' (0..65535)" $G 127.0.0.1 99999 routes
named "gateway bad address" "curvecp-gateway: bad address: '1.2.3'" $G 1.2.3 1 routes
named "gateway -f 0" "curvecp-gateway: bad flow limit: '0' (1..1000000)" $G -f 0 127.0.0.1 1 routes
named "gateway -i x" "curvecp-gateway: bad idle time: 'x' (1..86400)" $G -i x 127.0.0.1 1 routes
named "gateway too few arguments" "curvecp-gateway: 2 of the 3 arguments" $G 127.0.0.1 1
# NaCl's own usage line and code stay for the key tools with no argument
"$BUILD/curvecp-makekey" 2> err; check "makekey without argument: NaCl's 111" 111 $?
check "makekey without argument: NaCl's usage line" "curvecp-makekey: usage: curvecp-makekey keydir" "$(cat err)"

[ $fails -eq 0 ] && echo "test_tool_options: OK" || echo "test_tool_options: $fails failure(s)"
[ $fails -eq 0 ]
