/*  curvecp_udp_server.c - many connections on one UDP socket.

    Per datagram: classify (size, magic, our extension) without crypto;
    a Hello is answered straight into the next send slot from the stack;
    an Initiate or Message finds its connection by C' in a hash table
    keyed with SipHash under a random key (so clients cannot aim C' values
    at one chain); an Initiate for an unknown C' may create a connection,
    if there is room. Every datagram's fate is counted once, by reason.  */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_hs_server.h"
#include "curvecp_packet.h"
#include "curvecp_udp_internal.h"
#include "curvecp_udp_server.h"

#define DEFAULT_MAX_CONNECTIONS 100
#define ROUNDS_MAX 16                   /* batches per process call */

struct _curvecp_udp_server_t {
    curvecp_hs_server_t *hs;
    curvecp_udp_socket_t *sock;
    curvecp_udp_timers_t timers;
    curvecp_udp_conn_config_t conn_config;
    curvecp_stream_config_t stream_config;
    curvecp_udp_connect_fn *on_connect;
    void *on_connect_arg;
    curvecp_udp_conn_t **buckets;
    size_t bucket_mask;
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
    int count, max;
    curvecp_udp_conn_t *accept_head, *accept_tail;
    curvecp_stats_t stats;
    curvecp_udp_server_info_t info;
    uint64_t roams_of_freed;
    uint8_t scratch[CURVECP_INITIATE_INNER_BASE + CURVECP_INITIATE_MSG_MAX];
};

void
curvecp_udp_server_config_default (curvecp_udp_server_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->max_connections = DEFAULT_MAX_CONNECTIONS;
}

static size_t
bucket_count (int max)
{
    size_t n = 64;
    while (n < (size_t) max)
        n *= 2;
    return n;
}

curvecp_udp_server_t *
curvecp_udp_server_new (const curvecp_udp_server_config_t *config)
{
    if (!config->keys || config->bind.len == 0 || config->max_connections < 0) {
        errno = EINVAL;
        return NULL;
    }
    curvecp_udp_server_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->max = config->max_connections ? config->max_connections : DEFAULT_MAX_CONNECTIONS;
    size_t buckets = bucket_count (self->max);
    self->buckets = calloc (buckets, sizeof *self->buckets);
    self->bucket_mask = buckets - 1;
    self->hs = curvecp_hs_server_new (config->keys, config->ext, curvecp_udp_clock ());
    self->sock = curvecp_udp_socket_new (curvecp_udp_addr_family (&config->bind), &config->bind);
    if (!self->buckets || !self->hs || !self->sock) {
        int saved = errno;
        curvecp_udp_server_destroy (&self);
        errno = saved;
        return NULL;
    }
    if (config->cookie_nonce)
        curvecp_hs_server_set_nonce16 (self->hs, config->cookie_nonce, config->cookie_nonce_context);
    randombytes_buf (self->hash_key, sizeof self->hash_key);
    curvecp_udp_timers_init (&self->timers);
    if (config->stream) {
        self->stream_config = *config->stream;
        self->conn_config.stream = &self->stream_config;
    }
    self->conn_config.on_message = config->on_message;
    self->conn_config.on_message_arg = config->on_message_arg;
    self->conn_config.linger_ns = config->linger_ns;
    self->on_connect = config->on_connect;
    self->on_connect_arg = config->on_connect_arg;
    return self;
}

void
curvecp_udp_server_destroy (curvecp_udp_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_udp_server_t *self = *self_p;
    for (size_t b = 0; self->buckets && b <= self->bucket_mask; b++)
        while (self->buckets[b]) {
            curvecp_udp_conn_t *conn = self->buckets[b];
            self->buckets[b] = conn->hash_next;
            curvecp_udp_conn_free (&conn);
        }
    free (self->buckets);
    curvecp_udp_timers_free (&self->timers);
    curvecp_hs_server_destroy (&self->hs);
    curvecp_udp_socket_destroy (&self->sock);
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

int
curvecp_udp_server_add_name (curvecp_udp_server_t *self, const char *name)
{
    return curvecp_hs_server_add_name (self->hs, name);
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

/* ---- the C' table ----------------------------------------------------- */

static curvecp_udp_conn_t **
bucket_of (curvecp_udp_server_t *self, const uint8_t *client_short_pk)
{
    uint64_t h;
    crypto_shorthash ((uint8_t *) &h, client_short_pk, CURVECP_KEY_BYTES, self->hash_key);
    return &self->buckets[h & self->bucket_mask];
}

static curvecp_udp_conn_t *
lookup (curvecp_udp_server_t *self, const uint8_t *client_short_pk)
{
    for (curvecp_udp_conn_t *c = *bucket_of (self, client_short_pk); c; c = c->hash_next)
        if (memcmp (c->session.client_short_pk, client_short_pk, CURVECP_KEY_BYTES) == 0)
            return c;
    return NULL;
}

static void
forget (curvecp_udp_server_t *self, curvecp_udp_conn_t *conn)
{
    curvecp_udp_conn_t **p = bucket_of (self, conn->session.client_short_pk);
    while (*p && *p != conn)
        p = &(*p)->hash_next;
    if (*p)
        *p = conn->hash_next;
    self->count--;
    self->info.closed++;
    self->roams_of_freed += conn->info.roams;
    curvecp_udp_conn_free (&conn);
}

/* ---- datagrams -------------------------------------------------------- */

static curvecp_reason_t
answer_hello (curvecp_udp_server_t *self, const uint8_t *packet, size_t len,
        const curvecp_udp_addr_t *from, uint64_t now)
{
    uint8_t *slot = curvecp_udp_socket_slot (self->sock);
    if (!slot)
        return CURVECP_E_IO;
    curvecp_reason_t rc = curvecp_hs_server_hello (self->hs, packet, len, now, slot);
    if (rc == CURVECP_OK) {
        curvecp_udp_socket_commit (self->sock, CURVECP_COOKIE_BYTES, from);
        self->info.hellos++;
    }
    return rc;
}

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
    if (self->count >= self->max) {
        curvecp_hs_server_count (self->hs, CURVECP_E_FULL);
        return CURVECP_E_FULL;
    }
    curvecp_session_t session;
    curvecp_initiate_info_t first;
    curvecp_reason_t rc = curvecp_hs_server_initiate (self->hs, packet, len, now, &session,
            self->scratch, &first);
    curvecp_udp_conn_t *conn = NULL;
    if (rc == CURVECP_OK && !(conn = curvecp_udp_conn_new (&self->conn_config, &session, self->sock,
                                                          &self->timers, from, now)))
        rc = CURVECP_E_IO;
    curvecp_session_wipe (&session);
    if (rc != CURVECP_OK)
        return rc;
    conn->name_index = first.name_index;
    conn->info.packets_in = 1;
    curvecp_udp_conn_t **bucket = bucket_of (self, conn->session.client_short_pk);
    conn->hash_next = *bucket;
    *bucket = conn;
    self->count++;
    self->info.connections++;
    announce (self, conn);
    curvecp_udp_conn_deliver (conn, first.message, first.message_len, now);
    sodium_memzero (self->scratch, sizeof self->scratch);
    return CURVECP_OK;
}

static curvecp_reason_t
handle (void *ctx, const uint8_t *packet, size_t len, const curvecp_udp_addr_t *from, uint64_t now)
{
    curvecp_udp_server_t *self = ctx;
    curvecp_packet_type_t type;
    curvecp_reason_t rc = curvecp_packet_classify_at_server (packet, len,
            curvecp_hs_server_ext (self->hs), &type);
    if (rc != CURVECP_OK)
        return rc;
    if (type == CURVECP_PACKET_HELLO)
        return answer_hello (self, packet, len, from, now);
    curvecp_udp_conn_t *conn = lookup (self, curvecp_packet_client_short_key (packet));
    if (conn)
        return curvecp_udp_conn_input (conn, packet, len, from, now);
    if (type == CURVECP_PACKET_INITIATE)
        return new_connection (self, packet, len, from, now);
    return CURVECP_E_UNKNOWN_SESSION;
}

static void
run_due (void *ctx, uint64_t now)
{
    curvecp_udp_server_t *self = ctx;
    curvecp_udp_conn_t *conn;
    while ((conn = curvecp_udp_timers_first (&self->timers)) && conn->deadline <= now) {
        if (curvecp_udp_conn_run (conn, now))
            forget (self, conn);
        else
        if (conn->deadline <= now)        /* more to send: next call, after the others */
            curvecp_udp_timers_set (&self->timers, conn, now + 1);
    }
}

void
curvecp_udp_server_process (curvecp_udp_server_t *self, uint64_t now)
{
    curvecp_udp_socket_turn (self->sock, now, ROUNDS_MAX, handle, run_due, self, &self->stats);
}

uint64_t
curvecp_udp_server_deadline (const curvecp_udp_server_t *self)
{
    return curvecp_udp_timers_deadline (&self->timers);
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
    return self->count;
}

const curvecp_stats_t *
curvecp_udp_server_stats (const curvecp_udp_server_t *self)
{
    return &self->stats;
}

const curvecp_udp_server_info_t *
curvecp_udp_server_info (curvecp_udp_server_t *self)
{
    const curvecp_udp_socket_info_t *s = curvecp_udp_socket_info (self->sock);
    self->info.datagrams_in = s->received;
    self->info.datagrams_out = s->sent;
    self->info.recv_calls = s->recv_calls;
    self->info.send_calls = s->send_calls;
    uint64_t roams = self->roams_of_freed;
    for (size_t b = 0; b <= self->bucket_mask; b++)
        for (curvecp_udp_conn_t *c = self->buckets[b]; c; c = c->hash_next)
            roams += c->info.roams;
    self->info.roams = roams;
    return &self->info;
}
