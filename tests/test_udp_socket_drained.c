/*  test_udp_socket_drained - curvecp_udp_socket_drained, which lets a
    loop send what is due without a recvmmsg that finds nothing
    (curvecp_udp_server_send_due, curvecp_udp_dialer_send_due): false
    before any read and while a read filled every buffer or left
    datagrams to hand out; true once a read found the queue empty or got
    fewer datagrams than buffers and all were handed out. With and
    without the receive offload (GRO may put many datagrams in one
    buffer: they are still handed out BATCH at a time).                  */
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "curvecp_constants.h"
#include "curvecp_udp_socket.h"
#include "testutil.h"

#define SENT (CURVECP_UDP_BATCH + 6)

static void
run (const char *offload)
{
    setenv ("CURVECP_UDP_OFFLOAD", offload, 1);
    curvecp_udp_addr_t any, local;
    CHECK_EQ (curvecp_udp_addr_parse ("127.0.0.1", 0, &any), CURVECP_OK);
    curvecp_udp_socket_t *r = curvecp_udp_socket_new (AF_INET, &any);
    CHECK (r);
    curvecp_udp_socket_local (r, &local);
    CHECK (!curvecp_udp_socket_drained (r));       /* never read: unknown */
    CHECK_EQ (curvecp_udp_socket_receive (r), 0);
    CHECK (curvecp_udp_socket_drained (r));        /* found nothing */

    int tx = socket (AF_INET, SOCK_DGRAM, 0);
    CHECK (tx >= 0);
    uint8_t payload[100] = { 1 };
    for (int i = 0; i < SENT; i++)
        CHECK_EQ (sendto (tx, payload, sizeof payload, 0, (const struct sockaddr *) &local.sa, local.len),
                  (ssize_t) sizeof payload);
    /* loopback delivers at once, but give the kernel a moment under load */
    struct pollfd pfd = { curvecp_udp_socket_fd (r), POLLIN, 0 };
    curvecp_udp_poll (&pfd, 1, curvecp_clock_now () + 1000000000ull);
    usleep (20000);
    CHECK (curvecp_udp_socket_drained (r));        /* stale until the next read */
    int got = curvecp_udp_socket_receive (r);
    CHECK_EQ (got, CURVECP_UDP_BATCH);
    CHECK (!curvecp_udp_socket_drained (r));       /* more may wait */
    int rest = curvecp_udp_socket_receive (r);
    CHECK_EQ (rest, SENT - CURVECP_UDP_BATCH);
    CHECK (curvecp_udp_socket_drained (r));
    CHECK_EQ (curvecp_udp_socket_receive (r), 0);
    CHECK (curvecp_udp_socket_drained (r));
    close (tx);
    curvecp_udp_socket_destroy (&r);
    CHECK (r == NULL);
}

int
main (void)
{
    run ("0");
    run ("1");
    printf ("test_udp_socket_drained: OK\n");
    return 0;
}
