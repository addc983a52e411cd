/*  test_udp_conn.c - the UDP carrier in one process on loopback: stream
    mode both ways byte-exact (IPv4 and IPv6), 0- and 1-byte streams, and
    roaming: the client moves to a new socket mid-transfer and the server
    follows.                                                             */
#include "test_udp_util.h"

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
