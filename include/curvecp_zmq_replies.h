/*  curvecp_zmq_replies.h - replies that wait for room instead of being lost.

    curvecp_server_send fails at once with EAGAIN when a client's queue is
    full (the server never waits for one client by default). An echo or
    request-reply server should then keep the reply and send it once the
    client has caught up (curvecp_server_writable), in order behind any
    other reply kept for that client. This class does that for a server:
    reply/send keep what does not fit, retry sends what fits now. Memory
    is bounded: beyond max_bytes kept in all, a reply is dropped and
    counted (a client that sends without reading cannot grow the server).

        curvecp_zmq_replies_t *replies = curvecp_zmq_replies_new (server, 0);
        zmsg_t *msg = curvecp_server_recv (server);
        curvecp_zmq_replies_reply (replies, &msg);
        ...
        curvecp_zmq_replies_retry (replies);        after each handle/recv  */
#ifndef CURVECP_ZMQ_REPLIES_H_INCLUDED
#define CURVECP_ZMQ_REPLIES_H_INCLUDED

#include "curvecp_export.h"
#include "curvecp_server.h"

CURVECP_BEGIN_DECLS

typedef struct _curvecp_zmq_replies_t curvecp_zmq_replies_t;

/* max_bytes: most message bytes kept in all (0 = 16 MiB). */
CURVECP_EXPORT curvecp_zmq_replies_t *curvecp_zmq_replies_new (curvecp_server_t *server, size_t max_bytes);
CURVECP_EXPORT void curvecp_zmq_replies_destroy (curvecp_zmq_replies_t **self_p);

/* Send to the sender of the last message received (reply) or to peer_id.
   Takes *msg_p in every case and sets it to NULL. Returns 0 when sent or
   kept for a retry, -1 when it was dropped: the connection is gone
   (errno EHOSTUNREACH), the message is empty (EINVAL) or keeping it
   would pass max_bytes (ENOBUFS). */
CURVECP_EXPORT int curvecp_zmq_replies_reply (curvecp_zmq_replies_t *self, zmsg_t **msg_p);
CURVECP_EXPORT int curvecp_zmq_replies_send (curvecp_zmq_replies_t *self, const char *peer_id, zmsg_t **msg_p);

/* Send what was kept, oldest first per connection, while it fits; drop
   what was kept for connections that are gone. Returns how many
   messages are still kept. */
CURVECP_EXPORT size_t curvecp_zmq_replies_retry (curvecp_zmq_replies_t *self);

/* Messages kept now; messages dropped so far (gone, or over max_bytes). */
CURVECP_EXPORT size_t curvecp_zmq_replies_kept (curvecp_zmq_replies_t *self);
CURVECP_EXPORT uint64_t curvecp_zmq_replies_dropped (curvecp_zmq_replies_t *self);

CURVECP_END_DECLS

#endif
