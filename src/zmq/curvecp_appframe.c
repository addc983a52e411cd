/*  curvecp_appframe.c - framing of whole ØMQ messages on the stream.

    The decoder never reads ahead of what it was shown: headers are
    gathered in a 9-byte buffer (first 2 bytes, the minimum header, then
    7 more only for a LONG size), bodies go straight into the zframe that
    will be handed to the application.

    A header only announces a size: one authenticated peer must not make
    us allocate up to the message limit with 9 bytes. Small bodies get
    their zframe at once; a large one is first gathered in a staging
    buffer that starts at STAGE_FIRST bytes and doubles each time it is
    full, and its zframe is allocated when the next doubling would reach
    the announced size. Memory therefore stays within about three times
    the bytes that actually arrived, and the staged part is copied once
    more (at most the body's size in all).                               */
#include <string.h>
#include "curvecp_appframe.h"

#define DIRECT_MAX   65536       /* bodies up to this get their zframe at once */
#define STAGE_FIRST  65536

static const uint8_t greeting_magic[4] = { 'Z', 'C', 'C', 'P' };

typedef enum {
    STATE_GREETING,
    STATE_HEADER,
    STATE_BODY,
    STATE_READY,
    STATE_FAILED
} state_t;

struct _curvecp_appframe_t {
    state_t state;
    size_t max_message, max_frames;
    uint8_t header[CURVECP_APPFRAME_HEADER_MAX];
    size_t header_have, header_need;
    bool greeted;
    uint8_t peer_options;
    zmsg_t *message;               /* the message being assembled */
    size_t message_bytes;
    zframe_t *frame;               /* the frame being filled, or NULL while staging */
    uint8_t *stage;                /* a large body's first bytes */
    size_t stage_size;
    size_t frame_size, frame_have;
    bool frame_more;
    curvecp_reason_t failure;
    char error[96];
    curvecp_stats_t stats;
};

/* ---- encoding ------------------------------------------------------------- */

size_t
curvecp_appframe_header (uint8_t out[CURVECP_APPFRAME_HEADER_MAX], size_t size, bool more)
{
    uint8_t flags = more ? CURVECP_APPFRAME_MORE : 0;
    if (size < 256) {
        out[0] = flags;
        out[1] = (uint8_t) size;
        return 2;
    }
    out[0] = flags | CURVECP_APPFRAME_LONG;
    uint64_t value = size;
    for (int i = 8; i >= 1; i--) {
        out[i] = (uint8_t) value;
        value >>= 8;
    }
    return 9;
}

size_t
curvecp_appframe_encoded_size (zmsg_t *msg)
{
    size_t total = 0;
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg))
        total += zframe_size (frame) + (zframe_size (frame) < 256 ? 2 : 9);
    return total;
}

void
curvecp_appframe_greeting (uint8_t out[CURVECP_APPFRAME_GREETING], uint8_t options)
{
    memcpy (out, greeting_magic, 4);
    out[4] = CURVECP_APPFRAME_VERSION;
    out[5] = options;
    out[6] = 0;
    out[7] = 0;
}

/* ---- decoding ------------------------------------------------------------- */

curvecp_appframe_t *
curvecp_appframe_new (bool expect_greeting, size_t max_message, size_t max_frames)
{
    curvecp_appframe_t *self = (curvecp_appframe_t *) calloc (1, sizeof (curvecp_appframe_t));
    if (!self)
        return NULL;
    self->max_message = max_message ? max_message : CURVECP_APPFRAME_MESSAGE_MAX;
    self->max_frames = max_frames ? max_frames : CURVECP_APPFRAME_FRAMES_MAX;
    self->greeted = !expect_greeting;
    self->state = expect_greeting ? STATE_GREETING : STATE_HEADER;
    self->header_need = expect_greeting ? CURVECP_APPFRAME_GREETING : 2;
    return self;
}

void
curvecp_appframe_destroy (curvecp_appframe_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_appframe_t *self = *self_p;
        zframe_destroy (&self->frame);
        free (self->stage);
        zmsg_destroy (&self->message);
        free (self);
        *self_p = NULL;
    }
}

/* The caller has written self->error. */
static curvecp_reason_t
fail (curvecp_appframe_t *self, curvecp_reason_t reason)
{
    self->state = STATE_FAILED;
    self->failure = reason;
    zframe_destroy (&self->frame);
    free (self->stage);
    self->stage = NULL;
    self->stage_size = 0;
    zmsg_destroy (&self->message);
    return curvecp_stats_count (&self->stats, reason);
}

static void
start_header (curvecp_appframe_t *self)
{
    self->state = STATE_HEADER;
    self->header_have = 0;
    self->header_need = 2;
}

static curvecp_reason_t
check_greeting (curvecp_appframe_t *self)
{
    const uint8_t *g = self->header;
    if (memcmp (g, greeting_magic, 4) != 0) {
        snprintf (self->error, sizeof self->error, "greeting: magic is not ZCCP");
        return fail (self, CURVECP_E_BAD_MAGIC);
    }
    if (g[4] != CURVECP_APPFRAME_VERSION) {
        snprintf (self->error, sizeof self->error, "greeting: version %u, only %u is known",
                  g[4], CURVECP_APPFRAME_VERSION);
        return fail (self, CURVECP_E_BAD_MESSAGE);
    }
    if (g[6] || g[7]) {
        snprintf (self->error, sizeof self->error, "greeting: reserved bytes %02x%02x are not zero",
                  g[6], g[7]);
        return fail (self, CURVECP_E_BAD_MESSAGE);
    }
    self->greeted = true;
    self->peer_options = g[5];
    start_header (self);
    return CURVECP_OK;
}

static void
finish_frame (curvecp_appframe_t *self)
{
    if (!self->message)
        self->message = zmsg_new ();
    zmsg_append (self->message, &self->frame);
    if (self->frame_more)
        start_header (self);
    else {
        self->state = STATE_READY;
        curvecp_stats_count (&self->stats, CURVECP_OK);
    }
}

static curvecp_reason_t
fail_no_memory (curvecp_appframe_t *self)
{
    snprintf (self->error, sizeof self->error, "frame %zu: no memory for %zu bytes",
              (self->message ? zmsg_size (self->message) : 0) + 1, self->frame_size);
    return fail (self, CURVECP_E_TOO_LONG);
}

/* The staging buffer is full: double it, or move to the frame's own
   zframe once a doubling would reach the whole body. */
static curvecp_reason_t
grow_stage (curvecp_appframe_t *self)
{
    if (self->stage_size >= self->frame_size / 2) {
        self->frame = zframe_new (NULL, self->frame_size);
        if (!self->frame)
            return fail_no_memory (self);
        memcpy (zframe_data (self->frame), self->stage, self->frame_have);
        free (self->stage);
        self->stage = NULL;
        self->stage_size = 0;
        return CURVECP_OK;
    }
    uint8_t *stage = (uint8_t *) realloc (self->stage, 2 * self->stage_size);
    if (!stage)
        return fail_no_memory (self);
    self->stage = stage;
    self->stage_size *= 2;
    return CURVECP_OK;
}

static uint64_t
header_size (const uint8_t *header)
{
    if (!(header[0] & CURVECP_APPFRAME_LONG))
        return header[1];
    uint64_t size = 0;
    for (int i = 1; i <= 8; i++)
        size = (size << 8) | header[i];
    return size;
}

static curvecp_reason_t
check_header (curvecp_appframe_t *self)
{
    uint8_t flags = self->header[0];
    size_t frame = (self->message ? zmsg_size (self->message) : 0) + 1;
    if (flags & ~(CURVECP_APPFRAME_MORE | CURVECP_APPFRAME_LONG)) {
        snprintf (self->error, sizeof self->error, "frame %zu: reserved flag bits 0x%02x set",
                  frame, flags & ~(CURVECP_APPFRAME_MORE | CURVECP_APPFRAME_LONG));
        return fail (self, CURVECP_E_BAD_MESSAGE);
    }
    if ((flags & CURVECP_APPFRAME_LONG) && self->header_need == 2) {
        self->header_need = CURVECP_APPFRAME_HEADER_MAX;
        return CURVECP_OK;          /* 7 more size bytes to come */
    }
    uint64_t size = header_size (self->header);
    if ((flags & CURVECP_APPFRAME_LONG) && size < 256) {
        snprintf (self->error, sizeof self->error, "frame %zu: long size %llu is under 256 (not minimal)",
                  frame, (unsigned long long) size);
        return fail (self, CURVECP_E_BAD_MESSAGE);
    }
    if (frame > self->max_frames) {
        snprintf (self->error, sizeof self->error, "message has more than %zu frames", self->max_frames);
        return fail (self, CURVECP_E_TOO_LONG);
    }
    if (size > self->max_message - self->message_bytes) {
        snprintf (self->error, sizeof self->error, "frame %zu: message would exceed the limit of %zu bytes",
                  frame, self->max_message);
        return fail (self, CURVECP_E_TOO_LONG);
    }
    self->frame_size = (size_t) size;
    self->frame_have = 0;
    if (size <= DIRECT_MAX)
        self->frame = zframe_new (NULL, self->frame_size);
    else {
        self->stage = (uint8_t *) malloc (STAGE_FIRST);
        self->stage_size = STAGE_FIRST;
    }
    if (!self->frame && !self->stage)
        return fail_no_memory (self);
    self->message_bytes += (size_t) size;
    self->frame_more = (flags & CURVECP_APPFRAME_MORE) != 0;
    self->state = STATE_BODY;
    if (size == 0)
        finish_frame (self);
    return CURVECP_OK;
}

size_t
curvecp_appframe_want (curvecp_appframe_t *self, uint8_t **dest)
{
    switch (self->state) {
        case STATE_GREETING:
        case STATE_HEADER:
            *dest = self->header + self->header_have;
            return self->header_need - self->header_have;
        case STATE_BODY:
            if (!self->frame) {
                *dest = self->stage + self->frame_have;
                return self->stage_size - self->frame_have;
            }
            *dest = zframe_data (self->frame) + self->frame_have;
            return self->frame_size - self->frame_have;
        default:
            *dest = NULL;
            return 0;
    }
}

curvecp_reason_t
curvecp_appframe_commit (curvecp_appframe_t *self, size_t n)
{
    uint8_t *dest;
    if (n == 0 || n > curvecp_appframe_want (self, &dest))
        return self->state == STATE_FAILED ? self->failure : (n ? CURVECP_E_BAD_ARGUMENT : CURVECP_OK);
    if (self->state == STATE_BODY) {
        self->frame_have += n;
        if (!self->frame)
            return self->frame_have == self->stage_size ? grow_stage (self) : CURVECP_OK;
        if (self->frame_have == self->frame_size)
            finish_frame (self);
        return CURVECP_OK;
    }
    self->header_have += n;
    if (self->header_have < self->header_need)
        return CURVECP_OK;
    return self->state == STATE_GREETING ? check_greeting (self) : check_header (self);
}

curvecp_reason_t
curvecp_appframe_feed (curvecp_appframe_t *self, const uint8_t *data, size_t len, size_t *used)
{
    size_t taken = 0;
    curvecp_reason_t reason = self->state == STATE_FAILED ? self->failure : CURVECP_OK;
    while (reason == CURVECP_OK && taken < len && self->state != STATE_READY) {
        uint8_t *dest;
        size_t want = curvecp_appframe_want (self, &dest);
        if (want > len - taken)
            want = len - taken;
        memcpy (dest, data + taken, want);
        taken += want;
        reason = curvecp_appframe_commit (self, want);
    }
    if (used)
        *used = taken;
    return reason;
}

zmsg_t *
curvecp_appframe_take (curvecp_appframe_t *self)
{
    if (self->state != STATE_READY)
        return NULL;
    zmsg_t *message = self->message;
    self->message = NULL;
    self->message_bytes = 0;
    start_header (self);
    return message;
}

bool
curvecp_appframe_ready (const curvecp_appframe_t *self)
{
    return self->state == STATE_READY;
}

bool
curvecp_appframe_greeted (const curvecp_appframe_t *self)
{
    return self->greeted;
}

uint8_t
curvecp_appframe_peer_options (const curvecp_appframe_t *self)
{
    return self->peer_options;
}

curvecp_reason_t
curvecp_appframe_failed (const curvecp_appframe_t *self)
{
    return self->state == STATE_FAILED ? self->failure : CURVECP_OK;
}

const char *
curvecp_appframe_error (const curvecp_appframe_t *self)
{
    return self->error;
}

size_t
curvecp_appframe_allocated (const curvecp_appframe_t *self)
{
    size_t total = self->message ? zmsg_content_size (self->message) : 0;
    if (self->state == STATE_BODY)
        total += self->frame ? self->frame_size : self->stage_size;
    return total;
}

const curvecp_stats_t *
curvecp_appframe_stats (const curvecp_appframe_t *self)
{
    return &self->stats;
}
