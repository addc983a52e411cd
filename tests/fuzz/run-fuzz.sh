#!/usr/bin/env bash
# run-fuzz.sh - build the libFuzzer targets with clang and run each one for
# a bounded time, one after the other on one core (nice, one process).
#
#   tests/fuzz/run-fuzz.sh [seconds-per-target] [build-dir]
#
#   seconds-per-target  default 20; 0 = no time limit (then set FUZZ_RUNS)
#   build-dir           default <source>/build-fuzz
#
# Environment:
#   FUZZ_RUNS=N         stop each target after N executions (the long run:
#                       FUZZ_RUNS=10000000 tests/fuzz/run-fuzz.sh 0)
#   FUZZ_TARGETS="a b"  run only these targets
#   FUZZ_KEEP=1         keep each target's grown corpus between runs
#                       (build-dir/fuzz-work/<target>); default: start
#                       from the committed seeds every time
#
# Exit status 0 when every target ran to its limit with no crash, leak,
# timeout or sanitizer report; 1 otherwise. Crashing inputs are saved as
# build-dir/fuzz-artifacts/<target>-crash-<sha1>, to be replayed with
#   build-dir/tests/fuzz/<target> <file>
# The last lines are one summary line per target:
#   FUZZ <target> status=<ok|FAILED> runs=<n> execs_per_sec=<n> seconds=<n>
set -u
seconds=${1:-20}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$src/build-fuzz}
runs=${FUZZ_RUNS:--1}

if ! command -v clang >/dev/null; then
    echo "run-fuzz: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
fi

# Configure and build only the fuzz targets, so a half-written tool or
# benchmark elsewhere in the tree cannot stop the fuzzing.
mkdir -p "$build"
CC=clang cmake -S "$src" -B "$build" -DCURVECP_FUZZ=ON -DCURVECP_TESTS=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 \
    || { cat "$build/configure.log" >&2; echo "run-fuzz: configure failed" >&2; exit 1; }
targets=${FUZZ_TARGETS:-$(cat "$build/tests/fuzz/targets.txt")}
# shellcheck disable=SC2086
nice cmake --build "$build" -j2 --target $targets \
    || { echo "run-fuzz: build failed" >&2; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
failed=0
summary=""
for target in $targets; do
    work=$build/fuzz-work/$target
    [ "${FUZZ_KEEP:-0}" = 1 ] || rm -rf "$work"
    mkdir -p "$work"
    log=$build/fuzz-logs/$target.log
    limit=()
    [ "$seconds" -gt 0 ] && limit+=(-max_total_time="$seconds")
    echo "run-fuzz: $target (${seconds}s, runs=$runs)"
    start=$(date +%s)
    # New inputs go to $work; the committed seeds are only read.
    nice "$build/tests/fuzz/$target" "${limit[@]}" -runs="$runs" \
        -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-artifacts/$target-" \
        "$work" "$src/tests/fuzz/corpus/$target" >"$log" 2>&1
    rc=$?
    elapsed=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    status=ok
    if [ $rc -ne 0 ] || grep -qE "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:" "$log"; then
        status=FAILED
        failed=1
        echo "run-fuzz: $target FAILED (exit $rc); log $log:" >&2
        grep -E "invariant broken|ERROR:|runtime error:|SUMMARY|Test unit written" "$log" | head -20 >&2
    fi
    summary+="FUZZ $target status=$status runs=${execs:-0} execs_per_sec=${speed:-0} seconds=$elapsed"$'\n'
done
printf '%s' "$summary"
exit $failed
