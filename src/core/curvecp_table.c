/*  curvecp_table.c - open-addressing hash table over fixed-size keys.

    Each slot keeps its key's 64-bit SipHash, so a probe compares hashes
    before keys, growth rehashes without SipHash, and a backward-shift
    deletion finds each entry's home slot for free.                       */
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_table.h"

typedef struct {
    void *value;                /* NULL: free slot */
    uint64_t hash;
} slot_t;

struct _curvecp_table_t {
    slot_t *slots;
    uint8_t *keys;              /* key_size bytes per slot */
    size_t mask;                /* slots - 1 (a power of two) */
    size_t count;
    size_t limit;               /* entries before growth, or the fixed capacity */
    size_t key_size;
    bool fixed;
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

#define FIRST_SLOTS 16

/* Slots for room entries at load <= 1/2; 0 if that overflows. */
static size_t
slots_for (size_t room)
{
    size_t slots = FIRST_SLOTS;
    while (slots / 2 < room) {
        if (slots > SIZE_MAX / 4)
            return 0;
        slots *= 2;
    }
    return slots;
}

/* Fresh empty arrays of this many slots. */
static bool
allocate (curvecp_table_t *self, size_t slots, slot_t **slots_p, uint8_t **keys_p)
{
    if (slots == 0 || slots > SIZE_MAX / (self->key_size + sizeof (slot_t)))
        return false;
    *slots_p = (slot_t *) calloc (slots, sizeof (slot_t));
    *keys_p = (uint8_t *) calloc (slots, self->key_size);
    if (*slots_p && *keys_p)
        return true;
    free (*slots_p);
    free (*keys_p);
    return false;
}

static curvecp_table_t *
create (size_t key_size, size_t room, bool fixed, const curvecp_rng_t *rng)
{
    if (key_size == 0 || sodium_init () < 0)
        return NULL;
    curvecp_table_t *self = (curvecp_table_t *) calloc (1, sizeof (curvecp_table_t));
    if (!self)
        return NULL;
    self->key_size = key_size;
    self->fixed = fixed;
    size_t slots = slots_for (room);
    if (!allocate (self, slots, &self->slots, &self->keys)) {
        free (self);
        return NULL;
    }
    self->mask = slots - 1;
    self->limit = fixed ? room : slots / 2;
    curvecp_rng_bytes (rng, self->hash_key, sizeof self->hash_key);
    return self;
}

curvecp_table_t *
curvecp_table_new (size_t key_size, const curvecp_rng_t *rng)
{
    return create (key_size, FIRST_SLOTS / 2, false, rng);
}

curvecp_table_t *
curvecp_table_new_fixed (size_t key_size, size_t capacity, const curvecp_rng_t *rng)
{
    if (capacity == 0)
        return NULL;
    return create (key_size, capacity, true, rng);
}

void
curvecp_table_destroy (curvecp_table_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_table_t *self = *self_p;
        free (self->slots);
        free (self->keys);
        sodium_memzero (self->hash_key, sizeof self->hash_key);
        free (self);
        *self_p = NULL;
    }
}

static uint64_t
hash_of (const curvecp_table_t *self, const void *key)
{
    uint8_t hash[crypto_shorthash_BYTES];
    uint64_t value;
    crypto_shorthash (hash, (const uint8_t *) key, self->key_size, self->hash_key);
    memcpy (&value, hash, sizeof value);
    return value;
}

static uint8_t *
key_at (const curvecp_table_t *self, size_t slot)
{
    return self->keys + slot * self->key_size;
}

/* The slot holding key, or the free slot that ends its probe. */
static size_t
find (const curvecp_table_t *self, const void *key, uint64_t hash)
{
    size_t slot = (size_t) hash & self->mask;
    while (self->slots[slot].value
       && (self->slots[slot].hash != hash || memcmp (key_at (self, slot), key, self->key_size) != 0))
        slot = (slot + 1) & self->mask;
    return slot;
}

static void
put (curvecp_table_t *self, size_t slot, const void *key, uint64_t hash, void *value)
{
    memcpy (key_at (self, slot), key, self->key_size);
    self->slots[slot].hash = hash;
    self->slots[slot].value = value;
}

/* Move every entry into fresh arrays of this many slots. */
static bool
rehash (curvecp_table_t *self, size_t slots)
{
    curvecp_table_t bigger = *self;
    if (!allocate (self, slots, &bigger.slots, &bigger.keys))
        return false;
    bigger.mask = slots - 1;
    for (size_t slot = 0; slot <= self->mask; slot++) {
        if (self->slots[slot].value) {
            const uint8_t *key = key_at (self, slot);
            uint64_t hash = self->slots[slot].hash;
            put (&bigger, find (&bigger, key, hash), key, hash, self->slots[slot].value);
        }
    }
    free (self->slots);
    free (self->keys);
    self->slots = bigger.slots;
    self->keys = bigger.keys;
    self->mask = bigger.mask;
    self->limit = slots / 2;
    return true;
}

curvecp_reason_t
curvecp_table_reserve (curvecp_table_t *self, size_t n)
{
    if (n <= self->limit)
        return CURVECP_OK;
    if (self->fixed)
        return CURVECP_E_FULL;
    return rehash (self, slots_for (n)) ? CURVECP_OK : CURVECP_E_FULL;
}

curvecp_reason_t
curvecp_table_insert (curvecp_table_t *self, const void *key, void *value)
{
    if (!key || !value)
        return CURVECP_E_BAD_ARGUMENT;
    uint64_t hash = hash_of (self, key);
    size_t slot = find (self, key, hash);
    if (self->slots[slot].value)
        return CURVECP_E_EXISTS;
    if (self->count == self->limit) {
        /* Growing doubles, so inserts stay amortised O(1). */
        if (self->fixed || self->count > SIZE_MAX / 2
        ||  curvecp_table_reserve (self, 2 * self->count) != CURVECP_OK)
            return CURVECP_E_FULL;
        slot = find (self, key, hash);
    }
    put (self, slot, key, hash, value);
    self->count++;
    return CURVECP_OK;
}

void *
curvecp_table_lookup (const curvecp_table_t *self, const void *key)
{
    if (!key)
        return NULL;
    return self->slots[find (self, key, hash_of (self, key))].value;
}

/* Later entries of the same probe run move back into the hole, so that
   no lookup stops early at it: an entry at slot may fill hole when hole
   lies between the entry's home slot and slot (cyclically). */
static void
shift_back (curvecp_table_t *self, size_t hole)
{
    size_t slot = hole;
    for (;;) {
        slot = (slot + 1) & self->mask;
        if (!self->slots[slot].value)
            break;
        size_t home = (size_t) self->slots[slot].hash & self->mask;
        if (((slot - home) & self->mask) >= ((slot - hole) & self->mask)) {
            self->slots[hole] = self->slots[slot];
            memcpy (key_at (self, hole), key_at (self, slot), self->key_size);
            hole = slot;
        }
    }
    self->slots[hole].value = NULL;
    sodium_memzero (key_at (self, hole), self->key_size);
}

void *
curvecp_table_remove (curvecp_table_t *self, const void *key)
{
    if (!key)
        return NULL;
    size_t slot = find (self, key, hash_of (self, key));
    void *value = self->slots[slot].value;
    if (value) {
        shift_back (self, slot);
        self->count--;
    }
    return value;
}

size_t
curvecp_table_count (const curvecp_table_t *self)
{
    return self->count;
}

size_t
curvecp_table_capacity (const curvecp_table_t *self)
{
    return self->limit;
}

void *
curvecp_table_next (const curvecp_table_t *self, size_t *cursor, const uint8_t **key_p)
{
    for (size_t slot = *cursor; slot <= self->mask; slot++) {
        if (self->slots[slot].value) {
            *cursor = slot + 1;
            if (key_p)
                *key_p = key_at (self, slot);
            return self->slots[slot].value;
        }
    }
    *cursor = self->mask + 1;
    return NULL;
}

size_t
curvecp_table_memory (const curvecp_table_t *self)
{
    return sizeof *self + (self->mask + 1) * (sizeof (slot_t) + self->key_size);
}
