/*  curvecp_constants.h - every wire size and magic of CurveCP in one place.

    The values are those of the CurveCP specification and of NaCl's
    20110221 tools; rfc/ explains each. Decoders check lengths against these
    names before they read anything.                                      */
#ifndef CURVECP_CONSTANTS_H_INCLUDED
#define CURVECP_CONSTANTS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "curvecp_export.h"

CURVECP_BEGIN_DECLS

#define CURVECP_KEY_BYTES            32   /* Curve25519 public, secret, shared */
#define CURVECP_EXT_BYTES            16   /* server or client extension */
#define CURVECP_NAME_BYTES          256   /* DNS-encoded server name field */
#define CURVECP_NONCE8_BYTES          8   /* short-term counter on the wire */
#define CURVECP_NONCE16_BYTES        16   /* long-term "compressed" nonce */
#define CURVECP_NONCE_BYTES          24   /* full XSalsa20 nonce */
#define CURVECP_MAC_BYTES            16   /* Poly1305 tag in front of every box */
#define CURVECP_MAGIC_BYTES           8

#define CURVECP_HELLO_BYTES         224
#define CURVECP_COOKIE_BYTES        200
#define CURVECP_COOKIE_K_BYTES       96   /* the cookie only the server can read */
#define CURVECP_INITIATE_BASE       544   /* Initiate = 544 + M */
#define CURVECP_SERVER_MSG_BASE      64   /* Server Message = 64 + M */
#define CURVECP_CLIENT_MSG_BASE      96   /* Client Message = 96 + M */
#define CURVECP_VOUCH_BYTES          48   /* box of C' under C and S */
#define CURVECP_INITIATE_INNER_BASE 352   /* C, V16, vouch, name before M */

#define CURVECP_MSG_MIN              16   /* every M is >= 16 and a multiple of 16 */
#define CURVECP_MSG_MAX            1088   /* Message M limit, both directions */
#define CURVECP_INITIATE_MSG_MAX    640   /* Initiate M limit */
#define CURVECP_PACKET_MIN           80   /* smallest packet a server reads */
#define CURVECP_PACKET_MAX         1184   /* largest packet (client Message) */
#define CURVECP_SERVER_PACKET_MAX  1152   /* largest packet a client reads */

/* Large messages: an option two of our peers may negotiate on an ordered
   carrier (ØMQ), never on UDP and never with NaCl's tools. A session with
   it on seals and opens messages up to this size (64 KiB of data plus the
   48-byte message header, padded to 16). */
#define CURVECP_LARGE_MSG_MAX     65600

#define CURVECP_MINUTE_NS  (60ull * 1000000000ull)   /* minute-key rotation */

/* How a byte stream ended (the message layer's EOF flags on the wire). */
typedef enum {
    CURVECP_EOF_NONE = 0,         /* not ended (yet) */
    CURVECP_EOF_SUCCESS,          /* the sender ended it cleanly */
    CURVECP_EOF_FAILURE           /* the sender gave up: what came before may be incomplete */
} curvecp_eof_t;

CURVECP_EXPORT extern const uint8_t curvecp_magic_hello[8];       /* "QvnQ5XlH" */
CURVECP_EXPORT extern const uint8_t curvecp_magic_cookie[8];      /* "RL3aNMXK" */
CURVECP_EXPORT extern const uint8_t curvecp_magic_initiate[8];    /* "QvnQ5XlI" */
CURVECP_EXPORT extern const uint8_t curvecp_magic_server_msg[8];  /* "RL3aNMXM" */
CURVECP_EXPORT extern const uint8_t curvecp_magic_client_msg[8];  /* "QvnQ5XlM" */

CURVECP_END_DECLS

#endif
