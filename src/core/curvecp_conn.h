/*  curvecp_conn.h - one CurveCP connection, either role, with no I/O.

    The connection is the one place that decides for a peer: it owns the
    client handshake (Hello schedule, Cookie, Initiates), the session
    (packet crypto, nonces), the message layer (curvecp_stream) and every
    timer that can end or restart it: the handshake timeout, the client's
    re-handshake after server silence, the idle timeout, the message
    layer's give-up, the client's ping and probe, the keepalive, the
    linger after close.
    Both carriers wrap it: the ØMQ codec adds application framing and the
    zmsg queue, the UDP connection adds addresses and roaming. So the
    failure rules (rfc/curvecp.md 7.4) are written once, here.

    Bytes and now (monotonic ns) go in; packets and the next deadline come
    out:
        curvecp_conn_input    a packet that arrived for this connection
        curvecp_conn_output   the next packet to send (call until it
                              returns 0), after running due timers
        curvecp_conn_deadline when output wants to run again

    Two server starts: from a session the listener made out of a valid
    Initiate (curvecp_conn_new_accepted), or self-accepting with a shared
    curvecp_hs_server_t for carriers that give each peer its own channel
    (curvecp_conn_new_server: answers Hellos, takes one Initiate).

    Two modes, fixed at creation: stream mode (our message layer, a byte
    stream each way) and message mode (raw CurveCP messages M to a
    callback and sealed one per packet: NaCl's fd 8/9 handler interface). */
#ifndef CURVECP_CONN_H_INCLUDED
#define CURVECP_CONN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_hs_server.h"
#include "curvecp_keys.h"
#include "curvecp_nonce16.h"
#include "curvecp_reason.h"
#include "curvecp_session.h"
#include "curvecp_stream.h"

typedef struct _curvecp_conn_t curvecp_conn_t;

typedef enum {
    CURVECP_CONN_HANDSHAKE,       /* client: until the server's first Message;
                                     self-accepting server: until the Initiate */
    CURVECP_CONN_OPEN,            /* session up both ways */
    CURVECP_CONN_FAILED           /* see curvecp_conn_failure */
} curvecp_conn_state_t;

typedef enum {
    CURVECP_CONN_OK = 0,
    CURVECP_CONN_HANDSHAKE_TIMEOUT,   /* client: no Cookie (Hello schedule spent or
                                         handshake timeout), or no server Message in time */
    CURVECP_CONN_PEER_SILENT,         /* the message layer gave up on the peer */
    CURVECP_CONN_IDLE,                /* nothing heard for idle_timeout */
    CURVECP_CONN_DENIED,              /* self-accepting server: the authoriser refused */
    CURVECP_CONN_PROTOCOL,            /* the wrapper found the peer broke its framing */
    CURVECP_CONN_CLOSED               /* closed by the application */
} curvecp_conn_failure_t;

/* Message mode: one message M arrived. */
typedef void (curvecp_conn_message_fn) (void *arg, const uint8_t *message, size_t len);

/* Self-accepting server: may this client have a session? */
typedef bool (curvecp_conn_authorize_fn) (void *arg, const uint8_t client_key[CURVECP_KEY_BYTES],
        const char *server_name);

typedef struct {
    curvecp_stream_config_t stream;   /* message layer (is_client and now are set here);
                                         its rng is the connection's for everything:
                                         keys, nonces, jitter (NULL: the system's) */
    curvecp_conn_message_fn *on_message;  /* set: message mode, no stream */
    void *on_message_arg;
    uint64_t handshake_timeout_ns;    /* client: fail a handshake not done by then
                                         (0: the Hello schedule alone decides) */
    uint64_t silence_timeout_ns;      /* client: 0 = a give-up fails the connection;
                                         else re-handshake after this much server silence
                                         with data outstanding, or at a give-up */
    uint64_t idle_timeout_ns;         /* fail after this long with nothing heard (0: never) */
    uint64_t confirm_timeout_ns;      /* server: fail if no Client Message has come this
                                         long after the Initiate (0: never) */
    uint64_t linger_ns;               /* after close, once done: answer retransmissions */
    bool ping;                        /* client, stream mode: a zero message until the
                                         stream sends a block or the server speaks */
    uint64_t keepalive_ns;            /* stream mode, established: a zero message after
                                         this long with no packet out, and again every
                                         keepalive_ns while idle, until the peer's EOF,
                                         close or failure; keeps a NAT's mapping
                                         (0: off, the default) */
} curvecp_conn_config_t;

/* NaCl-like defaults: stream defaults, no timeouts, 2 s linger, ping,
   no keepalive. */
void curvecp_conn_config_default (curvecp_conn_config_t *config);

/* Client towards server_pk / server_name (dotted). long_term NULL: a fresh
   key. Extensions NULL: zero. NULL on a bad name or no memory. */
curvecp_conn_t *curvecp_conn_new_client (const curvecp_conn_config_t *config,
        const curvecp_keypair_t *long_term, const uint8_t server_pk[CURVECP_KEY_BYTES],
        const char *server_name, const uint8_t server_ext[CURVECP_EXT_BYTES],
        const uint8_t client_ext[CURVECP_EXT_BYTES], uint64_t now);

/* Server from a session a valid Initiate made (copied; the caller wipes
   its own). Hand the Initiate's first message to curvecp_conn_deliver. */
curvecp_conn_t *curvecp_conn_new_accepted (const curvecp_conn_config_t *config,
        const curvecp_session_t *session, uint64_t now);

/* Self-accepting server sharing handshake (not owned; must outlive it). */
curvecp_conn_t *curvecp_conn_new_server (const curvecp_conn_config_t *config,
        curvecp_hs_server_t *handshake, uint64_t now);

/* Self-accepting server with a handshake of its own for keys, our
   extension (NULL: zero) and names (NULL-terminated dotted names). */
curvecp_conn_t *curvecp_conn_new_server_alone (const curvecp_conn_config_t *config,
        const curvecp_keypair_t *keys, const uint8_t server_ext[CURVECP_EXT_BYTES],
        const char *const *names, uint64_t now);

/* Wipe secrets, free, set *self_p to NULL. */
void curvecp_conn_destroy (curvecp_conn_t **self_p);

/* Self-accepting server: consult fn before a client gets a session. */
void curvecp_conn_set_authorizer (curvecp_conn_t *self, curvecp_conn_authorize_fn *fn, void *arg);

/* Client: where vouch nonces come from; the client extension of the
   next Hellos (re-read from a file). Kept across re-handshakes. */
void curvecp_conn_set_nonce16 (curvecp_conn_t *self, curvecp_nonce16_fn fn, void *context);
void curvecp_conn_set_client_ext (curvecp_conn_t *self, const uint8_t client_ext[CURVECP_EXT_BYTES]);

/* ---- packets ---------------------------------------------------------- */

/* A packet for this connection. Anything not valid here and now is
   refused with its reason, counted, and changes nothing. Message packets
   up to the session's message maximum (large once enabled) are taken. */
curvecp_reason_t curvecp_conn_input (curvecp_conn_t *self, const uint8_t *packet, size_t len, uint64_t now);

/* Give the connection a message that came some other way: the first
   message inside the Initiate that made an accepted connection. */
void curvecp_conn_deliver (curvecp_conn_t *self, const uint8_t *message, size_t len, uint64_t now);

/* Run due timers, then write the next packet due at now into out (cap >=
   CURVECP_PACKET_MAX; larger packets only when large messages are on and
   cap allows). Returns its length, 0 when nothing (more) is due. */
size_t curvecp_conn_output (curvecp_conn_t *self, uint64_t now, uint8_t *out, size_t cap);

/* Run due timers only (fail, re-handshake, linger). */
void curvecp_conn_tick (curvecp_conn_t *self, uint64_t now);

/* When output next wants to run: UINT64_MAX never; may be <= now. */
uint64_t curvecp_conn_deadline (const curvecp_conn_t *self);

/* Client: which Hello attempt (0..7) the last Hello packet output was,
   so a carrier can pick its address; -1 before any. */
int curvecp_conn_hello_attempt (const curvecp_conn_t *self);

/* Client: the handshake has failed by now (Hello schedule spent with no
   Cookie, or the handshake timeout), even if no tick has run since. */
bool curvecp_conn_handshake_failed (const curvecp_conn_t *self, uint64_t now);

/* Client: a Hello is due at now (a carrier may refresh the extension). */
bool curvecp_conn_hello_due (const curvecp_conn_t *self, uint64_t now);

/* Message mode: seal one message (multiple of 16, 16..1088; a client
   before the server's first Message 16..640) into out. */
curvecp_reason_t curvecp_conn_seal_message (curvecp_conn_t *self, const uint8_t *message, size_t len,
        uint8_t *out, size_t *out_len);

/* Stream mode, client moved to a new socket: announce it with zero
   messages (repeated with back-off) until a packet arrives. */
void curvecp_conn_probe (curvecp_conn_t *self, uint64_t now);

/* Large messages (only between our peers on an ordered carrier, after
   they agreed): open and seal Messages of up to CURVECP_LARGE_MSG_MAX;
   blocks of up to block_max bytes (0 leaves the block size alone). */
curvecp_reason_t curvecp_conn_enable_large (curvecp_conn_t *self);
curvecp_reason_t curvecp_conn_set_block_max (curvecp_conn_t *self, size_t block_max);

/* ---- the byte stream (stream mode) ---------------------------------- */

/* Queue up to len bytes; how many were taken (0: full, shut, no session). */
size_t curvecp_conn_write (curvecp_conn_t *self, const uint8_t *data, size_t len);

/* Take up to cap received bytes. */
size_t curvecp_conn_read (curvecp_conn_t *self, uint8_t *buf, size_t cap);

size_t curvecp_conn_readable (const curvecp_conn_t *self);

/* In place (curvecp_stream_peek / _reserve / _commit): received bytes
   lying contiguous (consume them with curvecp_conn_read (self, NULL, n)),
   and free send space lying contiguous, queued by commit. */
size_t curvecp_conn_peek (const curvecp_conn_t *self, const uint8_t **data);
size_t curvecp_conn_reserve (curvecp_conn_t *self, uint8_t **space);
void curvecp_conn_commit (curvecp_conn_t *self, size_t len);
size_t curvecp_conn_send_space (const curvecp_conn_t *self);
size_t curvecp_conn_send_buffer (const curvecp_conn_t *self);

/* End our direction (success or failure EOF). WRONG_STATE if shut. */
curvecp_reason_t curvecp_conn_shutdown (curvecp_conn_t *self, curvecp_eof_t eof);

/* The peer's EOF, once every byte before it is read. */
curvecp_eof_t curvecp_conn_received_eof (const curvecp_conn_t *self);

/* Everything we sent (and our EOF) is acknowledged. */
bool curvecp_conn_all_acked (const curvecp_conn_t *self);

/* Both directions finished. */
bool curvecp_conn_done (const curvecp_conn_t *self);

/* ---- ending ------------------------------------------------------------ */

/* The application is done with it: stream mode sends a success EOF if
   not shut yet and keeps going until everything is acknowledged, then
   lingers; message mode ends at once. See curvecp_conn_finished. */
void curvecp_conn_close (curvecp_conn_t *self);

/* Fail it now with this failure and a reason in words. */
void curvecp_conn_fail (curvecp_conn_t *self, curvecp_conn_failure_t failure, const char *why);

/* The owner may free it: failed, or closed and done and lingered. */
bool curvecp_conn_finished (const curvecp_conn_t *self);

/* ---- state ------------------------------------------------------------- */

curvecp_conn_state_t curvecp_conn_state (const curvecp_conn_t *self);
curvecp_conn_failure_t curvecp_conn_failure (const curvecp_conn_t *self);
const char *curvecp_conn_error (const curvecp_conn_t *self);
const char *curvecp_conn_failure_name (curvecp_conn_failure_t failure);

bool curvecp_conn_is_client (const curvecp_conn_t *self);

/* A session exists (client: Cookie in; server: Initiate in). */
bool curvecp_conn_has_session (const curvecp_conn_t *self);

/* Client: the server has spoken. Server: always once it has a session. */
bool curvecp_conn_established (const curvecp_conn_t *self);

/* Counts re-handshakes; a wrapper that keeps data across them (the ØMQ
   codec re-queues unacknowledged messages) watches it change. */
uint64_t curvecp_conn_generation (const curvecp_conn_t *self);

/* Peer's long-term key (server's, or the authenticated client's), C',
   the client extension, the server name (dotted), the name index. */
const uint8_t *curvecp_conn_peer_key (const curvecp_conn_t *self);
/* The client's long-term key in either role (ours at a client). */
const uint8_t *curvecp_conn_client_key (const curvecp_conn_t *self);
const uint8_t *curvecp_conn_client_short_key (const curvecp_conn_t *self);
const uint8_t *curvecp_conn_client_ext (const curvecp_conn_t *self);
const char *curvecp_conn_server_name (const curvecp_conn_t *self);
int curvecp_conn_name_index (const curvecp_conn_t *self);
void curvecp_conn_set_name_index (curvecp_conn_t *self, int index);

/* The session's largest message (CURVECP_MSG_MAX unless large). */
size_t curvecp_conn_message_max (const curvecp_conn_t *self);

/* Is a server packet for this connection's C'? */
bool curvecp_conn_matches (const curvecp_conn_t *self, const uint8_t *packet, size_t len);

typedef struct {
    uint64_t packets_in;          /* authentic packets opened */
    uint64_t packets_out;         /* packets output */
    uint64_t seal_errors;         /* messages that could not be sealed */
    uint64_t rehandshakes;        /* client: handshakes redone */
    uint64_t keepalives;          /* of packets_out: keepalive zero messages */
} curvecp_conn_info_t;

const curvecp_conn_info_t *curvecp_conn_info (const curvecp_conn_t *self);

/* Per-reason counts of every packet given to input. */
const curvecp_stats_t *curvecp_conn_stats (const curvecp_conn_t *self);

/* The session, read-only (tests that check secrets are wiped use it). */
const curvecp_session_t *curvecp_conn_session (const curvecp_conn_t *self);

/* The message layer (stream mode, once a session exists), read-only. */
const curvecp_stream_t *curvecp_conn_stream (const curvecp_conn_t *self);

#endif
