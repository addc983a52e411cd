/*  curvecp_udp_conn.h - one CurveCP connection over UDP, socket-like.

    A connection comes from curvecp_udp_server_accept (or the server's
    on_connect callback) or from curvecp_udp_client_conn. It is driven by
    its owner's event loop (curvecp_udp_server_process /
    curvecp_udp_client_process); these calls only queue and take bytes.

    Two modes, fixed when the owner is made:
      - stream mode (default): a reliable byte stream in each direction,
        our message layer (curvecp_stream) in-process. send / recv /
        shutdown / received_eof work like a socket's.
      - message mode (the owner has an on_message callback): the raw
        CurveCP messages M go to the callback as they arrive and
        send_message seals one M per packet. This is what NaCl's
        curvecpserver / curvecpclient do for a message handler on fd 8/9.

    A connection is named by the client's short-term key C', not by
    address: a server follows a client that changes address (roaming),
    answering at the new address at once and moving there for good once
    the client speaks again from it.                                      */
#ifndef CURVECP_UDP_CONN_H_INCLUDED
#define CURVECP_UDP_CONN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"
#include "curvecp_export.h"
#include "curvecp_reason.h"
#include "curvecp_udp_addr.h"

CURVECP_BEGIN_DECLS

typedef struct _curvecp_udp_conn_t curvecp_udp_conn_t;

/* Message mode: one message M (16..1088 bytes) arrived for conn. */
typedef void (curvecp_udp_message_fn) (curvecp_udp_conn_t *conn, const uint8_t *message, size_t len,
        void *arg);

/* ---- stream mode ------------------------------------------------------ */

/* Queue up to len bytes; returns how many were taken (0 when the send
   buffer is full or after shutdown: wait for the owner's process). */
CURVECP_EXPORT size_t curvecp_udp_conn_send (curvecp_udp_conn_t *self, const uint8_t *data, size_t len);

/* Take up to cap received bytes; returns how many (0 = none yet, or end:
   see curvecp_udp_conn_received_eof). buf NULL drops them uncopied (the
   tools, after looking at them in place). */
CURVECP_EXPORT size_t curvecp_udp_conn_recv (curvecp_udp_conn_t *self, uint8_t *buf, size_t cap);

/* Bytes ready for recv. */
CURVECP_EXPORT size_t curvecp_udp_conn_readable (const curvecp_udp_conn_t *self);

/* Free space for send. */
CURVECP_EXPORT size_t curvecp_udp_conn_send_space (const curvecp_udp_conn_t *self);

/* End our direction with CURVECP_EOF_SUCCESS or CURVECP_EOF_FAILURE.
   CURVECP_E_WRONG_STATE if already shut down. */
CURVECP_EXPORT curvecp_reason_t curvecp_udp_conn_shutdown (curvecp_udp_conn_t *self, curvecp_eof_t eof);

/* How the peer's stream ended, once every byte before its EOF is read. */
CURVECP_EXPORT curvecp_eof_t curvecp_udp_conn_received_eof (const curvecp_udp_conn_t *self);

/* Everything we sent (and our EOF) is acknowledged. */
CURVECP_EXPORT bool curvecp_udp_conn_all_acked (const curvecp_udp_conn_t *self);

/* Both directions finished (ours acknowledged, the peer's read to EOF). */
CURVECP_EXPORT bool curvecp_udp_conn_done (const curvecp_udp_conn_t *self);

/* The peer stopped answering while we had data outstanding (60 s): the
   connection is dead. */
CURVECP_EXPORT bool curvecp_udp_conn_failed (const curvecp_udp_conn_t *self);

/* Why it failed, as rfc/curvecp.md 7.4 names it ("handshake-timeout",
   "peer-silent", ...), and the same in words ("server stopped
   acknowledging data"); both NULL while it has not failed. A failure is
   never a clean end: tell the user. */
CURVECP_EXPORT const char *curvecp_udp_conn_failure (const curvecp_udp_conn_t *self);
CURVECP_EXPORT const char *curvecp_udp_conn_error (const curvecp_udp_conn_t *self);

/* ---- message mode ----------------------------------------------------- */

/* Seal one message (multiple of 16, 16..1088; a client before the
   server's first Message 16..640) into a packet and queue it. */
CURVECP_EXPORT curvecp_reason_t curvecp_udp_conn_send_message (curvecp_udp_conn_t *self, const uint8_t *message,
        size_t len);

/* ---- both ------------------------------------------------------------- */

/* Give the connection back. Stream mode: if not shut down yet, a success
   EOF is sent; the owner keeps the connection until the peer has
   acknowledged everything (then a short linger to acknowledge its
   retransmissions), or it fails. Message mode: forgotten at once (as
   curvecpserver frees a slot when its handler exits). Sets *self_p to
   NULL. */
CURVECP_EXPORT void curvecp_udp_conn_close (curvecp_udp_conn_t **self_p);

/* The peer's current address (a server follows a roaming client). */
CURVECP_EXPORT const curvecp_udp_addr_t *curvecp_udp_conn_peer (const curvecp_udp_conn_t *self);

/* Client long-term key C (authenticated by the vouch) and short-term C'. */
CURVECP_EXPORT const uint8_t *curvecp_udp_conn_client_key (const curvecp_udp_conn_t *self);
CURVECP_EXPORT const uint8_t *curvecp_udp_conn_client_short_key (const curvecp_udp_conn_t *self);

/* Client extension the connection was made with. */
CURVECP_EXPORT const uint8_t *curvecp_udp_conn_client_ext (const curvecp_udp_conn_t *self);

/* Server side: which name (virtual host, curvecp_udp_server_add_name)
   the client asked for. Client side: 0. */
CURVECP_EXPORT int curvecp_udp_conn_name_index (const curvecp_udp_conn_t *self);

/* The server has spoken (client side; always true at a server). */
CURVECP_EXPORT bool curvecp_udp_conn_established (const curvecp_udp_conn_t *self);

/* Caller's pointer, for event loops. */
CURVECP_EXPORT void curvecp_udp_conn_set_user (curvecp_udp_conn_t *self, void *user);
CURVECP_EXPORT void *curvecp_udp_conn_user (const curvecp_udp_conn_t *self);

typedef struct {
    uint64_t packets_in;          /* verified packets */
    uint64_t packets_out;
    uint64_t roams;               /* moves to a new peer address */
    uint64_t seal_errors;         /* messages that could not be sealed (nonce, size) */
    uint64_t keepalives;          /* of packets_out: keepalive zero messages */
} curvecp_udp_conn_info_t;

CURVECP_EXPORT const curvecp_udp_conn_info_t *curvecp_udp_conn_info (const curvecp_udp_conn_t *self);

/* Per-reason counts of packets this connection opened or refused. */
CURVECP_EXPORT const curvecp_stats_t *curvecp_udp_conn_stats (const curvecp_udp_conn_t *self);

CURVECP_END_DECLS

#endif
