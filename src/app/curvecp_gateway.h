/*  curvecp_gateway.h - the forwarding logic of curvecp-gateway, without
    sockets: CurveCP's gateway of the addressing design, which takes a
    local server address out of a packet's 16-byte server extension.

    The gateway holds no key and authenticates nothing. For a client
    packet (Hello, Initiate, Client Message, told apart by magic and
    length only) it reads the server extension, the client extension and
    the client's short-term key C' (bytes 8..72 of all three), picks the
    route by the packet's own server extension, and keeps a flow per
    (server extension, client extension, C'): a slot number the caller
    ties to a socket of its own towards the server, so that what the
    server sends back on that socket goes to the client's current
    address. The client's address is the source of the latest
    well-formed packet of the flow: a client that moves is followed (and
    a forged packet can at worst misdirect return traffic until the real
    client speaks again; the server authenticates).

    State is bounded: at most max_flows flows, all allocated at creation;
    a new flow when all are taken evicts the least recently used flow
    that no server has answered yet (a flood of made-up packets gets no
    answers, so it cannot push out the flows of real clients), or, when
    every flow has been answered, the least recently used one; a flow
    idle for idle_ns expires. Every refused datagram is counted by reason
    (curvecp_stats_t) and changes nothing. rfc/curvecp.md 11.9 has the
    rules this follows.                                                  */
#ifndef CURVECP_GATEWAY_H_INCLUDED
#define CURVECP_GATEWAY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "curvecp_reason.h"
#include "curvecp_udp_addr.h"
#include "curvecp_gateway_routes.h"

typedef struct _curvecp_gateway_t curvecp_gateway_t;

#define CURVECP_GATEWAY_FLOWS_DEFAULT  1000
#define CURVECP_GATEWAY_FLOWS_LIMIT  1000000
#define CURVECP_GATEWAY_IDLE_DEFAULT (180ull * 1000000000ull)

typedef struct {
    curvecp_stats_t from_clients;     /* counts[CURVECP_OK] = forwarded to a server */
    curvecp_stats_t from_servers;     /* counts[CURVECP_OK] = forwarded to a client */
    uint64_t flows_opened;            /* new flows */
    uint64_t flows_evicted;           /* taken from the least recently used flow */
    uint64_t flows_expired;           /* idle too long */
    uint64_t flows_moved;             /* a flow's client address changed */
    uint64_t flows_rerouted;          /* a flow's route changed (routes reloaded) */
} curvecp_gateway_info_t;

/* What to do with a client packet the gateway accepted. */
typedef struct {
    int slot;                         /* the flow: 0 .. max_flows - 1 */
    bool fresh;                       /* open a new socket in this slot (closing the old): a new
                                         flow, or its route changed (rerouted) */
    bool rerouted;                    /* the flow's server changed (routes reloaded) */
    bool moved;                       /* the client's address changed */
    const curvecp_udp_addr_t *server; /* send the packet, unchanged, there */
} curvecp_gateway_forward_t;

/* max_flows: 1..CURVECP_GATEWAY_FLOWS_LIMIT (0 = default); idle_ns: 0 =
   default. NULL if out of memory or max_flows is too large. */
curvecp_gateway_t *curvecp_gateway_new (size_t max_flows, uint64_t idle_ns);

/* Free (with the routes), set *self_p to NULL. */
void curvecp_gateway_destroy (curvecp_gateway_t **self_p);

/* Take *routes_p (set to NULL) as the routes; the old ones are freed.
   Flows stay: each packet is routed by its own extension when it comes. */
void curvecp_gateway_set_routes (curvecp_gateway_t *self, curvecp_gateway_routes_t **routes_p);
const curvecp_gateway_routes_t *curvecp_gateway_routes (const curvecp_gateway_t *self);

/* A datagram from a client at from. CURVECP_OK and *out filled: send it
   to out->server from the slot's socket. Otherwise dropped and counted:
   too-short / too-long / not-multiple-16 / bad-magic (not a client
   packet), wrong-server-ext (no route for its extension). */
curvecp_reason_t curvecp_gateway_from_client (curvecp_gateway_t *self, const uint8_t *packet, size_t len,
        const curvecp_udp_addr_t *from, uint64_t now, curvecp_gateway_forward_t *out);

/* A datagram that came from `from` on slot's socket. CURVECP_OK and
   *client set: send it, unchanged, to that address from the public
   socket. Otherwise dropped and counted: unknown-session (no flow in that
   slot), wrong-source (not from the flow's server), and the client-side
   classifier's reasons (not a Cookie or Server Message of this flow's
   extensions). */
curvecp_reason_t curvecp_gateway_from_server (curvecp_gateway_t *self, int slot, const uint8_t *packet,
        size_t len, const curvecp_udp_addr_t *from, uint64_t now, const curvecp_udp_addr_t **client);

/* End the flows idle since now - idle_ns, calling on_close (ctx, slot)
   for each (close its socket). Returns the time the next flow expires
   (UINT64_MAX: no flow). */
typedef void (curvecp_gateway_close_fn) (void *ctx, int slot);
uint64_t curvecp_gateway_expire (curvecp_gateway_t *self, uint64_t now, curvecp_gateway_close_fn *on_close,
        void *ctx);

/* Flows in use, and the most there can be. */
size_t curvecp_gateway_flows (const curvecp_gateway_t *self);
size_t curvecp_gateway_max_flows (const curvecp_gateway_t *self);

/* The client address of the flow in slot (NULL if the slot is free). */
const curvecp_udp_addr_t *curvecp_gateway_flow_client (const curvecp_gateway_t *self, int slot);

const curvecp_gateway_info_t *curvecp_gateway_info (const curvecp_gateway_t *self);

/* One line of counters: flows, then each non-zero reason per direction. */
void curvecp_gateway_print_info (const curvecp_gateway_t *self, FILE *out);

#endif
