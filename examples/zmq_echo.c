/*  zmq_echo.c - a CurveCP-secured DEALER-ROUTER echo with two clients.

    The server runs in its own thread under zloop (curvecp_zmq_server_attach
    registers the ROUTER and one timer for the next CurveCP deadline); for
    every message it prints the client's long-term key as CurveCP
    authenticated it, and echoes the message back (queued-send mode keeps
    an echo for a client whose queue is full until it fits). Two clients, each with its own key pair, send a few
    multi-frame messages and check the echoes. Exits 0 when all is well.

        zmq-echo [-v]                                                      */
#include <sodium.h>
#include "curvecp_zmq_client.h"
#include "curvecp_zmq_server.h"

#define SERVER_NAME "echo.example.com"
#define CLIENTS     2
#define MESSAGES    3

typedef struct {
    curvecp_keypair_t keys;
    int port;
    curvecp_zmq_server_t *server;
} server_args_t;

/* Keys in hex, as every curvecp tool prints them (one spelling for users). */
static void
print_key (const char *who, const uint8_t key[32])
{
    char hex[65];
    curvecp_key_to_hex (key, hex);
    printf ("%s %s\n", who, hex);
}

static int
echo (curvecp_zmq_server_t *server, zmsg_t **msg_p, void *arg)
{
    (void) arg;
    char hex[65], *text = zframe_strdup (zmsg_first (*msg_p));
    curvecp_key_to_hex (curvecp_zmq_server_peer_key (server), hex);
    printf ("server: from client %s (for %s): \"%s\" (%zu frames)\n", hex,
            curvecp_zmq_server_peer_name (server), text, zmsg_size (*msg_p));
    fflush (stdout);
    free (text);
    curvecp_zmq_server_reply (server, msg_p);      /* on failure the loop destroys it */
    return 0;
}

static int
on_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop;
    (void) arg;
    char *command = zstr_recv (pipe);
    bool term = !command || streq (command, "$TERM");
    zstr_free (&command);
    return term ? -1 : 0;
}

static void
server_actor (zsock_t *pipe, void *arg)
{
    server_args_t *args = (server_args_t *) arg;
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&args->keys, SERVER_NAME);
    args->port = server ? curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*") : -1;
    zsock_signal (pipe, 0);
    if (args->port <= 0) {
        curvecp_zmq_server_destroy (&server);
        return;
    }
    curvecp_zmq_server_set_send_queue (server, 16u << 20);
    zloop_t *loop = zloop_new ();
    zloop_reader (loop, pipe, on_pipe, NULL);
    if (curvecp_zmq_server_attach (server, loop, echo, NULL) == 0)
        zloop_start (loop);
    curvecp_zmq_server_detach (server);             /* before the loop goes */
    zloop_destroy (&loop);
    curvecp_zmq_server_destroy (&server);
}

static curvecp_zmq_client_t *
start_client (const curvecp_keypair_t *keys, const uint8_t *server_key, int port)
{
    curvecp_zmq_client_t *client = curvecp_zmq_client_new (keys, server_key, SERVER_NAME);
    if (!client)
        return NULL;
    curvecp_zmq_client_set_rcvtimeo (client, 5000);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    if (curvecp_zmq_client_connect (client, endpoint) != 0)
        curvecp_zmq_client_destroy (&client);
    return client;
}

/* One message there and back; 0 if the echo matched. */
static int
echo_once (curvecp_zmq_client_t *client, int index, int i)
{
    char text[64];
    snprintf (text, sizeof text, "hello %d from client %d", i, index);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, text);
    zmsg_addstr (msg, "second frame");
    if (curvecp_zmq_client_send (client, &msg) != 0)
        zmsg_destroy (&msg);
    zmsg_t *echo = curvecp_zmq_client_recv (client);
    char *back = echo ? zmsg_popstr (echo) : NULL;
    int rc = back && streq (back, text) ? 0 : -1;
    if (rc == 0)
        printf ("client %d: echoed \"%s\"\n", index, back);
    else
        printf ("client %d: no echo: %s\n", index, curvecp_zmq_client_error (client));
    zstr_free (&back);
    zmsg_destroy (&echo);
    return rc;
}

int
main (int argc, char *argv [])
{
    (void) argv;
    if (sodium_init () < 0)
        return 1;
    zsys_init ();
    if (argc > 1)
        zsys_set_logstream (stderr);
    server_args_t args;
    memset (&args, 0, sizeof args);
    curvecp_keypair_generate (&args.keys);
    zactor_t *server = zactor_new (server_actor, &args);
    if (!server || args.port <= 0)
        return 1;
    print_key ("server key:", args.keys.public_key);

    curvecp_keypair_t client_keys[CLIENTS];
    int failures = 0;
    for (int i = 0; i < CLIENTS; i++) {
        curvecp_keypair_generate (&client_keys[i]);
        char who[32];
        snprintf (who, sizeof who, "client %d key:", i + 1);
        print_key (who, client_keys[i].public_key);
    }
    /* both clients connected at once, taking turns */
    curvecp_zmq_client_t *clients[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        clients[i] = start_client (&client_keys[i], args.keys.public_key, args.port);
        failures += clients[i] == NULL;
    }
    for (int m = 0; m < MESSAGES && !failures; m++)
        for (int i = 0; i < CLIENTS; i++)
            failures += echo_once (clients[i], i + 1, m) != 0;
    for (int i = 0; i < CLIENTS; i++)
        curvecp_zmq_client_destroy (&clients[i]);
    zactor_destroy (&server);
    for (int i = 0; i < CLIENTS; i++)
        curvecp_keypair_wipe (&client_keys[i]);
    curvecp_keypair_wipe (&args.keys);
    printf (failures ? "zmq-echo: FAILED\n" : "zmq-echo: OK\n");
    return failures ? 1 : 0;
}
