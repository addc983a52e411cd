/*  bench_udp_lib - bulk transfer through the library in one process: a
    server thread (curvecp_udp_server, stream mode, the bytes thrown
    away) and a client thread (curvecp_udp_client) on loopback, no tools,
    no pipes, no child programs. The figure is BYTES over the time from
    the client's start (handshake included) to the server's read of the
    last byte; median of RUNS runs, offload (GSO/GRO) on and off
    interleaved in the same run (CURVECP_UDP_OFFLOAD=0 is the fallback).

    bench-udp-lib [BYTES] [RUNS] [BLAST_MBps] [on]
    ("on": offload-on runs only, for perf stat's cycles per byte)
      # offload on: ... MB/s, off: ... MB/s
      LIB <MB/s with offload>
      RESULT udp_bulk_lib_vs_blast ours=<MB/s> peer=<BLAST> ratio=<x> unit=MB/s
    (the RESULT line only when the raw blast figure, bench-udp-blast's, is
    given: bench_udp_bulk.sh measures it in the same run)
    Environment: BENCH_OFFLOAD=gso|gro makes "on" only that offload;
    BENCH_DEBUG=1 prints each run's packet and stream counters (resends,
    blocks refused for a full window) on stderr.                         */
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_keys.h"
#include "curvecp_udp_client.h"
#include "curvecp_udp_server.h"
#include "curvecp_udp_socket.h"
#include "curvecp_udp_internal.h"     /* the stream's counters, for BENCH_DEBUG */
#include "curvecp_stream.h"

#define LIMIT_NS 60000000000ull
#define CHUNK    (256 * 1024)
#define RUNS_MAX 15

typedef struct {
    curvecp_udp_server_t *server;
    size_t want;
    uint64_t done_at;                /* when the last byte was read; 0 = failed */
} server_run_t;

/* Accept one connection, read everything to its EOF, close politely. */
static void *
server_thread (void *arg)
{
    server_run_t *run = arg;
    uint64_t start = curvecp_clock_now ();
    curvecp_udp_conn_t *conn = NULL;
    size_t got = 0;
    static _Thread_local uint8_t buf[CHUNK];
    while (curvecp_clock_now () - start < LIMIT_NS) {
        struct pollfd fd = { curvecp_udp_server_fd (run->server), POLLIN, 0 };
        curvecp_udp_poll (&fd, 1, curvecp_udp_server_deadline (run->server));
        curvecp_udp_server_process (run->server, curvecp_clock_now ());
        if (!conn)
            conn = curvecp_udp_server_accept (run->server);
        if (!conn)
            continue;
        size_t n;
        while ((n = curvecp_udp_conn_recv (conn, buf, sizeof buf)) > 0)
            got += n;
        if (curvecp_udp_conn_received_eof (conn) != CURVECP_EOF_NONE || curvecp_udp_conn_failed (conn))
            break;
    }
    run->done_at = got == run->want ? curvecp_clock_now () : 0;
    if (getenv ("BENCH_DEBUG") && conn) {
        const curvecp_stats_t *st = curvecp_udp_conn_stats (conn);
        fprintf (stderr, "server conn: %llu packets in, %llu out, %llu rejected\n",
                 (unsigned long long) curvecp_udp_conn_info (conn)->packets_in,
                 (unsigned long long) curvecp_udp_conn_info (conn)->packets_out,
                 (unsigned long long) curvecp_stats_rejected (st));
        const curvecp_stream_info_t *si = curvecp_stream_info (curvecp_conn_stream (conn->conn));
        fprintf (stderr, "  server stream: refused_window %llu refused_reorder %llu dup_blocks %llu acks %llu\n",
                 (unsigned long long) si->refused_window, (unsigned long long) si->refused_reorder,
                 (unsigned long long) si->duplicate_blocks, (unsigned long long) si->acks_sent);
        for (int r = 0; r < CURVECP_REASON_COUNT; r++)
            if (st->counts[r] && r != CURVECP_OK)
                fprintf (stderr, "  reason %d: %llu\n", r, (unsigned long long) st->counts[r]);
    }
    if (conn) {
        curvecp_udp_conn_shutdown (conn, CURVECP_EOF_SUCCESS);
        uint64_t end = curvecp_clock_now ();
        while (!curvecp_udp_conn_done (conn) && !curvecp_udp_conn_failed (conn)
           &&  curvecp_clock_now () - end < 2000000000ull) {
            struct pollfd fd = { curvecp_udp_server_fd (run->server), POLLIN, 0 };
            curvecp_udp_poll (&fd, 1, curvecp_udp_server_deadline (run->server));
            curvecp_udp_server_process (run->server, curvecp_clock_now ());
        }
        curvecp_udp_conn_close (&conn);
    }
    return NULL;
}

/* Send bytes of data, shut down, run until both directions are done. */
static bool
client_send (const curvecp_udp_client_config_t *config, const uint8_t *data, size_t bytes)
{
    uint64_t start = curvecp_clock_now ();
    curvecp_udp_client_t *client = curvecp_udp_client_new (config, start);
    if (!client)
        return false;
    curvecp_udp_conn_t *conn = curvecp_udp_client_conn (client);
    size_t sent = 0;
    bool shut = false;
    uint8_t sink[64];
    while (!curvecp_udp_conn_done (conn) && !curvecp_udp_conn_failed (conn)
       &&  curvecp_clock_now () - start < LIMIT_NS) {
        if (sent < bytes)
            sent += curvecp_udp_conn_send (conn, data + sent, bytes - sent);
        if (sent == bytes && !shut)
            shut = curvecp_udp_conn_shutdown (conn, CURVECP_EOF_SUCCESS) == CURVECP_OK;
        struct pollfd fd = { curvecp_udp_client_fd (client), POLLIN, 0 };
        if (curvecp_udp_client_want_write (client))
            fd.events |= POLLOUT;
        curvecp_udp_poll (&fd, 1, curvecp_udp_client_deadline (client));
        curvecp_udp_client_process (client, curvecp_clock_now ());
        curvecp_udp_conn_recv (conn, sink, sizeof sink);
    }
    bool ok = curvecp_udp_conn_done (conn);
    if (getenv ("BENCH_DEBUG")) {
        const curvecp_stream_info_t *si = curvecp_stream_info (curvecp_conn_stream (conn->conn));
        fprintf (stderr, "  client stream: retransmissions %llu timeouts %llu most_in_flight %llu\n",
                 (unsigned long long) si->retransmissions, (unsigned long long) si->timeouts,
                 (unsigned long long) si->most_in_flight);
    }
    if (getenv ("BENCH_DEBUG"))
        fprintf (stderr, "client: %llu packets out, %llu in, %.1f ms\n",
                 (unsigned long long) curvecp_udp_conn_info (conn)->packets_out,
                 (unsigned long long) curvecp_udp_conn_info (conn)->packets_in,
                 (double) (curvecp_clock_now () - start) / 1e6);
    curvecp_udp_client_destroy (&client);
    return ok;
}

/* One transfer; MB/s, or -1 if it failed. */
static double
one_run (const curvecp_keypair_t *keys, const uint8_t *data, size_t bytes, bool offload)
{
    const char *on = getenv ("BENCH_OFFLOAD");     /* what "on" means: 1, gso or gro */
    setenv ("CURVECP_UDP_OFFLOAD", offload ? (on ? on : "1") : "0", 1);
    curvecp_udp_server_config_t sc;
    curvecp_udp_server_config_default (&sc);
    sc.keys = keys;
    curvecp_udp_addr_parse ("127.0.0.1", 0, &sc.bind);
    server_run_t run = { curvecp_udp_server_new (&sc), bytes, 0 };
    if (!run.server)
        return -1;
    curvecp_udp_server_add_name (run.server, "bulk.example");
    curvecp_udp_client_config_t cc;
    curvecp_udp_client_config_default (&cc);
    memcpy (cc.server_pk, keys->public_key, 32);
    cc.server_name = "bulk.example";
    cc.ext_path = "/nonexistent";
    curvecp_udp_server_local (run.server, &cc.addrs[0]);
    cc.addr_count = 1;
    pthread_t thread;
    pthread_create (&thread, NULL, server_thread, &run);
    uint64_t start = curvecp_clock_now ();
    bool ok = client_send (&cc, data, bytes);
    pthread_join (thread, NULL);
    curvecp_udp_server_destroy (&run.server);
    if (!ok || !run.done_at)
        return -1;
    return (double) bytes / ((double) (run.done_at - start) / 1e9) / 1e6;
}

static int
compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
    size_t bytes = argc > 1 ? strtoul (argv[1], NULL, 10) : 10000000;
    int runs = argc > 2 ? atoi (argv[2]) : 3;
    double blast = argc > 3 ? atof (argv[3]) : 0;
    bool on_only = argc > 4 && strcmp (argv[4], "on") == 0;
    if (sodium_init () < 0 || runs < 1 || runs > RUNS_MAX || bytes == 0)
        return 1;
    uint8_t *data = malloc (bytes);
    if (!data)
        return 1;
    for (size_t i = 0; i < bytes; i++)      /* cheap to make: perf stat counts the whole process */
        data[i] = (uint8_t) (i * 131 + (i >> 12));
    curvecp_keypair_t keys;
    curvecp_keypair_generate (&keys);
    double on[RUNS_MAX], off[RUNS_MAX];
    int failed = 0;
    for (int i = 0; i < runs; i++) {
        off[i] = on_only ? 0 : one_run (&keys, data, bytes, false);
        on[i] = one_run (&keys, data, bytes, true);
        failed += (off[i] < 0) + (on[i] < 0);
    }
    qsort (on, (size_t) runs, sizeof on[0], compare);
    qsort (off, (size_t) runs, sizeof off[0], compare);
    printf ("# %zu bytes, median of %d runs: offload on %.1f MB/s (%.1f..%.1f), off %.1f MB/s (%.1f..%.1f), %d failed\n",
            bytes, runs, on[runs / 2], on[0], on[runs - 1], off[runs / 2], off[0], off[runs - 1], failed);
    printf ("LIB %.1f %.1f\n", on[runs / 2], off[runs / 2]);
    if (blast > 0)
        printf ("RESULT udp_bulk_lib_vs_blast ours=%.1f peer=%.1f ratio=%.2f unit=MB/s\n",
                on[runs / 2], blast, on[runs / 2] / blast);
    sodium_memzero (&keys, sizeof keys);
    free (data);
    return failed ? 1 : 0;
}
