/*  sim_node.c - a core connection and its app in the simulator.       */
#include "sim_node.h"

const uint8_t sim_node_server_ext[CURVECP_EXT_BYTES] = { 's', 'i', 'm', '-', 's' };
const uint8_t sim_node_client_ext[CURVECP_EXT_BYTES] = { 's', 'i', 'm', '-', 'c' };

bool
sim_node_client (sim_node_t *self, const curvecp_conn_config_t *config,
                 const uint8_t server_pk[CURVECP_KEY_BYTES], uint64_t now)
{
    self->conn = curvecp_conn_new_client (config, NULL, server_pk, SIM_NODE_NAME, sim_node_server_ext,
                                          sim_node_client_ext, now);
    return self->conn != NULL;
}

bool
sim_node_server (sim_node_t *self, const curvecp_conn_config_t *config, const curvecp_keypair_t *keys,
                 uint64_t now)
{
    const char *names[] = { SIM_NODE_NAME, NULL };
    self->conn = curvecp_conn_new_server_alone (config, keys, sim_node_server_ext, names, now);
    return self->conn != NULL;
}

void
sim_node_destroy (sim_node_t *self)
{
    curvecp_conn_destroy (&self->conn);
}

static void
node_input (void *self_, const uint8_t *packet, size_t len, uint64_t now)
{
    sim_node_t *self = (sim_node_t *) self_;
    curvecp_conn_input (self->conn, packet, len, now);
}

static size_t
node_output (void *self_, uint64_t now, uint8_t *out, size_t cap)
{
    sim_node_t *self = (sim_node_t *) self_;
    if (curvecp_conn_has_session (self->conn) || curvecp_conn_is_client (self->conn))
        sim_app_pump_io (&self->app, &sim_io_conn, self->conn, now);
    return curvecp_conn_output (self->conn, now, out, cap);
}

static uint64_t
node_deadline (void *self_)
{
    sim_node_t *self = (sim_node_t *) self_;
    uint64_t deadline = curvecp_conn_deadline (self->conn);
    uint64_t app = sim_app_deadline_io (&self->app, &sim_io_conn, self->conn);
    return app < deadline ? app : deadline;
}

bool
sim_node_connected (const sim_node_t *self)
{
    return curvecp_conn_has_session (self->conn) && curvecp_conn_state (self->conn) != CURVECP_CONN_FAILED;
}

bool
sim_node_complete (sim_node_t *self)
{
    return sim_node_connected (self) && sim_app_complete_io (&self->app, &sim_io_conn, self->conn);
}

static bool
node_finished (void *self_)
{
    sim_node_t *self = (sim_node_t *) self_;
    if (curvecp_conn_state (self->conn) == CURVECP_CONN_FAILED)
        return true;
    return sim_node_complete (self) && curvecp_conn_deadline (self->conn) == UINT64_MAX;
}

void
sim_node_bind (sim_node_t *self, sim_endpoint_t *endpoint)
{
    endpoint->self = self;
    endpoint->input = node_input;
    endpoint->output = node_output;
    endpoint->deadline = node_deadline;
    endpoint->finished = node_finished;
}
