/*  curvecp-fileserver - serve the files below a directory over CurveCP,
    on the ØMQ carrier (tcp://...) and the UDP carrier (udp://ip:port or
    ip:port), any number of endpoints in one process and one event loop.

    curvecp-fileserver [-q] [-n name] [-a allowdir] -k keys DIR ENDPOINT...

    Each client sends one request (a relative path and the offset its
    partial copy ends at) and gets the file from there and the SHA-256 of
    the whole file (curvecp_filexfer.h). Paths outside DIR - absolute,
    with "..", or through a symlink that leads out - are refused, as is
    anything but a regular file.

    -a allowdir admits only clients whose long-term key has a zcert
    public certificate in allowdir (curvecp-makekey -z; re-read when the
    directory changes), on every endpoint.

    On start it prints one line per endpoint with the real port (a port
    of 0 or * picks a free one) and runs until SIGINT or SIGTERM. Log
    lines go to stderr; on a terminal each starts by clearing the line,
    so that a curvecp-fetch progress bar sharing it is overwritten and
    redrawn below rather than spliced into the log.                      */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "curvecp_endpoint.h"
#include "curvecp_filesend.h"
#include "curvecp_keys.h"
#include "curvecp_zmq_server.h"
#include "curvecp_tool.h"
#include "curvecp_udp_server.h"
#include "curvecp_udp_socket.h"
#include "curvecp_zmq.h"

#define USAGE \
    "usage: curvecp-fileserver [-q] [-n name] [-a allowdir] -k keys DIR ENDPOINT...\n" \
    "  -k keys   server key pair: a NaCl key directory (curvecp-makekey) or a zcert\n" \
    "            secret file (curvecp-makekey -z)\n" \
    "  -n name   server name clients ask for (default localhost)\n" \
    "  -a dir    serve only clients whose key has a zcert public certificate in dir\n" \
    "            (curvecp-makekey -z name; default: any client)\n" \
    "  -q        no log line per transfer\n" \
    "  -h        this help\n" \
    "  DIR       the directory served: clients fetch files by relative path\n" \
    "  ENDPOINT  tcp://ip:port (ØMQ) or udp://ip:port, ip:port, [ipv6]:port (UDP);\n" \
    "            port 0 or * picks a free port\n" \
    "exit codes: 0 stopped by SIGINT/SIGTERM; 1 cannot serve (bad keys, directory,\n" \
    "  endpoint taken); 100 usage\n"
#define UDP_MAX   8
#define ZMQ_CHUNK (64 * 1024)
#define STALL_NS  (60ull * 1000000000ull)    /* an ØMQ transfer that makes no progress is dropped */

typedef struct transfer_t transfer_t;
struct transfer_t {
    transfer_t *next;
    curvecp_filesend_t *send;
    curvecp_udp_conn_t *conn;                 /* UDP, or */
    char peer_id[CURVECP_ZMQ_SERVER_PEER_ID_BYTES];   /* ØMQ */
    char client[17];                          /* start of the client's key, for the log */
    char via[CURVECP_ENDPOINT_TEXT];
    zmsg_t *pending;                          /* ØMQ chunk the queue would not take yet */
    uint64_t progress_at;
    bool ended;                               /* ØMQ: the end message is queued */
    bool closing;                             /* ØMQ: the peer is gone */
};

typedef struct {
    const char *root;
    bool quiet;
    bool clear_line;                          /* stderr is a terminal */
    const char *allow_dir;                    /* -a */
    curvecp_zmq_allow_t *allow;               /* -a, for UDP (the ØMQ server has its own) */
    curvecp_zmq_server_t *zmq;
    curvecp_udp_server_t *udp[UDP_MAX];
    int udp_count;
    transfer_t *transfers;
} server_t;

static volatile sig_atomic_t stopping;
static curvecp_zmq_server_t **s_zmq_p;          /* freed on a fatal error: no dangling socket */

static void
on_signal (int sig)
{
    (void) sig;
    stopping = 1;
}

static void die (const char *format, ...) __attribute__ ((format (printf, 1, 2), noreturn));

static void
die (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "curvecp-fileserver: ");
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
    if (s_zmq_p)
        curvecp_zmq_server_destroy (s_zmq_p);
    exit (1);
}

/* Log lines: on a terminal, first clear whatever is on the line (a
   fetch's progress bar redraws itself on the next line). */
static void say (server_t *self, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static void
say (server_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "%scurvecp-fileserver: ", self->clear_line ? "\r\033[K" : "");
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
}

static void
short_key (const uint8_t *key, char out[17])
{
    char hex[65];
    curvecp_key_to_hex (key, hex);
    memcpy (out, hex, 16);
    out[16] = 0;
}

static transfer_t *
transfer_new (server_t *self, const char *via, const uint8_t *client_key)
{
    transfer_t *transfer = (transfer_t *) calloc (1, sizeof *transfer);
    if (!transfer || !(transfer->send = curvecp_filesend_new (self->root)))
        die ("cannot serve %s", self->root);
    snprintf (transfer->via, sizeof transfer->via, "%s", via);
    short_key (client_key, transfer->client);
    transfer->progress_at = curvecp_clock_now ();
    transfer->next = self->transfers;
    self->transfers = transfer;
    return transfer;
}

static void
log_transfer (server_t *self, transfer_t *transfer, const char *outcome)
{
    if (self->quiet || !curvecp_filesend_started (transfer->send))
        return;
    const curvecp_filexfer_reply_t *reply = curvecp_filesend_reply (transfer->send);
    const curvecp_filexfer_request_t *request = curvecp_filesend_request (transfer->send);
    if (reply->status != CURVECP_FILEXFER_OK)
        say (self, "%s client %s: \"%s\": refused: %s", transfer->via,
             transfer->client, request->path, reply->text);
    else
        say (self, "%s client %s: \"%s\": %s: sent %llu bytes from offset %llu "
                 "of %llu", transfer->via, transfer->client, request->path, outcome,
                 (unsigned long long) curvecp_filesend_sent (transfer->send),
                 (unsigned long long) reply->offset, (unsigned long long) reply->size);
}

static void
transfer_destroy (transfer_t **transfer_p)
{
    transfer_t *transfer = *transfer_p;
    curvecp_filesend_destroy (&transfer->send);
    zmsg_destroy (&transfer->pending);
    if (transfer->conn)
        curvecp_udp_conn_close (&transfer->conn);
    free (transfer);
    *transfer_p = NULL;
}

/* ---- UDP ---------------------------------------------------------------- */

static void
on_udp_connect (curvecp_udp_conn_t *conn, void *arg)
{
    server_t *self = (server_t *) arg;
    char addr[CURVECP_UDP_ADDR_TEXT], via[CURVECP_ENDPOINT_TEXT];
    snprintf (via, sizeof via, "udp %s", curvecp_udp_addr_format (curvecp_udp_conn_peer (conn), addr, sizeof addr));
    if (self->allow && !curvecp_zmq_allow_check (self->allow, curvecp_udp_conn_client_key (conn))) {
        char client[17];
        short_key (curvecp_udp_conn_client_key (conn), client);
        if (!self->quiet)
            say (self, "%s client %s: refused: not in the allow-list", via, client);
        curvecp_udp_conn_shutdown (conn, CURVECP_EOF_FAILURE);   /* not a clean, empty reply */
        curvecp_udp_conn_close (&conn);
        return;
    }
    transfer_t *transfer = transfer_new (self, via, curvecp_udp_conn_client_key (conn));
    transfer->conn = conn;
}

/* Move what we can; true once the transfer is over. */
static bool
pump_udp (server_t *self, transfer_t *transfer)
{
    curvecp_udp_conn_t *conn = transfer->conn;
    uint8_t buf[4096];
    size_t n;
    while ((n = curvecp_udp_conn_recv (conn, buf, sizeof buf)) > 0)
        curvecp_filesend_feed (transfer->send, buf, n);   /* bytes after the request are ignored */
    if (curvecp_udp_conn_failed (conn)) {
        char outcome[200];
        snprintf (outcome, sizeof outcome, "client vanished (%s)", curvecp_udp_conn_failure (conn));
        log_transfer (self, transfer, outcome);
        return true;
    }
    if (!curvecp_filesend_started (transfer->send))
        return curvecp_udp_conn_received_eof (conn) != CURVECP_EOF_NONE;
    const uint8_t *data;
    while (curvecp_udp_conn_send_space (conn) > 0 && (data = curvecp_filesend_data (transfer->send, &n)) && n > 0)
        curvecp_filesend_advance (transfer->send, curvecp_udp_conn_send (conn, data, n));
    if (curvecp_filesend_failed (transfer->send)) {
        curvecp_udp_conn_shutdown (conn, CURVECP_EOF_FAILURE);
        log_transfer (self, transfer, "read error");
        return true;
    }
    if (curvecp_filesend_finished (transfer->send)) {
        log_transfer (self, transfer, "done");
        return true;          /* close sends our EOF and lingers until it is acknowledged */
    }
    return false;
}

/* ---- ØMQ ---------------------------------------------------------------- */

static transfer_t *
find_zmq (server_t *self, const char *peer_id)
{
    for (transfer_t *transfer = self->transfers; transfer; transfer = transfer->next)
        if (!transfer->conn && streq (transfer->peer_id, peer_id))
            return transfer;
    return NULL;
}

/* Each message's frames are the next bytes of the client's stream. */
static void
take_zmq_messages (server_t *self)
{
    zmsg_t *msg;
    while ((msg = curvecp_zmq_server_recv_nowait (self->zmq)) != NULL) {
        const char *peer_id = curvecp_zmq_server_peer_id (self->zmq);
        transfer_t *transfer = find_zmq (self, peer_id);
        if (!transfer) {
            char via[CURVECP_ENDPOINT_TEXT];
            snprintf (via, sizeof via, "zmq %.16s", peer_id);
            transfer = transfer_new (self, via, curvecp_zmq_server_peer_key (self->zmq));
            snprintf (transfer->peer_id, sizeof transfer->peer_id, "%s", peer_id);
        }
        for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg))
            curvecp_filesend_feed (transfer->send, zframe_data (frame), zframe_size (frame));
        zmsg_destroy (&msg);
    }
}

/* Hand the pending chunk to the peer's queue; false if it is full (try
   again later) or the peer is gone (closing is set). */
static bool
send_pending (server_t *self, transfer_t *transfer)
{
    errno = 0;
    if (curvecp_zmq_server_send (self->zmq, transfer->peer_id, &transfer->pending) == 0) {
        transfer->progress_at = curvecp_clock_now ();
        return true;
    }
    if (errno != EAGAIN)
        transfer->closing = true;
    return false;
}

/* The end of our stream on ØMQ: a message of one empty frame. */
static zmsg_t *
end_message (void)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, NULL, 0);
    return msg;
}

static bool
pump_zmq (server_t *self, transfer_t *transfer)
{
    if (!curvecp_filesend_started (transfer->send))
        return curvecp_clock_now () - transfer->progress_at > STALL_NS;
    for (;;) {
        if (transfer->pending && !send_pending (self, transfer))
            break;
        if (transfer->ended) {
            log_transfer (self, transfer, curvecp_filesend_failed (transfer->send) ? "read error" : "done");
            return true;
        }
        if (curvecp_filesend_finished (transfer->send) || curvecp_filesend_failed (transfer->send)) {
            transfer->pending = end_message ();
            transfer->ended = true;
            continue;
        }
        size_t n;
        const uint8_t *data = curvecp_filesend_data (transfer->send, &n);
        if (n == 0)
            break;
        transfer->pending = zmsg_new ();
        zmsg_addmem (transfer->pending, data, n);
        curvecp_filesend_advance (transfer->send, n);
    }
    if (transfer->closing || curvecp_clock_now () - transfer->progress_at > STALL_NS) {
        log_transfer (self, transfer, "client vanished");
        return true;
    }
    return false;
}

/* ---- the loop ----------------------------------------------------------- */

static void
pump_all (server_t *self)
{
    for (transfer_t **link = &self->transfers; *link; ) {
        transfer_t *transfer = *link;
        bool over = transfer->conn ? pump_udp (self, transfer) : pump_zmq (self, transfer);
        if (over) {
            *link = transfer->next;
            transfer_destroy (&transfer);
        }
        else
            link = &transfer->next;
    }
}

static uint64_t
earliest (uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* ZMQ_FD only signals new input: ask ZMQ_EVENTS before sleeping. */
static void
wait_for_work (server_t *self)
{
    struct pollfd fds[UDP_MAX + 1];
    int count = 0;
    uint64_t now = curvecp_clock_now (), deadline = now + 1000000000ull;
    for (int i = 0; i < self->udp_count; i++) {
        short events = POLLIN | (curvecp_udp_server_want_write (self->udp[i]) ? POLLOUT : 0);
        fds[count++] = (struct pollfd) { curvecp_udp_server_fd (self->udp[i]), events, 0 };
        deadline = earliest (deadline, curvecp_udp_server_deadline (self->udp[i]));
    }
    if (self->zmq) {
        zsock_t *sock = curvecp_zmq_server_sock (self->zmq);
        fds[count++] = (struct pollfd) { zsock_fd (sock), POLLIN, 0 };
        int timeout = curvecp_zmq_server_timeout (self->zmq);
        if (timeout >= 0)
            deadline = earliest (deadline, now + (uint64_t) timeout * 1000000ull);
        if (zsock_events (sock) & ZMQ_POLLIN)
            deadline = now;
    }
    curvecp_udp_poll (fds, count, deadline);
}

static void
serve (server_t *self)
{
    while (!stopping) {
        wait_for_work (self);
        uint64_t now = curvecp_clock_now ();
        for (int i = 0; i < self->udp_count; i++)
            curvecp_udp_server_process (self->udp[i], now);
        if (self->zmq) {
            curvecp_zmq_server_handle (self->zmq);
            take_zmq_messages (self);
        }
        pump_all (self);
    }
}

/* ---- start-up ----------------------------------------------------------- */

static void
add_zmq (server_t *self, const curvecp_keypair_t *keys, const char *name, const char *endpoint)
{
    if (!self->zmq) {
        self->zmq = curvecp_zmq_server_new (keys, name);
        if (!self->zmq)
            die ("bad server name %s", name);
        curvecp_zmq_server_set_sndtimeo (self->zmq, 0);
        if (self->allow_dir && curvecp_zmq_server_allow_directory (self->zmq, self->allow_dir) != 0)
            die ("cannot read the allow-list directory %s", self->allow_dir);
    }
    char bind[CURVECP_ENDPOINT_TEXT];
    snprintf (bind, sizeof bind, "%s", endpoint);
    size_t len = strlen (bind);
    if (len > 2 && streq (bind + len - 2, ":0"))
        bind[len - 1] = '*';                  /* ØMQ's spelling of "any free port" */
    int port = curvecp_zmq_server_bind (self->zmq, bind);
    if (port < 0) {
        const char *why = zmq_strerror (zmq_errno ());
        curvecp_zmq_server_destroy (&self->zmq);          /* no dangling socket at exit */
        die ("cannot bind %s: %s", endpoint, why);
    }
    char shown[CURVECP_ENDPOINT_TEXT];
    snprintf (shown, sizeof shown, "%s", endpoint);
    char *star = strrchr (shown, ':');
    if (port > 0 && star)
        snprintf (star + 1, sizeof shown - (size_t) (star + 1 - shown), "%d", port);
    printf ("curvecp-fileserver: serving %s on %s\n", self->root, shown);
}

static void
add_udp (server_t *self, const curvecp_keypair_t *keys, const char *name, curvecp_endpoint_t *endpoint)
{
    if (self->udp_count == UDP_MAX)
        die ("at most %d UDP endpoints", UDP_MAX);
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.keys = keys;
    config.bind = endpoint->udp;
    config.on_connect = on_udp_connect;
    config.on_connect_arg = self;
    char text[CURVECP_ENDPOINT_TEXT];
    curvecp_udp_server_t *udp = curvecp_udp_server_new (&config);
    if (!udp)
        die ("cannot bind %s: %s", curvecp_endpoint_format (endpoint, text, sizeof text), strerror (errno));
    if (curvecp_udp_server_add_name (udp, name) < 0)
        die ("bad server name %s", name);
    curvecp_udp_server_local (udp, &endpoint->udp);
    printf ("curvecp-fileserver: serving %s on %s\n", self->root, curvecp_endpoint_format (endpoint, text, sizeof text));
    self->udp[self->udp_count++] = udp;
}

int
main (int argc, char *argv[])
{
    server_t self;
    memset (&self, 0, sizeof self);
    const char *keys_path = NULL, *name = "localhost";
    int opt;
    curvecp_tool_start ("curvecp-fileserver", USAGE, "k:n:qa:", argc, argv);
    while ((opt = getopt (argc, argv, curvecp_tool_optstring ())) != -1) {
        if (opt == 'k')
            keys_path = optarg;
        else if (opt == 'n')
            name = optarg;
        else if (opt == 'q')
            self.quiet = true;
        else if (opt == 'a')
            self.allow_dir = optarg;
        else
            curvecp_tool_bad_option ();
    }
    if (!keys_path)
        curvecp_tool_usage_error ("no server keys: give -k keys");
    if (argc - optind < 2)
        curvecp_tool_usage_error (argc - optind ? "no ENDPOINT to serve on" : "no DIR and ENDPOINT");
    self.clear_line = isatty (2);
    s_zmq_p = &self.zmq;
    if (sodium_init () < 0)
        die ("%s", "libsodium failed to start");
    curvecp_keypair_t keys;
    if (curvecp_keys_load (keys_path, &keys) != CURVECP_OK)
        die ("%s", curvecp_keys_error ());
    self.root = argv[optind];
    struct stat st;
    if (stat (self.root, &st) == 0 && !S_ISDIR (st.st_mode))
        die ("cannot serve %s: not a directory", self.root);
    if (self.allow_dir) {
        self.allow = curvecp_zmq_allow_new (self.allow_dir);
        if (!self.allow || stat (self.allow_dir, &st) != 0 || !S_ISDIR (st.st_mode))
            die ("cannot read the allow-list directory %s", self.allow_dir);
    }
    curvecp_filesend_t *probe = curvecp_filesend_new (self.root);
    if (!probe)
        die ("cannot serve %s: no such directory", self.root);
    curvecp_filesend_destroy (&probe);

    zsys_init ();
    zsys_handler_set (NULL);
    signal (SIGINT, on_signal);
    signal (SIGTERM, on_signal);
    signal (SIGPIPE, SIG_IGN);
    char hex[65];
    curvecp_key_to_hex (keys.public_key, hex);
    printf ("curvecp-fileserver: server key %s, name %s\n", hex, name);
    for (int i = optind + 1; i < argc; i++) {
        curvecp_endpoint_t endpoint;
        if (curvecp_endpoint_parse (argv[i], &endpoint) != CURVECP_OK)
            curvecp_tool_usage_error ("bad endpoint: '%s' (tcp://ip:port, udp://ip:port or ip:port; "
                                      "port 0..65535 or *)", argv[i]);
        if (endpoint.kind == CURVECP_ENDPOINT_ZMQ)
            add_zmq (&self, &keys, name, endpoint.zmq);
        else
            add_udp (&self, &keys, name, &endpoint);
    }
    curvecp_keypair_wipe (&keys);
    fflush (stdout);
    serve (&self);
    while (self.transfers) {
        transfer_t *transfer = self.transfers;
        self.transfers = transfer->next;
        transfer_destroy (&transfer);
    }
    for (int i = 0; i < self.udp_count; i++)
        curvecp_udp_server_destroy (&self.udp[i]);
    curvecp_zmq_server_destroy (&self.zmq);
    curvecp_zmq_allow_destroy (&self.allow);
    return 0;
}
