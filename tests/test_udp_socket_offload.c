/*  test_udp_socket_offload - the socket's GSO and GRO paths give exactly
    the datagrams that went in: every size, every byte, in order, with the
    right source, for each pairing of sender and receiver offloads
    (CURVECP_UDP_OFFLOAD=0 / gso / gro / 1): runs of full-size datagrams
    with a shorter last one, a size change mid-run, two destinations
    interleaved, a run longer than one GSO send, and more datagrams than
    one receive gives out (the rest come from the next receive). Where
    the kernel has GSO, the offload sender must really have used it.     */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_constants.h"
#include "curvecp_udp_socket.h"
#include "testutil.h"

#define COUNT 150                 /* more than CURVECP_UDP_BATCH, several GSO sends */

typedef struct {
    size_t len;
    int to;                       /* receiver 0 or 1 */
} plan_t;

static plan_t plan[COUNT];

/* Sizes: full runs, a shorter datagram ending a run, a size change, and
   a stretch alternating between the two receivers. */
static void
make_plan (void)
{
    for (int i = 0; i < COUNT; i++) {
        plan[i].len = CURVECP_PACKET_MAX;
        plan[i].to = 0;
        if (i % 37 == 36)
            plan[i].len = 200 + (size_t) i;      /* ends a run */
        if (i >= 90 && i < 100)
            plan[i].len = 640;                   /* a run of another size */
        if (i >= 110 && i < 120)
            plan[i].to = i % 2;                  /* two addresses interleaved */
    }
}

static void
fill (uint8_t *p, int i, size_t len)
{
    for (size_t k = 0; k < len; k++)
        p[k] = (uint8_t) (i * 31 + (int) k * 7);
}

static curvecp_udp_socket_t *
open_socket (const char *offload)
{
    setenv ("CURVECP_UDP_OFFLOAD", offload, 1);
    curvecp_udp_addr_t any;
    CHECK_EQ (curvecp_udp_addr_parse ("127.0.0.1", 0, &any), CURVECP_OK);
    curvecp_udp_socket_t *s = curvecp_udp_socket_new (AF_INET, &any);
    CHECK (s);
    return s;
}

/* Receive on r until want datagrams came (bounded); check each against
   the plan entries addressed to receiver which. */
static void
expect (curvecp_udp_socket_t *r, int which, const curvecp_udp_addr_t *sender)
{
    int next = 0;
    uint64_t start = curvecp_clock_now ();
    uint8_t want[CURVECP_UDP_DGRAM];
    while (next < COUNT) {
        while (next < COUNT && plan[next].to != which)
            next++;
        if (next == COUNT)
            break;
        int n = curvecp_udp_socket_receive (r);
        if (n == 0) {
            CHECK (curvecp_clock_now () - start < 5000000000ull);
            struct pollfd pfd = { curvecp_udp_socket_fd (r), POLLIN, 0 };
            curvecp_udp_poll (&pfd, 1, curvecp_clock_now () + 10000000ull);
            continue;
        }
        CHECK (n <= CURVECP_UDP_BATCH);
        for (int i = 0; i < n; i++) {
            while (next < COUNT && plan[next].to != which)
                next++;
            CHECK (next < COUNT);
            size_t len;
            const curvecp_udp_addr_t *from;
            const uint8_t *d = curvecp_udp_socket_datagram (r, i, &len, &from);
            CHECK_EQ (len, plan[next].len);
            fill (want, next, len);
            CHECK_MEM (d, want, len);
            CHECK (curvecp_udp_addr_equal (from, sender));
            next++;
        }
    }
    struct pollfd pfd = { curvecp_udp_socket_fd (r), POLLIN, 0 };
    curvecp_udp_poll (&pfd, 1, curvecp_clock_now () + 20000000ull);
    CHECK_EQ (curvecp_udp_socket_receive (r), 0);       /* nothing more, nothing twice */
}

static void
run_pair (const char *send_mode, const char *recv_mode)
{
    curvecp_udp_socket_t *rx[2] = { open_socket (recv_mode), open_socket (recv_mode) };
    curvecp_udp_socket_t *tx = open_socket (send_mode);
    curvecp_udp_addr_t to[2], sender;
    curvecp_udp_socket_local (rx[0], &to[0]);
    curvecp_udp_socket_local (rx[1], &to[1]);
    curvecp_udp_socket_local (tx, &sender);
    bool gso_wanted = strcmp (send_mode, "1") == 0 || strcmp (send_mode, "gso") == 0;
    bool gro_wanted = strcmp (recv_mode, "1") == 0 || strcmp (recv_mode, "gro") == 0;
    if (!gro_wanted)
        CHECK (!curvecp_udp_socket_gro (rx[0]));
    if (!gso_wanted)
        CHECK (!curvecp_udp_socket_gso (tx));
    for (int i = 0; i < COUNT; i++) {
        uint8_t *slot = curvecp_udp_socket_slot (tx);
        CHECK (slot);
        fill (slot, i, plan[i].len);
        curvecp_udp_socket_commit (tx, plan[i].len, &to[plan[i].to]);
    }
    CHECK_EQ (curvecp_udp_socket_flush (tx), 0);
    const curvecp_udp_socket_info_t *info = curvecp_udp_socket_info (tx);
    CHECK_EQ (info->sent, COUNT);
    if (curvecp_udp_socket_gso (tx))
        CHECK (info->gso_sends >= COUNT / 16);   /* the runs really went as GSO sends */
    else
        CHECK_EQ (info->gso_sends, 0);
    expect (rx[0], 0, &sender);
    expect (rx[1], 1, &sender);
    printf ("ok   sender %s (gso %s, %llu GSO sends, %llu calls) -> receiver %s (gro %s)\n", send_mode,
            curvecp_udp_socket_gso (tx) ? "on" : "off", (unsigned long long) info->gso_sends,
            (unsigned long long) info->send_calls, recv_mode, curvecp_udp_socket_gro (rx[0]) ? "on" : "off");
    curvecp_udp_socket_destroy (&tx);
    curvecp_udp_socket_destroy (&rx[0]);
    curvecp_udp_socket_destroy (&rx[1]);
    CHECK (tx == NULL && rx[0] == NULL);
}

int
main (void)
{
    make_plan ();
    const char *modes[] = { "0", "1", "gso", "gro" };
    for (int s = 0; s < 4; s++)
        for (int r = 0; r < 4; r++)
            run_pair (modes[s], modes[r]);
    return 0;
}
