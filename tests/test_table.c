/*  The core keyed table: insert refuses duplicates and bad arguments,
    lookup and remove find exactly what is there after heavy churn
    (backward-shift deletion keeps every probe run whole), a growable
    table grows, a fixed one never allocates and refuses when full, a
    walk sees every entry once, and the hash key comes from the rng
    context (same seed, same layout; another seed, another).              */
#include <sodium.h>
#include "testutil.h"
#include <stdbool.h>
#include "core/curvecp_table.h"

#define KEY 32

static void
key_of (uint8_t key[KEY], uint32_t n)
{
    memset (key, 0, KEY);
    memcpy (key, &n, sizeof n);
}

static int values[100000];      /* the values are pointers into this */

static void
test_basics (void)
{
    curvecp_table_t *table = curvecp_table_new (KEY, NULL);
    CHECK (table);
    uint8_t a[KEY], b[KEY];
    key_of (a, 1);
    key_of (b, 2);
    CHECK (curvecp_table_lookup (table, a) == NULL);
    CHECK_EQ (curvecp_table_insert (table, a, &values[1]), CURVECP_OK);
    CHECK (curvecp_table_lookup (table, a) == &values[1]);
    CHECK (curvecp_table_lookup (table, b) == NULL);
    /* A duplicate is refused and the old value stays. */
    CHECK_EQ (curvecp_table_insert (table, a, &values[9]), CURVECP_E_EXISTS);
    CHECK (curvecp_table_lookup (table, a) == &values[1]);
    CHECK_EQ (curvecp_table_count (table), 1);
    /* Bad arguments: refused, nothing changes. */
    CHECK_EQ (curvecp_table_insert (table, NULL, &values[2]), CURVECP_E_BAD_ARGUMENT);
    CHECK_EQ (curvecp_table_insert (table, b, NULL), CURVECP_E_BAD_ARGUMENT);
    CHECK (curvecp_table_lookup (table, NULL) == NULL);
    CHECK (curvecp_table_remove (table, NULL) == NULL);
    CHECK (curvecp_table_lookup (table, b) == NULL);
    CHECK_EQ (curvecp_table_count (table), 1);
    /* Removing what is not there: NULL, nothing changes. */
    CHECK (curvecp_table_remove (table, b) == NULL);
    CHECK_EQ (curvecp_table_count (table), 1);
    CHECK (curvecp_table_remove (table, a) == &values[1]);
    CHECK (curvecp_table_lookup (table, a) == NULL);
    CHECK_EQ (curvecp_table_count (table), 0);
    curvecp_table_destroy (&table);
    CHECK (table == NULL);
    curvecp_table_destroy (&table);
    CHECK (curvecp_table_new (0, NULL) == NULL);
    CHECK (curvecp_table_new_fixed (KEY, 0, NULL) == NULL);
    CHECK (curvecp_table_new_fixed (0, 10, NULL) == NULL);
}

/* A growable table grows past many doublings and keeps everything. */
static void
test_growth (void)
{
    curvecp_table_t *table = curvecp_table_new (KEY, NULL);
    size_t first = curvecp_table_capacity (table);
    for (uint32_t i = 0; i < 20000; i++) {
        uint8_t k[KEY];
        key_of (k, i);
        CHECK_EQ (curvecp_table_insert (table, k, &values[i]), CURVECP_OK);
    }
    CHECK_EQ (curvecp_table_count (table), 20000);
    CHECK (curvecp_table_capacity (table) >= 20000);
    CHECK (curvecp_table_capacity (table) > first);
    for (uint32_t i = 0; i < 20000; i++) {
        uint8_t k[KEY];
        key_of (k, i);
        CHECK (curvecp_table_lookup (table, k) == &values[i]);
    }
    /* An impossible reservation is refused and changes nothing. */
    CHECK_EQ (curvecp_table_reserve (table, SIZE_MAX), CURVECP_E_FULL);
    CHECK_EQ (curvecp_table_count (table), 20000);
    CHECK_EQ (curvecp_table_reserve (table, 50000), CURVECP_OK);
    CHECK (curvecp_table_capacity (table) >= 50000);
    uint8_t k[KEY];
    key_of (k, 7);
    CHECK (curvecp_table_lookup (table, k) == &values[7]);
    curvecp_table_destroy (&table);
}

/* A fixed table takes exactly its capacity, refuses the next one with
   CURVECP_E_FULL, and its memory never changes. */
static void
test_fixed (void)
{
    const size_t capacity = 100;
    curvecp_table_t *table = curvecp_table_new_fixed (KEY, capacity, NULL);
    CHECK (table);
    size_t memory = curvecp_table_memory (table);
    CHECK_EQ (curvecp_table_capacity (table), capacity);
    CHECK_EQ (curvecp_table_reserve (table, capacity), CURVECP_OK);
    CHECK_EQ (curvecp_table_reserve (table, capacity + 1), CURVECP_E_FULL);
    for (uint32_t i = 0; i < capacity; i++) {
        uint8_t k[KEY];
        key_of (k, i);
        CHECK_EQ (curvecp_table_insert (table, k, &values[i]), CURVECP_OK);
    }
    uint8_t extra[KEY], first[KEY];
    key_of (extra, 5000);
    key_of (first, 0);
    CHECK_EQ (curvecp_table_insert (table, extra, &values[5000]), CURVECP_E_FULL);
    CHECK (curvecp_table_lookup (table, extra) == NULL);
    CHECK_EQ (curvecp_table_count (table), capacity);
    /* A duplicate in a full table is a duplicate, not "full". */
    CHECK_EQ (curvecp_table_insert (table, first, &values[1]), CURVECP_E_EXISTS);
    /* Make room: then it fits. */
    CHECK (curvecp_table_remove (table, first) == &values[0]);
    CHECK_EQ (curvecp_table_insert (table, extra, &values[5000]), CURVECP_OK);
    CHECK_EQ (curvecp_table_memory (table), memory);
    curvecp_table_destroy (&table);
}

/* Random inserts and removals in a small fixed table (long probe runs,
   many backward shifts) against a model: lookups always agree. */
static void
test_churn (void)
{
    enum { SPACE = 400, CAPACITY = 256 };
    curvecp_table_t *table = curvecp_table_new_fixed (KEY, CAPACITY, NULL);
    bool present[SPACE] = { false };
    size_t count = 0;
    for (int step = 0; step < 200000; step++) {
        uint32_t n = randombytes_uniform (SPACE);
        uint8_t k[KEY];
        key_of (k, n);
        if (randombytes_uniform (2)) {
            curvecp_reason_t rc = curvecp_table_insert (table, k, &values[n]);
            if (present[n])
                CHECK_EQ (rc, CURVECP_E_EXISTS);
            else
            if (count == CAPACITY)
                CHECK_EQ (rc, CURVECP_E_FULL);
            else {
                CHECK_EQ (rc, CURVECP_OK);
                present[n] = true;
                count++;
            }
        }
        else {
            void *gone = curvecp_table_remove (table, k);
            CHECK (gone == (present[n] ? &values[n] : NULL));
            if (present[n])
                count--;
            present[n] = false;
        }
        CHECK_EQ (curvecp_table_count (table), count);
        if (step % 997 == 0)
            for (uint32_t m = 0; m < SPACE; m++) {
                uint8_t km[KEY];
                key_of (km, m);
                CHECK (curvecp_table_lookup (table, km) == (present[m] ? &values[m] : NULL));
            }
    }
    curvecp_table_destroy (&table);
}

/* A walk sees every entry exactly once, with its key; a drain by
   "first, remove" empties the table. */
static void
test_walk (void)
{
    curvecp_table_t *table = curvecp_table_new (sizeof (uint32_t), NULL);
    static int seen[1000];
    for (uint32_t i = 0; i < 1000; i++)
        CHECK_EQ (curvecp_table_insert (table, &i, &values[i]), CURVECP_OK);
    size_t cursor = 0, walked = 0;
    const uint8_t *key;
    int *value;
    while ((value = (int *) curvecp_table_next (table, &cursor, &key)) != NULL) {
        uint32_t n;
        memcpy (&n, key, sizeof n);
        CHECK (value == &values[n]);
        seen[n]++;
        walked++;
    }
    CHECK_EQ (walked, 1000);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ (seen[i], 1);
    /* Past the end it stays at the end. */
    CHECK (curvecp_table_next (table, &cursor, NULL) == NULL);
    size_t drained = 0;
    for (;;) {
        cursor = 0;
        if (!curvecp_table_next (table, &cursor, &key))
            break;
        uint8_t copy[sizeof (uint32_t)];
        memcpy (copy, key, sizeof copy);
        CHECK (curvecp_table_remove (table, copy));
        drained++;
    }
    CHECK_EQ (drained, 1000);
    CHECK_EQ (curvecp_table_count (table), 0);
    curvecp_table_destroy (&table);
}

/* The order of a walk follows the slots, which follow the hash key: the
   same seed gives the same order, another seed (almost surely) another. */
static void
walk_order (const char *seed, uint32_t order[64])
{
    curvecp_rng_seeded_t state;
    curvecp_rng_t rng = curvecp_rng_seeded (&state, seed, strlen (seed));
    curvecp_table_t *table = curvecp_table_new (sizeof (uint32_t), &rng);
    for (uint32_t i = 0; i < 64; i++)
        CHECK_EQ (curvecp_table_insert (table, &i, &values[i]), CURVECP_OK);
    size_t cursor = 0;
    const uint8_t *key;
    for (int i = 0; i < 64; i++) {
        CHECK (curvecp_table_next (table, &cursor, &key));
        memcpy (&order[i], key, sizeof order[i]);
    }
    curvecp_table_destroy (&table);
    curvecp_rng_seeded_wipe (&state);
}

static void
test_seeded_hash_key (void)
{
    uint32_t one[64], again[64], other[64];
    walk_order ("seed one", one);
    walk_order ("seed one", again);
    walk_order ("seed two", other);
    CHECK_MEM (one, again, sizeof one);
    CHECK (memcmp (one, other, sizeof one) != 0);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_basics ();
    test_growth ();
    test_fixed ();
    test_churn ();
    test_walk ();
    test_seeded_hash_key ();
    printf ("table: ok\n");
    return 0;
}
