/*  curvecp_zmq_pub.h - a secured ØMQ publisher: messages sealed once for
    every subscriber, with keys handed out over CurveCP sessions.

    The publisher owns two sockets: a curvecp_zmq_server (ROUTER, the
    existing carrier with its authorisation: allow-list and/or ZAP), the
    "key channel", and a plain PUB socket, the "data channel". A
    subscriber (curvecp_zmq_sub.h) opens a CurveCP session on the key
    channel and sends JOIN; the publisher answers with the keys of the
    current epoch for the channels (topic prefixes) it may read, and its
    Ed25519 signing public key (bound to the publisher's long-term
    CurveCP key, which the handshake authenticated). Messages go out on
    the PUB socket as [topic][batch]: the topic in clear (so ØMQ prefix
    filtering works), the batch sealed once with XChaCha20-Poly1305 under
    the channel's epoch key and signed with Ed25519, so no subscriber can
    forge what the others accept (rfc/curvecp.md, "Secured publish-
    subscribe").

        curvecp_zmq_pub_t *pub = curvecp_zmq_pub_new (&keys, "example.com");
        curvecp_zmq_pub_bind_keys (pub, "tcp://127.0.0.1:9000");
        curvecp_zmq_pub_bind_data (pub, "tcp://127.0.0.1:9001");
        ...
        curvecp_zmq_pub_send_str (pub, "weather.paris", "12 C");
        curvecp_zmq_pub_serve (pub, 10);    // or attach to a zloop

    Batching: messages of one topic are gathered into one batch (one
    seal, one signature) until it holds batch_bytes, or linger_ms after
    its first message, or curvecp_zmq_pub_flush; linger 0 seals every
    message as it is sent. Sequence numbers run per topic and epoch.

    Epochs: a new epoch (fresh keys) starts when a subscriber is revoked,
    when a subscriber's session ends, on curvecp_zmq_pub_rekey, and every
    epoch_interval. The new keys go to every remaining subscriber over its
    session; the publisher switches to them once all have acknowledged,
    or after switch_max_ms (default 500), whichever comes first, and
    seals nothing with the old keys after that.

    Work happens inside the calls (no background thread): call
    curvecp_zmq_pub_serve, or poll curvecp_zmq_pub_sock (and the ZAP
    socket of curvecp_zmq_pub_server, when ZAP is on) with
    curvecp_zmq_pub_timeout and call curvecp_zmq_pub_handle, or attach it
    to a zloop.                                                          */
#ifndef CURVECP_ZMQ_PUB_H_INCLUDED
#define CURVECP_ZMQ_PUB_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_export.h"
#include "curvecp_keys.h"
#include "curvecp_zmq_server.h"

CURVECP_BEGIN_DECLS

typedef struct _curvecp_zmq_pub_t curvecp_zmq_pub_t;

#define CURVECP_ZMQ_PUB_TOPIC_MAX        255     /* bytes in a topic (and a channel prefix) */
#define CURVECP_ZMQ_PUB_SIGN_PUBLIC_BYTES 32     /* Ed25519 public key */
#define CURVECP_ZMQ_PUB_SIGN_SECRET_BYTES 64     /* Ed25519 secret key (libsodium layout) */

/* New publisher with the key channel's long-term CurveCP keys and server
   name (as curvecp_zmq_server_new), a fresh Ed25519 signing key, and one
   channel "" (every topic). NULL on a bad name. */
CURVECP_EXPORT curvecp_zmq_pub_t *curvecp_zmq_pub_new (const curvecp_keypair_t *keys, const char *name);

/* The same with the key pair from a czmq certificate. */
CURVECP_EXPORT curvecp_zmq_pub_t *curvecp_zmq_pub_new_zcert (zcert_t *cert, const char *name);

/* Seal and send what is batched, tell every subscriber the publisher is
   going (DENY "closing"), close, wipe every key, free; *self_p = NULL. */
CURVECP_EXPORT void curvecp_zmq_pub_destroy (curvecp_zmq_pub_t **self_p);

/* The key channel's server: for its options, names, allow-list, ZAP,
   limits and statistics. Do not recv from it or attach it yourself. */
CURVECP_EXPORT curvecp_zmq_server_t *curvecp_zmq_pub_server (curvecp_zmq_pub_t *self);

/* The PUB socket, for socket options (send high-water mark...). */
CURVECP_EXPORT zsock_t *curvecp_zmq_pub_data_sock (curvecp_zmq_pub_t *self);

/* Bind the key channel (ROUTER) and the data channel (PUB); each returns
   the port for tcp://...:*, 0 for other endpoints, -1 on error. */
CURVECP_EXPORT int curvecp_zmq_pub_bind_keys (curvecp_zmq_pub_t *self, const char *endpoint);
CURVECP_EXPORT int curvecp_zmq_pub_bind_data (curvecp_zmq_pub_t *self, const char *endpoint);

/* Use this Ed25519 key pair (libsodium layout, 64-byte secret) to sign
   instead of the fresh one; only before the first subscriber joins.
   0, or -1 (unchanged) if one has, or the key pair is not a pair. */
CURVECP_EXPORT int curvecp_zmq_pub_set_signing_key (curvecp_zmq_pub_t *self,
        const uint8_t secret_key[CURVECP_ZMQ_PUB_SIGN_SECRET_BYTES]);

/* The Ed25519 public key the subscribers check signatures with. */
CURVECP_EXPORT const uint8_t *curvecp_zmq_pub_signing_key (curvecp_zmq_pub_t *self);

/* Channels: each is a topic prefix with its own key per epoch; a topic
   belongs to the longest channel prefix it starts with. The channel ""
   exists from the start (remove it to make topics outside every channel
   unpublishable). Changes take effect at the next epoch, which they
   start. 0, or -1 (prefix too long, or no such channel). */
CURVECP_EXPORT int curvecp_zmq_pub_add_channel (curvecp_zmq_pub_t *self, const char *prefix);
CURVECP_EXPORT int curvecp_zmq_pub_remove_channel (curvecp_zmq_pub_t *self, const char *prefix);

/* May this subscriber read this channel? client_key is its authenticated
   long-term key, user_id what ZAP said ("" without ZAP). Asked for each
   channel when it joins and at every epoch. */
typedef bool (curvecp_zmq_pub_permit_fn) (curvecp_zmq_pub_t *pub, const uint8_t client_key[CURVECP_KEY_BYTES],
        const char *user_id, const char *channel, void *arg);

/* Set the permission callback (NULL: every authorised subscriber reads
   every channel, the default). */
CURVECP_EXPORT void curvecp_zmq_pub_set_permit (curvecp_zmq_pub_t *self, curvecp_zmq_pub_permit_fn *fn, void *arg);

/* Permissions changed (the callback would answer differently now):
   start a new epoch, asking the callback again for every subscriber. */
CURVECP_EXPORT void curvecp_zmq_pub_permissions_changed (curvecp_zmq_pub_t *self);

/* Revoke a client key: its sessions get DENY "revoked" and no more keys,
   a later JOIN from it is refused, and a new epoch starts, so it opens
   nothing sealed after the switch. unrevoke lifts it (no new epoch).
   0, or -1 for unrevoke of a key not revoked. */
CURVECP_EXPORT int curvecp_zmq_pub_revoke (curvecp_zmq_pub_t *self, const uint8_t client_key[CURVECP_KEY_BYTES]);
CURVECP_EXPORT int curvecp_zmq_pub_unrevoke (curvecp_zmq_pub_t *self, const uint8_t client_key[CURVECP_KEY_BYTES]);
CURVECP_EXPORT bool curvecp_zmq_pub_revoked (curvecp_zmq_pub_t *self, const uint8_t client_key[CURVECP_KEY_BYTES]);

/* Start a new epoch now. */
CURVECP_EXPORT void curvecp_zmq_pub_rekey (curvecp_zmq_pub_t *self);

/* Rotate epochs every msecs (default 600000; 0: only on membership
   changes and rekey). */
CURVECP_EXPORT void curvecp_zmq_pub_set_epoch_interval (curvecp_zmq_pub_t *self, int msecs);

/* Longest wait for acknowledgments of new keys before switching (ms,
   default 500). */
CURVECP_EXPORT void curvecp_zmq_pub_set_switch_max (curvecp_zmq_pub_t *self, int msecs);

/* Batching: a batch is sealed when it holds max_bytes of messages
   (default 32768; at most 1 MiB) or linger_ms after its first message
   (default 2; 0: every message sealed at once, alone). The linger is
   kept by serve / handle / the zloop timer and by every send, so a
   publisher that stops sending must still serve (or flush). */
CURVECP_EXPORT void curvecp_zmq_pub_set_batch (curvecp_zmq_pub_t *self, size_t max_bytes, int linger_ms);

/* Publish a message on topic (a C string, at most TOPIC_MAX bytes): its
   frames (at least one) become the message body. Takes ownership and
   nulls *msg_p on success. -1 with errno EINVAL (topic too long, empty
   message, no channel holds the topic) leaving the message. A message
   is never refused for lack of subscribers; PUB drops at its high-water
   mark (subscribers see a gap). */
CURVECP_EXPORT int curvecp_zmq_pub_send (curvecp_zmq_pub_t *self, const char *topic, zmsg_t **msg_p);

/* The same for a one-frame body: bytes or a C string. */
CURVECP_EXPORT int curvecp_zmq_pub_send_mem (curvecp_zmq_pub_t *self, const char *topic, const void *data, size_t size);
CURVECP_EXPORT int curvecp_zmq_pub_send_str (curvecp_zmq_pub_t *self, const char *topic, const char *string);

/* Seal and send every batch now. */
CURVECP_EXPORT void curvecp_zmq_pub_flush (curvecp_zmq_pub_t *self);

/* Application requests over the key channel: a subscriber's
   curvecp_zmq_sub_request arrives here as its frames, from peer_id (the
   server's peer_key / peer_user_id functions name the sender during the
   call). Take *msg_p or leave it to be destroyed. 0, or -1 to end a loop. */
typedef int (curvecp_zmq_pub_request_fn) (curvecp_zmq_pub_t *pub, const char *peer_id, zmsg_t **msg_p, void *arg);

/* Set the request handler (NULL: requests are dropped and counted). */
CURVECP_EXPORT void curvecp_zmq_pub_set_request_fn (curvecp_zmq_pub_t *self, curvecp_zmq_pub_request_fn *fn, void *arg);

/* Send an application message over the key channel to one session
   (takes ownership on success; errors as curvecp_zmq_server_send), or
   to every joined subscriber (a copy each; returns how many took it). */
CURVECP_EXPORT int curvecp_zmq_pub_reply (curvecp_zmq_pub_t *self, const char *peer_id, zmsg_t **msg_p);
CURVECP_EXPORT int curvecp_zmq_pub_reply_all (curvecp_zmq_pub_t *self, zmsg_t *msg);

/* Serve the key channel (joins, acknowledgments, requests, session
   ends) and the timers (batches, epoch switch and rotation) for up to
   timeout_ms (0: what is there now, -1: forever). 0, or -1 if a request
   handler asked to stop. */
CURVECP_EXPORT int curvecp_zmq_pub_serve (curvecp_zmq_pub_t *self, int timeout_ms);

/* For zpoller / zloop: the ROUTER to poll for input, the timeout in ms
   until the next deadline (-1 none), and the handler for input or
   timeout (never blocks). */
CURVECP_EXPORT zsock_t *curvecp_zmq_pub_sock (curvecp_zmq_pub_t *self);
CURVECP_EXPORT int curvecp_zmq_pub_timeout (curvecp_zmq_pub_t *self);
CURVECP_EXPORT int curvecp_zmq_pub_handle (curvecp_zmq_pub_t *self);

/* Serve from a zloop: the key channel and one timer re-armed to the next
   deadline. One loop at a time; 0 or -1. */
CURVECP_EXPORT int curvecp_zmq_pub_attach (curvecp_zmq_pub_t *self, zloop_t *loop);
CURVECP_EXPORT void curvecp_zmq_pub_detach (curvecp_zmq_pub_t *self);

typedef struct {
    uint64_t epoch;             /* the epoch sealing now */
    uint64_t next_epoch;        /* the epoch being switched to (0: none) */
    size_t subscribers;         /* joined sessions holding keys now */
    size_t waiting_acks;        /* of those, not yet acknowledging next_epoch */
    uint64_t epochs;            /* epochs started (the first included) */
    uint64_t rekeys_revoke, rekeys_session_end, rekeys_timer, rekeys_asked;
    uint64_t switches_by_timeout;   /* switched before every acknowledgment */
    uint64_t last_switch_ns;    /* rekey start to switch, for the last one */
    uint64_t joins, denied, keys_sent, acks, requests;
    uint64_t bad_requests;      /* key-channel messages that are none of ours, or malformed */
    uint64_t messages, batches, bytes;  /* published: messages, PUB messages, their bytes */
    uint64_t unsent;            /* batches the PUB socket would not take */
} curvecp_zmq_pub_info_t;

/* Counters and state, for tests and monitoring. */
CURVECP_EXPORT const curvecp_zmq_pub_info_t *curvecp_zmq_pub_info (curvecp_zmq_pub_t *self);

CURVECP_END_DECLS

#endif
