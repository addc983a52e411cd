#!/bin/bash
# A second configure of a build directory changes nothing: no compile or
# link command moves, so the next build has nothing to do. (The README's
# second command configures the directory its first one built; czmq's
# "-isystem" once moved from the include list to the flags at the first
# re-configure and the whole tree recompiled.)
#
# Checked two ways in a scratch build directory configured as the README
# does: every generated compile and link command of every target is the
# same after the second configure, and one small target that uses czmq's
# flags (the ØMQ carrier's objects), built after the first configure, has
# nothing to rebuild after the second.
set -eu
src=$(cd "${2:-$(dirname "$0")/..}" && pwd)
work=$(mktemp -d /tmp/curvecp-reconfigure.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail () { echo "test_reconfigure: $*" >&2; exit 1; }

commands () {   # what decides whether anything is compiled or linked again
    (cd "$work/build" && find . \( -name flags.make -o -name link.txt -o -name build.make \) \
        -print0 | sort -z | xargs -0 md5sum)
}

cmake -S "$src" -B "$work/build" >"$work/configure1.log" 2>&1 || { cat "$work/configure1.log"; fail "first configure failed"; }
cmake --build "$work/build" --target curvecp_zmq_objects -j2 >"$work/build1.log" 2>&1 \
    || { cat "$work/build1.log"; fail "first build failed"; }
grep -q 'Building C object' "$work/build1.log" || fail "the first build compiled nothing (the check below could not fail)"
commands >"$work/before"

cmake -S "$src" -B "$work/build" >"$work/configure2.log" 2>&1 || { cat "$work/configure2.log"; fail "second configure failed"; }
commands >"$work/after"
if ! diff "$work/before" "$work/after" >"$work/diff"; then
    cat "$work/diff" >&2
    fail "the second configure changed the build commands of the files above"
fi
cmake --build "$work/build" --target curvecp_zmq_objects -j2 >"$work/build2.log" 2>&1 \
    || { cat "$work/build2.log"; fail "second build failed"; }
if grep 'Building C object' "$work/build2.log" >&2; then
    fail "the second build recompiled the objects above"
fi
echo "test_reconfigure: OK (a second configure changes no build command)"
