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
    length and field before it reports anything.                          */
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

/* How a stream ended. */
typedef enum {
    CURVECP_EOF_NONE = 0,
    CURVECP_EOF_SUCCESS,
    CURVECP_EOF_FAILURE
} curvecp_eof_t;

/* One decoded (or to-be-encoded) message. data points into the decoded
   buffer, or at the caller's bytes when encoding. gap[0] travels as u32,
   gap[1..4] as u16. */
typedef struct {
    uint32_t id;
    uint32_t acked_id;
    uint64_t range1_end;
    uint32_t gap[CURVECP_MESSAGE_RANGES - 1];
    uint16_t size[CURVECP_MESSAGE_RANGES - 1];
    uint16_t data_len;
    curvecp_eof_t eof;
    uint64_t position;
    const uint8_t *data;
} curvecp_message_t;

/* Message size for a data block of data_len bytes, as NaCl rounds it:
   64 + data_len up to the first of 192, 320, 576, 1088. 0 if data_len
   is over 1024. */
size_t curvecp_message_size (size_t data_len);

/* Encode message into out (cap bytes). Returns the encoded length, or 0
   if the message is invalid (data_len > 1024, both EOF kinds) or does
   not fit in cap. Padding is zero. */
size_t curvecp_message_encode (const curvecp_message_t *message, uint8_t *out, size_t cap);

/* Decode and validate: len 48..1088 and a multiple of 16, D <= 1024,
   48 + D <= len, no unknown flag bits, not both EOF kinds, position + D
   does not overflow. On CURVECP_OK message is filled (data points into
   buffer); otherwise message is untouched. */
curvecp_reason_t curvecp_message_decode (const uint8_t *buffer, size_t len, curvecp_message_t *message);

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
