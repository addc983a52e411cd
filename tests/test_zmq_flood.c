/*  test_zmq_flood.c - the ØMQ server under more Hellos than it can
    answer, over tcp://127.0.0.1, bounded in count and time: one DEALER
    floods valid Hellos as fast as it can (its own thread, started before
    the client, with the server already dropping), while a real client
    connects and does 20 echo round trips (its own thread). The client
    completes every round trip byte-exact, and the server's counters show
    the defence it shares with the UDP server (the core listener): Hellos
    queued per routing id, answered within a budget per call, and those
    the full queue could not hold dropped and counted [overloaded].      */
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include "testutil.h"
#include "curvecp_zmq_client.h"
#include "curvecp_clock.h"
#include "curvecp_hs_client.h"
#include "curvecp_zmq_server.h"
#include "curvecp_zmq_server_internal.h"

#define NAME         "flood.example.com"
#define FAKES        64                   /* flood short-term keys */
#define ROUND_TRIPS  20
#define WAIT_LIMIT_NS (60ull * 1000000000ull)

static const uint8_t zero_ext[CURVECP_EXT_BYTES] = { 0 };

/* ---- the flooder: one DEALER, valid Hellos, unpaced ------------------- */

typedef struct {
    int port;
    uint8_t hellos[FAKES][CURVECP_HELLO_BYTES];
    atomic_bool stop;
    atomic_ulong sent;
} flooder_t;

static void *
flooder_main (void *arg)
{
    flooder_t *fl = (flooder_t *) arg;
    void *ctx = zmq_ctx_new ();
    void *dealer = zmq_socket (ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt (dealer, ZMQ_LINGER, &linger, sizeof linger);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", fl->port);
    CHECK_EQ (zmq_connect (dealer, endpoint), 0);
    unsigned long sent = 0;
    uint8_t cookie[CURVECP_COOKIE_BYTES];
    while (!atomic_load (&fl->stop)) {
        if (zmq_send (dealer, fl->hellos[sent % FAKES], CURVECP_HELLO_BYTES, ZMQ_DONTWAIT) == CURVECP_HELLO_BYTES)
            atomic_store (&fl->sent, ++sent);
        while (zmq_recv (dealer, cookie, sizeof cookie, ZMQ_DONTWAIT) >= 0)      /* Cookies: not needed */
            ;
    }
    zmq_close (dealer);
    zmq_ctx_term (ctx);
    return NULL;
}

/* ---- the client: connect, echo ------------------------------------------ */

typedef struct {
    int port;
    uint8_t server_pk[CURVECP_KEY_BYTES];
    int round_trips;                      /* completed, byte-exact */
    atomic_bool done;
} client_args_t;

static void *
client_main (void *arg)
{
    client_args_t *args = (client_args_t *) arg;
    curvecp_zmq_client_t *client = curvecp_zmq_client_new (NULL, args->server_pk, NAME);
    CHECK (client);
    curvecp_zmq_client_set_rcvtimeo (client, 20000);
    curvecp_zmq_client_set_sndtimeo (client, 20000);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", args->port);
    CHECK_EQ (curvecp_zmq_client_connect (client, endpoint), 0);
    for (int i = 0; i < ROUND_TRIPS; i++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addstrf (msg, "round trip %d", i);
        zmsg_addmem (msg, NULL, 0);
        zmsg_addstrf (msg, "%0*d", 3000 + i, i);
        if (curvecp_zmq_client_send (client, &msg) != 0) {
            zmsg_destroy (&msg);
            break;
        }
        zmsg_t *reply = curvecp_zmq_client_recv (client);
        if (!reply) {
            fprintf (stderr, "round trip %d: no reply (%s)\n", i, curvecp_zmq_client_error (client));
            break;
        }
        char *first = zmsg_popstr (reply);
        zframe_t *empty = zmsg_pop (reply);
        char *last = zmsg_popstr (reply);
        char want_first[32], want_last[4000];
        snprintf (want_first, sizeof want_first, "round trip %d", i);
        snprintf (want_last, sizeof want_last, "%0*d", 3000 + i, i);
        bool same = first && streq (first, want_first) && empty && zframe_size (empty) == 0
                 && last && streq (last, want_last) && zmsg_size (reply) == 0;
        zstr_free (&first);
        zstr_free (&last);
        zframe_destroy (&empty);
        zmsg_destroy (&reply);
        if (!same)
            break;
        args->round_trips++;
    }
    curvecp_zmq_client_destroy (&client);
    atomic_store (&args->done, true);
    return NULL;
}

/* ---- the server: echo in this thread --------------------------------------- */

static void
serve (curvecp_zmq_server_t *server, uint64_t start)
{
    CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
    zmsg_t *msg = curvecp_zmq_server_recv (server);
    if (msg)
        CHECK_EQ (curvecp_zmq_server_reply (server, &msg), 0);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    zsys_init ();
    curvecp_keypair_t keys;
    curvecp_keypair_generate (&keys);
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&keys, NAME);
    CHECK (server);
    curvecp_zmq_server_set_rcvtimeo (server, 20);
    int port = curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*");
    CHECK (port > 0);

    flooder_t *fl = (flooder_t *) calloc (1, sizeof (flooder_t));
    CHECK (fl);
    fl->port = port;
    for (int i = 0; i < FAKES; i++) {
        curvecp_hs_client_t *hs = curvecp_hs_client_new (keys.public_key, NAME, zero_ext, zero_ext, NULL, NULL);
        CHECK (hs);
        CHECK_EQ (curvecp_hs_client_hello (hs, 0, fl->hellos[i], NULL), CURVECP_OK);
        curvecp_hs_client_destroy (&hs);
    }
    pthread_t flooder;
    CHECK (pthread_create (&flooder, NULL, flooder_main, fl) == 0);
    /* the flood is beyond what the server answers before the client starts */
    uint64_t start = curvecp_clock_now ();
    while (curvecp_zmq_server_info (server)->hellos_dropped == 0)
        serve (server, start);

    client_args_t args;
    memset (&args, 0, sizeof args);
    args.port = port;
    memcpy (args.server_pk, keys.public_key, CURVECP_KEY_BYTES);
    pthread_t client;
    CHECK (pthread_create (&client, NULL, client_main, &args) == 0);
    while (!atomic_load (&args.done))
        serve (server, start);
    pthread_join (client, NULL);
    atomic_store (&fl->stop, true);
    pthread_join (flooder, NULL);

    const curvecp_zmq_server_info_t *info = curvecp_zmq_server_info (server);
    const curvecp_stats_t *stats = curvecp_zmq_server_stats (server);
    printf ("unpaced Hello flood at the ØMQ server (%lu Hellos sent): the client did %d/%d round trips; "
            "%llu Hellos answered, %llu dropped [overloaded], %zu waiting\n", atomic_load (&fl->sent),
            args.round_trips, ROUND_TRIPS, (unsigned long long) info->hellos,
            (unsigned long long) info->hellos_dropped, info->hellos_waiting);
    CHECK_EQ (args.round_trips, ROUND_TRIPS);
    CHECK (info->hellos_dropped > 0);
    CHECK (info->hellos > 0);
    CHECK_EQ (stats->counts[CURVECP_E_OVERLOADED], info->hellos_dropped);
    CHECK_EQ (curvecp_hs_server_stats (curvecp_zmq_server_handshake (server))->counts[CURVECP_OK],
              info->hellos + 1);                    /* every Cookie, and the client's Initiate */
    free (fl);
    curvecp_zmq_server_destroy (&server);
    printf ("test_zmq_flood: OK\n");
    return 0;
}
