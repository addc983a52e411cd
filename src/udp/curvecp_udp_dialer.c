/*  curvecp_udp_dialer.c - many client connections on one UDP socket,
    told apart by the client extension the server's packets carry.

    The connections are curvecp_udp_conn (the carrier's wrapper of the
    core connection): the dialer only sends their Hellos while they have
    no Cookie (they are in the shaking list then, not in the heap, as in
    curvecp_udp_client), routes each datagram by its client extension,
    and runs the deadline heap as the server does.                       */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_packet.h"
#include "curvecp_table.h"
#include "curvecp_udp_dialer.h"
#include "curvecp_udp_internal.h"

#define EXT_OFFSET 8                   /* magic, then the client extension */

struct _curvecp_udp_dialer_t {
    curvecp_udp_socket_t *sock;
    curvecp_udp_timers_t timers;
    curvecp_table_t *by_ext;           /* client extension -> connection */
    curvecp_udp_conn_t **shaking;      /* no Cookie yet: their Hellos are ours to send */
    size_t shaking_count, shaking_cap;
    curvecp_udp_conn_config_t conn_config;
    curvecp_stream_config_t stream_config;
    curvecp_udp_dialer_config_t config;
    curvecp_keypair_t long_term;
    char *server_name;
    curvecp_stats_t stats;
    curvecp_udp_dialer_info_t info;
    bool yield;                        /* a connection wants its application to read */
};

void
curvecp_udp_dialer_config_default (curvecp_udp_dialer_config_t *config)
{
    memset (config, 0, sizeof *config);
}

curvecp_udp_dialer_t *
curvecp_udp_dialer_new (const curvecp_udp_dialer_config_t *config)
{
    if (!config->server_name || !config->server.len) {
        errno = EINVAL;
        return NULL;
    }
    curvecp_udp_dialer_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->server_name = strdup (config->server_name);
    self->config.server_name = self->server_name;
    /* one long-term key for every connection (a fresh one if none is
       given): one key generation per dialer, not per connection */
    if (config->long_term)
        self->long_term = *config->long_term;
    else
        curvecp_keypair_generate (&self->long_term);
    self->config.long_term = NULL;
    if (config->stream) {
        self->stream_config = *config->stream;
        self->conn_config.stream = &self->stream_config;
    }
    self->conn_config.linger_ns = config->linger_ns;
    self->conn_config.keepalive_ns = config->keepalive_ns;
    curvecp_udp_timers_init (&self->timers);
    self->by_ext = curvecp_table_new (CURVECP_EXT_BYTES, NULL);
    self->sock = curvecp_udp_socket_new (curvecp_udp_addr_family (&config->server), NULL);
    if (!self->server_name || !self->by_ext || !self->sock) {
        int saved = errno;
        curvecp_udp_dialer_destroy (&self);
        errno = saved;
        return NULL;
    }
    return self;
}

static void
forget (void *owner, curvecp_udp_conn_t *conn)
{
    curvecp_udp_dialer_t *self = (curvecp_udp_dialer_t *) owner;
    curvecp_table_remove (self->by_ext, curvecp_conn_client_ext (conn->conn));
    for (size_t i = 0; i < self->shaking_count; i++)
        if (self->shaking[i] == conn) {
            self->shaking[i] = self->shaking[--self->shaking_count];
            break;
        }
    curvecp_udp_conn_free (&conn);
    self->info.closed++;
    self->info.live--;
}

void
curvecp_udp_dialer_destroy (curvecp_udp_dialer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_udp_dialer_t *self = *self_p;
    if (self->by_ext) {
        curvecp_udp_conn_t *conn;
        size_t cursor = 0;
        while ((cursor = 0, conn = curvecp_table_next (self->by_ext, &cursor, NULL)))
            forget (self, conn);
    }
    curvecp_table_destroy (&self->by_ext);
    curvecp_udp_timers_free (&self->timers);
    curvecp_udp_socket_destroy (&self->sock);
    free (self->shaking);
    free (self->server_name);
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

static bool
shaking_add (curvecp_udp_dialer_t *self, curvecp_udp_conn_t *conn)
{
    if (self->shaking_count == self->shaking_cap) {
        size_t cap = self->shaking_cap ? 2 * self->shaking_cap : 16;
        curvecp_udp_conn_t **grown = realloc (self->shaking, cap * sizeof *grown);
        if (!grown)
            return false;
        self->shaking = grown;
        self->shaking_cap = cap;
    }
    self->shaking[self->shaking_count++] = conn;
    return true;
}

curvecp_udp_conn_t *
curvecp_udp_dialer_connect (curvecp_udp_dialer_t *self, uint64_t now)
{
    uint8_t ext[CURVECP_EXT_BYTES];
    do
        randombytes_buf (ext, sizeof ext);     /* 128 bits: a repeat is only a retry */
    while (curvecp_table_lookup (self->by_ext, ext));
    curvecp_udp_conn_t *conn = curvecp_udp_conn_new_client (&self->conn_config,
            &self->long_term, self->config.server_pk, self->server_name,
            self->config.server_ext, ext, self->sock, &self->timers, &self->config.server, now);
    if (!conn)
        return NULL;
    if (self->config.vouch_nonce)
        curvecp_conn_set_nonce16 (conn->conn, self->config.vouch_nonce, self->config.vouch_nonce_context);
    if (curvecp_table_insert (self->by_ext, curvecp_conn_client_ext (conn->conn), conn) != CURVECP_OK) {
        curvecp_udp_conn_free (&conn);
        return NULL;
    }
    if (!shaking_add (self, conn)) {
        curvecp_table_remove (self->by_ext, curvecp_conn_client_ext (conn->conn));
        curvecp_udp_conn_free (&conn);
        return NULL;
    }
    self->info.connections++;
    self->info.live++;
    return conn;
}

bool
curvecp_udp_dialer_conn_no_response (const curvecp_udp_conn_t *conn, uint64_t now)
{
    return curvecp_conn_handshake_failed (conn->conn, now);
}

int
curvecp_udp_dialer_fd (const curvecp_udp_dialer_t *self)
{
    return curvecp_udp_socket_fd (self->sock);
}

void
curvecp_udp_dialer_local (const curvecp_udp_dialer_t *self, curvecp_udp_addr_t *addr)
{
    curvecp_udp_socket_local (self->sock, addr);
}

uint64_t
curvecp_udp_dialer_deadline (const curvecp_udp_dialer_t *self)
{
    uint64_t deadline = curvecp_udp_timers_deadline (&self->timers);
    for (size_t i = 0; i < self->shaking_count; i++) {
        uint64_t d = curvecp_conn_deadline (self->shaking[i]->conn);
        if (d < deadline)
            deadline = d;
    }
    return deadline;
}

bool
curvecp_udp_dialer_want_write (const curvecp_udp_dialer_t *self)
{
    return curvecp_udp_socket_pending (self->sock) > 0;
}

/* A connection leaves the shaking list: it has its Cookie (the heap runs
   it from now on) or its handshake failed (the heap frees it once closed). */
static void
stop_shaking (curvecp_udp_dialer_t *self, size_t i)
{
    curvecp_udp_conn_t *conn = self->shaking[i];
    self->shaking[i] = self->shaking[--self->shaking_count];
    curvecp_udp_conn_wake (conn);
}

/* Hellos due, and handshakes that ran out of Hellos failed. */
static void
send_hellos (curvecp_udp_dialer_t *self, uint64_t now)
{
    for (size_t i = 0; i < self->shaking_count; ) {
        curvecp_udp_conn_t *conn = self->shaking[i];
        if (curvecp_conn_handshake_failed (conn->conn, now)) {
            curvecp_conn_tick (conn->conn, now);
            if (curvecp_conn_state (conn->conn) != CURVECP_CONN_FAILED)
                curvecp_conn_fail (conn->conn, CURVECP_CONN_HANDSHAKE_TIMEOUT, "no answer to any Hello");
            stop_shaking (self, i);
            continue;
        }
        if (curvecp_conn_hello_due (conn->conn, now)) {
            uint8_t *slot = curvecp_udp_socket_slot (self->sock);
            if (!slot)
                return;
            size_t len = curvecp_conn_output (conn->conn, now, slot, CURVECP_PACKET_MAX);
            if (len == CURVECP_HELLO_BYTES) {
                curvecp_udp_socket_commit (self->sock, len, &self->config.server);
                self->info.hellos++;
            }
        }
        i++;
    }
}

static curvecp_reason_t
handle (void *ctx, const uint8_t *packet, size_t len, const curvecp_udp_addr_t *from, uint64_t now)
{
    curvecp_udp_dialer_t *self = ctx;
    if (!curvecp_udp_addr_equal (from, &self->config.server))
        return CURVECP_E_WRONG_SOURCE;
    if (len < EXT_OFFSET + CURVECP_EXT_BYTES)
        return CURVECP_E_TOO_SHORT;
    curvecp_udp_conn_t *conn = curvecp_table_lookup (self->by_ext, packet + EXT_OFFSET);
    if (!conn)
        return CURVECP_E_UNKNOWN_SESSION;
    bool had_session = curvecp_conn_has_session (conn->conn);
    /* just filling half its window sets yield: stop after this batch so
       the application reads (as the server does) */
    curvecp_reason_t rc = curvecp_udp_conn_input (conn, packet, len, from, now, &self->yield);
    if (rc == CURVECP_OK && !had_session && curvecp_conn_has_session (conn->conn)) {
        for (size_t i = 0; i < self->shaking_count; i++)
            if (self->shaking[i] == conn) {
                stop_shaking (self, i);
                break;
            }
    }
    return rc;
}

static bool
run_due (void *ctx, uint64_t now)
{
    curvecp_udp_dialer_t *self = ctx;
    curvecp_udp_timers_run (&self->timers, now, forget, self);
    return !self->yield;
}

void
curvecp_udp_dialer_process (curvecp_udp_dialer_t *self, uint64_t now)
{
    self->yield = false;
    curvecp_udp_socket_flush (self->sock);
    send_hellos (self, now);
    curvecp_udp_socket_turn (self->sock, now, 16, handle, run_due, self, &self->stats);
}

void
curvecp_udp_dialer_send_due (curvecp_udp_dialer_t *self, uint64_t now)
{
    if (!curvecp_udp_socket_drained (self->sock)) {
        curvecp_udp_dialer_process (self, now);
        return;
    }
    self->yield = false;
    curvecp_udp_socket_flush (self->sock);
    send_hellos (self, now);
    run_due (self, now);
    curvecp_udp_socket_flush (self->sock);
}

curvecp_reason_t
curvecp_udp_dialer_rebind (curvecp_udp_dialer_t *self, uint64_t now)
{
    curvecp_udp_socket_t *fresh = curvecp_udp_socket_new (curvecp_udp_socket_family (self->sock), NULL);
    if (!fresh)
        return CURVECP_E_IO;
    curvecp_udp_socket_flush (self->sock);
    curvecp_udp_socket_destroy (&self->sock);
    self->sock = fresh;
    curvecp_udp_conn_t *conn;
    size_t cursor = 0;
    while ((conn = curvecp_table_next (self->by_ext, &cursor, NULL))) {
        conn->sock = fresh;
        if (curvecp_conn_has_session (conn->conn))
            curvecp_udp_conn_probe (conn, now);
    }
    self->info.rebinds++;
    return CURVECP_OK;
}

const curvecp_stats_t *
curvecp_udp_dialer_stats (const curvecp_udp_dialer_t *self)
{
    return &self->stats;
}

const curvecp_udp_dialer_info_t *
curvecp_udp_dialer_info (const curvecp_udp_dialer_t *self)
{
    return &self->info;
}
