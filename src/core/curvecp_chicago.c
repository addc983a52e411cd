/*  curvecp_chicago.c - Chicago decongestion, made fast enough to use.

    We keep NaCl's variables and rules (Jacobson RTT average and deviation,
    rtt_timeout = average + 4 deviation + 8 N, high and low water marks,
    the two phases, slow restart after 10 s, rate halving on a timeout at
    most once per 4 rtt_timeout) and change the constants and a few rules
    that hold curvecpmessage at about one block per RTT:

    1. Start: NaCl sends one block per second until the first RTT sample,
       then one block per RTT. We let INITIAL_WINDOW blocks go at once and
       set N = rtt / INITIAL_WINDOW on the first sample (like TCP's initial
       window of ten segments).
    2. Bursts: NaCl sends exactly one block per N. A carrier that wakes up
       every so often would lose the time in between, so a block may go
       early while the sender is no more than BURST_BLOCKS behind its
       schedule (a GCRA / token bucket with depth BURST_BLOCKS), or no
       more than the carrier's timer resolution if that is longer: a
       carrier whose timer fires only every millisecond then still sends
       a millisecond's worth of blocks per wake-up, not BURST_BLOCKS.
    3. Floor: N never falls below N_MIN (1 us, about 1 GB/s of blocks) and
       never rises above N_MAX (one block per second, NaCl's slowest).
    4. Additive increase: NaCl's u^3 step only acts while N >= 131072 ns
       (below about 7.5 MB/s it is all there is). We add one block per RTT
       to the window avg/N at each speed adjustment, which happens every
       max(16 N, rtt average) instead of every 16 N.
    5. Doubling: NaCl waits 4 N + 64 rtt_timeout + 5 s after an edge
       (60 s memory) before doubling the rate again; we wait 4 N + 8
       rtt_timeout within EDGE_MEMORY (10 s) of an edge and 4 N + 2
       rtt_timeout otherwise, so the rate finds the link in a few RTTs.
    6. Loss: NaCl reacts only to timeouts. The stream also reports losses
       it repairs early (selective acknowledgments); we slow down for those
       only when they come with queueing delay (RTT average above the low
       water mark by an eighth), because random loss on a clean path is not
       congestion and slowing down for it costs most of the goodput.
    7. rtt_timeout never falls below RTO_MIN, so a peer that is briefly
       slow to answer does not cause a flood of retransmissions.
    8. The pacing schedule counts in blocks: when N changes, the blocks
       already scheduled ahead of now are spread at the new N. (Otherwise
       the initial window, booked at N_INITIAL = 10 ms a block, would hold
       the sender for some 150 ms after the first RTT sample.)

    The retransmission timer itself lives in the stream, which always arms
    it (curvecpmessage can forget to, see the spec's poll-timeout quirk). */
#include <stdlib.h>
#include "curvecp_chicago.h"

#define SECOND          1000000000ull
#define MS              1000000ull
#define N_INITIAL       (10 * MS)
#define N_MIN           1000ull
#define N_MAX           SECOND
#define INITIAL_WINDOW  8
#define BURST_BLOCKS    16
#define RTO_MIN         (10 * MS)
#define RTO_INITIAL     SECOND
#define SLOW_RESTART    (10 * SECOND)
#define EDGE_MEMORY     (10 * SECOND)

struct _curvecp_chicago_t {
    curvecp_pacing_t pacing;
    const curvecp_rng_t *rng;
    uint64_t nsecperblock;              /* N */
    uint64_t next_send;                 /* GCRA theoretical send time */
    uint64_t burst_time;                /* least GCRA tolerance: the carrier's timer resolution */
    uint64_t rtt_average, rtt_deviation, rtt_timeout;
    uint64_t highwater, lowwater;
    bool have_sample;
    bool seen_recent_high, seen_recent_low, seen_older_high, seen_older_low;
    int phase;
    uint64_t last_speed_adjustment, last_edge, last_doubling, last_panic;
};

curvecp_chicago_t *
curvecp_chicago_new (curvecp_pacing_t pacing, uint64_t now, const curvecp_rng_t *rng)
{
    curvecp_chicago_t *self = (curvecp_chicago_t *) calloc (1, sizeof (curvecp_chicago_t));
    if (!self)
        return NULL;
    self->pacing = pacing;
    self->rng = rng;
    self->nsecperblock = N_INITIAL;
    self->rtt_timeout = RTO_INITIAL;
    self->last_speed_adjustment = now;
    /* the initial window: INITIAL_WINDOW blocks may go at once */
    /* GCRA: a full bucket would be next_send = now; starting later by
       BURST_BLOCKS - INITIAL_WINDOW blocks leaves exactly the initial window */
    self->next_send = now + (uint64_t) (BURST_BLOCKS - INITIAL_WINDOW) * N_INITIAL;
    return self;
}

void
curvecp_chicago_set_timer_resolution (curvecp_chicago_t *self, uint64_t resolution_ns)
{
    self->burst_time = resolution_ns;
}

void
curvecp_chicago_destroy (curvecp_chicago_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

static uint64_t
random_below (curvecp_chicago_t *self, uint64_t bound)
{
    return bound ? curvecp_rng_u64 (self->rng) % bound : 0;
}

static void
clamp_rate (curvecp_chicago_t *self)
{
    if (self->nsecperblock < N_MIN)
        self->nsecperblock = N_MIN;
    if (self->nsecperblock > N_MAX)
        self->nsecperblock = N_MAX;
}

static void
update_rtt (curvecp_chicago_t *self, uint64_t rtt)
{
    if (!self->have_sample) {
        self->have_sample = true;
        self->nsecperblock = rtt / INITIAL_WINDOW;
        clamp_rate (self);
        self->rtt_average = rtt;
        self->rtt_deviation = rtt / 2;
        self->highwater = rtt;
        self->lowwater = rtt;
    }
    int64_t delta = (int64_t) rtt - (int64_t) self->rtt_average;
    self->rtt_average = (uint64_t) ((int64_t) self->rtt_average + delta / 8);
    int64_t magnitude = delta < 0 ? -delta : delta;
    self->rtt_deviation = (uint64_t) ((int64_t) self->rtt_deviation
                        + (magnitude - (int64_t) self->rtt_deviation) / 4);
    self->rtt_timeout = self->rtt_average + 4 * self->rtt_deviation + 8 * self->nsecperblock;
    if (self->rtt_timeout < RTO_MIN)
        self->rtt_timeout = RTO_MIN;

    self->highwater = (uint64_t) ((int64_t) self->highwater + ((int64_t) rtt - (int64_t) self->highwater) / 1024);
    int64_t low_delta = (int64_t) rtt - (int64_t) self->lowwater;
    self->lowwater = (uint64_t) ((int64_t) self->lowwater + (low_delta > 0 ? low_delta / 8192 : low_delta / 256));

    if (self->rtt_average > self->highwater + 5 * MS)
        self->seen_recent_high = true;
    else
    if (self->rtt_average < self->lowwater)
        self->seen_recent_low = true;
}

static void
additive_increase (curvecp_chicago_t *self)
{
    /* one more block per RTT in the window rtt_average / N */
    uint64_t n = self->nsecperblock, avg = self->rtt_average;
    if (avg)
        self->nsecperblock = (uint64_t) ((double) n * (double) avg / (double) (avg + n));
    clamp_rate (self);
}

static void
adjust_speed (curvecp_chicago_t *self, uint64_t now)
{
    uint64_t interval = 16 * self->nsecperblock;
    if (interval < self->rtt_average)
        interval = self->rtt_average;
    if (now < self->last_speed_adjustment + interval)
        return;
    if (now - self->last_speed_adjustment > SLOW_RESTART) {
        /* idle for long: the path may have changed; restart near the
           initial window rather than at NaCl's one block per second */
        uint64_t restart = self->rtt_average / INITIAL_WINDOW;
        restart += random_below (self, restart / 8 + 1);
        if (self->nsecperblock < restart)
            self->nsecperblock = restart;
        self->last_doubling = now;      /* and climb again from there */
    }
    self->last_speed_adjustment = now;
    additive_increase (self);
    if (self->phase == 0 && self->seen_older_high) {
        self->phase = 1;
        self->last_edge = now;
        self->nsecperblock += random_below (self, self->nsecperblock / 4);
    }
    else
    if (self->phase == 1 && self->seen_older_low)
        self->phase = 0;
    self->seen_older_high = self->seen_recent_high;
    self->seen_older_low = self->seen_recent_low;
    self->seen_recent_high = self->seen_recent_low = false;
    clamp_rate (self);
}

static void
maybe_double (curvecp_chicago_t *self, uint64_t now)
{
    if (self->nsecperblock <= N_MIN)
        return;
    uint64_t wait = 4 * self->nsecperblock;
    if (self->last_edge && now - self->last_edge < EDGE_MEMORY)
        wait += 8 * self->rtt_timeout;
    else
        wait += 2 * self->rtt_timeout;
    if (now < self->last_doubling + wait)
        return;
    self->nsecperblock /= 2;
    clamp_rate (self);
    self->last_doubling = now;
    if (self->last_edge)
        self->last_edge = now;
}

/* N changed from old_n: the part of the schedule ahead of now was booked
   at old_n a block; rebook it at the new N. */
static void
reschedule (curvecp_chicago_t *self, uint64_t old_n, uint64_t now)
{
    if (self->nsecperblock == old_n || self->next_send <= now || old_n == 0)
        return;
    double blocks = (double) (self->next_send - now) / (double) old_n;
    self->next_send = now + (uint64_t) (blocks * (double) self->nsecperblock);
}

void
curvecp_chicago_rtt_sample (curvecp_chicago_t *self, uint64_t sent_at, uint64_t now)
{
    if (now < sent_at)
        return;
    uint64_t old_n = self->nsecperblock;
    update_rtt (self, now - sent_at);
    adjust_speed (self, now);
    maybe_double (self, now);
    reschedule (self, old_n, now);
}

bool
curvecp_chicago_may_send (const curvecp_chicago_t *self, uint64_t now)
{
    return now >= curvecp_chicago_send_time (self);
}

uint64_t
curvecp_chicago_send_time (const curvecp_chicago_t *self)
{
    if (self->pacing == CURVECP_PACING_WINDOW)
        return 0;
    /* GCRA: a block may go while we are at most BURST_BLOCKS - 1 blocks
       ahead of the schedule */
    uint64_t tolerance = (BURST_BLOCKS - 1) * self->nsecperblock;
    if (tolerance < self->burst_time)
        tolerance = self->burst_time;
    return self->next_send > tolerance ? self->next_send - tolerance : 0;
}

void
curvecp_chicago_sent (curvecp_chicago_t *self, uint64_t now)
{
    if (self->next_send < now)
        self->next_send = now;
    self->next_send += self->nsecperblock;
}

void
curvecp_chicago_timeout (curvecp_chicago_t *self, uint64_t now)
{
    if (self->pacing == CURVECP_PACING_WINDOW)
        return;
    if (now > self->last_panic + 4 * self->rtt_timeout) {
        uint64_t old_n = self->nsecperblock;
        self->nsecperblock *= 2;
        clamp_rate (self);
        reschedule (self, old_n, now);
        self->last_panic = now;
        self->last_edge = now;
    }
}

void
curvecp_chicago_loss (curvecp_chicago_t *self, uint64_t now)
{
    if (self->pacing == CURVECP_PACING_WINDOW || !self->have_sample)
        return;
    /* half a millisecond of queue, or half the base RTT on a fast path
       (30 us loopback), whichever is less */
    uint64_t slack = self->lowwater / 2 < MS / 2 ? self->lowwater / 2 : MS / 2;
    bool queueing = self->rtt_average > self->lowwater + self->lowwater / 8 + slack;
    if (queueing && now > self->last_panic + self->rtt_average) {
        uint64_t old_n = self->nsecperblock;
        self->nsecperblock += self->nsecperblock / 2;
        clamp_rate (self);
        reschedule (self, old_n, now);
        self->last_panic = now;
        self->last_edge = now;
    }
}

uint64_t
curvecp_chicago_rtt_timeout (const curvecp_chicago_t *self)
{
    return self->rtt_timeout;
}

uint64_t
curvecp_chicago_nsecperblock (const curvecp_chicago_t *self)
{
    return self->nsecperblock;
}

uint64_t
curvecp_chicago_rtt_average (const curvecp_chicago_t *self)
{
    return self->rtt_average;
}

size_t
curvecp_chicago_memory (const curvecp_chicago_t *self)
{
    return self ? sizeof *self : 0;
}

curvecp_pacing_t
curvecp_chicago_pacing (const curvecp_chicago_t *self)
{
    return self->pacing;
}
