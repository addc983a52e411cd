/*  curvecp_rng.h - the randomness context.

    Every random byte the core draws (short-term keys, nonce starts,
    minute keys, hash-table keys, jitter) comes through one of these,
    given at construction. NULL means the system's randomness (libsodium's
    randombytes_buf), which is what a real endpoint uses. A seeded context
    makes a whole run reproducible: the simulator gives every endpoint one
    and gets the same bytes on the wire for the same seed.

    A context is a fill function and its state; the core never frees or
    copies it, so it must outlive every object it was given to.            */
#ifndef CURVECP_RNG_H_INCLUDED
#define CURVECP_RNG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"

typedef struct {
    void (*fill) (void *state, uint8_t *buf, size_t len);
    void *state;
} curvecp_rng_t;

/* len random bytes into buf (rng NULL: the system's randomness). */
void curvecp_rng_bytes (const curvecp_rng_t *rng, uint8_t *buf, size_t len);

/* A uniform value in [0, upper), without modulo bias; 0 if upper < 2. */
uint32_t curvecp_rng_uniform (const curvecp_rng_t *rng, uint32_t upper);

/* A uniform 64-bit value. */
uint64_t curvecp_rng_u64 (const curvecp_rng_t *rng);

/* A fresh X25519 key pair: the secret from rng, the public by
   crypto_scalarmult_base. 0, or -1 if libsodium refuses. */
int curvecp_rng_keypair (const curvecp_rng_t *rng, uint8_t pk[CURVECP_KEY_BYTES],
        uint8_t sk[CURVECP_KEY_BYTES]);

/* ---- a seeded, deterministic generator ----------------------------------
   ChaCha20 under the seed (randombytes_buf_deterministic), one block
   stream per call numbered by a counter: the same seed and the same
   sequence of calls give the same bytes. For tests and the simulator
   only: its output is predictable by anyone who knows the seed.          */

typedef struct {
    uint8_t seed[32];           /* randombytes_SEEDBYTES */
    uint64_t calls;             /* mixed into the seed of each call */
} curvecp_rng_seeded_t;

/* Set up state from seed_len bytes of seed (hashed to the generator's
   seed size, so any length works) and return a context that draws from
   it. state must outlive the context's users. */
curvecp_rng_t curvecp_rng_seeded (curvecp_rng_seeded_t *state, const void *seed, size_t seed_len);

/* Wipe the state's seed. */
void curvecp_rng_seeded_wipe (curvecp_rng_seeded_t *state);

#endif
