/*  test_sim_handshake.c - whole endpoints over the simulated lossy
    network: a client core connection (handshake, session, stream,
    timers) against a self-accepting server connection. Every packet is real (Hello, Cookie, Initiates
    carrying the client's first messages, Server and Client Messages);
    the network loses, duplicates, delays and reorders them. Each side
    ends with the peer's bytes exact and the right EOF, or reports failure
    (handshake gave up, or the stream gave up). Deadlines are exact: no
    packet leaves before a side's deadline unless input came first.      */
#include "sim_node.h"
#include "testutil.h"

#define SEEDS 120
#define SECOND 1000000000ull

/* ---- the property ---------------------------------------------------- */

static void
make_config (curvecp_conn_config_t *config, const curvecp_rng_t *rng)
{
    curvecp_conn_config_default (config);
    config->stream.give_up_ns = 30 * SECOND;
    config->stream.rng = rng;
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
    curvecp_conn_config_t config[2];
    for (int i = 0; i < 2; i++)
        make_config (&config[i], &stream_rngs[i]);
    CHECK (sim_node_client (&node[0], &config[0], server_keys->public_key, 0));
    CHECK (sim_node_server (&node[1], &config[1], server_keys, 0));
    uint64_t length[2];
    for (int i = 0; i < 2; i++) {
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
    sim_node_bind (&node[0], &endpoint[0]);
    sim_node_bind (&node[1], &endpoint[1]);
    sim_endpoint_t *endpoints[2] = { &endpoint[0], &endpoint[1] };
    uint64_t end = sim_net_run (net, endpoints, 0, 600 * SECOND);
    /* the connections' deadlines are exact: nothing goes out before one
       without input that could have caused it */
    CHECK_EQ (sim_net_early_packets (net, 0), 0);
    CHECK_EQ (sim_net_early_packets (net, 1), 0);

    bool failed = !sim_node_connected (&node[0]) || !sim_node_connected (&node[1]);
    for (int i = 0; i < 2; i++) {
        sim_app_t *app = &node[i].app;
        CHECK (!app->corrupt);
        bytes_checked += app->received;
        if (curvecp_conn_received_eof (node[i].conn) != CURVECP_EOF_NONE)
            CHECK (app->received == app->expect_total);
        if (!failed && !sim_node_complete (&node[i])) {
            fprintf (stderr, "seed %d side %d: loss %.3f lengths %llu/%llu received %llu end %.1f s\n",
                     seed, i, link.loss, (unsigned long long) length[0], (unsigned long long) length[1],
                     (unsigned long long) app->received, (double) end / 1e9);
            exit (1);
        }
    }
    for (int i = 0; i < 2; i++)
        sim_node_destroy (&node[i]);
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
