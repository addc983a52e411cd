/*  curvecp-tunnel - carry TCP connections over CurveCP, in spiped's shape
    with CurveCP's keys (the work is curvecp_tunnel's; this is options).

    curvecp-tunnel -e -s HOST:PORT -t HOST:PORT -p SERVERKEYHEX [-n NAME] [-x EXTHEX] [-c N] [-K SECONDS] [-q] [-v]
    curvecp-tunnel -d -s HOST:PORT -t HOST:PORT -k KEYDIR [-n NAME] [-x EXTHEX] [-c N] [-q] [-v]

    -e accepts TCP on -s and carries each connection over its own CurveCP
    connection to the UDP address -t; -d receives them on UDP -s and
    connects each to the TCP service -t. -K (-e) is the keepalive of an
    idle connection (default 25 s, under the 30 s after which many NATs
    forget a UDP mapping; 0 turns it off). SIGUSR1 (-e) moves to a new UDP
    port; SIGTERM or SIGINT ends the tunnel (open connections are reset).
    Exit codes: 0 after a signal; 100 usage; 111 fatal.                  */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_endpoint.h"
#include "curvecp_keys.h"
#include "curvecp_packet.h"
#include "curvecp_safenonce.h"
#include "curvecp_tool.h"
#include "curvecp_tunnel.h"
#include "udp/curvecp_udp_internal.h"

#define USAGE "curvecp-tunnel: usage: curvecp-tunnel -e -s HOST:PORT -t HOST:PORT -p SERVERKEYHEX [options]\n" \
              "                       curvecp-tunnel -d -s HOST:PORT -t HOST:PORT -k KEYDIR [options]\n" \
              "  -e         encrypt: accept TCP on -s, carry each connection to the UDP address -t\n" \
              "  -d         decrypt: accept CurveCP on UDP -s, connect each to the TCP service -t\n" \
              "  -s ADDR    where to listen (ip:port or [ipv6]:port; port 0: any free port)\n" \
              "  -t ADDR    where to go\n" \
              "  -p HEX     (-e) the decrypting side's long-term public key, 64 hex digits\n" \
              "  -k KEYDIR  (-d) our key directory (curvecp-makekey)\n" \
              "  -n NAME    server name (default " CURVECP_TUNNEL_NAME ")\n" \
              "  -x EXT     server extension, 32 hex digits (default zeros)\n" \
              "  -c N       at most N connections at once (default 100); more are refused\n" \
              "  -K SECS    (-e) an idle connection sends a keepalive every SECS seconds (0.05..3600,\n" \
              "             up to 3 decimals; default 25; 0: none), so a NAT keeps its mapping\n" \
              "  -q / -v    no messages / also the bound address and counts at the end\n" \
              "  -h         this help\n" \
              "A TCP reset, a failure EOF or a failed CurveCP connection (peer silent with data\n" \
              "outstanding for 60 s, or CURVECP_GIVE_UP_MS) resets the other side's TCP\n" \
              "connection. SIGUSR1 (-e): move to a new UDP port. Exit codes: 0 after SIGTERM or\n" \
              "SIGINT; 100 usage; 111 fatal.\n"

/* Under the 30 s after which many NATs forget an idle UDP mapping (the
   interval WireGuard suggests for its persistent keepalive too). */
#define DEFAULT_KEEPALIVE_NS 25000000000ull

static volatile sig_atomic_t stopping, rebinding;
static int verbosity = 1;

static void
on_signal (int sig)
{
    if (sig == SIGUSR1)
        rebinding = 1;
    else
        stopping = 1;
}

static void
parse_address (const char *text, char option, curvecp_udp_addr_t *addr)
{
    curvecp_endpoint_t endpoint;
    if (curvecp_endpoint_parse (text, &endpoint) != CURVECP_OK || endpoint.kind != CURVECP_ENDPOINT_UDP)
        curvecp_tool_usage_error ("bad address for -%c: '%s' (ip:port or [ipv6]:port)", option, text);
    *addr = endpoint.udp;
}

static int
parse_count (const char *text)
{
    uint64_t n;
    if (!curvecp_tool_number (text, 1, 1000000, &n))
        curvecp_tool_usage_error ("bad connection limit: '%s' (1..1000000)", text);
    return (int) n;
}

/* -K: seconds with up to three decimals (digits only, as
   curvecp_tool_number takes them), 0 = off, else 0.05..3600. */
static uint64_t
parse_keepalive (const char *text)
{
    char whole[16] = "";
    const char *dot = strchr (text, '.');
    size_t whole_len = dot ? (size_t) (dot - text) : strlen (text);
    size_t fraction_len = dot ? strlen (dot + 1) : 0;
    uint64_t seconds = 0, fraction = 0;
    if (whole_len < sizeof whole)
        memcpy (whole, text, whole_len);
    bool good = whole_len < sizeof whole && curvecp_tool_number (whole, 0, 3600, &seconds)
             && (!dot || (fraction_len >= 1 && fraction_len <= 3
                          && curvecp_tool_number (dot + 1, 0, 999, &fraction)));
    for (size_t i = fraction_len; i < 3; i++)
        fraction *= 10;
    uint64_t ms = seconds * 1000 + fraction;
    if (!good || (ms != 0 && (ms < 50 || ms > 3600000)))
        curvecp_tool_usage_error ("bad keepalive interval: '%s' (0, or 0.05..3600 seconds, up to 3 decimals)", text);
    return ms * 1000000ull;
}

static void
say_counts (curvecp_tunnel_t *tunnel)
{
    const curvecp_tunnel_info_t *info = curvecp_tunnel_info (tunnel);
    fprintf (stderr, "curvecp-tunnel: connections %llu refused %llu clean %llu resets %llu tcp_resets %llu "
             "failed %llu connect_failed %llu datagrams_refused %llu roams %llu bytes_in %llu bytes_out %llu "
             "keepalives %llu\n",
             (unsigned long long) info->accepted, (unsigned long long) info->refused,
             (unsigned long long) info->clean, (unsigned long long) info->resets,
             (unsigned long long) info->tcp_resets, (unsigned long long) info->failed,
             (unsigned long long) info->connect_failed, (unsigned long long) info->datagrams_refused, (unsigned long long) info->roams,
             (unsigned long long) info->bytes_in, (unsigned long long) info->bytes_out,
             (unsigned long long) info->keepalives);
}

int
main (int argc, char **argv)
{
    curvecp_tool_start ("curvecp-tunnel", USAGE, "eds:t:p:k:n:x:c:K:qv", argc, argv);
    curvecp_tunnel_config_t config;
    curvecp_tunnel_config_default (&config);
    const char *source = NULL, *target = NULL, *pk = NULL, *keydir = NULL, *name = NULL, *ext = NULL;
    const char *keepalive = NULL;
    int mode = 0, opt;
    while ((opt = getopt (argc, argv, curvecp_tool_optstring ())) != -1) {
        switch (opt) {
            case 'e': case 'd': mode = opt; break;
            case 's': source = optarg; break;
            case 't': target = optarg; break;
            case 'p': pk = optarg; break;
            case 'k': keydir = optarg; break;
            case 'n': name = optarg; break;
            case 'x': ext = optarg; break;
            case 'c': config.max_connections = parse_count (optarg); break;
            case 'K': keepalive = optarg; break;
            case 'q': verbosity = 0; break;
            case 'v': verbosity = 2; break;
            default: curvecp_tool_bad_option ();
        }
    }
    curvecp_tool_set_quiet (verbosity == 0);
    if (optind < argc)
        curvecp_tool_usage_error ("unexpected argument '%s'", argv[optind]);
    if (!mode)
        curvecp_tool_usage_error ("one of -e and -d is needed");
    if (!source || !target)
        curvecp_tool_usage_error ("-s and -t are needed");
    config.encrypt = mode == 'e';
    parse_address (source, 's', &config.source);
    parse_address (target, 't', &config.target);
    if (config.encrypt && (!pk || keydir))
        curvecp_tool_usage_error ("-e takes -p SERVERKEYHEX (and no -k)");
    if (!config.encrypt && (!keydir || pk))
        curvecp_tool_usage_error ("-d takes -k KEYDIR (and no -p)");
    if (!config.encrypt && keepalive)
        curvecp_tool_usage_error ("-K is for -e (the side behind a NAT)");
    if (config.encrypt)
        config.keepalive_ns = keepalive ? parse_keepalive (keepalive) : DEFAULT_KEEPALIVE_NS;
    if (pk && curvecp_key_from_hex (pk, config.server_pk) != CURVECP_OK)
        curvecp_tool_usage_error ("bad server key: '%s' (64 hex digits)", pk);
    if (ext && curvecp_udp_ext_parse (ext, config.ext) != CURVECP_OK)
        curvecp_tool_usage_error ("bad server extension: '%s' (32 hex digits)", ext);
    uint8_t name_check[CURVECP_NAME_BYTES];
    config.name = name ? name : CURVECP_TUNNEL_NAME;
    if (curvecp_name_encode (config.name, name_check) != CURVECP_OK)
        curvecp_tool_usage_error ("bad server name: '%s' (dotted labels of 1..63 bytes)", config.name);

    curvecp_stream_config_t stream;
    curvecp_udp_stream_config_default (&stream);
    stream.give_up_ns = curvecp_tool_give_up_ns (stream.give_up_ns);
    config.stream = &stream;
    curvecp_keypair_t keys;
    curvecp_safenonce_t *nonces = NULL;
    if (keydir) {
        errno = 0;
        if (curvecp_keydir_load (keydir, &keys) != CURVECP_OK) {
            char what[512];
            snprintf (what, sizeof what, "unable to read key directory %s: %s", keydir, curvecp_keys_error ());
            curvecp_tool_fatal ("%s", what);          /* curvecp_keys_error says why */
        }
        nonces = curvecp_safenonce_new (keydir, CURVECP_SAFENONCE_SERVER);
        if (!nonces)
            curvecp_tool_fatal_errno ("unable to open the key directory's nonce counter");
        config.keys = &keys;
        config.cookie_nonce = curvecp_safenonce_next;
        config.cookie_nonce_context = nonces;
    }
    signal (SIGPIPE, SIG_IGN);
    signal (SIGTERM, on_signal);
    signal (SIGINT, on_signal);
    signal (SIGUSR1, on_signal);
    curvecp_tunnel_t *tunnel = curvecp_tunnel_new (&config);
    if (keydir)
        curvecp_keypair_wipe (&keys);
    if (!tunnel)
        curvecp_tool_fatal_errno (config.encrypt ? "unable to listen on TCP -s or open a UDP socket"
                                                 : "unable to bind UDP -s");
    if (verbosity > 1) {
        curvecp_udp_addr_t local;
        char text[CURVECP_UDP_ADDR_TEXT];
        curvecp_tunnel_local (tunnel, &local);
        fprintf (stderr, "curvecp-tunnel: listening on %s %s\n", config.encrypt ? "tcp" : "udp",
                 curvecp_udp_addr_format (&local, text, sizeof text));
    }
    while (!stopping) {
        curvecp_tunnel_step (tunnel, 100000000ull);   /* a signal between check and wait: 0.1 s late */
        if (rebinding) {
            rebinding = 0;
            if (curvecp_tunnel_rebind (tunnel) != CURVECP_OK && verbosity > 0)
                fprintf (stderr, "curvecp-tunnel: cannot move to a new UDP port\n");
            else
            if (verbosity > 1)
                fprintf (stderr, "curvecp-tunnel: moved to a new UDP port\n");
        }
    }
    if (verbosity > 1)
        say_counts (tunnel);
    curvecp_tunnel_destroy (&tunnel);
    curvecp_safenonce_destroy (&nonces);
    return 0;
}
