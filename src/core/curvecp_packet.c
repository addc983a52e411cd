/*  curvecp_packet.c - byte-exact encoders and decoders of the five packets.

    Boxes use libsodium's "easy" forms, whose output is the 16-byte tag
    followed by the ciphertext: exactly CurveCP's compact box. Every
    decoder checks the length before reading a byte of the body.          */
#include <sodium.h>
#include <string.h>
#include "curvecp_bytes.h"
#include "curvecp_packet.h"

/* ---- little helpers --------------------------------------------------- */

/* 24-byte nonce: a 16-byte ASCII prefix and an 8-byte LE counter. */
static void
nonce_counter (uint8_t nonce[24], const char prefix[16], uint64_t counter)
{
    memcpy (nonce, prefix, 16);
    curvecp_store_u64_le (nonce + 16, counter);
}

/* 24-byte nonce: an 8-byte ASCII prefix and a 16-byte compressed nonce. */
static void
nonce_long (uint8_t nonce[24], const char prefix[8], const uint8_t n16[16])
{
    memcpy (nonce, prefix, 8);
    memcpy (nonce + 8, n16, 16);
}

curvecp_reason_t
curvecp_message_len_check (size_t message_len, size_t max)
{
    if (message_len < CURVECP_MSG_MIN)
        return CURVECP_E_TOO_SHORT;
    if (message_len > max)
        return CURVECP_E_TOO_LONG;
    if (message_len % 16)
        return CURVECP_E_NOT_MULTIPLE_16;
    return CURVECP_OK;
}

/* ---- server names ------------------------------------------------------ */

curvecp_reason_t
curvecp_name_encode (const char *name, uint8_t field[CURVECP_NAME_BYTES])
{
    uint8_t encoded[CURVECP_NAME_BYTES] = { 0 };
    size_t at = 0;
    if (!name)
        return CURVECP_E_BAD_ARGUMENT;
    while (*name) {
        size_t label = strcspn (name, ".");
        if (label > 63)
            return CURVECP_E_BAD_ARGUMENT;
        if (label > 0) {
            /* room for length byte, label, and the final zero */
            if (at + 1 + label + 1 > CURVECP_NAME_BYTES)
                return CURVECP_E_BAD_ARGUMENT;
            encoded[at++] = (uint8_t) label;
            memcpy (encoded + at, name, label);
            at += label;
        }
        name += label;
        if (*name == '.')
            name++;
    }
    memcpy (field, encoded, CURVECP_NAME_BYTES);
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_name_decode (const uint8_t field[CURVECP_NAME_BYTES], char *text, size_t cap)
{
    size_t at = 0, out = 0;
    if (cap == 0)
        return CURVECP_E_BAD_ARGUMENT;
    while (at < CURVECP_NAME_BYTES && field[at]) {
        size_t label = field[at++];
        if (label > 63 || at + label >= CURVECP_NAME_BYTES)
            return CURVECP_E_WRONG_NAME;
        if (out + label + 2 > cap)
            return CURVECP_E_TOO_LONG;
        if (out)
            text[out++] = '.';
        memcpy (text + out, field + at, label);
        out += label;
        at += label;
    }
    if (at >= CURVECP_NAME_BYTES)
        return CURVECP_E_WRONG_NAME;    /* no terminating zero */
    text[out] = 0;
    return CURVECP_OK;
}

/* ---- classification ---------------------------------------------------- */

static curvecp_reason_t
check_server_size (curvecp_packet_type_t type, size_t len)
{
    switch (type) {
        case CURVECP_PACKET_HELLO:
            return len == CURVECP_HELLO_BYTES ? CURVECP_OK
                 : len < CURVECP_HELLO_BYTES ? CURVECP_E_TOO_SHORT : CURVECP_E_TOO_LONG;
        case CURVECP_PACKET_INITIATE:
            return len < CURVECP_INITIATE_BASE + CURVECP_MSG_MIN ? CURVECP_E_TOO_SHORT
                 : len > CURVECP_INITIATE_BASE + CURVECP_INITIATE_MSG_MAX ? CURVECP_E_TOO_LONG : CURVECP_OK;
        default:
            return len < CURVECP_CLIENT_MSG_BASE + CURVECP_MSG_MIN ? CURVECP_E_TOO_SHORT : CURVECP_OK;
    }
}

curvecp_reason_t
curvecp_packet_classify_at_server (const uint8_t *packet, size_t len,
        const uint8_t server_ext[CURVECP_EXT_BYTES], curvecp_packet_type_t *type)
{
    return curvecp_packet_classify_at_server_max (packet, len, server_ext, CURVECP_MSG_MAX, type);
}

curvecp_reason_t
curvecp_packet_classify_at_server_max (const uint8_t *packet, size_t len,
        const uint8_t server_ext[CURVECP_EXT_BYTES], size_t max_message, curvecp_packet_type_t *type)
{
    if (len < CURVECP_PACKET_MIN)
        return CURVECP_E_TOO_SHORT;
    if (len > CURVECP_CLIENT_MSG_BASE + max_message)
        return CURVECP_E_TOO_LONG;
    if (len % 16)
        return CURVECP_E_NOT_MULTIPLE_16;
    if (memcmp (packet, curvecp_magic_hello, 7) != 0)
        return CURVECP_E_BAD_MAGIC;
    if (packet[7] == 'H')
        *type = CURVECP_PACKET_HELLO;
    else
    if (packet[7] == 'I')
        *type = CURVECP_PACKET_INITIATE;
    else
    if (packet[7] == 'M')
        *type = CURVECP_PACKET_CLIENT_MESSAGE;
    else
        return CURVECP_E_BAD_MAGIC;
    /* extensions travel in clear: a plain compare leaks nothing (and
       sodium_memcmp's byte loop is a measurable share of a small packet) */
    if (memcmp (packet + 8, server_ext, CURVECP_EXT_BYTES) != 0)
        return CURVECP_E_WRONG_SERVER_EXT;
    return check_server_size (*type, len);
}

curvecp_reason_t
curvecp_packet_classify_at_client (const uint8_t *packet, size_t len,
        const uint8_t client_ext[CURVECP_EXT_BYTES], const uint8_t server_ext[CURVECP_EXT_BYTES],
        curvecp_packet_type_t *type)
{
    return curvecp_packet_classify_at_client_max (packet, len, client_ext, server_ext, CURVECP_MSG_MAX, type);
}

curvecp_reason_t
curvecp_packet_classify_at_client_max (const uint8_t *packet, size_t len,
        const uint8_t client_ext[CURVECP_EXT_BYTES], const uint8_t server_ext[CURVECP_EXT_BYTES],
        size_t max_message, curvecp_packet_type_t *type)
{
    /* A Cookie is exactly 200 bytes (not a multiple of 16); a Server
       Message is 80..1152 and a multiple of 16. */
    if (len < CURVECP_PACKET_MIN)
        return CURVECP_E_TOO_SHORT;
    if (len > CURVECP_SERVER_MSG_BASE + max_message)
        return CURVECP_E_TOO_LONG;
    if (memcmp (packet, curvecp_magic_cookie, 8) == 0) {
        if (len != CURVECP_COOKIE_BYTES)
            return len < CURVECP_COOKIE_BYTES ? CURVECP_E_TOO_SHORT : CURVECP_E_TOO_LONG;
        *type = CURVECP_PACKET_COOKIE;
    }
    else
    if (memcmp (packet, curvecp_magic_server_msg, 8) == 0) {
        if (len % 16)
            return CURVECP_E_NOT_MULTIPLE_16;
        *type = CURVECP_PACKET_SERVER_MESSAGE;
    }
    else
        return CURVECP_E_BAD_MAGIC;
    if (memcmp (packet + 8, client_ext, CURVECP_EXT_BYTES) != 0)
        return CURVECP_E_WRONG_CLIENT_EXT;
    if (memcmp (packet + 24, server_ext, CURVECP_EXT_BYTES) != 0)
        return CURVECP_E_WRONG_SERVER_EXT;
    return CURVECP_OK;
}

const uint8_t *
curvecp_packet_client_short_key (const uint8_t *packet)
{
    return packet + 40;
}

const uint8_t *
curvecp_packet_client_ext (const uint8_t *packet)
{
    return packet + 24;
}

uint64_t
curvecp_packet_nonce8 (const uint8_t *packet, curvecp_packet_type_t type)
{
    switch (type) {
        case CURVECP_PACKET_INITIATE:       return curvecp_load_u64_le (packet + 168);
        case CURVECP_PACKET_CLIENT_MESSAGE: return curvecp_load_u64_le (packet + 72);
        case CURVECP_PACKET_SERVER_MESSAGE: return curvecp_load_u64_le (packet + 40);
        case CURVECP_PACKET_HELLO:          return curvecp_load_u64_le (packet + 136);
        default:                            return 0;
    }
}

/* ---- Hello ------------------------------------------------------------- */

void
curvecp_hello_encode (uint8_t out[CURVECP_HELLO_BYTES],
        const uint8_t server_ext[16], const uint8_t client_ext[16],
        const uint8_t client_short_pk[32], const uint8_t hello_shared[32], uint64_t nonce)
{
    uint8_t zeros[64] = { 0 };
    uint8_t n[24];
    memcpy (out, curvecp_magic_hello, 8);
    memcpy (out + 8, server_ext, 16);
    memcpy (out + 24, client_ext, 16);
    memcpy (out + 40, client_short_pk, 32);
    memset (out + 72, 0, 64);            /* anti-amplification padding */
    curvecp_store_u64_le (out + 136, nonce);
    nonce_counter (n, "CurveCP-client-H", nonce);
    crypto_box_easy_afternm (out + 144, zeros, sizeof zeros, n, hello_shared);
}

curvecp_reason_t
curvecp_hello_open (const uint8_t packet[CURVECP_HELLO_BYTES], const uint8_t hello_shared[32])
{
    uint8_t zeros[64];
    uint8_t n[24];
    nonce_counter (n, "CurveCP-client-H", curvecp_load_u64_le (packet + 136));
    if (crypto_box_open_easy_afternm (zeros, packet + 144, 80, n, hello_shared) != 0)
        return CURVECP_E_BAD_HELLO_BOX;
    return CURVECP_OK;
}

/* ---- Cookie ------------------------------------------------------------ */

void
curvecp_cookie_encode (uint8_t out[CURVECP_COOKIE_BYTES],
        const uint8_t client_ext[16], const uint8_t server_ext[16], const uint8_t nonce16[16],
        const uint8_t server_short_pk[32], const uint8_t server_short_sk[32],
        const uint8_t client_short_pk[32], const uint8_t minute_key[32],
        const uint8_t cookie_shared[32])
{
    uint8_t keys[64];                    /* C' | s': what only we can read back */
    uint8_t inner[128];                  /* S' | K */
    uint8_t n[24];
    memcpy (keys, client_short_pk, 32);
    memcpy (keys + 32, server_short_sk, 32);
    memcpy (inner, server_short_pk, 32);
    memcpy (inner + 32, nonce16, 16);
    nonce_long (n, "minute-k", nonce16);
    crypto_secretbox_easy (inner + 48, keys, sizeof keys, n, minute_key);

    memcpy (out, curvecp_magic_cookie, 8);
    memcpy (out + 8, client_ext, 16);
    memcpy (out + 24, server_ext, 16);
    memcpy (out + 40, nonce16, 16);
    nonce_long (n, "CurveCPK", nonce16);
    crypto_box_easy_afternm (out + 56, inner, sizeof inner, n, cookie_shared);
    sodium_memzero (keys, sizeof keys);
    sodium_memzero (inner, sizeof inner);
}

curvecp_reason_t
curvecp_cookie_open (const uint8_t *packet, size_t len,
        const uint8_t client_ext[16], const uint8_t server_ext[16], const uint8_t cookie_shared[32],
        uint8_t server_short_pk[32], uint8_t cookie_k[CURVECP_COOKIE_K_BYTES])
{
    uint8_t inner[128];
    uint8_t n[24];
    if (len < CURVECP_COOKIE_BYTES)
        return CURVECP_E_TOO_SHORT;
    if (len > CURVECP_COOKIE_BYTES)
        return CURVECP_E_TOO_LONG;
    if (memcmp (packet, curvecp_magic_cookie, 8) != 0)
        return CURVECP_E_BAD_MAGIC;
    if (memcmp (packet + 8, client_ext, 16) != 0)
        return CURVECP_E_WRONG_CLIENT_EXT;
    if (memcmp (packet + 24, server_ext, 16) != 0)
        return CURVECP_E_WRONG_SERVER_EXT;
    nonce_long (n, "CurveCPK", packet + 40);
    if (crypto_box_open_easy_afternm (inner, packet + 56, 144, n, cookie_shared) != 0)
        return CURVECP_E_BAD_COOKIE_BOX;
    memcpy (server_short_pk, inner, 32);
    memcpy (cookie_k, inner + 32, CURVECP_COOKIE_K_BYTES);
    sodium_memzero (inner, sizeof inner);
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_cookie_k_open (const uint8_t cookie_k[CURVECP_COOKIE_K_BYTES],
        const uint8_t minute_key[32], uint8_t client_short_pk[32], uint8_t server_short_sk[32])
{
    uint8_t keys[64];
    uint8_t n[24];
    nonce_long (n, "minute-k", cookie_k);
    if (crypto_secretbox_open_easy (keys, cookie_k + 16, 80, n, minute_key) != 0)
        return CURVECP_E_BAD_COOKIE;
    memcpy (client_short_pk, keys, 32);
    memcpy (server_short_sk, keys + 32, 32);
    sodium_memzero (keys, sizeof keys);
    return CURVECP_OK;
}

/* ---- Vouch ------------------------------------------------------------- */

void
curvecp_vouch_encode (uint8_t vouch[CURVECP_VOUCH_BYTES], const uint8_t nonce16[16],
        const uint8_t client_short_pk[32], const uint8_t vouch_shared[32])
{
    uint8_t n[24];
    nonce_long (n, "CurveCPV", nonce16);
    crypto_box_easy_afternm (vouch, client_short_pk, 32, n, vouch_shared);
}

curvecp_reason_t
curvecp_vouch_open (const uint8_t vouch[CURVECP_VOUCH_BYTES], const uint8_t nonce16[16],
        const uint8_t vouch_shared[32], uint8_t client_short_pk[32])
{
    uint8_t n[24];
    nonce_long (n, "CurveCPV", nonce16);
    if (crypto_box_open_easy_afternm (client_short_pk, vouch, CURVECP_VOUCH_BYTES, n, vouch_shared) != 0)
        return CURVECP_E_BAD_VOUCH;
    return CURVECP_OK;
}

/* ---- Initiate ---------------------------------------------------------- */

curvecp_reason_t
curvecp_initiate_encode (uint8_t *out, size_t *out_len,
        const uint8_t server_ext[16], const uint8_t client_ext[16],
        const uint8_t client_short_pk[32], const uint8_t cookie_k[CURVECP_COOKIE_K_BYTES], uint64_t nonce,
        const uint8_t session_shared[32], const uint8_t client_long_pk[32],
        const uint8_t vouch_nonce16[16], const uint8_t vouch[CURVECP_VOUCH_BYTES],
        const uint8_t name_field[CURVECP_NAME_BYTES], const uint8_t *message, size_t message_len)
{
    uint8_t inner[CURVECP_INITIATE_INNER_BASE + CURVECP_INITIATE_MSG_MAX];
    uint8_t n[24];
    curvecp_reason_t rc = curvecp_message_len_check (message_len, CURVECP_INITIATE_MSG_MAX);
    if (rc != CURVECP_OK)
        return rc;
    memcpy (inner, client_long_pk, 32);
    memcpy (inner + 32, vouch_nonce16, 16);
    memcpy (inner + 48, vouch, CURVECP_VOUCH_BYTES);
    memcpy (inner + 96, name_field, CURVECP_NAME_BYTES);
    memcpy (inner + CURVECP_INITIATE_INNER_BASE, message, message_len);

    memcpy (out, curvecp_magic_initiate, 8);
    memcpy (out + 8, server_ext, 16);
    memcpy (out + 24, client_ext, 16);
    memcpy (out + 40, client_short_pk, 32);
    memcpy (out + 72, cookie_k, CURVECP_COOKIE_K_BYTES);
    curvecp_store_u64_le (out + 168, nonce);
    nonce_counter (n, "CurveCP-client-I", nonce);
    crypto_box_easy_afternm (out + 176, inner, CURVECP_INITIATE_INNER_BASE + message_len, n, session_shared);
    *out_len = CURVECP_INITIATE_BASE + message_len;
    sodium_memzero (inner, sizeof inner);
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_initiate_open (const uint8_t *packet, size_t len,
        const uint8_t session_shared[32], uint8_t *inner, size_t *inner_len)
{
    uint8_t n[24];
    if (len < CURVECP_INITIATE_BASE + CURVECP_MSG_MIN)
        return CURVECP_E_TOO_SHORT;
    if (len > CURVECP_INITIATE_BASE + CURVECP_INITIATE_MSG_MAX)
        return CURVECP_E_TOO_LONG;
    if (len % 16)
        return CURVECP_E_NOT_MULTIPLE_16;
    nonce_counter (n, "CurveCP-client-I", curvecp_load_u64_le (packet + 168));
    if (crypto_box_open_easy_afternm (inner, packet + 176, len - 176, n, session_shared) != 0)
        return CURVECP_E_BAD_INITIATE_BOX;
    *inner_len = len - 176 - CURVECP_MAC_BYTES;
    return CURVECP_OK;
}

/* ---- Messages ---------------------------------------------------------- */

/* Both Message packets: magic, the receiver's extension first, then the
   sender's, an optional C' (client only), the nonce, and the box. */
static curvecp_reason_t
message_encode (uint8_t *out, size_t *out_len, size_t max_message, const uint8_t magic[8], const uint8_t first_ext[16],
        const uint8_t second_ext[16], const uint8_t *client_short_pk, const char prefix[16], uint64_t nonce,
        const uint8_t session_shared[32], const uint8_t *message, size_t message_len)
{
    uint8_t n[24];
    size_t at = 40;
    curvecp_reason_t rc = curvecp_message_len_check (message_len, max_message);
    if (rc != CURVECP_OK)
        return rc;
    memcpy (out, magic, 8);
    memcpy (out + 8, first_ext, 16);
    memcpy (out + 24, second_ext, 16);
    if (client_short_pk) {
        memcpy (out + at, client_short_pk, 32);
        at += 32;
    }
    curvecp_store_u64_le (out + at, nonce);
    nonce_counter (n, prefix, nonce);
    crypto_box_easy_afternm (out + at + 8, message, message_len, n, session_shared);
    *out_len = at + 8 + CURVECP_MAC_BYTES + message_len;
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_server_message_encode (uint8_t *out, size_t *out_len,
        const uint8_t client_ext[16], const uint8_t server_ext[16], uint64_t nonce,
        const uint8_t session_shared[32], const uint8_t *message, size_t message_len)
{
    return curvecp_server_message_encode_max (out, out_len, CURVECP_MSG_MAX, client_ext, server_ext,
                                              nonce, session_shared, message, message_len);
}

curvecp_reason_t
curvecp_server_message_encode_max (uint8_t *out, size_t *out_len, size_t max_message,
        const uint8_t client_ext[16], const uint8_t server_ext[16], uint64_t nonce,
        const uint8_t session_shared[32], const uint8_t *message, size_t message_len)
{
    return message_encode (out, out_len, max_message, curvecp_magic_server_msg, client_ext, server_ext,
                           NULL, "CurveCP-server-M", nonce, session_shared, message, message_len);
}

/* Open the box at body_at of a message packet with the given nonce prefix. */
static curvecp_reason_t
message_open (const uint8_t *packet, size_t len, size_t max_message, size_t base, const char prefix[16],
        uint64_t nonce, const uint8_t session_shared[32], uint8_t *message, size_t *message_len)
{
    uint8_t n[24];
    if (len < base + CURVECP_MSG_MIN)
        return CURVECP_E_TOO_SHORT;
    if (len > base + max_message)
        return CURVECP_E_TOO_LONG;
    if (len % 16)
        return CURVECP_E_NOT_MULTIPLE_16;
    nonce_counter (n, prefix, nonce);
    size_t box_at = base - CURVECP_MAC_BYTES;
    if (crypto_box_open_easy_afternm (message, packet + box_at, len - box_at, n, session_shared) != 0)
        return CURVECP_E_BAD_MESSAGE_BOX;
    *message_len = len - base;
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_server_message_open (const uint8_t *packet, size_t len,
        const uint8_t session_shared[32], uint8_t *message, size_t *message_len)
{
    return curvecp_server_message_open_max (packet, len, CURVECP_MSG_MAX, session_shared, message, message_len);
}

curvecp_reason_t
curvecp_server_message_open_max (const uint8_t *packet, size_t len, size_t max_message,
        const uint8_t session_shared[32], uint8_t *message, size_t *message_len)
{
    if (len < CURVECP_SERVER_MSG_BASE + CURVECP_MSG_MIN)
        return CURVECP_E_TOO_SHORT;
    return message_open (packet, len, max_message, CURVECP_SERVER_MSG_BASE, "CurveCP-server-M",
                         curvecp_load_u64_le (packet + 40), session_shared, message, message_len);
}

curvecp_reason_t
curvecp_client_message_encode (uint8_t *out, size_t *out_len,
        const uint8_t server_ext[16], const uint8_t client_ext[16], const uint8_t client_short_pk[32],
        uint64_t nonce, const uint8_t session_shared[32], const uint8_t *message, size_t message_len)
{
    return curvecp_client_message_encode_max (out, out_len, CURVECP_MSG_MAX, server_ext, client_ext,
                                              client_short_pk, nonce, session_shared, message, message_len);
}

curvecp_reason_t
curvecp_client_message_encode_max (uint8_t *out, size_t *out_len, size_t max_message,
        const uint8_t server_ext[16], const uint8_t client_ext[16], const uint8_t client_short_pk[32],
        uint64_t nonce, const uint8_t session_shared[32], const uint8_t *message, size_t message_len)
{
    return message_encode (out, out_len, max_message, curvecp_magic_client_msg, server_ext, client_ext,
                           client_short_pk, "CurveCP-client-M", nonce, session_shared, message, message_len);
}

curvecp_reason_t
curvecp_client_message_open (const uint8_t *packet, size_t len,
        const uint8_t session_shared[32], uint8_t *message, size_t *message_len)
{
    return curvecp_client_message_open_max (packet, len, CURVECP_MSG_MAX, session_shared, message, message_len);
}

curvecp_reason_t
curvecp_client_message_open_max (const uint8_t *packet, size_t len, size_t max_message,
        const uint8_t session_shared[32], uint8_t *message, size_t *message_len)
{
    if (len < CURVECP_CLIENT_MSG_BASE + CURVECP_MSG_MIN)
        return CURVECP_E_TOO_SHORT;
    return message_open (packet, len, max_message, CURVECP_CLIENT_MSG_BASE, "CurveCP-client-M",
                         curvecp_load_u64_le (packet + 72), session_shared, message, message_len);
}
