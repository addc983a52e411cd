/*  test_udp_dialer.c - many client connections on one UDP socket
    (curvecp_udp_dialer), against the library's server in one process:
      - 20 connections at once, each with its own pattern both ways,
        every byte where it belongs (the server's packets are routed by
        the client extension; each connection has its own);
      - one socket: every server connection sees the same client address;
      - a rebind in mid-transfer: every connection carries on from the
        new port and the server follows each;
      - datagrams from another address, too short, or for an unknown
        extension are dropped and counted, and change nothing;
      - closed connections are freed once finished;
      - a server connection that failed (its client silent) is freed and
        forgotten: the client speaking again afterwards finds no
        connection (the server once looked the entry up by the failed
        session's wiped C' and kept a dangling pointer);
      - send_due on both ends: what a connection was given leaves
        without a recvmmsg once the last read drained the socket.       */
#include "curvecp_udp_dialer.h"
#include "test_udp_util.h"
#include "udp/curvecp_udp_internal.h"

#define CONNS 20
#define BYTES 300000

typedef struct {
    curvecp_udp_conn_t *client, *server;
    pump_t c_out, c_in, s_out, s_in;
} pair_t;

static void
dialer_step (fixture_t *f, curvecp_udp_dialer_t *dialer)
{
    struct pollfd pfd [2] = {
        { curvecp_udp_server_fd (f->server), POLLIN, 0 },
        { curvecp_udp_dialer_fd (dialer), POLLIN, 0 },
    };
    uint64_t deadline = earliest (curvecp_udp_server_deadline (f->server), curvecp_udp_dialer_deadline (dialer));
    curvecp_udp_poll (pfd, 2, earliest (deadline, curvecp_clock_now () + 50000000ull));
    uint64_t now = curvecp_clock_now ();
    curvecp_udp_server_process (f->server, now);
    curvecp_udp_dialer_process (dialer, now);
}

/* Match each new server connection to its client by the extension. */
static void
accept_all (fixture_t *f, pair_t *pairs)
{
    curvecp_udp_conn_t *conn;
    while ((conn = curvecp_udp_server_accept (f->server))) {
        bool found = false;
        for (int i = 0; i < CONNS; i++)
            if (memcmp (curvecp_udp_conn_client_ext (conn), curvecp_udp_conn_client_ext (pairs [i].client),
                        CURVECP_EXT_BYTES) == 0) {
                CHECK (!pairs [i].server);
                pairs [i].server = conn;
                found = true;
            }
        CHECK (found);
    }
}

static bool
all_done (pair_t *pairs)
{
    for (int i = 0; i < CONNS; i++)
        if (!pairs [i].server || pairs [i].c_in.received < BYTES || pairs [i].s_in.received < BYTES
        ||  curvecp_udp_conn_received_eof (pairs [i].client) != CURVECP_EOF_SUCCESS
        ||  curvecp_udp_conn_received_eof (pairs [i].server) != CURVECP_EOF_SUCCESS)
            return false;
    return true;
}

static void
send_junk (curvecp_udp_dialer_t *dialer)
{
    /* from another address: refused before anything is looked at */
    curvecp_udp_addr_t any, local;
    CHECK_EQ (curvecp_udp_addr_parse ("127.0.0.1", 0, &any), CURVECP_OK);
    curvecp_udp_socket_t *other = curvecp_udp_socket_new (AF_INET, &any);
    CHECK (other);
    curvecp_udp_dialer_local (dialer, &local);
    uint8_t *slot = curvecp_udp_socket_slot (other);
    randombytes_buf (slot, 200);
    curvecp_udp_socket_commit (other, 200, &local);
    curvecp_udp_socket_flush (other);
    curvecp_udp_socket_destroy (&other);
}

static void
test_many_one_socket (void)
{
    fixture_t f;
    memset (&f, 0, sizeof f);
    fixture_start (&f, "127.0.0.1", 100, NULL, NULL);
    curvecp_udp_dialer_config_t config;
    curvecp_udp_dialer_config_default (&config);
    memcpy (config.server_pk, f.keys.public_key, CURVECP_KEY_BYTES);
    memcpy (config.server_ext, f.ext, CURVECP_EXT_BYTES);
    config.server_name = "test.example";
    config.server = f.addr;
    curvecp_udp_dialer_t *dialer = curvecp_udp_dialer_new (&config);
    CHECK (dialer);

    pair_t pairs [CONNS];
    memset (pairs, 0, sizeof pairs);
    for (int i = 0; i < CONNS; i++) {
        pairs [i].client = curvecp_udp_dialer_connect (dialer, curvecp_clock_now ());
        CHECK (pairs [i].client);
        pairs [i].c_out = (pump_t) { .total = BYTES, .seed = (uint8_t) (2 * i) };
        pairs [i].s_in = (pump_t) { .seed = (uint8_t) (2 * i) };
        pairs [i].s_out = (pump_t) { .total = BYTES, .seed = (uint8_t) (2 * i + 1) };
        pairs [i].c_in = (pump_t) { .seed = (uint8_t) (2 * i + 1) };
    }
    for (int i = 1; i < CONNS; i++)
        CHECK (memcmp (curvecp_udp_conn_client_ext (pairs [i].client), curvecp_udp_conn_client_ext (pairs [0].client),
                       CURVECP_EXT_BYTES) != 0);
    CHECK_EQ (curvecp_udp_dialer_info (dialer)->live, CONNS);

    uint64_t start = curvecp_clock_now ();
    bool rebound = false, junked = false;
    while (!all_done (pairs)) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        dialer_step (&f, dialer);
        accept_all (&f, pairs);
        uint64_t moved = 0;
        for (int i = 0; i < CONNS; i++) {
            pump (pairs [i].client, &pairs [i].c_out, &pairs [i].c_in);
            if (pairs [i].server)
                pump (pairs [i].server, &pairs [i].s_out, &pairs [i].s_in);
            moved += pairs [i].s_in.received;
        }
        if (!junked && moved > 0) {
            send_junk (dialer);
            junked = true;
        }
        if (!rebound && moved > CONNS * (uint64_t) BYTES / 3) {
            CHECK_EQ (curvecp_udp_dialer_rebind (dialer, curvecp_clock_now ()), CURVECP_OK);
            rebound = true;
        }
    }
    CHECK (rebound);
    /* one socket: every server connection sees the same (new) client port
       (the socket is bound to any address; its packets come from 127.0.0.1) */
    curvecp_udp_addr_t local;
    curvecp_udp_dialer_local (dialer, &local);
    for (int i = 0; i < CONNS; i++)
        CHECK_EQ (curvecp_udp_addr_port (curvecp_udp_conn_peer (pairs [i].server)), curvecp_udp_addr_port (&local));
    CHECK_EQ (curvecp_udp_addr_parse ("127.0.0.1", curvecp_udp_addr_port (&local), &local), CURVECP_OK);
    CHECK (curvecp_udp_server_info (f.server)->roams >= CONNS);
    const curvecp_stats_t *stats = curvecp_udp_dialer_stats (dialer);
    CHECK (stats->counts [CURVECP_E_WRONG_SOURCE] >= 1);
    CHECK_EQ (curvecp_udp_dialer_info (dialer)->rebinds, 1);

    for (int i = 0; i < CONNS; i++) {
        curvecp_udp_conn_close (&pairs [i].client);
        curvecp_udp_conn_close (&pairs [i].server);
    }
    start = curvecp_clock_now ();
    while (curvecp_udp_dialer_info (dialer)->live > 0 || curvecp_udp_server_connections (f.server) > 0) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        dialer_step (&f, dialer);
    }
    CHECK_EQ (curvecp_udp_dialer_info (dialer)->closed, CONNS);

    /* an unknown extension and a runt from the server's own address (the
       server gone, a socket bound where it was) */
    curvecp_udp_server_destroy (&f.server);
    curvecp_udp_socket_t *fake = curvecp_udp_socket_new (AF_INET, &f.addr);   /* the server's address */
    CHECK (fake);
    uint64_t unknown_before = stats->counts [CURVECP_E_UNKNOWN_SESSION];
    uint64_t short_before = stats->counts [CURVECP_E_TOO_SHORT];
    uint8_t *slot = curvecp_udp_socket_slot (fake);
    randombytes_buf (slot, 300);
    curvecp_udp_socket_commit (fake, 300, &local);
    slot = curvecp_udp_socket_slot (fake);
    randombytes_buf (slot, 10);
    curvecp_udp_socket_commit (fake, 10, &local);
    curvecp_udp_socket_flush (fake);
    start = curvecp_clock_now ();
    while (stats->counts [CURVECP_E_UNKNOWN_SESSION] == unknown_before
       ||  stats->counts [CURVECP_E_TOO_SHORT] == short_before) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        struct pollfd pfd = { curvecp_udp_dialer_fd (dialer), POLLIN, 0 };
        curvecp_udp_poll (&pfd, 1, curvecp_clock_now () + 50000000ull);
        curvecp_udp_dialer_process (dialer, curvecp_clock_now ());
    }
    CHECK_EQ (stats->counts [CURVECP_E_UNKNOWN_SESSION], unknown_before + 1);
    CHECK_EQ (stats->counts [CURVECP_E_TOO_SHORT], short_before + 1);
    CHECK_EQ (curvecp_udp_dialer_info (dialer)->live, 0);
    curvecp_udp_socket_destroy (&fake);
    curvecp_udp_dialer_destroy (&dialer);
    CHECK (dialer == NULL);
    curvecp_keypair_wipe (&f.keys);
}

/* One dialer with one connection to f's server that has said "hi", and
   the server's side of it, accepted. */
static curvecp_udp_conn_t *
connect_one (fixture_t *f, curvecp_udp_dialer_t **dialer_p, curvecp_udp_conn_t **client_p)
{
    curvecp_udp_dialer_config_t config;
    curvecp_udp_dialer_config_default (&config);
    memcpy (config.server_pk, f->keys.public_key, CURVECP_KEY_BYTES);
    config.server_name = "test.example";
    config.server = f->addr;
    curvecp_udp_dialer_t *dialer = curvecp_udp_dialer_new (&config);
    CHECK (dialer);
    curvecp_udp_conn_t *client = curvecp_udp_dialer_connect (dialer, curvecp_clock_now ());
    CHECK_EQ (curvecp_udp_conn_send (client, (const uint8_t *) "hi", 2), 2);
    curvecp_udp_conn_t *server = NULL;
    uint64_t start = curvecp_clock_now ();
    while (!server) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        dialer_step (f, dialer);
        server = curvecp_udp_server_accept (f->server);
    }
    *dialer_p = dialer;
    *client_p = client;
    return server;
}

static void
test_failed_server_conn_forgotten (void)
{
    curvecp_stream_config_t stream;
    curvecp_udp_stream_config_default (&stream);
    stream.give_up_ns = 300000000ull;
    fixture_t f;
    memset (&f, 0, sizeof f);
    curvecp_udp_server_config_t sc;
    curvecp_udp_server_config_default (&sc);
    sc.stream = &stream;
    fixture_start_with (&f, &sc, "127.0.0.1");
    curvecp_udp_dialer_t *dialer;
    curvecp_udp_conn_t *client;
    curvecp_udp_conn_t *server = connect_one (&f, &dialer, &client);
    /* the server has bytes outstanding; the client goes silent */
    CHECK_EQ (curvecp_udp_conn_send (server, (const uint8_t *) "hello", 5), 5);
    uint64_t start = curvecp_clock_now ();
    while (!curvecp_udp_conn_failed (server)) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        struct pollfd pfd = { curvecp_udp_server_fd (f.server), POLLIN, 0 };
        curvecp_udp_poll (&pfd, 1, earliest (curvecp_udp_server_deadline (f.server), curvecp_clock_now () + 50000000ull));
        curvecp_udp_server_process (f.server, curvecp_clock_now ());
    }
    curvecp_udp_conn_close (&server);
    curvecp_udp_server_process (f.server, curvecp_clock_now ());
    CHECK_EQ (curvecp_udp_server_connections (f.server), 0);
    /* the client speaks again: nothing there, counted, no crash */
    uint64_t unknown = curvecp_udp_server_stats (f.server)->counts [CURVECP_E_UNKNOWN_SESSION];
    CHECK_EQ (curvecp_udp_conn_send (client, (const uint8_t *) "again", 5), 5);
    start = curvecp_clock_now ();
    while (curvecp_udp_server_stats (f.server)->counts [CURVECP_E_UNKNOWN_SESSION] == unknown) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        dialer_step (&f, dialer);
    }
    CHECK_EQ (curvecp_udp_server_connections (f.server), 0);
    curvecp_udp_conn_close (&client);
    curvecp_udp_dialer_destroy (&dialer);
    curvecp_udp_server_destroy (&f.server);
    curvecp_keypair_wipe (&f.keys);
}

/* Wait (bounded) until conn has len bytes to read, stepping both ends. */
static void
wait_readable (fixture_t *f, curvecp_udp_dialer_t *dialer, curvecp_udp_conn_t *conn, size_t len)
{
    uint64_t start = curvecp_clock_now ();
    while (curvecp_udp_conn_readable (conn) < len) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        dialer_step (f, dialer);
    }
}

/* After a read that drained the socket, send_due sends what a connection
   was given without reading again (a request-response loop saves a
   recvmmsg per message), and the bytes arrive. */
static void
test_send_due (void)
{
    fixture_t f;
    memset (&f, 0, sizeof f);
    curvecp_udp_server_config_t sc;
    curvecp_udp_server_config_default (&sc);
    fixture_start_with (&f, &sc, "127.0.0.1");
    curvecp_udp_dialer_t *dialer;
    curvecp_udp_conn_t *client;
    curvecp_udp_conn_t *server = connect_one (&f, &dialer, &client);
    wait_readable (&f, dialer, server, 2);
    uint8_t buf[16];
    CHECK_EQ (curvecp_udp_conn_recv (server, buf, sizeof buf), 2);
    for (int i = 0; i < 3; i++) {
        curvecp_udp_server_process (f.server, curvecp_clock_now ());
        const curvecp_udp_server_info_t *info = curvecp_udp_server_info (f.server);
        uint64_t recv_calls = info->recv_calls, send_calls = info->send_calls;
        CHECK_EQ (curvecp_udp_conn_send (server, (const uint8_t *) "hello", 5), 5);
        curvecp_udp_server_send_due (f.server, curvecp_clock_now ());
        info = curvecp_udp_server_info (f.server);
        CHECK_EQ (info->recv_calls, recv_calls);
        CHECK_EQ (info->send_calls, send_calls + 1);
        wait_readable (&f, dialer, client, 5);
        CHECK_EQ (curvecp_udp_conn_recv (client, buf, sizeof buf), 5);
        CHECK_MEM (buf, "hello", 5);
        CHECK_EQ (curvecp_udp_conn_send (client, (const uint8_t *) "ok", 2), 2);
        curvecp_udp_dialer_send_due (dialer, curvecp_clock_now ());
        wait_readable (&f, dialer, server, 2);
        CHECK_EQ (curvecp_udp_conn_recv (server, buf, sizeof buf), 2);
        CHECK_MEM (buf, "ok", 2);
    }
    curvecp_udp_conn_close (&client);
    curvecp_udp_conn_close (&server);
    curvecp_udp_dialer_destroy (&dialer);
    curvecp_udp_server_destroy (&f.server);
    curvecp_keypair_wipe (&f.keys);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_many_one_socket ();
    test_failed_server_conn_forgotten ();
    test_send_due ();
    printf ("test_udp_dialer: ok\n");
    return 0;
}
