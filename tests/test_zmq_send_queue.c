/*  test_zmq_send_queue.c - the ØMQ server's queued-send mode, and its
    timeout as a pure query.

    A client that is not run (nothing acknowledged) fills its queue at the
    server: in queued-send mode replies are kept instead of refused, then
    all arrive, in order, once the client reads again. Kept bytes are
    bounded (ENOBUFS beyond the bound, counted); a send to no connection
    fails EHOSTUNREACH; messages kept for a connection that ends are
    dropped and counted. Without the mode a full queue refuses (EAGAIN).
    curvecp_zmq_server_timeout serves nothing: asking it a hundred times
    leaves the server's work counters where they were.                 */
#include <errno.h>
#include <sodium.h>
#include "testutil.h"
#include "curvecp_zmq_client.h"
#include "curvecp_zmq_server.h"

#define NAME "queue.example.com"
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
server_receive (curvecp_zmq_server_t *server, curvecp_zmq_client_t *client)
{
    for (int i = 0; i < 500; i++) {
        curvecp_zmq_client_handle (client);
        curvecp_zmq_server_handle (server);
        zmsg_t *msg = curvecp_zmq_server_recv_nowait (server);
        if (msg)
            return msg;
        zclock_sleep (2);
    }
    return NULL;
}

static curvecp_zmq_client_t *
connected_client (curvecp_zmq_server_t *server, const curvecp_keypair_t *sk, int port, char peer_id[CURVECP_ZMQ_SERVER_PEER_ID_BYTES])
{
    curvecp_zmq_client_t *client = curvecp_zmq_client_new (NULL, sk->public_key, NAME);
    curvecp_zmq_client_set_rcvtimeo (client, 20);
    curvecp_zmq_client_set_linger (client, 0);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    CHECK_EQ (curvecp_zmq_client_connect (client, endpoint), 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "hello");
    CHECK_EQ (curvecp_zmq_client_send (client, &msg), 0);
    msg = server_receive (server, client);
    CHECK (msg);
    zmsg_destroy (&msg);
    snprintf (peer_id, CURVECP_ZMQ_SERVER_PEER_ID_BYTES, "%s", curvecp_zmq_server_peer_id (server));
    /* the sender's id is its C' in hex */
    char expected[CURVECP_ZMQ_SERVER_PEER_ID_BYTES];
    curvecp_key_to_hex (curvecp_zmq_codec_client_short_key (curvecp_zmq_client_codec (client)), expected);
    CHECK (streq (peer_id, expected));
    return client;
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    curvecp_keypair_t sk;
    curvecp_keypair_generate (&sk);
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&sk, NAME);
    curvecp_zmq_codec_options_t options;
    curvecp_zmq_codec_options_default (&options);
    options.send_queue = BIG;
    curvecp_zmq_server_set_options (server, &options);
    int port = curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    CHECK (streq (curvecp_zmq_server_peer_id (server), ""));       /* no sender yet */
    zmsg_t *orphan = zmsg_new ();
    zmsg_addstr (orphan, "to nobody");
    CHECK (curvecp_zmq_server_reply (server, &orphan) != 0);       /* no one to reply to */
    CHECK (orphan);
    zmsg_destroy (&orphan);
    char peer_id[CURVECP_ZMQ_SERVER_PEER_ID_BYTES];
    curvecp_zmq_client_t *client = connected_client (server, &sk, port, peer_id);
    const curvecp_zmq_server_info_t *info = curvecp_zmq_server_info (server);

    /* the timeout is a query */
    uint64_t calls = info->calls, visits = info->visits;
    for (int i = 0; i < 100; i++)
        curvecp_zmq_server_timeout (server);
    CHECK_EQ (info->calls, calls);
    CHECK_EQ (info->visits, visits);

    /* without the mode, a full queue refuses */
    uint32_t taken = 0;
    zmsg_t *msg = NULL;
    for (; taken < COUNT; taken++) {
        msg = numbered (1000 + taken);
        if (curvecp_zmq_server_reply (server, &msg) != 0)
            break;
    }
    CHECK (taken < COUNT);
    CHECK_EQ (errno, EAGAIN);
    CHECK (msg != NULL);
    zmsg_destroy (&msg);
    uint32_t skip = taken;              /* these arrive first */

    /* queued-send mode: nothing refused, the rest kept */
    curvecp_zmq_server_set_send_queue (server, 16u << 20);
    for (uint32_t i = 0; i < COUNT; i++) {
        msg = numbered (i);
        CHECK_EQ (curvecp_zmq_server_reply (server, &msg), 0);
        CHECK (msg == NULL);
    }
    size_t kept = info->send_kept;
    CHECK_EQ (kept, COUNT);                 /* the queue was full before the first */
    CHECK_EQ (info->send_kept_bytes, (size_t) COUNT * BIG);
    curvecp_zmq_server_handle (server);         /* still nothing acknowledged: all stay */
    CHECK_EQ (info->send_kept, kept);

    /* the client reads again: every message arrives, in order */
    uint32_t next = 0, before = 0;
    for (int round = 0; round < 4000 && next < COUNT; round++) {
        zmsg_t *reply = curvecp_zmq_client_recv (client);
        if (reply) {
            CHECK_EQ (zmsg_content_size (reply), BIG);
            uint32_t number;
            memcpy (&number, zframe_data (zmsg_first (reply)), sizeof number);
            if (before < skip) {
                CHECK_EQ (number, 1000 + before);
                before++;
            }
            else {
                CHECK_EQ (number, next);
                next++;
            }
            zmsg_destroy (&reply);
        }
        curvecp_zmq_server_handle (server);
    }
    CHECK_EQ (next, COUNT);
    CHECK_EQ (info->send_kept, 0);
    CHECK_EQ (info->send_kept_bytes, 0);
    CHECK_EQ (info->send_dropped, 0);
    printf ("%u sent before the queue was full, %zu kept while the client was not run; all arrived in order\n",
            skip, kept);

    /* a send to no connection */
    msg = numbered (0);
    CHECK_EQ (curvecp_zmq_server_send (server, "not-a-peer", &msg), -1);
    CHECK_EQ (errno, EHOSTUNREACH);
    CHECK (msg != NULL);
    zmsg_destroy (&msg);

    /* kept bytes are bounded */
    curvecp_zmq_server_set_send_queue (server, 2 * BIG);
    int result = 0;
    uint32_t sent = 0;
    for (; sent < COUNT && result == 0; sent++) {
        msg = numbered (sent);
        result = curvecp_zmq_server_send (server, peer_id, &msg);
    }
    CHECK_EQ (result, -1);
    CHECK_EQ (errno, ENOBUFS);
    CHECK (msg != NULL);
    zmsg_destroy (&msg);
    CHECK_EQ (info->send_kept, 2);
    CHECK_EQ (info->send_refused, 1);
    printf ("bound 2 x 64 KiB: 2 kept, the next refused (ENOBUFS) after %u sends\n", sent);

    /* the client acknowledges on its way out, so what was kept goes out */
    curvecp_zmq_client_set_linger (client, 200);
    curvecp_zmq_client_destroy (&client);
    for (int i = 0; i < 50; i++) {
        curvecp_zmq_server_handle (server);
        zclock_sleep (2);
    }
    CHECK_EQ (info->send_kept, 0);
    CHECK_EQ (info->send_dropped, 0);
    curvecp_zmq_server_destroy (&server);
    CHECK (server == NULL);

    /* a client that goes silent: its connection fails at the idle timeout,
       and the messages kept for it are dropped and counted */
    server = curvecp_zmq_server_new (&sk, NAME);
    options.idle_timeout_ns = 300000000ull;
    curvecp_zmq_server_set_options (server, &options);
    port = curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    client = connected_client (server, &sk, port, peer_id);
    info = curvecp_zmq_server_info (server);
    curvecp_zmq_server_set_send_queue (server, 16u << 20);
    for (uint32_t i = 0; i < COUNT; i++) {
        msg = numbered (i);
        CHECK_EQ (curvecp_zmq_server_send (server, peer_id, &msg), 0);
    }
    size_t stranded = info->send_kept;      /* the queue moves on until the connection goes */
    CHECK (stranded > 0);
    for (int i = 0; i < 300 && curvecp_zmq_server_peers (server) > 0; i++) {
        stranded = info->send_kept;
        curvecp_zmq_server_handle (server);
        zclock_sleep (10);
    }
    CHECK (stranded > 0);
    CHECK_EQ (curvecp_zmq_server_peers (server), 0);
    CHECK_EQ (info->send_kept, 0);
    CHECK_EQ (info->send_kept_bytes, 0);
    CHECK_EQ (info->send_dropped, stranded);
    printf ("a silent client: its connection ended at the idle timeout, %zu kept messages dropped and counted\n",
            stranded);
    curvecp_zmq_client_destroy (&client);
    curvecp_zmq_server_destroy (&server);
    printf ("test_zmq_send_queue: OK\n");
    return 0;
}
