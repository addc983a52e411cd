/*  curvecp_safenonce.h - long-term 16-byte nonces from a NaCl key
    directory's counter, shared safely with NaCl's own tools.

    This is NaCl's safenonce scheme, step for step, so that our programs
    and curvecpserver / curvecpclient can use one key directory without
    ever repeating a nonce under its long-term key:
      - lockf on keydir/.expertsonly/lock,
      - read keydir/.expertsonly/noncecounter (u64 LE) as low,
      - write back low + reserve (fsync) and unlock,
      - hand out low, low + 1, ... up to the reservation,
    each as the block u64 LE counter || 8 random bytes, encrypted with
    64-bit-word TEA under keydir/.expertsonly/noncekey, so a peer learns
    nothing about how many connections the key has made.

    Use NaCl's reservations: CURVECP_SAFENONCE_SERVER (2^20, Cookie
    nonces) and CURVECP_SAFENONCE_CLIENT (1, one vouch per connection).
    A nonce source is for one thread at a time; several objects on the
    same key directory, in one process or many, never overlap.           */
#ifndef CURVECP_SAFENONCE_H_INCLUDED
#define CURVECP_SAFENONCE_H_INCLUDED

#include <stdint.h>
#include "curvecp_constants.h"
#include "curvecp_reason.h"

#define CURVECP_SAFENONCE_SERVER  1048576u
#define CURVECP_SAFENONCE_CLIENT  1u

#define CURVECP_TEA64_BLOCK_BYTES 16
#define CURVECP_TEA64_KEY_BYTES   32

typedef struct _curvecp_safenonce_t curvecp_safenonce_t;

/* Open the nonce source of a key directory: loads the noncekey (under
   the lock, as NaCl does). Counters are reserved on first use, reserve
   at a time. Returns NULL (errno set) if the directory has no usable
   .expertsonly/lock and noncekey, or reserve is 0. */
curvecp_safenonce_t *curvecp_safenonce_new (const char *keydir, uint64_t reserve);

/* Forget the unused part of the reservation, wipe the noncekey, free,
   and set *self_p to NULL. */
void curvecp_safenonce_destroy (curvecp_safenonce_t **self_p);

/* The next nonce; a curvecp_nonce16_fn, with the safenonce as context.
   CURVECP_E_IO if the counter file cannot be read or written,
   CURVECP_E_BAD_KEY if it is malformed, CURVECP_E_NONCE_EXHAUSTED if the
   counter would wrap. On failure nonce is zeroed and must not be used. */
curvecp_reason_t curvecp_safenonce_next (void *self, uint8_t nonce[CURVECP_NONCE16_BYTES]);

/* The reservation in hand, [*next, *high): for tests and diagnostics. */
void curvecp_safenonce_reserved (curvecp_safenonce_t *self, uint64_t *next, uint64_t *high);

/* NaCl's crypto_block: TEA widened to 64-bit words (32 rounds, delta
   0x9e3779b97f4a7c15), little-endian words. Not used for secrecy, only to
   make counters look random. out may equal in. */
void curvecp_tea64_encrypt (uint8_t out[CURVECP_TEA64_BLOCK_BYTES],
                            const uint8_t in[CURVECP_TEA64_BLOCK_BYTES],
                            const uint8_t key[CURVECP_TEA64_KEY_BYTES]);
void curvecp_tea64_decrypt (uint8_t out[CURVECP_TEA64_BLOCK_BYTES],
                            const uint8_t in[CURVECP_TEA64_BLOCK_BYTES],
                            const uint8_t key[CURVECP_TEA64_KEY_BYTES]);

#endif
