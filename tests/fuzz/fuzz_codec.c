/*  fuzz_codec - two ØMQ codecs (src/zmq/curvecp_zmq_codec.c: zmsg <->
    application framing <-> core connection), a client and a
    self-accepting server with the vector server keys, joined by a fuzz
    network that loses, duplicates, replays, flips, truncates and injects
    blobs while the clock jumps. Each side sends whole messages of one to
    three frames (sizes from the input, up to 3 blocks); the carrier's
    output buffer is either NaCl-sized or large enough for the negotiated
    large blocks, as the input says.

    Invariants:
      - every blob is counted exactly once in the receiver's stats, and a
        refused blob changes nothing the application can see;
      - every message received is the next message the other side sent,
        frame for frame and byte for byte: no loss, reordering,
        duplication or corruption (the client does not re-handshake here:
        silence_timeout is off, so a message is never sent twice);
      - after a drain on a clean network, every message sent arrived, or a
        codec reports a failure.                                        */
#include <czmq.h>
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_zmq_codec.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define QUEUE_MAX 8
#define OPS_MAX 128
#define MESSAGES_MAX 24
#define FRAME_MAX 3000
#define DRAIN_STEPS 3000
#define MS 1000000ull

typedef struct {
    uint8_t *data;                  /* CURVECP_ZMQ_CODEC_BLOB_MAX bytes */
    size_t len;
} blob_t;

typedef struct {
    curvecp_zmq_codec_t *codec;
    uint8_t salt;
    int sent, received;             /* messages */
    size_t sizes[MESSAGES_MAX][3];  /* frames of each message sent */
    int frames[MESSAGES_MAX];
    blob_t queue[QUEUE_MAX];        /* output towards the other side */
    int count;
    blob_t last;                    /* the last blob delivered to the other side */
} side_t;

typedef struct {
    side_t side[2];                 /* 0 client, 1 server */
    uint64_t now;
    size_t cap;                     /* the carrier's output buffer */
    uint8_t scratch[CURVECP_ZMQ_CODEC_BLOB_MAX];
} world_t;

/* Each frame of each message has a pattern of its own. */
static uint64_t
s_salt (uint8_t side, int message, int frame)
{
    return ((uint64_t) side << 40) ^ ((uint64_t) message << 8) ^ (uint64_t) frame;
}

static void
s_deliver (world_t *w, int to, const uint8_t *blob, size_t len)
{
    curvecp_zmq_codec_t *codec = w->side[to].codec;
    uint64_t counted = fuzz_stats_total (curvecp_zmq_codec_stats (codec));
    curvecp_zmq_codec_state_t state = curvecp_zmq_codec_state (codec);
    bool readable = curvecp_zmq_codec_readable (codec);
    curvecp_reason_t rc = curvecp_zmq_codec_execute (codec, blob, len, w->now);
    FUZZ_CHECK (fuzz_stats_total (curvecp_zmq_codec_stats (codec)) == counted + 1);
    if (rc != CURVECP_OK) {
        FUZZ_CHECK (curvecp_zmq_codec_state (codec) == state);
        FUZZ_CHECK (curvecp_zmq_codec_readable (codec) == readable);
    }
}

static void
s_produce (world_t *w, int i)
{
    side_t *side = &w->side[i];
    for (int k = 0; k < 64; k++) {
        size_t len = curvecp_zmq_codec_output (side->codec, w->now, w->scratch, w->cap);
        if (len == 0)
            return;
        FUZZ_CHECK (len <= w->cap);
        blob_t *slot = &side->queue[side->count < QUEUE_MAX ? side->count : QUEUE_MAX - 1];
        memcpy (slot->data, w->scratch, len);
        slot->len = len;
        if (side->count < QUEUE_MAX)
            side->count++;
    }
}

static void
s_send (world_t *w, fuzz_input_t *in, int i)
{
    side_t *side = &w->side[i];
    if (side->sent == MESSAGES_MAX || !curvecp_zmq_codec_writable (side->codec))
        return;
    int frames = 1 + fuzz_u8 (in) % 3;
    zmsg_t *msg = zmsg_new ();
    uint8_t body[FRAME_MAX];
    for (int f = 0; f < frames; f++) {
        size_t size = fuzz_u16 (in) % FRAME_MAX;
        fuzz_pattern_fill (body, size, s_salt (side->salt, side->sent, f), 0);
        zmsg_addmem (msg, body, size);
        side->sizes[side->sent][f] = size;
    }
    side->frames[side->sent] = frames;
    if (curvecp_zmq_codec_send (side->codec, &msg) == 0)
        side->sent++;
    else
        zmsg_destroy (&msg);
    if (fuzz_bool (in))
        curvecp_zmq_codec_flush (side->codec);
}

/* Whatever arrived must be the other side's next message. */
static void
s_receive (world_t *w, int i)
{
    side_t *side = &w->side[i];
    const side_t *other = &w->side[1 - i];
    zmsg_t *msg;
    while ((msg = curvecp_zmq_codec_recv (side->codec)) != NULL) {
        int index = side->received++;
        FUZZ_CHECK (index < other->sent);
        FUZZ_CHECK ((int) zmsg_size (msg) == other->frames[index]);
        int f = 0;
        for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg), f++) {
            FUZZ_CHECK (zframe_size (frame) == other->sizes[index][f]);
            FUZZ_CHECK (fuzz_pattern_matches (zframe_data (frame), zframe_size (frame), s_salt (other->salt, index, f), 0));
        }
        zmsg_destroy (&msg);
    }
}

static blob_t
s_take (side_t *side, int k)
{
    blob_t blob = side->queue[k];
    for (int j = k; j + 1 < side->count; j++)
        side->queue[j] = side->queue[j + 1];
    side->queue[side->count - 1] = blob;     /* its buffer stays owned by the queue */
    side->count--;
    return blob;
}

/* One network event; its parameters are read whatever happens, so an
   input keeps its meaning as the state varies. */
static void
s_network (world_t *w, fuzz_input_t *in, int i)
{
    side_t *side = &w->side[i];
    uint8_t op = fuzz_u8 (in) % 6;
    uint8_t pick = fuzz_u8 (in);
    uint16_t position = fuzz_u16 (in);
    uint8_t value = fuzz_u8 (in);
    bool cut = fuzz_bool (in);
    if (op == 5) {                  /* raw bytes */
        size_t len = position % 1200;
        fuzz_bytes (in, w->scratch, len);
        s_deliver (w, 1 - i, w->scratch, len);
        return;
    }
    if (op == 4) {                  /* replay */
        if (side->last.len)
            s_deliver (w, 1 - i, side->last.data, side->last.len);
        return;
    }
    if (side->count == 0)
        return;
    int k = pick % side->count;
    blob_t blob = op == 3 ? side->queue[k] : s_take (side, k);
    if (op == 1)
        return;
    memcpy (w->scratch, blob.data, blob.len);
    size_t len = blob.len;
    if (op == 2) {
        if (cut)
            len = position % (len + 1);
        else
            fuzz_flip (w->scratch, len, position, value);
    }
    s_deliver (w, 1 - i, w->scratch, len);
    if (op != 2) {
        memcpy (side->last.data, w->scratch, len);
        side->last.len = len;
    }
}

static void
s_step (world_t *w, fuzz_input_t *in)
{
    uint8_t op = fuzz_u8 (in) % 8;
    int i = op & 1;
    switch (op >> 1) {
        case 0:  w->now += (uint64_t) fuzz_u16 (in) * MS / 16; break;
        case 1:  s_send (w, in, i); break;
        case 2:  s_network (w, in, i); break;
        default: s_receive (w, i); break;
    }
    s_produce (w, 0);
    s_produce (w, 1);
}

static bool
s_failed (const world_t *w)
{
    return curvecp_zmq_codec_state (w->side[0].codec) == CURVECP_ZMQ_CODEC_FAILED
        || curvecp_zmq_codec_state (w->side[1].codec) == CURVECP_ZMQ_CODEC_FAILED;
}

static void
s_drain (world_t *w)
{
    for (int step = 0; step < DRAIN_STEPS && !s_failed (w); step++) {
        if (w->side[0].received == w->side[1].sent && w->side[1].received == w->side[0].sent)
            return;
        for (int i = 0; i < 2; i++) {
            curvecp_zmq_codec_flush (w->side[i].codec);
            s_produce (w, i);
            side_t *side = &w->side[i];
            while (side->count > 0) {
                blob_t blob = s_take (side, 0);
                memcpy (w->scratch, blob.data, blob.len);
                s_deliver (w, 1 - i, w->scratch, blob.len);
            }
            s_receive (w, 1 - i);
        }
        uint64_t next = curvecp_zmq_codec_deadline (w->side[0].codec);
        uint64_t other = curvecp_zmq_codec_deadline (w->side[1].codec);
        next = next < other ? next : other;
        if (next == UINT64_MAX)
            w->now += 1000 * MS;
        else
        if (next > w->now)
            w->now = next;
    }
    FUZZ_CHECK (s_failed (w)
             || (w->side[0].received == w->side[1].sent && w->side[1].received == w->side[0].sent));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_input_t in;
    const fuzz_world_t *fw = fuzz_start (&in, data, size);
    static world_t w;
    static bool allocated;
    if (!allocated) {
        for (int i = 0; i < 2; i++) {
            for (int k = 0; k < QUEUE_MAX; k++)
                w.side[i].queue[k].data = (uint8_t *) malloc (CURVECP_ZMQ_CODEC_BLOB_MAX);
            w.side[i].last.data = (uint8_t *) malloc (CURVECP_ZMQ_CODEC_BLOB_MAX);
        }
        allocated = true;
    }
    for (int i = 0; i < 2; i++) {
        side_t *side = &w.side[i];
        side->sent = side->received = side->count = 0;
        side->last.len = 0;
        side->salt = (uint8_t) (i + 1);
    }
    w.now = 1000000 * MS;
    w.cap = fuzz_bool (&in) ? CURVECP_ZMQ_CODEC_BLOB_MAX : CURVECP_PACKET_MAX;
    curvecp_keypair_t server_keys, client_keys;
    memcpy (server_keys.public_key, fw->server_long_pk, 32);
    memcpy (server_keys.secret_key, fw->server_long_sk, 32);
    memcpy (client_keys.public_key, fw->client_long_pk, 32);
    memcpy (client_keys.secret_key, fw->client_long_sk, 32);
    curvecp_zmq_codec_options_t options;
    curvecp_zmq_codec_options_default (&options);
    options.silence_timeout_ns = 0;         /* no re-handshake: no message is sent twice */
    options.window = fuzz_bool (&in) ? options.window : 131072;
    const char *names[] = { "test.example.com", NULL };
    w.side[0].codec = curvecp_zmq_codec_new_client (&client_keys, fw->server_long_pk, names[0],
                                                fw->server_ext, fw->client_ext, &options, w.now);
    w.side[1].codec = curvecp_zmq_codec_new_server (&server_keys, fw->server_ext, names, &options, w.now);
    FUZZ_CHECK (w.side[0].codec && w.side[1].codec);
    for (int op = 0; op < OPS_MAX && fuzz_remaining (&in) > 0; op++)
        s_step (&w, &in);
    s_drain (&w);
    curvecp_zmq_codec_destroy (&w.side[0].codec);
    curvecp_zmq_codec_destroy (&w.side[1].codec);
    return 0;
}
