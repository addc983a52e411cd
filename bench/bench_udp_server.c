/*  bench_udp_server - what one curvecp_udp_server costs:

      RESULT udp_handshakes_per_core   full handshakes (Hello, Cookie,
             Initiate, connection) per second of the server thread's own
             CPU time, against the X25519 ceiling measured in the same run
             (before and after the server's run, the mean)
             (4 scalar multiplications per handshake at the server);
      RESULT udp_handshakes_per_core_returning   the same for one client
             connecting again and again (one long-term key: the vouch
             cache saves an X25519), against the same ceiling;
      RESULT udp_allocs_per_hello      heap allocations made while the
             server answers Hellos (target 0), against the Hellos;
      RESULT udp_memory_per_idle_conn  heap bytes and RSS per connection
             with 10,000 idle connections (target <= 64 KiB), stream mode.

    The server runs in a thread; the load generator in the main thread
    builds every client's handshake state before the clock starts, so the
    measured window holds only the server's work plus the client's one
    beforenm per Cookie. malloc/calloc/realloc are counted by wrapping
    glibc's (this program only).

    bench-udp-server [connections]                                       */
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "curvecp_hs_client.h"
#include "curvecp_message.h"
#include "curvecp_packet.h"
#include "curvecp_udp_server.h"
#include "curvecp_udp_socket.h"

/* ---- allocation counting -------------------------------------------- */

static atomic_ulong allocations;

#ifndef __SANITIZE_ADDRESS__        /* the sanitizer owns malloc: no counting there */
#define COUNTING_ALLOCATIONS 1
extern void *__libc_malloc (size_t size);
extern void *__libc_calloc (size_t n, size_t size);
extern void *__libc_realloc (void *p, size_t size);

void *malloc (size_t size);
void *calloc (size_t n, size_t size);
void *realloc (void *p, size_t size);

void *
malloc (size_t size)
{
    atomic_fetch_add (&allocations, 1);
    return __libc_malloc (size);
}

void *
calloc (size_t n, size_t size)
{
    atomic_fetch_add (&allocations, 1);
    return __libc_calloc (n, size);
}

void *
realloc (void *p, size_t size)
{
    atomic_fetch_add (&allocations, 1);
    return __libc_realloc (p, size);
}
#endif

/* ---- the server thread ----------------------------------------------- */

typedef struct {
    curvecp_udp_server_t *server;
    atomic_bool stop;
    atomic_bool measuring;
    double cpu_seconds;              /* server thread CPU while measuring */
    double kernel_seconds;           /* of which in the kernel (system time) */
} server_thread_t;

static double
thread_cpu (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* this thread's system (kernel) time: system calls, and on loopback the
   delivery of what it sends into the receiver's socket */
static double
thread_kernel (void)
{
    struct rusage usage;
    getrusage (RUSAGE_THREAD, &usage);
    return (double) usage.ru_stime.tv_sec + (double) usage.ru_stime.tv_usec / 1e6;
}

static double
wall (void)
{
    return (double) curvecp_clock_now () / 1e9;
}

static void *
server_main (void *arg)
{
    server_thread_t *st = arg;
    pthread_setname_np (pthread_self (), "udp-server");   /* perf report --comm udp-server */
    bool was = false;
    double started = 0, started_kernel = 0;
    while (!atomic_load (&st->stop)) {
        bool measuring = atomic_load (&st->measuring);
        if (measuring && !was) {
            started = thread_cpu ();
            started_kernel = thread_kernel ();
        }
        if (!measuring && was) {
            st->cpu_seconds += thread_cpu () - started;
            st->kernel_seconds += thread_kernel () - started_kernel;
        }
        was = measuring;
        struct pollfd fd = { curvecp_udp_server_fd (st->server), POLLIN, 0 };
        uint64_t limit = curvecp_clock_now () + 10000000ull;
        uint64_t deadline = curvecp_udp_server_deadline (st->server);
        curvecp_udp_poll (&fd, 1, deadline < limit ? deadline : limit);
        curvecp_udp_server_process (st->server, curvecp_clock_now ());
    }
    return NULL;
}

/* ---- the load generator ---------------------------------------------- */

typedef struct {
    curvecp_hs_client_t *hs;
    curvecp_session_t session;
    uint8_t hello[CURVECP_HELLO_BYTES];
    int state;                        /* 0 Hello not sent, 1 waiting Cookie, 2 Initiate sent */
} client_t;

static void
send_to (int fd, const curvecp_udp_addr_t *to, const uint8_t *p, size_t len)
{
    while (sendto (fd, p, len, 0, (const struct sockaddr *) &to->sa, to->len) < 0)
        usleep (100);
}

/* Run every client through Hello -> Cookie -> Initiate, WINDOW at a time.
   hellos_only: send the Hellos and take the Cookies, nothing more. */
static double
drive (client_t *clients, int count, curvecp_udp_socket_t *sock, const curvecp_udp_addr_t *server,
       bool hellos_only, int *cookies_out)
{
    const int WINDOW = 64;
    int fd = curvecp_udp_socket_fd (sock);
    int next = 0, cookies = 0, in_flight = 0;
    double start = wall ();
    while (cookies < count && wall () - start < 60) {
        while (in_flight < WINDOW && next < count) {
            send_to (fd, server, clients[next].hello, CURVECP_HELLO_BYTES);
            clients[next].state = 1;
            next++;
            in_flight++;
        }
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll (&p, 1, 200) == 0) {
            in_flight = 0;                /* lost under load: send more */
            continue;
        }
        int n = curvecp_udp_socket_receive (sock);
        for (int i = 0; i < n; i++) {
            size_t len;
            const curvecp_udp_addr_t *from;
            const uint8_t *cookie = curvecp_udp_socket_datagram (sock, i, &len, &from);
            /* which client: the Cookie box is to C', so try the one whose
               turn it is first (they come back in order) */
            for (int k = 0; k < count; k++) {
                int c = (next - in_flight + k) % count;
                if (clients[c].state != 1)
                    continue;
                if (hellos_only) {
                    clients[c].state = 2;
                    break;
                }
                if (curvecp_hs_client_cookie (clients[c].hs, cookie, len, &clients[c].session) != CURVECP_OK)
                    continue;
                uint8_t message[CURVECP_MESSAGE_ACK_BYTES] = { 0 };
                uint8_t packet[CURVECP_PACKET_MAX];
                size_t plen;
                curvecp_session_seal (&clients[c].session, message, sizeof message, packet, &plen);
                send_to (fd, server, packet, plen);
                clients[c].state = 2;
                break;
            }
            cookies++;
            in_flight--;
        }
    }
    *cookies_out = cookies;
    return wall () - start;
}

/* long_term NULL: each client its own long-term key (as curvecp-client
   without -c); else all the same (one returning client). */
static void
make_clients (client_t *clients, int count, const uint8_t server_pk[32], const curvecp_keypair_t *long_term)
{
    uint8_t ext[16] = { 0 };
    for (int i = 0; i < count; i++) {
        memset (&clients[i], 0, sizeof clients[i]);
        clients[i].hs = curvecp_hs_client_new (server_pk, "bench.example", ext, ext, long_term, NULL);
        int attempt;
        curvecp_hs_client_hello (clients[i].hs, 0, clients[i].hello, &attempt);
    }
}

static void
free_clients (client_t *clients, int count)
{
    for (int i = 0; i < count; i++)
        curvecp_hs_client_destroy (&clients[i].hs);
}

static double
x25519_per_second (void)
{
    uint8_t pk[32], sk[32], shared[32];
    crypto_box_keypair (pk, sk);
    double start = thread_cpu ();
    int n = 0;
    while (thread_cpu () - start < 0.3) {
        if (crypto_box_beforenm (shared, pk, sk) != 0)
            break;
        n++;
    }
    return n / (thread_cpu () - start);
}

/* microseconds of one keypair generation (the server's short-term key,
   a fixed-base X25519), alone in a loop */
static double
keypair_microseconds (void)
{
    uint8_t pk[32], sk[32];
    double start = thread_cpu ();
    int n = 0;
    while (thread_cpu () - start < 0.3) {
        crypto_box_keypair (pk, sk);
        n++;
    }
    sodium_memzero (sk, sizeof sk);
    return (thread_cpu () - start) * 1e6 / n;
}

static long
rss_kib (void)
{
    FILE *f = fopen ("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf (f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose (f);
    }
    return resident * (sysconf (_SC_PAGESIZE) / 1024);
}

int
main (int argc, char **argv)
{
    int count = argc > 1 ? atoi (argv[1]) : 10000;
    if (sodium_init () < 0 || count < 100)
        return 1;
    curvecp_keypair_t keys;
    curvecp_keypair_generate (&keys);
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.keys = &keys;
    config.max_connections = count + count / 2 + 10;
    curvecp_udp_addr_parse ("127.0.0.1", 0, &config.bind);
    server_thread_t st = { 0 };
    st.server = curvecp_udp_server_new (&config);
    curvecp_udp_server_add_name (st.server, "bench.example");
    curvecp_udp_addr_t server_addr, any;
    curvecp_udp_server_local (st.server, &server_addr);
    curvecp_udp_addr_parse ("127.0.0.1", 0, &any);
    curvecp_udp_socket_t *sock = curvecp_udp_socket_new (AF_INET, &any);
    client_t *clients = calloc ((size_t) count, sizeof *clients);
    pthread_t thread;
    pthread_create (&thread, NULL, server_main, &st);
    double ceiling = x25519_per_second () / 4;

    /* 1. Hellos only: allocations while the server answers them */
    make_clients (clients, count / 10, keys.public_key, NULL);
    int cookies;
    unsigned long before = atomic_load (&allocations);
    drive (clients, count / 10, sock, &server_addr, true, &cookies);
    unsigned long hello_allocs = atomic_load (&allocations) - before;
    int hellos = cookies;
    free_clients (clients, count / 10);

    /* 2. full handshakes: server CPU per handshake; they stay as idle
          connections for the memory figure */
    make_clients (clients, count, keys.public_key, NULL);
    struct mallinfo2 heap_before = mallinfo2 ();
    long rss_before = rss_kib ();
    atomic_store (&st.measuring, true);
    unsigned long conn_allocs = atomic_load (&allocations);
    double seconds = drive (clients, count, sock, &server_addr, false, &cookies);
    while (curvecp_udp_server_connections (st.server) < count && seconds < 60) {
        usleep (1000);
        seconds += 0.001;
    }
    atomic_store (&st.measuring, false);
    usleep (20000);
    int conns = curvecp_udp_server_connections (st.server);

    struct mallinfo2 heap_after = mallinfo2 ();
    conn_allocs = atomic_load (&allocations) - conn_allocs;
    long rss_after = rss_kib ();
    double cpu_fresh = st.cpu_seconds;
    double kernel_fresh = st.kernel_seconds;
    free_clients (clients, count);

    /* 3. a returning client: count / 2 handshakes under one long-term
          key, whose C.s the server's vouch cache keeps (one X25519 fewer) */
    curvecp_keypair_t returning;
    curvecp_keypair_generate (&returning);
    make_clients (clients, count / 2, keys.public_key, &returning);
    st.cpu_seconds = 0;
    atomic_store (&st.measuring, true);
    drive (clients, count / 2, sock, &server_addr, false, &cookies);
    for (int waited = 0; curvecp_udp_server_connections (st.server) < conns + count / 2 && waited < 60000; waited++)
        usleep (1000);
    atomic_store (&st.measuring, false);
    usleep (20000);
    int returned = curvecp_udp_server_connections (st.server) - conns;
    double cpu_returning = st.cpu_seconds;
    free_clients (clients, count / 2);
    atomic_store (&st.stop, true);
    pthread_join (thread, NULL);
    /* the ceiling again, now the server is done: on a shared machine one
       0.3 s sample can land in a busy or a quiet moment */
    double ceiling_after = x25519_per_second () / 4;
    printf ("# X25519 ceiling before %.0f, after %.0f handshakes/s (the mean is used)\n", ceiling, ceiling_after);
    ceiling = (ceiling + ceiling_after) / 2;
    const curvecp_udp_server_info_t *info = curvecp_udp_server_info (st.server);
    printf ("# server: %llu datagrams in, %llu out, %llu recvmmsg, %llu sendmmsg (both phases)\n",
            (unsigned long long) info->datagrams_in, (unsigned long long) info->datagrams_out,
            (unsigned long long) info->recv_calls, (unsigned long long) info->send_calls);

    double per_core = conns / cpu_fresh;
    double per_core_returning = returned / cpu_returning;
    /* the clients' own heap (hs_client objects) was allocated before
       heap_before, and the load generator allocates nothing after */
    double heap_per = (double) (heap_after.uordblks - heap_before.uordblks) / conns;
    double rss_per = (double) (rss_after - rss_before) * 1024.0 / conns;
    printf ("# %d connections in %.2f s wall, server thread CPU %.2f s; X25519 ceiling %.0f handshakes/s\n",
            conns, seconds, cpu_fresh, ceiling);
    printf ("# %d Hellos answered with %lu allocations (the counter works: %.1f per new connection);"
            " heap %.0f B and RSS %.0f B per idle connection\n",
            hellos, hello_allocs, (double) conn_allocs / conns, heap_per, rss_per);
    /* where a fresh handshake's server CPU goes: the four X25519 (three
       beforenm: Hello, Initiate, vouch; one keypair) measured alone in
       this run, the kernel's share, and the rest */
    double per_handshake = cpu_fresh * 1e6 / conns;
    double beforenm = 1e6 / ceiling / 4, keypair = keypair_microseconds ();
    double x25519_work = 3 * beforenm + keypair;
    double kernel = kernel_fresh * 1e6 / conns;
    printf ("# per fresh handshake, server thread: %.1f us CPU = four X25519 %.1f us (3 x %.1f beforenm"
            " + %.1f keypair, each alone) + kernel %.1f us + the rest %.1f us (symmetric crypto,"
            " tables, the carrier); with only the X25519 the ratio would be %.2f, with them and"
            " the kernel %.2f\n",
            per_handshake, x25519_work, beforenm, keypair, kernel, per_handshake - x25519_work - kernel,
            4 * beforenm / x25519_work, 4 * beforenm / (x25519_work + kernel));
    printf ("RESULT udp_handshakes_per_core ours=%.0f peer=%.0f ratio=%.2f unit=handshakes/s\n",
            per_core, ceiling, per_core / ceiling);
#ifndef COUNTING_ALLOCATIONS
    printf ("# built with AddressSanitizer: allocations not counted\n");
#endif
    printf ("RESULT udp_allocs_per_hello ours=%lu peer=%d ratio=%.4f unit=allocations\n",
            hello_allocs, hellos, (double) hello_allocs / hellos);
    printf ("RESULT udp_memory_per_idle_conn ours=%.0f peer=%d ratio=%.3f unit=bytes(heap)\n",
            heap_per, 65536, heap_per / 65536);
    printf ("RESULT udp_rss_per_idle_conn ours=%.0f peer=%d ratio=%.3f unit=bytes(rss)\n",
            rss_per, 65536, rss_per / 65536);
    printf ("RESULT udp_handshakes_per_core_returning ours=%.0f peer=%.0f ratio=%.2f unit=handshakes/s\n",
            per_core_returning, ceiling, per_core_returning / ceiling);
    curvecp_udp_server_destroy (&st.server);
    curvecp_udp_socket_destroy (&sock);
    free (clients);
    return conns == count && returned == count / 2 ? 0 : 1;
}
