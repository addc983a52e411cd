/*  bench_udp_blast - the ceiling for UDP on this machine: one sender
    thread sendmmsg()s 1184-byte datagrams (the largest CurveCP packet) as
    fast as it can to a receiver thread that recvmmsg()s them, on
    loopback, batches of 64, as our carrier does. Prints the rate the
    receiver saw (datagrams the kernel dropped do not count).

    bench-udp-blast [seconds]   ->   BLAST <MB/s> <datagrams/s>          */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "curvecp_clock.h"

#define DGRAM 1184
#define BATCH 64

static atomic_bool stop;
static int rx_fd;

static double
seconds_now (void)
{
    return (double) curvecp_clock_now () / 1e9;
}

static void *
receiver (void *arg)
{
    unsigned long long *received = arg;
    static uint8_t bufs[BATCH][2048];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    struct timeval tv = { 0, 100000 };
    setsockopt (rx_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (!atomic_load (&stop)) {
        memset (msgs, 0, sizeof msgs);
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec) { bufs[i], sizeof bufs[i] };
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg (rx_fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        if (n > 0)
            *received += (unsigned long long) n;
    }
    return NULL;
}

int
main (int argc, char **argv)
{
    double duration = argc > 1 ? atof (argv[1]) : 1.0;
    int size = 4 * 1024 * 1024;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    rx_fd = socket (AF_INET, SOCK_DGRAM, 0);
    int tx_fd = socket (AF_INET, SOCK_DGRAM, 0);
    setsockopt (rx_fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    setsockopt (tx_fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
    if (bind (rx_fd, (struct sockaddr *) &addr, sizeof addr) != 0
    ||  getsockname (rx_fd, (struct sockaddr *) &addr, &len) != 0
    ||  connect (tx_fd, (struct sockaddr *) &addr, sizeof addr) != 0) {
        perror ("bench-udp-blast");
        return 1;
    }
    unsigned long long received = 0;
    pthread_t thread;
    pthread_create (&thread, NULL, receiver, &received);
    static uint8_t payload[DGRAM];
    memset (payload, 0x5a, sizeof payload);
    struct mmsghdr msgs[BATCH];
    struct iovec iov = { payload, DGRAM };
    memset (msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        msgs[i].msg_hdr.msg_iov = &iov;
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    double start = seconds_now ();
    unsigned long long at_start = received;
    while (seconds_now () - start < duration)
        sendmmsg (tx_fd, msgs, BATCH, 0);
    double elapsed = seconds_now () - start;
    usleep (50000);                  /* what is in flight still counts */
    atomic_store (&stop, true);
    pthread_join (thread, NULL);
    double rate = (double) (received - at_start) / elapsed;
    printf ("BLAST %.1f %.0f\n", rate * DGRAM / 1e6, rate);
    return 0;
}
