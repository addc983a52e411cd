/*  curvecp_vouch_cache.h - the server's C.s shared keys for client
    long-term keys it has seen vouch, so a returning client's Initiate
    costs one X25519 fewer (a quarter of a handshake).

    A fixed table of entries made with the server (nothing is allocated
    per client), each slot chosen by a keyed SipHash of C, so clients
    cannot aim their keys at one slot; a new key replaces the slot's old
    one (wiped). Only a key whose vouch opened is put in, so a slot holds
    what a real client of that key made.

    What it gives away: a cached key's Initiate is answered faster (the
    X25519 it saves, ~30 us), so someone who knows a client's public key,
    and can time the server closely, may learn whether that client
    connected recently. curvecp_hs_server_set_vouch_cache (0) turns it
    off.                                                                  */
#ifndef CURVECP_VOUCH_CACHE_H_INCLUDED
#define CURVECP_VOUCH_CACHE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"
#include "curvecp_rng.h"

typedef struct _curvecp_vouch_cache_t curvecp_vouch_cache_t;

/* entries slots (rounded down to a power of two, at least 1); the hash
   key from rng (NULL: system). NULL if out of memory or entries is 0. */
curvecp_vouch_cache_t *curvecp_vouch_cache_new (size_t entries, const curvecp_rng_t *rng);

/* Wipe every key, free, set *self_p to NULL. */
void curvecp_vouch_cache_destroy (curvecp_vouch_cache_t **self_p);

/* The shared key for client_pk into shared: true if cached. */
bool curvecp_vouch_cache_get (curvecp_vouch_cache_t *self, const uint8_t client_pk[CURVECP_KEY_BYTES],
        uint8_t shared[32]);

/* Remember shared for client_pk (its vouch opened under it). */
void curvecp_vouch_cache_put (curvecp_vouch_cache_t *self, const uint8_t client_pk[CURVECP_KEY_BYTES],
        const uint8_t shared[32]);

typedef struct {
    size_t entries;
    uint64_t hits, misses, replaced;
} curvecp_vouch_cache_info_t;

const curvecp_vouch_cache_info_t *curvecp_vouch_cache_info (const curvecp_vouch_cache_t *self);

#endif
