/*  curvecp_codec.c - one end of a CurveCP connection as a blob codec.

    The codec glues the core pieces together without any I/O: the client
    or server handshake, one curvecp_session_t (kept inside the codec, no
    guarded allocation), one curvecp_stream_t with WINDOW pacing, and the
    application framing (curvecp_appframe). Outgoing messages wait in a
    ring of zmsg_t until the peer acknowledges their last byte, so a
    client can send them again on a new session after the server lost its
    state; they are copied once, into the stream.

    Options (curvecp_codec.h): our greeting goes into the stream at the
    first output after the session exists, not when the session is made,
    because whether we offer large blocks depends on the buffer the
    carrier gives output. The window tag needs nothing here but a window
    above 128 KiB: the stream announces and reads it.                    */
#include <sodium.h>
#include <string.h>
#include "curvecp_appframe.h"
#include "curvecp_codec.h"
#include "curvecp_hs_client.h"
#include "curvecp_packet.h"
#include "curvecp_session.h"

#define SECOND        1000000000ull
#define BLOCK         CURVECP_MESSAGE_DATA_MAX     /* a full message-layer block */
#define SCRATCH_BYTES (CURVECP_INITIATE_INNER_BASE + CURVECP_INITIATE_MSG_MAX)
#define LARGE_BLOCK   CURVECP_MESSAGE_LARGE_DATA_MAX
#define DEFAULT_WINDOW (1024u * 1024u)

typedef struct {
    zmsg_t *msg;
    uint64_t end;                 /* stream position after its last byte, once written */
    size_t encoded;               /* bytes it takes on the stream */
} entry_t;

struct _curvecp_codec_t {
    bool is_server;
    curvecp_codec_state_t state;
    curvecp_codec_failure_t failure;
    char error[200];
    curvecp_codec_options_t options;

    /* client */
    curvecp_keypair_t long_term;                  /* secret: wiped on destroy */
    uint8_t server_pk[CURVECP_KEY_BYTES];
    uint8_t server_ext[CURVECP_EXT_BYTES];
    uint8_t client_ext[CURVECP_EXT_BYTES];
    curvecp_hs_client_t *hs_client;
    uint64_t handshake_started;
    bool got_cookie;

    /* server */
    curvecp_hs_server_t *hs_server;
    bool owns_hs_server;
    curvecp_codec_authorize_fn *authorize;
    void *authorize_arg;
    uint8_t cookie[CURVECP_COOKIE_BYTES];
    bool cookie_pending;

    /* the session */
    char server_name[CURVECP_NAME_BYTES];
    uint8_t client_key[CURVECP_KEY_BYTES];        /* server: the authenticated client */
    bool have_session;
    curvecp_session_t session;
    curvecp_stream_t *stream;
    curvecp_appframe_t *decoder;
    uint64_t last_heard;
    uint64_t busy_since;          /* when data last started to be outstanding */

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
    uint8_t *large;               /* message buffer once we offered large blocks */
    /* progress through the message being written */
    zframe_t *frame;
    size_t frame_index, body_offset;
    uint8_t header[CURVECP_APPFRAME_HEADER_MAX];
    size_t header_len, header_offset;
    bool writing;

    curvecp_stats_t stats;
    curvecp_codec_info_t info;
};

static const uint8_t zero_ext[CURVECP_EXT_BYTES] = { 0 };

static void pump_recv (curvecp_codec_t *self);
static bool may_offer_large (const curvecp_codec_t *self);

void
curvecp_codec_options_default (curvecp_codec_options_t *options)
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

static curvecp_codec_t *
codec_new (bool is_server, const curvecp_codec_options_t *options, uint64_t now)
{
    curvecp_codec_t *self = (curvecp_codec_t *) calloc (1, sizeof (curvecp_codec_t));
    if (!self)
        return NULL;
    self->is_server = is_server;
    curvecp_codec_options_default (&self->options);
    if (options)
        self->options = *options;
    if (self->options.window < BLOCK)
        self->options.window = BLOCK;
    if (self->options.block_max > LARGE_BLOCK)
        self->options.block_max = LARGE_BLOCK;
    self->block = BLOCK;
    self->handshake_started = now;
    self->last_heard = now;
    self->state = CURVECP_CODEC_HANDSHAKE;
    return self;
}

curvecp_codec_t *
curvecp_codec_new_client (const curvecp_keypair_t *keys, const uint8_t server_pk[CURVECP_KEY_BYTES],
                          const char *server_name, const uint8_t server_ext[CURVECP_EXT_BYTES],
                          const uint8_t client_ext[CURVECP_EXT_BYTES],
                          const curvecp_codec_options_t *options, uint64_t now)
{
    if (!server_pk || !server_name || strlen (server_name) >= CURVECP_NAME_BYTES)
        return NULL;
    curvecp_codec_t *self = codec_new (false, options, now);
    if (!self)
        return NULL;
    if (keys)
        self->long_term = *keys;
    else
        curvecp_keypair_generate (&self->long_term);
    memcpy (self->server_pk, server_pk, CURVECP_KEY_BYTES);
    memcpy (self->server_ext, server_ext ? server_ext : zero_ext, CURVECP_EXT_BYTES);
    memcpy (self->client_ext, client_ext ? client_ext : zero_ext, CURVECP_EXT_BYTES);
    snprintf (self->server_name, sizeof self->server_name, "%s", server_name);
    self->hs_client = curvecp_hs_client_new (self->server_pk, self->server_name, self->server_ext,
                                             self->client_ext, &self->long_term, NULL);
    if (!self->hs_client)
        curvecp_codec_destroy (&self);
    return self;
}

curvecp_codec_t *
curvecp_codec_new_server (const curvecp_keypair_t *keys, const uint8_t server_ext[CURVECP_EXT_BYTES],
                          const char *const *names, const curvecp_codec_options_t *options, uint64_t now)
{
    curvecp_hs_server_t *handshake = curvecp_hs_server_new (keys, server_ext ? server_ext : zero_ext, now, NULL);
    if (!handshake)
        return NULL;
    for (int i = 0; names && names[i]; i++)
        if (curvecp_hs_server_add_name (handshake, names[i]) < 0) {
            curvecp_hs_server_destroy (&handshake);
            return NULL;
        }
    curvecp_codec_t *self = curvecp_codec_new_server_shared (handshake, options, now);
    if (!self)
        curvecp_hs_server_destroy (&handshake);
    else
        self->owns_hs_server = true;
    return self;
}

curvecp_codec_t *
curvecp_codec_new_server_shared (curvecp_hs_server_t *handshake, const curvecp_codec_options_t *options,
                                 uint64_t now)
{
    if (!handshake)
        return NULL;
    curvecp_codec_t *self = codec_new (true, options, now);
    if (self)
        self->hs_server = handshake;
    return self;
}

static void
drop_session (curvecp_codec_t *self)
{
    curvecp_stream_destroy (&self->stream);
    curvecp_appframe_destroy (&self->decoder);
    curvecp_session_wipe (&self->session);
    self->have_session = false;
}

void
curvecp_codec_destroy (curvecp_codec_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_codec_t *self = *self_p;
        drop_session (self);
        curvecp_hs_client_destroy (&self->hs_client);
        if (self->owns_hs_server)
            curvecp_hs_server_destroy (&self->hs_server);
        for (size_t i = 0; i < self->count; i++)
            zmsg_destroy (&self->ring[(self->head + i) % self->ring_size].msg);
        free (self->ring);
        free (self->large);
        sodium_memzero (self, sizeof *self);
        free (self);
        *self_p = NULL;
    }
}

void
curvecp_codec_set_authorizer (curvecp_codec_t *self, curvecp_codec_authorize_fn *fn, void *arg)
{
    self->authorize = fn;
    self->authorize_arg = arg;
}

/* ---- failure -------------------------------------------------------------- */

static void
fail (curvecp_codec_t *self, curvecp_codec_failure_t failure)
{
    self->state = CURVECP_CODEC_FAILED;
    self->failure = failure;
    self->cookie_pending = false;
    drop_session (self);
}

const char *
curvecp_codec_failure_name (curvecp_codec_failure_t failure)
{
    switch (failure) {
        case CURVECP_CODEC_OK:                return "ok";
        case CURVECP_CODEC_HANDSHAKE_TIMEOUT: return "handshake-timeout";
        case CURVECP_CODEC_PEER_SILENT:       return "peer-silent";
        case CURVECP_CODEC_IDLE:              return "idle";
        case CURVECP_CODEC_DENIED:            return "denied";
        case CURVECP_CODEC_PROTOCOL:          return "protocol";
        case CURVECP_CODEC_CLOSED:            return "closed";
    }
    return "unknown";
}

void
curvecp_codec_shutdown (curvecp_codec_t *self)
{
    self->closing = true;
    self->flush = true;
}

bool
curvecp_codec_peer_closed (curvecp_codec_t *self)
{
    pump_recv (self);
    return self->stream && !curvecp_appframe_ready (self->decoder)
        && curvecp_stream_received_eof (self->stream) != CURVECP_EOF_NONE;
}

void
curvecp_codec_close (curvecp_codec_t *self)
{
    if (self->state != CURVECP_CODEC_FAILED) {
        snprintf (self->error, sizeof self->error, "closed by the application");
        fail (self, CURVECP_CODEC_CLOSED);
    }
}

/* ---- the outgoing queue ----------------------------------------------------- */

static entry_t *
entry_at (curvecp_codec_t *self, size_t index)
{
    return &self->ring[(self->head + index) % self->ring_size];
}

static bool
ring_grow (curvecp_codec_t *self)
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
in_flight (const curvecp_codec_t *self)
{
    if (!self->stream || curvecp_stream_failed (self->stream))
        return 0;
    if (self->closed)           /* send_space is 0 after the EOF: ask directly */
        return curvecp_stream_all_acked (self->stream) ? 0 : 1;
    return curvecp_stream_send_buffer (self->stream) - curvecp_stream_send_space (self->stream);
}

/* Free messages whose every byte the peer acknowledged. */
static void
release_acked (curvecp_codec_t *self)
{
    if (!self->stream || curvecp_stream_failed (self->stream))
        return;
    uint64_t released = self->closed ? (curvecp_stream_all_acked (self->stream) ? self->stream_pos : 0)
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
stream_put (curvecp_codec_t *self, const uint8_t *data, size_t len, size_t *done, size_t limit)
{
    size_t want = len < limit - *done ? len : limit - *done;
    size_t n = want ? curvecp_stream_write (self->stream, data, want) : 0;
    *done += n;
    self->stream_pos += n;
    self->queued_bytes -= n;
    return n == len;
}

static void
start_frame (curvecp_codec_t *self, zmsg_t *msg)
{
    self->header_len = curvecp_appframe_header (self->header, zframe_size (self->frame),
                                                self->frame_index + 1 < zmsg_size (msg));
    self->header_offset = 0;
    self->body_offset = 0;
}

/* Write up to limit queued bytes into the stream, frame by frame. */
static void
write_queued (curvecp_codec_t *self, size_t limit)
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

/* Nagle: everything when nothing is outstanding or on a flush, otherwise
   only whole blocks, so small messages share CurveCP messages. */
static void
pump_send (curvecp_codec_t *self, uint64_t now)
{
    if (self->stream && self->closing && !self->closed && self->queued_bytes == 0) {
        curvecp_stream_close (self->stream, CURVECP_EOF_SUCCESS);
        self->closed = true;
    }
    if (!self->stream || self->queued_bytes == 0)
        return;
    size_t outstanding = in_flight (self);
    size_t limit = self->queued_bytes;
    bool everything = self->flush || outstanding == 0;
    if (!everything) {
        uint64_t end = self->stream_pos + self->queued_bytes;
        uint64_t aligned = self->align_base + (end - self->align_base) / self->block * self->block;
        if (aligned <= self->stream_pos)
            return;
        limit = (size_t) (aligned - self->stream_pos);
    }
    if (outstanding == 0)
        self->busy_since = now;
    write_queued (self, limit);
    if (everything)
        self->align_base = self->stream_pos;
    if (self->queued_bytes == 0)
        self->flush = false;
}

int
curvecp_codec_send (curvecp_codec_t *self, zmsg_t **msg_p)
{
    if (!msg_p || !*msg_p || zmsg_size (*msg_p) == 0 || !curvecp_codec_writable (self))
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
    return 0;
}

bool
curvecp_codec_writable (const curvecp_codec_t *self)
{
    return self->state != CURVECP_CODEC_FAILED && !self->closing
        && (self->queued_bytes == 0 || self->queued_bytes < self->options.send_queue);
}

void
curvecp_codec_flush (curvecp_codec_t *self)
{
    if (self->queued_bytes)
        self->flush = true;
}

bool
curvecp_codec_ready_to_write (const curvecp_codec_t *self)
{
    if (self->stream && ((self->closing && !self->closed) || !self->greeted))
        return true;
    if (!self->stream || self->queued_bytes == 0)
        return false;
    return self->flush || self->queued_bytes >= self->block || in_flight (self) == 0;
}

bool
curvecp_codec_idle (const curvecp_codec_t *self)
{
    if (self->stream && ((self->closing && !self->closed) || !self->greeted))
        return false;               /* the EOF or our greeting is still to be written */
    return self->count == 0 && in_flight (self) == 0;
}

/* Start over on a fresh stream: every message not acknowledged waits again. */
static void
requeue_all (curvecp_codec_t *self)
{
    self->info.requeued += self->written;
    self->written = 0;
    self->writing = false;
    self->queued_bytes = 0;
    for (size_t i = 0; i < self->count; i++)
        self->queued_bytes += entry_at (self, i)->encoded;
    self->stream_pos = 0;
    self->align_base = 0;
    self->closed = false;
}

/* ---- the session's stream --------------------------------------------------- */

static curvecp_reason_t
start_stream (curvecp_codec_t *self, uint64_t now)
{
    curvecp_stream_config_t config;
    curvecp_stream_config_default (&config);
    config.is_client = !self->is_server;
    config.pacing = CURVECP_PACING_WINDOW;
    config.send_buffer = self->options.window;
    config.receive_window = self->options.window;
    config.now = now;
    /* a window above 128 KiB is announced, and used if the peer announces one */
    config.peer_window_max = self->options.window;
    size_t blocks = self->options.window / BLOCK;
    config.blocks_max = blocks < CURVECP_STREAM_BLOCKS_MAX ? CURVECP_STREAM_BLOCKS_MAX
                      : blocks > CURVECP_STREAM_TABLE_MAX ? CURVECP_STREAM_TABLE_MAX : blocks;
    /* the session, not the stream, keeps large messages out until we offer them */
    if (may_offer_large (self))
        config.block_max = LARGE_BLOCK;
    self->stream = curvecp_stream_new (&config);
    self->decoder = curvecp_appframe_new (true, self->options.max_message, self->options.max_frames);
    if (!self->stream || !self->decoder) {
        drop_session (self);
        return CURVECP_E_IO;
    }
    self->stream_pos = 0;
    self->align_base = 0;
    self->block = BLOCK;
    self->greeted = false;      /* written by the next output (send_greeting) */
    self->agreement_known = false;
    self->offered = self->agreed = 0;
    self->flush = true;         /* the greeting and what waits go out at once */
    self->busy_since = now;
    self->last_heard = now;
    return CURVECP_OK;
}

/* Our side can take large blocks: configured so, and a window that holds
   two of them. */
static bool
may_offer_large (const curvecp_codec_t *self)
{
    return self->options.block_max > BLOCK && self->options.window >= 2 * LARGE_BLOCK;
}

/* Server: the client's greeting, if its Initiate brought it (it always
   does from our clients: the greeting starts the first block), offers
   large blocks. */
static bool
peer_offered_large (curvecp_codec_t *self)
{
    pump_recv (self);
    return self->decoder && curvecp_appframe_greeted (self->decoder)
        && (curvecp_appframe_peer_options (self->decoder) & CURVECP_CODEC_OPTION_LARGE);
}

/* Our greeting, first in our stream. We offer large blocks only if the
   carrier's buffer for this output holds the largest blob (its
   declaration that it also passes such blobs to execute); from then on
   the session opens large messages. The client offers; the server only
   answers an offer, so a peer that knows no options (NaCl-era ZCCP
   implementations, which the RFC told to send and expect 0) sees a
   greeting with options 0 from our server. */
static void
send_greeting (curvecp_codec_t *self, size_t cap)
{
    uint8_t options = 0;
    if (may_offer_large (self) && cap >= CURVECP_CODEC_BLOB_MAX && (!self->is_server || peer_offered_large (self))) {
        if (!self->large)
            self->large = (uint8_t *) malloc (CURVECP_LARGE_MSG_MAX);
        if (self->large && curvecp_session_set_message_max (&self->session, CURVECP_LARGE_MSG_MAX) == CURVECP_OK)
            options |= CURVECP_CODEC_OPTION_LARGE;
    }
    uint8_t greeting[CURVECP_APPFRAME_GREETING];
    curvecp_appframe_greeting (greeting, options);
    if (curvecp_stream_write (self->stream, greeting, sizeof greeting) != sizeof greeting)
        return;                 /* cannot happen on a new stream; tried again next time */
    self->stream_pos += sizeof greeting;
    self->offered = options;
    self->greeted = true;
}

/* Once both greetings are known: the options both carry are in force. */
static void
check_agreement (curvecp_codec_t *self)
{
    if (self->agreement_known || !self->greeted || !self->decoder || !curvecp_appframe_greeted (self->decoder))
        return;
    self->agreement_known = true;
    self->agreed = self->offered & curvecp_appframe_peer_options (self->decoder);
    if ((self->agreed & CURVECP_CODEC_OPTION_LARGE)
    &&  curvecp_stream_set_send_block_max (self->stream, self->options.block_max) == CURVECP_OK)
        self->block = self->options.block_max;
}

/* Pull stream bytes into the decoder until a whole message is ready. */
static void
pump_recv (curvecp_codec_t *self)
{
    while (self->decoder && !curvecp_appframe_ready (self->decoder)) {
        uint8_t *dest;
        size_t want = curvecp_appframe_want (self->decoder, &dest);
        size_t n = want ? curvecp_stream_read (self->stream, dest, want) : 0;
        if (n == 0)
            return;
        if (curvecp_appframe_commit (self->decoder, n) != CURVECP_OK) {
            snprintf (self->error, sizeof self->error, "peer broke the message framing: %s",
                      curvecp_appframe_error (self->decoder));
            fail (self, CURVECP_CODEC_PROTOCOL);
            return;
        }
    }
}

zmsg_t *
curvecp_codec_recv (curvecp_codec_t *self)
{
    if (!curvecp_codec_readable (self))
        return NULL;
    zmsg_t *msg = curvecp_appframe_take (self->decoder);
    self->info.messages_in++;
    return msg;
}

bool
curvecp_codec_readable (curvecp_codec_t *self)
{
    pump_recv (self);
    return self->decoder && curvecp_appframe_ready (self->decoder);
}

/* ---- blobs in ---------------------------------------------------------------- */

/* An authentic packet of our session: open it and give M to the stream. */
static curvecp_reason_t
open_message (curvecp_codec_t *self, const uint8_t *blob, size_t len, uint64_t now)
{
    uint8_t small[CURVECP_MSG_MAX];
    uint8_t *message = self->offered & CURVECP_CODEC_OPTION_LARGE ? self->large : small;
    size_t message_len;
    curvecp_reason_t reason = curvecp_session_open (&self->session, blob, len, message, &message_len);
    if (reason != CURVECP_OK)
        return reason;
    self->last_heard = now;
    if (!self->is_server && self->state == CURVECP_CODEC_HANDSHAKE)
        self->state = CURVECP_CODEC_CONNECTED;
    reason = curvecp_stream_receive (self->stream, message, message_len, now);
    release_acked (self);
    return reason;
}

static curvecp_reason_t
client_execute (curvecp_codec_t *self, const uint8_t *blob, size_t len, uint64_t now)
{
    curvecp_packet_type_t type;
    curvecp_reason_t reason = curvecp_packet_classify_at_client_max (blob, len, self->client_ext, self->server_ext,
                                  curvecp_session_message_max (&self->session), &type);
    if (reason != CURVECP_OK)
        return reason;
    if (type == CURVECP_PACKET_SERVER_MESSAGE)
        return self->have_session ? open_message (self, blob, len, now) : CURVECP_E_WRONG_STATE;
    if (self->have_session)
        return CURVECP_E_WRONG_STATE;           /* a late or repeated Cookie */
    reason = curvecp_hs_client_cookie (self->hs_client, blob, len, &self->session);
    if (reason != CURVECP_OK)
        return reason;
    self->have_session = true;
    self->got_cookie = true;
    return start_stream (self, now);
}

static curvecp_reason_t
accept_initiate (curvecp_codec_t *self, const uint8_t *blob, size_t len, uint64_t now)
{
    uint8_t scratch[SCRATCH_BYTES];
    curvecp_initiate_info_t info;
    curvecp_reason_t reason = curvecp_hs_server_initiate (self->hs_server, blob, len, now, &self->session,
                                                          scratch, &info);
    if (reason != CURVECP_OK)
        return reason;
    memcpy (self->client_key, self->session.client_long_pk, CURVECP_KEY_BYTES);
    if (curvecp_name_decode (self->session.name_field, self->server_name, sizeof self->server_name)
        != CURVECP_OK)
        self->server_name[0] = 0;
    if (self->authorize
    &&  !self->authorize (self->authorize_arg, self->session.client_long_pk, self->server_name)) {
        curvecp_hs_server_count (self->hs_server, CURVECP_E_NOT_AUTHORISED);
        snprintf (self->error, sizeof self->error, "client key refused by the authoriser");
        fail (self, CURVECP_CODEC_DENIED);
        sodium_memzero (scratch, sizeof scratch);
        return CURVECP_E_NOT_AUTHORISED;
    }
    self->have_session = true;
    reason = start_stream (self, now);
    if (reason == CURVECP_OK) {
        self->state = CURVECP_CODEC_CONNECTED;
        reason = curvecp_stream_receive (self->stream, info.message, info.message_len, now);
    }
    sodium_memzero (scratch, sizeof scratch);
    return reason;
}

curvecp_codec_t *
curvecp_codec_new_accepted (curvecp_hs_server_t *handshake, const curvecp_session_t *session,
                            const uint8_t *first_message, size_t first_len,
                            const curvecp_codec_options_t *options, uint64_t now)
{
    curvecp_codec_t *self = session && (first_message || first_len == 0)
                          ? curvecp_codec_new_server_shared (handshake, options, now) : NULL;
    if (!self)
        return NULL;
    self->session = *session;
    memcpy (self->client_key, self->session.client_long_pk, CURVECP_KEY_BYTES);
    if (curvecp_name_decode (self->session.name_field, self->server_name, sizeof self->server_name)
        != CURVECP_OK)
        self->server_name[0] = 0;
    self->have_session = true;
    if (start_stream (self, now) != CURVECP_OK) {
        curvecp_codec_destroy (&self);
        return NULL;
    }
    self->state = CURVECP_CODEC_CONNECTED;
    /* the Initiate that made it, as execute would have counted it */
    self->info.blobs_in++;
    curvecp_stats_count (&self->stats, curvecp_stream_receive (self->stream, first_message, first_len, now));
    return self;
}

static curvecp_reason_t
server_execute (curvecp_codec_t *self, const uint8_t *blob, size_t len, uint64_t now)
{
    curvecp_packet_type_t type;
    curvecp_reason_t reason = curvecp_packet_classify_at_server_max (blob, len,
                                  curvecp_hs_server_ext (self->hs_server),
                                  curvecp_session_message_max (&self->session), &type);
    if (reason != CURVECP_OK)
        return reason;
    if (type == CURVECP_PACKET_HELLO) {
        reason = curvecp_hs_server_hello (self->hs_server, blob, len, now, self->cookie);
        self->cookie_pending = reason == CURVECP_OK;
        return reason;
    }
    if (self->have_session)
        return curvecp_session_matches (&self->session, blob)
             ? open_message (self, blob, len, now) : CURVECP_E_UNKNOWN_SESSION;
    if (type == CURVECP_PACKET_INITIATE && self->state == CURVECP_CODEC_HANDSHAKE)
        return accept_initiate (self, blob, len, now);
    return CURVECP_E_UNKNOWN_SESSION;
}

curvecp_reason_t
curvecp_codec_execute (curvecp_codec_t *self, const uint8_t *blob, size_t len, uint64_t now)
{
    curvecp_reason_t reason = CURVECP_E_WRONG_STATE;
    if (!blob)
        reason = CURVECP_E_BAD_ARGUMENT;
    else
    if (self->state != CURVECP_CODEC_FAILED)
        reason = self->is_server ? server_execute (self, blob, len, now) : client_execute (self, blob, len, now);
    self->info.blobs_in++;
    return curvecp_stats_count (&self->stats, reason);
}

/* ---- time and blobs out ------------------------------------------------------ */

/* The next message of the stream, sealed into out. A Server Message, or a
   Client Message once the session is established, is made in place: the
   stream writes the message where the box will be, and the seal
   encrypts it there (libsodium's box works in place when the ciphertext
   starts where the message does), which saves a copy of every block. An
   Initiate is built from a separate buffer. */
static size_t
produce_packet (curvecp_codec_t *self, uint64_t now, uint8_t *out, size_t cap)
{
    size_t base = self->is_server ? CURVECP_SERVER_MSG_BASE : CURVECP_CLIENT_MSG_BASE;
    size_t message_max = curvecp_session_message_max (&self->session);
    size_t message_cap = cap - base < message_max ? cap - base : message_max;
    uint8_t small[CURVECP_MSG_MAX];
    uint8_t *message = out + base;
    if (!self->is_server && !self->session.established) {
        message = small;
        message_cap = sizeof small;
    }
    size_t message_len = curvecp_stream_produce (self->stream, now, message, message_cap);
    size_t len = 0;
    if (message_len && curvecp_session_seal (&self->session, message, message_len, out, &len) != CURVECP_OK)
        len = 0;
    return len;
}

static void
rehandshake (curvecp_codec_t *self, uint64_t now)
{
    drop_session (self);
    curvecp_hs_client_destroy (&self->hs_client);
    self->hs_client = curvecp_hs_client_new (self->server_pk, self->server_name, self->server_ext,
                                             self->client_ext, &self->long_term, NULL);
    self->state = CURVECP_CODEC_HANDSHAKE;
    self->got_cookie = false;
    self->handshake_started = now;
    self->info.rehandshakes++;
    requeue_all (self);
}

static void
client_timers (curvecp_codec_t *self, uint64_t now)
{
    if (self->state == CURVECP_CODEC_HANDSHAKE
    &&  (now >= self->handshake_started + self->options.handshake_timeout_ns
         || curvecp_hs_client_failed (self->hs_client, now))) {
        snprintf (self->error, sizeof self->error, self->got_cookie
            ? "handshake failed: the server sent a Cookie but never answered the Initiate "
              "(client key not authorised, or wrong server name)"
            : "handshake failed: no Cookie from the server (wrong server key or extension, "
              "or no server)");
        fail (self, CURVECP_CODEC_HANDSHAKE_TIMEOUT);
        return;
    }
    if (self->state != CURVECP_CODEC_CONNECTED)
        return;
    uint64_t since = self->last_heard > self->busy_since ? self->last_heard : self->busy_since;
    if (curvecp_stream_failed (self->stream)
    ||  (in_flight (self) > 0 && now >= since + self->options.silence_timeout_ns))
        rehandshake (self, now);
}

static void
server_timers (curvecp_codec_t *self, uint64_t now)
{
    if (self->state != CURVECP_CODEC_CONNECTED)
        return;
    if (now >= self->last_heard + self->options.idle_timeout_ns) {
        snprintf (self->error, sizeof self->error, "client idle for longer than the idle timeout");
        fail (self, CURVECP_CODEC_IDLE);
    }
    else
    if (curvecp_stream_failed (self->stream)) {
        snprintf (self->error, sizeof self->error, "client stopped acknowledging data");
        fail (self, CURVECP_CODEC_PEER_SILENT);
    }
}

size_t
curvecp_codec_output (curvecp_codec_t *self, uint64_t now, uint8_t *out, size_t cap)
{
    if (!out || cap < CURVECP_PACKET_MAX)
        return 0;
    if (self->is_server)
        server_timers (self, now);
    else
        client_timers (self, now);
    if (self->state == CURVECP_CODEC_FAILED)
        return 0;
    size_t len = 0;
    if (self->cookie_pending) {
        memcpy (out, self->cookie, CURVECP_COOKIE_BYTES);
        self->cookie_pending = false;
        len = CURVECP_COOKIE_BYTES;
    }
    else
    if (!self->have_session) {
        if (!self->is_server && curvecp_hs_client_hello (self->hs_client, now, out, NULL) == CURVECP_OK)
            len = CURVECP_HELLO_BYTES;
    }
    else {
        if (!self->greeted) {
            send_greeting (self, cap);
            if (self->state == CURVECP_CODEC_FAILED)
                return 0;           /* the client's greeting broke the framing */
        }
        if (!self->agreement_known) {
            pump_recv (self);       /* the peer's greeting, even if the application never reads */
            check_agreement (self);
            if (self->state == CURVECP_CODEC_FAILED)
                return 0;
        }
        pump_send (self, now);
        len = produce_packet (self, now, out, cap);
    }
    if (len)
        self->info.blobs_out++;
    return len;
}

static uint64_t
earliest (uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t
curvecp_codec_deadline (curvecp_codec_t *self)
{
    if (self->state == CURVECP_CODEC_FAILED)
        return UINT64_MAX;
    if (self->cookie_pending)
        return 0;
    uint64_t deadline = UINT64_MAX;
    if (!self->is_server && self->state == CURVECP_CODEC_HANDSHAKE)
        deadline = self->handshake_started + self->options.handshake_timeout_ns;
    if (!self->have_session)
        return self->is_server ? deadline : earliest (deadline, curvecp_hs_client_deadline (self->hs_client));
    deadline = earliest (deadline, curvecp_stream_deadline (self->stream));
    size_t outstanding = in_flight (self);
    if ((self->closing && !self->closed) || !self->greeted)
        deadline = 0;
    if (self->queued_bytes && curvecp_stream_send_space (self->stream) > 0
    &&  (self->flush || outstanding == 0 || self->queued_bytes >= self->block)) {
        deadline = 0;
    }
    if (self->is_server)
        deadline = earliest (deadline, self->last_heard + self->options.idle_timeout_ns);
    else
    if (outstanding > 0 && self->state == CURVECP_CODEC_CONNECTED) {
        uint64_t since = self->last_heard > self->busy_since ? self->last_heard : self->busy_since;
        deadline = earliest (deadline, since + self->options.silence_timeout_ns);
    }
    return deadline;
}

size_t
curvecp_codec_output_max (const curvecp_codec_t *self)
{
    return self->agreed & CURVECP_CODEC_OPTION_LARGE ? CURVECP_CODEC_BLOB_MAX : CURVECP_PACKET_MAX;
}

uint8_t
curvecp_codec_options_agreed (const curvecp_codec_t *self)
{
    return self->agreed;
}

uint8_t
curvecp_codec_options_offered (const curvecp_codec_t *self)
{
    return self->offered;
}

/* ---- state ---------------------------------------------------------------------- */

curvecp_codec_state_t
curvecp_codec_state (const curvecp_codec_t *self)
{
    return self->state;
}

curvecp_codec_failure_t
curvecp_codec_failure (const curvecp_codec_t *self)
{
    return self->failure;
}

const char *
curvecp_codec_error (const curvecp_codec_t *self)
{
    return self->state == CURVECP_CODEC_FAILED ? self->error : "";
}

const uint8_t *
curvecp_codec_peer_key (const curvecp_codec_t *self)
{
    return self->is_server ? self->client_key : self->server_pk;
}

const uint8_t *
curvecp_codec_client_short_key (const curvecp_codec_t *self)
{
    if (!self->is_server)
        return curvecp_hs_client_short_key (self->hs_client);
    return self->session.client_short_pk;
}

const char *
curvecp_codec_server_name (const curvecp_codec_t *self)
{
    return self->server_name;
}

const curvecp_stats_t *
curvecp_codec_stats (const curvecp_codec_t *self)
{
    return &self->stats;
}

const curvecp_codec_info_t *
curvecp_codec_info (const curvecp_codec_t *self)
{
    return &self->info;
}

const curvecp_stream_t *
curvecp_codec_stream (const curvecp_codec_t *self)
{
    return self->stream;
}

bool
curvecp_codec_matches (const curvecp_codec_t *self, const uint8_t *blob, size_t len)
{
    return self->have_session && len >= CURVECP_PACKET_MIN && curvecp_session_matches (&self->session, blob);
}
