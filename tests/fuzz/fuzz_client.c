/*  fuzz_client - a client endpoint: curvecp_hs_client (Hello schedule,
    Cookie) and the client session it fills (Initiates out, Server
    Messages in), fed a fuzz sequence of time steps, Cookies (valid for
    this client, with a fuzz or a low-order S', flipped, or raw bytes),
    seals and Server Messages (valid, replayed, flipped, raw).

    The harness plays the server with the vector server keys, so for
    every input it can tell exactly what must happen:
      - Hellos come on schedule (attempts 0..7, nonces increasing) and
        open with beforenm(C', s);
      - a Cookie is accepted exactly when a Hello has gone out, no Cookie
        was accepted before, it is valid for this client and its S' is
        not of low order; the session then holds this client's keys and
        the cookie's K; any refusal is counted once and changes nothing;
      - every Initiate the session seals opens at the server and carries
        C, a vouch for C', our name, K and the message; the first Server
        Message accepted makes the session send Client Messages, which
        open too; Server Messages go through fuzz_session_open (replay
        rule, no change on refusal).                                   */
#include <sodium.h>
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_hs_client.h"
#include "curvecp_packet.h"
#include "curvecp_session.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define OPS_MAX 32
#define SEC 1000000000ull

typedef struct {
    const fuzz_world_t *w;
    curvecp_hs_client_t *client;
    curvecp_session_t session;
    bool hello_sent, have_cookie;
    uint64_t now, last_nonce;       /* last nonce the client used */
    int attempts;
    uint8_t client_short_pk[32];
    uint8_t hello_shared[32];       /* beforenm(C', s), the server's side */
    uint8_t shared[32];             /* beforenm(C', s') once a Cookie is in */
    uint8_t server_short_pk[32], cookie_k[CURVECP_COOKIE_K_BYTES];
} world_t;

static void
s_hello (world_t *wd, fuzz_input_t *in)
{
    uint64_t step = (uint64_t) fuzz_u16 (in) * (SEC / 1000);
    wd->now += step * (1 + fuzz_u8 (in) % 64);
    uint8_t hello[CURVECP_HELLO_BYTES];
    int attempt = -1;
    uint64_t due = curvecp_hs_client_deadline (wd->client);
    curvecp_reason_t rc = curvecp_hs_client_hello (wd->client, wd->now, hello, &attempt);
    if (rc != CURVECP_OK) {
        FUZZ_CHECK (rc == CURVECP_E_WRONG_STATE);
        FUZZ_CHECK (wd->have_cookie || wd->attempts == CURVECP_HELLO_ATTEMPTS || wd->now < due);
        return;
    }
    FUZZ_CHECK (!wd->have_cookie && wd->now >= due && attempt == wd->attempts);
    wd->attempts++;
    curvecp_packet_type_t type;
    FUZZ_CHECK (curvecp_packet_classify_at_server (hello, sizeof hello, wd->w->server_ext, &type) == CURVECP_OK
             && type == CURVECP_PACKET_HELLO);
    FUZZ_CHECK (memcmp (curvecp_packet_client_short_key (hello), wd->client_short_pk, 32) == 0);
    FUZZ_CHECK (curvecp_hello_open (hello, wd->hello_shared) == CURVECP_OK);
    uint64_t nonce = curvecp_packet_nonce8 (hello, CURVECP_PACKET_HELLO);
    FUZZ_CHECK (!wd->hello_sent || nonce > wd->last_nonce);
    wd->last_nonce = nonce;
    wd->hello_sent = true;
}

/* Is S' of low order (so that no shared key can come of it)? The
   scalar multiplication refuses exactly those points, whatever the scalar. */
static bool
s_low_order (const world_t *wd, const uint8_t point[32])
{
    uint8_t out[32];
    return crypto_scalarmult (out, wd->w->server_short_sk, point) != 0;
}

static void
s_cookie (world_t *wd, fuzz_input_t *in)
{
    uint8_t how = fuzz_u8 (in);
    uint8_t packet[CURVECP_COOKIE_BYTES + 16];
    size_t len = CURVECP_COOKIE_BYTES;
    bool valid = false;
    uint8_t server_short_pk[32], nonce16[16];
    memcpy (server_short_pk, wd->w->server_short_pk, 32);
    if (how & 1)
        fuzz_bytes (in, server_short_pk, 32);      /* any S', even a bad one */
    if ((how & 6) == 6) {                          /* raw bytes */
        len = fuzz_u8 (in) % sizeof packet;
        fuzz_bytes (in, packet, len);
    }
    else {
        fuzz_bytes (in, nonce16, 16);
        curvecp_cookie_encode (packet, wd->w->client_ext, wd->w->server_ext, nonce16, server_short_pk,
                wd->w->server_short_sk, wd->client_short_pk, wd->w->minute_key, wd->hello_shared);
        valid = true;
        if (how & 2) {                             /* one byte flipped */
            size_t at = fuzz_u8 (in) % CURVECP_COOKIE_BYTES;
            packet[at] ^= (uint8_t) (fuzz_u8 (in) | 1);
            valid = false;
        }
    }
    curvecp_reason_t expect = !wd->hello_sent || wd->have_cookie ? CURVECP_E_WRONG_STATE
                            : valid && s_low_order (wd, server_short_pk) ? CURVECP_E_BAD_COOKIE_BOX
                            : valid ? CURVECP_OK : CURVECP_E_BAD_COOKIE_BOX;
    curvecp_session_t before = wd->session;
    curvecp_stats_t stats = *curvecp_hs_client_stats (wd->client);
    curvecp_reason_t rc = curvecp_hs_client_cookie (wd->client, packet, len, &wd->session);
    if (expect == CURVECP_E_BAD_COOKIE_BOX && !valid)
        FUZZ_CHECK (rc != CURVECP_OK && rc != CURVECP_E_WRONG_STATE);
    else
        FUZZ_CHECK (rc == expect);
    stats.counts[rc]++;
    FUZZ_CHECK (memcmp (&stats, curvecp_hs_client_stats (wd->client), sizeof stats) == 0);
    if (rc != CURVECP_OK) {
        FUZZ_CHECK (memcmp (&before, &wd->session, sizeof before) == 0);
        return;
    }
    wd->have_cookie = true;
    memcpy (wd->server_short_pk, server_short_pk, 32);
    if (memcmp (server_short_pk, wd->w->server_short_pk, 32) == 0) {
        FUZZ_CHECK (crypto_box_beforenm (wd->shared, wd->client_short_pk, wd->w->server_short_sk) == 0);
        FUZZ_CHECK (memcmp (wd->session.shared, wd->shared, 32) == 0);
    }
    else
        memcpy (wd->shared, wd->session.shared, 32);       /* an S' whose secret we do not know */
    const curvecp_session_t *s = &wd->session;
    FUZZ_CHECK (s->is_client && !s->established && !s->have_received);
    FUZZ_CHECK (memcmp (s->client_short_pk, wd->client_short_pk, 32) == 0);
    FUZZ_CHECK (memcmp (s->client_long_pk, wd->w->client_long_pk, 32) == 0);
    FUZZ_CHECK (memcmp (s->server_long_pk, wd->w->server_long_pk, 32) == 0);
    uint8_t inner_k[CURVECP_COOKIE_K_BYTES], pk[32];
    FUZZ_CHECK (curvecp_cookie_open (packet, len, wd->w->client_ext, wd->w->server_ext, wd->hello_shared,
                                     pk, inner_k) == CURVECP_OK);
    FUZZ_CHECK (memcmp (s->cookie_k, inner_k, sizeof inner_k) == 0);
    memcpy (wd->cookie_k, inner_k, sizeof inner_k);
}

/* The session seals; the server side opens and checks every field. */
static void
s_seal (world_t *wd, fuzz_input_t *in)
{
    if (!wd->have_cookie)
        return;
    uint8_t message[CURVECP_MSG_MAX] = { 0 }, packet[CURVECP_PACKET_MAX];
    size_t message_len = fuzz_message_len ((size_t) fuzz_u8 (in) * 5, sizeof message), len;
    fuzz_bytes (in, message, 16);
    curvecp_reason_t rc = curvecp_session_seal (&wd->session, message, message_len, packet, &len);
    if (!wd->session.established && message_len > CURVECP_INITIATE_MSG_MAX) {
        FUZZ_CHECK (rc == CURVECP_E_TOO_LONG);
        return;
    }
    FUZZ_CHECK (rc == CURVECP_OK);
    curvecp_packet_type_t type;
    FUZZ_CHECK (curvecp_packet_classify_at_server (packet, len, wd->w->server_ext, &type) == CURVECP_OK);
    uint64_t nonce = curvecp_packet_nonce8 (packet, type);
    FUZZ_CHECK (nonce > wd->last_nonce);
    wd->last_nonce = nonce;
    uint8_t opened[CURVECP_INITIATE_INNER_BASE + CURVECP_MSG_MAX];
    size_t opened_len;
    if (!wd->session.established) {
        FUZZ_CHECK (type == CURVECP_PACKET_INITIATE);
        FUZZ_CHECK (memcmp (packet + 72, wd->cookie_k, sizeof wd->cookie_k) == 0);
        FUZZ_CHECK (curvecp_initiate_open (packet, len, wd->shared, opened, &opened_len) == CURVECP_OK);
        FUZZ_CHECK (memcmp (opened, wd->w->client_long_pk, 32) == 0);
        uint8_t vouched[32];
        FUZZ_CHECK (curvecp_vouch_open (opened + 48, opened + 32, wd->w->vouch_shared, vouched) == CURVECP_OK);
        FUZZ_CHECK (memcmp (vouched, wd->client_short_pk, 32) == 0);
        FUZZ_CHECK (memcmp (opened + 96, wd->w->name_field, CURVECP_NAME_BYTES) == 0);
        FUZZ_CHECK (opened_len == CURVECP_INITIATE_INNER_BASE + message_len);
        FUZZ_CHECK (memcmp (opened + CURVECP_INITIATE_INNER_BASE, message, message_len) == 0);
    }
    else {
        FUZZ_CHECK (type == CURVECP_PACKET_CLIENT_MESSAGE);
        FUZZ_CHECK (curvecp_client_message_open (packet, len, wd->shared, opened, &opened_len) == CURVECP_OK);
        FUZZ_CHECK (opened_len == message_len && memcmp (opened, message, message_len) == 0);
    }
}

/* A Server Message: valid with a fuzz nonce (fresh or not), flipped, or raw. */
static void
s_server_message (world_t *wd, fuzz_input_t *in)
{
    if (!wd->have_cookie)
        return;
    uint8_t how = fuzz_u8 (in);
    uint8_t message[CURVECP_MSG_MAX] = { 0 }, packet[CURVECP_PACKET_MAX], opened[CURVECP_MSG_MAX];
    size_t message_len = fuzz_message_len ((size_t) fuzz_u8 (in) * 5, sizeof message), len, opened_len;
    fuzz_bytes (in, message, 16);
    uint64_t nonce = how & 4 ? fuzz_u64 (in) : (wd->session.last_received + fuzz_u8 (in)) - 8;
    FUZZ_CHECK (curvecp_server_message_encode (packet, &len, wd->w->client_ext, wd->w->server_ext, nonce,
                                               wd->shared, message, message_len) == CURVECP_OK);
    bool valid = true;
    if (how & 1) {
        size_t at = fuzz_u16 (in) % len;
        packet[at] ^= (uint8_t) (fuzz_u8 (in) | 1);
        valid = false;
    }
    if (how & 2) {
        len = fuzz_u16 (in) % (CURVECP_PACKET_MAX + 1);
        fuzz_bytes (in, packet, len);
        valid = false;
    }
    bool fresh = !wd->session.have_received || nonce > wd->session.last_received;
    curvecp_reason_t rc = fuzz_session_open (&wd->session, packet, len, opened, &opened_len);
    if (valid)
        FUZZ_CHECK (rc == (fresh ? CURVECP_OK : CURVECP_E_REPLAYED_NONCE));
    if (rc == CURVECP_OK && valid)
        FUZZ_CHECK (opened_len == message_len && memcmp (opened, message, message_len) == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_input_t in;
    static world_t wd;
    memset (&wd, 0, sizeof wd);
    wd.w = fuzz_start (&in, data, size);
    curvecp_keypair_t long_term;
    memcpy (long_term.public_key, wd.w->client_long_pk, 32);
    memcpy (long_term.secret_key, wd.w->client_long_sk, 32);
    wd.client = curvecp_hs_client_new (wd.w->server_long_pk, "test.example.com", wd.w->server_ext,
                                       wd.w->client_ext, &long_term, NULL);
    sodium_memzero (&long_term, sizeof long_term);
    FUZZ_CHECK (wd.client);
    FUZZ_CHECK (memcmp (curvecp_hs_client_long_key (wd.client), wd.w->client_long_pk, 32) == 0);
    memcpy (wd.client_short_pk, curvecp_hs_client_short_key (wd.client), 32);
    FUZZ_CHECK (crypto_box_beforenm (wd.hello_shared, wd.client_short_pk, wd.w->server_long_sk) == 0);
    for (int i = 0; i < OPS_MAX && fuzz_remaining (&in); i++)
        switch (fuzz_u8 (&in) % 4) {
            case 0: s_hello (&wd, &in); break;
            case 1: s_cookie (&wd, &in); break;
            case 2: s_seal (&wd, &in); break;
            default: s_server_message (&wd, &in); break;
        }
    curvecp_session_wipe (&wd.session);
    curvecp_hs_client_destroy (&wd.client);
    FUZZ_CHECK (wd.client == NULL);
    return 0;
}
