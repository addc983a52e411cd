/*  fuzz_common.c - the fixed world, the input cursor and the seeded RNG
    shared by the libFuzzer targets. */
#include <sodium.h>
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_packet.h"

/* vectors.h is a header of static helpers for the vector programs; we use
   only some of them. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "vectors.h"
#pragma GCC diagnostic pop

/* ---- deterministic randomness ----------------------------------------- */

static uint64_t s_rng_state = 0x243f6a8885a308d3ull;

/* splitmix64: tiny, fast, and good enough to stand in for randomness in
   a harness (nothing here is secret). */
static uint64_t
s_rng_next (void)
{
    uint64_t z = (s_rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static const char *
s_rng_name (void)
{
    return "curvecp-fuzz-splitmix64";
}

static uint32_t
s_rng_random (void)
{
    return (uint32_t) s_rng_next ();
}

static void
s_rng_buf (void *const buf, const size_t size)
{
    uint8_t *out = buf;
    for (size_t i = 0; i < size; i += 8) {
        uint64_t word = s_rng_next ();
        size_t take = size - i < 8 ? size - i : 8;
        memcpy (out + i, &word, take);
    }
}

static randombytes_implementation s_rng_implementation = {
    .implementation_name = s_rng_name,
    .random = s_rng_random,
    .stir = NULL,
    .uniform = NULL,
    .buf = s_rng_buf,
    .close = NULL
};

void
fuzz_rng_seed (uint64_t seed)
{
    s_rng_state = seed ^ 0x243f6a8885a308d3ull;
}

/* ---- the world --------------------------------------------------------- */

static fuzz_world_t s_world;
static bool s_world_ready;

static void
s_world_build (fuzz_world_t *w)
{
    vectors_input_t in;
    vectors_output_t out;
    vectors_input (&in);
    vectors_build (&in, &out);
    memcpy (w->server_long_sk, in.s, 32);
    memcpy (w->server_long_pk, in.S, 32);
    memcpy (w->client_long_sk, in.c, 32);
    memcpy (w->client_long_pk, in.C, 32);
    memcpy (w->client_short_sk, in.cs, 32);
    memcpy (w->client_short_pk, in.Cs, 32);
    memcpy (w->server_short_sk, in.ss, 32);
    memcpy (w->server_short_pk, in.Ss, 32);
    memcpy (w->minute_key, in.minute_key, 32);
    memcpy (w->server_ext, in.server_ext, 16);
    memcpy (w->client_ext, in.client_ext, 16);
    memcpy (w->cookie_nonce, in.cookie_nonce, 16);
    memcpy (w->vouch_nonce, in.vouch_nonce, 16);
    memcpy (w->name_field, in.name, CURVECP_NAME_BYTES);
    memcpy (w->initiate_msg, in.initiate_msg, 192);
    memcpy (w->server_msg, in.server_msg, 192);
    memcpy (w->client_msg, in.client_msg, 192);
    if (crypto_box_beforenm (w->hello_shared, in.S, in.cs) != 0
    ||  crypto_box_beforenm (w->vouch_shared, in.S, in.c) != 0
    ||  crypto_box_beforenm (w->session_shared, in.Ss, in.cs) != 0)
        abort ();
    uint8_t server_short_pk[32];
    if (curvecp_cookie_open (out.cookie, sizeof out.cookie, in.client_ext, in.server_ext,
                             w->hello_shared, server_short_pk, w->cookie_k) != CURVECP_OK)
        abort ();
    memcpy (w->vouch, out.vouch, CURVECP_VOUCH_BYTES);
    memcpy (w->hello, out.hello, sizeof w->hello);
    memcpy (w->cookie, out.cookie, sizeof w->cookie);
    memcpy (w->initiate, out.initiate, out.initiate_len);
    memcpy (w->server_message, out.server_msg, out.server_msg_len);
    memcpy (w->client_message, out.client_msg, out.client_msg_len);
    w->initiate_len = out.initiate_len;
    w->server_message_len = out.server_msg_len;
    w->client_message_len = out.client_msg_len;
}

const fuzz_world_t *
fuzz_world (void)
{
    if (!s_world_ready) {
        randombytes_set_implementation (&s_rng_implementation);
        if (sodium_init () < 0)
            abort ();
        s_world_build (&s_world);
        s_world_ready = true;
    }
    return &s_world;
}

const fuzz_world_t *
fuzz_start (fuzz_input_t *in, const uint8_t *data, size_t size)
{
    const fuzz_world_t *w = fuzz_world ();
    uint64_t seed = size;
    for (size_t i = 0; i < size && i < 64; i++)
        seed = seed * 131 + data[i];
    fuzz_rng_seed (seed);
    fuzz_input_init (in, data, size);
    return w;
}

void
fuzz_session_init (curvecp_session_t *session, bool is_client)
{
    const fuzz_world_t *w = fuzz_world ();
    curvecp_session_wipe (session);
    session->is_client = is_client;
    session->established = !is_client;
    memcpy (session->client_short_pk, w->client_short_pk, 32);
    memcpy (session->client_long_pk, w->client_long_pk, 32);
    memcpy (session->server_long_pk, w->server_long_pk, 32);
    memcpy (session->shared, w->session_shared, 32);
    memcpy (session->server_ext, w->server_ext, 16);
    memcpy (session->client_ext, w->client_ext, 16);
    curvecp_counter_init (&session->send_counter, 1000);
    if (is_client) {
        memcpy (session->cookie_k, w->cookie_k, sizeof session->cookie_k);
        memcpy (session->vouch_nonce, w->vouch_nonce, 16);
        memcpy (session->vouch, w->vouch, sizeof session->vouch);
        memcpy (session->name_field, w->name_field, sizeof session->name_field);
    }
}

/* ---- the input cursor --------------------------------------------------- */

void
fuzz_input_init (fuzz_input_t *self, const uint8_t *data, size_t size)
{
    self->data = data;
    self->size = size;
}

void
fuzz_bytes (fuzz_input_t *self, void *out, size_t n)
{
    size_t take = n < self->size ? n : self->size;
    if (take)
        memcpy (out, self->data, take);
    memset ((uint8_t *) out + take, 0, n - take);
    self->data += take;
    self->size -= take;
}

uint8_t
fuzz_u8 (fuzz_input_t *self)
{
    uint8_t v;
    fuzz_bytes (self, &v, 1);
    return v;
}

uint16_t
fuzz_u16 (fuzz_input_t *self)
{
    uint8_t b[2];
    fuzz_bytes (self, b, 2);
    return (uint16_t) (b[0] | b[1] << 8);
}

uint32_t
fuzz_u32 (fuzz_input_t *self)
{
    uint8_t b[4];
    fuzz_bytes (self, b, 4);
    return (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
}

uint64_t
fuzz_u64 (fuzz_input_t *self)
{
    uint64_t low = fuzz_u32 (self);
    return low | (uint64_t) fuzz_u32 (self) << 32;
}

bool
fuzz_bool (fuzz_input_t *self)
{
    return fuzz_u8 (self) & 1;
}

size_t
fuzz_rest (fuzz_input_t *self, uint8_t *out, size_t cap)
{
    size_t take = self->size < cap ? self->size : cap;
    fuzz_bytes (self, out, take);
    return take;
}

size_t
fuzz_remaining (const fuzz_input_t *self)
{
    return self->size;
}

/* ---- packet helpers ---------------------------------------------------- */

size_t
fuzz_message_len (size_t n, size_t max)
{
    if (n < CURVECP_MSG_MIN)
        n = CURVECP_MSG_MIN;
    n = (n + 15) / 16 * 16;
    return n > max ? max : n;
}

size_t
fuzz_flip (uint8_t *packet, size_t len, uint16_t position, uint8_t value)
{
    if (value == 0 || position >= len)
        return SIZE_MAX;
    packet[position] ^= value;
    return position;
}

bool
fuzz_flipped_in (size_t flipped, size_t from, size_t to)
{
    return flipped != SIZE_MAX && flipped >= from && flipped < to;
}

/* ---- checked calls ------------------------------------------------------ */

/* The nonce and type of a packet the session would accept, from its side. */
static bool
s_session_nonce (const curvecp_session_t *session, const uint8_t *packet, size_t len, uint64_t *nonce)
{
    curvecp_packet_type_t type;
    curvecp_reason_t rc = session->is_client
        ? curvecp_packet_classify_at_client (packet, len, session->client_ext, session->server_ext, &type)
        : curvecp_packet_classify_at_server (packet, len, session->server_ext, &type);
    if (rc != CURVECP_OK)
        return false;
    *nonce = curvecp_packet_nonce8 (packet, type);
    return true;
}

curvecp_reason_t
fuzz_session_open (curvecp_session_t *session, const uint8_t *packet, size_t len,
        uint8_t message[CURVECP_MSG_MAX], size_t *message_len)
{
    curvecp_session_t expect;
    memcpy (&expect, session, sizeof expect);
    *message_len = SIZE_MAX;
    curvecp_reason_t rc = curvecp_session_open (session, packet, len, message, message_len);
    FUZZ_CHECK (rc < CURVECP_REASON_COUNT);
    expect.stats.counts[rc]++;
    if (rc == CURVECP_OK) {
        uint64_t nonce = 0;
        FUZZ_CHECK (s_session_nonce (&expect, packet, len, &nonce));
        FUZZ_CHECK (!expect.have_received || nonce > expect.last_received);
        FUZZ_CHECK (*message_len >= CURVECP_MSG_MIN && *message_len <= CURVECP_MSG_MAX);
        FUZZ_CHECK (*message_len % 16 == 0);
        expect.last_received = nonce;
        expect.have_received = true;
        if (expect.is_client && !expect.established) {
            expect.established = true;
            memset (expect.cookie_k, 0, sizeof expect.cookie_k);
            memset (expect.vouch_nonce, 0, sizeof expect.vouch_nonce);
            memset (expect.vouch, 0, sizeof expect.vouch);
            memset (expect.name_field, 0, sizeof expect.name_field);
        }
    }
    FUZZ_CHECK (memcmp (&expect, session, sizeof expect) == 0);
    return rc;
}

/* Every label free of '.' and NUL: then text and field correspond 1:1. */
static bool
s_labels_plain (const uint8_t field[CURVECP_NAME_BYTES])
{
    size_t at = 0;
    while (at < CURVECP_NAME_BYTES && field[at]) {
        size_t label = field[at++];
        for (size_t i = 0; i < label && at + i < CURVECP_NAME_BYTES; i++)
            if (field[at + i] == '.' || field[at + i] == 0)
                return false;
        at += label;
    }
    return true;
}

curvecp_reason_t
fuzz_check_name_field (const uint8_t field[CURVECP_NAME_BYTES], size_t cap)
{
    char *text = malloc (cap ? cap : 1);
    FUZZ_CHECK (text);
    curvecp_reason_t rc = curvecp_name_decode (field, text, cap);
    if (rc == CURVECP_OK) {
        FUZZ_CHECK (memchr (text, 0, cap) != NULL);
        uint8_t again[CURVECP_NAME_BYTES];
        FUZZ_CHECK (curvecp_name_encode (text, again) == CURVECP_OK);
        if (s_labels_plain (field)) {
            size_t end = 0;
            while (field[end])
                end += 1 + field[end];
            FUZZ_CHECK (memcmp (again, field, end + 1) == 0);
            for (size_t i = end + 1; i < CURVECP_NAME_BYTES; i++)
                FUZZ_CHECK (again[i] == 0);
        }
    }
    else
        FUZZ_CHECK (rc == CURVECP_E_WRONG_NAME || rc == CURVECP_E_TOO_LONG || rc == CURVECP_E_BAD_ARGUMENT);
    free (text);
    return rc;
}

/* ---- what writers write ----------------------------------------------- */

uint8_t
fuzz_pattern (uint64_t salt, uint64_t position)
{
    uint64_t x = (position + salt) * 0x9e3779b97f4a7c15ull;
    return (uint8_t) ((x ^ (x >> 29)) >> 56);
}

FUZZ_NO_COVERAGE void
fuzz_pattern_fill (uint8_t *out, size_t n, uint64_t salt, uint64_t position)
{
    for (size_t i = 0; i < n; i++)
        out[i] = fuzz_pattern (salt, position + i);
}

FUZZ_NO_COVERAGE bool
fuzz_pattern_matches (const uint8_t *data, size_t n, uint64_t salt, uint64_t position)
{
    for (size_t i = 0; i < n; i++)
        if (data[i] != fuzz_pattern (salt, position + i))
            return false;
    return true;
}

uint64_t
fuzz_stats_total (const curvecp_stats_t *stats)
{
    uint64_t total = 0;
    for (int i = 0; i < CURVECP_REASON_COUNT; i++)
        total += stats->counts[i];
    return total;
}
