/*  curvecp_pubsub_wire.h - the secured PUB-SUB formats (rfc/curvecp.md,
    "Secured publish-subscribe"): the sealed batch on the data channel
    and the key-channel messages (JOIN, KEYS, ACK, DENY, APP), their
    encoders and their decoders, and the seal and signature over a batch.

    Pure functions over bytes and keys: no sockets, no clock, no state,
    so the publisher, the subscriber, the vector generator and the fuzz
    targets use exactly the same code.

    Batch (the PUB message's second frame; the first is the topic):
        version(1)=1 channel_len(1) epoch(8) first_seq(8) count(2) nonce(24)
        ciphertext(XChaCha20-Poly1305-IETF, key = the channel's epoch key,
                   ad = topic_len(1) topic header(44))
        signature(64, Ed25519 over "CurveCP-PUBSUB-1" topic_len(1) topic
                   header ciphertext)
    Plaintext: count x [ nframes(1) nframes x [ len(4) bytes ] ].
    Integers are big-endian.                                              */
#ifndef CURVECP_PUBSUB_WIRE_H_INCLUDED
#define CURVECP_PUBSUB_WIRE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PS_VERSION          1
#define PS_CONTEXT          "CurveCP-PUBSUB-1"     /* signature domain, 16 bytes */
#define PS_CONTEXT_BYTES    16
#define PS_HEADER_BYTES     44
#define PS_NONCE_BYTES      24
#define PS_TAG_BYTES        16
#define PS_SIG_BYTES        64
#define PS_SIGN_PK_BYTES    32
#define PS_SIGN_SK_BYTES    64
#define PS_KEY_BYTES        32
#define PS_TOPIC_MAX        255
#define PS_BATCH_MIN        (PS_HEADER_BYTES + PS_TAG_BYTES + PS_SIG_BYTES)
#define PS_COUNT_MAX        65535
#define PS_FRAMES_MAX       255
#define PS_KEYS_MAX_CHANNELS 1024
#define PS_DENY_MAX         255

/* Key-channel commands: the first frame of each message on the session. */
#define PS_CMD_JOIN "JOIN"
#define PS_CMD_KEYS "KEYS"
#define PS_CMD_ACK  "ACK"
#define PS_CMD_DENY "DENY"
#define PS_CMD_APP  "APP"

/* Why a batch or a key-channel message is refused. */
typedef enum {
    PS_OK = 0,
    PS_MALFORMED,       /* too short, bad version, lengths that do not add up */
    PS_WRONG_TOPIC,     /* topic shorter than its channel prefix, or not subscribed */
    PS_NO_KEY,          /* no key for that epoch and channel */
    PS_REPLAYED,        /* sequence numbers already delivered */
    PS_FORGED,          /* signature does not verify */
    PS_UNSEALED         /* seal does not open, or its plaintext is bad */
} ps_result_t;

/* A batch frame, parsed (pointers into the frame). */
typedef struct {
    uint8_t channel_len;
    uint64_t epoch, first_seq;
    uint16_t count;
    const uint8_t *header;      /* PS_HEADER_BYTES */
    const uint8_t *nonce;
    const uint8_t *cipher;      /* ciphertext with its tag */
    size_t cipher_len;
    const uint8_t *sig;
} ps_batch_t;

/* Parse a batch frame for topic (length checks only). PS_OK, PS_MALFORMED
   or PS_WRONG_TOPIC (channel_len > topic_len). */
ps_result_t ps_batch_parse (const uint8_t *frame, size_t len, size_t topic_len, ps_batch_t *batch);

/* The scratch that verifying or sealing a batch frame of frame_len
   bytes under a topic of topic_len bytes needs (the signed bytes laid
   out whole): PS_CONTEXT_BYTES + 1 + topic_len + frame_len. */
size_t ps_signed_size (size_t topic_len, size_t frame_len);

/* Verify the batch's signature with the publisher's public key; scratch
   must hold ps_signed_size (topic_len, len) bytes. */
bool ps_batch_verify (const ps_batch_t *batch, const uint8_t *topic, size_t topic_len,
                      const uint8_t sign_pk[PS_SIGN_PK_BYTES], uint8_t *scratch);

/* Open the seal into plain (cipher_len - PS_TAG_BYTES bytes). true if it opens. */
bool ps_batch_open (const ps_batch_t *batch, const uint8_t *topic, size_t topic_len,
                    const uint8_t key[PS_KEY_BYTES], uint8_t *plain);

/* Seal and sign a batch of plaintext: writes the batch frame into out
   (room: ps_batch_size (plain_len)), using scratch (room: ps_signed_size
   (topic_len, ps_batch_size (plain_len))), so it allocates nothing. The
   nonce is given (random in use; fixed for test vectors). Returns the
   frame length. */
size_t ps_batch_size (size_t plain_len);
size_t ps_batch_seal (uint8_t *out, const uint8_t *topic, size_t topic_len, uint8_t channel_len,
                      uint64_t epoch, uint64_t first_seq, uint16_t count, const uint8_t nonce[PS_NONCE_BYTES],
                      const uint8_t *plain, size_t plain_len, const uint8_t key[PS_KEY_BYTES],
                      const uint8_t sign_sk[PS_SIGN_SK_BYTES], uint8_t *scratch);

/* Walk the plaintext: exactly count messages, each 1..255 frames, no
   bytes left over. The callback gets each frame of message index i
   (frame j of nframes); NULL callback: check only. true if well formed. */
typedef void (ps_frame_fn) (void *arg, uint16_t message, uint8_t frame, uint8_t nframes,
                            const uint8_t *data, size_t size);
bool ps_plain_walk (const uint8_t *plain, size_t len, uint16_t count, ps_frame_fn *fn, void *arg);
/* One message of the walk: the one at *at (index message), its frames to
   fn (NULL: check only); *at moves past it. false (*at unmoved) if it has
   no frame or does not fit in len. The subscriber checks a batch whole
   with ps_plain_walk, then hands its messages out one by one with this. */
bool ps_plain_message (const uint8_t *plain, size_t len, size_t *at, uint16_t message, ps_frame_fn *fn, void *arg);

/* Bytes a message of these frame sizes takes in the plaintext. */
size_t ps_plain_message_size (size_t nframes, size_t frame_bytes);

/* KEYS body: version(1) signing_pk(32) epoch(8) count(2)
   count x [ prefix_len(1) prefix key(32) ], prefixes distinct. */
typedef struct {
    const uint8_t *sign_pk;
    uint64_t epoch;
    uint16_t count;
    const uint8_t *entries;     /* walk with ps_keys_entry */
} ps_keys_t;

ps_result_t ps_keys_parse (const uint8_t *body, size_t len, ps_keys_t *keys);

/* Entry i of a parsed KEYS body (i < count). */
void ps_keys_entry (const ps_keys_t *keys, uint16_t i, const uint8_t **prefix, uint8_t *prefix_len,
                    const uint8_t **key);

/* Size of a KEYS body, and its encoder (prefixes as C strings). */
size_t ps_keys_size (size_t count, const char *const *prefixes);
size_t ps_keys_encode (uint8_t *out, const uint8_t sign_pk[PS_SIGN_PK_BYTES], uint64_t epoch, size_t count,
                       const char *const *prefixes, const uint8_t (*keys)[PS_KEY_BYTES]);

/* The epoch key of a channel, from the epoch's master secret:
   BLAKE2b-256 keyed with master over "CurveCP-PUBSUB-channel" prefix. */
void ps_channel_key (uint8_t key[PS_KEY_BYTES], const uint8_t master[PS_KEY_BYTES], const char *prefix);

/* Big-endian integers. */
void ps_put64 (uint8_t *p, uint64_t v);
uint64_t ps_get64 (const uint8_t *p);
void ps_put32 (uint8_t *p, uint32_t v);
uint32_t ps_get32 (const uint8_t *p);

#endif
