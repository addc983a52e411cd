/*  curvecp_udp_rng.h - the system's randomness, drawn in batches.

    libsodium 1.0.18's randombytes_buf makes one getrandom system call per
    call, and a server draws three times per handshake (the Cookie's
    nonce, the short-term key S', the session's first nonce). A UDP server
    gives its listener and its connections one of these instead: one
    system call per batch of about 4 KiB (some 70 handshakes). See
    curvecp_udp_rng.c for why that is as sound as the system's own.

    One context per server, used by that server's thread only (workers
    each have a server, so each has its own).                            */
#ifndef CURVECP_UDP_RNG_H_INCLUDED
#define CURVECP_UDP_RNG_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "curvecp_rng.h"

typedef struct _curvecp_udp_rng_t curvecp_udp_rng_t;

/* A new context; NULL if out of memory. Where the kernel cannot wipe
   the batch in a forked child (MADV_WIPEONFORK, Linux 4.14), it does
   not batch: every draw goes to the system. */
curvecp_udp_rng_t *curvecp_udp_rng_new (void);

/* Wipe and free; *self_p = NULL. */
void curvecp_udp_rng_destroy (curvecp_udp_rng_t **self_p);

/* The context to hand to the core (valid until destroy). */
const curvecp_rng_t *curvecp_udp_rng_context (curvecp_udp_rng_t *self);

/* Does it batch (false: the kernel lacks MADV_WIPEONFORK)? */
bool curvecp_udp_rng_batched (const curvecp_udp_rng_t *self);

/* Seeds drawn from the system so far (batches made, in this process). */
uint64_t curvecp_udp_rng_seeds (const curvecp_udp_rng_t *self);

#endif
