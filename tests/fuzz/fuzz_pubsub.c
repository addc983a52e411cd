/*  fuzz_pubsub - the secured PUB-SUB decoders (src/zmq/curvecp_pubsub_wire):
    the batch a subscriber takes from its SUB socket and the KEYS body it
    takes over its session.

    Input byte 0 picks the mode:
      0 (raw batch): byte 1 is the topic length, then the topic, then the
        batch frame. Parse it; a parsed batch must be consistent (channel
        within the topic, room for its messages); then the signature is
        checked with the fixed publisher key (a fuzz input never passes
        it) and the subscriber's path stops there, as it does.
      1 (KEYS): the rest is a KEYS body. A parsed body's entries must lie
        within it, and encoding them again must give the same bytes.
      2 (built batch): byte 1 is a count, byte 2 the topic length and
        channel length, the rest the plaintext: sealed and signed with the
        fixed keys, it must parse, verify and open to the same plaintext,
        and the plaintext walk must say what an independent walk says;
        one flipped byte (position from the input) must fail the
        signature.                                                      */
#include <string.h>
#include <sodium.h>
#include "fuzz_common.h"
#include "zmq/curvecp_pubsub_wire.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static uint8_t s_sign_pk[32], s_sign_sk[64], s_key[32];

static void
setup (void)
{
    static bool done;
    if (done)
        return;
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t) i;
    crypto_sign_seed_keypair (s_sign_pk, s_sign_sk, seed);
    for (int i = 0; i < 32; i++)
        s_key[i] = (uint8_t) (0x40 + i);
    done = true;
}

static void
raw_batch (const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    size_t topic_len = data[0];
    if (topic_len > size - 1)
        topic_len = size - 1;
    const uint8_t *topic = data + 1;
    const uint8_t *frame = data + 1 + topic_len;
    size_t len = size - 1 - topic_len;
    ps_batch_t batch;
    if (ps_batch_parse (frame, len, topic_len, &batch) != PS_OK)
        return;
    FUZZ_CHECK (batch.channel_len <= topic_len);
    FUZZ_CHECK (batch.count > 0 && batch.cipher_len >= PS_TAG_BYTES + 5u * batch.count);
    FUZZ_CHECK (batch.sig + PS_SIG_BYTES == frame + len);
    uint8_t *scratch = (uint8_t *) malloc (ps_signed_size (topic_len, len));
    FUZZ_CHECK (scratch);
    ps_batch_verify (&batch, topic, topic_len, s_sign_pk, scratch);
    free (scratch);
}

static void
keys_body (const uint8_t *data, size_t size)
{
    ps_keys_t keys;
    if (ps_keys_parse (data, size, &keys) != PS_OK)
        return;
    char *prefixes[PS_KEYS_MAX_CHANNELS];
    uint8_t (*key_list)[PS_KEY_BYTES] = (uint8_t (*)[PS_KEY_BYTES]) calloc (keys.count + 1, PS_KEY_BYTES);
    FUZZ_CHECK (key_list);
    bool text = true;       /* the encoder takes C strings: a prefix with a NUL cannot round-trip */
    for (uint16_t i = 0; i < keys.count; i++) {
        const uint8_t *prefix, *key;
        uint8_t plen;
        ps_keys_entry (&keys, i, &prefix, &plen, &key);
        FUZZ_CHECK (prefix >= data && prefix + plen + PS_KEY_BYTES <= data + size);
        prefixes[i] = (char *) calloc (1, plen + 1u);
        FUZZ_CHECK (prefixes[i]);
        memcpy (prefixes[i], prefix, plen);
        text = text && memchr (prefix, 0, plen) == NULL;
        memcpy (key_list[i], key, PS_KEY_BYTES);
    }
    if (text) {
        size_t want = ps_keys_size (keys.count, (const char *const *) prefixes);
        FUZZ_CHECK (want == size);
        uint8_t *again = (uint8_t *) malloc (want);
        FUZZ_CHECK (again);
        FUZZ_CHECK (ps_keys_encode (again, keys.sign_pk, keys.epoch, keys.count, (const char *const *) prefixes,
                                    (const uint8_t (*)[PS_KEY_BYTES]) key_list) == size);
        FUZZ_CHECK (memcmp (again, data, size) == 0);
        free (again);
    }
    for (uint16_t i = 0; i < keys.count; i++)
        free (prefixes[i]);
    free (key_list);
}

/* An independent walk: true if plain is exactly count well-formed messages. */
FUZZ_NO_COVERAGE static bool
model_walk (const uint8_t *plain, size_t len, unsigned count)
{
    size_t at = 0;
    for (unsigned m = 0; m < count; m++) {
        if (at + 1 > len || plain[at] == 0)
            return false;
        unsigned frames = plain[at++];
        for (unsigned f = 0; f < frames; f++) {
            if (at + 4 > len)
                return false;
            size_t n = ((size_t) plain[at] << 24) | ((size_t) plain[at + 1] << 16) | ((size_t) plain[at + 2] << 8) | plain[at + 3];
            at += 4;
            if (n > len - at)
                return false;
            at += n;
        }
    }
    return at == len;
}

static void
built_batch (const uint8_t *data, size_t size)
{
    if (size < 3)
        return;
    uint16_t count = (uint16_t) (data[0] % 8 + 1);
    size_t topic_len = data[1] % 16;
    uint8_t channel_len = (uint8_t) (topic_len ? data[2] % (topic_len + 1) : 0);
    const uint8_t *plain = data + 3;
    size_t plain_len = size - 3;
    uint8_t topic[16];
    memset (topic, 't', sizeof topic);
    uint8_t nonce[PS_NONCE_BYTES] = { 7 };
    uint8_t *frame = (uint8_t *) malloc (ps_batch_size (plain_len));
    uint8_t *scratch = (uint8_t *) malloc (ps_signed_size (topic_len, ps_batch_size (plain_len)));
    FUZZ_CHECK (frame && scratch);
    size_t len = ps_batch_seal (frame, topic, topic_len, channel_len, 5, 9, count, nonce, plain, plain_len,
                                s_key, s_sign_sk, scratch);
    FUZZ_CHECK (len == ps_batch_size (plain_len));
    ps_batch_t batch;
    ps_result_t rc = ps_batch_parse (frame, len, topic_len, &batch);
    /* a plaintext too short for count messages is refused by the length check */
    FUZZ_CHECK (rc == PS_OK || (rc == PS_MALFORMED && plain_len < 5u * count));
    if (rc == PS_OK) {
        uint8_t *opened = (uint8_t *) malloc (plain_len + 1);
        FUZZ_CHECK (opened);
        FUZZ_CHECK (ps_batch_verify (&batch, topic, topic_len, s_sign_pk, scratch));
        FUZZ_CHECK (ps_batch_open (&batch, topic, topic_len, s_key, opened));
        FUZZ_CHECK (memcmp (opened, plain, plain_len) == 0);
        FUZZ_CHECK (ps_plain_walk (opened, plain_len, count, NULL, NULL) == model_walk (plain, plain_len, count));
        /* one flipped byte anywhere: the signature fails (or the header no
           longer parses) */
        size_t at = (size_t) data[2] * 131 % len;
        frame[at] ^= 0x20;
        if (ps_batch_parse (frame, len, topic_len, &batch) == PS_OK)
            FUZZ_CHECK (!ps_batch_verify (&batch, topic, topic_len, s_sign_pk, scratch));
        free (opened);
    }
    free (scratch);
    free (frame);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1 || sodium_init () < 0)
        return 0;
    setup ();
    switch (data[0] % 3) {
        case 0: raw_batch (data + 1, size - 1); break;
        case 1: keys_body (data + 1, size - 1); break;
        default: built_batch (data + 1, size - 1); break;
    }
    return 0;
}
