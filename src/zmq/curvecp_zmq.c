/*  curvecp_zmq.c - the clock and timeout rounding of the ØMQ carrier.  */
#include <time.h>
#include "curvecp_zmq.h"

uint64_t
curvecp_zmq_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

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
