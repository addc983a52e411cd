/*  curvecp_tunnel.c - TCP connections over CurveCP connections, both
    directions in one poll loop.

    A link is one TCP connection and its CurveCP connection. Each turn:
    poll (TCP sockets only for what they can do now: read while the
    stream has room, write while the socket refused bytes, so a stalled
    side costs no wake-ups), then the UDP endpoint's process (datagrams in, timers,
    datagrams out), new connections, every link pumped both ways, and the
    endpoint's process again so what the links wrote leaves at once.   */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "curvecp_clock.h"
#include "curvecp_tunnel.h"
#include "curvecp_udp_dialer.h"
#include "curvecp_udp_server.h"
#include "curvecp_udp_socket.h"
#include "udp/curvecp_udp_internal.h"

#define DEFAULT_MAX     100
#define ACCEPTS_PER_TURN 64
#define LINGER_ROOM     1000               /* -d: lingering connections beyond the limit */
/* A closed connection, once everything is acknowledged both ways, stays
   this long to acknowledge the peer's EOF again if our acknowledgement was
   lost (a few retransmission timeouts on any sane path). Not the library's
   2 s: a tunnel opening a thousand connections a second would hold two
   thousand finished ones. Were the peer's EOF lost anyway, its TCP side is
   closed already and the connection only fails at its give-up, unseen. */
#define TUNNEL_LINGER_NS 250000000ull
/* An acknowledgment of a small message waits this long for the reply (or
   the next request) to ride on, so a request-response round trip costs two
   datagrams and two wake-ups, not four (see curvecp_stream_recv.c). Far
   below the 10 ms least retransmission timeout; bulk data is acknowledged
   at once whatever this says. Set only when the caller left it 0. */
#define TUNNEL_ACK_DELAY_NS 1000000ull

typedef struct _link_t link_t;
struct _link_t {
    int fd;                            /* TCP, -1 once closed */
    curvecp_udp_conn_t *conn;
    bool connecting;                   /* -d: TCP connect under way */
    bool tcp_eof;                      /* FIN read: our stream's success EOF is sent */
    bool tcp_shut;                     /* stream's success EOF written as a FIN */
    bool blocked;                      /* the TCP socket took less than offered */
    short revents;                     /* from the last poll */
    link_t *next, *prev;
};

struct _curvecp_tunnel_t {
    curvecp_tunnel_config_t config;
    curvecp_stream_config_t stream;
    curvecp_keypair_t keys;
    char *name;
    int listen_fd;                     /* -e */
    curvecp_udp_dialer_t *dialer;      /* -e */
    curvecp_udp_server_t *server;      /* -d */
    link_t *links;
    size_t link_count;
    struct pollfd *pfds;
    link_t **pfd_links;
    size_t pfd_cap;
    uint64_t refused_links;            /* -d: connections over the limit */
    uint64_t closed_keepalives;        /* sent by connections given back */
    curvecp_tunnel_info_t info;
};

void
curvecp_tunnel_config_default (curvecp_tunnel_config_t *config)
{
    memset (config, 0, sizeof *config);
}

/* ---- sockets -------------------------------------------------------- */

static int
tcp_socket (int family)
{
    int fd = socket (family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        int one = 1;
        setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

static int
tcp_listen (const curvecp_udp_addr_t *addr)
{
    int fd = tcp_socket (curvecp_udp_addr_family (addr));
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind (fd, (const struct sockaddr *) &addr->sa, addr->len) < 0 || listen (fd, 1024) < 0) {
        int saved = errno;
        close (fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Close with a reset: the peer sees ECONNRESET, never a clean end. */
static void
tcp_reset (int fd)
{
    struct linger hard = { .l_onoff = 1, .l_linger = 0 };
    setsockopt (fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close (fd);
}

/* ---- links ---------------------------------------------------------- */

static link_t *
link_new (curvecp_tunnel_t *self, int fd, curvecp_udp_conn_t *conn)
{
    link_t *link = calloc (1, sizeof *link);
    if (!link)
        return NULL;
    link->fd = fd;
    link->conn = conn;
    curvecp_udp_conn_set_user (conn, link);
    link->next = self->links;
    if (self->links)
        self->links->prev = link;
    self->links = link;
    self->link_count++;
    self->info.live++;
    return link;
}

static void
link_free (curvecp_tunnel_t *self, link_t *link)
{
    if (link->prev)
        link->prev->next = link->next;
    else
        self->links = link->next;
    if (link->next)
        link->next->prev = link->prev;
    free (link);
    self->link_count--;
    self->info.live--;
}

/* Give the connection back to its endpoint (it sends no keepalive once
   closed: what it sent is counted now). */
static void
link_close_conn (curvecp_tunnel_t *self, link_t *link)
{
    self->closed_keepalives += curvecp_udp_conn_info (link->conn)->keepalives;
    curvecp_udp_conn_close (&link->conn);
}

/* A failure on either side: the stream ends with a failure EOF (if it can
   still say anything) and the TCP connection with a reset. */
static void
link_abort (curvecp_tunnel_t *self, link_t *link)
{
    if (link->conn) {
        if (curvecp_udp_conn_failed (link->conn)
        ||  curvecp_udp_conn_received_eof (link->conn) == CURVECP_EOF_FAILURE)
            self->info.failed++;
        curvecp_udp_conn_shutdown (link->conn, CURVECP_EOF_FAILURE);
        link_close_conn (self, link);
    }
    if (link->fd >= 0) {
        tcp_reset (link->fd);
        self->info.resets++;
    }
    link_free (self, link);
}

/* Both ways ended cleanly: the TCP socket closes, the connection stays
   with the endpoint until our EOF is acknowledged. */
static void
link_finish (curvecp_tunnel_t *self, link_t *link)
{
    close (link->fd);
    link_close_conn (self, link);
    self->info.clean++;
    link_free (self, link);
}

/* ---- pumping -------------------------------------------------------- */

/* TCP -> stream, read straight into the stream's send buffer, as much
   as it has room for. false: the TCP side failed (reset). */
static bool
pump_in (curvecp_tunnel_t *self, link_t *link)
{
    if (link->tcp_eof || !(link->revents & (POLLIN | POLLHUP | POLLERR)))
        return true;
    uint8_t *space;
    size_t room = curvecp_udp_conn_send_reserve (link->conn, &space);
    if (room == 0)
        return true;
    ssize_t n = recv (link->fd, space, room, 0);
    if (n > 0) {
        curvecp_udp_conn_send_commit (link->conn, (size_t) n);
        self->info.bytes_in += (uint64_t) n;
        if ((size_t) n < room)
            link->revents = 0;             /* drained: wait for poll */
        return true;
    }
    if (n == 0) {
        link->tcp_eof = true;
        curvecp_udp_conn_shutdown (link->conn, CURVECP_EOF_SUCCESS);
        return true;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        link->revents = 0;
        return true;
    }
    self->info.tcp_resets++;
    return false;
}

/* Stream -> TCP straight from the stream's receive buffer, while the
   socket takes it; what it does not take stays in the stream (its window
   stays shut: backpressure). false: the TCP side failed. */
static bool
pump_out (curvecp_tunnel_t *self, link_t *link)
{
    if (link->blocked && !(link->revents & (POLLOUT | POLLERR | POLLHUP)))
        return true;
    link->blocked = false;
    const uint8_t *data;
    size_t len;
    while ((len = curvecp_udp_conn_recv_peek (link->conn, &data)) > 0) {
        ssize_t n = send (link->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            self->info.tcp_resets++;
            return false;
        }
        if (n > 0) {
            curvecp_udp_conn_recv (link->conn, NULL, (size_t) n);
            self->info.bytes_out += (uint64_t) n;
        }
        if (n < 0 || (size_t) n < len) {
            link->blocked = true;          /* poll for POLLOUT */
            return true;
        }
    }
    return true;
}

/* -d: the TCP service answered (or refused) our connect. */
static bool
connect_done (curvecp_tunnel_t *self, link_t *link)
{
    if (!(link->revents & (POLLOUT | POLLERR | POLLHUP)))
        return true;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt (link->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        self->info.connect_failed++;
        return false;
    }
    link->connecting = false;
    link->revents |= POLLIN;
    return true;
}

static void
service (curvecp_tunnel_t *self, link_t *link)
{
    if (link->connecting && !connect_done (self, link)) {
        link_abort (self, link);
        return;
    }
    if (link->connecting)
        return;
    if (curvecp_udp_conn_failed (link->conn) || !pump_in (self, link) || !pump_out (self, link)) {
        link_abort (self, link);
        return;
    }
    if (link->blocked || curvecp_udp_conn_readable (link->conn) > 0)
        return;
    curvecp_eof_t eof = curvecp_udp_conn_received_eof (link->conn);
    if (eof == CURVECP_EOF_FAILURE) {
        link_abort (self, link);
        return;
    }
    if (eof == CURVECP_EOF_SUCCESS && !link->tcp_shut) {
        shutdown (link->fd, SHUT_WR);
        link->tcp_shut = true;
    }
    if (link->tcp_shut && link->tcp_eof)
        link_finish (self, link);
}

/* ---- new connections ------------------------------------------------ */

/* -e: each TCP connection gets a CurveCP connection of its own; over the
   limit it is reset at once. */
static void
accept_tcp (curvecp_tunnel_t *self, uint64_t now)
{
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        int fd = accept4 (self->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (self->link_count >= (size_t) self->config.max_connections) {
            self->info.refused++;
            tcp_reset (fd);
            continue;
        }
        int one = 1;
        setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        curvecp_udp_conn_t *conn = curvecp_udp_dialer_connect (self->dialer, now);
        link_t *link = conn ? link_new (self, fd, conn) : NULL;
        if (!link) {
            if (conn)
                curvecp_udp_conn_close (&conn);
            self->info.refused++;
            tcp_reset (fd);
            continue;
        }
        self->info.accepted++;
        link->revents = POLLIN;
    }
}

/* -d: each new CurveCP connection gets a TCP connection to the service. */
static void
accept_curvecp (curvecp_tunnel_t *self)
{
    curvecp_udp_conn_t *conn;
    while ((conn = curvecp_udp_server_accept (self->server))) {
        if (self->link_count >= (size_t) self->config.max_connections) {
            self->refused_links++;
            curvecp_udp_conn_shutdown (conn, CURVECP_EOF_FAILURE);
            curvecp_udp_conn_close (&conn);
            continue;
        }
        self->info.accepted++;
        int fd = tcp_socket (curvecp_udp_addr_family (&self->config.target));
        if (fd >= 0 && connect (fd, (const struct sockaddr *) &self->config.target.sa, self->config.target.len) < 0
        &&  errno != EINPROGRESS) {
            close (fd);
            fd = -1;
        }
        link_t *link = fd >= 0 ? link_new (self, fd, conn) : NULL;
        if (!link) {
            self->info.connect_failed++;
            if (fd >= 0)
                close (fd);
            curvecp_udp_conn_shutdown (conn, CURVECP_EOF_FAILURE);
            curvecp_udp_conn_close (&conn);
            continue;
        }
        link->connecting = true;
        link->revents = POLLOUT;
    }
}

/* ---- the loop --------------------------------------------------------- */

static void
udp_process (curvecp_tunnel_t *self, uint64_t now)
{
    if (self->dialer)
        curvecp_udp_dialer_process (self->dialer, now);
    else
        curvecp_udp_server_process (self->server, now);
}

/* After the links wrote: what is due leaves, without a read that would
   most likely find nothing (the next poll sees any datagram). */
static void
udp_send_due (curvecp_tunnel_t *self, uint64_t now)
{
    if (self->dialer)
        curvecp_udp_dialer_send_due (self->dialer, now);
    else
        curvecp_udp_server_send_due (self->server, now);
}

static int
udp_fd (const curvecp_tunnel_t *self)
{
    return self->dialer ? curvecp_udp_dialer_fd (self->dialer) : curvecp_udp_server_fd (self->server);
}

static uint64_t
udp_deadline (const curvecp_tunnel_t *self)
{
    return self->dialer ? curvecp_udp_dialer_deadline (self->dialer) : curvecp_udp_server_deadline (self->server);
}

static bool
udp_want_write (const curvecp_tunnel_t *self)
{
    return self->dialer ? curvecp_udp_dialer_want_write (self->dialer)
                        : curvecp_udp_server_want_write (self->server);
}

static short
link_events (const link_t *link)
{
    if (link->connecting)
        return POLLOUT;
    short events = 0;
    if (!link->tcp_eof && curvecp_udp_conn_send_space (link->conn) > 0)
        events |= POLLIN;
    if (link->blocked)
        events |= POLLOUT;
    return events;
}

/* The endpoint's last process may have brought a link something (bytes,
   an EOF, a failure) after the link was serviced: no socket will say so. */
static bool
link_has_news (link_t *link)
{
    if (link->connecting || link->blocked)
        return false;
    return curvecp_udp_conn_readable (link->conn) > 0 || curvecp_udp_conn_failed (link->conn)
        || (!link->tcp_shut && curvecp_udp_conn_received_eof (link->conn) != CURVECP_EOF_NONE);
}

static bool
pfd_reserve (curvecp_tunnel_t *self, size_t n)
{
    if (n <= self->pfd_cap)
        return true;
    size_t cap = self->pfd_cap ? self->pfd_cap : 64;
    while (cap < n)
        cap *= 2;
    struct pollfd *pfds = realloc (self->pfds, cap * sizeof *pfds);
    if (pfds)
        self->pfds = pfds;
    link_t **links = realloc (self->pfd_links, cap * sizeof *links);
    if (links)
        self->pfd_links = links;
    if (!pfds || !links)
        return false;
    self->pfd_cap = cap;
    return true;
}

/* The sockets to wait for: 0 the UDP socket, 1 the TCP listener (-e),
   then the links that can do something. Returns the count; *news: a link
   has something to do already (do not sleep). */
static size_t
poll_build (curvecp_tunnel_t *self, bool *news)
{
    *news = false;
    pfd_reserve (self, self->link_count + 2);
    size_t n = 0;
    self->pfds[n++] = (struct pollfd) { .fd = udp_fd (self),
                                        .events = (short) (POLLIN | (udp_want_write (self) ? POLLOUT : 0)) };
    if (self->listen_fd >= 0)
        self->pfds[n++] = (struct pollfd) { .fd = self->listen_fd, .events = POLLIN };
    for (link_t *link = self->links; link && n < self->pfd_cap; link = link->next) {
        link->revents = 0;
        if (link_has_news (link))
            *news = true;
        short events = link_events (link);
        if (!events)
            continue;
        self->pfd_links[n] = link;
        self->pfds[n++] = (struct pollfd) { .fd = link->fd, .events = events };
    }
    return n;
}

void
curvecp_tunnel_step (curvecp_tunnel_t *self, uint64_t max_wait_ns)
{
    bool news;
    size_t n = poll_build (self, &news);
    uint64_t now = curvecp_clock_now ();
    uint64_t deadline = news ? now : udp_deadline (self);
    if (max_wait_ns < UINT64_MAX - now && deadline > now + max_wait_ns)
        deadline = now + max_wait_ns;
    int ready = curvecp_udp_poll (self->pfds, (int) n, deadline);
    size_t first_link = self->listen_fd >= 0 ? 2 : 1;
    for (size_t i = first_link; ready > 0 && i < n; i++)
        self->pfd_links[i]->revents = self->pfds[i].revents;
    bool new_tcp = self->listen_fd >= 0 && ready > 0 && (self->pfds[1].revents & POLLIN);
    bool udp_ready = ready > 0 && self->pfds[0].revents;
    now = curvecp_clock_now ();
    /* woken by a TCP socket with nothing due: no datagram to read */
    if (udp_ready || udp_deadline (self) <= now)
        udp_process (self, now);
    if (self->dialer && new_tcp)
        accept_tcp (self, now);
    if (self->server)
        accept_curvecp (self);
    for (link_t *link = self->links, *next; link; link = next) {
        next = link->next;
        service (self, link);
    }
    if (udp_deadline (self) <= now)     /* what the links wrote leaves now */
        udp_send_due (self, now);
    if (self->server)
        accept_curvecp (self);         /* Initiates that came in just now */
}

/* ---- construction --------------------------------------------------- */

static bool
open_encrypting (curvecp_tunnel_t *self)
{
    self->listen_fd = tcp_listen (&self->config.source);
    if (self->listen_fd < 0)
        return false;
    curvecp_udp_dialer_config_t dc;
    curvecp_udp_dialer_config_default (&dc);
    memcpy (dc.server_pk, self->config.server_pk, CURVECP_KEY_BYTES);
    memcpy (dc.server_ext, self->config.ext, CURVECP_EXT_BYTES);
    dc.server_name = self->name;
    dc.server = self->config.target;
    dc.stream = &self->stream;
    dc.linger_ns = TUNNEL_LINGER_NS;
    dc.keepalive_ns = self->config.keepalive_ns;
    self->dialer = curvecp_udp_dialer_new (&dc);
    return self->dialer != NULL;
}

static bool
open_decrypting (curvecp_tunnel_t *self)
{
    curvecp_udp_server_config_t sc;
    curvecp_udp_server_config_default (&sc);
    sc.keys = &self->keys;
    memcpy (sc.ext, self->config.ext, CURVECP_EXT_BYTES);
    sc.bind = self->config.source;
    /* closed connections linger (2 s) to acknowledge the peer's last
       retransmissions: the server holds them beside the live ones, and
       the limit is counted on links (accept_curvecp) */
    sc.max_connections = 2 * self->config.max_connections + LINGER_ROOM;
    sc.stream = &self->stream;
    sc.linger_ns = TUNNEL_LINGER_NS;
    sc.cookie_nonce = self->config.cookie_nonce;
    sc.cookie_nonce_context = self->config.cookie_nonce_context;
    self->server = curvecp_udp_server_new (&sc);
    if (!self->server)
        return false;
    if (curvecp_udp_server_add_name (self->server, self->name) < 0) {
        errno = EINVAL;
        return false;
    }
    return true;
}

curvecp_tunnel_t *
curvecp_tunnel_new (const curvecp_tunnel_config_t *config)
{
    if (!config->encrypt && !config->keys) {
        errno = EINVAL;
        return NULL;
    }
    curvecp_tunnel_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->config.keys = NULL;
    self->listen_fd = -1;
    if (!self->config.max_connections)
        self->config.max_connections = DEFAULT_MAX;
    if (config->keys)
        self->keys = *config->keys;
    if (config->stream)
        self->stream = *config->stream;
    else
        curvecp_udp_stream_config_default (&self->stream);
    if (!self->stream.ack_delay_ns)
        self->stream.ack_delay_ns = TUNNEL_ACK_DELAY_NS;
    self->name = strdup (config->name ? config->name : CURVECP_TUNNEL_NAME);
    bool ok = self->name && pfd_reserve (self, 2)
           && (config->encrypt ? open_encrypting (self) : open_decrypting (self));
    sodium_memzero (&self->keys, sizeof self->keys);  /* the server holds its own copy */
    if (!ok) {
        int saved = errno;
        curvecp_tunnel_destroy (&self);
        errno = saved;
        return NULL;
    }
    return self;
}

void
curvecp_tunnel_destroy (curvecp_tunnel_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_tunnel_t *self = *self_p;
    while (self->links)
        link_abort (self, self->links);
    /* a last chance for the failure EOFs to leave */
    if (self->dialer || self->server)
        udp_process (self, curvecp_clock_now ());
    curvecp_udp_dialer_destroy (&self->dialer);
    curvecp_udp_server_destroy (&self->server);
    if (self->listen_fd >= 0)
        close (self->listen_fd);
    free (self->pfds);
    free (self->pfd_links);
    free (self->name);
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

void
curvecp_tunnel_local (const curvecp_tunnel_t *self, curvecp_udp_addr_t *addr)
{
    if (self->server) {
        curvecp_udp_server_local (self->server, addr);
        return;
    }
    addr->len = sizeof addr->sa;
    if (getsockname (self->listen_fd, (struct sockaddr *) &addr->sa, &addr->len) < 0)
        addr->len = 0;
}

curvecp_reason_t
curvecp_tunnel_rebind (curvecp_tunnel_t *self)
{
    if (!self->dialer)
        return CURVECP_E_WRONG_STATE;
    return curvecp_udp_dialer_rebind (self->dialer, curvecp_clock_now ());
}

const curvecp_tunnel_info_t *
curvecp_tunnel_info (curvecp_tunnel_t *self)
{
    const curvecp_stats_t *stats = self->dialer ? curvecp_udp_dialer_stats (self->dialer)
                                                : curvecp_udp_server_stats (self->server);
    self->info.datagrams_refused = curvecp_stats_rejected (stats);
    if (self->server) {
        self->info.refused = stats->counts[CURVECP_E_FULL] + self->refused_links;
        self->info.roams = curvecp_udp_server_info (self->server)->roams;
    }
    self->info.keepalives = self->closed_keepalives;
    for (const link_t *link = self->links; link; link = link->next)
        if (link->conn)
            self->info.keepalives += curvecp_udp_conn_info (link->conn)->keepalives;
    return &self->info;
}
