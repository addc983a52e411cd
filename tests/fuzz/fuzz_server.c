/*  fuzz_server - a server endpoint (curvecp_hs_server plus a table of
    curvecp_session_t, dispatching as a carrier does) fed any sequence of
    packets: valid ones from three simulated clients (Hello, Initiate with
    a right or wrong name and a good or bad vouch, Client Messages),
    replays and one-byte mutations of them, raw fuzz bytes, connection
    ends, and time jumps across minute-key rotations.

    For every packet:
      - exactly one counter moves by one (server or session), under the
        reason returned;
      - a refused packet leaves every session byte for byte as it was
        (apart from that counter);
      - a packet built by a simulated client gets exactly the outcome the
        protocol says: a Hello always gets a Cookie that opens; a new
        Initiate is accepted iff a slot is free, its C' has not opened a
        connection within the replay cache's lifetime (when the server has
        one: curvecp_replay.h), its cookie is from the current or previous
        minute, the name is ours and the vouch good,
        and the session then holds that client's keys and its first
        message; a repeated Initiate or Message is accepted iff its nonce
        is fresh and it is sealed with that session's key, and the message
        comes back; the server's replies open at the client.           */
#include <sodium.h>
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_hs_server.h"
#include "curvecp_packet.h"
#include "curvecp_session.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CLIENTS 3
#define SLOTS 2
#define OPS_MAX 48
#define SEC 1000000000ull

/* ---- simulated clients (keys fixed once) -------------------------------- */

typedef struct {
    curvecp_keypair_t long_term, short_term;
    uint8_t hello_shared[32];       /* beforenm(S, c') */
    uint8_t vouch_shared[32];       /* beforenm(S, c) */
} client_keys_t;

typedef struct {
    bool have_cookie;
    uint8_t server_short_pk[32], cookie_k[CURVECP_COOKIE_K_BYTES];
    uint8_t shared[32];             /* beforenm(S', c') */
    uint64_t cookie_rotation;       /* server deadline when the cookie was made */
    uint64_t nonce;                 /* last nonce used under c' */
} client_t;

static client_keys_t s_keys[CLIENTS];

static void
s_keys_init (const fuzz_world_t *w)
{
    static bool ready;
    if (ready)
        return;
    for (int i = 0; i < CLIENTS; i++) {
        client_keys_t *k = &s_keys[i];
        uint8_t secret[32];
        memcpy (secret, i == 0 ? w->client_long_sk : w->client_short_sk, 32);
        secret[31] ^= (uint8_t) (0x40 + i);
        curvecp_keypair_from_secret (&k->long_term, i == 0 ? w->client_long_sk : secret);
        secret[30] ^= 0x55;
        curvecp_keypair_from_secret (&k->short_term, i == 0 ? w->client_short_sk : secret);
        FUZZ_CHECK (crypto_box_beforenm (k->hello_shared, w->server_long_pk, k->short_term.secret_key) == 0);
        FUZZ_CHECK (crypto_box_beforenm (k->vouch_shared, w->server_long_pk, k->long_term.secret_key) == 0);
    }
    ready = true;
}

/* ---- the endpoint ---------------------------------------------------------- */

typedef struct {
    curvecp_hs_server_t *server;
    curvecp_session_t slots[SLOTS];
    bool used[SLOTS];
    uint64_t now;
    /* what the last packet did, for the checks */
    curvecp_initiate_info_t info;
    int slot;                       /* session that handled it, or -1 */
    uint8_t reply[CURVECP_MSG_MAX];  /* cookie or opened message */
    size_t reply_len;
    /* when each client's C' last opened a new connection (replay cache) */
    bool accepted[CLIENTS];
    uint64_t accepted_at[CLIENTS];
} endpoint_t;

static int
s_find (const endpoint_t *ep, const uint8_t *packet)
{
    for (int i = 0; i < SLOTS; i++)
        if (ep->used[i] && curvecp_session_matches (&ep->slots[i], packet))
            return i;
    return -1;
}

static int
s_free_slot (const endpoint_t *ep)
{
    for (int i = 0; i < SLOTS; i++)
        if (!ep->used[i])
            return i;
    return -1;
}

/* A new connection's Initiate: the handshake decides, the table stores. */
static curvecp_reason_t
s_new_connection (endpoint_t *ep, const uint8_t *packet, size_t len)
{
    int slot = s_free_slot (ep);
    if (slot < 0) {
        curvecp_hs_server_count (ep->server, CURVECP_E_FULL);
        return CURVECP_E_FULL;
    }
    static uint8_t scratch[CURVECP_INITIATE_INNER_BASE + CURVECP_INITIATE_MSG_MAX];
    curvecp_session_t session;
    memset (&session, 0, sizeof session);
    curvecp_reason_t rc = curvecp_hs_server_initiate (ep->server, packet, len, ep->now, &session,
                                                      scratch, &ep->info);
    if (rc == CURVECP_OK) {
        for (int c = 0; c < CLIENTS; c++)
            if (memcmp (session.client_short_pk, s_keys[c].short_term.public_key, 32) == 0) {
                ep->accepted[c] = true;
                ep->accepted_at[c] = ep->now;
            }
        ep->slots[slot] = session;
        ep->used[slot] = true;
        ep->slot = slot;
        memcpy (ep->reply, ep->info.message, ep->info.message_len);
        ep->reply_len = ep->info.message_len;
    }
    curvecp_session_wipe (&session);
    return rc;
}

static curvecp_reason_t
s_dispatch (endpoint_t *ep, const uint8_t *packet, size_t len)
{
    curvecp_packet_type_t type;
    ep->slot = -1;
    ep->reply_len = 0;
    curvecp_reason_t rc = curvecp_packet_classify_at_server (packet, len,
            curvecp_hs_server_ext (ep->server), &type);
    if (rc != CURVECP_OK) {
        curvecp_hs_server_count (ep->server, rc);
        return rc;
    }
    if (type == CURVECP_PACKET_HELLO) {
        rc = curvecp_hs_server_hello (ep->server, packet, len, ep->now, ep->reply);
        ep->reply_len = rc == CURVECP_OK ? CURVECP_COOKIE_BYTES : 0;
        return rc;
    }
    int slot = s_find (ep, packet);
    if (slot >= 0) {
        ep->slot = slot;
        return curvecp_session_open (&ep->slots[slot], packet, len, ep->reply, &ep->reply_len);
    }
    if (type == CURVECP_PACKET_INITIATE)
        return s_new_connection (ep, packet, len);
    curvecp_hs_server_count (ep->server, CURVECP_E_UNKNOWN_SESSION);
    return CURVECP_E_UNKNOWN_SESSION;
}

/* ---- counting and no-change checks ------------------------------------------ */

static uint64_t
s_count (const endpoint_t *ep, curvecp_reason_t reason)
{
    uint64_t total = curvecp_hs_server_stats (ep->server)->counts[reason];
    for (int i = 0; i < SLOTS; i++)
        total += ep->slots[i].stats.counts[reason];     /* freed slots are zero */
    return total;
}

static uint64_t
s_count_all (const endpoint_t *ep)
{
    uint64_t total = 0;
    for (int r = 0; r < CURVECP_REASON_COUNT; r++)
        total += s_count (ep, (curvecp_reason_t) r);
    return total;
}

/* Hand a packet to the endpoint and check what every packet must obey. */
static curvecp_reason_t
s_handle (endpoint_t *ep, const uint8_t *packet, size_t len)
{
    static curvecp_session_t before[SLOTS];
    bool used_before[SLOTS];
    memcpy (before, ep->slots, sizeof before);
    memcpy (used_before, ep->used, sizeof used_before);
    uint64_t all = s_count_all (ep);
    uint64_t counts[CURVECP_REASON_COUNT];
    for (int r = 0; r < CURVECP_REASON_COUNT; r++)
        counts[r] = s_count (ep, (curvecp_reason_t) r);

    curvecp_reason_t rc = s_dispatch (ep, packet, len);
    FUZZ_CHECK (rc < CURVECP_REASON_COUNT);
    FUZZ_CHECK (s_count_all (ep) == all + 1);
    FUZZ_CHECK (s_count (ep, rc) == counts[rc] + 1);
    if (rc != CURVECP_OK) {
        if (ep->slot >= 0)
            before[ep->slot].stats.counts[rc]++;
        FUZZ_CHECK (memcmp (before, ep->slots, sizeof before) == 0);
        FUZZ_CHECK (memcmp (used_before, ep->used, sizeof used_before) == 0);
    }
    return rc;
}

/* ---- simulated client packets --------------------------------------------------- */

typedef struct {
    const fuzz_world_t *w;
    endpoint_t ep;
    client_t clients[CLIENTS];
    uint8_t last[CURVECP_PACKET_MAX];    /* the last packet any client sent */
    size_t last_len;
} world_t;

static void
s_client_hello (world_t *wd, int c)
{
    client_t *client = &wd->clients[c];
    const client_keys_t *k = &s_keys[c];
    uint8_t hello[CURVECP_HELLO_BYTES];
    curvecp_hello_encode (hello, wd->w->server_ext, wd->w->client_ext, k->short_term.public_key,
                          k->hello_shared, ++client->nonce);
    memcpy (wd->last, hello, sizeof hello);
    wd->last_len = sizeof hello;
    FUZZ_CHECK (s_handle (&wd->ep, hello, sizeof hello) == CURVECP_OK);
    FUZZ_CHECK (wd->ep.reply_len == CURVECP_COOKIE_BYTES);
    FUZZ_CHECK (curvecp_cookie_open (wd->ep.reply, CURVECP_COOKIE_BYTES, wd->w->client_ext, wd->w->server_ext,
            k->hello_shared, client->server_short_pk, client->cookie_k) == CURVECP_OK);
    FUZZ_CHECK (crypto_box_beforenm (client->shared, client->server_short_pk, k->short_term.secret_key) == 0);
    client->have_cookie = true;
    client->cookie_rotation = curvecp_hs_server_deadline (wd->ep.server);
}

/* What a packet under this client's current key and nonce must get from
   the session of its C', if there is one. */
static curvecp_reason_t
s_session_expect (const world_t *wd, int c, int slot, uint64_t nonce)
{
    const curvecp_session_t *s = &wd->ep.slots[slot];
    if (s->have_received && nonce <= s->last_received)
        return CURVECP_E_REPLAYED_NONCE;
    return memcmp (s->shared, wd->clients[c].shared, 32) == 0 ? CURVECP_OK : CURVECP_E_BAD_MESSAGE_BOX;
}

static curvecp_reason_t
s_initiate_expect (world_t *wd, int c, const uint8_t *packet, uint64_t nonce, bool right_name, bool good_vouch)
{
    endpoint_t *ep = &wd->ep;
    int slot = s_find (ep, packet);
    if (slot >= 0) {
        curvecp_reason_t rc = s_session_expect (wd, c, slot, nonce);
        return rc == CURVECP_E_BAD_MESSAGE_BOX ? CURVECP_E_BAD_INITIATE_BOX : rc;
    }
    if (s_free_slot (ep) < 0)
        return CURVECP_E_FULL;
#ifdef CURVECP_REPLAY_LIFETIME_NS
    /* the server's replay cache: a C' accepted within the lifetime */
    if (ep->accepted[c] && ep->now < ep->accepted_at[c] + CURVECP_REPLAY_LIFETIME_NS)
        return CURVECP_E_REPLAYED_INITIATE;
#endif
    /* rotations since the cookie was made: none or one keep it valid */
    curvecp_hs_server_advance (ep->server, ep->now);
    uint64_t rotated = curvecp_hs_server_deadline (ep->server) - wd->clients[c].cookie_rotation;
    if (rotated > CURVECP_MINUTE_NS)
        return CURVECP_E_BAD_COOKIE;
    if (!right_name)
        return CURVECP_E_WRONG_NAME;
    return good_vouch ? CURVECP_OK : CURVECP_E_BAD_VOUCH;
}

static void
s_client_initiate (world_t *wd, int c, fuzz_input_t *in)
{
    client_t *client = &wd->clients[c];
    const client_keys_t *k = &s_keys[c];
    if (!client->have_cookie)
        return;
    uint8_t flags = fuzz_u8 (in);
    bool right_name = !(flags & 1), good_vouch = !(flags & 2);
    uint8_t vouch_nonce[16], vouch[CURVECP_VOUCH_BYTES], name[CURVECP_NAME_BYTES];
    fuzz_bytes (in, vouch_nonce, sizeof vouch_nonce);
    curvecp_vouch_encode (vouch, vouch_nonce, k->short_term.public_key, k->vouch_shared);
    if (!good_vouch)
        vouch[flags >> 2 & 31] ^= 1;
    FUZZ_CHECK (curvecp_name_encode (right_name ? "test.example.com" : "test.example.org", name) == CURVECP_OK);
    uint8_t message[CURVECP_INITIATE_MSG_MAX] = { 0 };
    size_t message_len = fuzz_message_len ((size_t) fuzz_u8 (in) * 3, sizeof message);
    fuzz_bytes (in, message, 16);
    uint8_t packet[CURVECP_PACKET_MAX];
    size_t len;
    uint64_t nonce = ++client->nonce;
    FUZZ_CHECK (curvecp_initiate_encode (packet, &len, wd->w->server_ext, wd->w->client_ext,
            k->short_term.public_key, client->cookie_k, nonce, client->shared, k->long_term.public_key,
            vouch_nonce, vouch, name, message, message_len) == CURVECP_OK);
    memcpy (wd->last, packet, len);
    wd->last_len = len;
    bool known = s_find (&wd->ep, packet) >= 0;
    curvecp_reason_t expect = s_initiate_expect (wd, c, packet, nonce, right_name, good_vouch);
    curvecp_reason_t rc = s_handle (&wd->ep, packet, len);
    FUZZ_CHECK (rc == expect);
    if (rc != CURVECP_OK)
        return;
    FUZZ_CHECK (wd->ep.reply_len == message_len && memcmp (wd->ep.reply, message, message_len) == 0);
    const curvecp_session_t *s = &wd->ep.slots[wd->ep.slot];
    FUZZ_CHECK (memcmp (s->client_short_pk, k->short_term.public_key, 32) == 0);
    FUZZ_CHECK (memcmp (s->shared, client->shared, 32) == 0);
    FUZZ_CHECK (s->last_received == nonce);
    if (!known) {
        FUZZ_CHECK (memcmp (s->client_long_pk, k->long_term.public_key, 32) == 0);
        FUZZ_CHECK (wd->ep.info.name_index == 0);
    }
}

static void
s_client_message (world_t *wd, int c, fuzz_input_t *in)
{
    client_t *client = &wd->clients[c];
    const client_keys_t *k = &s_keys[c];
    if (!client->have_cookie)
        return;
    uint8_t message[CURVECP_MSG_MAX] = { 0 };
    size_t message_len = fuzz_message_len ((size_t) fuzz_u8 (in) * 5, sizeof message);
    fuzz_bytes (in, message, 16);
    uint8_t packet[CURVECP_PACKET_MAX];
    size_t len;
    uint64_t nonce = ++client->nonce;
    FUZZ_CHECK (curvecp_client_message_encode (packet, &len, wd->w->server_ext, wd->w->client_ext,
            k->short_term.public_key, nonce, client->shared, message, message_len) == CURVECP_OK);
    memcpy (wd->last, packet, len);
    wd->last_len = len;
    int slot = s_find (&wd->ep, packet);
    curvecp_reason_t expect = slot < 0 ? CURVECP_E_UNKNOWN_SESSION : s_session_expect (wd, c, slot, nonce);
    curvecp_reason_t rc = s_handle (&wd->ep, packet, len);
    FUZZ_CHECK (rc == expect);
    if (rc == CURVECP_OK)
        FUZZ_CHECK (wd->ep.reply_len == message_len && memcmp (wd->ep.reply, message, message_len) == 0);
}

/* The server answers on a session; its client must be able to open it. */
static void
s_server_reply (world_t *wd, int slot, fuzz_input_t *in)
{
    if (!wd->ep.used[slot])
        return;
    curvecp_session_t *s = &wd->ep.slots[slot];
    uint8_t message[CURVECP_MSG_MAX] = { 0 }, opened[CURVECP_MSG_MAX];
    size_t message_len = fuzz_message_len ((size_t) fuzz_u8 (in) * 5, sizeof message);
    fuzz_bytes (in, message, 16);
    uint8_t packet[CURVECP_PACKET_MAX];
    size_t len, opened_len;
    FUZZ_CHECK (curvecp_session_seal (s, message, message_len, packet, &len) == CURVECP_OK);
    for (int c = 0; c < CLIENTS; c++)
        if (memcmp (s->client_short_pk, s_keys[c].short_term.public_key, 32) == 0
        &&  memcmp (s->shared, wd->clients[c].shared, 32) == 0) {
            FUZZ_CHECK (curvecp_server_message_open (packet, len, wd->clients[c].shared, opened,
                                                     &opened_len) == CURVECP_OK);
            FUZZ_CHECK (opened_len == message_len && memcmp (opened, message, message_len) == 0);
        }
}

/* ---- the program ----------------------------------------------------------------- */

static void
s_step (world_t *wd, fuzz_input_t *in)
{
    uint8_t op = fuzz_u8 (in);
    int c = (op >> 4) % CLIENTS;
    switch (op & 15) {
        case 0: case 1: s_client_hello (wd, c); break;
        case 2: case 3: s_client_initiate (wd, c, in); break;
        case 4: case 5: s_client_message (wd, c, in); break;
        case 6: s_server_reply (wd, (op >> 4) % SLOTS, in); break;
        case 7:                                     /* replay */
            if (wd->last_len)
                s_handle (&wd->ep, wd->last, wd->last_len);
            break;
        case 8: {                                   /* replay with one byte flipped */
            if (!wd->last_len)
                break;
            uint8_t copy[CURVECP_PACKET_MAX];
            memcpy (copy, wd->last, wd->last_len);
            size_t at = fuzz_u16 (in) % wd->last_len;
            copy[at] ^= (uint8_t) (fuzz_u8 (in) | 1);
            s_handle (&wd->ep, copy, wd->last_len);
            break;
        }
        case 9: {                                   /* raw datagram */
            uint8_t raw[CURVECP_PACKET_MAX + 16];
            size_t len = fuzz_u16 (in) % sizeof raw;
            fuzz_bytes (in, raw, len);
            s_handle (&wd->ep, raw, len);
            break;
        }
        case 10: {                                  /* a connection ends */
            int slot = (op >> 4) % SLOTS;
            curvecp_session_wipe (&wd->ep.slots[slot]);
            wd->ep.used[slot] = false;
            break;
        }
        case 11:                                    /* time: up to minutes at once */
            wd->ep.now += (uint64_t) fuzz_u16 (in) * (SEC / 100) * (1 + (op >> 4));
            break;
        default: {                                  /* a raw packet with our header */
            uint8_t raw[CURVECP_PACKET_MAX];
            size_t len = 16 * (5 + fuzz_u8 (in) % 70);
            fuzz_bytes (in, raw, len);
            memcpy (raw, op & 1 ? "QvnQ5XlI" : "QvnQ5XlM", 8);
            memcpy (raw + 8, wd->w->server_ext, 16);
            memcpy (raw + 40, s_keys[c].short_term.public_key, 32);
            s_handle (&wd->ep, raw, len);
            break;
        }
    }
}

/* One server for the whole run (making one costs more than most inputs:
   the default replay cache is large), brought back to the same state for
   every input: minute keys and clock, an empty replay cache. Its counters
   keep counting, which the checks allow for (they compare before/after). */
static curvecp_hs_server_t *s_the_server;

static void
s_server_destroy (void)
{
    curvecp_hs_server_destroy (&s_the_server);
}

static curvecp_hs_server_t *
s_server (const fuzz_world_t *w, uint64_t now)
{
    curvecp_hs_server_t *server = s_the_server;
    if (!server) {
        curvecp_keypair_t keys;
        memcpy (keys.public_key, w->server_long_pk, 32);
        memcpy (keys.secret_key, w->server_long_sk, 32);
        server = curvecp_hs_server_new (&keys, w->server_ext, now, NULL);
        sodium_memzero (&keys, sizeof keys);
        FUZZ_CHECK (server);
        FUZZ_CHECK (curvecp_hs_server_add_name (server, "test.example.com") == 0);
        s_the_server = server;
        atexit (s_server_destroy);
    }
    uint8_t previous[32];
    memset (previous, 0x77, sizeof previous);
    curvecp_hs_server_set_minute_keys (server, w->minute_key, previous, now);
#ifdef CURVECP_REPLAY_LIFETIME_NS
    /* fresh and small: only the simulated clients' C' can ever get in */
    FUZZ_CHECK (curvecp_hs_server_set_replay_capacity (server, 2 * CLIENTS) == 0);
#endif
    return server;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_input_t in;
    static world_t wd;
    memset (&wd, 0, sizeof wd);
    wd.w = fuzz_start (&in, data, size);
    s_keys_init (wd.w);
    wd.ep.now = 1000 * SEC;
    wd.ep.server = s_server (wd.w, wd.ep.now);
    for (int c = 0; c < CLIENTS; c++)
        wd.clients[c].nonce = 1000 * (uint64_t) (c + 1);
    for (int i = 0; i < OPS_MAX && fuzz_remaining (&in); i++)
        s_step (&wd, &in);
    for (int i = 0; i < SLOTS; i++)
        curvecp_session_wipe (&wd.ep.slots[i]);
    return 0;
}
