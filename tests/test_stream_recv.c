/*  test_stream_recv.c - the receiving side of the stream on its own
    (curvecp_stream_recv): out-of-order pieces reassembled, duplicates
    and overlaps harmless, the ranges we report (the top one a byte short
    until the EOF is known, the fifth one the piece just acknowledged),
    the IDs we name (curvecpmessage's rules), the receive window (data
    beyond it refused with a reason and no change, a window update once
    read), the reassembly list limit, EOF kinds and contradictions, the
    ack delay, the nudge, and the idle buffer's release.               */
#include "core/curvecp_stream_common.h"
#include "core/curvecp_stream_recv.h"
#include "testutil.h"

#define MS 1000000ull

typedef struct {
    curvecp_stream_config_t config;
    curvecp_stream_info_t info;
    curvecp_stream_recv_t recv;
} side_t;

/* The byte at stream position p (every piece of a stream agrees). */
static uint8_t
byte_at (uint64_t p)
{
    return (uint8_t) (p * 13 + 5);
}

static void
side_init (side_t *self, size_t window, uint64_t ack_delay_ns)
{
    curvecp_stream_config_default (&self->config);
    if (window)
        self->config.receive_window = window;
    self->config.ack_delay_ns = ack_delay_ns;
    curvecp_stream_config_complete (&self->config);
    memset (&self->info, 0, sizeof self->info);
    curvecp_stream_recv_init (&self->recv, &self->config, &self->info);
}

/* A data message with ID id carrying [position, position + len). */
static curvecp_reason_t
deliver (side_t *self, uint32_t id, uint64_t position, size_t len, curvecp_eof_t eof, uint64_t now)
{
    static uint8_t data[CURVECP_MESSAGE_DATA_MAX];
    CHECK (len <= sizeof data);
    for (size_t i = 0; i < len; i++)
        data[i] = byte_at (position + i);
    curvecp_message_t m;
    memset (&m, 0, sizeof m);
    m.id = id;
    m.position = position;
    m.data_len = (uint32_t) len;
    m.data = data;
    m.eof = eof;
    CHECK (curvecp_stream_recv_data_plausible (&self->recv, &m));
    return curvecp_stream_recv_data (&self->recv, &m, now);
}

typedef struct {
    uint32_t acked_id;
    int count;                          /* ranges, range 1 included */
    uint64_t start[CURVECP_MESSAGE_RANGES], end[CURVECP_MESSAGE_RANGES];
} ack_t;

static ack_t
take_ack (side_t *self)
{
    curvecp_message_t m;
    memset (&m, 0, sizeof m);
    curvecp_stream_recv_fill_ack (&self->recv, &m);
    ack_t ack;
    ack.acked_id = m.acked_id;
    ack.count = curvecp_message_ranges (&m, ack.start, ack.end);
    return ack;
}

/* Read everything readable and check it is the stream's bytes from at. */
static size_t
read_all (side_t *self, uint64_t at)
{
    static uint8_t out[1 << 17];
    size_t len = curvecp_stream_recv_read (&self->recv, out, sizeof out, 0);
    for (size_t i = 0; i < len; i++)
        CHECK_EQ (out[i], byte_at (at + i));
    return len;
}

static void
test_in_order (void)
{
    side_t side;
    side_init (&side, 0, 0);
    CHECK (!curvecp_stream_recv_ack_due (&side.recv, 0));
    CHECK_EQ (curvecp_stream_recv_ack_time (&side.recv), UINT64_MAX);
    CHECK_EQ (deliver (&side, 1, 0, 1024, CURVECP_EOF_NONE, 5), CURVECP_OK);
    CHECK_EQ (curvecp_stream_recv_readable (&side.recv), 1024);
    CHECK (curvecp_stream_recv_ack_due (&side.recv, 5));
    ack_t ack = take_ack (&side);
    CHECK_EQ (ack.acked_id, 1);
    CHECK_EQ (ack.count, 1);
    CHECK_EQ (ack.end[0], 1024);
    CHECK (!curvecp_stream_recv_ack_due (&side.recv, 5));
    CHECK_EQ (read_all (&side, 0), 1024);
    CHECK_EQ (curvecp_stream_recv_readable (&side.recv), 0);
    CHECK_EQ (curvecp_stream_recv_eof (&side.recv), CURVECP_EOF_NONE);
    curvecp_stream_recv_term (&side.recv);
}

/* Pieces arriving out of order wait in the reassembly list and show up
   as selective ranges; only a message completing range 1 is named. */
static void
test_out_of_order (void)
{
    side_t side;
    side_init (&side, 0, 0);
    CHECK_EQ (deliver (&side, 2, 1024, 1024, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (deliver (&side, 3, 3072, 1024, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (curvecp_stream_recv_readable (&side.recv), 0);
    ack_t ack = take_ack (&side);
    CHECK_EQ (ack.acked_id, 0);             /* nothing may be named yet */
    CHECK_EQ (ack.count, 3);
    CHECK_EQ (ack.end[0], 0);
    CHECK_EQ (ack.start[1], 1024);
    CHECK_EQ (ack.end[1], 2048);
    CHECK_EQ (ack.start[2], 3072);
    CHECK_EQ (ack.end[2], 4095);            /* a byte short: the EOF is unknown */

    CHECK_EQ (deliver (&side, 4, 0, 1024, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (curvecp_stream_recv_readable (&side.recv), 2048);
    ack = take_ack (&side);
    CHECK_EQ (ack.acked_id, 4);
    CHECK_EQ (ack.count, 2);
    CHECK_EQ (ack.end[0], 2048);
    CHECK_EQ (ack.start[1], 3072);
    CHECK_EQ (ack.end[1], 4095);

    /* a new piece above range 1 is answered under the latest nameable ID */
    CHECK_EQ (deliver (&side, 9, 5000, 100, CURVECP_EOF_NONE, 0), CURVECP_OK);
    ack = take_ack (&side);
    CHECK_EQ (ack.acked_id, 4);
    CHECK_EQ (ack.count, 3);
    CHECK_EQ (ack.end[1], 4096);            /* no longer the top range: whole */
    CHECK_EQ (ack.end[2], 5099);

    CHECK_EQ (deliver (&side, 5, 2048, 1024, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (curvecp_stream_recv_readable (&side.recv), 4096);
    ack = take_ack (&side);
    CHECK_EQ (ack.acked_id, 5);
    CHECK_EQ (ack.end[0], 4096);
    CHECK_EQ (read_all (&side, 0), 4096);
    CHECK_EQ (side.info.duplicate_bytes, 0);
    curvecp_stream_recv_term (&side.recv);
}

/* Duplicates and overlapping pieces store only what is new, count the
   rest, and are never named. */
static void
test_duplicates_and_overlaps (void)
{
    side_t side;
    side_init (&side, 0, 0);
    CHECK_EQ (deliver (&side, 1, 0, 1000, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (take_ack (&side).acked_id, 1);
    /* whole duplicate of range 1 */
    CHECK_EQ (deliver (&side, 2, 0, 1000, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (side.info.duplicate_bytes, 1000);
    CHECK_EQ (side.info.duplicate_blocks, 1);
    CHECK_EQ (take_ack (&side).acked_id, 1);
    /* overlapping range 1: the new part is stored */
    CHECK_EQ (deliver (&side, 3, 500, 1000, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (side.info.duplicate_bytes, 1500);
    CHECK_EQ (curvecp_stream_recv_readable (&side.recv), 1500);
    CHECK_EQ (take_ack (&side).acked_id, 3);
    /* overlapping pieces above range 1 merge into one interval */
    CHECK_EQ (deliver (&side, 4, 6000, 1000, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (deliver (&side, 5, 6500, 1000, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (side.recv.interval_count, 1);
    CHECK_EQ (deliver (&side, 6, 6200, 300, CURVECP_EOF_NONE, 0), CURVECP_OK);     /* held whole */
    CHECK_EQ (side.info.duplicate_blocks, 2);
    ack_t ack = take_ack (&side);
    CHECK_EQ (ack.acked_id, 3);
    CHECK_EQ (ack.count, 2);
    CHECK_EQ (ack.start[1], 6000);
    CHECK_EQ (ack.end[1], 7499);
    /* the hole closes: everything reads back in order */
    CHECK_EQ (deliver (&side, 7, 1500, 1000, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (deliver (&side, 8, 2500, 1000, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (deliver (&side, 9, 3500, 1000, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (deliver (&side, 10, 4500, 1000, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (deliver (&side, 11, 5500, 1000, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (curvecp_stream_recv_readable (&side.recv), 7500);
    CHECK_EQ (side.recv.interval_count, 0);
    CHECK_EQ (read_all (&side, 0), 7500);
    curvecp_stream_recv_term (&side.recv);
}

/* More pieces than range fields: the four lowest, then the piece holding
   the data of the message we acknowledge. */
static void
test_fifth_range (void)
{
    side_t side;
    side_init (&side, 0, 0);
    for (uint32_t i = 1; i <= 7; i++)
        CHECK_EQ (deliver (&side, i, 1000 * i, 100, CURVECP_EOF_NONE, 0), CURVECP_OK);
    ack_t ack = take_ack (&side);
    CHECK_EQ (ack.count, 6);
    for (int i = 1; i <= 4; i++) {
        CHECK_EQ (ack.start[i], 1000 * (uint64_t) i);
        CHECK_EQ (ack.end[i], 1000 * (uint64_t) i + 100);
    }
    CHECK_EQ (ack.start[5], 7000);
    CHECK_EQ (ack.end[5], 7099);
    curvecp_stream_recv_term (&side.recv);
}

/* The top range stops a byte short until the EOF is known (a lone byte
   on top is not reported at all); range 1 reaches one past the end once
   everything up to the EOF arrived. */
static void
test_top_range_and_eof (void)
{
    side_t side;
    side_init (&side, 0, 0);
    CHECK_EQ (deliver (&side, 1, 1024, 1, CURVECP_EOF_NONE, 0), CURVECP_OK);
    ack_t ack = take_ack (&side);
    CHECK_EQ (ack.count, 1);
    CHECK_EQ (deliver (&side, 2, 1025, 1023, CURVECP_EOF_NONE, 0), CURVECP_OK);
    ack = take_ack (&side);
    CHECK_EQ (ack.count, 2);
    CHECK_EQ (ack.start[1], 1024);
    CHECK_EQ (ack.end[1], 2047);
    /* the EOF alone after the data: now the whole top range shows */
    CHECK_EQ (deliver (&side, 3, 2048, 0, CURVECP_EOF_FAILURE, 0), CURVECP_OK);
    ack = take_ack (&side);
    CHECK_EQ (ack.end[0], 0);
    CHECK_EQ (ack.end[1], 2048);
    CHECK_EQ (curvecp_stream_recv_eof (&side.recv), CURVECP_EOF_NONE);
    CHECK_EQ (deliver (&side, 4, 0, 1024, CURVECP_EOF_NONE, 0), CURVECP_OK);
    ack = take_ack (&side);
    CHECK_EQ (ack.acked_id, 4);
    CHECK_EQ (ack.count, 1);
    CHECK_EQ (ack.end[0], 2049);            /* total + 1: the EOF too */
    CHECK_EQ (curvecp_stream_recv_eof (&side.recv), CURVECP_EOF_NONE);   /* not read yet */
    CHECK_EQ (read_all (&side, 0), 2048);
    CHECK_EQ (curvecp_stream_recv_eof (&side.recv), CURVECP_EOF_FAILURE);
    curvecp_stream_recv_term (&side.recv);
}

/* EOF kinds, the empty stream, and messages contradicting a known EOF
   (the stream refuses them before anything changes). */
static void
test_eof_kinds (void)
{
    side_t side;
    side_init (&side, 0, 0);
    CHECK_EQ (deliver (&side, 1, 0, 0, CURVECP_EOF_SUCCESS, 0), CURVECP_OK);
    CHECK_EQ (curvecp_stream_recv_eof (&side.recv), CURVECP_EOF_SUCCESS);
    ack_t ack = take_ack (&side);
    CHECK_EQ (ack.acked_id, 1);
    CHECK_EQ (ack.end[0], 1);
    curvecp_stream_recv_term (&side.recv);

    side_init (&side, 0, 0);
    CHECK_EQ (deliver (&side, 1, 0, 100, CURVECP_EOF_SUCCESS, 0), CURVECP_OK);
    CHECK_EQ (take_ack (&side).end[0], 101);
    curvecp_message_t m;
    memset (&m, 0, sizeof m);
    m.position = 100;
    m.data_len = 1;                          /* beyond the end */
    CHECK (!curvecp_stream_recv_data_plausible (&side.recv, &m));
    m.data_len = 0;
    m.eof = CURVECP_EOF_FAILURE;             /* another kind */
    CHECK (!curvecp_stream_recv_data_plausible (&side.recv, &m));
    m.position = 50;
    m.eof = CURVECP_EOF_SUCCESS;             /* another end */
    CHECK (!curvecp_stream_recv_data_plausible (&side.recv, &m));
    m.position = 0;
    m.data_len = 100;                        /* the same again: fine */
    CHECK (curvecp_stream_recv_data_plausible (&side.recv, &m));
    curvecp_stream_recv_term (&side.recv);

    /* before the EOF is known: an EOF below data we hold is a lie */
    side_init (&side, 0, 0);
    CHECK_EQ (deliver (&side, 1, 1000, 100, CURVECP_EOF_NONE, 0), CURVECP_OK);
    memset (&m, 0, sizeof m);
    m.position = 500;
    m.eof = CURVECP_EOF_SUCCESS;
    CHECK (!curvecp_stream_recv_data_plausible (&side.recv, &m));
    m.position = 1100;
    CHECK (curvecp_stream_recv_data_plausible (&side.recv, &m));
    curvecp_stream_recv_term (&side.recv);
}

/* Data beyond the window is refused with a reason and changes nothing
   stored, but is acknowledged; reading then sends a window update. */
static void
test_window (void)
{
    side_t side;
    side_init (&side, 4096, 0);
    for (uint32_t i = 0; i < 4; i++)
        CHECK_EQ (deliver (&side, i + 1, 1024 * i, 1024, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (take_ack (&side).end[0], 4096);
    curvecp_stream_recv_t before = side.recv;
    CHECK_EQ (deliver (&side, 5, 4096, 1024, CURVECP_EOF_NONE, 0), CURVECP_E_FULL);
    CHECK_EQ (side.info.refused_window, 1);
    CHECK_EQ (side.recv.contig, before.contig);
    CHECK_EQ (side.recv.read, before.read);
    CHECK_EQ (side.recv.interval_count, before.interval_count);
    CHECK_EQ (side.recv.nameable_id, before.nameable_id);
    CHECK_EQ (side.recv.eof_known, before.eof_known);
    CHECK_EQ (curvecp_stream_recv_readable (&side.recv), 4096);
    /* an EOF beyond the window is refused too */
    CHECK_EQ (deliver (&side, 6, 4096, 1, CURVECP_EOF_SUCCESS, 0), CURVECP_E_FULL);
    CHECK (!side.recv.eof_known);
    /* answered (under the latest ID we may name) so the sender knows we live */
    ack_t ack = take_ack (&side);
    CHECK_EQ (ack.acked_id, 4);
    CHECK_EQ (ack.count, 1);
    CHECK_EQ (ack.end[0], 4096);
    CHECK (!curvecp_stream_recv_ack_due (&side.recv, 0));

    static uint8_t out[1024];
    CHECK_EQ (curvecp_stream_recv_read (&side.recv, out, sizeof out, 0), 1024);
    CHECK (curvecp_stream_recv_ack_due (&side.recv, 0));     /* the window update */
    ack = take_ack (&side);
    CHECK_EQ (ack.acked_id, 0);
    CHECK_EQ (ack.end[0], 4096);
    CHECK_EQ (deliver (&side, 7, 4096, 1024, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (curvecp_stream_recv_readable (&side.recv), 4096);
    CHECK_EQ (read_all (&side, 1024), 4096);
    curvecp_stream_recv_term (&side.recv);
}

/* A full reassembly list drops a piece that would need a new interval,
   as if it were lost: no acknowledgment; pieces that merge still go in. */
static void
test_reorder_limit (void)
{
    side_t side;
    side_init (&side, 0, 0);
    for (uint32_t i = 0; i < CURVECP_STREAM_REORDER_MAX; i++)
        CHECK_EQ (deliver (&side, i + 1, 10 + 10 * (uint64_t) i, 1, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (side.recv.interval_count, CURVECP_STREAM_REORDER_MAX);
    take_ack (&side);
    CHECK_EQ (deliver (&side, 100, 1000, 1, CURVECP_EOF_NONE, 0), CURVECP_E_FULL);
    CHECK_EQ (side.info.refused_reorder, 1);
    CHECK_EQ (side.recv.interval_count, CURVECP_STREAM_REORDER_MAX);
    CHECK (!curvecp_stream_recv_ack_due (&side.recv, 0));
    CHECK_EQ (curvecp_stream_recv_ack_time (&side.recv), UINT64_MAX);
    CHECK_EQ (deliver (&side, 101, 11, 4, CURVECP_EOF_NONE, 0), CURVECP_OK);    /* touches [10, 11) */
    CHECK_EQ (side.recv.interval_count, CURVECP_STREAM_REORDER_MAX);
    CHECK (curvecp_stream_recv_ack_due (&side.recv, 0));
    curvecp_stream_recv_term (&side.recv);
}

/* The ping (an empty block at 0) may be named; an empty block elsewhere
   may not. */
static void
test_empty_blocks (void)
{
    side_t side;
    side_init (&side, 0, 0);
    CHECK_EQ (deliver (&side, 1, 0, 0, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (take_ack (&side).acked_id, 1);
    CHECK_EQ (deliver (&side, 2, 0, 10, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (deliver (&side, 3, 10, 0, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (take_ack (&side).acked_id, 2);
    curvecp_stream_recv_term (&side.recv);
}

/* The ack delay, and the nudge: a repeated acknowledgment while a hole
   shows, backing off. */
static void
test_ack_delay_and_nudge (void)
{
    side_t side;
    side_init (&side, 0, 5 * MS);
    CHECK_EQ (deliver (&side, 1, 0, 100, CURVECP_EOF_NONE, 10 * MS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_recv_ack_time (&side.recv), 15 * MS);
    CHECK (!curvecp_stream_recv_ack_due (&side.recv, 15 * MS - 1));
    CHECK (curvecp_stream_recv_ack_due (&side.recv, 15 * MS));
    take_ack (&side);
    /* no hole: no nudge */
    curvecp_stream_recv_restart_nudge (&side.recv, 20 * MS, 10 * MS);
    CHECK_EQ (curvecp_stream_recv_nudge_time (&side.recv), UINT64_MAX);
    CHECK (!curvecp_stream_recv_nudge_due (&side.recv, UINT64_MAX - 1));
    CHECK_EQ (deliver (&side, 2, 1000, 100, CURVECP_EOF_NONE, 20 * MS), CURVECP_OK);
    take_ack (&side);
    curvecp_stream_recv_restart_nudge (&side.recv, 20 * MS, 10 * MS);      /* at least 100 ms */
    CHECK_EQ (curvecp_stream_recv_nudge_time (&side.recv), 120 * MS);
    CHECK (!curvecp_stream_recv_nudge_due (&side.recv, 120 * MS - 1));
    CHECK (curvecp_stream_recv_nudge_due (&side.recv, 120 * MS));
    curvecp_stream_recv_nudge (&side.recv, 120 * MS);
    CHECK_EQ (side.info.acks_repeated, 1);
    CHECK (curvecp_stream_recv_ack_due (&side.recv, 125 * MS));
    CHECK_EQ (take_ack (&side).acked_id, 1);
    CHECK_EQ (curvecp_stream_recv_nudge_time (&side.recv), 220 * MS);
    curvecp_stream_recv_nudge (&side.recv, 220 * MS);
    CHECK_EQ (curvecp_stream_recv_nudge_time (&side.recv), 420 * MS);
    curvecp_stream_recv_term (&side.recv);
}

/* The buffer is allocated by the first data and freed once empty for
   idle_release_ns, at once when the stream ended or failed. */
static void
test_release (void)
{
    side_t side;
    side_init (&side, 0, 0);
    CHECK_EQ (curvecp_stream_recv_memory (&side.recv), 0);
    CHECK_EQ (curvecp_stream_recv_release_time (&side.recv, false), UINT64_MAX);
    CHECK_EQ (deliver (&side, 1, 0, 100, CURVECP_EOF_NONE, 0), CURVECP_OK);
    CHECK_EQ (curvecp_stream_recv_memory (&side.recv), side.config.receive_window);
    CHECK_EQ (curvecp_stream_recv_release_time (&side.recv, false), UINT64_MAX);   /* unread */
    static uint8_t out[100];
    CHECK_EQ (curvecp_stream_recv_read (&side.recv, out, sizeof out, 7 * MS), 100);
    CHECK_EQ (curvecp_stream_recv_release_time (&side.recv, false), 7 * MS + side.config.idle_release_ns);
    CHECK_EQ (curvecp_stream_recv_release_time (&side.recv, true), 0);
    curvecp_stream_recv_release_idle (&side.recv, 7 * MS, false);
    CHECK_EQ (curvecp_stream_recv_memory (&side.recv), side.config.receive_window);
    curvecp_stream_recv_release_idle (&side.recv, 7 * MS + side.config.idle_release_ns, false);
    CHECK_EQ (curvecp_stream_recv_memory (&side.recv), 0);
    CHECK_EQ (side.info.buffer_allocations, 1);
    CHECK_EQ (side.info.buffer_releases, 1);
    /* the EOF read: freed at once */
    CHECK_EQ (deliver (&side, 2, 100, 10, CURVECP_EOF_SUCCESS, 8 * MS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_recv_read (&side.recv, out, sizeof out, 8 * MS), 10);
    CHECK_EQ (curvecp_stream_recv_release_time (&side.recv, false), 0);
    curvecp_stream_recv_term (&side.recv);
}

int
main (void)
{
    test_in_order ();
    test_out_of_order ();
    test_duplicates_and_overlaps ();
    test_fifth_range ();
    test_top_range_and_eof ();
    test_eof_kinds ();
    test_window ();
    test_reorder_limit ();
    test_empty_blocks ();
    test_ack_delay_and_nudge ();
    test_release ();
    printf ("test_stream_recv: ok\n");
    return 0;
}
