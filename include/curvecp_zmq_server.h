/*  curvecp_zmq_server.h - a CurveCP-secured ØMQ ROUTER serving many clients.

    Each frame on the ROUTER is one CurveCP packet; the routing id only
    says where to send a reply. Connections are named by the client's
    short-term key C', so a DEALER that reconnects (new routing id) keeps
    its connection: the routing id is updated from the next packet that
    authenticates. Hellos are answered without any state, from a fixed
    queue fair between routing ids, within a time budget per call (the
    defence the UDP server has too: both use the same server core), so a
    Hello flood from one DEALER cannot keep other clients out; Hellos the
    queue cannot hold are dropped [overloaded] (the client resends). A
    connection is made only by a valid Initiate from an authorised client.

        curvecp_zmq_server_t *server = curvecp_zmq_server_new (&keys, "example.com");
        curvecp_zmq_server_bind (server, "tcp://127.0.0.1:9000");
        zmsg_t *msg = curvecp_zmq_server_recv (server);
        const uint8_t *who = curvecp_zmq_server_peer_key (server);   // authenticated client key
        curvecp_zmq_server_reply (server, &msg);                     // back to that client

    Work happens inside the calls (no background thread). In a zloop,
    curvecp_zmq_server_attach does it all: it registers the ROUTER (and the
    ZAP socket) and one timer set to the next deadline after every event
    (no periodic tick), and hands each whole message to a callback. For
    zpoller or a loop of your own: poll curvecp_zmq_server_sock (and
    curvecp_zmq_server_zap_sock, when ZAP is on) with curvecp_zmq_server_timeout
    (a query: it changes nothing), call curvecp_zmq_server_handle on input or
    timeout, then curvecp_zmq_server_recv_nowait. (A poller that leaves the
    ZAP socket out still works: while ZAP replies are due the timeout is
    at most 10 ms.)

    Sends never block on one client by default: a send to a client whose
    queue is full fails with EAGAIN. In queued-send mode
    (curvecp_zmq_server_set_send_queue) such a message is kept instead and
    sent, in order per connection, as soon as it fits.

    Limits: at most max_peers connections (default 10000) and at most
    max_pending of them (default 1024) that have not yet confirmed their
    handshake with a Client Message, within a memory budget for those
    (max_pending_memory, default 64 MiB); an unconfirmed connection is dropped
    after the handshake timeout, a silent one after the idle timeout, and
    one whose client ended its stream at once. Refusals are counted per
    reason in curvecp_zmq_server_stats.

    Authorisation (both optional, both must agree): an allow-list directory
    of zcert public certificates (curvecp_zmq_allow.h), and a ZAP request
    per new client (curvecp_zmq_zap.h) so zactor(zauth) decides. ZAP never
    makes the server wait: a client being asked about is held (its first
    64 KiB of packets are taken, later ones dropped until the reply;
    nothing is sent to it or handed to the application) while
    every other connection is served; at most max_authorising clients
    (default 256) are held at once, a new one beyond that is refused
    [full]. A 200 reply releases the client, and the reply's user id and
    metadata stay with its connection (curvecp_zmq_server_peer_user_id /
    _peer_metadata); any other reply, or none within the ZAP timeout,
    drops it [not-authorised].                                           */
#ifndef CURVECP_ZMQ_SERVER_H_INCLUDED
#define CURVECP_ZMQ_SERVER_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_export.h"
#include "curvecp_zmq_codec.h"
#include "curvecp_keys.h"
#include "curvecp_reason.h"
#include "curvecp_zmq_allow.h"

CURVECP_BEGIN_DECLS

typedef struct _curvecp_zmq_server_t curvecp_zmq_server_t;

#define CURVECP_ZMQ_SERVER_PEER_ID_BYTES 65          /* hex C' and its NUL */

/* New server with long-term keys, accepting server name (dotted; more
   with curvecp_zmq_server_add_name). NULL on a bad name. */
CURVECP_EXPORT curvecp_zmq_server_t *curvecp_zmq_server_new (const curvecp_keypair_t *keys, const char *name);

/* The same with the server's key pair from a czmq certificate (one
   without its secret key is refused). */
CURVECP_EXPORT curvecp_zmq_server_t *curvecp_zmq_server_new_zcert (zcert_t *cert, const char *name);

/* Close every connection, wipe, free; sets *self_p to NULL. */
CURVECP_EXPORT void curvecp_zmq_server_destroy (curvecp_zmq_server_t **self_p);

/* Another accepted server name (virtual host). 0 or -1. */
CURVECP_EXPORT int curvecp_zmq_server_add_name (curvecp_zmq_server_t *self, const char *name);

/* Our 16-byte server extension (default zero; NULL = zero). Only before
   the first connection: 0, or -1 (unchanged) once there is one. */
CURVECP_EXPORT int curvecp_zmq_server_set_extension (curvecp_zmq_server_t *self, const uint8_t server_ext[CURVECP_EXT_BYTES]);

/* Codec options for new connections (timeouts, limits). */
CURVECP_EXPORT void curvecp_zmq_server_set_options (curvecp_zmq_server_t *self, const curvecp_zmq_codec_options_t *options);

/* Connection limits: all connections, those not yet confirmed, and those
   held waiting for a ZAP reply. */
CURVECP_EXPORT void curvecp_zmq_server_set_max_peers (curvecp_zmq_server_t *self, size_t max_peers);
CURVECP_EXPORT void curvecp_zmq_server_set_max_pending (curvecp_zmq_server_t *self, size_t max_pending);
CURVECP_EXPORT void curvecp_zmq_server_set_max_authorising (curvecp_zmq_server_t *self, size_t max_authorising);

/* Memory budget of unconfirmed connections (default 64 MiB). Each is
   charged, until its first Client Message, what its codec may allocate
   before then: 2 x options.window + the 64 KiB large-block buffer (when
   options.block_max > 1024) + 32 KiB (2.1 MiB with the default options:
   about 30 at once); a new client that would exceed the budget is
   refused [full] and gets in when its Initiate is resent. */
CURVECP_EXPORT void curvecp_zmq_server_set_max_pending_memory (curvecp_zmq_server_t *self, size_t bytes);

/* recv timeout in ms (-1 forever, the default); send timeout: how long
   a send may wait while that one client's queue is full (default 0:
   never, it fails with EAGAIN at once; -1: forever). A waiting send still
   serves every other connection's input and timers, but hands nothing to
   the application, so a client that stops acknowledging would hold up
   everyone's messages for up to this long on every send to it. */
CURVECP_EXPORT void curvecp_zmq_server_set_rcvtimeo (curvecp_zmq_server_t *self, int msecs);
CURVECP_EXPORT void curvecp_zmq_server_set_sndtimeo (curvecp_zmq_server_t *self, int msecs);

/* Only clients whose key has a zcert in directory (reloaded when it
   changes). NULL turns the allow-list off. 0, or -1 if unreadable. */
CURVECP_EXPORT int curvecp_zmq_server_allow_directory (curvecp_zmq_server_t *self, const char *directory);

/* Also ask fn (with arg) about each new client, after the allow-list
   and before ZAP: a client it refuses is dropped [not-authorised]. For a
   live allow-list such as a key service replica
   (curvecp_keys_replica_authorise). NULL turns it off. */
CURVECP_EXPORT void curvecp_zmq_server_set_authoriser (curvecp_zmq_server_t *self, curvecp_authorise_fn *fn, void *arg);
/* The allow-list in use (its load and read counts), NULL if none. */
CURVECP_EXPORT curvecp_zmq_allow_t *curvecp_zmq_server_allow_list (curvecp_zmq_server_t *self);

/* Ask the ZAP handler about each new client in domain, with mechanism
   (NULL = "CURVECP"), holding the client up to timeout_ms for the reply
   (< 0: up to the handshake timeout). domain NULL: off. Clients still
   held when this is called are refused. 0 or -1. */
CURVECP_EXPORT int curvecp_zmq_server_set_zap (curvecp_zmq_server_t *self, const char *domain, const char *mechanism, int timeout_ms);

/* Bind the ROUTER (as zsock_bind: returns the port for tcp://...:*, 0
   for other endpoints, -1 on error). */
CURVECP_EXPORT int curvecp_zmq_server_bind (curvecp_zmq_server_t *self, const char *endpoint);

/* Next whole message from any client, waiting up to rcvtimeo; NULL on
   timeout. Afterwards peer_key / peer_name / peer_id / peer_user_id /
   peer_metadata say who sent it. */
CURVECP_EXPORT zmsg_t *curvecp_zmq_server_recv (curvecp_zmq_server_t *self);

/* A message already received, or NULL; never waits. */
CURVECP_EXPORT zmsg_t *curvecp_zmq_server_recv_nowait (curvecp_zmq_server_t *self);

/* The sender of the last message: authenticated long-term key, the server
   name it asked for, and the connection's id (hex of C'). */
CURVECP_EXPORT const uint8_t *curvecp_zmq_server_peer_key (curvecp_zmq_server_t *self);
CURVECP_EXPORT const char *curvecp_zmq_server_peer_name (curvecp_zmq_server_t *self);
CURVECP_EXPORT const char *curvecp_zmq_server_peer_id (curvecp_zmq_server_t *self);

/* What the ZAP handler said about the sender of the last message: the
   user id of its 200 reply ("" without ZAP or when it gave none), and
   its metadata as name -> value strings (NULL when none; owned by the
   server and valid until the next recv). property looks one name up
   (exactly as the handler spelled it); NULL when absent. */
CURVECP_EXPORT const char *curvecp_zmq_server_peer_user_id (curvecp_zmq_server_t *self);
CURVECP_EXPORT zhash_t *curvecp_zmq_server_peer_metadata (curvecp_zmq_server_t *self);
CURVECP_EXPORT const char *curvecp_zmq_server_peer_property (curvecp_zmq_server_t *self, const char *name);

/* Send to the connection peer_id; takes ownership on success. A client's
   queue holds options.send_queue bytes (default 4 MiB) beyond its stream
   window; when it is full the send waits up to sndtimeo (by default not
   at all) and then fails with errno EAGAIN, leaving the message with the
   caller (try again once curvecp_zmq_server_writable says so) - unless
   queued-send mode is on (below). -1 with errno EHOSTUNREACH if there is
   no such connection (or it is still held for ZAP, or failed), EINVAL
   for an empty message, ENOBUFS in queued-send mode when the bytes kept
   for all clients would exceed its bound. */
CURVECP_EXPORT int curvecp_zmq_server_send (curvecp_zmq_server_t *self, const char *peer_id, zmsg_t **msg_p);

/* Would a send to peer_id be taken now? false if its queue is full or
   there is no such connection. */
CURVECP_EXPORT bool curvecp_zmq_server_writable (curvecp_zmq_server_t *self, const char *peer_id);

/* Is there a connection peer_id now (authorised, not failed)? false once
   it ended (its client closed, failed, or went idle). */
CURVECP_EXPORT bool curvecp_zmq_server_has_peer (curvecp_zmq_server_t *self, const char *peer_id);

/* Send to the sender of the last message. */
CURVECP_EXPORT int curvecp_zmq_server_reply (curvecp_zmq_server_t *self, zmsg_t **msg_p);

/* Send to the newest connection of the client with this long-term key. */
CURVECP_EXPORT int curvecp_zmq_server_send_to_key (curvecp_zmq_server_t *self, const uint8_t client_key[CURVECP_KEY_BYTES],
        zmsg_t **msg_p);

/* Queued-send mode (max_bytes > 0): a send to a client whose queue is
   full succeeds and the message is kept, then sent in order, with that
   connection's later messages behind it, as soon as its queue takes it
   (during handle, recv, send and flush). At most max_bytes of messages
   are kept for all clients together (beyond: ENOBUFS); those kept for a
   connection that ends are dropped and counted (info.send_dropped).
   0 turns it off (the default: EAGAIN, as above). */
CURVECP_EXPORT void curvecp_zmq_server_set_send_queue (curvecp_zmq_server_t *self, size_t max_bytes);

/* Send everything queued to every client now. */
CURVECP_EXPORT void curvecp_zmq_server_flush (curvecp_zmq_server_t *self);

/* For zpoller / zloop: the ROUTER, the ZAP socket (NULL without ZAP;
   it changes with curvecp_zmq_server_set_zap), the timeout in ms until the
   next deadline (-1 none), and the handler (never blocks). */
CURVECP_EXPORT zsock_t *curvecp_zmq_server_sock (curvecp_zmq_server_t *self);
CURVECP_EXPORT zsock_t *curvecp_zmq_server_zap_sock (curvecp_zmq_server_t *self);
CURVECP_EXPORT int curvecp_zmq_server_timeout (curvecp_zmq_server_t *self);
CURVECP_EXPORT int curvecp_zmq_server_handle (curvecp_zmq_server_t *self);

/* A whole message for a zloop user: *msg_p is the message (take it, or
   leave it to be destroyed); curvecp_zmq_server_peer_key and friends say who
   sent it. Return -1 to end the loop, else 0. */
typedef int (curvecp_zmq_server_message_fn) (curvecp_zmq_server_t *server, zmsg_t **msg_p, void *arg);

/* Serve from loop: the ROUTER (and the ZAP socket, if set before this
   call; a later one is served through the 10 ms cap above) as readers,
   and one timer re-armed to the next deadline after every event. Every
   whole message that arrives goes to fn. One loop at a time; 0 or -1. */
CURVECP_EXPORT int curvecp_zmq_server_attach (curvecp_zmq_server_t *self, zloop_t *loop, curvecp_zmq_server_message_fn *fn,
        void *arg);

/* Take the server off its loop; before the loop is destroyed (the
   server's destroy does it too, so destroy the server first, or detach). */
CURVECP_EXPORT void curvecp_zmq_server_detach (curvecp_zmq_server_t *self);

/* Connections now, those not yet confirmed, and those held for ZAP. */
CURVECP_EXPORT size_t curvecp_zmq_server_peers (curvecp_zmq_server_t *self);
CURVECP_EXPORT size_t curvecp_zmq_server_pending (curvecp_zmq_server_t *self);
CURVECP_EXPORT size_t curvecp_zmq_server_authorising (curvecp_zmq_server_t *self);

/* What ZAP did: requests sent; clients allowed, denied (a reply other
   than 200, or a malformed one for their request), timed out (no reply
   in time), refused because max_authorising were already held (also
   counted [full]), or refused because ØMQ would not take the request
   (the handler's queue full); replies that came after their client was
   gone, and replies skipped as malformed. Each client refused here is
   counted once [not-authorised] in curvecp_zmq_server_stats (its Initiate
   was counted as accepted when it arrived). */
typedef struct {
    uint64_t requests, allowed, denied, timed_out, full, unsent, late, malformed;
    uint64_t held_dropped;      /* packets dropped [wrong-state] from a held client
                                   beyond its first 64 KiB (it resends them) */
} curvecp_zmq_server_zap_stats_t;
CURVECP_EXPORT const curvecp_zmq_server_zap_stats_t *curvecp_zmq_server_zap_stats (curvecp_zmq_server_t *self);

/* Per-reason counts of every packet the server handled
   (counts[CURVECP_OK] = accepted), and packets ØMQ dropped at its
   high-water mark on the way out. */
CURVECP_EXPORT const curvecp_stats_t *curvecp_zmq_server_stats (curvecp_zmq_server_t *self);
CURVECP_EXPORT uint64_t curvecp_zmq_server_dropped (curvecp_zmq_server_t *self);

/* How much work the calls did, for tests and tuning: each call keeps its
   connections in a timer heap and a list of those with input or sends,
   so it visits only the connections that are due or had something
   happen (O(work + log n)), never all of them. */
typedef struct {
    uint64_t calls;             /* service passes (recv, handle, timeout, flush, send waits) */
    uint64_t visits;            /* connections those calls (and recv/send) looked at */
    size_t heap;                /* connections in the timer heap now */
    uint64_t send_full;         /* sends refused EAGAIN: that client's queue was full */
    size_t pending_memory;      /* charged to unconfirmed connections now */
    uint64_t pending_memory_full;   /* new clients refused [full] for the pending budget */
    uint64_t hellos;            /* Hellos answered with a Cookie */
    uint64_t hellos_dropped;    /* dropped from the full Hello queue [overloaded] */
    size_t hellos_waiting;      /* queued, not yet answered */
    size_t send_kept;           /* queued-send mode: messages kept now */
    size_t send_kept_bytes;     /* ... and their bytes */
    uint64_t send_dropped;      /* kept messages dropped: their connection ended */
    uint64_t send_refused;      /* sends refused ENOBUFS: over the queued-send bound */
} curvecp_zmq_server_info_t;
CURVECP_EXPORT const curvecp_zmq_server_info_t *curvecp_zmq_server_info (curvecp_zmq_server_t *self);

/* ØMQ messages dropped whole because they were not [routing id][one
   packet frame]; each is also counted in stats as too-short (no packet
   frame) or too-long (more than one frame after the routing id). */
CURVECP_EXPORT uint64_t curvecp_zmq_server_bad_envelopes (curvecp_zmq_server_t *self);

CURVECP_END_DECLS

#endif
