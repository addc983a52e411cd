/*  test_message.c - message layout: encode/decode, sizes, ranges, and
    every malformed input rejected with its reason.                      */
#include "curvecp_message.h"
#include "testutil.h"

static void
test_sizes (void)
{
    CHECK_EQ (curvecp_message_size (0), 192);
    CHECK_EQ (curvecp_message_size (128), 192);
    CHECK_EQ (curvecp_message_size (129), 320);
    CHECK_EQ (curvecp_message_size (256), 320);
    CHECK_EQ (curvecp_message_size (257), 576);
    CHECK_EQ (curvecp_message_size (512), 576);
    CHECK_EQ (curvecp_message_size (513), 1088);
    CHECK_EQ (curvecp_message_size (1024), 1088);
    CHECK_EQ (curvecp_message_size (1025), 0);
}

/* The ack curvecpmessage sent after "hello\n" (spec: ack ID 1, range 6). */
static void
test_vector_ack (void)
{
    curvecp_message_t m = { 0 };
    m.acked_id = 1;
    m.range1_end = 6;
    uint8_t out[CURVECP_MSG_MAX];
    size_t len = curvecp_message_encode (&m, out, sizeof out);
    CHECK_EQ (len, 192);
    uint8_t expect[192] = { 0 };
    CHECK_EQ (test_unhex ("00000000" "01000000" "0600000000000000", expect, sizeof expect), 16);
    CHECK_MEM (out, expect, 192);
}

/* A data message: ID 1, "hello\n" at 0, success EOF, in 192 bytes. */
static void
test_vector_data (void)
{
    curvecp_message_t m = { 0 };
    m.id = 1;
    m.data = (const uint8_t *) "hello\n";
    m.data_len = 6;
    m.eof = CURVECP_EOF_SUCCESS;
    uint8_t out[CURVECP_MSG_MAX];
    CHECK_EQ (curvecp_message_encode (&m, out, sizeof out), 192);
    uint8_t expect[192] = { 0 };
    CHECK_EQ (test_unhex ("01000000" "00000000" "0000000000000000"
                          "00000000" "0000" "0000" "0000" "0000" "0000" "0000" "0000" "0000" "0000" "0608"
                          "0000000000000000", expect, sizeof expect), 48);
    memcpy (expect + 186, "hello\n", 6);
    CHECK_MEM (out, expect, 192);

    curvecp_message_t d;
    CHECK_EQ (curvecp_message_decode (out, 192, &d), CURVECP_OK);
    CHECK_EQ (d.id, 1);
    CHECK_EQ (d.data_len, 6);
    CHECK_EQ (d.eof, CURVECP_EOF_SUCCESS);
    CHECK_MEM (d.data, "hello\n", 6);
}

static void
test_roundtrip_ranges (void)
{
    curvecp_message_t m = { 0 };
    m.id = 0xfedcba98;
    m.acked_id = 0x01020304;
    m.position = 0x0102030405060708ull;
    m.eof = CURVECP_EOF_FAILURE;
    uint8_t data[1024];
    for (int i = 0; i < 1024; i++)
        data[i] = (uint8_t) (i * 7);
    m.data = data;
    m.data_len = 1024;
    uint64_t start[5] = { 2000, 70000, 70100, 70300, 70500 };
    uint64_t end[5]   = { 3000, 70050, 70200, 70400, 70600 };
    /* the gap 3000 -> 70000 needs more than a u16: one further range only */
    CHECK_EQ (curvecp_message_set_ranges (&m, 1000, start, end, 5), 1);
    CHECK_EQ (m.gap[0], 1000);
    CHECK_EQ (m.size[0], 1000);
    CHECK_EQ (m.size[1], 0);
    uint8_t out[CURVECP_MSG_MAX];
    CHECK_EQ (curvecp_message_encode (&m, out, sizeof out), 1088);
    curvecp_message_t d;
    CHECK_EQ (curvecp_message_decode (out, 1088, &d), CURVECP_OK);
    CHECK_EQ (d.id, 0xfedcba98);
    CHECK_EQ (d.acked_id, 0x01020304);
    CHECK_EQ (d.range1_end, 1000);
    CHECK_EQ (d.gap[0], 1000);
    CHECK_EQ (d.size[0], 1000);
    CHECK (d.position == 0x0102030405060708ull);
    CHECK_EQ (d.eof, CURVECP_EOF_FAILURE);
    CHECK_EQ (d.data_len, 1024);
    CHECK_MEM (d.data, data, 1024);
    CHECK (d.data == out + 64);
}

static void
test_ranges (void)
{
    curvecp_message_t m = { 0 };
    uint64_t start[5] = { 2000, 3500, 3700, 100000, 100100 };
    uint64_t end[5]   = { 3000, 3600, 3800, 100050, 100200 };
    /* the gap 3800 -> 100000 is over 65535: only three further ranges fit */
    CHECK_EQ (curvecp_message_set_ranges (&m, 1000, start, end, 5), 3);
    uint8_t out[CURVECP_MSG_MAX];
    CHECK_EQ (curvecp_message_encode (&m, out, sizeof out), 192);
    curvecp_message_t d;
    CHECK_EQ (curvecp_message_decode (out, 192, &d), CURVECP_OK);
    uint64_t s[6], e[6];
    CHECK_EQ (curvecp_message_ranges (&d, s, e), 4);
    CHECK_EQ (s[0], 0);    CHECK_EQ (e[0], 1000);
    CHECK_EQ (s[1], 2000); CHECK_EQ (e[1], 3000);
    CHECK_EQ (s[2], 3500); CHECK_EQ (e[2], 3600);
    CHECK_EQ (s[3], 3700); CHECK_EQ (e[3], 3800);

    /* a long interval is cut to 65535; an adjacent piece (gap 0) joins it */
    uint64_t ls[2] = { 10, 10 + 65535 }, le[2] = { 10 + 65535, 10 + 100000 };
    CHECK_EQ (curvecp_message_set_ranges (&m, 0, ls, le, 2), 2);
    CHECK_EQ (m.size[0], 65535);
    CHECK_EQ (m.gap[1], 0);
    CHECK_EQ (curvecp_message_ranges (&m, s, e), 2);
    CHECK_EQ (s[1], 10);
    CHECK_EQ (e[1], 100010);

    /* overflowing ranges end the list */
    memset (&m, 0, sizeof m);
    m.range1_end = UINT64_MAX - 10;
    m.gap[0] = 5;
    m.size[0] = 100;
    CHECK_EQ (curvecp_message_ranges (&m, s, e), 1);
}

static void
test_rejections (void)
{
    uint8_t buf[2048] = { 0 };
    curvecp_message_t d;
    memset (&d, 0x5a, sizeof d);
    curvecp_message_t before = d;
    CHECK_EQ (curvecp_message_decode (buf, 0, &d), CURVECP_E_TOO_SHORT);
    CHECK_EQ (curvecp_message_decode (buf, 32, &d), CURVECP_E_TOO_SHORT);
    CHECK_EQ (curvecp_message_decode (buf, 47, &d), CURVECP_E_TOO_SHORT);
    CHECK_EQ (curvecp_message_decode (buf, 1104, &d), CURVECP_E_TOO_LONG);
    CHECK_EQ (curvecp_message_decode (buf, 1089, &d), CURVECP_E_TOO_LONG);
    CHECK_EQ (curvecp_message_decode (buf, 200, &d), CURVECP_E_NOT_MULTIPLE_16);
    CHECK_EQ (curvecp_message_decode (buf, 49, &d), CURVECP_E_NOT_MULTIPLE_16);
    /* D > 1024 */
    buf[38] = 0x01; buf[39] = 0x04;
    CHECK_EQ (curvecp_message_decode (buf, 1088, &d), CURVECP_E_BAD_MESSAGE);
    /* 48 + D > len */
    buf[38] = 0x91; buf[39] = 0x00;     /* D = 145 */
    CHECK_EQ (curvecp_message_decode (buf, 192, &d), CURVECP_E_BAD_MESSAGE);
    buf[38] = 0x90;                     /* D = 144 fits exactly */
    CHECK_EQ (curvecp_message_decode (buf, 192, &d), CURVECP_OK);
    d = before;
    /* both EOF kinds */
    buf[38] = 0; buf[39] = 0x18;
    CHECK_EQ (curvecp_message_decode (buf, 192, &d), CURVECP_E_BAD_MESSAGE);
    /* unknown flag bit */
    buf[39] = 0x20;
    CHECK_EQ (curvecp_message_decode (buf, 192, &d), CURVECP_E_BAD_MESSAGE);
    /* position + D overflows */
    buf[39] = 0; buf[38] = 16;
    memset (buf + 40, 0xff, 8);
    CHECK_EQ (curvecp_message_decode (buf, 192, &d), CURVECP_E_BAD_MESSAGE);
    CHECK_MEM (&d, &before, sizeof d);
    /* the smallest valid message */
    memset (buf, 0, sizeof buf);
    CHECK_EQ (curvecp_message_decode (buf, 48, &d), CURVECP_OK);
    CHECK_EQ (d.data_len, 0);

    /* encode refuses what it cannot write */
    curvecp_message_t m = { 0 };
    m.data_len = 1025;
    CHECK_EQ (curvecp_message_encode (&m, buf, sizeof buf), 0);
    m.data_len = 0;
    CHECK_EQ (curvecp_message_encode (&m, buf, 191), 0);
}

int
main (void)
{
    test_sizes ();
    test_vector_ack ();
    test_vector_data ();
    test_roundtrip_ranges ();
    test_ranges ();
    test_rejections ();
    printf ("test_message: OK\n");
    return 0;
}
