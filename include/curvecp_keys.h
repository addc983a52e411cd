/*  curvecp_keys.h - long-term Curve25519 key pairs, NaCl key directories
    and CZMQ zcert certificate files.

    A key directory is byte-compatible with NaCl's curvecpmakekey:
        keydir/publickey                 32 raw bytes, 0644
        keydir/.expertsonly/             0700
        keydir/.expertsonly/secretkey    32 raw bytes, 0600
        keydir/.expertsonly/lock         one zero byte, 0600
        keydir/.expertsonly/noncekey     32 random bytes, 0600
        keydir/.expertsonly/noncecounter u64 LE, starts at 0, 0600
    A zcert certificate is CZMQ's pair of ZPL text files: "path" with the
    Z85 public key and "path_secret" with both keys.                       */
#ifndef CURVECP_KEYS_H_INCLUDED
#define CURVECP_KEYS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_export.h"
#include "curvecp_constants.h"
#include "curvecp_reason.h"

CURVECP_BEGIN_DECLS

typedef struct {
    uint8_t public_key[CURVECP_KEY_BYTES];
    uint8_t secret_key[CURVECP_KEY_BYTES];
} curvecp_keypair_t;

/* An authoriser: may the client with this long-term key connect? Asked
   once per new connection, after its Initiate is verified (a server's
   allow-list hook, e.g. curvecp_keys_replica_authorise). */
typedef bool (curvecp_authorise_fn) (void *arg, const uint8_t client_key[CURVECP_KEY_BYTES]);

/* Fresh random key pair. */
CURVECP_EXPORT void curvecp_keypair_generate (curvecp_keypair_t *keypair);

/* Derive the public key from the secret key (for loaded secrets). */
CURVECP_EXPORT void curvecp_keypair_from_secret (curvecp_keypair_t *keypair, const uint8_t secret_key[CURVECP_KEY_BYTES]);

/* Zero the whole pair with sodium_memzero. */
CURVECP_EXPORT void curvecp_keypair_wipe (curvecp_keypair_t *keypair);

/* Create a NaCl key directory holding a new key pair (refuses to touch an
   existing directory: CURVECP_E_EXISTS). If keypair is not NULL it
   receives the new keys. */
CURVECP_EXPORT curvecp_reason_t curvecp_keydir_create (const char *keydir, curvecp_keypair_t *keypair);

/* Write a given key pair as a new NaCl key directory. */
CURVECP_EXPORT curvecp_reason_t curvecp_keydir_save (const char *keydir, const curvecp_keypair_t *keypair);

/* Load both keys from a NaCl key directory and check that they match. */
CURVECP_EXPORT curvecp_reason_t curvecp_keydir_load (const char *keydir, curvecp_keypair_t *keypair);

/* Load only keydir/publickey. */
CURVECP_EXPORT curvecp_reason_t curvecp_keydir_load_public (const char *keydir, uint8_t public_key[CURVECP_KEY_BYTES]);

/* Save a zcert pair: "path" (public) and "path_secret" (both keys, 0600). */
CURVECP_EXPORT curvecp_reason_t curvecp_zcert_save (const char *path, const curvecp_keypair_t *keypair);

/* Load a zcert secret file ("path_secret", or "path" itself if it holds a
   secret-key) into keypair, checking the keys match. */
CURVECP_EXPORT curvecp_reason_t curvecp_zcert_load (const char *path, curvecp_keypair_t *keypair);

/* Load the public key from a zcert public (or secret) file. */
CURVECP_EXPORT curvecp_reason_t curvecp_zcert_load_public (const char *path, uint8_t public_key[CURVECP_KEY_BYTES]);

/* Load keys from a NaCl key directory or a zcert file, whichever path is. */
CURVECP_EXPORT curvecp_reason_t curvecp_keys_load (const char *path, curvecp_keypair_t *keypair);

/* Hex (64 lowercase digits) <-> key. parse accepts either case. */
CURVECP_EXPORT void curvecp_key_to_hex (const uint8_t key[CURVECP_KEY_BYTES], char hex[2 * CURVECP_KEY_BYTES + 1]);
CURVECP_EXPORT curvecp_reason_t curvecp_key_from_hex (const char *hex, uint8_t key[CURVECP_KEY_BYTES]);

/* The key files themselves, for the key directory and nonce code.
   save writes path atomically: a temporary file in the same directory,
   fchmod to mode, write, fsync, rename over path, fsync the directory.
   A crash leaves either the old file or the whole new one, never half.
   load reads exactly size bytes and refuses a file of any other length
   (CURVECP_E_BAD_KEY) or one it cannot read (CURVECP_E_IO, errno set). */
CURVECP_EXPORT curvecp_reason_t curvecp_keyfile_save (const char *path, const void *data, size_t size, unsigned mode);
CURVECP_EXPORT curvecp_reason_t curvecp_keyfile_load (const char *path, void *data, size_t size);

/* Why the last failing call in this thread failed, in words such as
   "unable to read kd/publickey: file is 10 bytes, expected 32". Never
   holds key material. Empty after a successful call. */
CURVECP_EXPORT const char *curvecp_keys_error (void);

CURVECP_END_DECLS

#endif
