/*  curvecp_vouch_cache.c - a direct-mapped table of C -> C.s.           */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_vouch_cache.h"

typedef struct {
    uint8_t client_pk[CURVECP_KEY_BYTES];
    uint8_t shared[32];
    bool used;
} entry_t;

struct _curvecp_vouch_cache_t {
    entry_t *entries;
    size_t mask;
    uint8_t key[crypto_shorthash_KEYBYTES];
    curvecp_vouch_cache_info_t info;
};

curvecp_vouch_cache_t *
curvecp_vouch_cache_new (size_t entries, const curvecp_rng_t *rng)
{
    if (entries == 0)
        return NULL;
    size_t size = 1;
    while (size * 2 <= entries && size * 2 <= (SIZE_MAX / sizeof (entry_t)))
        size *= 2;
    curvecp_vouch_cache_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->entries = calloc (size, sizeof (entry_t));
    if (!self->entries) {
        free (self);
        return NULL;
    }
    self->mask = size - 1;
    self->info.entries = size;
    curvecp_rng_bytes (rng, self->key, sizeof self->key);
    return self;
}

void
curvecp_vouch_cache_destroy (curvecp_vouch_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_vouch_cache_t *self = *self_p;
    sodium_memzero (self->entries, (self->mask + 1) * sizeof (entry_t));
    free (self->entries);
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

static entry_t *
slot (curvecp_vouch_cache_t *self, const uint8_t client_pk[CURVECP_KEY_BYTES])
{
    uint8_t hash[crypto_shorthash_BYTES];
    crypto_shorthash (hash, client_pk, CURVECP_KEY_BYTES, self->key);
    uint64_t index;
    memcpy (&index, hash, sizeof index);
    return &self->entries[index & self->mask];
}

bool
curvecp_vouch_cache_get (curvecp_vouch_cache_t *self, const uint8_t client_pk[CURVECP_KEY_BYTES],
        uint8_t shared[32])
{
    entry_t *e = slot (self, client_pk);
    if (!e->used || sodium_memcmp (e->client_pk, client_pk, CURVECP_KEY_BYTES) != 0) {
        self->info.misses++;
        return false;
    }
    memcpy (shared, e->shared, 32);
    self->info.hits++;
    return true;
}

void
curvecp_vouch_cache_put (curvecp_vouch_cache_t *self, const uint8_t client_pk[CURVECP_KEY_BYTES],
        const uint8_t shared[32])
{
    entry_t *e = slot (self, client_pk);
    if (e->used && memcmp (e->client_pk, client_pk, CURVECP_KEY_BYTES) != 0)
        self->info.replaced++;
    memcpy (e->client_pk, client_pk, CURVECP_KEY_BYTES);
    memcpy (e->shared, shared, 32);
    e->used = true;
}

const curvecp_vouch_cache_info_t *
curvecp_vouch_cache_info (const curvecp_vouch_cache_t *self)
{
    return &self->info;
}
