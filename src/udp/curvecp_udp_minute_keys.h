/*  curvecp_udp_minute_keys.h - the minute keys a server's workers share.

    Each worker's handshake rotates its minute keys at the same 60 s
    grid and asks this source for the new period's keys; the first to
    ask draws them at random (under a lock: workers are threads), the
    others get the same. So any worker opens a cookie another made, and
    the keys stay as random as one server's: memory holds no seed from
    which other minutes' keys follow. Reference-counted: each worker's
    server holds one reference, whichever is destroyed last frees it.   */
#ifndef CURVECP_UDP_MINUTE_KEYS_H_INCLUDED
#define CURVECP_UDP_MINUTE_KEYS_H_INCLUDED

#include <stdint.h>
#include "curvecp_hs_server.h"

typedef struct _curvecp_udp_minute_keys_t curvecp_udp_minute_keys_t;

/* A source starting (period 0) from these keys; one reference. */
curvecp_udp_minute_keys_t *curvecp_udp_minute_keys_new (const uint8_t current[32], const uint8_t previous[32]);

/* Another reference. */
curvecp_udp_minute_keys_t *curvecp_udp_minute_keys_ref (curvecp_udp_minute_keys_t *self);

/* Drop a reference (the last wipes and frees); *self_p = NULL. */
void curvecp_udp_minute_keys_unref (curvecp_udp_minute_keys_t **self_p);

/* The curvecp_minute_keys_fn: context is the source. */
void curvecp_udp_minute_keys_get (void *context, uint64_t period, uint8_t current[32], uint8_t previous[32]);

#endif
