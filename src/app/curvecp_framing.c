/*  curvecp_framing.c - fd 8/9 frames: length byte n, then 16*n bytes.

    The input buffer holds a few frames' worth, so one read() usually
    brings several frames; frames are returned in place, and the buffer is
    compacted only when a partial frame sits at its end. The output queue
    is a flat buffer written from its start; queue() refuses a frame that
    does not fit whole, so the reader on the other side never sees half a
    frame followed by another frame's bytes.                              */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "curvecp_framing.h"
#include "curvecp_packet.h"

#define INPUT_BYTES (4 * CURVECP_FRAME_MAX)

struct _curvecp_framing_t {
    uint8_t input[INPUT_BYTES];
    size_t in_start, in_end;           /* unparsed bytes are input[in_start..in_end) */
    size_t input_max;                  /* largest message accepted */
    curvecp_reason_t error;
    uint8_t *queue;
    size_t queue_cap, queue_start, queue_end;
    uint64_t dropped;
};

curvecp_framing_t *
curvecp_framing_new (size_t queue_bytes)
{
    if (queue_bytes == 0)
        queue_bytes = CURVECP_FRAMING_QUEUE_DEFAULT;
    if (queue_bytes < CURVECP_FRAME_MAX)
        queue_bytes = CURVECP_FRAME_MAX;
    curvecp_framing_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->queue = malloc (queue_bytes);
    if (!self->queue) {
        free (self);
        return NULL;
    }
    self->queue_cap = queue_bytes;
    self->input_max = CURVECP_MSG_MAX;
    return self;
}

void
curvecp_framing_destroy (curvecp_framing_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_framing_t *self = *self_p;
        sodium_memzero (self->queue, self->queue_cap);
        free (self->queue);
        sodium_memzero (self, sizeof *self);
        free (self);
        *self_p = NULL;
    }
}

curvecp_reason_t
curvecp_framing_set_input_max (curvecp_framing_t *self, size_t max_message)
{
    if (max_message < CURVECP_MSG_MIN || max_message > CURVECP_MSG_MAX || max_message % 16)
        return CURVECP_E_BAD_ARGUMENT;
    self->input_max = max_message;
    return CURVECP_OK;
}

/* Move a partial frame to the front so the free space is contiguous. */
static void
compact (curvecp_framing_t *self)
{
    if (self->in_start == 0)
        return;
    size_t used = self->in_end - self->in_start;
    memmove (self->input, self->input + self->in_start, used);
    self->in_start = 0;
    self->in_end = used;
}

size_t
curvecp_framing_push (curvecp_framing_t *self, const uint8_t *data, size_t len)
{
    compact (self);
    size_t room = INPUT_BYTES - self->in_end;
    size_t take = len < room ? len : room;
    memcpy (self->input + self->in_end, data, take);
    self->in_end += take;
    return take;
}

ssize_t
curvecp_framing_read_fd (curvecp_framing_t *self, int fd)
{
    compact (self);
    size_t room = INPUT_BYTES - self->in_end;
    if (room == 0) {
        errno = ENOBUFS;
        return -1;
    }
    ssize_t r = read (fd, self->input + self->in_end, room);
    if (r > 0)
        self->in_end += (size_t) r;
    return r;
}

int
curvecp_framing_next (curvecp_framing_t *self, const uint8_t **message, size_t *len)
{
    if (self->error != CURVECP_OK)
        return -1;
    size_t avail = self->in_end - self->in_start;
    if (avail == 0)
        return 0;
    uint8_t n = self->input[self->in_start];
    if (n == 0 || (n & 0x80))
        self->error = CURVECP_E_BAD_MESSAGE;
    else
    if ((size_t) n * 16 > self->input_max)
        self->error = CURVECP_E_TOO_LONG;
    if (self->error != CURVECP_OK)
        return -1;
    size_t frame = 1 + (size_t) n * 16;
    if (avail < frame)
        return 0;
    *message = self->input + self->in_start + 1;
    *len = frame - 1;
    self->in_start += frame;
    if (self->in_start == self->in_end)
        self->in_start = self->in_end = 0;
    return 1;
}

curvecp_reason_t
curvecp_framing_error (const curvecp_framing_t *self)
{
    return self->error;
}

size_t
curvecp_framing_buffered (const curvecp_framing_t *self)
{
    return self->in_end - self->in_start;
}

size_t
curvecp_framing_encode (const uint8_t *message, size_t len, uint8_t out[CURVECP_FRAME_MAX])
{
    if (curvecp_message_len_check (len, CURVECP_MSG_MAX) != CURVECP_OK)
        return 0;
    out[0] = (uint8_t) (len / 16);
    memcpy (out + 1, message, len);
    return 1 + len;
}

curvecp_reason_t
curvecp_framing_queue (curvecp_framing_t *self, const uint8_t *message, size_t len)
{
    if (curvecp_message_len_check (len, CURVECP_MSG_MAX) != CURVECP_OK)
        return CURVECP_E_BAD_ARGUMENT;
    if (self->queue_start == self->queue_end)
        self->queue_start = self->queue_end = 0;
    if (self->queue_cap - self->queue_end < 1 + len && self->queue_start > 0) {
        size_t used = self->queue_end - self->queue_start;
        memmove (self->queue, self->queue + self->queue_start, used);
        self->queue_start = 0;
        self->queue_end = used;
    }
    if (self->queue_cap - self->queue_end < 1 + len) {
        self->dropped++;
        return CURVECP_E_FULL;
    }
    self->queue_end += curvecp_framing_encode (message, len, self->queue + self->queue_end);
    return CURVECP_OK;
}

int
curvecp_framing_flush (curvecp_framing_t *self, int fd)
{
    while (self->queue_start < self->queue_end) {
        ssize_t w = write (fd, self->queue + self->queue_start, self->queue_end - self->queue_start);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1;
        if (w <= 0)
            return -1;
        self->queue_start += (size_t) w;
    }
    self->queue_start = self->queue_end = 0;
    return 0;
}

size_t
curvecp_framing_queued (const curvecp_framing_t *self)
{
    return self->queue_end - self->queue_start;
}

uint64_t
curvecp_framing_dropped (const curvecp_framing_t *self)
{
    return self->dropped;
}
