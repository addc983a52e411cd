/*  curvecp_table.h - a hash table keyed by fixed-size byte strings.

    One table class for every keyed lookup in curvecp: connections by
    client short-term key C', peers by long-term key, the replay cache,
    Hello lanes by address. Keys are key_size bytes (fixed at creation)
    and are copied in; values are the caller's non-NULL pointers, never
    freed by the table.

    Slots are found by SipHash-2-4 (crypto_shorthash) under a key drawn
    from the rng context, so a peer who picks the keys cannot aim them at
    one slot; open addressing with linear probing, deletion by backward
    shift (no tombstones), load at most one half.

    Two modes:
      - growable (curvecp_table_new): doubles when half full;
      - fixed (curvecp_table_new_fixed): allocates everything at creation
        for exactly capacity entries and never again, so a server can keep
        per-packet state with no allocation per packet; a full table
        refuses (CURVECP_E_FULL).

    A walk (curvecp_table_next) sees every entry once provided the table
    does not change meanwhile. To empty a table while freeing its values,
    take the first entry (cursor 0) and remove it, until none is left.    */
#ifndef CURVECP_TABLE_H_INCLUDED
#define CURVECP_TABLE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "curvecp_reason.h"
#include "curvecp_rng.h"

typedef struct _curvecp_table_t curvecp_table_t;

/* A growable table for keys of key_size bytes (>= 1). The hash key comes
   from rng (NULL: system randomness). NULL on bad size or no memory. */
curvecp_table_t *curvecp_table_new (size_t key_size, const curvecp_rng_t *rng);

/* A fixed table that holds up to capacity (>= 1) entries and never
   allocates after this call. */
curvecp_table_t *curvecp_table_new_fixed (size_t key_size, size_t capacity, const curvecp_rng_t *rng);

/* Frees the table, not the values. */
void curvecp_table_destroy (curvecp_table_t **self_p);

/* Add key -> value. CURVECP_OK; CURVECP_E_EXISTS if the key is there
   (the old value stays); CURVECP_E_FULL if a fixed table is full or a
   growable one could not grow; CURVECP_E_BAD_ARGUMENT for a NULL key or
   value. Nothing changes unless CURVECP_OK. */
curvecp_reason_t curvecp_table_insert (curvecp_table_t *self, const void *key, void *value);

/* The value for key, or NULL (also for a NULL key). */
void *curvecp_table_lookup (const curvecp_table_t *self, const void *key);

/* Take key out; returns its value, or NULL if it was not there. */
void *curvecp_table_remove (curvecp_table_t *self, const void *key);

/* Entries in the table. */
size_t curvecp_table_count (const curvecp_table_t *self);

/* Entries it can hold without allocating (fixed: its capacity). */
size_t curvecp_table_capacity (const curvecp_table_t *self);

/* Make room for n entries in all, so that inserts up to that count
   cannot fail for lack of memory. CURVECP_OK; CURVECP_E_FULL if a fixed
   table is smaller or memory ran out. */
curvecp_reason_t curvecp_table_reserve (curvecp_table_t *self, size_t n);

/* Walk: set *cursor = 0, then call until NULL. Returns the next value
   and (if key_p) points *key_p at its key inside the table. */
void *curvecp_table_next (const curvecp_table_t *self, size_t *cursor, const uint8_t **key_p);

/* Bytes the table holds. */
size_t curvecp_table_memory (const curvecp_table_t *self);

#endif
