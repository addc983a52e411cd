/*  sim_node.h - a whole CurveCP endpoint in the simulator: one core
    connection (src/core/curvecp_conn.c: handshake, session, message
    layer, timers), a client or a self-accepting server, with a sim_app
    on its byte stream. Every packet it puts on the simulated wire is
    real: Hello, Cookie, Initiates carrying the client's first messages,
    Server and Client Messages.                                          */
#ifndef SIM_NODE_H_INCLUDED
#define SIM_NODE_H_INCLUDED

#include "curvecp_conn.h"
#include "curvecp_packet.h"
#include "sim_app.h"

/* The extensions and the name every simulated node uses. */
extern const uint8_t sim_node_server_ext[CURVECP_EXT_BYTES];
extern const uint8_t sim_node_client_ext[CURVECP_EXT_BYTES];
#define SIM_NODE_NAME "sim.example.com"

typedef struct {
    sim_app_t app;
    curvecp_conn_t *conn;
} sim_node_t;

/* Make the node's connection: a client towards server_pk, or a server
   with keys; config NULL: defaults (its stream.rng is the node's
   randomness). false when the connection could not be made. */
bool sim_node_client (sim_node_t *self, const curvecp_conn_config_t *config,
        const uint8_t server_pk[CURVECP_KEY_BYTES], uint64_t now);
bool sim_node_server (sim_node_t *self, const curvecp_conn_config_t *config,
        const curvecp_keypair_t *keys, uint64_t now);
void sim_node_destroy (sim_node_t *self);

/* Fill endpoint's callbacks for the node. */
void sim_node_bind (sim_node_t *self, sim_endpoint_t *endpoint);

/* The node's connection has a session and has not failed. */
bool sim_node_connected (const sim_node_t *self);

/* The app's bytes all arrived intact with the right EOF, ours acknowledged. */
bool sim_node_complete (sim_node_t *self);

#endif
