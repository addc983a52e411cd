/*  fuzz_keyset - the key service's decoders (curvecp_keyset): signed
    sets (snapshots) and signed updates, against a set trusting a fixed
    administrator key (seeded, so the seeds can carry valid signatures).

    Input byte 0 modulo 2 picks the mode:
      0: the rest is a snapshot loaded into an empty set. On success the
         set's own snapshot is the input byte for byte (the encoding is
         canonical); on refusal the set is still empty at sequence 0.
      1: the rest is an update applied to a set at sequence 1 holding one
         entry. On success the sequence is 2 and the update's entry is in
         the set as it says; on refusal the set is byte for byte as before.
    Every result is one of the named ones and is counted once.           */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_keyset.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define ASSERT(cond) do { if (!(cond)) abort (); } while (0)

static uint8_t s_admin_pk[32], s_admin_sk[64];
static uint8_t *s_base;                /* snapshot of the set at sequence 1 */
static size_t s_base_size;

static void
s_setup (void)
{
    if (s_base)
        return;
    ASSERT (sodium_init () >= 0);
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset (seed, 0x5a, sizeof seed);
    crypto_sign_seed_keypair (s_admin_pk, s_admin_sk, seed);
    curvecp_keyset_t *set = curvecp_keyset_new (s_admin_pk);
    curvecp_keyset_entry_t entry;
    memset (&entry, 0, sizeof entry);
    memset (entry.key, 0x11, sizeof entry.key);
    strcpy (entry.name, "alice");
    strcpy (entry.metadata, "team=ops");
    entry.added = 1700000000;
    size_t size;
    uint8_t *update = curvecp_keyset_make_update (set, &entry, s_admin_sk, &size);
    ASSERT (update && curvecp_keyset_apply_update (set, update, size) == CURVECP_KEYSET_OK);
    free (update);
    s_base = curvecp_keyset_snapshot (set, &s_base_size);
    curvecp_keyset_destroy (&set);
}

static uint64_t
s_total (const curvecp_keyset_t *set)
{
    uint64_t total = 0;
    for (int i = 0; i < CURVECP_KEYSET_RESULTS; i++)
        total += curvecp_keyset_stats (set)->counts[i];
    return total;
}

static void
s_snapshot (const uint8_t *data, size_t size)
{
    curvecp_keyset_t *set = curvecp_keyset_new (s_admin_pk);
    curvecp_keyset_result_t result = curvecp_keyset_load_snapshot (set, data, size);
    ASSERT (result < CURVECP_KEYSET_RESULTS && s_total (set) == 1);
    size_t out_size;
    uint8_t *out = curvecp_keyset_snapshot (set, &out_size);
    if (result == CURVECP_KEYSET_OK)
        ASSERT (out_size == size && memcmp (out, data, size) == 0);
    else
        ASSERT (curvecp_keyset_seq (set) == 0 && curvecp_keyset_size (set) == 0);
    free (out);
    curvecp_keyset_destroy (&set);
}

static void
s_update (const uint8_t *data, size_t size)
{
    curvecp_keyset_t *set = curvecp_keyset_new (s_admin_pk);
    ASSERT (curvecp_keyset_load_snapshot (set, s_base, s_base_size) == CURVECP_KEYSET_OK);
    curvecp_keyset_result_t result = curvecp_keyset_apply_update (set, data, size);
    ASSERT (result < CURVECP_KEYSET_RESULTS && s_total (set) == 2);
    size_t out_size;
    uint8_t *out = curvecp_keyset_snapshot (set, &out_size);
    if (result == CURVECP_KEYSET_OK)
        ASSERT (curvecp_keyset_seq (set) == 2 && curvecp_keyset_update_seq (data, size) == 2);
    else
        ASSERT (out_size == s_base_size && memcmp (out, s_base, out_size) == 0);
    free (out);
    curvecp_keyset_destroy (&set);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_setup ();
    if (size < 1)
        return 0;
    if (data[0] % 2 == 0)
        s_snapshot (data + 1, size - 1);
    else
        s_update (data + 1, size - 1);
    return 0;
}
