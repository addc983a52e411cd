/*  curvecp_hs_client.c - client side of the handshake.

    Two shared keys are computed once: S.c' (opens the Cookie, seals
    every Hello) at creation, and S.c (seals the vouch) once the first
    Hello is out (curvecp_hs_client_prepare), so that X25519 runs while
    the Hello travels and the server makes its Cookie, not before the
    Hello leaves; the Cookie computes it if nobody prepared it. The Hello
    schedule is NaCl's: 8 attempts, waiting w + random[0, w) after each,
    w from 1 s growing by half each time (about 49-99 s in all).          */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_hs_client.h"
#include "curvecp_packet.h"

#define FIRST_WAIT_NS 1000000000ull

struct _curvecp_hs_client_t {
    uint8_t server_pk[CURVECP_KEY_BYTES];
    uint8_t name_field[CURVECP_NAME_BYTES];
    uint8_t server_ext[CURVECP_EXT_BYTES];
    uint8_t client_ext[CURVECP_EXT_BYTES];
    curvecp_keypair_t long_term;          /* C, c */
    curvecp_keypair_t short_term;         /* C', c' */
    uint8_t hello_shared[32];             /* S.c' */
    uint8_t vouch_shared[32];             /* S.c, once vouch_ready */
    bool vouch_ready;
    curvecp_counter_t counter;            /* shared by Hello, Initiate, Message */
    int attempts;                         /* Hellos sent so far */
    uint64_t next_hello;                  /* when the next one is due */
    uint64_t wait_ns;                     /* base wait after the next attempt */
    bool have_cookie;
    curvecp_nonce16_fn nonce16;           /* NULL: from rng */
    void *nonce16_context;
    const curvecp_rng_t *rng;
    curvecp_stats_t stats;
};

curvecp_hs_client_t *
curvecp_hs_client_new (const uint8_t server_pk[CURVECP_KEY_BYTES],
        const char *server_name, const uint8_t server_ext[CURVECP_EXT_BYTES],
        const uint8_t client_ext[CURVECP_EXT_BYTES], const curvecp_keypair_t *long_term,
        const curvecp_rng_t *rng)
{
    if (sodium_init () < 0)
        return NULL;
    curvecp_hs_client_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (curvecp_name_encode (server_name, self->name_field) != CURVECP_OK) {
        free (self);
        return NULL;
    }
    memcpy (self->server_pk, server_pk, CURVECP_KEY_BYTES);
    memcpy (self->server_ext, server_ext, CURVECP_EXT_BYTES);
    memcpy (self->client_ext, client_ext, CURVECP_EXT_BYTES);
    self->rng = rng;
    if (long_term)
        self->long_term = *long_term;
    else
    if (curvecp_rng_keypair (rng, self->long_term.public_key, self->long_term.secret_key) != 0) {
        curvecp_hs_client_destroy (&self);
        return NULL;
    }
    /* a low-order server key fails here (the vouch's key, made later
       from the same server key, could not succeed where this fails) */
    if (curvecp_rng_keypair (rng, self->short_term.public_key, self->short_term.secret_key) != 0
    ||  crypto_box_beforenm (self->hello_shared, server_pk, self->short_term.secret_key) != 0) {
        curvecp_hs_client_destroy (&self);
        return NULL;
    }
    curvecp_counter_init_random (&self->counter, rng);
    self->wait_ns = FIRST_WAIT_NS;
    return self;
}

void
curvecp_hs_client_destroy (curvecp_hs_client_t **self_p)
{
    if (self_p && *self_p) {
        sodium_memzero (*self_p, sizeof **self_p);
        free (*self_p);
        *self_p = NULL;
    }
}

void
curvecp_hs_client_set_nonce16 (curvecp_hs_client_t *self, curvecp_nonce16_fn fn, void *context)
{
    self->nonce16 = fn;
    self->nonce16_context = context;
}

void
curvecp_hs_client_set_client_ext (curvecp_hs_client_t *self, const uint8_t client_ext[CURVECP_EXT_BYTES])
{
    memcpy (self->client_ext, client_ext, CURVECP_EXT_BYTES);
}

/* After an attempt: wait w + random[0, w), then grow w by half. */
static void
schedule_next (curvecp_hs_client_t *self, uint64_t now)
{
    uint64_t jitter = curvecp_rng_uniform (self->rng, (uint32_t) (self->wait_ns / 1000)) * 1000ull;
    self->next_hello = now + self->wait_ns + jitter;
    self->wait_ns += self->wait_ns / 2;
}

curvecp_reason_t
curvecp_hs_client_hello (curvecp_hs_client_t *self, uint64_t now,
        uint8_t out[CURVECP_HELLO_BYTES], int *attempt)
{
    if (self->have_cookie || self->attempts >= CURVECP_HELLO_ATTEMPTS || now < self->next_hello)
        return CURVECP_E_WRONG_STATE;
    uint64_t nonce;
    curvecp_reason_t rc = curvecp_counter_next (&self->counter, &nonce);
    if (rc != CURVECP_OK)
        return rc;
    curvecp_hello_encode (out, self->server_ext, self->client_ext, self->short_term.public_key,
                          self->hello_shared, nonce);
    if (attempt)
        *attempt = self->attempts;
    self->attempts++;
    schedule_next (self, now);
    return CURVECP_OK;
}

uint64_t
curvecp_hs_client_deadline (const curvecp_hs_client_t *self)
{
    return self->have_cookie ? UINT64_MAX : self->next_hello;
}

bool
curvecp_hs_client_failed (const curvecp_hs_client_t *self, uint64_t now)
{
    return !self->have_cookie && self->attempts >= CURVECP_HELLO_ATTEMPTS && now >= self->next_hello;
}

curvecp_reason_t
curvecp_hs_client_prepare (curvecp_hs_client_t *self)
{
    if (self->vouch_ready)
        return CURVECP_OK;
    if (crypto_box_beforenm (self->vouch_shared, self->server_pk, self->long_term.secret_key) != 0)
        return CURVECP_E_BAD_KEY;
    self->vouch_ready = true;
    return CURVECP_OK;
}

static curvecp_reason_t
fill_session (curvecp_hs_client_t *self, const uint8_t server_short_pk[32],
        const uint8_t cookie_k[CURVECP_COOKIE_K_BYTES], curvecp_session_t *session)
{
    uint8_t vouch_nonce[CURVECP_NONCE16_BYTES];
    uint8_t shared[32];
    curvecp_reason_t rc = CURVECP_OK;
    if (self->nonce16)
        rc = self->nonce16 (self->nonce16_context, vouch_nonce);
    else
        curvecp_rng_bytes (self->rng, vouch_nonce, sizeof vouch_nonce);
    if (rc == CURVECP_OK)
        rc = curvecp_hs_client_prepare (self);
    if (rc == CURVECP_OK && crypto_box_beforenm (shared, server_short_pk, self->short_term.secret_key) != 0)
        rc = CURVECP_E_BAD_COOKIE_BOX;          /* S' of low order: not a real server */
    if (rc != CURVECP_OK)
        return rc;
    curvecp_session_wipe (session);
    session->is_client = true;
    memcpy (session->client_short_pk, self->short_term.public_key, 32);
    memcpy (session->client_long_pk, self->long_term.public_key, 32);
    memcpy (session->server_long_pk, self->server_pk, 32);
    memcpy (session->shared, shared, 32);
    memcpy (session->server_ext, self->server_ext, CURVECP_EXT_BYTES);
    memcpy (session->client_ext, self->client_ext, CURVECP_EXT_BYTES);
    memcpy (session->name_field, self->name_field, CURVECP_NAME_BYTES);
    memcpy (session->cookie_k, cookie_k, CURVECP_COOKIE_K_BYTES);
    memcpy (session->vouch_nonce, vouch_nonce, CURVECP_NONCE16_BYTES);
    curvecp_vouch_encode (session->vouch, vouch_nonce, self->short_term.public_key, self->vouch_shared);
    session->send_counter = self->counter;
    sodium_memzero (shared, sizeof shared);
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_hs_client_cookie (curvecp_hs_client_t *self, const uint8_t *packet, size_t len,
        curvecp_session_t *session)
{
    uint8_t server_short_pk[32];
    uint8_t cookie_k[CURVECP_COOKIE_K_BYTES];
    curvecp_reason_t rc = CURVECP_OK;
    if (self->have_cookie || self->attempts == 0)
        rc = CURVECP_E_WRONG_STATE;
    if (rc == CURVECP_OK)
        rc = curvecp_cookie_open (packet, len, self->client_ext, self->server_ext, self->hello_shared,
                                  server_short_pk, cookie_k);
    if (rc == CURVECP_OK)
        rc = fill_session (self, server_short_pk, cookie_k, session);
    if (rc == CURVECP_OK)
        self->have_cookie = true;
    sodium_memzero (cookie_k, sizeof cookie_k);
    return curvecp_stats_count (&self->stats, rc);
}

const uint8_t *
curvecp_hs_client_short_key (const curvecp_hs_client_t *self)
{
    return self->short_term.public_key;
}

const uint8_t *
curvecp_hs_client_long_key (const curvecp_hs_client_t *self)
{
    return self->long_term.public_key;
}

const curvecp_stats_t *
curvecp_hs_client_stats (const curvecp_hs_client_t *self)
{
    return &self->stats;
}
