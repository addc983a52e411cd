/*  test_udp_flood.c - the UDP server under more Hellos than it can
    answer, on 127.0.0.1, bounded in count and time:

      1. the Hello queue alone (core/curvecp_hello_queue, the UDP
         address as the source): one source may fill
         it; sources are served round-robin; a full queue makes room for
         an arrival from a shorter lane by dropping the oldest Hello of
         the longest lane, and refuses an arrival whose own lane is (one
         of) the longest;
      2. a server with a 4-Hello queue and a 1 ns budget: 12 Hellos from
         one socket and 1 from another, read in one call: 9 dropped and
         counted overloaded (never answered), the other socket's Hello
         answered second, one Cookie per process call, each for its Hello;
      3. a token bucket of 10 Hellos/s: one Hello, then none until the
         deadline the server gives, then one more;
      4. a real client connects and moves 1 MB each way while one local
         sender floods valid Hellos as fast as it can (its own thread,
         started before the client, with the server already dropping):
         the transfer completes byte-exact within a generous 20 s, and
         every datagram the server read is counted once, each dropped
         Hello as overloaded;
      5. the pending-memory budget (shared with the ØMQ server through
         the core listener): with room for two unconfirmed connections,
         five clients' Initiates admit two and refuse three [full] (their
         Hellos still answered); one admitted client's Client Message
         confirms it and returns its charge, and a refused client's
         Initiate, sent again, is admitted.                               */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include "core/curvecp_hello_queue.h"
#include "test_harden_util.h"
#include "test_udp_util.h"

#define TRANSFER 1000000               /* bytes each way */
#define FAKES    256                   /* flood short-term keys */
#define BURST    32                    /* flood datagrams per sendmmsg */

/* ---- 1. the queue alone ----------------------------------------------- */

static void
addr_of (int port, curvecp_udp_addr_t *addr)
{
    CHECK_EQ (curvecp_udp_addr_parse ("127.0.0.1", (uint16_t) port, addr), CURVECP_OK);
}

/* A Hello whose first bytes say who sent it and which one it is. */
static void
tagged (uint8_t hello[CURVECP_HELLO_BYTES], char source, int n)
{
    memset (hello, 0, CURVECP_HELLO_BYTES);
    hello[0] = (uint8_t) source;
    hello[1] = (uint8_t) n;
}

static void
push (curvecp_hello_queue_t *q, const curvecp_udp_addr_t *from, char source, int n, bool dropped)
{
    uint8_t hello[CURVECP_HELLO_BYTES];
    tagged (hello, source, n);
    CHECK_EQ (curvecp_hello_queue_push (q, hello, (const uint8_t *) &from->sa, from->len), dropped);
}

static bool
take_any (curvecp_hello_queue_t *q, uint8_t *hello, curvecp_udp_addr_t *from)
{
    memset (from, 0, sizeof *from);
    size_t len;
    if (!curvecp_hello_queue_take (q, hello, (uint8_t *) &from->sa, &len))
        return false;
    from->len = (socklen_t) len;
    return true;
}

static void
take (curvecp_hello_queue_t *q, const curvecp_udp_addr_t *want_from, char source, int n)
{
    uint8_t hello[CURVECP_HELLO_BYTES], want[CURVECP_HELLO_BYTES];
    curvecp_udp_addr_t from;
    CHECK (take_any (q, hello, &from));
    tagged (want, source, n);
    CHECK_MEM (hello, want, sizeof want);
    CHECK (curvecp_udp_addr_equal (&from, want_from));
}

static void
test_queue (void)
{
    CHECK (curvecp_hello_queue_new (0, sizeof (struct sockaddr_storage), NULL) == NULL);
    CHECK (curvecp_hello_queue_new (4, 0, NULL) == NULL);
    curvecp_udp_addr_t a, b, c;
    addr_of (1000, &a);
    addr_of (1001, &b);
    addr_of (1002, &c);
    uint8_t hello[CURVECP_HELLO_BYTES];
    curvecp_udp_addr_t from;

    /* one source fills the whole queue; one more is refused */
    curvecp_hello_queue_t *q = curvecp_hello_queue_new (1024, sizeof (struct sockaddr_storage), NULL);
    CHECK (q);
    for (int i = 0; i < 1024; i++)
        push (q, &a, 'a', i & 0xff, false);
    push (q, &a, 'a', 0, true);
    CHECK_EQ (curvecp_hello_queue_count (q), 1024);
    for (int i = 0; i < 1024; i++)
        take (q, &a, 'a', i & 0xff);
    CHECK (!take_any (q, hello, &from));
    CHECK_EQ (curvecp_hello_queue_count (q), 0);

    /* round-robin over three sources, each in arrival order */
    for (int i = 0; i < 3; i++)
        push (q, &a, 'a', i, false);
    for (int i = 0; i < 3; i++)
        push (q, &b, 'b', i, false);
    for (int i = 0; i < 3; i++)
        push (q, &c, 'c', i, false);
    for (int i = 0; i < 3; i++) {
        take (q, &a, 'a', i);
        take (q, &b, 'b', i);
        take (q, &c, 'c', i);
    }
    CHECK (!take_any (q, hello, &from));
    curvecp_hello_queue_destroy (&q);
    CHECK (q == NULL);
    curvecp_hello_queue_destroy (&q);

    /* full: a shorter lane's arrival evicts the longest lane's oldest */
    q = curvecp_hello_queue_new (4, sizeof (struct sockaddr_storage), NULL);
    for (int i = 0; i < 4; i++)
        push (q, &a, 'a', i, false);
    push (q, &a, 'a', 4, true);                  /* a is the longest: refused */
    push (q, &b, 'b', 0, true);                  /* evicts a0 */
    push (q, &b, 'b', 1, true);                  /* b 1 < a 3: evicts a1 */
    push (q, &b, 'b', 2, true);                  /* b 2 = a 2: refused */
    push (q, &c, 'c', 0, true);                  /* evicts the oldest of a or b */
    CHECK_EQ (curvecp_hello_queue_count (q), 4);
    int seen_a = 0, seen_b = 0, seen_c = 0;
    while (take_any (q, hello, &from)) {
        seen_a += hello[0] == 'a';
        seen_b += hello[0] == 'b';
        seen_c += hello[0] == 'c';
        CHECK (hello[0] != 'a' || hello[1] >= 2);
        CHECK (hello[0] != 'b' || hello[1] <= 1);
    }
    CHECK_EQ (seen_a + seen_b, 3);
    CHECK_EQ (seen_c, 1);
    CHECK (seen_a >= 1 && seen_b >= 1);
    curvecp_hello_queue_destroy (&q);
    printf ("queue: one source fills it, round-robin over sources, full queue evicts from the longest lane\n");
}

/* ---- 2 and 3. a server with a small queue, a tiny budget, a rate ------- */

typedef struct {
    fixture_t f;
    curvecp_udp_socket_t *a, *b;
    fake_client_t fakes[13];
} small_t;

static void
small_start (small_t *s, size_t queue, uint64_t budget_ns, uint32_t rate)
{
    memset (s, 0, sizeof *s);
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.hello_queue = queue;
    config.hello_budget_ns = budget_ns;
    config.hello_rate = rate;
    fixture_start_with (&s->f, &config, "127.0.0.1");
    s->a = loopback_socket ();
    s->b = loopback_socket ();
    for (uint32_t i = 0; i < 13; i++)
        fake_init (&s->fakes[i], s->f.keys.public_key, i);
}

static void
small_stop (small_t *s)
{
    curvecp_udp_socket_destroy (&s->a);
    curvecp_udp_socket_destroy (&s->b);
    curvecp_udp_server_destroy (&s->f.server);
    sodium_memzero (s->fakes, sizeof s->fakes);
}

static void
send_hello (small_t *s, curvecp_udp_socket_t *sock, int fake)
{
    uint8_t hello[CURVECP_HELLO_BYTES];
    fake_hello (&s->fakes[fake], s->f.ext, 1, hello);
    send_raw (sock, &s->f.addr, hello, sizeof hello);
}

/* The one Cookie that must have come to sock: for fake want, and no other
   datagram. Waits (bounded) for it. */
static void
expect_cookie (small_t *s, curvecp_udp_socket_t *sock, long want)
{
    uint64_t start = curvecp_clock_now ();
    int n;
    while ((n = curvecp_udp_socket_receive (sock)) == 0) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        struct pollfd pfd = { curvecp_udp_socket_fd (sock), POLLIN, 0 };
        curvecp_udp_poll (&pfd, 1, curvecp_clock_now () + 10000000ull);
    }
    CHECK_EQ (n, 1);
    size_t len;
    const curvecp_udp_addr_t *from;
    const uint8_t *d = curvecp_udp_socket_datagram (sock, 0, &len, &from);
    CHECK_EQ (len, CURVECP_COOKIE_BYTES);
    CHECK_EQ (fake_index (d + 8, 13), want);
    CHECK_EQ (fake_take_cookie (&s->fakes[want], d, len, s->f.ext), CURVECP_OK);
}

static void
expect_nothing (curvecp_udp_socket_t *sock)
{
    struct pollfd pfd = { curvecp_udp_socket_fd (sock), POLLIN, 0 };
    curvecp_udp_poll (&pfd, 1, curvecp_clock_now () + 20000000ull);
    CHECK_EQ (curvecp_udp_socket_receive (sock), 0);
}

static void
test_small_queue (void)
{
    small_t s;
    small_start (&s, 4, 1, 0);
    for (int i = 0; i < 12; i++)
        send_hello (&s, s.a, i);
    send_hello (&s, s.b, 12);
    const curvecp_stats_t *stats = curvecp_udp_server_stats (s.f.server);
    /* one call reads all 13 (loopback delivered them already) and answers
       one: a's first four are queued, the next eight refused (a's lane is
       the longest), b's evicts a0 */
    const long order[] = { 1, 12, 2, 3 };
    for (int call = 0; call < 4; call++) {
        CHECK_EQ (curvecp_udp_server_deadline (s.f.server), call == 0 ? UINT64_MAX : 0);
        curvecp_udp_server_process (s.f.server, curvecp_clock_now ());
        const curvecp_udp_server_info_t *info = curvecp_udp_server_info (s.f.server);
        CHECK_EQ (info->datagrams_in, 13);
        CHECK_EQ (info->hellos, (uint64_t) call + 1);
        CHECK_EQ (info->hellos_waiting, (uint64_t) (3 - call));
        CHECK_EQ (info->hellos_dropped, 9);
        CHECK_EQ (stats->counts[CURVECP_OK], (uint64_t) call + 1);
        CHECK_EQ (stats->counts[CURVECP_E_OVERLOADED], 9);
        CHECK_EQ (curvecp_stats_rejected (stats), 9);
        expect_cookie (&s, order[call] == 12 ? s.b : s.a, order[call]);
    }
    CHECK_EQ (curvecp_udp_server_deadline (s.f.server), UINT64_MAX);
    curvecp_udp_server_process (s.f.server, curvecp_clock_now ());
    CHECK_EQ (curvecp_udp_server_info (s.f.server)->hellos, 4);
    expect_nothing (s.a);
    expect_nothing (s.b);
    for (int i = 0; i < 13; i++)
        CHECK_EQ (s.fakes[i].cookies, i == 12 || (i >= 1 && i <= 3));
    CHECK_EQ (curvecp_udp_server_connections (s.f.server), 0);
    small_stop (&s);
    printf ("small queue: 13 Hellos, 9 dropped as overloaded, 4 answered one per call (the second source second)\n");
}

static void
test_rate (void)
{
    small_t s;
    small_start (&s, 0, 0, 10);
    for (int i = 0; i < 3; i++)
        send_hello (&s, s.a, i);
    uint64_t now = curvecp_clock_now ();
    curvecp_udp_server_process (s.f.server, now);
    CHECK_EQ (curvecp_udp_server_info (s.f.server)->hellos, 1);
    CHECK_EQ (curvecp_udp_server_info (s.f.server)->hellos_waiting, 2);
    expect_cookie (&s, s.a, 0);
    uint64_t next = curvecp_udp_server_deadline (s.f.server);
    CHECK (next > now + 90000000ull && next <= now + 101000000ull);   /* 1/10 s after the first */
    curvecp_udp_server_process (s.f.server, now + 1000);
    CHECK_EQ (curvecp_udp_server_info (s.f.server)->hellos, 1);
    curvecp_udp_server_process (s.f.server, next);
    CHECK_EQ (curvecp_udp_server_info (s.f.server)->hellos, 2);
    CHECK_EQ (curvecp_udp_server_info (s.f.server)->hellos_waiting, 1);
    expect_cookie (&s, s.a, 1);
    CHECK_EQ (curvecp_stats_rejected (curvecp_udp_server_stats (s.f.server)), 0);
    small_stop (&s);
    printf ("rate 10/s: one Hello, none before the deadline, one at it\n");
}

/* ---- 4. a transfer under an unpaced flood ------------------------------ */

typedef struct {
    curvecp_udp_socket_t *sock;
    curvecp_udp_addr_t to;
    uint8_t (*hellos)[CURVECP_HELLO_BYTES];
    atomic_bool stop;
    atomic_ulong sent;
} flooder_t;

static void *
flooder_main (void *arg)
{
    flooder_t *fl = arg;
    int fd = curvecp_udp_socket_fd (fl->sock);
    struct mmsghdr msgs[BURST];
    struct iovec iov[BURST];
    unsigned long sent = 0;
    while (!atomic_load (&fl->stop)) {
        for (int i = 0; i < BURST; i++) {
            iov[i] = (struct iovec) { fl->hellos[(sent + (unsigned long) i) % FAKES], CURVECP_HELLO_BYTES };
            msgs[i].msg_hdr = (struct msghdr) { .msg_name = &fl->to.sa, .msg_namelen = fl->to.len,
                                                .msg_iov = &iov[i], .msg_iovlen = 1 };
        }
        int n = sendmmsg (fd, msgs, BURST, 0);
        if (n > 0)
            atomic_store (&fl->sent, sent += (unsigned long) n);
        while (curvecp_udp_socket_receive (fl->sock) > 0)      /* Cookies: not needed */
            ;
    }
    return NULL;
}

static uint64_t
stats_total (const curvecp_stats_t *stats)
{
    return stats->counts[CURVECP_OK] + curvecp_stats_rejected (stats);
}

static void
test_transfer_under_flood (void)
{
    fixture_t f;
    memset (&f, 0, sizeof f);
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.linger_ns = 50000000ull;
    fixture_start_with (&f, &config, "127.0.0.1");
    flooder_t fl;
    memset (&fl, 0, sizeof fl);
    fl.sock = loopback_socket ();
    fl.to = f.addr;
    fl.hellos = calloc (FAKES, sizeof *fl.hellos);
    CHECK (fl.hellos);
    for (uint32_t i = 0; i < FAKES; i++) {
        fake_client_t fake;
        fake_init (&fake, f.keys.public_key, i);
        fake_hello (&fake, f.ext, 1, fl.hellos[i]);
        sodium_memzero (&fake, sizeof fake);
    }
    pthread_t thread;
    CHECK (pthread_create (&thread, NULL, flooder_main, &fl) == 0);
    /* the flood is beyond what the server answers before the client starts */
    uint64_t start = curvecp_clock_now ();
    while (curvecp_udp_server_info (f.server)->hellos_dropped == 0) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        step (&f, NULL);
    }
    uint64_t flood_start = curvecp_clock_now ();
    curvecp_udp_client_t *client = client_start (&f, NULL, NULL);
    curvecp_udp_conn_t *cc = curvecp_udp_client_conn (client), *sc = NULL;
    pump_t up = { 0, 0, TRANSFER, 3, false }, down = { 0, 0, TRANSFER, 5, false };
    start = curvecp_clock_now ();
    while (!(curvecp_udp_conn_done (cc) && sc && curvecp_udp_conn_done (sc))) {
        if (curvecp_clock_now () - start > WAIT_LIMIT_NS) {
            fprintf (stderr, "stuck under flood: up %llu down %llu bytes, connected %d\n",
                     (unsigned long long) up.received, (unsigned long long) down.received, sc != NULL);
            exit (1);
        }
        step (&f, client);
        if (!sc)
            sc = curvecp_udp_server_accept (f.server);
        pump (cc, &up, &down);
        if (sc)
            pump (sc, &down, &up);
        CHECK (!curvecp_udp_conn_failed (cc));
    }
    double seconds = (double) (curvecp_clock_now () - start) / 1e9;
    atomic_store (&fl.stop, true);
    pthread_join (thread, NULL);
    double offered = (double) atomic_load (&fl.sent) / ((double) (curvecp_clock_now () - flood_start) / 1e9);
    CHECK_EQ (up.received, TRANSFER);
    CHECK_EQ (down.received, TRANSFER);
    CHECK_EQ (curvecp_udp_conn_received_eof (cc), CURVECP_EOF_SUCCESS);
    CHECK_EQ (curvecp_udp_conn_received_eof (sc), CURVECP_EOF_SUCCESS);
    /* what is still on its way, then every datagram's fate */
    uint64_t seen = UINT64_MAX;
    start = curvecp_clock_now ();
    for (int stable = 0; stable < 5;) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        step (&f, client);
        const curvecp_udp_server_info_t *info = curvecp_udp_server_info (f.server);
        stable = info->datagrams_in == seen && info->hellos_waiting == 0 ? stable + 1 : 0;
        seen = info->datagrams_in;
    }
    const curvecp_stats_t *stats = curvecp_udp_server_stats (f.server);
    const curvecp_udp_server_info_t *info = curvecp_udp_server_info (f.server);
    CHECK_EQ (stats_total (stats), info->datagrams_in);
    CHECK_EQ (stats->counts[CURVECP_E_OVERLOADED], info->hellos_dropped);
    CHECK (info->hellos_dropped > 0);
    CHECK_EQ (info->connections, 1);
    printf ("unpaced flood (%.0f Hellos/s offered): 1 MB each way in %.3f s; %llu Hellos answered, %llu dropped (overloaded)\n",
            offered, seconds, (unsigned long long) info->hellos, (unsigned long long) info->hellos_dropped);
    curvecp_udp_conn_close (&sc);
    curvecp_udp_client_destroy (&client);
    curvecp_udp_socket_destroy (&fl.sock);
    free (fl.hellos);
    curvecp_udp_server_destroy (&f.server);
}

/* ---- 5. the pending-memory budget ------------------------------------ */

#define PENDING_CLIENTS 5

typedef struct {
    fixture_t f;
    curvecp_udp_socket_t *sock;
    fake_client_t fakes[PENDING_CLIENTS];
    curvecp_keypair_t long_term;
} pending_t;

static void
pending_start (pending_t *p, size_t budget)
{
    memset (p, 0, sizeof *p);
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.max_pending_memory = budget;
    fixture_start_with (&p->f, &config, "127.0.0.1");
    p->sock = loopback_socket ();
    curvecp_keypair_generate (&p->long_term);
    for (uint32_t i = 0; i < PENDING_CLIENTS; i++)
        fake_init (&p->fakes[i], p->f.keys.public_key, i);
}

static void
pending_stop (pending_t *p)
{
    curvecp_udp_socket_destroy (&p->sock);
    curvecp_udp_server_destroy (&p->f.server);
    sodium_memzero (p, sizeof *p);
}

/* Run the server until it has handled total datagrams (bounded wait),
   taking any Cookies for the fakes. */
static void
pending_run (pending_t *p, uint64_t total)
{
    uint64_t start = curvecp_clock_now ();
    for (;;) {
        const curvecp_stats_t *stats = curvecp_udp_server_stats (p->f.server);
        if (stats->counts[CURVECP_OK] + curvecp_stats_rejected (stats) >= total)
            break;
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        struct pollfd pfd = { curvecp_udp_server_fd (p->f.server), POLLIN, 0 };
        curvecp_udp_poll (&pfd, 1, curvecp_clock_now () + 10000000ull);
        curvecp_udp_server_process (p->f.server, curvecp_clock_now ());
    }
    int n;
    while ((n = curvecp_udp_socket_receive (p->sock)) > 0)
        for (int i = 0; i < n; i++) {
            size_t len;
            const curvecp_udp_addr_t *from;
            const uint8_t *d = curvecp_udp_socket_datagram (p->sock, i, &len, &from);
            long who = len == CURVECP_COOKIE_BYTES ? fake_index (d + 8, PENDING_CLIENTS) : -1;
            if (who >= 0)
                fake_take_cookie (&p->fakes[who], d, len, p->f.ext);
        }
}

static uint64_t
handled (pending_t *p)
{
    const curvecp_stats_t *stats = curvecp_udp_server_stats (p->f.server);
    return stats->counts[CURVECP_OK] + curvecp_stats_rejected (stats);
}

/* Hellos for clients [from, to), answered; then their Initiates. */
static void
pending_connect (pending_t *p, int from, int to)
{
    for (int i = from; i < to; i++) {
        uint8_t hello[CURVECP_HELLO_BYTES];
        fake_hello (&p->fakes[i], p->f.ext, 1, hello);
        send_raw (p->sock, &p->f.addr, hello, sizeof hello);
    }
    pending_run (p, handled (p) + (uint64_t) (to - from));
    uint64_t start = curvecp_clock_now ();
    for (int i = from; i < to; i++)
        while (p->fakes[i].cookies == 0) {
            CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
            pending_run (p, 0);
        }
    for (int i = from; i < to; i++) {
        uint8_t initiate[CURVECP_PACKET_MAX];
        initiate_fault_t valid = { "test.example", NULL, NULL, false };
        size_t len = fake_initiate (&p->fakes[i], &p->long_term, p->f.keys.public_key, p->f.ext, 2, &valid,
                                    initiate);
        send_raw (p->sock, &p->f.addr, initiate, len);
    }
    pending_run (p, handled (p) + (uint64_t) (to - from));
}

/* A Client Message (a zero message: an acknowledgment of nothing) from
   a client whose Initiate was accepted: it confirms its connection. */
static void
pending_confirm (pending_t *p, int i)
{
    fake_client_t *fake = &p->fakes[i];
    uint8_t shared[32], zero[192] = { 0 }, packet[CURVECP_PACKET_MAX];
    CHECK (crypto_box_beforenm (shared, fake->server_short_pk, fake->short_term.secret_key) == 0);
    size_t len;
    CHECK_EQ (curvecp_client_message_encode_max (packet, &len, CURVECP_MSG_MAX, p->f.ext, fake->ext,
                                                 fake->short_term.public_key, 3, shared, zero, sizeof zero),
              CURVECP_OK);
    sodium_memzero (shared, sizeof shared);
    send_raw (p->sock, &p->f.addr, packet, len);
    pending_run (p, handled (p) + 1);
}

static void
test_pending_budget (void)
{
    /* what one unconfirmed connection is charged, from a server without a budget */
    pending_t p;
    pending_start (&p, 0);
    pending_connect (&p, 0, 1);
    const curvecp_udp_server_info_t *info = curvecp_udp_server_info (p.f.server);
    CHECK_EQ (info->pending, 1);
    uint64_t charge = info->pending_memory;
    CHECK (charge > 0);
    pending_stop (&p);

    pending_start (&p, 2 * charge + charge / 2);
    pending_connect (&p, 0, PENDING_CLIENTS);
    info = curvecp_udp_server_info (p.f.server);
    const curvecp_stats_t *stats = curvecp_udp_server_stats (p.f.server);
    CHECK_EQ (info->hellos, PENDING_CLIENTS);                /* every Hello answered */
    CHECK_EQ (curvecp_udp_server_connections (p.f.server), 2);
    CHECK_EQ (info->pending, 2);
    CHECK_EQ (info->pending_memory, 2 * charge);
    CHECK_EQ (stats->counts[CURVECP_E_FULL], PENDING_CLIENTS - 2);
    CHECK_EQ (info->pending_memory_full, PENDING_CLIENTS - 2);
    CHECK_EQ (stats->counts[CURVECP_OK], PENDING_CLIENTS + 2);
    CHECK_EQ (curvecp_stats_rejected (stats), PENDING_CLIENTS - 2);

    /* which two got in: the first two Initiates read (one batch, in order) */
    pending_confirm (&p, 0);
    CHECK_EQ (stats->counts[CURVECP_OK], PENDING_CLIENTS + 3);
    CHECK_EQ (curvecp_udp_server_info (p.f.server)->pending, 1);
    CHECK_EQ (info->pending_memory, charge);
    /* the room it left takes a refused client's Initiate, sent again */
    uint8_t initiate[CURVECP_PACKET_MAX];
    initiate_fault_t valid = { "test.example", NULL, NULL, false };
    size_t len = fake_initiate (&p.fakes[4], &p.long_term, p.f.keys.public_key, p.f.ext, 4, &valid, initiate);
    send_raw (p.sock, &p.f.addr, initiate, len);
    pending_run (&p, handled (&p) + 1);
    CHECK_EQ (curvecp_udp_server_connections (p.f.server), 3);
    CHECK_EQ (curvecp_udp_server_info (p.f.server)->pending, 2);
    CHECK_EQ (stats->counts[CURVECP_E_FULL], PENDING_CLIENTS - 2);
    pending_stop (&p);
    printf ("pending budget: room for 2 unconfirmed connections; 5 Initiates: 2 admitted, 3 refused [full]; "
            "a Client Message confirms one, a refused Initiate resent is admitted\n");
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_queue ();
    test_small_queue ();
    test_rate ();
    test_transfer_under_flood ();
    test_pending_budget ();
    printf ("test_udp_flood: OK\n");
    return 0;
}
