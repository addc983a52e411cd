/*  curvecp_udp_server.c - many connections on one UDP socket.

    The socket, batching, addresses and connections are the carrier's;
    what to do with each datagram - classification, the fair Hello queue
    and its budget, admission and the C' table - is the core listener's
    (core/curvecp_listener.h), shared with the ØMQ server. A datagram's
    source address (its sockaddr bytes) is the listener's token.

    Order of work, so a Hello flood cannot starve connections: each
    batch's packets for known connections first, then its Initiates for
    new ones (bounded per call by the listener), while Hellos go to the
    listener's queue; only when the socket is empty are Hellos answered
    (into the next send slot, nothing allocated), a few at a time with
    the socket read again in between, until the queue is empty or the
    call's budget is spent.                                               */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "core/curvecp_listener.h"
#include "curvecp_packet.h"
#include "curvecp_udp_internal.h"
#include "curvecp_udp_minute_keys.h"
#include "curvecp_udp_rng.h"
#include "curvecp_udp_server.h"

#define DEFAULT_MAX_CONNECTIONS 100
/* What a connection may allocate before it confirms: its stream's send
   buffer and receive window (the UDP stream defaults unless the config
   names a stream: curvecp_udp_stream_config_default) and the connection
   and stream structs. */
#define PENDING_BASE_COST       16384
/* Batches per read of the socket: the kernel's 4 MiB queue holds a few
   thousand datagrams, so this empties it unless the sender is faster
   than reading, and then it still bounds the call. */
#define DRAIN_ROUNDS_MAX        64
/* Hellos between two reads of the socket: ~0.3 ms of X25519 at most. */
#define HELLOS_PER_READ         4

struct _curvecp_udp_server_t {
    curvecp_listener_t *listener;
    curvecp_udp_socket_t *sock;
    curvecp_udp_timers_t timers;
    curvecp_udp_conn_config_t conn_config;
    curvecp_stream_config_t stream_config;
    curvecp_udp_connect_fn *on_connect;
    void *on_connect_arg;
    curvecp_authorise_fn *authorise;
    void *authorise_arg;
    curvecp_udp_conn_t *accept_head, *accept_tail;
    curvecp_udp_server_info_t info;
    uint64_t roams_of_freed;
    curvecp_udp_addr_t hello_to;        /* where the Cookie being made goes */
    int workers;                        /* sharing the port (0: not shared) */
    curvecp_udp_minute_keys_t *minute_keys;   /* workers: the shared source */
    bool yield;                         /* a connection wants its application to read */
    curvecp_udp_rng_t *rng;             /* the listener's and the connections' randomness */
};

void
curvecp_udp_server_config_default (curvecp_udp_server_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->max_connections = DEFAULT_MAX_CONNECTIONS;
}

static size_t
pending_charge (const curvecp_udp_server_config_t *config)
{
    if (config->on_message)
        return PENDING_BASE_COST;
    curvecp_stream_config_t defaults;
    const curvecp_stream_config_t *stream = config->stream;
    if (!stream) {
        curvecp_udp_stream_config_default (&defaults);
        stream = &defaults;
    }
    return stream->send_buffer + stream->receive_window + PENDING_BASE_COST;
}

static curvecp_listener_t *
listener_new (const curvecp_udp_server_config_t *config, const curvecp_rng_t *rng)
{
    curvecp_listener_config_t lc;
    curvecp_listener_config_default (&lc);
    lc.rng = rng;
    lc.keys = config->keys;
    memcpy (lc.ext, config->ext, CURVECP_EXT_BYTES);
    lc.message_max = CURVECP_MSG_MAX;
    lc.token_max = sizeof (struct sockaddr_storage);
    lc.limits.max_connections = config->max_connections ? (size_t) config->max_connections
                                                        : DEFAULT_MAX_CONNECTIONS;
    if (config->max_pending)
        lc.limits.max_pending = config->max_pending;
    if (config->max_pending_memory)
        lc.limits.max_pending_memory = config->max_pending_memory;
    lc.limits.pending_charge = pending_charge (config);
    lc.hello_queue = config->hello_queue;
    lc.hello_budget_ns = config->hello_budget_ns;
    lc.hello_rate = config->hello_rate;
    lc.now = curvecp_clock_now ();
    return curvecp_listener_new (&lc);
}

/* A worker after the first: the first's minute keys, and one source of
   keys for every later minute (made with the second worker). */
static int
share_minute_keys (curvecp_udp_server_t *self, curvecp_udp_server_t *first)
{
    if (!first->minute_keys) {
        uint8_t current[32], previous[32];
        curvecp_listener_minute_keys (first->listener, current, previous);
        first->minute_keys = curvecp_udp_minute_keys_new (current, previous);
        sodium_memzero (current, sizeof current);
        sodium_memzero (previous, sizeof previous);
        if (!first->minute_keys)
            return -1;
    }
    self->minute_keys = curvecp_udp_minute_keys_ref (first->minute_keys);
    curvecp_listener_share_minute_keys (self->listener, first->listener,
                                        curvecp_udp_minute_keys_get, self->minute_keys);
    return 0;
}

/* workers 0: a port of its own; else one of workers sharing the port
   (first: the first of them, whose port and minute keys it takes). */
static curvecp_udp_server_t *
server_new (const curvecp_udp_server_config_t *config, curvecp_udp_server_t *first, int workers)
{
    if (!config->keys || config->bind.len == 0 || config->max_connections < 0 || workers < 0) {
        errno = EINVAL;
        return NULL;
    }
    curvecp_udp_server_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    /* the system's randomness in batches: three getrandom calls per
       handshake become one per ~70 (curvecp_udp_rng.c says why that is sound) */
    self->rng = curvecp_udp_rng_new ();
    if (self->rng)
        self->listener = listener_new (config, curvecp_udp_rng_context (self->rng));
    curvecp_udp_addr_t bind = config->bind;
    if (first)
        curvecp_udp_server_local (first, &bind);   /* port 0: the port the first one got */
    self->sock = curvecp_udp_socket_new_steered (curvecp_udp_addr_family (&bind), &bind, workers, !first);
    if (!self->listener || !self->sock) {
        int saved = errno;
        curvecp_udp_server_destroy (&self);
        errno = saved;
        return NULL;
    }
    if (first && share_minute_keys (self, first) != 0) {
        curvecp_udp_server_destroy (&self);
        errno = ENOMEM;
        return NULL;
    }
    if (config->cookie_nonce)
        curvecp_listener_set_cookie_nonce (self->listener, config->cookie_nonce, config->cookie_nonce_context);
    curvecp_udp_timers_init (&self->timers);
    if (config->stream) {
        self->stream_config = *config->stream;
        self->conn_config.stream = &self->stream_config;
    }
    self->conn_config.on_message = config->on_message;
    self->conn_config.on_message_arg = config->on_message_arg;
    self->conn_config.linger_ns = config->linger_ns;
    self->conn_config.rng = curvecp_udp_rng_context (self->rng);
    self->on_connect = config->on_connect;
    self->on_connect_arg = config->on_connect_arg;
    self->authorise = config->authorise;
    self->authorise_arg = config->authorise_arg;
    return self;
}

curvecp_udp_server_t *
curvecp_udp_server_new (const curvecp_udp_server_config_t *config)
{
    return server_new (config, NULL, 0);
}

curvecp_udp_server_t *
curvecp_udp_server_new_worker (const curvecp_udp_server_config_t *config, curvecp_udp_server_t *first,
        int workers)
{
    if (workers < 1 || (first && first->workers != workers)) {
        errno = EINVAL;
        return NULL;
    }
    curvecp_udp_server_t *self = server_new (config, first, workers);
    if (self)
        self->workers = workers;
    return self;
}

/* Free a connection and forget it in the listener (by its entry: a
   failed connection's session, C' included, is already wiped). */
static void
forget (void *owner, curvecp_udp_conn_t *conn)
{
    curvecp_udp_server_t *self = (curvecp_udp_server_t *) owner;
    curvecp_listener_remove (self->listener, &conn->entry);
    self->info.closed++;
    self->roams_of_freed += conn->info.roams;
    curvecp_udp_conn_free (&conn);
}

void
curvecp_udp_server_destroy (curvecp_udp_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_udp_server_t *self = *self_p;
    curvecp_listener_entry_t *entry;
    while (self->listener && (entry = curvecp_listener_first (self->listener)) != NULL) {
        curvecp_udp_conn_t *conn = curvecp_listener_entry_conn (entry);
        curvecp_listener_remove (self->listener, &entry);
        curvecp_udp_conn_free (&conn);
    }
    curvecp_udp_timers_free (&self->timers);
    curvecp_listener_destroy (&self->listener);
    curvecp_udp_minute_keys_unref (&self->minute_keys);
    curvecp_udp_socket_destroy (&self->sock);
    curvecp_udp_rng_destroy (&self->rng);       /* after everything that draws from it */
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

int
curvecp_udp_server_add_name (curvecp_udp_server_t *self, const char *name)
{
    return curvecp_listener_add_name (self->listener, name);
}

int
curvecp_udp_server_fd (const curvecp_udp_server_t *self)
{
    return curvecp_udp_socket_fd (self->sock);
}

void
curvecp_udp_server_local (const curvecp_udp_server_t *self, curvecp_udp_addr_t *addr)
{
    curvecp_udp_socket_local (self->sock, addr);
}

/* ---- datagrams -------------------------------------------------------- */

static void
announce (curvecp_udp_server_t *self, curvecp_udp_conn_t *conn)
{
    if (self->on_connect) {
        self->on_connect (conn, self->on_connect_arg);
        return;
    }
    if (self->accept_tail)
        self->accept_tail->accept_next = conn;
    else
        self->accept_head = conn;
    self->accept_tail = conn;
}


static curvecp_reason_t
new_connection (curvecp_udp_server_t *self, const uint8_t *packet, size_t len,
        const curvecp_udp_addr_t *from, uint64_t now)
{
    curvecp_listener_accepted_t accepted;
    curvecp_reason_t rc = curvecp_listener_accept (self->listener, packet, len, now, &accepted);
    if (rc != CURVECP_OK)
        return rc;                      /* counted by the listener */
    if (self->authorise && !self->authorise (self->authorise_arg, accepted.client_key)) {
        curvecp_listener_abandon (self->listener, &accepted, CURVECP_E_NOT_AUTHORISED);
        return CURVECP_E_NOT_AUTHORISED;
    }
    curvecp_udp_conn_t *conn = curvecp_udp_conn_new_accepted (&self->conn_config, &accepted.session, self->sock,
                                                              &self->timers, from, now);
    if (!conn) {
        curvecp_listener_abandon (self->listener, &accepted, CURVECP_E_IO);
        return CURVECP_E_IO;
    }
    /* the first message, copied out before add wipes it */
    uint8_t first[CURVECP_INITIATE_MSG_MAX];
    size_t first_len = accepted.message_len;
    memcpy (first, accepted.message, first_len);
    curvecp_conn_set_name_index (conn->conn, accepted.name_index);
    conn->entry = curvecp_listener_add (self->listener, &accepted, conn, (const uint8_t *) &from->sa, from->len);
    if (!conn->entry) {
        curvecp_udp_conn_free (&conn);
        sodium_memzero (first, sizeof first);
        return CURVECP_E_IO;
    }
    self->info.connections++;
    announce (self, conn);
    curvecp_udp_conn_deliver (conn, first, first_len, now);
    sodium_memzero (first, sizeof first);
    return CURVECP_OK;
}

static void
run_due (curvecp_udp_server_t *self, uint64_t now)
{
    curvecp_udp_timers_run (&self->timers, now, forget, self);
}

/* A packet for a known connection; its verdict is counted, and its first
   Client Message confirms it (no longer pending). */
static void
to_connection (curvecp_udp_server_t *self, const curvecp_listener_result_t *result,
        const uint8_t *packet, size_t len, const curvecp_udp_addr_t *from, uint64_t now)
{
    /* just filling half its window sets yield: the drain stops after this
       batch so the application reads (one it never reads does not slow
       the others) */
    curvecp_reason_t rc = curvecp_udp_conn_input (result->conn, packet, len, from, now, &self->yield);
    if (rc == CURVECP_OK && result->type == CURVECP_PACKET_CLIENT_MESSAGE)
        curvecp_listener_confirm (self->listener, result->entry);
    curvecp_listener_count (self->listener, rc);
}

/* An Initiate for no known connection, after the batch's other packets:
   an earlier one in the batch may have made its connection. */
static void
handle_initiate (curvecp_udp_server_t *self, const uint8_t *packet, size_t len,
        const curvecp_udp_addr_t *from, uint64_t now)
{
    curvecp_listener_result_t result;
    curvecp_listener_action_t action = curvecp_listener_input (self->listener, packet, len,
            (const uint8_t *) &from->sa, from->len, &result);
    if (action == CURVECP_LISTENER_CONNECTION)
        to_connection (self, &result, packet, len, from, now);
    else
    if (action == CURVECP_LISTENER_NEW_INITIATE)
        new_connection (self, packet, len, from, now);
}

/* One batch of n datagrams: connections' packets at once, Hellos queued,
   new connections' Initiates last. */
static void
handle_batch (curvecp_udp_server_t *self, int n, uint64_t now)
{
    int initiates[CURVECP_UDP_BATCH];
    int pending = 0;
    for (int i = 0; i < n; i++) {
        size_t len;
        const curvecp_udp_addr_t *from;
        const uint8_t *packet = curvecp_udp_socket_datagram (self->sock, i, &len, &from);
        curvecp_listener_result_t result;
        switch (curvecp_listener_input (self->listener, packet, len, (const uint8_t *) &from->sa, from->len,
                                        &result)) {
            case CURVECP_LISTENER_CONNECTION:
                to_connection (self, &result, packet, len, from, now);
                break;
            case CURVECP_LISTENER_NEW_INITIATE:
                initiates[pending++] = i;
                break;
            default:                    /* queued, or dropped and counted */
                break;
        }
    }
    for (int k = 0; k < pending; k++) {
        size_t len;
        const curvecp_udp_addr_t *from;
        const uint8_t *packet = curvecp_udp_socket_datagram (self->sock, initiates[k], &len, &from);
        handle_initiate (self, packet, len, from, now);
    }
}

/* Read and handle everything waiting (bounded), timers after each batch. */
static void
drain (curvecp_udp_server_t *self, uint64_t now)
{
    self->yield = false;
    for (int round = 0; round < DRAIN_ROUNDS_MAX; round++) {
        int n = curvecp_udp_socket_receive (self->sock);
        handle_batch (self, n, now);
        run_due (self, now);
        curvecp_udp_socket_flush (self->sock);
        if (n < CURVECP_UDP_BATCH || self->yield)
            break;
    }
}

/* The listener's next Cookie, made in the next send slot. false when it
   has none to make now (or no slot is free: the Hellos wait). */
static bool
answer_hello (curvecp_udp_server_t *self, uint64_t now)
{
    uint8_t *slot = curvecp_udp_socket_slot (self->sock);
    if (!slot)
        return false;
    size_t token_len;
    curvecp_listener_cookie_t done = curvecp_listener_next_cookie (self->listener, now, slot,
            (uint8_t *) &self->hello_to.sa, &token_len, NULL);
    if (done == CURVECP_LISTENER_COOKIE) {
        self->hello_to.len = (socklen_t) token_len;
        curvecp_udp_socket_commit (self->sock, CURVECP_COOKIE_BYTES, &self->hello_to);
        self->info.hellos++;
    }
    return done != CURVECP_LISTENER_NO_COOKIE;
}

/* Queued Hellos until the listener says stop (queue empty, budget spent,
   rate), each at a fresh clock reading, reading the socket again every
   few. */
static void
answer_hellos (curvecp_udp_server_t *self, uint64_t now, uint64_t started)
{
    int answered = 0;
    uint64_t at = now;
    while (answer_hello (self, at)) {
        at = now + (curvecp_clock_now () - started);
        if (++answered % HELLOS_PER_READ == 0) {
            curvecp_udp_socket_flush (self->sock);
            drain (self, at);
        }
    }
}

void
curvecp_udp_server_process (curvecp_udp_server_t *self, uint64_t now)
{
    uint64_t started = curvecp_clock_now ();
    curvecp_listener_begin (self->listener, now);
    curvecp_udp_socket_flush (self->sock);
    drain (self, now);
    if (curvecp_listener_info (self->listener)->hellos_waiting > 0) {
        answer_hellos (self, now, started);
        now += curvecp_clock_now () - started;
        run_due (self, now);
    }
    curvecp_udp_socket_flush (self->sock);
    /* the caller waits next: the next Cookie's key pair costs nothing now
       (the listener makes one only if none is ready) */
    curvecp_listener_prepare (self->listener);
}

void
curvecp_udp_server_send_due (curvecp_udp_server_t *self, uint64_t now)
{
    if (!curvecp_udp_socket_drained (self->sock)
    ||  curvecp_listener_info (self->listener)->hellos_waiting > 0) {
        curvecp_udp_server_process (self, now);
        return;
    }
    curvecp_udp_socket_flush (self->sock);
    run_due (self, now);
    curvecp_udp_socket_flush (self->sock);
}

uint64_t
curvecp_udp_server_deadline (const curvecp_udp_server_t *self)
{
    uint64_t timers = curvecp_udp_timers_deadline (&self->timers);
    uint64_t hellos = curvecp_listener_deadline (self->listener);
    return hellos < timers ? hellos : timers;
}

bool
curvecp_udp_server_want_write (const curvecp_udp_server_t *self)
{
    return curvecp_udp_socket_pending (self->sock) > 0;
}

curvecp_udp_conn_t *
curvecp_udp_server_accept (curvecp_udp_server_t *self)
{
    curvecp_udp_conn_t *conn = self->accept_head;
    if (conn) {
        self->accept_head = conn->accept_next;
        if (!self->accept_head)
            self->accept_tail = NULL;
        conn->accept_next = NULL;
    }
    return conn;
}

int
curvecp_udp_server_connections (const curvecp_udp_server_t *self)
{
    return (int) curvecp_listener_size (self->listener);
}

const curvecp_stats_t *
curvecp_udp_server_stats (const curvecp_udp_server_t *self)
{
    return curvecp_listener_stats (self->listener);
}

const curvecp_udp_server_info_t *
curvecp_udp_server_info (curvecp_udp_server_t *self)
{
    const curvecp_udp_socket_info_t *s = curvecp_udp_socket_info (self->sock);
    self->info.datagrams_in = s->received;
    self->info.datagrams_out = s->sent;
    self->info.recv_calls = s->recv_calls;
    self->info.send_calls = s->send_calls;
    const curvecp_listener_info_t *l = curvecp_listener_info (self->listener);
    self->info.hellos_waiting = l->hellos_waiting;
    self->info.hellos_dropped = l->hellos_dropped;
    self->info.pending = l->pending;
    self->info.pending_memory = l->pending_memory;
    self->info.pending_memory_full = l->full_memory;
    uint64_t roams = self->roams_of_freed;
    curvecp_listener_entry_t *e;
    size_t cursor = 0;
    while ((e = curvecp_listener_next (self->listener, &cursor)) != NULL)
        roams += ((curvecp_udp_conn_t *) curvecp_listener_entry_conn (e))->info.roams;
    self->info.roams = roams;
    return &self->info;
}
