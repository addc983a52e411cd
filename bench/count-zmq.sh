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
# Where valgrind is installed it also counts instructions per round
# trip, by library.
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

# Instructions per round trip by library (valgrind's callgrind, which
# counts every instruction of every thread: no load blurs it), ours
# against libzmq CURVE. The libsodium row is the XSalsa20-Poly1305 both
# sides must do (CurveCP's 192-byte messages against CURVE's 65-byte
# boxes); "program" is bench-zmq itself: for ours, the whole carrier,
# codec and message layer (linked in), for libzmq's only the loop.
if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
    rounds=$((n / 2))
    instructions () {   # side count -> "object instructions" lines
        timeout 600 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1.$2" \
            "$bench" 1 zmq_latency_rtt_64B "$1" "$2" >/dev/null 2>&1
        callgrind_annotate --auto=no --inclusive=no --threshold=100 "$tmp/cg.$1.$2" 2>/dev/null |
            awk '$1 ~ /^[0-9,]+$/ && $0 ~ /:/ && $0 !~ /PROGRAM TOTALS|=>/ {
                     v = $1; gsub(",", "", v)
                     obj = "program"
                     if (match ($0, /\[[^]]*\]$/)) { obj = substr ($0, RSTART + 1, RLENGTH - 2); sub (".*/", "", obj) }
                     if (obj ~ /^bench-zmq/) obj = "program"
                     sub ("\\.so.*", "", obj)
                     sum[obj] += v
                 }
                 END { for (o in sum) print o, sum[o] }'
    }
    echo
    echo "instructions per 64-byte round trip (callgrind, $rounds and $((2 * rounds)) round trips):"
    for side in ours peer; do
        instructions "$side" "$rounds" > "$tmp/i1"
        instructions "$side" $((2 * rounds)) > "$tmp/i2"
        join <(sort "$tmp/i1") <(sort "$tmp/i2") |
            awk -v c="$rounds" -v s="$side" '{ d = ($3 - $2) / c; if (d >= 50) { line[$1] = d; total += d } }
                END { printf "  %-5s total %7.0f :", s, total
                      for (o in line) printf "  %s %.0f", o, line[o]; printf "\n" }'
    done
fi
