/*  curvecp_zmq_codec.h - CurveCP as a blob-exchanging codec (SASL-like).

    One codec is one end of one CurveCP connection, with no I/O of its own:
    the carrier hands it each blob that arrived (execute) and sends every
    blob it produces (output), and passes the time (monotonic ns) in every
    call. Blobs are exactly CurveCP packets - Hello, Cookie, Initiate,
    Server and Client Message - the same bytes the UDP carrier sends; the
    ØMQ carrier puts one blob in one frame.

    Until the handshake is done, execute/output exchange handshake blobs.
    Then whole ØMQ messages (zmsg_t) given to send travel on the message
    layer (curvecp_stream, WINDOW pacing: the carrier is ordered) with the
    framing of curvecp_appframe.h, and recv returns whole messages as they
    arrive. Acknowledgments, retransmission (a ROUTER drops at its
    high-water mark) and flow control all apply.

    Small messages are coalesced as TCP's Nagle rule does: queued bytes go
    into the stream at once when nothing is in flight, otherwise only when
    a full block (1024 bytes, or the negotiated large block) is ready, or
    at curvecp_zmq_codec_flush.

    Between two of our codecs (both options on by default; the UDP
    carrier's bytes otherwise):
      - Large blocks (ZCCP greeting option 0x01, CURVECP_ZMQ_CODEC_OPTION_LARGE).
        A codec offers them in its greeting when options.block_max is above
        1024, its window holds two such blocks, and its carrier gave output
        a buffer of at least CURVECP_ZMQ_CODEC_BLOB_MAX for the call that sends
        the greeting: that is how a carrier declares that it also hands
        execute blobs of that size (a ØMQ server classifies them with
        curvecp_packet_classify_at_server_max, CURVECP_LARGE_MSG_MAX). From
        the offer on, the codec opens messages of up to CURVECP_LARGE_MSG_MAX;
        once it has read the peer's greeting with the same bit it sends
        blocks of up to block_max bytes (as large as output's cap allows).
        The client offers; the server offers only in answer to a client
        greeting that offered (the greeting rides in the Initiate), so
        peers that know no options get a server greeting with options 0.
        A peer that does not offer (older codec, block_max <= 1024, a
        carrier with CURVECP_PACKET_MAX buffers) gets NaCl's blocks and
        packets both ways: the option is in force only if both greetings
        carry it (rfc 12.6).
      - Wide window: the stream's window tag (curvecp_message.h). With a
        window above 128 KiB our receiver announces it in every message,
        and our sender keeps up to min(peer's, ours) bytes in flight if the
        peer announced one; else 128 KiB. window 131072 turns it off.

    Client: if the server stays silent for silence_timeout with data
    outstanding (it restarted and forgot us), the codec makes a new
    handshake by itself and re-queues every message not yet acknowledged,
    so nothing the application sent is lost (a message the old server
    received but did not acknowledge may arrive twice). A handshake that
    gets no answer within handshake_timeout fails the codec with
    CURVECP_ZMQ_CODEC_HANDSHAKE_TIMEOUT (wrong server key, or no server).

    Server: a codec either owns its handshake object or shares one (many
    peers, one minute key); an optional authoriser sees each new client's
    long-term key and server name and may refuse it (no session is made). */
#ifndef CURVECP_ZMQ_CODEC_H_INCLUDED
#define CURVECP_ZMQ_CODEC_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"
#include "curvecp_export.h"
#include "curvecp_keys.h"
#include "curvecp_reason.h"

CURVECP_BEGIN_DECLS

typedef struct _curvecp_zmq_codec_t curvecp_zmq_codec_t;

typedef enum {
    CURVECP_ZMQ_CODEC_HANDSHAKE,      /* exchanging handshake blobs */
    CURVECP_ZMQ_CODEC_CONNECTED,      /* session up: messages flow */
    CURVECP_ZMQ_CODEC_FAILED          /* see curvecp_zmq_codec_failure */
} curvecp_zmq_codec_state_t;

typedef enum {
    CURVECP_ZMQ_CODEC_OK = 0,
    CURVECP_ZMQ_CODEC_HANDSHAKE_TIMEOUT,  /* no Cookie or no server Message in time */
    CURVECP_ZMQ_CODEC_PEER_SILENT,        /* the message layer gave up on the peer */
    CURVECP_ZMQ_CODEC_IDLE,               /* server: nothing from the client for idle_timeout */
    CURVECP_ZMQ_CODEC_DENIED,             /* server: the authoriser refused the client */
    CURVECP_ZMQ_CODEC_PROTOCOL,           /* the peer broke the message framing */
    CURVECP_ZMQ_CODEC_CLOSED              /* closed by the application */
} curvecp_zmq_codec_failure_t;

typedef struct {
    uint64_t handshake_timeout_ns;    /* client: fail a handshake after this (default 10 s) */
    uint64_t silence_timeout_ns;      /* client: re-handshake after this much server
                                         silence with data outstanding (default 5 s) */
    uint64_t idle_timeout_ns;         /* server: drop a client silent this long (default 600 s) */
    size_t max_message;               /* largest incoming message (default 256 MiB) */
    size_t max_frames;                /* most frames in one message (default 4096) */
    size_t send_queue;                /* bytes send may queue beyond the stream (default 4 MiB) */
    size_t window;                    /* message-layer send buffer and receive window (default
                                         1 MiB; announced to the peer when above 128 KiB) */
    size_t block_max;                 /* largest block we send once large blocks are negotiated
                                         (default 65536; <= 1024: never offer them) */
} curvecp_zmq_codec_options_t;

/* Greeting option bits (rfc 12.6) and the largest blob a codec may
   produce or must be able to take once large blocks are negotiated. */
#define CURVECP_ZMQ_CODEC_OPTION_LARGE 0x01
#define CURVECP_ZMQ_CODEC_BLOB_MAX (CURVECP_LARGE_MSG_MAX + CURVECP_CLIENT_MSG_BASE)

/* Says whether a client that completed the handshake may have a session. */
typedef bool (curvecp_zmq_codec_authorize_fn) (void *arg, const uint8_t client_key[CURVECP_KEY_BYTES],
        const char *server_name);

typedef struct {
    uint64_t blobs_in, blobs_out;     /* handshake and message blobs */
    uint64_t messages_in, messages_out;   /* whole application messages */
    uint64_t rehandshakes;            /* client: handshakes redone after server silence */
    uint64_t requeued;                /* client: messages sent again after a re-handshake */
} curvecp_zmq_codec_info_t;

/* Fill options with the defaults above. */
CURVECP_EXPORT void curvecp_zmq_codec_options_default (curvecp_zmq_codec_options_t *options);

/* Client codec towards server_pk / server_name (dotted). keys NULL: a
   fresh long-term key. Extensions NULL: zero. options NULL: defaults.
   NULL on a bad name. */
CURVECP_EXPORT curvecp_zmq_codec_t *curvecp_zmq_codec_new_client (const curvecp_keypair_t *keys,
        const uint8_t server_pk[CURVECP_KEY_BYTES], const char *server_name,
        const uint8_t server_ext[CURVECP_EXT_BYTES], const uint8_t client_ext[CURVECP_EXT_BYTES],
        const curvecp_zmq_codec_options_t *options, uint64_t now);

/* Server codec with its own handshake object, accepting the given names
   (NULL-terminated list of dotted names). */
CURVECP_EXPORT curvecp_zmq_codec_t *curvecp_zmq_codec_new_server (const curvecp_keypair_t *keys,
        const uint8_t server_ext[CURVECP_EXT_BYTES], const char *const *names,
        const curvecp_zmq_codec_options_t *options, uint64_t now);

/* Wipe secrets, free queued messages, and set *self_p to NULL. */
CURVECP_EXPORT void curvecp_zmq_codec_destroy (curvecp_zmq_codec_t **self_p);

/* Server: consult fn before any client gets a session. */
CURVECP_EXPORT void curvecp_zmq_codec_set_authorizer (curvecp_zmq_codec_t *self, curvecp_zmq_codec_authorize_fn *fn, void *arg);

/* ---- blobs ---------------------------------------------------------------- */

/* A blob arrived. Anything that is not a valid packet for this end in
   this state is refused with its reason, counted, and changes nothing. */
CURVECP_EXPORT curvecp_reason_t curvecp_zmq_codec_execute (curvecp_zmq_codec_t *self, const uint8_t *blob, size_t len,
        uint64_t now);

/* The next blob to send at now, written to out (cap >= CURVECP_PACKET_MAX);
   returns its length, 0 when there is nothing (more) to send. */
CURVECP_EXPORT size_t curvecp_zmq_codec_output (curvecp_zmq_codec_t *self, uint64_t now, uint8_t *out, size_t cap);

/* The largest blob output can write now: CURVECP_PACKET_MAX until large
   blocks are negotiated, then CURVECP_ZMQ_CODEC_BLOB_MAX. output writes
   smaller blocks into a smaller buffer (>= CURVECP_PACKET_MAX). */
CURVECP_EXPORT size_t curvecp_zmq_codec_output_max (const curvecp_zmq_codec_t *self);

/* Options in force (CURVECP_ZMQ_CODEC_OPTION_* bits both greetings carried),
   and those we offered (0 before our greeting went out). */
CURVECP_EXPORT uint8_t curvecp_zmq_codec_options_agreed (const curvecp_zmq_codec_t *self);
CURVECP_EXPORT uint8_t curvecp_zmq_codec_options_offered (const curvecp_zmq_codec_t *self);

/* When output (or the timers) next want to run: UINT64_MAX for never;
   may be <= now (then call output now). */
CURVECP_EXPORT uint64_t curvecp_zmq_codec_deadline (curvecp_zmq_codec_t *self);

/* ---- application messages ------------------------------------------------- */

/* Queue a whole message (one or more frames). Takes ownership and sets
   *msg_p to NULL on success; returns -1 and leaves the message with the
   caller when the codec failed or the send queue is full. Allowed during
   the handshake (the message waits). */
CURVECP_EXPORT int curvecp_zmq_codec_send (curvecp_zmq_codec_t *self, zmsg_t **msg_p);

/* Put every queued byte into the stream at the next output. */
CURVECP_EXPORT void curvecp_zmq_codec_flush (curvecp_zmq_codec_t *self);

/* The next whole message that arrived, or NULL. */
CURVECP_EXPORT zmsg_t *curvecp_zmq_codec_recv (curvecp_zmq_codec_t *self);

/* Is a whole message ready for recv? (may pull bytes from the stream) */
CURVECP_EXPORT bool curvecp_zmq_codec_readable (curvecp_zmq_codec_t *self);

/* May send take another message now? */
CURVECP_EXPORT bool curvecp_zmq_codec_writable (const curvecp_zmq_codec_t *self);

/* Would output put queued bytes into the stream now (Nagle rule met, or
   a flush)? Cheap: carriers ask after every send. */
CURVECP_EXPORT bool curvecp_zmq_codec_ready_to_write (const curvecp_zmq_codec_t *self);

/* Nothing queued and everything sent is acknowledged. */
CURVECP_EXPORT bool curvecp_zmq_codec_idle (const curvecp_zmq_codec_t *self);

/* ---- state ---------------------------------------------------------------- */

CURVECP_EXPORT curvecp_zmq_codec_state_t curvecp_zmq_codec_state (const curvecp_zmq_codec_t *self);
CURVECP_EXPORT curvecp_zmq_codec_failure_t curvecp_zmq_codec_failure (const curvecp_zmq_codec_t *self);

/* Why the codec failed, in words; "" if it did not. */
CURVECP_EXPORT const char *curvecp_zmq_codec_error (const curvecp_zmq_codec_t *self);

/* End our side gracefully: once every queued message is in the stream,
   the stream ends with a success EOF (curvecp_stream_close). Further
   sends are refused. curvecp_zmq_codec_idle says when the peer has it all. */
CURVECP_EXPORT void curvecp_zmq_codec_shutdown (curvecp_zmq_codec_t *self);

/* The peer ended its side (EOF received and every message before it read). */
CURVECP_EXPORT bool curvecp_zmq_codec_peer_closed (curvecp_zmq_codec_t *self);

/* Fail the codec by hand (CURVECP_ZMQ_CODEC_CLOSED). */
CURVECP_EXPORT void curvecp_zmq_codec_close (curvecp_zmq_codec_t *self);

/* Short name of a failure, such as "handshake-timeout". */
CURVECP_EXPORT const char *curvecp_zmq_codec_failure_name (curvecp_zmq_codec_failure_t failure);

/* The peer's long-term key: server for a client codec, the authenticated
   client for a server codec (zero until known). */
CURVECP_EXPORT const uint8_t *curvecp_zmq_codec_peer_key (const curvecp_zmq_codec_t *self);

/* Our short-term key (client) or the client's (server, once known): C'
   names the connection. */
CURVECP_EXPORT const uint8_t *curvecp_zmq_codec_client_short_key (const curvecp_zmq_codec_t *self);

/* The server name of this connection (dotted). */
CURVECP_EXPORT const char *curvecp_zmq_codec_server_name (const curvecp_zmq_codec_t *self);

/* Per-reason counts of blobs in (counts[CURVECP_OK] = accepted), and
   running totals. */
CURVECP_EXPORT const curvecp_stats_t *curvecp_zmq_codec_stats (const curvecp_zmq_codec_t *self);
CURVECP_EXPORT const curvecp_zmq_codec_info_t *curvecp_zmq_codec_info (const curvecp_zmq_codec_t *self);

/* Is a server packet for this codec's connection (same C')? */
CURVECP_EXPORT bool curvecp_zmq_codec_matches (const curvecp_zmq_codec_t *self, const uint8_t *blob, size_t len);

CURVECP_END_DECLS

#endif
