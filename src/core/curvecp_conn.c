/*  curvecp_conn.c - one CurveCP connection, either role, with no I/O.

    Packets made in place: a Server Message, or a Client Message once the
    session is established, is produced where its box will be in the
    caller's buffer and sealed there (libsodium's box works in place when
    the ciphertext starts where the message does), saving a copy of every
    block. An Initiate is built from a separate buffer.

    Client ping: the server learns of a client only from an Initiate, and
    an Initiate goes out only with a message. NaCl's curvecpmessage -c
    sends an empty block at once for this; in stream mode we send a
    192-byte all-zero message (a pure acknowledgment of nothing, which any
    peer ignores) and repeat it with back-off until the stream has sent a
    block of its own (which it resends until acknowledged) or the server
    has spoken. A probe after the client moved works the same way.       */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_conn.h"
#include "curvecp_hs_client.h"
#include "curvecp_packet.h"
#include "curvecp_rng.h"

#define PING_FIRST_NS  1000000000ull
#define PING_MAX_NS    8000000000ull
#define DEFAULT_LINGER 2000000000ull
#define SCRATCH_BYTES  (CURVECP_INITIATE_INNER_BASE + CURVECP_INITIATE_MSG_MAX)

struct _curvecp_conn_t {
    bool is_client;
    curvecp_conn_state_t state;
    curvecp_conn_failure_t failure;
    char error[200];
    curvecp_conn_config_t config;

    /* client */
    curvecp_keypair_t long_term;                  /* secret: wiped on destroy */
    uint8_t server_pk[CURVECP_KEY_BYTES];
    uint8_t server_ext[CURVECP_EXT_BYTES];
    uint8_t client_ext[CURVECP_EXT_BYTES];
    curvecp_nonce16_fn nonce16;
    void *nonce16_context;
    curvecp_hs_client_t *hs_client;
    uint64_t handshake_started;
    bool got_cookie;
    int hello_attempt;
    uint64_t ping_at, ping_wait;
    bool probing;

    /* self-accepting server */
    curvecp_hs_server_t *hs_server;
    bool owns_hs_server;
    curvecp_conn_authorize_fn *authorize;
    void *authorize_arg;
    uint8_t cookie[CURVECP_COOKIE_BYTES];
    bool cookie_pending;

    /* the session */
    char server_name[CURVECP_NAME_BYTES];
    int name_index;
    bool have_session;
    curvecp_session_t session;
    curvecp_stream_t *stream;
    uint8_t *large;                  /* opened messages once large ones are on */
    uint64_t last_heard;
    uint64_t last_out;               /* when the last packet was output (keepalive) */
    uint64_t busy_since;             /* when data last started to be outstanding */
    uint64_t session_started;
    bool confirmed;                  /* server: a Client Message opened */
    bool was_busy;
    uint64_t generation;

    /* ending */
    bool closed;
    bool lingered;                   /* closed, done, and the linger is over */
    uint64_t linger_until;

    curvecp_stats_t stats;
    curvecp_conn_info_t info;
};

static const uint8_t zero_ext[CURVECP_EXT_BYTES] = { 0 };

void
curvecp_conn_config_default (curvecp_conn_config_t *config)
{
    memset (config, 0, sizeof *config);
    curvecp_stream_config_default (&config->stream);
    config->linger_ns = DEFAULT_LINGER;
    config->ping = true;
}

static curvecp_conn_t *
conn_new (bool is_client, const curvecp_conn_config_t *config, uint64_t now)
{
    curvecp_conn_t *self = (curvecp_conn_t *) calloc (1, sizeof (curvecp_conn_t));
    if (!self)
        return NULL;
    self->is_client = is_client;
    if (config)
        self->config = *config;
    else
        curvecp_conn_config_default (&self->config);
    self->state = CURVECP_CONN_HANDSHAKE;
    self->handshake_started = now;
    self->last_heard = now;
    self->hello_attempt = -1;
    self->ping_wait = PING_FIRST_NS;
    return self;
}

static bool
message_mode (const curvecp_conn_t *self)
{
    return self->config.on_message != NULL;
}

/* A fresh message layer (stream mode only). A client's exists from the
   start, so the application can write before the handshake is done. */
static bool
create_stream (curvecp_conn_t *self, uint64_t now)
{
    if (message_mode (self) || self->stream)
        return true;
    curvecp_stream_config_t config = self->config.stream;
    config.is_client = self->is_client;
    config.now = now;
    self->stream = curvecp_stream_new (&config);
    return self->stream != NULL;
}

/* A session exists from now: its timers start. */
static bool
start_session (curvecp_conn_t *self, uint64_t now)
{
    self->session_started = now;
    self->last_heard = now;
    self->last_out = now;
    self->busy_since = now;
    self->was_busy = false;
    self->ping_at = now;
    self->ping_wait = PING_FIRST_NS;
    return create_stream (self, now);
}

static void
drop_session (curvecp_conn_t *self)
{
    curvecp_stream_destroy (&self->stream);
    curvecp_stats_t stats = self->session.stats;
    curvecp_session_wipe (&self->session);
    self->session.stats = stats;
    self->have_session = false;
}

static bool
start_client_handshake (curvecp_conn_t *self)
{
    curvecp_hs_client_destroy (&self->hs_client);
    self->hs_client = curvecp_hs_client_new (self->server_pk, self->server_name, self->server_ext,
                                             self->client_ext, &self->long_term, self->config.stream.rng);
    if (self->hs_client && self->nonce16)
        curvecp_hs_client_set_nonce16 (self->hs_client, self->nonce16, self->nonce16_context);
    self->got_cookie = false;
    self->hello_attempt = -1;
    return self->hs_client != NULL;
}

curvecp_conn_t *
curvecp_conn_new_client (const curvecp_conn_config_t *config, const curvecp_keypair_t *long_term,
                         const uint8_t server_pk[CURVECP_KEY_BYTES], const char *server_name,
                         const uint8_t server_ext[CURVECP_EXT_BYTES],
                         const uint8_t client_ext[CURVECP_EXT_BYTES], uint64_t now)
{
    if (!server_pk || !server_name || strlen (server_name) >= CURVECP_NAME_BYTES)
        return NULL;
    curvecp_conn_t *self = conn_new (true, config, now);
    if (!self)
        return NULL;
    if (long_term)
        self->long_term = *long_term;
    else
    if (curvecp_rng_keypair (self->config.stream.rng, self->long_term.public_key, self->long_term.secret_key) != 0) {
        curvecp_conn_destroy (&self);
        return NULL;
    }
    memcpy (self->server_pk, server_pk, CURVECP_KEY_BYTES);
    memcpy (self->server_ext, server_ext ? server_ext : zero_ext, CURVECP_EXT_BYTES);
    memcpy (self->client_ext, client_ext ? client_ext : zero_ext, CURVECP_EXT_BYTES);
    snprintf (self->server_name, sizeof self->server_name, "%s", server_name);
    if (!start_client_handshake (self) || !create_stream (self, now))
        curvecp_conn_destroy (&self);
    return self;
}

/* The session's server name, dotted. */
static void
take_name (curvecp_conn_t *self)
{
    if (curvecp_name_decode (self->session.name_field, self->server_name, sizeof self->server_name)
        != CURVECP_OK)
        self->server_name[0] = 0;
}

curvecp_conn_t *
curvecp_conn_new_accepted (const curvecp_conn_config_t *config, const curvecp_session_t *session,
                           uint64_t now)
{
    if (!session || session->is_client)
        return NULL;
    curvecp_conn_t *self = conn_new (false, config, now);
    if (!self)
        return NULL;
    self->session = *session;
    memset (&self->session.stats, 0, sizeof self->session.stats);
    self->have_session = true;
    take_name (self);
    if (!start_session (self, now)) {
        curvecp_conn_destroy (&self);
        return NULL;
    }
    self->state = CURVECP_CONN_OPEN;
    return self;
}

curvecp_conn_t *
curvecp_conn_new_server (const curvecp_conn_config_t *config, curvecp_hs_server_t *handshake, uint64_t now)
{
    if (!handshake)
        return NULL;
    curvecp_conn_t *self = conn_new (false, config, now);
    if (self)
        self->hs_server = handshake;
    return self;
}

curvecp_conn_t *
curvecp_conn_new_server_alone (const curvecp_conn_config_t *config, const curvecp_keypair_t *keys,
                               const uint8_t server_ext[CURVECP_EXT_BYTES], const char *const *names,
                               uint64_t now)
{
    const curvecp_rng_t *rng = config ? config->stream.rng : NULL;
    curvecp_hs_server_t *handshake = curvecp_hs_server_new (keys, server_ext ? server_ext : zero_ext, now, rng);
    if (!handshake)
        return NULL;
    for (int i = 0; names && names[i]; i++)
        if (curvecp_hs_server_add_name (handshake, names[i]) < 0) {
            curvecp_hs_server_destroy (&handshake);
            return NULL;
        }
    curvecp_conn_t *self = curvecp_conn_new_server (config, handshake, now);
    if (self)
        self->owns_hs_server = true;
    else
        curvecp_hs_server_destroy (&handshake);
    return self;
}

void
curvecp_conn_destroy (curvecp_conn_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_conn_t *self = *self_p;
        drop_session (self);
        curvecp_hs_client_destroy (&self->hs_client);
        if (self->owns_hs_server)
            curvecp_hs_server_destroy (&self->hs_server);
        if (self->large) {
            sodium_memzero (self->large, CURVECP_LARGE_MSG_MAX);
            free (self->large);
        }
        sodium_memzero (self, sizeof *self);
        free (self);
        *self_p = NULL;
    }
}

void
curvecp_conn_set_authorizer (curvecp_conn_t *self, curvecp_conn_authorize_fn *fn, void *arg)
{
    self->authorize = fn;
    self->authorize_arg = arg;
}

void
curvecp_conn_set_nonce16 (curvecp_conn_t *self, curvecp_nonce16_fn fn, void *context)
{
    self->nonce16 = fn;
    self->nonce16_context = context;
    if (self->hs_client)
        curvecp_hs_client_set_nonce16 (self->hs_client, fn, context);
}

void
curvecp_conn_set_client_ext (curvecp_conn_t *self, const uint8_t client_ext[CURVECP_EXT_BYTES])
{
    memcpy (self->client_ext, client_ext, CURVECP_EXT_BYTES);
    if (self->hs_client)
        curvecp_hs_client_set_client_ext (self->hs_client, client_ext);
}

/* ---- ending ------------------------------------------------------------ */

void
curvecp_conn_fail (curvecp_conn_t *self, curvecp_conn_failure_t failure, const char *why)
{
    if (self->state == CURVECP_CONN_FAILED)
        return;
    self->state = CURVECP_CONN_FAILED;
    self->failure = failure;
    snprintf (self->error, sizeof self->error, "%s", why ? why : curvecp_conn_failure_name (failure));
    self->cookie_pending = false;
    drop_session (self);
}

const char *
curvecp_conn_failure_name (curvecp_conn_failure_t failure)
{
    switch (failure) {
        case CURVECP_CONN_OK:                return "ok";
        case CURVECP_CONN_HANDSHAKE_TIMEOUT: return "handshake-timeout";
        case CURVECP_CONN_PEER_SILENT:       return "peer-silent";
        case CURVECP_CONN_IDLE:              return "idle";
        case CURVECP_CONN_DENIED:            return "denied";
        case CURVECP_CONN_PROTOCOL:          return "protocol";
        case CURVECP_CONN_CLOSED:            return "closed";
    }
    return "unknown";
}

void
curvecp_conn_close (curvecp_conn_t *self)
{
    if (self->closed)
        return;
    self->closed = true;
    if (self->stream)
        curvecp_stream_close (self->stream, CURVECP_EOF_SUCCESS);   /* WRONG_STATE if shut: fine */
    else
    if (message_mode (self) || !self->have_session)
        curvecp_conn_fail (self, CURVECP_CONN_CLOSED, "closed by the application");
}

bool
curvecp_conn_finished (const curvecp_conn_t *self)
{
    return self->state == CURVECP_CONN_FAILED || self->lingered;
}

/* ---- packets in ------------------------------------------------------------ */

static void
deliver (curvecp_conn_t *self, const uint8_t *message, size_t len, uint64_t now)
{
    if (message_mode (self))
        self->config.on_message (self->config.on_message_arg, message, len);
    else
    if (self->stream)
        curvecp_stream_receive (self->stream, message, len, now);
}

void
curvecp_conn_deliver (curvecp_conn_t *self, const uint8_t *message, size_t len, uint64_t now)
{
    if (self->have_session && self->state != CURVECP_CONN_FAILED)
        deliver (self, message, len, now);
}

/* An authentic packet of our session: open it and deliver M. */
static curvecp_reason_t
open_message (curvecp_conn_t *self, const uint8_t *packet, size_t len, uint64_t now)
{
    uint8_t small[CURVECP_MSG_MAX];
    uint8_t *message = self->large ? self->large : small;
    size_t message_len;
    curvecp_reason_t reason = curvecp_session_open (&self->session, packet, len, message, &message_len);
    if (reason != CURVECP_OK)
        return reason;
    self->info.packets_in++;
    self->last_heard = now;
    self->probing = false;            /* the peer has answered at our new address */
    if (self->state == CURVECP_CONN_HANDSHAKE)
        self->state = CURVECP_CONN_OPEN;
    deliver (self, message, message_len, now);
    sodium_memzero (message, message_len);
    return CURVECP_OK;
}

static curvecp_reason_t
client_input (curvecp_conn_t *self, const uint8_t *packet, size_t len, uint64_t now)
{
    curvecp_packet_type_t type;
    curvecp_reason_t reason = curvecp_packet_classify_at_client_max (packet, len, self->client_ext,
                                  self->server_ext, curvecp_session_message_max (&self->session), &type);
    if (reason != CURVECP_OK)
        return reason;
    if (type == CURVECP_PACKET_SERVER_MESSAGE)
        return self->have_session ? open_message (self, packet, len, now) : CURVECP_E_WRONG_STATE;
    if (self->have_session)
        return CURVECP_E_WRONG_STATE;           /* a late or repeated Cookie */
    curvecp_stats_t stats = self->session.stats;
    reason = curvecp_hs_client_cookie (self->hs_client, packet, len, &self->session);
    self->session.stats = stats;
    if (reason != CURVECP_OK)
        return reason;
    self->have_session = true;
    self->got_cookie = true;
    if (!start_session (self, now)) {
        drop_session (self);
        return CURVECP_E_IO;
    }
    return CURVECP_OK;
}

/* Self-accepting server: a valid Initiate makes the session. */
static curvecp_reason_t
accept_initiate (curvecp_conn_t *self, const uint8_t *packet, size_t len, uint64_t now)
{
    uint8_t scratch[SCRATCH_BYTES];
    curvecp_initiate_info_t first;
    curvecp_reason_t reason = curvecp_hs_server_initiate (self->hs_server, packet, len, now, &self->session,
                                                          scratch, &first);
    if (reason == CURVECP_OK) {
        self->name_index = first.name_index;
        take_name (self);
        if (self->authorize
        &&  !self->authorize (self->authorize_arg, self->session.client_long_pk, self->server_name)) {
            curvecp_hs_server_count (self->hs_server, CURVECP_E_NOT_AUTHORISED);
            memcpy (self->server_pk, self->session.client_long_pk, CURVECP_KEY_BYTES);
            curvecp_conn_fail (self, CURVECP_CONN_DENIED, "client key refused by the authoriser");
            reason = CURVECP_E_NOT_AUTHORISED;
        }
        else
        if (!start_session (self, now)) {
            drop_session (self);
            reason = CURVECP_E_IO;
        }
        else {
            self->have_session = true;
            self->state = CURVECP_CONN_OPEN;
            self->info.packets_in++;
            deliver (self, first.message, first.message_len, now);
        }
    }
    sodium_memzero (scratch, sizeof scratch);
    return reason;
}

static curvecp_reason_t
server_input (curvecp_conn_t *self, const uint8_t *packet, size_t len, uint64_t now)
{
    curvecp_packet_type_t type;
    const uint8_t *ext = self->hs_server ? curvecp_hs_server_ext (self->hs_server) : self->session.server_ext;
    curvecp_reason_t reason = curvecp_packet_classify_at_server_max (packet, len, ext,
                                  curvecp_session_message_max (&self->session), &type);
    if (reason != CURVECP_OK)
        return reason;
    if (type == CURVECP_PACKET_HELLO) {
        if (!self->hs_server)
            return CURVECP_E_WRONG_STATE;
        reason = curvecp_hs_server_hello (self->hs_server, packet, len, now, self->cookie);
        self->cookie_pending = reason == CURVECP_OK;
        return reason;
    }
    if (self->have_session) {
        if (!curvecp_session_matches (&self->session, packet))
            return CURVECP_E_UNKNOWN_SESSION;
        reason = open_message (self, packet, len, now);
        if (reason == CURVECP_OK && type == CURVECP_PACKET_CLIENT_MESSAGE)
            self->confirmed = true;
        return reason;
    }
    if (type == CURVECP_PACKET_INITIATE && self->hs_server)
        return accept_initiate (self, packet, len, now);
    return CURVECP_E_UNKNOWN_SESSION;
}

curvecp_reason_t
curvecp_conn_input (curvecp_conn_t *self, const uint8_t *packet, size_t len, uint64_t now)
{
    curvecp_reason_t reason = CURVECP_E_WRONG_STATE;
    if (!packet)
        reason = CURVECP_E_BAD_ARGUMENT;
    else
    if (self->state != CURVECP_CONN_FAILED)
        reason = self->is_client ? client_input (self, packet, len, now) : server_input (self, packet, len, now);
    return curvecp_stats_count (&self->stats, reason);
}

/* ---- timers ---------------------------------------------------------------- */

static bool
data_outstanding (const curvecp_conn_t *self)
{
    return self->stream && !curvecp_stream_all_acked (self->stream);
}

/* When the peer's silence started to count: the later of its last packet
   and the moment data started to be outstanding. */
static uint64_t
silence_since (const curvecp_conn_t *self)
{
    return self->last_heard > self->busy_since ? self->last_heard : self->busy_since;
}

static void
rehandshake (curvecp_conn_t *self, uint64_t now)
{
    drop_session (self);
    self->state = CURVECP_CONN_HANDSHAKE;
    self->handshake_started = now;
    self->info.rehandshakes++;
    self->generation++;
    if (!start_client_handshake (self) || !create_stream (self, now))
        curvecp_conn_fail (self, CURVECP_CONN_HANDSHAKE_TIMEOUT, "out of memory for a new handshake");
}

static void
handshake_timers (curvecp_conn_t *self, uint64_t now)
{
    bool timed_out = self->config.handshake_timeout_ns
                  && now >= self->handshake_started + self->config.handshake_timeout_ns;
    if (!timed_out && !(!self->got_cookie && curvecp_hs_client_failed (self->hs_client, now)))
        return;
    curvecp_conn_fail (self, CURVECP_CONN_HANDSHAKE_TIMEOUT, self->got_cookie
        ? "handshake failed: the server sent a Cookie but never answered the Initiate "
          "(client key not authorised, or wrong server name)"
        : "handshake failed: no Cookie from the server (wrong server key or extension, "
          "or no server)");
}

/* Track when data started to be outstanding, for the silence rule. */
static void
note_busy (curvecp_conn_t *self, uint64_t now)
{
    bool busy = data_outstanding (self);
    if (busy && !self->was_busy)
        self->busy_since = now;
    self->was_busy = busy;
}

/* Server: when a connection still unconfirmed by a Client Message fails
   (UINT64_MAX: no such rule, or confirmed). */
static uint64_t
unconfirmed_expiry (const curvecp_conn_t *self)
{
    if (self->is_client || self->confirmed || !self->config.confirm_timeout_ns)
        return UINT64_MAX;
    return self->session_started + self->config.confirm_timeout_ns;
}

static void
session_timers (curvecp_conn_t *self, uint64_t now)
{
    if (self->config.idle_timeout_ns && now >= self->last_heard + self->config.idle_timeout_ns) {
        curvecp_conn_fail (self, CURVECP_CONN_IDLE, "peer idle for longer than the idle timeout");
        return;
    }
    if (unconfirmed_expiry (self) <= now) {
        curvecp_conn_fail (self, CURVECP_CONN_HANDSHAKE_TIMEOUT,
                           "the client never confirmed its handshake with a Client Message");
        return;
    }
    if (!self->stream)
        return;
    /* a re-handshake only once the server has spoken: before that the
       handshake timeout decides, or a refused client would retry forever */
    bool may_redo = self->is_client && self->config.silence_timeout_ns && self->state == CURVECP_CONN_OPEN;
    bool gave_up = curvecp_stream_failed (self->stream);
    bool silent = may_redo && data_outstanding (self)
               && now >= silence_since (self) + self->config.silence_timeout_ns;
    if (may_redo && (gave_up || silent))
        rehandshake (self, now);
    else
    if (gave_up)
        curvecp_conn_fail (self, CURVECP_CONN_PEER_SILENT, self->is_client
            ? "server stopped acknowledging data" : "client stopped acknowledging data");
}

static void
linger_timer (curvecp_conn_t *self, uint64_t now)
{
    if (!self->closed || !self->stream || !curvecp_stream_done (self->stream))
        return;
    if (self->linger_until == 0)
        self->linger_until = now + self->config.linger_ns;
    if (now >= self->linger_until)
        self->lingered = true;
}

void
curvecp_conn_tick (curvecp_conn_t *self, uint64_t now)
{
    if (self->state == CURVECP_CONN_FAILED)
        return;
    if (self->is_client && self->state == CURVECP_CONN_HANDSHAKE)
        handshake_timers (self, now);
    if (self->state == CURVECP_CONN_FAILED || !self->have_session)
        return;
    note_busy (self, now);
    session_timers (self, now);
    if (self->state != CURVECP_CONN_FAILED && self->have_session)
        linger_timer (self, now);
}

/* ---- packets out ------------------------------------------------------------- */

static bool
needs_ping (const curvecp_conn_t *self)
{
    if (!self->stream)
        return false;
    if (self->probing)
        return true;
    return self->is_client && self->config.ping && !self->session.established
        && curvecp_stream_info (self->stream)->blocks_sent == 0;
}

/* Keepalives are on and may be due: established, stream mode, the peer
   may still send, and we are neither closing nor failing. */
static bool
needs_keepalive (const curvecp_conn_t *self)
{
    return self->config.keepalive_ns && self->stream && !self->closed
        && self->state == CURVECP_CONN_OPEN && curvecp_conn_established (self)
        && !curvecp_stream_failed (self->stream) && !curvecp_stream_done (self->stream)
        && curvecp_stream_received_eof (self->stream) == CURVECP_EOF_NONE;
}

static uint64_t
keepalive_at (const curvecp_conn_t *self)
{
    return self->last_out + self->config.keepalive_ns;
}

static size_t
seal_into (curvecp_conn_t *self, const uint8_t *message, size_t len, uint8_t *out, uint64_t now)
{
    size_t packet_len = 0;
    if (curvecp_session_seal (&self->session, message, len, out, &packet_len) != CURVECP_OK) {
        self->info.seal_errors++;
        return 0;
    }
    self->info.packets_out++;
    self->last_out = now;
    return packet_len;
}

/* The zero message: acknowledges nothing, carries nothing; peers ignore it. */
static size_t
zero_message (curvecp_conn_t *self, uint64_t now, uint8_t *out)
{
    uint8_t zero[CURVECP_MESSAGE_ACK_BYTES] = { 0 };
    return seal_into (self, zero, sizeof zero, out, now);
}

static size_t
ping (curvecp_conn_t *self, uint64_t now, uint8_t *out)
{
    self->ping_at = now + self->ping_wait;
    if (self->ping_wait < PING_MAX_NS)
        self->ping_wait *= 2;
    return zero_message (self, now, out);
}

static size_t
keepalive (curvecp_conn_t *self, uint64_t now, uint8_t *out)
{
    size_t len = zero_message (self, now, out);
    if (len)
        self->info.keepalives++;
    return len;
}

/* The stream's next message, sealed into out (in place where it can be). */
static size_t
stream_packet (curvecp_conn_t *self, uint64_t now, uint8_t *out, size_t cap)
{
    size_t base = self->is_client ? CURVECP_CLIENT_MSG_BASE : CURVECP_SERVER_MSG_BASE;
    size_t message_max = curvecp_session_message_max (&self->session);
    size_t message_cap = cap - base < message_max ? cap - base : message_max;
    uint8_t small[CURVECP_MSG_MAX];
    uint8_t *message = out + base;
    if (self->is_client && !self->session.established) {
        message = small;
        message_cap = sizeof small;
    }
    size_t message_len = curvecp_stream_produce (self->stream, now, message, message_cap);
    return message_len ? seal_into (self, message, message_len, out, now) : 0;
}

static size_t
client_hello (curvecp_conn_t *self, uint64_t now, uint8_t *out)
{
    int attempt;
    if (curvecp_hs_client_hello (self->hs_client, now, out, &attempt) != CURVECP_OK) {
        /* nothing to send: a carrier asks again right after sending a
           Hello, so the vouch's X25519 runs while that Hello travels */
        curvecp_hs_client_prepare (self->hs_client);
        return 0;
    }
    self->hello_attempt = attempt;
    self->info.packets_out++;
    return CURVECP_HELLO_BYTES;
}

size_t
curvecp_conn_output (curvecp_conn_t *self, uint64_t now, uint8_t *out, size_t cap)
{
    if (!out || cap < CURVECP_PACKET_MAX)
        return 0;
    curvecp_conn_tick (self, now);
    if (self->state == CURVECP_CONN_FAILED)
        return 0;
    if (self->cookie_pending) {
        memcpy (out, self->cookie, CURVECP_COOKIE_BYTES);
        self->cookie_pending = false;
        return CURVECP_COOKIE_BYTES;
    }
    if (!self->have_session)
        return self->is_client ? client_hello (self, now, out) : 0;
    if (!self->stream)
        return 0;
    note_busy (self, now);
    size_t len = stream_packet (self, now, out, cap);
    if (len == 0 && needs_ping (self) && now >= self->ping_at)
        len = ping (self, now, out);
    if (len == 0 && needs_keepalive (self) && now >= keepalive_at (self))
        len = keepalive (self, now, out);
    note_busy (self, now);
    /* the message layer may have given up inside produce: apply the rules
       now, or no timer would ever be due again to fail the connection */
    if (curvecp_stream_failed (self->stream))
        session_timers (self, now);
    return len;
}

static uint64_t
earliest (uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t
curvecp_conn_deadline (const curvecp_conn_t *self)
{
    if (self->state == CURVECP_CONN_FAILED)
        return UINT64_MAX;
    if (self->cookie_pending)
        return 0;
    uint64_t deadline = UINT64_MAX;
    if (self->is_client && self->state == CURVECP_CONN_HANDSHAKE && self->config.handshake_timeout_ns)
        deadline = self->handshake_started + self->config.handshake_timeout_ns;
    if (!self->have_session) {
        if (self->is_client)
            deadline = earliest (deadline, curvecp_hs_client_deadline (self->hs_client));
        return deadline;
    }
    if (self->config.idle_timeout_ns)
        deadline = earliest (deadline, self->last_heard + self->config.idle_timeout_ns);
    deadline = earliest (deadline, unconfirmed_expiry (self));
    if (!self->stream)
        return deadline;
    if (curvecp_stream_failed (self->stream))
        return 0;                    /* the give-up's rule is due at once */
    deadline = earliest (deadline, curvecp_stream_deadline (self->stream));
    if (needs_ping (self))
        deadline = earliest (deadline, self->ping_at);
    if (needs_keepalive (self))
        deadline = earliest (deadline, keepalive_at (self));
    if (self->is_client && self->config.silence_timeout_ns && self->state == CURVECP_CONN_OPEN
    &&  data_outstanding (self))
        deadline = earliest (deadline, silence_since (self) + self->config.silence_timeout_ns);
    if (self->closed && !self->lingered && curvecp_stream_done (self->stream))
        deadline = earliest (deadline, self->linger_until ? self->linger_until : 0);
    return deadline;
}

int
curvecp_conn_hello_attempt (const curvecp_conn_t *self)
{
    return self->hello_attempt;
}

bool
curvecp_conn_handshake_failed (const curvecp_conn_t *self, uint64_t now)
{
    if (self->state == CURVECP_CONN_FAILED)
        return self->failure == CURVECP_CONN_HANDSHAKE_TIMEOUT;
    if (!self->is_client || self->state != CURVECP_CONN_HANDSHAKE)
        return false;
    return (self->config.handshake_timeout_ns && now >= self->handshake_started + self->config.handshake_timeout_ns)
        || (!self->got_cookie && curvecp_hs_client_failed (self->hs_client, now));
}

bool
curvecp_conn_hello_due (const curvecp_conn_t *self, uint64_t now)
{
    return self->is_client && !self->have_session && self->state == CURVECP_CONN_HANDSHAKE
        && curvecp_hs_client_deadline (self->hs_client) <= now;
}

curvecp_reason_t
curvecp_conn_seal_message (curvecp_conn_t *self, const uint8_t *message, size_t len,
                           uint8_t *out, size_t *out_len)
{
    if (!self->have_session || self->state == CURVECP_CONN_FAILED)
        return CURVECP_E_WRONG_STATE;
    curvecp_reason_t reason = curvecp_session_seal (&self->session, message, len, out, out_len);
    if (reason == CURVECP_OK)
        self->info.packets_out++;
    else
        self->info.seal_errors++;
    return reason;
}

void
curvecp_conn_probe (curvecp_conn_t *self, uint64_t now)
{
    if (!self->have_session || !self->stream)
        return;
    self->probing = true;
    self->ping_at = now;
    self->ping_wait = PING_FIRST_NS / 4;
}

curvecp_reason_t
curvecp_conn_enable_large (curvecp_conn_t *self)
{
    if (!self->have_session)
        return CURVECP_E_WRONG_STATE;
    if (!self->large && !(self->large = (uint8_t *) malloc (CURVECP_LARGE_MSG_MAX)))
        return CURVECP_E_IO;
    return curvecp_session_set_message_max (&self->session, CURVECP_LARGE_MSG_MAX);
}

curvecp_reason_t
curvecp_conn_set_block_max (curvecp_conn_t *self, size_t block_max)
{
    return self->stream ? curvecp_stream_set_send_block_max (self->stream, block_max) : CURVECP_E_WRONG_STATE;
}

/* ---- the byte stream ------------------------------------------------------- */

size_t
curvecp_conn_write (curvecp_conn_t *self, const uint8_t *data, size_t len)
{
    return self->stream && self->state != CURVECP_CONN_FAILED ? curvecp_stream_write (self->stream, data, len) : 0;
}

size_t
curvecp_conn_read (curvecp_conn_t *self, uint8_t *buf, size_t cap)
{
    return self->stream ? curvecp_stream_read (self->stream, buf, cap) : 0;
}

size_t
curvecp_conn_readable (const curvecp_conn_t *self)
{
    return self->stream ? curvecp_stream_readable (self->stream) : 0;
}

size_t
curvecp_conn_peek (const curvecp_conn_t *self, const uint8_t **data)
{
    return self->stream ? curvecp_stream_peek (self->stream, data) : 0;
}

size_t
curvecp_conn_reserve (curvecp_conn_t *self, uint8_t **space)
{
    return self->stream && self->state != CURVECP_CONN_FAILED ? curvecp_stream_reserve (self->stream, space) : 0;
}

void
curvecp_conn_commit (curvecp_conn_t *self, size_t len)
{
    if (self->stream && len)
        curvecp_stream_commit (self->stream, len);
}

size_t
curvecp_conn_send_space (const curvecp_conn_t *self)
{
    return self->stream ? curvecp_stream_send_space (self->stream) : 0;
}

size_t
curvecp_conn_send_buffer (const curvecp_conn_t *self)
{
    return self->stream ? curvecp_stream_send_buffer (self->stream) : 0;
}

curvecp_reason_t
curvecp_conn_shutdown (curvecp_conn_t *self, curvecp_eof_t eof)
{
    return self->stream ? curvecp_stream_close (self->stream, eof) : CURVECP_E_WRONG_STATE;
}

curvecp_eof_t
curvecp_conn_received_eof (const curvecp_conn_t *self)
{
    return self->stream ? curvecp_stream_received_eof (self->stream) : CURVECP_EOF_NONE;
}

bool
curvecp_conn_all_acked (const curvecp_conn_t *self)
{
    return self->stream && curvecp_stream_all_acked (self->stream);
}

bool
curvecp_conn_done (const curvecp_conn_t *self)
{
    return self->stream && curvecp_stream_done (self->stream);
}

/* ---- state ------------------------------------------------------------------ */

curvecp_conn_state_t
curvecp_conn_state (const curvecp_conn_t *self)
{
    return self->state;
}

curvecp_conn_failure_t
curvecp_conn_failure (const curvecp_conn_t *self)
{
    return self->failure;
}

const char *
curvecp_conn_error (const curvecp_conn_t *self)
{
    return self->state == CURVECP_CONN_FAILED ? self->error : "";
}

bool
curvecp_conn_is_client (const curvecp_conn_t *self)
{
    return self->is_client;
}

bool
curvecp_conn_has_session (const curvecp_conn_t *self)
{
    return self->have_session;
}

bool
curvecp_conn_established (const curvecp_conn_t *self)
{
    return self->have_session && (!self->is_client || self->session.established);
}

uint64_t
curvecp_conn_generation (const curvecp_conn_t *self)
{
    return self->generation;
}

const uint8_t *
curvecp_conn_peer_key (const curvecp_conn_t *self)
{
    if (self->is_client)
        return self->server_pk;
    return self->have_session ? self->session.client_long_pk : self->server_pk;
}

const uint8_t *
curvecp_conn_client_key (const curvecp_conn_t *self)
{
    return self->is_client ? self->long_term.public_key : self->session.client_long_pk;
}

const uint8_t *
curvecp_conn_client_short_key (const curvecp_conn_t *self)
{
    if (self->is_client)
        return curvecp_hs_client_short_key (self->hs_client);
    return self->session.client_short_pk;
}

const uint8_t *
curvecp_conn_client_ext (const curvecp_conn_t *self)
{
    return self->is_client ? self->client_ext : self->session.client_ext;
}

const char *
curvecp_conn_server_name (const curvecp_conn_t *self)
{
    return self->server_name;
}

int
curvecp_conn_name_index (const curvecp_conn_t *self)
{
    return self->name_index;
}

void
curvecp_conn_set_name_index (curvecp_conn_t *self, int index)
{
    self->name_index = index;
}

size_t
curvecp_conn_message_max (const curvecp_conn_t *self)
{
    return curvecp_session_message_max (&self->session);
}

bool
curvecp_conn_matches (const curvecp_conn_t *self, const uint8_t *packet, size_t len)
{
    return self->have_session && len >= CURVECP_PACKET_MIN && curvecp_session_matches (&self->session, packet);
}

const curvecp_conn_info_t *
curvecp_conn_info (const curvecp_conn_t *self)
{
    return &self->info;
}

const curvecp_stats_t *
curvecp_conn_stats (const curvecp_conn_t *self)
{
    return &self->stats;
}

const curvecp_stream_t *
curvecp_conn_stream (const curvecp_conn_t *self)
{
    return self->stream;
}

const curvecp_session_t *
curvecp_conn_session (const curvecp_conn_t *self)
{
    return &self->session;
}
