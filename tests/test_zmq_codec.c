/*  The ØMQ codec in memory: handshake and data as blobs between a client
    and a server codec on a simulated clock, whole multi-frame messages of
    many sizes byte-exact, bad blobs refused with reasons and counted,
    dropped blobs recovered by retransmission, a server restart with a
    transparent re-handshake, a wrong server key failing after the
    timeout, a refused client getting no session, and the blobs checked
    as CurveCP packets with the core's own decoders.                      */
#include <sodium.h>
#include "testutil.h"
#include "curvecp_zmq_codec.h"
#include "curvecp_zmq_codec_internal.h"
#include "curvecp_appframe.h"
#include "curvecp_hs_server.h"
#include "curvecp_message.h"
#include "curvecp_packet.h"

#define MS  1000000ull
#define SEC 1000000000ull

static const char *names[] = { "zmq.example.com", NULL };

typedef struct {
    curvecp_zmq_codec_t *client, *server;
    uint64_t now;
    int drop_every;          /* drop every n-th server->client blob (0 = none) */
    int server_blobs;
    int dropped;
    size_t client_cap, server_cap;   /* output buffers (0 = CURVECP_PACKET_MAX) */
    size_t largest[2];               /* largest blob seen from client, server */
} net_t;

/* The codec's deadline, checked against one computed afresh: the codec
   keeps it between calls that change nothing, and a call that changes
   something but forgets to drop it would leave a stale deadline (a
   connection that sleeps through its work). */
static uint64_t
deadline (curvecp_zmq_codec_t *codec)
{
    uint64_t kept = curvecp_zmq_codec_deadline (codec);
    CHECK_EQ (kept, curvecp_zmq_codec_deadline_fresh (codec));
    return kept;
}

/* Move blobs both ways until neither side has anything to send. */
static int
exchange (net_t *net)
{
    static uint8_t blob[CURVECP_ZMQ_CODEC_BLOB_MAX];
    size_t client_cap = net->client_cap ? net->client_cap : CURVECP_PACKET_MAX;
    size_t server_cap = net->server_cap ? net->server_cap : CURVECP_PACKET_MAX;
    size_t len;
    int moved = 0;
    bool again = true;
    while (again) {
        again = false;
        while ((len = curvecp_zmq_codec_output (net->client, net->now, blob, client_cap)) > 0) {
            if (len > net->largest[0])
                net->largest[0] = len;
            if (net->server) {
                curvecp_zmq_codec_execute (net->server, blob, len, net->now);
                deadline (net->server);
            }
            moved++;
            again = true;
        }
        while (net->server && (len = curvecp_zmq_codec_output (net->server, net->now, blob, server_cap)) > 0) {
            if (len > net->largest[1])
                net->largest[1] = len;
            net->server_blobs++;
            moved++;
            again = true;
            if (net->drop_every && net->server_blobs % net->drop_every == 0) {
                net->dropped++;
                continue;
            }
            curvecp_zmq_codec_execute (net->client, blob, len, net->now);
            deadline (net->client);
        }
    }
    return moved;
}

/* Exchange, then jump the clock to the next deadline; stop when done()
   says so or after limit of simulated time. */
typedef bool (done_fn) (net_t *net, void *arg);

static bool
run_until (net_t *net, done_fn *done, void *arg, uint64_t limit)
{
    uint64_t end = net->now + limit;
    int idle_rounds = 0;
    while (net->now <= end) {
        int moved = exchange (net);
        if (done (net, arg))
            return true;
        uint64_t next = deadline (net->client);
        if (net->server && deadline (net->server) < next)
            next = deadline (net->server);
        if (next == UINT64_MAX)
            return done (net, arg);
        /* a deadline that is due but makes nothing move is a bug */
        idle_rounds = moved || next > net->now ? 0 : idle_rounds + 1;
        if (idle_rounds >= 1000)
            fprintf (stderr, "stalled at %llu: client deadline %llu state %d, server deadline %llu state %d\n",
                     (unsigned long long) net->now, (unsigned long long) curvecp_zmq_codec_deadline (net->client),
                     curvecp_zmq_codec_state (net->client),
                     (unsigned long long) (net->server ? curvecp_zmq_codec_deadline (net->server) : 0),
                     net->server ? (int) curvecp_zmq_codec_state (net->server) : -1);
        CHECK (idle_rounds < 1000);
        if (next > net->now)
            net->now = next;
    }
    return done (net, arg);
}

static bool
both_connected (net_t *net, void *arg)
{
    (void) arg;
    return curvecp_zmq_codec_state (net->client) == CURVECP_ZMQ_CODEC_CONNECTED
        && curvecp_zmq_codec_state (net->server) == CURVECP_ZMQ_CODEC_CONNECTED;
}

static bool
client_failed (net_t *net, void *arg)
{
    (void) arg;
    return curvecp_zmq_codec_state (net->client) == CURVECP_ZMQ_CODEC_FAILED;
}

static void
net_setup (net_t *net, curvecp_keypair_t *server_keys, curvecp_keypair_t *client_keys,
           const curvecp_zmq_codec_options_t *options)
{
    memset (net, 0, sizeof *net);
    net->now = 1000 * SEC;
    curvecp_keypair_generate (server_keys);
    curvecp_keypair_generate (client_keys);
    net->server = curvecp_zmq_codec_new_server (server_keys, NULL, names, options, net->now);
    net->client = curvecp_zmq_codec_new_client (client_keys, server_keys->public_key, names[0], NULL, NULL,
                                            options, net->now);
    CHECK (net->server && net->client);
}

static void
net_teardown (net_t *net)
{
    curvecp_zmq_codec_destroy (&net->client);
    curvecp_zmq_codec_destroy (&net->server);
    CHECK (net->client == NULL && net->server == NULL);
}

/* ---- messages ------------------------------------------------------------ */

static uint8_t
pattern (size_t message, size_t frame, size_t i)
{
    return (uint8_t) (message * 131 + frame * 31 + i * 7 + (i >> 8));
}

static zmsg_t *
make_message (size_t id, const size_t *sizes, size_t frames)
{
    zmsg_t *msg = zmsg_new ();
    for (size_t f = 0; f < frames; f++) {
        zframe_t *frame = zframe_new (NULL, sizes[f]);
        for (size_t i = 0; i < sizes[f]; i++)
            zframe_data (frame)[i] = pattern (id, f, i);
        zmsg_append (msg, &frame);
    }
    return msg;
}

static void
check_message (zmsg_t *msg, size_t id, const size_t *sizes, size_t frames)
{
    CHECK (msg);
    CHECK_EQ (zmsg_size (msg), frames);
    zframe_t *frame = zmsg_first (msg);
    for (size_t f = 0; f < frames; f++, frame = zmsg_next (msg)) {
        CHECK_EQ (zframe_size (frame), sizes[f]);
        for (size_t i = 0; i < sizes[f]; i++)
            if (zframe_data (frame)[i] != pattern (id, f, i)) {
                fprintf (stderr, "message %zu frame %zu byte %zu differs\n", id, f, i);
                CHECK (0);
            }
    }
}

typedef struct {
    curvecp_zmq_codec_t *receiver;
    size_t expected, received;
    const size_t (*sizes)[3];
    const size_t *frames;
} receive_t;

static bool
received_all (net_t *net, void *arg)
{
    (void) net;
    receive_t *r = (receive_t *) arg;
    zmsg_t *msg;
    while ((msg = curvecp_zmq_codec_recv (r->receiver)) != NULL) {
        CHECK (r->received < r->expected);
        check_message (msg, r->received, r->sizes[r->received], r->frames[r->received]);
        zmsg_destroy (&msg);
        r->received++;
    }
    return r->received == r->expected;
}

/* Queue msg on sender, moving blobs (and reading at r's receiver) while
   the send queue is full, as a carrier would. */
static void
send_pumping (net_t *net, curvecp_zmq_codec_t *sender, zmsg_t *msg, receive_t *r)
{
    int rounds = 0;
    while (curvecp_zmq_codec_send (sender, &msg) != 0) {
        CHECK (curvecp_zmq_codec_state (sender) != CURVECP_ZMQ_CODEC_FAILED);
        CHECK (++rounds < 100000);
        exchange (net);
        received_all (net, r);
        uint64_t next = curvecp_zmq_codec_deadline (sender);
        if (next != UINT64_MAX && next > net->now)
            net->now = next;
    }
}

/* ---- tests ------------------------------------------------------------------- */

static void
test_handshake (void)
{
    curvecp_keypair_t sk, ck;
    net_t net;
    net_setup (&net, &sk, &ck, NULL);
    CHECK_EQ (curvecp_zmq_codec_state (net.client), CURVECP_ZMQ_CODEC_HANDSHAKE);
    CHECK (run_until (&net, both_connected, NULL, 5 * SEC));
    /* Hello, Cookie, Initiate, server Message: at least four blobs, no refusals */
    CHECK (curvecp_zmq_codec_info (net.client)->blobs_out >= 2);
    CHECK (curvecp_zmq_codec_info (net.server)->blobs_out >= 2);
    CHECK_EQ (curvecp_stats_rejected (curvecp_zmq_codec_stats (net.server)), 0);
    CHECK_EQ (curvecp_stats_rejected (curvecp_zmq_codec_stats (net.client)), 0);
    CHECK_MEM (curvecp_zmq_codec_peer_key (net.server), ck.public_key, 32);
    CHECK_MEM (curvecp_zmq_codec_peer_key (net.client), sk.public_key, 32);
    CHECK (streq (curvecp_zmq_codec_server_name (net.server), "zmq.example.com"));
    CHECK_MEM (curvecp_zmq_codec_client_short_key (net.server), curvecp_zmq_codec_client_short_key (net.client), 32);
    CHECK (curvecp_zmq_codec_idle (net.client));
    net_teardown (&net);
}

static void
test_messages_of_many_sizes (void)
{
    static const size_t sizes[][3] = {
        { 0 }, { 1 }, { 64 }, { 255 }, { 256 }, { 1000 }, { 1024 }, { 1025 },
        { 0, 0, 0 }, { 5, 0, 300 }, { 65536 }, { 100000, 1, 70000 },
        { 1 << 20 }, { 3 * 1000 * 1000 }, { 64, 64, 64 }, { 12 }
    };
    static const size_t frames[] = { 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 1, 3, 1, 1, 3, 1 };
    size_t count = sizeof frames / sizeof frames[0];
    curvecp_keypair_t sk, ck;
    net_t net;
    net_setup (&net, &sk, &ck, NULL);
    /* queued before the handshake: they wait and then flow */
    receive_t r = { net.server, count, 0, sizes, frames };
    for (size_t i = 0; i < count; i++)
        send_pumping (&net, net.client, make_message (i, sizes[i], frames[i]), &r);
    CHECK (run_until (&net, received_all, &r, 120 * SEC));
    CHECK_EQ (curvecp_zmq_codec_info (net.server)->messages_in, count);

    /* and back: the server to the client */
    receive_t back = { net.client, count, 0, sizes, frames };
    for (size_t i = 0; i < count; i++)
        send_pumping (&net, net.server, make_message (i, sizes[i], frames[i]), &back);
    CHECK (run_until (&net, received_all, &back, 120 * SEC));
    CHECK_EQ (curvecp_stats_rejected (curvecp_zmq_codec_stats (net.server)), 0);
    CHECK_EQ (curvecp_stats_rejected (curvecp_zmq_codec_stats (net.client)), 0);
    /* an empty message (no frames) is refused and left with the caller */
    zmsg_t *empty = zmsg_new ();
    CHECK_EQ (curvecp_zmq_codec_send (net.client, &empty), -1);
    CHECK (empty);
    zmsg_destroy (&empty);
    net_teardown (&net);
}

/* Many small messages share CurveCP messages. */
static void
test_coalescing (void)
{
    curvecp_keypair_t sk, ck;
    net_t net;
    net_setup (&net, &sk, &ck, NULL);
    CHECK (run_until (&net, both_connected, NULL, 5 * SEC));
    uint64_t blobs_before = curvecp_zmq_codec_info (net.client)->blobs_out;
    enum { N = 1000 };
    static size_t sizes[N][3];
    static size_t frames[N];
    for (size_t i = 0; i < N; i++) {
        sizes[i][0] = 64;
        frames[i] = 1;
        zmsg_t *msg = make_message (i, sizes[i], 1);
        CHECK_EQ (curvecp_zmq_codec_send (net.client, &msg), 0);
    }
    receive_t r = { net.server, N, 0, (const size_t (*)[3]) sizes, frames };
    CHECK (run_until (&net, received_all, &r, 10 * SEC));
    uint64_t blobs = curvecp_zmq_codec_info (net.client)->blobs_out - blobs_before;
    /* 66 bytes each on the stream: 1000 messages fit in 65 full blocks */
    printf ("coalescing: %d messages of 64 bytes in %llu client blobs\n", N, (unsigned long long) blobs);
    CHECK (blobs <= 80);
    net_teardown (&net);
}

/* A burst of messages of mixed sizes queued while data is in flight:
   the Nagle rule then writes whole blocks, cutting frames anywhere. */
static void
test_burst_mixed_sizes (void)
{
    curvecp_keypair_t sk, ck;
    net_t net;
    net_setup (&net, &sk, &ck, NULL);
    CHECK (run_until (&net, both_connected, NULL, 5 * SEC));
    enum { N = 400 };
    static size_t sizes[N][3];
    static size_t frames[N];
    for (size_t i = 0; i < N; i++) {
        sizes[i][0] = randombytes_uniform (3000);
        sizes[i][1] = randombytes_uniform (300);
        frames[i] = 2;
    }
    receive_t r = { net.server, N, 0, (const size_t (*)[3]) sizes, frames };
    for (size_t i = 0; i < N; i++) {
        zmsg_t *msg = make_message (i, sizes[i], 2);
        CHECK_EQ (curvecp_zmq_codec_send (net.client, &msg), 0);
        if (i % 7 == 0) {                       /* some output between sends */
            uint8_t blob[CURVECP_PACKET_MAX];
            size_t len = curvecp_zmq_codec_output (net.client, net.now, blob, sizeof blob);
            if (len)
                curvecp_zmq_codec_execute (net.server, blob, len, net.now);
        }
    }
    CHECK (run_until (&net, received_all, &r, 60 * SEC));
    CHECK (curvecp_zmq_codec_idle (net.client));
    net_teardown (&net);
}

static void
test_drops_recovered (void)
{
    curvecp_keypair_t sk, ck;
    net_t net;
    net_setup (&net, &sk, &ck, NULL);
    CHECK (run_until (&net, both_connected, NULL, 5 * SEC));
    net.drop_every = 7;          /* as if a ROUTER at its high-water mark dropped them */
    enum { N = 40 };
    static size_t sizes[N][3];
    static size_t frames[N];
    for (size_t i = 0; i < N; i++) {
        sizes[i][0] = 3000 + i * 500;
        sizes[i][1] = i;
        frames[i] = 2;
        zmsg_t *msg = make_message (i, sizes[i], 2);
        CHECK_EQ (curvecp_zmq_codec_send (net.server, &msg), 0);
    }
    receive_t r = { net.client, N, 0, (const size_t (*)[3]) sizes, frames };
    CHECK (run_until (&net, received_all, &r, 120 * SEC));
    CHECK (net.dropped > 0);
    const curvecp_stream_info_t *info = curvecp_stream_info (curvecp_zmq_codec_stream (net.server));
    CHECK (info->retransmissions > 0);
    printf ("drops: %d blobs dropped, %llu retransmissions, all %d messages intact\n", net.dropped,
            (unsigned long long) info->retransmissions, N);
    net_teardown (&net);
}

static void
expect_refused (curvecp_zmq_codec_t *codec, const uint8_t *blob, size_t len, curvecp_reason_t want, uint64_t now)
{
    uint64_t before = curvecp_zmq_codec_stats (codec)->counts[want];
    curvecp_zmq_codec_state_t state = curvecp_zmq_codec_state (codec);
    CHECK_EQ (curvecp_zmq_codec_execute (codec, blob, len, now), want);
    CHECK_EQ (curvecp_zmq_codec_stats (codec)->counts[want], before + 1);
    CHECK_EQ (curvecp_zmq_codec_state (codec), state);
}

static void
test_bad_blobs (void)
{
    curvecp_keypair_t sk, ck;
    net_t net;
    net_setup (&net, &sk, &ck, NULL);
    CHECK (run_until (&net, both_connected, NULL, 5 * SEC));
    uint8_t blob[CURVECP_PACKET_MAX], copy[CURVECP_PACKET_MAX];
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "one");
    CHECK_EQ (curvecp_zmq_codec_send (net.client, &msg), 0);
    size_t len = curvecp_zmq_codec_output (net.client, net.now, blob, sizeof blob);
    CHECK (len > CURVECP_CLIENT_MSG_BASE);
    memcpy (copy, blob, len);

    uint64_t now = net.now;
    /* at the server */
    expect_refused (net.server, NULL, 0, CURVECP_E_BAD_ARGUMENT, now);
    expect_refused (net.server, blob, 10, CURVECP_E_TOO_SHORT, now);
    expect_refused (net.server, blob, len - 1, CURVECP_E_NOT_MULTIPLE_16, now);
    copy[0] ^= 1;
    expect_refused (net.server, copy, len, CURVECP_E_BAD_MAGIC, now);
    copy[0] ^= 1;
    copy[8] ^= 1;
    expect_refused (net.server, copy, len, CURVECP_E_WRONG_SERVER_EXT, now);
    copy[8] ^= 1;
    copy[len - 1] ^= 1;
    expect_refused (net.server, copy, len, CURVECP_E_BAD_MESSAGE_BOX, now);
    copy[len - 1] ^= 1;
    copy[40] ^= 1;                          /* another C': no such connection */
    expect_refused (net.server, copy, len, CURVECP_E_UNKNOWN_SESSION, now);
    copy[40] ^= 1;
    uint8_t garbage[CURVECP_PACKET_MAX];
    randombytes_buf (garbage, sizeof garbage);
    expect_refused (net.server, garbage, 512, CURVECP_E_BAD_MAGIC, now);
    memcpy (garbage, "QvnQ5XlM", 8);
    memset (garbage + 8, 0, 16);
    expect_refused (net.server, garbage, 512, CURVECP_E_UNKNOWN_SESSION, now);
    /* the original still opens, once */
    CHECK_EQ (curvecp_zmq_codec_execute (net.server, blob, len, now), CURVECP_OK);
    expect_refused (net.server, blob, len, CURVECP_E_REPLAYED_NONCE, now);
    zmsg_t *got = curvecp_zmq_codec_recv (net.server);
    CHECK (got && zmsg_size (got) == 1 && zframe_streq (zmsg_first (got), "one"));
    zmsg_destroy (&got);
    CHECK_EQ (curvecp_stats_rejected (curvecp_zmq_codec_stats (net.server)), 10);

    /* at the client */
    msg = zmsg_new ();
    zmsg_addstr (msg, "two");
    CHECK_EQ (curvecp_zmq_codec_send (net.server, &msg), 0);
    len = curvecp_zmq_codec_output (net.server, now, blob, sizeof blob);
    CHECK (len > CURVECP_SERVER_MSG_BASE);
    memcpy (copy, blob, len);
    expect_refused (net.client, blob, 79, CURVECP_E_TOO_SHORT, now);
    expect_refused (net.client, garbage, CURVECP_PACKET_MAX, CURVECP_E_TOO_LONG, now);
    copy[len - 20] ^= 0x40;
    expect_refused (net.client, copy, len, CURVECP_E_BAD_MESSAGE_BOX, now);
    copy[len - 20] ^= 0x40;
    copy[9] ^= 1;                           /* client extension field */
    expect_refused (net.client, copy, len, CURVECP_E_WRONG_CLIENT_EXT, now);
    copy[9] ^= 1;
    uint8_t cookie[CURVECP_COOKIE_BYTES] = "RL3aNMXK";
    expect_refused (net.client, cookie, sizeof cookie, CURVECP_E_WRONG_STATE, now);
    CHECK_EQ (curvecp_zmq_codec_execute (net.client, blob, len, now), CURVECP_OK);
    expect_refused (net.client, blob, len, CURVECP_E_REPLAYED_NONCE, now);
    got = curvecp_zmq_codec_recv (net.client);
    CHECK (got && zframe_streq (zmsg_first (got), "two"));
    zmsg_destroy (&got);
    CHECK_EQ (curvecp_zmq_codec_state (net.client), CURVECP_ZMQ_CODEC_CONNECTED);
    CHECK_EQ (curvecp_zmq_codec_state (net.server), CURVECP_ZMQ_CODEC_CONNECTED);
    net_teardown (&net);
}

static bool
server_has (net_t *net, void *arg)
{
    const char *want = (const char *) arg;
    zmsg_t *msg = net->server ? curvecp_zmq_codec_recv (net->server) : NULL;
    if (!msg)
        return false;
    char *text = zmsg_popstr (msg);
    CHECK (text && streq (text, want));
    zstr_free (&text);
    zmsg_destroy (&msg);
    return true;
}

static void
send_text (curvecp_zmq_codec_t *codec, const char *text)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, text);
    CHECK_EQ (curvecp_zmq_codec_send (codec, &msg), 0);
}

/* The server forgets everything; the client notices the silence, makes a
   new handshake by itself and delivers what was not acknowledged. */
static void
test_server_restart (void)
{
    curvecp_keypair_t sk, ck;
    net_t net;
    net_setup (&net, &sk, &ck, NULL);
    send_text (net.client, "before");
    CHECK (run_until (&net, server_has, "before", 5 * SEC));
    CHECK (run_until (&net, both_connected, NULL, 5 * SEC));
    exchange (&net);
    CHECK (curvecp_zmq_codec_idle (net.client));

    curvecp_zmq_codec_destroy (&net.server);
    net.server = curvecp_zmq_codec_new_server (&sk, NULL, names, NULL, net.now);
    uint64_t restarted = net.now;
    send_text (net.client, "after-1");
    send_text (net.client, "after-2");
    CHECK (run_until (&net, server_has, "after-1", 30 * SEC));
    CHECK (run_until (&net, server_has, "after-2", 5 * SEC));
    CHECK_EQ (curvecp_zmq_codec_info (net.client)->rehandshakes, 1);
    CHECK (curvecp_zmq_codec_info (net.client)->requeued >= 1);
    CHECK (curvecp_zmq_codec_stats (net.server)->counts[CURVECP_E_UNKNOWN_SESSION] >= 1);
    CHECK (net.now - restarted >= 5 * SEC);          /* the silence timeout */
    CHECK_EQ (curvecp_zmq_codec_state (net.client), CURVECP_ZMQ_CODEC_CONNECTED);
    CHECK_MEM (curvecp_zmq_codec_peer_key (net.server), ck.public_key, 32);
    printf ("restart: re-handshake after %.1f s of silence, %llu message(s) re-queued\n",
            (double) (net.now - restarted) / SEC,
            (unsigned long long) curvecp_zmq_codec_info (net.client)->requeued);
    net_teardown (&net);
}

static void
test_wrong_server_key (void)
{
    curvecp_keypair_t sk, ck, other;
    net_t net;
    net_setup (&net, &sk, &ck, NULL);
    curvecp_zmq_codec_destroy (&net.client);
    curvecp_keypair_generate (&other);
    net.client = curvecp_zmq_codec_new_client (&ck, other.public_key, names[0], NULL, NULL, NULL, net.now);
    uint64_t start = net.now;
    send_text (net.client, "lost");
    CHECK (run_until (&net, client_failed, NULL, 60 * SEC));
    CHECK_EQ (curvecp_zmq_codec_failure (net.client), CURVECP_ZMQ_CODEC_HANDSHAKE_TIMEOUT);
    CHECK (strstr (curvecp_zmq_codec_error (net.client), "no Cookie"));
    CHECK (net.now - start >= 10 * SEC && net.now - start < 11 * SEC);
    CHECK (curvecp_zmq_codec_stats (net.server)->counts[CURVECP_E_BAD_HELLO_BOX] >= 1);
    CHECK_EQ (curvecp_zmq_codec_state (net.server), CURVECP_ZMQ_CODEC_HANDSHAKE);
    /* a failed codec takes nothing more */
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "refused");
    CHECK_EQ (curvecp_zmq_codec_send (net.client, &msg), -1);
    zmsg_destroy (&msg);
    CHECK_EQ (curvecp_zmq_codec_deadline (net.client), UINT64_MAX);
    printf ("wrong key: \"%s\" after %.1f s\n", curvecp_zmq_codec_error (net.client),
            (double) (net.now - start) / SEC);
    net_teardown (&net);
}

typedef struct {
    uint8_t allowed[32];
    int calls;
    char name[256];
} policy_t;

static bool
authorize (void *arg, const uint8_t client_key[32], const char *server_name)
{
    policy_t *policy = (policy_t *) arg;
    policy->calls++;
    snprintf (policy->name, sizeof policy->name, "%s", server_name);
    return memcmp (client_key, policy->allowed, 32) == 0;
}

static void
test_authoriser (void)
{
    curvecp_keypair_t sk, ck;
    net_t net;
    policy_t policy;
    memset (&policy, 0, sizeof policy);
    /* allowed */
    net_setup (&net, &sk, &ck, NULL);
    memcpy (policy.allowed, ck.public_key, 32);
    curvecp_zmq_codec_set_authorizer (net.server, authorize, &policy);
    send_text (net.client, "let me in");
    CHECK (run_until (&net, server_has, "let me in", 5 * SEC));
    CHECK_EQ (policy.calls, 1);
    CHECK (streq (policy.name, "zmq.example.com"));
    net_teardown (&net);

    /* denied: no session, and the client learns it as a handshake failure */
    net_setup (&net, &sk, &ck, NULL);
    policy.calls = 0;
    curvecp_zmq_codec_set_authorizer (net.server, authorize, &policy);
    send_text (net.client, "let me in");
    CHECK (run_until (&net, client_failed, NULL, 60 * SEC));
    CHECK (policy.calls >= 1);
    CHECK_EQ (curvecp_zmq_codec_state (net.server), CURVECP_ZMQ_CODEC_FAILED);
    CHECK_EQ (curvecp_zmq_codec_failure (net.server), CURVECP_ZMQ_CODEC_DENIED);
    CHECK (curvecp_zmq_codec_stats (net.server)->counts[CURVECP_E_NOT_AUTHORISED] >= 1);
    CHECK (curvecp_zmq_codec_stream (net.server) == NULL);
    CHECK (curvecp_zmq_codec_recv (net.server) == NULL);
    CHECK_EQ (curvecp_zmq_codec_failure (net.client), CURVECP_ZMQ_CODEC_HANDSHAKE_TIMEOUT);
    CHECK (strstr (curvecp_zmq_codec_error (net.client), "never answered the Initiate"));
    net_teardown (&net);
}

static void
test_idle_timeout (void)
{
    curvecp_keypair_t sk, ck;
    curvecp_zmq_codec_options_t options;
    curvecp_zmq_codec_options_default (&options);
    options.idle_timeout_ns = 2 * SEC;
    net_t net;
    net_setup (&net, &sk, &ck, &options);
    CHECK (run_until (&net, both_connected, NULL, 1 * SEC));
    uint64_t start = net.now;
    CHECK (curvecp_zmq_codec_deadline (net.server) <= start + 2 * SEC);
    net.now = start + 2 * SEC;
    uint8_t blob[CURVECP_PACKET_MAX];
    CHECK_EQ (curvecp_zmq_codec_output (net.server, net.now, blob, sizeof blob), 0);
    CHECK_EQ (curvecp_zmq_codec_failure (net.server), CURVECP_ZMQ_CODEC_IDLE);
    net_teardown (&net);
}

/* The codec's blobs are CurveCP packets: the core's own server
   handshake and packet decoders read them, and a Server Message sealed
   by a core session is read by the codec. */
static void
test_blobs_are_curvecp_packets (void)
{
    curvecp_keypair_t sk, ck;
    curvecp_keypair_generate (&sk);
    curvecp_keypair_generate (&ck);
    static const uint8_t zero[16] = { 0 };
    uint64_t now = 5 * SEC;
    curvecp_hs_server_t *core = curvecp_hs_server_new (&sk, zero, now, NULL);
    CHECK_EQ (curvecp_hs_server_add_name (core, "zmq.example.com"), 0);
    curvecp_zmq_codec_t *client = curvecp_zmq_codec_new_client (&ck, sk.public_key, "zmq.example.com",
                                                        NULL, NULL, NULL, now);
    uint8_t blob[CURVECP_PACKET_MAX], cookie[CURVECP_COOKIE_BYTES];
    curvecp_packet_type_t type;
    size_t len = curvecp_zmq_codec_output (client, now, blob, sizeof blob);
    CHECK_EQ (len, CURVECP_HELLO_BYTES);
    CHECK_EQ (curvecp_packet_classify_at_server (blob, len, zero, &type), CURVECP_OK);
    CHECK_EQ (type, CURVECP_PACKET_HELLO);
    CHECK_EQ (curvecp_hs_server_hello (core, blob, len, now, cookie), CURVECP_OK);
    CHECK_EQ (curvecp_zmq_codec_execute (client, cookie, sizeof cookie, now), CURVECP_OK);

    len = curvecp_zmq_codec_output (client, now, blob, sizeof blob);
    CHECK_EQ (curvecp_packet_classify_at_server (blob, len, zero, &type), CURVECP_OK);
    CHECK_EQ (type, CURVECP_PACKET_INITIATE);
    curvecp_session_t session;
    curvecp_initiate_info_t info;
    uint8_t scratch[CURVECP_INITIATE_INNER_BASE + CURVECP_INITIATE_MSG_MAX];
    CHECK_EQ (curvecp_hs_server_initiate (core, blob, len, now, &session, scratch, &info), CURVECP_OK);
    CHECK_EQ (len, CURVECP_INITIATE_BASE + info.message_len);
    CHECK_MEM (session.client_long_pk, ck.public_key, 32);
    curvecp_message_t m;
    CHECK_EQ (curvecp_message_decode (info.message, info.message_len, &m), CURVECP_OK);
    CHECK_EQ (m.position, 0);
    CHECK_EQ (m.data_len, CURVECP_APPFRAME_GREETING);
    CHECK_MEM (m.data, "ZCCP\x01\x00\x00\x00", 8);

    /* the reply: a message-layer message built and sealed by the core */
    uint8_t data[8 + 2 + 5], header[CURVECP_APPFRAME_HEADER_MAX];
    curvecp_appframe_greeting (data, 0);
    CHECK_EQ (curvecp_appframe_header (header, 5, false), 2);
    memcpy (data + 8, header, 2);
    memcpy (data + 10, "hello", 5);
    curvecp_message_t reply;
    memset (&reply, 0, sizeof reply);
    reply.id = 1;
    reply.acked_id = m.id;
    reply.range1_end = 8;
    reply.data = data;
    reply.data_len = sizeof data;
    uint8_t encoded[CURVECP_MSG_MAX];
    size_t encoded_len = curvecp_message_encode (&reply, encoded, sizeof encoded);
    CHECK (encoded_len > 0);
    CHECK_EQ (curvecp_session_seal (&session, encoded, encoded_len, blob, &len), CURVECP_OK);
    CHECK_EQ (curvecp_zmq_codec_execute (client, blob, len, now), CURVECP_OK);
    CHECK_EQ (curvecp_zmq_codec_state (client), CURVECP_ZMQ_CODEC_CONNECTED);
    zmsg_t *msg = curvecp_zmq_codec_recv (client);
    CHECK (msg && zmsg_size (msg) == 1 && zframe_streq (zmsg_first (msg), "hello"));
    zmsg_destroy (&msg);
    CHECK (curvecp_zmq_codec_idle (client));

    /* and the client's next packet is a Client Message the core opens */
    send_text (client, "x");
    len = curvecp_zmq_codec_output (client, now, blob, sizeof blob);
    CHECK_EQ (curvecp_packet_classify_at_server (blob, len, zero, &type), CURVECP_OK);
    CHECK_EQ (type, CURVECP_PACKET_CLIENT_MESSAGE);
    uint8_t opened[CURVECP_MSG_MAX];
    size_t opened_len;
    CHECK_EQ (curvecp_session_open (&session, blob, len, opened, &opened_len), CURVECP_OK);
    CHECK_EQ (curvecp_message_decode (opened, opened_len, &m), CURVECP_OK);
    CHECK_EQ (m.position, 8);
    CHECK_EQ (m.data_len, 3);
    CHECK_MEM (m.data, "\x00\x01x", 3);
    curvecp_session_wipe (&session);
    curvecp_zmq_codec_destroy (&client);
    curvecp_hs_server_destroy (&core);
}

/* ---- negotiated options -------------------------------------------------------- */

/* Move count messages of size bytes each way and check them. */
static void
exchange_messages (net_t *net, size_t count, size_t size)
{
    static size_t sizes[16][3];
    static size_t frames[16];
    CHECK (count <= 16);
    for (size_t i = 0; i < count; i++) {
        sizes[i][0] = size;
        sizes[i][1] = i;
        frames[i] = 2;
    }
    receive_t at_server = { net->server, count, 0, (const size_t (*)[3]) sizes, frames };
    receive_t at_client = { net->client, count, 0, (const size_t (*)[3]) sizes, frames };
    for (size_t i = 0; i < count; i++) {
        send_pumping (net, net->client, make_message (i, sizes[i], 2), &at_server);
        send_pumping (net, net->server, make_message (i, sizes[i], 2), &at_client);
    }
    curvecp_zmq_codec_flush (net->client);
    curvecp_zmq_codec_flush (net->server);
    CHECK (run_until (net, received_all, &at_server, 60 * SEC));
    CHECK (run_until (net, received_all, &at_client, 60 * SEC));
}

/* One connection: client and server options and output buffers; returns
   the options agreed (checked equal on both sides). */
static uint8_t
negotiate (net_t *net, const curvecp_zmq_codec_options_t *client_options,
           const curvecp_zmq_codec_options_t *server_options, size_t client_cap, size_t server_cap, int drop_every)
{
    curvecp_keypair_t sk, ck;
    memset (net, 0, sizeof *net);
    net->now = 1000 * SEC;
    curvecp_keypair_generate (&sk);
    curvecp_keypair_generate (&ck);
    net->server = curvecp_zmq_codec_new_server (&sk, NULL, names, server_options, net->now);
    net->client = curvecp_zmq_codec_new_client (&ck, sk.public_key, names[0], NULL, NULL, client_options, net->now);
    CHECK (net->server && net->client);
    net->client_cap = client_cap;
    net->server_cap = server_cap;
    net->drop_every = drop_every;
    CHECK (run_until (net, both_connected, NULL, 10 * SEC));
    exchange_messages (net, 3, 200000);
    CHECK_EQ (curvecp_zmq_codec_options_agreed (net->client), curvecp_zmq_codec_options_agreed (net->server));
    return curvecp_zmq_codec_options_agreed (net->client);
}

static void
test_options_negotiated (void)
{
    curvecp_zmq_codec_options_t large, plain, narrow;
    curvecp_zmq_codec_options_default (&large);
    CHECK_EQ (large.block_max, 65536);
    CHECK_EQ (large.window, 1024 * 1024);
    plain = large;
    plain.block_max = 1024;                     /* no large blocks, wide window */
    narrow = plain;
    narrow.window = 131072;                     /* the old defaults: NaCl's limits */
    net_t net;

    /* two default codecs whose carriers pass large blobs: large blocks
       both ways, 1 MiB windows */
    CHECK_EQ (negotiate (&net, &large, &large, CURVECP_ZMQ_CODEC_BLOB_MAX, CURVECP_ZMQ_CODEC_BLOB_MAX, 0),
              CURVECP_ZMQ_CODEC_OPTION_LARGE);
    CHECK_EQ (curvecp_zmq_codec_output_max (net.client), CURVECP_ZMQ_CODEC_BLOB_MAX);
    CHECK (net.largest[0] > CURVECP_PACKET_MAX && net.largest[1] > CURVECP_PACKET_MAX);
    CHECK (net.largest[0] <= CURVECP_ZMQ_CODEC_BLOB_MAX && net.largest[1] <= CURVECP_ZMQ_CODEC_BLOB_MAX);
    CHECK_EQ (curvecp_stream_flight_bytes_max (curvecp_zmq_codec_stream (net.client)), 1024 * 1024);
    CHECK_EQ (curvecp_stream_flight_bytes_max (curvecp_zmq_codec_stream (net.server)), 1024 * 1024);
    CHECK (curvecp_stream_info (curvecp_zmq_codec_stream (net.client))->large_blocks > 0);
    net_teardown (&net);

    /* the same with every 5th server blob lost: retransmitted large blocks */
    CHECK_EQ (negotiate (&net, &large, &large, CURVECP_ZMQ_CODEC_BLOB_MAX, CURVECP_ZMQ_CODEC_BLOB_MAX, 5),
              CURVECP_ZMQ_CODEC_OPTION_LARGE);
    CHECK (net.dropped > 0 && net.largest[1] > CURVECP_PACKET_MAX);
    net_teardown (&net);

    /* a carrier with CURVECP_PACKET_MAX buffers (either side): no offer
       from it, NaCl-sized packets both ways, still the wide window */
    CHECK_EQ (negotiate (&net, &large, &large, CURVECP_ZMQ_CODEC_BLOB_MAX, 0, 0), 0);
    CHECK_EQ (curvecp_zmq_codec_options_offered (net.client), CURVECP_ZMQ_CODEC_OPTION_LARGE);
    CHECK_EQ (curvecp_zmq_codec_options_offered (net.server), 0);
    CHECK (net.largest[0] <= CURVECP_PACKET_MAX && net.largest[1] <= CURVECP_PACKET_MAX);
    CHECK_EQ (curvecp_zmq_codec_output_max (net.client), CURVECP_PACKET_MAX);
    CHECK_EQ (curvecp_stream_flight_bytes_max (curvecp_zmq_codec_stream (net.server)), 1024 * 1024);
    net_teardown (&net);
    CHECK_EQ (negotiate (&net, &large, &large, 0, CURVECP_ZMQ_CODEC_BLOB_MAX, 0), 0);
    CHECK (net.largest[0] <= CURVECP_PACKET_MAX && net.largest[1] <= CURVECP_PACKET_MAX);
    net_teardown (&net);

    /* our peer with the option against our peer without it, both ways */
    CHECK_EQ (negotiate (&net, &large, &plain, CURVECP_ZMQ_CODEC_BLOB_MAX, CURVECP_ZMQ_CODEC_BLOB_MAX, 0), 0);
    CHECK (net.largest[0] <= CURVECP_PACKET_MAX && net.largest[1] <= CURVECP_PACKET_MAX);
    net_teardown (&net);
    CHECK_EQ (negotiate (&net, &plain, &large, CURVECP_ZMQ_CODEC_BLOB_MAX, CURVECP_ZMQ_CODEC_BLOB_MAX, 0), 0);
    CHECK (net.largest[0] <= CURVECP_PACKET_MAX && net.largest[1] <= CURVECP_PACKET_MAX);
    /* the server only answers an offer: its greeting says 0 to a client
       that offered nothing, as to peers that know no options */
    CHECK_EQ (curvecp_zmq_codec_options_offered (net.client), 0);
    CHECK_EQ (curvecp_zmq_codec_options_offered (net.server), 0);
    net_teardown (&net);

    /* the old defaults on one side: nothing announced by it, 128 KiB in
       flight towards it, default sizes both ways */
    CHECK_EQ (negotiate (&net, &narrow, &large, CURVECP_ZMQ_CODEC_BLOB_MAX, CURVECP_ZMQ_CODEC_BLOB_MAX, 0), 0);
    CHECK_EQ (curvecp_zmq_codec_options_offered (net.client), 0);
    CHECK_EQ (curvecp_stream_peer_window (curvecp_zmq_codec_stream (net.server)), 0);
    CHECK_EQ (curvecp_stream_flight_bytes_max (curvecp_zmq_codec_stream (net.server)), 131072);
    CHECK_EQ (curvecp_stream_flight_bytes_max (curvecp_zmq_codec_stream (net.client)), 131072);
    CHECK (curvecp_stream_info (curvecp_zmq_codec_stream (net.server))->most_in_flight <= 128);
    CHECK (net.largest[0] <= CURVECP_PACKET_MAX && net.largest[1] <= CURVECP_PACKET_MAX);
    net_teardown (&net);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_handshake ();
    test_messages_of_many_sizes ();
    test_coalescing ();
    test_burst_mixed_sizes ();
    test_drops_recovered ();
    test_bad_blobs ();
    test_server_restart ();
    test_wrong_server_key ();
    test_authoriser ();
    test_idle_timeout ();
    test_blobs_are_curvecp_packets ();
    test_options_negotiated ();
    printf ("test_zmq_codec: OK\n");
    return 0;
}
