/*  fuzz_gateway - the extension gateway's routes parser and flows
    (curvecp_gateway_routes_t, curvecp_gateway_t).

    Input byte 0, bit 0 picks the mode:
      routes:  the rest is a routes file. Parsing never crashes, is
               deterministic (a second parse gives the same verdict and
               count), a refusal says why ("line N: ..."), and every
               extension written as the first field of an accepted line
               is found.
      packets: the rest is a sequence of datagrams, each: a direction
               byte (bit 0: from a server; bits 1-3: the flow slot or the
               source address), a length byte pair, the bytes. The
               gateway has two routes and at most 4 flows. Invariants:
               flows never exceed 4; every call is counted exactly once
               (forwarded or one reason); a forwarded client packet goes
               to the server its own bytes 8..23 name; a forwarded server
               packet goes to its flow's current client address; a
               refused datagram changes no flow count.                  */
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_gateway.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *ROUTES =
    "0123456789abcdef0123456789abcdef 127.0.0.2 1000\n"
    "00000000000000000000000000000000 ::1 2000\n";

static uint64_t
s_total (const curvecp_stats_t *stats)
{
    return stats->counts[CURVECP_OK] + curvecp_stats_rejected (stats);
}

static void
s_routes (const uint8_t *data, size_t size)
{
    char error[CURVECP_GATEWAY_ERROR_TEXT], again[CURVECP_GATEWAY_ERROR_TEXT];
    curvecp_gateway_routes_t *routes = curvecp_gateway_routes_parse ((const char *) data, size, error, sizeof error);
    curvecp_gateway_routes_t *second = curvecp_gateway_routes_parse ((const char *) data, size, again, sizeof again);
    FUZZ_CHECK ((routes == NULL) == (second == NULL));
    if (!routes) {
        FUZZ_CHECK (strncmp (error, "line ", 5) == 0 || strcmp (error, "out of memory") == 0);
        FUZZ_CHECK (strcmp (error, again) == 0);
        return;
    }
    FUZZ_CHECK (curvecp_gateway_routes_count (routes) == curvecp_gateway_routes_count (second));
    FUZZ_CHECK (curvecp_gateway_routes_count (routes) <= CURVECP_GATEWAY_ROUTES_MAX);
    //  each line's first field, when it is an extension, is routed
    size_t at = 0;
    while (at < size) {
        const uint8_t *end = memchr (data + at, '\n', size - at);
        size_t len = end ? (size_t) (end - (data + at)) : size - at;
        char field[33];
        size_t skip = 0;
        while (skip < len && (data[at + skip] == ' ' || data[at + skip] == '\t' || data[at + skip] == '\r'))
            skip++;
        uint8_t ext[CURVECP_EXT_BYTES];
        if (len - skip >= 33 && (data[at + skip + 32] == ' ' || data[at + skip + 32] == '\t')) {
            memcpy (field, data + at + skip, 32);
            field[32] = 0;
            if (curvecp_udp_ext_parse (field, ext) == CURVECP_OK)
                FUZZ_CHECK (curvecp_gateway_routes_lookup (routes, ext) != NULL);
        }
        at += len + 1;
    }
    curvecp_gateway_routes_destroy (&routes);
    curvecp_gateway_routes_destroy (&second);
}

static void
s_packets (const uint8_t *data, size_t size)
{
    char error[CURVECP_GATEWAY_ERROR_TEXT];
    curvecp_gateway_routes_t *routes = curvecp_gateway_routes_parse (ROUTES, strlen (ROUTES), error, sizeof error);
    FUZZ_CHECK (routes);
    curvecp_gateway_t *gateway = curvecp_gateway_new (4, 1000);
    FUZZ_CHECK (gateway);
    curvecp_gateway_set_routes (gateway, &routes);
    const curvecp_gateway_info_t *info = curvecp_gateway_info (gateway);
    curvecp_udp_addr_t servers[2], clients[8];
    FUZZ_CHECK (curvecp_udp_addr_parse ("127.0.0.2", 1000, &servers[0]) == CURVECP_OK);
    FUZZ_CHECK (curvecp_udp_addr_parse ("::1", 2000, &servers[1]) == CURVECP_OK);
    for (int i = 0; i < 8; i++)
        FUZZ_CHECK (curvecp_udp_addr_parse ("192.0.2.1", (uint16_t) (5000 + i), &clients[i]) == CURVECP_OK);
    uint64_t now = 0;
    size_t at = 0;
    while (at + 3 <= size) {
        uint8_t head = data[at];
        size_t len = (size_t) data[at + 1] | ((size_t) (data[at + 2] & 7) << 8);
        at += 3;
        if (len > size - at)
            len = size - at;
        const uint8_t *packet = data + at;
        at += len;
        now += 100;
        size_t flows = curvecp_gateway_flows (gateway);
        uint64_t calls_c = s_total (&info->from_clients), calls_s = s_total (&info->from_servers);
        if (head & 1) {
            int slot = (head >> 1) & 7;
            const curvecp_udp_addr_t *to = NULL;
            const curvecp_udp_addr_t *from = &servers[(head >> 4) & 1];
            curvecp_reason_t rc = curvecp_gateway_from_server (gateway, slot, packet, len, from, now, &to);
            FUZZ_CHECK (s_total (&info->from_servers) == calls_s + 1);
            if (rc == CURVECP_OK)
                FUZZ_CHECK (to == curvecp_gateway_flow_client (gateway, slot));
            else
                FUZZ_CHECK (to == NULL);
            FUZZ_CHECK (curvecp_gateway_flows (gateway) == flows);
        }
        else {
            curvecp_gateway_forward_t forward;
            const curvecp_udp_addr_t *from = &clients[(head >> 1) & 7];
            curvecp_reason_t rc = curvecp_gateway_from_client (gateway, packet, len, from, now, &forward);
            FUZZ_CHECK (s_total (&info->from_clients) == calls_c + 1);
            if (rc == CURVECP_OK) {
                const curvecp_udp_addr_t *route = curvecp_gateway_routes_lookup (curvecp_gateway_routes (gateway),
                                                                                  packet + 8);
                FUZZ_CHECK (route && curvecp_udp_addr_equal (route, forward.server));
                FUZZ_CHECK (curvecp_udp_addr_equal (curvecp_gateway_flow_client (gateway, forward.slot), from));
            }
            else
                FUZZ_CHECK (curvecp_gateway_flows (gateway) == flows);
        }
        FUZZ_CHECK (curvecp_gateway_flows (gateway) <= 4);
        if (head == 0xfe)
            curvecp_gateway_expire (gateway, now, NULL, NULL);
    }
    curvecp_gateway_destroy (&gateway);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        s_packets (data + 1, size - 1);
    else
        s_routes (data + 1, size - 1);
    return 0;
}
