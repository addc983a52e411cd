/*  bench_harden_flood - a real transfer through a UDP server that is
    flooded with valid Hellos from 2,048 fake short-term keys:

      RESULT harden_flood_hellos_per_s_<rate>  Hellos the server answered
             per second during the transfer, against the most it could
             (the X25519 ceiling / 2: a Hello costs one beforenm and one
             key pair) measured in the same run;
      RESULT harden_flood_transfer_<rate>      the transfer's time (1 MB
             each way) under that flood, against the same transfer with
             no flood in the same run.

    An unfinished transfer (LIMIT_NS) is said so on a comment line.
    rate: half / full = the flooder paces itself to 50 % / 100 % of the
    ceiling; blast = as fast as one thread can send (the kernel drops what
    the server cannot read, the client's packets among them). Server and
    client run in the main thread, the flooder in its own.

    bench-harden-flood [bytes each way]                                 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "../tests/test_harden_util.h"
#include "../tests/test_udp_util.h"

#define FAKES      2048
#define BATCH      32
#define LIMIT_NS   (20ull * 1000000000ull)

typedef struct {
    curvecp_udp_socket_t *sock;
    curvecp_udp_addr_t to;
    uint8_t (*hellos)[CURVECP_HELLO_BYTES];
    double rate;                     /* Hellos per second; 0 = no limit */
    atomic_bool stop;
    atomic_ulong sent;
} flooder_t;

static void *
flooder_main (void *arg)
{
    flooder_t *fl = arg;
    int fd = curvecp_udp_socket_fd (fl->sock);
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    uint64_t start = curvecp_clock_now ();
    unsigned long sent = 0;
    while (!atomic_load (&fl->stop)) {
        if (fl->rate > 0) {
            uint64_t due = start + (uint64_t) ((double) sent / fl->rate * 1e9);
            uint64_t now = curvecp_clock_now ();
            if (due > now) {
                struct timespec ts = { 0, (long) (due - now < 1000000 ? due - now : 1000000) };
                nanosleep (&ts, NULL);
                continue;
            }
        }
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec) { fl->hellos[(sent + (unsigned long) i) % FAKES], CURVECP_HELLO_BYTES };
            msgs[i].msg_hdr = (struct msghdr) { .msg_name = &fl->to.sa, .msg_namelen = fl->to.len,
                                                .msg_iov = &iov[i], .msg_iovlen = 1 };
        }
        int n = sendmmsg (fd, msgs, BATCH, 0);
        if (n > 0) {
            sent += (unsigned long) n;
            atomic_store (&fl->sent, sent);
        }
        while (curvecp_udp_socket_receive (fl->sock) > 0)      /* Cookies: thrown away */
            ;
    }
    return NULL;
}

typedef struct {
    double seconds;                  /* LIMIT_NS if unfinished */
    double hellos_per_s;
    double offered_per_s;
} result_t;

/* One transfer of bytes each way, server and client in this thread. */
static result_t
transfer (fixture_t *f, uint64_t bytes, flooder_t *fl)
{
    pthread_t thread;
    uint64_t hellos = curvecp_udp_server_info (f->server)->hellos;
    if (fl) {
        atomic_store (&fl->stop, false);
        atomic_store (&fl->sent, 0);
        pthread_create (&thread, NULL, flooder_main, fl);
    }
    uint64_t start = curvecp_clock_now ();
    curvecp_udp_client_t *client = client_start (f, NULL, NULL);
    curvecp_udp_conn_t *cc = curvecp_udp_client_conn (client), *sc = NULL;
    pump_t up = { 0, 0, bytes, 3, false }, down = { 0, 0, bytes, 5, false };
    bool finished = false;
    while (curvecp_clock_now () - start < LIMIT_NS) {
        step (f, client);
        if (!sc)
            sc = curvecp_udp_server_accept (f->server);
        pump (cc, &up, &down);
        if (sc)
            pump (sc, &down, &up);
        if ((finished = curvecp_udp_conn_done (cc) && sc && curvecp_udp_conn_done (sc)))
            break;
    }
    double seconds = (double) (curvecp_clock_now () - start) / 1e9;
    result_t r = { seconds, 0, 0 };
    if (!finished)
        printf ("# transfer unfinished after %.0f s: up %llu, down %llu bytes of %llu (the figure is a lower bound)\n",
                seconds, (unsigned long long) up.received, (unsigned long long) down.received,
                (unsigned long long) bytes);
    if (fl) {
        atomic_store (&fl->stop, true);
        pthread_join (thread, NULL);
        r.offered_per_s = (double) atomic_load (&fl->sent) / seconds;
    }
    r.hellos_per_s = (double) (curvecp_udp_server_info (f->server)->hellos - hellos) / seconds;
    if (sc)
        curvecp_udp_conn_close (&sc);
    curvecp_udp_client_destroy (&client);
    /* let the closed connection go before the next run */
    for (int i = 0; i < 200 && curvecp_udp_server_connections (f->server) > 0; i++)
        step (f, NULL);
    return r;
}

static double
x25519_per_second (void)
{
    uint8_t pk[32], sk[32], shared[32];
    crypto_box_keypair (pk, sk);
    uint64_t start = curvecp_clock_now ();
    int n = 0;
    while (curvecp_clock_now () - start < 300000000ull) {
        if (crypto_box_beforenm (shared, pk, sk) != 0)
            break;
        n++;
    }
    return n / ((double) (curvecp_clock_now () - start) / 1e9);
}

int
main (int argc, char **argv)
{
    uint64_t bytes = argc > 1 ? strtoull (argv[1], NULL, 10) : 1000000;
    CHECK (sodium_init () >= 0);
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
    for (int i = 0; i < FAKES; i++) {
        fake_client_t fake;
        fake_init (&fake, f.keys.public_key, (uint32_t) i);
        fake_hello (&fake, f.ext, 1, fl.hellos[i]);
        sodium_memzero (&fake, sizeof fake);
    }
    double ceiling = x25519_per_second () / 2;

    result_t quiet = transfer (&f, bytes, NULL);
    printf ("# no flood: %llu bytes each way in %.3f s\n", (unsigned long long) bytes, quiet.seconds);
    const struct { const char *name; double rate; } rates[] = {
        { "half", ceiling / 2 }, { "full", ceiling }, { "blast", 0 }
    };
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        fl.rate = rates[i].rate;
        result_t r = transfer (&f, bytes, &fl);
        printf ("# %s: offered %.0f Hellos/s, answered %.0f/s, transfer %.3f s\n", rates[i].name,
                r.offered_per_s, r.hellos_per_s, r.seconds);
        printf ("RESULT harden_flood_hellos_per_s_%s ours=%.0f peer=%.0f ratio=%.2f unit=hellos/s\n",
                rates[i].name, r.hellos_per_s, ceiling, r.hellos_per_s / ceiling);
        printf ("RESULT harden_flood_transfer_%s ours=%.3f peer=%.3f ratio=%.2f unit=s\n", rates[i].name,
                r.seconds, quiet.seconds, r.seconds / quiet.seconds);
    }
    curvecp_udp_socket_destroy (&fl.sock);
    free (fl.hellos);
    curvecp_udp_server_destroy (&f.server);
    return 0;
}
