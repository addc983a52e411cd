/*  bench_zmq_pubsub.c - secured fan-out against libzmq's CURVE PUB-SUB,
    same run, same machine, tcp://127.0.0.1.

    For N = 1, 10 and 100 subscribers (threads of this process, each with
    its own socket(s), both sides alike): one publisher thread sends M
    messages of 64 bytes on one topic as fast as it can; the figure is M
    divided by the time from the first send to the moment the slowest
    subscriber has received the last one (messages per second delivered
    to all of them). High-water marks are off on both sides, so nothing
    is dropped; a subscriber that still misses messages counts only those
    it got (the figure is then the slowest subscriber's count).

      ours: curvecp_zmq_pub / curvecp_zmq_sub (keys over CurveCP sessions,
            batches sealed once and signed, default batching: 32 KiB or
            2 ms); subscribers take zmsg_t from curvecp_zmq_sub_recv.
      peer: zsock PUB with a zcert server certificate (CURVE server),
            zsock SUBs with client certificates and the server key;
            subscribers take zmsg_t from zmsg_recv.

    RESULT zmq_pubsub_fanout_<N>subs ours=... peer=... ratio=... unit=msg/s

        bench-zmq-pubsub [only-N [messages-scale]]
          only-N          run only this subscriber count (0: all)
          messages-scale  multiply the message counts (default 1)      */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_zmq_pub.h"
#include "curvecp_zmq_sub.h"
#include "curvecp_zmq.h"

#define NAME "bench.example.com"
#define MSG_BYTES 64
#define SUBS_MAX 100

typedef struct run_s run_t;

typedef struct {
    run_t *run;
    pthread_t thread;
    uint64_t received;
    uint64_t done_at;           /* when it had everything (or gave up) */
} reader_t;

struct run_s {
    bool ours;
    int subs;
    uint64_t messages;
    char key_endpoint[64], data_endpoint[64];
    uint8_t pub_key[32];
    zcert_t *server_cert;       /* peer: the PUB's certificate */
    int ready, warm;            /* counts, atomically */
    volatile int stop;
    reader_t readers[SUBS_MAX];
};

static void
count_up (int *counter)
{
    __atomic_add_fetch (counter, 1, __ATOMIC_SEQ_CST);
}

static int
count_of (int *counter)
{
    return __atomic_load_n (counter, __ATOMIC_SEQ_CST);
}

/* One message taken: a warm-up ("w") or a counted one ("b"). true when
   the reader has all it waits for. */
static bool
take (reader_t *reader, zmsg_t **msg_p, bool *warm)
{
    zframe_t *topic = zmsg_first (*msg_p);
    if (topic && zframe_size (topic) == 1 && zframe_data (topic)[0] == 'w') {
        if (!*warm) {
            *warm = true;
            count_up (&reader->run->warm);
        }
    }
    else
        reader->received++;
    zmsg_destroy (msg_p);
    return reader->received == reader->run->messages;
}

static void *
ours_reader (void *arg)
{
    reader_t *reader = (reader_t *) arg;
    run_t *run = reader->run;
    curvecp_zmq_sub_t *sub = curvecp_zmq_sub_new (NULL, run->pub_key, NAME);
    zsock_set_rcvhwm (curvecp_zmq_sub_data_sock (sub), 0);
    curvecp_zmq_sub_connect (sub, run->key_endpoint, run->data_endpoint);
    curvecp_zmq_sub_subscribe (sub, "");
    if (curvecp_zmq_sub_wait_keys (sub, 60000) == 0)
        count_up (&run->ready);
    curvecp_zmq_sub_set_rcvtimeo (sub, 100);
    bool warm = false;
    uint64_t idle_since = curvecp_clock_now ();
    while (!run->stop) {
        zmsg_t *msg = curvecp_zmq_sub_recv (sub);
        if (!msg) {
            if (warm && reader->received && curvecp_clock_now () - idle_since > 3000000000ull)
                break;          /* lost some: nothing more is coming */
            continue;
        }
        idle_since = curvecp_clock_now ();
        if (take (reader, &msg, &warm))
            break;
    }
    reader->done_at = curvecp_clock_now ();
    curvecp_zmq_client_set_linger (curvecp_zmq_sub_client (sub), 0);
    curvecp_zmq_sub_destroy (&sub);
    return NULL;
}

static void *
peer_reader (void *arg)
{
    reader_t *reader = (reader_t *) arg;
    run_t *run = reader->run;
    zcert_t *cert = zcert_new ();
    zsock_t *sub = zsock_new (ZMQ_SUB);
    zcert_apply (cert, sub);
    zsock_set_curve_serverkey_bin (sub, zcert_public_key (run->server_cert));
    zsock_set_rcvhwm (sub, 0);
    zsock_set_rcvtimeo (sub, 100);
    zsock_set_subscribe (sub, "");
    zsock_connect (sub, "%s", run->data_endpoint);
    count_up (&run->ready);
    bool warm = false;
    uint64_t idle_since = curvecp_clock_now ();
    while (!run->stop) {
        zmsg_t *msg = zmsg_recv (sub);
        if (!msg) {
            if (warm && reader->received && curvecp_clock_now () - idle_since > 3000000000ull)
                break;
            continue;
        }
        idle_since = curvecp_clock_now ();
        if (take (reader, &msg, &warm))
            break;
    }
    reader->done_at = curvecp_clock_now ();
    zsock_destroy (&sub);
    zcert_destroy (&cert);
    return NULL;
}

/* The publisher's side, behind one interface for both. */
typedef struct {
    curvecp_zmq_pub_t *pub;
    zsock_t *peer;
} publisher_t;

static void
publish (publisher_t *p, const char *topic, const uint8_t *body)
{
    if (p->pub)
        curvecp_zmq_pub_send_mem (p->pub, topic, body, MSG_BYTES);
    else {
        zmq_send (zsock_resolve (p->peer), topic, strlen (topic), ZMQ_SNDMORE);
        zmq_send (zsock_resolve (p->peer), body, MSG_BYTES, 0);
    }
}

/* Let time pass for ms, serving the key channel if there is one. */
static void
idle (publisher_t *p, int ms)
{
    if (p->pub) {
        curvecp_zmq_pub_flush (p->pub);
        curvecp_zmq_pub_serve (p->pub, ms);
    }
    else
        zclock_sleep (ms);
}

static bool
publisher_start (publisher_t *p, run_t *run)
{
    memset (p, 0, sizeof *p);
    int key_port = 0, data_port;
    if (run->ours) {
        curvecp_keypair_t keys;
        curvecp_keypair_generate (&keys);
        memcpy (run->pub_key, keys.public_key, 32);
        p->pub = curvecp_zmq_pub_new (&keys, NAME);
        sodium_memzero (&keys, sizeof keys);
        curvecp_zmq_server_set_max_pending (curvecp_zmq_pub_server (p->pub), 256);
        zsock_set_sndhwm (curvecp_zmq_pub_data_sock (p->pub), 0);
        key_port = curvecp_zmq_pub_bind_keys (p->pub, "tcp://127.0.0.1:*");
        data_port = curvecp_zmq_pub_bind_data (p->pub, "tcp://127.0.0.1:*");
    }
    else {
        run->server_cert = zcert_new ();
        p->peer = zsock_new (ZMQ_PUB);
        zcert_apply (run->server_cert, p->peer);
        zsock_set_curve_server (p->peer, 1);
        zsock_set_sndhwm (p->peer, 0);
        data_port = zsock_bind (p->peer, "tcp://127.0.0.1:*");
    }
    snprintf (run->key_endpoint, sizeof run->key_endpoint, "tcp://127.0.0.1:%d", key_port);
    snprintf (run->data_endpoint, sizeof run->data_endpoint, "tcp://127.0.0.1:%d", data_port);
    return data_port > 0 && (!run->ours || key_port > 0);
}

static void
publisher_stop (publisher_t *p, run_t *run)
{
    curvecp_zmq_pub_destroy (&p->pub);
    zsock_destroy (&p->peer);
    zcert_destroy (&run->server_cert);
}

/* One run: messages per second delivered to all, or -1. */
static double
fanout (bool ours, int subs, uint64_t messages)
{
    run_t *run = (run_t *) calloc (1, sizeof (run_t));
    run->ours = ours;
    run->subs = subs;
    run->messages = messages;
    publisher_t p;
    if (!publisher_start (&p, run))
        return -1;
    for (int i = 0; i < subs; i++) {
        run->readers[i].run = run;
        pthread_create (&run->readers[i].thread, NULL, ours ? ours_reader : peer_reader, &run->readers[i]);
    }
    uint8_t body[MSG_BYTES];
    memset (body, 0x5a, sizeof body);
    /* everyone keyed (ours: over its session), then every SUB connected
       and subscribed: warm-up messages until each has seen one */
    uint64_t until = curvecp_clock_now () + 120000000000ull;
    while (count_of (&run->ready) < subs && curvecp_clock_now () < until)
        idle (&p, 10);
    while (count_of (&run->warm) < subs && curvecp_clock_now () < until) {
        publish (&p, "w", body);
        idle (&p, 20);
    }
    double rate = -1;
    if (count_of (&run->warm) == subs) {
        idle (&p, 100);
        uint64_t start = curvecp_clock_now ();
        for (uint64_t i = 0; i < messages; i++) {
            publish (&p, "b", body);
            if (p.pub && (i & 4095) == 4095)
                curvecp_zmq_pub_serve (p.pub, 0);
        }
        if (p.pub)
            curvecp_zmq_pub_flush (p.pub);
        uint64_t sent = curvecp_clock_now ();
        for (int i = 0; i < subs; i++) {
            /* the key channel stays served while the readers finish */
            while (p.pub && pthread_tryjoin_np (run->readers[i].thread, NULL) != 0)
                curvecp_zmq_pub_serve (p.pub, 5);
            if (!p.pub)
                pthread_join (run->readers[i].thread, NULL);
        }
        uint64_t last = start, fewest = messages;
        for (int i = 0; i < subs; i++) {
            if (run->readers[i].done_at > last)
                last = run->readers[i].done_at;
            if (run->readers[i].received < fewest)
                fewest = run->readers[i].received;
        }
        if (getenv ("BENCH_DEBUG"))
            fprintf (stderr, "  %s: sent in %.3f s\n", ours ? "ours" : "libzmq", (sent - start) / 1e9);
        if (getenv ("BENCH_DEBUG"))
            for (int i = 0; i < subs; i++)
                fprintf (stderr, "  reader %d: %llu in %.3f s\n", i, (unsigned long long) run->readers[i].received,
                         (run->readers[i].done_at - start) / 1e9);
        if (fewest < messages)
            fprintf (stderr, "bench-zmq-pubsub: %s, %d subscribers: the slowest got %llu of %llu\n",
                     ours ? "ours" : "libzmq", subs, (unsigned long long) fewest, (unsigned long long) messages);
        rate = (double) fewest / ((double) (last - start) / 1e9);
    }
    else {
        fprintf (stderr, "bench-zmq-pubsub: %s, %d subscribers: only %d ready, %d warm\n", ours ? "ours" : "libzmq",
                 subs, count_of (&run->ready), count_of (&run->warm));
        run->stop = 1;
        for (int i = 0; i < subs; i++)
            while (p.pub && pthread_tryjoin_np (run->readers[i].thread, NULL) != 0)
                curvecp_zmq_pub_serve (p.pub, 5);
        for (int i = 0; !p.pub && i < subs; i++)
            pthread_join (run->readers[i].thread, NULL);
    }
    publisher_stop (&p, run);
    free (run);
    return rate;
}

int
main (int argc, char **argv)
{
    int only = argc > 1 ? atoi (argv[1]) : 0;
    double scale = argc > 2 ? atof (argv[2]) : 1.0;
    if (sodium_init () < 0 || scale <= 0)
        return 1;
    zsys_init ();
    zsys_set_linger (0);
    zsys_set_max_sockets (4096);
    static const struct { int subs; uint64_t messages; } runs[] = {
        { 1, 200000 }, { 10, 100000 }, { 100, 20000 }
    };
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        if (only && runs[r].subs != only)
            continue;
        uint64_t messages = (uint64_t) (runs[r].messages * scale);
        /* BENCH_SIDE=ours or =peer runs one side alone (for profiling) */
        const char *side = getenv ("BENCH_SIDE");
        double peer = side && streq (side, "ours") ? 0 : fanout (false, runs[r].subs, messages);
        double ours = side && streq (side, "peer") ? 0 : fanout (true, runs[r].subs, messages);
        printf ("RESULT zmq_pubsub_fanout_%dsubs ours=%.0f peer=%.0f ratio=%.2f unit=msg/s\n", runs[r].subs, ours,
                peer, peer > 0 ? ours / peer : 0.0);
        fflush (stdout);
    }
    return 0;
}
