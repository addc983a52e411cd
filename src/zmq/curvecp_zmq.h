/*  curvecp_zmq.h - what the ØMQ carrier's socket classes share.

    The carrier classes (curvecp_zmq_client, curvecp_zmq_server) pass the time to
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

/* Send the len bytes codec output left in *buffer_p (cap bytes, from
   malloc) as one message part (flags: ZMQ_DONTWAIT, ZMQ_SNDMORE).
   A large part is handed to libzmq as it is, without a copy, and
   *buffer_p becomes a fresh buffer of cap bytes; a small one, or when no
   fresh buffer can be had, is copied. Returns zmq_send's result: on
   failure the part is dropped (the message layer sends it again). */
int curvecp_zmq_send_output (void *handle, uint8_t **buffer_p, size_t len, size_t cap, int flags);

/* ---- serving a socket class from a zloop -------------------------------------
   What curvecp_zmq_server_attach and curvecp_zmq_client_attach share: after every
   event the owner serves (serve: take input, run timers, hand messages
   over; -1 ends the loop), then the one timer is set to the owner's next
   deadline (timeout: ms, -1 none). No periodic tick. */
typedef struct {
    zloop_t *loop;                    /* NULL while not attached */
    int timer_id;                     /* -1: none set */
    int (*serve) (void *owner);
    int (*timeout) (void *owner);
    void *owner;
} curvecp_zmq_loop_t;

/* Serve, then set the timer. The return value is serve's. */
int curvecp_zmq_loop_event (curvecp_zmq_loop_t *self);

/* zloop handlers for the owner's sockets and its timer: arg is the
   curvecp_zmq_loop_t. */
int curvecp_zmq_loop_on_reader (zloop_t *loop, zsock_t *reader, void *arg);

/* Cancel the timer and forget the loop (the caller ends its readers). */
void curvecp_zmq_loop_stop (curvecp_zmq_loop_t *self);

/* A log line of the threads that run a service (key service, replica):
   "who: <message>" on log, flushed at once so that it is seen while the
   service runs; nothing when log is NULL (the owner asked for quiet). */
void curvecp_zmq_say (FILE *log, const char *who, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

/* A key pair from a czmq certificate: false (keys zeroed) if it has no
   secret key or the two keys do not belong together. */
bool curvecp_zmq_keys_from_zcert (zcert_t *cert, curvecp_keypair_t *keys);

#endif
