/*  curvecp_message.c - encode and decode message-layer messages.

    Byte-exact with curvecpmessage: the same four sizes on the way out
    (so small messages do not reveal their length), and on the way in
    every size the specification allows. Decoding is strict where NaCl is
    silent (unknown flag bits, both EOF kinds): such a message could only
    come from a broken or hostile peer, and we would rather count it.

    The large form and the window tag (see curvecp_message.h) exist only
    for streams that asked for them: curvecp_message_encode and
    curvecp_message_decode behave exactly as before.                    */
#include <string.h>
#include "curvecp_bytes.h"
#include "curvecp_message.h"

#define DATA_FIELD_MASK 0x07ff     /* bits that hold D */
#define KNOWN_FLAGS (CURVECP_MESSAGE_FLAG_SUCCESS | CURVECP_MESSAGE_FLAG_FAILURE)
#define EOF_FLAGS   KNOWN_FLAGS

static const uint8_t window_tag[4] = { 'c', 'p', 'W', '1' };

static void
put16 (uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
}

static void
put32 (uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static uint16_t
get16 (const uint8_t *p)
{
    return (uint16_t) (p[0] | (p[1] << 8));
}

static uint32_t
get32 (const uint8_t *p)
{
    return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

size_t
curvecp_message_size (size_t data_len)
{
    static const size_t sizes[] = { 192, 320, 576, 1088 };
    if (data_len > CURVECP_MESSAGE_DATA_MAX)
        return 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (64 + data_len <= sizes[i])
            return sizes[i];
    return 0;
}

static uint16_t
flags_of (curvecp_eof_t eof)
{
    if (eof == CURVECP_EOF_SUCCESS)
        return CURVECP_MESSAGE_FLAG_SUCCESS;
    if (eof == CURVECP_EOF_FAILURE)
        return CURVECP_MESSAGE_FLAG_FAILURE;
    return 0;
}

size_t
curvecp_message_size_large (size_t data_len)
{
    if (data_len <= CURVECP_MESSAGE_DATA_MAX)
        return curvecp_message_size (data_len);
    if (data_len > CURVECP_MESSAGE_LARGE_DATA_MAX)
        return 0;
    return (CURVECP_MESSAGE_LARGE_HEADER + data_len + 15) / 16 * 16;
}

/* Both forms: len is the message size the caller chose for data_len. */
static size_t
encode_sized (const curvecp_message_t *message, size_t len, uint8_t *out, size_t cap)
{
    if (len == 0 || len > cap || (unsigned) message->eof > CURVECP_EOF_FAILURE)
        return 0;
    bool large = message->data_len > CURVECP_MESSAGE_DATA_MAX;
    memset (out, 0, len - message->data_len);     /* the data overwrites the rest */
    put32 (out, message->id);
    put32 (out + 4, message->acked_id);
    curvecp_store_u64_le (out + 8, message->range1_end);
    put32 (out + 16, message->gap[0]);
    put16 (out + 20, message->size[0]);
    for (int i = 1; i < CURVECP_MESSAGE_RANGES - 1; i++) {
        put16 (out + 18 + 4 * i, (uint16_t) message->gap[i]);
        put16 (out + 20 + 4 * i, message->size[i]);
    }
    if (large) {
        put16 (out + 38, (uint16_t) (CURVECP_MESSAGE_FLAG_LARGE | flags_of (message->eof)));
        put32 (out + 48, message->data_len);
    }
    else
        put16 (out + 38, (uint16_t) (message->data_len | flags_of (message->eof)));
    curvecp_store_u64_le (out + 40, message->position);
    if (message->data_len && message->data)
        memcpy (out + len - message->data_len, message->data, message->data_len);
    return len;
}

size_t
curvecp_message_encode (const curvecp_message_t *message, uint8_t *out, size_t cap)
{
    return encode_sized (message, curvecp_message_size (message->data_len), out, cap);
}

size_t
curvecp_message_encode_large (const curvecp_message_t *message, uint8_t *out, size_t cap)
{
    return encode_sized (message, curvecp_message_size_large (message->data_len), out, cap);
}

/* Room for the tag: 8 bytes at 56 that are neither header nor data. */
static bool
window_room (const uint8_t *message, size_t len)
{
    if (len < CURVECP_MESSAGE_LARGE_HEADER)
        return false;
    uint16_t field = get16 (message + 38);
    size_t data_len = field & CURVECP_MESSAGE_FLAG_LARGE ? get32 (message + 48) : field & DATA_FIELD_MASK;
    return data_len <= len - CURVECP_MESSAGE_LARGE_HEADER;
}

void
curvecp_message_put_window (uint8_t *message, size_t len, uint32_t window)
{
    if (!window_room (message, len))
        return;
    memcpy (message + CURVECP_MESSAGE_WINDOW_AT, window_tag, sizeof window_tag);
    put32 (message + CURVECP_MESSAGE_WINDOW_AT + 4, window);
}

uint32_t
curvecp_message_window (const uint8_t *message, size_t len)
{
    if (!window_room (message, len)
    ||  memcmp (message + CURVECP_MESSAGE_WINDOW_AT, window_tag, sizeof window_tag) != 0)
        return 0;
    return get32 (message + CURVECP_MESSAGE_WINDOW_AT + 4);
}

static curvecp_reason_t
check_length (size_t len, size_t max)
{
    if (len < CURVECP_MESSAGE_HEADER)
        return CURVECP_E_TOO_SHORT;
    if (len > max)
        return CURVECP_E_TOO_LONG;
    if (len % 16)
        return CURVECP_E_NOT_MULTIPLE_16;
    return CURVECP_OK;
}

/* D of a message in the large form, or UINT32_MAX if that form is
   malformed or not allowed (data_max <= 1024). */
static uint32_t
large_data_len (const uint8_t *buffer, size_t len, size_t data_max, uint16_t field)
{
    if (data_max <= CURVECP_MESSAGE_DATA_MAX || (field & DATA_FIELD_MASK) || len < CURVECP_MESSAGE_LARGE_HEADER
    ||  get32 (buffer + 52) != 0)
        return UINT32_MAX;
    uint32_t data_len = get32 (buffer + 48);
    if (data_len <= CURVECP_MESSAGE_DATA_MAX || data_len > data_max
    ||  data_len > len - CURVECP_MESSAGE_LARGE_HEADER)
        return UINT32_MAX;
    return data_len;
}

static curvecp_reason_t
decode (const uint8_t *buffer, size_t len, size_t data_max, curvecp_message_t *message)
{
    size_t max = data_max > CURVECP_MESSAGE_DATA_MAX ? curvecp_message_size_large (data_max) : CURVECP_MSG_MAX;
    curvecp_reason_t reason = check_length (len, max);
    if (reason != CURVECP_OK)
        return reason;
    uint16_t field = get16 (buffer + 38);
    uint32_t data_len = field & DATA_FIELD_MASK;
    uint16_t flags = field & (uint16_t) ~DATA_FIELD_MASK;
    if (flags & CURVECP_MESSAGE_FLAG_LARGE) {
        data_len = large_data_len (buffer, len, data_max, field);
        if (data_len == UINT32_MAX)
            return CURVECP_E_BAD_MESSAGE;
        flags &= (uint16_t) ~CURVECP_MESSAGE_FLAG_LARGE;
    }
    uint64_t position = curvecp_load_u64_le (buffer + 40);
    if (data_len > CURVECP_MESSAGE_LARGE_DATA_MAX || CURVECP_MESSAGE_HEADER + (size_t) data_len > len
    ||  (flags & ~KNOWN_FLAGS) || flags == EOF_FLAGS
    ||  position > UINT64_MAX - data_len - 1)
        return CURVECP_E_BAD_MESSAGE;
    if (!(field & CURVECP_MESSAGE_FLAG_LARGE) && data_len > CURVECP_MESSAGE_DATA_MAX)
        return CURVECP_E_BAD_MESSAGE;

    message->id = get32 (buffer);
    message->acked_id = get32 (buffer + 4);
    message->range1_end = curvecp_load_u64_le (buffer + 8);
    message->gap[0] = get32 (buffer + 16);
    message->size[0] = get16 (buffer + 20);
    for (int i = 1; i < CURVECP_MESSAGE_RANGES - 1; i++) {
        message->gap[i] = get16 (buffer + 18 + 4 * i);
        message->size[i] = get16 (buffer + 20 + 4 * i);
    }
    message->data_len = data_len;
    message->eof = flags == CURVECP_MESSAGE_FLAG_SUCCESS ? CURVECP_EOF_SUCCESS
                 : flags == CURVECP_MESSAGE_FLAG_FAILURE ? CURVECP_EOF_FAILURE : CURVECP_EOF_NONE;
    message->position = position;
    message->data = buffer + len - data_len;
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_message_decode (const uint8_t *buffer, size_t len, curvecp_message_t *message)
{
    return decode (buffer, len, CURVECP_MESSAGE_DATA_MAX, message);
}

curvecp_reason_t
curvecp_message_decode_large (const uint8_t *buffer, size_t len, size_t data_max, curvecp_message_t *message)
{
    if (data_max > CURVECP_MESSAGE_LARGE_DATA_MAX)
        data_max = CURVECP_MESSAGE_LARGE_DATA_MAX;
    return decode (buffer, len, data_max, message);
}

int
curvecp_message_ranges (const curvecp_message_t *message,
        uint64_t start[CURVECP_MESSAGE_RANGES], uint64_t end[CURVECP_MESSAGE_RANGES])
{
    int count = 0;
    start[count] = 0;
    end[count++] = message->range1_end;
    uint64_t cursor = message->range1_end;
    for (int i = 0; i < CURVECP_MESSAGE_RANGES - 1; i++) {
        uint64_t gap = message->gap[i], size = message->size[i];
        if (cursor > UINT64_MAX - gap - size)
            break;
        cursor += gap;
        if (size && gap == 0)
            end[count - 1] = cursor + size;     /* adjacent: one range, split only by the field width */
        else
        if (size) {
            start[count] = cursor;
            end[count++] = cursor + size;
        }
        cursor += size;
    }
    return count;
}

int
curvecp_message_set_ranges (curvecp_message_t *message, uint64_t range1_end,
        const uint64_t *start, const uint64_t *end, int count)
{
    message->range1_end = range1_end;
    memset (message->gap, 0, sizeof message->gap);
    memset (message->size, 0, sizeof message->size);
    uint64_t cursor = range1_end;
    int written = 0;
    for (int i = 0; i < count && written < CURVECP_MESSAGE_RANGES - 1; i++) {
        if (start[i] < cursor || end[i] <= start[i])
            break;                      /* not sorted above the last range */
        uint64_t gap = start[i] - cursor;
        uint64_t gap_max = written == 0 ? UINT32_MAX : UINT16_MAX;
        if (gap > gap_max)
            break;
        uint64_t size = end[i] - start[i];
        if (size > UINT16_MAX)
            size = UINT16_MAX;          /* acknowledge the first part only */
        message->gap[written] = (uint32_t) gap;
        message->size[written] = (uint16_t) size;
        written++;
        cursor = start[i] + size;
    }
    return written;
}
