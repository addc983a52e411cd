/*  sim_net.c - the simulated network: a heap of packets in flight,
    ordered by arrival time then by send order, so runs are exact.      */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "sim_net.h"

#define PACKET_CAP 65600             /* CURVECP_LARGE_MSG_MAX: large blocks */

typedef struct {
    uint64_t arrival;
    uint64_t order;
    int to;
    size_t len;
    uint8_t *bytes;
} flight_t;

struct sim_net_s {
    uint64_t rng;
    sim_link_t links[2];
    sim_link_stats_t stats[2];
    uint64_t busy_until[2];             /* bottleneck serialisation */
    flight_t *heap;
    size_t count, cap;
    uint64_t order;
    uint64_t resolution;                /* carrier timer granularity; 0 = exact */
    uint64_t early[2];                  /* packets sent before the endpoint's deadline, with no input */
};

uint64_t
sim_mix64 (uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t
sim_rng_next (uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ull;
    return sim_mix64 (*state);
}

void
sim_rng_fill (void *state, uint8_t *buf, size_t len)
{
    while (len > 0) {
        uint64_t word = sim_rng_next ((uint64_t *) state);
        size_t n = len < sizeof word ? len : sizeof word;
        memcpy (buf, &word, n);
        buf += n;
        len -= n;
    }
}

static double
uniform (sim_net_t *self)
{
    return (double) (sim_rng_next (&self->rng) >> 11) / 9007199254740992.0;
}

sim_net_t *
sim_net_new (uint64_t seed, const sim_link_t *zero_to_one, const sim_link_t *one_to_zero)
{
    sim_net_t *self = (sim_net_t *) calloc (1, sizeof (sim_net_t));
    if (!self)
        return NULL;
    self->rng = seed;
    self->links[0] = *zero_to_one;
    self->links[1] = *one_to_zero;
    return self;
}

void
sim_net_destroy (sim_net_t **self_p)
{
    if (self_p && *self_p) {
        sim_net_t *self = *self_p;
        for (size_t i = 0; i < self->count; i++)
            free (self->heap[i].bytes);
        free (self->heap);
        free (self);
        *self_p = NULL;
    }
}

static bool
earlier (const flight_t *a, const flight_t *b)
{
    return a->arrival < b->arrival || (a->arrival == b->arrival && a->order < b->order);
}

static void
heap_push (sim_net_t *self, flight_t flight)
{
    if (self->count == self->cap) {
        self->cap = self->cap ? 2 * self->cap : 256;
        self->heap = (flight_t *) realloc (self->heap, self->cap * sizeof (flight_t));
    }
    size_t at = self->count++;
    while (at > 0 && earlier (&flight, &self->heap[(at - 1) / 2])) {
        self->heap[at] = self->heap[(at - 1) / 2];
        at = (at - 1) / 2;
    }
    self->heap[at] = flight;
}

static flight_t
heap_pop (sim_net_t *self)
{
    flight_t top = self->heap[0];
    flight_t last = self->heap[--self->count];
    size_t at = 0;
    for (;;) {
        size_t child = 2 * at + 1;
        if (child >= self->count)
            break;
        if (child + 1 < self->count && earlier (&self->heap[child + 1], &self->heap[child]))
            child++;
        if (!earlier (&self->heap[child], &last))
            break;
        self->heap[at] = self->heap[child];
        at = child;
    }
    if (self->count)
        self->heap[at] = last;
    return top;
}

static void
schedule (sim_net_t *self, int from, const uint8_t *packet, size_t len, uint64_t departure)
{
    const sim_link_t *link = &self->links[from];
    uint64_t arrival = departure + link->delay_ns;
    if (link->jitter_ns)
        arrival += sim_rng_next (&self->rng) % link->jitter_ns;
    if (link->reorder > 0 && uniform (self) < link->reorder)
        arrival += link->reorder_ns;
    flight_t flight = { arrival, self->order++, 1 - from, len, (uint8_t *) malloc (len) };
    memcpy (flight.bytes, packet, len);
    heap_push (self, flight);
}

void
sim_net_send (sim_net_t *self, int from, const uint8_t *packet, size_t len, uint64_t now)
{
    const sim_link_t *link = &self->links[from];
    sim_link_stats_t *stats = &self->stats[from];
    stats->sent++;
    if (len > PACKET_CAP || (link->loss > 0 && uniform (self) < link->loss)) {
        stats->dropped++;
        return;
    }
    uint64_t departure = now;
    if (link->rate_bps) {
        uint64_t start = self->busy_until[from] > now ? self->busy_until[from] : now;
        if (link->queue_ns && start - now > link->queue_ns) {
            stats->queue_dropped++;
            return;
        }
        departure = start + (uint64_t) len * 8 * 1000000000ull / link->rate_bps;
        self->busy_until[from] = departure;
    }
    schedule (self, from, packet, len, departure);
    if (link->duplicate > 0 && uniform (self) < link->duplicate) {
        stats->duplicated++;
        schedule (self, from, packet, len, departure);
    }
}

uint64_t
sim_net_next_arrival (const sim_net_t *self)
{
    return self->count ? self->heap[0].arrival : UINT64_MAX;
}

bool
sim_net_deliver (sim_net_t *self, uint64_t now, int *to, uint8_t *buffer, size_t cap, size_t *len)
{
    if (self->count == 0 || self->heap[0].arrival > now)
        return false;
    flight_t flight = heap_pop (self);
    *to = flight.to;
    *len = flight.len < cap ? flight.len : cap;
    memcpy (buffer, flight.bytes, *len);
    free (flight.bytes);
    self->stats[1 - flight.to].delivered++;
    self->stats[1 - flight.to].bytes_delivered += flight.len;
    return true;
}

static size_t
pump_output (sim_net_t *self, sim_endpoint_t *endpoint, int index, uint64_t now)
{
    uint8_t packet[PACKET_CAP];
    size_t len, sent = 0;
    for (int i = 0; i < 100000 && (len = endpoint->output (endpoint->self, now, packet, sizeof packet)); i++, sent++)
        sim_net_send (self, index, packet, len, now);
    return sent;
}

uint64_t
sim_net_early_packets (const sim_net_t *self, int from)
{
    return self->early[from];
}

void
sim_net_set_timer_resolution (sim_net_t *self, uint64_t resolution_ns)
{
    self->resolution = resolution_ns;
}

/* The first timer tick at or after deadline, and after now. */
static uint64_t
timer_tick (const sim_net_t *self, uint64_t deadline, uint64_t now)
{
    if (deadline == UINT64_MAX)
        return UINT64_MAX;
    if (deadline <= now)
        deadline = now + 1;
    uint64_t tick = (deadline + self->resolution - 1) / self->resolution * self->resolution;
    return tick;
}

/* The run loop with coarse carrier timers: each endpoint wakes on input
   at once, and on its own timer only at the next tick. */
static uint64_t
run_coarse (sim_net_t *self, sim_endpoint_t *endpoints[2], uint64_t start, uint64_t limit)
{
    uint64_t now = start;
    uint64_t timer[2] = { start, start };
    uint8_t packet[PACKET_CAP];
    while (now <= limit) {
        bool woken[2] = { timer[0] <= now, timer[1] <= now };
        int to;
        size_t len;
        while (sim_net_deliver (self, now, &to, packet, sizeof packet, &len)) {
            endpoints[to]->input (endpoints[to]->self, packet, len, now);
            woken[to] = true;
        }
        for (int i = 0; i < 2; i++)
            if (woken[i]) {
                pump_output (self, endpoints[i], i, now);
                timer[i] = timer_tick (self, endpoints[i]->deadline (endpoints[i]->self), now);
            }
        if (endpoints[0]->finished (endpoints[0]->self) && endpoints[1]->finished (endpoints[1]->self))
            return now;
        uint64_t next = sim_net_next_arrival (self);
        for (int i = 0; i < 2; i++)
            if (timer[i] < next)
                next = timer[i];
        if (next == UINT64_MAX)
            return now;
        now = next > now ? next : now + 1;
    }
    return now;
}

uint64_t
sim_net_run (sim_net_t *self, sim_endpoint_t *endpoints[2], uint64_t start, uint64_t limit)
{
    if (self->resolution)
        return run_coarse (self, endpoints, start, limit);
    uint64_t now = start;
    uint8_t packet[PACKET_CAP];
    int stuck = 0;
    /* each endpoint's deadline after the last step: output before it
       with no input since is what a carrier sleeping until the deadline
       would never have sent (the deadline was late), so it is counted */
    uint64_t due[2] = { start, start };
    while (now <= limit) {
        int to;
        size_t len;
        bool heard[2] = { false, false };
        while (sim_net_deliver (self, now, &to, packet, sizeof packet, &len)) {
            endpoints[to]->input (endpoints[to]->self, packet, len, now);
            heard[to] = true;
        }
        for (int i = 0; i < 2; i++) {
            size_t sent = pump_output (self, endpoints[i], i, now);
            if (!heard[i] && due[i] > now)
                self->early[i] += sent;
        }
        if (endpoints[0]->finished (endpoints[0]->self) && endpoints[1]->finished (endpoints[1]->self))
            return now;
        uint64_t next = sim_net_next_arrival (self);
        for (int i = 0; i < 2; i++) {
            uint64_t deadline = endpoints[i]->deadline (endpoints[i]->self);
            due[i] = deadline;
            if (deadline < next)
                next = deadline;
        }
        if (next == UINT64_MAX)
            return now;                 /* nothing can ever happen again */
        if (next <= now) {
            /* an endpoint wants time it cannot use yet: step forward a
               little, and complain (once) if that keeps happening */
            if (++stuck == 10000)
                fprintf (stderr, "sim_net_run: endpoint deadline stuck at %llu\n", (unsigned long long) now);
            next = now + (stuck > 10000 ? 1000000 : 1000);
        }
        else
            stuck = 0;
        now = next;
    }
    return now;
}

const sim_link_stats_t *
sim_net_stats (const sim_net_t *self, int from)
{
    return &self->stats[from];
}
