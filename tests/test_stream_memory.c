/*  test_stream_memory.c - a stream holds its 128 KiB buffers only while
    they hold something: after a transfer in either direction (stream left
    open) both ends go back to the idle figure once idle_release_ns has
    passed, not before; an ended direction frees at once; a transfer does
    not free and allocate over and over; a failed stream frees its send
    buffer; 10,000 idle streams fit the UDP carrier's 64 KiB each. With
    config.initial_buffer the rings start small and double while bytes in
    flight (send) or held above holes (receive) are moved: a lossy 1 MiB
    transfer arrives byte-exact, and a small one never grows the ring.
    The send side's block table grows on use too: an idle stream holds
    only the small inline one (IDLE_SMALL), a bulk transfer a full one
    (FULL_TABLE) next to its ring, and releasing the idle ring frees it.
    Every transfer carries a pattern checked on arrival.                */
#include "curvecp_stream.h"
#include "curvecp_stream_send.h"
#include "sim_app.h"
#include "testutil.h"

#define MS 1000000ull
#define SECOND 1000000000ull
#define IDLE_MAX 16384                  /* far below the carrier's 64 KiB */
#define IDLE_SMALL 2048                 /* no full block table while idle */
/* a 128-block table and its ID lookup (twice as many slots) */
#define FULL_TABLE (CURVECP_STREAM_BLOCKS_MAX * sizeof (curvecp_stream_block_t) \
                  + 2 * CURVECP_STREAM_BLOCKS_MAX * sizeof (uint16_t))

static uint64_t rng_state = 5;
static const curvecp_rng_t stream_rng = { sim_rng_fill, &rng_state };

typedef struct {
    curvecp_stream_t *stream;
    uint64_t to_write, written, received;
    bool close_when_done;
    size_t peak;
} end_t;

static size_t initial_buffer;           /* for make: 0 = full-size rings */

static uint8_t
pattern_at (uint64_t position)
{
    return (uint8_t) (position * 7 + (position >> 11));
}

static curvecp_stream_t *
make (bool is_client)
{
    curvecp_stream_config_t config;
    curvecp_stream_config_default (&config);
    config.is_client = is_client;
    config.initial_buffer = initial_buffer;
    config.rng = &stream_rng;
    curvecp_stream_t *stream = curvecp_stream_new (&config);
    CHECK (stream);
    return stream;
}

static void
end_input (void *self_, const uint8_t *packet, size_t len, uint64_t now)
{
    end_t *self = (end_t *) self_;
    curvecp_stream_receive (self->stream, packet, len, now);
}

static void
end_pump (end_t *self)
{
    static uint8_t chunk[8192];
    while (self->written < self->to_write) {
        uint64_t left = self->to_write - self->written;
        size_t want = left < sizeof chunk ? (size_t) left : sizeof chunk;
        for (size_t i = 0; i < want; i++)
            chunk[i] = pattern_at (self->written + i);
        size_t took = curvecp_stream_write (self->stream, chunk, want);
        if (took == 0)
            break;
        self->written += took;
    }
    if (self->close_when_done && self->written == self->to_write)
        curvecp_stream_close (self->stream, CURVECP_EOF_SUCCESS);
    size_t got;
    while ((got = curvecp_stream_read (self->stream, chunk, sizeof chunk)) > 0) {
        for (size_t i = 0; i < got; i++)
            CHECK_EQ (chunk[i], pattern_at (self->received + i));
        self->received += got;
    }
}

static size_t
end_output (void *self_, uint64_t now, uint8_t *out, size_t cap)
{
    end_t *self = (end_t *) self_;
    end_pump (self);
    size_t memory = curvecp_stream_memory (self->stream);
    if (memory > self->peak)
        self->peak = memory;
    return curvecp_stream_produce (self->stream, now, out, cap);
}

static uint64_t
end_deadline (void *self_)
{
    return curvecp_stream_deadline (((end_t *) self_)->stream);
}

/* Never finished: the run ends when nothing can happen any more, that
   is when both streams are idle with no timer left. */
static bool
end_finished (void *self_)
{
    (void) self_;
    return false;
}

static void
bind (end_t *end, sim_endpoint_t *endpoint)
{
    endpoint->self = end;
    endpoint->input = end_input;
    endpoint->output = end_output;
    endpoint->deadline = end_deadline;
    endpoint->finished = end_finished;
}

/* Move `bytes` from ends[from] to the other end, the streams staying
   open; returns the virtual time when everything went quiet. */
static uint64_t
transfer (sim_net_t *net, end_t ends[2], int from, uint64_t bytes, uint64_t start)
{
    sim_endpoint_t endpoint[2], *endpoints[2] = { &endpoint[0], &endpoint[1] };
    for (int i = 0; i < 2; i++) {
        bind (&ends[i], &endpoint[i]);
        ends[i].peak = 0;
    }
    ends[from].to_write += bytes;
    uint64_t end = sim_net_run (net, endpoints, start, start + 600 * SECOND);
    CHECK_EQ (ends[1 - from].received, ends[from].to_write);
    CHECK (curvecp_stream_all_acked (ends[from].stream));
    return end;
}

static void
test_release_after_transfers (void)
{
    sim_link_t link;
    memset (&link, 0, sizeof link);
    link.delay_ns = 5 * MS;
    link.loss = 0.01;
    link.rate_bps = 100000000;
    sim_net_t *net = sim_net_new (11, &link, &link);
    end_t ends[2];
    memset (ends, 0, sizeof ends);
    ends[0].stream = make (true);
    ends[1].stream = make (false);
    size_t idle = curvecp_stream_memory (ends[0].stream);
    CHECK (idle <= IDLE_MAX);
    CHECK (idle <= IDLE_SMALL);
    CHECK_EQ (curvecp_stream_memory (ends[1].stream), idle);
    printf ("idle stream: %zu bytes\n", idle);

    /* client -> server */
    uint64_t now = transfer (net, ends, 0, 2000000, 0);
    CHECK (ends[0].peak >= idle + curvecp_stream_send_buffer (ends[0].stream));
    CHECK (ends[1].peak >= idle + curvecp_stream_receive_window (ends[1].stream));
    printf ("client -> server: peak %zu / %zu bytes, after %zu / %zu bytes\n", ends[0].peak, ends[1].peak,
            curvecp_stream_memory (ends[0].stream), curvecp_stream_memory (ends[1].stream));
    for (int i = 0; i < 2; i++) {
        const curvecp_stream_info_t *info = curvecp_stream_info (ends[i].stream);
        CHECK_EQ (curvecp_stream_memory (ends[i].stream), idle);
        /* one buffer each way, kept for the whole transfer */
        CHECK_EQ (info->buffer_allocations, 1);
        CHECK_EQ (info->buffer_releases, 1);
        CHECK_EQ (curvecp_stream_deadline (ends[i].stream), UINT64_MAX);
    }

    /* server -> client over the same, still open, streams */
    now = transfer (net, ends, 1, 1500000, now);
    printf ("server -> client: peak %zu / %zu bytes, after %zu / %zu bytes\n", ends[0].peak, ends[1].peak,
            curvecp_stream_memory (ends[0].stream), curvecp_stream_memory (ends[1].stream));
    CHECK (ends[1].peak >= idle + curvecp_stream_send_buffer (ends[1].stream));
    CHECK (ends[0].peak >= idle + curvecp_stream_receive_window (ends[0].stream));
    for (int i = 0; i < 2; i++) {
        CHECK_EQ (curvecp_stream_memory (ends[i].stream), idle);
        CHECK_EQ (curvecp_stream_info (ends[i].stream)->buffer_allocations, 2);
        CHECK_EQ (curvecp_stream_info (ends[i].stream)->buffer_releases, 2);
    }
    (void) now;
    for (int i = 0; i < 2; i++)
        curvecp_stream_destroy (&ends[i].stream);
    sim_net_destroy (&net);
}

/* An exchange by hand with no delay: the buffers stay while idle for
   less than idle_release_ns (a busy connection reuses them), go after. */
static void
test_release_delay (void)
{
    curvecp_stream_t *a = make (false), *b = make (false);
    size_t idle = curvecp_stream_memory (a);
    uint8_t out[CURVECP_MSG_MAX], got[64];
    size_t len;
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "ping", 4), 4);
    CHECK_EQ (curvecp_stream_memory (a), idle + curvecp_stream_send_buffer (a));
    while ((len = curvecp_stream_produce (a, MS, out, sizeof out)))
        CHECK_EQ (curvecp_stream_receive (b, out, len, MS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_memory (b), idle + curvecp_stream_receive_window (b));
    CHECK_EQ (curvecp_stream_read (b, got, sizeof got), 4);
    while ((len = curvecp_stream_produce (b, 2 * MS, out, sizeof out)))
        CHECK_EQ (curvecp_stream_receive (a, out, len, 2 * MS), CURVECP_OK);
    CHECK (curvecp_stream_all_acked (a));
    /* both empty now: due for release 100 ms (the default) later */
    CHECK_EQ (curvecp_stream_deadline (a), 102 * MS);
    CHECK_EQ (curvecp_stream_deadline (b), 101 * MS);
    CHECK_EQ (curvecp_stream_produce (a, 50 * MS, out, sizeof out), 0);
    CHECK_EQ (curvecp_stream_produce (b, 50 * MS, out, sizeof out), 0);
    CHECK_EQ (curvecp_stream_memory (a), idle + curvecp_stream_send_buffer (a));
    CHECK_EQ (curvecp_stream_memory (b), idle + curvecp_stream_receive_window (b));
    /* written again before the delay: the same buffer, no allocation */
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "pong", 4), 4);
    CHECK_EQ (curvecp_stream_info (a)->buffer_allocations, 1);
    CHECK (curvecp_stream_deadline (a) <= 50 * MS);          /* a block to send */
    while ((len = curvecp_stream_produce (a, 60 * MS, out, sizeof out)))
        CHECK_EQ (curvecp_stream_receive (b, out, len, 60 * MS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_read (b, got, sizeof got), 4);
    while ((len = curvecp_stream_produce (b, 61 * MS, out, sizeof out)))
        CHECK_EQ (curvecp_stream_receive (a, out, len, 61 * MS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_info (b)->buffer_allocations, 1);
    /* the idle time restarted with the last use */
    CHECK_EQ (curvecp_stream_deadline (a), 161 * MS);
    CHECK_EQ (curvecp_stream_produce (a, 160 * MS, out, sizeof out), 0);
    CHECK_EQ (curvecp_stream_memory (a), idle + curvecp_stream_send_buffer (a));
    CHECK_EQ (curvecp_stream_produce (a, 161 * MS, out, sizeof out), 0);
    CHECK_EQ (curvecp_stream_memory (a), idle);
    CHECK_EQ (curvecp_stream_deadline (a), UINT64_MAX);
    CHECK_EQ (curvecp_stream_produce (b, 161 * MS, out, sizeof out), 0);
    CHECK_EQ (curvecp_stream_memory (b), idle);
    /* and allocated again on demand */
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "again", 5), 5);
    CHECK_EQ (curvecp_stream_info (a)->buffer_allocations, 2);
    curvecp_stream_destroy (&a);
    curvecp_stream_destroy (&b);
}

/* A direction that ended (EOF acknowledged / EOF read) frees at once. */
static void
test_release_on_eof (void)
{
    curvecp_stream_t *a = make (false), *b = make (false);
    size_t idle = curvecp_stream_memory (a);
    uint8_t out[CURVECP_MSG_MAX], got[64];
    size_t len;
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "bye", 3), 3);
    CHECK_EQ (curvecp_stream_close (a, CURVECP_EOF_SUCCESS), CURVECP_OK);
    while ((len = curvecp_stream_produce (a, MS, out, sizeof out)))
        CHECK_EQ (curvecp_stream_receive (b, out, len, MS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_read (b, got, sizeof got), 3);
    CHECK_EQ (curvecp_stream_received_eof (b), CURVECP_EOF_SUCCESS);
    while ((len = curvecp_stream_produce (b, 2 * MS, out, sizeof out)))
        CHECK_EQ (curvecp_stream_receive (a, out, len, 2 * MS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_memory (b), idle);
    CHECK (curvecp_stream_all_acked (a));
    CHECK_EQ (curvecp_stream_memory (a), idle);
    CHECK_EQ (curvecp_stream_deadline (a), UINT64_MAX);
    CHECK_EQ (curvecp_stream_deadline (b), UINT64_MAX);
    curvecp_stream_destroy (&a);
    curvecp_stream_destroy (&b);
}

/* A stream that gave up will send nothing more: its send buffer goes. */
static void
test_release_on_failure (void)
{
    curvecp_stream_config_t config;
    curvecp_stream_config_default (&config);
    config.give_up_ns = SECOND;
    config.rng = &stream_rng;
    curvecp_stream_t *a = curvecp_stream_new (&config);
    size_t idle = curvecp_stream_memory (a);
    uint8_t out[CURVECP_MSG_MAX];
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "void", 4), 4);
    uint64_t now = 0;
    for (int i = 0; i < 1000 && !curvecp_stream_failed (a); i++) {
        while (curvecp_stream_produce (a, now, out, sizeof out))
            ;
        uint64_t deadline = curvecp_stream_deadline (a);
        now = deadline > now ? deadline : now + 1;
    }
    CHECK (curvecp_stream_failed (a));
    CHECK_EQ (curvecp_stream_memory (a), idle);
    CHECK_EQ (curvecp_stream_deadline (a), UINT64_MAX);
    curvecp_stream_destroy (&a);
}

/* The UDP carrier's budget: 10,000 idle connections at <= 64 KiB each.
   Each of these streams was busy once (a block each way) and is idle. */
static void
test_many_idle (void)
{
    enum { COUNT = 10000 };
    static curvecp_stream_t *streams[COUNT];
    size_t total = 0;
    for (int i = 0; i < COUNT; i++) {
        streams[i] = make (false);
        CHECK_EQ (curvecp_stream_write (streams[i], (const uint8_t *) "x", 1), 1);
        CHECK_EQ (curvecp_stream_close (streams[i], CURVECP_EOF_SUCCESS), CURVECP_OK);
        uint8_t out[CURVECP_MSG_MAX], ack[CURVECP_MSG_MAX];
        curvecp_message_t m;
        size_t len = curvecp_stream_produce (streams[i], 0, out, sizeof out);
        CHECK_EQ (curvecp_message_decode (out, len, &m), CURVECP_OK);
        /* the peer's answer: our data and EOF acknowledged, plus a byte */
        memset (&m, 0, sizeof m);
        m.id = 1;
        m.acked_id = 1;
        m.range1_end = 2;
        m.data = (const uint8_t *) "y";
        m.data_len = 1;
        len = curvecp_message_encode (&m, ack, sizeof ack);
        CHECK_EQ (curvecp_stream_receive (streams[i], ack, len, MS), CURVECP_OK);
        uint8_t got[4];
        CHECK_EQ (curvecp_stream_read (streams[i], got, sizeof got), 1);
        while (curvecp_stream_produce (streams[i], 2 * MS, out, sizeof out))
            ;
        CHECK_EQ (curvecp_stream_produce (streams[i], curvecp_stream_deadline (streams[i]), out, sizeof out), 0);
        total += curvecp_stream_memory (streams[i]);
    }
    printf ("10000 idle streams: %zu bytes, %zu each\n", total, total / COUNT);
    CHECK (total <= (size_t) COUNT * IDLE_MAX);
    for (int i = 0; i < COUNT; i++)
        curvecp_stream_destroy (&streams[i]);
}

/* Rings that start at 2 KiB: 100 bytes each way never grow them; 1 MiB
   over a lossy link doubles both up to their 128 KiB, moving what they
   hold (data in flight, data above holes), and arrives byte-exact. */
static void
test_grow_on_use (void)
{
    sim_link_t link;
    memset (&link, 0, sizeof link);
    link.delay_ns = 5 * MS;
    link.loss = 0.05;
    link.rate_bps = 100000000;
    sim_net_t *net = sim_net_new (17, &link, &link);
    end_t ends[2];
    memset (ends, 0, sizeof ends);
    initial_buffer = 2048;
    ends[0].stream = make (true);
    ends[1].stream = make (false);
    initial_buffer = 0;
    size_t idle = curvecp_stream_memory (ends[0].stream);
    uint64_t now = transfer (net, ends, 0, 100, 0);
    now = transfer (net, ends, 1, 100, now);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ (ends[i].peak, idle + 2048);
        CHECK_EQ (curvecp_stream_info (ends[i].stream)->buffer_growths, 0);
    }
    now = transfer (net, ends, 0, 1u << 20, now);
    /* the send ring grown to its full size, next to a full block table;
       the receive ring small, or freed while idle */
    CHECK (ends[0].peak >= idle + 131072 + FULL_TABLE && ends[0].peak <= idle + 131072 + FULL_TABLE + 2048);
    const curvecp_stream_info_t *sender = curvecp_stream_info (ends[0].stream);
    const curvecp_stream_info_t *receiver = curvecp_stream_info (ends[1].stream);
    CHECK_EQ (sender->buffer_growths, 4);                   /* allocated for the first 8 KiB write, doubled to 128 KiB */
    CHECK (receiver->buffer_growths >= 1 && receiver->buffer_growths <= 6);
    CHECK (ends[1].peak <= idle + 2048 + 131072);
    CHECK (sender->retransmissions > 0);                    /* losses: the receiver held data above holes */
    printf ("grow on use: 100 B each way in 2 KiB rings; 1 MiB at 5%% loss: send ring grown %llu times, "
            "receive ring %llu times, byte-exact\n", (unsigned long long) sender->buffer_growths,
            (unsigned long long) receiver->buffer_growths);
    for (int i = 0; i < 2; i++)
        curvecp_stream_destroy (&ends[i].stream);
    sim_net_destroy (&net);
}

int
main (void)
{
    test_release_after_transfers ();
    test_release_delay ();
    test_release_on_eof ();
    test_release_on_failure ();
    test_many_idle ();
    test_grow_on_use ();
    printf ("test_stream_memory: OK\n");
    return 0;
}
