/*  test_udp_addressing.c - addressing on the UDP carrier:
      - client extension from a file, re-read before every Hello (and
        zeros when the file is missing; a short file keeps the old value);
      - a dead first address costs one Hello wait, then the next slot
        answers;
      - a wrong server extension is dropped and counted;
      - virtual hosts: each connection knows which name it asked for, an
        unknown name is refused (the Hello is still answered);
      - the connection limit: Initiates refused and counted while Hellos
        are answered, a slot freed lets the waiting client in;
      - every malformed datagram dropped, counted by reason, unanswered;
      - roaming cannot be forced: a verified packet replayed from another
        address is refused, a forged one too, and the peer stays put.    */
#include <fcntl.h>
#include <unistd.h>
#include "test_udp_util.h"

static void
write_file (const char *path, const void *data, size_t len)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK (fd >= 0);
    CHECK_EQ (write (fd, data, len), (long long) len);
    close (fd);
}

static uint64_t
count (const curvecp_stats_t *stats, curvecp_reason_t reason)
{
    return stats->counts [reason];
}

/* Extensions, the extension file, and a dead first address. */
static void
test_extensions_dead_address (void)
{
    char dir [] = "/tmp/curvecp-ext.XXXXXX";
    CHECK (mkdtemp (dir));
    char path [64];
    snprintf (path, sizeof path, "%s/ext", dir);
    uint8_t ext_a [16], ext_b [16], zero [16] = { 0 }, got [16];
    memset (ext_a, 0xaa, 16);
    memset (ext_b, 0xbb, 16);

    /* the loader on its own */
    memset (got, 1, 16);
    CHECK_EQ (curvecp_udp_ext_load ("/nonexistent/dir/ext", got), CURVECP_OK);
    CHECK_MEM (got, zero, 16);
    write_file (path, "short", 5);
    memcpy (got, ext_a, 16);
    CHECK_EQ (curvecp_udp_ext_load (path, got), CURVECP_E_IO);
    CHECK_MEM (got, ext_a, 16);                       /* kept */

    fixture_t f;
    memset (&f, 0, sizeof f);
    memset (f.ext, 0x5a, sizeof f.ext);
    fixture_start (&f, "127.0.0.1", 0, NULL, NULL);
    curvecp_udp_addr_t dead_addr, bind_any;
    CHECK_EQ (curvecp_udp_addr_parse ("127.0.0.1", 0, &bind_any), CURVECP_OK);
    curvecp_udp_socket_t *dead = curvecp_udp_socket_new (AF_INET, &bind_any);
    CHECK (dead);
    curvecp_udp_socket_local (dead, &dead_addr);

    write_file (path, ext_a, 16);
    curvecp_udp_client_config_t config;
    client_config (&f, &config);
    config.ext_path = path;
    config.addrs [0] = dead_addr;
    config.addrs [1] = f.addr;
    config.addr_count = 2;
    config.shuffle = false;
    curvecp_udp_client_t *client = curvecp_udp_client_new (&config, curvecp_clock_now ());
    CHECK (client);
    uint64_t start = curvecp_clock_now ();
    while (curvecp_udp_client_hellos (client) == 0)
        step (&f, client);
    write_file (path, ext_b, 16);                     /* read again before the next Hello */
    connect_client (&f, client);
    double seconds = (double) (curvecp_clock_now () - start) / 1e9;
    CHECK_EQ (curvecp_udp_client_hellos (client), 2);
    CHECK_EQ (curvecp_udp_client_slot (client), 1);
    CHECK_MEM (curvecp_udp_client_ext (client), ext_b, 16);

    /* the dead address got the first Hello, carrying extension A */
    CHECK_EQ (curvecp_udp_socket_receive (dead), 1);
    size_t len;
    const curvecp_udp_addr_t *from;
    const uint8_t *hello = curvecp_udp_socket_datagram (dead, 0, &len, &from);
    CHECK_EQ (len, CURVECP_HELLO_BYTES);
    CHECK_MEM (hello + 8, f.ext, 16);
    CHECK_MEM (hello + 24, ext_a, 16);

    /* the server's connection carries extension B */
    curvecp_udp_conn_t *sc = NULL;
    while (!sc) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        step (&f, client);
        sc = curvecp_udp_server_accept (f.server);
    }
    CHECK_MEM (curvecp_udp_conn_client_ext (sc), ext_b, 16);
    printf ("dead first address: connected through slot 1 after %.2f s\n", seconds);

    /* a client with the wrong server extension is dropped and counted */
    uint64_t before = count (curvecp_udp_server_stats (f.server), CURVECP_E_WRONG_SERVER_EXT);
    curvecp_udp_client_config_t wrong;
    client_config (&f, &wrong);
    wrong.server_ext [0] ^= 1;
    curvecp_udp_client_t *lost = curvecp_udp_client_new (&wrong, curvecp_clock_now ());
    CHECK (lost);
    for (int i = 0; i < 10; i++)
        step (&f, lost);
    CHECK_EQ (count (curvecp_udp_server_stats (f.server), CURVECP_E_WRONG_SERVER_EXT), before + 1);
    CHECK_EQ (curvecp_udp_client_state (lost, curvecp_clock_now ()), CURVECP_UDP_CONNECTING);
    CHECK_EQ (curvecp_udp_server_connections (f.server), 1);

    curvecp_udp_client_destroy (&lost);
    curvecp_udp_conn_close (&sc);
    curvecp_udp_client_destroy (&client);
    curvecp_udp_socket_destroy (&dead);
    curvecp_udp_server_destroy (&f.server);
    unlink (path);
    rmdir (dir);
}

static curvecp_udp_conn_t *
accept_one (fixture_t *f, curvecp_udp_client_t *client)
{
    uint64_t start = curvecp_clock_now ();
    curvecp_udp_conn_t *sc = NULL;
    while (!sc) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        step (f, client);
        sc = curvecp_udp_server_accept (f->server);
    }
    return sc;
}

/* Several names on one socket. */
static void
test_virtual_hosts (void)
{
    fixture_t f;
    memset (&f, 0, sizeof f);
    fixture_start (&f, "127.0.0.1", 0, NULL, NULL);
    CHECK_EQ (curvecp_udp_server_add_name (f.server, "b.example"), 1);
    CHECK_EQ (curvecp_udp_server_add_name (f.server, "c.example"), 2);
    const char *names [] = { "c.example", "test.example", "b.example" };
    int want [] = { 2, 0, 1 };
    for (int i = 0; i < 3; i++) {
        curvecp_udp_client_config_t config;
        client_config (&f, &config);
        config.server_name = names [i];
        curvecp_udp_client_t *client = curvecp_udp_client_new (&config, curvecp_clock_now ());
        CHECK (client);
        curvecp_udp_conn_t *sc = accept_one (&f, client);
        CHECK_EQ (curvecp_udp_conn_name_index (sc), want [i]);
        curvecp_udp_conn_close (&sc);
        curvecp_udp_client_destroy (&client);
    }
    /* an unknown name: Hello answered (no state), Initiate refused */
    curvecp_udp_client_config_t config;
    client_config (&f, &config);
    config.server_name = "nothere.example";
    curvecp_udp_client_t *client = curvecp_udp_client_new (&config, curvecp_clock_now ());
    connect_client (&f, client);
    uint64_t start = curvecp_clock_now ();
    while (count (curvecp_udp_server_stats (f.server), CURVECP_E_WRONG_NAME) == 0) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        step (&f, client);
    }
    CHECK (curvecp_udp_server_accept (f.server) == NULL);
    CHECK_EQ (curvecp_udp_server_info (f.server)->connections, 3);
    curvecp_udp_client_destroy (&client);
    curvecp_udp_server_destroy (&f.server);
}

/* At the limit Hellos are answered and Initiates refused. */
static void
test_limit (void)
{
    fixture_t f;
    memset (&f, 0, sizeof f);
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.max_connections = 1;
    config.linger_ns = 50000000ull;
    fixture_start_with (&f, &config, "127.0.0.1");
    curvecp_udp_client_t *clients [2] = { client_start (&f, NULL, NULL), client_start (&f, NULL, NULL) };
    curvecp_udp_conn_t *first = accept_one (&f, clients [0]);
    connect_client (&f, clients [1]);                 /* its Hello is answered */
    uint64_t start = curvecp_clock_now ();
    while (count (curvecp_udp_server_stats (f.server), CURVECP_E_FULL) == 0) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        step_many (&f, clients, 2);
    }
    CHECK (curvecp_udp_server_accept (f.server) == NULL);
    CHECK_EQ (curvecp_udp_server_connections (f.server), 1);
    /* finish the first connection: the second gets in on its next ping */
    curvecp_udp_conn_t *cc = curvecp_udp_client_conn (clients [0]);
    curvecp_udp_conn_shutdown (cc, CURVECP_EOF_SUCCESS);
    curvecp_udp_conn_close (&first);
    curvecp_udp_conn_t *second = NULL;
    while (!second) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        step_many (&f, clients, 2);
        second = curvecp_udp_server_accept (f.server);
    }
    CHECK (curvecp_udp_conn_done (cc));
    CHECK_MEM (curvecp_udp_conn_client_short_key (second),
               curvecp_udp_conn_client_short_key (curvecp_udp_client_conn (clients [1])), 32);
    printf ("limit: second client admitted %.2f s after the first closed\n",
            (double) (curvecp_clock_now () - start) / 1e9);
    curvecp_udp_conn_close (&second);
    curvecp_udp_client_destroy (&clients [0]);
    curvecp_udp_client_destroy (&clients [1]);
    curvecp_udp_server_destroy (&f.server);
}

static void
send_raw (curvecp_udp_socket_t *sock, const curvecp_udp_addr_t *to, const uint8_t *data, size_t len)
{
    CHECK_EQ (sendto (curvecp_udp_socket_fd (sock), data, len, 0, (const struct sockaddr *) &to->sa, to->len),
              (long long) len);
}

/* Each malformed datagram: dropped, counted once by its reason, and
   nothing comes back. */
static void
test_bad_datagrams (void)
{
    fixture_t f;
    memset (&f, 0, sizeof f);
    memset (f.ext, 0x11, sizeof f.ext);
    fixture_start (&f, "127.0.0.1", 0, NULL, NULL);
    curvecp_udp_addr_t any;
    CHECK_EQ (curvecp_udp_addr_parse ("127.0.0.1", 0, &any), CURVECP_OK);
    curvecp_udp_socket_t *raw = curvecp_udp_socket_new (AF_INET, &any);
    uint8_t p [1300];
    struct { size_t len; char type; bool good_ext; curvecp_reason_t reason; } cases [] = {
        { 64, 'H', true, CURVECP_E_TOO_SHORT },
        { 1200, 'M', true, CURVECP_E_TOO_LONG },
        { 100, 'M', true, CURVECP_E_NOT_MULTIPLE_16 },
        { 224, 'X', true, CURVECP_E_BAD_MAGIC },
        { 224, 'H', false, CURVECP_E_WRONG_SERVER_EXT },
        { 224, 'H', true, CURVECP_E_BAD_HELLO_BOX },
        { 240, 'H', true, CURVECP_E_TOO_LONG },
        { 512, 'I', true, CURVECP_E_TOO_SHORT },
        { 560, 'I', true, CURVECP_E_BAD_COOKIE },
        { 112, 'M', true, CURVECP_E_UNKNOWN_SESSION },
    };
    int n = (int) (sizeof cases / sizeof cases [0]);
    for (int i = 0; i < n; i++) {
        randombytes_buf (p, sizeof p);
        memcpy (p, "QvnQ5Xl", 7);
        p [7] = (uint8_t) cases [i].type;
        if (cases [i].good_ext)
            memcpy (p + 8, f.ext, 16);
        curvecp_stats_t before = *curvecp_udp_server_stats (f.server);
        send_raw (raw, &f.addr, p, cases [i].len);
        uint64_t start = curvecp_clock_now ();
        while (curvecp_udp_server_info (f.server)->datagrams_in < (uint64_t) i + 1) {
            CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
            step (&f, NULL);
        }
        const curvecp_stats_t *after = curvecp_udp_server_stats (f.server);
        for (int r = 0; r < CURVECP_REASON_COUNT; r++)
            CHECK_EQ (after->counts [r] - before.counts [r], r == (int) cases [i].reason);
    }
    /* oversize beyond the largest packet, and a datagram of 0 bytes */
    send_raw (raw, &f.addr, p, 0);
    uint64_t start = curvecp_clock_now ();
    while (curvecp_udp_server_info (f.server)->datagrams_in < (uint64_t) n + 1) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        step (&f, NULL);
    }
    CHECK_EQ (curvecp_udp_server_stats (f.server)->counts [CURVECP_E_TOO_SHORT], 3);
    CHECK_EQ (curvecp_udp_server_stats (f.server)->counts [CURVECP_OK], 0);
    CHECK_EQ (curvecp_udp_server_connections (f.server), 0);
    CHECK_EQ (curvecp_udp_server_info (f.server)->datagrams_out, 0);
    CHECK_EQ (curvecp_udp_socket_receive (raw), 0);   /* nothing answered */
    curvecp_udp_socket_destroy (&raw);
    curvecp_udp_server_destroy (&f.server);
}

/* A relay between client and server that remembers the last client
   packet, so the test can replay it from elsewhere. */
typedef struct {
    curvecp_udp_socket_t *front, *back;      /* client side, server side */
    curvecp_udp_addr_t client, server;
    uint8_t last [CURVECP_PACKET_MAX];
    size_t last_len;
} relay_t;

static void
relay_move (relay_t *r)
{
    int n = curvecp_udp_socket_receive (r->front);
    for (int i = 0; i < n; i++) {
        size_t len;
        const curvecp_udp_addr_t *from;
        const uint8_t *d = curvecp_udp_socket_datagram (r->front, i, &len, &from);
        r->client = *from;
        memcpy (r->last, d, len);
        r->last_len = len;
        send_raw (r->back, &r->server, d, len);
    }
    n = curvecp_udp_socket_receive (r->back);
    for (int i = 0; i < n; i++) {
        size_t len;
        const curvecp_udp_addr_t *from;
        const uint8_t *d = curvecp_udp_socket_datagram (r->back, i, &len, &from);
        send_raw (r->front, &r->client, d, len);
    }
}

static void
test_roaming_needs_verified_packets (void)
{
    fixture_t f;
    memset (&f, 0, sizeof f);
    fixture_start (&f, "127.0.0.1", 0, NULL, NULL);
    curvecp_udp_addr_t any;
    CHECK_EQ (curvecp_udp_addr_parse ("127.0.0.1", 0, &any), CURVECP_OK);
    relay_t r;
    memset (&r, 0, sizeof r);
    r.front = curvecp_udp_socket_new (AF_INET, &any);
    r.back = curvecp_udp_socket_new (AF_INET, &any);
    r.server = f.addr;
    curvecp_udp_socket_t *attacker = curvecp_udp_socket_new (AF_INET, &any);
    curvecp_udp_client_config_t config;
    client_config (&f, &config);
    curvecp_udp_socket_local (r.front, &config.addrs [0]);
    curvecp_udp_client_t *client = curvecp_udp_client_new (&config, curvecp_clock_now ());
    CHECK (client);
    curvecp_udp_conn_t *cc = curvecp_udp_client_conn (client);
    curvecp_udp_conn_t *sc = NULL;
    pump_t c2s = { 0, 0, 50000, 1, false }, s2c = { 0, 0, 50000, 2, false };
    uint64_t start = curvecp_clock_now ();
    while (!(c2s.received == c2s.total && s2c.received == s2c.total)) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        step (&f, client);
        relay_move (&r);
        if (!sc)
            sc = curvecp_udp_server_accept (f.server);
        pump (cc, &c2s, &s2c);
        if (sc)
            pump (sc, &s2c, &c2s);
    }
    curvecp_udp_addr_t relay_back;
    curvecp_udp_socket_local (r.back, &relay_back);
    CHECK (curvecp_udp_addr_equal (curvecp_udp_conn_peer (sc), &relay_back));
    /* replay the client's last packet from the attacker: refused (nonce) */
    const curvecp_stats_t *stats = curvecp_udp_server_stats (f.server);
    uint64_t replayed = count (stats, CURVECP_E_REPLAYED_NONCE);
    uint64_t in = curvecp_udp_server_info (f.server)->datagrams_in;
    send_raw (attacker, &f.addr, r.last, r.last_len);
    /* and a forged one with a fresh nonce: the box does not open */
    r.last [72] ^= 0xff;
    r.last [79] = 0x7f;
    send_raw (attacker, &f.addr, r.last, r.last_len);
    while (curvecp_udp_server_info (f.server)->datagrams_in < in + 2) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        step (&f, NULL);
    }
    CHECK_EQ (count (stats, CURVECP_E_REPLAYED_NONCE), replayed + 1);
    CHECK_EQ (count (stats, CURVECP_E_BAD_MESSAGE_BOX), 1);
    CHECK (curvecp_udp_addr_equal (curvecp_udp_conn_peer (sc), &relay_back));
    CHECK_EQ (curvecp_udp_conn_info (sc)->roams, 0);
    CHECK_EQ (curvecp_udp_socket_receive (attacker), 0);
    curvecp_udp_conn_close (&sc);
    curvecp_udp_client_destroy (&client);
    curvecp_udp_socket_destroy (&attacker);
    curvecp_udp_socket_destroy (&r.front);
    curvecp_udp_socket_destroy (&r.back);
    curvecp_udp_server_destroy (&f.server);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_bad_datagrams ();
    test_virtual_hosts ();
    test_roaming_needs_verified_packets ();
    test_limit ();
    test_extensions_dead_address ();
    printf ("test_udp_addressing: OK\n");
    return 0;
}
