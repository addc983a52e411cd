/*  curvecp_zmq.c - timeout rounding and frame skipping for the ØMQ carrier. */
#include <sodium.h>
#include <string.h>
#include <zmq.h>
#include "curvecp_zmq.h"

int
curvecp_zmq_timeout_ms (uint64_t deadline, uint64_t now, int cap_ms)
{
    if (deadline == UINT64_MAX)
        return cap_ms;
    if (deadline <= now)
        return 0;
    uint64_t ms = (deadline - now + 999999) / 1000000;
    if (cap_ms >= 0 && ms > (uint64_t) cap_ms)
        return cap_ms;
    return ms > 0x7fffffff ? 0x7fffffff : (int) ms;
}

size_t
curvecp_zmq_skip_rest (void *handle)
{
    size_t skipped = 0;
    zmq_msg_t part;
    zmq_msg_init (&part);
    /* a message's parts arrive together: none of these receives waits */
    while (zmq_msg_recv (&part, handle, ZMQ_DONTWAIT) >= 0) {
        skipped++;
        if (!zmq_msg_more (&part))
            break;
    }
    zmq_msg_close (&part);
    return skipped;
}


bool
curvecp_zmq_keys_from_zcert (zcert_t *cert, curvecp_keypair_t *keys)
{
    memset (keys, 0, sizeof *keys);
    if (!cert)
        return false;
    memcpy (keys->public_key, zcert_public_key (cert), CURVECP_KEY_BYTES);
    memcpy (keys->secret_key, zcert_secret_key (cert), CURVECP_KEY_BYTES);
    /* a public certificate read from disk has an all-zero secret key */
    uint8_t derived[CURVECP_KEY_BYTES];
    bool whole = !sodium_is_zero (keys->secret_key, CURVECP_KEY_BYTES)
              && crypto_scalarmult_base (derived, keys->secret_key) == 0
              && sodium_memcmp (derived, keys->public_key, CURVECP_KEY_BYTES) == 0;
    if (!whole)
        sodium_memzero (keys, sizeof *keys);
    return whole;
}
