/*  The extension gateway's classes without sockets: the routes parser
    (good files, and each kind of bad line refused with its line number);
    the flows: a packet goes to the server its own extension names, a
    flow per (server ext, client ext, C'), a client that moves is
    followed, a server's answer goes to the client's current address only
    from the flow's server and for the flow's extensions; bad input of
    every kind is dropped, counted and changes nothing; state is bounded
    (LRU eviction, unanswered flows first), idle flows expire; a flood of
    random packets keeps the bound and leaves an answered flow alone; a
    route changed by a reload takes effect on the next packet.          */
#include <netinet/in.h>
#include <sodium.h>
#include "testutil.h"
#include <stdbool.h>
#include "app/curvecp_gateway.h"
#include "core/curvecp_packet.h"

static const char *EXT_A = "0123456789abcdef0123456789abcdef";
static const char *EXT_B = "fedcba9876543210FEDCBA9876543210";

static curvecp_gateway_routes_t *
parse (const char *text, char *error)
{
    return curvecp_gateway_routes_parse (text, strlen (text), error, CURVECP_GATEWAY_ERROR_TEXT);
}

static curvecp_udp_addr_t
addr (const char *ip, uint16_t port)
{
    curvecp_udp_addr_t out;
    CHECK (curvecp_udp_addr_parse (ip, port, &out) == CURVECP_OK);
    return out;
}

static void
test_routes_good (void)
{
    char error[CURVECP_GATEWAY_ERROR_TEXT], text[512];
    snprintf (text, sizeof text,
              "# routes\n\n   \t\n%s 127.0.0.2 1000   # NaCl's\n\t%s\t::1\t2000\r\n# end", EXT_A, EXT_B);
    curvecp_gateway_routes_t *routes = parse (text, error);
    CHECK (routes);
    CHECK_EQ (curvecp_gateway_routes_count (routes), 2);
    uint8_t ext[16];
    curvecp_udp_ext_parse (EXT_A, ext);
    curvecp_udp_addr_t a = addr ("127.0.0.2", 1000), b = addr ("::1", 2000);
    CHECK (curvecp_udp_addr_equal (curvecp_gateway_routes_lookup (routes, ext), &a));
    curvecp_udp_ext_parse (EXT_B, ext);
    CHECK (curvecp_udp_addr_equal (curvecp_gateway_routes_lookup (routes, ext), &b));
    ext[0] ^= 1;
    CHECK (curvecp_gateway_routes_lookup (routes, ext) == NULL);
    curvecp_gateway_routes_destroy (&routes);
    CHECK (routes == NULL);
    routes = parse ("", error);           /* an empty file routes nothing */
    CHECK (routes && curvecp_gateway_routes_count (routes) == 0);
    curvecp_gateway_routes_destroy (&routes);
}

static void
expect_refused (const char *text, size_t len, const char *why)
{
    char error[CURVECP_GATEWAY_ERROR_TEXT];
    curvecp_gateway_routes_t *routes = curvecp_gateway_routes_parse (text, len, error, sizeof error);
    if (routes || !strstr (error, why)) {
        fprintf (stderr, "routes %.60s: expected refusal '%s', got %s '%s'\n", text, why,
                 routes ? "accepted" : "refused", error);
        exit (1);
    }
}

static void
test_routes_bad (void)
{
    char text[2200];
    expect_refused ("0123 127.0.0.1 1\n", 17, "line 1: bad extension");
    snprintf (text, sizeof text, "# ok\n%s 127.0.0.1\n", EXT_A);
    expect_refused (text, strlen (text), "line 2: expected EXTHEX HOST PORT");
    snprintf (text, sizeof text, "%s 127.0.0.1 1 more\n", EXT_A);
    expect_refused (text, strlen (text), "line 1: extra field");
    snprintf (text, sizeof text, "%s 127.0.0.1 0\n", EXT_A);
    expect_refused (text, strlen (text), "bad port");
    snprintf (text, sizeof text, "%s 127.0.0.1 70000\n", EXT_A);
    expect_refused (text, strlen (text), "bad port");
    snprintf (text, sizeof text, "%s example.org 1\n", EXT_A);
    expect_refused (text, strlen (text), "bad host");
    snprintf (text, sizeof text, "%sx 127.0.0.1 1\n", EXT_A);
    expect_refused (text, strlen (text), "bad extension");
    snprintf (text, sizeof text, "%s 127.0.0.1 1\n\n%s 127.0.0.2 2\n", EXT_A, EXT_A);
    expect_refused (text, strlen (text), "line 3: extension already routed on line 1");
    snprintf (text, sizeof text, "%s 127.0.0.1 1\n", EXT_A);
    text[40] = 0;                          /* a NUL inside the host */
    expect_refused (text, strlen (EXT_A) + 14, "line 1: NUL byte");
    memset (text, ' ', 2100);
    expect_refused (text, 2100, "line 1: longer than");
    char error[CURVECP_GATEWAY_ERROR_TEXT];
    CHECK (curvecp_gateway_routes_load ("/nonexistent/routes", error, sizeof error) == NULL);
    CHECK (strstr (error, "cannot open /nonexistent/routes"));
}

/* ---- packets ------------------------------------------------------------ */

/* A client packet: magic, server ext, client ext, C' (c_byte), zero body. */
static size_t
client_packet (uint8_t *out, const uint8_t magic[8], size_t len, const char *sext, uint8_t cext_byte, uint8_t c_byte)
{
    memset (out, 0, len);
    memcpy (out, magic, 8);
    curvecp_udp_ext_parse (sext, out + 8);
    memset (out + 24, cext_byte, 16);
    memset (out + 40, c_byte, 32);
    return len;
}

static size_t
hello (uint8_t *out, const char *sext, uint8_t c_byte)
{
    return client_packet (out, curvecp_magic_hello, CURVECP_HELLO_BYTES, sext, 0, c_byte);
}

/* A server packet: magic, client ext, server ext, zero body. */
static size_t
server_packet (uint8_t *out, const uint8_t magic[8], size_t len, uint8_t cext_byte, const char *sext)
{
    memset (out, 0, len);
    memcpy (out, magic, 8);
    memset (out + 8, cext_byte, 16);
    curvecp_udp_ext_parse (sext, out + 24);
    return len;
}

static curvecp_gateway_t *
gateway_with_routes (size_t max_flows, uint64_t idle_ns)
{
    char text[256], error[CURVECP_GATEWAY_ERROR_TEXT];
    snprintf (text, sizeof text, "%s 127.0.0.2 1000\n%s 127.0.0.3 2000\n", EXT_A, EXT_B);
    curvecp_gateway_t *gateway = curvecp_gateway_new (max_flows, idle_ns);
    CHECK (gateway);
    curvecp_gateway_routes_t *routes = parse (text, error);
    CHECK (routes);
    curvecp_gateway_set_routes (gateway, &routes);
    CHECK (routes == NULL);
    return gateway;
}

static void
test_forwarding (void)
{
    curvecp_gateway_t *gateway = gateway_with_routes (8, 0);
    curvecp_udp_addr_t client = addr ("192.0.2.1", 5000), moved = addr ("198.51.100.7", 6000);
    curvecp_udp_addr_t server_a = addr ("127.0.0.2", 1000), server_b = addr ("127.0.0.3", 2000);
    uint8_t packet[1300];
    curvecp_gateway_forward_t forward;
    //  a Hello to A opens a flow towards A
    size_t len = hello (packet, EXT_A, 1);
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 10, &forward), CURVECP_OK);
    CHECK (forward.fresh && !forward.moved);
    CHECK (curvecp_udp_addr_equal (forward.server, &server_a));
    int slot_a = forward.slot;
    //  the Initiate and Messages of the same (sext, cext, C') use it
    len = client_packet (packet, curvecp_magic_initiate, CURVECP_INITIATE_BASE + 16, EXT_A, 0, 1);
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 11, &forward), CURVECP_OK);
    CHECK (!forward.fresh && forward.slot == slot_a);
    //  the same C' to server B is another flow, to B: the packet's own extension decides
    len = hello (packet, EXT_B, 1);
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 12, &forward), CURVECP_OK);
    CHECK (forward.fresh && forward.slot != slot_a);
    CHECK (curvecp_udp_addr_equal (forward.server, &server_b));
    int slot_b = forward.slot;
    //  another client extension with the same C' is another flow too
    len = client_packet (packet, curvecp_magic_hello, CURVECP_HELLO_BYTES, EXT_A, 9, 1);
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 12, &forward), CURVECP_OK);
    CHECK (forward.fresh && forward.slot != slot_a && forward.slot != slot_b);
    CHECK_EQ (curvecp_gateway_flows (gateway), 3);

    //  the server's Cookie goes back to the client
    const curvecp_udp_addr_t *to = NULL;
    len = server_packet (packet, curvecp_magic_cookie, CURVECP_COOKIE_BYTES, 0, EXT_A);
    CHECK_EQ (curvecp_gateway_from_server (gateway, slot_a, packet, len, &server_a, 13, &to), CURVECP_OK);
    CHECK (curvecp_udp_addr_equal (to, &client));
    //  the client moves: a Client Message from a new address moves the flow
    len = client_packet (packet, curvecp_magic_client_msg, CURVECP_CLIENT_MSG_BASE + 1088, EXT_A, 0, 1);
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &moved, 14, &forward), CURVECP_OK);
    CHECK (!forward.fresh && forward.moved && forward.slot == slot_a);
    CHECK (curvecp_udp_addr_equal (curvecp_gateway_flow_client (gateway, slot_a), &moved));
    CHECK_EQ (curvecp_gateway_info (gateway)->flows_moved, 1);
    len = server_packet (packet, curvecp_magic_server_msg, CURVECP_SERVER_MSG_BASE + 16, 0, EXT_A);
    CHECK_EQ (curvecp_gateway_from_server (gateway, slot_a, packet, len, &server_a, 15, &to), CURVECP_OK);
    CHECK (curvecp_udp_addr_equal (to, &moved));
    //  the move did not touch the other flows
    CHECK (curvecp_udp_addr_equal (curvecp_gateway_flow_client (gateway, slot_b), &client));
    CHECK_EQ (curvecp_gateway_info (gateway)->from_clients.counts[CURVECP_OK], 5);
    CHECK_EQ (curvecp_gateway_info (gateway)->from_servers.counts[CURVECP_OK], 2);
    CHECK_EQ (curvecp_stats_rejected (&curvecp_gateway_info (gateway)->from_clients), 0);
    curvecp_gateway_destroy (&gateway);
    CHECK (gateway == NULL);
}

static void
expect_client_drop (curvecp_gateway_t *gateway, const uint8_t *packet, size_t len, curvecp_reason_t why)
{
    curvecp_udp_addr_t from = addr ("203.0.113.9", 7);
    curvecp_gateway_forward_t forward;
    size_t flows = curvecp_gateway_flows (gateway);
    uint64_t before = curvecp_gateway_info (gateway)->from_clients.counts[why];
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &from, 20, &forward), why);
    CHECK_EQ (curvecp_gateway_info (gateway)->from_clients.counts[why], before + 1);
    CHECK_EQ (curvecp_gateway_flows (gateway), flows);
}

static void
expect_server_drop (curvecp_gateway_t *gateway, int slot, const uint8_t *packet, size_t len,
        const curvecp_udp_addr_t *from, curvecp_reason_t why)
{
    const curvecp_udp_addr_t *to = NULL;
    uint64_t before = curvecp_gateway_info (gateway)->from_servers.counts[why];
    CHECK_EQ (curvecp_gateway_from_server (gateway, slot, packet, len, from, 20, &to), why);
    CHECK_EQ (curvecp_gateway_info (gateway)->from_servers.counts[why], before + 1);
    CHECK (to == NULL);
}

static void
test_bad_input (void)
{
    curvecp_gateway_t *gateway = gateway_with_routes (8, 0);
    uint8_t packet[1300];
    size_t len = hello (packet, EXT_A, 1);
    expect_client_drop (gateway, packet, 0, CURVECP_E_TOO_SHORT);
    expect_client_drop (gateway, packet, 79, CURVECP_E_TOO_SHORT);
    expect_client_drop (gateway, packet, len - 1, CURVECP_E_NOT_MULTIPLE_16);
    expect_client_drop (gateway, packet, len - 16, CURVECP_E_TOO_SHORT);      /* a Hello is exactly 224 */
    expect_client_drop (gateway, packet, 1200, CURVECP_E_TOO_LONG);
    len = hello (packet, "00000000000000000000000000000000", 1);
    expect_client_drop (gateway, packet, len, CURVECP_E_WRONG_SERVER_EXT);   /* no route */
    len = server_packet (packet, curvecp_magic_cookie, 208, 0, EXT_A);
    expect_client_drop (gateway, packet, len, CURVECP_E_BAD_MAGIC);          /* a server's packet */
    len = hello (packet, EXT_A, 1);
    packet[7] = 'X';
    expect_client_drop (gateway, packet, len, CURVECP_E_BAD_MAGIC);
    CHECK_EQ (curvecp_gateway_flows (gateway), 0);
    CHECK_EQ (curvecp_gateway_info (gateway)->flows_opened, 0);

    //  from a server: only a Cookie or Server Message of the flow's extensions, from its server
    curvecp_udp_addr_t client = addr ("192.0.2.1", 5000), server = addr ("127.0.0.2", 1000);
    curvecp_udp_addr_t other = addr ("127.0.0.3", 2000);
    curvecp_gateway_forward_t forward;
    len = hello (packet, EXT_A, 1);
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 1, &forward), CURVECP_OK);
    len = server_packet (packet, curvecp_magic_cookie, CURVECP_COOKIE_BYTES, 0, EXT_A);
    expect_server_drop (gateway, forward.slot, packet, len, &other, CURVECP_E_WRONG_SOURCE);
    expect_server_drop (gateway, forward.slot + 1, packet, len, &server, CURVECP_E_UNKNOWN_SESSION);
    expect_server_drop (gateway, -1, packet, len, &server, CURVECP_E_UNKNOWN_SESSION);
    expect_server_drop (gateway, 8, packet, len, &server, CURVECP_E_UNKNOWN_SESSION);
    expect_server_drop (gateway, forward.slot, packet, len - 8, &server, CURVECP_E_TOO_SHORT);     /* a Cookie is exactly 200 */
    expect_server_drop (gateway, forward.slot, packet, 40, &server, CURVECP_E_TOO_SHORT);
    len = server_packet (packet, curvecp_magic_cookie, CURVECP_COOKIE_BYTES, 5, EXT_A);
    expect_server_drop (gateway, forward.slot, packet, len, &server, CURVECP_E_WRONG_CLIENT_EXT);
    len = server_packet (packet, curvecp_magic_cookie, CURVECP_COOKIE_BYTES, 0, EXT_B);
    expect_server_drop (gateway, forward.slot, packet, len, &server, CURVECP_E_WRONG_SERVER_EXT);
    len = client_packet (packet, curvecp_magic_client_msg, 112, EXT_A, 0, 1);
    expect_server_drop (gateway, forward.slot, packet, len, &server, CURVECP_E_BAD_MAGIC);
    CHECK (curvecp_udp_addr_equal (curvecp_gateway_flow_client (gateway, forward.slot), &client));
    CHECK_EQ (curvecp_gateway_info (gateway)->from_servers.counts[CURVECP_OK], 0);
    curvecp_gateway_destroy (&gateway);
}

static void
test_bounds (void)
{
    curvecp_gateway_t *gateway = gateway_with_routes (4, 0);
    curvecp_udp_addr_t client = addr ("192.0.2.1", 5000), server = addr ("127.0.0.2", 1000);
    uint8_t packet[1300];
    curvecp_gateway_forward_t forward;
    int slots[4];
    for (int i = 0; i < 4; i++) {
        size_t len = hello (packet, EXT_A, (uint8_t) (i + 1));
        CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, (uint64_t) i, &forward), CURVECP_OK);
        slots[i] = forward.slot;
    }
    CHECK_EQ (curvecp_gateway_flows (gateway), 4);
    //  the server answers flow 0 (the oldest): it is kept while unanswered flows remain
    const curvecp_udp_addr_t *to;
    size_t len = server_packet (packet, curvecp_magic_cookie, CURVECP_COOKIE_BYTES, 0, EXT_A);
    CHECK_EQ (curvecp_gateway_from_server (gateway, slots[0], packet, len, &server, 4, &to), CURVECP_OK);
    //  a fifth flow evicts the least recently used unanswered one: flow 1
    len = hello (packet, EXT_A, 5);
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 5, &forward), CURVECP_OK);
    CHECK (forward.fresh && forward.slot == slots[1]);
    CHECK_EQ (curvecp_gateway_info (gateway)->flows_evicted, 1);
    //  a flood of new flows churns among unanswered ones; flow 0 stays
    for (int i = 0; i < 10000; i++) {
        len = hello (packet, EXT_A, 0);
        randombytes_buf (packet + 40, 32);
        CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 6, &forward), CURVECP_OK);
        CHECK (forward.slot != slots[0]);
        CHECK (curvecp_gateway_flows (gateway) == 4);
    }
    len = client_packet (packet, curvecp_magic_client_msg, 112, EXT_A, 0, 1);
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 7, &forward), CURVECP_OK);
    CHECK (!forward.fresh && forward.slot == slots[0]);
    curvecp_gateway_destroy (&gateway);

    //  all answered: the least recently used answered flow goes
    gateway = gateway_with_routes (2, 0);
    for (int i = 0; i < 2; i++) {
        len = hello (packet, EXT_A, (uint8_t) (i + 1));
        CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, (uint64_t) i, &forward), CURVECP_OK);
        slots[i] = forward.slot;
        len = server_packet (packet, curvecp_magic_cookie, CURVECP_COOKIE_BYTES, 0, EXT_A);
        CHECK_EQ (curvecp_gateway_from_server (gateway, slots[i], packet, len, &server, 2, &to), CURVECP_OK);
    }
    len = hello (packet, EXT_A, 1);                                   /* flow 0 used last */
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 3, &forward), CURVECP_OK);
    len = hello (packet, EXT_A, 3);
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 4, &forward), CURVECP_OK);
    CHECK (forward.fresh && forward.slot == slots[1]);
    curvecp_gateway_destroy (&gateway);
    CHECK (curvecp_gateway_new (CURVECP_GATEWAY_FLOWS_LIMIT + 1, 0) == NULL);
}

static int closed[16], closed_count;

static void
on_close (void *ctx, int slot)
{
    CHECK (ctx == closed);
    closed[closed_count++] = slot;
}

static void
test_expiry (void)
{
    curvecp_gateway_t *gateway = gateway_with_routes (4, 100);
    curvecp_udp_addr_t client = addr ("192.0.2.1", 5000), server = addr ("127.0.0.2", 1000);
    uint8_t packet[1300];
    curvecp_gateway_forward_t forward;
    CHECK_EQ (curvecp_gateway_expire (gateway, 0, on_close, closed), UINT64_MAX);
    size_t len = hello (packet, EXT_A, 1);
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 1000, &forward), CURVECP_OK);
    int first = forward.slot;
    len = hello (packet, EXT_A, 2);
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 1050, &forward), CURVECP_OK);
    int second = forward.slot;
    //  an answer from the server keeps the first flow alive too
    const curvecp_udp_addr_t *to;
    len = server_packet (packet, curvecp_magic_cookie, CURVECP_COOKIE_BYTES, 0, EXT_A);
    CHECK_EQ (curvecp_gateway_from_server (gateway, first, packet, len, &server, 1080, &to), CURVECP_OK);
    CHECK_EQ (curvecp_gateway_expire (gateway, 1100, on_close, closed), 1150);
    CHECK_EQ (closed_count, 0);
    CHECK_EQ (curvecp_gateway_expire (gateway, 1150, on_close, closed), 1180);
    CHECK_EQ (closed_count, 1);
    CHECK_EQ (closed[0], second);
    CHECK_EQ (curvecp_gateway_expire (gateway, 5000, on_close, closed), UINT64_MAX);
    CHECK_EQ (closed_count, 2);
    CHECK_EQ (closed[1], first);
    CHECK_EQ (curvecp_gateway_flows (gateway), 0);
    CHECK_EQ (curvecp_gateway_info (gateway)->flows_expired, 2);
    CHECK (curvecp_gateway_flow_client (gateway, first) == NULL);
    //  an expired flow's late server packet is refused; its client's next packet opens a new flow
    expect_server_drop (gateway, first, packet, len, &server, CURVECP_E_UNKNOWN_SESSION);
    len = hello (packet, EXT_A, 1);
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 6000, &forward), CURVECP_OK);
    CHECK (forward.fresh);
    curvecp_gateway_destroy (&gateway);
}

static void
test_flood (void)
{
    curvecp_gateway_t *gateway = gateway_with_routes (64, 0);
    uint8_t packet[1300];
    curvecp_gateway_forward_t forward;
    static const size_t sizes[] = { 224, 560, 1184, 112, 80, 1300, 7, 1000 };
    uint64_t total = 0;
    for (int i = 0; i < 200000; i++) {
        size_t len = sizes[randombytes_uniform (8)];
        randombytes_buf (packet, len);
        uint32_t kind = randombytes_uniform (4);
        if (kind > 0)
            memcpy (packet, randombytes_uniform (3) == 0 ? curvecp_magic_hello
                          : randombytes_uniform (2) ? curvecp_magic_initiate : curvecp_magic_client_msg, 8);
        if (kind > 1 && len >= 24)
            curvecp_udp_ext_parse (kind == 2 ? EXT_A : EXT_B, packet + 8);
        curvecp_udp_addr_t from = addr ("10.0.0.0", (uint16_t) randombytes_uniform (65536));
        ((struct sockaddr_in *) &from.sa)->sin_addr.s_addr = randombytes_random ();
        curvecp_gateway_from_client (gateway, packet, len, &from, (uint64_t) i, &forward);
        total++;
        CHECK (curvecp_gateway_flows (gateway) <= 64);
    }
    const curvecp_gateway_info_t *info = curvecp_gateway_info (gateway);
    CHECK_EQ (info->from_clients.counts[CURVECP_OK] + curvecp_stats_rejected (&info->from_clients), total);
    CHECK (info->from_clients.counts[CURVECP_E_WRONG_SERVER_EXT] > 10000);
    CHECK (info->from_clients.counts[CURVECP_OK] > 10000);
    CHECK_EQ (info->flows_opened, info->flows_evicted + 64);
    CHECK_EQ (curvecp_gateway_flows (gateway), 64);
    fprintf (stderr, "flood of %llu: ", (unsigned long long) total);
    curvecp_gateway_print_info (gateway, stderr);
    curvecp_gateway_destroy (&gateway);
}

static void
test_reroute (void)
{
    curvecp_gateway_t *gateway = gateway_with_routes (4, 0);
    curvecp_udp_addr_t client = addr ("192.0.2.1", 5000), old_server = addr ("127.0.0.2", 1000);
    curvecp_udp_addr_t new_server = addr ("127.0.0.9", 1001);
    uint8_t packet[1300];
    curvecp_gateway_forward_t forward;
    size_t len = hello (packet, EXT_A, 1);
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 1, &forward), CURVECP_OK);
    char text[128], error[CURVECP_GATEWAY_ERROR_TEXT];
    snprintf (text, sizeof text, "%s 127.0.0.9 1001\n", EXT_A);
    curvecp_gateway_routes_t *routes = parse (text, error);
    CHECK (routes);
    curvecp_gateway_set_routes (gateway, &routes);
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 2, &forward), CURVECP_OK);
    CHECK (forward.fresh && forward.rerouted && curvecp_udp_addr_equal (forward.server, &new_server));
    CHECK_EQ (curvecp_gateway_from_client (gateway, packet, len, &client, 3, &forward), CURVECP_OK);
    CHECK (!forward.fresh && !forward.rerouted);
    CHECK_EQ (curvecp_gateway_info (gateway)->flows_rerouted, 1);
    len = server_packet (packet, curvecp_magic_cookie, CURVECP_COOKIE_BYTES, 0, EXT_A);
    expect_server_drop (gateway, forward.slot, packet, len, &old_server, CURVECP_E_WRONG_SOURCE);
    //  a route taken away: that extension's packets are dropped
    len = hello (packet, EXT_B, 1);
    expect_client_drop (gateway, packet, len, CURVECP_E_WRONG_SERVER_EXT);
    curvecp_gateway_destroy (&gateway);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_routes_good ();
    test_routes_bad ();
    test_forwarding ();
    test_bad_input ();
    test_bounds ();
    test_expiry ();
    test_flood ();
    test_reroute ();
    printf ("test_gateway_flows: OK\n");
    return 0;
}
