/*  use_zmq.c - the smallest program against libcurvecp-zmq (the ØMQ
    carrier: a CurveCP-secured DEALER and ROUTER, through czmq): one
    umbrella header, two key pairs, a server bound to an ephemeral TCP port
    and a client made for it, then both destroyed. The README's "Using the
    library" builds it against an installed curvecp (tests/test_install.sh
    runs those very commands). examples/zmq_echo.c is a complete echo.

    Prints "linked MAJOR.MINOR.PATCH" and exits 0.                         */
#include <stdio.h>
#include <curvecp_zmq_all.h>

int main (void)
{
    curvecp_keypair_t server_keys, client_keys;
    curvecp_keypair_generate (&server_keys);
    curvecp_keypair_generate (&client_keys);
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&server_keys, "use.example");
    int port = server ? curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*") : -1;
    if (port <= 0)
        return 1;
    curvecp_zmq_client_t *client = curvecp_zmq_client_new (&client_keys, server_keys.public_key, "use.example");
    if (!client)
        return 2;
    fprintf (stderr, "use_zmq: a server on tcp://127.0.0.1:%d and a client for it\n", port);
    curvecp_zmq_client_destroy (&client);
    curvecp_zmq_server_destroy (&server);
    curvecp_keypair_wipe (&client_keys);
    curvecp_keypair_wipe (&server_keys);
    printf ("linked %d.%d.%d\n", CURVECP_VERSION_MAJOR, CURVECP_VERSION_MINOR, CURVECP_VERSION_PATCH);
    return 0;
}
