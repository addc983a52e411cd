/*  curvecp_udp_minute_keys.c - one random pair of minute keys per period,
    the same for every worker that asks.                                  */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_udp_minute_keys.h"

struct _curvecp_udp_minute_keys_t {
    pthread_mutex_t lock;
    atomic_int refs;
    uint64_t period;                  /* whose keys these are */
    uint8_t current[32], previous[32];
};

curvecp_udp_minute_keys_t *
curvecp_udp_minute_keys_new (const uint8_t current[32], const uint8_t previous[32])
{
    curvecp_udp_minute_keys_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init (&self->lock, NULL);
    atomic_init (&self->refs, 1);
    memcpy (self->current, current, 32);
    memcpy (self->previous, previous, 32);
    return self;
}

curvecp_udp_minute_keys_t *
curvecp_udp_minute_keys_ref (curvecp_udp_minute_keys_t *self)
{
    atomic_fetch_add (&self->refs, 1);
    return self;
}

void
curvecp_udp_minute_keys_unref (curvecp_udp_minute_keys_t **self_p)
{
    curvecp_udp_minute_keys_t *self = *self_p;
    *self_p = NULL;
    if (!self || atomic_fetch_sub (&self->refs, 1) != 1)
        return;
    pthread_mutex_destroy (&self->lock);
    sodium_memzero (self, sizeof *self);
    free (self);
}

/* Move the source on to period (later than its own). */
static void
advance (curvecp_udp_minute_keys_t *self, uint64_t period)
{
    if (period == self->period + 1)
        memcpy (self->previous, self->current, 32);
    else
        randombytes_buf (self->previous, 32);      /* the one before is gone */
    randombytes_buf (self->current, 32);
    self->period = period;
}

void
curvecp_udp_minute_keys_get (void *context, uint64_t period, uint8_t current[32], uint8_t previous[32])
{
    curvecp_udp_minute_keys_t *self = context;
    pthread_mutex_lock (&self->lock);
    if (period > self->period)
        advance (self, period);
    if (period == self->period) {
        memcpy (current, self->current, 32);
        memcpy (previous, self->previous, 32);
    }
    else
    if (period + 1 == self->period) {              /* a worker a minute behind */
        memcpy (current, self->previous, 32);
        randombytes_buf (previous, 32);
    }
    else {                                         /* further behind: nothing to share */
        randombytes_buf (current, 32);
        randombytes_buf (previous, 32);
    }
    pthread_mutex_unlock (&self->lock);
}
