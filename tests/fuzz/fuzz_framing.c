/*  fuzz_framing - the fd 8/9 frame reader and writer (curvecp_framing_t).

    Input byte 0 (setup): bit 0 sets a fuzz input limit (16..1088) instead
    of 1088, bit 1 picks build mode, bits 2-3 a small output queue.

    The reader gets a byte stream in fuzz-sized pieces, and after each
    piece is drained with curvecp_framing_next. An independent model of
    the format (length byte n, then 16n bytes; n = 0 or the top bit set is
    bad-message, 16n over the limit too-long) says exactly which frames
    must come out, when the reader must fail and with which reason; once
    failed it must stay failed. buffered() must always equal what was
    taken and not yet returned.

      raw mode:   the stream is the rest of the input;
      build mode: fuzz messages are encoded with curvecp_framing_encode
                  and concatenated (plus a fuzz tail), then the same
                  messages are queued for output (each accepted exactly
                  when the queue has room for the whole frame, else
                  counted as dropped), flushed through a non-blocking pipe
                  and read back with curvecp_framing_read_fd: the reader
                  on the far side must get exactly the accepted messages. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "fuzz_common.h"
#include "curvecp_framing.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define STREAM_MAX 16384
#define MESSAGES_MAX 24

typedef struct {
    const uint8_t *bytes;            /* the whole stream */
    size_t parsed;                   /* model: bytes of whole frames returned */
    size_t limit;                    /* largest message accepted */
    curvecp_reason_t error;
} model_t;

/* What the next call to curvecp_framing_next must do, given that taken
   bytes of the stream have been pushed. */
static int
s_model_next (model_t *m, size_t taken, size_t *frame_len)
{
    if (m->error != CURVECP_OK)
        return -1;
    if (m->parsed == taken)
        return 0;
    uint8_t n = m->bytes[m->parsed];
    if (n == 0 || (n & 0x80))
        m->error = CURVECP_E_BAD_MESSAGE;
    else
    if ((size_t) n * 16 > m->limit)
        m->error = CURVECP_E_TOO_LONG;
    if (m->error != CURVECP_OK)
        return -1;
    if (taken - m->parsed < 1 + (size_t) n * 16)
        return 0;
    *frame_len = (size_t) n * 16;
    return 1;
}

/* Drain the reader and the model side by side. */
static void
s_drain (curvecp_framing_t *reader, model_t *m, size_t taken)
{
    for (;;) {
        const uint8_t *message = NULL;
        size_t len = 0, want_len = 0;
        int want = s_model_next (m, taken, &want_len);
        int got = curvecp_framing_next (reader, &message, &len);
        FUZZ_CHECK (got == want);
        FUZZ_CHECK (curvecp_framing_error (reader) == m->error);
        if (got != 1)
            break;
        FUZZ_CHECK (len == want_len && memcmp (message, m->bytes + m->parsed + 1, len) == 0);
        m->parsed += 1 + len;
        FUZZ_CHECK (curvecp_framing_buffered (reader) == taken - m->parsed);
    }
    if (m->error == CURVECP_OK)
        FUZZ_CHECK (curvecp_framing_buffered (reader) == taken - m->parsed);
}

/* Push the stream in pieces of fuzz-chosen sizes. */
static void
s_read_stream (curvecp_framing_t *reader, size_t limit, const uint8_t *stream, size_t len, fuzz_input_t *in)
{
    model_t m = { .bytes = stream, .parsed = 0, .limit = limit, .error = CURVECP_OK };
    size_t taken = 0;
    uint32_t pieces = fuzz_u32 (in) | 1;
    while (taken < len && m.error == CURVECP_OK) {
        size_t piece = 1 + (pieces % 1500);
        pieces = pieces * 1103515245u + 12345u;
        if (piece > len - taken)
            piece = len - taken;
        size_t took = curvecp_framing_push (reader, stream + taken, piece);
        /* drained, the buffer holds less than one frame: there is room */
        FUZZ_CHECK (took > 0 && took <= piece);
        taken += took;
        s_drain (reader, &m, taken);
    }
    if (m.error == CURVECP_OK)
        FUZZ_CHECK (taken == len);
    else {
        const uint8_t *message;
        size_t message_len;
        FUZZ_CHECK (curvecp_framing_next (reader, &message, &message_len) == -1);
    }
}

/* ---- output through a pipe ------------------------------------------------- */

static int s_pipe[2] = { -1, -1 };

static void
s_pipe_open (void)
{
    if (s_pipe[0] >= 0)
        return;
    FUZZ_CHECK (pipe (s_pipe) == 0);
    for (int i = 0; i < 2; i++)
        FUZZ_CHECK (fcntl (s_pipe[i], F_SETFL, fcntl (s_pipe[i], F_GETFL) | O_NONBLOCK) == 0);
}

typedef struct {
    uint8_t data[CURVECP_MSG_MAX];
    size_t len;
} message_t;

static void
s_write_and_read_back (size_t queue_bytes, const message_t *messages, int count)
{
    s_pipe_open ();
    curvecp_framing_t *writer = curvecp_framing_new (queue_bytes);
    curvecp_framing_t *far = curvecp_framing_new (0);
    FUZZ_CHECK (writer && far);
    size_t cap = queue_bytes == 0 ? CURVECP_FRAMING_QUEUE_DEFAULT
               : queue_bytes < CURVECP_FRAME_MAX ? CURVECP_FRAME_MAX : queue_bytes;
    bool accepted[MESSAGES_MAX];
    for (int i = 0; i < count; i++) {
        size_t queued = curvecp_framing_queued (writer);
        uint64_t dropped = curvecp_framing_dropped (writer);
        curvecp_reason_t rc = curvecp_framing_queue (writer, messages[i].data, messages[i].len);
        accepted[i] = cap - queued >= 1 + messages[i].len;
        FUZZ_CHECK (rc == (accepted[i] ? CURVECP_OK : CURVECP_E_FULL));
        FUZZ_CHECK (curvecp_framing_queued (writer) == queued + (accepted[i] ? 1 + messages[i].len : 0));
        FUZZ_CHECK (curvecp_framing_dropped (writer) == dropped + !accepted[i]);
    }
    uint8_t bad[CURVECP_MSG_MAX] = { 0 };
    FUZZ_CHECK (curvecp_framing_queue (writer, bad, 15) == CURVECP_E_BAD_ARGUMENT);
    int next = 0;
    for (int round = 0; round < 1000; round++) {
        int flushed = curvecp_framing_flush (writer, s_pipe[1]);
        FUZZ_CHECK (flushed == 0 || flushed == 1);
        ssize_t r;
        while ((r = curvecp_framing_read_fd (far, s_pipe[0])) > 0) {
            const uint8_t *message;
            size_t len;
            int got;
            while ((got = curvecp_framing_next (far, &message, &len)) == 1) {
                while (next < count && !accepted[next])
                    next++;
                FUZZ_CHECK (next < count);
                FUZZ_CHECK (len == messages[next].len && memcmp (message, messages[next].data, len) == 0);
                next++;
            }
            FUZZ_CHECK (got == 0);
        }
        FUZZ_CHECK (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK));
        if (flushed == 0 && curvecp_framing_buffered (far) == 0)
            break;
    }
    while (next < count && !accepted[next])
        next++;
    FUZZ_CHECK (next == count && curvecp_framing_queued (writer) == 0);
    curvecp_framing_destroy (&writer);
    curvecp_framing_destroy (&far);
    FUZZ_CHECK (writer == NULL && far == NULL);
}

/* ---- modes ----------------------------------------------------------------- */

static size_t
s_build_stream (fuzz_input_t *in, uint8_t *stream, message_t *messages, int *count)
{
    size_t len = 0;
    *count = 1 + fuzz_u8 (in) % MESSAGES_MAX;
    for (int i = 0; i < *count; i++) {
        message_t *m = &messages[i];
        m->len = 16 * (1 + (size_t) (fuzz_u8 (in) % (CURVECP_MSG_MAX / 16)));
        fuzz_bytes (in, m->data, 16);
        for (size_t at = 16; at < m->len; at += 16)
            memcpy (m->data + at, m->data, 16);
        uint8_t frame[CURVECP_FRAME_MAX];
        size_t frame_len = curvecp_framing_encode (m->data, m->len, frame);
        FUZZ_CHECK (frame_len == 1 + m->len && frame[0] == m->len / 16);
        memcpy (stream + len, frame, frame_len);
        len += frame_len;
    }
    uint8_t junk[CURVECP_MSG_MAX];
    FUZZ_CHECK (curvecp_framing_encode (junk, 0, junk) == 0 && curvecp_framing_encode (junk, 17, junk) == 0);
    len += fuzz_rest (in, stream + len, 64);         /* a tail: half a frame or a bad byte */
    return len;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_input_t in;
    fuzz_start (&in, data, size);
    uint8_t setup = fuzz_u8 (&in);
    curvecp_framing_t *reader = curvecp_framing_new (0);
    FUZZ_CHECK (reader);
    size_t limit = CURVECP_MSG_MAX;
    uint16_t wish = fuzz_u16 (&in);
    if (setup & 1) {
        curvecp_reason_t rc = curvecp_framing_set_input_max (reader, wish);
        bool valid = wish >= 16 && wish <= CURVECP_MSG_MAX && wish % 16 == 0;
        FUZZ_CHECK (rc == (valid ? CURVECP_OK : CURVECP_E_BAD_ARGUMENT));
        if (valid)
            limit = wish;
    }
    static uint8_t stream[MESSAGES_MAX * CURVECP_FRAME_MAX + 64];
    static message_t messages[MESSAGES_MAX];
    if (setup & 2) {
        int count;
        size_t len = s_build_stream (&in, stream, messages, &count);
        s_read_stream (reader, limit, stream, len, &in);
        s_write_and_read_back ((size_t) (setup >> 2 & 3) * 1500, messages, count);
    }
    else {
        uint32_t pieces = fuzz_u32 (&in);
        size_t len = fuzz_rest (&in, stream, STREAM_MAX);
        fuzz_input_t piece_input;
        uint8_t piece_bytes[4] = { (uint8_t) pieces, (uint8_t) (pieces >> 8), (uint8_t) (pieces >> 16),
                                   (uint8_t) (pieces >> 24) };
        fuzz_input_init (&piece_input, piece_bytes, sizeof piece_bytes);
        s_read_stream (reader, limit, stream, len, &piece_input);
    }
    curvecp_framing_destroy (&reader);
    FUZZ_CHECK (reader == NULL);
    return 0;
}
