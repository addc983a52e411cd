/*  fuzz_initiate - the server's decoders of Initiate packets: the packet,
    the cookie K it carries, the inner box (C, vouch nonce, vouch, server
    name, message), the vouch, the name field; and a server session's
    repeated-Initiate path.

    Input byte 0 picks the mode:
      even: the rest is a datagram. An Initiate whose box opens must
            re-encode, from the fields it yielded, to the very same bytes;
            an opened vouch must re-seal to itself.
      odd:  an Initiate is sealed from fuzz-chosen fields (C, vouch nonce,
            a valid or raw vouch, an encoded or raw name field, message)
            with the vector C' and cookie, then one byte may be flipped.
            Unflipped, everything must come back and the session must
            accept it; a flip in the magic or server extension must fail
            classification, in C' the cookie check, in K the cookie, in the
            nonce or box the box; the client extension is unauthenticated. */
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_packet.h"
#include "curvecp_session.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
    curvecp_reason_t classified;     /* classification */
    curvecp_reason_t cookie;         /* K under the minute key, issued to this C' */
    curvecp_reason_t box;            /* the inner box */
    curvecp_reason_t vouch;          /* the vouch, naming this C' */
    curvecp_reason_t name;           /* the name field decodes */
    curvecp_reason_t session;        /* a fresh server session for the vector C' */
    uint8_t inner[CURVECP_INITIATE_INNER_BASE + CURVECP_INITIATE_MSG_MAX];
    size_t inner_len;
} outcome_t;

static curvecp_reason_t
s_check_cookie (const fuzz_world_t *w, const uint8_t *packet)
{
    uint8_t client_short_pk[32], server_short_sk[32];
    curvecp_reason_t rc = curvecp_cookie_k_open (packet + 72, w->minute_key, client_short_pk, server_short_sk);
    if (rc == CURVECP_OK && memcmp (client_short_pk, packet + 40, 32) != 0)
        rc = CURVECP_E_COOKIE_MISMATCH;
    return rc;
}

static curvecp_reason_t
s_check_vouch (const fuzz_world_t *w, const uint8_t *packet, const uint8_t *inner)
{
    uint8_t vouched[32], again[CURVECP_VOUCH_BYTES];
    curvecp_reason_t rc = curvecp_vouch_open (inner + 48, inner + 32, w->vouch_shared, vouched);
    if (rc != CURVECP_OK)
        return rc;
    curvecp_vouch_encode (again, inner + 32, vouched, w->vouch_shared);
    FUZZ_CHECK (memcmp (again, inner + 48, sizeof again) == 0);
    return memcmp (vouched, packet + 40, 32) == 0 ? CURVECP_OK : CURVECP_E_BAD_VOUCH;
}

/* An opened Initiate re-encoded from its own fields is the same packet. */
static void
s_check_round_trip (const fuzz_world_t *w, const uint8_t *packet, size_t len, const uint8_t *inner,
        size_t inner_len)
{
    uint8_t again[CURVECP_PACKET_MAX];
    size_t again_len = 0;
    FUZZ_CHECK (inner_len == len - CURVECP_INITIATE_BASE + CURVECP_INITIATE_INNER_BASE);
    curvecp_reason_t rc = curvecp_initiate_encode (again, &again_len, packet + 8, packet + 24, packet + 40,
            packet + 72, curvecp_packet_nonce8 (packet, CURVECP_PACKET_INITIATE), w->session_shared,
            inner, inner + 32, inner + 48, inner + 96, inner + CURVECP_INITIATE_INNER_BASE,
            inner_len - CURVECP_INITIATE_INNER_BASE);
    FUZZ_CHECK (rc == CURVECP_OK && again_len == len);
    FUZZ_CHECK (memcmp (again, packet, len) == 0);
}

static void
s_decode (const fuzz_world_t *w, const uint8_t *packet, size_t len, uint8_t name_cap, outcome_t *out)
{
    memset (out, 0, sizeof *out);
    out->cookie = out->box = out->vouch = out->name = out->session = CURVECP_E_WRONG_STATE;
    curvecp_packet_type_t type;
    out->classified = curvecp_packet_classify_at_server (packet, len, w->server_ext, &type);
    if (out->classified == CURVECP_OK && type != CURVECP_PACKET_INITIATE)
        out->classified = CURVECP_E_WRONG_STATE;
    if (out->classified != CURVECP_OK)
        return;
    FUZZ_CHECK (len >= CURVECP_INITIATE_BASE + 16 && len <= CURVECP_INITIATE_BASE + 640);
    out->cookie = s_check_cookie (w, packet);
    out->box = curvecp_initiate_open (packet, len, w->session_shared, out->inner, &out->inner_len);
    if (out->box == CURVECP_OK) {
        s_check_round_trip (w, packet, len, out->inner, out->inner_len);
        out->vouch = s_check_vouch (w, packet, out->inner);
        out->name = fuzz_check_name_field (out->inner + 96, 1 + name_cap);
    }
    else
        FUZZ_CHECK (out->box == CURVECP_E_BAD_INITIATE_BOX || out->box == CURVECP_E_NOT_MULTIPLE_16);

    curvecp_session_t session;
    uint8_t message[CURVECP_MSG_MAX];
    size_t message_len;
    fuzz_session_init (&session, false);
    out->session = fuzz_session_open (&session, packet, len, message, &message_len);
    if (out->session == CURVECP_OK) {
        FUZZ_CHECK (out->box == CURVECP_OK);
        FUZZ_CHECK (message_len == out->inner_len - CURVECP_INITIATE_INNER_BASE);
        FUZZ_CHECK (memcmp (message, out->inner + CURVECP_INITIATE_INNER_BASE, message_len) == 0);
    }
    curvecp_session_wipe (&session);
}

/* A vouch valid for the vector C' or raw bytes; a name field encoded from
   fuzz text or raw bytes. */
static void
s_build_fields (const fuzz_world_t *w, fuzz_input_t *in, const uint8_t vouch_nonce[16],
        uint8_t vouch[CURVECP_VOUCH_BYTES], uint8_t name_field[CURVECP_NAME_BYTES],
        bool *vouch_valid, bool *name_valid)
{
    uint8_t flags = fuzz_u8 (in);
    *vouch_valid = flags & 1;
    if (*vouch_valid)
        curvecp_vouch_encode (vouch, vouch_nonce, w->client_short_pk, w->vouch_shared);
    else
        fuzz_bytes (in, vouch, CURVECP_VOUCH_BYTES);
    *name_valid = false;
    if (flags & 2) {
        char text[CURVECP_NAME_BYTES + 1] = { 0 };
        fuzz_bytes (in, text, fuzz_u8 (in));
        *name_valid = curvecp_name_encode (text, name_field) == CURVECP_OK;
    }
    if (!*name_valid)
        fuzz_bytes (in, name_field, CURVECP_NAME_BYTES);
}

static void
s_build_mode (const fuzz_world_t *w, fuzz_input_t *in)
{
    uint16_t position = fuzz_u16 (in);
    uint8_t value = fuzz_u8 (in);
    uint8_t name_cap = fuzz_u8 (in);
    uint64_t nonce = fuzz_u64 (in);
    uint8_t client_long_pk[32], vouch_nonce[16], vouch[CURVECP_VOUCH_BYTES], name_field[CURVECP_NAME_BYTES];
    fuzz_bytes (in, client_long_pk, 32);
    fuzz_bytes (in, vouch_nonce, 16);
    bool vouch_valid, name_valid;
    s_build_fields (w, in, vouch_nonce, vouch, name_field, &vouch_valid, &name_valid);
    uint8_t message[CURVECP_INITIATE_MSG_MAX] = { 0 };
    size_t message_len = fuzz_message_len (fuzz_rest (in, message, sizeof message), sizeof message);

    uint8_t packet[CURVECP_PACKET_MAX];
    size_t len;
    FUZZ_CHECK (curvecp_initiate_encode (packet, &len, w->server_ext, w->client_ext, w->client_short_pk,
            w->cookie_k, nonce, w->session_shared, client_long_pk, vouch_nonce, vouch, name_field,
            message, message_len) == CURVECP_OK);
    FUZZ_CHECK (len == CURVECP_INITIATE_BASE + message_len);
    size_t flipped = fuzz_flip (packet, len, position, value);
    outcome_t out;
    s_decode (w, packet, len, name_cap, &out);

    if (fuzz_flipped_in (flipped, 0, 8))
        FUZZ_CHECK (out.classified != CURVECP_OK);
    else
    if (fuzz_flipped_in (flipped, 8, 24))
        FUZZ_CHECK (out.classified == CURVECP_E_WRONG_SERVER_EXT);
    if (fuzz_flipped_in (flipped, 0, 24))
        return;
    FUZZ_CHECK (out.classified == CURVECP_OK);
    if (fuzz_flipped_in (flipped, 168, len)) {
        FUZZ_CHECK (out.box == CURVECP_E_BAD_INITIATE_BOX);
        FUZZ_CHECK (out.session == CURVECP_E_BAD_INITIATE_BOX);
        return;
    }
    FUZZ_CHECK (out.box == CURVECP_OK);
    FUZZ_CHECK (out.cookie == (fuzz_flipped_in (flipped, 40, 72) ? CURVECP_E_COOKIE_MISMATCH
                             : fuzz_flipped_in (flipped, 72, 168) ? CURVECP_E_BAD_COOKIE : CURVECP_OK));
    FUZZ_CHECK (out.session == (fuzz_flipped_in (flipped, 40, 72) ? CURVECP_E_UNKNOWN_SESSION : CURVECP_OK));
    FUZZ_CHECK (memcmp (out.inner, client_long_pk, 32) == 0);
    FUZZ_CHECK (memcmp (out.inner + 32, vouch_nonce, 16) == 0);
    FUZZ_CHECK (memcmp (out.inner + 48, vouch, CURVECP_VOUCH_BYTES) == 0);
    FUZZ_CHECK (memcmp (out.inner + 96, name_field, CURVECP_NAME_BYTES) == 0);
    FUZZ_CHECK (memcmp (out.inner + CURVECP_INITIATE_INNER_BASE, message, message_len) == 0);
    if (vouch_valid && !fuzz_flipped_in (flipped, 40, 72))
        FUZZ_CHECK (out.vouch == CURVECP_OK);
    if (name_valid && name_cap == 255)
        FUZZ_CHECK (out.name == CURVECP_OK);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_input_t in;
    const fuzz_world_t *w = fuzz_start (&in, data, size);
    uint8_t mode = fuzz_u8 (&in);
    outcome_t out;
    if (mode & 1)
        s_build_mode (w, &in);
    else
        s_decode (w, in.data, in.size, 255, &out);
    return 0;
}
