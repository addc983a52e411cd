/*  bench_udp_rtt - connect + 10-byte round trip through the library: a
    client connects, sends 10 bytes, and the time is taken when the echo
    of those 10 bytes is back (handshake included), median of RUNS runs,
    against an echo server (curvecp_udp_server, stream mode) in another
    process. The peer figure is NaCl's, which exists only as tools:
    curvecpclient + curvecpmessage -c running a program that sends 10
    bytes and reads the echo, against curvecpserver + curvecpmessage +
    cat, timed from spawn to exit (5 runs, median), in the same run.

    bench-udp-rtt [runs]
      RESULT udp_connect_rtt_10B_library ours=<ms> peer=<ms> ratio=<x> unit=ms  */
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "curvecp_keys.h"
#include "curvecp_udp_client.h"
#include "curvecp_udp_server.h"
#include "curvecp_udp_socket.h"

#define CONNS_MAX 64

static void
echo_server (curvecp_udp_server_t *server)
{
    curvecp_udp_conn_t *conns[CONNS_MAX] = { 0 };
    for (;;) {
        struct pollfd fd = { curvecp_udp_server_fd (server), POLLIN, 0 };
        curvecp_udp_poll (&fd, 1, curvecp_udp_server_deadline (server));
        curvecp_udp_server_process (server, curvecp_clock_now ());
        curvecp_udp_conn_t *conn;
        while ((conn = curvecp_udp_server_accept (server))) {
            for (int i = 0; i < CONNS_MAX; i++)
                if (!conns[i]) { conns[i] = conn; conn = NULL; break; }
            if (conn)
                curvecp_udp_conn_close (&conn);
        }
        for (int i = 0; i < CONNS_MAX; i++) {
            if (!conns[i])
                continue;
            uint8_t buf[4096];
            size_t n = curvecp_udp_conn_recv (conns[i], buf, sizeof buf);
            if (n)
                curvecp_udp_conn_send (conns[i], buf, n);
            if (curvecp_udp_conn_received_eof (conns[i]) != CURVECP_EOF_NONE || curvecp_udp_conn_failed (conns[i]))
                curvecp_udp_conn_close (&conns[i]);   /* sends our EOF, lingers */
        }
    }
}

static int
compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double
one_connect (const curvecp_udp_client_config_t *config)
{
    uint64_t start = curvecp_clock_now ();
    curvecp_udp_client_t *client = curvecp_udp_client_new (config, start);
    curvecp_udp_conn_t *conn = curvecp_udp_client_conn (client);
    curvecp_udp_conn_send (conn, (const uint8_t *) "0123456789", 10);
    curvecp_udp_conn_shutdown (conn, CURVECP_EOF_SUCCESS);
    size_t got = 0;
    uint8_t buf[16];
    while (got < 10 && curvecp_clock_now () - start < 5000000000ull) {
        struct pollfd fd = { curvecp_udp_client_fd (client), POLLIN, 0 };
        curvecp_udp_poll (&fd, 1, curvecp_udp_client_deadline (client));
        curvecp_udp_client_process (client, curvecp_clock_now ());
        got += curvecp_udp_conn_recv (conn, buf + got, sizeof buf - got);
    }
    double ms = (double) (curvecp_clock_now () - start) / 1e6;
    /* finish politely so the server's connection ends (not timed) */
    while (!curvecp_udp_conn_done (conn) && curvecp_clock_now () - start < 5000000000ull) {
        struct pollfd fd = { curvecp_udp_client_fd (client), POLLIN, 0 };
        curvecp_udp_poll (&fd, 1, curvecp_udp_client_deadline (client));
        curvecp_udp_client_process (client, curvecp_clock_now ());
        curvecp_udp_conn_recv (conn, buf, sizeof buf);
    }
    curvecp_udp_client_destroy (&client);
    return got == 10 && memcmp (buf, "0123456789", 10) == 0 ? ms : -1;
}

static double
nacl_runs (int runs)
{
    char dir[] = "/tmp/curvecp-rtt.XXXXXX";
    if (!mkdtemp (dir))
        return -1;
    char cmd[1024];
    snprintf (cmd, sizeof cmd, "curvecpmakekey %s/key >/dev/null", dir);
    if (system (cmd) != 0)
        return -1;
    int port = 47000 + getpid () % 1000;
    snprintf (cmd, sizeof cmd, "timeout 120 curvecpserver t %s/key 127.0.0.1 %d 00000000000000000000000000000000 "
              "curvecpmessage cat & echo $! > %s/pid", dir, port, dir);
    if (system (cmd) != 0)
        return -1;
    usleep (300000);
    double times[16];
    for (int i = 0; i < runs; i++) {
        snprintf (cmd, sizeof cmd, "timeout 20 curvecpclient t $(curvecpprintkey %s/key) 127.0.0.1 %d "
                  "00000000000000000000000000000000 curvecpmessage -c sh -c "
                  "'printf 0123456789 >&7; exec 7>&-; head -c 10 <&6' > %s/out", dir, port, dir);
        uint64_t start = curvecp_clock_now ();
        int rc = system (cmd);
        times[i] = rc == 0 ? (double) (curvecp_clock_now () - start) / 1e6 : 1e9;
    }
    snprintf (cmd, sizeof cmd, "kill $(cat %s/pid); rm -rf %s", dir, dir);
    if (system (cmd) != 0)
        fprintf (stderr, "bench-udp-rtt: cleanup failed\n");
    qsort (times, (size_t) runs, sizeof times[0], compare);
    return times[runs / 2];
}

int
main (int argc, char **argv)
{
    int runs = argc > 1 ? atoi (argv[1]) : 50;
    if (sodium_init () < 0 || runs < 1 || runs > 1000)
        return 1;
    curvecp_keypair_t keys;
    curvecp_keypair_generate (&keys);
    curvecp_udp_server_config_t sc;
    curvecp_udp_server_config_default (&sc);
    sc.keys = &keys;
    curvecp_udp_addr_parse ("127.0.0.1", 0, &sc.bind);
    curvecp_udp_server_t *server = curvecp_udp_server_new (&sc);
    if (!server)
        return 1;
    curvecp_udp_server_add_name (server, "rtt.example");
    curvecp_udp_client_config_t cc;
    curvecp_udp_client_config_default (&cc);
    memcpy (cc.server_pk, keys.public_key, 32);
    cc.server_name = "rtt.example";
    cc.ext_path = "/nonexistent";
    curvecp_udp_server_local (server, &cc.addrs[0]);
    cc.addr_count = 1;
    pid_t child = fork ();
    if (child == 0) {
        alarm (300);
        echo_server (server);
        _exit (0);
    }
    curvecp_udp_server_destroy (&server);
    double *times = calloc ((size_t) runs, sizeof *times);
    int bad = 0;
    for (int i = 0; i < runs; i++)
        if ((times[i] = one_connect (&cc)) < 0) {
            times[i] = 1e9;
            bad++;
        }
    kill (child, SIGTERM);
    waitpid (child, NULL, 0);
    qsort (times, (size_t) runs, sizeof *times, compare);
    double ours = times[runs / 2];
    double nacl = nacl_runs (5);
    printf ("# library: median of %d connects %.3f ms (min %.3f, max %.3f, %d failed); NaCl tools %.2f ms\n",
            runs, ours, times[0], times[runs - 1], bad, nacl);
    printf ("RESULT udp_connect_rtt_10B_library ours=%.3f peer=%.2f ratio=%.4f unit=ms\n", ours, nacl, ours / nacl);
    free (times);
    return bad ? 1 : 0;
}
