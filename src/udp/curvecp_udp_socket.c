/*  curvecp_udp_socket.c - batched, non-blocking UDP.

    Buffers: CURVECP_UDP_BATCH receive slots and as many send slots, about
    200 KiB per socket (not per connection). Kernel buffers are raised to
    4 MiB where allowed, so a burst of a window's worth of datagrams is
    not dropped at the receiver before we get to read it.                 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <poll.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "curvecp_clock.h"
#include "curvecp_udp_socket.h"

#define KERNEL_BUFFER (4 * 1024 * 1024)

struct _curvecp_udp_socket_t {
    int fd;
    int family;
    /* receive */
    uint8_t rx[CURVECP_UDP_BATCH][CURVECP_UDP_DGRAM];
    curvecp_udp_addr_t rx_from[CURVECP_UDP_BATCH];
    struct mmsghdr rx_msgs[CURVECP_UDP_BATCH];
    struct iovec rx_iov[CURVECP_UDP_BATCH];
    /* send: slots [tx_head, tx_count) are queued */
    uint8_t tx[CURVECP_UDP_BATCH][CURVECP_PACKET_MAX];
    curvecp_udp_addr_t tx_to[CURVECP_UDP_BATCH];
    size_t tx_len[CURVECP_UDP_BATCH];
    int tx_head, tx_count;
    curvecp_udp_socket_info_t info;
};

int
curvecp_udp_poll (struct pollfd *fds, int count, uint64_t deadline)
{
    uint64_t now = curvecp_clock_now ();
    struct timespec ts = { 0, 0 }, *timeout = &ts;
    if (deadline == UINT64_MAX)
        timeout = NULL;
    else
    if (deadline > now) {
        ts.tv_sec = (time_t) ((deadline - now) / 1000000000ull);
        ts.tv_nsec = (long) ((deadline - now) % 1000000000ull);
    }
    return ppoll (fds, (nfds_t) count, timeout, NULL);
}

void
curvecp_udp_reserve_low_fds (void)
{
    for (;;) {
        int fd = open ("/dev/null", O_RDWR);
        if (fd < 0)
            return;
        if (fd > 9) {
            close (fd);
            return;
        }
    }
}

static void
raise_buffers (int fd)
{
    int size = KERNEL_BUFFER;
    /* FORCE works as root (beyond rmem_max); otherwise take what we may. */
    if (setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (setsockopt (fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
        setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

/* The port's steering program (classic BPF, run by the kernel on each
   datagram for a port shared with SO_REUSEPORT; offset 0 is the UDP
   payload): the group's socket number (C' word at offset 40) mod
   workers. Hello, Initiate and Client Message all carry C' at bytes
   40..71, so every packet of a connection reaches the same worker from
   any source address. A datagram too short for the load ends the
   program with 0: worker 0 drops it. */
static int
attach_steering (int fd, int workers)
{
    struct sock_filter code[] = {
        { BPF_LD | BPF_W | BPF_ABS, 0, 0, 40 },
        { BPF_ALU | BPF_MOD | BPF_K, 0, 0, (uint32_t) workers },
        { BPF_RET | BPF_A, 0, 0, 0 },
    };
    struct sock_fprog prog = { (unsigned short) (sizeof code / sizeof code[0]), code };
    return setsockopt (fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog);
}

/* workers > 0: the port is shared (SO_REUSEPORT); the first socket
   bound (steer) sets the group's steering program. */
static int
open_fd (int family, const curvecp_udp_addr_t *bind_addr, int workers, bool steer)
{
    int fd = socket (family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (workers > 0 && setsockopt (fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        close (fd);
        return -1;
    }
    int off = 0;
    if (family == AF_INET6)
        setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
#ifdef IP_MTU_DISCOVER
    /* As curvecpserver: no DF bit, let the network fragment. */
    int dont = IP_PMTUDISC_DONT;
    if (family == AF_INET)
        setsockopt (fd, IPPROTO_IP, IP_MTU_DISCOVER, &dont, sizeof dont);
#endif
    raise_buffers (fd);
    if ((bind_addr && bind (fd, (const struct sockaddr *) &bind_addr->sa, bind_addr->len) != 0)
    ||  (workers > 0 && steer && attach_steering (fd, workers) != 0)) {
        int saved = errno;
        close (fd);
        errno = saved;
        return -1;
    }
    return fd;
}

curvecp_udp_socket_t *
curvecp_udp_socket_new (int family, const curvecp_udp_addr_t *bind_addr)
{
    return curvecp_udp_socket_new_steered (family, bind_addr, 0, false);
}

curvecp_udp_socket_t *
curvecp_udp_socket_new_steered (int family, const curvecp_udp_addr_t *bind_addr, int workers, bool first)
{
    curvecp_udp_socket_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->family = family;
    self->fd = open_fd (family, bind_addr, workers, first);
    if (self->fd < 0) {
        int saved = errno;
        free (self);
        errno = saved;
        return NULL;
    }
    return self;
}

void
curvecp_udp_socket_destroy (curvecp_udp_socket_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_udp_socket_t *self = *self_p;
        close (self->fd);
        free (self);
        *self_p = NULL;
    }
}

int
curvecp_udp_socket_fd (const curvecp_udp_socket_t *self)
{
    return self->fd;
}

int
curvecp_udp_socket_family (const curvecp_udp_socket_t *self)
{
    return self->family;
}

void
curvecp_udp_socket_local (const curvecp_udp_socket_t *self, curvecp_udp_addr_t *addr)
{
    memset (addr, 0, sizeof *addr);
    addr->len = sizeof addr->sa;
    getsockname (self->fd, (struct sockaddr *) &addr->sa, &addr->len);
}

int
curvecp_udp_socket_receive (curvecp_udp_socket_t *self)
{
    for (int i = 0; i < CURVECP_UDP_BATCH; i++) {
        self->rx_iov[i].iov_base = self->rx[i];
        self->rx_iov[i].iov_len = CURVECP_UDP_DGRAM;
        struct msghdr *h = &self->rx_msgs[i].msg_hdr;
        memset (h, 0, sizeof *h);
        h->msg_name = &self->rx_from[i].sa;
        h->msg_namelen = sizeof self->rx_from[i].sa;
        h->msg_iov = &self->rx_iov[i];
        h->msg_iovlen = 1;
    }
    self->info.recv_calls++;
    int n = recvmmsg (self->fd, self->rx_msgs, CURVECP_UDP_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return 0;
    for (int i = 0; i < n; i++)
        self->rx_from[i].len = self->rx_msgs[i].msg_hdr.msg_namelen;
    self->info.received += (uint64_t) n;
    return n;
}

const uint8_t *
curvecp_udp_socket_datagram (curvecp_udp_socket_t *self, int i, size_t *len,
        const curvecp_udp_addr_t **from)
{
    *len = self->rx_msgs[i].msg_len;
    if (self->rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
        *len = CURVECP_UDP_DGRAM + 1;    /* bigger than any packet: rejected by length */
    *from = &self->rx_from[i];
    return self->rx[i];
}

uint8_t *
curvecp_udp_socket_slot (curvecp_udp_socket_t *self)
{
    if (self->tx_head + self->tx_count == CURVECP_UDP_BATCH)
        curvecp_udp_socket_flush (self);
    if (self->tx_head + self->tx_count == CURVECP_UDP_BATCH) {
        self->info.send_full++;
        return NULL;
    }
    return self->tx[self->tx_head + self->tx_count];
}

void
curvecp_udp_socket_commit (curvecp_udp_socket_t *self, size_t len, const curvecp_udp_addr_t *to)
{
    int i = self->tx_head + self->tx_count;
    self->tx_len[i] = len;
    self->tx_to[i] = *to;
    self->tx_count++;
}

/* Move queued slots to the front so new ones can follow. */
static void
compact (curvecp_udp_socket_t *self)
{
    if (self->tx_head == 0)
        return;
    for (int i = 0; i < self->tx_count; i++) {
        int from = self->tx_head + i;
        memcpy (self->tx[i], self->tx[from], self->tx_len[from]);
        self->tx_len[i] = self->tx_len[from];
        self->tx_to[i] = self->tx_to[from];
    }
    self->tx_head = 0;
}

int
curvecp_udp_socket_flush (curvecp_udp_socket_t *self)
{
    while (self->tx_count > 0) {
        struct mmsghdr msgs[CURVECP_UDP_BATCH];
        struct iovec iov[CURVECP_UDP_BATCH];
        memset (msgs, 0, sizeof (struct mmsghdr) * (size_t) self->tx_count);
        for (int i = 0; i < self->tx_count; i++) {
            int s = self->tx_head + i;
            iov[i].iov_base = self->tx[s];
            iov[i].iov_len = self->tx_len[s];
            msgs[i].msg_hdr.msg_name = &self->tx_to[s].sa;
            msgs[i].msg_hdr.msg_namelen = self->tx_to[s].len;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        self->info.send_calls++;
        int n = sendmmsg (self->fd, msgs, (unsigned) self->tx_count, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
            break;
        if (n < 0) {
            n = 1;                       /* the first datagram failed hard: drop it */
            self->info.send_errors++;
        }
        else
            self->info.sent += (uint64_t) n;
        self->tx_head += n;
        self->tx_count -= n;
    }
    if (self->tx_count == 0)
        self->tx_head = 0;
    else
        compact (self);
    return self->tx_count;
}

void
curvecp_udp_socket_turn (curvecp_udp_socket_t *self, uint64_t now, int rounds,
        curvecp_udp_datagram_fn *on_datagram, curvecp_udp_batch_fn *after_batch, void *ctx,
        curvecp_stats_t *stats)
{
    curvecp_udp_socket_flush (self);
    for (int round = 0; round < rounds; round++) {
        int n = curvecp_udp_socket_receive (self);
        for (int i = 0; i < n; i++) {
            size_t len;
            const curvecp_udp_addr_t *from;
            const uint8_t *packet = curvecp_udp_socket_datagram (self, i, &len, &from);
            curvecp_stats_count (stats, on_datagram (ctx, packet, len, from, now));
        }
        after_batch (ctx, now);
        curvecp_udp_socket_flush (self);
        if (n < CURVECP_UDP_BATCH)
            break;
    }
    after_batch (ctx, now);
    curvecp_udp_socket_flush (self);
}

int
curvecp_udp_socket_pending (const curvecp_udp_socket_t *self)
{
    return self->tx_count;
}

const curvecp_udp_socket_info_t *
curvecp_udp_socket_info (const curvecp_udp_socket_t *self)
{
    return &self->info;
}
