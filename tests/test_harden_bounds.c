/*  test_harden_bounds.c - a UDP server's memory is bounded per connection,
    and its connection limit takes NaCl's refusal path under load:

      1. N concurrent connections (default 2,000; give 10000 as argument
         for the figure at 10,000), made by full handshakes: heap per idle
         connection (mallinfo2) at most IDLE_BOUND;
      2. at the limit (max_connections = N), 300 more clients do full
         handshakes at once: every Hello answered with exactly one Cookie,
         every Initiate dropped and counted (CURVECP_E_FULL), none
         answered, no connection created, the heap not grown;
      3. a peer cannot make a connection hold more than its receive
         window: clients in a child process each push 1 MB at a server
         that never reads; the server's heap per connection stays at most
         IDLE_BOUND + the receive window.

    The load generator makes every client's handshake state before the
    heap is measured and allocates nothing after, so the heap figures are
    the server's.                                                        */
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "curvecp_zmq_codec_internal.h"
#include "curvecp_hs_client.h"
#include "test_harden_util.h"
#include "test_udp_util.h"
#include "curvecp_udp_internal.h"

/* Heap bytes in use: glibc's count, or the sanitizer's when it owns malloc. */
#if defined (__SANITIZE_ADDRESS__)
#define HEAP_FROM_SANITIZER 1
#elif defined (__has_feature)
#if __has_feature (address_sanitizer)
#define HEAP_FROM_SANITIZER 1
#endif
#endif
#ifdef HEAP_FROM_SANITIZER
size_t __sanitizer_get_current_allocated_bytes (void);   /* the sanitizer's runtime */
static size_t
heap_in_use (void)
{
    return __sanitizer_get_current_allocated_bytes ();
}
#else
static size_t
heap_in_use (void)
{
    return mallinfo2 ().uordblks;
}
#endif

#define IDLE_BOUND   16384            /* bytes of heap per idle connection */
#define OVER_LIMIT   300              /* clients refused at the limit */
#define WINDOW       64               /* handshakes in flight */
#define PUSHERS      32               /* clients pushing data nobody reads */
#define PUSH_BYTES   3000000          /* more than the UDP window (2 MiB) */

typedef struct {
    curvecp_hs_client_t *hs;
    curvecp_session_t session;
    uint8_t hello[CURVECP_HELLO_BYTES];
    bool cookie;
} raw_client_t;

static void
raw_clients_make (raw_client_t *clients, int count, const fixture_t *f)
{
    for (int i = 0; i < count; i++) {
        uint8_t ext[CURVECP_EXT_BYTES];
        fake_ext (ext, (uint32_t) i);
        memset (&clients[i], 0, sizeof clients[i]);
        clients[i].hs = curvecp_hs_client_new (f->keys.public_key, "test.example", f->ext, ext, NULL, NULL);
        CHECK (clients[i].hs);
        int attempt;
        CHECK_EQ (curvecp_hs_client_hello (clients[i].hs, 0, clients[i].hello, &attempt), CURVECP_OK);
    }
}

static void
raw_clients_free (raw_client_t *clients, int count)
{
    for (int i = 0; i < count; i++) {
        curvecp_hs_client_destroy (&clients[i].hs);
        curvecp_session_wipe (&clients[i].session);
    }
}

typedef struct {
    int cookies;            /* Cookies that opened */
    int others;             /* any other datagram that came back */
} drive_t;

/* Take what came back to sock: a Cookie opens its client's session and
   its Initiate (a 192-byte zero message) goes out at once. */
static void
raw_receive (curvecp_udp_socket_t *sock, const fixture_t *f, raw_client_t *clients, int count,
             drive_t *d)
{
    int n;
    while ((n = curvecp_udp_socket_receive (sock)) > 0)
        for (int i = 0; i < n; i++) {
            size_t len;
            const curvecp_udp_addr_t *from;
            const uint8_t *p = curvecp_udp_socket_datagram (sock, i, &len, &from);
            long k = len == CURVECP_COOKIE_BYTES ? fake_index (p + 8, count) : -1;
            if (k < 0 || clients[k].cookie
            ||  curvecp_hs_client_cookie (clients[k].hs, p, len, &clients[k].session) != CURVECP_OK) {
                d->others++;
                continue;
            }
            clients[k].cookie = true;
            d->cookies++;
            uint8_t message[CURVECP_MESSAGE_ACK_BYTES] = { 0 }, packet[CURVECP_PACKET_MAX];
            size_t plen;
            CHECK_EQ (curvecp_session_seal (&clients[k].session, message, sizeof message, packet, &plen),
                      CURVECP_OK);
            send_raw (sock, &f->addr, packet, plen);
        }
}

/* Every client through Hello, Cookie and Initiate, WINDOW at a time; the
   server runs in this thread. Returns when every Cookie came and the
   server has read every Initiate. */
static drive_t
drive (fixture_t *f, curvecp_udp_socket_t *sock, raw_client_t *clients, int count)
{
    drive_t d = { 0, 0 };
    int next = 0;
    uint64_t in = curvecp_udp_server_info (f->server)->datagrams_in;
    uint64_t start = curvecp_clock_now ();
    while (d.cookies < count || curvecp_udp_server_info (f->server)->datagrams_in < in + 2 * (uint64_t) count) {
        CHECK (curvecp_clock_now () - start < 6 * WAIT_LIMIT_NS);
        while (next < count && next - d.cookies < WINDOW) {
            send_raw (sock, &f->addr, clients[next].hello, CURVECP_HELLO_BYTES);
            next++;
        }
        struct pollfd pfd = { curvecp_udp_server_fd (f->server), POLLIN, 0 };
        curvecp_udp_poll (&pfd, 1, curvecp_clock_now () + 2000000ull);
        curvecp_udp_server_process (f->server, curvecp_clock_now ());
        raw_receive (sock, f, clients, count, &d);
    }
    curvecp_udp_server_process (f->server, curvecp_clock_now ());
    return d;
}

/* 1 and 2: N idle connections, then OVER_LIMIT more refused. */
static void
test_idle_and_limit (int n)
{
    fixture_t f;
    memset (&f, 0, sizeof f);
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.max_connections = n;
    fixture_start_with (&f, &config, "127.0.0.1");
    raw_client_t *clients = calloc ((size_t) n, sizeof *clients);
    raw_client_t *late = calloc (OVER_LIMIT, sizeof *late);
    CHECK (clients && late);
    raw_clients_make (clients, n, &f);
    raw_clients_make (late, OVER_LIMIT, &f);
    curvecp_udp_socket_t *sock = loopback_socket (), *late_sock = loopback_socket ();

    size_t before = heap_in_use ();
    uint64_t start = curvecp_clock_now ();
    drive_t d = drive (&f, sock, clients, n);
    double seconds = (double) (curvecp_clock_now () - start) / 1e9;
    size_t after = heap_in_use ();
    CHECK_EQ (d.cookies, n);
    CHECK_EQ (curvecp_udp_server_connections (f.server), n);
    CHECK_EQ (curvecp_udp_server_info (f.server)->connections, (uint64_t) n);
    double per_conn = (double) (after - before) / n;
    printf ("%d connections in %.2f s: heap %.0f B per idle connection (bound %d)\n", n, seconds, per_conn,
            IDLE_BOUND);
    CHECK (after > before);
    CHECK (per_conn <= IDLE_BOUND);

    /* at the limit: Hellos answered, Initiates dropped, nothing else */
    curvecp_stats_t s0 = *curvecp_udp_server_stats (f.server);
    curvecp_udp_server_info_t i0 = *curvecp_udp_server_info (f.server);
    size_t full_before = heap_in_use ();
    drive_t refused = drive (&f, late_sock, late, OVER_LIMIT);
    for (int k = 0; k < 20; k++) {                  /* anything late would show */
        struct pollfd pfd = { curvecp_udp_socket_fd (late_sock), POLLIN, 0 };
        curvecp_udp_poll (&pfd, 1, curvecp_clock_now () + 1000000ull);
        curvecp_udp_server_process (f.server, curvecp_clock_now ());
        raw_receive (late_sock, &f, late, OVER_LIMIT, &refused);
    }
    size_t full_after = heap_in_use ();
    uint64_t want[CURVECP_REASON_COUNT] = { 0 };
    want[CURVECP_OK] = OVER_LIMIT;                    /* the Hellos */
    want[CURVECP_E_FULL] = OVER_LIMIT;
    check_stats_moved ("at the limit", &s0, curvecp_udp_server_stats (f.server), want, CURVECP_OK);
    /* the idle connections may take nothing: every OK is a late Hello */
    CHECK_EQ (curvecp_udp_server_stats (f.server)->counts[CURVECP_OK] - s0.counts[CURVECP_OK], OVER_LIMIT);
    CHECK_EQ (refused.cookies, OVER_LIMIT);
    CHECK_EQ (refused.others, 0);
    CHECK_EQ (curvecp_udp_server_info (f.server)->hellos - i0.hellos, OVER_LIMIT);
    CHECK_EQ (curvecp_udp_server_connections (f.server), n);
    CHECK_EQ (curvecp_udp_server_info (f.server)->connections, (uint64_t) n);
    CHECK (full_after <= full_before);
    printf ("at the limit: %d Hellos answered, %d Initiates refused (full), none answered; heap %+ld B\n",
            OVER_LIMIT, OVER_LIMIT, (long) full_after - (long) full_before);

    curvecp_udp_server_destroy (&f.server);
    raw_clients_free (clients, n);
    raw_clients_free (late, OVER_LIMIT);
    free (clients);
    free (late);
    curvecp_udp_socket_destroy (&sock);
    curvecp_udp_socket_destroy (&late_sock);
}

/* ---- 3. peers pushing data that no one reads ---------------------------- */

/* The child: PUSHERS clients each writing PUSH_BYTES until killed. */
static void
pushers (fixture_t *f)
{
    curvecp_udp_client_t *clients[PUSHERS];
    for (int i = 0; i < PUSHERS; i++)
        clients[i] = client_start (f, NULL, NULL);
    uint8_t buf[16384];
    memset (buf, 0x5a, sizeof buf);
    uint64_t sent[PUSHERS] = { 0 };
    uint64_t start = curvecp_clock_now ();
    while (curvecp_clock_now () - start < 3 * WAIT_LIMIT_NS) {
        struct pollfd pfd[PUSHERS];
        uint64_t deadline = curvecp_clock_now () + 5000000ull;
        for (int i = 0; i < PUSHERS; i++) {
            pfd[i] = (struct pollfd) { curvecp_udp_client_fd (clients[i]), POLLIN, 0 };
            deadline = earliest (deadline, curvecp_udp_client_deadline (clients[i]));
        }
        curvecp_udp_poll (pfd, PUSHERS, deadline);
        for (int i = 0; i < PUSHERS; i++) {
            curvecp_udp_conn_t *conn = curvecp_udp_client_conn (clients[i]);
            if (sent[i] < PUSH_BYTES)
                sent[i] += curvecp_udp_conn_send (conn, buf, sizeof buf);
            curvecp_udp_client_process (clients[i], curvecp_clock_now ());
        }
    }
    _exit (0);
}

static void
test_window_bound (void)
{
    fixture_t f;
    memset (&f, 0, sizeof f);
    fixture_start (&f, "127.0.0.1", PUSHERS, NULL, NULL);
    pid_t child = fork ();
    CHECK (child >= 0);
    if (child == 0)
        pushers (&f);
    size_t before = heap_in_use ();
    curvecp_udp_conn_t *conns[PUSHERS];
    int accepted = 0;
    uint64_t start = curvecp_clock_now (), still_since = 0;
    size_t total = 0, window = 0, held_max = 0, last_total = 0;
    /* until every connection holds data and none has taken more for 300 ms */
    while (still_since == 0 || curvecp_clock_now () - still_since < 300000000ull) {
        if (curvecp_clock_now () - start > 2 * WAIT_LIMIT_NS) {
            fprintf (stderr, "stuck: %d accepted, %zu bytes held\n", accepted, total);
            kill (child, SIGKILL);
            exit (1);
        }
        step (&f, NULL);
        curvecp_udp_conn_t *c;
        while ((c = curvecp_udp_server_accept (f.server)))
            conns[accepted++] = c;
        total = 0;
        bool all_hold = accepted == PUSHERS;
        for (int i = 0; i < accepted; i++) {
            window = curvecp_stream_receive_window (curvecp_udp_conn_stream (conns[i]));
            size_t held = curvecp_udp_conn_readable (conns[i]);
            held_max = held > held_max ? held : held_max;
            all_hold = all_hold && held > window / 2;
            total += held;
        }
        bool still = all_hold && total == last_total;
        still_since = still ? (still_since ? still_since : curvecp_clock_now ()) : 0;
        last_total = total;
    }
    size_t after = heap_in_use ();
    uint64_t refused = 0;
    for (int i = 0; i < accepted; i++)
        refused += curvecp_stream_info (curvecp_udp_conn_stream (conns[i]))->refused_window;
    kill (child, SIGKILL);
    waitpid (child, NULL, 0);
    double per_conn = (double) (after - before) / PUSHERS;
    printf ("%d peers pushing unread data: %zu bytes held each at most (window %zu), heap %.0f B per connection"
            " (bound %zu), %llu blocks refused by the window\n", PUSHERS, held_max, window,
            per_conn, IDLE_BOUND + window, (unsigned long long) refused);
    CHECK (held_max <= window);
    CHECK (per_conn <= (double) (IDLE_BOUND + window));
    CHECK (refused > 0);                 /* the peers did try to send more */
    curvecp_udp_server_destroy (&f.server);
}

int
main (int argc, char **argv)
{
    CHECK (sodium_init () >= 0);
    int n = argc > 1 ? atoi (argv[1]) : 2000;
    CHECK (n >= 100);
    test_idle_and_limit (n);
    test_window_bound ();
    printf ("test_harden_bounds: OK\n");
    return 0;
}
