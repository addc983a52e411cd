/*  curvecp_counter.c - short-term nonce counters and random 16-byte nonces. */
#include <sodium.h>
#include "curvecp_counter.h"
#include "curvecp_nonce16.h"

#define COUNTER_START_LIMIT (1ull << 48)

void
curvecp_counter_init_random (curvecp_counter_t *counter, const curvecp_rng_t *rng)
{
    counter->value = curvecp_rng_u64 (rng) % COUNTER_START_LIMIT;   /* 2^48 divides 2^64: no bias */
}

void
curvecp_counter_init (curvecp_counter_t *counter, uint64_t start)
{
    counter->value = start;
}

curvecp_reason_t
curvecp_counter_next (curvecp_counter_t *counter, uint64_t *next)
{
    if (counter->value == UINT64_MAX)
        return CURVECP_E_NONCE_EXHAUSTED;
    *next = ++counter->value;
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_nonce16_random (void *context, uint8_t nonce[CURVECP_NONCE16_BYTES])
{
    (void) context;
    randombytes_buf (nonce, CURVECP_NONCE16_BYTES);
    return CURVECP_OK;
}
