/*  curvecp-gateway - CurveCP's extension gateway: one public UDP address
    in front of many local CurveCP servers, each with its own long-term
    key, chosen by the 16-byte server extension of each client packet.

    Usage: curvecp-gateway [-v] [-f maxflows] [-i idleseconds] host port routes

    It holds no key. A flow per client connection (server extension,
    client extension, C') has its own UDP socket towards the server, so
    the server's packets on that socket go back, from the public socket,
    to the client's current address (curvecp_gateway.h has the rules).
    The routes file is re-read when it changes; a bad one keeps the
    routes in force and says why. SIGUSR1 prints the counters; SIGTERM
    and SIGINT print them and exit 0.                                    */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "curvecp_clock.h"
#include "curvecp_gateway.h"
#include "curvecp_tool.h"
#include "curvecp_udp_socket.h"

#define USAGE "curvecp-gateway: usage: curvecp-gateway [-v] [-f maxflows] [-i idleseconds] host port routes\n" \
    "  host port  the public UDP address clients send to (IPv4 or IPv6)\n" \
    "  routes     a file of lines 'EXTHEX HOST PORT': a server extension (32 hex\n" \
    "             digits) and the local server it goes to; '#' starts a comment;\n" \
    "             re-read when it changes (a bad file keeps the old routes)\n" \
    "  -f n       at most n client flows (default 1000); a new flow beyond that\n" \
    "             evicts the least recently used one\n" \
    "  -i s       a flow idle for s seconds ends (default 180)\n" \
    "  -v         log flows (opened, moved, expired, evicted) and route reloads,\n" \
    "             and the counters every 10 seconds when they change\n" \
    "  -h         this help\n" \
    "SIGUSR1 prints the counters on stderr; SIGTERM or SIGINT prints them and exits 0.\n" \
    "Exit codes: 0 after a signal; 100 usage; 111 fatal (bind, routes file at start,\n" \
    "too few descriptors for -f).\n"

#define PUBLIC_TAG       UINT64_MAX
#define ROUTES_CHECK_NS  (200ull * 1000000ull)
#define REPORT_NS        (10ull * 1000000000ull)
#define DRAIN_ROUNDS     8

typedef struct {
    curvecp_gateway_t *gateway;
    curvecp_udp_socket_t *public_socket;
    int *flow_fds;                    /* per slot; -1 = none */
    int epoll_fd;
    const char *routes_path;
    struct stat routes_seen;          /* the file as last read (or tried) */
    uint64_t next_routes_check, next_report;
    curvecp_gateway_info_t reported;
    uint64_t socket_failures;
    bool verbose;
} gateway_tool_t;

static volatile sig_atomic_t got_usr1, got_stop;

static void on_usr1 (int sig) { (void) sig; got_usr1 = 1; }
static void on_stop (int sig) { (void) sig; got_stop = 1; }

static void
print_counters (gateway_tool_t *tool)
{
    fprintf (stderr, "curvecp-gateway: ");
    curvecp_gateway_print_info (tool->gateway, stderr);
    if (tool->socket_failures)
        fprintf (stderr, "curvecp-gateway: %llu flow sockets could not be opened\n",
                 (unsigned long long) tool->socket_failures);
    tool->reported = *curvecp_gateway_info (tool->gateway);
}

/* ---- routes ------------------------------------------------------------ */

static bool
same_file (const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size
        && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Load the routes if the file changed since the last try. At start a bad
   file is fatal; later it keeps the routes in force. */
static void
check_routes (gateway_tool_t *tool, bool starting)
{
    struct stat now_stat;
    if (stat (tool->routes_path, &now_stat) != 0)
        memset (&now_stat, 0, sizeof now_stat);
    if (!starting && same_file (&now_stat, &tool->routes_seen))
        return;
    tool->routes_seen = now_stat;
    char error[CURVECP_GATEWAY_ERROR_TEXT];
    curvecp_gateway_routes_t *routes = curvecp_gateway_routes_load (tool->routes_path, error, sizeof error);
    if (!routes && starting)
        curvecp_tool_fatal ("routes file %s: %s", tool->routes_path, error);
    if (!routes) {
        fprintf (stderr, "curvecp-gateway: routes file %s refused (%s): keeping the %zu routes in force\n",
                 tool->routes_path, error, curvecp_gateway_routes_count (curvecp_gateway_routes (tool->gateway)));
        return;
    }
    size_t count = curvecp_gateway_routes_count (routes);
    curvecp_gateway_set_routes (tool->gateway, &routes);
    if (tool->verbose || !starting)
        fprintf (stderr, "curvecp-gateway: %s %zu routes from %s\n", starting ? "loaded" : "reloaded",
                 count, tool->routes_path);
}

/* ---- flow sockets ---------------------------------------------------------- */

static void
close_flow_socket (void *ctx, int slot)
{
    gateway_tool_t *tool = ctx;
    if (tool->flow_fds[slot] >= 0)
        close (tool->flow_fds[slot]);     /* leaves the epoll set with it */
    tool->flow_fds[slot] = -1;
}

static void
on_expired (void *ctx, int slot)
{
    gateway_tool_t *tool = ctx;
    if (tool->verbose)
        fprintf (stderr, "curvecp-gateway: flow %d expired\n", slot);
    close_flow_socket (ctx, slot);
}

static bool
open_flow_socket (gateway_tool_t *tool, int slot, const curvecp_udp_addr_t *server)
{
    close_flow_socket (tool, slot);
    int fd = socket (curvecp_udp_addr_family (server), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct epoll_event event = { .events = EPOLLIN, .data.u64 = (uint64_t) slot };
    if (epoll_ctl (tool->epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
        close (fd);
        return false;
    }
    tool->flow_fds[slot] = fd;
    return true;
}

static void
log_flow (gateway_tool_t *tool, const char *what, int slot, const curvecp_gateway_forward_t *forward)
{
    char client[CURVECP_UDP_ADDR_TEXT], server[CURVECP_UDP_ADDR_TEXT];
    curvecp_udp_addr_format (curvecp_gateway_flow_client (tool->gateway, slot), client, sizeof client);
    curvecp_udp_addr_format (forward->server, server, sizeof server);
    fprintf (stderr, "curvecp-gateway: flow %d %s: client %s, server %s\n", slot, what, client, server);
}

/* ---- datagrams --------------------------------------------------------- */

static void
from_client (gateway_tool_t *tool, const uint8_t *packet, size_t len, const curvecp_udp_addr_t *from,
        uint64_t now)
{
    curvecp_gateway_forward_t forward;
    uint64_t evicted = curvecp_gateway_info (tool->gateway)->flows_evicted;
    if (curvecp_gateway_from_client (tool->gateway, packet, len, from, now, &forward) != CURVECP_OK)
        return;
    //  a new flow, or one whose socket could not be opened before
    if (forward.fresh || tool->flow_fds[forward.slot] < 0) {
        if (tool->verbose && forward.fresh)
            log_flow (tool, forward.rerouted ? "rerouted"
                      : curvecp_gateway_info (tool->gateway)->flows_evicted > evicted
                      ? "opened (evicting the least recently used)" : "opened", forward.slot, &forward);
        if (!open_flow_socket (tool, forward.slot, forward.server)) {
            tool->socket_failures++;
            return;
        }
    }
    else
    if (forward.moved && tool->verbose)
        log_flow (tool, "moved", forward.slot, &forward);
    sendto (tool->flow_fds[forward.slot], packet, len, 0,
            (const struct sockaddr *) &forward.server->sa, forward.server->len);
}

static void
drain_public (gateway_tool_t *tool, uint64_t now)
{
    for (int round = 0; round < DRAIN_ROUNDS; round++) {
        int count = curvecp_udp_socket_receive (tool->public_socket);
        for (int i = 0; i < count; i++) {
            size_t len;
            const curvecp_udp_addr_t *from;
            const uint8_t *packet = curvecp_udp_socket_datagram (tool->public_socket, i, &len, &from);
            from_client (tool, packet, len, from, now);
        }
        if (count < CURVECP_UDP_BATCH)
            break;
    }
}

static void
drain_flow (gateway_tool_t *tool, int slot, uint64_t now)
{
    uint8_t packet[CURVECP_UDP_DGRAM];
    for (int i = 0; i < CURVECP_UDP_BATCH && tool->flow_fds[slot] >= 0; i++) {
        curvecp_udp_addr_t from = { .len = sizeof from.sa };
        ssize_t got = recvfrom (tool->flow_fds[slot], packet, sizeof packet, MSG_TRUNC,
                                (struct sockaddr *) &from.sa, &from.len);
        if (got < 0)
            break;
        const curvecp_udp_addr_t *client;
        if (curvecp_gateway_from_server (tool->gateway, slot, packet, (size_t) got, &from, now, &client)
                != CURVECP_OK)
            continue;
        uint8_t *slot_bytes = curvecp_udp_socket_slot (tool->public_socket);
        if (!slot_bytes)
            continue;                     /* kernel full: dropped, the sender resends */
        memcpy (slot_bytes, packet, (size_t) got);
        curvecp_udp_socket_commit (tool->public_socket, (size_t) got, client);
    }
}

/* ---- the loop ---------------------------------------------------------- */

static int
timeout_ms (uint64_t deadline, uint64_t now)
{
    if (deadline <= now)
        return 0;
    uint64_t ms = (deadline - now + 999999) / 1000000;
    return ms > 60000 ? 60000 : (int) ms;
}

static void
housekeeping (gateway_tool_t *tool, uint64_t now)
{
    if (now >= tool->next_routes_check) {
        check_routes (tool, false);
        tool->next_routes_check = now + ROUTES_CHECK_NS;
    }
    if (got_usr1) {
        got_usr1 = 0;
        print_counters (tool);
    }
    if (tool->verbose && now >= tool->next_report) {
        if (memcmp (&tool->reported, curvecp_gateway_info (tool->gateway), sizeof tool->reported) != 0)
            print_counters (tool);
        tool->next_report = now + REPORT_NS;
    }
}

static void
run (gateway_tool_t *tool)
{
    sigset_t waiting;
    sigemptyset (&waiting);
    struct epoll_event events[64];
    while (!got_stop) {
        uint64_t now = curvecp_clock_now ();
        housekeeping (tool, now);
        uint64_t deadline = curvecp_gateway_expire (tool->gateway, now, on_expired, tool);
        if (deadline > tool->next_routes_check)
            deadline = tool->next_routes_check;
        int wait = curvecp_udp_socket_pending (tool->public_socket) ? 0 : timeout_ms (deadline, now);
        int count = epoll_pwait (tool->epoll_fd, events, 64, wait, &waiting);
        now = curvecp_clock_now ();
        for (int i = 0; i < count; i++) {
            if (events[i].data.u64 == PUBLIC_TAG)
                drain_public (tool, now);
            else
                drain_flow (tool, (int) events[i].data.u64, now);
        }
        curvecp_udp_socket_flush (tool->public_socket);
    }
    print_counters (tool);
}

/* Signals are blocked except while waiting, so none is missed. */
static void
catch_signals (void)
{
    sigset_t blocked;
    sigemptyset (&blocked);
    sigaddset (&blocked, SIGUSR1);
    sigaddset (&blocked, SIGTERM);
    sigaddset (&blocked, SIGINT);
    sigprocmask (SIG_BLOCK, &blocked, NULL);
    struct sigaction action = { .sa_handler = on_usr1 };
    sigaction (SIGUSR1, &action, NULL);
    action.sa_handler = on_stop;
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);
}

/* Every flow has a socket: make sure the descriptors are there. */
static void
reserve_descriptors (size_t flows)
{
    struct rlimit limit;
    rlim_t need = (rlim_t) flows + 32;
    if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
        return;
    if (limit.rlim_cur < need) {
        limit.rlim_cur = limit.rlim_max < need ? limit.rlim_max : need;
        setrlimit (RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_cur < need)
        curvecp_tool_fatal ("%zu flows need %llu descriptors, the limit is %llu",
                            flows, (unsigned long long) need, (unsigned long long) limit.rlim_cur);
}

static uint64_t
parse_number (const char *text, uint64_t max, const char *what)
{
    uint64_t value;
    if (!curvecp_tool_number (text, 1, max, &value))
        curvecp_tool_usage_error ("bad %s: '%s' (1..%llu)", what, text, (unsigned long long) max);
    return value;
}

int
main (int argc, char **argv)
{
    curvecp_tool_start ("curvecp-gateway", USAGE, "vf:i:", argc, argv);
    gateway_tool_t tool = { .epoll_fd = -1 };
    size_t max_flows = CURVECP_GATEWAY_FLOWS_DEFAULT;
    uint64_t idle_ns = CURVECP_GATEWAY_IDLE_DEFAULT;
    int opt;
    while ((opt = getopt (argc, argv, curvecp_tool_optstring ())) != -1) {
        switch (opt) {
            case 'v': tool.verbose = true; break;
            case 'f': max_flows = parse_number (optarg, CURVECP_GATEWAY_FLOWS_LIMIT, "flow limit"); break;
            case 'i': idle_ns = parse_number (optarg, 86400, "idle time") * 1000000000ull; break;
            default: curvecp_tool_bad_option ();
        }
    }
    if (optind < argc && strcmp (argv[optind], "-") == 0)
        optind++;
    if (argc - optind != 3)
        curvecp_tool_usage_error ("%d of the 3 arguments host port routes", argc - optind);
    char **arg = argv + optind;
    uint16_t port;
    curvecp_udp_addr_t bind_addr;
    if (curvecp_udp_port_parse (arg[1], &port) != CURVECP_OK)
        curvecp_tool_usage_error ("bad port: '%s' (0..65535)", arg[1]);
    if (curvecp_udp_addr_parse (arg[0], port, &bind_addr) != CURVECP_OK)
        curvecp_tool_usage_error ("bad address: '%s' (an IPv4 or IPv6 address)", arg[0]);
    tool.routes_path = arg[2];

    signal (SIGPIPE, SIG_IGN);
    catch_signals ();
    reserve_descriptors (max_flows);
    tool.gateway = curvecp_gateway_new (max_flows, idle_ns);
    tool.flow_fds = malloc (max_flows * sizeof *tool.flow_fds);
    if (!tool.gateway || !tool.flow_fds)
        curvecp_tool_fatal_errno ("out of memory");
    for (size_t i = 0; i < max_flows; i++)
        tool.flow_fds[i] = -1;
    check_routes (&tool, true);
    errno = 0;
    tool.public_socket = curvecp_udp_socket_new (curvecp_udp_addr_family (&bind_addr), &bind_addr);
    if (!tool.public_socket) {
        char what[256];
        snprintf (what, sizeof what, "unable to bind UDP port %s on %s", arg[1], arg[0]);
        curvecp_tool_fatal_errno (what);
    }
    tool.epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
    struct epoll_event event = { .events = EPOLLIN, .data.u64 = PUBLIC_TAG };
    if (tool.epoll_fd < 0
    ||  epoll_ctl (tool.epoll_fd, EPOLL_CTL_ADD, curvecp_udp_socket_fd (tool.public_socket), &event) != 0)
        curvecp_tool_fatal_errno ("epoll");
    uint64_t now = curvecp_clock_now ();
    tool.next_routes_check = now + ROUTES_CHECK_NS;
    tool.next_report = now + REPORT_NS;
    run (&tool);
    for (size_t i = 0; i < max_flows; i++)
        close_flow_socket (&tool, (int) i);
    close (tool.epoll_fd);
    curvecp_udp_socket_destroy (&tool.public_socket);
    curvecp_gateway_destroy (&tool.gateway);
    free (tool.flow_fds);
    return 0;
}
