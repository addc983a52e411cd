/*  In-memory handshake between our client and server cores, with data in
    the Initiate, repeated Initiates, Messages both ways; then every bad
    input, each rejected with its own reason, counted, and changing nothing. */
#include <sodium.h>
#include "testutil.h"
#include "curvecp_hs_client.h"
#include "curvecp_hs_server.h"
#include "curvecp_packet.h"

#define SEC 1000000000ull

static const uint8_t server_ext[16] = { 's', 'e', 'r', 'v', 'e', 'r', '-', 'e', 'x', 't' };
static const uint8_t client_ext[16] = { 'c', 'l', 'i', 'e', 'n', 't', '-', 'e', 'x', 't' };

typedef struct {
    curvecp_keypair_t server_keys, client_keys;
    curvecp_hs_server_t *server;
    curvecp_hs_client_t *client;
    curvecp_session_t client_session, server_session;
    uint8_t hello[CURVECP_HELLO_BYTES];
    uint8_t cookie[CURVECP_COOKIE_BYTES];
    uint8_t initiate[CURVECP_PACKET_MAX];
    size_t initiate_len;
} fixture_t;

static void
keypair (curvecp_keypair_t *kp)
{
    crypto_box_keypair (kp->public_key, kp->secret_key);
}

static void
fixture_setup (fixture_t *f, uint64_t now)
{
    memset (f, 0, sizeof *f);
    keypair (&f->server_keys);
    keypair (&f->client_keys);
    f->server = curvecp_hs_server_new (&f->server_keys, server_ext, now, NULL);
    CHECK (f->server);
    CHECK_EQ (curvecp_hs_server_add_name (f->server, "test.example.com"), 0);
    CHECK_EQ (curvecp_hs_server_add_name (f->server, "other.example.org"), 1);
    f->client = curvecp_hs_client_new (f->server_keys.public_key, "test.example.com",
                                       server_ext, client_ext, &f->client_keys, NULL);
    CHECK (f->client);
}

static void
fixture_teardown (fixture_t *f)
{
    curvecp_hs_server_destroy (&f->server);
    curvecp_hs_client_destroy (&f->client);
    CHECK (f->server == NULL && f->client == NULL);
}

/* Hello -> Cookie -> session with an Initiate sealed, at time now. */
static void
handshake_to_initiate (fixture_t *f, uint64_t now, const uint8_t *msg, size_t msg_len)
{
    int attempt = -1;
    CHECK_EQ (curvecp_hs_client_hello (f->client, now, f->hello, &attempt), CURVECP_OK);
    CHECK_EQ (attempt, 0);
    CHECK_EQ (curvecp_hs_server_hello (f->server, f->hello, sizeof f->hello, now, f->cookie), CURVECP_OK);
    CHECK_EQ (curvecp_hs_client_cookie (f->client, f->cookie, sizeof f->cookie, &f->client_session), CURVECP_OK);
    CHECK_EQ (curvecp_session_seal (&f->client_session, msg, msg_len, f->initiate, &f->initiate_len), CURVECP_OK);
    CHECK_EQ (f->initiate_len, CURVECP_INITIATE_BASE + msg_len);
}

static curvecp_reason_t
server_initiate (fixture_t *f, const uint8_t *pkt, size_t len, uint64_t now, curvecp_session_t *session,
                 curvecp_initiate_info_t *info)
{
    static uint8_t scratch[CURVECP_INITIATE_INNER_BASE + CURVECP_INITIATE_MSG_MAX];
    return curvecp_hs_server_initiate (f->server, pkt, len, now, session, scratch, info);
}

static void
test_full_handshake (void)
{
    fixture_t f;
    uint64_t now = 1000 * SEC;
    fixture_setup (&f, now);
    uint8_t first[640];
    for (size_t i = 0; i < sizeof first; i++)
        first[i] = (uint8_t) (i * 7);
    handshake_to_initiate (&f, now, first, sizeof first);

    curvecp_initiate_info_t info;
    CHECK_EQ (server_initiate (&f, f.initiate, f.initiate_len, now, &f.server_session, &info), CURVECP_OK);
    CHECK_EQ (info.message_len, 640);
    CHECK_MEM (info.message, first, 640);
    CHECK_EQ (info.name_index, 0);
    CHECK_MEM (f.server_session.client_long_pk, f.client_keys.public_key, 32);
    CHECK_MEM (f.server_session.client_short_pk, curvecp_hs_client_short_key (f.client), 32);
    CHECK_MEM (f.server_session.client_ext, client_ext, 16);

    /* A second Initiate (more data before the server speaks) opens in the
       existing session. */
    uint8_t more[16] = "more data here!";
    uint8_t pkt[CURVECP_PACKET_MAX], msg[CURVECP_MSG_MAX];
    size_t pkt_len, msg_len;
    CHECK_EQ (curvecp_session_seal (&f.client_session, more, 16, pkt, &pkt_len), CURVECP_OK);
    CHECK_EQ (pkt_len, CURVECP_INITIATE_BASE + 16);
    CHECK_EQ (curvecp_session_open (&f.server_session, pkt, pkt_len, msg, &msg_len), CURVECP_OK);
    CHECK_EQ (msg_len, 16);
    CHECK_MEM (msg, more, 16);
    /* Before the server speaks, the client may not send more than 640. */
    uint8_t big[1088] = { 0 };
    CHECK_EQ (curvecp_session_seal (&f.client_session, big, 656, pkt, &pkt_len), CURVECP_E_TOO_LONG);

    /* Server Message: the client becomes established and wipes the cookie. */
    uint8_t reply[1088];
    for (size_t i = 0; i < sizeof reply; i++)
        reply[i] = (uint8_t) (i ^ 0x5a);
    CHECK_EQ (curvecp_session_seal (&f.server_session, reply, 1088, pkt, &pkt_len), CURVECP_OK);
    CHECK_EQ (pkt_len, CURVECP_SERVER_MSG_BASE + 1088);
    CHECK (!f.client_session.established);
    CHECK_EQ (curvecp_session_open (&f.client_session, pkt, pkt_len, msg, &msg_len), CURVECP_OK);
    CHECK_EQ (msg_len, 1088);
    CHECK_MEM (msg, reply, 1088);
    CHECK (f.client_session.established);
    uint8_t zero[96] = { 0 };
    CHECK_MEM (f.client_session.cookie_k, zero, 96);

    /* From now on the client sends Client Messages of up to 1088. */
    CHECK_EQ (curvecp_session_seal (&f.client_session, big, 1088, pkt, &pkt_len), CURVECP_OK);
    CHECK_EQ (pkt_len, CURVECP_CLIENT_MSG_BASE + 1088);
    CHECK (memcmp (pkt, "QvnQ5XlM", 8) == 0);
    CHECK_EQ (curvecp_session_open (&f.server_session, pkt, pkt_len, msg, &msg_len), CURVECP_OK);
    CHECK_EQ (msg_len, 1088);
    CHECK_EQ (f.server_session.stats.counts[CURVECP_OK], 2);
    fixture_teardown (&f);
}

/* The client's nonces run start+1, start+2, ... across Hello, Initiate and
   Message, as NaCl's do. */
static void
test_client_nonce_sequence (void)
{
    fixture_t f;
    fixture_setup (&f, 0);
    uint8_t hello2[CURVECP_HELLO_BYTES];
    int attempt;
    CHECK_EQ (curvecp_hs_client_hello (f.client, 0, f.hello, &attempt), CURVECP_OK);
    uint64_t n1 = curvecp_packet_nonce8 (f.hello, CURVECP_PACKET_HELLO);
    CHECK (n1 < (1ull << 48) + 1);
    /* Not due yet: the first wait is at least one second. */
    CHECK_EQ (curvecp_hs_client_hello (f.client, SEC - 1, hello2, &attempt), CURVECP_E_WRONG_STATE);
    uint64_t due = curvecp_hs_client_deadline (f.client);
    CHECK (due >= SEC && due < 2 * SEC);
    CHECK_EQ (curvecp_hs_client_hello (f.client, due, hello2, &attempt), CURVECP_OK);
    CHECK_EQ (attempt, 1);
    CHECK_EQ (curvecp_packet_nonce8 (hello2, CURVECP_PACKET_HELLO), n1 + 1);
    CHECK_EQ (curvecp_hs_server_hello (f.server, hello2, sizeof hello2, due, f.cookie), CURVECP_OK);
    CHECK_EQ (curvecp_hs_client_cookie (f.client, f.cookie, sizeof f.cookie, &f.client_session), CURVECP_OK);
    uint8_t m[16] = { 0 };
    CHECK_EQ (curvecp_session_seal (&f.client_session, m, 16, f.initiate, &f.initiate_len), CURVECP_OK);
    CHECK_EQ (curvecp_packet_nonce8 (f.initiate, CURVECP_PACKET_INITIATE), n1 + 2);
    /* A second cookie is refused. */
    CHECK_EQ (curvecp_hs_client_cookie (f.client, f.cookie, sizeof f.cookie, &f.client_session),
              CURVECP_E_WRONG_STATE);
    fixture_teardown (&f);
}

/* The S' a Cookie carries (the test knows s and C', so it opens the box). */
static void
cookie_short_key (fixture_t *f, const uint8_t cookie[CURVECP_COOKIE_BYTES], uint8_t server_short_pk[32])
{
    uint8_t shared[32], nonce[24], inner[32 + CURVECP_COOKIE_K_BYTES];
    CHECK_EQ (crypto_box_beforenm (shared, curvecp_hs_client_short_key (f->client), f->server_keys.secret_key), 0);
    memcpy (nonce, "CurveCPK", 8);
    memcpy (nonce + 8, cookie + 40, 16);
    CHECK_EQ (crypto_box_open_easy_afternm (inner, cookie + 56, CURVECP_COOKIE_BYTES - 56, nonce, shared), 0);
    memcpy (server_short_pk, inner, 32);
}

/* Work prepared ahead (the client's vouch key once its Hello is out, the
   server's next S' while idle) gives the same handshake; a prepared S'
   serves one Cookie only, and preparing twice is once. */
static void
test_prepared_keys (void)
{
    fixture_t f;
    fixture_setup (&f, 0);
    uint8_t cookies[3][CURVECP_COOKIE_BYTES], keys[3][32];
    int attempt;
    CHECK_EQ (curvecp_hs_client_hello (f.client, 0, f.hello, &attempt), CURVECP_OK);
    CHECK_EQ (curvecp_hs_client_prepare (f.client), CURVECP_OK);
    CHECK_EQ (curvecp_hs_client_prepare (f.client), CURVECP_OK);
    curvecp_hs_server_prepare (f.server);
    curvecp_hs_server_prepare (f.server);
    CHECK_EQ (curvecp_hs_server_hello (f.server, f.hello, sizeof f.hello, 0, cookies[0]), CURVECP_OK);
    curvecp_hs_server_prepare (f.server);
    CHECK_EQ (curvecp_hs_server_hello (f.server, f.hello, sizeof f.hello, 0, cookies[1]), CURVECP_OK);
    CHECK_EQ (curvecp_hs_server_hello (f.server, f.hello, sizeof f.hello, 0, cookies[2]), CURVECP_OK);
    for (int i = 0; i < 3; i++)
        cookie_short_key (&f, cookies[i], keys[i]);
    CHECK (memcmp (keys[0], keys[1], 32) != 0);
    CHECK (memcmp (keys[1], keys[2], 32) != 0);
    CHECK (memcmp (keys[0], keys[2], 32) != 0);
    /* the Cookie made with the prepared S' completes the handshake */
    CHECK_EQ (curvecp_hs_client_cookie (f.client, cookies[0], sizeof cookies[0], &f.client_session), CURVECP_OK);
    uint8_t m[16] = { 1 };
    CHECK_EQ (curvecp_session_seal (&f.client_session, m, 16, f.initiate, &f.initiate_len), CURVECP_OK);
    curvecp_initiate_info_t info;
    CHECK_EQ (server_initiate (&f, f.initiate, f.initiate_len, 0, &f.server_session, &info), CURVECP_OK);
    CHECK_MEM (f.server_session.client_long_pk, f.client_keys.public_key, 32);
    CHECK_MEM (f.server_session.shared, f.client_session.shared, 32);
    fixture_teardown (&f);
}

/* Eight Hellos on the NaCl schedule, then failure. */
static void
test_hello_schedule (void)
{
    fixture_t f;
    fixture_setup (&f, 0);
    uint64_t now = 0, base = SEC;
    for (int i = 0; i < CURVECP_HELLO_ATTEMPTS; i++) {
        int attempt;
        CHECK_EQ (curvecp_hs_client_hello (f.client, now, f.hello, &attempt), CURVECP_OK);
        CHECK_EQ (attempt, i);
        uint64_t next = curvecp_hs_client_deadline (f.client);
        CHECK (next >= now + base && next < now + 2 * base);
        CHECK (!curvecp_hs_client_failed (f.client, now));
        now = next;
        base += base / 2;
    }
    CHECK_EQ (curvecp_hs_client_hello (f.client, now, f.hello, NULL), CURVECP_E_WRONG_STATE);
    CHECK (curvecp_hs_client_failed (f.client, now));
    CHECK (now >= 49 * SEC && now < 99 * SEC);
    fixture_teardown (&f);
}

/* ---- bad inputs: each rejected with its own reason, counted, no state change */

static void
expect_hello_reject (fixture_t *f, const uint8_t *pkt, size_t len, curvecp_reason_t want)
{
    uint8_t cookie[CURVECP_COOKIE_BYTES];
    uint64_t before = f->server ? curvecp_hs_server_stats (f->server)->counts[want] : 0;
    CHECK_EQ (curvecp_hs_server_hello (f->server, pkt, len, 0, cookie), want);
    CHECK_EQ (curvecp_hs_server_stats (f->server)->counts[want], before + 1);
}

static void
test_bad_hellos (void)
{
    fixture_t f;
    fixture_setup (&f, 0);
    int attempt;
    CHECK_EQ (curvecp_hs_client_hello (f.client, 0, f.hello, &attempt), CURVECP_OK);
    uint8_t pkt[CURVECP_PACKET_MAX + 16];
    memcpy (pkt, f.hello, sizeof f.hello);
    expect_hello_reject (&f, pkt, 64, CURVECP_E_TOO_SHORT);
    expect_hello_reject (&f, pkt, 223, CURVECP_E_NOT_MULTIPLE_16);
    expect_hello_reject (&f, pkt, 208, CURVECP_E_TOO_SHORT);
    memset (pkt + 224, 0, 16);
    expect_hello_reject (&f, pkt, 240, CURVECP_E_TOO_LONG);
    expect_hello_reject (&f, pkt, CURVECP_PACKET_MAX + 16, CURVECP_E_TOO_LONG);
    pkt[0] ^= 1;
    expect_hello_reject (&f, pkt, 224, CURVECP_E_BAD_MAGIC);
    pkt[0] ^= 1;
    pkt[7] = 'Z';
    expect_hello_reject (&f, pkt, 224, CURVECP_E_BAD_MAGIC);
    pkt[7] = 'H';
    pkt[9] ^= 1;
    expect_hello_reject (&f, pkt, 224, CURVECP_E_WRONG_SERVER_EXT);
    pkt[9] ^= 1;
    pkt[200] ^= 1;
    expect_hello_reject (&f, pkt, 224, CURVECP_E_BAD_HELLO_BOX);
    pkt[200] ^= 1;
    /* A Hello for another server key does not open here. */
    curvecp_keypair_t other;
    keypair (&other);
    curvecp_hs_client_t *stranger = curvecp_hs_client_new (other.public_key, "test.example.com",
                                                           server_ext, client_ext, NULL, NULL);
    CHECK_EQ (curvecp_hs_client_hello (stranger, 0, pkt, &attempt), CURVECP_OK);
    expect_hello_reject (&f, pkt, 224, CURVECP_E_BAD_HELLO_BOX);
    curvecp_hs_client_destroy (&stranger);
    /* The padding is not checked (as NaCl): still accepted. */
    memcpy (pkt, f.hello, sizeof f.hello);
    pkt[80] = 0xff;
    expect_hello_reject (&f, pkt, 224, CURVECP_OK);
    fixture_teardown (&f);
}

static void
expect_cookie_reject (fixture_t *f, const uint8_t *pkt, size_t len, curvecp_reason_t want)
{
    curvecp_session_t session;
    memset (&session, 0xee, sizeof session);
    curvecp_session_t copy;
    memcpy (&copy, &session, sizeof copy);
    CHECK_EQ (curvecp_hs_client_cookie (f->client, pkt, len, &session), want);
    if (want != CURVECP_OK)
        CHECK_MEM (&session, &copy, sizeof session);
}

static void
test_bad_cookies (void)
{
    fixture_t f;
    fixture_setup (&f, 0);
    int attempt;
    /* No Hello sent yet: no Cookie is expected. */
    expect_cookie_reject (&f, f.cookie, sizeof f.cookie, CURVECP_E_WRONG_STATE);
    CHECK_EQ (curvecp_hs_client_hello (f.client, 0, f.hello, &attempt), CURVECP_OK);
    CHECK_EQ (curvecp_hs_server_hello (f.server, f.hello, sizeof f.hello, 0, f.cookie), CURVECP_OK);
    uint8_t pkt[CURVECP_COOKIE_BYTES + 16] = { 0 };
    memcpy (pkt, f.cookie, sizeof f.cookie);
    expect_cookie_reject (&f, pkt, 184, CURVECP_E_TOO_SHORT);
    expect_cookie_reject (&f, pkt, 216, CURVECP_E_TOO_LONG);
    pkt[3] ^= 1;
    expect_cookie_reject (&f, pkt, 200, CURVECP_E_BAD_MAGIC);
    pkt[3] ^= 1;
    pkt[8] ^= 1;
    expect_cookie_reject (&f, pkt, 200, CURVECP_E_WRONG_CLIENT_EXT);
    pkt[8] ^= 1;
    pkt[30] ^= 1;
    expect_cookie_reject (&f, pkt, 200, CURVECP_E_WRONG_SERVER_EXT);
    pkt[30] ^= 1;
    pkt[120] ^= 1;
    expect_cookie_reject (&f, pkt, 200, CURVECP_E_BAD_COOKIE_BOX);
    pkt[120] ^= 1;
    CHECK_EQ (curvecp_hs_client_stats (f.client)->counts[CURVECP_E_BAD_COOKIE_BOX], 1);
    CHECK_EQ (curvecp_hs_client_stats (f.client)->counts[CURVECP_E_WRONG_STATE], 1);
    /* After all that, the genuine Cookie still works. */
    expect_cookie_reject (&f, pkt, 200, CURVECP_OK);   /* accepted */
    fixture_teardown (&f);
}

static void
expect_initiate_reject (fixture_t *f, const uint8_t *pkt, size_t len, uint64_t now, curvecp_reason_t want)
{
    curvecp_session_t session;
    memset (&session, 0xee, sizeof session);
    curvecp_session_t copy;
    memcpy (&copy, &session, sizeof copy);
    curvecp_initiate_info_t info = { 0 };
    uint64_t before = curvecp_hs_server_stats (f->server)->counts[want];
    CHECK_EQ (server_initiate (f, pkt, len, now, &session, &info), want);
    CHECK_EQ (curvecp_hs_server_stats (f->server)->counts[want], before + 1);
    CHECK_MEM (&session, &copy, sizeof session);
    CHECK (info.message == NULL);
}

/* Build a valid Initiate through a client with the given name and keys. */
static size_t
initiate_with (fixture_t *f, const char *name, const curvecp_keypair_t *long_term, uint8_t *out, uint64_t now)
{
    curvecp_hs_client_t *c = curvecp_hs_client_new (f->server_keys.public_key, name, server_ext,
                                                    client_ext, long_term, NULL);
    uint8_t hello[224], cookie[200], m[32] = "initiate";
    curvecp_session_t s;
    size_t len;
    CHECK_EQ (curvecp_hs_client_hello (c, now, hello, NULL), CURVECP_OK);
    CHECK_EQ (curvecp_hs_server_hello (f->server, hello, 224, now, cookie), CURVECP_OK);
    CHECK_EQ (curvecp_hs_client_cookie (c, cookie, 200, &s), CURVECP_OK);
    CHECK_EQ (curvecp_session_seal (&s, m, sizeof m, out, &len), CURVECP_OK);
    curvecp_hs_client_destroy (&c);
    return len;
}

static void
test_bad_initiates (void)
{
    fixture_t f;
    uint64_t now = 5000 * SEC;
    fixture_setup (&f, now);
    uint8_t msg[32] = "first message";
    handshake_to_initiate (&f, now, msg, sizeof msg);
    uint8_t pkt[CURVECP_PACKET_MAX + 16] = { 0 };
    size_t len = f.initiate_len;
    memcpy (pkt, f.initiate, len);

    expect_initiate_reject (&f, pkt, 544, now, CURVECP_E_TOO_SHORT);
    expect_initiate_reject (&f, pkt, len + 1, now, CURVECP_E_NOT_MULTIPLE_16);
    expect_initiate_reject (&f, pkt, 544 + 656, now, CURVECP_E_TOO_LONG);
    pkt[7] = 'J';
    expect_initiate_reject (&f, pkt, len, now, CURVECP_E_BAD_MAGIC);
    pkt[7] = 'I';
    expect_initiate_reject (&f, f.hello, 224, now, CURVECP_E_WRONG_STATE);   /* a Hello is not an Initiate */
    pkt[20] ^= 1;
    expect_initiate_reject (&f, pkt, len, now, CURVECP_E_WRONG_SERVER_EXT);
    pkt[20] ^= 1;
    pkt[100] ^= 1;                                     /* inside the cookie */
    expect_initiate_reject (&f, pkt, len, now, CURVECP_E_BAD_COOKIE);
    pkt[100] ^= 1;
    pkt[500] ^= 1;                                     /* inside the box */
    expect_initiate_reject (&f, pkt, len, now, CURVECP_E_BAD_INITIATE_BOX);
    pkt[500] ^= 1;
    /* The cookie was issued to another C': splice our cookie into a
       stranger's Initiate. */
    uint8_t other[CURVECP_PACKET_MAX];
    size_t other_len = initiate_with (&f, "test.example.com", &f.client_keys, other, now);
    memcpy (other + 72, pkt + 72, 96);
    expect_initiate_reject (&f, other, other_len, now, CURVECP_E_COOKIE_MISMATCH);
    /* Wrong server name. */
    other_len = initiate_with (&f, "wrong.example.com", &f.client_keys, other, now);
    expect_initiate_reject (&f, other, other_len, now, CURVECP_E_WRONG_NAME);
    /* The second virtual-host name is accepted, with its index. */
    other_len = initiate_with (&f, "other.example.org", NULL, other, now);
    curvecp_session_t s2;
    curvecp_initiate_info_t info;
    CHECK_EQ (server_initiate (&f, other, other_len, now, &s2, &info), CURVECP_OK);
    CHECK_EQ (info.name_index, 1);

    /* Genuine packet: accepted at 119 s old, refused once older than two
       minute keys (the server rotated twice). The replay cache would refuse
       the second try first (test_replay covers it): switch it off to see
       the cookie's own lifetime. */
    CHECK_EQ (curvecp_hs_server_set_replay_capacity (f.server, 0), 0);
    CHECK_EQ (server_initiate (&f, pkt, len, now + 119 * SEC, &f.server_session, &info), CURVECP_OK);
    curvecp_hs_server_advance (f.server, now + 130 * SEC);
    expect_initiate_reject (&f, pkt, len, now + 130 * SEC, CURVECP_E_BAD_COOKIE);
    fixture_teardown (&f);
}

/* Replace the vouch of f's session with one a second client (same C,
   its own C') got from the server: a vouch that opens but names another C'. */
static void
transplant_vouch (fixture_t *f, curvecp_hs_client_t *c2, uint64_t now)
{
    uint8_t hello[224], cookie[200];
    curvecp_session_t s2;
    CHECK_EQ (curvecp_hs_client_hello (c2, now, hello, NULL), CURVECP_OK);
    CHECK_EQ (curvecp_hs_server_hello (f->server, hello, 224, now, cookie), CURVECP_OK);
    CHECK_EQ (curvecp_hs_client_cookie (c2, cookie, 200, &s2), CURVECP_OK);
    memcpy (f->client_session.vouch, s2.vouch, 48);
    memcpy (f->client_session.vouch_nonce, s2.vouch_nonce, 16);
}

/* A vouch for another key: a client whose Initiate carries a vouch made
   for a different C' (replace vouch and its nonce from another handshake). */
static void
test_bad_vouch (void)
{
    fixture_t f;
    uint64_t now = 0;
    fixture_setup (&f, now);
    uint8_t msg[16] = { 1 };
    handshake_to_initiate (&f, now, msg, 16);
    /* Make a second session with the same long-term key, then transplant
       its vouch into the first session's Initiate (re-sealed). */
    curvecp_hs_client_t *c2 = curvecp_hs_client_new (f.server_keys.public_key, "test.example.com",
                                                     server_ext, client_ext, &f.client_keys, NULL);
    transplant_vouch (&f, c2, now);
    uint8_t pkt[CURVECP_PACKET_MAX];
    size_t len;
    CHECK_EQ (curvecp_session_seal (&f.client_session, msg, 16, pkt, &len), CURVECP_OK);
    expect_initiate_reject (&f, pkt, len, now, CURVECP_E_BAD_VOUCH);
    /* A vouch that does not open (claims another long-term key C). */
    curvecp_keypair_t liar;
    keypair (&liar);
    memcpy (f.client_session.client_long_pk, liar.public_key, 32);
    CHECK_EQ (curvecp_session_seal (&f.client_session, msg, 16, pkt, &len), CURVECP_OK);
    expect_initiate_reject (&f, pkt, len, now, CURVECP_E_BAD_VOUCH);
    curvecp_hs_client_destroy (&c2);
    fixture_teardown (&f);
}

/* C.s is kept per client long-term key once a vouch opened under it: a
   returning client's vouch opens from the table (a hit), a vouch from a
   cached C that does not name this C' is still refused, and a C whose
   vouch never opened is not kept. */
/* Initiates whose vouch key came from the server's cache. */
static uint64_t
vouch_hits (const curvecp_hs_server_t *server)
{
    return curvecp_vouch_cache_info (curvecp_hs_server_vouch_cache (server))->hits;
}

static void
test_vouch_cache (void)
{
    fixture_t f;
    uint64_t now = 0;
    fixture_setup (&f, now);
    uint8_t msg[16] = { 2 };
    curvecp_initiate_info_t info;
    handshake_to_initiate (&f, now, msg, 16);
    CHECK_EQ (server_initiate (&f, f.initiate, f.initiate_len, now, &f.server_session, &info), CURVECP_OK);
    CHECK_EQ (vouch_hits (f.server), 0);
    /* the same client again, a new C': from the table */
    curvecp_hs_client_destroy (&f.client);
    f.client = curvecp_hs_client_new (f.server_keys.public_key, "test.example.com",
                                      server_ext, client_ext, &f.client_keys, NULL);
    handshake_to_initiate (&f, now, msg, 16);
    CHECK_EQ (server_initiate (&f, f.initiate, f.initiate_len, now, &f.server_session, &info), CURVECP_OK);
    CHECK_EQ (vouch_hits (f.server), 1);
    /* a cached C with a vouch made for another C': opens, names the wrong C' */
    curvecp_hs_client_t *c2 = curvecp_hs_client_new (f.server_keys.public_key, "test.example.com",
                                                     server_ext, client_ext, &f.client_keys, NULL);
    curvecp_hs_client_destroy (&f.client);
    f.client = curvecp_hs_client_new (f.server_keys.public_key, "test.example.com",
                                      server_ext, client_ext, &f.client_keys, NULL);
    handshake_to_initiate (&f, now, msg, 16);
    transplant_vouch (&f, c2, now);
    uint8_t pkt[CURVECP_PACKET_MAX];
    size_t len;
    CHECK_EQ (curvecp_session_seal (&f.client_session, msg, 16, pkt, &len), CURVECP_OK);
    expect_initiate_reject (&f, pkt, len, now, CURVECP_E_BAD_VOUCH);
    CHECK_EQ (vouch_hits (f.server), 2);
    /* a C whose vouch does not open is never kept: no hit the second time */
    curvecp_keypair_t liar;
    keypair (&liar);
    memcpy (f.client_session.client_long_pk, liar.public_key, 32);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ (curvecp_session_seal (&f.client_session, msg, 16, pkt, &len), CURVECP_OK);
        expect_initiate_reject (&f, pkt, len, now, CURVECP_E_BAD_VOUCH);
    }
    CHECK_EQ (vouch_hits (f.server), 2);
    curvecp_hs_client_destroy (&c2);
    fixture_teardown (&f);
}

static void
expect_open_reject (curvecp_session_t *session, const uint8_t *pkt, size_t len, curvecp_reason_t want)
{
    curvecp_session_t copy;
    memcpy (&copy, session, sizeof copy);
    uint8_t msg[CURVECP_MSG_MAX];
    size_t msg_len = 0;
    CHECK_EQ (curvecp_session_open (session, pkt, len, msg, &msg_len), want);
    CHECK_EQ (session->stats.counts[want], copy.stats.counts[want] + 1);
    copy.stats.counts[want]++;
    CHECK_MEM (session, &copy, sizeof copy);
}

static void
test_bad_messages (void)
{
    fixture_t f;
    fixture_setup (&f, 0);
    uint8_t msg[64] = "x", pkt[CURVECP_PACKET_MAX + 16], out[CURVECP_MSG_MAX];
    size_t len, out_len;
    handshake_to_initiate (&f, 0, msg, 64);
    curvecp_initiate_info_t info;
    CHECK_EQ (server_initiate (&f, f.initiate, f.initiate_len, 0, &f.server_session, &info), CURVECP_OK);
    /* Replaying the Initiate into the session: old nonce. */
    expect_open_reject (&f.server_session, f.initiate, f.initiate_len, CURVECP_E_REPLAYED_NONCE);

    /* Server -> client. */
    CHECK_EQ (curvecp_session_seal (&f.server_session, msg, 64, pkt, &len), CURVECP_OK);
    uint8_t first[CURVECP_PACKET_MAX];
    memcpy (first, pkt, len);
    size_t first_len = len;
    pkt[60] ^= 1;
    expect_open_reject (&f.client_session, pkt, len, CURVECP_E_BAD_MESSAGE_BOX);
    CHECK (!f.client_session.established);        /* a forgery changes nothing */
    pkt[60] ^= 1;
    expect_open_reject (&f.client_session, pkt, 64, CURVECP_E_TOO_SHORT);
    expect_open_reject (&f.client_session, pkt, 1168, CURVECP_E_TOO_LONG);
    expect_open_reject (&f.client_session, pkt, len - 1, CURVECP_E_NOT_MULTIPLE_16);
    pkt[9] ^= 1;
    expect_open_reject (&f.client_session, pkt, len, CURVECP_E_WRONG_CLIENT_EXT);
    pkt[9] ^= 1;
    pkt[25] ^= 1;
    expect_open_reject (&f.client_session, pkt, len, CURVECP_E_WRONG_SERVER_EXT);
    pkt[25] ^= 1;
    pkt[0] = 'X';
    expect_open_reject (&f.client_session, pkt, len, CURVECP_E_BAD_MAGIC);
    pkt[0] = 'R';
    expect_open_reject (&f.client_session, f.cookie, 200, CURVECP_E_WRONG_STATE);
    CHECK_EQ (curvecp_session_open (&f.client_session, pkt, len, out, &out_len), CURVECP_OK);
    expect_open_reject (&f.client_session, first, first_len, CURVECP_E_REPLAYED_NONCE);

    /* Client -> server. */
    CHECK_EQ (curvecp_session_seal (&f.client_session, msg, 64, pkt, &len), CURVECP_OK);
    pkt[100] ^= 1;
    expect_open_reject (&f.server_session, pkt, len, CURVECP_E_BAD_MESSAGE_BOX);
    pkt[100] ^= 1;
    pkt[45] ^= 1;
    expect_open_reject (&f.server_session, pkt, len, CURVECP_E_UNKNOWN_SESSION);
    pkt[45] ^= 1;
    expect_open_reject (&f.server_session, pkt, 96, CURVECP_E_TOO_SHORT);
    expect_open_reject (&f.server_session, pkt, 1200, CURVECP_E_TOO_LONG);
    expect_open_reject (&f.server_session, f.hello, 224, CURVECP_E_WRONG_STATE);
    CHECK_EQ (curvecp_session_open (&f.server_session, pkt, len, out, &out_len), CURVECP_OK);
    expect_open_reject (&f.server_session, pkt, len, CURVECP_E_REPLAYED_NONCE);

    /* Messages of the wrong size are refused at sealing. */
    CHECK_EQ (curvecp_session_seal (&f.client_session, msg, 8, pkt, &len), CURVECP_E_TOO_SHORT);
    CHECK_EQ (curvecp_session_seal (&f.client_session, msg, 40, pkt, &len), CURVECP_E_NOT_MULTIPLE_16);
    /* A counter at its end refuses to wrap. */
    f.server_session.send_counter.value = UINT64_MAX;
    CHECK_EQ (curvecp_session_seal (&f.server_session, msg, 64, pkt, &len), CURVECP_E_NONCE_EXHAUSTED);
    fixture_teardown (&f);
}

/* The large-message option: both sessions opt in; messages up to 64 KiB
   travel both ways; a session without the option refuses such packets as
   too long, and bad sizes are refused. */
static void
test_large_messages (void)
{
    fixture_t f;
    fixture_setup (&f, 0);
    static uint8_t big[CURVECP_LARGE_MSG_MAX], out[CURVECP_LARGE_MSG_MAX], pkt[CURVECP_LARGE_MSG_MAX + 96];
    uint8_t first[16] = "hi";
    size_t len, out_len;
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t) (i * 13 + 1);
    handshake_to_initiate (&f, 0, first, 16);
    curvecp_initiate_info_t info;
    CHECK_EQ (server_initiate (&f, f.initiate, f.initiate_len, 0, &f.server_session, &info), CURVECP_OK);
    CHECK_EQ (curvecp_session_message_max (&f.server_session), CURVECP_MSG_MAX);
    CHECK_EQ (curvecp_session_seal (&f.server_session, big, 1104, pkt, &len), CURVECP_E_TOO_LONG);
    CHECK_EQ (curvecp_session_set_message_max (&f.server_session, 1000), CURVECP_E_BAD_ARGUMENT);
    CHECK_EQ (curvecp_session_set_message_max (&f.server_session, CURVECP_LARGE_MSG_MAX + 16), CURVECP_E_BAD_ARGUMENT);
    CHECK_EQ (curvecp_session_set_message_max (&f.server_session, 2008), CURVECP_E_BAD_ARGUMENT);
    CHECK_EQ (curvecp_session_set_message_max (&f.server_session, CURVECP_LARGE_MSG_MAX), CURVECP_OK);
    CHECK_EQ (curvecp_session_seal (&f.server_session, big, CURVECP_LARGE_MSG_MAX, pkt, &len), CURVECP_OK);
    CHECK_EQ (len, CURVECP_SERVER_MSG_BASE + CURVECP_LARGE_MSG_MAX);
    /* The client has not opted in: too long, and nothing changes. */
    expect_open_reject (&f.client_session, pkt, len, CURVECP_E_TOO_LONG);
    CHECK_EQ (curvecp_session_set_message_max (&f.client_session, CURVECP_LARGE_MSG_MAX), CURVECP_OK);
    CHECK_EQ (curvecp_session_open (&f.client_session, pkt, len, out, &out_len), CURVECP_OK);
    CHECK_EQ (out_len, CURVECP_LARGE_MSG_MAX);
    CHECK_MEM (out, big, out_len);
    /* And back, now in a Client Message. */
    CHECK_EQ (curvecp_session_seal (&f.client_session, big, 32768, pkt, &len), CURVECP_OK);
    CHECK_EQ (len, CURVECP_CLIENT_MSG_BASE + 32768);
    CHECK_EQ (curvecp_session_open (&f.server_session, pkt, len, out, &out_len), CURVECP_OK);
    CHECK_MEM (out, big, 32768);
    /* Still a multiple of 16 and still bounded. */
    CHECK_EQ (curvecp_session_seal (&f.client_session, big, 32776, pkt, &len), CURVECP_E_NOT_MULTIPLE_16);
    CHECK_EQ (curvecp_session_seal (&f.client_session, big, CURVECP_LARGE_MSG_MAX + 16, pkt, &len),
              CURVECP_E_TOO_LONG);
    fixture_teardown (&f);
}

static void
test_names (void)
{
    uint8_t field[256], expect[256] = { 0 };
    char text[256];
    memcpy (expect, "\x04test\x07" "example\x03" "com\x00", 18);
    CHECK_EQ (curvecp_name_encode ("test.example.com", field), CURVECP_OK);
    CHECK_MEM (field, expect, 256);
    CHECK_EQ (curvecp_name_encode ("..test..example.com.", field), CURVECP_OK);
    CHECK_MEM (field, expect, 256);
    CHECK_EQ (curvecp_name_decode (field, text, sizeof text), CURVECP_OK);
    CHECK (strcmp (text, "test.example.com") == 0);
    char label64[70];
    memset (label64, 'a', 64);
    label64[64] = 0;
    CHECK_EQ (curvecp_name_encode (label64, field), CURVECP_E_BAD_ARGUMENT);
    /* 256 bytes of encoding (with the final zero) fit, one more label does not. */
    char longname[400] = "";
    for (int i = 0; i < 4; i++)
        strcat (longname, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");  /* 62 */
    CHECK_EQ (curvecp_name_encode (longname, field), CURVECP_OK);     /* 4*63+1 = 253 */
    strcat (longname, "bb.");
    CHECK_EQ (curvecp_name_encode (longname, field), CURVECP_OK);     /* 256 exactly */
    CHECK_EQ (field[255], 0);
    strcat (longname, "c");
    CHECK_EQ (curvecp_name_encode (longname, field), CURVECP_E_BAD_ARGUMENT);  /* 258 */
    CHECK_EQ (curvecp_name_encode ("", field), CURVECP_OK);
    CHECK_EQ (field[0], 0);
    memset (field, 7, 256);
    CHECK_EQ (curvecp_name_decode (field, text, sizeof text), CURVECP_E_WRONG_NAME);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_full_handshake ();
    test_client_nonce_sequence ();
    test_prepared_keys ();
    test_hello_schedule ();
    test_bad_hellos ();
    test_bad_cookies ();
    test_bad_initiates ();
    test_bad_vouch ();
    test_vouch_cache ();
    test_bad_messages ();
    test_large_messages ();
    test_names ();
    printf ("handshake tests passed\n");
    return 0;
}
