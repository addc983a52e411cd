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

/* The large form (negotiated): layout, sizes, and every malformed large
   message refused; the plain decoder refuses the form altogether. */
static void
test_large_form (void)
{
    static uint8_t data[CURVECP_MESSAGE_LARGE_DATA_MAX], buf[CURVECP_MESSAGE_LARGE_DATA_MAX + 64];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t) (i * 7 + 1);
    CHECK_EQ (curvecp_message_size_large (1024), 1088);
    CHECK_EQ (curvecp_message_size_large (100), 192);
    CHECK_EQ (curvecp_message_size_large (1025), 1104);
    CHECK_EQ (curvecp_message_size_large (65536), 65600);
    CHECK_EQ (curvecp_message_size_large (65537), 0);

    curvecp_message_t m = { 0 }, d;
    m.id = 9;
    m.acked_id = 4;
    m.range1_end = 77;
    m.position = 1000000;
    m.data = data;
    m.data_len = 5000;
    m.eof = CURVECP_EOF_SUCCESS;
    CHECK_EQ (curvecp_message_encode (&m, buf, sizeof buf), 0);         /* NaCl's form has no room */
    size_t len = curvecp_message_encode_large (&m, buf, sizeof buf);
    CHECK_EQ (len, 5072);
    CHECK_EQ (buf[38] | (buf[39] << 8), CURVECP_MESSAGE_FLAG_LARGE | CURVECP_MESSAGE_FLAG_SUCCESS);
    CHECK_EQ (buf[48] | (buf[49] << 8), 5000);
    for (int i = 50; i < 64; i++)
        CHECK_EQ (buf[i], 0);
    CHECK_MEM (buf + len - 5000, data, 5000);
    CHECK_EQ (curvecp_message_encode_large (&m, buf, len - 16), 0);
    /* only a decoder told to accept it takes it, up to its data_max */
    CHECK_EQ (curvecp_message_decode (buf, len, &d), CURVECP_E_TOO_LONG);
    CHECK_EQ (curvecp_message_decode_large (buf, 1088, 1024, &d), CURVECP_E_BAD_MESSAGE);
    CHECK_EQ (curvecp_message_decode_large (buf, len, 4096, &d), CURVECP_E_TOO_LONG);
    CHECK_EQ (curvecp_message_decode_large (buf, len, 65536, &d), CURVECP_OK);
    CHECK_EQ (d.data_len, 5000);
    CHECK_EQ (d.position, 1000000);
    CHECK_EQ (d.eof, CURVECP_EOF_SUCCESS);
    CHECK_EQ (d.id, 9);
    CHECK (d.data == buf + len - 5000);
    /* the largest block */
    m.data_len = 65536;
    m.eof = CURVECP_EOF_NONE;
    CHECK_EQ (curvecp_message_encode_large (&m, buf, sizeof buf), 65600);
    CHECK_EQ (curvecp_message_decode_large (buf, 65600, 65536, &d), CURVECP_OK);
    CHECK_EQ (d.data_len, 65536);
    CHECK_MEM (d.data, data, 65536);
    CHECK_EQ (curvecp_message_decode_large (buf, 65616, 65536, &d), CURVECP_E_TOO_LONG);
    /* small blocks keep NaCl's form even from a large encoder */
    m.data_len = 1024;
    CHECK_EQ (curvecp_message_encode_large (&m, buf, sizeof buf), 1088);
    CHECK_EQ (buf[38] | (buf[39] << 8), 1024);
    /* malformed large messages, each refused and d untouched */
    m.data_len = 3000;
    len = curvecp_message_encode_large (&m, buf, sizeof buf);
    CHECK_EQ (len, 3072);
    memset (&d, 0xaa, sizeof d);
    curvecp_message_t before = d;
    buf[38] |= 1;                                           /* D bits set beside LARGE */
    CHECK_EQ (curvecp_message_decode_large (buf, len, 65536, &d), CURVECP_E_BAD_MESSAGE);
    buf[38] &= (uint8_t) ~1;
    buf[52] = 1;                                            /* reserved 52..55 */
    CHECK_EQ (curvecp_message_decode_large (buf, len, 65536, &d), CURVECP_E_BAD_MESSAGE);
    buf[52] = 0;
    buf[48] = 0x00; buf[49] = 0x04;                         /* D = 1024: not large */
    CHECK_EQ (curvecp_message_decode_large (buf, len, 65536, &d), CURVECP_E_BAD_MESSAGE);
    buf[48] = 0x09; buf[49] = 0x0c;                         /* D = 3081 > len - 64 */
    CHECK_EQ (curvecp_message_decode_large (buf, len, 65536, &d), CURVECP_E_BAD_MESSAGE);
    buf[48] = 0xb8; buf[49] = 0x0b;                         /* D = 3000 > data_max */
    CHECK_EQ (curvecp_message_decode_large (buf, len, 2995, &d), CURVECP_E_BAD_MESSAGE);
    buf[39] |= 0x18;                                        /* both EOF kinds */
    CHECK_EQ (curvecp_message_decode_large (buf, len, 65536, &d), CURVECP_E_BAD_MESSAGE);
    buf[39] = 0x20;
    buf[39] |= 0x40;                                        /* unknown flag */
    CHECK_EQ (curvecp_message_decode_large (buf, len, 65536, &d), CURVECP_E_BAD_MESSAGE);
    buf[39] = 0x20;
    CHECK_EQ (curvecp_message_decode_large (buf, len - 1, 65536, &d), CURVECP_E_NOT_MULTIPLE_16);
    CHECK_MEM (&d, &before, sizeof d);
    CHECK_EQ (curvecp_message_decode_large (buf, len, 65536, &d), CURVECP_OK);
}

/* The window tag lives in padding: NaCl's decoding of the message is the
   same with it, and it is read back only where it was written. */
static void
test_window_tag (void)
{
    uint8_t buf[CURVECP_MSG_MAX], data[1024];
    memset (data, 0x5c, sizeof data);
    curvecp_message_t m = { 0 }, plain, tagged;
    m.id = 3;
    m.range1_end = 10;
    m.data = data;
    for (size_t n = 0; n <= 1024; n += 64) {
        m.data_len = (uint32_t) n;
        size_t len = curvecp_message_encode (&m, buf, sizeof buf);
        memset (&plain, 0, sizeof plain);           /* padding bytes compared below */
        memset (&tagged, 0, sizeof tagged);
        CHECK_EQ (curvecp_message_window (buf, len), 0);
        CHECK_EQ (curvecp_message_decode (buf, len, &plain), CURVECP_OK);
        curvecp_message_put_window (buf, len, 1 << 20);
        CHECK_EQ (curvecp_message_window (buf, len), 1 << 20);
        CHECK_EQ (curvecp_message_decode (buf, len, &tagged), CURVECP_OK);
        CHECK_MEM (&plain, &tagged, sizeof plain);
        CHECK_MEM (buf + len - n, data, n);
        CHECK_MEM (buf + 56, "cpW1", 4);
    }
    /* too short for the tag, or data where the tag would be: nothing */
    memset (buf, 0, 64);
    curvecp_message_put_window (buf, 48, 99);
    CHECK_EQ (curvecp_message_window (buf, 48), 0);
    buf[38] = 0x08; buf[39] = 0x02;              /* D = 520 in 576: data from 56 */
    curvecp_message_put_window (buf, 576, 99);
    CHECK_EQ (curvecp_message_window (buf, 576), 0);
    CHECK_EQ (buf[56], 0);
}

int
main (void)
{
    test_large_form ();
    test_window_tag ();
    test_sizes ();
    test_vector_ack ();
    test_vector_data ();
    test_roundtrip_ranges ();
    test_ranges ();
    test_rejections ();
    printf ("test_message: OK\n");
    return 0;
}
