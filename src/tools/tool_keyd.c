/*  curvecp-keyd - the key service (curvecp_keyd.h): holds the signed key
    set in a state directory and serves it over the secured DEALER-ROUTER
    on the Clone pattern (snapshot, then updates in sequence, heartbeats).

    curvecp-keyd [-v] [-n name] keys adminkey statedir endpoint

    keys: our long-term keys (NaCl key directory or zcert secret file);
    adminkey: the administrator's Ed25519 public key (64 hex digits or a
    file holding them, e.g. admin.pub from curvecp-keys new-admin): only
    changes signed by it are taken; statedir: where the set is kept
    (statedir/keyset, created with the directory if missing); endpoint:
    the ØMQ endpoint to bind. -v prints "listening <endpoint>" (so that
    tcp://127.0.0.1:* can pick a port) and a line per change or refusal.
    -n: our server name (default "keyd"). SIGTERM or SIGINT ends it
    (exit 0). Exit codes: 100 usage; 111 fatal (keys, state, bind).    */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include <czmq.h>
#include "curvecp_keyd.h"
#include "curvecp_adminkey.h"
#include "curvecp_packet.h"
#include "curvecp_tool.h"

#define USAGE "curvecp-keyd: usage: curvecp-keyd [-v] [-n name] keys adminkey statedir endpoint\n" \
    "  keys      our long-term keys: NaCl key directory or zcert secret file\n" \
    "  adminkey  the administrator's public key: 64 hex digits or a file with them\n" \
    "            (ADMINKEY.pub from curvecp-keys new-admin)\n" \
    "  statedir  where the signed set is kept (statedir/keyset)\n" \
    "  endpoint  ØMQ endpoint to bind, e.g. tcp://127.0.0.1:7100\n" \
    "  -n name   our server name (default keyd)\n" \
    "  -v        print the endpoint bound and a line per change\n" \
    "  -h        this help\n" \
    "Exit codes: 0 stopped by SIGTERM or SIGINT; 100 usage; 111 fatal.\n"

static volatile sig_atomic_t stop_requested = 0;

static void
on_signal (int signum)
{
    (void) signum;
    stop_requested = 1;
}

int
main (int argc, char **argv)
{
    bool verbose = false;
    const char *name = CURVECP_KEYD_DEFAULT_NAME;
    int opt;
    curvecp_tool_start ("curvecp-keyd", USAGE, "vn:", argc, argv);
    while ((opt = getopt (argc, argv, curvecp_tool_optstring ())) != -1) {
        if (opt == 'v')
            verbose = true;
        else if (opt == 'n')
            name = optarg;
        else
            curvecp_tool_bad_option ();
    }
    if (argc - optind != 4)
        curvecp_tool_usage_error ("%d of the 4 arguments keys adminkey statedir endpoint", argc - optind);
    char **arg = argv + optind;
    uint8_t field[CURVECP_NAME_BYTES], admin[32];
    if (curvecp_name_encode (name, field) != CURVECP_OK)
        curvecp_tool_usage_error ("bad server name: -n '%s' (dotted labels of 1..63 bytes)", name);
    if (sodium_init () < 0)
        curvecp_tool_fatal_detail ("libsodium", NULL);
    if (curvecp_adminkey_load_public (arg[1], admin) != 0)
        curvecp_tool_usage_error ("bad adminkey: '%s' (64 hex digits, or a file with them)", arg[1]);
    curvecp_keypair_t keys;
    if (curvecp_keys_load (arg[0], &keys) != CURVECP_OK)
        curvecp_tool_fatal_detail ("unable to read keys", curvecp_keys_error ());
    if (mkdir (arg[2], 0755) != 0 && errno != EEXIST)
        curvecp_tool_fatal_detail ("unable to make the state directory", strerror (errno));
    char state[4096];
    snprintf (state, sizeof state, "%s/keyset", arg[2]);
    curvecp_keyd_t *keyd = curvecp_keyd_new (&keys, name, admin, state);
    curvecp_keypair_wipe (&keys);
    if (!keyd)
        curvecp_tool_fatal_detail ("unable to start: cannot read a set signed by adminkey from", state);
    if (curvecp_keyd_bind (keyd, arg[3]) < 0) {
        const char *why = zmq_strerror (zmq_errno ());
        curvecp_keyd_destroy (&keyd);
        curvecp_tool_fatal_detail ("unable to bind", why);
    }
    if (verbose) {
        char *bound = zsock_last_endpoint (curvecp_zmq_server_sock (curvecp_keyd_server (keyd)));
        fprintf (stderr, "listening %s\n", bound ? bound : arg[3]);
        zstr_free (&bound);
        curvecp_keyd_set_log (keyd, stderr);
    }
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);
    if (curvecp_keyd_start (keyd) != 0)
        curvecp_tool_fatal_detail ("unable to start the service thread", NULL);
    while (!stop_requested)
        usleep (100 * 1000);            /* the service runs in its thread */
    curvecp_keyd_destroy (&keyd);
    return 0;
}
