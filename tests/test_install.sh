#!/bin/bash
# cmake --install gives the library, the headers, libcurvecp.pc and a CMake
# package: a program outside the tree builds against each and runs.
set -eu
build=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/curvecp-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
for f in include/curvecp_session.h include/curvecp_udp_server.h include/curvecp_codec.h \
         lib/libcurvecp.a lib/pkgconfig/libcurvecp.pc lib/cmake/curvecp/curvecpConfig.cmake bin/curvecp-server; do
    f=${f/lib\//$(ls "$work/prefix" | grep -m1 '^lib')/}
    [ -e "$work/prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
libdir=$(ls -d "$work"/prefix/lib*/ | head -1)
# A sanitizer build installs a sanitized library: the program must be built the same way.
san=""
grep -q '^CURVECP_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" && san="-fsanitize=address,undefined"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
ls "$libdir"/libcurvecp.so* >/dev/null

cat > "$work/app.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <curvecp_packet.h>
int main (void)
{
    unsigned char field[CURVECP_NAME_BYTES];
    if (curvecp_name_encode ("install.test", field) != CURVECP_OK || field[0] != 7)
        return 1;
    puts ("linked");
    return 0;
}
C
# pkg-config
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc $san -o "$work/app_pc" "$work/app.c" $(pkg-config --cflags --libs libcurvecp)
LD_LIBRARY_PATH="$libdir" "$work/app_pc" | grep -q linked
# CMake package
mkdir -p "$work/proj"
cp "$work/app.c" "$work/proj/"
cat > "$work/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(app C)
find_package(curvecp REQUIRED)
add_executable(app app.c)
target_link_libraries(app curvecp::curvecp)
CM
cmake -S "$work/proj" -B "$work/proj/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_C_FLAGS="$san" \
      -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$work/proj/build" >/dev/null
LD_LIBRARY_PATH="$libdir" "$work/proj/build/app" | grep -q linked
echo "install: library, headers, pkg-config and CMake package all usable"
