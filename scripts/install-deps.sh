#!/bin/sh
# Installs the Debian packages curvecp needs to build, test, fuzz and interoperate.
# groff-base and man-db check the man pages (test_man_pages); dpkg-dev,
# debhelper and fakeroot build the Debian packages (test_debian_package).
# spiped and stunnel4 are the tunnel's peers in its tests and benchmarks;
# gnuplot-nox draws bench/results' chart; iproute2 makes network namespaces;
# curl is the README tour's web client (step 8, the tunnel).
# Idempotent: safe to run again; does nothing slow when everything is present.
set -e
PKGS="build-essential cmake pkg-config libsodium-dev libzmq3-dev libczmq-dev \
      nacl-tools clang libclang-rt-14-dev python3 python3-nacl python3-zmq strace \
      groff-base man-db dpkg-dev debhelper fakeroot \
      spiped stunnel4 gnuplot-nox iproute2 curl"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
