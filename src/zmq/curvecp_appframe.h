/*  curvecp_appframe.h - whole ØMQ messages on a CurveCP byte stream.

    The ØMQ carrier sends application messages (one or more frames, any
    size) on the message-layer stream, so many small messages share one
    CurveCP message and a large one spans many. rfc/curvecp.md section 12
    (12.5 and 12.6) is the reference; in short, each direction of the stream is

        greeting   8 bytes: "ZCCP" | version 0x01 | options | 0x00 0x00
        frames     flags (1 byte) | size | body

    flags: bit 0 MORE (another frame of the same message follows), bit 1
    LONG (size is 8 bytes big-endian, else 1 byte), bits 2..7 zero. A LONG
    size must be >= 256: every message has exactly one encoding.

    The decoder is a small state machine that fills frames in place (the
    caller reads stream bytes straight into the frame body it is shown).
    Memory follows the bytes that arrived, not the sizes headers announce:
    a body over 64 KiB is gathered in a buffer that doubles as it fills
    (so want() may offer less than the rest of the body) and gets its
    whole zframe only when half of it is there. It refuses malformed input with a
    reason and a one-line explanation, counts it, and then stays failed:
    a stream that broke its framing cannot be resynchronised.           */
#ifndef CURVECP_APPFRAME_H_INCLUDED
#define CURVECP_APPFRAME_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_reason.h"

#define CURVECP_APPFRAME_MORE          0x01
#define CURVECP_APPFRAME_LONG          0x02
#define CURVECP_APPFRAME_HEADER_MAX    9
#define CURVECP_APPFRAME_GREETING      8
#define CURVECP_APPFRAME_VERSION       1

/* Default limits of the decoder. */
#define CURVECP_APPFRAME_MESSAGE_MAX   (256u * 1024u * 1024u)   /* bytes in one message */
#define CURVECP_APPFRAME_FRAMES_MAX    4096                     /* frames in one message */

typedef struct _curvecp_appframe_t curvecp_appframe_t;

/* ---- encoding (pure functions) ----------------------------------------- */

/* Write the header of a frame of size bytes into out; returns its length
   (2 or 9). */
size_t curvecp_appframe_header (uint8_t out[CURVECP_APPFRAME_HEADER_MAX], size_t size, bool more);

/* Bytes a whole message takes on the stream (headers + bodies). */
size_t curvecp_appframe_encoded_size (zmsg_t *msg);

/* Write our greeting with the given option bits. */
void curvecp_appframe_greeting (uint8_t out[CURVECP_APPFRAME_GREETING], uint8_t options);

/* ---- decoding ----------------------------------------------------------- */

/* New decoder. expect_greeting: the stream starts with a greeting.
   max_message / max_frames: 0 for the defaults above. */
curvecp_appframe_t *curvecp_appframe_new (bool expect_greeting, size_t max_message, size_t max_frames);

/* Free any partial message and set *self_p to NULL. */
void curvecp_appframe_destroy (curvecp_appframe_t **self_p);

/* Where the next input bytes go and how many the decoder wants there
   (always > 0 unless it failed or a whole message waits to be taken). */
size_t curvecp_appframe_want (curvecp_appframe_t *self, uint8_t **dest);

/* n (<= want) bytes were written at dest. Checks every header as soon as
   it is whole; CURVECP_OK or the reason the stream is malformed. */
curvecp_reason_t curvecp_appframe_commit (curvecp_appframe_t *self, size_t n);

/* Convenience for callers holding bytes: copy in up to len bytes and stop
   after a whole message. *used says how many were taken. */
curvecp_reason_t curvecp_appframe_feed (curvecp_appframe_t *self, const uint8_t *data, size_t len,
        size_t *used);

/* The next whole message (caller owns it), or NULL. */
zmsg_t *curvecp_appframe_take (curvecp_appframe_t *self);

/* True once a whole message is waiting for take. */
bool curvecp_appframe_ready (const curvecp_appframe_t *self);

/* True once the greeting (if expected) has been read. */
bool curvecp_appframe_greeted (const curvecp_appframe_t *self);

/* The peer's option bits from its greeting (0 before). */
uint8_t curvecp_appframe_peer_options (const curvecp_appframe_t *self);

/* Failed: the reason (CURVECP_OK if not failed) and what exactly was
   wrong, e.g. "frame 3: reserved flag bits 0x80 set". */
curvecp_reason_t curvecp_appframe_failed (const curvecp_appframe_t *self);
const char *curvecp_appframe_error (const curvecp_appframe_t *self);

/* Bytes allocated for the message being assembled (its finished frames
   and the buffer of the frame being filled); 0 between messages. */
size_t curvecp_appframe_allocated (const curvecp_appframe_t *self);

/* Per-reason counts: OK counts whole messages decoded. */
const curvecp_stats_t *curvecp_appframe_stats (const curvecp_appframe_t *self);

#endif
