/*  fuzz_appframe - the ØMQ carrier's application-message framing
    (curvecp_appframe_t): greeting, then frames of flags | size | body.

    Input byte 0 (setup): bit 0 expects a greeting, bit 1 picks build
    mode; then the limits (a fuzz max_message up to ~1 MiB and max_frames
    up to 64, so one header cannot make the harness allocate the default
    256 MiB on every run).

      raw mode:   the rest of the input is the byte stream;
      build mode: fuzz messages (frames of fuzz sizes, short and long
                  headers, empty frames) are encoded with
                  curvecp_appframe_header after our greeting, plus a fuzz
                  tail.

    The stream goes to the decoder in fuzz-sized pieces, alternately
    through feed() and through want()/commit(). An independent model of
    the format says which messages are complete and whether (and why) the
    stream is malformed: every message taken must be the model's next,
    frame by frame, byte for byte; at the end the decoder must have failed
    exactly when the model did, with the same reason, and its counters
    must say so (OK = messages decoded, one count of the failure). An
    over-long commit must be refused without changing anything.       */
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_appframe.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define STREAM_MAX (1u << 20)
#define FRAMES_MAX 4096
#define MESSAGES_MAX 512

/* ---- the model ------------------------------------------------------------ */

typedef struct {
    size_t frame_at[FRAMES_MAX], frame_size[FRAMES_MAX];
    int message_end[MESSAGES_MAX];   /* index after each whole message's last frame */
    int messages, frames;
    curvecp_reason_t failure;
    bool greeted;
    uint8_t options;
} model_t;

static curvecp_reason_t
s_model_greeting (const uint8_t *s, size_t len, model_t *m)
{
    if (len < CURVECP_APPFRAME_GREETING)
        return CURVECP_OK;
    if (memcmp (s, "ZCCP", 4) != 0)
        return CURVECP_E_BAD_MAGIC;
    if (s[4] != CURVECP_APPFRAME_VERSION || s[6] || s[7])
        return CURVECP_E_BAD_MESSAGE;
    m->greeted = true;
    m->options = s[5];
    return CURVECP_OK;
}

static void
s_model (const uint8_t *s, size_t len, bool greeting, size_t max_message, size_t max_frames, model_t *m)
{
    memset (m, 0, sizeof *m);
    size_t pos = 0;
    if (greeting) {
        if ((m->failure = s_model_greeting (s, len, m)) != CURVECP_OK || !m->greeted)
            return;
        pos = CURVECP_APPFRAME_GREETING;
    }
    size_t message_bytes = 0, frames = 0;
    while (len - pos >= 2 && m->frames < FRAMES_MAX && m->messages < MESSAGES_MAX) {
        uint8_t flags = s[pos];
        if (flags & ~(CURVECP_APPFRAME_MORE | CURVECP_APPFRAME_LONG)) {
            m->failure = CURVECP_E_BAD_MESSAGE;
            return;
        }
        uint64_t size = s[pos + 1];
        size_t header = 2;
        if (flags & CURVECP_APPFRAME_LONG) {
            if (len - pos < 9)
                return;
            size = 0;
            for (int i = 1; i <= 8; i++)
                size = size << 8 | s[pos + (size_t) i];
            header = 9;
            if (size < 256) {
                m->failure = CURVECP_E_BAD_MESSAGE;
                return;
            }
        }
        if (frames + 1 > max_frames || size > max_message - message_bytes) {
            m->failure = CURVECP_E_TOO_LONG;
            return;
        }
        pos += header;
        if (len - pos < size)
            return;                                 /* body still to come */
        m->frame_at[m->frames] = pos;
        m->frame_size[m->frames++] = (size_t) size;
        pos += (size_t) size;
        message_bytes += (size_t) size;
        frames++;
        if (!(flags & CURVECP_APPFRAME_MORE)) {
            m->message_end[m->messages++] = m->frames;
            message_bytes = frames = 0;
        }
    }
}

/* ---- driving the decoder ----------------------------------------------------- */

typedef struct {
    const uint8_t *stream;
    const model_t *model;
    int taken, frames_seen;          /* messages and frames compared so far */
} check_t;

static void
s_take_ready (curvecp_appframe_t *decoder, check_t *c)
{
    zmsg_t *msg;
    while ((msg = curvecp_appframe_take (decoder))) {
        FUZZ_CHECK (c->taken < c->model->messages);
        int end = c->model->message_end[c->taken];
        FUZZ_CHECK ((int) zmsg_size (msg) == end - c->frames_seen);
        for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg)) {
            size_t at = c->model->frame_at[c->frames_seen], size = c->model->frame_size[c->frames_seen];
            FUZZ_CHECK (zframe_size (frame) == size);
            FUZZ_CHECK (size == 0 || memcmp (zframe_data (frame), c->stream + at, size) == 0);
            c->frames_seen++;
        }
        c->taken++;
        zmsg_destroy (&msg);
        FUZZ_CHECK (!curvecp_appframe_ready (decoder));
    }
}

/* Copy a piece in through want()/commit(), as the carrier does. */
static curvecp_reason_t
s_commit_piece (curvecp_appframe_t *decoder, const uint8_t *piece, size_t len, size_t *used)
{
    *used = 0;
    curvecp_reason_t rc = curvecp_appframe_failed (decoder);
    while (rc == CURVECP_OK && *used < len && !curvecp_appframe_ready (decoder)) {
        uint8_t *dest;
        size_t want = curvecp_appframe_want (decoder, &dest);
        FUZZ_CHECK (want > 0);
        /* one byte too many must be refused and change nothing */
        bool ready = curvecp_appframe_ready (decoder), greeted = curvecp_appframe_greeted (decoder);
        FUZZ_CHECK (curvecp_appframe_commit (decoder, want + 1) == CURVECP_E_BAD_ARGUMENT);
        FUZZ_CHECK (curvecp_appframe_ready (decoder) == ready && curvecp_appframe_greeted (decoder) == greeted);
        FUZZ_CHECK (curvecp_appframe_failed (decoder) == CURVECP_OK);
        if (want > len - *used)
            want = len - *used;
        memcpy (dest, piece + *used, want);
        *used += want;
        rc = curvecp_appframe_commit (decoder, want);
    }
    return rc;
}

static void
s_decode (const uint8_t *stream, size_t len, bool greeting, size_t max_message, size_t max_frames,
          uint32_t pieces)
{
    static model_t model;
    s_model (stream, len, greeting, max_message, max_frames, &model);
    curvecp_appframe_t *decoder = curvecp_appframe_new (greeting, max_message, max_frames);
    FUZZ_CHECK (decoder);
    check_t c = { .stream = stream, .model = &model, .taken = 0, .frames_seen = 0 };
    size_t at = 0;
    curvecp_reason_t rc = CURVECP_OK;
    while (at < len && rc == CURVECP_OK && c.taken < model.messages + 1) {
        size_t piece = 1 + pieces % 700;
        bool by_commit = pieces & 0x10000;
        pieces = pieces * 1664525u + 1013904223u;
        if (piece > len - at)
            piece = len - at;
        size_t used = 0;
        rc = by_commit ? s_commit_piece (decoder, stream + at, piece, &used)
                       : curvecp_appframe_feed (decoder, stream + at, piece, &used);
        FUZZ_CHECK (used <= piece);
        at += used;
        s_take_ready (decoder, &c);
        if (model.messages == MESSAGES_MAX || model.frames == FRAMES_MAX)
            break;                                  /* the model stopped counting */
    }
    if (model.messages < MESSAGES_MAX && model.frames < FRAMES_MAX) {
        FUZZ_CHECK (rc == model.failure);
        FUZZ_CHECK (curvecp_appframe_failed (decoder) == model.failure);
        FUZZ_CHECK (c.taken == model.messages);
        FUZZ_CHECK (curvecp_appframe_greeted (decoder) == (!greeting || model.greeted));
        if (model.greeted)
            FUZZ_CHECK (curvecp_appframe_peer_options (decoder) == model.options);
        const curvecp_stats_t *stats = curvecp_appframe_stats (decoder);
        FUZZ_CHECK (stats->counts[CURVECP_OK] == (uint64_t) model.messages);
        FUZZ_CHECK (curvecp_stats_rejected (stats) == (model.failure != CURVECP_OK));
        if (model.failure != CURVECP_OK) {
            FUZZ_CHECK (curvecp_appframe_error (decoder)[0] != 0);
            uint8_t byte = 0;
            size_t used = 1;
            FUZZ_CHECK (curvecp_appframe_feed (decoder, &byte, 1, &used) == model.failure && used == 0);
        }
    }
    curvecp_appframe_destroy (&decoder);
    FUZZ_CHECK (decoder == NULL);
}

/* ---- building streams ------------------------------------------------------------ */

static size_t
s_build (fuzz_input_t *in, uint8_t *stream, bool greeting)
{
    size_t len = 0;
    if (greeting) {
        curvecp_appframe_greeting (stream, fuzz_u8 (in));
        len = CURVECP_APPFRAME_GREETING;
    }
    int messages = 1 + fuzz_u8 (in) % 8;
    for (int i = 0; i < messages; i++) {
        zmsg_t *msg = zmsg_new ();
        int frames = 1 + fuzz_u8 (in) % 6;
        size_t start = len;
        for (int f = 0; f < frames; f++) {
            uint8_t kind = fuzz_u8 (in);
            size_t size = kind & 1 ? fuzz_u16 (in) % 3000 : kind >> 1;
            len += curvecp_appframe_header (stream + len, size, f + 1 < frames);
            for (size_t b = 0; b < size; b++)
                stream[len + b] = (uint8_t) (kind + b * 7);
            zmsg_addmem (msg, stream + len, size);
            len += size;
        }
        FUZZ_CHECK (curvecp_appframe_encoded_size (msg) == len - start);
        zmsg_destroy (&msg);
    }
    len += fuzz_rest (in, stream + len, 32);
    return len;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_input_t in;
    fuzz_start (&in, data, size);
    uint8_t setup = fuzz_u8 (&in);
    bool greeting = setup & 1;
    size_t max_message = 1 + (size_t) fuzz_u16 (&in) * 17;
    size_t max_frames = 1 + fuzz_u8 (&in) % 64;
    uint32_t pieces = fuzz_u32 (&in);
    static uint8_t stream[8 + 8 * 6 * (9 + 3000) + 32];
    size_t len;
    if (setup & 2)
        len = s_build (&in, stream, greeting);
    else
        len = fuzz_rest (&in, stream, sizeof stream);
    s_decode (stream, len, greeting, max_message, max_frames, pieces);
    return 0;
}
