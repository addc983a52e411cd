#!/bin/bash
# test_debian_package.sh BUILD SRC - `dpkg-buildpackage -us -uc -b` on a
# copy of the source tree builds libcurvecp0, libcurvecp-dev,
# libcurvecp-zmq0, libcurvecp-zmq-dev and curvecp-tools; each file lands in
# the package it belongs to (libraries in the library packages; headers,
# static libraries, pkg-config and CMake files in the -dev packages; tools
# and man pages in curvecp-tools), the dependencies are there, and a UDP
# program and a ØMQ program build against the packages unpacked in a
# clean directory tree (pkg-config and find_package) and run from it.
# Missing packaging tools fail the test: scripts/install-deps.sh has them.
set -u
src=$(cd "${2:-$(dirname "$0")/..}" && pwd)
work=$(mktemp -d /tmp/curvecp-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
fails=0
fail () { echo "test_debian_package: $*" >&2; exit 1; }
problem () { echo "test_debian_package: $*" >&2; fails=$((fails + 1)); }

for tool in dpkg-buildpackage dpkg-deb dpkg-architecture dpkg-parsechangelog dh pkg-config cc cmake; do
    command -v $tool >/dev/null \
        || fail "$tool is missing: run scripts/install-deps.sh (dpkg-dev, debhelper, pkg-config)"
done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)

# The package's version is the project's.
project_version=$(sed -n 's/^project(curvecp VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
deb_version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
[ "$deb_version" = "$project_version" ] \
    || fail "debian/changelog says $deb_version, CMakeLists.txt $project_version"

# --- build from a copy of the tree (the .debs land next to it) -----------------
tree=$work/curvecp-$deb_version
mkdir "$tree"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked files and new ones not ignored: what a commit would hold.
    (cd "$src" && git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
        | xargs -0 cp -P --preserve=mode --parents -t "$tree") || fail "cannot copy the source tree"
else
    (cd "$src" && tar --exclude='./build*' --exclude=./.git -cf - .) | (cd "$tree" && tar -xf -) \
        || fail "cannot copy the source tree"
fi
log=$work/dpkg-buildpackage.log
if ! (cd "$tree" && DEB_BUILD_OPTIONS="parallel=2 noddebs nocheck" \
        dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
    tail -40 "$log" >&2
    fail "dpkg-buildpackage -us -uc -b failed (log above)"
fi

packages="libcurvecp0 libcurvecp-dev libcurvecp-zmq0 libcurvecp-zmq-dev curvecp-tools"
root=$work/root
mkdir "$root"
for p in $packages; do
    deb=$work/${p}_${deb_version}_${arch}.deb
    [ -f "$deb" ] || fail "no $p package: $(cd "$work" && ls ./*.deb)"
    mkdir -p "$work/pkg/$p"
    dpkg-deb -x "$deb" "$work/pkg/$p"
    dpkg-deb -x "$deb" "$root"
    # Files and symbolic links, without the docs every package has.
    (cd "$work/pkg/$p" && find . ! -type d | sed 's|^\./||' | grep -v '^usr/share/doc/' | sort) > "$work/$p.files"
done
for deb in "$work"/*.deb; do
    name=$(dpkg-deb -f "$deb" Package)
    case " $packages " in *" $name "*) ;; *) problem "an unexpected package: $name" ;; esac
done

# --- each file in its package ---------------------------------------------------
lib=usr/lib/$multiarch
has () {   # has PACKAGE PATH-REGEX WHAT
    grep -qE "^$2\$" "$work/$1.files" || problem "$1 lacks $3 ($2)"
}
only () {  # only PACKAGE PATH-REGEX: every file of PACKAGE matches
    local extra
    extra=$(grep -vE "^($2)\$" "$work/$1.files")
    [ -z "$extra" ] || problem "$1 holds what belongs elsewhere: $(echo $extra)"
}
has libcurvecp0 "$lib/libcurvecp\.so\.0" "the shared library's SONAME link"
has libcurvecp0 "$lib/libcurvecp\.so\.0\.[0-9.]+" "the shared library"
only libcurvecp0 "$lib/libcurvecp\.so\.[0-9.]+"
has libcurvecp-zmq0 "$lib/libcurvecp-zmq\.so\.0" "the shared library's SONAME link"
has libcurvecp-zmq0 "$lib/libcurvecp-zmq\.so\.0\.[0-9.]+" "the shared library"
only libcurvecp-zmq0 "$lib/libcurvecp-zmq\.so\.[0-9.]+"
for f in include/curvecp.h include/curvecp_version.h include/curvecp_export.h include/curvecp_udp_server.h \
         "$lib/libcurvecp\.so" "$lib/libcurvecp\.a" "$lib/pkgconfig/libcurvecp\.pc" \
         "$lib/cmake/curvecp/curvecpConfig\.cmake" "$lib/cmake/curvecp/curvecpConfigVersion\.cmake" \
         "$lib/cmake/curvecp/curvecpTargets\.cmake"; do
    has libcurvecp-dev "${f/#include/usr/include}" "a development file"
done
only libcurvecp-dev "usr/include/curvecp[a-z0-9_]*\.h|$lib/libcurvecp\.(so|a)|$lib/pkgconfig/libcurvecp\.pc|$lib/cmake/curvecp/[A-Za-z-]+\.cmake"
for f in include/curvecp_zmq_all.h include/curvecp_zmq_client.h include/curvecp_zmq_server.h include/curvecp_zmq_codec.h \
         "$lib/libcurvecp-zmq\.so" "$lib/libcurvecp-zmq\.a" "$lib/pkgconfig/libcurvecp-zmq\.pc"; do
    has libcurvecp-zmq-dev "${f/#include/usr/include}" "a development file"
done
only libcurvecp-zmq-dev "usr/include/curvecp[a-z0-9_]*\.h|$lib/libcurvecp-zmq\.(so|a)|$lib/pkgconfig/libcurvecp-zmq\.pc"
only curvecp-tools "usr/bin/curvecp-[a-z-]+|usr/share/man/man1/curvecp-[a-z-]+\.1\.gz"
# Every tool with its page, every page with its tool, as many as src/tools has.
tools=$(sed -n 's|^usr/bin/||p' "$work/curvecp-tools.files")
[ "$(echo $tools | wc -w)" -eq "$(ls "$src"/src/tools/tool_*.c | wc -l)" ] \
    || problem "curvecp-tools has $(echo $tools | wc -w) tools, src/tools $(ls "$src"/src/tools/tool_*.c | wc -l)"
for t in $tools; do has curvecp-tools "usr/share/man/man1/$t\.1\.gz" "the man page of $t"; done
for page in "$src"/man/*.1; do has curvecp-tools "usr/bin/$(basename "$page" .1)" "the tool of man/$(basename "$page")"; done
# Every public header in one -dev package; the ØMQ ones (those that reach
# czmq.h) in libcurvecp-zmq-dev, and no file in two packages.
for h in "$src"/include/*.h include/curvecp_version.h; do
    h=usr/include/$(basename "$h")
    n=$(cat "$work/libcurvecp-dev.files" "$work/libcurvecp-zmq-dev.files" | grep -cx "$h")
    [ "$n" -eq 1 ] || problem "$h is in $n -dev packages"
done
for h in $(grep -x 'usr/include/.*\.h' "$work/libcurvecp-dev.files"); do
    printf '#include <%s>\n' "$(basename "$h")" > "$work/one.c"
    if ! cc -std=c11 -M -I"$work/pkg/libcurvecp-dev/usr/include" "$work/one.c" >"$work/deps" 2>"$work/err"; then
        problem "$h does not compile with libcurvecp-dev alone: $(head -2 "$work/err")"
    elif tr ' \\' '\n\n' < "$work/deps" | grep -qE '/c?zmq\.h$'; then
        problem "$h reaches ØMQ headers: it belongs in libcurvecp-zmq-dev"
    fi
done
dups=$(cat "$work"/*.files | sort | uniq -d)
[ -z "$dups" ] || problem "files in two packages: $(echo $dups)"

# --- dependencies -------------------------------------------------------------------
depends () { dpkg-deb -f "$work/${1}_${deb_version}_${arch}.deb" Depends; }
needs () {  # needs PACKAGE REGEX WHAT
    depends "$1" | tr ',' '\n' | sed 's/^ *//' | grep -qE "^$2" || problem "$1 does not depend on $3: $(depends "$1")"
}
needs libcurvecp0 'libsodium[0-9]+ ' "libsodium (shlibs)"
needs libcurvecp-zmq0 'libczmq[0-9]+ ' "libczmq (shlibs)"
needs libcurvecp-zmq0 'libzmq[0-9]+ ' "libzmq (shlibs)"
needs libcurvecp-dev "libcurvecp0 \\(= $deb_version\\)" "its library"
needs libcurvecp-dev 'libsodium-dev' "libsodium-dev"
needs libcurvecp-zmq-dev "libcurvecp-zmq0 \\(= $deb_version\\)" "its library"
needs libcurvecp-zmq-dev "libcurvecp-dev \\(= $deb_version\\)" "libcurvecp-dev"
needs libcurvecp-zmq-dev 'libczmq-dev' "libczmq-dev"
needs curvecp-tools 'libsodium[0-9]+ ' "libsodium (shlibs)"
if depends libcurvecp0 | grep -qE 'zmq'; then problem "libcurvecp0 depends on ØMQ: $(depends libcurvecp0)"; fi

# --- programs against the unpacked tree --------------------------------------------
cat > "$work/udp_prog.c" <<'C'
/* libcurvecp alone: a key pair, its hex form back to bytes, a UDP server. */
#include <stdio.h>
#include <string.h>
#include <curvecp.h>
int main (void)
{
    curvecp_keypair_t keys;
    curvecp_keypair_generate (&keys);
    char hex[2 * CURVECP_KEY_BYTES + 1];
    uint8_t back[CURVECP_KEY_BYTES];
    curvecp_key_to_hex (keys.public_key, hex);
    if (curvecp_key_from_hex (hex, back) != CURVECP_OK || memcmp (back, keys.public_key, sizeof back))
        return 1;
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.keys = &keys;
    if (curvecp_udp_addr_parse ("127.0.0.1", 0, &config.bind) != CURVECP_OK)
        return 2;
    curvecp_udp_server_t *server = curvecp_udp_server_new (&config);
    if (!server)
        return 3;
    curvecp_udp_server_destroy (&server);
    curvecp_keypair_wipe (&keys);
    printf ("udp %d.%d.%d\n", CURVECP_VERSION_MAJOR, CURVECP_VERSION_MINOR, CURVECP_VERSION_PATCH);
    return 0;
}
C
cat > "$work/zmq_prog.c" <<'C'
/* libcurvecp-zmq: a ROUTER bound to a free port and a DEALER for it. */
#include <stdio.h>
#include <curvecp_zmq_all.h>
int main (void)
{
    curvecp_keypair_t server_keys, client_keys;
    curvecp_keypair_generate (&server_keys);
    curvecp_keypair_generate (&client_keys);
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&server_keys, "deb.test");
    if (!server)
        return 1;
    int port = curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*");
    curvecp_zmq_client_t *client = curvecp_zmq_client_new (&client_keys, server_keys.public_key, "deb.test");
    if (port <= 0 || !client)
        return 2;
    curvecp_zmq_client_destroy (&client);
    curvecp_zmq_server_destroy (&server);
    printf ("zmq %d.%d.%d\n", CURVECP_VERSION_MAJOR, CURVECP_VERSION_MINOR, CURVECP_VERSION_PATCH);
    return 0;
}
C
export PKG_CONFIG_PATH=$root/$lib/pkgconfig
[ "$(pkg-config --variable=prefix libcurvecp)" -ef "$root/usr" ] \
    || problem "libcurvecp.pc does not find its prefix in the tree: $(pkg-config --variable=prefix libcurvecp)"
[ "$(pkg-config --modversion libcurvecp-zmq)" = "$deb_version" ] \
    || problem "libcurvecp-zmq.pc says version $(pkg-config --modversion libcurvecp-zmq)"
run () {   # run PROGRAM WORD: it runs from the tree's libraries and says "WORD version"
    local out
    out=$(LD_LIBRARY_PATH=$root/$lib "$1") || { problem "$1 failed ($?)"; return; }
    [ "$out" = "$2 $deb_version" ] || problem "$1 printed '$out', not '$2 $deb_version'"
    LD_LIBRARY_PATH=$root/$lib ldd "$1" | grep -q "=> $root/$lib/libcurvecp" \
        || problem "$1 does not load libcurvecp from the tree"
}
cc -o "$work/udp_pc" "$work/udp_prog.c" $(pkg-config --cflags --libs libcurvecp) \
    && run "$work/udp_pc" udp || problem "a libcurvecp program does not build with pkg-config"
cc -o "$work/zmq_pc" "$work/zmq_prog.c" $(pkg-config --cflags --libs libcurvecp-zmq) \
    && run "$work/zmq_pc" zmq || problem "a libcurvecp-zmq program does not build with pkg-config"
# The same with find_package, from the CMake package in libcurvecp-dev.
mkdir "$work/proj"
cp "$work/udp_prog.c" "$work/zmq_prog.c" "$work/proj/"
cat > "$work/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(debtest C)
find_package(curvecp REQUIRED)
add_executable(udp_prog udp_prog.c)
target_link_libraries(udp_prog curvecp::curvecp)
add_executable(zmq_prog zmq_prog.c)
target_link_libraries(zmq_prog curvecp::curvecp-zmq)
CM
if cmake -S "$work/proj" -B "$work/proj/build" -DCMAKE_PREFIX_PATH="$root/usr" >"$work/cmake.log" 2>&1 \
   && cmake --build "$work/proj/build" >>"$work/cmake.log" 2>&1; then
    run "$work/proj/build/udp_prog" udp
    run "$work/proj/build/zmq_prog" zmq
else
    tail -20 "$work/cmake.log" >&2
    problem "programs do not build with find_package(curvecp) from the tree"
fi
# The tools run from the tree.
LD_LIBRARY_PATH=$root/$lib "$root/usr/bin/curvecp-makekey" "$work/keys" \
    && key=$(LD_LIBRARY_PATH=$root/$lib "$root/usr/bin/curvecp-printkey" "$work/keys") \
    && [ ${#key} -eq 64 ] || problem "curvecp-makekey / curvecp-printkey from the package do not work"

[ $fails -eq 0 ] || fail "$fails problem(s)"
echo "debian: $(echo $packages | wc -w) packages of $deb_version built; files where they belong; programs built with pkg-config and find_package against them"
