/*  curvecp_hello_queue.c - the server's fair queue of waiting Hellos.

    Slots are linked into per-lane FIFOs by index; free slots form a
    list of their own. Lanes that hold Hellos sit once each in a ring that
    gives the round-robin order. The longest lane is remembered as lanes
    grow and looked for again only after the lane it named shrank, so a
    full queue under a flood costs one scan per Hello answered, not one
    per arrival. A lane knows its source by a 128-bit keyed hash of the
    source's bytes (SipHash-x24 under a random key), so lanes stay small
    whatever the carrier's sources are; each slot keeps its source whole,
    for the reply.                                                        */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_hello_queue.h"

#define LANES  1024                  /* a power of 2 */
#define PROBES 8                     /* lanes tried after the hashed one's owner differs */
#define NONE   UINT32_MAX
#define ID_BYTES crypto_shorthash_siphashx24_BYTES

typedef struct {
    uint8_t hello[CURVECP_HELLO_BYTES];
    uint32_t next;
    uint32_t source_len;
    uint8_t source[];                /* source_max bytes */
} slot_t;

typedef struct {
    uint32_t head, tail, count;
    bool in_ring;
    uint8_t id[ID_BYTES];            /* its source while count > 0 */
} lane_t;

struct _curvecp_hello_queue_t {
    uint8_t *slots;                  /* capacity slots of slot_size bytes */
    size_t slot_size, source_max;
    size_t capacity, count;
    uint32_t free_head;
    lane_t lanes[LANES];
    uint16_t ring[LANES];            /* lanes with Hellos, in serving order */
    size_t ring_head, ring_count;
    size_t longest;                  /* lane with the most Hellos, unless stale */
    bool longest_stale;
    uint8_t key[crypto_shorthash_siphashx24_KEYBYTES];
};

static slot_t *
slot_at (const curvecp_hello_queue_t *self, uint32_t s)
{
    return (slot_t *) (self->slots + (size_t) s * self->slot_size);
}

curvecp_hello_queue_t *
curvecp_hello_queue_new (size_t capacity, size_t source_max, const curvecp_rng_t *rng)
{
    if (capacity == 0 || capacity >= NONE || source_max == 0 || source_max > UINT16_MAX)
        return NULL;
    curvecp_hello_queue_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    /* slots stay aligned for their next field */
    self->slot_size = (sizeof (slot_t) + source_max + 7) & ~(size_t) 7;
    self->source_max = source_max;
    self->slots = calloc (capacity, self->slot_size);
    if (!self->slots) {
        free (self);
        return NULL;
    }
    self->capacity = capacity;
    for (size_t i = 0; i < capacity; i++)
        slot_at (self, (uint32_t) i)->next = i + 1 < capacity ? (uint32_t) (i + 1) : NONE;
    self->free_head = 0;
    for (size_t l = 0; l < LANES; l++)
        self->lanes[l].head = self->lanes[l].tail = NONE;
    curvecp_rng_bytes (rng, self->key, sizeof self->key);
    return self;
}

void
curvecp_hello_queue_destroy (curvecp_hello_queue_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_hello_queue_t *self = *self_p;
    free (self->slots);
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

size_t
curvecp_hello_queue_count (const curvecp_hello_queue_t *self)
{
    return self->count;
}

static void
source_id (const curvecp_hello_queue_t *self, const uint8_t *source, size_t source_len, uint8_t id[ID_BYTES])
{
    crypto_shorthash_siphashx24 (id, source, source_len, self->key);
}

/* The lane of a source: its own if it has Hellos waiting, else a free
   one near its hash (under a key the sender cannot know), so two
   sources share a lane only when PROBES lanes in a row are taken. */
static size_t
lane_of (const curvecp_hello_queue_t *self, const uint8_t id[ID_BYTES])
{
    uint64_t h;
    memcpy (&h, id, sizeof h);
    size_t free_lane = LANES;
    for (size_t p = 0; p < PROBES; p++) {
        size_t l = (size_t) (h + p) & (LANES - 1);
        const lane_t *lane = &self->lanes[l];
        if (lane->count > 0 && memcmp (lane->id, id, ID_BYTES) == 0)
            return l;
        if (lane->count == 0 && free_lane == LANES)
            free_lane = l;
    }
    return free_lane < LANES ? free_lane : (size_t) (h & (LANES - 1));
}

/* Unlink the oldest Hello of a lane that has one; its slot becomes free
   (and stays readable until the next push). */
static uint32_t
lane_pop (curvecp_hello_queue_t *self, lane_t *lane)
{
    uint32_t s = lane->head;
    lane->head = slot_at (self, s)->next;
    if (lane->head == NONE)
        lane->tail = NONE;
    lane->count--;
    slot_at (self, s)->next = self->free_head;
    self->free_head = s;
    self->count--;
    return s;
}

static size_t
longest_lane (curvecp_hello_queue_t *self)
{
    if (self->longest_stale) {
        size_t best = 0;
        for (size_t l = 1; l < LANES; l++)
            if (self->lanes[l].count > self->lanes[best].count)
                best = l;
        self->longest = best;
        self->longest_stale = false;
    }
    return self->longest;
}

bool
curvecp_hello_queue_push (curvecp_hello_queue_t *self, const uint8_t *hello,
        const uint8_t *source, size_t source_len)
{
    if (source_len == 0 || source_len > self->source_max)
        return true;
    uint8_t id[ID_BYTES];
    source_id (self, source, source_len, id);
    size_t l = lane_of (self, id);
    lane_t *lane = &self->lanes[l];
    bool dropped = false;
    if (self->count == self->capacity) {
        lane_t *victim = &self->lanes[longest_lane (self)];
        if (victim->count <= lane->count)
            return true;                 /* its own lane is (one of) the longest */
        lane_pop (self, victim);
        self->longest_stale = true;      /* another lane may now be longer */
        dropped = true;
    }
    if (lane->count == 0)
        memcpy (lane->id, id, ID_BYTES);
    uint32_t s = self->free_head;
    slot_t *slot = slot_at (self, s);
    self->free_head = slot->next;
    memcpy (slot->hello, hello, CURVECP_HELLO_BYTES);
    memcpy (slot->source, source, source_len);
    slot->source_len = (uint32_t) source_len;
    slot->next = NONE;
    if (lane->tail == NONE)
        lane->head = s;
    else
        slot_at (self, lane->tail)->next = s;
    lane->tail = s;
    lane->count++;
    self->count++;
    if (!lane->in_ring) {
        self->ring[(self->ring_head + self->ring_count++) % LANES] = (uint16_t) l;
        lane->in_ring = true;
    }
    if (!self->longest_stale && lane->count > self->lanes[self->longest].count)
        self->longest = l;
    return dropped;
}

bool
curvecp_hello_queue_take (curvecp_hello_queue_t *self, uint8_t *hello, uint8_t *source, size_t *source_len)
{
    while (self->ring_count > 0) {
        size_t l = self->ring[self->ring_head];
        self->ring_head = (self->ring_head + 1) % LANES;
        self->ring_count--;
        lane_t *lane = &self->lanes[l];
        if (lane->count == 0) {          /* emptied by evictions */
            lane->in_ring = false;
            continue;
        }
        const slot_t *slot = slot_at (self, lane_pop (self, lane));
        memcpy (hello, slot->hello, CURVECP_HELLO_BYTES);
        memcpy (source, slot->source, slot->source_len);
        *source_len = slot->source_len;
        if (lane->count > 0)
            self->ring[(self->ring_head + self->ring_count++) % LANES] = (uint16_t) l;
        else
            lane->in_ring = false;
        if (l == self->longest)
            self->longest_stale = true;
        return true;
    }
    return false;
}
