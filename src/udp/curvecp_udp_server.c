/*  curvecp_udp_server.c - many connections on one UDP socket.

    Per datagram: classify (size, magic, our extension) without crypto;
    an Initiate or Message finds its connection by C' in a hash table
    keyed with SipHash under a random key (so clients cannot aim C' values
    at one chain); an Initiate for an unknown C' may create a connection,
    if there is room. Every datagram's fate is counted once, by reason.

    Order of work, so a Hello flood cannot starve connections: each
    batch's packets for known connections first, then its Initiates for
    new ones (bounded per call), while Hellos go to a fair queue; only
    when the socket is empty are Hellos answered (into the next send slot,
    nothing allocated), a few at a time with the socket read again in
    between, until the queue is empty or the call's budget is spent.    */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_hs_server.h"
#include "curvecp_packet.h"
#include "curvecp_udp_hellos.h"
#include "curvecp_udp_internal.h"
#include "curvecp_udp_server.h"

#define DEFAULT_MAX_CONNECTIONS 100
#define DEFAULT_HELLO_QUEUE     1024
#define DEFAULT_HELLO_BUDGET_NS 1000000ull
/* Batches per read of the socket: the kernel's 4 MiB queue holds a few
   thousand datagrams, so this empties it unless the sender is faster
   than reading, and then it still bounds the call. */
#define DRAIN_ROUNDS_MAX        64
/* Hellos between two reads of the socket: ~0.3 ms of X25519 at most. */
#define HELLOS_PER_READ         4
/* Initiates for new connections per process call: each costs as much as
   a Hello, and one cookie can be sent with any number of forged boxes. */
#define INITIATES_PER_CALL      128

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
    curvecp_udp_hellos_t *hellos;
    uint64_t hello_budget_ns;
    uint32_t hello_rate;
    double hello_tokens;                /* token bucket when hello_rate is set */
    uint64_t hello_tokens_at;
    int initiates_left;                 /* in this process call */
    uint8_t hello[CURVECP_HELLO_BYTES];  /* the one being answered */
    curvecp_udp_addr_t hello_from;
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
    self->hs = curvecp_hs_server_new (config->keys, config->ext, curvecp_clock_now (), NULL);
    self->sock = curvecp_udp_socket_new (curvecp_udp_addr_family (&config->bind), &config->bind);
    self->hellos = curvecp_udp_hellos_new (config->hello_queue ? config->hello_queue : DEFAULT_HELLO_QUEUE);
    if (!self->buckets || !self->hs || !self->sock || !self->hellos) {
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
    self->hello_budget_ns = config->hello_budget_ns ? config->hello_budget_ns : DEFAULT_HELLO_BUDGET_NS;
    self->hello_rate = config->hello_rate;
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
    curvecp_udp_hellos_destroy (&self->hellos);
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
        if (memcmp (curvecp_conn_client_short_key (c->conn), client_short_pk, CURVECP_KEY_BYTES) == 0)
            return c;
    return NULL;
}

static void
forget (curvecp_udp_server_t *self, curvecp_udp_conn_t *conn)
{
    curvecp_udp_conn_t **p = bucket_of (self, curvecp_conn_client_short_key (conn->conn));
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
    if (rc == CURVECP_OK && !(conn = curvecp_udp_conn_new_accepted (&self->conn_config, &session, self->sock,
                                                                   &self->timers, from, now)))
        rc = CURVECP_E_IO;
    curvecp_session_wipe (&session);
    if (rc != CURVECP_OK)
        return rc;
    curvecp_conn_set_name_index (conn->conn, first.name_index);
    curvecp_udp_conn_t **bucket = bucket_of (self, curvecp_conn_client_short_key (conn->conn));
    conn->hash_next = *bucket;
    *bucket = conn;
    self->count++;
    self->info.connections++;
    announce (self, conn);
    curvecp_udp_conn_deliver (conn, first.message, first.message_len, now);
    sodium_memzero (self->scratch, sizeof self->scratch);
    return CURVECP_OK;
}

static void
run_due (curvecp_udp_server_t *self, uint64_t now)
{
    curvecp_udp_conn_t *conn;
    while ((conn = curvecp_udp_timers_first (&self->timers)) && conn->timer.deadline <= now) {
        if (curvecp_udp_conn_run (conn, now))
            forget (self, conn);
        else
        if (conn->timer.deadline <= now)  /* more to send: next call, after the others */
            curvecp_udp_timers_set (&self->timers, conn, now + 1);
    }
}

static void
count (curvecp_udp_server_t *self, curvecp_reason_t reason)
{
    curvecp_stats_count (&self->stats, reason);
}

static void
queue_hello (curvecp_udp_server_t *self, const uint8_t *packet, const curvecp_udp_addr_t *from)
{
    if (curvecp_udp_hellos_push (self->hellos, packet, from)) {
        self->info.hellos_dropped++;
        count (self, CURVECP_E_OVERLOADED);
    }
}

/* An Initiate for no known connection, after the batch's other packets:
   an earlier one in the batch may have made its connection. */
static curvecp_reason_t
handle_initiate (curvecp_udp_server_t *self, const uint8_t *packet, size_t len,
        const curvecp_udp_addr_t *from, uint64_t now)
{
    curvecp_udp_conn_t *conn = lookup (self, curvecp_packet_client_short_key (packet));
    if (conn)
        return curvecp_udp_conn_input (conn, packet, len, from, now);
    if (self->initiates_left == 0)
        return CURVECP_E_OVERLOADED;
    self->initiates_left--;
    return new_connection (self, packet, len, from, now);
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
        curvecp_packet_type_t type;
        curvecp_reason_t rc = curvecp_packet_classify_at_server (packet, len,
                curvecp_hs_server_ext (self->hs), &type);
        if (rc == CURVECP_OK && type == CURVECP_PACKET_HELLO) {
            queue_hello (self, packet, from);
            continue;
        }
        curvecp_udp_conn_t *conn = rc == CURVECP_OK
                                 ? lookup (self, curvecp_packet_client_short_key (packet)) : NULL;
        if (conn)
            rc = curvecp_udp_conn_input (conn, packet, len, from, now);
        else
        if (rc == CURVECP_OK && type == CURVECP_PACKET_INITIATE) {
            initiates[pending++] = i;
            continue;
        }
        else
        if (rc == CURVECP_OK)
            rc = CURVECP_E_UNKNOWN_SESSION;
        count (self, rc);
    }
    for (int k = 0; k < pending; k++) {
        size_t len;
        const curvecp_udp_addr_t *from;
        const uint8_t *packet = curvecp_udp_socket_datagram (self->sock, initiates[k], &len, &from);
        count (self, handle_initiate (self, packet, len, from, now));
    }
}

/* Read and handle everything waiting (bounded), timers after each batch. */
static void
drain (curvecp_udp_server_t *self, uint64_t now)
{
    for (int round = 0; round < DRAIN_ROUNDS_MAX; round++) {
        int n = curvecp_udp_socket_receive (self->sock);
        handle_batch (self, n, now);
        run_due (self, now);
        curvecp_udp_socket_flush (self->sock);
        if (n < CURVECP_UDP_BATCH)
            break;
    }
}

/* Token bucket: up to a twentieth of a second's Hellos saved up. */
static void
refill_tokens (curvecp_udp_server_t *self, uint64_t now)
{
    if (now <= self->hello_tokens_at)
        return;
    double burst = self->hello_rate / 20.0 > 1 ? self->hello_rate / 20.0 : 1;
    self->hello_tokens += (double) (now - self->hello_tokens_at) * self->hello_rate / 1e9;
    if (self->hello_tokens > burst || self->hello_tokens_at == 0)
        self->hello_tokens = burst;
    self->hello_tokens_at = now;
}

static bool
hello_allowed (curvecp_udp_server_t *self, uint64_t now)
{
    if (self->hello_rate == 0)
        return true;
    refill_tokens (self, now);
    return self->hello_tokens >= 1;
}

/* Queued Hellos until the queue is empty or the budget is spent (at least
   one per call), reading the socket again every few. The caller's now
   moves on with the time spent here. */
static void
answer_hellos (curvecp_udp_server_t *self, uint64_t now, uint64_t started)
{
    uint64_t elapsed = 0;
    int answered = 0;
    while (hello_allowed (self, now + elapsed)
       &&  curvecp_udp_hellos_take (self->hellos, self->hello, &self->hello_from)) {
        count (self, answer_hello (self, self->hello, CURVECP_HELLO_BYTES, &self->hello_from, now + elapsed));
        if (self->hello_rate)
            self->hello_tokens -= 1;
        elapsed = curvecp_clock_now () - started;
        if (elapsed >= self->hello_budget_ns)
            break;
        if (++answered % HELLOS_PER_READ == 0) {
            curvecp_udp_socket_flush (self->sock);
            drain (self, now + elapsed);
        }
    }
}

void
curvecp_udp_server_process (curvecp_udp_server_t *self, uint64_t now)
{
    uint64_t started = curvecp_clock_now ();
    self->initiates_left = INITIATES_PER_CALL;
    curvecp_udp_socket_flush (self->sock);
    drain (self, now);
    if (curvecp_udp_hellos_count (self->hellos) > 0) {
        answer_hellos (self, now, started);
        now += curvecp_clock_now () - started;
        run_due (self, now);
    }
    curvecp_udp_socket_flush (self->sock);
}

/* Waiting Hellos: at once, or when the token bucket has the next one. */
static uint64_t
hello_deadline (const curvecp_udp_server_t *self)
{
    if (curvecp_udp_hellos_count (self->hellos) == 0)
        return UINT64_MAX;
    if (self->hello_rate == 0 || self->hello_tokens >= 1)
        return 0;
    return self->hello_tokens_at + (uint64_t) ((1 - self->hello_tokens) * 1e9 / self->hello_rate) + 1;
}

uint64_t
curvecp_udp_server_deadline (const curvecp_udp_server_t *self)
{
    uint64_t timers = curvecp_udp_timers_deadline (&self->timers);
    uint64_t hellos = hello_deadline (self);
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
    self->info.hellos_waiting = curvecp_udp_hellos_count (self->hellos);
    uint64_t roams = self->roams_of_freed;
    for (size_t b = 0; b <= self->bucket_mask; b++)
        for (curvecp_udp_conn_t *c = self->buckets[b]; c; c = c->hash_next)
            roams += c->info.roams;
    self->info.roams = roams;
    return &self->info;
}
