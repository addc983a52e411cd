#!/bin/bash
# Bad input to curvecp-message: frames on fd 8 with n = 0, n = 69, n with
# the top bit set, a frame cut short by end of input, and end of input at a
# frame boundary must each end it with a "protocol error" message and exit
# 111, as NaCl's curvecpmessage does (its own verdict is checked too when
# nacl-tools is installed). Also: usage errors exit 100, the child's exit
# status passes through, and a child killed by a signal is a fatal error.
# $1 = build dir, $2 = source dir.
set -u
build=${1:-build}
ours=$build/curvecp-message
relay=$build/tests/helper_msgrelay
nacl=/usr/bin/curvecpmessage
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

# expect TOOL NAME BYTES(printf format) EXPECTED_STATUS PATTERN [extra flags]
expect_frames () {
    local tool=$1 name=$2 bytes=$3 want=$4 pattern=$5
    printf "$bytes" > "$work/in"
    timeout -k 10 20 "$tool" cat 8< "$work/in" 9> /dev/null 0< /dev/null > /dev/null 2> "$work/err"
    local rc=$?
    if [ $rc != "$want" ] || ! grep -q "$pattern" "$work/err"; then
        echo "FAIL $(basename "$tool") $name: exit $rc (want $want), stderr: $(cat "$work/err")"
        failed=1
    else
        echo "ok   $(basename "$tool") $name: exit $rc: $(cat "$work/err")"
    fi
}

# A valid 192-byte pure acknowledgment frame: n = 12 and 192 zero bytes
ack=$(printf '\\x0c'; for i in $(seq 192); do printf '\\x00'; done)
cases=(
    "n0|\\x00"
    "n69|\\x45$(for i in $(seq 16); do printf '\\x00'; done)"
    "n200|\\xc8"
    "truncated|\\x0c\\x00\\x00\\x00\\x00"
    "good_then_truncated|${ack}\\x0c\\x00"
    "good_then_n0|${ack}\\x00"
    "eof_at_boundary|${ack}"
    "empty_input|"
)
tools=("$ours")
[ -x "$nacl" ] && tools+=("$nacl")
for tool in "${tools[@]}"; do
    for entry in "${cases[@]}"; do
        expect_frames "$tool" "${entry%%|*}" "${entry#*|}" 111 "unable to read from file descriptor 8: protocol error"
    done
done

# Usage errors: no program, an unknown option
for args in "" "-x cat" "-q"; do
    timeout -k 10 10 "$ours" $args 8< /dev/null 9> /dev/null > /dev/null 2> "$work/err"
    rc=$?
    if [ $rc != 100 ]; then echo "FAIL usage '$args': exit $rc (want 100)"; failed=1
    else echo "ok   usage '$args': exit 100"; fi
done

# -q silences the protocol error but keeps the status
printf '\x00' > "$work/in"
timeout -k 10 10 "$ours" -q cat 8< "$work/in" 9> /dev/null 0< /dev/null > /dev/null 2> "$work/err"
rc=$?
if [ $rc != 111 ] || [ -s "$work/err" ]; then echo "FAIL -q: exit $rc, stderr: $(cat "$work/err")"; failed=1
else echo "ok   -q: exit 111, silent"; fi

# A child killed by a signal: the handler reports it and exits 111
out=$(timeout -k 10 30 "$relay" relay -t 20 "$ours" -c sh -c 'kill -9 $$' :: "$ours" cat 2> "$work/err")
if ! grep -q "client=111 " <<< "$out" || ! grep -q "killed by signal 9" "$work/err"; then
    echo "FAIL killed child: $out $(cat "$work/err")"; failed=1
else echo "ok   killed child: $out"; fi

# The child's status passes through even when it exits without reading or writing
out=$(timeout -k 10 30 "$relay" relay -t 20 "$ours" -C sh -c 'exit 17' :: "$ours" sh -c 'exit 23' 2> "$work/err")
if ! grep -q "client=17 server=23 " <<< "$out"; then
    echo "FAIL status: $out $(cat "$work/err")"; failed=1
else echo "ok   status: $out"; fi
exit $failed
