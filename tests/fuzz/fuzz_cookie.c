/*  fuzz_cookie - the client's decoder of Cookie packets, and the server's
    decoder of the cookie K that comes back in every Initiate.

    Input byte 0 modulo 3 picks the mode:
      0: the rest is a datagram for the client: classified, opened with the
         vector keys; an opened Cookie's K is opened with the minute key.
         An opened box must re-seal to the same bytes.
      1: a valid Cookie is sealed from fuzz-chosen S', s', C' and nonce,
         then one byte may be flipped. Unflipped, everything must come
         back; every byte of a Cookie is checked or authenticated, so any
         flip must be refused.
      2: the rest is a 96-byte K for the server: opened with the minute
         key; an opened K must re-seal to itself.                        */
#include <sodium.h>
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_packet.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* K = N16 | secretbox("minute-k" | N16, C' | s'): sealed again here with
   libsodium directly, as an independent reading of the layout. */
static void
s_check_k (const fuzz_world_t *w, const uint8_t k[CURVECP_COOKIE_K_BYTES],
           const uint8_t client_short_pk[32], const uint8_t server_short_sk[32])
{
    uint8_t keys[64], nonce[24], sealed[80];
    memcpy (keys, client_short_pk, 32);
    memcpy (keys + 32, server_short_sk, 32);
    memcpy (nonce, "minute-k", 8);
    memcpy (nonce + 8, k, 16);
    crypto_secretbox_easy (sealed, keys, sizeof keys, nonce, w->minute_key);
    FUZZ_CHECK (memcmp (sealed, k + 16, sizeof sealed) == 0);
}

static curvecp_reason_t
s_open_k (const fuzz_world_t *w, const uint8_t k[CURVECP_COOKIE_K_BYTES],
          uint8_t client_short_pk[32], uint8_t server_short_sk[32])
{
    curvecp_reason_t rc = curvecp_cookie_k_open (k, w->minute_key, client_short_pk, server_short_sk);
    if (rc == CURVECP_OK)
        s_check_k (w, k, client_short_pk, server_short_sk);
    else
        FUZZ_CHECK (rc == CURVECP_E_BAD_COOKIE);
    return rc;
}

/* Classification and cookie_open must agree on every refusal before the box. */
static curvecp_reason_t
s_decode (const fuzz_world_t *w, const uint8_t *packet, size_t len,
          uint8_t server_short_pk[32], uint8_t k[CURVECP_COOKIE_K_BYTES])
{
    curvecp_packet_type_t type;
    curvecp_reason_t classified = curvecp_packet_classify_at_client (packet, len, w->client_ext,
            w->server_ext, &type);
    curvecp_reason_t rc = curvecp_cookie_open (packet, len, w->client_ext, w->server_ext,
            w->hello_shared, server_short_pk, k);
    if (classified == CURVECP_OK && type == CURVECP_PACKET_COOKIE)
        FUZZ_CHECK (rc == CURVECP_OK || rc == CURVECP_E_BAD_COOKIE_BOX);
    if (rc == CURVECP_OK || rc == CURVECP_E_BAD_COOKIE_BOX)
        FUZZ_CHECK (classified == CURVECP_OK && type == CURVECP_PACKET_COOKIE);
    if (rc == CURVECP_OK) {
        /* re-seal S' | K with the packet's own nonce: the same box */
        uint8_t inner[128], nonce[24], sealed[144];
        memcpy (inner, server_short_pk, 32);
        memcpy (inner + 32, k, CURVECP_COOKIE_K_BYTES);
        memcpy (nonce, "CurveCPK", 8);
        memcpy (nonce + 8, packet + 40, 16);
        crypto_box_easy_afternm (sealed, inner, sizeof inner, nonce, w->hello_shared);
        FUZZ_CHECK (memcmp (sealed, packet + 56, sizeof sealed) == 0);
    }
    return rc;
}

static void
s_build_mode (const fuzz_world_t *w, fuzz_input_t *in)
{
    uint16_t position = fuzz_u16 (in);
    uint8_t value = fuzz_u8 (in);
    uint8_t nonce16[16], server_short_pk[32], server_short_sk[32], client_short_pk[32];
    fuzz_bytes (in, nonce16, 16);
    fuzz_bytes (in, server_short_pk, 32);
    fuzz_bytes (in, server_short_sk, 32);
    fuzz_bytes (in, client_short_pk, 32);
    uint8_t packet[CURVECP_COOKIE_BYTES];
    curvecp_cookie_encode (packet, w->client_ext, w->server_ext, nonce16, server_short_pk,
            server_short_sk, client_short_pk, w->minute_key, w->hello_shared);
    size_t flipped = fuzz_flip (packet, sizeof packet, position, value);

    uint8_t got_pk[32], k[CURVECP_COOKIE_K_BYTES], got_client[32], got_sk[32];
    curvecp_reason_t rc = s_decode (w, packet, sizeof packet, got_pk, k);
    if (flipped != SIZE_MAX) {
        FUZZ_CHECK (rc != CURVECP_OK);
        return;
    }
    FUZZ_CHECK (rc == CURVECP_OK);
    FUZZ_CHECK (memcmp (got_pk, server_short_pk, 32) == 0);
    FUZZ_CHECK (memcmp (k, nonce16, 16) == 0);
    FUZZ_CHECK (s_open_k (w, k, got_client, got_sk) == CURVECP_OK);
    FUZZ_CHECK (memcmp (got_client, client_short_pk, 32) == 0);
    FUZZ_CHECK (memcmp (got_sk, server_short_sk, 32) == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_input_t in;
    const fuzz_world_t *w = fuzz_start (&in, data, size);
    uint8_t mode = fuzz_u8 (&in) % 3;
    uint8_t server_short_pk[32], k[CURVECP_COOKIE_K_BYTES], client_short_pk[32], server_short_sk[32];
    if (mode == 1)
        s_build_mode (w, &in);
    else
    if (mode == 2) {
        fuzz_bytes (&in, k, sizeof k);
        s_open_k (w, k, client_short_pk, server_short_sk);
    }
    else
    if (s_decode (w, in.data, in.size, server_short_pk, k) == CURVECP_OK)
        s_open_k (w, k, client_short_pk, server_short_sk);
    return 0;
}
