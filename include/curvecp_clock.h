/*  curvecp_clock.h - the library's one clock.

    Every "now" and every deadline in curvecp's API (the core's sans-I/O
    classes, the UDP and ØMQ carriers, the tools) is this clock:
    CLOCK_MONOTONIC in nanoseconds. It never jumps with the wall clock,
    and its zero is arbitrary (boot, usually), so only differences mean
    anything. A simulator passes its own virtual time instead; the core
    never reads a clock itself.                                           */
#ifndef CURVECP_CLOCK_H_INCLUDED
#define CURVECP_CLOCK_H_INCLUDED

#include <stdint.h>

/* Monotonic time in nanoseconds. */
uint64_t curvecp_clock_now (void);

#endif
