/*  test_udp_workers - a UDP server on N worker threads (curvecp_udp_workers):
      - N = 2 and 4 serve many concurrent clients (message-mode echo), the
        connections spread over the workers, counters summed;
      - a client that roams (new socket, new port) mid-conversation still
        reaches its worker and keeps its message stream;
      - a replayed Initiate, sent from other addresses after its connection
        ended, is refused as a replay (the kernel steers it by C' to the
        worker whose replay cache holds it) and creates nothing;
      - minute keys: a worker's Cookie opens at another worker, now and
        after rotations (one random pair per minute from the shared
        source, curvecp_udp_minute_keys), and an old one at neither;
        checked through the handshakes directly.                       */
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "curvecp_hs_client.h"
#include "curvecp_hs_server.h"
#include "curvecp_packet.h"
#include "curvecp_udp_client.h"
#include "curvecp_udp_minute_keys.h"
#include "curvecp_udp_socket.h"
#include "curvecp_udp_workers.h"
#include "testutil.h"

#define CLIENTS 24
#define ROUNDS 6
#define LIMIT_NS (20ull * 1000000000ull)

static curvecp_keypair_t keys;
static const uint8_t ext[CURVECP_EXT_BYTES] = { 0 };

/* Worker side (its thread): echo every message; "bye" closes. */
static void
echo (curvecp_udp_conn_t *conn, const uint8_t *message, size_t len, void *arg)
{
    (void) arg;
    if (len >= 3 && memcmp (message, "bye", 3) == 0) {
        curvecp_udp_conn_close (&conn);
        return;
    }
    curvecp_udp_conn_send_message (conn, message, len);
}

static curvecp_udp_workers_t *
workers_start_on (int count, const char *ip, curvecp_udp_addr_t *addr)
{
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.keys = &keys;
    config.on_message = echo;
    config.max_connections = 100;
    CHECK_EQ (curvecp_udp_addr_parse (ip, 0, &config.bind), CURVECP_OK);
    curvecp_udp_workers_t *w = curvecp_udp_workers_new (&config, count);
    CHECK (w);
    CHECK_EQ (curvecp_udp_workers_count (w), count);
    CHECK_EQ (curvecp_udp_workers_add_name (w, "test.example"), 0);
    curvecp_udp_workers_local (w, addr);
    CHECK_EQ (curvecp_udp_workers_start (w), 0);
    return w;
}

static curvecp_udp_workers_t *
workers_start (int count, curvecp_udp_addr_t *addr)
{
    return workers_start_on (count, "127.0.0.1", addr);
}

/* ---- clients (main thread) ---------------------------------------------- */

typedef struct {
    curvecp_udp_client_t *client;
    int sent, echoed;
    int hold;                          /* send no further than this for now */
    bool bad;
} client_t;

static void
on_echo (curvecp_udp_conn_t *conn, const uint8_t *message, size_t len, void *arg)
{
    (void) conn;
    client_t *c = arg;
    uint8_t want[64] = { 0 };
    want[0] = (uint8_t) c->echoed;
    if (len != sizeof want || memcmp (message, want, len) != 0)
        c->bad = true;
    c->echoed++;
}

static void
client_new (client_t *c, const curvecp_udp_addr_t *addr)
{
    curvecp_udp_client_config_t config;
    curvecp_udp_client_config_default (&config);
    memcpy (config.server_pk, keys.public_key, 32);
    config.server_name = "test.example";
    config.ext_path = "/nonexistent/curvecpextension";
    config.addrs[0] = *addr;
    config.addr_count = 1;
    config.on_message = on_echo;
    config.on_message_arg = c;
    memset (c, 0, sizeof *c);
    c->hold = ROUNDS;
    c->client = curvecp_udp_client_new (&config, curvecp_clock_now ());
    CHECK (c->client);
}

/* Send the next message once the last one came back. */
static void
client_turn (client_t *c)
{
    if (c->sent == c->echoed && c->sent < ROUNDS && c->sent < c->hold) {
        uint8_t m[64] = { 0 };
        m[0] = (uint8_t) c->sent;
        if (curvecp_udp_conn_send_message (curvecp_udp_client_conn (c->client), m, sizeof m) == CURVECP_OK)
            c->sent++;
    }
}

static void
step_clients (client_t *clients, int count)
{
    struct pollfd pfd[CLIENTS];
    uint64_t deadline = curvecp_clock_now () + 20000000ull;
    for (int i = 0; i < count; i++) {
        pfd[i] = (struct pollfd) { curvecp_udp_client_fd (clients[i].client), POLLIN, 0 };
        uint64_t d = curvecp_udp_client_deadline (clients[i].client);
        deadline = d < deadline ? d : deadline;
    }
    curvecp_udp_poll (pfd, count, deadline);
    uint64_t now = curvecp_clock_now ();
    for (int i = 0; i < count; i++) {
        curvecp_udp_client_process (clients[i].client, now);
        client_turn (&clients[i]);
        curvecp_udp_client_process (clients[i].client, now);
    }
}

static bool
all_echoed (const client_t *clients, int count)
{
    for (int i = 0; i < count; i++)
        if (clients[i].echoed < ROUNDS)
            return false;
    return true;
}

static void
test_many_clients (int workers, const char *ip)
{
    curvecp_udp_addr_t addr;
    curvecp_udp_workers_t *w = workers_start_on (workers, ip, &addr);
    static client_t clients[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        client_new (&clients[i], &addr);
    uint64_t start = curvecp_clock_now ();
    while (!all_echoed (clients, CLIENTS)) {
        CHECK (curvecp_clock_now () - start < LIMIT_NS);
        step_clients (clients, CLIENTS);
    }
    for (int i = 0; i < CLIENTS; i++) {
        CHECK (!clients[i].bad);
        CHECK_EQ (clients[i].echoed, ROUNDS);
    }
    int counts[CURVECP_UDP_WORKERS_MAX];
    CHECK_EQ (curvecp_udp_workers_connections (w, counts), CLIENTS);
    int busy = 0;
    for (int i = 0; i < workers; i++)
        busy += counts[i] > 0;
    CHECK (busy >= 2);                  /* spread: all on one is 2^-23 (N=2) */
    curvecp_udp_server_info_t info;
    curvecp_udp_workers_info (w, &info);
    CHECK_EQ (info.connections, CLIENTS);
    CHECK (info.hellos >= CLIENTS);
    curvecp_stats_t stats;
    curvecp_udp_workers_stats (w, &stats);
    /* every Initiate and every Client Message handled: counted OK */
    CHECK (stats.counts[CURVECP_OK] >= (uint64_t) (CLIENTS * (1 + ROUNDS)));
    /* the sum is the workers' own counters added up (read after stop) */
    curvecp_udp_workers_stop (w);
    uint64_t sum = 0;
    for (int i = 0; i < workers; i++)
        sum += curvecp_udp_server_stats (curvecp_udp_workers_server (w, i))->counts[CURVECP_OK];
    curvecp_stats_t after;
    curvecp_udp_workers_stats (w, &after);
    CHECK_EQ (after.counts[CURVECP_OK], sum);
    for (int i = 0; i < CLIENTS; i++)
        curvecp_udp_client_destroy (&clients[i].client);
    curvecp_udp_workers_destroy (&w);
    CHECK (!w);
    printf ("%d workers on %s: %d clients, connections per worker:", workers, ip, CLIENTS);
    for (int i = 0; i < workers; i++)
        printf (" %d", counts[i]);
    printf ("\n");
    fflush (stdout);
}

/* Why a roaming client is stuck: both sides' counters. */
static void
say_stuck (curvecp_udp_workers_t *w, client_t *c, bool roamed)
{
    curvecp_udp_server_info_t i;
    curvecp_udp_workers_info (w, &i);
    curvecp_stats_t st;
    curvecp_udp_workers_stats (w, &st);
    fprintf (stderr, "roaming stuck: sent %d echoed %d roamed %d; server in %llu out %llu roams %llu\n", c->sent,
             c->echoed, roamed, (unsigned long long) i.datagrams_in, (unsigned long long) i.datagrams_out,
             (unsigned long long) i.roams);
    const curvecp_stats_t *cs = curvecp_udp_client_stats (c->client);
    for (int r = 0; r < CURVECP_REASON_COUNT; r++)
        if (st.counts[r] || cs->counts[r])
            fprintf (stderr, "  %s: server %llu client %llu\n", curvecp_reason_name ((curvecp_reason_t) r),
                     (unsigned long long) st.counts[r], (unsigned long long) cs->counts[r]);
}

static void
test_roaming (int workers)
{
    curvecp_udp_addr_t addr;
    curvecp_udp_workers_t *w = workers_start (workers, &addr);
    client_t c;
    client_new (&c, &addr);
    uint64_t start = curvecp_clock_now ();
    bool roamed = false;
    c.hold = ROUNDS / 2;
    while (c.echoed < ROUNDS) {
        bool late = curvecp_clock_now () - start >= LIMIT_NS;
        if (late)
            say_stuck (w, &c, roamed);
        CHECK (!late);
        if (!roamed && c.echoed == ROUNDS / 2) {     /* half done: move, then the rest */
            CHECK_EQ (curvecp_udp_client_rebind (c.client), CURVECP_OK);
            roamed = true;
            c.hold = ROUNDS;
        }
        step_clients (&c, 1);
    }
    CHECK (roamed);
    CHECK (!c.bad);
    curvecp_udp_server_info_t info;
    curvecp_udp_workers_info (w, &info);
    CHECK_EQ (info.connections, 1);     /* the same connection, followed */
    CHECK_EQ (info.roams, 1);
    CHECK_EQ (curvecp_udp_workers_connections (w, NULL), 1);
    curvecp_udp_client_destroy (&c.client);
    curvecp_udp_workers_destroy (&w);
}

/* ---- a replayed Initiate, by hand --------------------------------------- */

static size_t
wait_datagram (curvecp_udp_socket_t *sock, uint8_t *out)
{
    struct pollfd p = { curvecp_udp_socket_fd (sock), POLLIN, 0 };
    CHECK (poll (&p, 1, 5000) == 1);
    CHECK (curvecp_udp_socket_receive (sock) >= 1);
    size_t len;
    const curvecp_udp_addr_t *from;
    const uint8_t *d = curvecp_udp_socket_datagram (sock, 0, &len, &from);
    memcpy (out, d, len);
    return len;
}

static void
wait_connections (curvecp_udp_workers_t *w, int want)
{
    uint64_t start = curvecp_clock_now ();
    int n;
    while ((n = curvecp_udp_workers_connections (w, NULL)) != want) {
        bool late = curvecp_clock_now () - start >= LIMIT_NS;
        if (late)
            fprintf (stderr, "connections %d, want %d\n", n, want);
        CHECK (!late);
        usleep (1000);
    }
}

static void
test_replay (int workers)
{
    curvecp_udp_addr_t addr, any;
    curvecp_udp_workers_t *w = workers_start (workers, &addr);
    curvecp_udp_addr_parse ("127.0.0.1", 0, &any);
    curvecp_udp_socket_t *a = curvecp_udp_socket_new (AF_INET, &any);
    CHECK (a);
    curvecp_hs_client_t *hs = curvecp_hs_client_new (keys.public_key, "test.example", ext, ext, NULL, NULL);
    uint8_t hello[CURVECP_HELLO_BYTES];
    int attempt;
    CHECK_EQ (curvecp_hs_client_hello (hs, 0, hello, &attempt), CURVECP_OK);
    CHECK (sendto (curvecp_udp_socket_fd (a), hello, sizeof hello, 0, (struct sockaddr *) &addr.sa, addr.len) > 0);
    uint8_t cookie[CURVECP_UDP_DGRAM];
    size_t cookie_len = wait_datagram (a, cookie);
    curvecp_session_t session;
    CHECK_EQ (curvecp_hs_client_cookie (hs, cookie, cookie_len, &session), CURVECP_OK);
    uint8_t bye[32] = "bye";
    uint8_t initiate[CURVECP_PACKET_MAX];
    size_t len;
    CHECK_EQ (curvecp_session_seal (&session, bye, sizeof bye, initiate, &len), CURVECP_OK);
    CHECK (sendto (curvecp_udp_socket_fd (a), initiate, len, 0, (struct sockaddr *) &addr.sa, addr.len) > 0);
    /* made, then closed by its "bye" and freed */
    uint64_t start = curvecp_clock_now ();
    curvecp_udp_server_info_t info;
    do {
        bool late = curvecp_clock_now () - start >= LIMIT_NS;
        if (late)
            fprintf (stderr, "not closed: connections %llu closed %llu in %llu\n", (unsigned long long) info.connections,
                     (unsigned long long) info.closed, (unsigned long long) info.datagrams_in);
        CHECK (!late);
        usleep (1000);
        curvecp_udp_workers_info (w, &info);
    } while (info.closed < 1);
    CHECK_EQ (info.connections, 1);
    wait_connections (w, 0);
    /* the same Initiate from other addresses (other ports: other 4-tuples,
       which the kernel's own hash would spread over the workers) */
    enum { COPIES = 8 };
    for (int i = 0; i < COPIES; i++) {
        curvecp_udp_socket_t *b = curvecp_udp_socket_new (AF_INET, &any);
        CHECK (sendto (curvecp_udp_socket_fd (b), initiate, len, 0, (struct sockaddr *) &addr.sa, addr.len) > 0);
        curvecp_udp_socket_destroy (&b);
    }
    curvecp_stats_t stats;
    start = curvecp_clock_now ();
    do {
        CHECK (curvecp_clock_now () - start < LIMIT_NS);
        usleep (1000);
        curvecp_udp_workers_stats (w, &stats);
    } while (stats.counts[CURVECP_E_REPLAYED_INITIATE] < COPIES);
    CHECK_EQ (stats.counts[CURVECP_E_REPLAYED_INITIATE], COPIES);
    curvecp_udp_workers_info (w, &info);
    CHECK_EQ (info.connections, 1);
    CHECK_EQ (curvecp_udp_workers_connections (w, NULL), 0);
    curvecp_session_wipe (&session);
    curvecp_hs_client_destroy (&hs);
    curvecp_udp_socket_destroy (&a);
    curvecp_udp_workers_destroy (&w);
}

/* ---- minute keys: one source ---------------------------------------------- */

/* A Cookie from one (made at made), its Initiate given to two at at. */
static curvecp_reason_t
cookie_across (curvecp_hs_server_t *one, curvecp_hs_server_t *two, uint64_t made, uint64_t at)
{
    curvecp_hs_client_t *hs = curvecp_hs_client_new (keys.public_key, "test.example", ext, ext, NULL, NULL);
    uint8_t hello[CURVECP_HELLO_BYTES], cookie[CURVECP_COOKIE_BYTES];
    int attempt;
    CHECK_EQ (curvecp_hs_client_hello (hs, 0, hello, &attempt), CURVECP_OK);
    CHECK_EQ (curvecp_hs_server_hello (one, hello, sizeof hello, made, cookie), CURVECP_OK);
    curvecp_session_t session;
    CHECK_EQ (curvecp_hs_client_cookie (hs, cookie, sizeof cookie, &session), CURVECP_OK);
    uint8_t m[32] = { 0 }, initiate[CURVECP_PACKET_MAX], scratch[CURVECP_INITIATE_INNER_BASE + 640];
    size_t len;
    CHECK_EQ (curvecp_session_seal (&session, m, sizeof m, initiate, &len), CURVECP_OK);
    curvecp_session_t accepted;
    curvecp_initiate_info_t info;
    curvecp_reason_t rc = curvecp_hs_server_initiate (two, initiate, len, at, &accepted, scratch, &info);
    curvecp_session_wipe (&accepted);
    curvecp_session_wipe (&session);
    curvecp_hs_client_destroy (&hs);
    return rc;
}

static void
test_minute_keys (void)
{
    const uint64_t t0 = 1000, minute = CURVECP_MINUTE_NS;
    curvecp_hs_server_t *one = curvecp_hs_server_new (&keys, ext, t0, NULL);
    curvecp_hs_server_t *two = curvecp_hs_server_new (&keys, ext, t0 + 5, NULL);
    curvecp_hs_server_t *alone = curvecp_hs_server_new (&keys, ext, t0, NULL);
    CHECK_EQ (curvecp_hs_server_add_name (one, "test.example"), 0);
    CHECK_EQ (curvecp_hs_server_add_name (two, "test.example"), 0);
    CHECK_EQ (curvecp_hs_server_add_name (alone, "test.example"), 0);
    uint8_t current[32], previous[32];
    curvecp_hs_server_minute_keys (one, current, previous);
    curvecp_udp_minute_keys_t *source = curvecp_udp_minute_keys_new (current, previous);
    curvecp_hs_server_share_minute_keys (two, one, curvecp_udp_minute_keys_get, source);
    CHECK_EQ (curvecp_hs_server_deadline (two), curvecp_hs_server_deadline (one));
    /* a Cookie from one opens at two: now, a minute on, just before two */
    CHECK_EQ (cookie_across (one, two, t0, t0), CURVECP_OK);
    CHECK_EQ (cookie_across (one, two, t0, t0 + minute + 1), CURVECP_OK);
    CHECK_EQ (cookie_across (one, two, t0, 2 * minute + t0 - 1), CURVECP_OK);
    /* ... and never at a server with its own keys */
    CHECK_EQ (cookie_across (one, alone, t0, t0), CURVECP_E_BAD_COOKIE);
    /* one in its third minute (period 2) first; two, a minute behind,
       jumps from period 1 to 3 and still has period 2's key */
    CHECK_EQ (cookie_across (one, two, 2 * minute + t0, 3 * minute + t0 + 1), CURVECP_OK);
    /* the other way round, and two's old minute is gone at both */
    CHECK_EQ (cookie_across (two, one, 3 * minute + t0 + 2, 3 * minute + t0 + 3), CURVECP_OK);
    CHECK_EQ (cookie_across (one, two, 3 * minute + t0 + 4, 5 * minute + t0 + 5), CURVECP_E_BAD_COOKIE);
    /* each minute's keys are new */
    uint8_t later[32], later_previous[32];
    curvecp_hs_server_minute_keys (two, later, later_previous);
    CHECK (memcmp (later, current, 32) != 0 && memcmp (later, later_previous, 32) != 0);
    curvecp_hs_server_destroy (&one);
    curvecp_hs_server_destroy (&two);
    curvecp_hs_server_destroy (&alone);
    curvecp_udp_minute_keys_unref (&source);
    CHECK (!source);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    curvecp_keypair_generate (&keys);
    test_minute_keys ();
    test_many_clients (2, "127.0.0.1");
    test_many_clients (4, "127.0.0.1");
    test_many_clients (2, "::1");      /* steering reads the UDP payload: IPv6 alike */
    test_roaming (2);
    test_roaming (4);
    test_replay (2);
    test_replay (4);
    /* bad arguments */
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.keys = &keys;
    curvecp_udp_addr_parse ("127.0.0.1", 0, &config.bind);
    CHECK (!curvecp_udp_workers_new (&config, 0));
    CHECK (!curvecp_udp_workers_new (&config, CURVECP_UDP_WORKERS_MAX + 1));
    CHECK (!curvecp_udp_server_new_worker (&config, NULL, 0));
    printf ("test_udp_workers: ok\n");
    return 0;
}
