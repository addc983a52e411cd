/*  curvecp_zmq_client.h - a CurveCP-secured ØMQ DEALER.

    Sends and receives whole zmsg_t to one curvecp_zmq_server over any ØMQ
    transport (tcp://, ipc://, inproc://), one CurveCP packet per ØMQ
    frame. The work happens in the caller's thread, inside these calls:
    there is no background thread, so a client that only sends must call
    curvecp_zmq_client_flush (or recv, or handle) for the last few small
    messages to leave, and destroy flushes for up to the linger time.

        curvecp_zmq_client_t *client = curvecp_zmq_client_new (&my_keys, server_key, "example.com");
        curvecp_zmq_client_connect (client, "tcp://127.0.0.1:9000");
        zmsg_t *msg = zmsg_new (); zmsg_addstr (msg, "hello");
        curvecp_zmq_client_send (client, &msg);
        zmsg_t *reply = curvecp_zmq_client_recv (client);

    With zpoller or zloop: poll curvecp_zmq_client_sock for input with the
    timeout from curvecp_zmq_client_timeout; on input or timeout call
    curvecp_zmq_client_handle, then take messages with curvecp_zmq_client_recv_nowait.

    Errors: a handshake that gets no answer (wrong server key, refused
    client key, no server) fails after handshake_timeout (default 10 s):
    recv/send return NULL/-1 and curvecp_zmq_client_error says why. The
    failure is sticky until curvecp_zmq_client_reconnect. If the server
    restarts, the client makes a new handshake by itself (see
    curvecp_zmq_codec.h) and nothing sent is lost.                           */
#ifndef CURVECP_ZMQ_CLIENT_H_INCLUDED
#define CURVECP_ZMQ_CLIENT_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "curvecp_export.h"
#include "curvecp_zmq_codec.h"
#include "curvecp_keys.h"
#include "curvecp_reason.h"

CURVECP_BEGIN_DECLS

typedef struct _curvecp_zmq_client_t curvecp_zmq_client_t;

/* New client with long-term keys (NULL: a fresh key pair) towards the
   server's long-term public key and name. NULL on a bad name. */
CURVECP_EXPORT curvecp_zmq_client_t *curvecp_zmq_client_new (const curvecp_keypair_t *keys,
        const uint8_t server_key[CURVECP_KEY_BYTES], const char *server_name);

/* The same with czmq certificates: our key pair from cert (NULL: a fresh
   one; a certificate without its secret key is refused) and the server's
   public key from server_cert. NULL on a bad name or certificate. */
CURVECP_EXPORT curvecp_zmq_client_t *curvecp_zmq_client_new_zcert (zcert_t *cert, zcert_t *server_cert,
        const char *server_name);

/* Wait up to the linger time (default 1000 ms) until the server has
   acknowledged every message sent, end the stream with an EOF (not
   waited for: the DEALER's ØMQ linger lets it leave; RFC 12.7), close,
   wipe, free; sets *self_p to NULL. Linger 0: no EOF, close at once. */
CURVECP_EXPORT void curvecp_zmq_client_destroy (curvecp_zmq_client_t **self_p);

/* Codec options (timeouts, limits); take effect at the next connect. */
CURVECP_EXPORT void curvecp_zmq_client_set_options (curvecp_zmq_client_t *self, const curvecp_zmq_codec_options_t *options);

/* Extensions (16 bytes each, NULL = zero); at the next connect. */
CURVECP_EXPORT void curvecp_zmq_client_set_extensions (curvecp_zmq_client_t *self, const uint8_t server_ext[CURVECP_EXT_BYTES],
        const uint8_t client_ext[CURVECP_EXT_BYTES]);

/* Timeouts in ms (-1 = forever, the default for recv; send default -1). */
CURVECP_EXPORT void curvecp_zmq_client_set_rcvtimeo (curvecp_zmq_client_t *self, int msecs);
CURVECP_EXPORT void curvecp_zmq_client_set_sndtimeo (curvecp_zmq_client_t *self, int msecs);
CURVECP_EXPORT void curvecp_zmq_client_set_linger (curvecp_zmq_client_t *self, int msecs);

/* Connect to a server endpoint and start the handshake. 0 or -1. */
CURVECP_EXPORT int curvecp_zmq_client_connect (curvecp_zmq_client_t *self, const char *endpoint);

/* Forget a failed (or any) connection and handshake again on the same
   endpoint; queued messages of the old one are dropped. 0 or -1. */
CURVECP_EXPORT int curvecp_zmq_client_reconnect (curvecp_zmq_client_t *self);

/* Send a whole message; takes ownership and nulls *msg_p on success.
   Blocks (up to sndtimeo) only while the send queue is full. -1 if the
   connection failed or timed out (message left with the caller). */
CURVECP_EXPORT int curvecp_zmq_client_send (curvecp_zmq_client_t *self, zmsg_t **msg_p);

/* Next whole message, waiting up to rcvtimeo. NULL on timeout or failure
   (curvecp_zmq_client_failed / curvecp_zmq_client_error tell which). */
CURVECP_EXPORT zmsg_t *curvecp_zmq_client_recv (curvecp_zmq_client_t *self);

/* A message already received, or NULL; never waits. */
CURVECP_EXPORT zmsg_t *curvecp_zmq_client_recv_nowait (curvecp_zmq_client_t *self);

/* Send everything queued now. 0, or -1 if the connection failed. */
CURVECP_EXPORT int curvecp_zmq_client_flush (curvecp_zmq_client_t *self);

/* Wait (up to timeout_ms, -1 forever) until everything sent has been
   acknowledged by the server. 0, or -1 on timeout or failure. */
CURVECP_EXPORT int curvecp_zmq_client_wait_acked (curvecp_zmq_client_t *self, int timeout_ms);

/* For zpoller / zloop: the DEALER socket to poll for input, the poll
   timeout in ms until the next deadline (-1 none), and the handler to
   call on input or timeout (never blocks; 0, or -1 once failed). */
CURVECP_EXPORT zsock_t *curvecp_zmq_client_sock (curvecp_zmq_client_t *self);
CURVECP_EXPORT int curvecp_zmq_client_timeout (curvecp_zmq_client_t *self);
CURVECP_EXPORT int curvecp_zmq_client_handle (curvecp_zmq_client_t *self);

/* A whole message for a zloop user: take *msg_p, or leave it to be
   destroyed. Return -1 to end the loop, else 0. */
typedef int (curvecp_zmq_client_message_fn) (curvecp_zmq_client_t *client, zmsg_t **msg_p, void *arg);

/* Run from loop: the DEALER as a reader (again after a reconnect) and one
   timer re-armed to the next deadline after every event, no periodic
   tick; every whole message that arrives goes to fn. Sends stay ordinary
   calls. One loop at a time; 0 or -1. */
CURVECP_EXPORT int curvecp_zmq_client_attach (curvecp_zmq_client_t *self, zloop_t *loop, curvecp_zmq_client_message_fn *fn,
        void *arg);

/* Take the client off its loop, before the loop is destroyed (the
   client's destroy does it too). */
CURVECP_EXPORT void curvecp_zmq_client_detach (curvecp_zmq_client_t *self);

/* The connection state, and why it failed. */
CURVECP_EXPORT bool curvecp_zmq_client_connected (curvecp_zmq_client_t *self);
CURVECP_EXPORT bool curvecp_zmq_client_failed (curvecp_zmq_client_t *self);
CURVECP_EXPORT curvecp_zmq_codec_failure_t curvecp_zmq_client_failure (curvecp_zmq_client_t *self);
CURVECP_EXPORT const char *curvecp_zmq_client_error (curvecp_zmq_client_t *self);

/* Our long-term public key. */
CURVECP_EXPORT const uint8_t *curvecp_zmq_client_public_key (curvecp_zmq_client_t *self);

/* The codec, for statistics (per-reason counts, re-handshakes). */
CURVECP_EXPORT const curvecp_zmq_codec_t *curvecp_zmq_client_codec (curvecp_zmq_client_t *self);

/* Packets ØMQ would not take (send high-water mark): the message layer
   sends them again. */
CURVECP_EXPORT uint64_t curvecp_zmq_client_dropped (curvecp_zmq_client_t *self);

/* ØMQ messages the client dropped before its codec saw them, per reason:
   too-long for a message of more than one frame (a packet is exactly one
   frame). Packets the codec refused are in curvecp_zmq_codec_stats. Kept
   across reconnects. */
CURVECP_EXPORT const curvecp_stats_t *curvecp_zmq_client_stats (curvecp_zmq_client_t *self);

CURVECP_END_DECLS

#endif
