/*  curvecp-zmq-echo - an echo server and client for the CurveCP ØMQ
    carrier, so that tests and users can exercise it from a shell
    (rfc/curvecp.md section 12.8).

    curvecp-zmq-echo [-v] [-n name] [-a allowdir] [-K keydkey@endpoint -A adminkey [-S file]] keys endpoint
    curvecp-zmq-echo -c [-v] [-n name] [-k keys] [-t seconds] serverkey endpoint [message...]

    Server: binds a curvecp_server (ROUTER) on endpoint with the long-term
    keys in keys (a NaCl key directory or a zcert secret file) and sends
    every whole message back to its sender. -v prints each new client's
    long-term key to stderr ("client <hex>") when its first message
    arrives, and first the endpoint it bound ("listening <endpoint>", so
    tcp://127.0.0.1:* can pick a free port). -a admits only clients whose
    key has a zcert public certificate in allowdir (curvecp-makekey -z).
    -K (with -A) admits only clients in the key service's signed set, a
    live replica of it (curvecp_keys_replica.h; -S keeps its last set).
    SIGTERM or SIGINT ends it cleanly (exit 0). Keys are printed in hex,
    as every curvecp tool prints them.

    Client (-c): connects to the server whose public key is serverkey (64
    hex digits, a key directory or a zcert file), sends each message
    argument as a one-frame message (without arguments: each line of
    standard input), prints each reply on its own line, and exits 0 once
    every message has come back unchanged. -k gives the client's own
    long-term keys (default: a fresh pair); -v prints our key to stderr
    ("key <hex>"). The server name is empty unless -n name.

    Exit codes: 0 done; 1 a reply differed or not all came back within -t
    seconds (default 10); 100 usage (-h prints the usage on stdout, exit
    0); 111 fatal: the connection failed (the handshake failed: wrong key
    or name, not allowed; or the connection gave up), unreadable keys, an
    endpoint that cannot be bound or connected. A failure is one line on
    stderr naming it ("... (handshake-timeout)").                        */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "curvecp_zmq_client.h"
#include "curvecp_endpoint.h"
#include "curvecp_keys.h"
#include "curvecp_packet.h"
#include "curvecp_zmq_server.h"
#include "curvecp_tool.h"
#include "curvecp_known.h"
#include "curvecp_keyd.h"
#include "curvecp_keys_replica.h"
#include "curvecp_adminkey.h"
#include "curvecp_zmq.h"

#define EXIT_FAILED   1
#define EXIT_USAGE    100
#define EXIT_FATAL    111
#define SEND_QUEUE_MAX (16u << 20)   /* replies kept for slow clients, at most */
#define TICK_MS       100           /* longest poll, so a signal is seen promptly */
#define SEEN_MAX      100000        /* -v: connections remembered before forgetting all */
#define LINE_MAX_LEN  65536

#define USAGE "curvecp-zmq-echo: usage:\n" \
    "  curvecp-zmq-echo [-v] [-n name] [-a allowdir] [-K keydkey@endpoint -A adminkey [-S file]]\n" \
    "                   keys endpoint\n" \
    "  curvecp-zmq-echo -c [-v] [-n name] [-k keys] [-t seconds] serverkey endpoint [message...]\n" \
    "  keys       NaCl key directory or zcert secret file\n" \
    "  serverkey  server public key: 64 hex digits, key directory or zcert file\n" \
    "  endpoint   ØMQ endpoint, e.g. tcp://127.0.0.1:5555\n" \
    "  -c         client: send each message (or each stdin line), print the replies\n" \
    "  -n name    server name (default: the empty name)\n" \
    "  -t seconds client: give up after this long (default 10)\n" \
    "  -v         server: print each new client's key; client: print our key (hex)\n" \
    "  -a dir     server: serve only clients whose key has a zcert public\n" \
    "             certificate in dir (curvecp-makekey -z name)\n" \
    "  -K keydkey@endpoint  server: serve only clients in the key service's signed\n" \
    "             set (curvecp-keyd: its public key in hex, @, its ØMQ endpoint)\n" \
    "  -A adminkey  the key service administrator's public key (hex or a file)\n" \
    "  -S file    server: keep the key set here (served while the service is away)\n" \
    "  -h         this help\n" \
    "Exit codes: 0 done; 1 a reply differed or timed out; 100 usage; 111 fatal\n" \
    "(connection failed: wrong key or name, not allowed, gave up; unreadable keys;\n" \
    "endpoint cannot be bound or connected).\n"

typedef struct {
    bool client_mode;
    bool verbose;
    const char *name;
    const char *client_keys;
    const char *allow_dir;
    const char *keyd_spec, *admin_arg, *replica_file;
    int seconds;
    const char *key_arg;
    const char *endpoint;
    char **messages;
    int message_count;
} options_t;

static volatile sig_atomic_t stop_requested = 0;

static void
parse_options (int argc, char **argv, options_t *options)
{
    memset (options, 0, sizeof *options);
    options->name = "";
    options->seconds = 10;
    int opt;
    curvecp_tool_start ("curvecp-zmq-echo", USAGE, "cvn:k:t:a:K:A:S:", argc, argv);
    while ((opt = getopt (argc, argv, curvecp_tool_optstring ())) != -1) {
        switch (opt) {
            case 'c': options->client_mode = true; break;
            case 'v': options->verbose = true; break;
            case 'n': options->name = optarg; break;
            case 'k': options->client_keys = optarg; break;
            case 't': options->seconds = curvecp_tool_seconds (optarg); break;
            case 'a': options->allow_dir = optarg; break;
            case 'K': options->keyd_spec = optarg; break;
            case 'A': options->admin_arg = optarg; break;
            case 'S': options->replica_file = optarg; break;
            default: curvecp_tool_bad_option ();
        }
    }
    int left = argc - optind;
    if (left < 2)
        curvecp_tool_usage_error ("%d of the 2 arguments %s endpoint", left, options->client_mode ? "serverkey" : "keys");
    if (!options->client_mode && left != 2)
        curvecp_tool_usage_error ("a server takes no messages: '%s' (client: -c)", argv[optind + 2]);
    if (!options->client_mode && options->client_keys)
        curvecp_tool_usage_error ("-k is for a client (-c); a server's keys are its first argument");
    if (options->client_mode && options->allow_dir)
        curvecp_tool_usage_error ("-a is for a server; a client (-c) has no allow-list");
    if (options->client_mode && (options->keyd_spec || options->replica_file))
        curvecp_tool_usage_error ("-K and -S are for a server; a client (-c) has no allow-list");
    if (!options->keyd_spec != !options->admin_arg || (options->replica_file && !options->keyd_spec))
        curvecp_tool_usage_error ("-K, -A and -S go together: -K keydkey@endpoint -A adminkey [-S file]");
    uint8_t field[CURVECP_NAME_BYTES];
    if (curvecp_name_encode (options->name, field) != CURVECP_OK)
        curvecp_tool_usage_error ("bad server name: -n '%s' (dotted labels of 1..63 bytes)", options->name);
    curvecp_endpoint_t endpoint;
    if (curvecp_endpoint_parse (argv[optind + 1], &endpoint) == CURVECP_OK && endpoint.kind != CURVECP_ENDPOINT_ZMQ)
        curvecp_tool_usage_error ("bad endpoint: '%s' (a ØMQ endpoint such as tcp://127.0.0.1:5555)", argv[optind + 1]);
    if (curvecp_endpoint_parse (argv[optind + 1], &endpoint) != CURVECP_OK && strstr (argv[optind + 1], "tcp://"))
        curvecp_tool_usage_error ("bad endpoint: '%s' (port 0..65535 or *)", argv[optind + 1]);
    options->key_arg = argv[optind];
    options->endpoint = argv[optind + 1];
    options->messages = argv + optind + 2;
    options->message_count = left - 2;
}

static void
load_keys (const char *path, curvecp_keypair_t *keys)
{
    if (curvecp_keys_load (path, keys) != CURVECP_OK)
        curvecp_tool_fatal_detail ("unable to read keys", curvecp_keys_error ());
}

/* ---- server ---------------------------------------------------------- */

static void
on_signal (int signum)
{
    (void) signum;
    stop_requested = 1;
}

static void
catch_signals (void)
{
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);
}

/* -v: print the key of a connection (named by C') the first time it speaks. */
static void
announce_client (curvecp_zmq_server_t *server, zhashx_t *seen)
{
    const char *peer_id = curvecp_zmq_server_peer_id (server);
    if (zhashx_lookup (seen, peer_id))
        return;
    if (zhashx_size (seen) >= SEEN_MAX)
        zhashx_purge (seen);
    zhashx_insert (seen, peer_id, (void *) 1);
    char hex[2 * CURVECP_KEY_BYTES + 1];
    curvecp_key_to_hex (curvecp_zmq_server_peer_key (server), hex);
    fprintf (stderr, "client %s\n", hex);
}

/* A reply that does not fit the client's queue now is kept by the
   server's queued-send mode and sent once it does; one for a client gone
   meanwhile is dropped. */
static void
echo_waiting (curvecp_zmq_server_t *server, zhashx_t *seen)
{
    zmsg_t *msg;
    while ((msg = curvecp_zmq_server_recv_nowait (server)) != NULL) {
        if (seen)
            announce_client (server, seen);
        if (curvecp_zmq_server_reply (server, &msg) != 0)
            zmsg_destroy (&msg);
    }
}

/* -K: a replica of the key service's set, as the live allow-list. */
static curvecp_keys_replica_t *
start_replica (const options_t *options)
{
    curvecp_keys_replica_config_t config;
    memset (&config, 0, sizeof config);
    if (curvecp_keyd_spec_parse (options->keyd_spec, config.keyd_key, &config.endpoint) != 0)
        curvecp_tool_usage_error ("bad -K '%s' (64 hex digits, @, a ØMQ endpoint)", options->keyd_spec);
    if (curvecp_adminkey_load_public (options->admin_arg, config.admin_key) != 0)
        curvecp_tool_usage_error ("bad -A '%s' (64 hex digits, or a file with them)", options->admin_arg);
    config.state_file = options->replica_file;
    config.log = stderr;
    curvecp_keys_replica_t *replica = curvecp_keys_replica_new (&config);
    if (!replica)
        curvecp_tool_fatal_detail ("unable to start the key service replica", options->keyd_spec);
    return replica;
}

static int
run_server (const options_t *options)
{
    curvecp_keypair_t keys;
    load_keys (options->key_arg, &keys);
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&keys, options->name);
    curvecp_keypair_wipe (&keys);
    if (!server)
        curvecp_tool_fatal_detail ("unable to create the server", NULL);
    if (options->allow_dir && curvecp_zmq_server_allow_directory (server, options->allow_dir) != 0) {
        curvecp_zmq_server_destroy (&server);
        curvecp_tool_fatal_detail ("unable to read the allow-list directory", options->allow_dir);
    }
    curvecp_keys_replica_t *replica = options->keyd_spec ? start_replica (options) : NULL;
    if (replica)
        curvecp_zmq_server_set_authoriser (server, curvecp_keys_replica_authorise, replica);
    if (curvecp_zmq_server_bind (server, options->endpoint) < 0) {
        const char *why = zmq_strerror (zmq_errno ());
        curvecp_zmq_server_destroy (&server);        /* czmq warns of dangling sockets */
        curvecp_tool_fatal_detail ("unable to bind", why);
    }
    if (options->verbose) {
        char *bound = zsock_last_endpoint (curvecp_zmq_server_sock (server));
        fprintf (stderr, "listening %s\n", bound ? bound : options->endpoint);
        zstr_free (&bound);
    }
    zhashx_t *seen = options->verbose ? zhashx_new () : NULL;
    void *handle = zsock_resolve (curvecp_zmq_server_sock (server));
    curvecp_zmq_server_set_send_queue (server, SEND_QUEUE_MAX);
    while (!stop_requested) {
        int timeout = curvecp_zmq_server_timeout (server);
        zmq_pollitem_t item = { handle, 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, timeout < 0 || timeout > TICK_MS ? TICK_MS : timeout);
        curvecp_zmq_server_handle (server);
        echo_waiting (server, seen);
    }
    if (options->verbose)
        fprintf (stderr, "curvecp-zmq-echo: stopped after %zu connection(s)\n",
                 seen ? zhashx_size (seen) : 0);
    zhashx_destroy (&seen);
    curvecp_zmq_server_destroy (&server);
    curvecp_keys_replica_destroy (&replica);
    return 0;
}

/* ---- client ---------------------------------------------------------- */

/* 64 hex digits, a key directory, a zcert file, or a known server's
   name (curvecp_known.h): an explicit key is checked against, or
   recorded under, the server name (-n), else the endpoint. */
static void
load_server_key (const options_t *options, uint8_t key[CURVECP_KEY_BYTES])
{
    char error[1024];
    const char *record_name = *options->name ? options->name : options->endpoint;
    curvecp_known_set_keyd (curvecp_keyd_lookup);
    curvecp_known_result_t result = curvecp_known_server_key (options->key_arg, record_name, key, error, sizeof error);
    if (result == CURVECP_KNOWN_UNKNOWN)
        curvecp_tool_fatal_detail ("serverkey is neither 64 hex digits nor a readable key directory or zcert file, "
                                   "nor a known server", error);
    if (result == CURVECP_KNOWN_RECORDED)
        fprintf (stderr, "curvecp-zmq-echo: recorded the key of %s in %s\n", record_name, curvecp_known_file ());
    else
    if (result != CURVECP_KNOWN_OK)
        curvecp_tool_fatal_detail (result == CURVECP_KNOWN_BAD_KEY
                                   ? "serverkey is neither 64 hex digits nor a readable key directory or zcert file"
                                   : "server key refused", error);
}

/* The messages to send: the arguments, or else the lines of stdin. */
static zlist_t *
collect_messages (const options_t *options)
{
    zlist_t *list = zlist_new ();
    zlist_autofree (list);
    for (int i = 0; i < options->message_count; i++)
        zlist_append (list, options->messages[i]);
    if (options->message_count == 0) {
        char line[LINE_MAX_LEN];
        while (fgets (line, sizeof line, stdin)) {
            line[strcspn (line, "\n")] = 0;
            zlist_append (list, line);
        }
    }
    return list;
}

/* A failed connection is fatal (111) and named; a slow or wrong reply
   on a live connection is a plain failure (1). */
static int
client_fail (curvecp_zmq_client_t *client, const char *why, size_t got, size_t want)
{
    int code = EXIT_FAILED;
    if (curvecp_zmq_client_failed (client)) {
        fprintf (stderr, "curvecp-zmq-echo: fatal: %s (%s; %zu of %zu replies)\n", curvecp_zmq_client_error (client),
                 curvecp_zmq_codec_failure_name (curvecp_zmq_client_failure (client)), got, want);
        code = EXIT_FATAL;
    }
    else
    if (!curvecp_zmq_client_connected (client)) {
        /* our -t ran out first (it caps the handshake time-out too): the
           handshake failed all the same */
        fprintf (stderr, "curvecp-zmq-echo: fatal: %s (%zu of %zu replies; handshake not done) "
                 "(handshake-timeout)\n", why, got, want);
        code = EXIT_FATAL;
    }
    else
        fprintf (stderr, "curvecp-zmq-echo: %s (%zu of %zu replies; handshake done)\n", why, got, want);
    curvecp_zmq_client_set_linger (client, 0);
    return code;
}

static int
milliseconds_left (uint64_t deadline)
{
    return curvecp_zmq_timeout_ms (deadline, curvecp_clock_now (), -1);
}

/* No messages: wait until the handshake is done (the server's greeting). */
static int
wait_connected (curvecp_zmq_client_t *client, uint64_t deadline)
{
    void *handle = zsock_resolve (curvecp_zmq_client_sock (client));
    while (!curvecp_zmq_client_connected (client)) {
        if (curvecp_zmq_client_failed (client) || milliseconds_left (deadline) == 0)
            return client_fail (client, "timed out", 0, 0);
        int timeout = curvecp_zmq_client_timeout (client);
        int left = milliseconds_left (deadline);
        zmq_pollitem_t item = { handle, 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, timeout < 0 || timeout > left ? left : timeout);
        curvecp_zmq_client_handle (client);
    }
    return 0;
}

static bool
reply_matches (zmsg_t *reply, const char *sent)
{
    zframe_t *frame = zmsg_first (reply);
    return zmsg_size (reply) == 1 && zframe_size (frame) == strlen (sent)
        && memcmp (zframe_data (frame), sent, strlen (sent)) == 0;
}

static int
exchange (curvecp_zmq_client_t *client, zlist_t *messages, uint64_t deadline)
{
    size_t want = zlist_size (messages), got = 0;
    curvecp_zmq_client_set_sndtimeo (client, milliseconds_left (deadline));
    for (char *text = (char *) zlist_first (messages); text; text = (char *) zlist_next (messages)) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, text, strlen (text));
        if (curvecp_zmq_client_send (client, &msg) != 0) {
            zmsg_destroy (&msg);
            return client_fail (client, "could not send", got, want);
        }
    }
    curvecp_zmq_client_flush (client);
    for (char *text = (char *) zlist_first (messages); text; text = (char *) zlist_next (messages)) {
        curvecp_zmq_client_set_rcvtimeo (client, milliseconds_left (deadline));
        zmsg_t *reply = milliseconds_left (deadline) ? curvecp_zmq_client_recv (client) : NULL;
        if (!reply)
            return client_fail (client, "timed out", got, want);
        char *body = zframe_strdup (zmsg_first (reply));
        printf ("%s\n", body ? body : "");
        fflush (stdout);
        free (body);
        bool same = reply_matches (reply, text);
        zmsg_destroy (&reply);
        if (!same)
            return client_fail (client, "a reply differs from the message sent", got, want);
        got++;
    }
    return 0;
}

static int
run_client (const options_t *options)
{
    uint8_t server_key[CURVECP_KEY_BYTES];
    load_server_key (options, server_key);
    curvecp_keypair_t keys;
    if (options->client_keys)
        load_keys (options->client_keys, &keys);
    else
        curvecp_keypair_generate (&keys);
    curvecp_zmq_client_t *client = curvecp_zmq_client_new (&keys, server_key, options->name);
    curvecp_keypair_wipe (&keys);
    if (!client)
        curvecp_tool_fatal_detail ("unable to create the client", NULL);
    curvecp_zmq_codec_options_t codec;
    curvecp_zmq_codec_options_default (&codec);
    if ((uint64_t) options->seconds * 1000000000ull < codec.handshake_timeout_ns)
        codec.handshake_timeout_ns = (uint64_t) options->seconds * 1000000000ull;
    curvecp_zmq_client_set_options (client, &codec);
    if (options->verbose) {
        char hex[2 * CURVECP_KEY_BYTES + 1];
        curvecp_key_to_hex (curvecp_zmq_client_public_key (client), hex);
        fprintf (stderr, "key %s\n", hex);
    }
    if (curvecp_zmq_client_connect (client, options->endpoint) != 0) {
        const char *why = zmq_strerror (zmq_errno ());
        curvecp_zmq_client_destroy (&client);
        curvecp_tool_fatal_detail ("unable to connect", why);
    }
    zlist_t *messages = collect_messages (options);
    uint64_t deadline = curvecp_clock_now () + (uint64_t) options->seconds * 1000000000ull;
    int rc = zlist_size (messages) ? exchange (client, messages, deadline) : wait_connected (client, deadline);
    zlist_destroy (&messages);
    curvecp_zmq_client_destroy (&client);
    return rc;
}

int
main (int argc, char **argv)
{
    options_t options;
    parse_options (argc, argv, &options);
    if (sodium_init () < 0)
        curvecp_tool_fatal_detail ("libsodium", NULL);
    zsys_handler_set (NULL);            /* our signals, not czmq's */
    if (options.client_mode)
        return run_client (&options);
    catch_signals ();
    return run_server (&options);
}
