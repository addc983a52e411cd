/*  test_stream.c - the stream state machine driven by hand: message IDs,
    resends under new IDs, the 128-block limit, selective acknowledgments
    and early repair, flow control with a slow reader, EOF kinds, the
    zero-length stream, client block sizes, bad messages, giving up.     */
#include "curvecp_stream.h"
#include "sim_app.h"
#include "testutil.h"

#define MS 1000000ull
#define SECOND 1000000000ull

static uint64_t rng_state = 1;
static const curvecp_rng_t stream_rng = { sim_rng_fill, &rng_state };

static size_t initial_buffer;      /* for make: 0 = rings at full size */
static uint64_t ack_delay_ns;      /* for make */

static curvecp_stream_t *
make (bool is_client, curvecp_pacing_t pacing)
{
    curvecp_stream_config_t config;
    curvecp_stream_config_default (&config);
    config.initial_buffer = initial_buffer;
    config.ack_delay_ns = ack_delay_ns;
    config.is_client = is_client;
    config.pacing = pacing;
    config.give_up_ns = 10 * SECOND;
    config.rng = &stream_rng;
    curvecp_stream_t *stream = curvecp_stream_new (&config);
    CHECK (stream);
    return stream;
}

static size_t
produce (curvecp_stream_t *s, uint64_t now, uint8_t *out, curvecp_message_t *m)
{
    size_t len = curvecp_stream_produce (s, now, out, CURVECP_MSG_MAX);
    if (len)
        CHECK_EQ (curvecp_message_decode (out, len, m), CURVECP_OK);
    return len;
}

static void
test_ids_and_resend (void)
{
    curvecp_stream_t *a = make (false, CURVECP_PACING_CHICAGO);
    uint8_t out[CURVECP_MSG_MAX];
    curvecp_message_t m;
    CHECK_EQ (curvecp_stream_produce (a, 0, out, sizeof out), 0);   /* nothing to say */
    CHECK_EQ (curvecp_stream_deadline (a), UINT64_MAX);
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "hello\n", 6), 6);
    CHECK_EQ (produce (a, 0, out, &m), 192);
    CHECK_EQ (m.id, 1);
    CHECK_EQ (m.data_len, 6);
    CHECK_EQ (m.position, 0);
    CHECK_MEM (m.data, "hello\n", 6);
    CHECK_EQ (curvecp_stream_produce (a, 1, out, sizeof out), 0);
    /* the retransmission timer is armed: initial rtt_timeout is 1 s */
    uint64_t deadline = curvecp_stream_deadline (a);
    CHECK (deadline > 0 && deadline <= SECOND);
    CHECK_EQ (produce (a, deadline, out, &m), 192);
    CHECK_EQ (m.id, 2);                 /* same block, new ID */
    CHECK_EQ (m.position, 0);
    CHECK_EQ (m.data_len, 6);
    CHECK_EQ (curvecp_stream_info (a)->retransmissions, 1);

    /* IDs skip 0 on wrap */
    curvecp_stream_set_next_id (a, UINT32_MAX);
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "x", 1), 1);
    CHECK_EQ (produce (a, deadline, out, &m), 192);
    CHECK_EQ (m.id, UINT32_MAX);
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "y", 1), 1);
    CHECK_EQ (produce (a, deadline, out, &m), 192);
    CHECK_EQ (m.id, 1);
    curvecp_stream_destroy (&a);
    CHECK (a == NULL);
}

static void
test_blocks_in_flight (void)
{
    curvecp_stream_t *a = make (false, CURVECP_PACING_WINDOW);
    static uint8_t data[200000];
    size_t taken = curvecp_stream_write (a, data, sizeof data);
    CHECK_EQ (taken, curvecp_stream_send_buffer (a));
    CHECK_EQ (curvecp_stream_send_space (a), 0);
    uint8_t out[CURVECP_MSG_MAX];
    curvecp_message_t m;
    int blocks = 0;
    while (produce (a, 0, out, &m)) {
        CHECK_EQ (m.data_len, 1024);
        CHECK_EQ (m.position, (uint64_t) blocks * 1024);
        blocks++;
    }
    CHECK_EQ (blocks, CURVECP_STREAM_BLOCKS_MAX);
    curvecp_stream_destroy (&a);
}

/* A sends six blocks; B gets 1, 3, 5 and 6; B's ack carries ranges 2
   and 3; A resends block 2 at once, before any timer. Blocks 3, 5 and 6
   arrive above a hole, so their acknowledgments name message 1 (the
   latest block inside range 1), never 3, 5 or 6; the top range stops a
   byte short while B does not know where the stream ends (so block 6
   is not acknowledged yet, and block 5 is the third transmission after
   block 2 to be). */
static void
test_selective_acks (void)
{
    curvecp_stream_t *a = make (false, CURVECP_PACING_WINDOW);
    curvecp_stream_t *b = make (false, CURVECP_PACING_WINDOW);
    static uint8_t data[6 * 1024];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t) (i * 13);
    CHECK_EQ (curvecp_stream_write (a, data, sizeof data), sizeof data);
    uint8_t msgs[6][CURVECP_MSG_MAX];
    size_t lens[6];
    curvecp_message_t m;
    for (int i = 0; i < 6; i++)
        CHECK_EQ (lens[i] = produce (a, 0, msgs[i], &m), 1088);
    uint8_t ack[CURVECP_MSG_MAX];
    static const int arrive[] = { 0, 2, 4, 5 };
    for (int k = 0; k < 4; k++) {
        int i = arrive[k];
        CHECK_EQ (curvecp_stream_receive (b, msgs[i], lens[i], 10 * MS), CURVECP_OK);
        CHECK_EQ (produce (b, 10 * MS, ack, &m), 192);
        CHECK_EQ (m.id, 0);
        CHECK_EQ (m.acked_id, 1);
    }
    /* the last ack: range 1 = [0,1024), then [2048,3072), [4096,6143) */
    CHECK_EQ (m.range1_end, 1024);
    uint64_t s[6], e[6];
    CHECK_EQ (curvecp_message_ranges (&m, s, e), 3);
    CHECK_EQ (s[1], 2048); CHECK_EQ (e[1], 3072);
    CHECK_EQ (s[2], 4096); CHECK_EQ (e[2], 6143);
    CHECK_EQ (curvecp_stream_readable (b), 1024);

    CHECK_EQ (curvecp_stream_receive (a, ack, 192, 20 * MS), CURVECP_OK);
    CHECK_EQ (produce (a, 20 * MS, msgs[0], &m), 1088);
    CHECK_EQ (m.id, 7);
    CHECK_EQ (m.position, 1024);        /* block 2 repaired early */
    CHECK_EQ (curvecp_stream_info (a)->timeouts, 0);
    CHECK_EQ (curvecp_stream_receive (b, msgs[0], 1088, 30 * MS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_readable (b), 3072);
    uint8_t got[6 * 1024];
    CHECK_EQ (curvecp_stream_read (b, got, sizeof got), 3072);
    CHECK_MEM (got, data, 3072);
    /* block 4 fills the last hole: range 1 reaches the top, and its ID
       may be named */
    CHECK_EQ (curvecp_stream_receive (b, msgs[3], lens[3], 40 * MS), CURVECP_OK);
    CHECK_EQ (produce (b, 40 * MS, ack, &m), 192);
    CHECK_EQ (m.acked_id, 4);
    CHECK_EQ (m.range1_end, 6144);
    curvecp_stream_destroy (&a);
    curvecp_stream_destroy (&b);
}

/* Zero-length stream with a failure EOF: one D = 0 block at position 0,
   acknowledged by range 1 = 1. */
static void
test_zero_length_eof (void)
{
    curvecp_stream_t *a = make (true, CURVECP_PACING_CHICAGO);
    curvecp_stream_t *b = make (false, CURVECP_PACING_CHICAGO);
    CHECK_EQ (curvecp_stream_close (a, CURVECP_EOF_FAILURE), CURVECP_OK);
    CHECK_EQ (curvecp_stream_close (a, CURVECP_EOF_SUCCESS), CURVECP_E_WRONG_STATE);
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "late", 4), 0);
    CHECK (!curvecp_stream_all_acked (a));
    uint8_t out[CURVECP_MSG_MAX], ack[CURVECP_MSG_MAX];
    curvecp_message_t m;
    CHECK_EQ (produce (a, 0, out, &m), 192);
    CHECK_EQ (m.data_len, 0);
    CHECK_EQ (m.eof, CURVECP_EOF_FAILURE);
    CHECK_EQ (m.position, 0);
    CHECK_EQ (curvecp_stream_receive (b, out, 192, MS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_received_eof (b), CURVECP_EOF_FAILURE);
    CHECK_EQ (produce (b, MS, ack, &m), 192);
    CHECK_EQ (m.range1_end, 1);
    CHECK_EQ (curvecp_stream_receive (a, ack, 192, 2 * MS), CURVECP_OK);
    CHECK (curvecp_stream_all_acked (a));
    CHECK_EQ (curvecp_stream_deadline (a), UINT64_MAX);
    curvecp_stream_destroy (&a);
    curvecp_stream_destroy (&b);
}

/* Data then a success EOF in a separate zero-length block, acknowledged
   as total + 1; a client's first blocks are 512 bytes. */
static void
test_eof_after_data_and_client_blocks (void)
{
    curvecp_stream_t *a = make (true, CURVECP_PACING_WINDOW);
    curvecp_stream_t *b = make (false, CURVECP_PACING_WINDOW);
    static uint8_t data[3000];
    memset (data, 'd', sizeof data);
    CHECK_EQ (curvecp_stream_write (a, data, sizeof data), 3000);
    CHECK_EQ (curvecp_stream_message_max (a), 576);
    uint8_t out[CURVECP_MSG_MAX], ack[CURVECP_MSG_MAX];
    curvecp_message_t m;
    CHECK_EQ (produce (a, 0, out, &m), 576);
    CHECK_EQ (m.data_len, 512);
    CHECK_EQ (curvecp_stream_receive (b, out, 576, MS), CURVECP_OK);
    CHECK_EQ (produce (b, MS, ack, &m), 192);
    CHECK_EQ (curvecp_stream_receive (a, ack, 192, 2 * MS), CURVECP_OK);
    /* heard from the server: 1024-byte blocks now */
    CHECK_EQ (curvecp_stream_message_max (a), 1088);
    uint64_t now = 2 * MS;
    while (produce (a, now, out, &m)) {
        CHECK_EQ (curvecp_stream_receive (b, out, curvecp_message_size (m.data_len), now), CURVECP_OK);
        CHECK (m.data_len <= 1024);
    }
    CHECK_EQ (curvecp_stream_readable (b), 3000);
    CHECK_EQ (curvecp_stream_close (a, CURVECP_EOF_SUCCESS), CURVECP_OK);
    CHECK_EQ (produce (a, now, out, &m), 192);
    CHECK_EQ (m.data_len, 0);
    CHECK_EQ (m.eof, CURVECP_EOF_SUCCESS);
    CHECK_EQ (m.position, 3000);
    CHECK_EQ (curvecp_stream_receive (b, out, 192, now), CURVECP_OK);
    CHECK_EQ (curvecp_stream_received_eof (b), CURVECP_EOF_NONE);   /* not all read yet */
    uint8_t got[3000];
    CHECK_EQ (curvecp_stream_read (b, got, sizeof got), 3000);
    CHECK_EQ (curvecp_stream_received_eof (b), CURVECP_EOF_SUCCESS);
    while (produce (b, now, ack, &m))
        CHECK_EQ (curvecp_stream_receive (a, ack, 192, now), CURVECP_OK);
    CHECK_EQ (m.range1_end, 3001);
    CHECK (curvecp_stream_all_acked (a));
    curvecp_stream_destroy (&a);
    curvecp_stream_destroy (&b);
}

static void
test_bad_messages (void)
{
    curvecp_stream_t *b = make (false, CURVECP_PACING_CHICAGO);
    curvecp_stream_t *a = make (false, CURVECP_PACING_CHICAGO);
    uint8_t out[CURVECP_MSG_MAX];
    curvecp_message_t m;
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "abcdef", 6), 6);
    CHECK_EQ (curvecp_stream_close (a, CURVECP_EOF_SUCCESS), CURVECP_OK);
    CHECK_EQ (produce (a, 0, out, &m), 192);
    CHECK_EQ (curvecp_stream_receive (b, out, 192, 0), CURVECP_OK);
    uint64_t deadline = curvecp_stream_deadline (b);
    uint8_t bad[CURVECP_MSG_MAX + 16];
    memset (bad, 0, sizeof bad);
    CHECK_EQ (curvecp_stream_receive (b, bad, 32, 1), CURVECP_E_TOO_SHORT);
    CHECK_EQ (curvecp_stream_receive (b, bad, 1104, 1), CURVECP_E_TOO_LONG);
    CHECK_EQ (curvecp_stream_receive (b, bad, 100, 1), CURVECP_E_NOT_MULTIPLE_16);
    /* acknowledges bytes b never sent */
    curvecp_message_t lie = { 0 };
    lie.range1_end = 5;
    uint8_t enc[CURVECP_MSG_MAX];
    CHECK_EQ (curvecp_message_encode (&lie, enc, sizeof enc), 192);
    CHECK_EQ (curvecp_stream_receive (b, enc, 192, 1), CURVECP_E_BAD_MESSAGE);
    /* data beyond the known end of the stream */
    memset (&lie, 0, sizeof lie);
    lie.id = 9;
    lie.position = 6;
    lie.data = (const uint8_t *) "zz";
    lie.data_len = 2;
    CHECK_EQ (curvecp_message_encode (&lie, enc, sizeof enc), 192);
    CHECK_EQ (curvecp_stream_receive (b, enc, 192, 1), CURVECP_E_BAD_MESSAGE);
    /* another EOF kind for the same stream */
    memset (&lie, 0, sizeof lie);
    lie.id = 10;
    lie.position = 6;
    lie.eof = CURVECP_EOF_FAILURE;
    CHECK_EQ (curvecp_message_encode (&lie, enc, sizeof enc), 192);
    CHECK_EQ (curvecp_stream_receive (b, enc, 192, 1), CURVECP_E_BAD_MESSAGE);

    const curvecp_stats_t *stats = curvecp_stream_stats (b);
    CHECK_EQ (stats->counts[CURVECP_OK], 1);
    CHECK_EQ (stats->counts[CURVECP_E_TOO_SHORT], 1);
    CHECK_EQ (stats->counts[CURVECP_E_TOO_LONG], 1);
    CHECK_EQ (stats->counts[CURVECP_E_NOT_MULTIPLE_16], 1);
    CHECK_EQ (stats->counts[CURVECP_E_BAD_MESSAGE], 3);
    CHECK_EQ (curvecp_stats_rejected (stats), 6);
    /* nothing changed: same pending ack (for ID 1), same data */
    CHECK_EQ (curvecp_stream_deadline (b), deadline);
    CHECK_EQ (produce (b, 1, out, &m), 192);
    CHECK_EQ (m.acked_id, 1);
    CHECK_EQ (m.range1_end, 7);
    CHECK_EQ (curvecp_stream_readable (b), 6);
    curvecp_stream_destroy (&a);
    curvecp_stream_destroy (&b);
}

/* The ping: one zero-length block at position 0 (ID 1, 192 bytes, no
   EOF), resent under a new ID on the timer, acknowledged by the peer's
   answer (curvecpmessage answers with range 1 = 0). Refused once a block
   went out; absorbed by data that comes first. */
static void
test_ping (void)
{
    curvecp_stream_t *a = make (true, CURVECP_PACING_CHICAGO);
    curvecp_stream_t *b = make (false, CURVECP_PACING_CHICAGO);
    uint8_t out[CURVECP_MSG_MAX], ack[CURVECP_MSG_MAX];
    curvecp_message_t m;
    CHECK_EQ (curvecp_stream_ping (a), CURVECP_OK);
    CHECK_EQ (curvecp_stream_deadline (a), 0);
    CHECK_EQ (produce (a, 0, out, &m), 192);
    CHECK_EQ (m.id, 1);
    CHECK_EQ (m.data_len, 0);
    CHECK_EQ (m.position, 0);
    CHECK_EQ (m.eof, CURVECP_EOF_NONE);
    CHECK_EQ (curvecp_stream_produce (a, 1, out, sizeof out), 0);
    CHECK_EQ (curvecp_stream_ping (a), CURVECP_E_WRONG_STATE);
    uint64_t deadline = curvecp_stream_deadline (a);
    CHECK (deadline > 0 && deadline <= SECOND);
    CHECK_EQ (produce (a, deadline, out, &m), 192);
    CHECK_EQ (m.id, 2);                 /* the Initiate was lost: again */
    CHECK_EQ (m.data_len, 0);
    CHECK_EQ (m.position, 0);
    /* the peer names it (a ping at 0 may always be named) with range 1 = 0 */
    CHECK_EQ (curvecp_stream_receive (b, out, 192, deadline + MS), CURVECP_OK);
    CHECK_EQ (produce (b, deadline + MS, ack, &m), 192);
    CHECK_EQ (m.acked_id, 2);
    CHECK_EQ (m.range1_end, 0);
    CHECK (curvecp_stream_deadline (a) < UINT64_MAX);   /* its timer runs */
    CHECK_EQ (curvecp_stream_receive (a, ack, 192, deadline + 2 * MS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_produce (a, deadline + 2 * MS, out, sizeof out), 0);
    CHECK_EQ (curvecp_stream_deadline (a), UINT64_MAX);  /* acknowledged: no timer */
    /* data after the ping starts at position 0 */
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "hi", 2), 2);
    CHECK_EQ (produce (a, deadline + 3 * MS, out, &m), 192);
    CHECK_EQ (m.id, 3);
    CHECK_EQ (m.position, 0);
    CHECK_EQ (m.data_len, 2);
    curvecp_stream_destroy (&a);

    /* data written before the first produce is the ping */
    a = make (true, CURVECP_PACING_CHICAGO);
    CHECK_EQ (curvecp_stream_ping (a), CURVECP_OK);
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "hi", 2), 2);
    CHECK_EQ (produce (a, 0, out, &m), 192);
    CHECK_EQ (m.data_len, 2);
    CHECK_EQ (curvecp_stream_produce (a, 1, out, sizeof out), 0);
    CHECK_EQ (curvecp_stream_info (a)->blocks_sent, 1);
    curvecp_stream_destroy (&a);
    curvecp_stream_destroy (&b);
}

/* A sender that never retransmits on its own (curvecpmessage's quirk):
   while our acknowledgment shows a hole and both sides are quiet, we
   repeat it, naming the latest nameable ID (never 0), backing off from
   max(rtt_timeout, 100 ms) to 4 s; nothing is repeated without a hole. */
static void
test_nudge (void)
{
    curvecp_stream_t *a = make (false, CURVECP_PACING_WINDOW);
    curvecp_stream_t *b = make (false, CURVECP_PACING_WINDOW);
    static uint8_t data[3 * 1024];
    CHECK_EQ (curvecp_stream_write (a, data, sizeof data), sizeof data);
    uint8_t msgs[3][CURVECP_MSG_MAX], ack[CURVECP_MSG_MAX];
    curvecp_message_t m;
    for (int i = 0; i < 3; i++)
        CHECK_EQ (produce (a, 0, msgs[i], &m), 1088);
    CHECK_EQ (curvecp_stream_receive (b, msgs[0], 1088, MS), CURVECP_OK);
    CHECK_EQ (produce (b, MS, ack, &m), 192);
    CHECK_EQ (curvecp_stream_deadline (b), UINT64_MAX);     /* no hole: no nudge */
    CHECK_EQ (curvecp_stream_receive (b, msgs[2], 1088, 2 * MS), CURVECP_OK);
    CHECK_EQ (produce (b, 2 * MS, ack, &m), 192);
    CHECK_EQ (curvecp_stream_produce (b, 3 * MS, ack, sizeof ack), 0);
    /* b's rtt_timeout is the initial 1 s (it never sent a block) */
    uint64_t at = 2 * MS + SECOND;
    for (int i = 0; i < 6; i++) {
        CHECK_EQ (curvecp_stream_deadline (b), at);
        CHECK_EQ (curvecp_stream_produce (b, at - 1, ack, sizeof ack), 0);
        CHECK_EQ (produce (b, at, ack, &m), 192);
        CHECK_EQ (m.id, 0);
        CHECK_EQ (m.acked_id, 1);
        CHECK_EQ (m.range1_end, 1024);
        CHECK_EQ (m.gap[0], 1024);
        uint64_t interval = (1ull << i) * SECOND;
        at += interval < 4 * SECOND ? interval : 4 * SECOND;
    }
    CHECK_EQ (curvecp_stream_info (b)->acks_repeated, 6);
    /* the repair closes the hole: quiet again */
    CHECK_EQ (curvecp_stream_receive (b, msgs[1], 1088, at), CURVECP_OK);
    CHECK_EQ (produce (b, at, ack, &m), 192);
    CHECK_EQ (m.acked_id, 2);
    CHECK_EQ (m.range1_end, 3072);
    CHECK_EQ (curvecp_stream_deadline (b), UINT64_MAX);
    curvecp_stream_destroy (&a);
    curvecp_stream_destroy (&b);
}

/* Nothing ever arrives: the sender gives up after give_up_ns and never
   pretends the stream was delivered. */
static void
test_give_up (void)
{
    curvecp_stream_t *a = make (false, CURVECP_PACING_CHICAGO);
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "lost", 4), 4);
    curvecp_stream_close (a, CURVECP_EOF_SUCCESS);
    uint8_t out[CURVECP_MSG_MAX];
    uint64_t now = 0;
    int sent = 0;
    while (now < 100 * SECOND) {
        while (curvecp_stream_produce (a, now, out, sizeof out))
            sent++;
        if (curvecp_stream_failed (a))
            break;
        uint64_t deadline = curvecp_stream_deadline (a);
        now = deadline > now ? deadline : now + 1;
    }
    CHECK (curvecp_stream_failed (a));
    CHECK (now >= 10 * SECOND && now < 11 * SECOND);
    CHECK (sent >= 8);
    CHECK (!curvecp_stream_all_acked (a));
    CHECK_EQ (curvecp_stream_produce (a, now, out, sizeof out), 0);
    CHECK_EQ (curvecp_stream_deadline (a), UINT64_MAX);
    curvecp_stream_destroy (&a);
}

/* A reader taking 8 KB/s with a 4 KiB window: the sender (give-up 10 s)
   stalls for over 10 s at a time but neither fails nor loses data. */
static void
test_slow_reader (void)
{
    sim_link_t link;
    memset (&link, 0, sizeof link);
    link.delay_ns = 5 * MS;
    sim_net_t *net = sim_net_new (7, &link, &link);
    sim_stream_endpoint_t side[2];
    sim_endpoint_t endpoint[2], *endpoints[2] = { &endpoint[0], &endpoint[1] };
    for (int i = 0; i < 2; i++) {
        memset (&side[i], 0, sizeof side[i]);
        curvecp_stream_config_t config;
        curvecp_stream_config_default (&config);
        config.give_up_ns = 10 * SECOND;
        config.receive_window = 4096;
        config.rng = &stream_rng;
        side[i].stream = curvecp_stream_new (&config);
        side[i].app.send_seed = side[i].app.expect_seed = 99;
        side[i].app.send_eof = side[i].app.expect_eof = CURVECP_EOF_SUCCESS;
        sim_stream_endpoint_bind (&side[i], &endpoint[i]);
    }
    side[0].app.send_total = side[1].app.expect_total = 200000;
    side[1].app.read_rate_bps = 8 * 8000;
    uint64_t end = sim_net_run (net, endpoints, 0, 200 * SECOND);
    CHECK (!curvecp_stream_failed (side[0].stream));
    CHECK (sim_app_complete (&side[1].app, side[1].stream));
    CHECK (sim_app_complete (&side[0].app, side[0].stream));
    CHECK (end > 24 * SECOND && end < 40 * SECOND);
    CHECK (curvecp_stream_info (side[1].stream)->refused_window > 0);
    for (int i = 0; i < 2; i++)
        curvecp_stream_destroy (&side[i].stream);
    sim_net_destroy (&net);
}

/* In place, both ways (the tools' pipes): A writes into its send buffer
   through reserve/commit, B reads its receive buffer through peek and
   read (NULL, n), 400 KB, so both rings wrap: reserve and peek then give
   only the part up to the wrap, the rest comes next; the bytes are
   exact; reserve says 0 when the buffer is full. With a small initial
   buffer (the ØMQ codec's way) the rings grow under reserve and peek. */
static void
test_in_place (size_t initial)
{
    initial_buffer = initial;
    curvecp_stream_t *a = make (false, CURVECP_PACING_WINDOW);
    curvecp_stream_t *b = make (false, CURVECP_PACING_WINDOW);
    const size_t total = 400000;
    size_t written = 0, got = 0;
    bool send_wrapped = false, recv_wrapped = false;
    uint8_t out[CURVECP_MSG_MAX];
    uint64_t now = 0;
    while (got < total) {
        CHECK (now < 10000 * MS);
        uint8_t *space;
        size_t room = curvecp_stream_reserve (a, &space);
        CHECK (room <= curvecp_stream_send_space (a));
        send_wrapped |= room > 0 && room < curvecp_stream_send_space (a);
        size_t n = total - written < room ? total - written : room;
        n = n < 5000 ? n : 5000;
        for (size_t i = 0; i < n; i++)
            space[i] = (uint8_t) ((written + i) * 7 + ((written + i) >> 9));
        curvecp_stream_commit (a, n);
        written += n;
        size_t len;
        while ((len = curvecp_stream_produce (a, now, out, sizeof out)) > 0)
            CHECK_EQ (curvecp_stream_receive (b, out, len, now), CURVECP_OK);
        const uint8_t *data;
        size_t ready = curvecp_stream_peek (b, &data);
        CHECK (ready <= curvecp_stream_readable (b));
        recv_wrapped |= ready > 0 && ready < curvecp_stream_readable (b);
        size_t take = ready / 2 + 1 < ready ? ready / 2 + 1 : ready;   /* part of it, to move around the ring */
        for (size_t i = 0; i < take; i++)
            CHECK_EQ (data[i], (uint8_t) ((got + i) * 7 + ((got + i) >> 9)));
        CHECK_EQ (curvecp_stream_read (b, NULL, take), take);
        got += take;
        while ((len = curvecp_stream_produce (b, now, out, sizeof out)) > 0)
            CHECK_EQ (curvecp_stream_receive (a, out, len, now), CURVECP_OK);
        now += MS;
    }
    CHECK_EQ (written, total);
    CHECK (send_wrapped);
    CHECK (recv_wrapped);
    /* a full buffer: reserve gives nothing */
    static uint8_t fill[200000];
    curvecp_stream_write (a, fill, sizeof fill);
    uint8_t *space;
    CHECK_EQ (curvecp_stream_send_space (a), 0);
    CHECK_EQ (curvecp_stream_reserve (a, &space), 0);
    curvecp_stream_destroy (&a);
    curvecp_stream_destroy (&b);
    initial_buffer = 0;
}

/* a writes, b receives at now; b's answer produced at now must be a pure
   acknowledgment naming the message (not delayed). */
static void
check_acked_at_once (curvecp_stream_t *b, const uint8_t *msg, size_t len, uint64_t now, uint32_t id)
{
    uint8_t ack[CURVECP_MSG_MAX];
    curvecp_message_t m;
    CHECK_EQ (curvecp_stream_receive (b, msg, len, now), CURVECP_OK);
    CHECK_EQ (curvecp_stream_deadline (b), now);
    CHECK (produce (b, now, ack, &m) > 0);
    CHECK_EQ (m.data_len, 0);
    CHECK_EQ (m.acked_id, id);
}

/* With ack_delay_ns, the acknowledgment of a small in-order message waits
   for data of ours to ride on (or the delay); a full block, a duplicate,
   a hole and an EOF are acknowledged at once. */
static void
test_ack_delay (void)
{
    ack_delay_ns = MS;
    curvecp_stream_t *a = make (false, CURVECP_PACING_WINDOW);
    curvecp_stream_t *b = make (false, CURVECP_PACING_WINDOW);
    uint8_t ping[CURVECP_MSG_MAX], out[CURVECP_MSG_MAX];
    curvecp_message_t m;
    /* request, response: the acknowledgment rides on the response */
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "ping", 4), 4);
    size_t ping_len = produce (a, 0, ping, &m);
    CHECK_EQ (m.id, 1);
    CHECK_EQ (curvecp_stream_receive (b, ping, ping_len, MS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_produce (b, MS, out, sizeof out), 0);
    CHECK_EQ (curvecp_stream_deadline (b), 2 * MS);
    CHECK_EQ (curvecp_stream_write (b, (const uint8_t *) "pong", 4), 4);
    CHECK (produce (b, MS + 1, out, &m) > 0);
    CHECK_EQ (m.data_len, 4);
    CHECK_EQ (m.acked_id, 1);
    CHECK_EQ (m.range1_end, 4);
    CHECK_EQ (curvecp_stream_produce (b, MS + 2, out, sizeof out), 0);
    /* no response: the acknowledgment goes alone when the delay is up */
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "x", 1), 1);
    CHECK (produce (a, 0, out, &m) > 0);
    uint32_t x_id = m.id;
    CHECK_EQ (curvecp_stream_receive (b, out, curvecp_message_size (1), 10 * MS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_deadline (b), 11 * MS);
    CHECK_EQ (curvecp_stream_produce (b, 11 * MS - 1, out, sizeof out), 0);
    CHECK (produce (b, 11 * MS, out, &m) > 0);
    CHECK_EQ (m.data_len, 0);
    CHECK_EQ (m.acked_id, x_id);
    CHECK_EQ (m.range1_end, 5);
    /* a duplicate (our acknowledgment was lost): at once */
    check_acked_at_once (b, ping, ping_len, 20 * MS, x_id);   /* under the latest nameable ID */
    /* a full block: at once */
    static uint8_t bulk[1024];
    CHECK_EQ (curvecp_stream_write (a, bulk, sizeof bulk), sizeof bulk);
    size_t len = produce (a, 0, out, &m);
    CHECK_EQ (m.data_len, 1024);
    check_acked_at_once (b, out, len, 30 * MS, m.id);
    /* a hole: the later of two small blocks first, at once */
    uint8_t first[CURVECP_MSG_MAX];
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "1", 1), 1);
    size_t first_len = produce (a, 0, first, &m);
    CHECK_EQ (curvecp_stream_write (a, (const uint8_t *) "2", 1), 1);
    len = produce (a, 0, out, &m);
    CHECK_EQ (m.position, 1030);
    CHECK_EQ (curvecp_stream_receive (b, out, len, 40 * MS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_deadline (b), 40 * MS);
    CHECK (produce (b, 40 * MS, out, &m) > 0);
    CHECK_EQ (m.range1_end, 1029);
    CHECK_EQ (curvecp_stream_receive (b, first, first_len, 41 * MS), CURVECP_OK);
    CHECK (produce (b, 42 * MS, out, &m) > 0);   /* the hole filled: at most the delay */
    CHECK_EQ (m.range1_end, 1031);
    /* an EOF: at once */
    CHECK_EQ (curvecp_stream_close (a, CURVECP_EOF_SUCCESS), CURVECP_OK);
    len = produce (a, 0, out, &m);
    CHECK_EQ (m.eof, CURVECP_EOF_SUCCESS);
    check_acked_at_once (b, out, len, 50 * MS, m.id);
    curvecp_stream_destroy (&a);
    curvecp_stream_destroy (&b);
    ack_delay_ns = 0;
}

int
main (void)
{
    test_ids_and_resend ();
    test_blocks_in_flight ();
    test_selective_acks ();
    test_zero_length_eof ();
    test_eof_after_data_and_client_blocks ();
    test_bad_messages ();
    test_ping ();
    test_nudge ();
    test_give_up ();
    test_slow_reader ();
    test_in_place (0);
    test_in_place (4096);
    test_ack_delay ();
    printf ("test_stream: OK\n");
    return 0;
}
