#!/bin/bash
# run-udp.sh [BUILD] - every UDP benchmark, one after the other (they
# share two cores: running them together would measure each other).
# Prints the RESULT lines; takes about 2-4 minutes (NaCl's tools are the
# slow part, mostly through the lossy relay). LOSSES, NACL_TIMEOUT and
# NACL_BYTES in the environment go to bench_udp_lossy.sh (run-all.sh sets them);
# LOSSES and TCP_TIMEOUT to bench_tcp_lossy.sh (TCP through the TUN relay).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-$HERE/../build}" && pwd)
for exe in curvecp-server curvecp-client bench-udp-blast bench-udp-lib bench-udp-relay bench-tun-relay bench-udp-server bench-udp-rtt bench-udp-workers; do
    [ -x "$BUILD/$exe" ] || { echo "run-udp.sh: $BUILD/$exe is not built" >&2; exit 1; }
done
bash "$HERE/bench_udp_bulk.sh" "$BUILD"
bash "$HERE/bench_udp_lossy.sh" "$BUILD"
bash "$HERE/bench_tcp_lossy.sh" "$BUILD"     # TCP on the same lossy path (needs root)
bash "$HERE/bench_udp_connect.sh" "$BUILD"
"$BUILD/bench-udp-rtt" 50
"$BUILD/bench-udp-server" 10000
"$BUILD/bench-udp-workers" 4000 100
