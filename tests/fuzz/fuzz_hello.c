/*  fuzz_hello - the server's decoder of Hello packets.

    Input byte 0 picks the mode:
      even: the rest is a datagram, classified and (if a Hello) opened
            with the vector keys; an opened Hello must re-encode to the
            same box.
      odd:  a valid Hello is sealed from fuzz-chosen fields (client ext,
            C', nonce), then one byte may be flipped. Unflipped it must be
            accepted; a flip in the magic or server extension must be
            refused by classification, one in the nonce or box by the box,
            and one in the unauthenticated middle (client ext, C', the
            zero padding, which NaCl does not check either) changes nothing. */
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_packet.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Classify and open; on success the box must be the one the encoder makes. */
static curvecp_reason_t
s_decode (const fuzz_world_t *w, const uint8_t *packet, size_t len)
{
    curvecp_packet_type_t type;
    curvecp_reason_t rc = curvecp_packet_classify_at_server (packet, len, w->server_ext, &type);
    if (rc != CURVECP_OK)
        return rc;
    FUZZ_CHECK (memcmp (packet, "QvnQ5Xl", 7) == 0);
    FUZZ_CHECK (memcmp (packet + 8, w->server_ext, 16) == 0);
    if (type != CURVECP_PACKET_HELLO) {
        FUZZ_CHECK (packet[7] != 'H');
        return CURVECP_E_WRONG_STATE;
    }
    FUZZ_CHECK (packet[7] == 'H' && len == CURVECP_HELLO_BYTES);
    rc = curvecp_hello_open (packet, w->hello_shared);
    if (rc == CURVECP_OK) {
        uint8_t again[CURVECP_HELLO_BYTES];
        curvecp_hello_encode (again, packet + 8, packet + 24, packet + 40, w->hello_shared,
                              curvecp_packet_nonce8 (packet, CURVECP_PACKET_HELLO));
        FUZZ_CHECK (memcmp (again + 136, packet + 136, CURVECP_HELLO_BYTES - 136) == 0);
    }
    else
        FUZZ_CHECK (rc == CURVECP_E_BAD_HELLO_BOX);
    return rc;
}

static void
s_build_mode (const fuzz_world_t *w, fuzz_input_t *in)
{
    uint16_t position = fuzz_u16 (in);
    uint8_t value = fuzz_u8 (in);
    uint8_t client_ext[16], client_short_pk[32];
    fuzz_bytes (in, client_ext, 16);
    fuzz_bytes (in, client_short_pk, 32);
    uint64_t nonce = fuzz_u64 (in);
    uint8_t packet[CURVECP_HELLO_BYTES];
    curvecp_hello_encode (packet, w->server_ext, client_ext, client_short_pk, w->hello_shared, nonce);
    FUZZ_CHECK (curvecp_packet_nonce8 (packet, CURVECP_PACKET_HELLO) == nonce);
    size_t flipped = fuzz_flip (packet, sizeof packet, position, value);
    curvecp_reason_t rc = s_decode (w, packet, sizeof packet);
    if (flipped == SIZE_MAX || fuzz_flipped_in (flipped, 24, 136))
        FUZZ_CHECK (rc == CURVECP_OK);
    else
    if (fuzz_flipped_in (flipped, 0, 8))
        FUZZ_CHECK (rc == CURVECP_E_BAD_MAGIC || rc == CURVECP_E_TOO_SHORT || rc == CURVECP_E_WRONG_STATE);
    else
    if (fuzz_flipped_in (flipped, 8, 24))
        FUZZ_CHECK (rc == CURVECP_E_WRONG_SERVER_EXT);
    else
        FUZZ_CHECK (rc == CURVECP_E_BAD_HELLO_BOX);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_input_t in;
    const fuzz_world_t *w = fuzz_start (&in, data, size);
    if (fuzz_u8 (&in) & 1)
        s_build_mode (w, &in);
    else
        s_decode (w, in.data, in.size);
    return 0;
}
