/*  curvecp_udp_hellos.c - the server's fair queue of waiting Hellos.

    Slots are linked into per-lane FIFOs by index; free slots form a
    list of their own. Lanes that hold Hellos sit once each in a ring that
    gives the round-robin order. The longest lane is remembered as lanes
    grow and looked for again only after the lane it named shrank, so a
    full queue under a flood costs one scan per Hello answered, not one
    per arrival.                                                          */
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_udp_hellos.h"

#define LANES  1024                  /* a power of 2 */
#define PROBES 8                     /* lanes tried after the hashed one's owner differs */
#define NONE   UINT32_MAX
#define ID_BYTES (1 + 16 + 2)        /* family, address, port */

typedef struct {
    uint8_t hello[CURVECP_HELLO_BYTES];
    curvecp_udp_addr_t from;
    uint32_t next;
} slot_t;

typedef struct {
    uint32_t head, tail, count;
    bool in_ring;
    uint8_t id[ID_BYTES];            /* its source while count > 0 */
} lane_t;

struct _curvecp_udp_hellos_t {
    slot_t *slots;
    size_t capacity, count;
    uint32_t free_head;
    lane_t lanes[LANES];
    uint16_t ring[LANES];            /* lanes with Hellos, in serving order */
    size_t ring_head, ring_count;
    size_t longest;                  /* lane with the most Hellos, unless stale */
    bool longest_stale;
    uint8_t key[crypto_shorthash_KEYBYTES];
};

curvecp_udp_hellos_t *
curvecp_udp_hellos_new (size_t capacity)
{
    if (capacity == 0 || capacity >= NONE)
        return NULL;
    curvecp_udp_hellos_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = calloc (capacity, sizeof *self->slots);
    if (!self->slots) {
        free (self);
        return NULL;
    }
    self->capacity = capacity;
    for (size_t i = 0; i < capacity; i++)
        self->slots[i].next = i + 1 < capacity ? (uint32_t) (i + 1) : NONE;
    self->free_head = 0;
    for (size_t l = 0; l < LANES; l++)
        self->lanes[l].head = self->lanes[l].tail = NONE;
    randombytes_buf (self->key, sizeof self->key);
    return self;
}

void
curvecp_udp_hellos_destroy (curvecp_udp_hellos_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_udp_hellos_t *self = *self_p;
    free (self->slots);
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

size_t
curvecp_udp_hellos_count (const curvecp_udp_hellos_t *self)
{
    return self->count;
}

static void
source_id (const curvecp_udp_addr_t *from, uint8_t id[ID_BYTES])
{
    memset (id, 0, ID_BYTES);
    const struct sockaddr *sa = (const struct sockaddr *) &from->sa;
    id[0] = (uint8_t) sa->sa_family;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) &from->sa;
        memcpy (id + 1, &in->sin_addr, 4);
        memcpy (id + 17, &in->sin_port, 2);
    }
    else
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) &from->sa;
        memcpy (id + 1, &in6->sin6_addr, 16);
        memcpy (id + 17, &in6->sin6_port, 2);
    }
}

/* The lane of a source: its own if it has Hellos waiting, else a free
   one near its hash (under a key the sender cannot know), so two
   sources share a lane only when PROBES lanes in a row are taken. */
static size_t
lane_of (const curvecp_udp_hellos_t *self, const uint8_t id[ID_BYTES])
{
    uint64_t h;
    crypto_shorthash ((uint8_t *) &h, id, ID_BYTES, self->key);
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
lane_pop (curvecp_udp_hellos_t *self, lane_t *lane)
{
    uint32_t s = lane->head;
    lane->head = self->slots[s].next;
    if (lane->head == NONE)
        lane->tail = NONE;
    lane->count--;
    self->slots[s].next = self->free_head;
    self->free_head = s;
    self->count--;
    return s;
}

static size_t
longest_lane (curvecp_udp_hellos_t *self)
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
curvecp_udp_hellos_push (curvecp_udp_hellos_t *self, const uint8_t *hello, const curvecp_udp_addr_t *from)
{
    uint8_t id[ID_BYTES];
    source_id (from, id);
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
    self->free_head = self->slots[s].next;
    memcpy (self->slots[s].hello, hello, CURVECP_HELLO_BYTES);
    self->slots[s].from = *from;
    self->slots[s].next = NONE;
    if (lane->tail == NONE)
        lane->head = s;
    else
        self->slots[lane->tail].next = s;
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
curvecp_udp_hellos_take (curvecp_udp_hellos_t *self, uint8_t *hello, curvecp_udp_addr_t *from)
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
        uint32_t s = lane_pop (self, lane);
        memcpy (hello, self->slots[s].hello, CURVECP_HELLO_BYTES);
        *from = self->slots[s].from;
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
