/*  test_udp_framing.c - fd 8/9 frames: parse in pieces, every bad length
    byte refused, queue and flush through a real non-blocking pipe.      */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include "curvecp_framing.h"
#include "testutil.h"

static void
fill (uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t) (seed + i * 7);
}

/* Frames fed one byte at a time come out whole and in order. */
static void
test_pieces (void)
{
    curvecp_framing_t *f = curvecp_framing_new (0);
    uint8_t stream [3 * CURVECP_FRAME_MAX];
    uint8_t m1 [16], m2 [1088], m3 [192];
    fill (m1, sizeof m1, 1);
    fill (m2, sizeof m2, 2);
    fill (m3, sizeof m3, 3);
    size_t n = 0;
    n += curvecp_framing_encode (m1, sizeof m1, stream + n);
    n += curvecp_framing_encode (m2, sizeof m2, stream + n);
    n += curvecp_framing_encode (m3, sizeof m3, stream + n);
    CHECK_EQ (n, 3 + 16 + 1088 + 192);
    CHECK_EQ (stream [0], 1);
    CHECK_EQ (stream [17], 68);
    const uint8_t *msg;
    size_t len;
    int got = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ (curvecp_framing_push (f, stream + i, 1), 1);
        int rc;
        while ((rc = curvecp_framing_next (f, &msg, &len)) == 1) {
            const uint8_t *want = got == 0 ? m1 : got == 1 ? m2 : m3;
            size_t want_len = got == 0 ? sizeof m1 : got == 1 ? sizeof m2 : sizeof m3;
            CHECK_EQ (len, want_len);
            CHECK_MEM (msg, want, len);
            got++;
        }
        CHECK_EQ (rc, 0);
    }
    CHECK_EQ (got, 3);
    CHECK_EQ (curvecp_framing_buffered (f), 0);
    curvecp_framing_destroy (&f);
    CHECK (f == NULL);
}

static void
expect_error (uint8_t first, size_t input_max, curvecp_reason_t reason)
{
    curvecp_framing_t *f = curvecp_framing_new (0);
    if (input_max)
        CHECK_EQ (curvecp_framing_set_input_max (f, input_max), CURVECP_OK);
    uint8_t buf [CURVECP_FRAME_MAX] = { first };
    curvecp_framing_push (f, buf, sizeof buf);
    const uint8_t *msg = NULL;
    size_t len = 0;
    CHECK_EQ (curvecp_framing_next (f, &msg, &len), -1);
    CHECK_EQ (curvecp_framing_error (f), reason);
    CHECK (msg == NULL);
    /* sticky: later good frames are not returned */
    uint8_t good [17] = { 1 };
    curvecp_framing_push (f, good, sizeof good);
    CHECK_EQ (curvecp_framing_next (f, &msg, &len), -1);
    curvecp_framing_destroy (&f);
}

static void
test_bad_lengths (void)
{
    expect_error (0, 0, CURVECP_E_BAD_MESSAGE);            /* n = 0 */
    expect_error (0x80 | 1, 0, CURVECP_E_BAD_MESSAGE);     /* top bit */
    expect_error (0xff, 0, CURVECP_E_BAD_MESSAGE);
    expect_error (69, 0, CURVECP_E_TOO_LONG);              /* 1104 > 1088 */
    expect_error (127, 0, CURVECP_E_TOO_LONG);
    expect_error (41, 640, CURVECP_E_TOO_LONG);            /* client before the server spoke */
    /* boundaries that are fine */
    curvecp_framing_t *f = curvecp_framing_new (0);
    CHECK_EQ (curvecp_framing_set_input_max (f, 640), CURVECP_OK);
    uint8_t buf [641] = { 40 };
    curvecp_framing_push (f, buf, sizeof buf);
    const uint8_t *msg;
    size_t len;
    CHECK_EQ (curvecp_framing_next (f, &msg, &len), 1);
    CHECK_EQ (len, 640);
    CHECK_EQ (curvecp_framing_set_input_max (f, 0), CURVECP_E_BAD_ARGUMENT);
    CHECK_EQ (curvecp_framing_set_input_max (f, 1104), CURVECP_E_BAD_ARGUMENT);
    CHECK_EQ (curvecp_framing_set_input_max (f, 100), CURVECP_E_BAD_ARGUMENT);
    curvecp_framing_destroy (&f);
    uint8_t out [CURVECP_FRAME_MAX];
    CHECK_EQ (curvecp_framing_encode (buf, 0, out), 0);
    CHECK_EQ (curvecp_framing_encode (buf, 17, out), 0);
    CHECK_EQ (curvecp_framing_encode (buf, 1104, out), 0);
}

/* A full input buffer takes no more until frames are drained. */
static void
test_input_full (void)
{
    curvecp_framing_t *f = curvecp_framing_new (0);
    uint8_t frame [CURVECP_FRAME_MAX];
    uint8_t m [1088];
    fill (m, sizeof m, 9);
    curvecp_framing_encode (m, sizeof m, frame);
    size_t pushed = 0;
    while (curvecp_framing_push (f, frame, sizeof frame) == sizeof frame)
        pushed++;
    CHECK (pushed >= 2);
    const uint8_t *msg;
    size_t len;
    CHECK_EQ (curvecp_framing_next (f, &msg, &len), 1);
    CHECK_MEM (msg, m, len);
    curvecp_framing_destroy (&f);
}

/* Queue through a non-blocking pipe: a full queue refuses whole frames,
   and what comes out the other end parses back byte-exact. */
static void
test_pipe (void)
{
    int fds [2];
    CHECK (pipe2 (fds, O_NONBLOCK) == 0);
    curvecp_framing_t *w = curvecp_framing_new (4096);
    curvecp_framing_t *r = curvecp_framing_new (0);
    uint8_t m [1088];
    int queued = 0, full = 0;
    for (int i = 0; i < 5; i++) {
        fill (m, sizeof m, (uint8_t) i);
        curvecp_reason_t rc = curvecp_framing_queue (w, m, sizeof m);
        if (rc == CURVECP_OK)
            queued++;
        else {
            CHECK_EQ (rc, CURVECP_E_FULL);
            full++;
        }
    }
    CHECK_EQ (queued, 3);                  /* 3 x 1089 fit in 4096 */
    CHECK_EQ (full, 2);
    CHECK_EQ (curvecp_framing_dropped (w), 2);
    CHECK_EQ (curvecp_framing_queue (w, m, 20), CURVECP_E_BAD_ARGUMENT);
    CHECK_EQ (curvecp_framing_flush (w, fds [1]), 0);
    CHECK_EQ (curvecp_framing_queued (w), 0);
    int got = 0;
    ssize_t n;
    while ((n = curvecp_framing_read_fd (r, fds [0])) > 0) {
        const uint8_t *msg;
        size_t len;
        while (curvecp_framing_next (r, &msg, &len) == 1) {
            fill (m, sizeof m, (uint8_t) got);
            CHECK_EQ (len, 1088);
            CHECK_MEM (msg, m, len);
            got++;
        }
    }
    CHECK_EQ (n, -1);
    CHECK_EQ (errno, EAGAIN);
    CHECK_EQ (got, 3);
    /* Fill the pipe until flush reports pending bytes, then drain. */
    int pending = 0;
    for (int i = 0; i < 200 && !pending; i++) {
        if (curvecp_framing_queue (w, m, sizeof m) == CURVECP_OK)
            pending = curvecp_framing_flush (w, fds [1]) == 1;
    }
    CHECK (pending);
    close (fds [0]);
    CHECK_EQ (curvecp_framing_flush (w, fds [1]), -1);
    CHECK_EQ (errno, EPIPE);
    close (fds [1]);
    curvecp_framing_destroy (&w);
    curvecp_framing_destroy (&r);
}

int
main (void)
{
    signal (SIGPIPE, SIG_IGN);      /* see EPIPE from flush */
    test_pieces ();
    test_bad_lengths ();
    test_input_full ();
    test_pipe ();
    printf ("test_udp_framing: OK\n");
    return 0;
}
