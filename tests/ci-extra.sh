#!/usr/bin/env bash
# ci-extra.sh - the hardening part of CI:
#   (a) the whole test suite built with AddressSanitizer + UndefinedBehavior-
#       Sanitizer (CURVECP_SANITIZE=ON, build dir build-asan), run by ctest,
#       with LeakSanitizer on;
#   (b) every libFuzzer target for a short bounded time (tests/fuzz/run-fuzz.sh);
#   (c) the whole tree built with clang and -Werror (build-clang), and
#       built without the tests (build-notests: -DCURVECP_TESTS=OFF must
#       build), neither of them run.
# Usage: tests/ci-extra.sh [fuzz-seconds-per-target]   (default 20)
# Exit status 0 only if every part passes. Meant to take well under 10
# minutes on 2 cores.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
build=$src/build-asan

# The Python tests need Debian's python3 (python3-nacl, python3-zmq), which
# a pyenv or venv python earlier on PATH would hide.
export PATH=/usr/bin:$PATH
# Any sanitizer report fails the test that triggered it; leaks included.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

status=0
start=$(date +%s)
echo "ci-extra: (a) test suite under ASan + UBSan in $build"
mkdir -p "$build"
if cmake -S "$src" -B "$build" -DCURVECP_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null \
   && cmake --build "$build" -j2 >"$build/build.log" 2>&1; then
    # One test at a time: under -j2 and heavy load, a tool stopped by a
    # signal once hung in LeakSanitizer's exit-time check (its tracer
    # waiting on a thread that never stopped); a hang fails its test after
    # 10 minutes instead of stalling CI.
    # A test that fails is run once more (--repeat until-pass:2), and every
    # first failure is listed below whatever the outcome: a sanitizer
    # report or a hang that comes back fails CI, one that does not is
    # still in the log for a person to read.
    ctest --test-dir "$build" --timeout 600 --output-on-failure --repeat until-pass:2 \
        2>&1 | tee "$build/ctest.log" || status=1
    grep -E '[*]{3}(Failed|Timeout|Exception)|Failed +[0-9.]+ sec' "$build/ctest.log" \
        | sed 's/^/ci-extra: (a) failed once: /' || true
else
    tail -40 "$build/build.log" >&2
    echo "ci-extra: sanitizer build failed" >&2
    status=1
fi
middle=$(date +%s)
echo "ci-extra: (a) took $((middle - start)) s"

echo "ci-extra: (b) fuzz targets, ${seconds} s each"
"$src/tests/fuzz/run-fuzz.sh" "$seconds" || status=1
echo "ci-extra: (b) took $(( $(date +%s) - middle )) s"

# build <dir> <what> <cmake options...>: configure and build, show the end
# of the log on failure.
build () {
    local dir=$1 what=$2
    shift 2
    mkdir -p "$dir"
    if cmake -S "$src" -B "$dir" "$@" >"$dir/configure.log" 2>&1 \
       && cmake --build "$dir" -j2 >"$dir/build.log" 2>&1; then
        echo "ci-extra: (c) $what: ok"
    else
        tail -40 "$dir/configure.log" "$dir/build.log" >&2 2>/dev/null
        echo "ci-extra: (c) $what: FAILED" >&2
        status=1
    fi
}
last=$(date +%s)
echo "ci-extra: (c) builds: clang -Werror; without tests"
if command -v clang >/dev/null; then
    build "$src/build-clang" "clang -Werror" -DCMAKE_C_COMPILER=clang -DCURVECP_WERROR=ON
else
    echo "ci-extra: (c) clang not found" >&2
    status=1
fi
build "$src/build-notests" "-DCURVECP_TESTS=OFF" -DCURVECP_TESTS=OFF -DCURVECP_WERROR=ON
echo "ci-extra: (c) took $(( $(date +%s) - last )) s"
exit $status
