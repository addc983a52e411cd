/*  curvecp_clock.c - the library's one clock (monotonic nanoseconds).
    It lives with the UDP carrier because src/core reads no clock and
    every program links libcurvecp's UDP part.                           */
#include <time.h>
#include "curvecp_clock.h"

uint64_t
curvecp_clock_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}
