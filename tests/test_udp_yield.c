/*  test_udp_yield - a receiver that reads only between the carrier's
    process calls (as every application does) never has data refused for
    a full receive window, however fast the sender is: once a connection
    has half its window unread, the server stops reading its socket and
    returns, and the datagrams wait in the kernel. Before, a server kept
    draining (up to 64 batches) while the sender, fed by its acks, kept
    sending; the window filled and the refused blocks came back only after
    a retransmission timeout. A sender thread and a receiver thread, 8 MB,
    with offload (the fastest sender) and without; the data is checked
    byte for byte, and the receiver's stream must show no refusal.     */
#include <pthread.h>
#include <stdlib.h>
#include "test_udp_util.h"
#include "curvecp_udp_internal.h"
#include "curvecp_stream.h"

#define BYTES (8u * 1000u * 1000u)

typedef struct {
    fixture_t *f;
    pump_t in;
    uint64_t refused_window, retransmissions;
    bool eof;
} receiver_t;

static void *
receiver_thread (void *arg)
{
    receiver_t *r = arg;
    uint64_t start = curvecp_clock_now ();
    curvecp_udp_conn_t *conn = NULL;
    pump_t out = { 0, 0, 0, 2, false };
    while (curvecp_clock_now () - start < WAIT_LIMIT_NS) {
        struct pollfd pfd = { curvecp_udp_server_fd (r->f->server), POLLIN, 0 };
        curvecp_udp_poll (&pfd, 1, earliest (curvecp_udp_server_deadline (r->f->server),
                                             curvecp_clock_now () + 50000000ull));
        curvecp_udp_server_process (r->f->server, curvecp_clock_now ());
        if (!conn)
            conn = curvecp_udp_server_accept (r->f->server);
        if (!conn)
            continue;
        pump (conn, &out, &r->in);          /* reads everything readable, checks it */
        if (curvecp_udp_conn_received_eof (conn) == CURVECP_EOF_SUCCESS && curvecp_udp_conn_done (conn))
            break;
    }
    if (conn) {
        const curvecp_stream_info_t *info = curvecp_stream_info (curvecp_conn_stream (conn->conn));
        r->refused_window = info->refused_window;
        r->eof = curvecp_udp_conn_received_eof (conn) == CURVECP_EOF_SUCCESS;
        curvecp_udp_conn_close (&conn);
    }
    return NULL;
}

static void
transfer (const char *offload)
{
    setenv ("CURVECP_UDP_OFFLOAD", offload, 1);
    fixture_t f;
    memset (&f, 0, sizeof f);
    fixture_start (&f, "127.0.0.1", 4, NULL, NULL);
    receiver_t r = { &f, { 0, 0, BYTES, 1, false }, 0, 0, false };
    pthread_t thread;
    CHECK_EQ (pthread_create (&thread, NULL, receiver_thread, &r), 0);
    curvecp_udp_client_t *client = client_start (&f, NULL, NULL);
    curvecp_udp_conn_t *conn = curvecp_udp_client_conn (client);
    pump_t out = { 0, 0, BYTES, 1, false }, in = { 0, 0, 0, 2, false };
    uint64_t start = curvecp_clock_now ();
    while (!curvecp_udp_conn_done (conn)) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        CHECK (!curvecp_udp_conn_failed (conn));
        pump (conn, &out, &in);
        struct pollfd pfd = { curvecp_udp_client_fd (client), POLLIN, 0 };
        if (curvecp_udp_client_want_write (client))
            pfd.events |= POLLOUT;
        curvecp_udp_poll (&pfd, 1, earliest (curvecp_udp_client_deadline (client),
                                             curvecp_clock_now () + 50000000ull));
        curvecp_udp_client_process (client, curvecp_clock_now ());
    }
    const curvecp_stream_info_t *sent = curvecp_stream_info (curvecp_conn_stream (conn->conn));
    uint64_t retransmissions = sent->retransmissions;
    CHECK_EQ (pthread_join (thread, NULL), 0);
    CHECK_EQ (r.in.received, BYTES);
    CHECK (r.eof);
    CHECK_EQ (r.refused_window, 0);
    printf ("ok   offload=%s: %u bytes exact, %llu ms, 0 refused for the window, %llu retransmissions\n",
            offload, BYTES, (unsigned long long) ((curvecp_clock_now () - start) / 1000000),
            (unsigned long long) retransmissions);
    curvecp_udp_client_destroy (&client);
    curvecp_udp_server_destroy (&f.server);
    CHECK (client == NULL && f.server == NULL);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    transfer ("1");
    transfer ("0");
    transfer ("1");
    return 0;
}
