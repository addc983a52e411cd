/*  curvecp_zmq.c - timeout rounding and frame skipping for the ØMQ carrier. */
#include <zmq.h>
#include "curvecp_zmq.h"

int
curvecp_zmq_timeout_ms (uint64_t deadline, uint64_t now, int cap_ms)
{
    if (deadline == UINT64_MAX)
        return cap_ms;
    if (deadline <= now)
        return 0;
    uint64_t ms = (deadline - now + 999999) / 1000000;
    if (cap_ms >= 0 && ms > (uint64_t) cap_ms)
        return cap_ms;
    return ms > 0x7fffffff ? 0x7fffffff : (int) ms;
}

size_t
curvecp_zmq_skip_rest (void *handle)
{
    size_t skipped = 0;
    zmq_msg_t part;
    zmq_msg_init (&part);
    /* a message's parts arrive together: none of these receives waits */
    while (zmq_msg_recv (&part, handle, ZMQ_DONTWAIT) >= 0) {
        skipped++;
        if (!zmq_msg_more (&part))
            break;
    }
    zmq_msg_close (&part);
    return skipped;
}

