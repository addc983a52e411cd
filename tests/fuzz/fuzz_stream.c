/*  fuzz_stream - the message layer's receive path: two curvecp_stream_t
    (A a client, B a server) joined by a fuzz-controlled network.

    The input is a program of operations: the application writes, reads
    and closes; each stream produces messages into a queue towards the
    other; the network delivers any queued message (or a duplicate, or
    one with a byte flipped), drops them, or injects raw fuzz bytes; time
    moves by fuzz amounts (small or large enough to give up).

    Every byte an application writes at stream position p is pattern(p),
    and every message delivered whose data the stream could accept is
    rewritten to the pattern of its position, so whatever the network does:
      - every byte read is pattern(its position) (no misplaced, duplicated
        or invented data);
      - a refused message is counted once under its reason and changes
        nothing that can be observed (readable bytes, EOF, send space,
        acked state, counters, deadline);
      - when the network only lost, duplicated and reordered real messages
        (no flips, no injections) and neither stream gave up, a drain at
        the end delivers everything: each side reads exactly what the
        other wrote, and the EOF it was closed with.                    */
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_message.h"
#include "curvecp_stream.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define QUEUE_MAX 16
#define OPS_MAX 256
#define WRITE_MAX 16384             /* per side per input, so a drain stays short */
#define DRAIN_ROUNDS 20000

typedef struct {
    uint8_t data[CURVECP_MSG_MAX];
    size_t len;
} packet_t;

typedef struct {
    packet_t packets[QUEUE_MAX];
    int count;
} queue_t;

typedef struct {
    curvecp_stream_t *stream;
    uint8_t salt;                   /* pattern of what this side writes */
    uint64_t written, read;
    curvecp_eof_t closed;
    queue_t out;                    /* produced, towards the other side */
} side_t;

typedef struct {
    side_t side[2];
    uint64_t now;
    bool clean;                     /* only loss, duplication and reordering so far */
    uint64_t rng;
    curvecp_rng_t stream_rng;       /* draws from rng */
} world_t;

static void
s_stream_rng (void *context, uint8_t *buf, size_t len)
{
    uint64_t *state = context;
    while (len > 0) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t word = *state >> 11;
        size_t n = len < sizeof word ? len : sizeof word;
        memcpy (buf, &word, n);
        buf += n;
        len -= n;
    }
}

/* ---- what a refused message must not change ------------------------------ */

typedef struct {
    size_t readable, send_space;
    curvecp_eof_t eof;
    bool all_acked, done, failed;
    uint64_t deadline;
    curvecp_stream_info_t info;
    curvecp_stats_t stats;
    size_t message_max;
} observed_t;

static void
s_observe (const curvecp_stream_t *stream, observed_t *o)
{
    memset (o, 0, sizeof *o);
    o->readable = curvecp_stream_readable (stream);
    o->send_space = curvecp_stream_send_space (stream);
    o->eof = curvecp_stream_received_eof (stream);
    o->all_acked = curvecp_stream_all_acked (stream);
    o->done = curvecp_stream_done (stream);
    o->failed = curvecp_stream_failed (stream);
    o->deadline = curvecp_stream_deadline (stream);
    o->info = *curvecp_stream_info (stream);
    o->stats = *curvecp_stream_stats (stream);
    o->message_max = curvecp_stream_message_max (stream);
}

/* Data of a message that decodes becomes the sender's pattern. */
static void
s_sanitise (uint8_t *message, size_t len, uint8_t salt)
{
    curvecp_message_t m;
    if (curvecp_message_decode (message, len, &m) != CURVECP_OK)
        return;
    fuzz_pattern_fill (message + len - m.data_len, m.data_len, salt, m.position);
}

static void
s_receive (world_t *w, int to, uint8_t *message, size_t len)
{
    side_t *side = &w->side[to];
    s_sanitise (message, len, w->side[!to].salt);
    observed_t before, after;
    s_observe (side->stream, &before);
    curvecp_reason_t rc = curvecp_stream_receive (side->stream, message, len, w->now);
    FUZZ_CHECK (rc < CURVECP_REASON_COUNT);
    s_observe (side->stream, &after);
    FUZZ_CHECK (after.stats.counts[rc] == before.stats.counts[rc] + 1);
    if (rc != CURVECP_OK) {
        before.stats.counts[rc]++;
        FUZZ_CHECK (memcmp (&before, &after, sizeof before) == 0);
    }
    FUZZ_CHECK (after.readable <= curvecp_stream_receive_window (side->stream));
}

/* ---- application side ---------------------------------------------------- */

static void
s_write (side_t *side, size_t want)
{
    static uint8_t buffer[WRITE_MAX];
    if (side->written + want > WRITE_MAX)
        want = WRITE_MAX - (size_t) side->written;
    fuzz_pattern_fill (buffer, want, side->salt, side->written);
    size_t space = curvecp_stream_send_space (side->stream);
    size_t taken = curvecp_stream_write (side->stream, buffer, want);
    FUZZ_CHECK (taken <= want && taken <= space);
    if (side->closed != CURVECP_EOF_NONE || curvecp_stream_failed (side->stream))
        FUZZ_CHECK (taken == 0);
    side->written += taken;
}

/* Read up to cap bytes from side; each must be the peer's pattern. */
static size_t
s_read (side_t *side, uint8_t peer_salt, size_t cap)
{
    static uint8_t buffer[8192];
    if (cap > sizeof buffer)
        cap = sizeof buffer;
    size_t readable = curvecp_stream_readable (side->stream);
    size_t got = curvecp_stream_read (side->stream, buffer, cap);
    FUZZ_CHECK (got <= cap && got <= readable);
    FUZZ_CHECK (fuzz_pattern_matches (buffer, got, peer_salt, side->read));
    side->read += got;
    return got;
}

static void
s_close (side_t *side, curvecp_eof_t eof)
{
    curvecp_reason_t rc = curvecp_stream_close (side->stream, eof);
    if (side->closed != CURVECP_EOF_NONE)
        FUZZ_CHECK (rc == CURVECP_E_WRONG_STATE);
    else
    if (rc == CURVECP_OK)
        side->closed = eof;
}

/* ---- network side ---------------------------------------------------------- */

/* Produce what is due; a full queue loses its oldest message. */
static int
s_produce (world_t *w, int from, int max)
{
    side_t *side = &w->side[from];
    int made = 0;
    for (; made < max; made++) {
        queue_t *q = &side->out;
        if (q->count == QUEUE_MAX) {
            memmove (&q->packets[0], &q->packets[1], sizeof q->packets[0] * (QUEUE_MAX - 1));
            q->count--;
        }
        packet_t *p = &q->packets[q->count];
        p->len = curvecp_stream_produce (side->stream, w->now, p->data, sizeof p->data);
        if (p->len == 0)
            break;
        curvecp_message_t m;
        FUZZ_CHECK (p->len <= curvecp_stream_message_max (side->stream) || p->len == CURVECP_MESSAGE_ACK_BYTES);
        FUZZ_CHECK (curvecp_message_decode (p->data, p->len, &m) == CURVECP_OK);
        FUZZ_CHECK (fuzz_pattern_matches (m.data, m.data_len, side->salt, m.position));
        q->count++;
    }
    return made;
}

/* Deliver message index of from's queue; keep it there (a duplicate to
   come) or not; flip one byte of the copy delivered. */
static void
s_deliver (world_t *w, int from, int index, bool keep, uint16_t flip_at, uint8_t flip)
{
    queue_t *q = &w->side[from].out;
    if (q->count == 0)
        return;
    index %= q->count;
    packet_t copy = q->packets[index];
    if (!keep) {
        memmove (&q->packets[index], &q->packets[index + 1], sizeof q->packets[0] * (size_t) (q->count - index - 1));
        q->count--;
    }
    if (flip && flip_at < copy.len) {
        copy.data[flip_at] ^= flip;
        w->clean = false;
    }
    s_receive (w, !from, copy.data, copy.len);
}

/* ---- the program -------------------------------------------------------------- */

static void
s_step (world_t *w, fuzz_input_t *in)
{
    uint8_t op = fuzz_u8 (in);
    int who = op >> 7;
    side_t *side = &w->side[who];
    switch ((op & 0x7f) % 9) {
        case 0: s_write (side, fuzz_u16 (in) % 4096); break;
        case 1: s_produce (w, who, 1 + fuzz_u8 (in) % 8); break;
        case 2: {
            uint8_t how = fuzz_u8 (in);
            uint16_t flip_at = (how & 2) ? fuzz_u16 (in) : 0;     /* input read in order */
            uint8_t flip = (how & 2) ? fuzz_u8 (in) : 0;
            s_deliver (w, who, how >> 2, how & 1, flip_at, flip);
            break;
        }
        case 3: {                                   /* lose a message */
            queue_t *q = &side->out;
            if (q->count)
                q->count--;
            break;
        }
        case 4: {
            uint64_t step = fuzz_u16 (in);
            w->now += step << (fuzz_u8 (in) % 24);
            break;
        }
        case 5: s_read (side, w->side[!who].salt, fuzz_u16 (in)); break;
        case 6: s_close (side, fuzz_bool (in) ? CURVECP_EOF_FAILURE : CURVECP_EOF_SUCCESS); break;
        case 7: {                                   /* raw bytes from the network */
            packet_t p;
            p.len = fuzz_u16 (in) % (CURVECP_MSG_MAX + 16);
            fuzz_bytes (in, p.data, p.len < sizeof p.data ? p.len : sizeof p.data);
            w->clean = false;
            s_receive (w, who, p.data, p.len < sizeof p.data ? p.len : sizeof p.data);
            break;
        }
        default: {                                  /* the deadline passes */
            uint64_t due = curvecp_stream_deadline (side->stream);
            if (due != UINT64_MAX && due > w->now)
                w->now = due;
            break;
        }
    }
}

/* Deliver everything both ways until nothing moves; the streams must then
   have carried every byte and EOF. */
static void
s_drain (world_t *w)
{
    for (int round = 0; round < DRAIN_ROUNDS; round++) {
        bool moved = false;
        for (int who = 0; who < 2; who++) {
            moved |= s_produce (w, who, QUEUE_MAX) > 0;
            while (w->side[who].out.count) {
                s_deliver (w, who, 0, false, 0, 0);
                moved = true;
            }
            while (s_read (&w->side[who], w->side[!who].salt, 8192))
                moved = true;
        }
        if (curvecp_stream_failed (w->side[0].stream) || curvecp_stream_failed (w->side[1].stream))
            return;
        if (moved)
            continue;
        uint64_t due = curvecp_stream_deadline (w->side[0].stream);
        uint64_t due_b = curvecp_stream_deadline (w->side[1].stream);
        if (due_b < due)
            due = due_b;
        if (due == UINT64_MAX)
            break;
        if (due > w->now)
            w->now = due;
    }
    if (curvecp_stream_failed (w->side[0].stream) || curvecp_stream_failed (w->side[1].stream))
        return;
    for (int who = 0; who < 2; who++) {
        side_t *side = &w->side[who], *peer = &w->side[!who];
        FUZZ_CHECK (peer->read == side->written);
        FUZZ_CHECK (curvecp_stream_received_eof (peer->stream) == side->closed);
        FUZZ_CHECK (curvecp_stream_all_acked (side->stream));
    }
}

/* setup bit 0: pacing; bits 1-3: buffer sizes (small ones make the
   receive window and the send buffer fill up). */
static curvecp_stream_t *
s_stream_new (bool is_client, uint8_t setup, const curvecp_rng_t *rng)
{
    curvecp_stream_config_t config;
    curvecp_stream_config_default (&config);
    config.is_client = is_client;
    config.pacing = setup & 1 ? CURVECP_PACING_WINDOW : CURVECP_PACING_CHICAGO;
    if (setup & 8) {
        config.receive_window = (size_t) 1024 << (setup >> 1 & 3);
        config.send_buffer = (size_t) 1024 << (setup >> 4 & 3);
    }
    config.rng = rng;
    curvecp_stream_t *stream = curvecp_stream_new (&config);
    FUZZ_CHECK (stream);
    return stream;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_input_t in;
    fuzz_start (&in, data, size);
    static world_t w;
    memset (&w, 0, sizeof w);
    w.clean = true;
    w.rng = size;
    uint8_t setup = fuzz_u8 (&in);
    w.stream_rng = (curvecp_rng_t) { s_stream_rng, &w.rng };
    w.side[0].stream = s_stream_new (true, setup, &w.stream_rng);
    w.side[1].stream = s_stream_new (false, setup, &w.stream_rng);
    w.side[0].salt = 0x11;
    w.side[1].salt = 0xa7;
    for (int i = 0; i < OPS_MAX && fuzz_remaining (&in); i++)
        s_step (&w, &in);
    if (w.clean)
        s_drain (&w);
    for (int who = 0; who < 2; who++) {
        curvecp_stream_destroy (&w.side[who].stream);
        FUZZ_CHECK (w.side[who].stream == NULL);
    }
    return 0;
}
