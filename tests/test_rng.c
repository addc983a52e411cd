/*  The randomness context: NULL draws system randomness; a seeded
    context gives the same bytes for the same seed and call sequence and
    different bytes for another seed; uniform stays in range and covers
    it evenly (including a bound where plain modulo would be biased);
    key pairs are real X25519 pairs drawn from the context.               */
#include <sodium.h>
#include "testutil.h"
#include "curvecp_rng.h"

static void
test_system (void)
{
    uint8_t a[32] = { 0 }, b[32] = { 0 }, zero[32] = { 0 };
    curvecp_rng_bytes (NULL, a, sizeof a);
    curvecp_rng_bytes (NULL, b, sizeof b);
    CHECK (memcmp (a, zero, sizeof a) != 0);
    CHECK (memcmp (a, b, sizeof a) != 0);
    /* Zero bytes asked: nothing written. */
    curvecp_rng_bytes (NULL, zero, 0);
    CHECK (sodium_is_zero (zero, sizeof zero));
}

static void
draw (const char *seed, uint8_t out[100])
{
    curvecp_rng_seeded_t state;
    curvecp_rng_t rng = curvecp_rng_seeded (&state, seed, strlen (seed));
    curvecp_rng_bytes (&rng, out, 10);
    curvecp_rng_bytes (&rng, out + 10, 90);
    curvecp_rng_seeded_wipe (&state);
    CHECK (sodium_is_zero ((const uint8_t *) &state, sizeof state));
}

static void
test_seeded (void)
{
    uint8_t one[100], again[100], other[100];
    draw ("alpha", one);
    draw ("alpha", again);
    draw ("beta", other);
    CHECK_MEM (one, again, sizeof one);
    CHECK (memcmp (one, other, sizeof one) != 0);
    /* Two calls never repeat the same stream. */
    CHECK (memcmp (one, one + 10, 10) != 0);
    /* Consecutive draws differ; the state moves on. */
    curvecp_rng_seeded_t state;
    curvecp_rng_t rng = curvecp_rng_seeded (&state, "x", 1);
    uint8_t a[16], b[16];
    curvecp_rng_bytes (&rng, a, sizeof a);
    curvecp_rng_bytes (&rng, b, sizeof b);
    CHECK (memcmp (a, b, sizeof a) != 0);
    CHECK_EQ (state.calls, 2);
}

static void
test_uniform (void)
{
    curvecp_rng_seeded_t state;
    curvecp_rng_t rng = curvecp_rng_seeded (&state, "uniform", 7);
    CHECK_EQ (curvecp_rng_uniform (&rng, 0), 0);
    CHECK_EQ (curvecp_rng_uniform (&rng, 1), 0);
    /* 3 * 2^30: plain modulo of a 32-bit value would hit [0, 2^30) twice
       as often as the rest. Unbiased: each third about a third. */
    const uint32_t upper = 3u << 30;
    int thirds[3] = { 0 };
    for (int i = 0; i < 30000; i++) {
        uint32_t v = curvecp_rng_uniform (&rng, upper);
        CHECK (v < upper);
        thirds[v / (1u << 30)]++;
    }
    for (int t = 0; t < 3; t++)
        CHECK (thirds[t] > 9000 && thirds[t] < 11000);
    int counts[10] = { 0 };
    for (int i = 0; i < 10000; i++)
        counts[curvecp_rng_uniform (NULL, 10)]++;
    for (int d = 0; d < 10; d++)
        CHECK (counts[d] > 800 && counts[d] < 1200);
    CHECK (curvecp_rng_u64 (&rng) != curvecp_rng_u64 (&rng));
}

static void
test_keypair (void)
{
    uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES], check[crypto_box_PUBLICKEYBYTES];
    uint8_t pk2[crypto_box_PUBLICKEYBYTES], sk2[crypto_box_SECRETKEYBYTES];
    curvecp_rng_seeded_t state;
    curvecp_rng_t rng = curvecp_rng_seeded (&state, "keys", 4);
    CHECK_EQ (curvecp_rng_keypair (&rng, pk, sk), 0);
    CHECK_EQ (crypto_scalarmult_base (check, sk), 0);
    CHECK_MEM (pk, check, sizeof pk);
    /* Same seed, same pair. */
    rng = curvecp_rng_seeded (&state, "keys", 4);
    CHECK_EQ (curvecp_rng_keypair (&rng, pk2, sk2), 0);
    CHECK_MEM (pk, pk2, sizeof pk);
    CHECK_MEM (sk, sk2, sizeof sk);
    /* System randomness: a working, different pair. */
    CHECK_EQ (curvecp_rng_keypair (NULL, pk2, sk2), 0);
    CHECK (memcmp (pk, pk2, sizeof pk) != 0);
    CHECK_EQ (crypto_scalarmult_base (check, sk2), 0);
    CHECK_MEM (pk2, check, sizeof pk2);
    /* The pair works with crypto_box. */
    uint8_t n[crypto_box_NONCEBYTES] = { 0 }, m[crypto_box_MACBYTES + 4], out[4];
    CHECK_EQ (crypto_box_easy (m, (const uint8_t *) "ping", 4, n, pk2, sk), 0);
    CHECK_EQ (crypto_box_open_easy (out, m, sizeof m, n, pk, sk2), 0);
    CHECK_MEM (out, "ping", 4);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_system ();
    test_seeded ();
    test_uniform ();
    test_keypair ();
    printf ("rng: ok\n");
    return 0;
}
