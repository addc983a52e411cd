/*  curvecp_framing.h - the frames on fds 8 and 9 between curvecpserver /
    curvecpclient and a message handler such as curvecpmessage.

    A frame is one length byte n followed by 16*n bytes: the message M a
    packet carries, with no further wrapping. n is 1..68 (M up to 1088);
    a client before the first server Message takes at most 40 (640).
    Anything else (n = 0, the top bit set, n over the limit) is a protocol
    error that ends the connection, as NaCl's tools do.

    Both pipes are non-blocking, so a reader may see a frame arrive in
    pieces and a writer may find the pipe full. One curvecp_framing_t
    holds both directions of one pipe pair:
      - input: push bytes (or read them from an fd), then take complete
        frames with curvecp_framing_next until it returns 0;
      - output: queue messages, then flush them to an fd when it is
        writable. A frame is queued whole or not at all, so a full pipe
        never cuts one in half.
    The parser is pure (push + next), so a fuzzer can drive it with any
    bytes; only read_fd and flush touch a descriptor.                    */
#ifndef CURVECP_FRAMING_H_INCLUDED
#define CURVECP_FRAMING_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "curvecp_constants.h"
#include "curvecp_reason.h"

typedef struct _curvecp_framing_t curvecp_framing_t;

#define CURVECP_FRAME_MAX        (1 + CURVECP_MSG_MAX)   /* largest frame: 1089 bytes */
#define CURVECP_FRAME_N_MAX      (CURVECP_MSG_MAX / 16)  /* 68 */
#define CURVECP_FRAMING_QUEUE_DEFAULT 16384              /* output queue, bytes */

/* New framing with an output queue of queue_bytes (0 = the default;
   at least one whole frame). Input accepts messages up to 1088 bytes. */
curvecp_framing_t *curvecp_framing_new (size_t queue_bytes);

/* Wipe (frames carry plaintext), free, and set *self_p to NULL. */
void curvecp_framing_destroy (curvecp_framing_t **self_p);

/* Largest message the input accepts: a multiple of 16 in 16..1088
   (a client uses 640 until the server has spoken, then 1088). */
curvecp_reason_t curvecp_framing_set_input_max (curvecp_framing_t *self, size_t max_message);

/* ---- input ----------------------------------------------------------- */

/* Take up to len bytes of input; returns how many were taken (fewer when
   the input buffer is full: call curvecp_framing_next, then push again). */
size_t curvecp_framing_push (curvecp_framing_t *self, const uint8_t *data, size_t len);

/* read() from fd into the input buffer. Returns read's result: > 0
   bytes, 0 at end of file, -1 with errno (EAGAIN when nothing is there).
   Returns -1 with errno = ENOBUFS if the buffer is full (drain with next). */
ssize_t curvecp_framing_read_fd (curvecp_framing_t *self, int fd);

/* The next complete frame's message: returns 1 and sets *message (valid
   until the next call on self) and *len; 0 if no whole frame is buffered
   yet; -1 on a protocol error (see curvecp_framing_error), after which
   every call returns -1. */
int curvecp_framing_next (curvecp_framing_t *self, const uint8_t **message, size_t *len);

/* Why the input failed: CURVECP_OK while it has not;
   CURVECP_E_BAD_MESSAGE for n = 0 or the top bit set;
   CURVECP_E_TOO_LONG for n over the limit. */
curvecp_reason_t curvecp_framing_error (const curvecp_framing_t *self);

/* Bytes of input buffered but not yet returned as frames (a partial
   frame at end of file means the writer broke off mid-frame). */
size_t curvecp_framing_buffered (const curvecp_framing_t *self);

/* ---- output ---------------------------------------------------------- */

/* Write the frame for message (16..1088, multiple of 16) into out
   (CURVECP_FRAME_MAX bytes). Returns the frame length, 0 if len is bad. */
size_t curvecp_framing_encode (const uint8_t *message, size_t len, uint8_t out[CURVECP_FRAME_MAX]);

/* Queue one frame. CURVECP_E_BAD_ARGUMENT for a bad length,
   CURVECP_E_FULL if the queue has no room for the whole frame (nothing
   is queued; the message layer above resends, as with a NaCl pipe). */
curvecp_reason_t curvecp_framing_queue (curvecp_framing_t *self, const uint8_t *message, size_t len);

/* Write queued bytes to fd (non-blocking). Returns 0 when the queue is
   empty, 1 when bytes remain (wait for POLLOUT), -1 on a write error
   other than EAGAIN (errno set; EPIPE when the reader has gone). */
int curvecp_framing_flush (curvecp_framing_t *self, int fd);

/* Bytes queued and not yet written. */
size_t curvecp_framing_queued (const curvecp_framing_t *self);

/* Frames dropped by curvecp_framing_queue because the queue was full. */
uint64_t curvecp_framing_dropped (const curvecp_framing_t *self);

#endif
