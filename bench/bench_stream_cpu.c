/*  bench_stream_cpu.c - CPU cost of the message layer alone (no crypto,
    no system calls): two streams joined in memory, one sending 200 MB to
    the other, everything on one core. What we measure is process CPU
    time, so the figure is the stream's work per block, both ends.

      stream_cpu_window   WINDOW pacing, zero delay, the carrier delivering
                          messages in batches of up to BATCH (like a
                          sendmmsg/recvmmsg carrier)
      stream_cpu_chicago  CHICAGO pacing with a virtual clock that advances
                          one link time per message (a 1088-byte packet at
                          LINK_BPS) and jumps to the stream's deadline
                          when it has nothing to send, as a carrier that
                          sleeps would
      stream_cpu_small    WINDOW pacing, the application writing 64-byte
                          messages (the ØMQ carrier's case), in msgs/s

    peer = XSalsa20-Poly1305 seal of a 1088-byte message (what every
    packet costs on top of the stream), measured in the same run. A ratio
    well above 1 means the stream costs well below the crypto.        */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "curvecp_stream.h"

#define TRANSFER   (200ull * 1000 * 1000)
#define BATCH      32
#define LINK_BPS   (8ull * 1000 * 1000 * 1000)     /* 1 GB/s: faster than any carrier */
#define SMALL      64
#define CHUNK      65536

/* A one-way pipe holding up to PIPE messages; the receiving end takes
   the oldest BATCH at a time once more than DEPTH are in it, so about
   DEPTH blocks are always in flight (the block table's worst case). */
#define PIPE  256
#define DEPTH 96

typedef struct {
    uint8_t slot[PIPE][CURVECP_MSG_MAX];
    size_t lens[PIPE];
    uint64_t head, tail;
} pipe_t;

static double
cpu_seconds (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 12345;

/* A cheap LCG, one step per 8 bytes: the benchmark measures the stream,
   not the generator. */
static void
bench_fill (void *context, uint8_t *buf, size_t len)
{
    uint64_t *state = (uint64_t *) context;
    while (len > 0) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t word = *state >> 11;
        size_t n = len < sizeof word ? len : sizeof word;
        memcpy (buf, &word, n);
        buf += n;
        len -= n;
    }
}

static const curvecp_rng_t bench_rng = { bench_fill, &rng_state };

static curvecp_stream_t *
make (curvecp_pacing_t pacing, bool is_client)
{
    curvecp_stream_config_t config;
    curvecp_stream_config_default (&config);
    config.pacing = pacing;
    config.is_client = is_client;
    config.rng = &bench_rng;
    return curvecp_stream_new (&config);
}

/* Produce up to BATCH messages into the pipe; each takes link_ns of
   virtual time. Returns how many. */
static int
produce_batch (curvecp_stream_t *stream, pipe_t *pipe, uint64_t *clock, uint64_t link_ns)
{
    int count = 0;
    while (count < BATCH && pipe->tail - pipe->head < PIPE) {
        uint64_t slot = pipe->tail % PIPE;
        size_t len = curvecp_stream_produce (stream, *clock, pipe->slot[slot], CURVECP_MSG_MAX);
        if (len == 0)
            break;
        pipe->lens[slot] = len;
        pipe->tail++;
        count++;
        *clock += link_ns;
    }
    return count;
}

/* Deliver the oldest messages, keeping keep of them in the pipe. */
static int
deliver (pipe_t *pipe, curvecp_stream_t *to, uint64_t now, uint64_t keep)
{
    int count = 0;
    while (pipe->tail - pipe->head > keep && count < BATCH) {
        uint64_t slot = pipe->head++ % PIPE;
        curvecp_stream_receive (to, pipe->slot[slot], pipe->lens[slot], now);
        count++;
    }
    return count;
}

typedef struct {
    double seconds;
    uint64_t bytes, writes, blocks, retransmissions;
} run_t;

/* One transfer of TRANSFER bytes written write_size at a time. */
static run_t
transfer (curvecp_pacing_t pacing, size_t write_size, bool virtual_link)
{
    static uint8_t source[CHUNK], sink[CHUNK];
    static pipe_t forward, backward;
    memset (source, 'x', sizeof source);
    memset (&forward, 0, sizeof forward);
    memset (&backward, 0, sizeof backward);
    curvecp_stream_t *sender = make (pacing, true);
    curvecp_stream_t *receiver = make (pacing, false);
    uint64_t link_ns = virtual_link ? 1088ull * 8 * 1000000000ull / LINK_BPS : 0;
    uint64_t now = 1000000000ull, written = 0, received = 0, writes = 0;
    bool closed = false;
    double start = cpu_seconds ();
    while (received < TRANSFER || !curvecp_stream_all_acked (sender)) {
        while (written < TRANSFER) {
            size_t want = TRANSFER - written < write_size ? (size_t) (TRANSFER - written) : write_size;
            size_t took = curvecp_stream_write (sender, source, want);
            if (took == 0)
                break;
            written += took;
            writes++;
        }
        if (written == TRANSFER && !closed) {
            curvecp_stream_close (sender, CURVECP_EOF_SUCCESS);
            closed = true;
        }
        uint64_t clock = now;
        int sent = produce_batch (sender, &forward, &clock, link_ns);
        /* keep DEPTH in flight while the sender can add more */
        int moved = deliver (&forward, receiver, clock, sent ? DEPTH : 0);
        size_t got;
        while ((got = curvecp_stream_read (receiver, sink, sizeof sink)) > 0)
            received += got;
        produce_batch (receiver, &backward, &clock, 0);
        moved += deliver (&backward, sender, clock, 0);
        /* a carrier asks both for their deadlines after every round */
        uint64_t deadline = curvecp_stream_deadline (sender);
        if (curvecp_stream_deadline (receiver) < deadline)
            deadline = curvecp_stream_deadline (receiver);
        if (virtual_link) {
            now = clock + (sent ? 0 : 1000);
            if (sent == 0 && moved == 0 && deadline != UINT64_MAX && deadline > now)
                now = deadline;     /* a carrier would sleep until then */
        }
        else
            now += 1000;
        if (curvecp_stream_failed (sender) || now > 1000000000ull * 3600) {
            fprintf (stderr, "bench_stream_cpu: transfer stalled at %llu bytes\n", (unsigned long long) received);
            exit (1);
        }
    }
    run_t run;
    run.seconds = cpu_seconds () - start;
    run.bytes = received;
    run.writes = writes;
    run.blocks = curvecp_stream_info (sender)->blocks_sent;
    run.retransmissions = curvecp_stream_info (sender)->retransmissions;
    curvecp_stream_destroy (&sender);
    curvecp_stream_destroy (&receiver);
    return run;
}

/* XSalsa20-Poly1305 seal of 1088 bytes: MB/s of plaintext, one core. */
static double
seal_rate (void)
{
    static uint8_t message[1088], boxed[1088 + crypto_secretbox_MACBYTES];
    uint8_t key[crypto_secretbox_KEYBYTES], nonce[crypto_secretbox_NONCEBYTES];
    randombytes_buf (key, sizeof key);
    memset (nonce, 0, sizeof nonce);
    memset (message, 1, sizeof message);
    uint64_t count = 0;
    double start = cpu_seconds (), elapsed;
    do {
        for (int i = 0; i < 1000; i++) {
            nonce[0] = (uint8_t) i;
            crypto_secretbox_easy (boxed, message, sizeof message, nonce, key);
        }
        count += 1000;
        elapsed = cpu_seconds () - start;
    } while (elapsed < 0.5);
    sodium_memzero (key, sizeof key);
    return (double) count * sizeof message / elapsed / 1e6;
}

static void
report (const char *name, const run_t *run, double peer)
{
    double mbps = (double) run->bytes / run->seconds / 1e6;
    printf ("# %s: %.3f s CPU, %.0f blocks/s, %llu retransmissions, %.0f writes/s\n", name, run->seconds,
            (double) run->blocks / run->seconds, (unsigned long long) run->retransmissions,
            (double) run->writes / run->seconds);
    printf ("RESULT %s ours=%.1f peer=%.1f ratio=%.2f unit=MB/s\n", name, mbps, peer, mbps / peer);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    double peer = seal_rate ();
    printf ("XSalsa20-Poly1305 seal, 1088 B: %.1f MB/s (%.0f per s)\n", peer, peer * 1e6 / 1088);
    run_t window = transfer (CURVECP_PACING_WINDOW, CHUNK, false);
    report ("stream_cpu_window", &window, peer);
    run_t chicago = transfer (CURVECP_PACING_CHICAGO, CHUNK, true);
    report ("stream_cpu_chicago", &chicago, peer);
    run_t small = transfer (CURVECP_PACING_WINDOW, SMALL, false);
    double msgs = (double) small.writes / small.seconds;
    double peer_msgs = peer * 1e6 / 1088 * (1024 / SMALL);
    printf ("# stream_cpu_small: %.3f s CPU, %.0f blocks/s\n", small.seconds, (double) small.blocks / small.seconds);
    printf ("RESULT stream_cpu_small ours=%.0f peer=%.0f ratio=%.2f unit=msgs/s\n", msgs, peer_msgs, msgs / peer_msgs);
    return 0;
}
