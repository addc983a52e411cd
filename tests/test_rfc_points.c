/*  test_rfc_points.c - what rfc/curvecp.md says the message layer does at
    the points an implementer asked about (issue 15, rfc/GAPS-ANSWERED.md
    "Third pass"), shown on curvecp_stream driven by hand:

      2  two pieces more than 65535 bytes apart: the ranges stop before
         the piece whose gap does not fit a u16 (nothing wraps), and it is
         reported once the gap below it fits (8.5);
      3  range 1 is never shortened; it reaches NaCl's empty EOF block
         (position = stream length) before the EOF arrives, and our
         sender resends an EOF block until range 1 passes it (8.4);
      4  pure acknowledgements are not paced: one goes at once while the
         pacing holds blocks back, and takes no pacing slot (8.4);
      6  early repairs and window-update resends are not timer expiries:
         the back-off counts expiries only; a block shown arrived by a
         range that stops one byte short of its end counts as one of the
         three later transmissions (8.4);
      8  range 6 when the latest message was refused for lack of window:
         the fifth lowest piece, since no piece holds the refused data;
         after a duplicate, the piece holding it (8.5).                  */
#include "curvecp_stream.h"
#include "sim_app.h"
#include "testutil.h"

#define MS 1000000ull
#define SECOND 1000000000ull

static uint64_t rng_state = 1;
static const curvecp_rng_t stream_rng = { sim_rng_fill, &rng_state };
static uint8_t s_data[200000];

static curvecp_stream_t *
make (curvecp_pacing_t pacing)
{
    curvecp_stream_config_t config;
    curvecp_stream_config_default (&config);
    config.pacing = pacing;
    config.rng = &stream_rng;
    curvecp_stream_t *stream = curvecp_stream_new (&config);
    CHECK (stream);
    return stream;
}

/* A message from the peer: block [position, position + len) under id,
   acknowledging nothing. */
static size_t
block_msg (uint8_t *out, uint32_t id, uint64_t position, uint32_t len, curvecp_eof_t eof)
{
    curvecp_message_t m;
    memset (&m, 0, sizeof m);
    m.id = id;
    m.position = position;
    m.data_len = len;
    m.data = s_data + position % 100000;
    m.eof = eof;
    size_t n = curvecp_message_encode (&m, out, CURVECP_MSG_MAX);
    CHECK (n > 0);
    return n;
}

static void
give (curvecp_stream_t *s, uint32_t id, uint64_t position, uint32_t len, curvecp_eof_t eof, uint64_t now)
{
    uint8_t msg[CURVECP_MSG_MAX];
    size_t n = block_msg (msg, id, position, len, eof);
    CHECK_EQ (curvecp_stream_receive (s, msg, n, now), CURVECP_OK);
}

/* The next message s sends at now, decoded (its length returned). */
static size_t
take (curvecp_stream_t *s, uint64_t now, uint8_t *out, curvecp_message_t *m)
{
    size_t len = curvecp_stream_produce (s, now, out, CURVECP_MSG_MAX);
    if (len)
        CHECK_EQ (curvecp_message_decode (out, len, m), CURVECP_OK);
    return len;
}

/* An acknowledgement to s: range 1 and up to five absolute intervals. */
static void
ack (curvecp_stream_t *s, uint32_t acked_id, uint64_t range1, const uint64_t *start,
     const uint64_t *end, int count, uint64_t now)
{
    curvecp_message_t m;
    memset (&m, 0, sizeof m);
    m.acked_id = acked_id;
    CHECK_EQ (curvecp_message_set_ranges (&m, range1, start, end, count), count);
    uint8_t out[CURVECP_MSG_MAX];
    size_t n = curvecp_message_encode (&m, out, sizeof out);
    CHECK_EQ (n, 192);
    CHECK_EQ (curvecp_stream_receive (s, out, n, now), CURVECP_OK);
}

/* ---- 2: gaps that do not fit a u16 ------------------------------------ */

static void
test_gap_beyond_u16 (void)
{
    curvecp_stream_t *b = make (CURVECP_PACING_WINDOW);
    uint8_t out[CURVECP_MSG_MAX];
    curvecp_message_t m;
    /* pieces [1024, 2048) and [72048, 73072): 70000 bytes apart */
    give (b, 1, 1024, 1024, CURVECP_EOF_NONE, MS);
    give (b, 2, 72048, 1024, CURVECP_EOF_NONE, MS);
    give (b, 3, 73100, 100, CURVECP_EOF_NONE, MS);  /* near the second: still above it */
    CHECK_EQ (take (b, MS, out, &m), 192);
    CHECK_EQ (m.range1_end, 0);
    CHECK_EQ (m.gap[0], 1024);
    CHECK_EQ (m.size[0], 1024);
    for (int i = 1; i < CURVECP_MESSAGE_RANGES - 1; i++) {
        CHECK_EQ (m.gap[i], 0);         /* nothing wrapped or cut: left out */
        CHECK_EQ (m.size[i], 0);
    }
    for (int i = 22; i < 38; i++)
        CHECK_EQ (out[i], 0);
    /* the hole below fills: range 1 = 2048, and the 70000-byte gap goes in
       the u32 gap before range 2; the top range stops a byte short */
    give (b, 4, 0, 1024, CURVECP_EOF_NONE, 2 * MS);
    CHECK_EQ (take (b, 2 * MS, out, &m), 192);
    CHECK_EQ (m.range1_end, 2048);
    uint64_t s[6], e[6];
    CHECK_EQ (curvecp_message_ranges (&m, s, e), 3);
    CHECK_EQ (s[1], 72048); CHECK_EQ (e[1], 73072);
    CHECK_EQ (s[2], 73100); CHECK_EQ (e[2], 73199);
    curvecp_stream_destroy (&b);

    /* The sender side of the same: an acknowledgement that leaves out a
       piece shows no hole above its last range, so nothing there is
       repaired early. */
    curvecp_stream_t *a = make (CURVECP_PACING_WINDOW);
    CHECK_EQ (curvecp_stream_write (a, s_data, 100 * 1024), 100 * 1024);
    int sent = 0;
    while (take (a, 0, out, &m) && sent < 100)
        sent++;
    CHECK_EQ (sent, 100);
    uint64_t start[1] = { 1024 }, end[1] = { 2048 };
    ack (a, 0, 0, start, end, 1, 10 * MS);
    CHECK_EQ (take (a, 10 * MS, out, &m), 0);      /* block 1 is not yet "three later" */
    CHECK_EQ (curvecp_stream_info (a)->retransmissions, 0);
    curvecp_stream_destroy (&a);
}

/* ---- 3: range 1 and an empty EOF block -------------------------------- */

static void
test_range1_and_empty_eof (void)
{
    /* receiver: all data, no EOF yet: range 1 is the full 1024 (the
       position of the peer's empty EOF block), never a byte short */
    curvecp_stream_t *b = make (CURVECP_PACING_WINDOW);
    uint8_t out[CURVECP_MSG_MAX];
    curvecp_message_t m;
    give (b, 1, 0, 1024, CURVECP_EOF_NONE, MS);
    CHECK_EQ (take (b, MS, out, &m), 192);
    CHECK_EQ (m.range1_end, 1024);
    CHECK_EQ (m.acked_id, 1);
    give (b, 2, 1024, 0, CURVECP_EOF_SUCCESS, 2 * MS);
    CHECK_EQ (take (b, 2 * MS, out, &m), 192);
    CHECK_EQ (m.range1_end, 1025);
    CHECK_EQ (m.acked_id, 2);
    curvecp_stream_destroy (&b);

    /* sender: range 1 = 1024 releases the data block, not the empty EOF
       block at 1024, which its timer sends again whole */
    curvecp_stream_t *a = make (CURVECP_PACING_WINDOW);
    CHECK_EQ (curvecp_stream_write (a, s_data, 1024), 1024);
    CHECK_EQ (take (a, 0, out, &m), 1088);
    CHECK_EQ (curvecp_stream_close (a, CURVECP_EOF_SUCCESS), CURVECP_OK);
    CHECK_EQ (take (a, 0, out, &m), 192);
    CHECK_EQ (m.id, 2);
    CHECK_EQ (m.data_len, 0);
    CHECK_EQ (m.position, 1024);
    CHECK_EQ (m.eof, CURVECP_EOF_SUCCESS);
    ack (a, 1, 1024, NULL, NULL, 0, 10 * MS);
    CHECK (!curvecp_stream_all_acked (a));
    uint64_t due = curvecp_stream_deadline (a);
    CHECK (due < UINT64_MAX);
    CHECK_EQ (take (a, due, out, &m), 192);
    CHECK_EQ (m.id, 3);
    CHECK_EQ (m.position, 1024);
    CHECK_EQ (m.data_len, 0);
    CHECK_EQ (m.eof, CURVECP_EOF_SUCCESS);
    ack (a, 3, 1025, NULL, NULL, 0, due + MS);
    CHECK (curvecp_stream_all_acked (a));
    curvecp_stream_destroy (&a);
}

/* ---- 4: pure acknowledgements are not paced --------------------------- */

static void
test_pure_acks_unpaced (void)
{
    curvecp_stream_t *b = make (CURVECP_PACING_CHICAGO);
    uint8_t out[CURVECP_MSG_MAX];
    curvecp_message_t m;
    CHECK_EQ (curvecp_stream_write (b, s_data, 64 * 1024), 64 * 1024);
    int blocks = 0;
    while (take (b, 0, out, &m))
        blocks++;
    CHECK (blocks > 0 && blocks < 64);          /* the pacing stopped it */
    const curvecp_chicago_t *chicago = curvecp_stream_chicago (b);
    uint64_t send_time = curvecp_chicago_send_time (chicago);
    CHECK (send_time > 0);
    give (b, 1, 0, 100, CURVECP_EOF_NONE, 0);
    CHECK_EQ (take (b, 0, out, &m), 192);       /* at once, before send_time */
    CHECK_EQ (m.id, 0);
    CHECK_EQ (m.acked_id, 1);
    CHECK_EQ (m.range1_end, 100);
    CHECK_EQ (curvecp_chicago_send_time (chicago), send_time);   /* no slot taken */
    CHECK_EQ (take (b, 0, out, &m), 0);
    /* when the pacing allows a block, the acknowledgement rides on it */
    give (b, 2, 100, 100, CURVECP_EOF_NONE, send_time);
    CHECK_EQ (take (b, send_time, out, &m), 1088);
    CHECK (m.id != 0);
    CHECK_EQ (m.acked_id, 2);
    CHECK_EQ (m.range1_end, 200);
    curvecp_stream_destroy (&b);
}

/* ---- 6: what counts for the back-off and for "three later" ------------ */

static void
test_backoff_counts_expiries_only (void)
{
    curvecp_stream_t *a = make (CURVECP_PACING_WINDOW);
    uint8_t out[CURVECP_MSG_MAX];
    curvecp_message_t m;
    CHECK_EQ (curvecp_stream_write (a, s_data, 4 * 1024), 4 * 1024);
    for (int i = 0; i < 4; i++)
        CHECK_EQ (take (a, 0, out, &m), 1088);
    /* block 1 lost; 2 and 3 acknowledged; 4 shown by a range that stops
       one byte short of its end (a receiver hiding its top byte): with it,
       three later transmissions have arrived and block 1 is repaired */
    uint64_t start[1] = { 1024 }, end[1] = { 4095 };
    ack (a, 0, 0, start, end, 1, 10 * MS);
    uint64_t now = 10 * MS;
    CHECK_EQ (take (a, now, out, &m), 1088);
    CHECK_EQ (m.position, 0);
    CHECK_EQ (m.id, 5);
    CHECK_EQ (curvecp_stream_info (a)->retransmissions, 1);
    CHECK_EQ (curvecp_stream_info (a)->timeouts, 0);        /* not an expiry */
    CHECK_EQ (take (a, now, out, &m), 0);
    /* block 4 is not released by the short range: range 1 = 3072 leaves
       it in flight */
    ack (a, 5, 3072, NULL, NULL, 0, now + MS);
    CHECK (!curvecp_stream_all_acked (a));
    /* its timer: rtt_timeout x 2^0, since its expiries are still 0 */
    uint64_t rto = curvecp_chicago_rtt_timeout (curvecp_stream_chicago (a));
    now = curvecp_stream_deadline (a);
    CHECK_EQ (now, rto);                        /* sent at 0 */
    CHECK_EQ (take (a, now, out, &m), 1088);
    CHECK_EQ (m.position, 3072);
    CHECK_EQ (curvecp_stream_info (a)->timeouts, 1);
    /* one expiry: the next wait is 2 x rtt_timeout */
    uint64_t sent = now;
    rto = curvecp_chicago_rtt_timeout (curvecp_stream_chicago (a));
    CHECK_EQ (curvecp_stream_deadline (a), sent + 2 * rto);
    /* a window update (both IDs 0) resends it at once; not an expiry, and
       its back-off starts again */
    ack (a, 0, 3072, NULL, NULL, 0, sent + MS);
    CHECK_EQ (take (a, sent + MS, out, &m), 1088);
    CHECK_EQ (m.position, 3072);
    CHECK_EQ (curvecp_stream_info (a)->timeouts, 1);
    CHECK_EQ (curvecp_stream_info (a)->retransmissions, 3);
    rto = curvecp_chicago_rtt_timeout (curvecp_stream_chicago (a));
    CHECK_EQ (curvecp_stream_deadline (a), sent + MS + rto);
    curvecp_stream_destroy (&a);
}

/* ---- 8: range 6 after a refusal --------------------------------------- */

static void
test_range6_after_refusal (void)
{
    curvecp_stream_t *b = make (CURVECP_PACING_WINDOW);
    uint8_t out[CURVECP_MSG_MAX];
    curvecp_message_t m;
    give (b, 1, 0, 1, CURVECP_EOF_NONE, MS);   /* range 1 = 1, ID 1 nameable */
    /* seven 2-byte pieces with holes: [2,4) [5,7) ... [20,22) */
    for (uint32_t i = 0; i < 7; i++)
        give (b, 2 + i, 2 + 3 * i, 2, CURVECP_EOF_NONE, MS);
    /* the latest message, beyond the 131072-byte window: refused, answered */
    uint8_t msg[CURVECP_MSG_MAX];
    size_t n = block_msg (msg, 9, 200000, 100, CURVECP_EOF_NONE);
    CHECK_EQ (curvecp_stream_receive (b, msg, n, MS), CURVECP_OK);
    CHECK_EQ (curvecp_stream_info (b)->refused_window, 1);
    CHECK_EQ (take (b, MS, out, &m), 192);
    CHECK_EQ (m.acked_id, 1);                  /* the latest that qualified */
    uint64_t s[6], e[6];
    CHECK_EQ (curvecp_message_ranges (&m, s, e), 6);
    CHECK_EQ (s[5], 14); CHECK_EQ (e[5], 16);  /* the fifth lowest piece */
    /* a duplicate of the sixth piece: range 6 carries it */
    give (b, 10, 17, 2, CURVECP_EOF_NONE, 2 * MS);
    CHECK_EQ (take (b, 2 * MS, out, &m), 192);
    CHECK_EQ (curvecp_message_ranges (&m, s, e), 6);
    CHECK_EQ (s[5], 17); CHECK_EQ (e[5], 19);
    /* a duplicate of the top piece: carried, a byte short (EOF unknown) */
    give (b, 11, 20, 2, CURVECP_EOF_NONE, 3 * MS);
    CHECK_EQ (take (b, 3 * MS, out, &m), 192);
    CHECK_EQ (curvecp_message_ranges (&m, s, e), 6);
    CHECK_EQ (s[5], 20); CHECK_EQ (e[5], 21);
    /* refused again: back to the fifth lowest */
    n = block_msg (msg, 12, 200000, 100, CURVECP_EOF_NONE);
    CHECK_EQ (curvecp_stream_receive (b, msg, n, 4 * MS), CURVECP_OK);
    CHECK_EQ (take (b, 4 * MS, out, &m), 192);
    CHECK_EQ (curvecp_message_ranges (&m, s, e), 6);
    CHECK_EQ (s[5], 14); CHECK_EQ (e[5], 16);
    curvecp_stream_destroy (&b);
}

int
main (void)
{
    for (size_t i = 0; i < sizeof s_data; i++)
        s_data[i] = (uint8_t) (i * 7 + 3);
    test_gap_beyond_u16 ();
    test_range1_and_empty_eof ();
    test_pure_acks_unpaced ();
    test_backoff_counts_expiries_only ();
    test_range6_after_refusal ();
    printf ("test_rfc_points: OK\n");
    return 0;
}
