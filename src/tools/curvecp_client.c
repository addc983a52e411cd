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

    Exit codes: 100 usage; 111 fatal (no response from server, child
    killed by a signal); otherwise the child's exit code.                 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "curvecp_keys.h"
#include "curvecp_packet.h"
#include "curvecp_safenonce.h"
#include "curvecp_udp_child.h"
#include "curvecp_udp_client.h"
#include "curvecp_udp_socket.h"

#define USAGE "curvecp-client: usage: curvecp-client [-q] [-Q] [-v] [-c keydir] [-m] [-e extfile] " \
              "sname pk ip[,ip...] port ext prog [args...]\n" \
              "  -c keydir  long-term client key (default: a fresh one)\n" \
              "  -m         in-process message layer: prog reads the server's bytes on fd 6\n" \
              "             and writes its own on fd 7 (default: prog is a message handler\n" \
              "             on fds 8/9, e.g. curvecpmessage -c)\n" \
              "  -e extfile client extension file (default /etc/curvecpextension)\n"
#define ADDRS_MAX 1000

static int verbosity = 1;               /* curvecpclient prints errors by default */
static curvecp_udp_child_t *child;

static void
usage (void)
{
    fputs (USAGE, stderr);
    exit (100);
}

static void
fatal (const char *what, int err)
{
    if (verbosity > 0)
        fprintf (stderr, "curvecp-client: fatal: %s%s%s\n", what, err ? ": " : "", err ? strerror (err) : "");
    exit (111);
}

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
        usage ();
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

static void
wait_for_cookie (curvecp_udp_client_t *client)
{
    for (;;) {
        uint64_t now = curvecp_clock_now ();
        curvecp_udp_client_state_t state = curvecp_udp_client_state (client, now);
        if (state == CURVECP_UDP_CONNECTED)
            return;
        if (state == CURVECP_UDP_NO_RESPONSE)
            fatal ("no response from server", ETIMEDOUT);
        struct pollfd fd = { curvecp_udp_client_fd (client), POLLIN, 0 };
        curvecp_udp_poll (&fd, 1, curvecp_udp_client_deadline (client));
        curvecp_udp_client_process (client, curvecp_clock_now ());
    }
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

int
main (int argc, char **argv)
{
    const char *keydir = NULL, *ext_path = NULL;
    bool in_process = false;
    int opt;
    while ((opt = getopt (argc, argv, "+qQvc:me:")) != -1) {
        switch (opt) {
            case 'q': verbosity = 0; break;
            case 'Q': verbosity = 1; break;
            case 'v': verbosity = 2; break;
            case 'c': keydir = optarg; break;
            case 'm': in_process = true; break;
            case 'e': ext_path = optarg; break;
            default: usage ();
        }
    }
    if (optind < argc && strcmp (argv[optind], "-") == 0)
        optind++;
    if (argc - optind < 6)
        usage ();
    char **arg = argv + optind;
    if (sodium_init () < 0)
        fatal ("libsodium", 0);
    curvecp_udp_client_config_t config;
    curvecp_udp_client_config_default (&config);
    uint8_t name_check[CURVECP_NAME_BYTES];
    uint16_t port;
    if (curvecp_name_encode (arg[0], name_check) != CURVECP_OK
    ||  curvecp_key_from_hex (arg[1], config.server_pk) != CURVECP_OK
    ||  curvecp_udp_port_parse (arg[3], &port) != CURVECP_OK
    ||  curvecp_udp_ext_parse (arg[4], config.server_ext) != CURVECP_OK)
        usage ();
    config.addr_count = parse_addresses (arg[2], port, config.addrs);
    config.server_name = arg[0];
    config.ext_path = ext_path;

    curvecp_udp_reserve_low_fds ();
    signal (SIGPIPE, SIG_IGN);
    curvecp_keypair_t keys;
    curvecp_safenonce_t *nonces = NULL;
    if (keydir) {
        if (curvecp_keydir_load (keydir, &keys) != CURVECP_OK)
            fatal ("unable to read key directory", errno);
        nonces = curvecp_safenonce_new (keydir, CURVECP_SAFENONCE_CLIENT);
        if (!nonces)
            fatal ("unable to open the key directory's nonce counter", errno);
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
        fatal ("unable to create UDP socket", errno);
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
        fatal ("unable to fork", errno);
    run (client);
    int status = curvecp_udp_child_reap (child, true);
    curvecp_udp_child_destroy (&child);
    curvecp_udp_client_destroy (&client);
    curvecp_safenonce_destroy (&nonces);
    if (status == 111 && verbosity > 0)
        fprintf (stderr, "curvecp-client: fatal: process killed by signal\n");
    return status;
}
