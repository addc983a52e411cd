/*  curvecp_gateway.c - flows of an extension gateway: a fixed array of
    flow slots, a fixed SipHash table from (server extension, client
    extension, C') to slot, and a doubly linked list of slots in use from
    the most to the least recently used (eviction and expiry both take the
    tail). Nothing is allocated after curvecp_gateway_new.

    There are two such lists: flows a server has answered, and flows it
    has not (yet). A new flow evicts the least recently used unanswered
    flow while there is one, so a flood of made-up packets (which no
    server answers) churns among its own flows and leaves alone the
    clients that servers talk to; to evict those an attacker must get
    answers, that is, make the server do its work for each flow.          */
#include <stdlib.h>
#include <string.h>
#include "curvecp_gateway.h"
#include "curvecp_packet.h"
#include "curvecp_table.h"

/* Hello, Initiate and Client Message all carry sext | cext | C' at
   bytes 8..72: the flow key, read in place. */
#define KEY_AT     8
#define KEY_BYTES  (2 * CURVECP_EXT_BYTES + CURVECP_KEY_BYTES)
#define NONE       (-1)

typedef struct {
    uint8_t key[KEY_BYTES];
    curvecp_udp_addr_t client;
    curvecp_udp_addr_t server;
    uint64_t last;                   /* latest packet either way */
    int newer, older;                /* LRU list; NONE at the ends */
    bool used;
    bool answered;                   /* the server sent something back: list 1 */
} flow_t;

struct _curvecp_gateway_t {
    flow_t *flows;
    size_t max_flows, in_use;
    uint64_t idle_ns;
    int newest[2], oldest[2];        /* LRU ends per list; NONE when empty */
    int free_head;                   /* free slots, chained through newer */
    curvecp_table_t *by_key;
    curvecp_gateway_routes_t *routes;
    curvecp_gateway_info_t info;
};

curvecp_gateway_t *
curvecp_gateway_new (size_t max_flows, uint64_t idle_ns)
{
    if (max_flows == 0)
        max_flows = CURVECP_GATEWAY_FLOWS_DEFAULT;
    if (max_flows > CURVECP_GATEWAY_FLOWS_LIMIT)
        return NULL;
    curvecp_gateway_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->max_flows = max_flows;
    self->idle_ns = idle_ns ? idle_ns : CURVECP_GATEWAY_IDLE_DEFAULT;
    self->flows = calloc (max_flows, sizeof *self->flows);
    self->by_key = curvecp_table_new_fixed (KEY_BYTES, max_flows, NULL);
    if (!self->flows || !self->by_key) {
        curvecp_gateway_destroy (&self);
        return NULL;
    }
    self->newest[0] = self->oldest[0] = self->newest[1] = self->oldest[1] = NONE;
    self->free_head = NONE;
    for (int i = (int) max_flows - 1; i >= 0; i--) {
        self->flows[i].newer = self->free_head;
        self->free_head = i;
    }
    return self;
}

void
curvecp_gateway_destroy (curvecp_gateway_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_gateway_t *self = *self_p;
    curvecp_table_destroy (&self->by_key);
    curvecp_gateway_routes_destroy (&self->routes);
    free (self->flows);
    free (self);
    *self_p = NULL;
}

void
curvecp_gateway_set_routes (curvecp_gateway_t *self, curvecp_gateway_routes_t **routes_p)
{
    curvecp_gateway_routes_destroy (&self->routes);
    self->routes = *routes_p;
    *routes_p = NULL;
}

const curvecp_gateway_routes_t *
curvecp_gateway_routes (const curvecp_gateway_t *self)
{
    return self->routes;
}

/* ---- the LRU list ------------------------------------------------------ */

static void
unlink_flow (curvecp_gateway_t *self, int slot)
{
    flow_t *flow = &self->flows[slot];
    int list = flow->answered;
    if (flow->newer != NONE)
        self->flows[flow->newer].older = flow->older;
    else
        self->newest[list] = flow->older;
    if (flow->older != NONE)
        self->flows[flow->older].newer = flow->newer;
    else
        self->oldest[list] = flow->newer;
}

static void
link_newest (curvecp_gateway_t *self, int slot)
{
    flow_t *flow = &self->flows[slot];
    int list = flow->answered;
    flow->newer = NONE;
    flow->older = self->newest[list];
    if (self->newest[list] != NONE)
        self->flows[self->newest[list]].newer = slot;
    self->newest[list] = slot;
    if (self->oldest[list] == NONE)
        self->oldest[list] = slot;
}

/* The flow just carried a packet (answered: from its server). */
static void
touch (curvecp_gateway_t *self, int slot, uint64_t now, bool answered)
{
    flow_t *flow = &self->flows[slot];
    flow->last = now;
    if (self->newest[flow->answered] != slot || (answered && !flow->answered)) {
        unlink_flow (self, slot);
        flow->answered |= answered;
        link_newest (self, slot);
    }
}

/* Take a flow out of the list and the table; its slot stays unlinked. */
static void
end_flow (curvecp_gateway_t *self, int slot)
{
    flow_t *flow = &self->flows[slot];
    unlink_flow (self, slot);
    curvecp_table_remove (self->by_key, flow->key);
    flow->used = false;
    self->in_use--;
}

/* A slot for a new flow: a free one, or the least recently used one,
   unanswered first. */
static int
take_slot (curvecp_gateway_t *self)
{
    if (self->free_head != NONE) {
        int slot = self->free_head;
        self->free_head = self->flows[slot].newer;
        return slot;
    }
    int slot = self->oldest[0] != NONE ? self->oldest[0] : self->oldest[1];
    end_flow (self, slot);
    self->info.flows_evicted++;
    return slot;
}

static int
open_flow (curvecp_gateway_t *self, const uint8_t *key, const curvecp_udp_addr_t *client,
        const curvecp_udp_addr_t *server, uint64_t now)
{
    int slot = take_slot (self);
    flow_t *flow = &self->flows[slot];
    memcpy (flow->key, key, KEY_BYTES);
    flow->client = *client;
    flow->server = *server;
    flow->last = now;
    flow->used = true;
    flow->answered = false;
    self->in_use++;
    curvecp_table_insert (self->by_key, flow->key, flow);   /* cannot fail: a slot was free */
    link_newest (self, slot);
    self->info.flows_opened++;
    return slot;
}

/* ---- packets ----------------------------------------------------------- */

curvecp_reason_t
curvecp_gateway_from_client (curvecp_gateway_t *self, const uint8_t *packet, size_t len,
        const curvecp_udp_addr_t *from, uint64_t now, curvecp_gateway_forward_t *out)
{
    curvecp_stats_t *stats = &self->info.from_clients;
    if (len < CURVECP_PACKET_MIN)
        return curvecp_stats_count (stats, CURVECP_E_TOO_SHORT);
    //  The classifier checks magic and the type's sizes; it compares the
    //  server extension with the one given, here the packet's own.
    curvecp_packet_type_t type;
    curvecp_reason_t rc = curvecp_packet_classify_at_server (packet, len, packet + KEY_AT, &type);
    if (rc != CURVECP_OK)
        return curvecp_stats_count (stats, rc);
    const curvecp_udp_addr_t *server = curvecp_gateway_routes_lookup (self->routes, packet + KEY_AT);
    if (!server)
        return curvecp_stats_count (stats, CURVECP_E_WRONG_SERVER_EXT);
    *out = (curvecp_gateway_forward_t) { .server = server };
    flow_t *flow = curvecp_table_lookup (self->by_key, packet + KEY_AT);
    if (!flow) {
        out->slot = open_flow (self, packet + KEY_AT, from, server, now);
        out->fresh = true;
        return curvecp_stats_count (stats, CURVECP_OK);
    }
    out->slot = (int) (flow - self->flows);
    if (!curvecp_udp_addr_equal (&flow->client, from)) {
        flow->client = *from;
        out->moved = true;
        self->info.flows_moved++;
    }
    if (!curvecp_udp_addr_equal (&flow->server, server)) {
        //  a socket of its own towards the new server (perhaps of
        //  another family); the old server's late packets cannot follow
        flow->server = *server;
        out->fresh = out->rerouted = true;
        self->info.flows_rerouted++;
    }
    touch (self, out->slot, now, false);
    return curvecp_stats_count (stats, CURVECP_OK);
}

curvecp_reason_t
curvecp_gateway_from_server (curvecp_gateway_t *self, int slot, const uint8_t *packet,
        size_t len, const curvecp_udp_addr_t *from, uint64_t now, const curvecp_udp_addr_t **client)
{
    curvecp_stats_t *stats = &self->info.from_servers;
    if (slot < 0 || (size_t) slot >= self->max_flows || !self->flows[slot].used)
        return curvecp_stats_count (stats, CURVECP_E_UNKNOWN_SESSION);
    flow_t *flow = &self->flows[slot];
    if (!curvecp_udp_addr_equal (&flow->server, from))
        return curvecp_stats_count (stats, CURVECP_E_WRONG_SOURCE);
    //  A Cookie or Server Message for this flow's (client ext, server ext)
    const uint8_t *sext = flow->key, *cext = flow->key + CURVECP_EXT_BYTES;
    curvecp_packet_type_t type;
    curvecp_reason_t rc = curvecp_packet_classify_at_client (packet, len, cext, sext, &type);
    if (rc != CURVECP_OK)
        return curvecp_stats_count (stats, rc);
    touch (self, slot, now, true);
    *client = &flow->client;
    return curvecp_stats_count (stats, CURVECP_OK);
}

uint64_t
curvecp_gateway_expire (curvecp_gateway_t *self, uint64_t now, curvecp_gateway_close_fn *on_close, void *ctx)
{
    for (;;) {
        //  the older of the two lists' oldest flows
        int slot = self->oldest[0];
        if (slot == NONE || (self->oldest[1] != NONE && self->flows[self->oldest[1]].last < self->flows[slot].last))
            slot = self->oldest[1];
        if (slot == NONE)
            return UINT64_MAX;
        uint64_t ends = self->flows[slot].last + self->idle_ns;
        if (ends > now)
            return ends;
        end_flow (self, slot);
        self->flows[slot].newer = self->free_head;
        self->free_head = slot;
        self->info.flows_expired++;
        if (on_close)
            on_close (ctx, slot);
    }
}

/* ---- queries ----------------------------------------------------------- */

size_t
curvecp_gateway_flows (const curvecp_gateway_t *self)
{
    return self->in_use;
}

size_t
curvecp_gateway_max_flows (const curvecp_gateway_t *self)
{
    return self->max_flows;
}

const curvecp_udp_addr_t *
curvecp_gateway_flow_client (const curvecp_gateway_t *self, int slot)
{
    if (slot < 0 || (size_t) slot >= self->max_flows || !self->flows[slot].used)
        return NULL;
    return &self->flows[slot].client;
}

const curvecp_gateway_info_t *
curvecp_gateway_info (const curvecp_gateway_t *self)
{
    return &self->info;
}

static void
print_stats (const char *label, const curvecp_stats_t *stats, FILE *out)
{
    fprintf (out, "; %s: forwarded %llu", label, (unsigned long long) stats->counts[CURVECP_OK]);
    for (int r = 1; r < CURVECP_REASON_COUNT; r++)
        if (stats->counts[r])
            fprintf (out, ", %s %llu", curvecp_reason_name ((curvecp_reason_t) r),
                     (unsigned long long) stats->counts[r]);
}

void
curvecp_gateway_print_info (const curvecp_gateway_t *self, FILE *out)
{
    const curvecp_gateway_info_t *info = &self->info;
    fprintf (out, "flows %zu of %zu, opened %llu, evicted %llu, expired %llu, moved %llu, rerouted %llu; routes %zu",
             self->in_use, self->max_flows, (unsigned long long) info->flows_opened,
             (unsigned long long) info->flows_evicted, (unsigned long long) info->flows_expired,
             (unsigned long long) info->flows_moved, (unsigned long long) info->flows_rerouted,
             curvecp_gateway_routes_count (self->routes));
    print_stats ("from clients", &info->from_clients, out);
    print_stats ("from servers", &info->from_servers, out);
    fputc ('\n', out);
}
