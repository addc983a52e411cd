/*  curvecp_udp_socket.c - batched, non-blocking UDP, with segmentation
    offload where the kernel has it.

    Send: consecutive queued datagrams for one address, all of one size
    but the last, leave in one sendmsg with a UDP_SEGMENT cmsg (GSO): the
    kernel walks its stack once per 64 KB instead of once per datagram,
    and cuts it into the very same datagrams on the wire (the wire format
    does not change; a peer without GRO gets ordinary datagrams). A kernel
    or route that refuses a GSO send turns GSO off for the socket and the
    datagrams go one by one.
    Receive: with UDP_GRO the kernel hands back runs of same-size
    datagrams from one source as one buffer and the segment size in a
    cmsg; receive() cuts them up again and gives out at most
    CURVECP_UDP_BATCH datagrams per call (the rest wait for the next call,
    without a system call), so callers see what they always saw.
    CURVECP_UDP_OFFLOAD=0 in the environment turns both off (the tests run
    both paths).

    Buffers: without GRO, CURVECP_UDP_BATCH receive slots of 2 KiB; with
    it, as many of 64 KiB (4 MiB of address space, touched only as far as
    datagrams fill them: a page or two each for small ones);
    CURVECP_UDP_BATCH send slots. Kernel
    buffers are raised to 4 MiB where allowed, so a burst of a window's
    worth of datagrams is not dropped at the receiver before we get to
    read it.                                                              */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "curvecp_clock.h"
#include "curvecp_udp_socket.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define KERNEL_BUFFER (4 * 1024 * 1024)
#define RX_GRO_MSGS   CURVECP_UDP_BATCH  /* as many as without GRO: one read takes what it took */
#define RX_GRO_BYTES  65536              /* the largest datagram or GRO run */
#define GSO_SEGMENTS  64                 /* the kernel's UDP_MAX_SEGMENTS on every kernel with GSO */
#define GSO_BYTES     65000              /* stays under 64 KiB with IPv4 and IPv6 headers */

typedef union {
    char bytes [CMSG_SPACE (sizeof (int))];
    size_t align;                        /* cmsghdr alignment */
} control_t;

struct _curvecp_udp_socket_t {
    int fd;
    int family;
    bool gso, gro;                       /* offloads in use now */
    /* receive: rx_msgs_n buffers of rx_buf_size in rx_arena; the last
       recvmmsg filled rx_filled of them; the cursor is at byte rx_off of
       buffer rx_next; datagram i of the current batch is dg_* [i] */
    uint8_t *rx_arena;
    size_t rx_buf_size;
    int rx_msgs_n, rx_filled, rx_next;
    bool rx_short;                       /* the last recvmmsg left buffers empty */
    size_t rx_off;
    curvecp_udp_addr_t rx_from[CURVECP_UDP_BATCH];
    struct mmsghdr rx_msgs[CURVECP_UDP_BATCH];
    struct iovec rx_iov[CURVECP_UDP_BATCH];
    control_t rx_control[CURVECP_UDP_BATCH];
    const uint8_t *dg_bytes[CURVECP_UDP_BATCH];
    size_t dg_len[CURVECP_UDP_BATCH];
    const curvecp_udp_addr_t *dg_from[CURVECP_UDP_BATCH];
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

/* CURVECP_UDP_OFFLOAD: unset or 1 = both offloads, 0 = neither (the
   fallback path, for tests and for comparing), gso or gro = that one. */
static bool
offload_wanted (const char *which)
{
    const char *env = getenv ("CURVECP_UDP_OFFLOAD");
    return !env || strcmp (env, "1") == 0 || strcmp (env, which) == 0;
}

/* GRO if the kernel takes the option; GSO is tried on the first send.
   Never GRO on a port shared by workers: the kernel steers a coalesced run
   by its first datagram, and one client address may carry connections
   that belong to different workers. */
static void
choose_offloads (curvecp_udp_socket_t *self, bool shared)
{
    int on = 1;
    self->gso = offload_wanted ("gso");
    self->gro = !shared && offload_wanted ("gro") && setsockopt (self->fd, IPPROTO_UDP, UDP_GRO, &on, sizeof on) == 0;
    self->rx_msgs_n = self->gro ? RX_GRO_MSGS : CURVECP_UDP_BATCH;
    self->rx_buf_size = self->gro ? RX_GRO_BYTES : CURVECP_UDP_DGRAM;
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
    choose_offloads (self, workers > 0);
    self->rx_arena = malloc ((size_t) self->rx_msgs_n * self->rx_buf_size);
    if (!self->rx_arena) {
        close (self->fd);
        free (self);
        errno = ENOMEM;
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
        free (self->rx_arena);
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

/* The GRO segment size of received buffer i, 0 if it is one datagram. */
static size_t
segment_size (struct msghdr *h)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR (h); c; c = CMSG_NXTHDR (h, c))
        if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
            int size;
            memcpy (&size, CMSG_DATA (c), sizeof size);
            return size > 0 ? (size_t) size : 0;
        }
    return 0;
}

/* One recvmmsg into the buffers; false if nothing was waiting. */
static bool
read_buffers (curvecp_udp_socket_t *self)
{
    for (int i = 0; i < self->rx_msgs_n; i++) {
        self->rx_iov[i].iov_base = self->rx_arena + (size_t) i * self->rx_buf_size;
        self->rx_iov[i].iov_len = self->rx_buf_size;
        struct msghdr *h = &self->rx_msgs[i].msg_hdr;
        memset (h, 0, sizeof *h);
        h->msg_name = &self->rx_from[i].sa;
        h->msg_namelen = sizeof self->rx_from[i].sa;
        h->msg_iov = &self->rx_iov[i];
        h->msg_iovlen = 1;
        if (self->gro) {
            h->msg_control = self->rx_control[i].bytes;
            h->msg_controllen = sizeof self->rx_control[i].bytes;
        }
    }
    self->info.recv_calls++;
    int n = recvmmsg (self->fd, self->rx_msgs, (unsigned) self->rx_msgs_n, MSG_DONTWAIT, NULL);
    self->rx_filled = n > 0 ? n : 0;
    self->rx_short = self->rx_filled < self->rx_msgs_n;
    self->rx_next = 0;
    self->rx_off = 0;
    for (int i = 0; i < self->rx_filled; i++)
        self->rx_from[i].len = self->rx_msgs[i].msg_hdr.msg_namelen;
    return n > 0;
}

/* The next datagram at the cursor into the batch, the cursor moved on. */
static void
take_datagram (curvecp_udp_socket_t *self, int k)
{
    struct mmsghdr *m = &self->rx_msgs[self->rx_next];
    const uint8_t *buffer = self->rx_iov[self->rx_next].iov_base;
    size_t total = m->msg_len;
    size_t segment = self->gro ? segment_size (&m->msg_hdr) : 0;
    self->dg_from[k] = &self->rx_from[self->rx_next];
    self->dg_bytes[k] = buffer + self->rx_off;
    if (m->msg_hdr.msg_flags & MSG_TRUNC) {
        self->dg_len[k] = CURVECP_UDP_DGRAM + 1;   /* bigger than any packet: rejected by length */
        self->rx_off = total;
    }
    else
    if (segment == 0 || segment >= total) {
        self->dg_len[k] = total;
        self->rx_off = total;
    }
    else {
        size_t left = total - self->rx_off;
        self->dg_len[k] = left < segment ? left : segment;
        self->rx_off += self->dg_len[k];
    }
    if (self->rx_off >= total) {
        self->rx_next++;
        self->rx_off = 0;
    }
}

int
curvecp_udp_socket_receive (curvecp_udp_socket_t *self)
{
    if (self->rx_next >= self->rx_filled && !read_buffers (self))
        return 0;
    int k = 0;
    while (k < CURVECP_UDP_BATCH && self->rx_next < self->rx_filled)
        take_datagram (self, k++);
    self->info.received += (uint64_t) k;
    return k;
}

const uint8_t *
curvecp_udp_socket_datagram (curvecp_udp_socket_t *self, int i, size_t *len,
        const curvecp_udp_addr_t **from)
{
    *len = self->dg_len[i];
    *from = self->dg_from[i];
    return self->dg_bytes[i];
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

/* How many queued slots from slot s on can leave as one GSO send: same
   address, all the size of the first but the last (which may be shorter). */
static int
gso_run (curvecp_udp_socket_t *self, int s, int end)
{
    if (!self->gso)
        return 1;
    size_t segment = self->tx_len[s], total = segment;
    int k = 1;
    while (s + k < end && k < GSO_SEGMENTS) {
        size_t len = self->tx_len[s + k];
        if (len > segment || len == 0 || total + len > GSO_BYTES
        ||  !curvecp_udp_addr_equal (&self->tx_to[s + k], &self->tx_to[s]))
            break;
        total += len;
        k++;
        if (len < segment)
            break;
    }
    return k;
}

/* The queued slots as messages, GSO runs where possible; their sizes in
   datagrams go to runs. Returns the number of messages. */
static int
build_messages (curvecp_udp_socket_t *self, struct mmsghdr *msgs, struct iovec *iov,
        control_t *control, int *runs)
{
    int end = self->tx_head + self->tx_count, count = 0;
    memset (msgs, 0, sizeof (struct mmsghdr) * (size_t) self->tx_count);
    for (int s = self->tx_head; s < end; s += runs[count++]) {
        int k = gso_run (self, s, end);
        for (int j = 0; j < k; j++) {
            iov[s - self->tx_head + j].iov_base = self->tx[s + j];
            iov[s - self->tx_head + j].iov_len = self->tx_len[s + j];
        }
        struct msghdr *h = &msgs[count].msg_hdr;
        h->msg_name = &self->tx_to[s].sa;
        h->msg_namelen = self->tx_to[s].len;
        h->msg_iov = &iov[s - self->tx_head];
        h->msg_iovlen = (size_t) k;
        if (k > 1) {
            h->msg_control = control[count].bytes;
            h->msg_controllen = CMSG_SPACE (sizeof (uint16_t));
            struct cmsghdr *c = CMSG_FIRSTHDR (h);
            c->cmsg_level = IPPROTO_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN (sizeof (uint16_t));
            uint16_t segment = (uint16_t) self->tx_len[s];
            memcpy (CMSG_DATA (c), &segment, sizeof segment);
        }
        runs[count] = k;
    }
    return count;
}

int
curvecp_udp_socket_flush (curvecp_udp_socket_t *self)
{
    while (self->tx_count > 0) {
        struct mmsghdr msgs[CURVECP_UDP_BATCH];
        struct iovec iov[CURVECP_UDP_BATCH];
        control_t control[CURVECP_UDP_BATCH];
        int runs[CURVECP_UDP_BATCH];
        int count = build_messages (self, msgs, iov, control, runs);
        self->info.send_calls++;
        int n = sendmmsg (self->fd, msgs, (unsigned) count, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
            break;
        int sent = 0;
        if (n < 0 && runs[0] > 1) {
            self->gso = false;           /* kernel, device or route refuses GSO: one by one from now */
            self->info.gso_refused++;
            continue;
        }
        if (n < 0) {
            sent = 1;                    /* the first datagram failed hard: drop it */
            self->info.send_errors++;
        }
        else {
            for (int i = 0; i < n; i++) {
                sent += runs[i];
                self->info.gso_sends += runs[i] > 1;
            }
            self->info.sent += (uint64_t) sent;
        }
        self->tx_head += sent;
        self->tx_count -= sent;
    }
    if (self->tx_count == 0)
        self->tx_head = 0;
    else
        compact (self);
    return self->tx_count;
}

bool
curvecp_udp_socket_gso (const curvecp_udp_socket_t *self)
{
    return self->gso;
}

bool
curvecp_udp_socket_gro (const curvecp_udp_socket_t *self)
{
    return self->gro;
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
        bool more = after_batch (ctx, now);
        curvecp_udp_socket_flush (self);
        if (n < CURVECP_UDP_BATCH || !more)
            break;
    }
    after_batch (ctx, now);
    curvecp_udp_socket_flush (self);
}

bool
curvecp_udp_socket_drained (const curvecp_udp_socket_t *self)
{
    return self->rx_short && self->rx_next >= self->rx_filled;
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
