/*  test_udp_conn.c - the UDP carrier in one process on loopback: stream
    mode both ways byte-exact (IPv4 and IPv6), 0-byte streams, message
    mode, bad datagrams counted by reason, the connection limit (Hellos
    still answered, Initiates refused), and roaming to a new socket
    mid-transfer.                                                        */
#include <poll.h>
#include <sodium.h>
#include <unistd.h>
#include "curvecp_udp_client.h"
#include "curvecp_udp_server.h"
#include "curvecp_udp_socket.h"
#include "testutil.h"

#define WAIT_LIMIT_NS (20ull * 1000000000ull)

typedef struct {
    curvecp_keypair_t keys;
    curvecp_udp_server_t *server;
    curvecp_udp_addr_t addr;
} fixture_t;

static void
fixture_start (fixture_t *f, const char *ip, int max, curvecp_udp_message_fn *on_message, void *arg)
{
    curvecp_keypair_generate (&f->keys);
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.keys = &f->keys;
    config.max_connections = max;
    config.on_message = on_message;
    config.on_message_arg = arg;
    CHECK_EQ (curvecp_udp_addr_parse (ip, 0, &config.bind), CURVECP_OK);
    f->server = curvecp_udp_server_new (&config);
    CHECK (f->server);
    CHECK_EQ (curvecp_udp_server_add_name (f->server, "test.example"), 0);
    curvecp_udp_server_local (f->server, &f->addr);
}

static curvecp_udp_client_t *
client_start (fixture_t *f, curvecp_udp_message_fn *on_message, void *arg)
{
    curvecp_udp_client_config_t config;
    curvecp_udp_client_config_default (&config);
    memcpy (config.server_pk, f->keys.public_key, 32);
    config.server_name = "test.example";
    config.ext_path = "/nonexistent/curvecpextension";
    config.addrs [0] = f->addr;
    config.addr_count = 1;
    config.on_message = on_message;
    config.on_message_arg = arg;
    curvecp_udp_client_t *client = curvecp_udp_client_new (&config, curvecp_udp_clock ());
    CHECK (client);
    return client;
}

static uint64_t
earliest (uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* One poll over both endpoints, then process both. */
static void
step (fixture_t *f, curvecp_udp_client_t *client)
{
    uint64_t now = curvecp_udp_clock ();
    uint64_t deadline = earliest (curvecp_udp_server_deadline (f->server),
                                  client ? curvecp_udp_client_deadline (client) : UINT64_MAX);
    int timeout = deadline <= now ? 0 : (deadline - now > 50000000ull ? 50 : (int) ((deadline - now) / 1000000));
    struct pollfd pfd [2] = {
        { curvecp_udp_server_fd (f->server), POLLIN, 0 },
        { client ? curvecp_udp_client_fd (client) : -1, POLLIN, 0 } };
    poll (pfd, 2, timeout);
    now = curvecp_udp_clock ();
    curvecp_udp_server_process (f->server, now);
    if (client)
        curvecp_udp_client_process (client, now);
}

static void
fill (uint8_t *buf, size_t len, uint64_t offset, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf [i] = (uint8_t) ((offset + i) * 131 + seed + ((offset + i) >> 10));
}

typedef struct {
    uint64_t sent, received, total;
    uint8_t seed;
    bool shut;
} pump_t;

/* Move bytes of a known pattern in and check what comes out. */
static void
pump (curvecp_udp_conn_t *conn, pump_t *out, pump_t *in)
{
    uint8_t buf [16384], want [16384];
    while (out->sent < out->total) {
        size_t n = out->total - out->sent < sizeof buf ? (size_t) (out->total - out->sent) : sizeof buf;
        fill (buf, n, out->sent, out->seed);
        size_t took = curvecp_udp_conn_send (conn, buf, n);
        out->sent += took;
        if (took < n)
            break;
    }
    if (out->sent == out->total && !out->shut) {
        CHECK_EQ (curvecp_udp_conn_shutdown (conn, CURVECP_EOF_SUCCESS), CURVECP_OK);
        out->shut = true;
    }
    size_t n;
    while ((n = curvecp_udp_conn_recv (conn, buf, sizeof buf)) > 0) {
        fill (want, n, in->received, in->seed);
        CHECK_MEM (buf, want, n);
        in->received += n;
    }
}

static void
transfer (const char *ip, uint64_t up, uint64_t down, bool roam)
{
    fixture_t f;
    fixture_start (&f, ip, 0, NULL, NULL);
    curvecp_udp_client_t *client = client_start (&f, NULL, NULL);
    curvecp_udp_conn_t *cc = curvecp_udp_client_conn (client);
    curvecp_udp_conn_t *sc = NULL;
    pump_t c2s = { 0, 0, up, 7, false }, s2c = { 0, 0, down, 99, false };
    bool roamed = false;
    uint64_t start = curvecp_udp_clock ();
    while (!(curvecp_udp_conn_done (cc) && sc && curvecp_udp_conn_done (sc))) {
        CHECK (curvecp_udp_clock () - start < WAIT_LIMIT_NS);
        step (&f, client);
        if (!sc)
            sc = curvecp_udp_server_accept (f.server);
        pump (cc, &c2s, &s2c);
        if (sc)
            pump (sc, &s2c, &c2s);
        if (roam && !roamed && c2s.received > up / 3 && s2c.received > down / 3) {
            CHECK_EQ (curvecp_udp_client_rebind (client), CURVECP_OK);
            roamed = true;
        }
        CHECK (!curvecp_udp_conn_failed (cc));
    }
    CHECK_EQ (c2s.received, up);
    CHECK_EQ (s2c.received, down);
    CHECK_EQ (curvecp_udp_conn_received_eof (cc), CURVECP_EOF_SUCCESS);
    CHECK_EQ (curvecp_udp_conn_received_eof (sc), CURVECP_EOF_SUCCESS);
    CHECK_EQ (curvecp_udp_client_slot (client), 0);
    CHECK_MEM (curvecp_udp_conn_client_key (sc), curvecp_udp_conn_client_key (cc), 32);
    if (roam) {
        CHECK (roamed);
        CHECK_EQ (curvecp_udp_conn_info (sc)->roams, 1);
    }
    else
        CHECK_EQ (curvecp_udp_conn_info (sc)->roams, 0);
    curvecp_udp_conn_close (&sc);
    CHECK (sc == NULL);
    curvecp_udp_client_destroy (&client);
    curvecp_udp_server_destroy (&f.server);
    printf ("transfer %s up=%llu down=%llu roam=%d: %.3f s\n", ip, (unsigned long long) up,
            (unsigned long long) down, roam, (double) (curvecp_udp_clock () - start) / 1e9);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    transfer ("127.0.0.1", 1000000, 1000000, false);
    transfer ("::1", 300000, 200000, false);
    transfer ("127.0.0.1", 0, 0, false);
    transfer ("127.0.0.1", 1, 0, false);
    transfer ("127.0.0.1", 2000000, 2000000, true);
    printf ("test_udp_conn: OK\n");
    return 0;
}
