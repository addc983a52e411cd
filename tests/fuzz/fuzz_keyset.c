/*  fuzz_keyset - the key service's decoders (curvecp_keyset): signed
    sets (snapshots) and signed updates, against a set trusting a fixed
    administrator key (seeded, so the seeds can carry valid signatures),
    and its message decoders (curvecp_keyd_proto.c).

    Input byte 0 modulo 4 picks the mode:
      0: the rest is a snapshot loaded into an empty set. On success the
         set's own snapshot is the input byte for byte (the encoding is
         canonical); on refusal the set is still empty at sequence 0.
      1: the rest is an update applied to a set at sequence 1 holding one
         entry. On success the sequence is 2 and the update's entry is in
         the set as it says; on refusal the set is byte for byte as before.
      2: the rest is a request (frames, each a 2-byte big-endian length
         then its bytes, the last one cut short where the input ends) to
         the request decoder. It leaves the message as it was; a request
         it takes has exactly its command's frame and (CHANGE) an update
         of at most KEYD_UPDATE_MAX bytes, pointing into the second
         frame, which then goes to mode 1's checks.
      3: the rest is a CHANGE reply (frames as in 2) to the reply
         decoder: only an exact OK frame gives OK, a non-reply gives
         sequence 0, a reply's sequence number is its decimal frame.
    Every result is one of the named ones and is counted once.           */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_keyset.h"
#include "curvecp_keyd_proto.h"

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

/* Frames: a 2-byte big-endian length, then that many bytes (fewer at the end). */
static zmsg_t *
s_frames (const uint8_t *data, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    ASSERT (msg);
    size_t at = 0;
    while (size - at >= 2) {
        size_t len = (size_t) data[at] << 8 | data[at + 1];
        at += 2;
        if (len > size - at)
            len = size - at;
        zmsg_addmem (msg, data + at, len);
        at += len;
    }
    return msg;
}

static void
s_request (const uint8_t *data, size_t size)
{
    zmsg_t *msg = s_frames (data, size);
    size_t frames = zmsg_size (msg);
    keyd_request_t request;
    curvecp_keyd_request_result_t why = keyd_request_decode (msg, &request);
    ASSERT ((unsigned) why < CURVECP_KEYD_REQUEST_RESULTS && zmsg_size (msg) == frames);
    ASSERT (why != CURVECP_KEYD_REQUEST_EMPTY || frames == 0);
    if (why == CURVECP_KEYD_REQUEST_OK) {
        zframe_t *command = zmsg_first (msg);
        const char *name = request.command == KEYD_REQUEST_SUBSCRIBE ? KEYD_SUBSCRIBE
                         : request.command == KEYD_REQUEST_SNAPSHOT ? KEYD_SNAPSHOT : KEYD_CHANGE;
        ASSERT (zframe_size (command) == strlen (name) && memcmp (zframe_data (command), name, strlen (name)) == 0);
        ASSERT (frames == (request.command == KEYD_REQUEST_CHANGE ? 2u : 1u));
        if (request.command == KEYD_REQUEST_CHANGE) {
            zframe_t *update = zmsg_next (msg);
            ASSERT (request.update == zframe_data (update) && request.update_size == zframe_size (update));
            ASSERT (request.update_size <= KEYD_UPDATE_MAX);
            s_update (request.update, request.update_size);
        }
    }
    else
        ASSERT (!request.update && request.update_size == 0);
    zmsg_destroy (&msg);
}

static void
s_reply (const uint8_t *data, size_t size)
{
    zmsg_t *msg = s_frames (data, size);
    uint64_t seq = 1;
    curvecp_keyset_result_t result = keyd_change_reply_decode (msg, &seq);
    ASSERT (result <= CURVECP_KEYSET_RESULTS);
    zframe_t *verdict = zmsg_first (msg);
    ASSERT (result != CURVECP_KEYSET_OK || keyd_frame_is (verdict, KEYD_OK));
    ASSERT (result == CURVECP_KEYSET_OK || result == CURVECP_KEYSET_RESULTS || keyd_frame_is (verdict, KEYD_REFUSED));
    if (result == CURVECP_KEYSET_RESULTS)
        ASSERT (seq == 0);
    else {
        zframe_t *last = zmsg_last (msg);
        char digits[KEYD_DECIMAL_MAX + 1];
        ASSERT (zframe_size (last) >= 1 && zframe_size (last) <= KEYD_DECIMAL_MAX);
        memcpy (digits, zframe_data (last), zframe_size (last));
        digits[zframe_size (last)] = 0;
        ASSERT (strspn (digits, "0123456789") == zframe_size (last) && strtoull (digits, NULL, 10) == seq);
    }
    zmsg_destroy (&msg);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_setup ();
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0: s_snapshot (data + 1, size - 1); break;
    case 1: s_update (data + 1, size - 1); break;
    case 2: s_request (data + 1, size - 1); break;
    default: s_reply (data + 1, size - 1); break;
    }
    return 0;
}
