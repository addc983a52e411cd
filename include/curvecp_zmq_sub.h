/*  curvecp_zmq_sub.h - a secured ØMQ subscriber to a curvecp_zmq_pub.

    The subscriber owns a curvecp_zmq_client (DEALER) with a CurveCP
    session to the publisher's key channel, and a SUB socket on its data
    channel. Over the session it sends JOIN and receives the epoch keys
    of the channels it may read, with the publisher's Ed25519 signing
    key; it acknowledges each new epoch. On the SUB socket it takes
    batches [topic][sealed], checks each (format, topic, epoch, key,
    sequence, signature, seal) and hands the application whole messages:
    [topic][body frames...], in order, each at most once.

        curvecp_zmq_sub_t *sub = curvecp_zmq_sub_new (&my_keys, pub_key, "example.com");
        curvecp_zmq_sub_connect (sub, "tcp://127.0.0.1:9000", "tcp://127.0.0.1:9001");
        curvecp_zmq_sub_subscribe (sub, "weather.");
        curvecp_zmq_sub_wait_keys (sub, 5000);
        zmsg_t *msg = curvecp_zmq_sub_recv (sub);      // [topic][body]
        uint64_t lost = curvecp_zmq_sub_gap (sub);     // lost just before it

    Everything refused is dropped, counted by reason, and changes nothing:
    malformed or truncated batches, a topic not subscribed or not under
    its channel, an epoch we hold no key for (older than the grace, or
    never given), a sequence number already delivered (duplicate or
    replay), a bad signature (forged), a seal that does not open.

    Work happens inside the calls (no background thread). For zpoller or
    zloop: poll curvecp_zmq_sub_key_sock and curvecp_zmq_sub_data_sock with
    curvecp_zmq_sub_timeout, call curvecp_zmq_sub_handle, then take
    messages with curvecp_zmq_sub_recv_nowait; or attach to a zloop.      */
#ifndef CURVECP_ZMQ_SUB_H_INCLUDED
#define CURVECP_ZMQ_SUB_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_export.h"
#include "curvecp_keys.h"
#include "curvecp_zmq_client.h"

CURVECP_BEGIN_DECLS

typedef struct _curvecp_zmq_sub_t curvecp_zmq_sub_t;

/* New subscriber with long-term keys (NULL: a fresh pair) towards the
   publisher's long-term CurveCP key and server name. NULL on a bad name. */
CURVECP_EXPORT curvecp_zmq_sub_t *curvecp_zmq_sub_new (const curvecp_keypair_t *keys,
        const uint8_t publisher_key[CURVECP_KEY_BYTES], const char *publisher_name);

/* The same with czmq certificates (ours with its secret key, NULL: fresh). */
CURVECP_EXPORT curvecp_zmq_sub_t *curvecp_zmq_sub_new_zcert (zcert_t *cert, zcert_t *publisher_cert,
        const char *publisher_name);

/* Close both sockets, wipe every key, free; *self_p = NULL. */
CURVECP_EXPORT void curvecp_zmq_sub_destroy (curvecp_zmq_sub_t **self_p);

/* The key channel's client (options, timeouts, statistics). Do not recv
   from it or attach it yourself. */
CURVECP_EXPORT curvecp_zmq_client_t *curvecp_zmq_sub_client (curvecp_zmq_sub_t *self);

/* Connect the key channel (and send JOIN) and the data channel. 0 or -1. */
CURVECP_EXPORT int curvecp_zmq_sub_connect (curvecp_zmq_sub_t *self, const char *key_endpoint, const char *data_endpoint);

/* ØMQ subscriptions on the SUB socket (prefix match on the clear topic;
   none at first: subscribe to "" for everything). 0 or -1. */
CURVECP_EXPORT int curvecp_zmq_sub_subscribe (curvecp_zmq_sub_t *self, const char *prefix);
CURVECP_EXPORT int curvecp_zmq_sub_unsubscribe (curvecp_zmq_sub_t *self, const char *prefix);

/* How long keys of an epoch stay usable after a newer epoch's keys came
   (ms, default 2000): messages sealed before the switch still open. */
CURVECP_EXPORT void curvecp_zmq_sub_set_grace (curvecp_zmq_sub_t *self, int msecs);

/* recv timeout in ms (-1 forever, the default). */
CURVECP_EXPORT void curvecp_zmq_sub_set_rcvtimeo (curvecp_zmq_sub_t *self, int msecs);

/* Wait up to timeout_ms (-1 forever) until we hold epoch keys (the
   publisher answered our JOIN). 0, or -1 on timeout, DENY, or a failed
   session. */
CURVECP_EXPORT int curvecp_zmq_sub_wait_keys (curvecp_zmq_sub_t *self, int timeout_ms);

/* Next whole message [topic][body frames...], waiting up to rcvtimeo.
   NULL on timeout, or once the session failed and nothing is left. */
CURVECP_EXPORT zmsg_t *curvecp_zmq_sub_recv (curvecp_zmq_sub_t *self);

/* A message already received and checked, or NULL; never waits. */
CURVECP_EXPORT zmsg_t *curvecp_zmq_sub_recv_nowait (curvecp_zmq_sub_t *self);

/* Messages of the last returned message's topic lost just before it
   (sequence numbers skipped: PUB dropped them, or they could not be
   opened); 0 normally. */
CURVECP_EXPORT uint64_t curvecp_zmq_sub_gap (curvecp_zmq_sub_t *self);

/* Sequence number and epoch of the last returned message. */
CURVECP_EXPORT uint64_t curvecp_zmq_sub_sequence (curvecp_zmq_sub_t *self);
CURVECP_EXPORT uint64_t curvecp_zmq_sub_epoch (curvecp_zmq_sub_t *self);

/* Application requests over the key channel (arrive at the publisher's
   request handler); takes ownership on success. 0 or -1. Replies (the
   publisher's curvecp_zmq_pub_reply) are taken with reply_nowait, or in
   a loop from the attach callback's reply argument. */
CURVECP_EXPORT int curvecp_zmq_sub_request (curvecp_zmq_sub_t *self, zmsg_t **msg_p);
CURVECP_EXPORT zmsg_t *curvecp_zmq_sub_reply_nowait (curvecp_zmq_sub_t *self);

/* For zpoller / zloop: the DEALER (key channel) and the SUB socket (data
   channel) to poll for input, the timeout in ms until the next deadline
   (-1 none), and the handler on input or timeout (never blocks; 0, or -1
   once the session failed). */
CURVECP_EXPORT zsock_t *curvecp_zmq_sub_key_sock (curvecp_zmq_sub_t *self);
CURVECP_EXPORT zsock_t *curvecp_zmq_sub_data_sock (curvecp_zmq_sub_t *self);
CURVECP_EXPORT int curvecp_zmq_sub_timeout (curvecp_zmq_sub_t *self);
CURVECP_EXPORT int curvecp_zmq_sub_handle (curvecp_zmq_sub_t *self);

/* For a zloop user: a whole message (*msg_p: take it or leave it to be
   destroyed) with the count lost just before it; or, with is_reply, an
   application reply from the publisher. Return -1 to end the loop. */
typedef int (curvecp_zmq_sub_message_fn) (curvecp_zmq_sub_t *sub, zmsg_t **msg_p, uint64_t gap, bool is_reply, void *arg);

/* Serve from a zloop: both sockets as readers and one timer. 0 or -1. */
CURVECP_EXPORT int curvecp_zmq_sub_attach (curvecp_zmq_sub_t *self, zloop_t *loop, curvecp_zmq_sub_message_fn *fn, void *arg);
CURVECP_EXPORT void curvecp_zmq_sub_detach (curvecp_zmq_sub_t *self);

/* State: do we hold keys, were we denied (and why), the newest epoch we
   hold keys for, how many channels in it. */
CURVECP_EXPORT bool curvecp_zmq_sub_has_keys (curvecp_zmq_sub_t *self);
CURVECP_EXPORT bool curvecp_zmq_sub_denied (curvecp_zmq_sub_t *self);
CURVECP_EXPORT const char *curvecp_zmq_sub_deny_reason (curvecp_zmq_sub_t *self);
CURVECP_EXPORT uint64_t curvecp_zmq_sub_key_epoch (curvecp_zmq_sub_t *self);
CURVECP_EXPORT size_t curvecp_zmq_sub_channels (curvecp_zmq_sub_t *self);

/* The publisher's Ed25519 signing key (NULL before the first KEYS). */
CURVECP_EXPORT const uint8_t *curvecp_zmq_sub_signing_key (curvecp_zmq_sub_t *self);

typedef struct {
    uint64_t delivered;         /* messages handed to the application */
    uint64_t batches;           /* batches accepted */
    uint64_t lost;              /* sum of every gap */
    /* batches refused, by reason */
    uint64_t malformed;         /* not [topic][batch], too short, bad version or lengths (truncated) */
    uint64_t wrong_topic;       /* topic not subscribed, or shorter than its channel prefix */
    uint64_t no_key;            /* epoch or channel we hold no key for (out of epoch, not permitted) */
    uint64_t replayed;          /* sequence numbers already delivered (duplicates, replays) */
    uint64_t forged;            /* signature does not verify */
    uint64_t unsealed;          /* signature good but the seal does not open, or its contents are bad */
    /* key channel */
    uint64_t keys;              /* KEYS accepted */
    uint64_t bad_keys;          /* key-channel messages refused (malformed, epoch not newer) */
    uint64_t replies;           /* application replies received */
} curvecp_zmq_sub_stats_t;

CURVECP_EXPORT const curvecp_zmq_sub_stats_t *curvecp_zmq_sub_stats (curvecp_zmq_sub_t *self);

CURVECP_END_DECLS

#endif
