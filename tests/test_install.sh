#!/bin/bash
# The README's "Using the library", run as written: cmake --install gives
# two libraries, their public headers, a pkg-config file each and one CMake
# package; examples/use/use_udp.c builds against libcurvecp (and needs
# neither libzmq nor libczmq), examples/use/use_zmq.c against
# libcurvecp-zmq, each through pkg-config and through find_package, and
# runs from a non-system prefix by its rpath. No internal header is installed; every public one compiles on its
# own, in C and in C++.
set -eu
build=$(cd "$1" && pwd)
src=$(cd "${2:-$(dirname "$0")/..}" && pwd)
work=$(mktemp -d /tmp/curvecp-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail () { echo "test_install: $*" >&2; exit 1; }

# San: a sanitizer build installs sanitized libraries; programs are built the same way.
san=""
grep -q '^CURVECP_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" && san="-fsanitize=address,undefined"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"

# --- the README's "Using the library", run as written ---------------------------
# Its marked shell blocks run in order, in a directory that looks like the
# top of the source tree (build/ is this build, examples/ the sources'), with
# HOME here so that its PREFIX=$HOME/... is a scratch prefix. Its CMake
# listing must be examples/use/CMakeLists.txt, the file it builds.
blocks () {   # $1: the marker line; prints each fenced block after one
    awk -v marker="$1" '
        $0 == marker { want = 1; next }
        want && /^```/ { if (inside) { inside = 0; want = 0; print "" } else inside = 1; next }
        inside { print }' "$src/README.md"
}
blocks '<!-- run by tests/test_install.sh -->' > "$work/readme.sh"
[ "$(grep -c . "$work/readme.sh")" -ge 8 ] || fail "README: the marked blocks of \"Using the library\" are missing"
blocks '<!-- the file examples/use/CMakeLists.txt (tests/test_install.sh compares) -->' > "$work/readme.cmake"
diff <(cat "$src/examples/use/CMakeLists.txt"; echo) "$work/readme.cmake" \
    || fail "README: its CMake listing is not examples/use/CMakeLists.txt"
mkdir -p "$work/tree" "$work/home" "$work/bin"
ln -s "$build" "$work/tree/build"
ln -s "$src/examples" "$work/tree/examples"
if [ -n "$san" ]; then
    # A sanitized library needs sanitized programs: the README's cc (and the
    # compiler CMake finds first on PATH) gets the flags.
    printf '#!/bin/sh\nexec %s %s "$@"\n' "$(command -v cc)" "$san" > "$work/bin/cc"
    chmod +x "$work/bin/cc"
    export CC="$work/bin/cc"
fi
(cd "$work/tree" && HOME="$work/home" PATH="$work/bin:$PATH" PKG_CONFIG_PATH= \
    bash -e "$work/readme.sh" >"$work/readme.log" 2>&1) \
    || { cat "$work/readme.log"; fail "the README's commands failed"; }
prefix=$work/home/opt/curvecp
[ -d "$prefix/lib" ] || fail "README: \$PREFIX/lib is not where the libraries were installed"
libdir=$prefix/lib
inc=$prefix/include
version=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --modversion libcurvecp)
[ "$(grep -c "^linked $version\$" "$work/readme.log")" = 4 ] \
    || { cat "$work/readme.log"; fail "README: the four programs did not each print \"linked $version\""; }

for f in "$inc/curvecp.h" "$inc/curvecp_zmq_all.h" "$inc/curvecp_version.h" "$inc/curvecp_export.h" \
         "$inc/curvecp_udp_server.h" "$inc/curvecp_zmq_server.h" "$inc/curvecp_zmq_codec.h" \
         "$libdir/libcurvecp.a" "$libdir/libcurvecp-zmq.a" \
         "$libdir/pkgconfig/libcurvecp.pc" "$libdir/pkgconfig/libcurvecp-zmq.pc" \
         "$libdir/cmake/curvecp/curvecpConfig.cmake"; do
    [ -e "$f" ] || fail "missing after install: ${f#$prefix/}"
done
ls "$libdir"/libcurvecp.so* "$libdir"/libcurvecp-zmq.so* >/dev/null
if grep -q '^CURVECP_TOOLS:BOOL=ON' "$build/CMakeCache.txt"; then
    [ -x "$prefix/bin/curvecp-server" ] || fail "missing after install: bin/curvecp-server"
fi

# --- headers: only public ones -------------------------------------------------
public=""
for h in "$inc"/*.h; do
    name=$(basename "$h")
    if [ -f "$src/include/$name" ] || [ "$name" = curvecp_version.h ]; then
        public="$public $name"
    else
        fail "internal header installed: include/$name"
    fi
done
[ -z "$(find "$inc" -mindepth 1 -type d)" ] || fail "subdirectories installed under include/"
# Never installed: the handshake, session, stream, packets, the tools'
# plumbing, the carriers' inner classes.
for name in curvecp_hs_server.h curvecp_replay.h curvecp_session.h curvecp_counter.h \
            curvecp_stream.h curvecp_chicago.h curvecp_message.h curvecp_conn.h curvecp_rng.h \
            curvecp_heap.h curvecp_table.h curvecp_zmq_codec_internal.h curvecp_hs_client.h curvecp_packet.h curvecp_safenonce.h curvecp_z85.h \
            curvecp_framing.h curvecp_udp_child.h curvecp_filexfer.h curvecp_endpoint.h \
            curvecp_udp_socket.h curvecp_udp_hellos.h curvecp_udp_internal.h \
            curvecp_appframe.h curvecp_zmq.h curvecp_zmq_zap.h curvecp_zmq_server_internal.h; do
    [ ! -e "$inc/$name" ] || fail "internal header installed: include/$name"
done

export PKG_CONFIG_PATH="$libdir/pkgconfig"
cflags_udp=$(pkg-config --cflags libcurvecp)
cflags_zmq=$(pkg-config --cflags libcurvecp-zmq)
# Each public header alone, as C and as C++ (the ØMQ ones with czmq's flags).
for name in $public; do
    printf '#include <%s>\n' "$name" > "$work/one.c"
    cc -std=c11 -Wall -Werror -fsyntax-only $cflags_zmq "$work/one.c" \
        || fail "$name does not compile on its own (C)"
    c++ -x c++ -Wall -fsyntax-only $cflags_zmq "$work/one.c" \
        || fail "$name does not compile on its own (C++)"
done
# The UDP umbrella does not reach czmq or libzmq headers.
printf '#include <curvecp.h>\n' > "$work/umbrella.c"
if cc -std=c11 -M $cflags_udp "$work/umbrella.c" | tr ' \\' '\n\n' | grep -E '/(czmq|zmq)\.h$'; then
    fail "curvecp.h includes ØMQ headers"
fi

needs () { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
# No LD_LIBRARY_PATH: the programs find the libraries by their rpath.
check_udp () {
    "$1" 2>/dev/null | grep -qx "linked $version" || fail "$1 did not run"
    needs "$1" | grep -q '^libcurvecp\.so' || fail "$1 does not use libcurvecp.so"
    if needs "$1" | grep -E 'zmq'; then fail "$1 needs ØMQ libraries"; fi
    if ldd "$1" | grep -E 'libc?zmq'; then fail "$1 loads ØMQ libraries"; fi
}
check_zmq () {
    "$1" 2>/dev/null | grep -qx "linked $version" || fail "$1 did not run"
    needs "$1" | grep -q '^libcurvecp-zmq\.so' || fail "$1 does not use libcurvecp-zmq.so"
}
check_udp "$work/tree/use_udp"         # pkg-config
check_zmq "$work/tree/use_zmq"
check_udp "$work/tree/use-build/use_udp"   # find_package
check_zmq "$work/tree/use-build/use_zmq"

# The same in C++: extern "C" holds (the names link unmangled).
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cp "$src/examples/use/use_udp.c" "$work/udp_app.cpp"
c++ $san -o "$work/udp_cxx" "$work/udp_app.cpp" $(pkg-config --cflags --libs libcurvecp) 2>"$work/cxx.log" \
    || { cat "$work/cxx.log"; fail "a C++ program does not link against libcurvecp"; }
LD_LIBRARY_PATH="$libdir" "$work/udp_cxx" 2>/dev/null | grep -qx "linked $version" || fail "the C++ program did not run"
# The version macros agree with each other.
printf '#include <curvecp.h>\n#if CURVECP_VERSION != CURVECP_MAKE_VERSION (CURVECP_VERSION_MAJOR, CURVECP_VERSION_MINOR, CURVECP_VERSION_PATCH)\n#error "CURVECP_VERSION"\n#endif\n' > "$work/version.c"
cc -std=c11 -fsyntax-only $(pkg-config --cflags libcurvecp) "$work/version.c" || fail "CURVECP_VERSION disagrees with its parts"
echo "install: $(echo $public | wc -w) public headers; libcurvecp and libcurvecp-zmq usable through pkg-config and CMake"
