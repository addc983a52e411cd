/*  test_udp_rng.c - the UDP server's batched randomness: one system seed
    per batch (not per draw), large draws straight from the system, every
    draw different, keys made through it valid, and a forked child never
    hands out the parent's bytes (the batch is wiped in the child, which
    draws a seed of its own).                                            */
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>
#include "curvecp_udp_rng.h"
#include "testutil.h"

#define DRAWS 1000
#define DRAW_BYTES 56                 /* what a handshake draws: 16 + 32 + 8 */

static bool
all_zero (const uint8_t *p, size_t n)
{
    uint8_t any = 0;
    for (size_t i = 0; i < n; i++)
        any |= p[i];
    return any == 0;
}

static void
test_batches (curvecp_udp_rng_t *rng)
{
    const curvecp_rng_t *ctx = curvecp_udp_rng_context (rng);
    static uint8_t draws[DRAWS][DRAW_BYTES];
    for (int i = 0; i < DRAWS; i++)
        curvecp_rng_bytes (ctx, draws[i], DRAW_BYTES);
    for (int i = 0; i < DRAWS; i++) {
        CHECK (!all_zero (draws[i], DRAW_BYTES));
        if (i > 0)
            CHECK (memcmp (draws[i], draws[i - 1], DRAW_BYTES) != 0);
    }
    for (int i = 0; i < DRAWS; i += 97)
        for (int j = i + 1; j < DRAWS; j++)
            CHECK (memcmp (draws[i], draws[j], DRAW_BYTES) != 0);
    uint64_t seeds = curvecp_udp_rng_seeds (rng);
    printf ("%d draws of %d bytes: %llu system seeds\n", DRAWS, DRAW_BYTES, (unsigned long long) seeds);
    if (!curvecp_udp_rng_batched (rng)) {
        printf ("no MADV_WIPEONFORK here: not batching\n");
        CHECK_EQ (seeds, 0);
        return;
    }
    /* a 4 KiB batch per seed: 56,000 bytes take 14 or 15 */
    CHECK (seeds >= DRAWS * DRAW_BYTES / 4096 && seeds <= DRAWS * DRAW_BYTES / 4000 + 1);
    /* a large draw goes to the system and leaves the batch alone */
    uint8_t large[2048];
    curvecp_rng_bytes (ctx, large, sizeof large);
    CHECK (!all_zero (large, sizeof large));
    CHECK_EQ (curvecp_udp_rng_seeds (rng), seeds);
}

static void
test_keypair (curvecp_udp_rng_t *rng)
{
    uint8_t pk[32], sk[32], again[32];
    CHECK_EQ (curvecp_rng_keypair (curvecp_udp_rng_context (rng), pk, sk), 0);
    CHECK_EQ (crypto_scalarmult_base (again, sk), 0);
    CHECK_MEM (pk, again, 32);
}

/* Parent and child each draw after a fork: different bytes, and the
   child took a fresh seed (its copy of the batch read as empty). */
static void
test_fork (curvecp_udp_rng_t *rng)
{
    const curvecp_rng_t *ctx = curvecp_udp_rng_context (rng);
    uint8_t first[32];
    curvecp_rng_bytes (ctx, first, sizeof first);        /* the batch holds unused bytes now */
    uint64_t seeds = curvecp_udp_rng_seeds (rng);
    int fds[2];
    CHECK_EQ (pipe (fds), 0);
    pid_t pid = fork ();
    CHECK (pid >= 0);
    if (pid == 0) {
        uint8_t child[32 + 8];
        curvecp_rng_bytes (ctx, child, 32);
        uint64_t child_seeds = curvecp_udp_rng_seeds (rng);
        memcpy (child + 32, &child_seeds, 8);
        _exit (write (fds[1], child, sizeof child) == (ssize_t) sizeof child ? 0 : 1);
    }
    uint8_t parent[32], child[32 + 8];
    curvecp_rng_bytes (ctx, parent, sizeof parent);
    CHECK_EQ (read (fds[0], child, sizeof child), (ssize_t) sizeof child);
    int status;
    CHECK_EQ (waitpid (pid, &status, 0), pid);
    CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    CHECK (memcmp (parent, child, 32) != 0);
    CHECK (memcmp (first, child, 32) != 0);
    uint64_t child_seeds;
    memcpy (&child_seeds, child + 32, 8);
    if (curvecp_udp_rng_batched (rng)) {
        CHECK_EQ (curvecp_udp_rng_seeds (rng), seeds);   /* the parent went on with its batch */
        CHECK_EQ (child_seeds, seeds + 1);               /* the child's was wiped */
    }
    close (fds[0]);
    close (fds[1]);
    printf ("fork: parent and child drew different bytes; the child drew its own seed\n");
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    curvecp_udp_rng_t *rng = curvecp_udp_rng_new ();
    CHECK (rng);
    test_batches (rng);
    test_keypair (rng);
    test_fork (rng);
    curvecp_udp_rng_destroy (&rng);
    CHECK (rng == NULL);
    curvecp_udp_rng_destroy (&rng);
    return 0;
}
