/*  udp_echo.c - a CurveCP echo over UDP in one event loop.

    One process runs a UDP server and a client on 127.0.0.1, both driven
    by a single poll() loop: wait for either socket (POLLOUT too while
    datagrams wait for room) or the earlier of the two deadlines, then let
    each one process. Every time the library takes or gives is monotonic
    nanoseconds from curvecp_clock_now. The server accepts the connection,
    prints the client's long-term key as CurveCP authenticated it, and
    echoes every byte; the client sends 1 MB, checks the echo byte for
    byte and ends its stream with a success EOF. Exits 0 only when the
    whole echo arrived and both ends saw a success EOF.

        udp-echo [bytes]                                                    */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "curvecp_clock.h"
#include "curvecp_keys.h"
#include "curvecp_udp_client.h"
#include "curvecp_udp_server.h"

#define SERVER_NAME "echo.example.com"
#define GIVE_UP_NS  (30 * 1000000000ull)

typedef struct {
    curvecp_udp_conn_t *conn;          /* the server's side, once accepted */
    uint8_t pending[65536];            /* read, not yet written back */
    size_t pending_len;
    bool shut;
} echo_t;

typedef struct {
    size_t total, sent, received;
    bool shut;
} client_side_t;

static uint8_t
pattern (size_t position)
{
    return (uint8_t) (position * 7 + (position >> 12));
}

/* Echo what arrived; end our side once the client ended its own. */
static void
serve (echo_t *echo)
{
    for (;;) {
        if (echo->pending_len) {
            size_t n = curvecp_udp_conn_send (echo->conn, echo->pending, echo->pending_len);
            memmove (echo->pending, echo->pending + n, echo->pending_len - n);
            echo->pending_len -= n;
            if (echo->pending_len)
                return;                /* the send buffer is full: next turn */
        }
        echo->pending_len = curvecp_udp_conn_recv (echo->conn, echo->pending, sizeof echo->pending);
        if (echo->pending_len == 0)
            break;
    }
    if (!echo->shut && curvecp_udp_conn_received_eof (echo->conn) != CURVECP_EOF_NONE)
        echo->shut = curvecp_udp_conn_shutdown (echo->conn, CURVECP_EOF_SUCCESS) == CURVECP_OK;
}

/* Send the pattern, check the echo; false on a wrong byte. */
static bool
drive_client (curvecp_udp_conn_t *conn, client_side_t *side)
{
    uint8_t buf[16384];
    while (side->sent < side->total) {
        size_t n = side->total - side->sent < sizeof buf ? side->total - side->sent : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern (side->sent + i);
        size_t took = curvecp_udp_conn_send (conn, buf, n);
        side->sent += took;
        if (took < n)
            break;
    }
    if (side->sent == side->total && !side->shut)
        side->shut = curvecp_udp_conn_shutdown (conn, CURVECP_EOF_SUCCESS) == CURVECP_OK;
    size_t n;
    while ((n = curvecp_udp_conn_recv (conn, buf, sizeof buf)) > 0)
        for (size_t i = 0; i < n; i++)
            if (buf[i] != pattern (side->received++))
                return false;
    return true;
}

static int
wait_ms (uint64_t deadline)
{
    uint64_t now = curvecp_clock_now ();
    if (deadline <= now)
        return 0;
    uint64_t ms = (deadline - now + 999999) / 1000000;
    return ms > 1000 ? 1000 : (int) ms;
}

int
main (int argc, char *argv[])
{
    client_side_t side = { argc > 1 ? strtoul (argv[1], NULL, 10) : 1000000, 0, 0, false };
    curvecp_keypair_t server_keys, client_keys;
    curvecp_keypair_generate (&server_keys);
    curvecp_keypair_generate (&client_keys);

    curvecp_udp_server_config_t server_config;
    curvecp_udp_server_config_default (&server_config);
    server_config.keys = &server_keys;
    curvecp_udp_addr_parse ("127.0.0.1", 0, &server_config.bind);
    curvecp_udp_server_t *server = curvecp_udp_server_new (&server_config);
    if (!server || curvecp_udp_server_add_name (server, SERVER_NAME) < 0) {
        perror ("udp-echo: server");
        return 1;
    }
    curvecp_udp_client_config_t client_config;
    curvecp_udp_client_config_default (&client_config);
    memcpy (client_config.server_pk, server_keys.public_key, 32);
    client_config.server_name = SERVER_NAME;
    client_config.ext_path = "/nonexistent";        /* a zero client extension */
    client_config.long_term = &client_keys;
    curvecp_udp_server_local (server, &client_config.addrs[0]);
    client_config.addr_count = 1;
    curvecp_udp_client_t *client = curvecp_udp_client_new (&client_config, curvecp_clock_now ());
    if (!client) {
        perror ("udp-echo: client");
        return 1;
    }
    curvecp_udp_conn_t *conn = curvecp_udp_client_conn (client);
    echo_t echo = { 0 };
    bool intact = true;
    uint64_t give_up = curvecp_clock_now () + GIVE_UP_NS;
    while (intact && !(curvecp_udp_conn_done (conn) && echo.conn && curvecp_udp_conn_done (echo.conn))
       &&  !curvecp_udp_conn_failed (conn) && curvecp_clock_now () < give_up) {
        struct pollfd fds[2] = {
            { curvecp_udp_server_fd (server), POLLIN | (curvecp_udp_server_want_write (server) ? POLLOUT : 0), 0 },
            { curvecp_udp_client_fd (client), POLLIN | (curvecp_udp_client_want_write (client) ? POLLOUT : 0), 0 },
        };
        uint64_t server_due = curvecp_udp_server_deadline (server);
        uint64_t client_due = curvecp_udp_client_deadline (client);
        poll (fds, 2, wait_ms (server_due < client_due ? server_due : client_due));
        curvecp_udp_server_process (server, curvecp_clock_now ());
        curvecp_udp_client_process (client, curvecp_clock_now ());
        if (!echo.conn && (echo.conn = curvecp_udp_server_accept (server))) {
            char hex[65];
            curvecp_key_to_hex (curvecp_udp_conn_client_key (echo.conn), hex);
            printf ("server: connection from client %s\n", hex);
        }
        if (echo.conn)
            serve (&echo);
        intact = drive_client (conn, &side);
    }
    char hex[65];
    curvecp_key_to_hex (client_keys.public_key, hex);
    printf ("client key: %s\n", hex);
    bool ok = intact && side.received == side.total && echo.conn
           && curvecp_udp_conn_received_eof (conn) == CURVECP_EOF_SUCCESS
           && curvecp_udp_conn_received_eof (echo.conn) == CURVECP_EOF_SUCCESS;
    printf ("udp-echo: %zu of %zu bytes echoed%s\n", side.received, side.total,
            !intact ? ", a byte differed" : curvecp_udp_conn_failed (conn) ? ", the connection failed" : "");
    if (echo.conn)
        curvecp_udp_conn_close (&echo.conn);
    curvecp_udp_client_destroy (&client);
    curvecp_udp_server_destroy (&server);
    sodium_memzero (&server_keys, sizeof server_keys);
    sodium_memzero (&client_keys, sizeof client_keys);
    puts (ok ? "udp-echo: OK" : "udp-echo: FAILED");
    return ok ? 0 : 1;
}
