/*  test_zmq_replies.c - replies kept while a client's queue is full.

    A client that is not run (nothing acknowledged) fills its queue at the
    server: replies are kept instead of lost, then all arrive, in order,
    once the client reads again. Kept bytes are bounded (ENOBUFS beyond
    max_bytes, counted); a reply for no connection is dropped
    (EHOSTUNREACH, counted).                                           */
#include <errno.h>
#include <sodium.h>
#include "testutil.h"
#include "curvecp_client.h"
#include "curvecp_server.h"
#include "curvecp_zmq_replies.h"

#define NAME "replies.example.com"
#define BIG 65536
#define COUNT 40

static zmsg_t *
numbered (uint32_t number)
{
    uint8_t *body = (uint8_t *) calloc (1, BIG);
    memcpy (body, &number, sizeof number);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, body, BIG);
    free (body);
    return msg;
}

/* Run both ends until the server has a message; returns it. */
static zmsg_t *
server_receive (curvecp_server_t *server, curvecp_client_t *client)
{
    for (int i = 0; i < 500; i++) {
        curvecp_client_handle (client);
        curvecp_server_handle (server);
        zmsg_t *msg = curvecp_server_recv_nowait (server);
        if (msg)
            return msg;
        zclock_sleep (2);
    }
    return NULL;
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    curvecp_keypair_t sk;
    curvecp_keypair_generate (&sk);
    curvecp_server_t *server = curvecp_server_new (&sk, NAME);
    curvecp_codec_options_t options;
    curvecp_codec_options_default (&options);
    options.send_queue = BIG;
    curvecp_server_set_options (server, &options);
    int port = curvecp_server_bind (server, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    curvecp_client_t *client = curvecp_client_new (NULL, sk.public_key, NAME);
    curvecp_client_set_rcvtimeo (client, 20);
    curvecp_client_set_linger (client, 0);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    CHECK_EQ (curvecp_client_connect (client, endpoint), 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "hello");
    CHECK_EQ (curvecp_client_send (client, &msg), 0);
    msg = server_receive (server, client);
    CHECK (msg);
    zmsg_destroy (&msg);
    char peer_id[CURVECP_SERVER_PEER_ID_BYTES];
    snprintf (peer_id, sizeof peer_id, "%s", curvecp_server_peer_id (server));

    /* the client is not run: its queue fills and replies are kept */
    curvecp_zmq_replies_t *replies = curvecp_zmq_replies_new (server, 0);
    CHECK (replies);
    for (uint32_t i = 0; i < COUNT; i++) {
        msg = numbered (i);
        CHECK_EQ (curvecp_zmq_replies_reply (replies, &msg), 0);
        CHECK (msg == NULL);
    }
    size_t kept = curvecp_zmq_replies_kept (replies);
    CHECK (kept > 0 && kept < COUNT);
    CHECK_EQ (curvecp_zmq_replies_retry (replies), kept);      /* still no room */
    CHECK_EQ (curvecp_zmq_replies_dropped (replies), 0);

    /* the client reads again: every reply arrives, in order */
    uint32_t next = 0;
    for (int round = 0; round < 2000 && next < COUNT; round++) {
        zmsg_t *reply = curvecp_client_recv (client);
        if (reply) {
            CHECK_EQ (zmsg_content_size (reply), BIG);
            uint32_t number;
            memcpy (&number, zframe_data (zmsg_first (reply)), sizeof number);
            CHECK_EQ (number, next);
            next++;
            zmsg_destroy (&reply);
        }
        curvecp_server_handle (server);
        curvecp_zmq_replies_retry (replies);
        curvecp_server_flush (server);
    }
    CHECK_EQ (next, COUNT);
    CHECK_EQ (curvecp_zmq_replies_kept (replies), 0);
    CHECK_EQ (curvecp_zmq_replies_dropped (replies), 0);
    printf ("%zu of %d replies kept while the client was not run; all %d arrived in order\n",
            kept, COUNT, COUNT);

    /* a reply for no connection is dropped and counted */
    msg = numbered (0);
    CHECK_EQ (curvecp_zmq_replies_send (replies, "not-a-peer", &msg), -1);
    CHECK_EQ (errno, EHOSTUNREACH);
    CHECK (msg == NULL);
    CHECK_EQ (curvecp_zmq_replies_dropped (replies), 1);
    curvecp_zmq_replies_destroy (&replies);
    CHECK (replies == NULL);

    /* kept bytes are bounded: beyond max_bytes a reply is dropped */
    replies = curvecp_zmq_replies_new (server, 2 * BIG);
    int result = 0;
    uint32_t sent = 0;
    for (; sent < COUNT && result == 0; sent++) {
        msg = numbered (sent);
        result = curvecp_zmq_replies_send (replies, peer_id, &msg);
    }
    CHECK_EQ (result, -1);
    CHECK_EQ (errno, ENOBUFS);
    CHECK_EQ (curvecp_zmq_replies_kept (replies), 2);
    CHECK_EQ (curvecp_zmq_replies_dropped (replies), 1);
    printf ("max_bytes 2 x 64 KiB: 2 kept, the next dropped (ENOBUFS) after %u sends\n", sent);
    /* destroying the helper frees what it kept (LeakSanitizer checks) */
    curvecp_zmq_replies_destroy (&replies);
    CHECK (curvecp_zmq_replies_new (NULL, 0) == NULL);

    curvecp_client_destroy (&client);
    curvecp_server_destroy (&server);
    printf ("test_zmq_replies: OK\n");
    return 0;
}
