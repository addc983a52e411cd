/*  curvecp_replay.c - fixed-memory cache of accepted client short-term keys.

    A ring of entries in acceptance order (so the oldest is at the head
    and expires first) and a fixed-capacity curvecp_table from C' to its
    ring entry. Both are allocated at creation; remembering a key never
    allocates.                                                             */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_replay.h"
#include "curvecp_table.h"

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
    curvecp_table_t *index;     /* C' -> its entry in ring */
};

curvecp_replay_t *
curvecp_replay_new (size_t capacity, const curvecp_rng_t *rng)
{
    if (capacity == 0 || capacity > SIZE_MAX / sizeof (entry_t))
        return NULL;
    curvecp_replay_t *self = calloc (1, sizeof *self);
    if (self) {
        self->ring = calloc (capacity, sizeof *self->ring);
        self->index = curvecp_table_new_fixed (CURVECP_KEY_BYTES, capacity, rng);
    }
    if (!self || !self->ring || !self->index) {
        curvecp_replay_destroy (&self);
        return NULL;
    }
    self->capacity = capacity;
    return self;
}

void
curvecp_replay_destroy (curvecp_replay_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_replay_t *self = *self_p;
        curvecp_table_destroy (&self->index);
        free (self->ring);
        free (self);
        *self_p = NULL;
    }
}

static void
drop_oldest (curvecp_replay_t *self)
{
    entry_t *oldest = &self->ring[self->head];
    curvecp_table_remove (self->index, oldest->key);
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
    return curvecp_table_lookup (self->index, client_short_pk) != NULL;
}

curvecp_reason_t
curvecp_replay_remember (curvecp_replay_t *self, const uint8_t client_short_pk[CURVECP_KEY_BYTES],
        uint64_t now)
{
    expire (self, now);
    if (curvecp_table_lookup (self->index, client_short_pk))
        return CURVECP_E_REPLAYED_INITIATE;
    if (self->count == self->capacity) {
        /* Refusing would let anyone who completes enough handshakes lock
           out honest clients; forgetting the oldest only reopens NaCl's
           own window for it. Counted, so an operator can size the cache. */
        drop_oldest (self);
        self->evictions++;
    }
    entry_t *entry = &self->ring[(self->head + self->count) % self->capacity];
    memcpy (entry->key, client_short_pk, CURVECP_KEY_BYTES);
    entry->accepted = now;
    /* Cannot fail: the key is new and the table has room for capacity. */
    curvecp_table_insert (self->index, entry->key, entry);
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
    return sizeof *self + self->capacity * sizeof *self->ring + curvecp_table_memory (self->index);
}

uint64_t
curvecp_replay_evictions (const curvecp_replay_t *self)
{
    return self->evictions;
}
