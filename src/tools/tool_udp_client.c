/*  curvecp-client - NaCl's curvecpclient, same arguments, exit codes and
    behaviour, on the curvecp UDP carrier.

    curvecp-client [-q] [-Q] [-v] [-c keydir] [-m] [-e extfile]
                   sname pk ip[,ip...] port ext prog [args...]

    Hellos go to up to 8 address slots in turn (NaCl's schedule and
    shuffle); the first address to answer is the server. Then prog runs:
    without -m with fd 8 (messages in) and fd 9 (messages out), a message
    handler such as curvecpmessage -c; with -m our message layer runs in
    this process and prog reads the server's bytes on fd 6 and writes its
    own on fd 7, as under curvecpmessage -c, with no handler process.
    The client extension is read from /etc/curvecpextension (or -e file)
    before every Hello; a missing file means zeros. ip may be IPv6.

    A failure never looks like a success: when the connection fails (our
    message layer gives up on a silent server, no Cookie after 8 Hellos)
    or the server ends its stream with a failure EOF, prog's input is
    closed and prog gets SIGHUP (a program that does not handle SIGHUP
    dies of it), and we exit 111 with one line on stderr saying what
    happened, whatever prog's own exit code. After prog's clean end a
    detached process keeps our socket a moment (two retransmission
    timeouts, 50 ms to 1 s) to answer the server's retransmitted EOF in
    case our acknowledgement was lost; the tool itself exits at once.

    Exit codes: 0 and the child's others; 100 usage (-h prints the usage
    on stdout, exit 0); 111 fatal (no response from server, connection
    failed, child killed by a signal).                                   */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sodium.h>
#include "curvecp_keys.h"
#include "curvecp_packet.h"
#include "curvecp_safenonce.h"
#include "curvecp_tool.h"
#include "curvecp_known.h"
#include "curvecp_udp_child.h"
#include "curvecp_udp_client.h"
#include "curvecp_udp_socket.h"
#include "udp/curvecp_udp_internal.h"
#include "curvecp_chicago.h"

#define USAGE "curvecp-client: usage: curvecp-client [-q] [-Q] [-v] [-c keydir] [-m] [-e extfile] " \
              "sname pk ip[,ip...] port ext prog [args...]\n" \
              "  -c keydir  long-term client key (default: a fresh one)\n" \
              "  -m         in-process message layer: prog reads the server's bytes on fd 6\n" \
              "             and writes its own on fd 7 (default: prog is a message handler\n" \
              "             on fds 8/9, e.g. curvecpmessage -c)\n" \
              "  -e extfile client extension file (default /etc/curvecpextension)\n" \
              "  -q / -Q / -v  no error messages / error messages / also progress (each Hello)\n" \
              "  -h         this help\n" \
              "If the connection fails (the server stops acknowledging, no Cookie after 8\n" \
              "Hellos) or the server's stream ends in failure, prog's input is closed and\n" \
              "prog gets SIGHUP; we exit 111 with one line on stderr. Exit codes: prog's\n" \
              "own; 100 usage; 111 fatal.\n"
#define LINGER_RTO_TIMES 2                /* answer one or two retransmitted EOFs */
#define LINGER_MIN_NS    50000000ull      /* timer slack and scheduling on a busy host */
#define LINGER_MAX_NS    1000000000ull    /* however slow the path */
#define ADDRS_MAX 1000

static int verbosity = 1;               /* curvecpclient prints errors by default */
static curvecp_udp_child_t *child;

static void
on_message (curvecp_udp_conn_t *conn, const uint8_t *message, size_t len, void *arg)
{
    (void) conn;
    (void) arg;
    if (child)
        curvecp_udp_child_deliver (child, message, len);
}

/* More than 8 addresses: NaCl shuffles them all and uses 8 slots. */
static int
parse_addresses (const char *list, uint16_t port, curvecp_udp_addr_t *slots)
{
    static curvecp_udp_addr_t all[ADDRS_MAX];
    int n = curvecp_udp_addr_parse_list (list, port, all, ADDRS_MAX);
    if (n < 0)
        curvecp_tool_usage_error ("bad server address list: '%s' (ip[,ip...], at most %d)", list, ADDRS_MAX);
    for (int i = 0; i < n && n > CURVECP_UDP_CLIENT_SLOTS; i++) {
        int j = (int) randombytes_uniform ((uint32_t) (n - i)) + i;
        curvecp_udp_addr_t t = all[i];
        all[i] = all[j];
        all[j] = t;
    }
    if (n > CURVECP_UDP_CLIENT_SLOTS)
        n = CURVECP_UDP_CLIENT_SLOTS;
    memcpy (slots, all, (size_t) n * sizeof *slots);
    return n;
}

/* -v: one line per Hello, naming the address it went to. */
static void
say_hellos (curvecp_udp_client_t *client, int *said)
{
    int sent = curvecp_udp_client_hellos (client);
    for (; verbosity > 1 && *said < sent; (*said)++) {
        char text[CURVECP_UDP_ADDR_TEXT];
        curvecp_udp_addr_format (curvecp_udp_client_slot_addr (client, *said), text, sizeof text);
        fprintf (stderr, "curvecp-client: Hello %d of %d to %s\n", *said + 1, CURVECP_UDP_CLIENT_SLOTS, text);
    }
    *said = sent;
}

static void
wait_for_cookie (curvecp_udp_client_t *client)
{
    int said = 0;
    for (;;) {
        uint64_t now = curvecp_clock_now ();
        curvecp_udp_client_state_t state = curvecp_udp_client_state (client, now);
        if (state == CURVECP_UDP_CONNECTED)
            break;
        if (state == CURVECP_UDP_NO_RESPONSE)
            curvecp_tool_fatal ("no response from server: no Cookie after 8 Hellos (no server at that address "
                                "and port, or a wrong server key or extension) (handshake-timeout)");
        struct pollfd fd = { curvecp_udp_client_fd (client), POLLIN, 0 };
        curvecp_udp_poll (&fd, 1, curvecp_udp_client_deadline (client));
        curvecp_udp_client_process (client, curvecp_clock_now ());
        say_hellos (client, &said);
    }
    if (verbosity > 1) {
        char text[CURVECP_UDP_ADDR_TEXT];
        curvecp_udp_addr_format (curvecp_udp_conn_peer (curvecp_udp_client_conn (client)), text, sizeof text);
        fprintf (stderr, "curvecp-client: Cookie from %s\n", text);
    }
}

/* How long to stay after prog's clean end: a retransmission timeout or
   two, so a server whose last EOF went unacknowledged hears us when it
   resends; capped, and short on a fast path. */
static uint64_t
linger_ns (curvecp_udp_conn_t *conn)
{
    const curvecp_stream_t *stream = curvecp_udp_conn_stream (conn);
    if (!stream)
        return 0;                               /* message mode: the handler's business */
    uint64_t rto = curvecp_chicago_rtt_timeout (curvecp_stream_chicago (stream));
    uint64_t ns = LINGER_RTO_TIMES * rto;
    if (ns < LINGER_MIN_NS)
        ns = LINGER_MIN_NS;
    return ns < LINGER_MAX_NS ? ns : LINGER_MAX_NS;
}

/* Answer retransmissions until the linger is over (or the connection
   fails: nothing more to answer). */
static void
linger (curvecp_udp_client_t *client)
{
    curvecp_udp_conn_t *conn = curvecp_udp_client_conn (client);
    uint64_t until = curvecp_clock_now () + linger_ns (conn);
    while (curvecp_clock_now () < until && !curvecp_udp_conn_failed (conn)) {
        struct pollfd fd = { curvecp_udp_client_fd (client),
            (short) (POLLIN | (curvecp_udp_client_want_write (client) ? POLLOUT : 0)), 0 };
        uint64_t deadline = curvecp_udp_client_deadline (client);
        curvecp_udp_poll (&fd, 1, deadline < until ? deadline : until);
        curvecp_udp_client_process (client, curvecp_clock_now ());
        uint8_t sink[4096];
        while (curvecp_udp_conn_recv (conn, sink, sizeof sink) > 0)
            ;
    }
}

/* Like TCP's TIME-WAIT, the linger needs nobody to wait for it: a
   detached child keeps the socket (and nothing else: no terminal, no
   pipe a caller reads to its end) and answers a resent EOF, while the
   tool exits at once with its status. If it cannot fork, it lingers
   here. */
/* Close every descriptor from 3 on but keep: close_range where the
   kernel has it (two system calls instead of one per possible
   descriptor: 65536 closes cost the client's linger some milliseconds
   of CPU on every run). */
static void
close_all_but (int keep)
{
#ifdef SYS_close_range
    if (keep >= 3
    &&  (keep == 3 || syscall (SYS_close_range, 3u, (unsigned) keep - 1, 0u) == 0)
    &&  syscall (SYS_close_range, (unsigned) keep + 1, ~0u, 0u) == 0)
        return;
#endif
    long max = sysconf (_SC_OPEN_MAX);
    for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
        if (fd != keep)
            close (fd);
}

static void
linger_detached (curvecp_udp_client_t *client)
{
    if (linger_ns (curvecp_udp_client_conn (client)) == 0)
        return;
    fflush (NULL);
    pid_t pid = fork ();
    if (pid < 0)
        linger (client);
    if (pid != 0)
        return;
    setsid ();
    int keep = curvecp_udp_client_fd (client);
    int null = open ("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; fd++)
        if (null >= 0 && fd != null)
            dup2 (null, fd);
    close_all_but (keep);
    linger (client);
    _exit (0);
}

static void
run (curvecp_udp_client_t *client)
{
    curvecp_udp_conn_t *conn = curvecp_udp_client_conn (client);
    bool raised = false;
    while (!curvecp_udp_child_finished (child)) {
        struct pollfd fds[3];
        fds[0] = (struct pollfd) { curvecp_udp_client_fd (client),
            (short) (POLLIN | (curvecp_udp_client_want_write (client) ? POLLOUT : 0)), 0 };
        int n = 1 + curvecp_udp_child_poll (child, fds + 1);
        curvecp_udp_poll (fds, n, curvecp_udp_client_deadline (client));
        curvecp_udp_client_process (client, curvecp_clock_now ());
        if (!raised && curvecp_udp_conn_established (conn)) {
            curvecp_udp_child_set_input_max (child, CURVECP_MSG_MAX);
            raised = true;
        }
        curvecp_udp_child_service (child);
    }
    curvecp_udp_client_process (client, curvecp_clock_now ());   /* last acknowledgments out */
}

/* The server key argument: 64 hex digits, a key directory, a zcert
   file, or a known server's name (curvecp_known.h); an explicit key is
   checked against, or recorded under, the server name. A name nobody
   knows is a usage error (100); a key other than the recorded one is
   refused (111). */
/* The key service speaks ØMQ, so asking it needs libcurvecp-zmq and,
   through it, czmq and libzmq: some 25 shared libraries that cost every
   start about 2 ms of dynamic linking (measured: 2.9 ms against 0.8 ms
   for a start without them) though most starts never ask the service.
   So they are loaded here, on the first question, not at exec time. */
static void *
keyd_symbol (void *library, const char *symbol)
{
    void *address = dlsym (library, symbol);
    if (!address && verbosity > 0)
        fprintf (stderr, "curvecp-client: key service unavailable: %s\n", dlerror ());
    return address;
}

/* libcurvecp-zmq beside this executable (the build tree): dlopen by
   soname alone misses it under AddressSanitizer, whose dlopen interceptor
   makes libasan the caller, so this program's RUNPATH is not searched. */
static void *
open_beside_executable (void)
{
    char path[4096];
    ssize_t len = readlink ("/proc/self/exe", path, sizeof path - 1);
    if (len <= 0)
        return NULL;
    path[len] = 0;
    char *slash = strrchr (path, '/');
    size_t room = sizeof path - (size_t) (slash ? slash + 1 - path : 0);
    if (!slash || strlen (CURVECP_ZMQ_SONAME) >= room)
        return NULL;
    strcpy (slash + 1, CURVECP_ZMQ_SONAME);
    return dlopen (path, RTLD_NOW | RTLD_LOCAL);
}

static int
keyd_lookup_lazy (const char *keyd_spec, const uint8_t admin_key[32], const char *name,
        uint8_t key[CURVECP_KEY_BYTES], int timeout_ms)
{
    static void *library;
    if (!library)
        library = dlopen (CURVECP_ZMQ_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!library)
        library = open_beside_executable ();
    if (!library)
        library = dlopen (CURVECP_ZMQ_INSTALLED, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        if (verbosity > 0)
            fprintf (stderr, "curvecp-client: key service unavailable: %s\n", dlerror ());
        return -1;
    }
    void *handler_set_address = keyd_symbol (library, "zsys_handler_set");
    void *lookup_address = keyd_symbol (library, "curvecp_keyd_lookup");
    if (!handler_set_address || !lookup_address)
        return -1;
    void (*handler_set) (void *);
    curvecp_known_keyd_fn *lookup;
    memcpy (&handler_set, &handler_set_address, sizeof handler_set);
    memcpy (&lookup, &lookup_address, sizeof lookup);
    handler_set (NULL);                 /* (asking a key service starts czmq) signals stay ours */
    return lookup (keyd_spec, admin_key, name, key, timeout_ms);
}

static void
server_key (const char *arg, const char *name, uint8_t key[CURVECP_KEY_BYTES])
{
    char error[1024];
    curvecp_known_set_keyd (keyd_lookup_lazy);
    curvecp_known_result_t result = curvecp_known_server_key (arg, name, key, error, sizeof error);
    if (result == CURVECP_KNOWN_UNKNOWN || result == CURVECP_KNOWN_BAD_KEY)
        curvecp_tool_usage_error ("bad server key: '%s' (64 hex digits), and not a known server: %s", arg, error);
    if (result == CURVECP_KNOWN_RECORDED && verbosity > 0)
        fprintf (stderr, "curvecp-client: recorded the key of %s in %s\n", name, curvecp_known_file ());
    if (result != CURVECP_KNOWN_OK && result != CURVECP_KNOWN_RECORDED)
        curvecp_tool_fatal ("%s", error);
}

int
main (int argc, char **argv)
{
    const char *keydir = NULL, *ext_path = NULL;
    bool in_process = false;
    int opt;
    curvecp_tool_start ("curvecp-client", USAGE, "qQvc:me:", argc, argv);
    while ((opt = getopt (argc, argv, curvecp_tool_optstring ())) != -1) {
        switch (opt) {
            case 'q': verbosity = 0; break;
            case 'Q': verbosity = 1; break;
            case 'v': verbosity = 2; break;
            case 'c': keydir = optarg; break;
            case 'm': in_process = true; break;
            case 'e': ext_path = optarg; break;
            default: curvecp_tool_bad_option ();
        }
    }
    curvecp_tool_set_quiet (verbosity == 0);
    if (optind < argc && strcmp (argv[optind], "-") == 0)
        optind++;
    if (argc - optind < 6)
        curvecp_tool_usage_error ("%d of the 6 arguments sname pk ip port ext prog", argc - optind);
    char **arg = argv + optind;
    if (sodium_init () < 0)
        curvecp_tool_fatal ("libsodium");
    curvecp_udp_client_config_t config;
    curvecp_udp_client_config_default (&config);
    uint8_t name_check[CURVECP_NAME_BYTES];
    uint16_t port;
    if (curvecp_name_encode (arg[0], name_check) != CURVECP_OK)
        curvecp_tool_usage_error ("bad server name: '%s' (dotted labels of 1..63 bytes)", arg[0]);
    server_key (arg[1], arg[0], config.server_pk);
    if (curvecp_udp_port_parse (arg[3], &port) != CURVECP_OK)
        curvecp_tool_usage_error ("bad port: '%s' (0..65535)", arg[3]);
    if (curvecp_udp_ext_parse (arg[4], config.server_ext) != CURVECP_OK)
        curvecp_tool_usage_error ("bad server extension: '%s' (32 hex digits)", arg[4]);
    curvecp_stream_config_t stream;
    curvecp_udp_stream_config_default (&stream);
    stream.give_up_ns = curvecp_tool_give_up_ns (stream.give_up_ns);
    config.stream = &stream;
    config.addr_count = parse_addresses (arg[2], port, config.addrs);
    config.server_name = arg[0];
    config.ext_path = ext_path;

    curvecp_udp_reserve_low_fds ();
    signal (SIGPIPE, SIG_IGN);
    curvecp_keypair_t keys;
    curvecp_safenonce_t *nonces = NULL;
    if (keydir) {
        if (curvecp_keydir_load (keydir, &keys) != CURVECP_OK)
            curvecp_tool_fatal_errno ("unable to read key directory");
        nonces = curvecp_safenonce_new (keydir, CURVECP_SAFENONCE_CLIENT);
        if (!nonces)
            curvecp_tool_fatal_errno ("unable to open the key directory's nonce counter");
        config.long_term = &keys;
        config.vouch_nonce = curvecp_safenonce_next;
        config.vouch_nonce_context = nonces;
    }
    if (!in_process)
        config.on_message = on_message;
    curvecp_udp_client_t *client = curvecp_udp_client_new (&config, curvecp_clock_now ());
    if (keydir)
        curvecp_keypair_wipe (&keys);
    if (!client)
        curvecp_tool_fatal_errno ("unable to create UDP socket");
    wait_for_cookie (client);
    curvecp_udp_conn_t *conn = curvecp_udp_client_conn (client);
    if (in_process)
        child = curvecp_udp_child_new (CURVECP_CHILD_STREAM, conn, 6, 7, arg + 5);
    else {
        child = curvecp_udp_child_new (CURVECP_CHILD_FRAMES, conn, 8, 9, arg + 5);
        if (child)
            curvecp_udp_child_set_input_max (child, CURVECP_INITIATE_MSG_MAX);
    }
    if (!child)
        curvecp_tool_fatal_errno ("unable to fork");
    run (client);
    int status = curvecp_udp_child_reap (child, true);
    int killed_by = curvecp_udp_child_signal (child);
    bool failed = curvecp_udp_child_failed (child);
    if (failed && verbosity > 0)
        fprintf (stderr, "curvecp-client: fatal: %s\n", curvecp_udp_child_failure (child));
    if (!failed)
        linger_detached (client);
    curvecp_udp_child_destroy (&child);
    curvecp_udp_client_destroy (&client);
    curvecp_safenonce_destroy (&nonces);
    if (failed)
        return CURVECP_TOOL_EXIT_FATAL;
    if (killed_by && verbosity > 0)
        fprintf (stderr, "curvecp-client: fatal: process killed by signal %d\n", killed_by);
    return status;
}
