/*  curvecp_zmq_client (DEALER) and curvecp_zmq_server (ROUTER) over
    tcp://127.0.0.1: two clients at once with their keys reported
    correctly, whole multi-frame messages from 0 bytes to megabytes,
    ROUTER high-water-mark drops recovered by retransmission, a DEALER
    that reconnects with a new routing id, a wrong server key reported as
    a handshake failure after the timeout, and a server restart answered
    by a transparent re-handshake. Carrier envelopes: a ØMQ message that
    is not exactly one packet frame is dropped whole and counted at both
    ends. Every wait is bounded.                                          */
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <sodium.h>
#include "testutil.h"
#include "curvecp_zmq_client.h"
#include "curvecp_zmq_codec_internal.h"
#include "curvecp_zmq_server.h"
#include "curvecp_zmq_server_internal.h"
#include "curvecp_zmq.h"
#include "test_zmq_echo_actor.h"
#include "test_zmq_fleet.h"
#include "test_zmq_heap.h"

#define NAME "echo.example.com"

static zactor_t *
start_echo (echo_args_t *args, const curvecp_keypair_t *keys, int port)
{
    memset (args, 0, sizeof *args);
    args->keys = *keys;
    args->name = NAME;
    snprintf (args->endpoint, sizeof args->endpoint, port ? "tcp://127.0.0.1:%d" : "tcp://127.0.0.1:*", port);
    zactor_t *actor = zactor_new (echo_actor, args);
    CHECK (actor && args->port > 0);
    return actor;
}

static curvecp_zmq_client_t *
new_client (const curvecp_keypair_t *keys, const uint8_t *server_key, int port,
            const curvecp_zmq_codec_options_t *options)
{
    curvecp_zmq_client_t *client = curvecp_zmq_client_new (keys, server_key, NAME);
    CHECK (client);
    if (options)
        curvecp_zmq_client_set_options (client, options);
    curvecp_zmq_client_set_rcvtimeo (client, 10000);
    curvecp_zmq_client_set_sndtimeo (client, 10000);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    CHECK_EQ (curvecp_zmq_client_connect (client, endpoint), 0);
    return client;
}

static uint8_t
pattern (size_t frame, size_t i, uint8_t seed)
{
    return (uint8_t) (seed + frame * 29 + i * 13 + (i >> 9));
}

static zmsg_t *
make_message (const size_t *sizes, size_t frames, uint8_t seed)
{
    zmsg_t *msg = zmsg_new ();
    for (size_t f = 0; f < frames; f++) {
        zframe_t *frame = zframe_new (NULL, sizes[f]);
        for (size_t i = 0; i < sizes[f]; i++)
            zframe_data (frame)[i] = pattern (f, i, seed);
        zmsg_append (msg, &frame);
    }
    return msg;
}

/* The echo: our key as the server saw it, the server name, then ours. */
static void
check_echo (zmsg_t *msg, const uint8_t *key, const size_t *sizes, size_t frames, uint8_t seed)
{
    CHECK (msg);
    char hex[65];
    curvecp_key_to_hex (key, hex);
    char *seen = zmsg_popstr (msg);
    char *name = zmsg_popstr (msg);
    CHECK (seen && streq (seen, hex));
    CHECK (name && streq (name, NAME));
    zstr_free (&seen);
    zstr_free (&name);
    CHECK_EQ (zmsg_size (msg), frames);
    zframe_t *frame = zmsg_first (msg);
    for (size_t f = 0; f < frames; f++, frame = zmsg_next (msg)) {
        CHECK_EQ (zframe_size (frame), sizes[f]);
        for (size_t i = 0; i < sizes[f]; i++)
            if (zframe_data (frame)[i] != pattern (f, i, seed)) {
                fprintf (stderr, "frame %zu byte %zu differs\n", f, i);
                CHECK (0);
            }
    }
}

static void
round_trip (curvecp_zmq_client_t *client, const curvecp_keypair_t *keys, const size_t *sizes, size_t frames,
            uint8_t seed)
{
    zmsg_t *msg = make_message (sizes, frames, seed);
    CHECK_EQ (curvecp_zmq_client_send (client, &msg), 0);
    zmsg_t *reply = curvecp_zmq_client_recv (client);
    if (!reply) {
        const curvecp_zmq_codec_t *codec = curvecp_zmq_client_codec (client);
        const curvecp_stream_t *stream = curvecp_zmq_codec_stream (codec);
        fprintf (stderr, "no reply to seed %u (%zu frames, first %zu bytes): state %d '%s', idle %d, "
                 "stream readable %zu space %zu, rejected %llu\n", seed, frames, sizes[0],
                 curvecp_zmq_codec_state (codec), curvecp_zmq_client_error (client), curvecp_zmq_codec_idle (codec),
                 stream ? curvecp_stream_readable (stream) : 0, stream ? curvecp_stream_send_space (stream) : 0,
                 (unsigned long long) curvecp_stats_rejected (curvecp_zmq_codec_stats (codec)));
    }
    check_echo (reply, keys->public_key, sizes, frames, seed);
    zmsg_destroy (&reply);
}

static void
test_two_clients_many_sizes (void)
{
    curvecp_keypair_t sk, ck1, ck2;
    curvecp_keypair_generate (&sk);
    curvecp_keypair_generate (&ck1);
    curvecp_keypair_generate (&ck2);
    echo_args_t args;
    zactor_t *echo = start_echo (&args, &sk, 0);
    curvecp_zmq_client_t *c1 = new_client (&ck1, sk.public_key, args.port, NULL);
    curvecp_zmq_client_t *c2 = new_client (&ck2, sk.public_key, args.port, NULL);

    /* interleaved, both open at once */
    static const size_t small[] = { 5 };
    round_trip (c1, &ck1, small, 1, 1);
    round_trip (c2, &ck2, small, 1, 2);
    CHECK (curvecp_zmq_client_connected (c1) && curvecp_zmq_client_connected (c2));
    zmsg_t *m1 = make_message (small, 1, 3), *m2 = make_message (small, 1, 4);
    CHECK_EQ (curvecp_zmq_client_send (c1, &m1), 0);
    CHECK_EQ (curvecp_zmq_client_send (c2, &m2), 0);
    zmsg_t *r2 = curvecp_zmq_client_recv (c2), *r1 = curvecp_zmq_client_recv (c1);
    check_echo (r1, ck1.public_key, small, 1, 3);
    check_echo (r2, ck2.public_key, small, 1, 4);
    zmsg_destroy (&r1);
    zmsg_destroy (&r2);

    static const size_t sizes[][4] = {
        { 0 }, { 1 }, { 64 }, { 1024 }, { 1088 }, { 65536 }, { 0, 0, 0, 0 }, { 3, 70000, 0, 9 },
        { 1000 * 1000 }, { 4 * 1024 * 1024 + 3 }, { 255, 256, 257, 1 }
    };
    static const size_t frames[] = { 1, 1, 1, 1, 1, 1, 4, 4, 1, 1, 4 };
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++)
        round_trip (i % 2 ? c2 : c1, i % 2 ? &ck2 : &ck1, sizes[i], frames[i], (uint8_t) (10 + i));

    /* many small messages in a burst, each echoed in order */
    for (int i = 0; i < 2000; i++) {
        size_t size = (size_t) (i % 97);
        zmsg_t *msg = make_message (&size, 1, (uint8_t) i);
        CHECK_EQ (curvecp_zmq_client_send (c1, &msg), 0);
    }
    for (int i = 0; i < 2000; i++) {
        size_t size = (size_t) (i % 97);
        zmsg_t *reply = curvecp_zmq_client_recv (c1);
        check_echo (reply, ck1.public_key, &size, 1, (uint8_t) i);
        zmsg_destroy (&reply);
    }
    unsigned long long dropped, accepted, refused;
    size_t peers;
    echo_stats (echo, &dropped, &peers, &accepted, &refused);
    CHECK_EQ (peers, 2);
    CHECK_EQ (refused, 0);
    /* both carriers give the codec whole-blob buffers, so our two ends
       agree on large blocks: the 4 MB round trip took few packets */
    CHECK_EQ (curvecp_zmq_codec_options_agreed (curvecp_zmq_client_codec (c1)), CURVECP_ZMQ_CODEC_OPTION_LARGE);
    CHECK_EQ (curvecp_zmq_codec_output_max (curvecp_zmq_client_codec (c1)), CURVECP_ZMQ_CODEC_BLOB_MAX);
    printf ("two clients: %llu packets accepted by the server, none refused; large blocks agreed\n", accepted);

    /* a client that ends its stream is forgotten at once */
    curvecp_zmq_client_destroy (&c2);
    for (int i = 0; i < 100 && peers != 1; i++) {
        zclock_sleep (20);
        echo_stats (echo, &dropped, &peers, &accepted, &refused);
    }
    CHECK_EQ (peers, 1);
    curvecp_zmq_client_destroy (&c1);
    zactor_destroy (&echo);
}

/* A ROUTER with a tiny high-water mark and send buffer drops packets to
   a client that reads late; the message layer resends them. */
static void
test_hwm_drops_recovered (void)
{
    curvecp_keypair_t sk, ck;
    curvecp_keypair_generate (&sk);
    curvecp_keypair_generate (&ck);
    echo_args_t args;
    memset (&args, 0, sizeof args);
    args.keys = sk;
    args.name = NAME;
    args.sndhwm = 16;
    args.sndbuf = 4096;
    snprintf (args.endpoint, sizeof args.endpoint, "tcp://127.0.0.1:*");
    zactor_t *echo = zactor_new (echo_actor, &args);
    CHECK (echo && args.port > 0);
    /* NaCl-size blocks (no large-block offer): hundreds of packets per
       message, so the tiny high-water mark is sure to drop some */
    curvecp_zmq_codec_options_t options;
    curvecp_zmq_codec_options_default (&options);
    options.block_max = 1024;
    curvecp_zmq_client_t *client = new_client (&ck, sk.public_key, args.port, &options);
    static const size_t small[] = { 1 };
    round_trip (client, &ck, small, 1, 7);
    CHECK_EQ (curvecp_zmq_codec_options_agreed (curvecp_zmq_client_codec (client)), 0);
    unsigned long long dropped = 0, accepted, refused;
    size_t peers;
    /* send big messages and read their echoes only after a pause */
    static const size_t big[] = { 300000 };
    for (int round = 0; round < 10 && dropped == 0; round++) {
        zmsg_t *msg = make_message (big, 1, (uint8_t) round);
        CHECK_EQ (curvecp_zmq_client_send (client, &msg), 0);
        CHECK_EQ (curvecp_zmq_client_flush (client), 0);
        zclock_sleep (300);
        int64_t start = zclock_mono ();
        zmsg_t *reply = curvecp_zmq_client_recv (client);
        if (!reply) {
            const curvecp_stream_info_t *info = curvecp_stream_info (curvecp_zmq_codec_stream (curvecp_zmq_client_codec (client)));
            fprintf (stderr, "hwm: no echo after %lld ms; client stream: %llu retransmissions, %llu refused (window)\n",
                     (long long) (zclock_mono () - start), (unsigned long long) info->retransmissions,
                     (unsigned long long) info->refused_window);
            echo_stats (echo, &dropped, &peers, &accepted, &refused);
            fprintf (stderr, "hwm: server dropped %llu, peers %zu, accepted %llu, refused %llu; client rehandshakes %llu\n",
                     dropped, peers, accepted, refused,
                     (unsigned long long) curvecp_zmq_codec_info (curvecp_zmq_client_codec (client))->rehandshakes);
        }
        check_echo (reply, ck.public_key, big, 1, (uint8_t) round);
        zmsg_destroy (&reply);
        echo_stats (echo, &dropped, &peers, &accepted, &refused);
    }
    printf ("hwm: %llu packets dropped by the ROUTER, every byte arrived\n", dropped);
    CHECK (dropped > 0);
    curvecp_zmq_client_destroy (&client);
    zactor_destroy (&echo);
}

/* The DEALER's TCP connection is replaced (new routing id at the ROUTER):
   the connection is found by C' and answers go to the new routing id. */
static void
test_reconnecting_dealer (void)
{
    curvecp_keypair_t sk, ck;
    curvecp_keypair_generate (&sk);
    curvecp_keypair_generate (&ck);
    echo_args_t args;
    zactor_t *echo = start_echo (&args, &sk, 0);
    curvecp_zmq_client_t *client = new_client (&ck, sk.public_key, args.port, NULL);
    static const size_t small[] = { 11 };
    round_trip (client, &ck, small, 1, 1);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", args.port);
    CHECK_EQ (zsock_disconnect (curvecp_zmq_client_sock (client), "%s", endpoint), 0);
    zclock_sleep (50);
    CHECK_EQ (zsock_connect (curvecp_zmq_client_sock (client), "%s", endpoint), 0);
    round_trip (client, &ck, small, 1, 2);
    round_trip (client, &ck, small, 1, 3);
    CHECK_EQ (curvecp_zmq_codec_info (curvecp_zmq_client_codec (client))->rehandshakes, 0);
    unsigned long long dropped, accepted, refused;
    size_t peers;
    echo_stats (echo, &dropped, &peers, &accepted, &refused);
    CHECK_EQ (peers, 1);
    curvecp_zmq_client_destroy (&client);
    zactor_destroy (&echo);
}

static void
test_wrong_server_key (void)
{
    curvecp_keypair_t sk, ck, other;
    curvecp_keypair_generate (&sk);
    curvecp_keypair_generate (&ck);
    curvecp_keypair_generate (&other);
    echo_args_t args;
    zactor_t *echo = start_echo (&args, &sk, 0);
    curvecp_zmq_codec_options_t options;
    curvecp_zmq_codec_options_default (&options);
    options.handshake_timeout_ns = 1000000000ull;
    curvecp_zmq_client_t *client = new_client (&ck, other.public_key, args.port, &options);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "anyone?");
    CHECK_EQ (curvecp_zmq_client_send (client, &msg), 0);
    int64_t start = zclock_mono ();
    zmsg_t *reply = curvecp_zmq_client_recv (client);
    int64_t waited = zclock_mono () - start;
    CHECK (reply == NULL);
    CHECK (curvecp_zmq_client_failed (client));
    CHECK_EQ (curvecp_zmq_client_failure (client), CURVECP_ZMQ_CODEC_HANDSHAKE_TIMEOUT);
    CHECK (strstr (curvecp_zmq_client_error (client), "no Cookie"));
    CHECK (waited >= 900 && waited < 5000);
    msg = zmsg_new ();
    zmsg_addstr (msg, "again");
    CHECK_EQ (curvecp_zmq_client_send (client, &msg), -1);
    zmsg_destroy (&msg);
    unsigned long long dropped, accepted, refused;
    size_t peers;
    echo_stats (echo, &dropped, &peers, &accepted, &refused);
    CHECK (refused >= 1);                 /* the Hellos, as bad-hello-box */
    CHECK_EQ (peers, 0);
    printf ("wrong key: \"%s\" after %lld ms\n", curvecp_zmq_client_error (client), (long long) waited);
    curvecp_zmq_client_destroy (&client);
    zactor_destroy (&echo);
}

static void
test_server_restart (void)
{
    curvecp_keypair_t sk, ck;
    curvecp_keypair_generate (&sk);
    curvecp_keypair_generate (&ck);
    echo_args_t args;
    zactor_t *echo = start_echo (&args, &sk, 0);
    int port = args.port;
    curvecp_zmq_codec_options_t options;
    curvecp_zmq_codec_options_default (&options);
    options.silence_timeout_ns = 500000000ull;
    curvecp_zmq_client_t *client = new_client (&ck, sk.public_key, port, &options);
    static const size_t small[] = { 21 };
    round_trip (client, &ck, small, 1, 1);
    zactor_destroy (&echo);
    echo_args_t args2;
    echo = start_echo (&args2, &sk, port);
    int64_t start = zclock_mono ();
    round_trip (client, &ck, small, 1, 2);
    int64_t took = zclock_mono () - start;
    round_trip (client, &ck, small, 1, 3);
    CHECK_EQ (curvecp_zmq_codec_info (curvecp_zmq_client_codec (client))->rehandshakes, 1);
    printf ("restart: answered by the new server after %lld ms (one re-handshake)\n", (long long) took);
    curvecp_zmq_client_destroy (&client);
    zactor_destroy (&echo);
}

/* ---- carrier envelopes --------------------------------------------------- */

/* Send packet as the first frame of a message of frames frames (the rest
   junk), from a DEALER or (routing != NULL) a ROUTER. */
static void
send_envelope (zsock_t *sock, zframe_t *routing, const uint8_t *packet, size_t len, int frames)
{
    zmsg_t *msg = zmsg_new ();
    if (routing)
        zmsg_append (msg, &(zframe_t *) { zframe_dup (routing) });
    zmsg_addmem (msg, packet, len);
    for (int i = 1; i < frames; i++)
        zmsg_addstr (msg, "junk");
    CHECK_EQ (zmsg_send (&msg, sock), 0);
}

/* Run the server until it has handled ok accepted packets, or 5 s. */
static void
pump_server (curvecp_zmq_server_t *server, uint64_t ok)
{
    int64_t until = zclock_mono () + 5000;
    while (curvecp_zmq_server_stats (server)->counts[CURVECP_OK] < ok && zclock_mono () < until) {
        zmq_pollitem_t item = { zsock_resolve (curvecp_zmq_server_sock (server)), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 50);
        curvecp_zmq_server_handle (server);
    }
    CHECK (curvecp_zmq_server_stats (server)->counts[CURVECP_OK] >= ok);
}

/* Every packet a socket receives within ms; each message must be one frame. */
static size_t
collect (zsock_t *sock, int ms, uint8_t packets[][CURVECP_PACKET_MAX], size_t *lens, size_t cap)
{
    size_t count = 0;
    zpoller_t *poller = zpoller_new (sock, NULL);
    int64_t until = zclock_mono () + ms;
    while (zclock_mono () < until && zpoller_wait (poller, (int) (until - zclock_mono ())) == sock) {
        zmsg_t *msg = zmsg_recv (sock);
        CHECK (msg);
        if (zsock_type (sock) == ZMQ_ROUTER)
            zframe_destroy (&(zframe_t *) { zmsg_pop (msg) });
        CHECK_EQ (zmsg_size (msg), 1);
        if (count < cap) {
            lens[count] = zframe_size (zmsg_first (msg));
            memcpy (packets[count], zframe_data (zmsg_first (msg)), lens[count]);
        }
        count++;
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    return count;
}

/* At the ROUTER: a Hello and an Initiate with extra frames are dropped
   whole (no Cookie, no connection, too-long counted); the same packets
   alone in their messages are answered, so the drops are not a failure
   to see them. Messages are ordered on one connection: had the server
   answered the first Hello, two Cookies would come back. */
static void
test_server_envelopes (void)
{
    curvecp_keypair_t sk, ck;
    curvecp_keypair_generate (&sk);
    curvecp_keypair_generate (&ck);
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&sk, NAME);
    CHECK_EQ (curvecp_zmq_server_set_extension (server, NULL), 0);
    int port = curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    zsock_t *dealer = zsock_new_dealer (NULL);
    zsock_set_linger (dealer, 0);
    CHECK_EQ (zsock_connect (dealer, "tcp://127.0.0.1:%d", port), 0);
    uint64_t now = curvecp_clock_now ();
    curvecp_zmq_codec_t *codec = curvecp_zmq_codec_new_client (&ck, sk.public_key, NAME, NULL, NULL, NULL, now);
    CHECK (codec);
    static uint8_t packets[8][CURVECP_PACKET_MAX];
    size_t lens[8];
    uint8_t hello[CURVECP_PACKET_MAX];
    size_t hello_len = curvecp_zmq_codec_output (codec, now, hello, sizeof hello);
    CHECK_EQ (hello_len, CURVECP_HELLO_BYTES);

    send_envelope (dealer, NULL, hello, hello_len, 2);
    send_envelope (dealer, NULL, hello, hello_len, 3);
    send_envelope (dealer, NULL, hello, hello_len, 1);
    pump_server (server, 1);
    CHECK_EQ (collect (dealer, 300, packets, lens, 8), 1);
    CHECK_EQ (lens[0], CURVECP_COOKIE_BYTES);
    CHECK_EQ (curvecp_zmq_server_bad_envelopes (server), 2);
    CHECK_EQ (curvecp_zmq_server_stats (server)->counts[CURVECP_E_TOO_LONG], 2);
    CHECK_EQ (curvecp_zmq_server_stats (server)->counts[CURVECP_OK], 1);

    CHECK_EQ (curvecp_zmq_codec_execute (codec, packets[0], lens[0], curvecp_clock_now ()), CURVECP_OK);
    uint8_t initiate[CURVECP_PACKET_MAX];
    size_t initiate_len = curvecp_zmq_codec_output (codec, curvecp_clock_now (), initiate, sizeof initiate);
    CHECK (initiate_len >= CURVECP_INITIATE_BASE);
    send_envelope (dealer, NULL, initiate, initiate_len, 2);
    send_envelope (dealer, NULL, initiate, initiate_len, 1);
    pump_server (server, 2);
    CHECK_EQ (curvecp_zmq_server_bad_envelopes (server), 3);
    CHECK_EQ (curvecp_zmq_server_stats (server)->counts[CURVECP_E_TOO_LONG], 3);
    CHECK_EQ (curvecp_zmq_server_stats (server)->counts[CURVECP_E_REPLAYED_INITIATE], 0);
    CHECK_EQ (curvecp_zmq_server_peers (server), 1);
    /* the extension is fixed once a connection exists */
    CHECK_EQ (curvecp_zmq_server_set_extension (server, (const uint8_t *) "0123456789abcdef"), -1);
    CHECK (memcmp (curvecp_hs_server_ext (curvecp_zmq_server_handshake (server)), "\0\0\0\0\0\0\0\0", 8) == 0);

    /* a Client Message over 1184 bytes for no connection: too-long, as
       before the server let large messages through to their codecs */
    uint8_t big[2000];
    memset (big, 0, sizeof big);
    memcpy (big, "QvnQ5XlM", 8);
    send_envelope (dealer, NULL, big, sizeof big, 1);
    send_envelope (dealer, NULL, hello, hello_len, 1);      /* answered: marks the end */
    pump_server (server, 3);
    CHECK_EQ (curvecp_zmq_server_stats (server)->counts[CURVECP_E_TOO_LONG], 4);
    CHECK_EQ (curvecp_zmq_server_bad_envelopes (server), 3);
    printf ("envelopes at the ROUTER: 2- and 3-frame Hellos and a 2-frame Initiate dropped whole "
            "[too-long], the one-frame ones answered\n");
    curvecp_zmq_codec_destroy (&codec);
    zsock_destroy (&dealer);
    curvecp_zmq_server_destroy (&server);
}

/* At the DEALER: a Cookie followed by another frame is dropped whole (no
   Initiate goes out, too-long counted in the client's carrier stats); the
   same Cookie alone then completes the handshake. */
static void
test_client_envelopes (void)
{
    curvecp_keypair_t sk, ck;
    curvecp_keypair_generate (&sk);
    curvecp_keypair_generate (&ck);
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_linger (router, 0);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    const char *names[] = { NAME, NULL };
    curvecp_zmq_codec_t *codec = curvecp_zmq_codec_new_server (&sk, NULL, names, NULL, curvecp_clock_now ());
    CHECK (codec);
    curvecp_zmq_client_t *client = new_client (&ck, sk.public_key, port, NULL);
    curvecp_zmq_client_set_linger (client, 0);

    /* the Hello, and the routing id it came with */
    zframe_t *routing = NULL;
    uint8_t hello[CURVECP_PACKET_MAX];
    size_t hello_len = 0;
    int64_t until = zclock_mono () + 5000;
    while (!routing && zclock_mono () < until) {
        curvecp_zmq_client_handle (client);
        zmsg_t *msg = zmsg_recv_nowait (router);
        if (!msg) {
            zclock_sleep (10);
            continue;
        }
        routing = zmsg_pop (msg);
        CHECK_EQ (zmsg_size (msg), 1);
        hello_len = zframe_size (zmsg_first (msg));
        memcpy (hello, zframe_data (zmsg_first (msg)), hello_len);
        zmsg_destroy (&msg);
    }
    CHECK (routing && hello_len == CURVECP_HELLO_BYTES);
    CHECK_EQ (curvecp_zmq_codec_execute (codec, hello, hello_len, curvecp_clock_now ()), CURVECP_OK);
    uint8_t cookie[CURVECP_PACKET_MAX];
    size_t cookie_len = curvecp_zmq_codec_output (codec, curvecp_clock_now (), cookie, sizeof cookie);
    CHECK_EQ (cookie_len, CURVECP_COOKIE_BYTES);

    send_envelope (router, routing, cookie, cookie_len, 2);
    until = zclock_mono () + 5000;
    while (curvecp_zmq_client_stats (client)->counts[CURVECP_E_TOO_LONG] == 0 && zclock_mono () < until) {
        zmq_pollitem_t item = { zsock_resolve (curvecp_zmq_client_sock (client)), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 50);
        curvecp_zmq_client_handle (client);
    }
    CHECK_EQ (curvecp_zmq_client_stats (client)->counts[CURVECP_E_TOO_LONG], 1);
    CHECK_EQ (curvecp_stats_rejected (curvecp_zmq_codec_stats (curvecp_zmq_client_codec (client))), 0);
    CHECK_EQ (curvecp_zmq_codec_stats (curvecp_zmq_client_codec (client))->counts[CURVECP_OK], 0);
    /* nothing but (repeated) Hellos leaves the client */
    static uint8_t packets[16][CURVECP_PACKET_MAX];
    size_t lens[16];
    curvecp_zmq_client_handle (client);
    size_t got = collect (router, 200, packets, lens, 16);
    for (size_t i = 0; i < got && i < 16; i++)
        CHECK_EQ (lens[i], CURVECP_HELLO_BYTES);

    send_envelope (router, routing, cookie, cookie_len, 1);
    bool initiated = false;
    until = zclock_mono () + 5000;
    while (!initiated && zclock_mono () < until) {
        curvecp_zmq_client_handle (client);
        got = collect (router, 20, packets, lens, 16);
        for (size_t i = 0; i < got && i < 16; i++)
            initiated |= lens[i] >= CURVECP_INITIATE_BASE;
    }
    CHECK (initiated);
    CHECK_EQ (curvecp_zmq_codec_stats (curvecp_zmq_client_codec (client))->counts[CURVECP_OK], 1);
    CHECK_EQ (curvecp_zmq_client_stats (client)->counts[CURVECP_E_TOO_LONG], 1);
    printf ("envelopes at the DEALER: a 2-frame Cookie dropped whole [too-long], the 1-frame one answered\n");
    zframe_destroy (&routing);
    curvecp_zmq_client_destroy (&client);
    curvecp_zmq_codec_destroy (&codec);
    zsock_destroy (&router);
}

/* ---- many connections in one process ------------------------------------- */

/* One round of an in-thread echo server: take input, run what is due,
   echo every whole message. Returns the messages echoed. */
static size_t
serve_round (curvecp_zmq_server_t *server)
{
    curvecp_zmq_server_handle (server);
    size_t count = 0;
    zmsg_t *msg;
    while ((msg = curvecp_zmq_server_recv_nowait (server)) != NULL) {
        CHECK_EQ (curvecp_zmq_server_reply (server, &msg), 0);
        count++;
    }
    return count;
}

/* Pump fleet codecs [from, to) and the server until the server has
   `peers` connections, none unconfirmed (20 s at most). */
static void
fleet_connect (fleet_t *fleet, curvecp_zmq_server_t *server, size_t from, size_t to, size_t peers)
{
    int64_t until = zclock_mono () + 20000;
    while ((curvecp_zmq_server_peers (server) != peers || curvecp_zmq_server_pending (server) != 0)
    &&     zclock_mono () < until) {
        fleet_output (fleet, from, to);
        serve_round (server);
        fleet_input (fleet, 2);
    }
    CHECK_EQ (curvecp_zmq_server_peers (server), peers);
    CHECK_EQ (curvecp_zmq_server_pending (server), 0);
}

/* Run everyone until the server's next deadline is over a minute away
   (only idle timeouts left), 5 s at most. */
static void
fleet_settle (fleet_t *fleet, curvecp_zmq_server_t *server)
{
    int64_t until = zclock_mono () + 5000;
    int timeout;
    while (((timeout = curvecp_zmq_server_timeout (server)) >= 0 && timeout < 60000) && zclock_mono () < until) {
        zmq_pollitem_t item = { zsock_resolve (curvecp_zmq_server_sock (server)), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, timeout < 20 ? timeout : 20);
        serve_round (server);
        fleet_output (fleet, 0, fleet->count);
        fleet_input (fleet, 0);
    }
    CHECK (timeout < 0 || timeout >= 60000);
}

/* Send text from fleet codec index and return its echo (5 s at most). */
static zmsg_t *
fleet_round_trip (fleet_t *fleet, curvecp_zmq_server_t *server, size_t index, const char *text)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, text);
    CHECK_EQ (curvecp_zmq_codec_send (fleet->codecs[index], &msg), 0);
    zmsg_t *reply = NULL;
    int64_t until = zclock_mono () + 5000;
    while (!reply && zclock_mono () < until) {
        fleet_output (fleet, index, index + 1);
        serve_round (server);
        fleet_input (fleet, 2);
        reply = curvecp_zmq_codec_recv (fleet->codecs[index]);
    }
    CHECK (reply);
    return reply;
}

/* Wait for a message the server sent to fleet codec index (5 s at most). */
static zmsg_t *
fleet_receive (fleet_t *fleet, curvecp_zmq_server_t *server, size_t index)
{
    zmsg_t *msg = NULL;
    int64_t until = zclock_mono () + 5000;
    while (!msg && zclock_mono () < until) {
        serve_round (server);
        fleet_input (fleet, 2);
        fleet_output (fleet, index, index + 1);
        msg = curvecp_zmq_codec_recv (fleet->codecs[index]);
    }
    CHECK (msg);
    return msg;
}

/* 2,000 idle connections (one DEALER, codecs in this thread) and one
   active client: the server's calls visit only the connections that are
   due or had input, so the active client's round trips cost the same
   few visits however many idle connections there are (a server that
   walks every connection per call visits 2,001 per call). The client key
   index: send_to_key reaches the newest connection of a key, and the
   older one once the newest is gone. */
static void
test_many_idle_connections (void)
{
    enum { IDLE = 2000, BATCH = 200, TRIPS = 20 };   /* a batch fits the pending budget */
    curvecp_keypair_t sk, shared;
    curvecp_keypair_generate (&sk);
    curvecp_keypair_generate (&shared);
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&sk, NAME);
    curvecp_zmq_codec_options_t options;
    curvecp_zmq_codec_options_default (&options);
    options.window = 131072;            /* keeps 4,000 codecs' buffers small */
    options.block_max = 1024;
    curvecp_zmq_server_set_options (server, &options);
    int port = curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    fleet_t *fleet = fleet_new (port, IDLE + 3);
    int64_t started = zclock_mono ();
    for (size_t from = 0; from < IDLE; from += BATCH) {
        for (size_t i = 0; i < BATCH; i++)
            fleet_add (fleet, NULL, sk.public_key, NAME, &options);
        fleet_connect (fleet, server, from, from + BATCH, from + BATCH);
    }
    size_t older = fleet_add (fleet, &shared, sk.public_key, NAME, &options);
    fleet_connect (fleet, server, older, older + 1, IDLE + 1);
    size_t newer = fleet_add (fleet, &shared, sk.public_key, NAME, &options);
    fleet_connect (fleet, server, newer, newer + 1, IDLE + 2);
    size_t active = fleet_add (fleet, NULL, sk.public_key, NAME, &options);
    fleet_connect (fleet, server, active, active + 1, IDLE + 3);
    fleet_settle (fleet, server);
    int64_t connected = zclock_mono ();

    curvecp_zmq_server_info_t before = *curvecp_zmq_server_info (server);
    CHECK_EQ (before.heap, IDLE + 3);
    for (int trip = 0; trip < TRIPS; trip++) {
        char text[32];
        snprintf (text, sizeof text, "trip %d", trip);
        zmsg_t *reply = fleet_round_trip (fleet, server, active, text);
        char *got = zmsg_popstr (reply);
        CHECK (got && streq (got, text));
        zstr_free (&got);
        zmsg_destroy (&reply);
    }
    curvecp_zmq_server_info_t after = *curvecp_zmq_server_info (server);
    uint64_t visits = after.visits - before.visits, calls = after.calls - before.calls;
    printf ("%d idle connections (connected in %lld ms): %d round trips took %llu service calls and "
            "visited %llu connections (%.1f per round trip)\n", IDLE + 2, (long long) (connected - started), TRIPS,
            (unsigned long long) calls, (unsigned long long) visits, (double) visits / TRIPS);
    CHECK (calls >= TRIPS);
    CHECK (visits >= TRIPS);            /* the active one is visited */
    CHECK (visits <= 16 * TRIPS);       /* walking everyone: >= 2,003 per call */

    /* send_to_key: the newest connection of the shared key, then the older */
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "to the key");
    CHECK_EQ (curvecp_zmq_server_send_to_key (server, shared.public_key, &msg), 0);
    curvecp_zmq_server_flush (server);
    msg = fleet_receive (fleet, server, newer);
    zmsg_destroy (&msg);
    CHECK (!curvecp_zmq_codec_recv (fleet->codecs[older]));
    curvecp_zmq_codec_shutdown (fleet->codecs[newer]);
    int64_t until = zclock_mono () + 5000;
    while (curvecp_zmq_server_peers (server) == IDLE + 3 && zclock_mono () < until) {
        fleet_output (fleet, newer, newer + 1);
        serve_round (server);
        fleet_input (fleet, 2);
    }
    CHECK_EQ (curvecp_zmq_server_peers (server), IDLE + 2);
    msg = zmsg_new ();
    zmsg_addstr (msg, "to the key again");
    CHECK_EQ (curvecp_zmq_server_send_to_key (server, shared.public_key, &msg), 0);
    curvecp_zmq_server_flush (server);
    msg = fleet_receive (fleet, server, older);
    char *text = zmsg_popstr (msg);
    CHECK (text && streq (text, "to the key again"));
    zstr_free (&text);
    zmsg_destroy (&msg);
    printf ("send_to_key: the newest connection of a key, then the older one once the newest ended\n");
    fleet_destroy (&fleet);
    curvecp_zmq_server_destroy (&server);
}

static void
on_alarm (int signal)
{
    (void) signal;
    static const char text[] = "a send to a stuck client blocked the server\n";
    if (write (2, text, sizeof text - 1) < 0)
        _exit (1);
    _exit (1);
}

/* One client stops acknowledging (its codec is never run again); sends to
   it fail with EAGAIN at once when its queue is full - by default a send
   never waits for one client - while another client's round trips and
   messages go on. A server whose send blocked would never return (the
   alarm ends the test then). */
static void
test_stuck_client (void)
{
    curvecp_keypair_t sk;
    curvecp_keypair_generate (&sk);
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&sk, NAME);
    curvecp_zmq_codec_options_t options;
    curvecp_zmq_codec_options_default (&options);
    options.send_queue = 65536;
    curvecp_zmq_server_set_options (server, &options);
    int port = curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    fleet_t *stuck = fleet_new (port, 1), *live = fleet_new (port, 1);
    fleet_add (stuck, NULL, sk.public_key, NAME, NULL);
    fleet_add (live, NULL, sk.public_key, NAME, NULL);
    fleet_connect (stuck, server, 0, 1, 1);
    fleet_connect (live, server, 0, 1, 2);
    char stuck_id[CURVECP_ZMQ_SERVER_PEER_ID_BYTES], live_id[CURVECP_ZMQ_SERVER_PEER_ID_BYTES];
    curvecp_key_to_hex (curvecp_zmq_codec_client_short_key (stuck->codecs[0]), stuck_id);
    curvecp_key_to_hex (curvecp_zmq_codec_client_short_key (live->codecs[0]), live_id);

    signal (SIGALRM, on_alarm);
    alarm (60);
    size_t sent = 0;
    zmsg_t *msg = NULL;
    for (; sent < 200; sent++) {
        msg = zmsg_new ();
        zmsg_addmem (msg, NULL, 65536);
        if (curvecp_zmq_server_send (server, stuck_id, &msg) != 0)
            break;
        serve_round (server);
    }
    CHECK (sent < 200);
    CHECK_EQ (errno, EAGAIN);
    CHECK (msg);                        /* still ours */
    CHECK (!curvecp_zmq_server_writable (server, stuck_id));
    CHECK (curvecp_zmq_server_writable (server, live_id));
    uint64_t full = curvecp_zmq_server_info (server)->send_full;
    CHECK (full >= 1);
    for (int trip = 0; trip < 5; trip++) {
        CHECK_EQ (curvecp_zmq_server_send (server, stuck_id, &msg), -1);
        CHECK_EQ (errno, EAGAIN);
        zmsg_t *reply = fleet_round_trip (live, server, 0, "still here");
        zmsg_destroy (&reply);
        zmsg_t *push = zmsg_new ();
        zmsg_addstr (push, "pushed");
        CHECK_EQ (curvecp_zmq_server_send (server, live_id, &push), 0);
        curvecp_zmq_server_flush (server);
        push = fleet_receive (live, server, 0);
        zmsg_destroy (&push);
    }
    CHECK_EQ (curvecp_zmq_server_info (server)->send_full, full + 5);
    /* a finite send timeout waits, then gives up the same way */
    curvecp_zmq_server_set_sndtimeo (server, 100);
    CHECK_EQ (curvecp_zmq_server_send (server, stuck_id, &msg), -1);
    CHECK_EQ (errno, EAGAIN);
    alarm (0);
    zmsg_destroy (&msg);
    CHECK_EQ (curvecp_zmq_server_send (server, "not-a-peer", &(zmsg_t *) { NULL }), -1);
    printf ("stuck client: %zu x 64 KiB taken, then EAGAIN at once; the other client did 5 round trips "
            "and got 5 pushed messages meanwhile\n", sent);
    fleet_destroy (&stuck);
    fleet_destroy (&live);
    curvecp_zmq_server_destroy (&server);
}

/* The Initiate of every fleet codec in [from, to): Hellos out, Cookies
   in, each codec's first Initiate kept (malloc'd) in initiates[]. */
static void
fleet_take_initiates (fleet_t *fleet, curvecp_zmq_server_t *server, size_t from, size_t to, uint8_t **initiates,
                      size_t *lens)
{
    size_t taken = 0;
    fleet_output (fleet, from, to);             /* the Hellos */
    int64_t until = zclock_mono () + 10000;
    while (taken < to - from && zclock_mono () < until) {
        serve_round (server);
        fleet_input (fleet, 2);
        for (size_t i = from; i < to; i++) {
            size_t len;
            while (!initiates[i - from]
            &&     (len = curvecp_zmq_codec_output (fleet->codecs[i], curvecp_clock_now (), fleet->buf,
                                                CURVECP_ZMQ_CODEC_BLOB_MAX)) > 0)
                if (len >= CURVECP_INITIATE_BASE && memcmp (fleet->buf, "QvnQ5XlI", 8) == 0) {
                    initiates[i - from] = (uint8_t *) malloc (len);
                    CHECK (initiates[i - from]);
                    memcpy (initiates[i - from], fleet->buf, len);
                    lens[i - from] = len;
                    taken++;
                }
        }
    }
    CHECK_EQ (taken, to - from);
}

/* Send the kept Initiates and run the server for a while; returns the
   most heap it held above what it held before (sampled after each
   round). */
static size_t
pending_peak (fleet_t *fleet, curvecp_zmq_server_t *server, uint8_t **initiates, const size_t *lens, size_t count)
{
    size_t base = heap_in_use (), peak = base;
    for (size_t i = 0; i < count; i++)
        CHECK_EQ (zmq_send (zsock_resolve (fleet->dealer), initiates[i], lens[i], 0), (int) lens[i]);
    uint64_t handled = 0;
    int64_t until = zclock_mono () + 5000, quiet_until = 0;
    while (zclock_mono () < until && (quiet_until == 0 || zclock_mono () < quiet_until)) {
        zmq_pollitem_t item = { zsock_resolve (curvecp_zmq_server_sock (server)), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 5);
        serve_round (server);
        size_t now = heap_in_use ();
        if (now > peak)
            peak = now;
        const curvecp_stats_t *stats = curvecp_zmq_server_stats (server);
        handled = stats->counts[CURVECP_OK] + curvecp_stats_rejected (stats);
        if (handled >= count && quiet_until == 0)
            quiet_until = zclock_mono () + 300;         /* timers run a little after */
    }
    CHECK (handled >= count);
    return peak - base;
}

/* Clients that send their Initiate and never confirm it with a Client
   Message are dropped at the handshake timeout (the core connection's
   rule): pending and peers go back to 0, the budget is free. */
static void
test_unconfirmed_expire (void)
{
    enum { CLIENTS = 5 };
    curvecp_keypair_t sk;
    curvecp_keypair_generate (&sk);
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&sk, NAME);
    curvecp_zmq_codec_options_t options;
    curvecp_zmq_codec_options_default (&options);
    options.handshake_timeout_ns = 2000000000ull;
    curvecp_zmq_server_set_options (server, &options);
    int port = curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    fleet_t *fleet = fleet_new (port, CLIENTS);
    for (size_t i = 0; i < CLIENTS; i++)
        fleet_add (fleet, NULL, sk.public_key, NAME, NULL);
    static uint8_t *initiates[CLIENTS];
    static size_t lens[CLIENTS];
    fleet_take_initiates (fleet, server, 0, CLIENTS, initiates, lens);
    pending_peak (fleet, server, initiates, lens, CLIENTS);
    CHECK_EQ (curvecp_zmq_server_pending (server), CLIENTS);
    int64_t start = zclock_mono (), until = start + 5000;
    while (curvecp_zmq_server_peers (server) > 0 && zclock_mono () < until) {
        zmq_pollitem_t item = { zsock_resolve (curvecp_zmq_server_sock (server)), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, curvecp_zmq_server_timeout (server));
        serve_round (server);
    }
    int64_t took = zclock_mono () - start;
    CHECK_EQ (curvecp_zmq_server_peers (server), 0);
    CHECK_EQ (curvecp_zmq_server_pending (server), 0);
    CHECK_EQ (curvecp_zmq_server_info (server)->pending_memory, 0);
    CHECK (took >= 1000);                       /* not before their time (2 s after the Initiate) */
    printf ("unconfirmed: %d clients that sent only their Initiate dropped %lld ms later (timeout 2 s)\n",
            CLIENTS, (long long) took);
    for (size_t i = 0; i < CLIENTS; i++)
        free (initiates[i]);
    fleet_destroy (&fleet);
    curvecp_zmq_server_destroy (&server);
}

/* 300 clients send their Initiate (with the greeting, as our clients
   do) and nothing else: each connection's codec allocates over 2 MiB at
   once (both 1 MiB stream buffers and the large-block buffer), so
   without a bound max_pending (1024) of them could hold over 2 GiB.
   With the pending budget (64 MiB by default) 30 are admitted, the rest
   refused [full], and the server's heap stays under the budget; once the
   admitted ones confirm, the budget is free again and 10 more clients
   are admitted. */
static void
test_pending_memory (void)
{
    enum { CLIENTS = 300, MORE = 10 };
    const size_t budget = 64u << 20;
    curvecp_keypair_t sk;
    curvecp_keypair_generate (&sk);
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&sk, NAME);
    int port = curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    fleet_t *fleet = fleet_new (port, CLIENTS + MORE);
    for (size_t i = 0; i < CLIENTS + MORE; i++)
        fleet_add (fleet, NULL, sk.public_key, NAME, NULL);
    static uint8_t *initiates[CLIENTS + MORE];
    static size_t lens[CLIENTS + MORE];
    fleet_take_initiates (fleet, server, 0, CLIENTS + MORE, initiates, lens);

    size_t peak = pending_peak (fleet, server, initiates, lens, CLIENTS);
    const curvecp_zmq_server_info_t *info = curvecp_zmq_server_info (server);
    size_t pending = curvecp_zmq_server_pending (server);
    uint64_t full = curvecp_zmq_server_stats (server)->counts[CURVECP_E_FULL];
    printf ("pending budget: %d clients sent only their Initiate: %zu pending (%zu KiB charged), %llu refused "
            "[full]; heap peak %zu KiB for a %zu KiB budget (%zu KiB per pending connection)\n", CLIENTS, pending,
            info->pending_memory / 1024, (unsigned long long) full, peak / 1024, budget / 1024,
            pending ? peak / 1024 / pending : 0);
    CHECK (pending >= 16 && pending < CLIENTS);
    CHECK_EQ (pending + full, CLIENTS);
    CHECK_EQ (info->pending_memory_full, full);
    CHECK (info->pending_memory <= budget);
    CHECK (peak <= budget + (4u << 20));         /* + the server's own tables and ØMQ messages */

    /* the admitted confirm: the budget is free for the next clients */
    int64_t until = zclock_mono () + 10000;
    while (curvecp_zmq_server_pending (server) > 0 && zclock_mono () < until) {
        fleet_input (fleet, 2);
        for (size_t i = 0; i < CLIENTS; i++)
            if (curvecp_zmq_codec_state (fleet->codecs[i]) == CURVECP_ZMQ_CODEC_CONNECTED)
                fleet_output (fleet, i, i + 1);
        serve_round (server);
    }
    CHECK_EQ (curvecp_zmq_server_pending (server), 0);
    CHECK_EQ (info->pending_memory, 0);
    size_t peers = curvecp_zmq_server_peers (server);
    CHECK (peers >= pending);
    pending_peak (fleet, server, initiates + CLIENTS, lens + CLIENTS, MORE);
    CHECK_EQ (curvecp_zmq_server_peers (server), peers + MORE);
    CHECK_EQ (curvecp_zmq_server_stats (server)->counts[CURVECP_E_FULL], full);
    printf ("pending budget: once the admitted confirmed (%zu connections), %d more admitted\n", peers, MORE);
    for (size_t i = 0; i < CLIENTS + MORE; i++)
        free (initiates[i]);
    fleet_destroy (&fleet);
    curvecp_zmq_server_destroy (&server);
}

/* A client that sends and is destroyed at once loses nothing and costs
   no round trip: destroy waits (within its linger) until every message
   is acknowledged, sends the EOF without waiting for its acknowledgment,
   and the DEALER's ØMQ linger lets that packet leave. The server gets
   every message, byte-exact and in order, then the EOF, and forgets the
   connection at once (its idle timeout is 600 s). */
typedef struct {
    const uint8_t *server_key;
    int port;
    int64_t destroy_ms;
} closer_args_t;

enum { CLOSE_MESSAGES = 40 };

static size_t
close_size (size_t i)
{
    return i % 10 == 9 ? 70000 + i : 3 + i * 37;   /* small ones, and a few of several large blocks */
}

static void
closer_actor (zsock_t *pipe, void *arg)
{
    closer_args_t *args = (closer_args_t *) arg;
    zsock_signal (pipe, 0);
    curvecp_zmq_client_t *client = new_client (NULL, args->server_key, args->port, NULL);
    for (size_t i = 0; i < CLOSE_MESSAGES; i++) {
        size_t size = close_size (i);
        zmsg_t *msg = make_message (&size, 1, (uint8_t) i);
        CHECK_EQ (curvecp_zmq_client_send (client, &msg), 0);
    }
    int64_t start = zclock_mono ();
    curvecp_zmq_client_destroy (&client);
    args->destroy_ms = zclock_mono () - start;
    zstr_send (pipe, "DESTROYED");
    char *word = zstr_recv (pipe);                  /* $TERM */
    zstr_free (&word);
}

static void
test_close_loses_nothing (void)
{
    curvecp_keypair_t sk;
    curvecp_keypair_generate (&sk);
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&sk, NAME);
    int port = curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    closer_args_t args = { sk.public_key, port, -1 };
    zactor_t *closer = zactor_new (closer_actor, &args);
    size_t got = 0;
    bool destroyed = false, seen = false;
    int64_t until = zclock_mono () + 10000;
    while ((!destroyed || !seen || curvecp_zmq_server_peers (server) > 0) && zclock_mono () < until) {
        zmq_pollitem_t items[2] = { { zsock_resolve (curvecp_zmq_server_sock (server)), 0, ZMQ_POLLIN, 0 },
                                    { zsock_resolve (closer), 0, ZMQ_POLLIN, 0 } };
        int timeout = curvecp_zmq_server_timeout (server);
        zmq_poll (items, 2, timeout < 0 || timeout > 50 ? 50 : timeout);
        if (items[1].revents & ZMQ_POLLIN) {
            char *word = zstr_recv (closer);
            destroyed = word && streq (word, "DESTROYED");
            zstr_free (&word);
        }
        curvecp_zmq_server_handle (server);
        zmsg_t *msg;
        while ((msg = curvecp_zmq_server_recv_nowait (server)) != NULL) {
            size_t size = close_size (got);
            CHECK (got < CLOSE_MESSAGES);
            CHECK_EQ (zmsg_size (msg), 1);
            zframe_t *frame = zmsg_first (msg);
            CHECK_EQ (zframe_size (frame), size);
            for (size_t i = 0; i < size; i++)
                CHECK_EQ (zframe_data (frame)[i], pattern (0, i, (uint8_t) got));
            zmsg_destroy (&msg);
            got++;
            seen = true;
        }
    }
    CHECK (destroyed);
    CHECK_EQ (got, CLOSE_MESSAGES);
    CHECK_EQ (curvecp_zmq_server_peers (server), 0);    /* the EOF arrived: forgotten at once */
    CHECK (args.destroy_ms >= 0 && args.destroy_ms < 1000);   /* within the linger, not at its end */
    printf ("close: %d messages all delivered, the EOF read, destroy took %lld ms\n",
            CLOSE_MESSAGES, (long long) args.destroy_ms);
    zactor_destroy (&closer);
    curvecp_zmq_server_destroy (&server);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    zsys_init ();
    test_two_clients_many_sizes ();
    test_hwm_drops_recovered ();
    test_reconnecting_dealer ();
    test_wrong_server_key ();
    test_server_restart ();
    test_server_envelopes ();
    test_client_envelopes ();
    test_many_idle_connections ();
    test_stuck_client ();
    test_pending_memory ();
    test_unconfirmed_expire ();
    test_close_loses_nothing ();
    printf ("test_zmq_sockets: OK\n");
    return 0;
}
