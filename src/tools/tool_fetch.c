/*  curvecp-fetch - fetch one file from curvecp-fileserver over CurveCP,
    on the ØMQ carrier (tcp://...) or the UDP carrier (udp://ip:port or
    ip:port).

    curvecp-fetch [options] SERVERKEY ENDPOINT PATH [LOCAL]

    The copy grows in LOCAL.part and becomes LOCAL once the SHA-256 the
    server sends for the whole file matches; an interrupted fetch leaves
    LOCAL.part and the next one resumes from its end. A progress bar with
    rate and ETA is drawn on stderr when it is a terminal; the rate counts
    only the bytes of this run, from the moment the first of them came.
    An existing LOCAL is not overwritten unless -f.

    Every failure ends with one line on stderr and its own exit code (see
    USAGE), so scripts can tell a wrong key from a missing file.        */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "curvecp_zmq_client.h"
#include "curvecp_endpoint.h"
#include "curvecp_filerecv.h"
#include "curvecp_keys.h"
#include "curvecp_tool.h"
#include "curvecp_known.h"
#include "curvecp_keyd.h"
#include "curvecp_udp_client.h"
#include "curvecp_udp_socket.h"

#define USAGE \
    "usage: curvecp-fetch [options] SERVERKEY ENDPOINT PATH [LOCAL]\n" \
    "  SERVERKEY  the server's public key: 64 hex digits, a NaCl key directory\n" \
    "             or a zcert certificate file\n" \
    "  ENDPOINT   tcp://host:port (ØMQ) or udp://ip:port, ip:port, [ipv6]:port (UDP)\n" \
    "  PATH       the file, relative to the directory the server serves\n" \
    "  LOCAL      where to save it (default: PATH's last component); the copy\n" \
    "             grows in LOCAL.part and a later fetch resumes from there\n" \
    "options:\n" \
    "  -c keys    our key pair (NaCl key directory or zcert secret file;\n" \
    "             default: a fresh one)\n" \
    "  -n name    server name (default localhost)\n" \
    "  -t secs    give up when the server has not answered for secs (default 10)\n" \
    "  -p         progress bar even when stderr is not a terminal\n" \
    "  -q         no progress bar\n" \
    "  -v         a summary line at the end\n" \
    "  -m bytes   stop after this many file bytes, keeping LOCAL.part (testing)\n" \
    "  -f         overwrite LOCAL if it exists (default: refuse)\n" \
    "  -h         this help\n" \
    "exit codes: 0 saved and verified; 1 transfer failed (digest mismatch, protocol\n" \
    "  error); 3 server down (connection refused); 4 no handshake (wrong server key\n" \
    "  or name, or no answer at all); 5 no such file on the server; 6 refused by the\n" \
    "  server (outside the served directory, permission); 7 local write error (disk\n" \
    "  full); 8 stopped by -m; 100 usage or key error (LOCAL exists without -f);\n" \
    "  111 connection lost (the server stopped answering or failed its stream):\n" \
    "  LOCAL.part is kept and a later fetch resumes\n"

enum { EXIT_FAILED = 1, EXIT_DOWN = 3, EXIT_NO_HANDSHAKE = 4, EXIT_NOT_FOUND = 5,
       EXIT_REFUSED = 6, EXIT_LOCAL = 7, EXIT_STOPPED = 8, EXIT_USAGE = CURVECP_TOOL_EXIT_USAGE,
       EXIT_LOST = CURVECP_TOOL_EXIT_FATAL };
#define RATE_WARMUP_NS (250000000ull)       /* no rate until this run's bytes span this long */

#define NS 1000000000ull
#define TICK_NS (100000000ull)              /* progress and timeout checks */
#define LINGER_NS (2ull * NS)               /* after the copy is saved: let the server see our acks */

typedef struct {
    const char *endpoint_text, *server_name;
    const curvecp_endpoint_t *endpoint;
    uint8_t server_key[CURVECP_KEY_BYTES];
    curvecp_keypair_t keys;
    bool have_keys;
    uint64_t timeout_ns;
    bool progress, verbose;
    curvecp_filerecv_t *recv;
    const char *label;
    uint64_t started, last_data, last_draw;
    uint64_t first_data;                      /* when this run's first file byte came, 0 = none */
    uint64_t first_received;                  /* received() then: the rate counts what came after */
    bool drawn;
    int code;                                 /* carrier failure: exit code, 0 = none */
    char error[512];
} fetch_t;

static void carrier_failed (fetch_t *self, int code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
carrier_failed (fetch_t *self, int code, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (self->error, sizeof self->error, format, args);
    va_end (args);
    self->code = code;
}

/* ---- progress ----------------------------------------------------------- */

static void
format_bytes (double bytes, char *out, size_t cap)
{
    const char *units[] = { "B", "KB", "MB", "GB", "TB" };
    int unit = 0;
    while (bytes >= 1000 && unit < 4) {
        bytes /= 1000;
        unit++;
    }
    snprintf (out, cap, unit ? "%.1f %s" : "%.0f %s", bytes, units[unit]);
}

static void
draw_progress (fetch_t *self, uint64_t now, bool last)
{
    if (!self->progress || !curvecp_filerecv_started (self->recv)
    ||  (!last && now - self->last_draw < TICK_NS))
        return;
    self->last_draw = now;
    uint64_t size = curvecp_filerecv_size (self->recv);
    uint64_t got = curvecp_filerecv_offset (self->recv) + curvecp_filerecv_received (self->recv);
    /* the rate of this run's bytes since the first of them: not the resume
       offset, not the handshake and the server's hashing before it */
    uint64_t received = curvecp_filerecv_received (self->recv);
    if (!self->first_data && received > 0) {
        self->first_data = now;
        self->first_received = received;
    }
    double seconds = self->first_data ? (double) (now - self->first_data) / 1e9 : 0;
    double rate = seconds >= RATE_WARMUP_NS / 1e9 ? (double) (received - self->first_received) / seconds : 0;
    int percent = size ? (int) (got * 100 / size) : 100;
    char bar[21], have[32], total[32], speed[32], eta[32] = "--:--";
    for (int i = 0; i < 20; i++)
        bar[i] = i < percent / 5 ? '#' : '.';
    bar[20] = 0;
    format_bytes ((double) got, have, sizeof have);
    format_bytes ((double) size, total, sizeof total);
    if (rate > 0)
        format_bytes (rate, speed, sizeof speed);
    else
        snprintf (speed, sizeof speed, "--");
    if (rate > 0) {
        unsigned long left = (unsigned long) ((double) (size - got) / rate + 0.5);
        snprintf (eta, sizeof eta, "%lu:%02lu", left / 60, left % 60);
    }
    fprintf (stderr, "\r%s %3d%% [%s] %s / %s  %s/s  ETA %s \033[K", self->label, percent, bar, have, total,
             speed, eta);
    if (last)
        fputc ('\n', stderr);
    self->drawn = !last;
}

/* Account for arriving bytes; true while the transfer goes on. */
static bool
take_bytes (fetch_t *self, const uint8_t *data, size_t len, uint64_t now)
{
    if (len > 0)
        self->last_data = now;
    curvecp_filerecv_push (self->recv, data, len);
    draw_progress (self, now, false);
    return curvecp_filerecv_state (self->recv) == CURVECP_FILERECV_RUNNING;
}

/* Nothing listens there? A TCP connect, or a UDP datagram that draws an
   ICMP "port unreachable", says so; silence proves nothing. */
static bool
refused_there (const curvecp_endpoint_t *endpoint)
{
    char host[CURVECP_ENDPOINT_TEXT], *port;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *found = NULL;
    struct sockaddr_storage addr;
    socklen_t len;
    int type = SOCK_STREAM;
    if (endpoint->kind == CURVECP_ENDPOINT_UDP) {
        memcpy (&addr, &endpoint->udp.sa, sizeof addr);
        len = endpoint->udp.len;
        type = SOCK_DGRAM;
    }
    else {
        if (strncmp (endpoint->zmq, "tcp://", 6) != 0)
            return false;
        snprintf (host, sizeof host, "%s", endpoint->zmq + 6);
        if (!(port = strrchr (host, ':')))
            return false;
        *port++ = 0;
        if (*host == '[' && host[strlen (host) - 1] == ']') {
            memmove (host, host + 1, strlen (host));
            host[strlen (host) - 1] = 0;
        }
        if (getaddrinfo (host, port, &hints, &found) != 0 || !found)
            return false;
        memcpy (&addr, found->ai_addr, found->ai_addrlen);
        len = found->ai_addrlen;
        freeaddrinfo (found);
    }
    int fd = socket (addr.ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool refused = connect (fd, (struct sockaddr *) &addr, len) != 0 && errno == ECONNREFUSED;
    if (!refused && type == SOCK_DGRAM) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        uint8_t probe = 0;
        refused = send (fd, &probe, 1, 0) < 0 && errno == ECONNREFUSED;
        if (!refused && poll (&pfd, 1, 500) > 0)
            refused = recv (fd, &probe, 1, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED;
    }
    close (fd);
    return refused;
}

/* No answer in time: before the handshake that is no server or a wrong
   key; after it, a server that stopped sending. */
static bool
timed_out (fetch_t *self, bool connected, uint64_t now)
{
    unsigned long long secs = self->timeout_ns / NS;
    if (connected && now - self->last_data > self->timeout_ns)
        carrier_failed (self, EXIT_LOST, "the server at %s stopped sending for %llu s", self->endpoint_text, secs);
    else if (!connected && now - self->started > self->timeout_ns) {
        if (refused_there (self->endpoint))
            carrier_failed (self, EXIT_DOWN, "server down: nothing listens at %s (connection refused)",
                            self->endpoint_text);
        else
            carrier_failed (self, EXIT_NO_HANDSHAKE, "no handshake with %s within %llu s: wrong server key "
                            "or name (or no server there)", self->endpoint_text, secs);
    }
    return self->code != 0;
}

/* ---- UDP ---------------------------------------------------------------- */

static void
udp_step (curvecp_udp_client_t *client, uint64_t cap)
{
    struct pollfd pfd = { curvecp_udp_client_fd (client),
                          (short) (POLLIN | (curvecp_udp_client_want_write (client) ? POLLOUT : 0)), 0 };
    uint64_t deadline = curvecp_udp_client_deadline (client);
    curvecp_udp_poll (&pfd, 1, deadline < cap ? deadline : cap);
    curvecp_udp_client_process (client, curvecp_clock_now ());
}

static void
udp_transfer (fetch_t *self, curvecp_udp_client_t *client)
{
    curvecp_udp_conn_t *conn = curvecp_udp_client_conn (client);
    static uint8_t buf[65536];
    size_t len = curvecp_filerecv_request (self->recv, buf, sizeof buf);
    if (curvecp_udp_conn_send (conn, buf, len) != len) {
        carrier_failed (self, EXIT_FAILED, "cannot queue the request");
        return;
    }
    curvecp_udp_conn_shutdown (conn, CURVECP_EOF_SUCCESS);
    for (;;) {
        udp_step (client, curvecp_clock_now () + TICK_NS);
        uint64_t now = curvecp_clock_now ();
        bool going = true;
        while (going && (len = curvecp_udp_conn_recv (conn, buf, sizeof buf)) > 0)
            going = take_bytes (self, buf, len, now);
        if (!going)
            return;
        draw_progress (self, now, false);
        curvecp_eof_t eof = curvecp_udp_conn_received_eof (conn);
        if (eof == CURVECP_EOF_FAILURE) {
            carrier_failed (self, EXIT_LOST, "the server at %s ended the transfer with a failure (failure-eof)",
                            self->endpoint_text);
            return;
        }
        if (eof != CURVECP_EOF_NONE) {
            curvecp_filerecv_end (self->recv);
            return;
        }
        if (curvecp_udp_conn_failed (conn)) {
            carrier_failed (self, EXIT_LOST, "lost the connection to %s: %s (%s)", self->endpoint_text,
                            curvecp_udp_conn_error (conn), curvecp_udp_conn_failure (conn));
            return;
        }
        if (timed_out (self, curvecp_udp_conn_established (conn), now))
            return;
    }
}

static void
run_udp (fetch_t *self, const curvecp_endpoint_t *endpoint)
{
    curvecp_udp_client_config_t config;
    curvecp_udp_client_config_default (&config);
    memcpy (config.server_pk, self->server_key, CURVECP_KEY_BYTES);
    config.server_name = self->server_name;
    config.long_term = self->have_keys ? &self->keys : NULL;
    config.addrs[0] = endpoint->udp;
    config.addr_count = 1;
    curvecp_udp_client_t *client = curvecp_udp_client_new (&config, curvecp_clock_now ());
    if (!client) {
        carrier_failed (self, EXIT_USAGE, "cannot start a UDP client for %s: %s", self->endpoint_text,
                        strerror (errno));
        return;
    }
    udp_transfer (self, client);
    /* the server's EOF may still be coming; acknowledge it so it can let go */
    curvecp_udp_conn_t *conn = curvecp_udp_client_conn (client);
    uint64_t until = curvecp_clock_now () + LINGER_NS;
    while (curvecp_filerecv_state (self->recv) == CURVECP_FILERECV_DONE && !curvecp_udp_conn_done (conn)
       &&  !curvecp_udp_conn_failed (conn) && curvecp_clock_now () < until) {
        udp_step (client, until);
        uint8_t drain[4096];
        while (curvecp_udp_conn_recv (conn, drain, sizeof drain) > 0)
            ;
    }
    curvecp_udp_client_destroy (&client);
}

/* ---- ØMQ ---------------------------------------------------------------- */

static zmsg_t *
request_message (fetch_t *self)
{
    uint8_t buf[CURVECP_FILEXFER_REQUEST_MAX];
    size_t len = curvecp_filerecv_request (self->recv, buf, sizeof buf);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, buf, len);
    return msg;
}

/* A message of frames carrying stream bytes, or of one empty frame: the
   server's end of stream. false once the transfer is over. */
static bool
take_message (fetch_t *self, zmsg_t *msg, uint64_t now)
{
    zframe_t *first = zmsg_first (msg);
    if (zmsg_size (msg) == 1 && zframe_size (first) == 0) {
        curvecp_filerecv_end (self->recv);
        return false;
    }
    for (zframe_t *frame = first; frame; frame = zmsg_next (msg))
        if (!take_bytes (self, zframe_data (frame), zframe_size (frame), now))
            return false;
    return true;
}

static void
zmq_transfer (fetch_t *self, curvecp_zmq_client_t *client)
{
    zmsg_t *msg = request_message (self);
    if (curvecp_zmq_client_send (client, &msg) != 0) {
        zmsg_destroy (&msg);
        {
            carrier_failed (self, EXIT_FAILED, "cannot send the request: %s", curvecp_zmq_client_error (client));
            return;
        }
    }
    curvecp_zmq_client_set_rcvtimeo (client, (int) (TICK_NS / 1000000));
    for (;;) {
        msg = curvecp_zmq_client_recv (client);
        uint64_t now = curvecp_clock_now ();
        bool going = true;
        while (going && msg) {
            going = take_message (self, msg, now);
            zmsg_destroy (&msg);
            msg = going ? curvecp_zmq_client_recv_nowait (client) : NULL;
        }
        zmsg_destroy (&msg);
        if (!going)
            return;
        draw_progress (self, now, false);
        if (curvecp_zmq_client_failed (client)) {
            if (curvecp_zmq_client_failure (client) == CURVECP_ZMQ_CODEC_HANDSHAKE_TIMEOUT)
                timed_out (self, false, UINT64_MAX);
            else
                carrier_failed (self, EXIT_LOST, "lost the connection to %s: %s (%s)", self->endpoint_text,
                                curvecp_zmq_client_error (client),
                                curvecp_zmq_codec_failure_name (curvecp_zmq_client_failure (client)));
            return;
        }
        if (timed_out (self, curvecp_zmq_client_connected (client), now))
            return;
    }
}

static void
run_zmq (fetch_t *self, const curvecp_endpoint_t *endpoint)
{
    zsys_handler_set (NULL);             /* ^C ends us at once; the .part is kept */
    zsys_init ();
    curvecp_zmq_client_t *client = curvecp_zmq_client_new (self->have_keys ? &self->keys : NULL, self->server_key,
                                                   self->server_name);
    if (!client) {
        carrier_failed (self, EXIT_USAGE, "bad server name %s", self->server_name);
        return;
    }
    curvecp_zmq_codec_options_t options;
    curvecp_zmq_codec_options_default (&options);
    options.handshake_timeout_ns = self->timeout_ns;
    curvecp_zmq_client_set_options (client, &options);
    curvecp_zmq_client_set_linger (client, 500);
    if (curvecp_zmq_client_connect (client, endpoint->zmq) != 0)
        carrier_failed (self, EXIT_USAGE, "cannot connect to %s: %s", self->endpoint_text, zmq_strerror (errno));
    else
        zmq_transfer (self, client);
    curvecp_zmq_client_destroy (&client);
}

/* ---- arguments ---------------------------------------------------------- */

/* 64 hex digits, a NaCl key directory, a zcert file, or a known
   server's name (curvecp_known.h); an explicit key is checked against,
   or recorded under, record_name. */
static bool
load_server_key (const char *text, const char *record_name, uint8_t key[CURVECP_KEY_BYTES])
{
    char error[1024];
    curvecp_known_set_keyd (curvecp_keyd_lookup);
    curvecp_known_result_t result = curvecp_known_server_key (text, record_name, key, error, sizeof error);
    if (result == CURVECP_KNOWN_UNKNOWN)
        fprintf (stderr, "curvecp-fetch: server key %s: not 64 hex digits, a key directory or zcert file (%s); %s\n",
                 text, strerror (ENOENT), error);
    else
    if (result == CURVECP_KNOWN_RECORDED)
        fprintf (stderr, "curvecp-fetch: recorded the key of %s in %s\n", record_name, curvecp_known_file ());
    else
    if (result != CURVECP_KNOWN_OK)
        fprintf (stderr, "curvecp-fetch: %s\n", error);
    return result == CURVECP_KNOWN_OK || result == CURVECP_KNOWN_RECORDED;
}

/* A transfer that stopped part way keeps its copy: say so, so the user
   knows a later fetch resumes rather than starts again. */
static void
say_part_kept (fetch_t *self)
{
    struct stat st;
    const char *part = curvecp_filerecv_part_path (self->recv);
    if (self->code == EXIT_LOST && part && stat (part, &st) == 0 && st.st_size > 0)
        fprintf (stderr, "curvecp-fetch: %s kept (%lld bytes): run again to resume\n", part,
                 (long long) st.st_size);
}

static int
exit_code (fetch_t *self)
{
    if (self->code)
        return self->code;
    switch (curvecp_filerecv_failure (self->recv)) {
        case CURVECP_FILERECV_E_NONE:      return 0;
        case CURVECP_FILERECV_E_LOCAL:     return EXIT_LOCAL;
        case CURVECP_FILERECV_E_NOT_FOUND: return EXIT_NOT_FOUND;
        case CURVECP_FILERECV_E_REFUSED:   return EXIT_REFUSED;
        case CURVECP_FILERECV_E_STOPPED:   return EXIT_STOPPED;
        default:                           return EXIT_FAILED;
    }
}

static int
report (fetch_t *self, const char *local)
{
    uint64_t now = curvecp_clock_now ();
    bool done = curvecp_filerecv_state (self->recv) == CURVECP_FILERECV_DONE;
    if (self->drawn || done)
        draw_progress (self, now, true);
    int code = exit_code (self);
    if (code) {
        fprintf (stderr, "curvecp-fetch: %s\n", self->code ? self->error : curvecp_filerecv_error (self->recv));
        say_part_kept (self);
        return code;
    }
    double seconds = (double) (now - self->started) / 1e9;
    uint64_t received = curvecp_filerecv_received (self->recv);
    if (self->verbose)
        fprintf (stderr, "curvecp-fetch: saved %s (%llu bytes, SHA-256 verified): received %llu bytes from "
                 "offset %llu in %.3f s (%.1f MB/s)\n", local, (unsigned long long) curvecp_filerecv_size (self->recv),
                 (unsigned long long) received, (unsigned long long) curvecp_filerecv_offset (self->recv), seconds,
                 seconds > 0 ? (double) received / seconds / 1e6 : 0.0);
    return 0;
}

int
main (int argc, char *argv[])
{
    fetch_t self;
    memset (&self, 0, sizeof self);
    self.server_name = "localhost";
    self.timeout_ns = 10 * NS;
    self.progress = isatty (2);
    uint64_t stop_after = UINT64_MAX;
    const char *keys_path = NULL;
    bool overwrite = false, name_given = false;
    int opt;
    curvecp_tool_start ("curvecp-fetch", USAGE, "c:n:t:pqvm:f", argc, argv);
    while ((opt = getopt (argc, argv, curvecp_tool_optstring ())) != -1) {
        if (opt == 'c')
            keys_path = optarg;
        else if (opt == 'n') {
            self.server_name = optarg;
            name_given = true;
        }
        else if (opt == 't')
            self.timeout_ns = (uint64_t) curvecp_tool_seconds (optarg) * NS;
        else if (opt == 'p' || opt == 'q')
            self.progress = opt == 'p';
        else if (opt == 'v')
            self.verbose = true;
        else if (opt == 'm') {
            if (!curvecp_tool_number (optarg, 0, UINT64_MAX, &stop_after))
                curvecp_tool_usage_error ("bad -m '%s' (a byte count)", optarg);
        }
        else if (opt == 'f')
            overwrite = true;
        else
            curvecp_tool_bad_option ();
    }
    if (argc - optind < 3)
        curvecp_tool_usage_error ("%d of the 3 arguments SERVERKEY ENDPOINT PATH", argc - optind);
    if (argc - optind > 4)
        curvecp_tool_usage_error ("too many arguments: '%s' after LOCAL", argv[optind + 4]);
    if (sodium_init () < 0)
        return EXIT_FAILED;
    self.endpoint_text = argv[optind + 1];
    const char *remote = argv[optind + 2];
    if (!*remote)
        curvecp_tool_usage_error ("PATH is empty: name a file below the served directory");
    if (strlen (remote) > CURVECP_FILEXFER_PATH_MAX)
        curvecp_tool_usage_error ("PATH is longer than 1024 bytes");
    char remote_copy[CURVECP_FILEXFER_PATH_MAX + 1];
    snprintf (remote_copy, sizeof remote_copy, "%s", remote);
    const char *local = argc - optind == 4 ? argv[optind + 3] : basename (remote_copy);
    curvecp_endpoint_t endpoint;
    if (curvecp_endpoint_parse (self.endpoint_text, &endpoint) != CURVECP_OK)
        curvecp_tool_usage_error ("bad endpoint: '%s' (tcp://host:port, udp://ip:port or ip:port; port "
                                  "0..65535)", self.endpoint_text);
    self.endpoint = &endpoint;
    if (!load_server_key (argv[optind], name_given ? self.server_name : self.endpoint_text, self.server_key))
        return EXIT_USAGE;
    if (keys_path) {
        if (curvecp_keys_load (keys_path, &self.keys) != CURVECP_OK) {
            fprintf (stderr, "curvecp-fetch: our keys: %s\n", curvecp_keys_error ());
            return EXIT_USAGE;
        }
        self.have_keys = true;
    }
    if (!*local || streq (local, "/") || streq (local, ".") || streq (local, ".."))
        curvecp_tool_usage_error ("PATH '%s' has no file name: give LOCAL", remote);
    struct stat st;
    if (!overwrite && lstat (local, &st) == 0)
        curvecp_tool_usage_error ("%s exists: give -f to overwrite it, or another LOCAL", local);
    signal (SIGXFSZ, SIG_IGN);           /* a file size limit is a write error, not a kill */
    signal (SIGPIPE, SIG_IGN);
    self.label = local;
    self.recv = curvecp_filerecv_new (remote, local);
    if (!self.recv)
        return EXIT_FAILED;
    curvecp_filerecv_stop_after (self.recv, stop_after);
    self.started = self.last_data = self.last_draw = curvecp_clock_now ();
    if (curvecp_filerecv_state (self.recv) == CURVECP_FILERECV_RUNNING) {
        if (endpoint.kind == CURVECP_ENDPOINT_ZMQ)
            run_zmq (&self, &endpoint);
        else
            run_udp (&self, &endpoint);
    }
    int code = report (&self, local);
    curvecp_filerecv_destroy (&self.recv);
    curvecp_keypair_wipe (&self.keys);
    return code;
}
