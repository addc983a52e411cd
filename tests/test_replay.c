/*  The Initiate replay cache: a replayed Initiate is dropped even after its
    connection has ended; entries expire after two minute keys; memory is
    fixed; a full cache forgets the oldest and counts it; heavy probe
    collisions and deletions keep every live key findable.               */
#include <sodium.h>
#include "testutil.h"
#include "curvecp_hs_client.h"
#include "curvecp_hs_server.h"
#include "curvecp_replay.h"

#define SEC 1000000000ull

static void
key_of (uint8_t key[32], uint32_t n)
{
    memset (key, 0, 32);
    memcpy (key, &n, sizeof n);
}

static void
test_cache_basics (void)
{
    curvecp_replay_t *cache = curvecp_replay_new (4, NULL);
    CHECK (cache);
    size_t memory = curvecp_replay_memory (cache);
    uint8_t a[32], b[32];
    key_of (a, 1);
    key_of (b, 2);
    CHECK (!curvecp_replay_seen (cache, a, 0));
    CHECK_EQ (curvecp_replay_remember (cache, a, 0), CURVECP_OK);
    CHECK (curvecp_replay_seen (cache, a, 1));
    CHECK (!curvecp_replay_seen (cache, b, 1));
    CHECK_EQ (curvecp_replay_remember (cache, a, 5), CURVECP_E_REPLAYED_INITIATE);
    CHECK_EQ (curvecp_replay_remember (cache, b, 10 * SEC), CURVECP_OK);
    CHECK_EQ (curvecp_replay_size (cache, 10 * SEC), 2);
    /* a expires at 120 s, b at 130 s. */
    CHECK (curvecp_replay_seen (cache, a, CURVECP_REPLAY_LIFETIME_NS - 1));
    CHECK_EQ (curvecp_replay_size (cache, CURVECP_REPLAY_LIFETIME_NS), 1);
    CHECK (!curvecp_replay_seen (cache, a, CURVECP_REPLAY_LIFETIME_NS));
    CHECK (curvecp_replay_seen (cache, b, CURVECP_REPLAY_LIFETIME_NS));
    CHECK (!curvecp_replay_seen (cache, b, CURVECP_REPLAY_LIFETIME_NS + 10 * SEC));
    /* Full: the oldest is forgotten and counted. */
    for (uint32_t i = 10; i < 15; i++) {
        uint8_t k[32];
        key_of (k, i);
        CHECK_EQ (curvecp_replay_remember (cache, k, 200 * SEC), CURVECP_OK);
    }
    CHECK_EQ (curvecp_replay_size (cache, 200 * SEC), 4);
    CHECK_EQ (curvecp_replay_evictions (cache), 1);
    uint8_t k10[32], k14[32];
    key_of (k10, 10);
    key_of (k14, 14);
    CHECK (!curvecp_replay_seen (cache, k10, 200 * SEC));
    CHECK (curvecp_replay_seen (cache, k14, 200 * SEC));
    CHECK_EQ (curvecp_replay_memory (cache), memory);
    curvecp_replay_destroy (&cache);
    CHECK (cache == NULL);
    CHECK (curvecp_replay_new (0, NULL) == NULL);
}

/* Many keys through a small cache, in waves that expire: every live key
   stays findable after the backward-shift deletions, no dead one is seen. */
static void
test_cache_churn (void)
{
    const size_t capacity = 1000;
    curvecp_replay_t *cache = curvecp_replay_new (capacity, NULL);
    uint64_t now = 0;
    uint32_t next = 0;
    for (int wave = 0; wave < 50; wave++) {
        uint32_t first = next;
        for (size_t i = 0; i < capacity / 2; i++) {
            uint8_t k[32];
            key_of (k, next++);
            CHECK_EQ (curvecp_replay_remember (cache, k, now), CURVECP_OK);
        }
        for (uint32_t n = 0; n < next; n++) {
            uint8_t k[32];
            key_of (k, n);
            bool live = n >= first - (wave > 0 ? capacity / 2 : 0);
            CHECK_EQ (curvecp_replay_seen (cache, k, now), live);
        }
        now += CURVECP_REPLAY_LIFETIME_NS / 2 + 1;
    }
    CHECK_EQ (curvecp_replay_evictions (cache), 0);
    curvecp_replay_destroy (&cache);
}

/* Through the server handshake: the Initiate of a connection that has
   ended (its session wiped) is refused as a replay, with no crypto spent
   on it, and a fresh client still gets in. With the cache off, NaCl's
   behaviour: the replay opens a second connection. */
static void
test_server_refuses_replay (void)
{
    curvecp_keypair_t server_keys, client_keys;
    crypto_box_keypair (server_keys.public_key, server_keys.secret_key);
    crypto_box_keypair (client_keys.public_key, client_keys.secret_key);
    const uint8_t ext[16] = { 0 };
    curvecp_hs_server_t *server = curvecp_hs_server_new (&server_keys, ext, 0, NULL);
    curvecp_hs_server_add_name (server, "replay.test");
    for (int round = 0; round < 2; round++) {
        bool cache_on = round == 0;
        if (!cache_on)
            CHECK_EQ (curvecp_hs_server_set_replay_capacity (server, 0), 0);
        curvecp_hs_client_t *client = curvecp_hs_client_new (server_keys.public_key, "replay.test",
                                                             ext, ext, &client_keys, NULL);
        uint8_t hello[224], cookie[200], initiate[1184], scratch[992], m[16] = "x";
        size_t len;
        curvecp_session_t cs, ss;
        curvecp_initiate_info_t info;
        CHECK_EQ (curvecp_hs_client_hello (client, 0, hello, NULL), CURVECP_OK);
        CHECK_EQ (curvecp_hs_server_hello (server, hello, 224, 0, cookie), CURVECP_OK);
        CHECK_EQ (curvecp_hs_client_cookie (client, cookie, 200, &cs), CURVECP_OK);
        CHECK_EQ (curvecp_session_seal (&cs, m, 16, initiate, &len), CURVECP_OK);
        CHECK_EQ (curvecp_hs_server_initiate (server, initiate, len, SEC, &ss, scratch, &info), CURVECP_OK);
        curvecp_session_wipe (&ss);                       /* the connection ends */
        uint64_t before = curvecp_hs_server_stats (server)->counts[CURVECP_E_REPLAYED_INITIATE];
        curvecp_reason_t rc = curvecp_hs_server_initiate (server, initiate, len, 30 * SEC, &ss, scratch, &info);
        if (cache_on) {
            CHECK_EQ (rc, CURVECP_E_REPLAYED_INITIATE);
            CHECK_EQ (curvecp_hs_server_stats (server)->counts[CURVECP_E_REPLAYED_INITIATE], before + 1);
            CHECK_EQ (curvecp_replay_size (curvecp_hs_server_replay (server), 30 * SEC), 1);
        }
        else {
            CHECK_EQ (rc, CURVECP_OK);
            CHECK (curvecp_hs_server_replay (server) == NULL);
        }
        curvecp_hs_client_destroy (&client);
    }
    curvecp_hs_server_destroy (&server);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_cache_basics ();
    test_cache_churn ();
    test_server_refuses_replay ();
    printf ("replay cache tests passed\n");
    return 0;
}
