/*  curvecp_udp_rng.c - the system's randomness, drawn in batches.

    A batch is BATCH_BYTES of ChaCha20 output (libsodium's
    randombytes_buf_deterministic) under a 32-byte seed fresh from the
    system (randombytes_buf), the seed wiped as soon as the batch is made.
    Draws are served from the batch; one larger than a quarter of it goes
    to the system directly. Why this is as sound as calling the system
    each time, for everything the server draws (secret keys, nonces,
    hash keys):

    - unpredictable: each batch comes from its own fresh system seed,
      nothing carried over from the one before, and ChaCha20's output
      under an unknown key is indistinguishable from random (this is
      what randombytes_buf_deterministic is for);
    - forward secrecy: every byte is wiped from the batch as it is handed
      out, and the seed right after the batch is made, so a later look at
      memory shows neither a secret already used (an S' whose connection
      is over) nor the key that made it - only bytes not yet handed out,
      which the owner of that memory could read when drawn anyway;
    - fork: the batch lives in pages of its own marked MADV_WIPEONFORK, so
      a child sees them zeroed - an empty batch - and draws its next seed
      from the system: parent and child never hand out the same bytes
      (two processes sharing a Cookie nonce or an S' would be a disaster).
      Without that flag (Linux before 4.14) we do not batch at all. The
      pages are also MADV_DONTDUMP: no core dump holds unused bytes.
    - threads: none shared; one context per server (curvecp_udp_rng.h).  */
#include <sodium.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "curvecp_udp_rng.h"

#define PAGE_BYTES   4096
#define SEED_BYTES   randombytes_SEEDBYTES

/* One page, zero in a forked child: left == 0 there means "empty". */
typedef struct {
    size_t left;                        /* unused bytes at the end of bytes */
    uint8_t bytes[PAGE_BYTES - sizeof (size_t)];
} batch_t;

#define BATCH_BYTES  sizeof (((batch_t *) 0)->bytes)
#define DIRECT_ABOVE (BATCH_BYTES / 4)  /* larger draws: straight from the system */

struct _curvecp_udp_rng_t {
    curvecp_rng_t context;
    batch_t *batch;                     /* NULL: not batching */
    uint64_t seeds;
};

static void
refill (curvecp_udp_rng_t *self)
{
    uint8_t seed[SEED_BYTES];
    randombytes_buf (seed, sizeof seed);
    randombytes_buf_deterministic (self->batch->bytes, BATCH_BYTES, seed);
    sodium_memzero (seed, sizeof seed);
    self->batch->left = BATCH_BYTES;
    self->seeds++;
}

static void
fill (void *state, uint8_t *buf, size_t len)
{
    curvecp_udp_rng_t *self = (curvecp_udp_rng_t *) state;
    batch_t *batch = self->batch;
    if (!batch || len > DIRECT_ABOVE) {
        randombytes_buf (buf, len);
        return;
    }
    if (batch->left < len)
        refill (self);                  /* the few bytes left are overwritten */
    uint8_t *from = batch->bytes + (BATCH_BYTES - batch->left);
    memcpy (buf, from, len);
    sodium_memzero (from, len);
    batch->left -= len;
}

/* A page of its own, wiped in a forked child; NULL if the kernel
   cannot do that. */
static batch_t *
batch_new (void)
{
    _Static_assert (sizeof (batch_t) == PAGE_BYTES, "one page");
    void *page = mmap (NULL, PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return NULL;
#ifdef MADV_WIPEONFORK
    if (madvise (page, PAGE_BYTES, MADV_WIPEONFORK) == 0) {
#ifdef MADV_DONTDUMP
        (void) madvise (page, PAGE_BYTES, MADV_DONTDUMP);   /* best effort */
#endif
        return (batch_t *) page;
    }
#endif
    munmap (page, PAGE_BYTES);
    return NULL;
}

curvecp_udp_rng_t *
curvecp_udp_rng_new (void)
{
    if (sodium_init () < 0)
        return NULL;
    curvecp_udp_rng_t *self = (curvecp_udp_rng_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->context.fill = fill;
    self->context.state = self;
    self->batch = batch_new ();
    return self;
}

void
curvecp_udp_rng_destroy (curvecp_udp_rng_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_udp_rng_t *self = *self_p;
        if (self->batch) {
            sodium_memzero (self->batch, PAGE_BYTES);
            munmap (self->batch, PAGE_BYTES);
        }
        free (self);
        *self_p = NULL;
    }
}

const curvecp_rng_t *
curvecp_udp_rng_context (curvecp_udp_rng_t *self)
{
    return &self->context;
}

bool
curvecp_udp_rng_batched (const curvecp_udp_rng_t *self)
{
    return self->batch != NULL;
}

uint64_t
curvecp_udp_rng_seeds (const curvecp_udp_rng_t *self)
{
    return self->seeds;
}
