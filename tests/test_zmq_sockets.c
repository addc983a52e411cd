/*  curvecp_client (DEALER) and curvecp_server (ROUTER) over
    tcp://127.0.0.1: two clients at once with their keys reported
    correctly, whole multi-frame messages from 0 bytes to megabytes,
    ROUTER high-water-mark drops recovered by retransmission, a DEALER
    that reconnects with a new routing id, a wrong server key reported as
    a handshake failure after the timeout, and a server restart answered
    by a transparent re-handshake. Every wait is bounded.                 */
#include <sodium.h>
#include "testutil.h"
#include "curvecp_client.h"
#include "curvecp_server.h"
#include "test_zmq_echo_actor.h"

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

static curvecp_client_t *
new_client (const curvecp_keypair_t *keys, const uint8_t *server_key, int port,
            const curvecp_codec_options_t *options)
{
    curvecp_client_t *client = curvecp_client_new (keys, server_key, NAME);
    CHECK (client);
    if (options)
        curvecp_client_set_options (client, options);
    curvecp_client_set_rcvtimeo (client, 10000);
    curvecp_client_set_sndtimeo (client, 10000);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    CHECK_EQ (curvecp_client_connect (client, endpoint), 0);
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
round_trip (curvecp_client_t *client, const curvecp_keypair_t *keys, const size_t *sizes, size_t frames,
            uint8_t seed)
{
    zmsg_t *msg = make_message (sizes, frames, seed);
    CHECK_EQ (curvecp_client_send (client, &msg), 0);
    zmsg_t *reply = curvecp_client_recv (client);
    if (!reply) {
        const curvecp_codec_t *codec = curvecp_client_codec (client);
        const curvecp_stream_t *stream = curvecp_codec_stream (codec);
        fprintf (stderr, "no reply to seed %u (%zu frames, first %zu bytes): state %d '%s', idle %d, "
                 "stream readable %zu space %zu, rejected %llu\n", seed, frames, sizes[0],
                 curvecp_codec_state (codec), curvecp_client_error (client), curvecp_codec_idle (codec),
                 stream ? curvecp_stream_readable (stream) : 0, stream ? curvecp_stream_send_space (stream) : 0,
                 (unsigned long long) curvecp_stats_rejected (curvecp_codec_stats (codec)));
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
    curvecp_client_t *c1 = new_client (&ck1, sk.public_key, args.port, NULL);
    curvecp_client_t *c2 = new_client (&ck2, sk.public_key, args.port, NULL);

    /* interleaved, both open at once */
    static const size_t small[] = { 5 };
    round_trip (c1, &ck1, small, 1, 1);
    round_trip (c2, &ck2, small, 1, 2);
    CHECK (curvecp_client_connected (c1) && curvecp_client_connected (c2));
    zmsg_t *m1 = make_message (small, 1, 3), *m2 = make_message (small, 1, 4);
    CHECK_EQ (curvecp_client_send (c1, &m1), 0);
    CHECK_EQ (curvecp_client_send (c2, &m2), 0);
    zmsg_t *r2 = curvecp_client_recv (c2), *r1 = curvecp_client_recv (c1);
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
        CHECK_EQ (curvecp_client_send (c1, &msg), 0);
    }
    for (int i = 0; i < 2000; i++) {
        size_t size = (size_t) (i % 97);
        zmsg_t *reply = curvecp_client_recv (c1);
        check_echo (reply, ck1.public_key, &size, 1, (uint8_t) i);
        zmsg_destroy (&reply);
    }
    unsigned long long dropped, accepted, refused;
    size_t peers;
    echo_stats (echo, &dropped, &peers, &accepted, &refused);
    CHECK_EQ (peers, 2);
    CHECK_EQ (refused, 0);
    printf ("two clients: %llu packets accepted by the server, none refused\n", accepted);

    /* a client that ends its stream is forgotten at once */
    curvecp_client_destroy (&c2);
    for (int i = 0; i < 100 && peers != 1; i++) {
        zclock_sleep (20);
        echo_stats (echo, &dropped, &peers, &accepted, &refused);
    }
    CHECK_EQ (peers, 1);
    curvecp_client_destroy (&c1);
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
    curvecp_client_t *client = new_client (&ck, sk.public_key, args.port, NULL);
    static const size_t small[] = { 1 };
    round_trip (client, &ck, small, 1, 7);
    unsigned long long dropped = 0, accepted, refused;
    size_t peers;
    /* send big messages and read their echoes only after a pause */
    static const size_t big[] = { 300000 };
    for (int round = 0; round < 10 && dropped == 0; round++) {
        zmsg_t *msg = make_message (big, 1, (uint8_t) round);
        CHECK_EQ (curvecp_client_send (client, &msg), 0);
        CHECK_EQ (curvecp_client_flush (client), 0);
        zclock_sleep (300);
        int64_t start = zclock_mono ();
        zmsg_t *reply = curvecp_client_recv (client);
        if (!reply) {
            const curvecp_stream_info_t *info = curvecp_stream_info (curvecp_codec_stream (curvecp_client_codec (client)));
            fprintf (stderr, "hwm: no echo after %lld ms; client stream: %llu retransmissions, %llu refused (window)\n",
                     (long long) (zclock_mono () - start), (unsigned long long) info->retransmissions,
                     (unsigned long long) info->refused_window);
            echo_stats (echo, &dropped, &peers, &accepted, &refused);
            fprintf (stderr, "hwm: server dropped %llu, peers %zu, accepted %llu, refused %llu; client rehandshakes %llu\n",
                     dropped, peers, accepted, refused,
                     (unsigned long long) curvecp_codec_info (curvecp_client_codec (client))->rehandshakes);
        }
        check_echo (reply, ck.public_key, big, 1, (uint8_t) round);
        zmsg_destroy (&reply);
        echo_stats (echo, &dropped, &peers, &accepted, &refused);
    }
    printf ("hwm: %llu packets dropped by the ROUTER, every byte arrived\n", dropped);
    CHECK (dropped > 0);
    curvecp_client_destroy (&client);
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
    curvecp_client_t *client = new_client (&ck, sk.public_key, args.port, NULL);
    static const size_t small[] = { 11 };
    round_trip (client, &ck, small, 1, 1);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", args.port);
    CHECK_EQ (zsock_disconnect (curvecp_client_sock (client), "%s", endpoint), 0);
    zclock_sleep (50);
    CHECK_EQ (zsock_connect (curvecp_client_sock (client), "%s", endpoint), 0);
    round_trip (client, &ck, small, 1, 2);
    round_trip (client, &ck, small, 1, 3);
    CHECK_EQ (curvecp_codec_info (curvecp_client_codec (client))->rehandshakes, 0);
    unsigned long long dropped, accepted, refused;
    size_t peers;
    echo_stats (echo, &dropped, &peers, &accepted, &refused);
    CHECK_EQ (peers, 1);
    curvecp_client_destroy (&client);
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
    curvecp_codec_options_t options;
    curvecp_codec_options_default (&options);
    options.handshake_timeout_ns = 1000000000ull;
    curvecp_client_t *client = new_client (&ck, other.public_key, args.port, &options);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "anyone?");
    CHECK_EQ (curvecp_client_send (client, &msg), 0);
    int64_t start = zclock_mono ();
    zmsg_t *reply = curvecp_client_recv (client);
    int64_t waited = zclock_mono () - start;
    CHECK (reply == NULL);
    CHECK (curvecp_client_failed (client));
    CHECK_EQ (curvecp_client_failure (client), CURVECP_CODEC_HANDSHAKE_TIMEOUT);
    CHECK (strstr (curvecp_client_error (client), "no Cookie"));
    CHECK (waited >= 900 && waited < 5000);
    msg = zmsg_new ();
    zmsg_addstr (msg, "again");
    CHECK_EQ (curvecp_client_send (client, &msg), -1);
    zmsg_destroy (&msg);
    unsigned long long dropped, accepted, refused;
    size_t peers;
    echo_stats (echo, &dropped, &peers, &accepted, &refused);
    CHECK (refused >= 1);                 /* the Hellos, as bad-hello-box */
    CHECK_EQ (peers, 0);
    printf ("wrong key: \"%s\" after %lld ms\n", curvecp_client_error (client), (long long) waited);
    curvecp_client_destroy (&client);
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
    curvecp_codec_options_t options;
    curvecp_codec_options_default (&options);
    options.silence_timeout_ns = 500000000ull;
    curvecp_client_t *client = new_client (&ck, sk.public_key, port, &options);
    static const size_t small[] = { 21 };
    round_trip (client, &ck, small, 1, 1);
    zactor_destroy (&echo);
    echo_args_t args2;
    echo = start_echo (&args2, &sk, port);
    int64_t start = zclock_mono ();
    round_trip (client, &ck, small, 1, 2);
    int64_t took = zclock_mono () - start;
    round_trip (client, &ck, small, 1, 3);
    CHECK_EQ (curvecp_codec_info (curvecp_client_codec (client))->rehandshakes, 1);
    printf ("restart: answered by the new server after %lld ms (one re-handshake)\n", (long long) took);
    curvecp_client_destroy (&client);
    zactor_destroy (&echo);
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
    printf ("test_zmq_sockets: OK\n");
    return 0;
}
