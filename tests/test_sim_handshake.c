/*  test_sim_handshake.c - whole endpoints over the simulated lossy
    network: client handshake + session + stream against server handshake
    + session + stream. Every packet is real (Hello, Cookie, Initiates
    carrying the client's first messages, Server and Client Messages);
    the network loses, duplicates, delays and reorders them. Each side
    ends with the peer's bytes exact and the right EOF, or reports failure
    (handshake gave up, or the stream gave up).                            */
#include "sim_node.h"
#include "testutil.h"

#define SEEDS 120
#define SECOND 1000000000ull

/* ---- the property ---------------------------------------------------- */

static curvecp_stream_t *
make_stream (bool is_client, const curvecp_rng_t *rng)
{
    curvecp_stream_config_t config;
    curvecp_stream_config_default (&config);
    config.is_client = is_client;
    config.give_up_ns = 30 * SECOND;
    config.rng = rng;
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
    const curvecp_rng_t stream_rngs[2] = { SIM_RNG (&stream_rng[0]), SIM_RNG (&stream_rng[1]) };

    sim_node_t node[2];
    memset (node, 0, sizeof node);
    node[0].client = curvecp_hs_client_new (server_keys->public_key, "sim.example.com", sim_node_server_ext,
                                            sim_node_client_ext, NULL, NULL);
    node[1].server = curvecp_hs_server_new (server_keys, sim_node_server_ext, 0, NULL);
    CHECK (node[0].client && node[1].server);
    CHECK_EQ (curvecp_hs_server_add_name (node[1].server, "sim.example.com"), 0);
    uint64_t length[2];
    for (int i = 0; i < 2; i++) {
        node[i].stream = make_stream (i == 0, &stream_rngs[i]);
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
    sim_endpoint_t endpoint[2];
    sim_node_bind_client (&node[0], &endpoint[0]);
    sim_node_bind_server (&node[1], &endpoint[1]);
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
