/*  curvecp_chicago.h - when the message layer may send the next block.

    Chicago is the decongestion of curvecpmessage: a gap N between block
    transmissions (nsecperblock), an RTT estimate that gives the
    retransmission timeout, slow additive increase, occasional doubling of
    the rate, and halving of the rate on a retransmission. We keep its
    shape and fix what makes it slow (see curvecp_chicago.c for each change
    and why). Two policies:

      CURVECP_PACING_CHICAGO - paced, for UDP;
      CURVECP_PACING_WINDOW  - no pacing at all, only the RTT estimate for
                               retransmission timers; for carriers that are
                               ordered and congestion-controlled already
                               (the ØMQ carrier over TCP).

    Time is always a caller-given uint64_t now in nanoseconds; randomness
    comes only through the injected RNG, so a seeded run is reproducible. */
#ifndef CURVECP_CHICAGO_H_INCLUDED
#define CURVECP_CHICAGO_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_rng.h"

typedef struct _curvecp_chicago_t curvecp_chicago_t;

typedef enum {
    CURVECP_PACING_CHICAGO = 0,
    CURVECP_PACING_WINDOW
} curvecp_pacing_t;

/* New controller starting at now, drawing its jitter from rng (NULL:
   system randomness; it must outlive the controller). */
curvecp_chicago_t *curvecp_chicago_new (curvecp_pacing_t pacing, uint64_t now, const curvecp_rng_t *rng);

/* How late the carrier's timer may fire (0 by default): pacing then lets
   that much time's worth of blocks go at once, so a coarse timer does
   not cap the rate at BURST_BLOCKS blocks per tick. */
void curvecp_chicago_set_timer_resolution (curvecp_chicago_t *self, uint64_t resolution_ns);

/* Free and set *self_p to NULL. */
void curvecp_chicago_destroy (curvecp_chicago_t **self_p);

/* An acknowledgment matched the latest transmission of a block that was
   sent at sent_at: one RTT sample. */
void curvecp_chicago_rtt_sample (curvecp_chicago_t *self, uint64_t sent_at, uint64_t now);

/* May a block go out at now? */
bool curvecp_chicago_may_send (const curvecp_chicago_t *self, uint64_t now);

/* Earliest time a block may go out (0 = any time). */
uint64_t curvecp_chicago_send_time (const curvecp_chicago_t *self);

/* A block (new or resent) went out at now. */
void curvecp_chicago_sent (curvecp_chicago_t *self, uint64_t now);

/* A block is being resent because its timer expired: back off. */
void curvecp_chicago_timeout (curvecp_chicago_t *self, uint64_t now);

/* A block was found lost early (later blocks were acknowledged before
   it): slow down only if the loss comes with queueing delay. */
void curvecp_chicago_loss (curvecp_chicago_t *self, uint64_t now);

/* Current retransmission timeout (ns). */
uint64_t curvecp_chicago_rtt_timeout (const curvecp_chicago_t *self);

/* Current gap between blocks, N (ns), and the smoothed RTT (0 before the
   first sample). */
uint64_t curvecp_chicago_nsecperblock (const curvecp_chicago_t *self);
uint64_t curvecp_chicago_rtt_average (const curvecp_chicago_t *self);

/* Bytes the controller holds. */
size_t curvecp_chicago_memory (const curvecp_chicago_t *self);

/* Which policy this controller follows. */
curvecp_pacing_t curvecp_chicago_pacing (const curvecp_chicago_t *self);

#endif
