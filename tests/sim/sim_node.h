/*  sim_node.h - a whole CurveCP endpoint in the simulator: handshake
    (client or server side) + session + stream + sim_app. Every packet it
    puts on the simulated wire is real: Hello, Cookie, Initiates carrying
    the client's first messages, Server and Client Messages.             */
#ifndef SIM_NODE_H_INCLUDED
#define SIM_NODE_H_INCLUDED

#include "curvecp_hs_client.h"
#include "curvecp_hs_server.h"
#include "curvecp_packet.h"
#include "curvecp_session.h"
#include "curvecp_stream.h"
#include "sim_app.h"

#define SIM_NODE_OUTBOX 8

/* The extensions every simulated node uses. */
extern const uint8_t sim_node_server_ext[CURVECP_EXT_BYTES];
extern const uint8_t sim_node_client_ext[CURVECP_EXT_BYTES];

typedef struct {
    sim_app_t app;
    curvecp_stream_t *stream;
    curvecp_session_t session;
    bool have_session;
    curvecp_hs_client_t *client;       /* client side: set before the run */
    curvecp_hs_server_t *server;       /* server side: set before the run */
    uint8_t outbox[SIM_NODE_OUTBOX][CURVECP_COOKIE_BYTES];
    int outbox_count;
    uint64_t now;                      /* last time seen, for hs_client_failed */
} sim_node_t;

/* Fill endpoint's callbacks for a client or a server node. */
void sim_node_bind_client (sim_node_t *self, sim_endpoint_t *endpoint);
void sim_node_bind_server (sim_node_t *self, sim_endpoint_t *endpoint);

#endif
