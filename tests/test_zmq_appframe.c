/*  The application-message framing: exact encodings, whole messages fed
    in every split, and each kind of malformed input refused with its own
    reason and explanation, counted, with the decoder staying failed.
    Memory follows the bytes that arrived: a header announcing a huge
    frame allocates almost nothing until the body comes.                 */
#include <sodium.h>
#include "testutil.h"
#include "curvecp_appframe.h"

#include "test_zmq_heap.h"

static size_t
encode (zmsg_t *msg, uint8_t *out)
{
    size_t len = 0;
    size_t frames = zmsg_size (msg), index = 0;
    for (zframe_t *f = zmsg_first (msg); f; f = zmsg_next (msg), index++) {
        len += curvecp_appframe_header (out + len, zframe_size (f), index + 1 < frames);
        memcpy (out + len, zframe_data (f), zframe_size (f));
        len += zframe_size (f);
    }
    return len;
}

static void
test_headers (void)
{
    uint8_t h[CURVECP_APPFRAME_HEADER_MAX];
    CHECK_EQ (curvecp_appframe_header (h, 0, false), 2);
    CHECK (h[0] == 0 && h[1] == 0);
    CHECK_EQ (curvecp_appframe_header (h, 255, true), 2);
    CHECK (h[0] == CURVECP_APPFRAME_MORE && h[1] == 255);
    CHECK_EQ (curvecp_appframe_header (h, 256, false), 9);
    CHECK_MEM (h, "\x02\0\0\0\0\0\0\x01\0", 9);
    CHECK_EQ (curvecp_appframe_header (h, 0x0102030405ull, true), 9);
    CHECK_MEM (h, "\x03\0\0\0\x01\x02\x03\x04\x05", 9);
    uint8_t g[CURVECP_APPFRAME_GREETING];
    curvecp_appframe_greeting (g, 0x05);
    CHECK_MEM (g, "ZCCP\x01\x05\0\0", 8);
}

/* A three-frame message (0, 300 and 7 bytes), then a one-frame message,
   fed in pieces of every size from 1 to the whole. */
static void
test_round_trip_every_split (void)
{
    zmsg_t *a = zmsg_new ();
    zmsg_addmem (a, "", 0);
    uint8_t big[300];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t) i;
    zmsg_addmem (a, big, sizeof big);
    zmsg_addstr (a, "seventh");
    zmsg_t *b = zmsg_new ();
    zmsg_addstr (b, "b");
    uint8_t stream[1024];
    curvecp_appframe_greeting (stream, 0x01);
    size_t len = 8;
    len += encode (a, stream + len);
    len += encode (b, stream + len);
    CHECK_EQ (curvecp_appframe_encoded_size (a) + curvecp_appframe_encoded_size (b) + 8, len);
    for (size_t piece = 1; piece <= len; piece++) {
        curvecp_appframe_t *d = curvecp_appframe_new (true, 0, 0);
        size_t at = 0, got = 0;
        CHECK (!curvecp_appframe_greeted (d));
        while (at < len) {
            size_t n = piece < len - at ? piece : len - at;
            size_t used;
            CHECK_EQ (curvecp_appframe_feed (d, stream + at, n, &used), CURVECP_OK);
            at += used;
            zmsg_t *m = curvecp_appframe_take (d);
            if (m) {
                CHECK (zmsg_size (m) == zmsg_size (got == 0 ? a : b));
                zframe_t *x = zmsg_first (m), *y = zmsg_first (got == 0 ? a : b);
                for (; x; x = zmsg_next (m), y = zmsg_next (got == 0 ? a : b))
                    CHECK (zframe_eq (x, y));
                zmsg_destroy (&m);
                got++;
            }
            else
                CHECK_EQ (used, n);
        }
        CHECK_EQ (got, 2);
        CHECK (curvecp_appframe_greeted (d));
        CHECK_EQ (curvecp_appframe_peer_options (d), 0x01);
        CHECK_EQ (curvecp_appframe_stats (d)->counts[CURVECP_OK], 2);
        curvecp_appframe_destroy (&d);
        CHECK (d == NULL);
    }
    zmsg_destroy (&a);
    zmsg_destroy (&b);
}

static void
expect_bad (const uint8_t *input, size_t len, bool greeting, size_t max_message, size_t max_frames,
            curvecp_reason_t want, const char *why)
{
    curvecp_appframe_t *d = curvecp_appframe_new (greeting, max_message, max_frames);
    size_t used;
    curvecp_reason_t got = curvecp_appframe_feed (d, input, len, &used);
    if (got != want || !strstr (curvecp_appframe_error (d), why)) {
        fprintf (stderr, "expected %s (%s), got %s (%s)\n", curvecp_reason_name (want), why,
                 curvecp_reason_name (got), curvecp_appframe_error (d));
        CHECK (0);
    }
    CHECK_EQ (curvecp_appframe_failed (d), want);
    CHECK_EQ (curvecp_appframe_stats (d)->counts[want], 1);
    CHECK (curvecp_appframe_take (d) == NULL);
    /* failed for good: more input is refused with the same reason */
    uint8_t *dest;
    CHECK_EQ (curvecp_appframe_want (d, &dest), 0);
    CHECK_EQ (curvecp_appframe_feed (d, (const uint8_t *) "\0\0", 2, &used), want);
    CHECK_EQ (used, 0);
    curvecp_appframe_destroy (&d);
}

static void
test_malformed (void)
{
    expect_bad ((const uint8_t *) "ZCCQ\x01\0\0\0", 8, true, 0, 0, CURVECP_E_BAD_MAGIC, "magic");
    expect_bad ((const uint8_t *) "ZCCP\x02\0\0\0", 8, true, 0, 0, CURVECP_E_BAD_MESSAGE, "version 2");
    expect_bad ((const uint8_t *) "ZCCP\x01\0\0\x01", 8, true, 0, 0, CURVECP_E_BAD_MESSAGE, "reserved bytes");
    expect_bad ((const uint8_t *) "\x04\x01", 2, false, 0, 0, CURVECP_E_BAD_MESSAGE, "reserved flag bits 0x04");
    expect_bad ((const uint8_t *) "\x01\x00\x80\x00", 4, false, 0, 0, CURVECP_E_BAD_MESSAGE,
                "frame 2: reserved flag bits 0x80");
    expect_bad ((const uint8_t *) "\x02\0\0\0\0\0\0\0\xff", 9, false, 0, 0, CURVECP_E_BAD_MESSAGE,
                "not minimal");
    expect_bad ((const uint8_t *) "\x02\xff\xff\xff\xff\xff\xff\xff\xff", 9, false, 0, 0,
                CURVECP_E_TOO_LONG, "exceed the limit");
    expect_bad ((const uint8_t *) "\x01\x03" "abc" "\x00\x08", 7, false, 10, 0, CURVECP_E_TOO_LONG,
                "frame 2: message would exceed the limit of 10 bytes");
    expect_bad ((const uint8_t *) "\x01\0\x01\0\x01\0", 6, false, 0, 2, CURVECP_E_TOO_LONG,
                "more than 2 frames");
}

/* Random bytes never crash the decoder, and whatever it returns is
   either a whole message or a reason. */
static void
test_random_input (void)
{
    uint8_t input[4096];
    for (int round = 0; round < 2000; round++) {
        size_t len = randombytes_uniform (sizeof input);
        randombytes_buf (input, len);
        if (round % 2)
            memcpy (input, "ZCCP\x01\0\0\0", len < 8 ? len : 8);
        curvecp_appframe_t *d = curvecp_appframe_new (round % 2 == 1, 65536, 16);
        size_t at = 0;
        while (at < len) {
            size_t used;
            curvecp_reason_t r = curvecp_appframe_feed (d, input + at, len - at, &used);
            zmsg_t *m = curvecp_appframe_take (d);
            zmsg_destroy (&m);
            if (r != CURVECP_OK) {
                CHECK (curvecp_appframe_error (d)[0] != 0);
                break;
            }
            at += used;
        }
        curvecp_appframe_destroy (&d);
    }
}

/* A 9-byte header announcing a frame of nearly the whole 256 MiB limit,
   then a few bytes: the decoder (and the process) hold kilobytes, not the
   announced size. Then the body arrives in pieces and the decoder never
   holds more than three times what came plus its first buffer; the frame
   that comes out is the one that went in. */
static void
test_memory_follows_data (void)
{
    size_t heap_before = heap_in_use ();
    curvecp_appframe_t *d = curvecp_appframe_new (false, 0, 0);
    uint8_t header[CURVECP_APPFRAME_HEADER_MAX];
    size_t announced = CURVECP_APPFRAME_MESSAGE_MAX - 1;
    CHECK_EQ (curvecp_appframe_header (header, announced, false), 9);
    size_t used;
    CHECK_EQ (curvecp_appframe_feed (d, header, sizeof header, &used), CURVECP_OK);
    CHECK_EQ (used, 9);
    uint8_t few[100];
    memset (few, 0x5a, sizeof few);
    CHECK_EQ (curvecp_appframe_feed (d, few, sizeof few, &used), CURVECP_OK);
    CHECK_EQ (used, sizeof few);
    CHECK (curvecp_appframe_allocated (d) <= 65536);
    CHECK (heap_in_use () - heap_before < 1024 * 1024);
    printf ("header announcing %zu bytes + %zu bytes: decoder holds %zu bytes, heap grew %zu bytes\n",
            announced, sizeof few, curvecp_appframe_allocated (d), heap_in_use () - heap_before);
    /* want() offers only the buffer, not the announced rest */
    uint8_t *dest;
    CHECK (curvecp_appframe_want (d, &dest) <= 65536 - sizeof few);
    curvecp_appframe_destroy (&d);

    /* a 6 MB frame then a 1-byte frame, fed through want/commit in
       pieces of 7777 bytes: bounded at every step, exact at the end */
    size_t size = 6 * 1000 * 1000 + 3;
    uint8_t *stream = (uint8_t *) malloc (size + 32);
    CHECK (stream);
    size_t len = curvecp_appframe_header (stream, size, true);
    for (size_t i = 0; i < size; i++)
        stream[len + i] = (uint8_t) (i * 31 + (i >> 11));
    len += size;
    len += curvecp_appframe_header (stream + len, 1, false);
    stream[len++] = 0x42;
    d = curvecp_appframe_new (false, 0, 0);
    size_t at = 0, peak = 0;
    while (at < len) {
        size_t want = curvecp_appframe_want (d, &dest);
        CHECK (want > 0);
        size_t n = want < 7777 ? want : 7777;
        if (n > len - at)
            n = len - at;
        memcpy (dest, stream + at, n);
        CHECK_EQ (curvecp_appframe_commit (d, n), CURVECP_OK);
        at += n;
        size_t held = curvecp_appframe_allocated (d);
        CHECK (held <= 3 * at + 65536);
        if (held > peak)
            peak = held;
        if (curvecp_appframe_ready (d))
            break;
    }
    CHECK_EQ (at, len);
    zmsg_t *msg = curvecp_appframe_take (d);
    CHECK (msg && zmsg_size (msg) == 2);
    zframe_t *big = zmsg_first (msg);
    CHECK_EQ (zframe_size (big), size);
    CHECK_MEM (zframe_data (big), stream + 9, size);
    zframe_t *small = zmsg_next (msg);
    CHECK (zframe_size (small) == 1 && zframe_data (small)[0] == 0x42);
    CHECK_EQ (curvecp_appframe_allocated (d), 0);
    printf ("6 MB frame in 7777-byte pieces: decoder peak %zu bytes, never over 3x received + 64 KiB\n", peak);
    zmsg_destroy (&msg);
    curvecp_appframe_destroy (&d);
    free (stream);
}

/* A frame just over the direct size goes through the staging buffer in
   every split, including a failure (bad next header) after staging. */
static void
test_staged_frame_edges (void)
{
    static const size_t sizes[] = { 65536, 65537, 131072, 131073, 300001 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t size = sizes[k];
        uint8_t *stream = (uint8_t *) malloc (size + 16);
        CHECK (stream);
        size_t len = curvecp_appframe_header (stream, size, true);
        for (size_t i = 0; i < size; i++)
            stream[len + i] = (uint8_t) (i ^ (i >> 8));
        len += size;
        stream[len++] = 0x80;                    /* reserved bit in the next header */
        stream[len++] = 0;
        for (size_t piece = 1000; piece < 70000; piece += 23456) {
            curvecp_appframe_t *d = curvecp_appframe_new (false, 0, 0);
            size_t at = 0;
            curvecp_reason_t rc = CURVECP_OK;
            while (rc == CURVECP_OK && at < len) {
                size_t used, n = piece < len - at ? piece : len - at;
                rc = curvecp_appframe_feed (d, stream + at, n, &used);
                at += used;
            }
            CHECK_EQ (rc, CURVECP_E_BAD_MESSAGE);
            CHECK (strstr (curvecp_appframe_error (d), "frame 2: reserved flag bits 0x80"));
            CHECK_EQ (curvecp_appframe_allocated (d), 0);
            curvecp_appframe_destroy (&d);
        }
        free (stream);
    }
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_headers ();
    test_round_trip_every_split ();
    test_malformed ();
    test_random_input ();
    test_memory_follows_data ();
    test_staged_frame_edges ();
    printf ("test_zmq_appframe: OK\n");
    return 0;
}
