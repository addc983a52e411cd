/*  bench_zmq.c - the ØMQ carrier against libzmq's built-in CURVE, same
    run, same machine, DEALER -> ROUTER over tcp://127.0.0.1.

    Figures (one RESULT line each; ratio = ours / peer):
      zmq_throughput_{64B,1KB,64KB}  messages/s, one DEALER sending to a
                                     ROUTER in another thread, timed from
                                     the first send to the last receive
      zmq_latency_rtt_64B            mean round trip (us), echo server; both
                                     pairs open at once, taking turns in
                                     blocks of 200 round trips
      zmq_connections                new secured connections per second:
                                     socket + connect + handshake + one
                                     echoed message + close, one at a time

    Our side uses the public API as an application would (zmsg_t in,
    zmsg_t out); the peer uses libzmq directly (zmq_send / zmq_msg_recv),
    its fastest path. Every run is bounded in count and in time.

        bench-zmq [seconds-per-run [only [side [count]]]]
            default 1.5 s; only: run just the figures whose name contains
            it; side: "ours" or "peer" runs that side alone (its figure
            is printed, the other as 0); count: exactly that many round
            trips or connections instead of a timed run (bench/count-zmq.sh
            counts system calls and allocations so).                    */
#include <sodium.h>
#include "curvecp_zmq_client.h"
#include "curvecp_zmq_server.h"
#include "curvecp_zmq.h"

#define NAME "bench.example.com"

static double run_seconds = 1.5;
static const char *only = NULL;
static const char *side = NULL;     /* NULL: both */
static long fixed_count = 0;        /* >0: round trips / connections, untimed */
static int failures = 0;            /* figures a side failed to give */

static bool
runs (const char *which)
{
    return !side || streq (side, which);
}

static bool
wanted (const char *name)
{
    return !only || strstr (name, only) != NULL;
}

typedef struct {
    curvecp_keypair_t server_keys, client_keys;
} keys_t;

static double
seconds_since (uint64_t start)
{
    return (double) (curvecp_clock_now () - start) / 1e9;
}

/* ---- receivers (each in its own thread) -------------------------------------- */

typedef struct {
    keys_t *keys;
    bool ours;
    bool echo;
    long expected;           /* throughput: messages after the warm-up one */
    int port;
} sink_args_t;

/* Ours: count messages (or echo them); "FIRST" after the warm-up message,
   "DONE" after the last. */
static void
our_sink (zsock_t *pipe, void *arg)
{
    sink_args_t *args = (sink_args_t *) arg;
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&args->keys->server_keys, NAME);
    curvecp_zmq_server_set_rcvtimeo (server, 100);
    args->port = curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    long count = -1;
    curvecp_zmq_server_set_send_queue (server, 16u << 20);   /* an echo waits for room, in order */
    zpoller_t *poller = zpoller_new (pipe, NULL);
    while (!zpoller_terminated (poller)) {
        zmsg_t *msg = curvecp_zmq_server_recv (server);
        if (msg) {
            if (args->echo) {
                if (curvecp_zmq_server_reply (server, &msg) != 0)
                    zmsg_destroy (&msg);
                continue;
            }
            zmsg_destroy (&msg);
            if (++count == 0)
                zstr_send (pipe, "FIRST");
            if (count == args->expected)
                zstr_send (pipe, "DONE");
            if (count < args->expected)
                continue;
        }
        if (zpoller_wait (poller, 0) == pipe)
            break;
    }
    zpoller_destroy (&poller);
    curvecp_zmq_server_destroy (&server);
}

static zsock_t *
peer_router (keys_t *keys, int *port)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_curve_server (router, 1);
    zmq_setsockopt (zsock_resolve (router), ZMQ_CURVE_SECRETKEY, keys->server_keys.secret_key, 32);
    *port = zsock_bind (router, "tcp://127.0.0.1:*");
    return router;
}

static zsock_t *
peer_dealer (keys_t *keys, int port)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    void *handle = zsock_resolve (dealer);
    zmq_setsockopt (handle, ZMQ_CURVE_SERVERKEY, keys->server_keys.public_key, 32);
    zmq_setsockopt (handle, ZMQ_CURVE_PUBLICKEY, keys->client_keys.public_key, 32);
    zmq_setsockopt (handle, ZMQ_CURVE_SECRETKEY, keys->client_keys.secret_key, 32);
    zsock_set_linger (dealer, 0);
    zsock_connect (dealer, "tcp://127.0.0.1:%d", port);
    return dealer;
}

/* libzmq CURVE: the same protocol on a plain ROUTER. */
static void
peer_sink (zsock_t *pipe, void *arg)
{
    sink_args_t *args = (sink_args_t *) arg;
    zsock_t *router = peer_router (args->keys, &args->port);
    zsock_set_rcvtimeo (router, 100);
    void *handle = zsock_resolve (router);
    zsock_signal (pipe, 0);
    long count = -1;
    zmq_msg_t id, body;
    zmq_msg_init (&id);
    zmq_msg_init (&body);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    while (!zpoller_terminated (poller)) {
        if (zmq_msg_recv (&id, handle, 0) >= 0 && zmq_msg_recv (&body, handle, 0) >= 0) {
            if (args->echo) {
                zmq_msg_send (&id, handle, ZMQ_SNDMORE);
                zmq_msg_send (&body, handle, 0);
                continue;
            }
            if (++count == 0)
                zstr_send (pipe, "FIRST");
            if (count == args->expected)
                zstr_send (pipe, "DONE");
            if (count < args->expected)
                continue;
        }
        if (zpoller_wait (poller, 0) == pipe)
            break;
    }
    zmq_msg_close (&id);
    zmq_msg_close (&body);
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

/* ---- throughput ------------------------------------------------------------------ */

static zmsg_t *
payload_msg (const uint8_t *payload, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, payload, size);
    return msg;
}

/* Wait for word on the actor pipe, servicing the client meanwhile. */
static bool
await (zactor_t *sink, const char *word, curvecp_zmq_client_t *client, double limit)
{
    uint64_t start = curvecp_clock_now ();
    zpoller_t *poller = client ? zpoller_new (sink, curvecp_zmq_client_sock (client), NULL) : zpoller_new (sink, NULL);
    bool got = false;
    while (!got && seconds_since (start) < limit) {
        int timeout = client ? curvecp_zmq_client_timeout (client) : 100;
        void *which = zpoller_wait (poller, timeout < 0 || timeout > 100 ? 100 : timeout);
        if (which == sink) {
            char *text = zstr_recv (sink);
            got = text && streq (text, word);
            zstr_free (&text);
        }
        if (client)
            curvecp_zmq_client_handle (client);
    }
    zpoller_destroy (&poller);
    return got;
}

/* CPU time of every thread in the process, in seconds: the throughput
   runs report it per message, next to what the crypto alone costs */
static double
process_cpu (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double cpu_per_message;      /* us, of the last throughput run */

/* microseconds to seal and open one message of size bytes with
   XSalsa20-Poly1305 (crypto_box_*_afternm), alone in a loop: what each
   message costs both sides, ours and libzmq CURVE alike */
static double
crypto_per_message (size_t size)
{
    uint8_t key[crypto_box_BEFORENMBYTES], nonce[crypto_box_NONCEBYTES] = { 0 };
    randombytes_buf (key, sizeof key);
    uint8_t *plain = (uint8_t *) calloc (1, size + 1);
    uint8_t *boxed = (uint8_t *) calloc (1, size + crypto_box_MACBYTES);
    int n = 0;
    double start = process_cpu ();
    while (plain && boxed && process_cpu () - start < 0.2) {
        crypto_box_easy_afternm (boxed, plain, size, nonce, key);
        if (crypto_box_open_easy_afternm (plain, boxed, size + crypto_box_MACBYTES, nonce, key) != 0)
            break;
        n++;
    }
    double us = n ? (process_cpu () - start) * 1e6 / n : 0;
    free (plain);
    free (boxed);
    sodium_memzero (key, sizeof key);
    return us;
}

static double
ours_throughput (keys_t *keys, size_t size, long count)
{
    sink_args_t args = { keys, true, false, count, 0 };
    zactor_t *sink = zactor_new (our_sink, &args);
    curvecp_zmq_client_t *client = curvecp_zmq_client_new (&keys->client_keys, keys->server_keys.public_key, NAME);
    curvecp_zmq_client_set_linger (client, 0);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", args.port);
    curvecp_zmq_client_connect (client, endpoint);
    uint8_t *payload = (uint8_t *) calloc (1, size ? size : 1);
    zmsg_t *msg = payload_msg (payload, size);
    curvecp_zmq_client_send (client, &msg);
    curvecp_zmq_client_flush (client);
    double rate = 0;
    if (await (sink, "FIRST", client, 10)) {
        uint64_t start = curvecp_clock_now ();
        double cpu = process_cpu ();
        for (long i = 0; i < count; i++) {
            msg = payload_msg (payload, size);
            if (curvecp_zmq_client_send (client, &msg) != 0) {
                zmsg_destroy (&msg);
                break;
            }
        }
        curvecp_zmq_client_flush (client);
        if (await (sink, "DONE", client, 30)) {
            rate = (double) count / seconds_since (start);
            cpu_per_message = (process_cpu () - cpu) * 1e6 / (double) count;
        }
    }
    free (payload);
    curvecp_zmq_client_destroy (&client);
    zactor_destroy (&sink);
    return rate;
}

static double
peer_throughput (keys_t *keys, size_t size, long count)
{
    sink_args_t args = { keys, false, false, count, 0 };
    zactor_t *sink = zactor_new (peer_sink, &args);
    zsock_t *dealer = peer_dealer (keys, args.port);
    void *handle = zsock_resolve (dealer);
    uint8_t *payload = (uint8_t *) calloc (1, size ? size : 1);
    zmq_send (handle, payload, size, 0);
    double rate = 0;
    if (await (sink, "FIRST", NULL, 10)) {
        uint64_t start = curvecp_clock_now ();
        double cpu = process_cpu ();
        for (long i = 0; i < count; i++)
            zmq_send (handle, payload, size, 0);
        if (await (sink, "DONE", NULL, 30)) {
            rate = (double) count / seconds_since (start);
            cpu_per_message = (process_cpu () - cpu) * 1e6 / (double) count;
        }
    }
    free (payload);
    zsock_destroy (&dealer);
    zactor_destroy (&sink);
    return rate;
}

/* ---- latency ----------------------------------------------------------------------- */

/* One echo pair, ours or libzmq CURVE's, and every round trip it timed.
   Both pairs stay open side by side so that their rounds can alternate. */
typedef struct {
    bool ours;
    const char *label;
    sink_args_t args;
    zactor_t *sink;
    curvecp_zmq_client_t *client;       /* ours */
    zsock_t *dealer;                    /* libzmq CURVE */
    uint64_t *samples;                  /* ns per timed round trip */
    long timed, capacity;
    bool failed;
} pinger_t;

#define WARM_UP_ROUNDS 100
#define BLOCK_ROUNDS   200      /* rounds of one pair before the other's turn */

static void
pinger_open (pinger_t *self, keys_t *keys, bool ours, long rounds)
{
    memset (self, 0, sizeof *self);
    self->ours = ours;
    self->label = ours ? "ours" : "libzmq CURVE";
    self->args = (sink_args_t) { keys, ours, true, 0, 0 };
    self->sink = zactor_new (ours ? our_sink : peer_sink, &self->args);
    self->samples = (uint64_t *) calloc ((size_t) rounds, sizeof *self->samples);
    self->capacity = rounds;
    self->failed = !self->samples;
    if (ours) {
        self->client = curvecp_zmq_client_new (&keys->client_keys, keys->server_keys.public_key, NAME);
        curvecp_zmq_client_set_rcvtimeo (self->client, 5000);
        curvecp_zmq_client_set_linger (self->client, 0);
        char endpoint[64];
        snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", self->args.port);
        curvecp_zmq_client_connect (self->client, endpoint);
    }
    else {
        self->dealer = peer_dealer (keys, self->args.port);
        zsock_set_rcvtimeo (self->dealer, 5000);
    }
}

/* One 64-byte round trip; timed ones are recorded, a lost one marks the
   pair failed. Our side goes through the public API as an application
   would (a zmsg_t each way); libzmq's through its fastest calls. */
static void
pinger_round (pinger_t *self, bool timed)
{
    static const uint8_t payload[64] = { 0 };
    uint8_t back[64];
    uint64_t start = curvecp_clock_now ();
    if (self->ours) {
        zmsg_t *msg = payload_msg (payload, sizeof payload);
        curvecp_zmq_client_send (self->client, &msg);
        zmsg_t *reply = curvecp_zmq_client_recv (self->client);
        self->failed = !reply;
        zmsg_destroy (&reply);
    }
    else {
        void *handle = zsock_resolve (self->dealer);
        zmq_send (handle, payload, sizeof payload, 0);
        self->failed = zmq_recv (handle, back, sizeof back, 0) < 0;
    }
    if (timed && !self->failed && self->timed < self->capacity)
        self->samples[self->timed++] = curvecp_clock_now () - start;
}

static void
pinger_rounds (pinger_t *self, long count, bool timed)
{
    for (long i = 0; i < count && !self->failed; i++)
        pinger_round (self, timed);
}

static int
compare_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* The mean round trip in us (0 if it failed), with its spread printed. */
static double
pinger_close (pinger_t *self)
{
    double mean = 0;
    if (!self->failed && self->timed == self->capacity && self->timed >= 10) {
        uint64_t total = 0;
        for (long i = 0; i < self->timed; i++)
            total += self->samples[i];
        mean = (double) total / 1e3 / (double) self->timed;
        long n = self->timed;
        qsort (self->samples, (size_t) n, sizeof *self->samples, compare_u64);
        printf ("  (zmq_latency_rtt_64B %s: p10 %.1f  median %.1f  p90 %.1f  p99 %.1f us)\n", self->label,
                (double) self->samples[n / 10] / 1e3, (double) self->samples[n / 2] / 1e3,
                (double) self->samples[n * 9 / 10] / 1e3, (double) self->samples[n * 99 / 100] / 1e3);
    }
    curvecp_zmq_client_destroy (&self->client);
    zsock_destroy (&self->dealer);
    zactor_destroy (&self->sink);
    free (self->samples);
    return mean;
}

/* Both pairs open at once, taking turns in blocks of BLOCK_ROUNDS (ours
   first, then libzmq's, then libzmq's, then ours, ...), so a change in
   the machine's load over the run falls on both alike. With one side
   asked for (bench/count-zmq.sh), that side alone. */
static void
latency (keys_t *keys, long rounds, double *ours_us, double *peer_us)
{
    pinger_t pair[2];
    bool wanted_side[2] = { runs ("ours"), runs ("peer") };
    for (int i = 0; i < 2; i++)
        if (wanted_side[i]) {
            pinger_open (&pair[i], keys, i == 0, rounds);
            pinger_rounds (&pair[i], WARM_UP_ROUNDS, false);
        }
    for (long block = 0; block * BLOCK_ROUNDS < rounds; block++) {
        long count = rounds - block * BLOCK_ROUNDS < BLOCK_ROUNDS ? rounds - block * BLOCK_ROUNDS : BLOCK_ROUNDS;
        for (int turn = 0; turn < 2; turn++) {
            int i = (int) ((block + turn) % 2);
            if (wanted_side[i])
                pinger_rounds (&pair[i], count, true);
        }
    }
    *ours_us = wanted_side[0] ? pinger_close (&pair[0]) : 0;
    *peer_us = wanted_side[1] ? pinger_close (&pair[1]) : 0;
}

/* ---- new connections ------------------------------------------------------------------ */

static double
ours_connections (keys_t *keys)
{
    sink_args_t args = { keys, true, true, 0, 0 };
    zactor_t *sink = zactor_new (our_sink, &args);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", args.port);
    uint64_t start = curvecp_clock_now ();
    long count = 0;
    while (fixed_count ? count < fixed_count : seconds_since (start) < run_seconds && count < 100000) {
        curvecp_zmq_client_t *client = curvecp_zmq_client_new (&keys->client_keys, keys->server_keys.public_key, NAME);
        curvecp_zmq_client_set_rcvtimeo (client, 5000);
        curvecp_zmq_client_connect (client, endpoint);
        zmsg_t *msg = zmsg_new ();
        zmsg_addstr (msg, "ping");
        curvecp_zmq_client_send (client, &msg);
        zmsg_t *reply = curvecp_zmq_client_recv (client);
        bool ok = reply != NULL;
        zmsg_destroy (&reply);
        curvecp_zmq_client_destroy (&client);
        if (!ok)
            break;
        count++;
    }
    double rate = (double) count / seconds_since (start);
    zactor_destroy (&sink);
    return rate;
}

static double
peer_connections (keys_t *keys)
{
    sink_args_t args = { keys, false, true, 0, 0 };
    zactor_t *sink = zactor_new (peer_sink, &args);
    uint64_t start = curvecp_clock_now ();
    long count = 0;
    while (fixed_count ? count < fixed_count : seconds_since (start) < run_seconds && count < 100000) {
        zsock_t *dealer = peer_dealer (keys, args.port);
        zsock_set_rcvtimeo (dealer, 5000);
        char back[8];
        zmq_send (zsock_resolve (dealer), "ping", 4, 0);
        bool ok = zmq_recv (zsock_resolve (dealer), back, sizeof back, 0) == 4;
        zsock_destroy (&dealer);
        if (!ok)
            break;
        count++;
    }
    double rate = (double) count / seconds_since (start);
    zactor_destroy (&sink);
    return rate;
}

/* ---- main ----------------------------------------------------------------------------- */

static void
result (const char *name, double ours, double peer, const char *unit)
{
    printf ("RESULT %s ours=%.1f peer=%.1f ratio=%.2f unit=%s\n", name, ours, peer,
            peer > 0 ? ours / peer : 0.0, unit);
    /* a side that ran and gave no figure failed (timed out, lost its
       peer): say so, and the exit code says so too */
    if ((runs ("ours") && ours <= 0) || (runs ("peer") && peer <= 0)) {
        fprintf (stderr, "bench-zmq: %s: %s gave no figure (failed)\n", name,
                 runs ("ours") && ours <= 0 ? "ours" : "libzmq CURVE");
        failures++;
    }
    fflush (stdout);
}

/* Messages for about run_seconds at a guessed rate, within bounds. */
static long
count_for (double rate_guess)
{
    long count = (long) (rate_guess * run_seconds);
    return count < 1000 ? 1000 : count;
}

int
main (int argc, char *argv [])
{
    if (sodium_init () < 0)
        return 1;
    if (argc > 1)
        run_seconds = atof (argv[1]);
    if (argc > 2)
        only = argv[2];
    if (argc > 3 && (streq (argv[3], "ours") || streq (argv[3], "peer")))
        side = argv[3];
    if (argc > 4)
        fixed_count = atol (argv[4]);
    if (run_seconds <= 0 || run_seconds > 10)
        run_seconds = 1.5;
    zsys_init ();
    zsys_set_sndhwm (1000);
    keys_t keys;
    curvecp_keypair_generate (&keys.server_keys);
    curvecp_keypair_generate (&keys.client_keys);

    static const struct { const char *name; size_t size; double guess; } sizes[] = {
        { "zmq_throughput_64B", 64, 1000000 },
        { "zmq_throughput_1KB", 1024, 250000 },
        { "zmq_throughput_64KB", 65536, 5000 }
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (!wanted (sizes[i].name))
            continue;
        /* the peer first: its rate sizes our run, so both take about as long */
        long guessed = fixed_count ? fixed_count : count_for (sizes[i].guess);
        cpu_per_message = 0;
        double peer = runs ("peer") ? peer_throughput (&keys, sizes[i].size, guessed) : 0;
        double peer_cpu = cpu_per_message;
        cpu_per_message = 0;
        double ours = runs ("ours") ? ours_throughput (&keys, sizes[i].size,
                                                       fixed_count ? fixed_count : count_for (peer > 0 ? peer : sizes[i].guess)) : 0;
        result (sizes[i].name, ours, peer, "msg/s");
        printf ("  (%s: ours %.0f MB/s, libzmq CURVE %.0f MB/s)\n", sizes[i].name,
                ours * (double) sizes[i].size / 1e6, peer * (double) sizes[i].size / 1e6);
        printf ("  (%s: CPU per message, every thread: ours %.1f us, libzmq CURVE %.1f us;"
                " sealing and opening one alone %.1f us)\n", sizes[i].name, cpu_per_message, peer_cpu,
                crypto_per_message (sizes[i].size));
    }
    long rounds = fixed_count ? fixed_count : (long) (run_seconds * 5000);
    if (wanted ("zmq_latency_rtt_64B")) {
        double ours_rtt, peer_rtt;
        latency (&keys, rounds, &ours_rtt, &peer_rtt);
        /* each 64-byte message is sealed once and opened once per direction:
           ours as a 192-byte CurveCP message (the smallest size a sender
           uses), libzmq's as a 65-byte box (flags + data) */
        if (!fixed_count)       /* a timed loop: it would blur bench/count-zmq.sh's counts */
            printf ("  (zmq_latency_rtt_64B: sealing and opening alone per round trip: ours %.1f us,"
                    " libzmq CURVE %.1f us)\n", 2 * crypto_per_message (192), 2 * crypto_per_message (65));
        result ("zmq_latency_rtt_64B", ours_rtt, peer_rtt, "us");
    }
    if (wanted ("zmq_connections")) {
        double peer_conn = runs ("peer") ? peer_connections (&keys) : 0;
        double ours_conn = runs ("ours") ? ours_connections (&keys) : 0;
        result ("zmq_connections", ours_conn, peer_conn, "conn/s");
    }
    curvecp_keypair_wipe (&keys.server_keys);
    curvecp_keypair_wipe (&keys.client_keys);
    return failures ? 1 : 0;
}
