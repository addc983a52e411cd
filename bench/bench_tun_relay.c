/*  bench_tun_relay - the lossy, delaying relay of bench_udp_relay, for IP
    packets: it opens a TUN device in each of two network namespaces and
    forwards every packet read from one to the other, with the same model
    (bench_lossy.h: seeded per-packet drop probability loss_percent in each
    direction, delay_ms each way, so RTT = 2 x delay_ms, bounded queues).
    The kernel here has no netem, and the UDP relay carries UDP only: this
    puts TCP (or anything else) on the same lossy path. The namespaces and
    devices exist before it starts (ip netns add; ip netns exec NS ip tuntap
    add dev DEV mode tun); the relay enters each namespace only to open its
    device (the fd stays valid after setns back). It stops after
    max_seconds or on SIGTERM, and prints what it forwarded and dropped.

    bench-tun-relay netns_a dev_a netns_b dev_b loss_percent delay_ms seed max_seconds
    (netns_*: a path such as /run/netns/NAME) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "curvecp_clock.h"
#define LOSSY_PACKET_MAX 1500   /* the TUN devices' MTU */
#include "bench_lossy.h"

/*  Open the TUN device dev inside the namespace at netns_path; the calling
    thread returns to the namespace it started in.  */
static int
tun_open_in (const char *netns_path, const char *dev)
{
    int home = open ("/proc/self/ns/net", O_RDONLY);
    int ns = open (netns_path, O_RDONLY);
    if (home < 0 || ns < 0 || setns (ns, CLONE_NEWNET) != 0) {
        perror ("bench-tun-relay: setns");
        exit (111);
    }
    int fd = open ("/dev/net/tun", O_RDWR | O_NONBLOCK);
    struct ifreq ifr;
    memset (&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf (ifr.ifr_name, sizeof ifr.ifr_name, "%s", dev);
    if (fd < 0 || ioctl (fd, TUNSETIFF, &ifr) != 0) {
        perror ("bench-tun-relay: TUNSETIFF");
        exit (111);
    }
    if (setns (home, CLONE_NEWNET) != 0) {
        perror ("bench-tun-relay: setns back");
        exit (111);
    }
    close (ns);
    close (home);
    return fd;
}

static volatile sig_atomic_t stopping;

static void
on_term (int sig)
{
    (void) sig;
    stopping = 1;       /* the loop ends and the counts are printed */
}

static void
drain (int fd, lossy_queue_t *q, uint64_t release, double loss)
{
    uint8_t buf[LOSSY_PACKET_MAX + 64];
    for (;;) {
        ssize_t n = read (fd, buf, sizeof buf);
        if (n <= 0)
            return;
        lossy_hold (q, buf, (size_t) n, release, loss);
    }
}

static void
release_due (lossy_queue_t *q, int fd, uint64_t now)
{
    /* a write the device refuses (its queue full) is a loss, as on a wire */
    for (lossy_held_t *h; (h = lossy_due (q, now)) != NULL; lossy_pop (q))
        if (write (fd, h->data, h->len) < 0)
            q->dropped_full++;
}

int
main (int argc, char **argv)
{
    if (argc != 9) {
        fprintf (stderr, "usage: bench-tun-relay netns_a dev_a netns_b dev_b loss_percent delay_ms seed max_seconds\n");
        return 100;
    }
    int a = tun_open_in (argv[1], argv[2]);
    int b = tun_open_in (argv[3], argv[4]);
    double loss = atof (argv[5]);
    uint64_t delay = (uint64_t) (atof (argv[6]) * 1e6);
    lossy_seed (strtoull (argv[7], NULL, 10));
    uint64_t stop = curvecp_clock_now () + (uint64_t) (atof (argv[8]) * 1e9);
    lossy_queue_t a_to_b, b_to_a;
    if (lossy_queue_init (&a_to_b) || lossy_queue_init (&b_to_a))
        return 111;
    struct sigaction sa = { .sa_handler = on_term };
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    printf ("ready\n");
    fflush (stdout);
    for (uint64_t now = curvecp_clock_now (); now < stop && !stopping; now = curvecp_clock_now ()) {
        lossy_wait (a, b, &a_to_b, &b_to_a, now, stop);
        now = curvecp_clock_now ();
        drain (a, &a_to_b, now + delay, loss);
        drain (b, &b_to_a, now + delay, loss);
        release_due (&a_to_b, b, now);
        release_due (&b_to_a, a, now);
    }
    fprintf (stderr, "tun relay: a->b %llu forwarded %llu lost %llu full; b->a %llu forwarded %llu lost %llu full\n",
             (unsigned long long) a_to_b.forwarded, (unsigned long long) a_to_b.dropped_loss,
             (unsigned long long) a_to_b.dropped_full, (unsigned long long) b_to_a.forwarded,
             (unsigned long long) b_to_a.dropped_loss, (unsigned long long) b_to_a.dropped_full);
    return 0;
}
