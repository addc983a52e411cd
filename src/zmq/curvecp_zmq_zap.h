/*  curvecp_zmq_zap.h - ask a ZAP handler (RFC 27) about a CurveCP client.

    Sends ZAP requests to inproc://zeromq.zap.01 in the process's ØMQ
    context (the one czmq's zsock and zactor(zauth) use), so an unchanged
    zauth actor decides:

        "" | "1.0" | request id | domain | address | routing id |
        mechanism | client long-term key (32 bytes)

    The mechanism is "CURVECP" by default: zauth then applies its address
    rules (ALLOW / DENY) only, since it checks keys for mechanisms it knows.
    With mechanism "CURVE", zauth also checks the key against the
    certificates it was given (zauth "CURVE" dir / CURVE_ALLOW_ANY). Status
    200 allows; anything else, a malformed reply, or no reply within the
    timeout, denies.

    Asynchronous use (what curvecp_zmq_server does, so that a slow handler
    delays only the client it is asked about): curvecp_zmq_zap_request
    sends and returns at once with the request's id; poll
    curvecp_zmq_zap_sock; curvecp_zmq_zap_recv takes each reply without
    waiting and says which request it answers. The owner keeps its own
    deadlines (curvecp_zmq_zap_timeout says how long to wait). A reply is
    taken only with exactly the seven frames of RFC 27 (empty delimiter,
    "1.0", id, 3-digit status, text, user id, ZMTP metadata); anything
    else is skipped and counted. A reply whose metadata is not valid ZMTP
    metadata is taken and denies (as libzmq does).                       */
#ifndef CURVECP_ZMQ_ZAP_H_INCLUDED
#define CURVECP_ZMQ_ZAP_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"

typedef struct _curvecp_zmq_zap_t curvecp_zmq_zap_t;

/* Longest user id kept from a reply; a longer one denies. */
#define CURVECP_ZMQ_ZAP_USER_ID_MAX  255

/* New ZAP client for domain with mechanism (NULL = "CURVECP"); timeout_ms
   is how long its owner should wait for each reply (< 0: owner's choice). */
curvecp_zmq_zap_t *curvecp_zmq_zap_new (const char *domain, const char *mechanism, int timeout_ms);

/* Free and set *self_p to NULL. */
void curvecp_zmq_zap_destroy (curvecp_zmq_zap_t **self_p);

/* Send a request about a client, never waiting. address is the peer's IP
   address text (NULL or "" if unknown). Returns the request id (> 0), or
   0 if ØMQ would not take the request (the handler's queue is full). */
uint64_t curvecp_zmq_zap_request (curvecp_zmq_zap_t *self, const char *address, const uint8_t *routing_id,
        size_t routing_len, const uint8_t key[CURVECP_KEY_BYTES]);

/* Take the next reply, never waiting: the id of the request it answers,
   or 0 when no reply is waiting. Then status, status text, user id,
   allowed and take_metadata describe that reply. */
uint64_t curvecp_zmq_zap_recv (curvecp_zmq_zap_t *self);

/* The socket replies arrive on (for zpoller / zloop), and the timeout. */
zsock_t *curvecp_zmq_zap_sock (curvecp_zmq_zap_t *self);
int curvecp_zmq_zap_timeout (const curvecp_zmq_zap_t *self);

/* Blocking convenience: request, then wait up to the timeout for its
   reply (skipping replies to earlier requests). True if allowed. */
bool curvecp_zmq_zap_check (curvecp_zmq_zap_t *self, const char *address, const uint8_t *routing_id,
        size_t routing_len, const uint8_t key[CURVECP_KEY_BYTES]);

/* The last reply: allowed (status 200 and well-formed), its status code
   and text ("" / "no ZAP reply" when none, or why it was malformed), and
   its user id. */
bool curvecp_zmq_zap_allowed (const curvecp_zmq_zap_t *self);
const char *curvecp_zmq_zap_status (const curvecp_zmq_zap_t *self);
const char *curvecp_zmq_zap_status_text (const curvecp_zmq_zap_t *self);
const char *curvecp_zmq_zap_user_id (const curvecp_zmq_zap_t *self);

/* The last reply's metadata as name -> value strings (a value is cut at
   its first zero byte); the caller owns it. NULL if the reply had none,
   or once taken. */
zhash_t *curvecp_zmq_zap_take_metadata (curvecp_zmq_zap_t *self);

/* Requests sent, and replies skipped as malformed (not RFC 27's seven
   frames, or no numeric request id). */
uint64_t curvecp_zmq_zap_requests (const curvecp_zmq_zap_t *self);
uint64_t curvecp_zmq_zap_malformed (const curvecp_zmq_zap_t *self);

/* Parse ZMTP metadata (name-length octet, name, 4-byte big-endian value
   length, value; repeated) into a new hash. NULL if malformed (an empty
   name, a length past the end, or a name repeated). */
zhash_t *curvecp_zmq_zap_parse_metadata (const uint8_t *data, size_t len);

#endif
