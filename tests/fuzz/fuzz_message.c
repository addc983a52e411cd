/*  fuzz_message - the message-layer parser (curvecp_message_decode) and
    the acknowledgment ranges (curvecp_message_ranges / set_ranges).

    Input byte 0 picks the mode:
      even: the rest is a message M. A refused M leaves the output struct
            untouched; an accepted one obeys every rule of the header
            (sizes, flags, data at the very end, no position overflow),
            re-encodes and decodes to the same fields (and to the same
            bytes when its size is one NaCl sends and its padding is zero),
            and its ranges are sorted, disjoint and start at 0. Ranges
            written back with set_ranges never acknowledge a byte the
            original did not.
      odd:  fuzz intervals (sorted or not, any widths) go through
            set_ranges, encode, decode and ranges: what comes back never
            covers a byte outside the intervals given, and when every
            interval fits the field widths it is exactly what was given. */
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_message.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define RANGES CURVECP_MESSAGE_RANGES

/* ---- interval lists ------------------------------------------------------ */

typedef struct {
    uint64_t start[RANGES + 8], end[RANGES + 8];
    int count;
} spans_t;

/* Sorted, merged (adjacent ones joined), empty ones dropped. */
static void
s_normalise (spans_t *s)
{
    for (int i = 1; i < s->count; i++)
        for (int j = i; j > 0 && s->start[j] < s->start[j - 1]; j--) {
            uint64_t t = s->start[j]; s->start[j] = s->start[j - 1]; s->start[j - 1] = t;
            t = s->end[j]; s->end[j] = s->end[j - 1]; s->end[j - 1] = t;
        }
    int out = 0;
    for (int i = 0; i < s->count; i++) {
        if (s->end[i] <= s->start[i])
            continue;
        if (out && s->start[i] <= s->end[out - 1]) {
            if (s->end[i] > s->end[out - 1])
                s->end[out - 1] = s->end[i];
        }
        else {
            s->start[out] = s->start[i];
            s->end[out++] = s->end[i];
        }
    }
    s->count = out;
}

/* Every byte of inner lies in outer (both normalised). */
static bool
s_covered (const spans_t *inner, const spans_t *outer)
{
    for (int i = 0; i < inner->count; i++) {
        bool inside = false;
        for (int j = 0; j < outer->count && !inside; j++)
            inside = inner->start[i] >= outer->start[j] && inner->end[i] <= outer->end[j];
        if (!inside)
            return false;
    }
    return true;
}

static bool
s_same (const spans_t *a, const spans_t *b)
{
    return a->count == b->count
        && memcmp (a->start, b->start, (size_t) a->count * sizeof a->start[0]) == 0
        && memcmp (a->end, b->end, (size_t) a->count * sizeof a->end[0]) == 0;
}

/* The ranges of a message, checked for shape, as a normalised list. */
static void
s_ranges (const curvecp_message_t *m, spans_t *s)
{
    uint64_t start[RANGES], end[RANGES];
    int count = curvecp_message_ranges (m, start, end);
    FUZZ_CHECK (count >= 1 && count <= RANGES);
    FUZZ_CHECK (start[0] == 0 && end[0] >= m->range1_end);
    for (int i = 1; i < count; i++) {
        FUZZ_CHECK (start[i] < end[i]);
        FUZZ_CHECK (start[i] > end[i - 1]);
    }
    s->count = count;
    memcpy (s->start, start, sizeof start);
    memcpy (s->end, end, sizeof end);
    s_normalise (s);
}

static bool
s_same_message (const curvecp_message_t *a, const curvecp_message_t *b)
{
    return a->id == b->id && a->acked_id == b->acked_id && a->range1_end == b->range1_end
        && memcmp (a->gap, b->gap, sizeof a->gap) == 0 && memcmp (a->size, b->size, sizeof a->size) == 0
        && a->data_len == b->data_len && a->eof == b->eof && a->position == b->position
        && memcmp (a->data, b->data, a->data_len) == 0;
}

/* ---- mode 0: decode --------------------------------------------------------- */

static void
s_check_header (const uint8_t *buffer, size_t len, const curvecp_message_t *m)
{
    FUZZ_CHECK (len >= CURVECP_MESSAGE_HEADER && len <= CURVECP_MSG_MAX && len % 16 == 0);
    FUZZ_CHECK (m->data_len <= CURVECP_MESSAGE_DATA_MAX && CURVECP_MESSAGE_HEADER + m->data_len <= len);
    FUZZ_CHECK (m->data == buffer + len - m->data_len);
    FUZZ_CHECK (m->eof == CURVECP_EOF_NONE || m->eof == CURVECP_EOF_SUCCESS || m->eof == CURVECP_EOF_FAILURE);
    FUZZ_CHECK (m->position + m->data_len >= m->position);
    uint16_t field = (uint16_t) (buffer[38] | buffer[39] << 8);
    FUZZ_CHECK ((field & 0x07ff) == m->data_len);
}

static void
s_check_reencode (const uint8_t *buffer, size_t len, const curvecp_message_t *m)
{
    uint8_t out[CURVECP_MSG_MAX];
    size_t n = curvecp_message_encode (m, out, sizeof out);
    FUZZ_CHECK (n == curvecp_message_size (m->data_len) && n > 0);
    FUZZ_CHECK (curvecp_message_encode (m, out, n - 1) == 0);
    curvecp_message_t again;
    FUZZ_CHECK (curvecp_message_decode (out, n, &again) == CURVECP_OK);
    FUZZ_CHECK (s_same_message (m, &again));
    /* every header bit means something: the header comes back exactly */
    FUZZ_CHECK (memcmp (out, buffer, CURVECP_MESSAGE_HEADER) == 0);
    bool padding_zero = true;
    for (size_t i = CURVECP_MESSAGE_HEADER; i < len - m->data_len && padding_zero; i++)
        padding_zero = buffer[i] == 0;
    if (n == len && padding_zero)
        FUZZ_CHECK (memcmp (out, buffer, len) == 0);
}

static void
s_decode_mode (const uint8_t *buffer, size_t len)
{
    curvecp_message_t m, canary;
    memset (&m, 0x5c, sizeof m);
    memcpy (&canary, &m, sizeof m);
    curvecp_reason_t rc = curvecp_message_decode (buffer, len, &m);
    if (rc != CURVECP_OK) {
        FUZZ_CHECK (rc == CURVECP_E_TOO_SHORT || rc == CURVECP_E_TOO_LONG
                 || rc == CURVECP_E_NOT_MULTIPLE_16 || rc == CURVECP_E_BAD_MESSAGE);
        FUZZ_CHECK (memcmp (&m, &canary, sizeof m) == 0);
        return;
    }
    s_check_header (buffer, len, &m);
    s_check_reencode (buffer, len, &m);

    spans_t acked, rewritten;
    s_ranges (&m, &acked);
    uint64_t start[RANGES], end[RANGES];
    int count = curvecp_message_ranges (&m, start, end);
    curvecp_message_t back = m;
    int written = curvecp_message_set_ranges (&back, end[0], start + 1, end + 1, count - 1);
    FUZZ_CHECK (written >= 0 && written <= count - 1);
    s_ranges (&back, &rewritten);
    FUZZ_CHECK (s_covered (&rewritten, &acked));
}

/* ---- mode 1: set_ranges ------------------------------------------------------- */

/* A fuzz quantity of a fuzz-chosen width, so small and huge values both come. */
static uint64_t
s_quantity (fuzz_input_t *in)
{
    uint8_t width = fuzz_u8 (in);
    switch (width & 3) {
        case 0:  return width >> 2;
        case 1:  return fuzz_u16 (in);
        case 2:  return fuzz_u32 (in);
        default: return fuzz_u64 (in);
    }
}

static void
s_set_ranges_mode (fuzz_input_t *in)
{
    uint64_t range1_end = s_quantity (in);
    int count = fuzz_u8 (in) % 8;
    spans_t given = { .count = 0 };
    uint64_t cursor = range1_end;
    bool expressible = true;
    for (int i = 0; i < count; i++) {
        uint64_t gap = s_quantity (in), size = s_quantity (in);
        bool backwards = gap & 1 && fuzz_bool (in);     /* sometimes unsorted */
        uint64_t start = backwards ? cursor - (gap < cursor ? gap : cursor) : cursor + gap;
        if (start < cursor && !backwards)
            break;                                      /* wrapped */
        uint64_t end = start + size;
        if (end < start)
            end = UINT64_MAX;
        uint64_t span = end - start;
        if (backwards || span == 0 || span > UINT16_MAX || start - cursor > (i ? UINT16_MAX : UINT32_MAX))
            expressible = false;
        given.start[given.count] = start;
        given.end[given.count++] = end;
        cursor = end;
    }
    curvecp_message_t m;
    memset (&m, 0, sizeof m);
    int written = curvecp_message_set_ranges (&m, range1_end, given.start, given.end, given.count);
    FUZZ_CHECK (written >= 0 && written <= RANGES - 1 && written <= given.count);

    uint8_t out[CURVECP_MSG_MAX];
    size_t n = curvecp_message_encode (&m, out, sizeof out);
    curvecp_message_t decoded;
    FUZZ_CHECK (n == CURVECP_MESSAGE_ACK_BYTES && curvecp_message_decode (out, n, &decoded) == CURVECP_OK);
    spans_t got;
    s_ranges (&decoded, &got);

    spans_t allowed = given;
    allowed.start[allowed.count] = 0;
    allowed.end[allowed.count++] = range1_end;
    s_normalise (&allowed);
    FUZZ_CHECK (s_covered (&got, &allowed));
    if (expressible && given.count <= RANGES - 1) {
        FUZZ_CHECK (written == given.count);
        FUZZ_CHECK (s_same (&got, &allowed));
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_input_t in;
    fuzz_start (&in, data, size);
    if (fuzz_u8 (&in) & 1)
        s_set_ranges_mode (&in);
    else
        s_decode_mode (in.data, in.size);
    return 0;
}
