#!/bin/bash
# The README's "A five-minute tour", run as written: every shell block of
# the tour, in order, in one bash, in a scratch directory that looks like
# the top of the source tree (build/ holds links to this build's programs,
# so the keys and files the tour makes land in the scratch copy). The tour
# says it needs nothing else listening on ports 9000-9400: when one of its
# ports is taken the test is skipped (77), not failed. Checks the commands
# succeed, every output the README shows in a "# ..." line after a command
# is printed, the lines its prose promises, and that its last step leaves
# no server running and no port held.
set -u
build=$(cd "$1" && pwd)
src=$(cd "${2:-$(dirname "$0")/..}" && pwd)
fail () { echo "test_readme_tour: $*" >&2; exit 1; }
for tool in curvecpserver curvecpclient curvecpmessage curl python3 ss; do
    command -v $tool >/dev/null || { echo "test_readme_tour: $tool missing: skipped"; exit 77; }
done
[ -x "$build/zmq-echo" ] && [ -x "$build/zmq-fanout" ] \
    || { echo "test_readme_tour: examples not built (CURVECP_EXAMPLES=OFF): skipped"; exit 77; }

work=$(mktemp -d /tmp/curvecp-tour.XXXXXX)
pgid=""
cleanup () {
    [ -n "$pgid" ] && kill -- -"$pgid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# The tour: its shell blocks between its heading and the next section.
awk '/^## A five-minute tour/ { on = 1; next }
     on && /^## / { exit }
     on && /^```/ { if (inside) { inside = 0; print "" } else if ($0 == "```sh") inside = 1; next }
     on && inside { print }' "$src/README.md" > "$work/tour.sh"
[ "$(grep -c . "$work/tour.sh")" -ge 60 ] || fail "the tour's shell blocks are missing from README.md"
grep -q '^cd build$' "$work/tour.sh" || fail "the tour no longer starts with cd build"

# Its ports, from the commands themselves: skipped if any is taken.
ports=$(grep -oE '(127\.0\.0\.[0-9]+[: ]|tcp://127\.0\.0\.1:)9[0-9]{3}\b|\b9[0-9]{3} --bind' "$work/tour.sh" \
        | grep -oE '9[0-9]{3}' | sort -u)
[ -n "$ports" ] || fail "found no ports in the tour"
busy () { ss -Hlntu | awk '{ print $5 }' | grep -qE ":($(echo $ports | tr ' ' '|'))\$"; }
if busy; then
    echo "test_readme_tour: a port of the tour (9000-9400) is in use: skipped"
    ss -Hlntup | grep -E ":($(echo $ports | tr ' ' '|')) " >&2
    exit 77
fi

mkdir -p "$work/tree/build" "$work/home"
for f in "$build"/*; do
    [ -f "$f" ] && [ -x "$f" ] && ln -s "$f" "$work/tree/build/"
done
ln -s "$src/examples" "$work/tree/examples"

# One bash for the whole tour, in a process group of its own so that
# whatever it leaves behind can be found (and is then killed).
cd "$work/tree"
HOME="$work/home" setsid env -u CURVECP_KNOWN_SERVERS timeout -k 10 300 bash -v "$work/tour.sh" \
    > "$work/tour.log" 2>&1 &
tour=$!
pgid=$tour
wait $tour
rc=$?
cat "$work/tour.log"
[ $rc = 0 ] || fail "the tour ended with exit code $rc"
# A sanitized build: any report, in any of the tour's programs, fails it.
grep -nE '^(==[0-9]+==)?ERROR: [A-Za-z]+Sanitizer|runtime error:' "$work/tour.log" >&2 \
    && fail "a sanitizer reported an error during the tour"

# Nothing left running (the last step stops the servers), no port held.
for i in $(seq 50); do
    pgrep -g "$pgid" >/dev/null || break
    sleep 0.1
done
if pgrep -g "$pgid" >/dev/null; then
    ps -o pid,args -g "$pgid" >&2
    fail "the tour left processes running after its last step"
fi
pgid=""
busy && fail "a port of the tour is still in use after its last step"

log=$work/tour.log
# Every output line the README shows ("# " right after a command or after
# another such line), with "..." standing for anything, <carol's key> for a
# key, "(...)" after an exit code as a remark, and the gateway's counters as numbers.
awk 'FNR == 1 { prev = "" }
     /^# / && prev != "" && prev != "blank" { print; next }
     { prev = ($0 == "" ? "blank" : "cmd") }' "$work/tour.sh" |
    grep -vE '^# (a zcert|server extension)' > "$work/expected"
grep -q "curl is still connecting; it then says" "$src/README.md" \
    || fail "README: step 8 no longer admits curl's (7); this test allows it"
[ "$(grep -c . "$work/expected")" -ge 12 ] || fail "the README shows fewer outputs than expected: $(cat "$work/expected")"
while IFS= read -r line; do
    want=${line#\# }
    want=$(printf '%s' "$want" | sed -E 's/^([0-9]+) \(.*\)$/\1/')
    re=$(printf '%s' "$want" | sed -E 's/[][\.*^$/+?(){}|]/\\&/g; s/\\\.\\\.\\\./.*/g; s/<carol'"'"'s key>/[0-9a-f]{64}/g')
    case $want in curvecp-gateway:*) re=$(printf '%s' "$re" | sed -E 's/[0-9]+/[0-9]+/g') ;; esac
    # Step 8 admits a reset so early that curl is still connecting: (7), exit 7.
    case $want in
        "curl: (56) "*) re="($re|curl: \(7\) .*Couldn't connect to server)" ;;
        56) re="(56|7)" ;;
    esac
    grep -qE "^$re\$" "$log" || fail "the README shows \"$want\"; the tour did not print it"
done < "$work/expected"

# What the prose promises.
for want in "zmq-echo: OK" "hello, CurveCP" "hello from NaCl" "ours to NaCl" "ours -m to NaCl" \
            "default host" "SHOUT" "this is www" "this is the shop" \
            "carol read 5 ticks, refused 5 it had no key for, denied: revoked" "zmq-fanout: OK" \
            "hello from UDP" "hi"; do
    grep -qxF "$want" "$log" || fail "the tour did not print \"$want\""
done
[ "$(grep -c '^curvecp-fetch: no handshake' "$log")" = 2 ] || fail "the two refused fetches (exit 4) did not say so"
for f in big.bin udp.bin copy.bin alice.bin bob.bin; do
    cmp -s "$work/tree/build/shared/big.bin" "$work/tree/build/$f" || fail "the tour's $f is not the served file"
done
[ ! -e "$work/tree/build/eve.bin" ] || fail "a client not on the allow-list was served"
echo "test_readme_tour: the tour ran as written ($(grep -c . "$work/expected") shown outputs checked)"
