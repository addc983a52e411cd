#!/bin/bash
# The core is sans-I/O: no sockets, polling, clocks, sleeps or threads in
# src/core. Time comes in as an argument; bytes come in and go out as buffers.
src="${2:-$(dirname "$0")/..}/src/core"
pattern='\b(socket|bind|connect|accept|listen|send|sendto|sendmsg|sendmmsg|recv|recvfrom|recvmsg|recvmmsg|poll|ppoll|select|pselect|epoll_[a-z_]+|clock_gettime|gettimeofday|time|clock|nanosleep|usleep|sleep|pthread_[a-z_]+|thrd_[a-z_]+|fork|exec[lv]p?e?)\s*\('
# Strip comments and string literals first, so prose may mention them.
hits=$(for f in "$src"/*.c "$src"/*.h; do
    [ -f "$f" ] || continue
    sed -E 's://.*$::; s:"([^"\\]|\\.)*":"":g' "$f" | perl -0pe 's{/\*.*?\*/}{}gs' \
        | grep -nE "$pattern" | sed "s|^|$f:|"
done)
if [ -n "$hits" ]; then
    echo "src/core must not do I/O, read clocks or use threads:"
    echo "$hits"
    exit 1
fi
# The check itself must be able to fail: it flags a planted call.
probe=$(printf 'int f (void) { return clock_gettime (0, 0); }\n' | grep -cE "$pattern")
[ "$probe" = 1 ] || { echo "purity pattern is broken"; exit 1; }
echo "core purity: ok ($(ls "$src"/*.c | wc -l) source files checked)"
