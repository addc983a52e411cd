#!/bin/bash
# Count system calls (strace -c -f), heap allocations (an LD_PRELOAD
# shim, bench/shim/alloc_count.c) and CPU time (user + system, every
# thread: the work, which the machine's load changes far less than the
# wall-clock rate) per ØMQ round trip and per new connection, ours
# against libzmq CURVE. Each side runs alone, twice
# (N and 2N round trips or connections, untimed); the difference over N
# is the cost of one, start-up and teardown cancelled out. Counts, not
# wall-clock times, so the machine's load matters little.
#   bench/count-zmq.sh [build-dir] [N]   (default build, 2000)
set -eu
build="${1:-build}"
n="${2:-2000}"
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -shared -fPIC -o "$tmp/alloc_count.so" "$here/shim/alloc_count.c" -ldl
bench="$build/bench-zmq"

syscalls () {   # figure side count -> total system calls of the run
    strace -f -c -o "$tmp/strace" timeout 120 "$bench" 1 "$1" "$2" "$3" >/dev/null 2>&1
    awk '$NF == "total" { print $(NF-2) + 0 }' "$tmp/strace"
}
allocs () {     # figure side count -> heap allocations of the run
    LD_PRELOAD="$tmp/alloc_count.so" timeout 120 "$bench" 1 "$1" "$2" "$3" 2>&1 >/dev/null |
        sed -n 's/^ALLOCS bench-zmq .*total=\([0-9]*\)$/\1/p' | tail -1
}
cputime () {    # figure side count -> CPU seconds of the run (task-clock, every thread)
    perf stat -x, -e task-clock -o "$tmp/perf" timeout 120 "$bench" 1 "$1" "$2" "$3" >/dev/null 2>&1
    awk -F, '/task-clock/ { print $1 / 1000 }' "$tmp/perf"
}
calls () {      # strace's top calls per unit, for the record
    strace -f -c -o "$tmp/strace" timeout 120 "$bench" 1 "$1" "$2" "$3" >/dev/null 2>&1
    cp "$tmp/strace" "$tmp/strace.$4"
}
printf "%-22s %-5s %12s %12s %12s\n" figure side syscalls allocations "CPU us"
for figure in zmq_latency_rtt_64B zmq_connections; do
    count=$n
    [ "$figure" = zmq_connections ] && count=$((n / 10))
    for side in ours peer; do
        s1=$(syscalls "$figure" "$side" "$count"); s2=$(syscalls "$figure" "$side" $((2 * count)))
        a1=$(allocs "$figure" "$side" "$count"); a2=$(allocs "$figure" "$side" $((2 * count)))
        c1=$(cputime "$figure" "$side" "$count"); c2=$(cputime "$figure" "$side" $((2 * count)))
        printf "%-22s %-5s %12.1f %12.1f %12.1f\n" "$figure" "$side" \
            "$(echo "($s2 - $s1) / $count" | bc -l)" "$(echo "($a2 - $a1) / $count" | bc -l)" \
            "$(echo "($c2 - $c1) * 1000000 / $count" | bc -l)"
        if [ -n "${VERBOSE:-}" ]; then
            calls "$figure" "$side" "$count" 1; calls "$figure" "$side" $((2 * count)) 2
            per_call () { awk '$1 ~ /^[0-9.]+$/ && $NF != "total" { print $NF, $4 }' "$1" | sort; }
            join <(per_call "$tmp/strace.1") <(per_call "$tmp/strace.2") |
                awk -v c="$count" '{ d = ($3 - $2) / c; if (d > 0.05) printf "    %-20s %6.2f\n", $1, d }' | sort -k2 -nr
        fi
    done
done
