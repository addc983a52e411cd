#!/bin/bash
# test_interop_udp_matrix.sh BUILD SRC - the UDP interop matrix on loopback.
#
# {NaCl curvecpserver, curvecp-server} x {NaCl curvecpclient, curvecp-client}
# x {NaCl curvecpmessage, our in-process mode (-m), curvecp-message (when
# built)}: each combination moves a stream both ways at once, byte-exact,
# at three sizes: big (2 MB where NaCl's curvecpmessage is on a side, 10 MB
# otherwise), 1 byte and 0 bytes. Combinations run two at a time; every
# wait is bounded. Prints one line per run and a summary.
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
NACL_BIG=${CURVECP_MATRIX_NACL_BYTES:-2000000}
OURS_BIG=${CURVECP_MATRIX_OURS_BYTES:-10000000}
PARALLEL=${CURVECP_MATRIX_PARALLEL:-2}

for tool in curvecpserver curvecpclient curvecpmessage curvecpmakekey curvecpprintkey; do
    command -v $tool >/dev/null || { echo "FAIL: NaCl tool $tool is missing (apt-get install nacl-tools)"; exit 1; }
done
for tool in curvecp-server curvecp-client; do
    [ -x "$BUILD/$tool" ] || { echo "FAIL: $BUILD/$tool not built"; exit 1; }
done
HAVE_OURS_MESSAGE=0
[ -x "$BUILD/curvecp-message" ] && HAVE_OURS_MESSAGE=1

WORK=$(mktemp -d /tmp/curvecp-matrix.XXXXXX)
trap 'rm -rf "$WORK"' EXIT   # every server is killed by its run_one and bounded by timeout
cd "$WORK"
curvecpmakekey serverkey >/dev/null || { echo "FAIL: curvecpmakekey"; exit 1; }
PK=$(curvecpprintkey serverkey)
EXT=0123456789abcdef0123456789abcdef
for size in $NACL_BIG $OURS_BIG 1 0; do
    [ -f data.$size.up ] || head -c $size /dev/urandom > data.$size.up
    [ -f data.$size.down ] || head -c $size /dev/urandom > data.$size.down
done

# The server side program gets the client's bytes on stdin and answers on
# stdout; the client side program uses fds 6 and 7. Both directions flow
# at once: the sender runs in the background and the shell closes its own
# copy of the output fd so the EOF arrives when the sender is done.
SERVER_CHILD='cat "$1" & exec >/dev/null; cat > "$2"; wait'
CLIENT_CHILD='cat "$1" >&7 & exec 7>&-; cat <&6 > "$2"; wait'

# server_cmd KIND: how to start the server for a combination.
#   nacl+nacl: curvecpserver ... curvecpmessage
#   ours+nacl: curvecp-server ... curvecpmessage
#   ours+ours: curvecp-server ... curvecp-message
#   ours+m   : curvecp-server -m ...
#   nacl+ours: curvecpserver ... curvecp-message
server_prefix () {
    case $1 in
        nacl+nacl) echo "curvecpserver" ;;
        nacl+ours) echo "curvecpserver" ;;
        ours+m)    echo "$BUILD/curvecp-server -m" ;;
        *)         echo "$BUILD/curvecp-server" ;;
    esac
}
server_handler () {
    case $1 in
        *+nacl) echo "curvecpmessage" ;;
        *+ours) echo "$BUILD/curvecp-message" ;;
        *+m)    echo "" ;;
    esac
}
client_prefix () {
    case $1 in
        nacl+*) echo "curvecpclient" ;;
        ours+m) echo "$BUILD/curvecp-client -m" ;;
        *)      echo "$BUILD/curvecp-client" ;;
    esac
}
client_handler () {
    case $1 in
        *+nacl) echo "curvecpmessage -c" ;;
        *+ours) echo "$BUILD/curvecp-message -c" ;;
        *+m)    echo "" ;;
    esac
}

# run_one NAME SERVERKIND CLIENTKIND SIZE PORT -> writes result file
run_one () {
    local name=$1 skind=$2 ckind=$3 size=$4 port=$5
    local dir="$WORK/run.$name.$size"
    mkdir -p "$dir"
    local up="$WORK/data.$size.up" down="$WORK/data.$size.down"
    local start=$(date +%s.%N)
    timeout -k 10 150 $(server_prefix $skind) -Q test.example "$WORK/serverkey" 127.0.0.1 $port $EXT \
        $(server_handler $skind) sh -c "$SERVER_CHILD" sh "$down" "$dir/got_up" 2>"$dir/server.err" &
    local server=$!
    sleep 0.3
    timeout -k 10 120 $(client_prefix $ckind) test.example $PK 127.0.0.1 $port $EXT \
        $(client_handler $ckind) sh -c "$CLIENT_CHILD" sh "$up" "$dir/got_down" 2>"$dir/client.err"
    local rc=$?
    # the server-side handler may still be writing its last bytes: wait a little
    for i in $(seq 1 50); do
        cmp -s "$up" "$dir/got_up" && break
        sleep 0.1
    done
    kill $server 2>/dev/null; wait $server 2>/dev/null
    local secs=$(echo "$(date +%s.%N) - $start" | bc)
    local verdict=PASS why=""
    if [ $rc -ne 0 ]; then verdict=FAIL; why="client exit $rc"; fi
    cmp -s "$up" "$dir/got_up" || { verdict=FAIL; why="$why upload differs ($(stat -c %s "$dir/got_up" 2>/dev/null || echo none) of $size bytes)"; }
    cmp -s "$down" "$dir/got_down" || { verdict=FAIL; why="$why download differs ($(stat -c %s "$dir/got_down" 2>/dev/null || echo none) of $size bytes)"; }
    printf "%s %-48s %9s bytes each way %6.2f s %s\n" $verdict "$name" $size $secs "$why" > "$dir/result"
    if [ $verdict = FAIL ]; then
        sed 's/^/    server: /' "$dir/server.err" >> "$dir/result"
        sed 's/^/    client: /' "$dir/client.err" >> "$dir/result"
    fi
}

# Combinations: name serverkind clientkind (kind = tool+handler).
COMBOS=(
    "naclserver+naclmsg__oursclient+naclmsg       nacl+nacl ours+nacl"
    "oursserver+naclmsg__naclclient+naclmsg       ours+nacl nacl+nacl"
    "oursserver+naclmsg__oursclient+naclmsg       ours+nacl ours+nacl"
    "oursserver-m__naclclient+naclmsg             ours+m    nacl+nacl"
    "naclserver+naclmsg__oursclient-m             nacl+nacl ours+m"
    "oursserver-m__oursclient+naclmsg             ours+m    ours+nacl"
    "oursserver+naclmsg__oursclient-m             ours+nacl ours+m"
    "oursserver-m__oursclient-m                   ours+m    ours+m"
)
if [ $HAVE_OURS_MESSAGE = 1 ]; then
    COMBOS+=(
        "oursserver+oursmsg__oursclient+oursmsg   ours+ours ours+ours"
        "naclserver+oursmsg__naclclient+naclmsg   nacl+ours nacl+nacl"
        "naclserver+naclmsg__naclclient+oursmsg   nacl+nacl nacl+ours"
        "oursserver+oursmsg__oursclient-m         ours+ours ours+m"
    )
else
    echo "note: curvecp-message is not built; its combinations are skipped"
fi

uses_nacl_message () {
    case "$2 $3" in *+nacl*) return 0 ;; esac
    return 1
}

port=$((42000 + $$ % 1000))
jobs_running=0
for combo in "${COMBOS[@]}"; do
    set -- $combo
    big=$OURS_BIG
    uses_nacl_message "$@" && big=$NACL_BIG
    for size in $big 1 0; do
        run_one $1 $2 $3 $size $port &
        port=$((port + 1))
        jobs_running=$((jobs_running + 1))
        if [ $jobs_running -ge $PARALLEL ]; then
            wait -n
            jobs_running=$((jobs_running - 1))
        fi
    done
done
wait

cat "$WORK"/run.*/result
pass=$(cat "$WORK"/run.*/result | grep -c '^PASS')
fail=$(cat "$WORK"/run.*/result | grep -c '^FAIL')
echo "interop matrix: $pass passed, $fail failed (${#COMBOS[@]} combinations x 3 sizes)"
[ $fail -eq 0 ] && [ $pass -eq $((${#COMBOS[@]} * 3)) ]
