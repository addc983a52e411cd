/*  curvecp_hs_client.h - the client side of the CurveCP handshake.

    Makes Hellos on NaCl's schedule (8 attempts; after attempt i wait
    w_i + random[0, w_i), w = 1 s, 1.5 s, 2.25 s, ... each x1.5), takes the
    Cookie, and fills a curvecp_session_t that seals Initiates (with the
    vouch) until the first Server Message. Time is passed in (monotonic ns);
    curvecp_hs_client_deadline says when the next Hello is due.            */
#ifndef CURVECP_HS_CLIENT_H_INCLUDED
#define CURVECP_HS_CLIENT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_keys.h"
#include "curvecp_nonce16.h"
#include "curvecp_reason.h"
#include "curvecp_rng.h"
#include "curvecp_session.h"

typedef struct _curvecp_hs_client_t curvecp_hs_client_t;

#define CURVECP_HELLO_ATTEMPTS 8

/* New client handshake towards server_pk with server name (dotted text)
   and extensions. long_term may be NULL: a fresh random long-term key is
   made, as curvecpclient does without -c. Every random byte (keys, nonce
   counter, Hello jitter, vouch nonces) comes from rng (NULL: system
   randomness), which must outlive the handshake. Returns NULL on a bad
   name. */
curvecp_hs_client_t *curvecp_hs_client_new (const uint8_t server_pk[CURVECP_KEY_BYTES],
        const char *server_name, const uint8_t server_ext[CURVECP_EXT_BYTES],
        const uint8_t client_ext[CURVECP_EXT_BYTES], const curvecp_keypair_t *long_term,
        const curvecp_rng_t *rng);

/* Wipe every secret, free, and set *self_p to NULL. */
void curvecp_hs_client_destroy (curvecp_hs_client_t **self_p);

/* Where vouch nonces come from (default, or fn NULL: 16 bytes from the
   handshake's rng). */
void curvecp_hs_client_set_nonce16 (curvecp_hs_client_t *self, curvecp_nonce16_fn fn, void *context);

/* Change the client extension (re-read from a file): used from the next Hello. */
void curvecp_hs_client_set_client_ext (curvecp_hs_client_t *self, const uint8_t client_ext[CURVECP_EXT_BYTES]);

/* If a Hello is due at now, write it to out and return CURVECP_OK; *attempt
   says which attempt it is (0..7, so a carrier can pick the address).
   CURVECP_E_WRONG_STATE if none is due yet, after the Cookie, or after the
   last attempt; curvecp_hs_client_failed tells the latter. */
curvecp_reason_t curvecp_hs_client_hello (curvecp_hs_client_t *self, uint64_t now,
        uint8_t out[CURVECP_HELLO_BYTES], int *attempt);

/* Work that may wait until the first Hello is out (the vouch's shared
   key, one X25519): a carrier calls it while it waits for the Cookie, so
   the computation overlaps the round trip; the Cookie does it otherwise.
   Idempotent; CURVECP_OK, or CURVECP_E_BAD_KEY if libsodium refuses. */
curvecp_reason_t curvecp_hs_client_prepare (curvecp_hs_client_t *self);

/* Next time curvecp_hs_client_hello wants to be called (UINT64_MAX when it
   never will again). After the last attempt this is the give-up time. */
uint64_t curvecp_hs_client_deadline (const curvecp_hs_client_t *self);

/* True once all attempts are spent with no Cookie and the last wait ended. */
bool curvecp_hs_client_failed (const curvecp_hs_client_t *self, uint64_t now);

/* A received packet that may be the Cookie. On success session is ready to
   seal Initiates; later Cookies are refused with CURVECP_E_WRONG_STATE. */
curvecp_reason_t curvecp_hs_client_cookie (curvecp_hs_client_t *self, const uint8_t *packet, size_t len,
        curvecp_session_t *session);

/* Our short-term public key C' and the client's long-term public key C. */
const uint8_t *curvecp_hs_client_short_key (const curvecp_hs_client_t *self);
const uint8_t *curvecp_hs_client_long_key (const curvecp_hs_client_t *self);

/* Per-reason counters of received packets. */
const curvecp_stats_t *curvecp_hs_client_stats (const curvecp_hs_client_t *self);

#endif
