/*  fuzz_message_packet - the decoders of Message packets, built twice:
      fuzz_server_message (FUZZ_AT_CLIENT=1): a client receiving Server
          Messages (classify at client, open, client session);
      fuzz_client_message (FUZZ_AT_CLIENT=0): a server receiving Client
          Messages (classify at server, open, server session for the
          vector C').

    Input byte 0 modulo 3 picks the mode:
      0: the rest is a datagram. An opened box must re-encode to the same
         packet; the session (checked by fuzz_session_open) must agree
         with the plain decoder.
      1: a valid packet is sealed from a fuzz nonce and message, then one
         byte may be flipped. Unflipped it must open and the message come
         back; a flip in the header that classification checks must be
         refused there; in the nonce or box, by the box; in C' (server
         side) the plain decoder does not care but the session must say
         unknown-session; the client extension of a Client Message is
         unauthenticated and changes nothing.
      2: a sequence of up to 8 valid packets with fuzz nonces goes to one
         session: exactly those whose nonce exceeds every nonce accepted
         before are accepted (the replay rule), the rest refused.       */
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_packet.h"
#include "curvecp_session.h"

#ifndef FUZZ_AT_CLIENT
#error "define FUZZ_AT_CLIENT to 1 (Server Messages) or 0 (Client Messages)"
#endif

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#if FUZZ_AT_CLIENT
#define BASE        CURVECP_SERVER_MSG_BASE
#define NONCE_AT    40
#define HEADER_END  40              /* magic, client ext, server ext */
#else
#define BASE        CURVECP_CLIENT_MSG_BASE
#define NONCE_AT    72
#define HEADER_END  24              /* magic, server ext */
#endif

static curvecp_reason_t
s_classify (const fuzz_world_t *w, const uint8_t *packet, size_t len)
{
    curvecp_packet_type_t type;
#if FUZZ_AT_CLIENT
    curvecp_packet_type_t want = CURVECP_PACKET_SERVER_MESSAGE;
    curvecp_reason_t rc = curvecp_packet_classify_at_client (packet, len, w->client_ext, w->server_ext, &type);
#else
    curvecp_packet_type_t want = CURVECP_PACKET_CLIENT_MESSAGE;
    curvecp_reason_t rc = curvecp_packet_classify_at_server (packet, len, w->server_ext, &type);
#endif
    if (rc == CURVECP_OK && type != want)
        rc = CURVECP_E_WRONG_STATE;
    return rc;
}

/* Seal a packet with the given header fields: header holds the 16-byte
   extensions in wire order (server side: server ext, client ext, C'). */
static curvecp_reason_t
s_encode (const fuzz_world_t *w, uint8_t *out, size_t *out_len, uint64_t nonce,
        const uint8_t *message, size_t message_len, const uint8_t *header)
{
#if FUZZ_AT_CLIENT
    return curvecp_server_message_encode (out, out_len, header, header + 16, nonce,
            w->session_shared, message, message_len);
#else
    return curvecp_client_message_encode (out, out_len, header, header + 16, header + 32,
            nonce, w->session_shared, message, message_len);
#endif
}

/* The vector header fields in wire order, for packets built here. */
static void
s_vector_header (const fuzz_world_t *w, uint8_t header[64])
{
#if FUZZ_AT_CLIENT
    memcpy (header, w->client_ext, 16);
    memcpy (header + 16, w->server_ext, 16);
#else
    memcpy (header, w->server_ext, 16);
    memcpy (header + 16, w->client_ext, 16);
#endif
    memcpy (header + 32, w->client_short_pk, 32);
}

static curvecp_reason_t
s_open (const fuzz_world_t *w, const uint8_t *packet, size_t len, uint8_t *message, size_t *message_len)
{
#if FUZZ_AT_CLIENT
    return curvecp_server_message_open (packet, len, w->session_shared, message, message_len);
#else
    return curvecp_client_message_open (packet, len, w->session_shared, message, message_len);
#endif
}

/* The vector session of this side; a server may already have accepted
   nonce last (from the Initiate). */
static void
s_session_init (curvecp_session_t *session, bool have_received, uint64_t last)
{
    fuzz_session_init (session, FUZZ_AT_CLIENT);
    session->have_received = have_received;
    session->last_received = have_received ? last : 0;
}

typedef struct {
    curvecp_reason_t classified, box, session;
    uint8_t message[CURVECP_MSG_MAX];
    size_t message_len;
} outcome_t;

static void
s_decode (const fuzz_world_t *w, const uint8_t *packet, size_t len, curvecp_session_t *session,
        outcome_t *out)
{
    out->box = CURVECP_E_WRONG_STATE;
    out->classified = s_classify (w, packet, len);
    if (out->classified == CURVECP_OK) {
        out->box = s_open (w, packet, len, out->message, &out->message_len);
        if (out->box == CURVECP_OK) {
            uint8_t again[CURVECP_PACKET_MAX];
            size_t again_len = 0;
            FUZZ_CHECK (out->message_len == len - BASE);
            FUZZ_CHECK (s_encode (w, again, &again_len, curvecp_packet_nonce8 (packet,
                    FUZZ_AT_CLIENT ? CURVECP_PACKET_SERVER_MESSAGE : CURVECP_PACKET_CLIENT_MESSAGE),
                    out->message, out->message_len, packet + 8) == CURVECP_OK);
            FUZZ_CHECK (again_len == len && memcmp (again, packet, len) == 0);
        }
        else
            FUZZ_CHECK (out->box == CURVECP_E_BAD_MESSAGE_BOX || out->box == CURVECP_E_TOO_LONG
                     || out->box == CURVECP_E_NOT_MULTIPLE_16);
    }
    uint8_t message[CURVECP_MSG_MAX];
    size_t message_len;
    out->session = fuzz_session_open (session, packet, len, message, &message_len);
    if (out->session == CURVECP_OK) {
        FUZZ_CHECK (out->box == CURVECP_OK);
        FUZZ_CHECK (message_len == out->message_len && memcmp (message, out->message, message_len) == 0);
    }
}

static void
s_build_mode (const fuzz_world_t *w, fuzz_input_t *in)
{
    uint16_t position = fuzz_u16 (in);
    uint8_t value = fuzz_u8 (in);
    uint64_t nonce = fuzz_u64 (in);
    uint8_t message[CURVECP_MSG_MAX] = { 0 };
    size_t message_len = fuzz_message_len (fuzz_rest (in, message, sizeof message), sizeof message);
    uint8_t packet[CURVECP_PACKET_MAX];
    size_t len;
    uint8_t header[64];
    s_vector_header (w, header);
    FUZZ_CHECK (s_encode (w, packet, &len, nonce, message, message_len, header) == CURVECP_OK);
    FUZZ_CHECK (len == BASE + message_len);
    FUZZ_CHECK (curvecp_packet_nonce8 (packet, FUZZ_AT_CLIENT ? CURVECP_PACKET_SERVER_MESSAGE
                                                              : CURVECP_PACKET_CLIENT_MESSAGE) == nonce);
    size_t flipped = fuzz_flip (packet, len, position, value);

    curvecp_session_t session;
    s_session_init (&session, false, 0);
    outcome_t out;
    s_decode (w, packet, len, &session, &out);
    curvecp_session_wipe (&session);
    if (fuzz_flipped_in (flipped, 0, HEADER_END)) {
        FUZZ_CHECK (out.classified != CURVECP_OK && out.session != CURVECP_OK);
        /* the same reason, unless the flip made the magic another packet
           type's ([wrong-state] here): "QvnQ5XlM" ^ 0x04 at 7 is an
           Initiate's, which a server session takes as a repeated Initiate
           and refuses on that packet's terms (its box) */
        if (out.classified != CURVECP_E_WRONG_STATE)
            FUZZ_CHECK (out.session == out.classified);
        return;
    }
    FUZZ_CHECK (out.classified == CURVECP_OK);
    if (fuzz_flipped_in (flipped, NONCE_AT, len)) {
        FUZZ_CHECK (out.box == CURVECP_E_BAD_MESSAGE_BOX && out.session == CURVECP_E_BAD_MESSAGE_BOX);
        return;
    }
    FUZZ_CHECK (out.box == CURVECP_OK);
    FUZZ_CHECK (out.message_len == message_len && memcmp (out.message, message, message_len) == 0);
    FUZZ_CHECK (out.session == (fuzz_flipped_in (flipped, 40, 72) ? CURVECP_E_UNKNOWN_SESSION : CURVECP_OK));
}

static void
s_sequence_mode (const fuzz_world_t *w, fuzz_input_t *in)
{
    curvecp_session_t session;
    bool flag = fuzz_bool (in);          /* read on both sides: one seed format */
    bool have_received = !FUZZ_AT_CLIENT && flag;
    uint64_t last = fuzz_u64 (in);
    s_session_init (&session, have_received, last);
    int count = 1 + fuzz_u8 (in) % 8;
    uint8_t header[64];
    s_vector_header (w, header);
    for (int i = 0; i < count; i++) {
        /* small steps around the last nonce make replays and near misses likely */
        uint8_t step = fuzz_u8 (in);
        int64_t delta = (int64_t) (step & 0x7f) - 64;
        uint64_t nonce = step & 0x80 ? fuzz_u64 (in) : last + (uint64_t) delta;
        uint8_t message[CURVECP_MSG_MAX] = { 0 };
        size_t message_len = fuzz_message_len (fuzz_u8 (in) * 5u, sizeof message);
        fuzz_bytes (in, message, 16);
        uint8_t packet[CURVECP_PACKET_MAX];
        size_t len;
        FUZZ_CHECK (s_encode (w, packet, &len, nonce, message, message_len, header) == CURVECP_OK);
        bool fresh = !have_received || nonce > last;
        outcome_t out;
        s_decode (w, packet, len, &session, &out);
        FUZZ_CHECK (out.box == CURVECP_OK);
        FUZZ_CHECK (out.session == (fresh ? CURVECP_OK : CURVECP_E_REPLAYED_NONCE));
        if (fresh) {
            last = nonce;
            have_received = true;
        }
    }
    FUZZ_CHECK (session.stats.counts[CURVECP_OK] + session.stats.counts[CURVECP_E_REPLAYED_NONCE]
                == (uint64_t) count);
    curvecp_session_wipe (&session);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_input_t in;
    const fuzz_world_t *w = fuzz_start (&in, data, size);
    uint8_t mode = fuzz_u8 (&in) % 3;
    if (mode == 1)
        s_build_mode (w, &in);
    else
    if (mode == 2)
        s_sequence_mode (w, &in);
    else {
        curvecp_session_t session;
        s_session_init (&session, false, 0);
        outcome_t out;
        s_decode (w, in.data, in.size, &session, &out);
        curvecp_session_wipe (&session);
    }
    return 0;
}
