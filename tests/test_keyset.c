/*  The signed key set: updates in sequence, signed by the administrator,
    change it; anything else (another signer, a skipped or repeated
    sequence number, a tampered set signature, bytes that do not decode)
    is refused, counted, and changes nothing. Snapshots and the file give
    back the same set; an older snapshot never replaces a newer one.    */
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>
#include "testutil.h"
#include "curvecp_keyset.h"

static uint8_t admin_pk[32], admin_sk[64], other_pk[32], other_sk[64];

static curvecp_keyset_entry_t
entry_of (uint8_t fill, const char *name, const char *metadata, bool revoked)
{
    curvecp_keyset_entry_t entry;
    memset (&entry, 0, sizeof entry);
    memset (entry.key, fill, sizeof entry.key);
    snprintf (entry.name, sizeof entry.name, "%s", name);
    snprintf (entry.metadata, sizeof entry.metadata, "%s", metadata);
    entry.added = 1700000000 + fill;
    entry.revoked = revoked;
    return entry;
}

/* A snapshot of set, as bytes to compare. */
static bool
same_sets (const curvecp_keyset_t *a, const curvecp_keyset_t *b)
{
    size_t size_a, size_b;
    uint8_t *snap_a = curvecp_keyset_snapshot (a, &size_a), *snap_b = curvecp_keyset_snapshot (b, &size_b);
    bool same = size_a == size_b && memcmp (snap_a, snap_b, size_a) == 0;
    free (snap_a);
    free (snap_b);
    return same;
}

static void
apply_ok (curvecp_keyset_t *set, const curvecp_keyset_entry_t *entry)
{
    size_t size;
    uint8_t *update = curvecp_keyset_make_update (set, entry, admin_sk, &size);
    CHECK (update);
    CHECK (curvecp_keyset_apply_update (set, update, size) == CURVECP_KEYSET_OK);
    free (update);
}

static void
test_entries (void)
{
    curvecp_keyset_entry_t entry = entry_of (1, "alice", "team=ops\nhost=a1", false);
    CHECK (curvecp_keyset_entry_valid (&entry));
    entry = entry_of (1, "al ice", "", false);
    CHECK (!curvecp_keyset_entry_valid (&entry));
    entry = entry_of (1, "", "", false);
    CHECK (!curvecp_keyset_entry_valid (&entry));
    entry = entry_of (1, "alice", "noequals", false);
    CHECK (!curvecp_keyset_entry_valid (&entry));
    entry = entry_of (1, "alice", "a=b\n", false);
    CHECK (!curvecp_keyset_entry_valid (&entry));
    entry = entry_of (1, "alice", "=b", false);
    CHECK (!curvecp_keyset_entry_valid (&entry));
}

static void
test_updates (void)
{
    curvecp_keyset_t *set = curvecp_keyset_new (admin_pk);
    CHECK (curvecp_keyset_seq (set) == 0 && curvecp_keyset_size (set) == 0);
    curvecp_keyset_entry_t alice = entry_of (0x11, "alice", "team=ops", false);
    curvecp_keyset_entry_t bob = entry_of (0x05, "bob", "", false);
    apply_ok (set, &alice);
    apply_ok (set, &bob);
    CHECK (curvecp_keyset_seq (set) == 2 && curvecp_keyset_size (set) == 2);
    CHECK (curvecp_keyset_entry (set, 0)->key[0] == 0x05);     /* sorted by key */
    CHECK (curvecp_keyset_allowed (set, alice.key) && curvecp_keyset_allowed (set, bob.key));
    CHECK (curvecp_keyset_find_name (set, "alice") && curvecp_keyset_find_name (set, "alice")->key[0] == 0x11);
    CHECK (strcmp (curvecp_keyset_find (set, alice.key)->metadata, "team=ops") == 0);

    /* a replica that follows the same updates ends with the same set */
    curvecp_keyset_t *replica = curvecp_keyset_new (admin_pk);
    curvecp_keyset_t *admin = curvecp_keyset_dup (set);
    size_t size;
    uint8_t *snap = curvecp_keyset_snapshot (set, &size);
    CHECK (curvecp_keyset_load_snapshot (replica, snap, size) == CURVECP_KEYSET_OK);
    CHECK (same_sets (set, replica));
    free (snap);

    /* revocation */
    curvecp_keyset_entry_t alice_revoked = alice;
    alice_revoked.revoked = true;
    uint8_t *revoke = curvecp_keyset_make_update (admin, &alice_revoked, admin_sk, &size);
    CHECK (revoke);
    CHECK (curvecp_keyset_update_seq (revoke, size) == 3);
    CHECK (curvecp_keyset_apply_update (replica, revoke, size) == CURVECP_KEYSET_OK);
    CHECK (!curvecp_keyset_allowed (replica, alice.key) && curvecp_keyset_allowed (replica, bob.key));
    CHECK (!curvecp_keyset_find_name (replica, "alice"));
    /* the same update again: stale, nothing changes */
    CHECK (curvecp_keyset_apply_update (replica, revoke, size) == CURVECP_KEYSET_STALE);
    CHECK (curvecp_keyset_seq (replica) == 3);
    CHECK (curvecp_keyset_stats (replica)->counts[CURVECP_KEYSET_STALE] == 1);
    free (revoke);

    curvecp_keyset_destroy (&admin);
    curvecp_keyset_destroy (&set);
    curvecp_keyset_destroy (&replica);
    CHECK (!set && !replica);
}

/* Every refused input leaves the set byte for byte as it was. */
static void
refused_unchanged (curvecp_keyset_t *set, const uint8_t *update, size_t size, curvecp_keyset_result_t expected)
{
    curvecp_keyset_t *before = curvecp_keyset_dup (set);
    uint64_t count = curvecp_keyset_stats (set)->counts[expected];
    CHECK (curvecp_keyset_apply_update (set, update, size) == expected);
    CHECK (curvecp_keyset_stats (set)->counts[expected] == count + 1);
    CHECK (same_sets (set, before));
    curvecp_keyset_destroy (&before);
}

static void
test_bad_updates (void)
{
    curvecp_keyset_t *set = curvecp_keyset_new (admin_pk);
    curvecp_keyset_entry_t alice = entry_of (0x11, "alice", "", false);
    apply_ok (set, &alice);
    curvecp_keyset_entry_t mallory = entry_of (0x66, "mallory", "", false);

    /* signed by another key: make_update refuses a secret that is not
       the set's administrator's, so forge with a set that trusts it */
    size_t size;
    CHECK (!curvecp_keyset_make_update (set, &mallory, other_sk, &size));
    curvecp_keyset_t *forger = curvecp_keyset_dup (set);
    curvecp_keyset_t *other_set = curvecp_keyset_new (other_pk);
    uint8_t *forged = curvecp_keyset_make_update (other_set, &mallory, other_sk, &size);
    CHECK (forged);
    /* it says seq 1, ours is 1: make one at seq 2 by advancing other_set */
    CHECK (curvecp_keyset_apply_update (other_set, forged, size) == CURVECP_KEYSET_OK);
    free (forged);
    forged = curvecp_keyset_make_update (other_set, &mallory, other_sk, &size);
    CHECK (curvecp_keyset_update_seq (forged, size) == 2);
    refused_unchanged (set, forged, size, CURVECP_KEYSET_BAD_SIGNATURE);
    CHECK (!curvecp_keyset_allowed (set, mallory.key));
    free (forged);

    /* a skipped sequence number: seq 3 while we are at 1 */
    CHECK (curvecp_keyset_apply_update (forger, (uint8_t *) "", 0) == CURVECP_KEYSET_MALFORMED);
    uint8_t *second = curvecp_keyset_make_update (forger, &mallory, admin_sk, &size);
    CHECK (curvecp_keyset_apply_update (forger, second, size) == CURVECP_KEYSET_OK);
    free (second);
    curvecp_keyset_entry_t carol = entry_of (0x22, "carol", "", false);
    uint8_t *third = curvecp_keyset_make_update (forger, &carol, admin_sk, &size);
    CHECK (curvecp_keyset_update_seq (third, size) == 3);
    refused_unchanged (set, third, size, CURVECP_KEYSET_GAP);
    CHECK (!curvecp_keyset_allowed (set, carol.key));

    /* a flipped bit anywhere: refused (bad signature or malformed) */
    for (size_t i = 0; i < size; i++) {
        third[i] ^= 0x01;
        curvecp_keyset_t *before = curvecp_keyset_dup (forger);
        curvecp_keyset_result_t result = curvecp_keyset_apply_update (forger, third, size);
        CHECK (result != CURVECP_KEYSET_OK);
        CHECK (same_sets (forger, before));
        curvecp_keyset_destroy (&before);
        third[i] ^= 0x01;
    }
    /* truncated */
    refused_unchanged (forger, third, size - 1, CURVECP_KEYSET_MALFORMED);
    CHECK (curvecp_keyset_apply_update (forger, third, size) == CURVECP_KEYSET_OK);

    /* an update whose set signature belongs to another set: signed, in
       sequence, but the set after it is not what the administrator signed */
    curvecp_keyset_t *elsewhere = curvecp_keyset_new (admin_pk);
    for (int i = 0; i < 3; i++) {
        curvecp_keyset_entry_t filler = entry_of ((uint8_t) (0x30 + i), "filler", "", false);
        apply_ok (elsewhere, &filler);
    }
    curvecp_keyset_entry_t dave = entry_of (0x44, "dave", "", false);
    uint8_t *diverging = curvecp_keyset_make_update (elsewhere, &dave, admin_sk, &size);
    CHECK (curvecp_keyset_update_seq (diverging, size) == 4);
    refused_unchanged (forger, diverging, size, CURVECP_KEYSET_DIVERGED);
    free (diverging);
    free (third);

    /* snapshots: an older one never replaces a newer one; a forged one never */
    uint8_t *old_snap = curvecp_keyset_snapshot (set, &size);           /* seq 1 */
    size_t old_size = size;
    CHECK (curvecp_keyset_load_snapshot (forger, old_snap, old_size) == CURVECP_KEYSET_STALE);
    CHECK (curvecp_keyset_seq (forger) == 3);
    uint8_t *other_snap = curvecp_keyset_snapshot (other_set, &size);   /* signed by other */
    CHECK (curvecp_keyset_load_snapshot (set, other_snap, size) == CURVECP_KEYSET_BAD_SIGNATURE);
    CHECK (curvecp_keyset_seq (set) == 1);
    free (other_snap);
    old_snap[old_size - 1] ^= 1;
    /* the flip hits the signature: refused as forged before any comparison */
    CHECK (curvecp_keyset_load_snapshot (set, old_snap, old_size) == CURVECP_KEYSET_BAD_SIGNATURE);
    CHECK (curvecp_keyset_seq (set) == 1);
    curvecp_keyset_t *fresh = curvecp_keyset_new (admin_pk);
    CHECK (curvecp_keyset_load_snapshot (fresh, old_snap, old_size) == CURVECP_KEYSET_BAD_SIGNATURE);
    CHECK (curvecp_keyset_seq (fresh) == 0);
    free (old_snap);

    curvecp_keyset_destroy (&fresh);
    curvecp_keyset_destroy (&elsewhere);
    curvecp_keyset_destroy (&other_set);
    curvecp_keyset_destroy (&forger);
    curvecp_keyset_destroy (&set);
}

static void
test_file (void)
{
    char dir[] = "/tmp/test_keyset_XXXXXX";
    CHECK (mkdtemp (dir));
    char path[128];
    snprintf (path, sizeof path, "%s/keyset", dir);
    curvecp_keyset_t *set = curvecp_keyset_new (admin_pk);
    curvecp_keyset_entry_t alice = entry_of (0x11, "alice", "a=1\nb=two words", false);
    apply_ok (set, &alice);
    CHECK (curvecp_keyset_save (set, path) == 0);
    curvecp_keyset_t *back = curvecp_keyset_new (admin_pk);
    CHECK (curvecp_keyset_load_file (back, path) == 0);
    CHECK (same_sets (set, back));
    /* a file signed by someone else is refused */
    curvecp_keyset_t *stranger = curvecp_keyset_new (other_pk);
    CHECK (curvecp_keyset_load_file (stranger, path) == -1);
    CHECK (curvecp_keyset_seq (stranger) == 0);
    CHECK (curvecp_keyset_load_file (stranger, "/nonexistent/keyset") == -1);
    unlink (path);
    rmdir (dir);
    curvecp_keyset_destroy (&stranger);
    curvecp_keyset_destroy (&back);
    curvecp_keyset_destroy (&set);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    crypto_sign_keypair (admin_pk, admin_sk);
    crypto_sign_keypair (other_pk, other_sk);
    test_entries ();
    test_updates ();
    test_bad_updates ();
    test_file ();
    printf ("keyset tests passed\n");
    return 0;
}
