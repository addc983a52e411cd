/*  test_vouch_cache - the server's cache of C.s for client long-term keys:
      - the class: a key put is found, another is not, a slot taken by a
        new key replaces the old (counted), sizes round to powers of two;
      - in the handshake: a returning client (same C) hits, a new C
        misses; a vouch that does not open, or names another C', is
        refused as before although C is cached, and is never cached; with
        the cache off every Initiate still works.                         */
#include <sodium.h>
#include <string.h>
#include "curvecp_hs_client.h"
#include "curvecp_hs_server.h"
#include "curvecp_packet.h"
#include "curvecp_vouch_cache.h"
#include "testutil.h"

static const uint8_t ext[CURVECP_EXT_BYTES] = { 0 };

static void
test_class (void)
{
    CHECK (!curvecp_vouch_cache_new (0, NULL));
    curvecp_vouch_cache_t *c = curvecp_vouch_cache_new (100, NULL);
    CHECK (c);
    CHECK_EQ (curvecp_vouch_cache_info (c)->entries, 64);
    uint8_t a[32], b[32], ka[32], kb[32], out[32];
    randombytes_buf (a, 32);
    randombytes_buf (b, 32);
    randombytes_buf (ka, 32);
    randombytes_buf (kb, 32);
    CHECK (!curvecp_vouch_cache_get (c, a, out));
    curvecp_vouch_cache_put (c, a, ka);
    CHECK (curvecp_vouch_cache_get (c, a, out));
    CHECK_MEM (out, ka, 32);
    CHECK (!curvecp_vouch_cache_get (c, b, out));
    CHECK_EQ (curvecp_vouch_cache_info (c)->hits, 1);
    CHECK_EQ (curvecp_vouch_cache_info (c)->misses, 2);
    curvecp_vouch_cache_destroy (&c);
    CHECK (!c);
    /* one slot: b replaces a */
    c = curvecp_vouch_cache_new (1, NULL);
    curvecp_vouch_cache_put (c, a, ka);
    curvecp_vouch_cache_put (c, b, kb);
    CHECK_EQ (curvecp_vouch_cache_info (c)->replaced, 1);
    CHECK (!curvecp_vouch_cache_get (c, a, out));
    CHECK (curvecp_vouch_cache_get (c, b, out));
    CHECK_MEM (out, kb, 32);
    curvecp_vouch_cache_destroy (&c);
}

typedef struct {
    curvecp_hs_client_t *hs;
    curvecp_session_t session;
} client_t;

/* A client of long-term key keys up to its sealed-Initiate state. */
static void
client_to_initiate (client_t *c, curvecp_hs_server_t *server, const curvecp_keypair_t *server_keys,
        const curvecp_keypair_t *keys)
{
    c->hs = curvecp_hs_client_new (server_keys->public_key, "test.example", ext, ext, keys, NULL);
    uint8_t hello[CURVECP_HELLO_BYTES], cookie[CURVECP_COOKIE_BYTES];
    int attempt;
    CHECK_EQ (curvecp_hs_client_hello (c->hs, 0, hello, &attempt), CURVECP_OK);
    CHECK_EQ (curvecp_hs_server_hello (server, hello, sizeof hello, 0, cookie), CURVECP_OK);
    CHECK_EQ (curvecp_hs_client_cookie (c->hs, cookie, sizeof cookie, &c->session), CURVECP_OK);
}

static curvecp_reason_t
initiate (curvecp_hs_server_t *server, client_t *c)
{
    uint8_t m[32] = { 0 }, packet[CURVECP_PACKET_MAX];
    static uint8_t scratch[CURVECP_INITIATE_INNER_BASE + CURVECP_INITIATE_MSG_MAX];
    size_t len;
    CHECK_EQ (curvecp_session_seal (&c->session, m, sizeof m, packet, &len), CURVECP_OK);
    curvecp_session_t accepted;
    curvecp_initiate_info_t info;
    curvecp_reason_t rc = curvecp_hs_server_initiate (server, packet, len, 0, &accepted, scratch, &info);
    curvecp_session_wipe (&accepted);
    return rc;
}

static void
client_done (client_t *c)
{
    curvecp_session_wipe (&c->session);
    curvecp_hs_client_destroy (&c->hs);
}

static uint64_t
hits (const curvecp_hs_server_t *server)
{
    return curvecp_vouch_cache_info (curvecp_hs_server_vouch_cache (server))->hits;
}

static void
test_handshake (void)
{
    curvecp_keypair_t server_keys, alice, bob;
    curvecp_keypair_generate (&server_keys);
    curvecp_keypair_generate (&alice);
    curvecp_keypair_generate (&bob);
    curvecp_hs_server_t *server = curvecp_hs_server_new (&server_keys, ext, 0, NULL);
    CHECK_EQ (curvecp_hs_server_add_name (server, "test.example"), 0);
    CHECK (curvecp_hs_server_vouch_cache (server));            /* on by default */
    client_t c;
    /* alice's first connection computes C.s, her second finds it */
    client_to_initiate (&c, server, &server_keys, &alice);
    CHECK_EQ (initiate (server, &c), CURVECP_OK);
    client_done (&c);
    CHECK_EQ (hits (server), 0);
    client_to_initiate (&c, server, &server_keys, &alice);
    CHECK_EQ (initiate (server, &c), CURVECP_OK);
    client_done (&c);
    CHECK_EQ (hits (server), 1);
    /* bob is new */
    client_to_initiate (&c, server, &server_keys, &bob);
    CHECK_EQ (initiate (server, &c), CURVECP_OK);
    client_done (&c);
    CHECK_EQ (hits (server), 1);
    /* alice is cached, but a vouch for another C' (hers, from another
       handshake) is refused all the same */
    client_t other;
    client_to_initiate (&c, server, &server_keys, &alice);
    client_to_initiate (&other, server, &server_keys, &alice);
    memcpy (c.session.vouch, other.session.vouch, 48);
    memcpy (c.session.vouch_nonce, other.session.vouch_nonce, 16);
    CHECK_EQ (initiate (server, &c), CURVECP_E_BAD_VOUCH);
    CHECK_EQ (hits (server), 2);
    /* and a vouch that does not open under her key */
    c.session.vouch[0] ^= 1;
    CHECK_EQ (initiate (server, &c), CURVECP_E_BAD_VOUCH);
    client_done (&c);
    /* the genuine one still works, from the cache */
    CHECK_EQ (initiate (server, &other), CURVECP_OK);
    client_done (&other);
    CHECK_EQ (hits (server), 4);
    /* a liar claiming carol's key (whose vouch cannot open) is not cached */
    curvecp_keypair_t carol;
    curvecp_keypair_generate (&carol);
    client_to_initiate (&c, server, &server_keys, &alice);
    memcpy (c.session.client_long_pk, carol.public_key, 32);
    CHECK_EQ (initiate (server, &c), CURVECP_E_BAD_VOUCH);
    client_done (&c);
    client_to_initiate (&c, server, &server_keys, &carol);      /* carol herself: not cached */
    CHECK_EQ (initiate (server, &c), CURVECP_OK);
    client_done (&c);
    CHECK_EQ (hits (server), 4);
    /* off: no cache, handshakes as before */
    CHECK_EQ (curvecp_hs_server_set_vouch_cache (server, 0), 0);
    CHECK (!curvecp_hs_server_vouch_cache (server));
    client_to_initiate (&c, server, &server_keys, &alice);
    CHECK_EQ (initiate (server, &c), CURVECP_OK);
    client_done (&c);
    curvecp_hs_server_destroy (&server);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_class ();
    test_handshake ();
    printf ("test_vouch_cache: ok\n");
    return 0;
}
