/*  curvecp_zmq_codec.c - the ØMQ carrier's adapter: zmsg_t <-> application
    framing <-> one core connection (curvecp_conn).

    The connection (src/core/curvecp_conn.c) owns the handshake, the
    session, the message layer and every timer; the codec adds what only
    ØMQ needs: whole messages framed into the byte stream (curvecp_appframe),
    Nagle-style coalescing of small messages, the ZCCP greeting and its
    options, and a ring of zmsg_t kept until the peer acknowledges their
    last byte, so a client can send them again on a new session after the
    server lost its state (the connection's re-handshake: its generation
    changes). Messages are copied once, into the stream.

    Options (curvecp_zmq_codec.h): our greeting goes into the stream at the
    first output after the session exists, not when the session is made,
    because whether we offer large blocks depends on the buffer the
    carrier gives output. The window tag needs nothing here but a window
    above 128 KiB: the stream announces and reads it.                    */
#include <sodium.h>
#include <string.h>
#include "curvecp_appframe.h"
#include "curvecp_zmq_codec.h"
#include "curvecp_zmq_codec_internal.h"
#include "curvecp_conn.h"
#include "curvecp_packet.h"

#define SECOND        1000000000ull
#define BLOCK         CURVECP_MESSAGE_DATA_MAX     /* a full message-layer block */
#define LARGE_BLOCK   CURVECP_MESSAGE_LARGE_DATA_MAX
#define DEFAULT_WINDOW (1024u * 1024u)
#define INITIAL_BUFFER (16u * 1024u)

typedef struct {
    zmsg_t *msg;
    uint64_t end;                 /* stream position after its last byte, once written */
    size_t encoded;               /* bytes it takes on the stream */
} entry_t;

struct _curvecp_zmq_codec_t {
    bool is_server;
    curvecp_zmq_codec_options_t options;
    curvecp_conn_t *conn;
    curvecp_zmq_codec_authorize_fn *authorize;
    void *authorize_arg;

    /* the session's stream as this codec last saw it */
    bool have_stream;
    uint64_t generation;
    curvecp_appframe_t *decoder;

    /* outgoing messages: [head, head + written) are in the stream, the rest wait */
    entry_t *ring;
    size_t ring_size, head, count, written;
    size_t queued_bytes;          /* encoded bytes not yet in the stream */
    uint64_t stream_pos;          /* bytes written into this session's stream */
    uint64_t align_base;          /* where the stream's next block starts */
    bool flush;
    bool closing, closed;         /* shutdown asked / EOF written */
    size_t block;                 /* Nagle's block: 1024, or the negotiated large block */
    bool greeted;                 /* our greeting is in this session's stream */
    bool agreement_known;         /* the peer's greeting was read after ours went out */
    uint8_t offered, agreed;      /* greeting options we sent / both sent */
    /* progress through the message being written */
    zframe_t *frame;
    size_t frame_index, body_offset;
    uint8_t header[CURVECP_APPFRAME_HEADER_MAX];
    size_t header_len, header_offset;
    bool writing;

    /* the deadline as last computed, until any call but the deadline's
       own changes state: a carrier asks for it several times per packet
       (its output loop's early return, its timer heap, its poll) */
    uint64_t deadline;
    bool deadline_known;

    curvecp_zmq_codec_info_t info;
};

static void pump_recv (curvecp_zmq_codec_t *self);
static void sync_session (curvecp_zmq_codec_t *self);

/* Whatever may change the connection, the stream or the queue calls this
   when it has: every entry point that does on its way out, and reading
   (pump_recv) or failing wherever they happen. */
static inline void
forget_deadline (curvecp_zmq_codec_t *self)
{
    self->deadline_known = false;
}

void
curvecp_zmq_codec_options_default (curvecp_zmq_codec_options_t *options)
{
    memset (options, 0, sizeof *options);
    options->handshake_timeout_ns = 10 * SECOND;
    options->silence_timeout_ns = 5 * SECOND;
    options->idle_timeout_ns = 600 * SECOND;
    options->max_message = CURVECP_APPFRAME_MESSAGE_MAX;
    options->max_frames = CURVECP_APPFRAME_FRAMES_MAX;
    options->send_queue = 4u * 1024u * 1024u;
    options->window = DEFAULT_WINDOW;
    options->block_max = LARGE_BLOCK;
}

/* Our side can take large blocks: configured so, and a window that holds
   two of them. */
static bool
may_offer_large (const curvecp_zmq_codec_options_t *options)
{
    return options->block_max > BLOCK && options->window >= 2 * LARGE_BLOCK;
}

/* What the connection needs from the codec's options: WINDOW pacing (the
   carrier is ordered), the window both ways (announced above 128 KiB),
   the handshake, silence and idle rules of the role. */
static void
conn_config (const curvecp_zmq_codec_options_t *options, bool is_server, curvecp_conn_config_t *config)
{
    curvecp_conn_config_default (config);
    curvecp_stream_config_t *stream = &config->stream;
    stream->pacing = CURVECP_PACING_WINDOW;
    stream->send_buffer = options->window;
    stream->receive_window = options->window;
    stream->peer_window_max = options->window;
    /* rings start small and double on use: a connection that carries
       a request and a reply never touches its 1 MiB window */
    stream->initial_buffer = INITIAL_BUFFER;
    size_t blocks = options->window / BLOCK;
    stream->blocks_max = blocks < CURVECP_STREAM_BLOCKS_MAX ? CURVECP_STREAM_BLOCKS_MAX
                       : blocks > CURVECP_STREAM_TABLE_MAX ? CURVECP_STREAM_TABLE_MAX : blocks;
    /* the session, not the stream, keeps large messages out until we offer them */
    if (may_offer_large (options))
        stream->block_max = LARGE_BLOCK;
    config->ping = false;         /* our greeting is the client's first block */
    config->linger_ns = 0;
    if (is_server) {
        config->idle_timeout_ns = options->idle_timeout_ns;
        config->confirm_timeout_ns = options->handshake_timeout_ns;
    }
    else {
        config->handshake_timeout_ns = options->handshake_timeout_ns;
        config->silence_timeout_ns = options->silence_timeout_ns;
    }
}

static curvecp_zmq_codec_t *
codec_new (bool is_server, const curvecp_zmq_codec_options_t *options)
{
    curvecp_zmq_codec_t *self = (curvecp_zmq_codec_t *) calloc (1, sizeof (curvecp_zmq_codec_t));
    if (!self)
        return NULL;
    self->is_server = is_server;
    curvecp_zmq_codec_options_default (&self->options);
    if (options)
        self->options = *options;
    if (self->options.window < BLOCK)
        self->options.window = BLOCK;
    if (self->options.block_max > LARGE_BLOCK)
        self->options.block_max = LARGE_BLOCK;
    self->block = BLOCK;
    return self;
}

/* Finish a codec around its new connection (NULL: failed). */
static curvecp_zmq_codec_t *
codec_attach (curvecp_zmq_codec_t *self, curvecp_conn_t *conn)
{
    self->conn = conn;
    if (!conn) {
        curvecp_zmq_codec_destroy (&self);
        return NULL;
    }
    sync_session (self);
    return self;
}

curvecp_zmq_codec_t *
curvecp_zmq_codec_new_client (const curvecp_keypair_t *keys, const uint8_t server_pk[CURVECP_KEY_BYTES],
                          const char *server_name, const uint8_t server_ext[CURVECP_EXT_BYTES],
                          const uint8_t client_ext[CURVECP_EXT_BYTES],
                          const curvecp_zmq_codec_options_t *options, uint64_t now)
{
    curvecp_zmq_codec_t *self = codec_new (false, options);
    if (!self)
        return NULL;
    curvecp_conn_config_t config;
    conn_config (&self->options, false, &config);
    return codec_attach (self, curvecp_conn_new_client (&config, keys, server_pk, server_name,
                                                        server_ext, client_ext, now));
}

curvecp_zmq_codec_t *
curvecp_zmq_codec_new_server (const curvecp_keypair_t *keys, const uint8_t server_ext[CURVECP_EXT_BYTES],
                          const char *const *names, const curvecp_zmq_codec_options_t *options, uint64_t now)
{
    curvecp_zmq_codec_t *self = codec_new (true, options);
    if (!self)
        return NULL;
    curvecp_conn_config_t config;
    conn_config (&self->options, true, &config);
    return codec_attach (self, curvecp_conn_new_server_alone (&config, keys, server_ext, names, now));
}

curvecp_zmq_codec_t *
curvecp_zmq_codec_new_accepted (const curvecp_session_t *session, const uint8_t *first_message, size_t first_len,
                            const curvecp_zmq_codec_options_t *options, uint64_t now)
{
    curvecp_zmq_codec_t *self = codec_new (true, options);
    if (!self)
        return NULL;
    curvecp_conn_config_t config;
    conn_config (&self->options, true, &config);
    self = codec_attach (self, curvecp_conn_new_accepted (&config, session, now));
    if (self && first_message)
        curvecp_conn_deliver (self->conn, first_message, first_len, now);
    return self;
}

void
curvecp_zmq_codec_destroy (curvecp_zmq_codec_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_zmq_codec_t *self = *self_p;
        curvecp_conn_destroy (&self->conn);
        curvecp_appframe_destroy (&self->decoder);
        for (size_t i = 0; i < self->count; i++)
            zmsg_destroy (&self->ring[(self->head + i) % self->ring_size].msg);
        free (self->ring);
        sodium_memzero (self, sizeof *self);
        free (self);
        *self_p = NULL;
    }
}

/* The connection consults the codec's authoriser, which has the codec's
   signature: the same arguments, so this only passes them on. */
static bool
authorize_relay (void *arg, const uint8_t client_key[CURVECP_KEY_BYTES], const char *server_name)
{
    curvecp_zmq_codec_t *self = (curvecp_zmq_codec_t *) arg;
    return self->authorize (self->authorize_arg, client_key, server_name);
}

void
curvecp_zmq_codec_set_authorizer (curvecp_zmq_codec_t *self, curvecp_zmq_codec_authorize_fn *fn, void *arg)
{
    self->authorize = fn;
    self->authorize_arg = arg;
    curvecp_conn_set_authorizer (self->conn, fn ? authorize_relay : NULL, self);
    forget_deadline (self);
}

/* ---- failure -------------------------------------------------------------- */

static void
fail (curvecp_zmq_codec_t *self, curvecp_zmq_codec_failure_t failure, const char *why)
{
    curvecp_conn_fail (self->conn, (curvecp_conn_failure_t) failure, why);
    sync_session (self);
    forget_deadline (self);
}

const char *
curvecp_zmq_codec_failure_name (curvecp_zmq_codec_failure_t failure)
{
    return curvecp_conn_failure_name ((curvecp_conn_failure_t) failure);
}

void
curvecp_zmq_codec_shutdown (curvecp_zmq_codec_t *self)
{
    self->closing = true;
    self->flush = true;
    forget_deadline (self);
}

bool
curvecp_zmq_codec_peer_closed (curvecp_zmq_codec_t *self)
{
    pump_recv (self);
    return self->have_stream && !curvecp_appframe_ready (self->decoder)
        && curvecp_conn_received_eof (self->conn) != CURVECP_EOF_NONE;
}

void
curvecp_zmq_codec_close (curvecp_zmq_codec_t *self)
{
    if (curvecp_conn_state (self->conn) != CURVECP_CONN_FAILED)
        fail (self, CURVECP_ZMQ_CODEC_CLOSED, "closed by the application");
}

/* ---- the outgoing queue ----------------------------------------------------- */

static entry_t *
entry_at (curvecp_zmq_codec_t *self, size_t index)
{
    return &self->ring[(self->head + index) % self->ring_size];
}

static bool
ring_grow (curvecp_zmq_codec_t *self)
{
    size_t size = self->ring_size ? 2 * self->ring_size : 64;
    entry_t *ring = (entry_t *) malloc (size * sizeof (entry_t));
    if (!ring)
        return false;
    for (size_t i = 0; i < self->count; i++)
        ring[i] = *entry_at (self, i);
    free (self->ring);
    self->ring = ring;
    self->ring_size = size;
    self->head = 0;
    return true;
}

/* Bytes written into the stream and not yet acknowledged. */
static size_t
in_flight (const curvecp_zmq_codec_t *self)
{
    if (!self->have_stream)
        return 0;
    if (self->closed)           /* send_space is 0 after the EOF: ask directly */
        return curvecp_conn_all_acked (self->conn) ? 0 : 1;
    return curvecp_conn_send_buffer (self->conn) - curvecp_conn_send_space (self->conn);
}

/* Free messages whose every byte the peer acknowledged. */
static void
release_acked (curvecp_zmq_codec_t *self)
{
    if (!self->have_stream)
        return;
    uint64_t released = self->closed ? (curvecp_conn_all_acked (self->conn) ? self->stream_pos : 0)
                                     : self->stream_pos - in_flight (self);
    while (self->written > 0 && self->ring[self->head].end <= released) {
        zmsg_destroy (&self->ring[self->head].msg);
        self->head = (self->head + 1) % self->ring_size;
        self->count--;
        self->written--;
    }
}

/* Write len bytes (as many as limit and the stream's space allow);
   true only if all len went in. */
static bool
stream_put (curvecp_zmq_codec_t *self, const uint8_t *data, size_t len, size_t *done, size_t limit)
{
    size_t want = len < limit - *done ? len : limit - *done;
    size_t n = want ? curvecp_conn_write (self->conn, data, want) : 0;
    *done += n;
    self->stream_pos += n;
    self->queued_bytes -= n;
    return n == len;
}
static void
start_frame (curvecp_zmq_codec_t *self, zmsg_t *msg)
{
    self->header_len = curvecp_appframe_header (self->header, zframe_size (self->frame),
                                                self->frame_index + 1 < zmsg_size (msg));
    self->header_offset = 0;
    self->body_offset = 0;
}

/* Write up to limit queued bytes into the stream, frame by frame. */
static void
write_queued (curvecp_zmq_codec_t *self, size_t limit)
{
    size_t done = 0;
    while (done < limit && self->written < self->count) {
        entry_t *entry = entry_at (self, self->written);
        if (!self->writing) {
            self->frame = zmsg_first (entry->msg);
            self->frame_index = 0;
            self->writing = true;
            start_frame (self, entry->msg);
        }
        while (self->frame) {
            size_t header_left = self->header_len - self->header_offset;
            size_t before = done;
            bool whole = stream_put (self, self->header + self->header_offset, header_left, &done, limit);
            self->header_offset += done - before;
            if (!whole)
                return;
            size_t body_left = zframe_size (self->frame) - self->body_offset;
            before = done;
            whole = stream_put (self, zframe_data (self->frame) + self->body_offset, body_left, &done, limit);
            self->body_offset += done - before;
            if (!whole)
                return;
            self->frame = zmsg_next (entry->msg);
            self->frame_index++;
            if (self->frame)
                start_frame (self, entry->msg);
        }
        self->writing = false;
        entry->end = self->stream_pos;
        self->written++;
        self->info.messages_out++;
    }
}

/* How many queued bytes pump_send writes now. Nagle: all of them when
   nothing is outstanding or on a flush, otherwise up to the end of the
   last whole block, so small messages share CurveCP messages. */
static size_t
pump_limit (const curvecp_zmq_codec_t *self)
{
    if (self->flush || in_flight (self) == 0)
        return self->queued_bytes;
    uint64_t end = self->stream_pos + self->queued_bytes;
    uint64_t aligned = self->align_base + (end - self->align_base) / self->block * self->block;
    return aligned <= self->stream_pos ? 0 : (size_t) (aligned - self->stream_pos);
}

/* Would pump_send do anything now (the EOF, or bytes the stream has room
   for)? The deadline and output's early return both ask this. */
static bool
pump_due (const curvecp_zmq_codec_t *self)
{
    if (!self->have_stream)
        return false;
    if (self->closing && !self->closed && self->queued_bytes == 0)
        return true;
    return self->queued_bytes && curvecp_conn_send_space (self->conn) > 0 && pump_limit (self) > 0;
}

static void
pump_send (curvecp_zmq_codec_t *self)
{
    if (self->have_stream && self->closing && !self->closed && self->queued_bytes == 0) {
        curvecp_conn_shutdown (self->conn, CURVECP_EOF_SUCCESS);
        self->closed = true;
    }
    if (!self->have_stream || self->queued_bytes == 0)
        return;
    bool everything = self->flush || in_flight (self) == 0;
    size_t limit = pump_limit (self);
    if (limit == 0)
        return;
    write_queued (self, limit);
    if (everything)
        self->align_base = self->stream_pos;
    if (self->queued_bytes == 0)
        self->flush = false;
}

int
curvecp_zmq_codec_send (curvecp_zmq_codec_t *self, zmsg_t **msg_p)
{
    if (!msg_p || !*msg_p || zmsg_size (*msg_p) == 0 || !curvecp_zmq_codec_writable (self))
        return -1;
    if (self->count == self->ring_size && !ring_grow (self))
        return -1;
    entry_t *entry = &self->ring[(self->head + self->count) % self->ring_size];
    entry->msg = *msg_p;
    entry->end = 0;
    entry->encoded = curvecp_appframe_encoded_size (*msg_p);
    self->count++;
    self->queued_bytes += entry->encoded;
    *msg_p = NULL;
    forget_deadline (self);
    return 0;
}

bool
curvecp_zmq_codec_writable (const curvecp_zmq_codec_t *self)
{
    return curvecp_conn_state (self->conn) != CURVECP_CONN_FAILED && !self->closing
        && (self->queued_bytes == 0 || self->queued_bytes < self->options.send_queue);
}

void
curvecp_zmq_codec_flush (curvecp_zmq_codec_t *self)
{
    if (self->queued_bytes)
        self->flush = true;
    forget_deadline (self);
}

bool
curvecp_zmq_codec_ready_to_write (const curvecp_zmq_codec_t *self)
{
    if (self->have_stream && ((self->closing && !self->closed) || !self->greeted))
        return true;
    if (!self->have_stream || self->queued_bytes == 0)
        return false;
    return self->flush || self->queued_bytes >= self->block || in_flight (self) == 0;
}

bool
curvecp_zmq_codec_window_ample (const curvecp_zmq_codec_t *self)
{
    return self->have_stream && !self->closing
        && in_flight (self) + self->queued_bytes <= curvecp_conn_send_buffer (self->conn) / 2;
}

bool
curvecp_zmq_codec_idle (const curvecp_zmq_codec_t *self)
{
    if (self->have_stream && ((self->closing && !self->closed) || !self->greeted))
        return false;               /* the EOF or our greeting is still to be written */
    return self->count == 0 && in_flight (self) == 0;
}

/* Start over on a fresh stream: every message not acknowledged waits again. */
static void
requeue_all (curvecp_zmq_codec_t *self)
{
    self->info.requeued += self->written;
    self->written = 0;
    self->writing = false;
    self->queued_bytes = 0;
    for (size_t i = 0; i < self->count; i++)
        self->queued_bytes += entry_at (self, i)->encoded;
    self->closed = false;
}

/* ---- the session's stream --------------------------------------------------- */

/* Follow the connection: a session's stream appeared (Cookie or Initiate
   in), went away (failure), or was replaced (re-handshake). */
static void
sync_session (curvecp_zmq_codec_t *self)
{
    uint64_t generation = curvecp_conn_generation (self->conn);
    /* the greeting waits for the session: what it offers depends on it */
    bool has = curvecp_conn_has_session (self->conn) && curvecp_conn_stream (self->conn) != NULL;
    if (generation != self->generation) {
        self->generation = generation;
        self->info.rehandshakes = curvecp_conn_info (self->conn)->rehandshakes;
        self->have_stream = false;
        curvecp_appframe_destroy (&self->decoder);
        requeue_all (self);
    }
    if (has == self->have_stream)
        return;
    self->have_stream = has;
    curvecp_appframe_destroy (&self->decoder);
    if (!has)
        return;
    self->decoder = curvecp_appframe_new (true, self->options.max_message, self->options.max_frames);
    if (!self->decoder) {
        fail (self, CURVECP_ZMQ_CODEC_CLOSED, "out of memory for the message decoder");
        return;
    }
    self->stream_pos = 0;
    self->align_base = 0;
    self->block = BLOCK;
    self->greeted = false;      /* written by the next output (send_greeting) */
    self->agreement_known = false;
    self->offered = self->agreed = 0;
    self->flush = true;         /* the greeting and what waits go out at once */
}

/* Server: the client's greeting, if its Initiate brought it (it always
   does from our clients: the greeting starts the first block), offers
   large blocks. */
static bool
peer_offered_large (curvecp_zmq_codec_t *self)
{
    pump_recv (self);
    return self->decoder && curvecp_appframe_greeted (self->decoder)
        && (curvecp_appframe_peer_options (self->decoder) & CURVECP_ZMQ_CODEC_OPTION_LARGE);
}

/* Our greeting, first in our stream. We offer large blocks only if the
   carrier's buffer for this output holds the largest blob (its
   declaration that it also passes such blobs to execute); from then on
   the session opens large messages. The client offers; the server only
   answers an offer, so a peer that knows no options (NaCl-era ZCCP
   implementations, which the RFC told to send and expect 0) sees a
   greeting with options 0 from our server. */
static void
send_greeting (curvecp_zmq_codec_t *self, size_t cap)
{
    uint8_t options = 0;
    if (may_offer_large (&self->options) && cap >= CURVECP_ZMQ_CODEC_BLOB_MAX
    &&  (!self->is_server || peer_offered_large (self))
    &&  curvecp_conn_enable_large (self->conn) == CURVECP_OK)
        options |= CURVECP_ZMQ_CODEC_OPTION_LARGE;
    if (!self->have_stream)
        return;                 /* the client's greeting broke the framing */
    uint8_t greeting[CURVECP_APPFRAME_GREETING];
    curvecp_appframe_greeting (greeting, options);
    if (curvecp_conn_write (self->conn, greeting, sizeof greeting) != sizeof greeting)
        return;                 /* cannot happen on a new stream; tried again next time */
    self->stream_pos += sizeof greeting;
    self->offered = options;
    self->greeted = true;
}

/* Once both greetings are known: the options both carry are in force. */
static void
check_agreement (curvecp_zmq_codec_t *self)
{
    if (self->agreement_known || !self->greeted || !self->decoder || !curvecp_appframe_greeted (self->decoder))
        return;
    self->agreement_known = true;
    self->agreed = self->offered & curvecp_appframe_peer_options (self->decoder);
    if ((self->agreed & CURVECP_ZMQ_CODEC_OPTION_LARGE)
    &&  curvecp_conn_set_block_max (self->conn, self->options.block_max) == CURVECP_OK)
        self->block = self->options.block_max;
}

/* Pull stream bytes into the decoder until a whole message is ready. */
static void
pump_recv (curvecp_zmq_codec_t *self)
{
    while (self->decoder && !curvecp_appframe_ready (self->decoder)) {
        uint8_t *dest;
        size_t want = curvecp_appframe_want (self->decoder, &dest);
        size_t n = want ? curvecp_conn_read (self->conn, dest, want) : 0;
        if (n == 0)
            return;
        forget_deadline (self);     /* reading may owe the peer a window update */
        if (curvecp_appframe_commit (self->decoder, n) != CURVECP_OK) {
            char why[200];
            snprintf (why, sizeof why, "peer broke the message framing: %s",
                      curvecp_appframe_error (self->decoder));
            fail (self, CURVECP_ZMQ_CODEC_PROTOCOL, why);
            return;
        }
    }
}

zmsg_t *
curvecp_zmq_codec_recv (curvecp_zmq_codec_t *self)
{
    if (!curvecp_zmq_codec_readable (self))
        return NULL;
    zmsg_t *msg = curvecp_appframe_take (self->decoder);
    self->info.messages_in++;
    return msg;
}

bool
curvecp_zmq_codec_readable (curvecp_zmq_codec_t *self)
{
    pump_recv (self);
    return self->decoder && curvecp_appframe_ready (self->decoder);
}

/* ---- blobs ---------------------------------------------------------------------- */

curvecp_reason_t
curvecp_zmq_codec_execute (curvecp_zmq_codec_t *self, const uint8_t *blob, size_t len, uint64_t now)
{
    curvecp_reason_t reason = curvecp_conn_input (self->conn, blob, len, now);
    self->info.blobs_in++;
    sync_session (self);
    if (reason == CURVECP_OK)
        release_acked (self);
    forget_deadline (self);
    return reason;
}

size_t
curvecp_zmq_codec_output (curvecp_zmq_codec_t *self, uint64_t now, uint8_t *out, size_t cap)
{
    if (!out || cap < CURVECP_PACKET_MAX)
        return 0;
    /* nothing due: once the greetings are settled on the current
       stream, the codec's deadline is exact, so the call that ends a
       carrier's output loop skips the timer walk and the stream's
       search, which find nothing (about 1,000 instructions of a 64-byte
       ØMQ round trip's 58,000) */
    if (self->have_stream && self->agreement_known
    &&  curvecp_conn_generation (self->conn) == self->generation
    &&  curvecp_zmq_codec_deadline (self) > now)
        return 0;
    curvecp_conn_tick (self->conn, now);
    sync_session (self);
    if (self->have_stream) {
        if (!self->greeted)
            send_greeting (self, cap);
        if (!self->agreement_known) {
            pump_recv (self);       /* the peer's greeting, even if the application never reads */
            check_agreement (self);
        }
        if (self->have_stream)
            pump_send (self);
    }
    size_t len = curvecp_conn_output (self->conn, now, out, cap);
    sync_session (self);
    if (len)
        self->info.blobs_out++;
    forget_deadline (self);
    return len;
}

uint64_t
curvecp_zmq_codec_deadline_fresh (curvecp_zmq_codec_t *self)
{
    uint64_t deadline = curvecp_conn_deadline (self->conn);
    if (!self->have_stream || curvecp_conn_state (self->conn) == CURVECP_CONN_FAILED)
        return deadline;
    if ((self->closing && !self->closed) || !self->greeted || pump_due (self))
        return 0;
    return deadline;
}

uint64_t
curvecp_zmq_codec_deadline (curvecp_zmq_codec_t *self)
{
    if (!self->deadline_known) {
        self->deadline = curvecp_zmq_codec_deadline_fresh (self);
        self->deadline_known = true;
    }
    return self->deadline;
}

size_t
curvecp_zmq_codec_output_max (const curvecp_zmq_codec_t *self)
{
    return self->agreed & CURVECP_ZMQ_CODEC_OPTION_LARGE ? CURVECP_ZMQ_CODEC_BLOB_MAX : CURVECP_PACKET_MAX;
}

uint8_t
curvecp_zmq_codec_options_agreed (const curvecp_zmq_codec_t *self)
{
    return self->agreed;
}

uint8_t
curvecp_zmq_codec_options_offered (const curvecp_zmq_codec_t *self)
{
    return self->offered;
}

/* ---- state ---------------------------------------------------------------------- */

curvecp_zmq_codec_state_t
curvecp_zmq_codec_state (const curvecp_zmq_codec_t *self)
{
    switch (curvecp_conn_state (self->conn)) {
        case CURVECP_CONN_HANDSHAKE: return CURVECP_ZMQ_CODEC_HANDSHAKE;
        case CURVECP_CONN_OPEN:      return CURVECP_ZMQ_CODEC_CONNECTED;
        case CURVECP_CONN_FAILED:    break;
    }
    return CURVECP_ZMQ_CODEC_FAILED;
}

curvecp_zmq_codec_failure_t
curvecp_zmq_codec_failure (const curvecp_zmq_codec_t *self)
{
    return (curvecp_zmq_codec_failure_t) curvecp_conn_failure (self->conn);
}

const char *
curvecp_zmq_codec_error (const curvecp_zmq_codec_t *self)
{
    return curvecp_conn_error (self->conn);
}

const uint8_t *
curvecp_zmq_codec_peer_key (const curvecp_zmq_codec_t *self)
{
    return curvecp_conn_peer_key (self->conn);
}

const uint8_t *
curvecp_zmq_codec_client_short_key (const curvecp_zmq_codec_t *self)
{
    return curvecp_conn_client_short_key (self->conn);
}

const char *
curvecp_zmq_codec_server_name (const curvecp_zmq_codec_t *self)
{
    return curvecp_conn_server_name (self->conn);
}

const curvecp_stats_t *
curvecp_zmq_codec_stats (const curvecp_zmq_codec_t *self)
{
    return curvecp_conn_stats (self->conn);
}

const curvecp_zmq_codec_info_t *
curvecp_zmq_codec_info (const curvecp_zmq_codec_t *self)
{
    return &self->info;
}

const curvecp_stream_t *
curvecp_zmq_codec_stream (const curvecp_zmq_codec_t *self)
{
    return curvecp_conn_stream (self->conn);
}

bool
curvecp_zmq_codec_matches (const curvecp_zmq_codec_t *self, const uint8_t *blob, size_t len)
{
    return curvecp_conn_matches (self->conn, blob, len);
}
