/*  test_stream_send.c - the sending side of the stream on its own
    (curvecp_stream_send): blocks cut in stream order and sent under new
    IDs, range acknowledgments marking exactly the blocks they cover and
    freeing buffer space, selective ranges revealing a loss that is
    repaired before its timer, timers resending the oldest block first,
    the EOF block and its acknowledgment, window updates, the flight
    limits, and bad calls and acknowledgments refused without a change. */
#include "core/curvecp_stream_common.h"
#include "core/curvecp_stream_send.h"
#include "curvecp_constants.h"
#include "testutil.h"

#define MS 1000000ull
#define RTO (100 * MS)

typedef struct {
    curvecp_stream_config_t config;
    curvecp_stream_info_t info;
    curvecp_stream_send_t send;
} side_t;

static void
side_init (side_t *self, bool is_client)
{
    curvecp_stream_config_default (&self->config);
    self->config.is_client = is_client;
    curvecp_stream_config_complete (&self->config);
    memset (&self->info, 0, sizeof self->info);
    curvecp_stream_send_init (&self->send, &self->config, &self->info);
}

static void
fill (uint8_t *data, size_t len, uint64_t from)
{
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t) ((from + i) * 7 + 3);
}

/* Next block at now, transmitted; the message is decoded into m. */
static curvecp_stream_block_t *
next_sent (side_t *self, uint64_t now, curvecp_stream_send_why_t expect, curvecp_message_t *m, uint8_t *out)
{
    curvecp_stream_send_why_t why;
    curvecp_stream_block_t *block = curvecp_stream_send_next (&self->send, now, RTO, CURVECP_MSG_MAX, &why);
    CHECK_EQ (why, expect);
    CHECK (block);
    curvecp_message_t message;
    memset (&message, 0, sizeof message);
    size_t len = curvecp_stream_send_transmit (&self->send, block, now, &message, out, CURVECP_MSG_MAX);
    CHECK (len > 0);
    CHECK_EQ (curvecp_message_decode (out, len, m), CURVECP_OK);
    return block;
}

static void
check_nothing (side_t *self, uint64_t now)
{
    curvecp_stream_send_why_t why;
    CHECK (curvecp_stream_send_next (&self->send, now, RTO, CURVECP_MSG_MAX, &why) == NULL);
    CHECK_EQ (why, CURVECP_STREAM_SEND_NONE);
}

/* An acknowledgment as a receiver sends it: range 1, then selective
   ranges [start[i], end[i]). */
static curvecp_stream_acked_t
ack (side_t *self, uint32_t id, uint32_t acked_id, uint64_t range1, const uint64_t *start, const uint64_t *end,
     int count)
{
    curvecp_message_t m;
    memset (&m, 0, sizeof m);
    m.id = id;
    m.acked_id = acked_id;
    CHECK_EQ (curvecp_message_set_ranges (&m, range1, start, end, count), count);
    CHECK (curvecp_stream_send_ack_plausible (&self->send, &m));
    return curvecp_stream_send_ack (&self->send, &m, 0);
}

/* Blocks are cut in stream order, 1024 bytes (512 for a client that
   heard nothing), each under the next ID, with the data written. */
static void
test_blocks_in_order (void)
{
    side_t side;
    side_init (&side, false);
    uint8_t data[3000], out[CURVECP_MSG_MAX];
    fill (data, sizeof data, 0);
    check_nothing (&side, 0);
    CHECK_EQ (curvecp_stream_send_write (&side.send, data, sizeof data), sizeof data);
    CHECK_EQ (curvecp_stream_send_writable (&side.send), side.config.send_buffer - sizeof data);
    curvecp_message_t m;
    uint64_t expect_position[3] = { 0, 1024, 2048 };
    uint32_t expect_length[3] = { 1024, 1024, 952 };
    for (int i = 0; i < 3; i++) {
        curvecp_stream_block_t *block = next_sent (&side, 10, i == 0 ? CURVECP_STREAM_SEND_FIRST
                                                              : CURVECP_STREAM_SEND_NEW, &m, out);
        CHECK_EQ (block->position, expect_position[i]);
        CHECK_EQ (block->length, expect_length[i]);
        CHECK_EQ (m.id, (uint32_t) i + 1);
        CHECK_EQ (m.position, expect_position[i]);
        CHECK_EQ (m.data_len, expect_length[i]);
        CHECK_EQ (m.eof, CURVECP_EOF_NONE);
        CHECK_MEM (m.data, data + expect_position[i], expect_length[i]);
    }
    CHECK_EQ (curvecp_stream_send_blocks (&side.send), 3);
    CHECK_EQ (side.info.blocks_sent, 3);
    check_nothing (&side, 10);
    CHECK (!curvecp_stream_send_all_acked (&side.send));
    curvecp_stream_send_term (&side.send);

    /* a client's blocks stay at 512 bytes until the peer is heard */
    side_init (&side, true);
    CHECK_EQ (curvecp_stream_send_write (&side.send, data, sizeof data), sizeof data);
    CHECK_EQ (curvecp_stream_send_block_max (&side.send), 512);
    CHECK_EQ (next_sent (&side, 0, CURVECP_STREAM_SEND_FIRST, &m, out)->length, 512);
    curvecp_stream_send_peer_heard (&side.send);
    CHECK_EQ (next_sent (&side, 0, CURVECP_STREAM_SEND_NEW, &m, out)->length, 1024);
    curvecp_stream_send_term (&side.send);
}

/* Range 1 releases the blocks it covers (and frees their buffer space);
   a selective range marks exactly the whole blocks inside it, which stay
   in the buffer until range 1 reaches them. */
static void
test_range_acknowledgment (void)
{
    side_t side;
    side_init (&side, false);
    uint8_t data[4096], out[CURVECP_MSG_MAX];
    fill (data, sizeof data, 0);
    CHECK_EQ (curvecp_stream_send_write (&side.send, data, sizeof data), sizeof data);
    curvecp_message_t m;
    curvecp_stream_block_t *blocks[4];
    for (int i = 0; i < 4; i++)
        blocks[i] = next_sent (&side, 0, i ? CURVECP_STREAM_SEND_NEW : CURVECP_STREAM_SEND_FIRST, &m, out);
    size_t free_space = side.config.send_buffer - sizeof data;
    CHECK_EQ (curvecp_stream_send_writable (&side.send), free_space);

    /* range 1 up to 1024 and a selective range over the third block and
       the fourth but its last byte: only the third is acknowledged */
    uint64_t start[1] = { 2048 }, end[1] = { 4095 };
    curvecp_stream_acked_t acked = ack (&side, 1, 0, 1024, start, end, 1);
    CHECK (!acked.loss);
    CHECK_EQ (curvecp_stream_send_blocks (&side.send), 3);
    CHECK_EQ (curvecp_stream_send_writable (&side.send), free_space + 1024);
    CHECK (!blocks[1]->acked);
    CHECK (blocks[2]->acked);
    CHECK (!blocks[3]->acked);
    CHECK (blocks[3]->seen_below_top);      /* the receiver hid its top byte */

    /* range 1 over the second block releases it and the third */
    acked = ack (&side, 2, 0, 2048, start, end, 0);
    CHECK_EQ (curvecp_stream_send_blocks (&side.send), 1);
    CHECK_EQ (curvecp_stream_send_writable (&side.send), free_space + 3072);
    acked = ack (&side, 3, 0, 4096, NULL, NULL, 0);
    CHECK_EQ (curvecp_stream_send_blocks (&side.send), 0);
    CHECK_EQ (curvecp_stream_send_writable (&side.send), side.config.send_buffer);
    CHECK (curvecp_stream_send_all_acked (&side.send));

    /* an acknowledgment of bytes never sent is implausible (the stream
       refuses such a message before anything changes) */
    memset (&m, 0, sizeof m);
    m.range1_end = 4097;
    CHECK (!curvecp_stream_send_ack_plausible (&side.send, &m));
    m.range1_end = 4096;
    CHECK (curvecp_stream_send_ack_plausible (&side.send, &m));
    curvecp_stream_send_term (&side.send);
}

/* An acknowledged ID gives an RTT sample from that transmission; without
   one, the newest block sent once that the ranges cover gives it. */
static void
test_rtt_samples (void)
{
    side_t side;
    side_init (&side, false);
    uint8_t data[3072], out[CURVECP_MSG_MAX];
    fill (data, sizeof data, 0);
    CHECK_EQ (curvecp_stream_send_write (&side.send, data, sizeof data), sizeof data);
    curvecp_message_t m;
    for (int i = 0; i < 3; i++)
        next_sent (&side, 100 + (uint64_t) i, i ? CURVECP_STREAM_SEND_NEW : CURVECP_STREAM_SEND_FIRST, &m, out);
    curvecp_stream_acked_t acked = ack (&side, 1, 1, 1024, NULL, NULL, 0);
    CHECK (acked.rtt_sample);
    CHECK_EQ (acked.sent_at, 100);
    uint64_t start[1] = { 2048 }, end[1] = { 3072 };
    acked = ack (&side, 2, 0, 1024, start, end, 1);
    CHECK (acked.rtt_sample);
    CHECK_EQ (acked.sent_at, 102);
    acked = ack (&side, 3, 0, 1024, start, end, 1);
    CHECK (!acked.rtt_sample);              /* nothing new covered */
    curvecp_stream_send_term (&side.send);
}

/* A hole below three later acknowledged transmissions is a loss: the
   block is resent at once, before its timer, and only it. */
static void
test_loss_repaired_early (void)
{
    side_t side;
    side_init (&side, false);
    uint8_t data[5120], out[CURVECP_MSG_MAX];
    fill (data, sizeof data, 0);
    CHECK_EQ (curvecp_stream_send_write (&side.send, data, sizeof data), sizeof data);
    curvecp_message_t m;
    for (int i = 0; i < 5; i++)
        next_sent (&side, 0, i ? CURVECP_STREAM_SEND_NEW : CURVECP_STREAM_SEND_FIRST, &m, out);
    /* two later blocks acknowledged: not yet evidence enough */
    uint64_t start[1] = { 1024 }, end[1] = { 3072 };
    CHECK (!ack (&side, 1, 0, 0, start, end, 1).loss);
    check_nothing (&side, 1);
    /* a third: the first block is lost (the fifth, above the ranges,
       may still arrive) */
    end[0] = 4096;
    CHECK (ack (&side, 2, 0, 0, start, end, 1).loss);
    curvecp_stream_block_t *block = next_sent (&side, 1, CURVECP_STREAM_SEND_REPAIR, &m, out);
    CHECK_EQ (block->position, 0);
    CHECK_EQ (m.id, 6);                     /* a resend goes under a new ID */
    CHECK_MEM (m.data, data, 1024);
    CHECK_EQ (side.info.retransmissions, 1);
    CHECK_EQ (side.info.timeouts, 0);
    check_nothing (&side, 1);
    ack (&side, 3, 6, 5120, NULL, NULL, 0);
    CHECK (curvecp_stream_send_all_acked (&side.send));
    curvecp_stream_send_term (&side.send);
}

/* Timers: nothing before rto; then the oldest unacknowledged block
   first, then the next oldest; the deadline says when. */
static void
test_timer_resends_oldest (void)
{
    side_t side;
    side_init (&side, false);
    uint8_t data[3072], out[CURVECP_MSG_MAX];
    fill (data, sizeof data, 0);
    CHECK_EQ (curvecp_stream_send_write (&side.send, data, sizeof data), sizeof data);
    curvecp_message_t m;
    for (int i = 0; i < 3; i++)
        next_sent (&side, (uint64_t) i * MS, i ? CURVECP_STREAM_SEND_NEW : CURVECP_STREAM_SEND_FIRST, &m, out);
    /* the second block is acknowledged (selectively): never resent */
    uint64_t start[1] = { 1024 }, end[1] = { 2048 };
    ack (&side, 1, 0, 0, start, end, 1);
    CHECK_EQ (curvecp_stream_send_next_time (&side.send, RTO), RTO);
    check_nothing (&side, RTO - 1);
    curvecp_stream_block_t *block = next_sent (&side, RTO, CURVECP_STREAM_SEND_TIMEOUT, &m, out);
    CHECK_EQ (block->position, 0);
    CHECK_EQ (block->tries, 1);
    check_nothing (&side, RTO);
    CHECK_EQ (curvecp_stream_send_next_time (&side.send, RTO), 2 * MS + RTO);
    block = next_sent (&side, 2 * MS + RTO, CURVECP_STREAM_SEND_TIMEOUT, &m, out);
    CHECK_EQ (block->position, 2048);
    CHECK_EQ (side.info.timeouts, 2);
    /* the first block backed off: twice the timeout from its resend */
    CHECK_EQ (curvecp_stream_send_next_time (&side.send, RTO), RTO + 2 * RTO);
    curvecp_stream_send_term (&side.send);
}

/* The EOF goes with the last data, or alone after it, and needs range 1
   one past the end of the stream. */
static void
test_eof_block (void)
{
    side_t side;
    side_init (&side, false);
    uint8_t data[100], out[CURVECP_MSG_MAX];
    fill (data, sizeof data, 0);
    CHECK_EQ (curvecp_stream_send_close (&side.send, CURVECP_EOF_NONE), CURVECP_E_BAD_ARGUMENT);
    CHECK_EQ (curvecp_stream_send_write (&side.send, data, sizeof data), sizeof data);
    CHECK_EQ (curvecp_stream_send_close (&side.send, CURVECP_EOF_SUCCESS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_send_close (&side.send, CURVECP_EOF_FAILURE), CURVECP_E_WRONG_STATE);
    CHECK_EQ (curvecp_stream_send_writable (&side.send), 0);
    CHECK_EQ (curvecp_stream_send_write (&side.send, data, 1), 0);
    curvecp_message_t m;
    curvecp_stream_block_t *block = next_sent (&side, 0, CURVECP_STREAM_SEND_FIRST, &m, out);
    CHECK (block->eof);
    CHECK_EQ (m.eof, CURVECP_EOF_SUCCESS);
    CHECK_EQ (m.data_len, 100);
    check_nothing (&side, 0);
    /* range 1 up to the last byte is not yet the EOF */
    ack (&side, 1, 0, 100, NULL, NULL, 0);
    CHECK_EQ (curvecp_stream_send_blocks (&side.send), 1);
    CHECK (!curvecp_stream_send_eof_acked (&side.send));
    memset (&m, 0, sizeof m);
    m.range1_end = 102;
    CHECK (!curvecp_stream_send_ack_plausible (&side.send, &m));
    ack (&side, 2, 0, 101, NULL, NULL, 0);
    CHECK (curvecp_stream_send_eof_acked (&side.send));
    CHECK (curvecp_stream_send_all_acked (&side.send));
    curvecp_stream_send_term (&side.send);

    /* an EOF after everything was sent is an empty block of its own */
    side_init (&side, false);
    CHECK_EQ (curvecp_stream_send_write (&side.send, data, sizeof data), sizeof data);
    next_sent (&side, 0, CURVECP_STREAM_SEND_FIRST, &m, out);
    CHECK_EQ (curvecp_stream_send_close (&side.send, CURVECP_EOF_FAILURE), CURVECP_OK);
    block = next_sent (&side, 0, CURVECP_STREAM_SEND_NEW, &m, out);
    CHECK (block->eof);
    CHECK_EQ (block->length, 0);
    CHECK_EQ (block->position, 100);
    CHECK_EQ (m.eof, CURVECP_EOF_FAILURE);
    ack (&side, 1, 0, 100, NULL, NULL, 0);
    CHECK (!curvecp_stream_send_eof_acked (&side.send));
    ack (&side, 2, 0, 101, NULL, NULL, 0);
    CHECK (curvecp_stream_send_eof_acked (&side.send));
    curvecp_stream_send_term (&side.send);
}

/* The ping: an empty block at 0, once, only before anything was sent. */
static void
test_ping (void)
{
    side_t side;
    side_init (&side, true);
    uint8_t out[CURVECP_MSG_MAX];
    check_nothing (&side, 0);
    CHECK_EQ (curvecp_stream_send_ping (&side.send), CURVECP_OK);
    curvecp_message_t m;
    curvecp_stream_block_t *block = next_sent (&side, 0, CURVECP_STREAM_SEND_FIRST, &m, out);
    CHECK_EQ (block->length, 0);
    CHECK_EQ (block->position, 0);
    CHECK (!block->eof);
    CHECK_EQ (curvecp_stream_send_ping (&side.send), CURVECP_E_WRONG_STATE);
    check_nothing (&side, 0);
    curvecp_stream_send_term (&side.send);
}

/* A window update (a pure acknowledgment naming no message) makes the
   blocks the timer holds back due at once, in stream order. */
static void
test_window_update (void)
{
    side_t side;
    side_init (&side, false);
    uint8_t data[2048], out[CURVECP_MSG_MAX];
    fill (data, sizeof data, 0);
    CHECK_EQ (curvecp_stream_send_write (&side.send, data, sizeof data), sizeof data);
    curvecp_message_t m;
    next_sent (&side, 0, CURVECP_STREAM_SEND_FIRST, &m, out);
    next_sent (&side, 0, CURVECP_STREAM_SEND_NEW, &m, out);
    next_sent (&side, RTO, CURVECP_STREAM_SEND_TIMEOUT, &m, out);
    next_sent (&side, RTO, CURVECP_STREAM_SEND_TIMEOUT, &m, out);
    check_nothing (&side, RTO + 1);
    /* an acknowledgment with an ID is not a window update */
    ack (&side, 7, 0, 0, NULL, NULL, 0);
    check_nothing (&side, RTO + 1);
    ack (&side, 0, 0, 0, NULL, NULL, 0);
    CHECK_EQ (curvecp_stream_send_next_time (&side.send, RTO), 0);
    CHECK_EQ (next_sent (&side, RTO + 1, CURVECP_STREAM_SEND_REPAIR, &m, out)->position, 0);
    CHECK_EQ (next_sent (&side, RTO + 1, CURVECP_STREAM_SEND_REPAIR, &m, out)->position, 1024);
    curvecp_stream_send_term (&side.send);
}

/* Towards curvecpmessage (no window announced): 128 blocks, 128 KiB
   beyond range 1; a peer announcing a larger window gets more only if
   our config allows it. */
static void
test_flight_limits (void)
{
    side_t side;
    side_init (&side, false);
    static uint8_t data[200 * 1024];
    uint8_t out[CURVECP_MSG_MAX];
    fill (data, sizeof data, 0);
    CHECK_EQ (curvecp_stream_send_write (&side.send, data, sizeof data), side.config.send_buffer);
    curvecp_message_t m;
    /* while data waits and the flight may grow, the next send is due at
       once, also when the table is full and must widen first (a carrier
       sleeping until this time would otherwise wait for a timer) */
    for (int i = 0; i < CURVECP_STREAM_BLOCKS_MAX; i++) {
        CHECK_EQ (curvecp_stream_send_next_time (&side.send, RTO), 0);
        next_sent (&side, 0, i ? CURVECP_STREAM_SEND_NEW : CURVECP_STREAM_SEND_FIRST, &m, out);
    }
    check_nothing (&side, 0);
    CHECK (curvecp_stream_send_next_time (&side.send, RTO) > 0);       /* the flight is full: the timer's */
    CHECK_EQ (side.info.most_in_flight, CURVECP_STREAM_BLOCKS_MAX);
    /* a window announcement this side is not configured to use */
    curvecp_stream_send_set_peer_window (&side.send, 1 << 20);
    CHECK_EQ (curvecp_stream_send_peer_window (&side.send), 1 << 20);
    CHECK_EQ (curvecp_stream_send_flight_bytes_max (&side.send), CURVECP_STREAM_PEER_WINDOW);
    CHECK_EQ (curvecp_stream_send_flight_blocks_max (&side.send), CURVECP_STREAM_BLOCKS_MAX);
    check_nothing (&side, 0);
    curvecp_stream_send_term (&side.send);

    /* a wider config and a wide peer: the table widens past 128 */
    curvecp_stream_config_default (&side.config);
    side.config.send_buffer = sizeof data;
    side.config.blocks_max = 256;
    side.config.peer_window_max = 1 << 20;
    curvecp_stream_config_complete (&side.config);
    memset (&side.info, 0, sizeof side.info);
    curvecp_stream_send_init (&side.send, &side.config, &side.info);
    size_t inline_memory = curvecp_stream_send_memory (&side.send);
    CHECK_EQ (curvecp_stream_send_write (&side.send, data, sizeof data), sizeof data);
    curvecp_stream_send_set_peer_window (&side.send, 1 << 20);
    CHECK_EQ (curvecp_stream_send_flight_blocks_max (&side.send), 256);
    for (int i = 0; i < 200; i++) {
        CHECK_EQ (curvecp_stream_send_next_time (&side.send, RTO), 0);
        next_sent (&side, 0, i ? CURVECP_STREAM_SEND_NEW : CURVECP_STREAM_SEND_FIRST, &m, out);
    }
    check_nothing (&side, 0);
    CHECK (curvecp_stream_send_next_time (&side.send, RTO) > 0);       /* every byte cut */
    CHECK_EQ (inline_memory, 0);
    CHECK (curvecp_stream_send_memory (&side.send) > side.config.send_buffer);     /* the wide table */
    ack (&side, 1, 0, sizeof data, NULL, NULL, 0);
    CHECK (curvecp_stream_send_all_acked (&side.send));
    /* the empty buffer goes after idle_release_ns, and the wide table with it */
    CHECK_EQ (curvecp_stream_send_release_time (&side.send, false), side.config.idle_release_ns);
    curvecp_stream_send_release_idle (&side.send, side.config.idle_release_ns - 1, false);
    CHECK (curvecp_stream_send_memory (&side.send) > 0);
    curvecp_stream_send_release_idle (&side.send, side.config.idle_release_ns, false);
    CHECK_EQ (curvecp_stream_send_memory (&side.send), 0);
    CHECK_EQ (side.info.buffer_allocations, 1);
    CHECK_EQ (side.info.buffer_releases, 1);
    curvecp_stream_send_term (&side.send);
}

/* Bad calls change nothing. */
static void
test_bad_calls (void)
{
    side_t side;
    side_init (&side, false);
    CHECK_EQ (curvecp_stream_send_set_block_max (&side.send, 1023), CURVECP_E_BAD_ARGUMENT);
    CHECK_EQ (curvecp_stream_send_set_block_max (&side.send, CURVECP_MESSAGE_LARGE_DATA_MAX + 1),
              CURVECP_E_BAD_ARGUMENT);
    CHECK_EQ (curvecp_stream_send_block_max (&side.send), 1024);
    CHECK_EQ (curvecp_stream_send_set_block_max (&side.send, 4096), CURVECP_OK);
    CHECK_EQ (curvecp_stream_send_block_max (&side.send), 4096);
    /* an acknowledgment naming an ID we never used marks nothing */
    uint8_t data[1024], out[CURVECP_MSG_MAX];
    fill (data, sizeof data, 0);
    CHECK_EQ (curvecp_stream_send_write (&side.send, data, sizeof data), sizeof data);
    curvecp_message_t m;
    next_sent (&side, 0, CURVECP_STREAM_SEND_FIRST, &m, out);
    curvecp_stream_acked_t acked = ack (&side, 1, 99, 0, NULL, NULL, 0);
    CHECK (!acked.rtt_sample);
    CHECK (!acked.loss);
    CHECK_EQ (curvecp_stream_send_blocks (&side.send), 1);
    curvecp_stream_send_set_next_id (&side.send, 0);    /* 0 is skipped */
    next_sent (&side, RTO, CURVECP_STREAM_SEND_TIMEOUT, &m, out);
    CHECK_EQ (m.id, 1);
    curvecp_stream_send_set_next_id (&side.send, UINT32_MAX);
    next_sent (&side, 3 * RTO, CURVECP_STREAM_SEND_TIMEOUT, &m, out);
    CHECK_EQ (m.id, UINT32_MAX);
    next_sent (&side, 7 * RTO, CURVECP_STREAM_SEND_TIMEOUT, &m, out);
    CHECK_EQ (m.id, 1);
    curvecp_stream_send_term (&side.send);
}

int
main (void)
{
    test_blocks_in_order ();
    test_range_acknowledgment ();
    test_rtt_samples ();
    test_loss_repaired_early ();
    test_timer_resends_oldest ();
    test_eof_block ();
    test_ping ();
    test_window_update ();
    test_flight_limits ();
    test_bad_calls ();
    printf ("test_stream_send: ok\n");
    return 0;
}
