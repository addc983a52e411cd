/*  curvecp_pubsub_wire.c - the secured PUB-SUB formats: parse, check,
    seal, sign, open (see curvecp_pubsub_wire.h and rfc/curvecp.md).
    Every length is checked before it is used; the decoders read only
    within the frame they are given (fuzz_pubsub covers them).           */
#include <sodium.h>
#include <string.h>
#include "curvecp_pubsub_wire.h"

void
ps_put64 (uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t) v;
}

uint64_t
ps_get64 (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

void
ps_put32 (uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}

uint32_t
ps_get32 (const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

ps_result_t
ps_batch_parse (const uint8_t *frame, size_t len, size_t topic_len, ps_batch_t *batch)
{
    if (!frame || len < PS_BATCH_MIN || frame[0] != PS_VERSION || topic_len > PS_TOPIC_MAX)
        return PS_MALFORMED;
    batch->channel_len = frame[1];
    batch->epoch = ps_get64 (frame + 2);
    batch->first_seq = ps_get64 (frame + 10);
    batch->count = (uint16_t) ((frame[18] << 8) | frame[19]);
    batch->header = frame;
    batch->nonce = frame + 20;
    batch->cipher = frame + PS_HEADER_BYTES;
    batch->cipher_len = len - PS_HEADER_BYTES - PS_SIG_BYTES;
    batch->sig = frame + len - PS_SIG_BYTES;
    /* a batch holds at least one message of at least one frame, and
       sequence numbers start at 1 and never wrap */
    if (batch->count == 0 || batch->first_seq == 0 || batch->epoch == 0
    ||  batch->first_seq > UINT64_MAX - batch->count
    ||  batch->cipher_len < PS_TAG_BYTES + 5u * batch->count)
        return PS_MALFORMED;
    if (batch->channel_len > topic_len)
        return PS_WRONG_TOPIC;
    return PS_OK;
}

/* "CurveCP-PUBSUB-1" topic_len topic: the part before the frame. */
static size_t
put_prefix (uint8_t *out, const uint8_t *topic, size_t topic_len)
{
    memcpy (out, PS_CONTEXT, PS_CONTEXT_BYTES);
    out[PS_CONTEXT_BYTES] = (uint8_t) topic_len;
    if (topic_len)
        memcpy (out + PS_CONTEXT_BYTES + 1, topic, topic_len);
    return PS_CONTEXT_BYTES + 1 + topic_len;
}

size_t
ps_signed_size (size_t topic_len, size_t frame_len)
{
    return PS_CONTEXT_BYTES + 1 + topic_len + frame_len;
}

bool
ps_batch_verify (const ps_batch_t *batch, const uint8_t *topic, size_t topic_len,
                 const uint8_t sign_pk[PS_SIGN_PK_BYTES], uint8_t *scratch)
{
    size_t at = put_prefix (scratch, topic, topic_len);
    size_t body = PS_HEADER_BYTES + batch->cipher_len;
    memcpy (scratch + at, batch->header, body);
    return crypto_sign_verify_detached (batch->sig, scratch, at + body, sign_pk) == 0;
}

/* The seal's associated data: topic_len topic header. */
static size_t
put_ad (uint8_t *out, const uint8_t *topic, size_t topic_len, const uint8_t *header)
{
    out[0] = (uint8_t) topic_len;
    if (topic_len)
        memcpy (out + 1, topic, topic_len);
    memcpy (out + 1 + topic_len, header, PS_HEADER_BYTES);
    return 1 + topic_len + PS_HEADER_BYTES;
}

bool
ps_batch_open (const ps_batch_t *batch, const uint8_t *topic, size_t topic_len,
               const uint8_t key[PS_KEY_BYTES], uint8_t *plain)
{
    uint8_t ad[1 + PS_TOPIC_MAX + PS_HEADER_BYTES];
    size_t ad_len = put_ad (ad, topic, topic_len, batch->header);
    unsigned long long plain_len;
    return crypto_aead_xchacha20poly1305_ietf_decrypt (plain, &plain_len, NULL, batch->cipher, batch->cipher_len,
                                                       ad, ad_len, batch->nonce, key) == 0;
}

size_t
ps_batch_size (size_t plain_len)
{
    return PS_HEADER_BYTES + plain_len + PS_TAG_BYTES + PS_SIG_BYTES;
}

size_t
ps_batch_seal (uint8_t *out, const uint8_t *topic, size_t topic_len, uint8_t channel_len,
               uint64_t epoch, uint64_t first_seq, uint16_t count, const uint8_t nonce[PS_NONCE_BYTES],
               const uint8_t *plain, size_t plain_len, const uint8_t key[PS_KEY_BYTES],
               const uint8_t sign_sk[PS_SIGN_SK_BYTES], uint8_t *scratch)
{
    out[0] = PS_VERSION;
    out[1] = channel_len;
    ps_put64 (out + 2, epoch);
    ps_put64 (out + 10, first_seq);
    out[18] = (uint8_t) (count >> 8);
    out[19] = (uint8_t) count;
    memcpy (out + 20, nonce, PS_NONCE_BYTES);
    uint8_t ad[1 + PS_TOPIC_MAX + PS_HEADER_BYTES];
    size_t ad_len = put_ad (ad, topic, topic_len, out);
    unsigned long long cipher_len;
    crypto_aead_xchacha20poly1305_ietf_encrypt (out + PS_HEADER_BYTES, &cipher_len, plain, plain_len,
                                                ad, ad_len, NULL, nonce, key);
    /* sign context topic header ciphertext: a multi-part Ed25519 would be
       Ed25519ph, another algorithm, so the signed bytes are laid out whole */
    size_t body = PS_HEADER_BYTES + (size_t) cipher_len;
    size_t prefix_len = put_prefix (scratch, topic, topic_len);
    memcpy (scratch + prefix_len, out, body);
    crypto_sign_detached (out + body, NULL, scratch, prefix_len + body, sign_sk);
    return body + PS_SIG_BYTES;
}

size_t
ps_plain_message_size (size_t nframes, size_t frame_bytes)
{
    return 1 + 4 * nframes + frame_bytes;
}

bool
ps_plain_message (const uint8_t *plain, size_t len, size_t *at, uint16_t message, ps_frame_fn *fn, void *arg)
{
    size_t here = *at;
    if (here >= len)
        return false;
    uint8_t nframes = plain[here++];
    if (nframes == 0)
        return false;
    for (uint8_t f = 0; f < nframes; f++) {
        if (len - here < 4)
            return false;
        uint32_t size = ps_get32 (plain + here);
        here += 4;
        if (len - here < size)
            return false;
        if (fn)
            fn (arg, message, f, nframes, plain + here, size);
        here += size;
    }
    *at = here;
    return true;
}

bool
ps_plain_walk (const uint8_t *plain, size_t len, uint16_t count, ps_frame_fn *fn, void *arg)
{
    size_t at = 0;
    for (uint16_t m = 0; m < count; m++)
        if (!ps_plain_message (plain, len, &at, m, fn, arg))
            return false;
    return at == len;
}

#define KEYS_FIXED (1 + PS_SIGN_PK_BYTES + 8 + 2)

ps_result_t
ps_keys_parse (const uint8_t *body, size_t len, ps_keys_t *keys)
{
    if (!body || len < KEYS_FIXED || body[0] != PS_VERSION)
        return PS_MALFORMED;
    keys->sign_pk = body + 1;
    keys->epoch = ps_get64 (body + 1 + PS_SIGN_PK_BYTES);
    keys->count = (uint16_t) ((body[KEYS_FIXED - 2] << 8) | body[KEYS_FIXED - 1]);
    keys->entries = body + KEYS_FIXED;
    if (keys->epoch == 0 || keys->count > PS_KEYS_MAX_CHANNELS)
        return PS_MALFORMED;
    /* every entry within the body, the body exactly used, prefixes distinct */
    size_t at = KEYS_FIXED;
    for (uint16_t i = 0; i < keys->count; i++) {
        if (at >= len || len - at - 1 < (size_t) body[at] + PS_KEY_BYTES)
            return PS_MALFORMED;
        size_t plen = body[at];
        for (size_t back = KEYS_FIXED; back < at; back += 1 + body[back] + PS_KEY_BYTES)
            if (body[back] == plen && memcmp (body + back + 1, body + at + 1, plen) == 0)
                return PS_MALFORMED;
        at += 1 + plen + PS_KEY_BYTES;
    }
    return at == len ? PS_OK : PS_MALFORMED;
}

void
ps_keys_entry (const ps_keys_t *keys, uint16_t i, const uint8_t **prefix, uint8_t *prefix_len, const uint8_t **key)
{
    const uint8_t *at = keys->entries;
    for (uint16_t k = 0; k < i; k++)
        at += 1 + at[0] + PS_KEY_BYTES;
    *prefix_len = at[0];
    *prefix = at + 1;
    *key = at + 1 + at[0];
}

size_t
ps_keys_size (size_t count, const char *const *prefixes)
{
    size_t size = KEYS_FIXED;
    for (size_t i = 0; i < count; i++)
        size += 1 + strlen (prefixes[i]) + PS_KEY_BYTES;
    return size;
}

size_t
ps_keys_encode (uint8_t *out, const uint8_t sign_pk[PS_SIGN_PK_BYTES], uint64_t epoch, size_t count,
                const char *const *prefixes, const uint8_t (*keys)[PS_KEY_BYTES])
{
    out[0] = PS_VERSION;
    memcpy (out + 1, sign_pk, PS_SIGN_PK_BYTES);
    ps_put64 (out + 1 + PS_SIGN_PK_BYTES, epoch);
    out[KEYS_FIXED - 2] = (uint8_t) (count >> 8);
    out[KEYS_FIXED - 1] = (uint8_t) count;
    size_t at = KEYS_FIXED;
    for (size_t i = 0; i < count; i++) {
        size_t plen = strlen (prefixes[i]);
        out[at++] = (uint8_t) plen;
        memcpy (out + at, prefixes[i], plen);
        at += plen;
        memcpy (out + at, keys[i], PS_KEY_BYTES);
        at += PS_KEY_BYTES;
    }
    return at;
}

void
ps_channel_key (uint8_t key[PS_KEY_BYTES], const uint8_t master[PS_KEY_BYTES], const char *prefix)
{
    static const char label[] = "CurveCP-PUBSUB-channel";
    crypto_generichash_state state;
    crypto_generichash_init (&state, master, PS_KEY_BYTES, PS_KEY_BYTES);
    crypto_generichash_update (&state, (const uint8_t *) label, sizeof label - 1);
    crypto_generichash_update (&state, (const uint8_t *) prefix, strlen (prefix));
    crypto_generichash_final (&state, key, PS_KEY_BYTES);
    sodium_memzero (&state, sizeof state);
}
