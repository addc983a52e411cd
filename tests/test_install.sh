#!/bin/bash
# cmake --install gives two libraries, their public headers, a pkg-config
# file each and one CMake package: a UDP-only program builds against
# libcurvecp (and needs neither libzmq nor libczmq), a ØMQ program against
# libcurvecp-zmq, each through pkg-config and through find_package, and
# runs. No internal header is installed; every public one compiles on its
# own, in C and in C++.
set -eu
build=$(cd "$1" && pwd)
src=$(cd "${2:-$(dirname "$0")/..}" && pwd)
work=$(mktemp -d /tmp/curvecp-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail () { echo "test_install: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >/dev/null
prefix=$work/prefix
libdir=$(ls -d "$prefix"/lib*/ | head -1); libdir=${libdir%/}
inc=$prefix/include
for f in "$inc/curvecp.h" "$inc/curvecp_zmq_all.h" "$inc/curvecp_version.h" "$inc/curvecp_export.h" \
         "$inc/curvecp_udp_server.h" "$inc/curvecp_server.h" "$inc/curvecp_codec.h" \
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
            curvecp_heap.h curvecp_table.h curvecp_codec_internal.h curvecp_hs_client.h curvecp_packet.h curvecp_safenonce.h curvecp_z85.h \
            curvecp_framing.h curvecp_udp_child.h curvecp_filexfer.h curvecp_endpoint.h \
            curvecp_udp_socket.h curvecp_udp_hellos.h curvecp_udp_internal.h \
            curvecp_appframe.h curvecp_zmq.h curvecp_zmq_zap.h curvecp_server_internal.h; do
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

# San: a sanitizer build installs sanitized libraries; programs are built the same way.
san=""
grep -q '^CURVECP_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" && san="-fsanitize=address,undefined"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"

# --- a UDP-only program: libcurvecp ---------------------------------------------
cat > "$work/udp_app.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <curvecp.h>
#if CURVECP_VERSION != CURVECP_MAKE_VERSION (CURVECP_VERSION_MAJOR, CURVECP_VERSION_MINOR, CURVECP_VERSION_PATCH)
#error "CURVECP_VERSION"
#endif
int main (void)
{
    curvecp_keypair_t keys;
    curvecp_keypair_generate (&keys);
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.keys = &keys;
    if (curvecp_udp_addr_parse ("127.0.0.1", 0, &config.bind) != CURVECP_OK)
        return 1;
    curvecp_udp_server_t *server = curvecp_udp_server_new (&config);
    if (!server || curvecp_udp_server_add_name (server, "install.test") != 0)
        return 2;
    curvecp_udp_server_destroy (&server);
    curvecp_keypair_wipe (&keys);
    if (server || strcmp (curvecp_reason_name (CURVECP_OK), "ok") != 0)
        return 3;
    printf ("linked %d.%d.%d\n", CURVECP_VERSION_MAJOR, CURVECP_VERSION_MINOR, CURVECP_VERSION_PATCH);
    return 0;
}
C
# --- a ØMQ program: libcurvecp-zmq ----------------------------------------------
cat > "$work/zmq_app.c" <<'C'
#include <stdio.h>
#include <curvecp_zmq_all.h>
int main (void)
{
    curvecp_keypair_t server_keys, client_keys;
    curvecp_keypair_generate (&server_keys);
    curvecp_keypair_generate (&client_keys);
    curvecp_server_t *server = curvecp_server_new (&server_keys, "install.test");
    if (!server || curvecp_server_bind (server, "tcp://127.0.0.1:*") <= 0)
        return 1;
    curvecp_client_t *client = curvecp_client_new (&client_keys, server_keys.public_key, "install.test");
    if (!client)
        return 2;
    curvecp_client_destroy (&client);
    curvecp_server_destroy (&server);
    puts ("linked");
    return 0;
}
C
version=$(pkg-config --modversion libcurvecp)
run () { LD_LIBRARY_PATH="$libdir" "$@"; }
needs () { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
check_udp () {
    run "$1" | grep -qx "linked $version" || fail "$1 did not run"
    needs "$1" | grep -q '^libcurvecp\.so' || fail "$1 does not use libcurvecp.so"
    if needs "$1" | grep -E 'zmq'; then fail "$1 needs ØMQ libraries"; fi
    if run ldd "$1" | grep -E 'libc?zmq'; then fail "$1 loads ØMQ libraries"; fi
}
check_zmq () {
    run "$1" | grep -qx linked || fail "$1 did not run"
    needs "$1" | grep -q '^libcurvecp-zmq\.so' || fail "$1 does not use libcurvecp-zmq.so"
}

# pkg-config
cc $san -o "$work/udp_pc" "$work/udp_app.c" $(pkg-config --cflags --libs libcurvecp)
check_udp "$work/udp_pc"
cc $san -o "$work/zmq_pc" "$work/zmq_app.c" $(pkg-config --cflags --libs libcurvecp-zmq)
check_zmq "$work/zmq_pc"
# The same in C++: extern "C" holds (the names link unmangled).
cp "$work/udp_app.c" "$work/udp_app.cpp"
c++ $san -o "$work/udp_cxx" "$work/udp_app.cpp" $(pkg-config --cflags --libs libcurvecp) 2>"$work/cxx.log" \
    || { cat "$work/cxx.log"; fail "a C++ program does not link against libcurvecp"; }
run "$work/udp_cxx" | grep -qx "linked $version" || fail "the C++ program did not run"

# CMake package
mkdir -p "$work/proj"
cp "$work/udp_app.c" "$work/zmq_app.c" "$work/proj/"
cat > "$work/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(app C)
find_package(curvecp REQUIRED)
add_executable(udp_app udp_app.c)
target_link_libraries(udp_app curvecp::curvecp)
add_executable(zmq_app zmq_app.c)
target_link_libraries(zmq_app curvecp::curvecp-zmq)
CM
cmake -S "$work/proj" -B "$work/proj/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$san" \
      -DCMAKE_EXE_LINKER_FLAGS="$san -Wl,--as-needed" >/dev/null
cmake --build "$work/proj/build" >/dev/null
check_udp "$work/proj/build/udp_app"
check_zmq "$work/proj/build/zmq_app"
echo "install: $(echo $public | wc -w) public headers; libcurvecp and libcurvecp-zmq usable through pkg-config and CMake"
