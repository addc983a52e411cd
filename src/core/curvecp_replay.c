/*  curvecp_replay.c - fixed-memory cache of accepted client short-term keys. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_replay.h"

#define EMPTY UINT32_MAX

typedef struct {
    uint8_t key[CURVECP_KEY_BYTES];
    uint64_t accepted;
} entry_t;

struct _curvecp_replay_t {
    entry_t *ring;              /* entries in acceptance order */
    size_t capacity;
    size_t head;                /* oldest live entry */
    size_t count;
    uint64_t evictions;         /* live entries dropped to make room */
    uint32_t *index;            /* slot -> ring position, EMPTY if free */
    size_t index_mask;          /* index size - 1 (a power of two >= 2 * capacity) */
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

curvecp_replay_t *
curvecp_replay_new (size_t capacity)
{
    if (capacity == 0 || capacity >= EMPTY / 2 || sodium_init () < 0)
        return NULL;
    curvecp_replay_t *self = calloc (1, sizeof *self);
    size_t slots = 2;
    while (slots < 2 * capacity)
        slots *= 2;
    if (self) {
        self->ring = calloc (capacity, sizeof *self->ring);
        self->index = malloc (slots * sizeof *self->index);
    }
    if (!self || !self->ring || !self->index) {
        curvecp_replay_destroy (&self);
        return NULL;
    }
    memset (self->index, 0xff, slots * sizeof *self->index);
    self->capacity = capacity;
    self->index_mask = slots - 1;
    randombytes_buf (self->hash_key, sizeof self->hash_key);
    return self;
}

void
curvecp_replay_destroy (curvecp_replay_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_replay_t *self = *self_p;
        free (self->ring);
        free (self->index);
        free (self);
        *self_p = NULL;
    }
}

static size_t
home_slot (const curvecp_replay_t *self, const uint8_t key[CURVECP_KEY_BYTES])
{
    uint8_t hash[crypto_shorthash_BYTES];
    uint64_t value;
    crypto_shorthash (hash, key, CURVECP_KEY_BYTES, self->hash_key);
    memcpy (&value, hash, sizeof value);
    return (size_t) value & self->index_mask;
}

/* The index slot holding this key, or the free slot that ends its probe. */
static size_t
find_slot (const curvecp_replay_t *self, const uint8_t key[CURVECP_KEY_BYTES])
{
    size_t slot = home_slot (self, key);
    while (self->index[slot] != EMPTY
       &&  memcmp (self->ring[self->index[slot]].key, key, CURVECP_KEY_BYTES) != 0)
        slot = (slot + 1) & self->index_mask;
    return slot;
}

/* Linear probing deletion by backward shift: later entries of the same
   probe run move up so that no lookup stops early at the hole. */
static void
index_delete (curvecp_replay_t *self, size_t hole)
{
    size_t slot = hole;
    self->index[hole] = EMPTY;
    for (;;) {
        slot = (slot + 1) & self->index_mask;
        if (self->index[slot] == EMPTY)
            return;
        size_t home = home_slot (self, self->ring[self->index[slot]].key);
        /* Move it if its home is not within (hole, slot] cyclically. */
        bool stays = hole <= slot ? (home > hole && home <= slot) : (home > hole || home <= slot);
        if (!stays) {
            self->index[hole] = self->index[slot];
            self->index[slot] = EMPTY;
            hole = slot;
        }
    }
}

static void
drop_oldest (curvecp_replay_t *self)
{
    entry_t *oldest = &self->ring[self->head];
    index_delete (self, find_slot (self, oldest->key));
    sodium_memzero (oldest, sizeof *oldest);
    self->head = (self->head + 1) % self->capacity;
    self->count--;
}

static void
expire (curvecp_replay_t *self, uint64_t now)
{
    while (self->count > 0 && now >= self->ring[self->head].accepted + CURVECP_REPLAY_LIFETIME_NS)
        drop_oldest (self);
}

bool
curvecp_replay_seen (curvecp_replay_t *self, const uint8_t client_short_pk[CURVECP_KEY_BYTES],
        uint64_t now)
{
    expire (self, now);
    return self->index[find_slot (self, client_short_pk)] != EMPTY;
}

curvecp_reason_t
curvecp_replay_remember (curvecp_replay_t *self, const uint8_t client_short_pk[CURVECP_KEY_BYTES],
        uint64_t now)
{
    expire (self, now);
    size_t slot = find_slot (self, client_short_pk);
    if (self->index[slot] != EMPTY)
        return CURVECP_E_REPLAYED_INITIATE;
    if (self->count == self->capacity) {
        /* Refusing would let anyone who completes enough handshakes lock
           out honest clients; forgetting the oldest only reopens NaCl's
           own window for it. Counted, so an operator can size the cache. */
        drop_oldest (self);
        self->evictions++;
        slot = find_slot (self, client_short_pk);
    }
    size_t at = (self->head + self->count) % self->capacity;
    memcpy (self->ring[at].key, client_short_pk, CURVECP_KEY_BYTES);
    self->ring[at].accepted = now;
    self->index[slot] = (uint32_t) at;
    self->count++;
    return CURVECP_OK;
}

size_t
curvecp_replay_size (const curvecp_replay_t *self, uint64_t now)
{
    size_t expired = 0;      /* entries are in acceptance order */
    while (expired < self->count
       &&  now >= self->ring[(self->head + expired) % self->capacity].accepted + CURVECP_REPLAY_LIFETIME_NS)
        expired++;
    return self->count - expired;
}

size_t
curvecp_replay_capacity (const curvecp_replay_t *self)
{
    return self->capacity;
}

size_t
curvecp_replay_memory (const curvecp_replay_t *self)
{
    return sizeof *self + self->capacity * sizeof *self->ring
         + (self->index_mask + 1) * sizeof *self->index;
}

uint64_t
curvecp_replay_evictions (const curvecp_replay_t *self)
{
    return self->evictions;
}
