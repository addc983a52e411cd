/*  curvecp_packet.h - encode and decode the five CurveCP packets.

    These are the byte-exact layouts of the CurveCP specification, with
    every key, nonce and shared key passed in explicitly, so the functions
    are deterministic (test vectors, fuzzing) and the handshake classes
    stay short. "shared" always means crypto_box_beforenm(their_pk, my_sk).
    Every decoder checks lengths before it reads and returns a reason.

    Layouts (offsets in bytes):
      Hello    224: magic | sext | cext | C' | 64 zero | n8 | box80(0^64)
      Cookie   200: magic | cext | sext | N16 | box144(S' | K)
                    K = N16 | secretbox80(C' | s') under the minute key
      Initiate 544+M: magic | sext | cext | C' | K | n8 | box(C | V16 | vouch | name | M)
      Server Message 64+M: magic | cext | sext | n8 | box(M)
      Client Message 96+M: magic | sext | cext | C' | n8 | box(M)        */
#ifndef CURVECP_PACKET_H_INCLUDED
#define CURVECP_PACKET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"
#include "curvecp_reason.h"

typedef enum {
    CURVECP_PACKET_HELLO,
    CURVECP_PACKET_COOKIE,
    CURVECP_PACKET_INITIATE,
    CURVECP_PACKET_SERVER_MESSAGE,
    CURVECP_PACKET_CLIENT_MESSAGE
} curvecp_packet_type_t;

/* ---- server names --------------------------------------------------- */

/* DNS-encode a dotted name into the 256-byte field (empty labels skipped,
   labels <= 63 bytes, the whole encoding with its final 0 <= 256). */
curvecp_reason_t curvecp_name_encode (const char *name, uint8_t field[CURVECP_NAME_BYTES]);

/* Decode the field back to dotted text (for logs and virtual-host lookup). */
curvecp_reason_t curvecp_name_decode (const uint8_t field[CURVECP_NAME_BYTES], char *text, size_t cap);

/* ---- classification (no crypto) -------------------------------------- */

/* What a server does first with any datagram: length 80..1184 and a
   multiple of 16, client magic, our server extension; then the exact
   size rules of the type. Sets *type. */
curvecp_reason_t curvecp_packet_classify_at_server (const uint8_t *packet, size_t len,
        const uint8_t server_ext[CURVECP_EXT_BYTES], curvecp_packet_type_t *type);

/* The same with a larger limit for Message packets (a session with the
   large-message option; max_message <= CURVECP_LARGE_MSG_MAX). */
curvecp_reason_t curvecp_packet_classify_at_server_max (const uint8_t *packet, size_t len,
        const uint8_t server_ext[CURVECP_EXT_BYTES], size_t max_message, curvecp_packet_type_t *type);

/* What a client does first: Cookie (exactly 200) or Server Message
   (80..1152, multiple of 16), with (client ext, server ext) matching. */
curvecp_reason_t curvecp_packet_classify_at_client (const uint8_t *packet, size_t len,
        const uint8_t client_ext[CURVECP_EXT_BYTES], const uint8_t server_ext[CURVECP_EXT_BYTES],
        curvecp_packet_type_t *type);

curvecp_reason_t curvecp_packet_classify_at_client_max (const uint8_t *packet, size_t len,
        const uint8_t client_ext[CURVECP_EXT_BYTES], const uint8_t server_ext[CURVECP_EXT_BYTES],
        size_t max_message, curvecp_packet_type_t *type);

/* C' of an Initiate or Client Message already classified at the server. */
const uint8_t *curvecp_packet_client_short_key (const uint8_t *packet);

/* Client extension of a packet classified at the server. */
const uint8_t *curvecp_packet_client_ext (const uint8_t *packet);

/* The 8-byte nonce counter of an Initiate, Client or Server Message. */
uint64_t curvecp_packet_nonce8 (const uint8_t *packet, curvecp_packet_type_t type);

/* ---- Hello ----------------------------------------------------------- */
/* hello_shared = beforenm(S, c') (client) = beforenm(C', s) (server). */
void curvecp_hello_encode (uint8_t out[CURVECP_HELLO_BYTES],
        const uint8_t server_ext[16], const uint8_t client_ext[16],
        const uint8_t client_short_pk[32], const uint8_t hello_shared[32], uint64_t nonce);

curvecp_reason_t curvecp_hello_open (const uint8_t packet[CURVECP_HELLO_BYTES],
        const uint8_t hello_shared[32]);

/* ---- Cookie ---------------------------------------------------------- */
/* Builds K and the Cookie. cookie_shared = beforenm(C', s). */
void curvecp_cookie_encode (uint8_t out[CURVECP_COOKIE_BYTES],
        const uint8_t client_ext[16], const uint8_t server_ext[16], const uint8_t nonce16[16],
        const uint8_t server_short_pk[32], const uint8_t server_short_sk[32],
        const uint8_t client_short_pk[32], const uint8_t minute_key[32],
        const uint8_t cookie_shared[32]);

/* Client side: open the Cookie box (cookie_shared = beforenm(S, c')), giving
   S' and K. Checks length, magic and both extensions first. */
curvecp_reason_t curvecp_cookie_open (const uint8_t *packet, size_t len,
        const uint8_t client_ext[16], const uint8_t server_ext[16], const uint8_t cookie_shared[32],
        uint8_t server_short_pk[32], uint8_t cookie_k[CURVECP_COOKIE_K_BYTES]);

/* Server side: open K with a minute key, giving C' and s'. */
curvecp_reason_t curvecp_cookie_k_open (const uint8_t cookie_k[CURVECP_COOKIE_K_BYTES],
        const uint8_t minute_key[32], uint8_t client_short_pk[32], uint8_t server_short_sk[32]);

/* ---- Vouch ----------------------------------------------------------- */
/* vouch_shared = beforenm(S, c) = beforenm(C, s). */
void curvecp_vouch_encode (uint8_t vouch[CURVECP_VOUCH_BYTES], const uint8_t nonce16[16],
        const uint8_t client_short_pk[32], const uint8_t vouch_shared[32]);
curvecp_reason_t curvecp_vouch_open (const uint8_t vouch[CURVECP_VOUCH_BYTES], const uint8_t nonce16[16],
        const uint8_t vouch_shared[32], uint8_t client_short_pk[32]);

/* ---- Initiate -------------------------------------------------------- */
/* session_shared = beforenm(S', c') = beforenm(C', s'). message_len is a
   multiple of 16 in 16..640. Returns the packet length in *out_len
   (out must hold CURVECP_INITIATE_BASE + 640). */
curvecp_reason_t curvecp_initiate_encode (uint8_t *out, size_t *out_len,
        const uint8_t server_ext[16], const uint8_t client_ext[16],
        const uint8_t client_short_pk[32], const uint8_t cookie_k[CURVECP_COOKIE_K_BYTES], uint64_t nonce,
        const uint8_t session_shared[32], const uint8_t client_long_pk[32],
        const uint8_t vouch_nonce16[16], const uint8_t vouch[CURVECP_VOUCH_BYTES],
        const uint8_t name_field[CURVECP_NAME_BYTES], const uint8_t *message, size_t message_len);

/* Open the Initiate box into inner (caller buffer of len - 192 bytes, at
   most CURVECP_INITIATE_INNER_BASE + 640). inner then holds C | V16 |
   vouch | name | M; *inner_len is 352 + M. */
curvecp_reason_t curvecp_initiate_open (const uint8_t *packet, size_t len,
        const uint8_t session_shared[32], uint8_t *inner, size_t *inner_len);

/* ---- Messages -------------------------------------------------------- */
/* message_len: multiple of 16, 16..1088. out holds 64+M / 96+M bytes. */
curvecp_reason_t curvecp_server_message_encode (uint8_t *out, size_t *out_len,
        const uint8_t client_ext[16], const uint8_t server_ext[16], uint64_t nonce,
        const uint8_t session_shared[32], const uint8_t *message, size_t message_len);
curvecp_reason_t curvecp_server_message_open (const uint8_t *packet, size_t len,
        const uint8_t session_shared[32], uint8_t *message, size_t *message_len);

curvecp_reason_t curvecp_client_message_encode (uint8_t *out, size_t *out_len,
        const uint8_t server_ext[16], const uint8_t client_ext[16], const uint8_t client_short_pk[32],
        uint64_t nonce, const uint8_t session_shared[32], const uint8_t *message, size_t message_len);
curvecp_reason_t curvecp_client_message_open (const uint8_t *packet, size_t len,
        const uint8_t session_shared[32], uint8_t *message, size_t *message_len);

/* The Message encoders and openers with a larger message limit (the
   large-message option); the functions above use CURVECP_MSG_MAX. */
curvecp_reason_t curvecp_server_message_encode_max (uint8_t *out, size_t *out_len, size_t max_message,
        const uint8_t client_ext[16], const uint8_t server_ext[16], uint64_t nonce,
        const uint8_t session_shared[32], const uint8_t *message, size_t message_len);
curvecp_reason_t curvecp_server_message_open_max (const uint8_t *packet, size_t len, size_t max_message,
        const uint8_t session_shared[32], uint8_t *message, size_t *message_len);
curvecp_reason_t curvecp_client_message_encode_max (uint8_t *out, size_t *out_len, size_t max_message,
        const uint8_t server_ext[16], const uint8_t client_ext[16], const uint8_t client_short_pk[32],
        uint64_t nonce, const uint8_t session_shared[32], const uint8_t *message, size_t message_len);
curvecp_reason_t curvecp_client_message_open_max (const uint8_t *packet, size_t len, size_t max_message,
        const uint8_t session_shared[32], uint8_t *message, size_t *message_len);

/* Check a message length for a packet: multiple of 16 within 16..max. */
curvecp_reason_t curvecp_message_len_check (size_t message_len, size_t max);

#endif
