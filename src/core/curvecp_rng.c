/*  curvecp_rng.c - the randomness context: system or seeded. */
#include <sodium.h>
#include <string.h>
#include "curvecp_rng.h"

void
curvecp_rng_bytes (const curvecp_rng_t *rng, uint8_t *buf, size_t len)
{
    if (len == 0)
        return;
    if (rng && rng->fill)
        rng->fill (rng->state, buf, len);
    else
        randombytes_buf (buf, len);
}

uint64_t
curvecp_rng_u64 (const curvecp_rng_t *rng)
{
    uint8_t bytes[8];
    uint64_t value;
    curvecp_rng_bytes (rng, bytes, sizeof bytes);
    memcpy (&value, bytes, sizeof value);
    return value;
}

uint32_t
curvecp_rng_uniform (const curvecp_rng_t *rng, uint32_t upper)
{
    if (upper < 2)
        return 0;
    /* Reject the values below 2^32 mod upper, so that what remains is a
       whole number of copies of [0, upper). */
    uint32_t floor = (uint32_t) (-upper) % upper;
    for (;;) {
        uint8_t bytes[4];
        uint32_t value;
        curvecp_rng_bytes (rng, bytes, sizeof bytes);
        memcpy (&value, bytes, sizeof value);
        if (value >= floor)
            return value % upper;
    }
}

int
curvecp_rng_keypair (const curvecp_rng_t *rng, uint8_t pk[CURVECP_KEY_BYTES],
        uint8_t sk[CURVECP_KEY_BYTES])
{
    curvecp_rng_bytes (rng, sk, crypto_box_SECRETKEYBYTES);
    return crypto_scalarmult_base (pk, sk) == 0 ? 0 : -1;
}

static void
seeded_fill (void *state, uint8_t *buf, size_t len)
{
    curvecp_rng_seeded_t *self = (curvecp_rng_seeded_t *) state;
    /* Each call gets its own key: the seed hashed with the call number,
       so two calls never share a stream. */
    uint8_t key[randombytes_SEEDBYTES];
    _Static_assert (sizeof self->seed == randombytes_SEEDBYTES, "seed size");
    uint8_t counter[8];
    for (int i = 0; i < 8; i++)
        counter[i] = (uint8_t) (self->calls >> (8 * i));
    self->calls++;
    crypto_generichash (key, sizeof key, counter, sizeof counter, self->seed, sizeof self->seed);
    randombytes_buf_deterministic (buf, len, key);
    sodium_memzero (key, sizeof key);
}

curvecp_rng_t
curvecp_rng_seeded (curvecp_rng_seeded_t *state, const void *seed, size_t seed_len)
{
    curvecp_rng_t rng = { seeded_fill, state };
    crypto_generichash (state->seed, sizeof state->seed, (const uint8_t *) seed, seed_len, NULL, 0);
    state->calls = 0;
    return rng;
}

void
curvecp_rng_seeded_wipe (curvecp_rng_seeded_t *state)
{
    sodium_memzero (state, sizeof *state);
}
