/*  bench_lossy.h - the loss and delay model shared by the benchmark relays
    (bench_udp_relay.c carries UDP datagrams between two sockets,
    bench_tun_relay.c carries IP packets between two TUN devices), so both
    paths see the same network: each packet is dropped with probability
    loss_percent under a seeded xorshift RNG (a run is reproducible), and
    the rest are held for delay ns in a FIFO bounded at LOSSY_QUEUE packets
    per direction (beyond that: dropped, like a router's buffer).
    Header-only: each relay is one program of its own (each bench_NAME.c becomes bench-NAME). */
#ifndef BENCH_LOSSY_H
#define BENCH_LOSSY_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <time.h>

#define LOSSY_QUEUE 65536
#ifndef LOSSY_PACKET_MAX
#define LOSSY_PACKET_MAX 1200   /* the largest packet a relay holds */
#endif

typedef struct {
    uint64_t release;
    uint16_t len;
    uint8_t data[LOSSY_PACKET_MAX];
} lossy_held_t;

typedef struct {
    lossy_held_t *items;
    size_t head, count;
    uint64_t dropped_loss, dropped_full, forwarded;
} lossy_queue_t;

static uint64_t lossy_rng_state;

static inline void
lossy_seed (uint64_t seed)
{
    lossy_rng_state = seed * 2654435761ull + 1;
}

static inline uint64_t
lossy_rng_next (void)
{
    lossy_rng_state ^= lossy_rng_state << 13;
    lossy_rng_state ^= lossy_rng_state >> 7;
    lossy_rng_state ^= lossy_rng_state << 17;
    return lossy_rng_state;
}

static inline int
lossy_queue_init (lossy_queue_t *q)
{
    memset (q, 0, sizeof *q);
    q->items = calloc (LOSSY_QUEUE, sizeof (lossy_held_t));
    return q->items ? 0 : -1;
}

/*  Drop the packet (loss or a full queue), or hold it until release.  */
static inline void
lossy_hold (lossy_queue_t *q, const uint8_t *data, size_t len, uint64_t release, double loss)
{
    if ((double) (lossy_rng_next () % 1000000) < loss * 10000.0) {
        q->dropped_loss++;
        return;
    }
    if (q->count == LOSSY_QUEUE || len > sizeof q->items[0].data) {
        q->dropped_full++;
        return;
    }
    lossy_held_t *h = &q->items[(q->head + q->count++) % LOSSY_QUEUE];
    h->release = release;
    h->len = (uint16_t) len;
    memcpy (h->data, data, len);
}

/*  The oldest held packet, if it is due by now, else NULL.  */
static inline lossy_held_t *
lossy_due (lossy_queue_t *q, uint64_t now)
{
    return q->count && q->items[q->head].release <= now ? &q->items[q->head] : NULL;
}

static inline void
lossy_pop (lossy_queue_t *q)
{
    q->forwarded++;
    q->head = (q->head + 1) % LOSSY_QUEUE;
    q->count--;
}

/*  The earlier of limit and the queue's next release.  */
static inline uint64_t
lossy_next_release (const lossy_queue_t *q, uint64_t limit)
{
    return q->count && q->items[q->head].release < limit ? q->items[q->head].release : limit;
}

/* Wait for either socket to be readable or the next release due in q1 or
   q2, at most until stop. */
static inline void
lossy_wait (int fd_a, int fd_b, const lossy_queue_t *q1, const lossy_queue_t *q2, uint64_t now, uint64_t stop)
{
    uint64_t next = lossy_next_release (q1, lossy_next_release (q2, stop));
    struct pollfd fds[2] = { { fd_a, POLLIN, 0 }, { fd_b, POLLIN, 0 } };
    struct timespec ts = { 0, 0 };
    if (next > now) {
        ts.tv_sec = (time_t) ((next - now) / 1000000000ull);
        ts.tv_nsec = (long) ((next - now) % 1000000000ull);
    }
    ppoll (fds, 2, &ts, NULL);
}

#endif
