/*  curvecp_message.h - the message-layer message M inside every packet.

    Layout (all little-endian), as curvecpmessage writes it:
      0  u32  message ID (0 = pure acknowledgment)
      4  u32  ID of the message being acknowledged (0 = none)
      8  u64  range 1: bytes [0, X) of the peer's stream received
     16  u32  gap, u16 size of range 2; then (u16 gap, u16 size) x 4
     38  u16  D | flags (2048 = success EOF, 4096 = failure EOF)
     40  u64  stream position of the first data byte
     48  ...  zero padding, then D data bytes at the very end

    Range k+1 starts at the end of range k plus its gap. Encoding and
    decoding are pure functions over caller buffers; decode checks every
    length and field before it reports anything.

    Two extensions, for two of our peers only; a stream that does not
    turn them on sends exactly what curvecpmessage sends.

    Large blocks (only after both peers offered it, e.g. the ZCCP greeting
    option 0x01 on ØMQ, and only with a session whose message_max allows
    64 + D): a block of 1025..65536 bytes is sent in the large form

      38  u16  0x2000 (LARGE) | EOF flags; the 11 D bits are zero
      40  u64  stream position of the first data byte
      48  u32  D (1025..65536)
      52  u32  zero
      56  u64  the window tag below, or zero
      64  ...  zero padding, then D data bytes at the very end

    The message is 64 + D rounded up to a multiple of 16 (no size
    buckets). Blocks of up to 1024 bytes keep NaCl's form, whatever was
    negotiated. A decoder that was not told to accept large blocks refuses
    the LARGE flag as an unknown flag (bad-message), as before.

    Window tag (in padding, which curvecpmessage never reads: it takes D
    from offset 38 and the data from the end): a receiver whose window is
    larger than curvecpmessage's 128 KiB may announce it in every message
    it sends, at offset 56 (present in every message: the smallest NaCl
    size for D bytes leaves 16 bytes of padding at 48..63)

      56  4 bytes  "cpW1"
      60  u32      receive window in bytes (> 131072)

    A sender that reads it may keep up to that many bytes (and more than
    128 blocks) beyond the receiver's range 1; without it, 128 KiB.       */
#ifndef CURVECP_MESSAGE_H_INCLUDED
#define CURVECP_MESSAGE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"
#include "curvecp_reason.h"

#define CURVECP_MESSAGE_HEADER      48     /* fixed fields before padding */
#define CURVECP_MESSAGE_DATA_MAX  1024     /* largest data block D */
#define CURVECP_MESSAGE_RANGES       6     /* range 1 + five (gap, size) pairs */
#define CURVECP_MESSAGE_ACK_BYTES  192     /* size of a pure acknowledgment */
#define CURVECP_MESSAGE_FLAG_SUCCESS 0x0800
#define CURVECP_MESSAGE_FLAG_FAILURE 0x1000
#define CURVECP_MESSAGE_FLAG_LARGE   0x2000   /* D is the u32 at 48 (negotiated) */
#define CURVECP_MESSAGE_LARGE_HEADER    64     /* fixed fields of the large form */
#define CURVECP_MESSAGE_LARGE_DATA_MAX 65536   /* largest large block */
#define CURVECP_MESSAGE_WINDOW_AT       56     /* window tag: "cpW1" + u32 */

/* How a stream ended: curvecp_eof_t, in curvecp_constants.h (public). */

/* One decoded (or to-be-encoded) message. data points into the decoded
   buffer, or at the caller's bytes when encoding. gap[0] travels as u32,
   gap[1..4] as u16. */
typedef struct {
    uint32_t id;
    uint32_t acked_id;
    uint64_t range1_end;
    uint32_t gap[CURVECP_MESSAGE_RANGES - 1];
    uint16_t size[CURVECP_MESSAGE_RANGES - 1];
    uint32_t data_len;           /* <= 1024, or <= 65536 in the large form */
    curvecp_eof_t eof;
    uint64_t position;
    const uint8_t *data;
} curvecp_message_t;

/* Message size for a data block of data_len bytes, as NaCl rounds it:
   64 + data_len up to the first of 192, 320, 576, 1088. 0 if data_len
   is over 1024. */
size_t curvecp_message_size (size_t data_len);

/* Message size for data_len bytes when large blocks are allowed: as
   above up to 1024, then 64 + data_len rounded up to 16; 0 over 65536. */
size_t curvecp_message_size_large (size_t data_len);

/* Encode message into out (cap bytes). Returns the encoded length, or 0
   if the message is invalid (data_len > 1024, both EOF kinds) or does
   not fit in cap. Padding is zero. A NULL data with data_len > 0 leaves
   the last data_len bytes for the caller to fill. */
size_t curvecp_message_encode (const curvecp_message_t *message, uint8_t *out, size_t cap);

/* The same, allowing the large form for data_len 1025..65536. */
size_t curvecp_message_encode_large (const curvecp_message_t *message, uint8_t *out, size_t cap);

/* Write / read the window tag of an encoded message (len >= 64 and, for
   NaCl's form, D <= len - 64: always true of what encode makes). read
   returns 0 when the tag is absent. */
void curvecp_message_put_window (uint8_t *message, size_t len, uint32_t window);
uint32_t curvecp_message_window (const uint8_t *message, size_t len);

/* Decode and validate: len 48..1088 and a multiple of 16, D <= 1024,
   48 + D <= len, no unknown flag bits, not both EOF kinds, position + D
   does not overflow. On CURVECP_OK message is filled (data points into
   buffer); otherwise message is untouched. */
curvecp_reason_t curvecp_message_decode (const uint8_t *buffer, size_t len, curvecp_message_t *message);

/* The same, also accepting the large form with D up to data_max
   (1025..65536) and len up to curvecp_message_size_large (data_max); a
   data_max of 1024 or less is curvecp_message_decode. The large form
   needs D > 1024, 64 + D <= len and zero at 52..55. */
curvecp_reason_t curvecp_message_decode_large (const uint8_t *buffer, size_t len, size_t data_max,
        curvecp_message_t *message);

/* The acknowledged ranges as absolute [start, end) byte intervals, range
   1 first (start 0). Empty ranges after range 1 are skipped, a range
   with gap 0 extends the one before it (a long interval may be sent as
   several 65535-byte pieces); a range
   whose end would overflow 64 bits ends the list. Returns the count. */
int curvecp_message_ranges (const curvecp_message_t *message,
        uint64_t start[CURVECP_MESSAGE_RANGES], uint64_t end[CURVECP_MESSAGE_RANGES]);

/* Fill the acknowledgment fields from range1_end and up to five further
   absolute intervals (sorted, disjoint, above range1_end). Intervals that
   the field widths cannot express are cut short or left out: acknowledging
   less is always safe. Returns how many further intervals were written. */
int curvecp_message_set_ranges (curvecp_message_t *message, uint64_t range1_end,
        const uint64_t *start, const uint64_t *end, int count);

#endif
