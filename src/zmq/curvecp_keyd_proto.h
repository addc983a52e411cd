/*  curvecp_keyd_proto.h - the key service's messages over a secured
    DEALER-ROUTER session (rfc/curvecp.md, "Key service"). Each is a ØMQ
    message whose first frame names it:
      client -> keyd   SUBSCRIBE            a snapshot now, updates after it
                                            on this session
                       SNAPSHOT             a snapshot only
                       CHANGE <update>      an administrator's signed update
      keyd -> client   SNAPSHOT <set> [<pub-keys> <pub-data>]
                                            the signed set, and where the
                                            updates are published
                       UPDATE <update>      a change, to subscribers
                       HUGZ <seq>           heartbeat with the set's sequence
                                            number (decimal), to subscribers
                       OK <seq>             CHANGE applied
                       REFUSED <why> <seq>  CHANGE refused (why: a keyset
                                            result text), our sequence
    The decoders below read a whole message strictly (exact command
    frames, no frame missing or extra): the service refuses, counts and
    logs a request that is anything else, and a client takes a reply
    that is anything else for no answer.                               */
#ifndef CURVECP_KEYD_PROTO_H_INCLUDED
#define CURVECP_KEYD_PROTO_H_INCLUDED

#include <czmq.h>
#include "curvecp_keyd.h"

/* UPDATE and HUGZ are also published on the secured PUB-SUB
   (curvecp_zmq_pub, same long-term key) under this topic. */
#define KEYD_TOPIC      "keyd"

#define KEYD_SUBSCRIBE  "SUBSCRIBE"
#define KEYD_SNAPSHOT   "SNAPSHOT"
#define KEYD_CHANGE     "CHANGE"
#define KEYD_UPDATE     "UPDATE"
#define KEYD_HUGZ       "HUGZ"
#define KEYD_OK         "OK"
#define KEYD_REFUSED    "REFUSED"

/* keyd's heartbeat interval; a replica that hears nothing for
   lost_after_ms (default 3 heartbeats) calls the service lost. */
#define KEYD_HUGZ_MS        1000
#define KEYD_LOST_AFTER_MS  3000


/* The longest update there can be (rfc 18.1): magic, seq, an entry with
   the longest name and metadata, the set's signature, its own. A longer
   CHANGE is refused before any signature is checked. */
#define KEYD_UPDATE_MAX (8 + 8 + CURVECP_KEY_BYTES + 8 + 1 + 1 + CURVECP_KEYSET_NAME_MAX \
                         + 2 + CURVECP_KEYSET_METADATA_MAX + 2 * CURVECP_KEYSET_SIG_BYTES)
/* The longest endpoint a snapshot names or a keyd spec holds (ks-endpoint). */
#define KEYD_ENDPOINT_MAX 255
/* The longest sequence number in decimal (ks-decimal: 1*20 digits). */
#define KEYD_DECIMAL_MAX 20

typedef enum {
    KEYD_REQUEST_SUBSCRIBE,
    KEYD_REQUEST_SNAPSHOT,
    KEYD_REQUEST_CHANGE
} keyd_command_t;

/* A request, decoded: update points into the message (CHANGE only). */
typedef struct {
    keyd_command_t command;
    const uint8_t *update;
    size_t update_size;
} keyd_request_t;

/* Decode a request (msg is left as it is); CURVECP_KEYD_REQUEST_OK or
   why it is refused. */
curvecp_keyd_request_result_t keyd_request_decode (zmsg_t *msg, keyd_request_t *request);

/* Decode a CHANGE's reply: CURVECP_KEYSET_OK, the reason of a REFUSED
   (CURVECP_KEYSET_UNKNOWN_REASON for one this build does not name; a
   REFUSED is never taken for OK), or CURVECP_KEYSET_RESULTS for a
   message that is no reply (missing or extra frames, a sequence number
   that is not 1..20 decimal digits). *seq gets the service's sequence
   number (0 when it is no reply). */
curvecp_keyset_result_t keyd_change_reply_decode (zmsg_t *msg, uint64_t *seq);

/* Is frame exactly this command (length and bytes)? */
bool keyd_frame_is (zframe_t *frame, const char *command);

#endif
