/*  test_sim_handshake.c - whole endpoints over the simulated lossy
    network: client handshake + session + stream against server handshake
    + session + stream. Every packet is real (Hello, Cookie, Initiates
    carrying the client's first messages, Server and Client Messages);
    the network loses, duplicates, delays and reorders them. Each side
    ends with the peer's bytes exact and the right EOF, or reports failure
    (handshake gave up, or the stream gave up).                            */
#include "curvecp_hs_client.h"
#include "curvecp_hs_server.h"
#include "curvecp_packet.h"
#include "curvecp_stream.h"
#include "sim_app.h"
#include "testutil.h"

#define SEEDS 120
#define SECOND 1000000000ull
#define OUTBOX 8

static const uint8_t server_ext[16] = { 's', 'i', 'm', '-', 's' };
static const uint8_t client_ext[16] = { 's', 'i', 'm', '-', 'c' };

typedef struct {
    sim_app_t app;
    curvecp_stream_t *stream;
    curvecp_session_t session;
    bool have_session;
    curvecp_hs_client_t *client;       /* client side */
    curvecp_hs_server_t *server;       /* server side */
    uint8_t outbox[OUTBOX][CURVECP_COOKIE_BYTES];
    int outbox_count;
    uint64_t now;                      /* last time seen, for hs_client_failed */
} node_t;

/* Seal the stream's next message into a packet, if it has one. */
static size_t
node_seal_next (node_t *self, uint64_t now, uint8_t *out)
{
    uint8_t message[CURVECP_MSG_MAX];
    sim_app_pump (&self->app, self->stream, now);
    size_t len = curvecp_stream_produce (self->stream, now, message, sizeof message);
    if (len == 0)
        return 0;
    size_t packet_len = 0;
    CHECK_EQ (curvecp_session_seal (&self->session, message, len, out, &packet_len), CURVECP_OK);
    return packet_len;
}

static void
node_open (node_t *self, const uint8_t *packet, size_t len, uint64_t now)
{
    uint8_t message[CURVECP_MSG_MAX];
    size_t message_len = 0;
    if (curvecp_session_open (&self->session, packet, len, message, &message_len) == CURVECP_OK)
        curvecp_stream_receive (self->stream, message, message_len, now);
}

/* ---- client ---------------------------------------------------------- */

static void
client_input (void *self_, const uint8_t *packet, size_t len, uint64_t now)
{
    node_t *self = (node_t *) self_;
    curvecp_packet_type_t type;
    if (curvecp_packet_classify_at_client (packet, len, client_ext, server_ext, &type) != CURVECP_OK)
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
    node_t *self = (node_t *) self_;
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
    node_t *self = (node_t *) self_;
    if (!self->have_session)
        return curvecp_hs_client_failed (self->client, self->now) ? UINT64_MAX
             : curvecp_hs_client_deadline (self->client);
    uint64_t deadline = curvecp_stream_deadline (self->stream);
    uint64_t app = sim_app_deadline (&self->app, self->stream);
    return app < deadline ? app : deadline;
}

static bool
node_finished (node_t *self)
{
    return curvecp_stream_failed (self->stream)
        || (sim_app_complete (&self->app, self->stream) && curvecp_stream_deadline (self->stream) == UINT64_MAX);
}

static bool
client_finished (void *self_)
{
    node_t *self = (node_t *) self_;
    if (!self->have_session)
        return curvecp_hs_client_failed (self->client, self->now);
    return node_finished (self);
}

/* ---- server ---------------------------------------------------------- */

static void
server_initiate (node_t *self, const uint8_t *packet, size_t len, uint64_t now)
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
    node_t *self = (node_t *) self_;
    curvecp_packet_type_t type;
    if (curvecp_packet_classify_at_server (packet, len, server_ext, &type) != CURVECP_OK)
        return;
    if (type == CURVECP_PACKET_HELLO) {
        if (self->outbox_count < OUTBOX
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
    node_t *self = (node_t *) self_;
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
    node_t *self = (node_t *) self_;
    if (!self->have_session)
        return UINT64_MAX;              /* minute keys rotate on their own; nothing to send */
    uint64_t deadline = curvecp_stream_deadline (self->stream);
    uint64_t app = sim_app_deadline (&self->app, self->stream);
    return app < deadline ? app : deadline;
}

static bool
server_finished (void *self_)
{
    node_t *self = (node_t *) self_;
    return self->have_session && node_finished (self);
}

/* ---- the property ---------------------------------------------------- */

static curvecp_stream_t *
make_stream (bool is_client, uint64_t *rng)
{
    curvecp_stream_config_t config;
    curvecp_stream_config_default (&config);
    config.is_client = is_client;
    config.give_up_ns = 30 * SECOND;
    config.rng = sim_rng_fn;
    config.rng_context = rng;
    curvecp_stream_t *stream = curvecp_stream_new (&config);
    CHECK (stream);
    return stream;
}

static uint64_t bytes_checked;

static int
run_seed (int seed, const curvecp_keypair_t *server_keys)
{
    uint64_t rng = 0xabc0000ull + (uint64_t) seed;
    sim_link_t link;
    memset (&link, 0, sizeof link);
    link.loss = (double) (sim_rng_next (&rng) % 201) / 1000.0;
    link.duplicate = 0.02;
    link.reorder = 0.05;
    link.reorder_ns = 10 * 1000000ull;
    link.delay_ns = 5 * 1000000ull + sim_rng_next (&rng) % (30 * 1000000ull);
    link.jitter_ns = 2 * 1000000ull;
    sim_net_t *net = sim_net_new (sim_rng_next (&rng), &link, &link);
    uint64_t stream_rng[2] = { sim_rng_next (&rng), sim_rng_next (&rng) };

    node_t node[2];
    memset (node, 0, sizeof node);
    node[0].client = curvecp_hs_client_new (server_keys->public_key, "sim.example.com", server_ext, client_ext, NULL);
    node[1].server = curvecp_hs_server_new (server_keys, server_ext, 0);
    CHECK (node[0].client && node[1].server);
    CHECK_EQ (curvecp_hs_server_add_name (node[1].server, "sim.example.com"), 0);
    uint64_t length[2];
    for (int i = 0; i < 2; i++) {
        node[i].stream = make_stream (i == 0, &stream_rng[i]);
        uint64_t r = sim_rng_next (&rng);
        length[i] = seed % 40 == 3 ? 1000000 + r % 1000000 : r % 3 == 0 ? r % 100 : r % 60000;
    }
    for (int i = 0; i < 2; i++) {
        node[i].app.send_seed = 1000 + (uint64_t) i;
        node[i].app.send_total = length[i];
        node[i].app.send_eof = (seed + i) % 5 ? CURVECP_EOF_SUCCESS : CURVECP_EOF_FAILURE;
        node[i].app.expect_seed = 1000 + (uint64_t) (1 - i);
        node[i].app.expect_total = length[1 - i];
        node[i].app.expect_eof = (seed + 1 - i) % 5 ? CURVECP_EOF_SUCCESS : CURVECP_EOF_FAILURE;
    }
    sim_endpoint_t endpoint[2] = {
        { &node[0], client_input, client_output, client_deadline, client_finished },
        { &node[1], server_input, server_output, server_deadline, server_finished }
    };
    sim_endpoint_t *endpoints[2] = { &endpoint[0], &endpoint[1] };
    uint64_t end = sim_net_run (net, endpoints, 0, 600 * SECOND);

    bool failed = !node[0].have_session || !node[1].have_session
               || curvecp_stream_failed (node[0].stream) || curvecp_stream_failed (node[1].stream);
    for (int i = 0; i < 2; i++) {
        sim_app_t *app = &node[i].app;
        CHECK (!app->corrupt);
        bytes_checked += app->received;
        if (curvecp_stream_received_eof (node[i].stream) != CURVECP_EOF_NONE)
            CHECK (app->received == app->expect_total);
        if (!failed && !sim_app_complete (app, node[i].stream)) {
            fprintf (stderr, "seed %d side %d: loss %.3f lengths %llu/%llu received %llu end %.1f s\n",
                     seed, i, link.loss, (unsigned long long) length[0], (unsigned long long) length[1],
                     (unsigned long long) app->received, (double) end / 1e9);
            exit (1);
        }
    }
    for (int i = 0; i < 2; i++)
        curvecp_stream_destroy (&node[i].stream);
    curvecp_hs_client_destroy (&node[0].client);
    curvecp_hs_server_destroy (&node[1].server);
    curvecp_session_wipe (&node[0].session);
    curvecp_session_wipe (&node[1].session);
    sim_net_destroy (&net);
    return failed;
}

int
main (int argc, char **argv)
{
    int seeds = argc > 1 ? atoi (argv[1]) : SEEDS;
    curvecp_keypair_t server_keys;
    curvecp_keypair_generate (&server_keys);
    int failed = 0;
    for (int seed = 0; seed < seeds; seed++)
        failed += run_seed (seed, &server_keys);
    printf ("test_sim_handshake: %d connections complete, %d reported failure, %llu bytes checked\n",
            seeds - failed, failed, (unsigned long long) bytes_checked);
    CHECK (failed * 20 < seeds);
    curvecp_keypair_wipe (&server_keys);
    return 0;
}
