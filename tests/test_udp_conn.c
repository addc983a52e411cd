/*  test_udp_conn.c - the UDP carrier in one process on loopback: stream
    mode both ways byte-exact (IPv4 and IPv6), 0- and 1-byte streams, and
    roaming: the client moves to a new socket mid-transfer and the server
    follows. A give-up is named: the server vanishes with data
    outstanding and the client, run only on its own deadlines, fails
    with "peer-silent". A keepalive set in the public client's config
    reaches the connection: an idle client sends zero messages, the
    server takes them and answers none.                                  */
#include "test_udp_util.h"
#include "udp/curvecp_udp_internal.h"

static void
transfer (const char *ip, uint64_t up, uint64_t down, bool roam)
{
    fixture_t f;
    memset (&f, 0, sizeof f);
    fixture_start (&f, ip, 0, NULL, NULL);
    curvecp_udp_client_t *client = client_start (&f, NULL, NULL);
    curvecp_udp_conn_t *cc = curvecp_udp_client_conn (client);
    curvecp_udp_conn_t *sc = NULL;
    pump_t c2s = { 0, 0, up, 7, false }, s2c = { 0, 0, down, 99, false };
    bool roamed = false;
    uint64_t start = curvecp_clock_now ();
    while (!(curvecp_udp_conn_done (cc) && sc && curvecp_udp_conn_done (sc))) {
        if (curvecp_clock_now () - start > WAIT_LIMIT_NS) {
            fprintf (stderr, "stuck: %s roam=%d up %llu/%llu down %llu/%llu roamed=%d sc=%p\n", ip, roam,
                     (unsigned long long) c2s.received, (unsigned long long) up,
                     (unsigned long long) s2c.received, (unsigned long long) down, roamed, (void *) sc);
            if (sc)
                fprintf (stderr, "  server conn: roams %llu in %llu out %llu\n",
                         (unsigned long long) curvecp_udp_conn_info (sc)->roams,
                         (unsigned long long) curvecp_udp_conn_info (sc)->packets_in,
                         (unsigned long long) curvecp_udp_conn_info (sc)->packets_out);
            fprintf (stderr, "  client: state %d, in %llu out %llu, conn done %d acked %d\n",
                     curvecp_udp_client_state (client, curvecp_clock_now ()),
                     (unsigned long long) curvecp_udp_conn_info (cc)->packets_in,
                     (unsigned long long) curvecp_udp_conn_info (cc)->packets_out,
                     curvecp_udp_conn_done (cc), curvecp_udp_conn_all_acked (cc));
            exit (1);
        }
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
            (unsigned long long) down, roam, (double) (curvecp_clock_now () - start) / 1e9);
}

/* A client made from config that has said "hello" and has its Cookie. */
static curvecp_udp_client_t *
hello_client (fixture_t *f, const curvecp_udp_client_config_t *config)
{
    curvecp_udp_client_t *client = curvecp_udp_client_new (config, curvecp_clock_now ());
    CHECK (client);
    CHECK_EQ (curvecp_udp_conn_send (curvecp_udp_client_conn (client), (const uint8_t *) "hello", 5), 5);
    connect_client (f, client);
    return client;
}

/* The server goes away mid-stream: the client's connection fails and
   says why (curvecp_udp_conn_failure / _error), in about the give-up. */
static void
give_up_is_named (void)
{
    fixture_t f;
    memset (&f, 0, sizeof f);
    fixture_start (&f, "127.0.0.1", 0, NULL, NULL);
    curvecp_udp_client_config_t config;
    client_config (&f, &config);
    curvecp_stream_config_t stream;
    curvecp_udp_stream_config_default (&stream);
    stream.give_up_ns = 300000000ull;
    config.stream = &stream;
    curvecp_udp_client_t *client = hello_client (&f, &config);
    curvecp_udp_conn_t *cc = curvecp_udp_client_conn (client);
    for (int i = 0; i < 20 && !curvecp_udp_conn_all_acked (cc); i++)
        step (&f, client);
    CHECK (curvecp_udp_conn_all_acked (cc));
    CHECK (curvecp_udp_conn_failure (cc) == NULL && curvecp_udp_conn_error (cc) == NULL);
    curvecp_udp_server_destroy (&f.server);          /* gone without a word */
    static uint8_t data[20000];
    CHECK (curvecp_udp_conn_send (cc, data, sizeof data) > 0);
    uint64_t start = curvecp_clock_now ();
    while (!curvecp_udp_conn_failed (cc) && curvecp_clock_now () - start < 5000000000ull) {
        struct pollfd pfd = { curvecp_udp_client_fd (client), POLLIN, 0 };
        curvecp_udp_poll (&pfd, 1, curvecp_udp_client_deadline (client));   /* its deadline only */
        curvecp_udp_client_process (client, curvecp_clock_now ());
    }
    CHECK (curvecp_udp_conn_failed (cc));
    CHECK (curvecp_clock_now () - start < 2000000000ull);
    CHECK (curvecp_udp_conn_failure (cc) && strcmp (curvecp_udp_conn_failure (cc), "peer-silent") == 0);
    CHECK (curvecp_udp_conn_error (cc) && strstr (curvecp_udp_conn_error (cc), "stopped acknowledging"));
    printf ("give-up named: %s (%s) after %.3f s\n", curvecp_udp_conn_error (cc), curvecp_udp_conn_failure (cc),
            (double) (curvecp_clock_now () - start) / 1e9);
    curvecp_udp_client_destroy (&client);
}

/* Wait (bounded) until conn has len bytes to read; read them. */
static void
expect_bytes (fixture_t *f, curvecp_udp_client_t *client, curvecp_udp_conn_t *conn, const char *text)
{
    uint64_t start = curvecp_clock_now ();
    while (curvecp_udp_conn_readable (conn) < strlen (text)) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        step (f, client);
    }
    uint8_t buf[64];
    CHECK_EQ (curvecp_udp_conn_recv (conn, buf, sizeof buf), strlen (text));
    CHECK_MEM (buf, text, strlen (text));
}

static void
keepalive_passes_through (void)
{
    fixture_t f;
    memset (&f, 0, sizeof f);
    fixture_start (&f, "127.0.0.1", 0, NULL, NULL);
    curvecp_udp_client_config_t config;
    client_config (&f, &config);
    config.keepalive_ns = 100000000ull;
    curvecp_udp_client_t *client = hello_client (&f, &config);
    curvecp_udp_conn_t *cc = curvecp_udp_client_conn (client);
    curvecp_udp_conn_t *sc = NULL;
    for (uint64_t start = curvecp_clock_now (); !sc; step (&f, client)) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        sc = curvecp_udp_server_accept (f.server);
    }
    expect_bytes (&f, client, sc, "hello");
    CHECK_EQ (curvecp_udp_conn_send (sc, (const uint8_t *) "hi", 2), 2);
    expect_bytes (&f, client, cc, "hi");
    for (int i = 0; i < 40 && !(curvecp_udp_conn_all_acked (cc) && curvecp_udp_conn_all_acked (sc)); i++)
        step (&f, client);
    CHECK (curvecp_udp_conn_all_acked (cc) && curvecp_udp_conn_all_acked (sc));
    /* idle for 0.6 s: a keepalive every 0.1 s at most (later under load) */
    uint64_t keepalives = curvecp_udp_conn_info (cc)->keepalives;
    uint64_t server_in = curvecp_udp_conn_info (sc)->packets_in, server_out = curvecp_udp_conn_info (sc)->packets_out;
    for (uint64_t start = curvecp_clock_now (); curvecp_clock_now () - start < 600000000ull; )
        step (&f, client);
    uint64_t sent = curvecp_udp_conn_info (cc)->keepalives - keepalives;
    /* the server alone takes what is still on its way */
    for (int i = 0; i < 20 && curvecp_udp_conn_info (sc)->packets_in < server_in + sent; i++) {
        struct pollfd pfd = { curvecp_udp_server_fd (f.server), POLLIN, 0 };
        curvecp_udp_poll (&pfd, 1, curvecp_clock_now () + 50000000ull);
        curvecp_udp_server_process (f.server, curvecp_clock_now ());
    }
    printf ("keepalive: %llu in 0.6 s idle at a 0.1 s interval\n", (unsigned long long) sent);
    CHECK (sent >= 2 && sent <= 7);
    CHECK_EQ (curvecp_udp_conn_info (sc)->packets_in, server_in + sent);
    CHECK_EQ (curvecp_udp_conn_info (sc)->packets_out, server_out);     /* no answer */
    CHECK_EQ (curvecp_udp_conn_readable (sc), 0);
    curvecp_udp_conn_close (&sc);
    curvecp_udp_client_destroy (&client);
    curvecp_udp_server_destroy (&f.server);
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
    give_up_is_named ();
    keepalive_passes_through ();
    printf ("test_udp_conn: OK\n");
    return 0;
}
