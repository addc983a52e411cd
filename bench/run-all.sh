#!/bin/bash
# run-all.sh [BUILD] - every benchmark, one after the other, and the
# figures in one place:
#   bench/results/raw.txt     everything the benchmarks printed
#   bench/results/results.md  a table of every RESULT line: name, ours,
#                             peer, ratio, unit, the goal from issues
#                             12-14 where one exists, met or not
#   bench/results/chart.png   goodput against loss rate through the lossy
#                             relays (20 ms RTT): ours and NaCl's tools
#                             through the UDP relay, TCP (bbr, cubic) and
#                             ours again through the TUN relay
#   bench/results/ratios.png  ratio against the peer, one bar per figure
# Runs: bench/run-udp.sh (bulk, library path, lossy relay at 0, 1, 2 and
# 5 % with NaCl's runs cut at 60 s and 1 MB, TCP through the TUN relay at
# the same losses cut at 60 s, connect, handshakes),
# bench/run-zmq.sh, and where they exist (other branches add them)
# bench/bench_tunnel.sh, bench/run-pubsub.sh and any benchmark printing
# udp_handshakes_2workers_vs_1. UDP and ØMQ take 3-4 minutes on a 2-core
# machine (NaCl's tools and TCP cubic are most of it; each of their lossy
# runs is cut at 60 s, so never more than about 12 minutes); the others add
# their own; a benchmark that hangs is cut at 15 minutes.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-$HERE/../build}" && pwd)
OUT=$HERE/results
mkdir -p "$OUT"
RAW=$OUT/raw.txt
: > "$RAW"

run () {       # run LABEL COMMAND...: its output to the terminal and raw.txt
    echo "## $1 ($(date -u +%H:%M:%S))" | tee -a "$RAW"
    shift
    timeout 900 "$@" 2>&1 | tee -a "$RAW"
}

export LOSSES="${LOSSES:-0 1 2 5}" NACL_TIMEOUT="${NACL_TIMEOUT:-60}" NACL_BYTES="${NACL_BYTES:-1000000}"
START=$(date +%s)
run "UDP" bash "$HERE/run-udp.sh" "$BUILD"
run "ZMQ" bash "$HERE/run-zmq.sh" "$BUILD"
[ -f "$HERE/bench_tunnel.sh" ] && run "tunnel" bash "$HERE/bench_tunnel.sh" "$BUILD"
[ -f "$HERE/run-pubsub.sh" ] && run "pub-sub" bash "$HERE/run-pubsub.sh" "$BUILD"
# the multi-worker handshake benchmark, whatever its file is called
for f in $(grep -l "udp_handshakes_2workers_vs_1" "$HERE"/*.sh "$HERE"/*.c 2>/dev/null); do
    case $f in
        */run-all.sh|*/run-udp.sh|*/bench_tunnel.sh|*/run-pubsub.sh) ;;
        *.sh) run "$(basename "$f")" bash "$f" "$BUILD" ;;
        *.c)  exe=$BUILD/$(basename "$f" .c | tr _ -)
              grep -q "$(basename "$exe")" "$HERE/run-udp.sh" || { [ -x "$exe" ] && run "$(basename "$exe")" "$exe"; } ;;
    esac
done
SECONDS_TOTAL=$(( $(date +%s) - START ))

# ---- the table ------------------------------------------------------------
# goal NAME: ">= x" or "<= x" on the ratio (issues 12, 13, 14), or nothing
goal () {
    case $1 in
        udp_bulk_vs_raw_blast)            echo ">= 0.6" ;;
        udp_bulk_lib_vs_blast)            echo ">= 0.8" ;;
        zmq_latency_rtt_64B)              echo "<= 1.0" ;;
        zmq_connections)                  echo ">= 2.0" ;;
        udp_handshakes_per_core)          echo ">= 0.95" ;;
        zmq_throughput_64KB)              echo ">= 1.5" ;;
        udp_handshakes_2workers_vs_1)     echo ">= 1.8" ;;
        tunnel_bulk_200MB_vs_spiped)      echo ">= 1.5" ;;
        tunnel_conn_echo*_vs_spiped)      echo ">= 2.0" ;;
        tunnel_rtt_10B_vs_spiped)         echo ">= 1.0" ;;   # ratio = peer / ours (bench_tunnel.sh)
        zmq_pubsub_fanout_100subs)        echo ">= 5.0" ;;
    esac
}
met () {       # met RATIO GOAL
    [ -z "$2" ] && return
    awk -v r="$1" -v op="${2%% *}" -v g="${2##* }" 'BEGIN {
        # a side that failed prints 0: never read as a ratio that meets "<="
        if (r !~ /^[0-9.]+$/ || r + 0 == 0) { print "no figure (a side failed)"; exit }
        ok = (op == ">=") ? (r + 0 >= g + 0) : (r + 0 <= g + 0); print ok ? "met" : "not met" }'
}
RESULTS=$(grep '^RESULT ' "$RAW")
{
    echo "# Benchmark results"
    echo
    echo "Measured by \`bench/run-all.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(uname -r)), ${SECONDS_TOTAL} s in all."
    echo "Ours and the peer are measured in the same run; ratio = ours / peer (for times, lower is better)."
    echo "Raw output: [raw.txt](raw.txt). Charts: [chart.png](chart.png), [ratios.png](ratios.png)."
    echo
    echo "| name | ours | peer | ratio | unit | goal (ratio) | |"
    echo "|---|---|---|---|---|---|---|"
    echo "$RESULTS" | sed -n 's/^RESULT \([^ ]*\) ours=\([^ ]*\) peer=\([^ ]*\) ratio=\([^ ]*\) unit=\(.*\)$/\1 \2 \3 \4 \5/p' |
    while read -r name ours peer ratio unit; do
        g=$(goal "$name")
        echo "| $name | $ours | $peer | $ratio | $unit | ${g:-} | $(met "$ratio" "$g") |"
    done
} > "$OUT/results.md.new"
if [ -f "$OUT/results.md" ] && grep -q '^<!-- keep -->' "$OUT/results.md"; then
    sed -n '/^<!-- keep -->/,$p' "$OUT/results.md" >> "$OUT/results.md.new"   # notes kept below the table
fi
mv "$OUT/results.md.new" "$OUT/results.md"

# ---- the charts -------------------------------------------------------------
# lossy.dat: loss %, ours and NaCl through the UDP relay (udp_lossy_*), ours
# through the TUN relay, TCP bbr, TCP cubic (tcp_<cc>_lossy_*); NaN = none
echo "$RESULTS" | awk '
    function col(c, v) { row[loss] = 1; cell[loss, c] = (v ~ /^[0-9.]+$/) ? v : "NaN" }
    /^RESULT (udp|tcp_[a-z]+)_lossy_[0-9]+pct_20ms / {
        split($2, n, "_"); loss = n[n[1] == "udp" ? 3 : 4]; sub(/pct/, "", loss)
        split($3, o, "="); split($4, p, "=")
        if (n[1] == "udp") { col(1, o[2]); col(2, p[2]) }
        else { col(3, o[2]); if (n[2] == "bbr") col(4, p[2]); if (n[2] == "cubic") col(5, p[2]) }
    }
    END { for (l in row) { printf "%s", l; for (c = 1; c <= 5; c++) printf " %s", ((l, c) in cell) ? cell[l, c] : "NaN"; print "" } }' |
    sort -n > "$OUT/lossy.dat"
echo "$RESULTS" | sed -n 's/^RESULT \([^ ]*\) ours=[^ ]* peer=[^ ]* ratio=\([0-9.]*\) .*/\1 \2/p' |
    awk '$2 > 0' > "$OUT/ratios.dat"
if command -v gnuplot >/dev/null; then
    gnuplot <<GNUPLOT
set terminal pngcairo size 900,640 noenhanced
set output "$OUT/chart.png"
set title "Bulk goodput through a lossy relay (20 ms RTT): ours, NaCl's curvecp tools, TCP"
set xlabel "loss rate each way (%)"
set ylabel "goodput (MB/s, log scale)"
set logscale y
set grid
set key below
set datafile missing "NaN"
plot "$OUT/lossy.dat" using 1:2 with linespoints lw 2 pt 7 lc rgb "#8000c0" title "ours (curvecp-client/-server -m, 10 MB)", \
     "$OUT/lossy.dat" using 1:3 with linespoints lw 2 pt 5 lc rgb "#008060" title "NaCl curvecpclient/curvecpserver (1 MB, cut at 60 s)", \
     "$OUT/lossy.dat" using 1:5 with linespoints lw 2 pt 9 lc rgb "#2080e0" title "TCP bbr (10 MB, cut at 60 s; TUN relay)", \
     "$OUT/lossy.dat" using 1:6 with linespoints lw 2 pt 11 lc rgb "#e08000" title "TCP cubic (10 MB, cut at 60 s; TUN relay)", \
     "$OUT/lossy.dat" using 1:4 with linespoints lw 1 dt 2 pt 6 lc rgb "#404040" title "ours through the TUN relay (check: the relays agree)"
set output "$OUT/ratios.png"
unset logscale y
set logscale y
set title "Ratio ours / peer, same run (time figures: lower is better)"
set xlabel ""
set ylabel "ratio (log scale)"
set style fill solid 0.6
set boxwidth 0.7
set xtics rotate by -50 font ",8"
set key off
set terminal pngcairo size 1100,600 noenhanced
set output "$OUT/ratios.png"
plot "$OUT/ratios.dat" using 0:2:xtic(1) with boxes, 1 with lines lw 1 lc rgb "black"
GNUPLOT
fi
echo "run-all.sh: ${SECONDS_TOTAL} s; $OUT/results.md, chart.png, ratios.png"
