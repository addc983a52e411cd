/*  bench_udp_workers - a UDP server on 2 worker threads against 1:

      RESULT udp_handshakes_2workers_vs_1   full handshakes (Hello, Cookie,
             Initiate, connection) per second the server can do;
      RESULT udp_bulk_2clients_2workers_vs_1   MB/s the server sends to two
             clients at once (stream mode, each client on its own worker
             when there are two).

    Method. This machine has 2 cores and the load generator (the clients)
    runs on them too, so wall-clock rates would measure the generator as
    much as the server. Instead each worker thread measures its own CPU
    time (CLOCK_THREAD_CPUTIME_ID) while the load runs, and the server's
    capacity is the sum over workers of work_i / cpu_i: what the workers
    do per second of a core each, with one core per worker. That is
    2x the single worker's figure only if the workers do not slow each
    other down (locks, shared cache lines, the kernel's steering, a
    worker starved of packets); the ratio shows exactly that. The wall-
    clock rates are printed too (# lines), for what they are worth on a
    shared machine. The generator is kept cheap: every client's Hello is
    made before the clock starts, and a Cookie is matched to its client
    by the client extension it echoes (no trial decryption), so a client
    costs one X25519 (opening the Cookie) against the server's four.

    bench-udp-workers [handshakes] [bulk-MB]                              */
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "curvecp_hs_client.h"
#include "curvecp_message.h"
#include "curvecp_packet.h"
#include "curvecp_udp_client.h"
#include "curvecp_udp_server.h"
#include "curvecp_udp_socket.h"

#define WORKERS_MAX 2
#define CONNS_MAX 64

/* ---- the server: workers on their own threads ---------------------------- */

typedef struct {
    curvecp_udp_server_t *server;
    pthread_t thread;
    atomic_bool stop, measuring;
    double cpu;                          /* CPU seconds while measuring */
    /* bulk: stream mode, send to every connection */
    curvecp_udp_conn_t *conns[CONNS_MAX];
    int conn_count;
    uint64_t bulk_bytes;                 /* to send per connection (0: handshakes) */
    uint64_t sent[CONNS_MAX];
} worker_t;

static double
thread_cpu (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double
wall (void)
{
    return (double) curvecp_clock_now () / 1e9;
}

static void
on_connect (curvecp_udp_conn_t *conn, void *arg)
{
    worker_t *w = arg;
    if (w->bulk_bytes && w->conn_count < CONNS_MAX)
        w->conns[w->conn_count++] = conn;
}

/* Bulk: fill each connection's send buffer with its remaining bytes. */
static void
feed (worker_t *w)
{
    static const uint8_t block[65536];
    for (int i = 0; i < w->conn_count; i++)
        while (w->sent[i] < w->bulk_bytes) {
            uint64_t left = w->bulk_bytes - w->sent[i];
            size_t took = curvecp_udp_conn_send (w->conns[i], block, left < sizeof block ? (size_t) left : sizeof block);
            w->sent[i] += took;
            if (took == 0)
                break;
        }
}

static void *
worker_main (void *arg)
{
    worker_t *w = arg;
    bool was = false;
    double started = 0;
    while (!atomic_load (&w->stop)) {
        bool measuring = atomic_load (&w->measuring);
        if (measuring && !was)
            started = thread_cpu ();
        if (!measuring && was)
            w->cpu += thread_cpu () - started;
        was = measuring;
        struct pollfd fd = { curvecp_udp_server_fd (w->server),
                             (short) (POLLIN | (curvecp_udp_server_want_write (w->server) ? POLLOUT : 0)), 0 };
        uint64_t limit = curvecp_clock_now () + 5000000ull;
        uint64_t deadline = curvecp_udp_server_deadline (w->server);
        curvecp_udp_poll (&fd, 1, deadline < limit ? deadline : limit);
        curvecp_udp_server_process (w->server, curvecp_clock_now ());
        if (w->bulk_bytes) {
            feed (w);
            curvecp_udp_server_process (w->server, curvecp_clock_now ());
        }
    }
    if (was)
        w->cpu += thread_cpu () - started;
    return NULL;
}

typedef struct {
    worker_t workers[WORKERS_MAX];
    int count;
    curvecp_udp_addr_t addr;
} server_t;

static void
server_start (server_t *s, int count, const curvecp_keypair_t *keys, uint64_t bulk_bytes)
{
    memset (s, 0, sizeof *s);
    s->count = count;
    for (int i = 0; i < count; i++) {
        worker_t *w = &s->workers[i];
        curvecp_udp_server_config_t config;
        curvecp_udp_server_config_default (&config);
        config.keys = keys;
        config.max_connections = 100000;
        config.on_connect = on_connect;
        config.on_connect_arg = w;
        curvecp_udp_addr_parse ("127.0.0.1", 0, &config.bind);
        w->bulk_bytes = bulk_bytes;
        w->server = curvecp_udp_server_new_worker (&config, i ? s->workers[0].server : NULL, count);
        if (!w->server) {
            perror ("bench-udp-workers: server");
            exit (1);
        }
        curvecp_udp_server_add_name (w->server, "bench.example");
    }
    curvecp_udp_server_local (s->workers[0].server, &s->addr);
    for (int i = 0; i < count; i++)
        pthread_create (&s->workers[i].thread, NULL, worker_main, &s->workers[i]);
}

static void
server_measure (server_t *s, bool on)
{
    for (int i = 0; i < s->count; i++)
        atomic_store (&s->workers[i].measuring, on);
    usleep (20000);                          /* each worker notices at its next turn */
}

static void
server_stop (server_t *s)
{
    for (int i = 0; i < s->count; i++)
        atomic_store (&s->workers[i].stop, true);
    for (int i = 0; i < s->count; i++)
        pthread_join (s->workers[i].thread, NULL);
}

static void
server_destroy (server_t *s)
{
    for (int i = 0; i < s->count; i++)
        curvecp_udp_server_destroy (&s->workers[i].server);
}

/* ---- handshakes ----------------------------------------------------------- */

typedef struct {
    curvecp_hs_client_t *hs;
    uint8_t hello[CURVECP_HELLO_BYTES];
    bool answered;
} hs_client_t;

static void
send_to (int fd, const curvecp_udp_addr_t *to, const uint8_t *p, size_t len)
{
    while (sendto (fd, p, len, 0, (const struct sockaddr *) &to->sa, to->len) < 0)
        usleep (50);
}

/* The client extension names the client: Cookies echo it (bytes 8..23). */
static void
index_ext (uint8_t ext[16], uint32_t i)
{
    memset (ext, 0, 16);
    memcpy (ext, &i, sizeof i);
}

static hs_client_t *
make_hs_clients (int count, const uint8_t server_pk[32])
{
    hs_client_t *c = calloc ((size_t) count, sizeof *c);
    uint8_t sext[16] = { 0 }, cext[16];
    for (int i = 0; i < count; i++) {
        index_ext (cext, (uint32_t) i);
        c[i].hs = curvecp_hs_client_new (server_pk, "bench.example", sext, cext, NULL, NULL);
        int attempt;
        curvecp_hs_client_hello (c[i].hs, 0, c[i].hello, &attempt);
    }
    return c;
}

/* Every client: Hello, Cookie, Initiate; at most WINDOW waiting for Cookies. */
static double
drive_handshakes (hs_client_t *clients, int count, const curvecp_udp_addr_t *server)
{
    const int WINDOW = 128;
    curvecp_udp_addr_t any;
    curvecp_udp_addr_parse ("127.0.0.1", 0, &any);
    curvecp_udp_socket_t *sock = curvecp_udp_socket_new (AF_INET, &any);
    int fd = curvecp_udp_socket_fd (sock);
    int next = 0, answered = 0, in_flight = 0;
    double start = wall ();
    while (answered < count && wall () - start < 120) {
        while (in_flight < WINDOW && next < count) {
            send_to (fd, server, clients[next++].hello, CURVECP_HELLO_BYTES);
            in_flight++;
        }
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll (&p, 1, 200) == 0) {          /* lost under load: resend the unanswered */
            for (int i = 0; i < next; i++)
                if (!clients[i].answered)
                    send_to (fd, server, clients[i].hello, CURVECP_HELLO_BYTES);
            continue;
        }
        int n = curvecp_udp_socket_receive (sock);
        for (int k = 0; k < n; k++) {
            size_t len;
            const curvecp_udp_addr_t *from;
            const uint8_t *cookie = curvecp_udp_socket_datagram (sock, k, &len, &from);
            uint32_t i;
            if (len != CURVECP_COOKIE_BYTES)
                continue;
            memcpy (&i, cookie + 8, sizeof i);
            if (i >= (uint32_t) count || clients[i].answered)
                continue;
            curvecp_session_t session;
            if (curvecp_hs_client_cookie (clients[i].hs, cookie, len, &session) != CURVECP_OK)
                continue;
            uint8_t message[CURVECP_MESSAGE_ACK_BYTES] = { 0 };
            uint8_t packet[CURVECP_PACKET_MAX];
            size_t plen;
            curvecp_session_seal (&session, message, sizeof message, packet, &plen);
            send_to (fd, server, packet, plen);
            curvecp_session_wipe (&session);
            clients[i].answered = true;
            answered++;
            in_flight--;
        }
    }
    curvecp_udp_socket_destroy (&sock);
    return wall () - start;
}

static int
connections (server_t *s)
{
    int n = 0;
    for (int i = 0; i < s->count; i++)
        n += curvecp_udp_server_connections (s->workers[i].server);   /* read racily: progress only */
    return n;
}

typedef struct {
    double capacity;        /* sum of work_i / cpu_i */
    double per_wall;        /* total work / wall seconds */
} figure_t;

static figure_t
run_handshakes (int workers, int count, const curvecp_keypair_t *keys)
{
    server_t s;
    server_start (&s, workers, keys, 0);
    hs_client_t *clients = make_hs_clients (count, keys->public_key);
    server_measure (&s, true);
    double seconds = drive_handshakes (clients, count, &s.addr);
    while (connections (&s) < count && seconds < 120) {
        usleep (1000);
        seconds += 0.001;
    }
    server_measure (&s, false);
    server_stop (&s);
    figure_t f = { 0, 0 };
    int total = 0;
    printf ("# %d worker(s), %d handshakes in %.2f s wall:", workers, count, seconds);
    for (int i = 0; i < workers; i++) {
        int made = (int) curvecp_udp_server_info (s.workers[i].server)->connections;
        total += made;
        f.capacity += made / s.workers[i].cpu;
        printf (" worker %d: %d in %.2f s CPU;", i, made, s.workers[i].cpu);
    }
    f.per_wall = total / seconds;
    printf (" %.0f/s wall\n", f.per_wall);
    for (int i = 0; i < count; i++)
        curvecp_hs_client_destroy (&clients[i].hs);
    free (clients);
    server_destroy (&s);
    return f;
}

/* ---- bulk to two clients ---------------------------------------------------- */

static figure_t
run_bulk (int workers, uint64_t bytes, const curvecp_keypair_t *keys)
{
    server_t s;
    server_start (&s, workers, keys, bytes);
    /* two clients; with two workers, one on each (C' decides: retry) */
    curvecp_udp_client_t *clients[2] = { NULL, NULL };
    int made = 0;
    while (made < 2) {
        curvecp_udp_client_config_t config;
        curvecp_udp_client_config_default (&config);
        memcpy (config.server_pk, keys->public_key, 32);
        config.server_name = "bench.example";
        config.ext_path = "/nonexistent/curvecpextension";
        config.addrs[0] = s.addr;
        config.addr_count = 1;
        curvecp_udp_client_t *c = curvecp_udp_client_new (&config, curvecp_clock_now ());
        const uint8_t *cp = curvecp_udp_conn_client_short_key (curvecp_udp_client_conn (c));
        uint32_t word = (uint32_t) cp[0] << 24 | (uint32_t) cp[1] << 16 | (uint32_t) cp[2] << 8 | cp[3];
        if (workers == 2 && (int) (word % 2) != made) {
            curvecp_udp_client_destroy (&c);
            continue;
        }
        clients[made++] = c;
    }
    uint64_t got[2] = { 0, 0 };
    server_measure (&s, true);
    double start = wall ();
    while ((got[0] < bytes || got[1] < bytes) && wall () - start < 120) {
        struct pollfd p[2];
        uint64_t deadline = curvecp_clock_now () + 5000000ull;
        for (int i = 0; i < 2; i++) {
            p[i] = (struct pollfd) { curvecp_udp_client_fd (clients[i]), POLLIN, 0 };
            uint64_t d = curvecp_udp_client_deadline (clients[i]);
            deadline = d < deadline ? d : deadline;
        }
        curvecp_udp_poll (p, 2, deadline);
        uint64_t now = curvecp_clock_now ();
        for (int i = 0; i < 2; i++) {
            curvecp_udp_client_process (clients[i], now);
            static uint8_t buf[1 << 16];
            size_t n;
            while ((n = curvecp_udp_conn_recv (curvecp_udp_client_conn (clients[i]), buf, sizeof buf)) > 0)
                got[i] += n;
            curvecp_udp_client_process (clients[i], now);
        }
    }
    double seconds = wall () - start;
    server_measure (&s, false);
    server_stop (&s);
    figure_t f = { 0, 0 };
    printf ("# %d worker(s), 2 clients x %.0f MB in %.2f s wall:", workers, bytes / 1e6, seconds);
    for (int i = 0; i < workers; i++) {
        uint64_t sent = 0;
        for (int k = 0; k < s.workers[i].conn_count; k++)
            sent += s.workers[i].sent[k];
        f.capacity += sent / 1e6 / s.workers[i].cpu;
        printf (" worker %d: %.0f MB in %.2f s CPU;", i, sent / 1e6, s.workers[i].cpu);
    }
    f.per_wall = (got[0] + got[1]) / 1e6 / seconds;
    printf (" %.1f MB/s wall%s\n", f.per_wall, got[0] < bytes || got[1] < bytes ? " (INCOMPLETE)" : "");
    for (int i = 0; i < 2; i++)
        curvecp_udp_client_destroy (&clients[i]);
    server_destroy (&s);
    return f;
}

int
main (int argc, char **argv)
{
    int count = argc > 1 ? atoi (argv[1]) : 4000;
    uint64_t mb = argc > 2 ? (uint64_t) atoi (argv[2]) : 100;
    if (sodium_init () < 0 || count < 100)
        return 1;
    curvecp_keypair_t keys;
    curvecp_keypair_generate (&keys);
    figure_t one = run_handshakes (1, count, &keys);
    figure_t two = run_handshakes (2, count, &keys);
    printf ("# wall clock (generator on the same 2 cores): %.0f vs %.0f handshakes/s, ratio %.2f\n",
            two.per_wall, one.per_wall, two.per_wall / one.per_wall);
    printf ("RESULT udp_handshakes_2workers_vs_1 ours=%.0f peer=%.0f ratio=%.2f unit=handshakes/s\n",
            two.capacity, one.capacity, two.capacity / one.capacity);
    figure_t bone = run_bulk (1, mb * 1000000, &keys);
    figure_t btwo = run_bulk (2, mb * 1000000, &keys);
    printf ("# wall clock (clients on the same 2 cores): %.1f vs %.1f MB/s, ratio %.2f\n",
            btwo.per_wall, bone.per_wall, btwo.per_wall / bone.per_wall);
    printf ("RESULT udp_bulk_2clients_2workers_vs_1 ours=%.1f peer=%.1f ratio=%.2f unit=MB/s\n",
            btwo.capacity, bone.capacity, btwo.capacity / bone.capacity);
    curvecp_keypair_wipe (&keys);
    return 0;
}
