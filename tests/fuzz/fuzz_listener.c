/*  fuzz_listener - the core listener (src/core/curvecp_listener.c) as a
    server carrier drives it, with three real clients (core connections)
    and a fuzz network: their packets are delivered from their own source
    or another, duplicated, flipped, truncated or replaced by raw bytes;
    Hellos wait in the fair queue and are answered when the input says;
    new Initiates are accepted under limits the input changes; accepted
    connections are confirmed, held, released and removed; the clock
    jumps.

    Invariants:
      - every packet given to input is counted exactly once (when it is
        decided; a queued Hello when it is answered or dropped): the
        counts plus the Hellos waiting equal the packets input;
      - the table holds exactly the connections the harness added and did
        not remove, each found by its C'; a refused Initiate adds nothing;
      - a connection is added only when the admission limits in force
        allow it; the Hello queue never holds more than its capacity.  */
#include <sodium.h>
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_conn.h"
#include "curvecp_listener.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CLIENTS 3
#define QUEUE_MAX 8
#define ENTRIES_MAX 8
#define OPS_MAX 200
#define HELLO_QUEUE 4
#define MS 1000000ull

typedef struct {
    uint8_t data[CURVECP_PACKET_MAX];
    size_t len;
} packet_t;

typedef struct {
    curvecp_conn_t *conn;
    packet_t out[QUEUE_MAX];        /* towards the server */
    int count;
} client_t;

typedef struct {
    curvecp_conn_t *conn;           /* the server's side */
    curvecp_listener_entry_t *entry;
    uint8_t short_key[CURVECP_KEY_BYTES];
    int client;                     /* whose (its token) */
} server_conn_t;

typedef struct {
    curvecp_listener_t *listener;
    client_t clients[CLIENTS];
    server_conn_t conns[ENTRIES_MAX];
    int conn_count;
    uint64_t now, inputs;
} world_t;

static uint64_t
s_counted (const world_t *w)
{
    return fuzz_stats_total (curvecp_listener_stats (w->listener));
}

static void
s_check (const world_t *w)
{
    const curvecp_listener_info_t *info = curvecp_listener_info (w->listener);
    FUZZ_CHECK (s_counted (w) + info->hellos_waiting == w->inputs);
    FUZZ_CHECK (info->hellos_waiting <= HELLO_QUEUE);
    FUZZ_CHECK (curvecp_listener_size (w->listener) == (size_t) w->conn_count);
    for (int i = 0; i < w->conn_count; i++)
        FUZZ_CHECK (curvecp_listener_lookup (w->listener, w->conns[i].short_key) == w->conns[i].entry);
}

/* A new connection from an accepted Initiate, if the limits let it in. */
static void
s_accept (world_t *w, const uint8_t *packet, size_t len, int source)
{
    curvecp_listener_limits_t limits = *curvecp_listener_limits (w->listener);
    curvecp_listener_info_t before = *curvecp_listener_info (w->listener);
    curvecp_listener_accepted_t accepted;
    curvecp_reason_t rc = curvecp_listener_accept (w->listener, packet, len, w->now, &accepted);
    if (rc != CURVECP_OK) {
        FUZZ_CHECK (curvecp_listener_size (w->listener) == before.count);
        return;
    }
    FUZZ_CHECK (before.count < limits.max_connections && before.pending < limits.max_pending);
    FUZZ_CHECK (before.pending_memory + limits.pending_charge <= limits.max_pending_memory);
    if (w->conn_count == ENTRIES_MAX) {
        curvecp_listener_abandon (w->listener, &accepted, CURVECP_E_FULL);
        return;
    }
    curvecp_conn_config_t config;
    curvecp_conn_config_default (&config);
    server_conn_t *sc = &w->conns[w->conn_count];
    sc->conn = curvecp_conn_new_accepted (&config, &accepted.session, w->now);
    FUZZ_CHECK (sc->conn);
    uint8_t first[CURVECP_INITIATE_MSG_MAX];
    size_t first_len = accepted.message_len;
    memcpy (first, accepted.message, first_len);
    memcpy (sc->short_key, accepted.session.client_short_pk, CURVECP_KEY_BYTES);
    uint8_t token = (uint8_t) source;
    sc->entry = curvecp_listener_add (w->listener, &accepted, sc->conn, &token, 1);
    FUZZ_CHECK (sc->entry);
    sc->client = source;
    w->conn_count++;
    curvecp_conn_deliver (sc->conn, first, first_len, w->now);
}

static void
s_forget (world_t *w, int k)
{
    server_conn_t *sc = &w->conns[k];
    curvecp_listener_remove (w->listener, &sc->entry);
    FUZZ_CHECK (sc->entry == NULL);
    curvecp_conn_destroy (&sc->conn);
    w->conns[k] = w->conns[--w->conn_count];
}

/* One packet at the server from source (a client's token, or a stranger). */
static void
s_input (world_t *w, const uint8_t *packet, size_t len, int source)
{
    uint8_t token = (uint8_t) source;
    curvecp_listener_result_t result;
    w->inputs++;
    switch (curvecp_listener_input (w->listener, packet, len, &token, 1, &result)) {
        case CURVECP_LISTENER_CONNECTION: {
            curvecp_conn_t *conn = (curvecp_conn_t *) result.conn;
            curvecp_reason_t rc = curvecp_conn_input (conn, packet, len, w->now);
            if (rc == CURVECP_OK && result.type == CURVECP_PACKET_CLIENT_MESSAGE)
                curvecp_listener_confirm (w->listener, result.entry);
            curvecp_listener_count (w->listener, rc);
            break;
        }
        case CURVECP_LISTENER_NEW_INITIATE:
            s_accept (w, packet, len, source);
            break;
        default:
            break;
    }
}

static void
s_client_output (world_t *w, int i)
{
    client_t *c = &w->clients[i];
    for (int k = 0; k < 8; k++) {
        packet_t *slot = &c->out[c->count < QUEUE_MAX ? c->count : QUEUE_MAX - 1];
        slot->len = curvecp_conn_output (c->conn, w->now, slot->data, sizeof slot->data);
        if (slot->len == 0)
            return;
        if (c->count < QUEUE_MAX)
            c->count++;
    }
}

/* One network event for client i's packets. Its parameters are read
   whatever happens, so an input keeps its meaning as the state varies. */
static void
s_network (world_t *w, fuzz_input_t *in, int i)
{
    client_t *c = &w->clients[i];
    uint8_t op = fuzz_u8 (in) % 5;
    uint8_t pick = fuzz_u8 (in);
    uint16_t position = fuzz_u16 (in);
    uint8_t value = fuzz_u8 (in);
    bool cut = fuzz_bool (in);
    if (op == 4) {                  /* raw bytes from a stranger */
        uint8_t raw[CURVECP_PACKET_MAX];
        size_t len = position % sizeof raw;
        fuzz_bytes (in, raw, len);
        if (len >= 8 && value < 128)
            memcpy (raw, cut ? "QvnQ5XlH" : "QvnQ5XlI", 8);     /* past the magic check */
        s_input (w, raw, len, CLIENTS);
        return;
    }
    if (c->count == 0)
        return;
    int k = pick % c->count;
    packet_t packet = c->out[k];
    if (op != 3) {                  /* 3: a duplicate, the original stays */
        memmove (&c->out[k], &c->out[k + 1], (size_t) (c->count - k - 1) * sizeof (packet_t));
        c->count--;
    }
    if (op == 1) {                  /* one byte flipped or cut short */
        if (cut)
            packet.len = position % (packet.len + 1);
        else
            fuzz_flip (packet.data, packet.len, position, value);
    }
    int source = op == 2 ? (i + 1) % CLIENTS : i;   /* 2: from another client's address */
    s_input (w, packet.data, packet.len, source);
}

/* Cookies for the queued Hellos, each to the client its token names. */
static void
s_cookies (world_t *w, fuzz_input_t *in)
{
    curvecp_listener_begin (w->listener, w->now);
    int answers = 1 + fuzz_u8 (in) % 4;
    uint8_t deliver[4];
    fuzz_bytes (in, deliver, sizeof deliver);
    for (int k = 0; k < answers; k++) {
        uint8_t cookie[CURVECP_COOKIE_BYTES], token[256];
        size_t token_len = 0;
        curvecp_listener_cookie_t done = curvecp_listener_next_cookie (w->listener, w->now + (uint64_t) k * 10000,
                                                                       cookie, token, &token_len, NULL);
        if (done == CURVECP_LISTENER_NO_COOKIE)
            break;
        if (done == CURVECP_LISTENER_COOKIE && token_len == 1 && token[0] < CLIENTS && deliver[k] < 224)
            curvecp_conn_input (w->clients[token[0]].conn, cookie, sizeof cookie, w->now);
    }
}

/* The server's connections answer their clients (nothing lost here). */
static void
s_server_output (world_t *w)
{
    for (int k = 0; k < w->conn_count; k++) {
        uint8_t packet[CURVECP_PACKET_MAX];
        size_t len;
        for (int n = 0; n < 8 && (len = curvecp_conn_output (w->conns[k].conn, w->now, packet, sizeof packet)) > 0; n++)
            curvecp_conn_input (w->clients[w->conns[k].client].conn, packet, len, w->now);
    }
}

static void
s_admin (world_t *w, fuzz_input_t *in)
{
    uint8_t op = fuzz_u8 (in) % 4;
    if (op == 0) {
        curvecp_listener_limits_t limits = {
            1 + fuzz_u8 (in) % 6, 1 + fuzz_u8 (in) % 4, (size_t) (1 + fuzz_u8 (in) % 4) * 1000,
            1000, 1 + fuzz_u8 (in) % 3 };
        curvecp_listener_set_limits (w->listener, &limits);
        return;
    }
    if (w->conn_count == 0)
        return;
    int k = fuzz_u8 (in) % w->conn_count;
    if (op == 1)
        s_forget (w, k);
    else
    if (op == 2)
        curvecp_listener_hold (w->listener, w->conns[k].entry);
    else
        curvecp_listener_release (w->listener, w->conns[k].entry);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_input_t in;
    const fuzz_world_t *fw = fuzz_start (&in, data, size);
    world_t w;
    memset (&w, 0, sizeof w);
    w.now = 1000000 * MS;
    curvecp_keypair_t server_keys;
    memcpy (server_keys.public_key, fw->server_long_pk, 32);
    memcpy (server_keys.secret_key, fw->server_long_sk, 32);
    curvecp_listener_config_t config;
    curvecp_listener_config_default (&config);
    config.keys = &server_keys;
    memcpy (config.ext, fw->server_ext, CURVECP_EXT_BYTES);
    config.hello_queue = HELLO_QUEUE;
    config.hello_rate = fuzz_bool (&in) ? 100 : 0;
    config.initiates_per_call = 1 + fuzz_u8 (&in) % 4;
    config.now = w.now;
    config.limits.pending_charge = 1000;
    w.listener = curvecp_listener_new (&config);
    FUZZ_CHECK (w.listener);
    FUZZ_CHECK (curvecp_listener_add_name (w.listener, "test.example.com") == 0);
    for (int i = 0; i < CLIENTS; i++) {
        curvecp_conn_config_t cc;
        curvecp_conn_config_default (&cc);
        w.clients[i].conn = curvecp_conn_new_client (&cc, NULL, fw->server_long_pk, "test.example.com",
                                                     fw->server_ext, fw->client_ext, w.now);
        FUZZ_CHECK (w.clients[i].conn);
        curvecp_conn_write (w.clients[i].conn, (const uint8_t *) "hello server", 12);
    }
    for (int op = 0; op < OPS_MAX && fuzz_remaining (&in) > 0; op++) {
        uint8_t what = fuzz_u8 (&in) % 6;
        int i = fuzz_u8 (&in) % CLIENTS;
        switch (what) {
            case 0: w.now += (uint64_t) fuzz_u16 (&in) * MS; break;
            case 1: s_client_output (&w, i); break;
            case 2: s_network (&w, &in, i); break;
            case 3: s_cookies (&w, &in); break;
            case 4: s_server_output (&w); break;
            default: s_admin (&w, &in); break;
        }
        if (what != 1 && what != 4)
            curvecp_listener_begin (w.listener, w.now);      /* a new carrier call */
        s_check (&w);
    }
    while (w.conn_count > 0)
        s_forget (&w, 0);
    s_check (&w);
    for (int i = 0; i < CLIENTS; i++)
        curvecp_conn_destroy (&w.clients[i].conn);
    curvecp_listener_destroy (&w.listener);
    sodium_memzero (&server_keys, sizeof server_keys);
    return 0;
}
