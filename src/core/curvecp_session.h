/*  curvecp_session.h - one established CurveCP connection's packet crypto.

    A session seals outgoing messages into packets and opens incoming
    packets into messages, with the short-term nonce counter and the
    strictly-increasing replay rule. It is a plain struct so that a server
    can keep sessions in memory it allocated up front; nothing in it is
    allocated. Client sessions send Initiates (carrying the cookie and the
    vouch) until the first Server Message opens, then Client Messages, and
    wipe the cookie, vouch and name at that moment, as NaCl does.          */
#ifndef CURVECP_SESSION_H_INCLUDED
#define CURVECP_SESSION_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"
#include "curvecp_counter.h"
#include "curvecp_reason.h"

typedef struct {
    bool is_client;
    bool established;          /* client: a Server Message has opened */
    bool have_received;        /* a packet has been accepted (last_received valid) */
    uint8_t client_short_pk[CURVECP_KEY_BYTES];    /* C': names the connection */
    uint8_t client_long_pk[CURVECP_KEY_BYTES];     /* C: authenticated by the vouch */
    uint8_t server_long_pk[CURVECP_KEY_BYTES];     /* S */
    uint8_t shared[CURVECP_KEY_BYTES];             /* beforenm(C', s') - secret */
    uint8_t server_ext[CURVECP_EXT_BYTES];
    uint8_t client_ext[CURVECP_EXT_BYTES];
    uint8_t name_field[CURVECP_NAME_BYTES];        /* server name (client: until established) */
    curvecp_counter_t send_counter;
    uint64_t last_received;                        /* peer's last accepted nonce */
    size_t message_max;                            /* 0 = CURVECP_MSG_MAX; larger only by
                                                      the negotiated large-message option */
    /* client only, until established: what every Initiate repeats */
    uint8_t cookie_k[CURVECP_COOKIE_K_BYTES];
    uint8_t vouch_nonce[CURVECP_NONCE16_BYTES];
    uint8_t vouch[CURVECP_VOUCH_BYTES];
    curvecp_stats_t stats;                          /* per-reason counts of received packets */
} curvecp_session_t;

/* Largest packet a session produces, and largest message it returns. */
#define CURVECP_SESSION_PACKET_MAX CURVECP_PACKET_MAX
#define CURVECP_SESSION_MESSAGE_MAX CURVECP_MSG_MAX

/* Seal message (multiple of 16, 16..1088; a client before establishment
   16..640) into out (CURVECP_SESSION_PACKET_MAX bytes). Client: Initiate or
   Client Message; server: Server Message. */
curvecp_reason_t curvecp_session_seal (curvecp_session_t *self, const uint8_t *message, size_t message_len,
        uint8_t *out, size_t *out_len);

/* Open a packet for this session into message (CURVECP_SESSION_MESSAGE_MAX
   bytes). Server: Initiate (repeated) or Client Message for this C';
   client: Server Message. Checks size, magic, extensions, nonce order
   (before any crypto), then the box. Counts the result in stats; on any
   rejection the session is unchanged. */
curvecp_reason_t curvecp_session_open (curvecp_session_t *self, const uint8_t *packet, size_t len,
        uint8_t *message, size_t *message_len);

/* Turn on the large-message option: Messages (not Initiates) of up to
   message_max bytes, a multiple of 16 in CURVECP_MSG_MAX..CURVECP_LARGE_MSG_MAX,
   both ways. Only for two of our peers that negotiated it on an ordered
   carrier; packets then exceed UDP's and NaCl's limits. Buffers passed to
   seal and open must then hold message_max (+ 96 for packets). */
curvecp_reason_t curvecp_session_set_message_max (curvecp_session_t *self, size_t message_max);

/* The largest message this session seals or opens. */
size_t curvecp_session_message_max (const curvecp_session_t *self);

/* Is this packet (classified at the server) for this session's C'? */
bool curvecp_session_matches (const curvecp_session_t *self, const uint8_t *packet);

/* Wipe all secrets and reset the struct to zero. */
void curvecp_session_wipe (curvecp_session_t *self);

#endif
