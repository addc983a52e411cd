/*  curvecp_replay.h - the Initiate replay cache.

    NaCl's server accepts a replayed Initiate once its connection has
    ended, for as long as the cookie inside it stays valid (up to 120 s).
    This cache remembers the client short-term key C' of every accepted
    Initiate for as long as its cookie could still open, so a replay is
    dropped even after the original connection is gone.

    Memory is fixed at creation: a ring of entries in acceptance order
    (every entry lives the same time, so the oldest expires first) and a
    fixed-capacity hash index keyed by SipHash under a random key (from
    the rng context), so clients cannot choose colliding keys. When every entry is still live, the
    oldest is forgotten to make room and counted as an eviction: refusing
    instead would let anyone who completes enough valid handshakes lock out
    honest clients. Size the cache for the handshake rate x 120 s.        */
#ifndef CURVECP_REPLAY_H_INCLUDED
#define CURVECP_REPLAY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"
#include "curvecp_reason.h"
#include "curvecp_rng.h"

typedef struct _curvecp_replay_t curvecp_replay_t;

/* How long an accepted C' is remembered: a cookie is at most two minute
   keys old when it opens, so after this it can never open again. */
#define CURVECP_REPLAY_LIFETIME_NS (2 * CURVECP_MINUTE_NS)

/* A cache for up to capacity live entries (capacity >= 1); its hash key
   comes from rng (NULL: system randomness). */
curvecp_replay_t *curvecp_replay_new (size_t capacity, const curvecp_rng_t *rng);

void curvecp_replay_destroy (curvecp_replay_t **self_p);

/* Has this C' been accepted within the lifetime before now? */
bool curvecp_replay_seen (curvecp_replay_t *self, const uint8_t client_short_pk[CURVECP_KEY_BYTES],
        uint64_t now);

/* Remember C' as accepted at now (evicting the oldest live entry if the
   cache is full). CURVECP_E_REPLAYED_INITIATE if it is already there. */
curvecp_reason_t curvecp_replay_remember (curvecp_replay_t *self,
        const uint8_t client_short_pk[CURVECP_KEY_BYTES], uint64_t now);

/* Live entries, and the fixed capacity. */
size_t curvecp_replay_size (const curvecp_replay_t *self, uint64_t now);
size_t curvecp_replay_capacity (const curvecp_replay_t *self);

/* Live entries forgotten early to make room. */
uint64_t curvecp_replay_evictions (const curvecp_replay_t *self);

/* Bytes the cache holds (fixed at creation). */
size_t curvecp_replay_memory (const curvecp_replay_t *self);

#endif
