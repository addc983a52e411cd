/*  curvecp_hs_server.c - server side of the handshake.

    A Hello costs two scalar multiplications (the shared key C'.s, which
    both opens the Hello and seals the Cookie, and a fresh S'/s') and
    touches only the stack: the server's memory holds nothing about a client
    until its Initiate proves it holds a cookie, C' and a vouch from C.
    An Initiate costs two more: s'.C' (the Initiate box) and C.s (the
    vouch). C.s depends on the client's long-term key alone, so it is
    kept per C in a bounded table (direct-mapped, keyed SipHash so no
    client picks whom it evicts), filled only once a vouch has opened
    under it: a returning client costs one scalar multiplication less.
    The table is allocated with the server, never per client, and wiped
    on destroy.                                                          */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_hs_server.h"
#include "curvecp_packet.h"
#include "curvecp_replay.h"
#include "curvecp_vouch_cache.h"

struct _curvecp_hs_server_t {
    curvecp_keypair_t keys;                             /* S, s */
    uint8_t ext[CURVECP_EXT_BYTES];
    uint8_t minute_current[32];                         /* seals new cookies */
    uint8_t minute_previous[32];                        /* still opens older ones */
    uint64_t next_rotation;
    uint64_t minute_period;                             /* rotations since the start */
    curvecp_minute_keys_fn *minute_source;              /* shared keys (workers); NULL: ours */
    void *minute_context;
    uint8_t names[CURVECP_HS_SERVER_NAMES_MAX][CURVECP_NAME_BYTES];
    int name_count;
    curvecp_nonce16_fn nonce16;                         /* NULL: from rng */
    void *nonce16_context;
    const curvecp_rng_t *rng;
    curvecp_replay_t *replay;                           /* C' of accepted Initiates; NULL = off */
    curvecp_vouch_cache_t *vouch_cache;                 /* C -> C.s; NULL = off */
    curvecp_keypair_t spare;                            /* S' for the next Cookie, once spare_ready */
    bool spare_ready;
    curvecp_stats_t stats;
};

curvecp_hs_server_t *
curvecp_hs_server_new (const curvecp_keypair_t *keys, const uint8_t server_ext[CURVECP_EXT_BYTES],
        uint64_t now, const curvecp_rng_t *rng)
{
    if (sodium_init () < 0)
        return NULL;
    curvecp_hs_server_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->keys = *keys;
    memcpy (self->ext, server_ext, CURVECP_EXT_BYTES);
    self->rng = rng;
    curvecp_rng_bytes (rng, self->minute_current, 32);
    curvecp_rng_bytes (rng, self->minute_previous, 32);
    self->next_rotation = now + CURVECP_MINUTE_NS;
    self->replay = curvecp_replay_new (CURVECP_HS_SERVER_REPLAY_DEFAULT, rng);
    self->vouch_cache = curvecp_vouch_cache_new (CURVECP_HS_SERVER_VOUCH_CACHE_DEFAULT, rng);
    if (!self->replay || !self->vouch_cache)
        curvecp_hs_server_destroy (&self);
    return self;
}

void
curvecp_hs_server_destroy (curvecp_hs_server_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_replay_destroy (&(*self_p)->replay);
        curvecp_vouch_cache_destroy (&(*self_p)->vouch_cache);
        sodium_memzero (*self_p, sizeof **self_p);
        free (*self_p);
        *self_p = NULL;
    }
}

int
curvecp_hs_server_add_name (curvecp_hs_server_t *self, const char *name)
{
    if (self->name_count == CURVECP_HS_SERVER_NAMES_MAX)
        return -1;
    if (curvecp_name_encode (name, self->names[self->name_count]) != CURVECP_OK)
        return -1;
    return self->name_count++;
}

int
curvecp_hs_server_set_replay_capacity (curvecp_hs_server_t *self, size_t capacity)
{
    curvecp_replay_t *replay = NULL;
    if (capacity > 0 && !(replay = curvecp_replay_new (capacity, self->rng)))
        return -1;
    curvecp_replay_destroy (&self->replay);
    self->replay = replay;
    return 0;
}

int
curvecp_hs_server_set_vouch_cache (curvecp_hs_server_t *self, size_t entries)
{
    curvecp_vouch_cache_t *cache = NULL;
    if (entries > 0 && !(cache = curvecp_vouch_cache_new (entries, self->rng)))
        return -1;
    curvecp_vouch_cache_destroy (&self->vouch_cache);
    self->vouch_cache = cache;
    return 0;
}

const curvecp_vouch_cache_t *
curvecp_hs_server_vouch_cache (const curvecp_hs_server_t *self)
{
    return self->vouch_cache;
}

const curvecp_replay_t *
curvecp_hs_server_replay (const curvecp_hs_server_t *self)
{
    return self->replay;
}

void
curvecp_hs_server_set_nonce16 (curvecp_hs_server_t *self, curvecp_nonce16_fn fn, void *context)
{
    self->nonce16 = fn;
    self->nonce16_context = context;
}

void
curvecp_hs_server_set_minute_keys (curvecp_hs_server_t *self, const uint8_t current[32],
        const uint8_t previous[32], uint64_t now)
{
    memcpy (self->minute_current, current, 32);
    memcpy (self->minute_previous, previous, 32);
    self->next_rotation = now + CURVECP_MINUTE_NS;
}

void
curvecp_hs_server_minute_keys (const curvecp_hs_server_t *self, uint8_t current[32], uint8_t previous[32])
{
    memcpy (current, self->minute_current, 32);
    memcpy (previous, self->minute_previous, 32);
}

uint64_t
curvecp_hs_server_deadline (const curvecp_hs_server_t *self)
{
    return self->next_rotation;
}

void
curvecp_hs_server_share_minute_keys (curvecp_hs_server_t *self, curvecp_hs_server_t *from,
        curvecp_minute_keys_fn *source, void *context)
{
    from->minute_source = source;
    from->minute_context = context;
    self->minute_source = source;
    self->minute_context = context;
    memcpy (self->minute_current, from->minute_current, 32);
    memcpy (self->minute_previous, from->minute_previous, 32);
    self->next_rotation = from->next_rotation;
    self->minute_period = from->minute_period;
}

void
curvecp_hs_server_advance (curvecp_hs_server_t *self, uint64_t now)
{
    if (now < self->next_rotation)
        return;
    /* Rotations keep a fixed 60 s grid, so a cookie lives 60-120 s however
       rarely we are called. Two or more missed rotations: the old current
       key must not survive as "previous". */
    uint64_t periods = (now - self->next_rotation) / CURVECP_MINUTE_NS + 1;
    self->next_rotation += periods * CURVECP_MINUTE_NS;
    self->minute_period += periods;
    if (self->minute_source) {
        self->minute_source (self->minute_context, self->minute_period, self->minute_current,
                             self->minute_previous);
        return;
    }
    if (periods >= 2)
        curvecp_rng_bytes (self->rng, self->minute_previous, 32);
    else
        memcpy (self->minute_previous, self->minute_current, 32);
    curvecp_rng_bytes (self->rng, self->minute_current, 32);
}

static curvecp_reason_t
classify (curvecp_hs_server_t *self, const uint8_t *packet, size_t len, curvecp_packet_type_t want)
{
    curvecp_packet_type_t type;
    curvecp_reason_t rc = curvecp_packet_classify_at_server (packet, len, self->ext, &type);
    if (rc == CURVECP_OK && type != want)
        rc = CURVECP_E_WRONG_STATE;
    return rc;
}

/* The Cookie's nonce: from the installed source, else from the rng. */
static curvecp_reason_t
next_nonce16 (curvecp_hs_server_t *self, uint8_t nonce16[CURVECP_NONCE16_BYTES])
{
    if (self->nonce16)
        return self->nonce16 (self->nonce16_context, nonce16);
    curvecp_rng_bytes (self->rng, nonce16, CURVECP_NONCE16_BYTES);
    return CURVECP_OK;
}

void
curvecp_hs_server_prepare (curvecp_hs_server_t *self)
{
    if (!self->spare_ready)
        self->spare_ready = curvecp_rng_keypair (self->rng, self->spare.public_key, self->spare.secret_key) == 0;
}

/* S' for a Cookie: the spare a carrier prepared while idle, else a new one. */
static int
short_term_key (curvecp_hs_server_t *self, curvecp_keypair_t *short_term)
{
    if (!self->spare_ready)
        return curvecp_rng_keypair (self->rng, short_term->public_key, short_term->secret_key);
    *short_term = self->spare;
    sodium_memzero (&self->spare, sizeof self->spare);
    self->spare_ready = false;
    return 0;
}

static curvecp_reason_t
answer_hello (curvecp_hs_server_t *self, const uint8_t *packet, uint8_t cookie[CURVECP_COOKIE_BYTES])
{
    uint8_t shared[32];                       /* C'.s: opens Hello, seals Cookie */
    curvecp_keypair_t short_term;
    uint8_t nonce16[CURVECP_NONCE16_BYTES];
    const uint8_t *client_short_pk = curvecp_packet_client_short_key (packet);
    curvecp_reason_t rc = CURVECP_E_BAD_HELLO_BOX;
    if (crypto_box_beforenm (shared, client_short_pk, self->keys.secret_key) == 0)
        rc = curvecp_hello_open (packet, shared);
    if (rc == CURVECP_OK)
        rc = next_nonce16 (self, nonce16);
    /* S' from the rng; libsodium refuses only a scalar giving the
       identity, which a clamped random one never does. */
    if (rc == CURVECP_OK && short_term_key (self, &short_term) != 0)
        rc = CURVECP_E_BAD_HELLO_BOX;
    if (rc == CURVECP_OK)
        curvecp_cookie_encode (cookie, curvecp_packet_client_ext (packet), self->ext, nonce16,
                short_term.public_key, short_term.secret_key, client_short_pk,
                self->minute_current, shared);
    sodium_memzero (&short_term, sizeof short_term);
    sodium_memzero (shared, sizeof shared);
    return rc;
}

curvecp_reason_t
curvecp_hs_server_hello (curvecp_hs_server_t *self, const uint8_t *packet, size_t len,
        uint64_t now, uint8_t cookie[CURVECP_COOKIE_BYTES])
{
    curvecp_hs_server_advance (self, now);
    curvecp_reason_t rc = classify (self, packet, len, CURVECP_PACKET_HELLO);
    if (rc == CURVECP_OK)
        rc = answer_hello (self, packet, cookie);
    return curvecp_stats_count (&self->stats, rc);
}

/* Open the cookie under the current, then the previous minute key, and
   check that it was issued to this packet's C'. */
static curvecp_reason_t
open_cookie (curvecp_hs_server_t *self, const uint8_t *packet, uint8_t server_short_sk[32])
{
    uint8_t cookie_client_pk[32];
    const uint8_t *cookie_k = packet + 72;
    curvecp_reason_t rc = curvecp_cookie_k_open (cookie_k, self->minute_current,
            cookie_client_pk, server_short_sk);
    if (rc != CURVECP_OK)
        rc = curvecp_cookie_k_open (cookie_k, self->minute_previous, cookie_client_pk, server_short_sk);
    if (rc == CURVECP_OK
    &&  sodium_memcmp (cookie_client_pk, curvecp_packet_client_short_key (packet), 32) != 0)
        rc = CURVECP_E_COOKIE_MISMATCH;
    return rc;
}

static int
find_name (const curvecp_hs_server_t *self, const uint8_t name_field[CURVECP_NAME_BYTES])
{
    for (int i = 0; i < self->name_count; i++)
        if (memcmp (self->names[i], name_field, CURVECP_NAME_BYTES) == 0)
            return i;
    return -1;
}

/* C.s for the vouch: from the cache for a client key seen before (one
   X25519 fewer), else computed; false if libsodium refuses C. */
static bool
vouch_key (curvecp_hs_server_t *self, const uint8_t client_pk[32], uint8_t shared[32], bool *cached)
{
    *cached = self->vouch_cache && curvecp_vouch_cache_get (self->vouch_cache, client_pk, shared);
    return *cached || crypto_box_beforenm (shared, client_pk, self->keys.secret_key) == 0;
}

/* The vouch must open under C.s and name this packet's C'. */
static curvecp_reason_t
check_vouch (curvecp_hs_server_t *self, const uint8_t *packet, const uint8_t *inner)
{
    uint8_t vouch_shared[32];
    uint8_t vouched_pk[32];
    bool cached;
    curvecp_reason_t rc = CURVECP_E_BAD_VOUCH;
    if (vouch_key (self, inner, vouch_shared, &cached))
        rc = curvecp_vouch_open (inner + 48, inner + 32, vouch_shared, vouched_pk);
    if (rc == CURVECP_OK
    &&  sodium_memcmp (vouched_pk, curvecp_packet_client_short_key (packet), 32) != 0)
        rc = CURVECP_E_BAD_VOUCH;
    if (rc == CURVECP_OK && !cached && self->vouch_cache)
        curvecp_vouch_cache_put (self->vouch_cache, inner, vouch_shared);   /* C vouched: a real client's */
    sodium_memzero (vouch_shared, sizeof vouch_shared);
    return rc;
}

static void
fill_session (curvecp_hs_server_t *self, const uint8_t *packet, const uint8_t *inner,
        const uint8_t shared[32], curvecp_session_t *session)
{
    curvecp_session_wipe (session);
    session->is_client = false;
    session->established = true;
    memcpy (session->client_short_pk, curvecp_packet_client_short_key (packet), 32);
    memcpy (session->client_long_pk, inner, 32);
    memcpy (session->server_long_pk, self->keys.public_key, 32);
    memcpy (session->shared, shared, 32);
    memcpy (session->server_ext, self->ext, CURVECP_EXT_BYTES);
    memcpy (session->client_ext, curvecp_packet_client_ext (packet), CURVECP_EXT_BYTES);
    memcpy (session->name_field, inner + 96, CURVECP_NAME_BYTES);
    curvecp_counter_init_random (&session->send_counter, self->rng);
    session->last_received = curvecp_packet_nonce8 (packet, CURVECP_PACKET_INITIATE);
    session->have_received = true;
}

static curvecp_reason_t
accept_initiate (curvecp_hs_server_t *self, const uint8_t *packet, size_t len, uint64_t now,
        curvecp_session_t *session, uint8_t *scratch, curvecp_initiate_info_t *info)
{
    uint8_t server_short_sk[32];
    uint8_t shared[32];
    size_t inner_len = 0;
    const uint8_t *client_short_pk = curvecp_packet_client_short_key (packet);
    /* A C' accepted before is a replay (its connection may be long gone):
       drop it before spending any scalar multiplication on it. */
    if (self->replay && curvecp_replay_seen (self->replay, client_short_pk, now))
        return CURVECP_E_REPLAYED_INITIATE;
    curvecp_reason_t rc = open_cookie (self, packet, server_short_sk);
    if (rc == CURVECP_OK && crypto_box_beforenm (shared, packet + 40, server_short_sk) != 0)
        rc = CURVECP_E_BAD_INITIATE_BOX;
    if (rc == CURVECP_OK)
        rc = curvecp_initiate_open (packet, len, shared, scratch, &inner_len);
    int name_index = -1;
    if (rc == CURVECP_OK && (name_index = find_name (self, scratch + 96)) < 0)
        rc = CURVECP_E_WRONG_NAME;
    if (rc == CURVECP_OK)
        rc = check_vouch (self, packet, scratch);
    if (rc == CURVECP_OK && self->replay)
        rc = curvecp_replay_remember (self->replay, client_short_pk, now);
    if (rc == CURVECP_OK) {
        fill_session (self, packet, scratch, shared, session);
        info->message = scratch + CURVECP_INITIATE_INNER_BASE;
        info->message_len = inner_len - CURVECP_INITIATE_INNER_BASE;
        info->name_index = name_index;
    }
    sodium_memzero (server_short_sk, sizeof server_short_sk);
    sodium_memzero (shared, sizeof shared);
    return rc;
}

curvecp_reason_t
curvecp_hs_server_initiate (curvecp_hs_server_t *self, const uint8_t *packet, size_t len,
        uint64_t now, curvecp_session_t *session, uint8_t *scratch, curvecp_initiate_info_t *info)
{
    curvecp_hs_server_advance (self, now);
    curvecp_reason_t rc = classify (self, packet, len, CURVECP_PACKET_INITIATE);
    if (rc == CURVECP_OK)
        rc = accept_initiate (self, packet, len, now, session, scratch, info);
    return curvecp_stats_count (&self->stats, rc);
}

void
curvecp_hs_server_count (curvecp_hs_server_t *self, curvecp_reason_t reason)
{
    curvecp_stats_count (&self->stats, reason);
}

const curvecp_stats_t *
curvecp_hs_server_stats (const curvecp_hs_server_t *self)
{
    return &self->stats;
}

const uint8_t *
curvecp_hs_server_public_key (const curvecp_hs_server_t *self)
{
    return self->keys.public_key;
}

const uint8_t *
curvecp_hs_server_ext (const curvecp_hs_server_t *self)
{
    return self->ext;
}
