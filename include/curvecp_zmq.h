/*  curvecp_zmq.h - what the ØMQ carrier's socket classes share.

    The carrier classes (curvecp_client, curvecp_server) pass the time to
    the sans-I/O codec as monotonic nanoseconds from this clock, and turn
    codec deadlines into poll timeouts with the same rounding. Both drop
    a carrier message that is not exactly one packet frame (after the
    routing identity at the ROUTER) whole, never its first frame alone.  */
#ifndef CURVECP_ZMQ_H_INCLUDED
#define CURVECP_ZMQ_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Monotonic clock in nanoseconds. */
uint64_t curvecp_zmq_now (void);

/* Milliseconds from now until deadline, rounded up, for zmq_poll /
   zpoller_wait / zloop: 0 if due, -1 if deadline is UINT64_MAX, and never
   more than cap_ms when cap_ms >= 0. */
int curvecp_zmq_timeout_ms (uint64_t deadline, uint64_t now, int cap_ms);

/* After a part with the MORE flag: receive and discard the rest of that
   message from the libzmq socket handle. Returns the parts discarded. */
size_t curvecp_zmq_skip_rest (void *handle);

/* Wait until the libzmq socket handle may have input, or timeout_ms
   (-1: forever), with one poll() on its ZMQ_FD instead of zmq_poll (which
   asks ZMQ_EVENTS before and after polling: two more trips through the
   socket's mailbox, each a poll and a getpid). known_empty: the caller's
   last receive on the socket failed and nothing was sent on it since, so
   the descriptor is current; otherwise ZMQ_EVENTS is asked once first
   (a send may have taken the activation that would wake the poll). May
   return early; callers receive with ZMQ_DONTWAIT and loop. */
void curvecp_zmq_wait (void *handle, bool known_empty, int timeout_ms);

#endif
