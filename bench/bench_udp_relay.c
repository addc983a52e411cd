/*  bench_udp_relay - a lossy, delaying UDP relay for benchmarks (the
    kernel here has no netem). It listens on 127.0.0.1:listen_port,
    forwards each datagram to target and the answers back to the latest
    client address, dropping each with probability loss_percent and
    holding each for delay_ms (one way, so RTT = 2 x delay_ms), under a
    seeded RNG (xorshift) so a run is reproducible. The hold queue is
    bounded (65536 datagrams per direction; beyond that: dropped, like a
    router's buffer; the model is bench_lossy.h, shared with
    bench_tun_relay.c). It stops after max_seconds.

    bench-udp-relay listen_port target_ip target_port loss_percent delay_ms seed max_seconds */
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "curvecp_clock.h"
#include "bench_lossy.h"

#define DGRAM 2048

static void
release_due (lossy_queue_t *q, int fd, const struct sockaddr_in *to, uint64_t now)
{
    for (lossy_held_t *h; (h = lossy_due (q, now)) != NULL; lossy_pop (q))
        if (to->sin_port)
            sendto (fd, h->data, h->len, 0, (const struct sockaddr *) to, sizeof *to);
}

static int
udp_socket (uint16_t port)
{
    int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int size = 4 * 1024 * 1024;
    setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    setsockopt (fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port),
                             .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    if (bind (fd, (struct sockaddr *) &a, sizeof a) != 0) {
        perror ("bench-udp-relay: bind");
        exit (1);
    }
    return fd;
}

static void
drain (int fd, lossy_queue_t *q, struct sockaddr_in *from_out, uint64_t release, double loss)
{
    uint8_t buf[DGRAM];
    for (;;) {
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        ssize_t n = recvfrom (fd, buf, sizeof buf, 0, (struct sockaddr *) &from, &len);
        if (n < 0)
            return;
        if (from_out)
            *from_out = from;
        lossy_hold (q, buf, (size_t) n, release, loss);
    }
}

int
main (int argc, char **argv)
{
    if (argc != 8) {
        fprintf (stderr, "usage: bench-udp-relay listen_port target_ip target_port loss_percent delay_ms seed max_seconds\n");
        return 100;
    }
    struct sockaddr_in target = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) atoi (argv[3])) };
    inet_pton (AF_INET, argv[2], &target.sin_addr);
    double loss = atof (argv[4]);
    uint64_t delay = (uint64_t) (atof (argv[5]) * 1e6);
    lossy_seed (strtoull (argv[6], NULL, 10));
    uint64_t stop = curvecp_clock_now () + (uint64_t) (atof (argv[7]) * 1e9);
    int front = udp_socket ((uint16_t) atoi (argv[1]));
    int back = udp_socket (0);
    struct sockaddr_in client = { 0 };
    lossy_queue_t up, down;
    if (lossy_queue_init (&up) || lossy_queue_init (&down))
        return 111;
    for (uint64_t now = curvecp_clock_now (); now < stop; now = curvecp_clock_now ()) {
        lossy_wait (front, back, &up, &down, now, stop);
        now = curvecp_clock_now ();
        drain (front, &up, &client, now + delay, loss);
        drain (back, &down, NULL, now + delay, loss);
        release_due (&up, back, &target, now);
        release_due (&down, front, &client, now);
    }
    fprintf (stderr, "relay: up %llu forwarded %llu lost %llu full; down %llu forwarded %llu lost %llu full\n",
             (unsigned long long) up.forwarded, (unsigned long long) up.dropped_loss,
             (unsigned long long) up.dropped_full, (unsigned long long) down.forwarded,
             (unsigned long long) down.dropped_loss, (unsigned long long) down.dropped_full);
    return 0;
}
