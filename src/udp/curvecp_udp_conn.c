/*  curvecp_udp_conn.c - one connection over UDP: a core connection
    (src/core/curvecp_conn.c: handshake, session, message layer, timers)
    plus where its packets go.

    Roaming: a verified packet from a new address makes that address the
    candidate and everything we send goes there at once ("answer where
    the client is"); the candidate becomes the peer for good when the
    client speaks again from it after we have answered there. A packet
    from the old address cancels the candidate. Because only verified
    packets (box opened, nonce fresh) count, an off-path attacker cannot
    move a connection; a replayed packet is refused by the nonce rule.
    The client's side of roaming (a probe after it moved) is the core
    connection's.                                                        */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_udp_internal.h"

#define RUN_PACKETS_MAX  64               /* per run, so one busy stream cannot starve others */
#define DEFAULT_LINGER   2000000000ull
#define UDP_WIDE_WINDOW  (2048u * 1024u)  /* see curvecp_udp_stream_config_default */
#define UDP_INITIAL_RING (16u * 1024u)    /* rings start this small, double on use */

/* The stream defaults plus the message layer's wide window: our receiver
   announces a 2 MiB window in the padding of its messages (NaCl's
   curvecpmessage ignores padding), and our sender keeps up to 2 MiB /
   2048 blocks in flight only towards a peer that announced one; towards
   NaCl it stays at 128 KiB / 128 blocks. Through a 20 ms relay 512 KiB
   capped goodput at about 21 MB/s; 2 MiB doubled it at 0-2 % loss, while
   4 MiB did no better at 0 % and was worse at 5 % (more blocks sit above
   holes the six acknowledgment ranges cannot name, and wait for the
   timer). The rings start at 16 KiB and double as the bytes they must
   hold need (as the ØMQ codec's do), and are freed when idle
   (curvecp_stream.h): a connection that carries little never touches
   the wide window. */
void
curvecp_udp_stream_config_default (curvecp_stream_config_t *config)
{
    curvecp_stream_config_default (config);
    config->send_buffer = UDP_WIDE_WINDOW;
    config->receive_window = UDP_WIDE_WINDOW;
    config->peer_window_max = UDP_WIDE_WINDOW;
    config->blocks_max = UDP_WIDE_WINDOW / CURVECP_MESSAGE_DATA_MAX;
    config->initial_buffer = UDP_INITIAL_RING;
}

static void follow_peer (curvecp_udp_conn_t *self, const curvecp_udp_addr_t *from);

/* Message mode: the core connection hands M over; the carrier's callback
   names the UDP connection. M opened, so its packet is authentic: the
   server follows its source before the callback, so that a reply sent
   from the callback goes where the client now is (not to an address it
   may have left). */
static void
relay_message (void *arg, const uint8_t *message, size_t len)
{
    curvecp_udp_conn_t *self = (curvecp_udp_conn_t *) arg;
    if (self->arriving_from) {
        follow_peer (self, self->arriving_from);
        self->arriving_from = NULL;
    }
    self->on_message (self, message, len, self->on_message_arg);
}

/* The UDP rules for a core connection: NaCl's (no handshake or idle
   timeout, the message layer's give-up ends it, the client pings). */
static void
core_config (curvecp_udp_conn_t *self, const curvecp_udp_conn_config_t *config, curvecp_conn_config_t *out)
{
    curvecp_conn_config_default (out);
    if (config->stream)
        out->stream = *config->stream;
    else
        curvecp_udp_stream_config_default (&out->stream);
    if (!out->stream.rng)
        out->stream.rng = config->rng;
    out->linger_ns = config->linger_ns ? config->linger_ns : DEFAULT_LINGER;
    out->keepalive_ns = config->keepalive_ns;
    if (config->on_message) {
        out->on_message = relay_message;
        out->on_message_arg = self;
    }
}

/* The protocol's counts live in the core connection: copied after each
   call that can move them. */
static void
sync_info (curvecp_udp_conn_t *self)
{
    const curvecp_conn_info_t *core = curvecp_conn_info (self->conn);
    self->info.packets_in = core->packets_in + self->initiates_in;
    self->info.packets_out = core->packets_out;
    self->info.seal_errors = core->seal_errors;
    self->info.keepalives = core->keepalives;
}

static curvecp_udp_conn_t *
udp_conn_new (const curvecp_udp_conn_config_t *config, curvecp_udp_socket_t *sock,
              curvecp_udp_timers_t *timers, const curvecp_udp_addr_t *peer)
{
    curvecp_udp_conn_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->sock = sock;
    self->timers = timers;
    self->peer = *peer;
    curvecp_heap_node_init (&self->timer);
    self->on_message = config->on_message;
    self->on_message_arg = config->on_message_arg;
    return self;
}

curvecp_udp_conn_t *
curvecp_udp_conn_new_accepted (const curvecp_udp_conn_config_t *config, const curvecp_session_t *session,
        curvecp_udp_socket_t *sock, curvecp_udp_timers_t *timers, const curvecp_udp_addr_t *peer,
        uint64_t now)
{
    curvecp_udp_conn_t *self = udp_conn_new (config, sock, timers, peer);
    if (!self)
        return NULL;
    curvecp_conn_config_t conn_config;
    core_config (self, config, &conn_config);
    self->conn = curvecp_conn_new_accepted (&conn_config, session, now);
    self->initiates_in = 1;
    if (!self->conn)
        curvecp_udp_conn_free (&self);
    else
        sync_info (self);
    return self;
}

curvecp_udp_conn_t *
curvecp_udp_conn_new_client (const curvecp_udp_conn_config_t *config, const curvecp_keypair_t *long_term,
        const uint8_t server_pk[CURVECP_KEY_BYTES], const char *server_name,
        const uint8_t server_ext[CURVECP_EXT_BYTES], const uint8_t client_ext[CURVECP_EXT_BYTES],
        curvecp_udp_socket_t *sock, curvecp_udp_timers_t *timers, const curvecp_udp_addr_t *peer,
        uint64_t now)
{
    curvecp_udp_conn_t *self = udp_conn_new (config, sock, timers, peer);
    if (!self)
        return NULL;
    curvecp_conn_config_t conn_config;
    core_config (self, config, &conn_config);
    self->conn = curvecp_conn_new_client (&conn_config, long_term, server_pk, server_name, server_ext,
                                          client_ext, now);
    if (!self->conn)
        curvecp_udp_conn_free (&self);
    return self;
}

void
curvecp_udp_conn_free (curvecp_udp_conn_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_udp_conn_t *self = *self_p;
        if (curvecp_heap_node_queued (&self->timer))
            curvecp_udp_timers_set (self->timers, self, UINT64_MAX);
        curvecp_conn_destroy (&self->conn);
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

/* Where our packets go: the candidate once a verified packet came from it. */
static const curvecp_udp_addr_t *
destination (curvecp_udp_conn_t *self)
{
    if (self->candidate.len) {
        self->candidate_answered = true;
        return &self->candidate;
    }
    return &self->peer;
}

curvecp_reason_t
curvecp_udp_conn_send_message (curvecp_udp_conn_t *self, const uint8_t *message, size_t len)
{
    if (self->user_closed || !curvecp_conn_has_session (self->conn))
        return CURVECP_E_WRONG_STATE;
    uint8_t *slot = curvecp_udp_socket_slot (self->sock);
    if (!slot)
        return CURVECP_E_IO;           /* kernel full: dropped, as a lost packet */
    size_t packet_len;
    curvecp_reason_t rc = curvecp_conn_seal_message (self->conn, message, len, slot, &packet_len);
    if (rc == CURVECP_OK)
        curvecp_udp_socket_commit (self->sock, packet_len, destination (self));
    sync_info (self);
    return rc;
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
    if (self->user_closed && self->on_message)
        return;
    curvecp_conn_deliver (self->conn, message, len, now);
    curvecp_udp_conn_wake (self);
}

curvecp_reason_t
curvecp_udp_conn_input (curvecp_udp_conn_t *self, const uint8_t *packet, size_t len,
        const curvecp_udp_addr_t *from, uint64_t now, bool *reader_due)
{
    bool server = !curvecp_conn_is_client (self->conn);
    bool was_waiting = reader_due && curvecp_udp_conn_wants_reader (self);
    self->arriving_from = server ? from : NULL;      /* followed at delivery (message mode) */
    curvecp_reason_t rc = curvecp_conn_input (self->conn, packet, len, now);
    if (reader_due && !was_waiting && curvecp_udp_conn_wants_reader (self))
        *reader_due = true;
    bool followed = server && !self->arriving_from;
    self->arriving_from = NULL;
    sync_info (self);
    if (rc != CURVECP_OK)
        return rc;
    if (server && !followed)
        follow_peer (self, from);
    curvecp_udp_conn_wake (self);
    return CURVECP_OK;
}

/* ---- running ---------------------------------------------------------- */

void
curvecp_udp_conn_probe (curvecp_udp_conn_t *self, uint64_t now)
{
    curvecp_conn_probe (self->conn, now);
    curvecp_udp_conn_wake (self);
}

/* Send what the connection has due; true if it may have more now. */
static bool
produce (curvecp_udp_conn_t *self, uint64_t now)
{
    for (int i = 0; i < RUN_PACKETS_MAX; i++) {
        uint8_t *slot = curvecp_udp_socket_slot (self->sock);
        if (!slot)
            return true;               /* kernel full: the rest waits in the stream */
        size_t n = curvecp_conn_output (self->conn, now, slot, CURVECP_PACKET_MAX);
        if (n == 0)
            return false;
        curvecp_udp_socket_commit (self->sock, n, destination (self));
    }
    return true;
}

bool
curvecp_udp_conn_run (curvecp_udp_conn_t *self, uint64_t now)
{
    if (!curvecp_conn_has_session (self->conn) && curvecp_conn_state (self->conn) != CURVECP_CONN_FAILED) {
        curvecp_udp_timers_set (self->timers, self, UINT64_MAX);
        return false;                  /* a client's handshake: the client sends its Hellos */
    }
    bool more = produce (self, now);
    sync_info (self);
    /* a connection the user still holds stays until the user closes it */
    if (self->user_closed && curvecp_conn_finished (self->conn))
        return true;
    uint64_t deadline = curvecp_conn_deadline (self->conn);
    if (more)
        deadline = now;
    else
    if (deadline <= now)
        deadline = now + 1000;         /* nothing came out: do not spin on a stale deadline */
    curvecp_udp_timers_set (self->timers, self, deadline);
    return false;
}

/* ---- application side ------------------------------------------------- */

size_t
curvecp_udp_conn_send (curvecp_udp_conn_t *self, const uint8_t *data, size_t len)
{
    size_t n = curvecp_conn_write (self->conn, data, len);
    if (n)
        curvecp_udp_conn_wake (self);
    return n;
}

size_t
curvecp_udp_conn_recv_peek (const curvecp_udp_conn_t *self, const uint8_t **data)
{
    return curvecp_conn_peek (self->conn, data);
}

size_t
curvecp_udp_conn_send_reserve (curvecp_udp_conn_t *self, uint8_t **space)
{
    return curvecp_conn_reserve (self->conn, space);
}

void
curvecp_udp_conn_send_commit (curvecp_udp_conn_t *self, size_t len)
{
    curvecp_conn_commit (self->conn, len);
    if (len)
        curvecp_udp_conn_wake (self);
}

size_t
curvecp_udp_conn_recv (curvecp_udp_conn_t *self, uint8_t *buf, size_t cap)
{
    size_t n = curvecp_conn_read (self->conn, buf, cap);
    if (n)
        curvecp_udp_conn_wake (self);  /* the window opened: the stream may say so */
    return n;
}

size_t
curvecp_udp_conn_readable (const curvecp_udp_conn_t *self)
{
    return curvecp_conn_readable (self->conn);
}

/* Half the receive window waits unread: the carrier stops reading its
   socket and returns, so the application reads before more comes (the
   datagrams wait in the kernel's buffer). Otherwise a carrier that keeps
   reading while the peer keeps sending fills the window, and what the
   window refuses comes again only after a retransmission timeout. */
bool
curvecp_udp_conn_wants_reader (const curvecp_udp_conn_t *self)
{
    const curvecp_stream_t *stream = curvecp_conn_stream (self->conn);
    return stream && curvecp_conn_readable (self->conn) >= curvecp_stream_receive_window (stream) / 2;
}

size_t
curvecp_udp_conn_send_space (const curvecp_udp_conn_t *self)
{
    return curvecp_conn_send_space (self->conn);
}

curvecp_reason_t
curvecp_udp_conn_shutdown (curvecp_udp_conn_t *self, curvecp_eof_t eof)
{
    curvecp_reason_t rc = curvecp_conn_shutdown (self->conn, eof);
    if (rc == CURVECP_OK)
        curvecp_udp_conn_wake (self);
    return rc;
}

curvecp_eof_t
curvecp_udp_conn_received_eof (const curvecp_udp_conn_t *self)
{
    return curvecp_conn_received_eof (self->conn);
}

bool
curvecp_udp_conn_all_acked (const curvecp_udp_conn_t *self)
{
    return curvecp_conn_all_acked (self->conn);
}

bool
curvecp_udp_conn_done (const curvecp_udp_conn_t *self)
{
    return curvecp_conn_done (self->conn);
}

bool
curvecp_udp_conn_failed (const curvecp_udp_conn_t *self)
{
    return curvecp_conn_state (self->conn) == CURVECP_CONN_FAILED;
}

const char *
curvecp_udp_conn_failure (const curvecp_udp_conn_t *self)
{
    if (!curvecp_udp_conn_failed (self))
        return NULL;
    return curvecp_conn_failure_name (curvecp_conn_failure (self->conn));
}

const char *
curvecp_udp_conn_error (const curvecp_udp_conn_t *self)
{
    return curvecp_udp_conn_failed (self) ? curvecp_conn_error (self->conn) : NULL;
}

void
curvecp_udp_conn_close (curvecp_udp_conn_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_udp_conn_t *self = *self_p;
    self->user_closed = true;
    self->user = NULL;
    curvecp_conn_close (self->conn);
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
    return curvecp_conn_client_key (self->conn);
}

const uint8_t *
curvecp_udp_conn_client_short_key (const curvecp_udp_conn_t *self)
{
    return curvecp_conn_client_short_key (self->conn);
}

const uint8_t *
curvecp_udp_conn_client_ext (const curvecp_udp_conn_t *self)
{
    return curvecp_conn_client_ext (self->conn);
}

int
curvecp_udp_conn_name_index (const curvecp_udp_conn_t *self)
{
    return curvecp_conn_name_index (self->conn);
}

bool
curvecp_udp_conn_established (const curvecp_udp_conn_t *self)
{
    return curvecp_conn_established (self->conn);
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
    return curvecp_conn_stream (self->conn);
}

const curvecp_stats_t *
curvecp_udp_conn_stats (const curvecp_udp_conn_t *self)
{
    return curvecp_conn_stats (self->conn);
}
