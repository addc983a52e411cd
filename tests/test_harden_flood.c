/*  test_harden_flood.c - a live UDP server under hostile traffic, on
    127.0.0.1, bounded in count and time:

      1. a flood of valid Hellos from 1,000 fake short-term keys (made with
         the core's encoders) and of garbage, alone: every Hello gets
         exactly one Cookie (that opens under its own key), garbage gets
         nothing, every datagram is counted once under its reason, and the
         server makes no heap allocation at all;
      2. the same flood while a real client connects through a capturing
         relay and moves 1 MB each way: the transfer is byte-exact, the
         counters move by exactly what was sent (every Hello answered with
         its Cookie, or dropped from the server's full Hello queue and
         counted overloaded), and the server allocates exactly what the
         same transfer costs without any flood;
      3. halfway through, with the connection paused, replayed (captured
         Initiate and Messages, truncated ones) and forged packets (fresh
         nonces over bad boxes, wrong extensions, a Hello box for the live
         C', Initiates with a wrong name, a bad vouch, a cookie of another
         C', a forged cookie, a bad box): each counted under its reason,
         nothing answered but the forger's own Hellos, no connection made,
         the live connection's packets, stream and address untouched;
      4. once the connection has ended, its captured Initiate sent again:
         dropped by the replay cache (CURVECP_E_REPLAYED_INITIATE).

    Figures (printed): Hellos answered per second during the flood, the
    transfer time with and without it.                                   */
#include <poll.h>
#include "test_harden_util.h"
#include "test_udp_util.h"
#include "curvecp_udp_internal.h"

/* ---- allocation counting: only while the server works ------------- */

#include "test_alloc_count.h"

#define FAKES        1000             /* fake short-term keys */
#define JUNK_KINDS   13
#define JUNK         (JUNK_KINDS * 8)
#define TRANSFER     2000000          /* bytes each way */
#define BURST_HELLOS 32               /* flood datagrams per loop turn */
#define BURST_JUNK   4
#define FLOOD_MAX    60000            /* Hellos at most, whatever the transfer does */
#define CAPTURED     8                /* client Messages kept for replay */

typedef struct {
    uint8_t data[1400];
    size_t len;
    curvecp_reason_t reason;
} junk_t;

typedef struct {
    fixture_t f;
    curvecp_udp_socket_t *front, *back;     /* relay: client side, server side */
    curvecp_udp_addr_t client_addr, back_addr;
    curvecp_udp_socket_t *flood, *forger;
    curvecp_udp_client_t *client;
    bool paused;                            /* client and relay stopped */
    uint8_t initiate[CURVECP_PACKET_MAX];   /* the client's first Initiate */
    size_t initiate_len;
    uint8_t msgs[CAPTURED][CURVECP_PACKET_MAX];
    size_t msg_len[CAPTURED];
    int msg_count;
    fake_client_t *fakes;
    uint64_t cookies, flood_unexpected;
    fake_client_t forgers[2];
    uint64_t forger_cookies, forger_unexpected;
} lab_t;

static void
lab_start (lab_t *lab, fake_client_t *fakes)
{
    memset (lab, 0, sizeof *lab);
    memset (lab->f.ext, 0x42, sizeof lab->f.ext);
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.linger_ns = 50000000ull;
    /* buffers kept until a direction ends, so a connection's allocations
       do not depend on timing (a pause could free an idle one) */
    static curvecp_stream_config_t stream;
    curvecp_stream_config_default (&stream);
    stream.idle_release_ns = UINT64_MAX;
    config.stream = &stream;
    fixture_start_with (&lab->f, &config, "127.0.0.1");
    lab->front = loopback_socket ();
    lab->back = loopback_socket ();
    curvecp_udp_socket_local (lab->back, &lab->back_addr);
    lab->flood = loopback_socket ();
    lab->forger = loopback_socket ();
    lab->fakes = fakes;
}

static void
lab_stop (lab_t *lab)
{
    curvecp_udp_client_destroy (&lab->client);
    curvecp_udp_socket_destroy (&lab->front);
    curvecp_udp_socket_destroy (&lab->back);
    curvecp_udp_socket_destroy (&lab->flood);
    curvecp_udp_socket_destroy (&lab->forger);
    curvecp_udp_server_destroy (&lab->f.server);
}

/* The relay keeps the client's first Initiate and first Messages. */
static void
capture (lab_t *lab, const uint8_t *d, size_t len)
{
    if (len >= CURVECP_INITIATE_BASE && d[7] == 'I' && lab->initiate_len == 0) {
        memcpy (lab->initiate, d, len);
        lab->initiate_len = len;
    }
    if (d[7] == 'M' && lab->msg_count < CAPTURED) {
        memcpy (lab->msgs[lab->msg_count], d, len);
        lab->msg_len[lab->msg_count++] = len;
    }
}

static void
relay_move (lab_t *lab)
{
    size_t len;
    const curvecp_udp_addr_t *from;
    int n = curvecp_udp_socket_receive (lab->front);
    for (int i = 0; i < n; i++) {
        const uint8_t *d = curvecp_udp_socket_datagram (lab->front, i, &len, &from);
        lab->client_addr = *from;
        capture (lab, d, len);
        send_raw (lab->back, &lab->f.addr, d, len);
    }
    n = curvecp_udp_socket_receive (lab->back);
    for (int i = 0; i < n; i++) {
        const uint8_t *d = curvecp_udp_socket_datagram (lab->back, i, &len, &from);
        send_raw (lab->front, &lab->client_addr, d, len);
    }
}

/* Whatever reaches the flooder or the forger must be one of its fakes'
   Cookies; count them, and anything else. */
static void
drain (curvecp_udp_socket_t *sock, fake_client_t *fakes, long count, const uint8_t ext[16],
       uint64_t *cookies, uint64_t *unexpected)
{
    int n;
    while ((n = curvecp_udp_socket_receive (sock)) > 0)
        for (int i = 0; i < n; i++) {
            size_t len;
            const curvecp_udp_addr_t *from;
            const uint8_t *d = curvecp_udp_socket_datagram (sock, i, &len, &from);
            long k = len == CURVECP_COOKIE_BYTES ? fake_index (d + 8, count) : -1;
            if (k >= 0 && fake_take_cookie (&fakes[k], d, len, ext) == CURVECP_OK)
                (*cookies)++;
            else
                (*unexpected)++;
        }
}

/* One loop turn: the server (its allocations counted), the relay, the
   client unless paused, and whatever came back to flooder and forger. */
static void
turn (lab_t *lab)
{
    struct pollfd pfd[6];
    int n = 0;
    pfd[n++] = (struct pollfd) { curvecp_udp_server_fd (lab->f.server), POLLIN, 0 };
    pfd[n++] = (struct pollfd) { curvecp_udp_socket_fd (lab->flood), POLLIN, 0 };
    pfd[n++] = (struct pollfd) { curvecp_udp_socket_fd (lab->forger), POLLIN, 0 };
    uint64_t deadline = earliest (curvecp_udp_server_deadline (lab->f.server), curvecp_clock_now () + 2000000ull);
    if (!lab->paused) {
        pfd[n++] = (struct pollfd) { curvecp_udp_socket_fd (lab->front), POLLIN, 0 };
        pfd[n++] = (struct pollfd) { curvecp_udp_socket_fd (lab->back), POLLIN, 0 };
        if (lab->client) {
            pfd[n++] = (struct pollfd) { curvecp_udp_client_fd (lab->client), POLLIN, 0 };
            deadline = earliest (deadline, curvecp_udp_client_deadline (lab->client));
        }
    }
    curvecp_udp_poll (pfd, n, deadline);
    uint64_t now = curvecp_clock_now ();
    counting = true;
    curvecp_udp_server_process (lab->f.server, now);
    counting = false;
    if (!lab->paused) {
        relay_move (lab);
        if (lab->client)
            curvecp_udp_client_process (lab->client, now);
        relay_move (lab);
    }
    drain (lab->flood, lab->fakes, FAKES, lab->f.ext, &lab->cookies, &lab->flood_unexpected);
    drain (lab->forger, lab->forgers, 2, lab->f.ext, &lab->forger_cookies, &lab->forger_unexpected);
}

/* Turn until the server has read want datagrams in all and answered
   (or dropped) every Hello it queued. */
static void
turn_until_read (lab_t *lab, uint64_t want)
{
    uint64_t start = curvecp_clock_now ();
    while (curvecp_udp_server_info (lab->f.server)->datagrams_in < want
       ||  curvecp_udp_server_info (lab->f.server)->hellos_waiting > 0) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        turn (lab);
    }
    turn (lab);                        /* answers sent, and collected */
    turn (lab);
}

/* ---- the flood --------------------------------------------------------- */

static void
random_fill (uint8_t *p, size_t len)
{
    randombytes_buf (p, len);
    if (len > 0 && p[0] == 'Q')
        p[0] = 'q';
}

/* Garbage of kind k (0..JUNK_KINDS-1) and the reason it must be dropped for. */
static void
make_junk (junk_t *j, int kind, const fake_client_t *fake, const uint8_t ext[16])
{
    static const curvecp_reason_t reasons[JUNK_KINDS] = {
        CURVECP_E_TOO_SHORT, CURVECP_E_TOO_LONG, CURVECP_E_NOT_MULTIPLE_16, CURVECP_E_BAD_MAGIC,
        CURVECP_E_WRONG_SERVER_EXT, CURVECP_E_BAD_HELLO_BOX, CURVECP_E_TOO_SHORT, CURVECP_E_TOO_LONG,
        CURVECP_E_BAD_HELLO_BOX, CURVECP_E_UNKNOWN_SESSION, CURVECP_E_BAD_COOKIE, CURVECP_E_TOO_SHORT,
        CURVECP_E_BAD_MAGIC
    };
    static const char types[JUNK_KINDS] = { 0, 0, 0, 0, 'H', 'H', 0, 0, 0, 'M', 'I', 'I', 'Z' };
    uint32_t r = randombytes_uniform (1000);
    size_t lens[JUNK_KINDS] = { r % 80, 1185 + r % 200, 80 + (r % 69) * 16 + 1 + r % 15,
                                80 + (r % 70) * 16, 224, 224, 208, 240, 224, 112 + (r % 67) * 16,
                                560 + (r % 40) * 16, 544, 224 };
    j->len = lens[kind];
    j->reason = reasons[kind];
    random_fill (j->data, sizeof j->data);
    if (types[kind]) {
        memcpy (j->data, "QvnQ5Xl", 7);
        j->data[7] = (uint8_t) types[kind];
        memcpy (j->data + 8, ext, 16);
        if (kind == 4)
            j->data[8] ^= 0x80;
    }
    if (kind >= 6 && kind <= 8) {              /* a real Hello, cut, padded or dented */
        fake_hello (fake, ext, 1 + r, j->data);
        if (kind == 8)
            j->data[CURVECP_HELLO_BYTES - 5] ^= 0x10;
    }
}

typedef struct {
    uint64_t hellos, junk;
    uint64_t want[CURVECP_REASON_COUNT];     /* per reason, for what was sent */
    junk_t *junk_set;
} flood_t;

static void
flood_burst (lab_t *lab, flood_t *fl, int hellos, int junk)
{
    uint8_t hello[CURVECP_HELLO_BYTES];
    for (int i = 0; i < hellos && fl->hellos < FLOOD_MAX; i++) {
        fake_hello (&lab->fakes[fl->hellos % FAKES], lab->f.ext, fl->hellos + 1, hello);
        send_raw (lab->flood, &lab->f.addr, hello, sizeof hello);
        fl->hellos++;
        fl->want[CURVECP_OK]++;
    }
    for (int i = 0; i < junk; i++) {
        const junk_t *j = &fl->junk_set[fl->junk++ % JUNK];
        send_raw (lab->flood, &lab->f.addr, j->data, j->len);
        fl->want[j->reason]++;
    }
}

static int
cookies_per_fake_max (const lab_t *lab, int *min)
{
    int hi = 0;
    *min = 1 << 30;
    for (int i = 0; i < FAKES; i++) {
        hi = lab->fakes[i].cookies > hi ? lab->fakes[i].cookies : hi;
        *min = lab->fakes[i].cookies < *min ? lab->fakes[i].cookies : *min;
    }
    return hi;
}

/* 1. Hellos and garbage alone: one Cookie per Hello, nothing for garbage,
      exact counters, no allocation. */
static void
test_flood_alone (lab_t *lab, junk_t *junk_set)
{
    flood_t fl = { .junk_set = junk_set };
    curvecp_stats_t before = *curvecp_udp_server_stats (lab->f.server);
    uint64_t in = curvecp_udp_server_info (lab->f.server)->datagrams_in;
    uint64_t hellos = curvecp_udp_server_info (lab->f.server)->hellos;
    unsigned long allocs = allocations;
    while (fl.hellos < FAKES) {
        flood_burst (lab, &fl, (int) (FAKES - fl.hellos < 32 ? FAKES - fl.hellos : 32), fl.junk < JUNK ? 4 : 0);
        turn (lab);
    }
    turn_until_read (lab, in + fl.hellos + fl.junk);
    check_stats_moved ("hello flood", &before, curvecp_udp_server_stats (lab->f.server), fl.want,
                       CURVECP_REASON_COUNT);
    CHECK_EQ (curvecp_udp_server_info (lab->f.server)->hellos - hellos, FAKES);
    CHECK_EQ (lab->cookies, FAKES);
    CHECK_EQ (lab->flood_unexpected, 0);
    int lo, hi = cookies_per_fake_max (lab, &lo);
    CHECK_EQ (hi, 1);
    CHECK_EQ (lo, 1);
    CHECK_EQ (curvecp_udp_server_connections (lab->f.server), 0);
    CHECK_EQ (curvecp_udp_server_info (lab->f.server)->connections, 0);
    CHECK_EQ (allocations - allocs, 0);
    printf ("flood alone: %d Hellos (one Cookie each) and %llu garbage datagrams, %lu allocations\n",
            FAKES, (unsigned long long) fl.junk, allocations - allocs);
}

/* ---- replayed and forged packets (the connection paused) --------------- */

typedef struct {
    curvecp_stats_t server, conn, stream;
    curvecp_udp_server_info_t info;
    curvecp_udp_conn_info_t conn_info;
    curvecp_udp_addr_t peer;
    size_t readable;
    int connections;
} snapshot_t;

static void
snapshot (lab_t *lab, curvecp_udp_conn_t *sc, snapshot_t *s)
{
    s->server = *curvecp_udp_server_stats (lab->f.server);
    s->info = *curvecp_udp_server_info (lab->f.server);
    s->conn = *curvecp_udp_conn_stats (sc);
    s->stream = *curvecp_stream_stats (curvecp_udp_conn_stream (sc));
    s->conn_info = *curvecp_udp_conn_info (sc);
    s->peer = *curvecp_udp_conn_peer (sc);
    s->readable = curvecp_udp_conn_readable (sc);
    s->connections = curvecp_udp_server_connections (lab->f.server);
}

/* Let everything already on its way reach the server. */
static void
quiesce (lab_t *lab)
{
    uint64_t seen = UINT64_MAX;
    for (int stable = 0; stable < 5;) {
        turn (lab);
        uint64_t in = curvecp_udp_server_info (lab->f.server)->datagrams_in;
        stable = in == seen && curvecp_udp_server_info (lab->f.server)->hellos_waiting == 0 ? stable + 1 : 0;
        seen = in;
    }
}

static void
forge (lab_t *lab, uint64_t *want, const uint8_t *p, size_t len, curvecp_reason_t reason, uint64_t *sent)
{
    send_raw (lab->forger, &lab->f.addr, p, len);
    want[reason]++;
    (*sent)++;
}

static void
put_nonce8 (uint8_t *p, uint64_t nonce)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t) (nonce >> (8 * i));
}

/* Captured packets again, as they were or cut short. */
static void
send_replays (lab_t *lab, uint64_t *want, uint64_t *sent)
{
    uint8_t p[CURVECP_PACKET_MAX];
    forge (lab, want, lab->initiate, lab->initiate_len, CURVECP_E_REPLAYED_NONCE, sent);
    for (int i = 0; i < lab->msg_count; i++)
        forge (lab, want, lab->msgs[i], lab->msg_len[i], CURVECP_E_REPLAYED_NONCE, sent);
    const uint8_t *m = lab->msgs[0];
    size_t mlen = lab->msg_len[0];
    if (mlen >= 128)
        forge (lab, want, m, mlen - 16, CURVECP_E_REPLAYED_NONCE, sent);    /* nonce first */
    forge (lab, want, m, 100, CURVECP_E_NOT_MULTIPLE_16, sent);
    forge (lab, want, m, 96, CURVECP_E_TOO_SHORT, sent);
    forge (lab, want, lab->initiate, CURVECP_INITIATE_BASE, CURVECP_E_TOO_SHORT, sent);
    memcpy (p, m, mlen);
    p[7] = 'Z';
    forge (lab, want, p, mlen, CURVECP_E_BAD_MAGIC, sent);
}

/* Valid-looking packets for the live C' that no one without its key can make. */
static void
send_forgeries (lab_t *lab, uint64_t *want, uint64_t *sent)
{
    uint8_t p[CURVECP_PACKET_MAX];
    const uint8_t *m = lab->msgs[CAPTURED - 1];
    size_t mlen = lab->msg_len[CAPTURED - 1];
    memcpy (p, m, mlen);
    put_nonce8 (p + 72, UINT64_MAX - 1000);                 /* fresh nonce, old box */
    forge (lab, want, p, mlen, CURVECP_E_BAD_MESSAGE_BOX, sent);
    randombytes_buf (p + 80, mlen - 80);                     /* fresh nonce, random box */
    forge (lab, want, p, mlen, CURVECP_E_BAD_MESSAGE_BOX, sent);
    memcpy (p, m, mlen);
    p[8] ^= 1;                                               /* wrong server extension */
    put_nonce8 (p + 72, UINT64_MAX - 999);
    forge (lab, want, p, mlen, CURVECP_E_WRONG_SERVER_EXT, sent);
    memcpy (p, m, mlen);
    p[24] ^= 1;                                              /* wrong client extension */
    put_nonce8 (p + 72, UINT64_MAX - 998);
    forge (lab, want, p, mlen, CURVECP_E_BAD_MESSAGE_BOX, sent);
    memcpy (p, lab->initiate, lab->initiate_len);            /* a later Initiate, forged */
    put_nonce8 (p + 168, UINT64_MAX - 997);
    forge (lab, want, p, lab->initiate_len, CURVECP_E_BAD_INITIATE_BOX, sent);
    memset (p, 0, CURVECP_HELLO_BYTES);                      /* a Hello box for the live C' */
    memcpy (p, "QvnQ5XlH", 8);
    memcpy (p + 8, lab->f.ext, 16);
    memcpy (p + 40, lab->initiate + 40, 32);
    randombytes_buf (p + 136, CURVECP_HELLO_BYTES - 136);
    forge (lab, want, p, CURVECP_HELLO_BYTES, CURVECP_E_BAD_HELLO_BOX, sent);
}

/* The forger's own handshakes: its Hellos are answered (one Cookie each),
   then Initiates each wrong in one way are refused, unanswered. */
static void
send_bad_initiates (lab_t *lab, uint64_t *want, uint64_t *sent)
{
    uint8_t p[CURVECP_PACKET_MAX];
    const uint8_t *server_pk = lab->f.keys.public_key;
    uint64_t forger_cookies = lab->forger_cookies;
    for (uint32_t k = 0; k < 2; k++) {
        fake_init (&lab->forgers[k], server_pk, k);
        fake_hello (&lab->forgers[k], lab->f.ext, 1, p);
        forge (lab, want, p, CURVECP_HELLO_BYTES, CURVECP_OK, sent);
    }
    uint64_t in = curvecp_udp_server_info (lab->f.server)->datagrams_in;
    turn_until_read (lab, in);
    uint64_t start = curvecp_clock_now ();
    while (lab->forger_cookies < forger_cookies + 2) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        turn (lab);
    }
    curvecp_keypair_t long_term;
    curvecp_keypair_generate (&long_term);
    fake_client_t *a = &lab->forgers[0];
    uint8_t forged_k[CURVECP_COOKIE_K_BYTES];
    randombytes_buf (forged_k, sizeof forged_k);
    const struct { initiate_fault_t fault; curvecp_reason_t reason; } cases[] = {
        { { "wrong.example", NULL, NULL, false }, CURVECP_E_WRONG_NAME },
        { { "test.example", NULL, lab->forgers[1].short_term.public_key, false }, CURVECP_E_BAD_VOUCH },
        { { "test.example", NULL, NULL, true }, CURVECP_E_BAD_INITIATE_BOX },
        { { "test.example", lab->forgers[1].cookie_k, NULL, false }, CURVECP_E_COOKIE_MISMATCH },
        { { "test.example", forged_k, NULL, false }, CURVECP_E_BAD_COOKIE },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = fake_initiate (a, &long_term, server_pk, lab->f.ext, 10 + i, &cases[i].fault, p);
        forge (lab, want, p, len, cases[i].reason, sent);
    }
    curvecp_keypair_wipe (&long_term);
}

/* 3. With the live connection paused, every replayed or forged packet is
      refused for its reason and changes nothing. */
static void
test_replayed_forged (lab_t *lab, curvecp_udp_conn_t *sc, curvecp_stats_t *moved)
{
    lab->paused = true;
    quiesce (lab);
    snapshot_t s0, s1;
    snapshot (lab, sc, &s0);
    uint64_t want[CURVECP_REASON_COUNT] = { 0 }, sent = 0;
    uint64_t forger_cookies = lab->forger_cookies;
    send_replays (lab, want, &sent);
    send_forgeries (lab, want, &sent);
    send_bad_initiates (lab, want, &sent);
    turn_until_read (lab, s0.info.datagrams_in + sent);
    quiesce (lab);
    snapshot (lab, sc, &s1);
    check_stats_moved ("replayed and forged", &s0.server, &s1.server, want, CURVECP_REASON_COUNT);
    CHECK_EQ (s1.info.datagrams_in - s0.info.datagrams_in, sent);
    CHECK_EQ (s1.info.hellos - s0.info.hellos, 2);                /* the forger's own Hellos */
    CHECK_EQ (lab->forger_cookies - forger_cookies, 2);            /* their Cookies, nothing else */
    CHECK_EQ (lab->forger_unexpected, 0);
    CHECK_EQ (s1.connections, s0.connections);
    CHECK_EQ (s1.info.connections, s0.info.connections);
    CHECK (curvecp_udp_server_accept (lab->f.server) == NULL);
    /* the live connection: not one packet taken, its stream untouched */
    CHECK_EQ (s1.conn_info.packets_in, s0.conn_info.packets_in);
    CHECK_EQ (s1.conn.counts[CURVECP_OK], s0.conn.counts[CURVECP_OK]);
    CHECK_MEM (&s1.stream, &s0.stream, sizeof s1.stream);
    CHECK_EQ (s1.readable, s0.readable);
    CHECK (curvecp_udp_addr_equal (&s1.peer, &s0.peer));
    CHECK_EQ (s1.conn_info.roams, 0);
    for (int r = 0; r < CURVECP_REASON_COUNT; r++)
        moved->counts[r] = s1.server.counts[r] - s0.server.counts[r];
    printf ("replayed and forged: %llu packets, each refused for its reason; live connection untouched\n",
            (unsigned long long) sent);
    lab->paused = false;
}

/* ---- the transfer ------------------------------------------------------ */

typedef struct {
    double seconds;
    unsigned long allocations;
    uint64_t hellos_answered;
} run_t;

/* A real client through the relay, 1 MB each way, with or without the
   flood; attack: pause halfway for test_replayed_forged. */
static run_t
transfer (lab_t *lab, junk_t *junk_set, bool flood_on, bool attack)
{
    curvecp_udp_client_config_t config;
    client_config (&lab->f, &config);
    curvecp_udp_socket_local (lab->front, &config.addrs[0]);
    flood_t fl = { .junk_set = junk_set };
    curvecp_stats_t before = *curvecp_udp_server_stats (lab->f.server);
    uint64_t hellos = curvecp_udp_server_info (lab->f.server)->hellos;
    uint64_t dropped = curvecp_udp_server_info (lab->f.server)->hellos_dropped;
    uint64_t cookies = lab->cookies;
    unsigned long allocs = allocations;
    uint64_t start = curvecp_clock_now ();
    lab->client = curvecp_udp_client_new (&config, start);
    CHECK (lab->client);
    curvecp_udp_conn_t *cc = curvecp_udp_client_conn (lab->client), *sc = NULL;
    pump_t up = { 0, 0, TRANSFER, 3, false }, down = { 0, 0, TRANSFER, 5, false };
    bool attacked = false;
    curvecp_stats_t paused = { { 0 } };
    uint64_t flood_seconds_ns = 0;
    while (!(curvecp_udp_conn_done (cc) && sc && curvecp_udp_conn_done (sc))) {
        if (curvecp_clock_now () - start > 3 * WAIT_LIMIT_NS) {
            fprintf (stderr, "stuck: up %llu down %llu, flood %llu Hellos\n", (unsigned long long) up.received,
                     (unsigned long long) down.received, (unsigned long long) fl.hellos);
            exit (1);
        }
        if (flood_on)
            flood_burst (lab, &fl, BURST_HELLOS, BURST_JUNK);
        turn (lab);
        if (!sc)
            sc = curvecp_udp_server_accept (lab->f.server);
        pump (cc, &up, &down);
        if (sc)
            pump (sc, &down, &up);
        CHECK (!curvecp_udp_conn_failed (cc));
        if (attack && !attacked && up.received > TRANSFER / 2 && down.received > TRANSFER / 2
        &&  lab->msg_count == CAPTURED) {
            uint64_t paused_at = curvecp_clock_now ();
            test_replayed_forged (lab, sc, &paused);
            attacked = true;
            flood_seconds_ns += curvecp_clock_now () - paused_at;
        }
    }
    run_t run;
    run.seconds = (double) (curvecp_clock_now () - start - flood_seconds_ns) / 1e9;
    CHECK (!attack || attacked);
    CHECK_EQ (up.received, TRANSFER);
    CHECK_EQ (down.received, TRANSFER);
    CHECK_EQ (curvecp_udp_conn_received_eof (cc), CURVECP_EOF_SUCCESS);
    CHECK_EQ (curvecp_udp_conn_received_eof (sc), CURVECP_EOF_SUCCESS);
    /* every flood datagram read, answered or not as it should be */
    quiesce (lab);
    curvecp_stats_t after = *curvecp_udp_server_stats (lab->f.server);
    for (int r = 0; r < CURVECP_REASON_COUNT; r++)    /* take the paused part out */
        after.counts[r] -= paused.counts[r];
    /* the client's packets are all good: the server's OK count is the
       flood's Hellos, the client's Hellos and the connection's packets,
       less the Hellos the server's full queue dropped (a self-paced flood
       rarely fills it; each dropped one is counted, none answered) */
    uint64_t client_hellos = (uint64_t) curvecp_udp_client_hellos (lab->client);
    uint64_t hellos_dropped = curvecp_udp_server_info (lab->f.server)->hellos_dropped - dropped;
    fl.want[CURVECP_OK] += client_hellos + curvecp_udp_conn_info (sc)->packets_in - hellos_dropped;
    fl.want[CURVECP_E_OVERLOADED] += hellos_dropped;
    check_stats_moved (flood_on ? "flood during transfer" : "transfer", &before, &after, fl.want,
                       CURVECP_REASON_COUNT);
    run.hellos_answered = curvecp_udp_server_info (lab->f.server)->hellos - hellos - (attacked ? 2 : 0);
    CHECK_EQ (run.hellos_answered + hellos_dropped, fl.hellos + client_hellos);
    /* every flood Hello answered got its Cookie; the rest went to the client */
    uint64_t flood_cookies = lab->cookies - cookies;
    CHECK (flood_cookies <= fl.hellos);
    CHECK (run.hellos_answered - flood_cookies >= 1);
    CHECK (run.hellos_answered - flood_cookies <= client_hellos);
    if (hellos_dropped > 0)
        printf ("(%llu Hellos dropped from the server's full queue)\n", (unsigned long long) hellos_dropped);
    CHECK_EQ (lab->flood_unexpected, 0);
    CHECK_EQ (curvecp_udp_server_info (lab->f.server)->connections, 1);
    /* the connection ends and is freed */
    curvecp_udp_conn_close (&sc);
    uint64_t wait = curvecp_clock_now ();
    while (curvecp_udp_server_connections (lab->f.server) > 0) {
        CHECK (curvecp_clock_now () - wait < WAIT_LIMIT_NS);
        turn (lab);
    }
    run.allocations = allocations - allocs;
    printf ("transfer %s flood: %.3f s, %llu flood Hellos answered (%.0f/s), %lu server allocations\n",
            flood_on ? "with" : "without", run.seconds, (unsigned long long) fl.hellos,
            (double) fl.hellos / run.seconds, run.allocations);
    return run;
}

/* 4. After the connection has ended, its Initiate again, from the relay's
      address and from elsewhere: the replay cache drops both. */
static void
test_initiate_after_end (lab_t *lab)
{
    CHECK (lab->initiate_len > 0);
    curvecp_stats_t before = *curvecp_udp_server_stats (lab->f.server);
    curvecp_udp_server_info_t info = *curvecp_udp_server_info (lab->f.server);
    uint64_t forger_cookies = lab->forger_cookies;
    send_raw (lab->back, &lab->f.addr, lab->initiate, lab->initiate_len);
    send_raw (lab->forger, &lab->f.addr, lab->initiate, lab->initiate_len);
    lab->paused = true;                  /* so the relay does not eat an answer */
    turn_until_read (lab, info.datagrams_in + 2);
    uint64_t want[CURVECP_REASON_COUNT] = { 0 };
    want[CURVECP_E_REPLAYED_INITIATE] = 2;
    check_stats_moved ("initiate after end", &before, curvecp_udp_server_stats (lab->f.server), want,
                       CURVECP_REASON_COUNT);
    CHECK_EQ (curvecp_udp_server_connections (lab->f.server), 0);
    CHECK_EQ (curvecp_udp_server_info (lab->f.server)->connections, info.connections);
    CHECK_EQ (curvecp_udp_server_info (lab->f.server)->datagrams_out, info.datagrams_out);
    CHECK_EQ (lab->forger_cookies, forger_cookies);
    CHECK_EQ (lab->forger_unexpected, 0);
    CHECK_EQ (curvecp_udp_socket_receive (lab->back), 0);
    CHECK (curvecp_udp_server_accept (lab->f.server) == NULL);
    printf ("initiate after its connection ended: dropped twice (replay cache)\n");
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    fake_client_t *fakes = calloc (FAKES, sizeof *fakes);
    junk_t *junk_set = calloc (JUNK, sizeof *junk_set);
    CHECK (fakes && junk_set);

    /* without flood: the reference time and allocations */
    lab_t lab;
    lab_start (&lab, fakes);
    run_t quiet = transfer (&lab, junk_set, false, false);
    lab_stop (&lab);

    lab_start (&lab, fakes);
    for (int i = 0; i < FAKES; i++)
        fake_init (&fakes[i], lab.f.keys.public_key, (uint32_t) i);
    for (int i = 0; i < JUNK; i++)
        make_junk (&junk_set[i], i % JUNK_KINDS, &fakes[i], lab.f.ext);
    test_flood_alone (&lab, junk_set);
    run_t flooded = transfer (&lab, junk_set, true, true);
    test_initiate_after_end (&lab);
    lab_stop (&lab);
    /* one connection costs the same with thousands of Hellos around it
       (and the counter works: a connection does allocate) */
    CHECK (quiet.allocations > 0);
    CHECK_EQ (flooded.allocations, quiet.allocations);
    printf ("figures: flood %.0f Hellos/s answered; transfer %.3f s quiet, %.3f s flooded (x%.2f)\n",
            (double) flooded.hellos_answered / flooded.seconds, quiet.seconds, flooded.seconds,
            flooded.seconds / quiet.seconds);
    sodium_memzero (fakes, FAKES * sizeof *fakes);
    free (fakes);
    free (junk_set);
    printf ("test_harden_flood: OK\n");
    return 0;
}
