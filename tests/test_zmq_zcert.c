/*  test_zmq_zcert.c - the ØMQ classes take czmq's zcert_t: a server and a
    client made from certificates complete an echo, and the server sees
    the client certificate's public key as the authenticated sender. A
    certificate without its secret key (a public certificate read from
    disk) or with keys that do not belong together is refused.          */
#include <sodium.h>
#include "testutil.h"
#include "curvecp_zmq_client.h"
#include "curvecp_zmq_server.h"

#define NAME "zcert.example.com"

int
main (void)
{
    CHECK (sodium_init () >= 0);
    zcert_t *server_cert = zcert_new ();
    zcert_t *client_cert = zcert_new ();
    curvecp_zmq_server_t *server = curvecp_zmq_server_new_zcert (server_cert, NAME);
    CHECK (server);
    int port = curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    curvecp_zmq_client_t *client = curvecp_zmq_client_new_zcert (client_cert, server_cert, NAME);
    CHECK (client);
    CHECK_MEM (curvecp_zmq_client_public_key (client), zcert_public_key (client_cert), 32);
    curvecp_zmq_client_set_rcvtimeo (client, 5000);
    curvecp_zmq_server_set_rcvtimeo (server, 20);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    CHECK_EQ (curvecp_zmq_client_connect (client, endpoint), 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "certified");
    CHECK_EQ (curvecp_zmq_client_send (client, &msg), 0);
    zmsg_t *got = NULL;
    for (int i = 0; i < 250 && !got; i++) {
        curvecp_zmq_client_handle (client);
        got = curvecp_zmq_server_recv (server);
    }
    CHECK (got);
    CHECK_MEM (curvecp_zmq_server_peer_key (server), zcert_public_key (client_cert), 32);
    CHECK_EQ (curvecp_zmq_server_reply (server, &got), 0);
    curvecp_zmq_server_flush (server);
    zmsg_t *echo = curvecp_zmq_client_recv (client);
    CHECK (echo);
    char *text = zmsg_popstr (echo);
    CHECK (text && streq (text, "certified"));
    zstr_free (&text);
    zmsg_destroy (&echo);
    /* a fresh client key when no certificate is given */
    curvecp_zmq_client_t *anonymous = curvecp_zmq_client_new_zcert (NULL, server_cert, NAME);
    CHECK (anonymous);
    curvecp_zmq_client_destroy (&anonymous);

    /* refused: a public certificate (as read from disk), mismatched keys */
    char path[] = "/tmp/test_zmq_zcert.XXXXXX";
    int fd = mkstemp (path);
    CHECK (fd >= 0);
    close (fd);
    CHECK_EQ (zcert_save_public (client_cert, path), 0);
    zcert_t *public_only = zcert_load (path);
    CHECK (public_only);
    CHECK (curvecp_zmq_server_new_zcert (public_only, NAME) == NULL);
    CHECK (curvecp_zmq_client_new_zcert (public_only, server_cert, NAME) == NULL);
    zcert_t *mixed = zcert_new_from (zcert_public_key (server_cert), zcert_secret_key (client_cert));
    CHECK (curvecp_zmq_server_new_zcert (mixed, NAME) == NULL);
    CHECK (curvecp_zmq_server_new_zcert (NULL, NAME) == NULL);
    CHECK (curvecp_zmq_client_new_zcert (client_cert, NULL, NAME) == NULL);
    unlink (path);
    zcert_destroy (&public_only);
    zcert_destroy (&mixed);

    curvecp_zmq_client_destroy (&client);
    curvecp_zmq_server_destroy (&server);
    zcert_destroy (&client_cert);
    zcert_destroy (&server_cert);
    printf ("test_zmq_zcert: OK\n");
    return 0;
}
