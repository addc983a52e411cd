/*  curvecp_udp_client.c - connect: the core connection's Hellos sent
    over address slots, its Cookie taken from the latest Hello's address
    only, then its packets to and from that address.

    Slots are filled as curvecpclient fills them: the addresses in an
    incremental random shuffle (unless the caller asks for the given
    order), repeated to fill all 8. Mixed IPv4 / IPv6 lists use one
    dual-stack IPv6 socket with IPv4-mapped addresses.                   */
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_udp_client.h"
#include "curvecp_udp_internal.h"

struct _curvecp_udp_client_t {
    curvecp_udp_socket_t *sock;
    curvecp_udp_timers_t timers;
    curvecp_udp_conn_t *conn;
    curvecp_udp_conn_config_t conn_config;
    curvecp_stream_config_t stream_config;
    curvecp_udp_addr_t slots[CURVECP_UDP_CLIENT_SLOTS];
    int family;
    int answered;                    /* slot that sent the Cookie, -1 before */
    int hellos;
    char *ext_path;
    uint8_t client_ext[CURVECP_EXT_BYTES];
    curvecp_stats_t stats;
};

void
curvecp_udp_client_config_default (curvecp_udp_client_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->shuffle = true;
}

/* Returns the socket family; converts IPv4 slots to mapped form if the
   list mixes families. */
static int
fill_slots (curvecp_udp_client_t *self, const curvecp_udp_client_config_t *config)
{
    curvecp_udp_addr_t list[CURVECP_UDP_CLIENT_SLOTS];
    int n = config->addr_count;
    for (int i = 0; i < n; i++) {
        /* inside-out shuffle: the new address takes a random place and
           the one it displaces moves to the end, as curvecpclient does */
        int j = config->shuffle ? (int) randombytes_uniform ((uint32_t) i + 1) : i;
        list[i] = list[j];
        list[j] = config->addrs[i];
    }
    bool v4 = false, v6 = false;
    for (int i = 0; i < n; i++) {
        if (curvecp_udp_addr_family (&list[i]) == AF_INET) v4 = true;
        else v6 = true;
    }
    for (int k = 0; k < CURVECP_UDP_CLIENT_SLOTS; k++) {
        if (v4 && v6)
            curvecp_udp_addr_to_v6 (&list[k % n], &self->slots[k]);
        else
            self->slots[k] = list[k % n];
    }
    return v6 ? AF_INET6 : AF_INET;
}

static void
reload_ext (curvecp_udp_client_t *self)
{
    if (curvecp_udp_ext_load (self->ext_path, self->client_ext) == CURVECP_OK)
        curvecp_conn_set_client_ext (self->conn->conn, self->client_ext);
}

curvecp_udp_client_t *
curvecp_udp_client_new (const curvecp_udp_client_config_t *config, uint64_t now)
{
    if (config->addr_count < 1 || config->addr_count > CURVECP_UDP_CLIENT_SLOTS || !config->server_name) {
        errno = EINVAL;
        return NULL;
    }
    curvecp_udp_client_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->answered = -1;
    self->ext_path = strdup (config->ext_path ? config->ext_path : CURVECP_UDP_EXT_FILE);
    self->family = fill_slots (self, config);
    curvecp_udp_ext_load (self->ext_path, self->client_ext);   /* missing: zeros */
    self->sock = curvecp_udp_socket_new (self->family, NULL);
    curvecp_udp_timers_init (&self->timers);
    if (config->stream) {
        self->stream_config = *config->stream;
        self->conn_config.stream = &self->stream_config;
    }
    self->conn_config.on_message = config->on_message;
    self->conn_config.on_message_arg = config->on_message_arg;
    self->conn_config.keepalive_ns = config->keepalive_ns;
    if (self->sock) {
        self->conn = curvecp_udp_conn_new_client (&self->conn_config, config->long_term, config->server_pk,
                                                  config->server_name, config->server_ext, self->client_ext,
                                                  self->sock, &self->timers, &self->slots[0], now);
        if (!self->conn)
            errno = EINVAL;
    }
    if (!self->ext_path || !self->conn) {
        int saved = errno;
        curvecp_udp_client_destroy (&self);
        errno = saved;
        return NULL;
    }
    if (config->vouch_nonce)
        curvecp_conn_set_nonce16 (self->conn->conn, config->vouch_nonce, config->vouch_nonce_context);
    return self;
}

void
curvecp_udp_client_destroy (curvecp_udp_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_udp_client_t *self = *self_p;
    curvecp_udp_conn_free (&self->conn);
    curvecp_udp_timers_free (&self->timers);
    curvecp_udp_socket_destroy (&self->sock);
    free (self->ext_path);
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

curvecp_udp_conn_t *
curvecp_udp_client_conn (curvecp_udp_client_t *self)
{
    return self->conn;
}

curvecp_udp_client_state_t
curvecp_udp_client_state (const curvecp_udp_client_t *self, uint64_t now)
{
    if (self->answered >= 0)
        return CURVECP_UDP_CONNECTED;
    if (curvecp_conn_handshake_failed (self->conn->conn, now))
        return CURVECP_UDP_NO_RESPONSE;
    return CURVECP_UDP_CONNECTING;
}

int
curvecp_udp_client_fd (const curvecp_udp_client_t *self)
{
    return curvecp_udp_socket_fd (self->sock);
}

uint64_t
curvecp_udp_client_deadline (const curvecp_udp_client_t *self)
{
    if (self->answered < 0)
        return curvecp_conn_deadline (self->conn->conn);
    return curvecp_udp_timers_deadline (&self->timers);
}

bool
curvecp_udp_client_want_write (const curvecp_udp_client_t *self)
{
    return curvecp_udp_socket_pending (self->sock) > 0;
}

/* The connection's Hello, if one is due, to the address of its attempt. */
static void
send_hello (curvecp_udp_client_t *self, uint64_t now)
{
    uint8_t *slot = curvecp_udp_socket_slot (self->sock);
    if (!slot)
        return;
    reload_ext (self);
    size_t len = curvecp_conn_output (self->conn->conn, now, slot, CURVECP_PACKET_MAX);
    int attempt = curvecp_conn_hello_attempt (self->conn->conn);
    if (len != CURVECP_HELLO_BYTES || attempt < 0)
        return;
    self->hellos++;
    curvecp_udp_socket_commit (self->sock, len, &self->slots[attempt]);
}

/* Only the address of the latest Hello may answer it. */
static curvecp_reason_t
take_cookie (curvecp_udp_client_t *self, const uint8_t *packet, size_t len,
        const curvecp_udp_addr_t *from, uint64_t now)
{
    int last = curvecp_conn_hello_attempt (self->conn->conn);
    if (last < 0 || !curvecp_udp_addr_equal (from, &self->slots[last]))
        return CURVECP_E_WRONG_SOURCE;
    curvecp_reason_t rc = curvecp_udp_conn_input (self->conn, packet, len, from, now, NULL);
    if (rc == CURVECP_OK && curvecp_conn_has_session (self->conn->conn)) {
        self->conn->peer = *from;
        self->answered = last;
    }
    return rc;
}

static curvecp_reason_t
handle (void *ctx, const uint8_t *packet, size_t len, const curvecp_udp_addr_t *from, uint64_t now)
{
    curvecp_udp_client_t *self = ctx;
    if (self->answered < 0)
        return take_cookie (self, packet, len, from, now);
    if (!curvecp_udp_addr_equal (from, &self->conn->peer))
        return CURVECP_E_WRONG_SOURCE;
    return curvecp_udp_conn_input (self->conn, packet, len, from, now, NULL);
}

static bool
run_due (void *ctx, uint64_t now)
{
    curvecp_udp_client_t *self = ctx;
    curvecp_udp_conn_t *conn = self->conn;
    if (conn->timer.deadline <= now) {
        curvecp_udp_conn_run (conn, now);
        if (conn->timer.deadline <= now)
            curvecp_udp_timers_set (&self->timers, conn, now + 1);
    }
    return !curvecp_udp_conn_wants_reader (conn);
}

void
curvecp_udp_client_process (curvecp_udp_client_t *self, uint64_t now)
{
    curvecp_udp_socket_flush (self->sock);
    if (self->answered < 0 && curvecp_conn_hello_due (self->conn->conn, now))
        send_hello (self, now);
    curvecp_udp_socket_turn (self->sock, now, 16, handle, run_due, self, &self->stats);
}

curvecp_reason_t
curvecp_udp_client_rebind (curvecp_udp_client_t *self)
{
    curvecp_udp_socket_t *fresh = curvecp_udp_socket_new (self->family, NULL);
    if (!fresh)
        return CURVECP_E_IO;
    curvecp_udp_socket_flush (self->sock);
    curvecp_udp_socket_destroy (&self->sock);
    self->sock = fresh;
    self->conn->sock = fresh;
    curvecp_udp_conn_probe (self->conn, curvecp_clock_now ());
    return CURVECP_OK;
}

int
curvecp_udp_client_slot (const curvecp_udp_client_t *self)
{
    return self->answered;
}

const curvecp_udp_addr_t *
curvecp_udp_client_slot_addr (const curvecp_udp_client_t *self, int slot)
{
    return &self->slots[slot];
}

int
curvecp_udp_client_hellos (const curvecp_udp_client_t *self)
{
    return self->hellos;
}

const uint8_t *
curvecp_udp_client_ext (const curvecp_udp_client_t *self)
{
    return self->client_ext;
}

const curvecp_stats_t *
curvecp_udp_client_stats (const curvecp_udp_client_t *self)
{
    return &self->stats;
}
