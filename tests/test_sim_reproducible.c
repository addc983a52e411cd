/*  test_sim_reproducible.c - a simulator run is a function of its seed.

    A complete handshake and a stream transfer both ways over a link that
    loses, duplicates, delays and reorders packets, with every random
    byte (long-term and short-term keys, minute keys, nonces, nonce
    counters, Hello jitter, Chicago's jitter, the replay cache's hash
    key, the network's dice) drawn from seeded rng contexts. Every packet
    on the simulated wire, sent and delivered, is hashed with its time:
    two runs with the same seed give the same hash, byte for byte; a run
    with another seed gives another. The same run with system randomness
    in the endpoints differs from itself, so the hash does see the
    endpoints' random bytes (the check can fail).                        */
#include <sodium.h>
#include "sim_node.h"
#include "testutil.h"

#define SECOND 1000000000ull
#define MS 1000000ull

typedef struct {
    sim_endpoint_t inner;               /* the node's own callbacks */
    uint8_t side;
    crypto_generichash_state *wire;
    uint64_t *packets;
} tap_t;

static void
record (tap_t *self, uint8_t direction, uint64_t now, const uint8_t *packet, size_t len)
{
    uint8_t head[18] = { self->side, direction };
    for (int i = 0; i < 8; i++) {
        head[2 + i] = (uint8_t) (now >> (8 * i));
        head[10 + i] = (uint8_t) ((uint64_t) len >> (8 * i));
    }
    crypto_generichash_update (self->wire, head, sizeof head);
    crypto_generichash_update (self->wire, packet, len);
    (*self->packets)++;
}

static void
tap_input (void *self_, const uint8_t *packet, size_t len, uint64_t now)
{
    tap_t *self = (tap_t *) self_;
    record (self, 'i', now, packet, len);
    self->inner.input (self->inner.self, packet, len, now);
}

static size_t
tap_output (void *self_, uint64_t now, uint8_t *out, size_t cap)
{
    tap_t *self = (tap_t *) self_;
    size_t len = self->inner.output (self->inner.self, now, out, cap);
    if (len)
        record (self, 'o', now, out, len);
    return len;
}

static uint64_t
tap_deadline (void *self_)
{
    tap_t *self = (tap_t *) self_;
    return self->inner.deadline (self->inner.self);
}

static bool
tap_finished (void *self_)
{
    tap_t *self = (tap_t *) self_;
    return self->inner.finished (self->inner.self);
}

static void
tap_wrap (tap_t *self, sim_endpoint_t *outer)
{
    *outer = (sim_endpoint_t) { self, tap_input, tap_output, tap_deadline, tap_finished };
}

typedef struct {
    uint8_t digest[32];
    uint64_t packets;
    uint64_t dropped, duplicated;
} run_t;

/* One rng context per role, each seeded from the run's seed and the
   role's name, as independent endpoints would be. */
enum { CLIENT, SERVER, STREAM0, STREAM1, NET, ROLES };

static void
seed_roles (const char *seed, curvecp_rng_seeded_t state[ROLES], curvecp_rng_t rng[ROLES])
{
    static const char *names[ROLES] = { "client", "server", "stream0", "stream1", "net" };
    for (int i = 0; i < ROLES; i++) {
        char text[128];
        int n = snprintf (text, sizeof text, "%s/%s", seed, names[i]);
        rng[i] = curvecp_rng_seeded (&state[i], text, (size_t) n);
    }
}

/* seed NULL: the endpoints draw system randomness (the network still
   uses a fixed seed). */
static run_t
run (const char *seed)
{
    curvecp_rng_seeded_t state[ROLES];
    curvecp_rng_t rng[ROLES];
    seed_roles (seed ? seed : "system", state, rng);
    const curvecp_rng_t *endpoint_rng[ROLES];
    for (int i = 0; i < ROLES; i++)
        endpoint_rng[i] = seed || i == NET ? &rng[i] : NULL;

    sim_link_t link;
    memset (&link, 0, sizeof link);
    link.loss = 0.05;
    link.duplicate = 0.02;
    link.reorder = 0.1;
    link.reorder_ns = 10 * MS;
    link.delay_ns = 20 * MS;
    link.jitter_ns = 3 * MS;
    link.rate_bps = 20000000;
    link.queue_ns = 50 * MS;
    sim_net_t *net = sim_net_new (curvecp_rng_u64 (endpoint_rng[NET]), &link, &link);
    CHECK (net);

    curvecp_keypair_t server_keys;
    CHECK_EQ (curvecp_rng_keypair (endpoint_rng[SERVER], server_keys.public_key, server_keys.secret_key), 0);
    sim_node_t node[2];
    memset (node, 0, sizeof node);
    node[0].client = curvecp_hs_client_new (server_keys.public_key, "sim.example.com", sim_node_server_ext,
                                            sim_node_client_ext, NULL, endpoint_rng[CLIENT]);
    node[1].server = curvecp_hs_server_new (&server_keys, sim_node_server_ext, 0, endpoint_rng[SERVER]);
    CHECK (node[0].client && node[1].server);
    CHECK_EQ (curvecp_hs_server_add_name (node[1].server, "sim.example.com"), 0);
    const uint64_t length[2] = { 200000, 300000 };
    for (int i = 0; i < 2; i++) {
        curvecp_stream_config_t config;
        curvecp_stream_config_default (&config);
        config.is_client = i == 0;
        config.give_up_ns = 30 * SECOND;
        config.rng = endpoint_rng[STREAM0 + i];
        node[i].stream = curvecp_stream_new (&config);
        CHECK (node[i].stream);
        node[i].app.send_seed = 7 + (uint64_t) i;
        node[i].app.send_total = length[i];
        node[i].app.send_eof = CURVECP_EOF_SUCCESS;
        node[i].app.expect_seed = 7 + (uint64_t) (1 - i);
        node[i].app.expect_total = length[1 - i];
        node[i].app.expect_eof = CURVECP_EOF_SUCCESS;
    }

    crypto_generichash_state wire;
    crypto_generichash_init (&wire, NULL, 0, 32);
    run_t result;
    memset (&result, 0, sizeof result);
    sim_endpoint_t inner[2], outer[2];
    sim_node_bind_client (&node[0], &inner[0]);
    sim_node_bind_server (&node[1], &inner[1]);
    tap_t taps[2];
    for (int i = 0; i < 2; i++) {
        taps[i] = (tap_t) { inner[i], (uint8_t) i, &wire, &result.packets };
        tap_wrap (&taps[i], &outer[i]);
    }
    sim_endpoint_t *endpoints[2] = { &outer[0], &outer[1] };
    sim_net_run (net, endpoints, 0, 600 * SECOND);
    crypto_generichash_final (&wire, result.digest, sizeof result.digest);

    /* A real run: both connected, every byte arrived intact, and the
       network did lose and duplicate packets on the way. */
    for (int i = 0; i < 2; i++) {
        CHECK (node[i].have_session);
        CHECK (!node[i].app.corrupt);
        CHECK (sim_app_complete (&node[i].app, node[i].stream));
        result.dropped += sim_net_stats (net, i)->dropped;
        result.duplicated += sim_net_stats (net, i)->duplicated;
    }
    CHECK (result.dropped > 0 && result.duplicated > 0);

    for (int i = 0; i < 2; i++)
        curvecp_stream_destroy (&node[i].stream);
    curvecp_hs_client_destroy (&node[0].client);
    curvecp_hs_server_destroy (&node[1].server);
    curvecp_session_wipe (&node[0].session);
    curvecp_session_wipe (&node[1].session);
    curvecp_keypair_wipe (&server_keys);
    sim_net_destroy (&net);
    for (int i = 0; i < ROLES; i++)
        curvecp_rng_seeded_wipe (&state[i]);
    return result;
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    run_t first = run ("reproducible-1");
    run_t again = run ("reproducible-1");
    run_t other = run ("reproducible-2");
    CHECK (first.packets > 200);
    CHECK_EQ (again.packets, first.packets);
    CHECK_EQ (again.dropped, first.dropped);
    CHECK_MEM (again.digest, first.digest, sizeof first.digest);
    CHECK (memcmp (other.digest, first.digest, sizeof first.digest) != 0);
    /* System randomness in the endpoints, same network dice: the wire
       differs between two runs, so the equality above is the rng's doing. */
    run_t system1 = run (NULL);
    run_t system2 = run (NULL);
    CHECK (memcmp (system1.digest, system2.digest, sizeof system1.digest) != 0);
    printf ("test_sim_reproducible: %llu packets, %llu dropped, %llu duplicated; same seed, same wire\n",
            (unsigned long long) first.packets, (unsigned long long) first.dropped,
            (unsigned long long) first.duplicated);
    return 0;
}
