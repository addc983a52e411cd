/*  sim_node.c - a whole CurveCP endpoint (handshake, session, stream) in
    the simulator. The server side keeps at most SIM_NODE_OUTBOX Cookies
    to send and one connection, which is all a two-endpoint network needs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sim_node.h"

const uint8_t sim_node_server_ext[CURVECP_EXT_BYTES] = { 's', 'i', 'm', '-', 's' };
const uint8_t sim_node_client_ext[CURVECP_EXT_BYTES] = { 's', 'i', 'm', '-', 'c' };

/* Seal the stream's next message into a packet, if it has one. */
static size_t
node_seal_next (sim_node_t *self, uint64_t now, uint8_t *out)
{
    uint8_t message[CURVECP_MSG_MAX];
    sim_app_pump (&self->app, self->stream, now);
    size_t len = curvecp_stream_produce (self->stream, now, message, sizeof message);
    if (len == 0)
        return 0;
    size_t packet_len = 0;
    if (curvecp_session_seal (&self->session, message, len, out, &packet_len) != CURVECP_OK) {
        fprintf (stderr, "sim_node: a session refused to seal a stream message\n");
        exit (1);
    }
    return packet_len;
}

static void
node_open (sim_node_t *self, const uint8_t *packet, size_t len, uint64_t now)
{
    uint8_t message[CURVECP_MSG_MAX];
    size_t message_len = 0;
    if (curvecp_session_open (&self->session, packet, len, message, &message_len) == CURVECP_OK)
        curvecp_stream_receive (self->stream, message, message_len, now);
}

static uint64_t
node_deadline (sim_node_t *self)
{
    uint64_t deadline = curvecp_stream_deadline (self->stream);
    uint64_t app = sim_app_deadline (&self->app, self->stream);
    return app < deadline ? app : deadline;
}

static bool
node_finished (sim_node_t *self)
{
    return curvecp_stream_failed (self->stream)
        || (sim_app_complete (&self->app, self->stream) && curvecp_stream_deadline (self->stream) == UINT64_MAX);
}

/* ---- client ---------------------------------------------------------- */

static void
client_input (void *self_, const uint8_t *packet, size_t len, uint64_t now)
{
    sim_node_t *self = (sim_node_t *) self_;
    curvecp_packet_type_t type;
    if (curvecp_packet_classify_at_client (packet, len, sim_node_client_ext, sim_node_server_ext, &type) != CURVECP_OK)
        return;
    if (type == CURVECP_PACKET_COOKIE) {
        if (curvecp_hs_client_cookie (self->client, packet, len, &self->session) == CURVECP_OK)
            self->have_session = true;
    }
    else
    if (self->have_session)
        node_open (self, packet, len, now);
}

static size_t
client_output (void *self_, uint64_t now, uint8_t *out, size_t cap)
{
    sim_node_t *self = (sim_node_t *) self_;
    (void) cap;
    self->now = now;
    if (self->have_session)
        return node_seal_next (self, now, out);
    int attempt;
    if (curvecp_hs_client_hello (self->client, now, out, &attempt) == CURVECP_OK)
        return CURVECP_HELLO_BYTES;
    return 0;
}

static uint64_t
client_deadline (void *self_)
{
    sim_node_t *self = (sim_node_t *) self_;
    if (!self->have_session)
        return curvecp_hs_client_failed (self->client, self->now) ? UINT64_MAX
             : curvecp_hs_client_deadline (self->client);
    return node_deadline (self);
}

static bool
client_finished (void *self_)
{
    sim_node_t *self = (sim_node_t *) self_;
    if (!self->have_session)
        return curvecp_hs_client_failed (self->client, self->now);
    return node_finished (self);
}

void
sim_node_bind_client (sim_node_t *self, sim_endpoint_t *endpoint)
{
    endpoint->self = self;
    endpoint->input = client_input;
    endpoint->output = client_output;
    endpoint->deadline = client_deadline;
    endpoint->finished = client_finished;
}

/* ---- server ---------------------------------------------------------- */

static void
server_initiate (sim_node_t *self, const uint8_t *packet, size_t len, uint64_t now)
{
    static uint8_t scratch[CURVECP_INITIATE_INNER_BASE + CURVECP_INITIATE_MSG_MAX];
    curvecp_initiate_info_t info;
    if (curvecp_hs_server_initiate (self->server, packet, len, now, &self->session, scratch, &info) != CURVECP_OK)
        return;
    self->have_session = true;
    curvecp_stream_receive (self->stream, info.message, info.message_len, now);
}

static void
server_input (void *self_, const uint8_t *packet, size_t len, uint64_t now)
{
    sim_node_t *self = (sim_node_t *) self_;
    curvecp_packet_type_t type;
    if (curvecp_packet_classify_at_server (packet, len, sim_node_server_ext, &type) != CURVECP_OK)
        return;
    if (type == CURVECP_PACKET_HELLO) {
        if (self->outbox_count < SIM_NODE_OUTBOX
        &&  curvecp_hs_server_hello (self->server, packet, len, now, self->outbox[self->outbox_count]) == CURVECP_OK)
            self->outbox_count++;
    }
    else
    if (!self->have_session) {
        if (type == CURVECP_PACKET_INITIATE)
            server_initiate (self, packet, len, now);
    }
    else
    if (curvecp_session_matches (&self->session, packet))
        node_open (self, packet, len, now);
}

static size_t
server_output (void *self_, uint64_t now, uint8_t *out, size_t cap)
{
    sim_node_t *self = (sim_node_t *) self_;
    (void) cap;
    curvecp_hs_server_advance (self->server, now);
    if (self->outbox_count) {
        memcpy (out, self->outbox[--self->outbox_count], CURVECP_COOKIE_BYTES);
        return CURVECP_COOKIE_BYTES;
    }
    return self->have_session ? node_seal_next (self, now, out) : 0;
}

static uint64_t
server_deadline (void *self_)
{
    sim_node_t *self = (sim_node_t *) self_;
    if (!self->have_session)
        return UINT64_MAX;              /* minute keys rotate on their own; nothing to send */
    return node_deadline (self);
}

static bool
server_finished (void *self_)
{
    sim_node_t *self = (sim_node_t *) self_;
    return self->have_session && node_finished (self);
}

void
sim_node_bind_server (sim_node_t *self, sim_endpoint_t *endpoint)
{
    endpoint->self = self;
    endpoint->input = server_input;
    endpoint->output = server_output;
    endpoint->deadline = server_deadline;
    endpoint->finished = server_finished;
}
