/*  curvecp-server - NaCl's curvecpserver, same arguments, exit codes and
    behaviour, on the curvecp UDP carrier (batched I/O, connections found
    by C', roaming clients followed).

    curvecp-server [-q] [-Q] [-v] [-c n] [-w n] [-m] [-H name=command]...
                   sname keydir ip port ext prog [args...]

    Without -m, each connection gets its own prog with fd 8 (messages
    from the network) and fd 9 (messages to it), framed as NaCl frames
    them; prog is a message handler such as curvecpmessage or
    curvecp-message. With -m our message layer runs in this process and
    prog gets the client's byte stream on stdin and stdout (no message
    handler process). -H adds a virtual host: Initiates for name run
    "sh -c command" instead of prog. ip may be IPv6.

    -w n: n worker threads share the port (curvecp_udp_server_new_worker:
    the kernel steers each packet to its connection's worker by C'), each
    with its own connections and their children, so Hellos, Initiates and
    the packets of different connections use n cores; -c is split among
    them. Children are started and served by their connection's worker.

    A failed connection (our message layer gives up on a silent client,
    or the client's stream ends with a failure EOF) is never an ordinary
    end for prog (-m): its input is closed and it gets SIGHUP (a program
    that does not handle SIGHUP dies of it); -Q or -v also print a line.

    Exit codes: 100 usage (-h prints the usage on stdout, exit 0), 111
    fatal. Quiet by default as curvecpserver, except that a failure to
    start (no key directory, port taken) always says why unless -q.

    -K KEYDKEY@ENDPOINT with -A ADMINKEY makes a replica of the key
    service's signed set (curvecp_keys_replica.h) the live allow-list:
    only clients whose key is in it and not revoked get a connection; -S
    FILE keeps the replica's last signed set (it is served from there when
    the service cannot be reached).                                      */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "curvecp_keys.h"
#include "curvecp_keyd.h"
#include <czmq.h>
#include "curvecp_keys_replica.h"
#include "curvecp_adminkey.h"
#include "curvecp_packet.h"
#include "curvecp_keys.h"
#include "curvecp_safenonce.h"
#include "curvecp_tool.h"
#include "curvecp_udp_child.h"
#include "curvecp_udp_server.h"
#include "curvecp_udp_socket.h"
#include "udp/curvecp_udp_internal.h"

#define USAGE "curvecp-server: usage: curvecp-server [-q] [-Q] [-v] [-c n] [-w n] [-m] [-H name=command] " \
              "[-K keydkey@endpoint -A adminkey [-S file]] " \
              "sname keydir ip port ext prog [args...]\n" \
              "  -c n   at most n connections at once (1..65535, default 100)\n" \
              "  -w n   n worker threads on n cores share the port (1..64, default 1)\n" \
              "  -m     in-process message layer: prog gets the byte stream on stdin/stdout\n" \
              "         (default: prog is a message handler on fds 8/9, e.g. curvecpmessage)\n" \
              "  -H name=command  virtual host: clients asking for name get sh -c command\n" \
              "  -K keydkey@endpoint  serve only clients in the key service's signed set\n" \
              "         (curvecp-keyd: its public key in hex, @, its ØMQ endpoint); needs -A\n" \
              "  -A adminkey  the key service administrator's public key (hex or a file)\n" \
              "  -S file  keep the key set here (served from it while the service is away)\n" \
              "  -q / -Q / -v     quiet (not even start-up errors) / errors / also progress\n" \
              "  -h     this help\n" \
              "With -m, if a connection fails (the client stops acknowledging) or the\n" \
              "client's stream ends in failure, prog's input is closed and prog gets SIGHUP.\n" \
              "Exit codes: 100 usage; 111 fatal (key directory unreadable, port taken).\n"
#define HOSTS_MAX 16
#define WORKERS_MAX 64

typedef struct {
    curvecp_udp_child_t *child;
    curvecp_udp_conn_t *conn;
} slot_t;

typedef struct {
    bool verbose;
    bool in_process;
    char *const *argv[HOSTS_MAX];       /* program per name index */
    char *host_argv[HOSTS_MAX][4];
    slot_t **slots;
    int count, max;
    curvecp_udp_server_t *server;       /* this worker's */
    pthread_t thread;
} server_tool_t;

static int verbosity = 0;               /* curvecpserver: quiet unless -Q or -v */
static bool quiet = false;              /* -q: not even a failure to start */

/* -Q / -v: a connection that failed says so (prog was told by SIGHUP). */
static void
say_failed (const slot_t *slot)
{
    if (verbosity < 1 || !curvecp_udp_child_failed (slot->child))
        return;
    char text[CURVECP_UDP_ADDR_TEXT];
    curvecp_udp_addr_format (curvecp_udp_conn_peer (slot->conn), text, sizeof text);
    fprintf (stderr, "curvecp-server: connection from %s failed: %s\n", text, curvecp_udp_child_failure (slot->child));
}

static void
on_connect (curvecp_udp_conn_t *conn, void *arg)
{
    server_tool_t *tool = arg;
    slot_t *slot = calloc (1, sizeof *slot);
    int index = curvecp_udp_conn_name_index (conn);
    if (slot && tool->in_process)
        slot->child = curvecp_udp_child_new (CURVECP_CHILD_STREAM, conn, 0, 1, tool->argv[index]);
    else
    if (slot)
        slot->child = curvecp_udp_child_new (CURVECP_CHILD_FRAMES, conn, 8, 9, tool->argv[index]);
    if (!slot || !slot->child) {
        free (slot);
        curvecp_udp_conn_close (&conn);  /* no process: forget the client, as NaCl does */
        return;
    }
    slot->conn = conn;
    curvecp_udp_conn_set_user (conn, slot);
    tool->slots[tool->count++] = slot;
}

static void
on_message (curvecp_udp_conn_t *conn, const uint8_t *message, size_t len, void *arg)
{
    (void) arg;
    slot_t *slot = curvecp_udp_conn_user (conn);
    if (slot)
        curvecp_udp_child_deliver (slot->child, message, len);
}

static void
end_slot (server_tool_t *tool, int i)
{
    slot_t *slot = tool->slots[i];
    say_failed (slot);
    curvecp_udp_conn_set_user (slot->conn, NULL);
    curvecp_udp_conn_close (&slot->conn);
    curvecp_udp_child_destroy (&slot->child);
    free (slot);
    tool->slots[i] = tool->slots[--tool->count];
}

static void
service_children (server_tool_t *tool)
{
    for (int i = 0; i < tool->count; ) {
        curvecp_udp_child_service (tool->slots[i]->child);
        if (curvecp_udp_child_finished (tool->slots[i]->child))
            end_slot (tool, i);
        else
            i++;
    }
}

static void
run (curvecp_udp_server_t *server, server_tool_t *tool)
{
    struct pollfd *fds = calloc ((size_t) (1 + 2 * tool->max), sizeof *fds);
    if (!fds)
        curvecp_tool_fatal_errno ("out of memory");
    for (;;) {
        int n = 0;
        fds[n++] = (struct pollfd) { curvecp_udp_server_fd (server),
            (short) (POLLIN | (curvecp_udp_server_want_write (server) ? POLLOUT : 0)), 0 };
        for (int i = 0; i < tool->count; i++)
            n += curvecp_udp_child_poll (tool->slots[i]->child, fds + n);
        curvecp_udp_poll (fds, n, curvecp_udp_server_deadline (server));
        curvecp_udp_server_process (server, curvecp_clock_now ());
        service_children (tool);
    }
}

static int
parse_max (const char *text)
{
    uint64_t n;
    if (!curvecp_tool_number (text, 1, 65535, &n))
        curvecp_tool_usage_error ("bad connection limit: -c '%s' (1..65535)", text);
    return (int) n;
}

static int
parse_workers (const char *text)
{
    uint64_t n;
    if (!curvecp_tool_number (text, 1, WORKERS_MAX, &n))
        curvecp_tool_usage_error ("bad worker count: -w '%s' (1..%d)", text, WORKERS_MAX);
    return (int) n;
}

/* Split each -H name=command once (the specs are shared by every worker). */
static void
split_hosts (char **hosts, int count, char **commands)
{
    for (int i = 0; i < count; i++) {
        char *eq = strchr (hosts[i], '=');
        if (!eq)
            curvecp_tool_usage_error ("bad virtual host: -H '%s' (name=command)", hosts[i]);
        *eq = 0;
        commands[i] = eq + 1;
    }
}

static void
add_host (server_tool_t *tool, const char *name, char *command)
{
    int index = curvecp_udp_server_add_name (tool->server, name);
    if (index < 0 || index >= HOSTS_MAX)
        curvecp_tool_usage_error ("bad virtual host name: -H '%s' (dotted labels of 1..63 bytes)", name);
    tool->host_argv[index][0] = (char *) "sh";
    tool->host_argv[index][1] = (char *) "-c";
    tool->host_argv[index][2] = command;
    tool->argv[index] = tool->host_argv[index];
}

/* Cookie nonces come from the key directory's counter, one worker at a time. */
static pthread_mutex_t nonce_lock = PTHREAD_MUTEX_INITIALIZER;

static curvecp_reason_t
locked_nonce (void *context, uint8_t nonce16[CURVECP_NONCE16_BYTES])
{
    pthread_mutex_lock (&nonce_lock);
    curvecp_reason_t rc = curvecp_safenonce_next (context, nonce16);
    pthread_mutex_unlock (&nonce_lock);
    return rc;
}

/* Worker i's server and connection slots (of at most tool->max). */
static void
start_worker (server_tool_t *tools, int i, int workers, curvecp_udp_server_config_t *config)
{
    server_tool_t *tool = &tools[i];
    tool->slots = calloc ((size_t) tool->max, sizeof *tool->slots);
    if (!tool->slots)
        curvecp_tool_fatal_errno ("out of memory");
    config->max_connections = tool->max;
    config->on_connect_arg = tool;
    config->on_message_arg = tool;
    tool->server = workers == 1 ? curvecp_udp_server_new (config)
                                : curvecp_udp_server_new_worker (config, i ? tools[0].server : NULL, workers);
}

static void *
worker_main (void *arg)
{
    server_tool_t *tool = arg;
    run (tool->server, tool);
    return NULL;
}

int
main (int argc, char **argv)
{
    server_tool_t tool = { .max = 100 };
    char *hosts[HOSTS_MAX], *commands[HOSTS_MAX];
    int host_count = 0, workers = 1;
    const char *keyd_spec = NULL, *admin_arg = NULL, *replica_file = NULL;
    int opt;
    curvecp_tool_start ("curvecp-server", USAGE, "qQvc:w:mH:K:A:S:", argc, argv);
    while ((opt = getopt (argc, argv, curvecp_tool_optstring ())) != -1) {
        switch (opt) {
            case 'q': verbosity = 0; quiet = true; break;
            case 'Q': verbosity = 1; quiet = false; break;
            case 'v': verbosity = 2; quiet = false; break;
            case 'c': tool.max = parse_max (optarg); break;
            case 'w': workers = parse_workers (optarg); break;
            case 'm': tool.in_process = true; break;
            case 'H':
                if (host_count == HOSTS_MAX - 1)
                    curvecp_tool_usage_error ("at most %d virtual hosts (-H)", HOSTS_MAX - 1);
                hosts[host_count++] = optarg;
                break;
            case 'K': keyd_spec = optarg; break;
            case 'A': admin_arg = optarg; break;
            case 'S': replica_file = optarg; break;
            default: curvecp_tool_bad_option ();
        }
    }
    curvecp_tool_set_quiet (quiet);
    if (optind < argc && strcmp (argv[optind], "-") == 0)
        optind++;
    if (argc - optind < 6)
        curvecp_tool_usage_error ("%d of the 6 arguments sname keydir ip port ext prog", argc - optind);
    char **arg = argv + optind;
    const char *sname = arg[0], *keydir = arg[1];
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    uint16_t port;
    if (curvecp_udp_port_parse (arg[3], &port) != CURVECP_OK)
        curvecp_tool_usage_error ("bad port: '%s' (0..65535)", arg[3]);
    if (curvecp_udp_addr_parse (arg[2], port, &config.bind) != CURVECP_OK)
        curvecp_tool_usage_error ("bad address: '%s' (an IPv4 or IPv6 address)", arg[2]);
    if (curvecp_udp_ext_parse (arg[4], config.ext) != CURVECP_OK)
        curvecp_tool_usage_error ("bad server extension: '%s' (32 hex digits)", arg[4]);
    uint8_t name_check[CURVECP_NAME_BYTES];
    if (curvecp_name_encode (sname, name_check) != CURVECP_OK)
        curvecp_tool_usage_error ("bad server name: '%s' (dotted labels of 1..63 bytes)", sname);
    split_hosts (hosts, host_count, commands);
    curvecp_stream_config_t stream;
    curvecp_udp_stream_config_default (&stream);
    stream.give_up_ns = curvecp_tool_give_up_ns (stream.give_up_ns);
    config.stream = &stream;
    curvecp_keys_replica_config_t replica_config;
    memset (&replica_config, 0, sizeof replica_config);
    if (keyd_spec || admin_arg || replica_file) {
        if (!keyd_spec || !admin_arg)
            curvecp_tool_usage_error ("-K, -A and -S go together: -K keydkey@endpoint -A adminkey [-S file]");
        if (curvecp_keyd_spec_parse (keyd_spec, replica_config.keyd_key, &replica_config.endpoint) != 0)
            curvecp_tool_usage_error ("bad -K '%s' (64 hex digits, @, a ØMQ endpoint)", keyd_spec);
        if (curvecp_adminkey_load_public (admin_arg, replica_config.admin_key) != 0)
            curvecp_tool_usage_error ("bad -A '%s' (64 hex digits, or a file with them)", admin_arg);
        replica_config.state_file = replica_file;
    }

    curvecp_udp_reserve_low_fds ();
    signal (SIGPIPE, SIG_IGN);
    signal (SIGCHLD, SIG_IGN);            /* children are reaped by the kernel, as NaCl does */
    curvecp_keypair_t keys;
    errno = 0;
    if (curvecp_keydir_load (keydir, &keys) != CURVECP_OK) {
        char what[512];
        snprintf (what, sizeof what, "unable to read key directory %s: %s", keydir, curvecp_keys_error ());
        curvecp_tool_fatal ("%s", what);          /* curvecp_keys_error says why */
    }
    curvecp_safenonce_t *nonces = curvecp_safenonce_new (keydir, CURVECP_SAFENONCE_SERVER);
    if (!nonces)
        curvecp_tool_fatal_errno ("unable to open the key directory's nonce counter");
    config.keys = &keys;
    config.cookie_nonce = workers == 1 ? curvecp_safenonce_next : locked_nonce;
    config.cookie_nonce_context = nonces;
    config.on_connect = on_connect;
    if (!tool.in_process)
        config.on_message = on_message;
    curvecp_keys_replica_t *replica = NULL;
    if (keyd_spec) {
        zsys_handler_set (NULL);        /* SIGTERM still ends us, as without -K */
        replica_config.log = quiet ? NULL : stderr;     /* losing the service is always said */
        replica = curvecp_keys_replica_new (&replica_config);
        if (!replica)
            curvecp_tool_fatal_errno ("unable to start the key service replica");
        /* the replica locks its set: every worker may ask it */
        config.authorise = curvecp_keys_replica_authorise;
        config.authorise_arg = replica;
    }
    /* -c is the whole server's: each worker takes its share */
    tool.max = (tool.max + workers - 1) / workers;
    server_tool_t *tools = calloc ((size_t) workers, sizeof *tools);
    if (!tools)
        curvecp_tool_fatal_errno ("out of memory");
    for (int i = 0; i < workers; i++) {
        tools[i] = tool;
        start_worker (tools, i, workers, &config);
        if (!tools[i].server) {
            char what[256];
            snprintf (what, sizeof what, "unable to bind UDP port %s on %s", arg[3], arg[2]);
            curvecp_tool_fatal_errno (what);
        }
        curvecp_udp_server_add_name (tools[i].server, sname);
        tools[i].argv[0] = arg + 5;
        for (int h = 0; h < host_count; h++)
            add_host (&tools[i], hosts[h], commands[h]);
    }
    curvecp_keypair_wipe (&keys);
    for (int i = 1; i < workers; i++)
        if (pthread_create (&tools[i].thread, NULL, worker_main, &tools[i]) != 0)
            curvecp_tool_fatal_errno ("unable to start a worker thread");
    run (tools[0].server, &tools[0]);
    return 0;
}
