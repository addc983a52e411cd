/*  curvecp_zmq.h - what the ØMQ carrier's socket classes share.

    The carrier classes (curvecp_client, curvecp_server) pass the time to
    the sans-I/O codec as curvecp_clock_now (curvecp_clock.h), and turn
    codec deadlines into poll timeouts with the same rounding. Both drop
    a carrier message that is not exactly one packet frame (after the
    routing identity at the ROUTER) whole, never its first frame alone.  */
#ifndef CURVECP_ZMQ_H_INCLUDED
#define CURVECP_ZMQ_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_clock.h"        /* the time every deadline here is in */
#include "curvecp_keys.h"

/* Milliseconds from now until deadline, rounded up, for zmq_poll /
   zpoller_wait / zloop: 0 if due, -1 if deadline is UINT64_MAX, and never
   more than cap_ms when cap_ms >= 0. */
int curvecp_zmq_timeout_ms (uint64_t deadline, uint64_t now, int cap_ms);

/* After a part with the MORE flag: receive and discard the rest of that
   message from the libzmq socket handle. Returns the parts discarded. */
size_t curvecp_zmq_skip_rest (void *handle);

/* A key pair from a czmq certificate: false (keys zeroed) if it has no
   secret key or the two keys do not belong together. */
bool curvecp_zmq_keys_from_zcert (zcert_t *cert, curvecp_keypair_t *keys);

#endif
