/*  curvecp_counter.h - the short-term 8-byte nonce counter.

    One counter per sender per connection. It starts at a random value
    below 2^48 (as NaCl does) and is incremented before each packet, so the
    first packet carries start + 1. It refuses to wrap: a nonce is never
    reused under the same short-term key.                                  */
#ifndef CURVECP_COUNTER_H_INCLUDED
#define CURVECP_COUNTER_H_INCLUDED

#include <stdint.h>
#include "curvecp_reason.h"
#include "curvecp_rng.h"

typedef struct {
    uint64_t value;    /* last value used */
} curvecp_counter_t;

/* Start at a random value in [0, 2^48), drawn from rng (NULL: system). */
void curvecp_counter_init_random (curvecp_counter_t *counter, const curvecp_rng_t *rng);

/* Start at a given value (tests and vectors). */
void curvecp_counter_init (curvecp_counter_t *counter, uint64_t start);

/* Increment and return the new value in *next; CURVECP_E_NONCE_EXHAUSTED
   (and no change) if it would wrap to 0. */
curvecp_reason_t curvecp_counter_next (curvecp_counter_t *counter, uint64_t *next);

#endif
