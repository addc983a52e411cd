/*  curvecp_zmq_zap.h - ask a ZAP handler (RFC 27) about a CurveCP client.

    Sends a ZAP request to inproc://zeromq.zap.01 in the process's ØMQ
    context (the one czmq's zsock and zactor(zauth) use) and waits for the
    reply, so an unchanged zauth actor decides:

        "" | "1.0" | request id | domain | address | routing id |
        mechanism | client long-term key (32 bytes)

    The mechanism is "CURVECP" by default: zauth then applies its address
    rules (ALLOW / DENY) only, since it checks keys for mechanisms it knows.
    With mechanism "CURVE", zauth also checks the key against the
    certificates it was given (zauth "CURVE" dir / CURVE_ALLOW_ANY). Status
    200 allows; anything else, or no reply within the timeout, denies.   */
#ifndef CURVECP_ZMQ_ZAP_H_INCLUDED
#define CURVECP_ZMQ_ZAP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"

typedef struct _curvecp_zmq_zap_t curvecp_zmq_zap_t;

/* New ZAP client for domain with mechanism (NULL = "CURVECP") waiting up
   to timeout_ms for each reply. */
curvecp_zmq_zap_t *curvecp_zmq_zap_new (const char *domain, const char *mechanism, int timeout_ms);

/* Free and set *self_p to NULL. */
void curvecp_zmq_zap_destroy (curvecp_zmq_zap_t **self_p);

/* Ask about a client: true if the handler answered 200. address is the
   peer's IP address text ("" if unknown). */
bool curvecp_zmq_zap_check (curvecp_zmq_zap_t *self, const char *address, const uint8_t *routing_id,
        size_t routing_len, const uint8_t key[CURVECP_KEY_BYTES]);

/* The last reply's status code and text ("" / "no ZAP reply" when none),
   and the user id a 200 reply gave. */
const char *curvecp_zmq_zap_status (const curvecp_zmq_zap_t *self);
const char *curvecp_zmq_zap_status_text (const curvecp_zmq_zap_t *self);
const char *curvecp_zmq_zap_user_id (const curvecp_zmq_zap_t *self);

#endif
