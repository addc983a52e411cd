/*  sim_net.h - a deterministic lossy network in virtual time, for tests
    and benchmarks. Two endpoints (0 and 1), one link each way; each link
    drops, delays with jitter, duplicates, reorders and rate-limits under
    one seeded RNG, so a seed replays a run exactly.                      */
#ifndef SIM_NET_H_INCLUDED
#define SIM_NET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_rng.h"

typedef struct {
    double loss;                /* probability a packet is dropped */
    double duplicate;           /* probability a packet also arrives a second time */
    double reorder;             /* probability a packet is held back reorder_ns extra */
    uint64_t delay_ns;          /* one-way propagation delay */
    uint64_t jitter_ns;         /* plus uniform [0, jitter_ns) per packet */
    uint64_t reorder_ns;
    uint64_t rate_bps;          /* bottleneck rate in bits/s; 0 = unlimited */
    uint64_t queue_ns;          /* drop-tail: refuse a packet that would wait longer */
} sim_link_t;

typedef struct {
    uint64_t sent, dropped, queue_dropped, duplicated, delivered, bytes_delivered;
} sim_link_stats_t;

typedef struct sim_net_s sim_net_t;

/* An endpoint as the run loop sees it. output is called until it returns
   0 (each result is sent); deadline says when it next wants output. */
typedef struct {
    void *self;
    void (*input) (void *self, const uint8_t *packet, size_t len, uint64_t now);
    size_t (*output) (void *self, uint64_t now, uint8_t *out, size_t cap);
    uint64_t (*deadline) (void *self);
    bool (*finished) (void *self);
} sim_endpoint_t;

/* splitmix64: the one cheap PRNG of the simulator and its data. */
uint64_t sim_mix64 (uint64_t x);
uint64_t sim_rng_next (uint64_t *state);
/* A curvecp_rng_t over a splitmix64 state (a uint64_t): every 8 bytes
   asked is one step, so a 64-bit draw is exactly sim_rng_next. */
void sim_rng_fill (void *state, uint8_t *buf, size_t len);
#define SIM_RNG(state_p) ((curvecp_rng_t) { sim_rng_fill, (state_p) })

sim_net_t *sim_net_new (uint64_t seed, const sim_link_t *zero_to_one, const sim_link_t *one_to_zero);
void sim_net_destroy (sim_net_t **self_p);

/* Put a packet from endpoint `from` on its link at now. */
void sim_net_send (sim_net_t *self, int from, const uint8_t *packet, size_t len, uint64_t now);

/* Earliest arrival time (UINT64_MAX if nothing is in flight). */
uint64_t sim_net_next_arrival (const sim_net_t *self);

/* Pop one packet that has arrived by now into buffer (cap bytes). */
bool sim_net_deliver (sim_net_t *self, uint64_t now, int *to, uint8_t *buffer, size_t cap, size_t *len);

/* Model carriers whose timers only fire on multiples of resolution_ns
   (poll() has 1 ms; 0 = exact, the default). Input still wakes an
   endpoint at once, as poll() returns when a packet arrives; only the
   endpoint that woke (input or its own timer) is asked for output. */
void sim_net_set_timer_resolution (sim_net_t *self, uint64_t resolution_ns);

/* Run both endpoints from start until both are finished, nothing more
   can happen, or limit. Returns the virtual time at the end. */
uint64_t sim_net_run (sim_net_t *self, sim_endpoint_t *endpoints[2], uint64_t start, uint64_t limit);

const sim_link_stats_t *sim_net_stats (const sim_net_t *self, int from);
/* Packets endpoint from sent at a step before its deadline with no input
   at that step (the exact run loop only): 0 when its deadlines are exact. */
uint64_t sim_net_early_packets (const sim_net_t *self, int from);

#endif
