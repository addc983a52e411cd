/*  curvecp_keyset.h - the key service's signed key set (rfc/curvecp.md,
    "Key service"): client long-term public keys, each with a name,
    metadata (key=value lines), the time it was added and a revoked flag,
    under a sequence number that grows by one with every change.
    Every change travels as an update signed (Ed25519, crypto_sign) by the
    administrator key, and carries the administrator's signature of the
    whole set as it is after the change, so that every holder of the set
    (the key service, each replica) keeps a set the administrator signed
    and can hand it on; nobody but the administrator can make one.
        curvecp_keyset_t *set = curvecp_keyset_new (admin_public_key);
        curvecp_keyset_apply_update (set, update, size);   // seq == last + 1
        bool ok = curvecp_keyset_allowed (set, client_key);
    A set refuses, counts and ignores anything that is not signed by the
    administrator key, that does not follow its sequence number (an old
    one: [stale]; one past a gap: [gap], the holder should take a new
    snapshot) or that does not decode. A refused input changes nothing.
    The set at sequence 0 is empty and carries no signature.             */

#ifndef CURVECP_KEYSET_H_INCLUDED
#define CURVECP_KEYSET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_export.h"
#include "curvecp_constants.h"

CURVECP_BEGIN_DECLS

typedef struct _curvecp_keyset_t curvecp_keyset_t;

#define CURVECP_KEYSET_ADMIN_PUBLIC_BYTES 32    /* crypto_sign_PUBLICKEYBYTES */
#define CURVECP_KEYSET_ADMIN_SECRET_BYTES 64    /* crypto_sign_SECRETKEYBYTES */
#define CURVECP_KEYSET_SIG_BYTES          64    /* crypto_sign_BYTES */
#define CURVECP_KEYSET_NAME_MAX           255
#define CURVECP_KEYSET_METADATA_MAX       1024
#define CURVECP_KEYSET_ENTRIES_MAX        65536
#define CURVECP_KEYD_DEFAULT_NAME         "keyd"   /* the key service's server name */

typedef struct {
    uint8_t key[CURVECP_KEY_BYTES];                 /* client long-term public key */
    char name[CURVECP_KEYSET_NAME_MAX + 1];          /* [A-Za-z0-9._@-], 1..255 */
    char metadata[CURVECP_KEYSET_METADATA_MAX + 1]; /* "k=v\nk2=v2" (may be empty) */
    uint64_t added;                                 /* seconds since 1970 */
    bool revoked;
} curvecp_keyset_entry_t;

/* What became of an input; each is counted in curvecp_keyset_stats. */
typedef enum {
    CURVECP_KEYSET_OK = 0,
    CURVECP_KEYSET_MALFORMED,       /* does not decode */
    CURVECP_KEYSET_BAD_SIGNATURE,   /* not signed by the administrator key */
    CURVECP_KEYSET_STALE,           /* sequence number at or below ours */
    CURVECP_KEYSET_GAP,             /* update past last + 1: take a snapshot */
    CURVECP_KEYSET_DIVERGED,        /* the set after it is not the one signed */
    CURVECP_KEYSET_UNKNOWN_REASON,  /* never a set's: a key service refused a
                                       change for a reason we do not know */
    CURVECP_KEYSET_RESULTS
} curvecp_keyset_result_t;

typedef struct {
    uint64_t counts[CURVECP_KEYSET_RESULTS];    /* per result, snapshots and updates */
} curvecp_keyset_stats_t;

/* New empty set (sequence 0) trusting this administrator key. */
CURVECP_EXPORT curvecp_keyset_t *curvecp_keyset_new (const uint8_t admin_key[CURVECP_KEYSET_ADMIN_PUBLIC_BYTES]);
CURVECP_EXPORT void curvecp_keyset_destroy (curvecp_keyset_t **self_p);

/* A copy (entries, sequence, signature, admin key; counters start at 0). */
CURVECP_EXPORT curvecp_keyset_t *curvecp_keyset_dup (const curvecp_keyset_t *self);

CURVECP_EXPORT uint64_t curvecp_keyset_seq (const curvecp_keyset_t *self);
CURVECP_EXPORT size_t curvecp_keyset_size (const curvecp_keyset_t *self);
CURVECP_EXPORT const uint8_t *curvecp_keyset_admin_key (const curvecp_keyset_t *self);
/* Entry by index (sorted by key), NULL past the end. */
CURVECP_EXPORT const curvecp_keyset_entry_t *curvecp_keyset_entry (const curvecp_keyset_t *self, size_t index);
CURVECP_EXPORT const curvecp_keyset_entry_t *curvecp_keyset_find (const curvecp_keyset_t *self,
        const uint8_t key[CURVECP_KEY_BYTES]);
/* The newest entry that is not revoked with this name, NULL if none. */
CURVECP_EXPORT const curvecp_keyset_entry_t *curvecp_keyset_find_name (const curvecp_keyset_t *self, const char *name);
/* In the set and not revoked. */
CURVECP_EXPORT bool curvecp_keyset_allowed (const curvecp_keyset_t *self, const uint8_t key[CURVECP_KEY_BYTES]);

/* Is entry well formed (name, metadata)? */
CURVECP_EXPORT bool curvecp_keyset_entry_valid (const curvecp_keyset_entry_t *entry);

/* The signed set (a snapshot), malloc'd, *size its length. */
CURVECP_EXPORT uint8_t *curvecp_keyset_snapshot (const curvecp_keyset_t *self, size_t *size);
/* Take a signed set in place of ours: it must be signed by the
   administrator key (or be the empty set 0) and not older than ours
   (the same sequence number is taken only with the same content). */
CURVECP_EXPORT curvecp_keyset_result_t curvecp_keyset_load_snapshot (curvecp_keyset_t *self, const uint8_t *data,
        size_t size);
/* Apply a signed update: signature, seq == ours + 1, and the signature
   of the resulting set must all hold. */
CURVECP_EXPORT curvecp_keyset_result_t curvecp_keyset_apply_update (curvecp_keyset_t *self, const uint8_t *data,
        size_t size);
/* The sequence number an update carries (0 if it does not decode). */
CURVECP_EXPORT uint64_t curvecp_keyset_update_seq (const uint8_t *data, size_t size);

/* Administrator's side: the update that puts entry (added or replaced:
   revoking is an entry with revoked set) into this set as sequence
   seq + 1, signed with admin_secret; malloc'd, NULL on a bad entry or a
   secret that is not this set's administrator's. The set is unchanged:
   apply the update to it. */
CURVECP_EXPORT uint8_t *curvecp_keyset_make_update (const curvecp_keyset_t *self, const curvecp_keyset_entry_t *entry,
        const uint8_t admin_secret[CURVECP_KEYSET_ADMIN_SECRET_BYTES], size_t *size);

/* Persist the signed set to path atomically (temporary file, fsync,
   rename), mode 0644. 0 or -1. */
CURVECP_EXPORT int curvecp_keyset_save (const curvecp_keyset_t *self, const char *path);
/* Read a signed set saved by curvecp_keyset_save into self (as
   load_snapshot; -1 if the file cannot be read). */
CURVECP_EXPORT int curvecp_keyset_load_file (curvecp_keyset_t *self, const char *path);

CURVECP_EXPORT const curvecp_keyset_stats_t *curvecp_keyset_stats (const curvecp_keyset_t *self);
CURVECP_EXPORT const char *curvecp_keyset_result_text (curvecp_keyset_result_t result);

CURVECP_END_DECLS

#endif
