/*  curvecp_stream_send.h - the sending side of a stream: the bytes the
    application wrote, the blocks cut from them that are in flight, which
    block goes out next (a repair, an expired timer, or a new block), what
    an acknowledgment says about them, and our EOF. Internal to the
    stream (curvecp_stream.c is its only user besides its unit test).

    A struct the stream embeds rather than an opaque class of its own:
    a small block table lives inline, so an idle stream stays one
    allocation of about 1.5 KiB (curvecp_stream_memory), and the stream's
    per-packet path reaches the side without a pointer of its own. It
    owns its buffer and its wider table: _init, then _term.

    It does not know Chicago: the retransmission timeout comes in as rto,
    and what an acknowledgment means for the controller (an RTT sample, a
    loss) comes back in curvecp_stream_acked_t for the stream to pass on.
    Its counters go into the stream's info. The method names
    curvecp_stream_send_space and curvecp_stream_send_buffer belong to the
    stream's public API, not to this class. */
#ifndef CURVECP_STREAM_SEND_H_INCLUDED
#define CURVECP_STREAM_SEND_H_INCLUDED

#include "curvecp_stream.h"

#define CURVECP_STREAM_BLOCK_CLIENT_EARLY 512    /* a client's blocks until anything arrived:
                                                     its first message must fit an Initiate */
#define CURVECP_STREAM_INLINE_BLOCKS 4   /* the block table inside the struct: enough for a
                                           request, a reply, an EOF; more grows a table on use */
#define CURVECP_STREAM_ID_SLOTS 8       /* message ID -> block lookup (IDs in flight are recent):
                                           at least twice the table, a power of two */

typedef struct {
    uint64_t position;
    uint64_t sent_at;         /* latest transmission */
    uint64_t seq;             /* transmission number of the latest transmission */
    uint32_t id;              /* its message ID */
    uint32_t tries;           /* timer expiries (or window probes) in a row */
    uint32_t length;
    bool eof;
    bool acked;
    bool resent;              /* sent more than once: no RTT sample from ranges (Karn) */
    bool seen_below_top;      /* a range stopped a byte short of its end (note_trimmed_arrival) */
    bool peer_has;            /* named by an acknowledgment that did not cover it */
    uint8_t where;            /* not on a list (acknowledged), in flight, or lost */
    int16_t prev, next;       /* neighbours on that list (slot numbers) */
} curvecp_stream_block_t;

/* A list threaded through the block table by slot number. */
typedef struct {
    int16_t head, tail;
} curvecp_stream_list_t;

typedef struct {
    /* from the stream's completed config */
    size_t buffer_size;
    size_t blocks_max;
    size_t peer_window_max;
    uint64_t give_up_ns;
    uint64_t idle_release_ns;
    bool is_client;
    curvecp_stream_info_t *info;      /* the stream's counters */

    bool heard_peer;                  /* anything arrived: full-size blocks */
    bool ping_wanted;                 /* curvecp_stream_ping: an empty block at 0 */
    uint8_t *buf;
    size_t buf_size;                  /* bytes allocated: up to buffer_size */
    size_t initial_buffer;            /* config.initial_buffer */
    uint64_t released;                /* everything below is acknowledged */
    uint64_t cut;                     /* everything below is in blocks */
    uint64_t written;                 /* everything below came from the app */
    uint64_t idle_since;              /* buffer empty since then */
    curvecp_eof_t eof;
    bool eof_cut, eof_acked;
    curvecp_stream_block_t *blocks;   /* the block table: inline_blocks or a wider one */
    uint16_t *id_slot;                /* slot of the block last sent with ID i (& id_mask) */
    int table_size;
    bool widen_failed;                /* the last widening found no memory: no more tries
                                         until an acknowledgment frees blocks */
    uint32_t id_mask;
    int block_head, block_count;
    curvecp_stream_list_t flight, lost;
    size_t block_max;                 /* largest block we may send (set_block_max) */
    uint32_t peer_window;             /* window the peer announced (0 = none) */
    uint32_t next_id;
    uint64_t next_seq;
    uint64_t max_acked_seq;
    curvecp_stream_block_t *sample_block;   /* newest once-sent block the ack being handled covered */
    bool peer_names_all;              /* the peer names blocks above its range 1 (curvecpmessage) */
    uint64_t peer_has_end;            /* highest end of a block it named so */
    int unconfirmed;                  /* blocks neither acknowledged nor named */
    int lost_count;                   /* blocks on the lost list */
    int flight_limit;                 /* most unconfirmed blocks at once (see limit_flight) */
    int flight_credit;                /* blocks confirmed towards the next raise of the limit */
    uint64_t limit_cut_seq;           /* next transmission after the latest cut of the limit */

    curvecp_stream_block_t inline_blocks[CURVECP_STREAM_INLINE_BLOCKS];
    uint16_t inline_id_slot[CURVECP_STREAM_ID_SLOTS];
} curvecp_stream_send_t;

/* What an acknowledgment means for the decongestion controller. */
typedef struct {
    bool rtt_sample;                  /* a transmission sent at sent_at arrived */
    uint64_t sent_at;
    bool loss;                        /* blocks were found lost */
} curvecp_stream_acked_t;

/* Start empty, with the limits of config (completed as curvecp_stream_new
   does: curvecp_stream_config_complete), counting into info. */
void curvecp_stream_send_init (curvecp_stream_send_t *self, const curvecp_stream_config_t *config,
        curvecp_stream_info_t *info);

/* Free the buffer and a wider table. */
void curvecp_stream_send_term (curvecp_stream_send_t *self);

/* ---- application side ------------------------------------------------ */

/* Free space in the buffer (0 once closed). */
size_t curvecp_stream_send_writable (const curvecp_stream_send_t *self);

/* Take up to len bytes (as many as fit); returns how many. */
size_t curvecp_stream_send_write (curvecp_stream_send_t *self, const uint8_t *data, size_t len);

/* Write in place: the free space that lies contiguous in the buffer
   (allocating it on first use), *space pointing at it; 0 when full,
   closed or out of memory. Then commit the bytes put there (at most
   what reserve returned): they are queued as if written. */
size_t curvecp_stream_send_reserve (curvecp_stream_send_t *self, uint8_t **space);
void curvecp_stream_send_commit (curvecp_stream_send_t *self, size_t len);

/* End with eof after the bytes written. CURVECP_E_WRONG_STATE if closed
   already, CURVECP_E_BAD_ARGUMENT if eof is not SUCCESS or FAILURE. */
curvecp_reason_t curvecp_stream_send_close (curvecp_stream_send_t *self, curvecp_eof_t eof);

/* Send an empty block at 0 if no block was sent yet
   (CURVECP_E_WRONG_STATE once one was). */
curvecp_reason_t curvecp_stream_send_ping (curvecp_stream_send_t *self);

/* Everything written, and the EOF if closed, is acknowledged. */
bool curvecp_stream_send_all_acked (const curvecp_stream_send_t *self);

/* Closed, and the EOF is acknowledged. */
bool curvecp_stream_send_eof_acked (const curvecp_stream_send_t *self);

/* ---- limits ------------------------------------------------------------ */

/* (The small methods on the stream's per-packet path are inline.) */

/* Largest block cut now (512 for a client that has heard nothing yet). */
static inline size_t
curvecp_stream_send_block_max (const curvecp_stream_send_t *self)
{
    return self->is_client && !self->heard_peer ? CURVECP_STREAM_BLOCK_CLIENT_EARLY : self->block_max;
}

curvecp_reason_t curvecp_stream_send_set_block_max (curvecp_stream_send_t *self, size_t block_max);

/* Something valid arrived from the peer: full-size blocks from now on. */
static inline void
curvecp_stream_send_peer_heard (curvecp_stream_send_t *self)
{
    self->heard_peer = true;
}

/* The window the peer announced, and what we keep in flight towards it. */
void curvecp_stream_send_set_peer_window (curvecp_stream_send_t *self, uint32_t window);
size_t curvecp_stream_send_peer_window (const curvecp_stream_send_t *self);
size_t curvecp_stream_send_flight_bytes_max (const curvecp_stream_send_t *self);
size_t curvecp_stream_send_flight_blocks_max (const curvecp_stream_send_t *self);

/* ---- network side ---------------------------------------------------- */

/* Does message acknowledge only what we sent (range 1 up to our cut, or
   one past our EOF)? */
static inline bool
curvecp_stream_send_ack_plausible (const curvecp_stream_send_t *self, const curvecp_message_t *message)
{
    return message->range1_end <= self->cut + (self->eof_cut ? 1 : 0);
}

/* Process an acknowledgment: the ID it names, its ranges (blocks done,
   holes showing losses), a window update; release the acknowledged
   blocks (clock: the stream's latest time, when the buffer went idle).
   Returns what the controller should hear, in this order: the RTT
   sample, then the loss. */
curvecp_stream_acked_t curvecp_stream_send_ack (curvecp_stream_send_t *self, const curvecp_message_t *message,
        uint64_t clock);

/* Why curvecp_stream_send_next chose its block. */
typedef enum {
    CURVECP_STREAM_SEND_NONE,         /* nothing may go now */
    CURVECP_STREAM_SEND_NEW,          /* a block cut now ... */
    CURVECP_STREAM_SEND_FIRST,        /* ... into an empty table: we wait for the peer from now */
    CURVECP_STREAM_SEND_REPAIR,       /* a block found lost (or its window reopened) */
    CURVECP_STREAM_SEND_TIMEOUT       /* a block whose timer expired: the timer backs off */
} curvecp_stream_send_why_t;

/* The block to send at now under rto, for a message of at most cap
   bytes: the first lost one (if the flight limit allows), or an expired
   timer, else a new block cut from the buffer if the limits allow one
   (widening the table first if the peer allows more). A resend cut
   larger than cap can carry waits for a larger cap. NULL if none; *why
   says which (resends are counted in info). */
curvecp_stream_block_t *curvecp_stream_send_next (curvecp_stream_send_t *self, uint64_t now, uint64_t rto,
        size_t cap, curvecp_stream_send_why_t *why);

/* Transmit block at now: a new message ID, the block's position, length,
   EOF and data go into message (whose acknowledgment fields the caller
   filled), encoded into out. Returns the message's length (0 if cap is
   too small). */
size_t curvecp_stream_send_transmit (curvecp_stream_send_t *self, curvecp_stream_block_t *block, uint64_t now,
        curvecp_message_t *message, uint8_t *out, size_t cap);

/* When a block may next go out under rto: 0 if a new one may be cut now,
   else the earliest resend (UINT64_MAX if nothing is outstanding). */
uint64_t curvecp_stream_send_next_time (const curvecp_stream_send_t *self, uint64_t rto);

/* Blocks in flight (cut and not yet released). */
static inline int
curvecp_stream_send_blocks (const curvecp_stream_send_t *self)
{
    return self->block_count;
}

/* Set the next message ID (0 is skipped). */
void curvecp_stream_send_set_next_id (curvecp_stream_send_t *self, uint32_t id);

/* ---- memory ---------------------------------------------------------- */

/* When the buffer is due to be freed (UINT64_MAX = not; the stream
   failed: at once). */
uint64_t curvecp_stream_send_release_time (const curvecp_stream_send_t *self, bool failed);

/* Free the buffer if due, and go back to the inline table once the
   buffer is gone and no block is in flight. */
void curvecp_stream_send_release_idle (curvecp_stream_send_t *self, uint64_t now, bool failed);

/* Bytes held outside the struct: buffer and a wider table. */
size_t curvecp_stream_send_memory (const curvecp_stream_send_t *self);

#endif
