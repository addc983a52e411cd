/*  curvecp_nonce16.h - sources of long-term 16-byte "compressed" nonces.

    The Cookie box (under S) and the vouch box (under C) use 16-byte nonces
    that must never repeat for that long-term key. The handshake takes a
    source as a function pointer, so the sans-I/O core never touches files:
    curvecp_nonce16_random needs no context; curvecp_safenonce (in
    curvecp_safenonce.h) shares a NaCl key directory's counter safely.     */
#ifndef CURVECP_NONCE16_H_INCLUDED
#define CURVECP_NONCE16_H_INCLUDED

#include <stdint.h>
#include "curvecp_export.h"
#include "curvecp_constants.h"
#include "curvecp_reason.h"

CURVECP_BEGIN_DECLS

typedef curvecp_reason_t (*curvecp_nonce16_fn) (void *context, uint8_t nonce[CURVECP_NONCE16_BYTES]);

/* 16 random bytes; context is ignored. */
CURVECP_EXPORT curvecp_reason_t curvecp_nonce16_random (void *context, uint8_t nonce[CURVECP_NONCE16_BYTES]);

CURVECP_END_DECLS

#endif
