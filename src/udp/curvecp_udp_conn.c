/*  curvecp_udp_conn.c - one connection: its session (packet crypto), its
    message layer or message callback, and where its packets go.

    Roaming: a verified packet from a new address makes that address the
    candidate and everything we send goes there at once ("answer where
    the client is"); the candidate becomes the peer for good when the
    client speaks again from it after we have answered there. A packet
    from the old address cancels the candidate. Because only verified
    packets (box opened, nonce fresh) count, an off-path attacker cannot
    move a connection; a replayed packet is refused by the nonce rule.

    After a client moves to a new socket it probes the same way (the
    zero message, repeated with back-off) until a packet arrives at the
    new address: a client that is only receiving would otherwise never
    tell the server where it went.

    Client ping: the server learns of a client only from an Initiate, and
    an Initiate goes out only with a message. NaCl's curvecpmessage -c
    sends an empty block at once for this; in stream mode we send a
    192-byte all-zero message instead (a pure acknowledgment of nothing,
    which any peer ignores) and repeat it with back-off until the stream
    has sent a block of its own (which it resends until acknowledged) or
    the server has spoken.                                                */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_udp_internal.h"

#define RUN_MESSAGES_MAX 64               /* per run, so one busy stream cannot starve others */
#define PING_FIRST_NS    1000000000ull
#define PING_MAX_NS      8000000000ull
#define DEFAULT_LINGER   2000000000ull
#define UDP_WIDE_WINDOW  (512u * 1024u)   /* see udp_stream_defaults */

/* The stream defaults plus the message layer's wide window (added by
   the message-layer owner): our receiver announces a 512 KiB window in
   the padding of its messages (NaCl's curvecpmessage ignores padding),
   and our sender keeps up to 512 KiB / 512 blocks in flight only towards
   a peer that announced one; towards NaCl it stays at 128 KiB. On
   loopback 128 blocks per ~0.5 ms round trip were the limit, not the
   CPU. Buffers are allocated only while in use (curvecp_stream.h). */
static void
udp_stream_defaults (curvecp_stream_config_t *config)
{
    curvecp_stream_config_default (config);
    config->send_buffer = UDP_WIDE_WINDOW;
    config->receive_window = UDP_WIDE_WINDOW;
    config->peer_window_max = UDP_WIDE_WINDOW;
    config->blocks_max = UDP_WIDE_WINDOW / CURVECP_MESSAGE_DATA_MAX;
}

curvecp_udp_conn_t *
curvecp_udp_conn_new (const curvecp_udp_conn_config_t *config, const curvecp_session_t *session,
        curvecp_udp_socket_t *sock, curvecp_udp_timers_t *timers, const curvecp_udp_addr_t *peer,
        uint64_t now)
{
    curvecp_udp_conn_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (session) {
        self->session = *session;
        self->ready = true;
    }
    self->sock = sock;
    self->timers = timers;
    self->peer = *peer;
    curvecp_heap_node_init (&self->timer);
    self->linger_ns = config->linger_ns ? config->linger_ns : DEFAULT_LINGER;
    self->ping_wait = PING_FIRST_NS;
    self->on_message = config->on_message;
    self->on_message_arg = config->on_message_arg;
    if (!self->on_message) {
        curvecp_stream_config_t stream_config;
        if (config->stream)
            stream_config = *config->stream;
        else
            udp_stream_defaults (&stream_config);
        stream_config.is_client = session ? session->is_client : true;
        stream_config.now = now;
        self->stream = curvecp_stream_new (&stream_config);
        if (!self->stream) {
            curvecp_udp_conn_free (&self);
            return NULL;
        }
    }
    return self;
}

void
curvecp_udp_conn_free (curvecp_udp_conn_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_udp_conn_t *self = *self_p;
        if (curvecp_heap_node_queued (&self->timer))
            curvecp_udp_timers_set (self->timers, self, UINT64_MAX);
        curvecp_stream_destroy (&self->stream);
        sodium_memzero (self, sizeof *self);
        free (self);
        *self_p = NULL;
    }
}

void
curvecp_udp_conn_wake (curvecp_udp_conn_t *self)
{
    if (self->timer.deadline != 0)
        curvecp_udp_timers_set (self->timers, self, 0);
}

/* ---- sending ---------------------------------------------------------- */

static curvecp_reason_t
send_packet (curvecp_udp_conn_t *self, const uint8_t *message, size_t len)
{
    uint8_t *slot = curvecp_udp_socket_slot (self->sock);
    if (!slot)
        return CURVECP_E_IO;           /* kernel full: dropped, the stream resends */
    size_t packet_len;
    curvecp_reason_t rc = curvecp_session_seal (&self->session, message, len, slot, &packet_len);
    if (rc != CURVECP_OK) {
        self->info.seal_errors++;
        return rc;
    }
    const curvecp_udp_addr_t *to = &self->peer;
    if (self->candidate.len) {
        to = &self->candidate;
        self->candidate_answered = true;
    }
    curvecp_udp_socket_commit (self->sock, packet_len, to);
    self->info.packets_out++;
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_udp_conn_send_message (curvecp_udp_conn_t *self, const uint8_t *message, size_t len)
{
    if (!self->ready || self->dead)
        return CURVECP_E_WRONG_STATE;
    return send_packet (self, message, len);
}

/* ---- receiving -------------------------------------------------------- */

static void
follow_peer (curvecp_udp_conn_t *self, const curvecp_udp_addr_t *from)
{
    if (curvecp_udp_addr_equal (from, &self->peer)) {
        self->candidate.len = 0;
        return;
    }
    if (self->candidate.len && self->candidate_answered && curvecp_udp_addr_equal (from, &self->candidate)) {
        self->peer = self->candidate;
        self->candidate.len = 0;
        self->info.roams++;
        return;
    }
    if (!self->candidate.len || !curvecp_udp_addr_equal (from, &self->candidate)) {
        self->candidate = *from;
        self->candidate_answered = false;
    }
}

void
curvecp_udp_conn_deliver (curvecp_udp_conn_t *self, const uint8_t *message, size_t len, uint64_t now)
{
    if (self->dead)
        return;
    if (self->on_message)
        self->on_message (self, message, len, self->on_message_arg);
    else {
        curvecp_stream_receive (self->stream, message, len, now);
        curvecp_udp_conn_wake (self);
    }
}

curvecp_reason_t
curvecp_udp_conn_input (curvecp_udp_conn_t *self, const uint8_t *packet, size_t len,
        const curvecp_udp_addr_t *from, uint64_t now)
{
    uint8_t message[CURVECP_MSG_MAX];
    size_t message_len;
    curvecp_reason_t rc = curvecp_session_open (&self->session, packet, len, message, &message_len);
    if (rc != CURVECP_OK)
        return rc;
    self->info.packets_in++;
    if (!self->session.is_client)
        follow_peer (self, from);
    self->probing = false;            /* the server has answered at our new address */
    curvecp_udp_conn_deliver (self, message, message_len, now);
    sodium_memzero (message, message_len);
    return CURVECP_OK;
}

/* ---- running ---------------------------------------------------------- */

void
curvecp_udp_conn_probe (curvecp_udp_conn_t *self, uint64_t now)
{
    if (!self->ready || !self->stream)
        return;
    self->probing = true;
    self->ping_at = now;
    self->ping_wait = PING_FIRST_NS / 4;
    curvecp_udp_conn_wake (self);
}

static bool
needs_ping (const curvecp_udp_conn_t *self)
{
    if (self->probing)
        return true;
    return self->session.is_client && !self->session.established
        && curvecp_stream_info (self->stream)->blocks_sent == 0;
}

static void
maybe_ping (curvecp_udp_conn_t *self, uint64_t now)
{
    if (!needs_ping (self) || now < self->ping_at)
        return;
    uint8_t zero[CURVECP_MESSAGE_ACK_BYTES] = { 0 };
    send_packet (self, zero, sizeof zero);
    self->ping_at = now + self->ping_wait;
    if (self->ping_wait < PING_MAX_NS)
        self->ping_wait *= 2;
}

/* Produce what the stream wants sent; true if it may want more now. */
static bool
produce (curvecp_udp_conn_t *self, uint64_t now)
{
    uint8_t message[CURVECP_MSG_MAX];
    for (int i = 0; i < RUN_MESSAGES_MAX; i++) {
        size_t n = curvecp_stream_produce (self->stream, now, message, sizeof message);
        if (n == 0)
            return false;
        send_packet (self, message, n);
    }
    return true;
}

static uint64_t
earliest (uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

bool
curvecp_udp_conn_run (curvecp_udp_conn_t *self, uint64_t now)
{
    if (self->dead)
        return true;
    if (!self->ready || !self->stream) {
        curvecp_udp_timers_set (self->timers, self, UINT64_MAX);
        return false;
    }
    bool more = produce (self, now);
    maybe_ping (self, now);
    if (self->user_closed && (curvecp_stream_done (self->stream) || curvecp_stream_failed (self->stream))) {
        if (self->linger_until == 0)
            self->linger_until = now + self->linger_ns;
        if (now >= self->linger_until || curvecp_stream_failed (self->stream))
            return true;
    }
    uint64_t deadline = curvecp_stream_deadline (self->stream);
    if (more)
        deadline = now;
    else
    if (deadline <= now)
        deadline = now + 1000;         /* nothing came out: do not spin on a stale deadline */
    if (needs_ping (self))
        deadline = earliest (deadline, self->ping_at);
    if (self->linger_until)
        deadline = earliest (deadline, self->linger_until);
    curvecp_udp_timers_set (self->timers, self, deadline);
    return false;
}

/* ---- application side ------------------------------------------------- */

size_t
curvecp_udp_conn_send (curvecp_udp_conn_t *self, const uint8_t *data, size_t len)
{
    if (!self->stream)
        return 0;
    size_t n = curvecp_stream_write (self->stream, data, len);
    if (n)
        curvecp_udp_conn_wake (self);
    return n;
}

size_t
curvecp_udp_conn_recv (curvecp_udp_conn_t *self, uint8_t *buf, size_t cap)
{
    if (!self->stream)
        return 0;
    size_t n = curvecp_stream_read (self->stream, buf, cap);
    if (n)
        curvecp_udp_conn_wake (self);  /* the window opened: the stream may say so */
    return n;
}

size_t
curvecp_udp_conn_readable (const curvecp_udp_conn_t *self)
{
    return self->stream ? curvecp_stream_readable (self->stream) : 0;
}

size_t
curvecp_udp_conn_send_space (const curvecp_udp_conn_t *self)
{
    return self->stream ? curvecp_stream_send_space (self->stream) : 0;
}

curvecp_reason_t
curvecp_udp_conn_shutdown (curvecp_udp_conn_t *self, curvecp_eof_t eof)
{
    if (!self->stream)
        return CURVECP_E_WRONG_STATE;
    curvecp_reason_t rc = curvecp_stream_close (self->stream, eof);
    if (rc == CURVECP_OK)
        curvecp_udp_conn_wake (self);
    return rc;
}

curvecp_eof_t
curvecp_udp_conn_received_eof (const curvecp_udp_conn_t *self)
{
    return self->stream ? curvecp_stream_received_eof (self->stream) : CURVECP_EOF_NONE;
}

bool
curvecp_udp_conn_all_acked (const curvecp_udp_conn_t *self)
{
    return self->stream && curvecp_stream_all_acked (self->stream);
}

bool
curvecp_udp_conn_done (const curvecp_udp_conn_t *self)
{
    return self->stream && curvecp_stream_done (self->stream);
}

bool
curvecp_udp_conn_failed (const curvecp_udp_conn_t *self)
{
    return self->dead || (self->stream && curvecp_stream_failed (self->stream));
}

void
curvecp_udp_conn_close (curvecp_udp_conn_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_udp_conn_t *self = *self_p;
    self->user_closed = true;
    self->user = NULL;
    if (!self->stream)
        self->dead = true;
    else
        curvecp_stream_close (self->stream, CURVECP_EOF_SUCCESS);   /* WRONG_STATE if shut already: fine */
    curvecp_udp_conn_wake (self);
    *self_p = NULL;
}

const curvecp_udp_addr_t *
curvecp_udp_conn_peer (const curvecp_udp_conn_t *self)
{
    return self->candidate.len ? &self->candidate : &self->peer;
}

const uint8_t *
curvecp_udp_conn_client_key (const curvecp_udp_conn_t *self)
{
    return self->session.client_long_pk;
}

const uint8_t *
curvecp_udp_conn_client_short_key (const curvecp_udp_conn_t *self)
{
    return self->session.client_short_pk;
}

const uint8_t *
curvecp_udp_conn_client_ext (const curvecp_udp_conn_t *self)
{
    return self->session.client_ext;
}

int
curvecp_udp_conn_name_index (const curvecp_udp_conn_t *self)
{
    return self->name_index;
}

bool
curvecp_udp_conn_established (const curvecp_udp_conn_t *self)
{
    return self->ready && self->session.established;
}

void
curvecp_udp_conn_set_user (curvecp_udp_conn_t *self, void *user)
{
    self->user = user;
}

void *
curvecp_udp_conn_user (const curvecp_udp_conn_t *self)
{
    return self->user;
}

const curvecp_udp_conn_info_t *
curvecp_udp_conn_info (const curvecp_udp_conn_t *self)
{
    return &self->info;
}

const curvecp_stream_t *
curvecp_udp_conn_stream (const curvecp_udp_conn_t *self)
{
    return self->stream;
}

const curvecp_stats_t *
curvecp_udp_conn_stats (const curvecp_udp_conn_t *self)
{
    return &self->session.stats;
}
