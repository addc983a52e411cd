/*  curvecp_stream_recv.h - the receiving side of a stream: incoming
    blocks reassembled in the receive buffer, the acknowledgments we owe
    (range 1, ranges 2..6, the ID we name, when to send one, when to
    repeat one: the nudge), the receive window, and the peer's EOF.
    Internal to the stream (curvecp_stream.c is its only user besides its
    unit test).

    A struct the stream embeds, like curvecp_stream_send_t and for the
    same reasons: the stream stays one small allocation and its
    per-packet path needs no pointer of its own. It owns its buffer:
    _init, then _term. Time comes in as arguments (now; clock, the
    stream's latest now, for calls from the application); its counters go
    into the stream's info. */
#ifndef CURVECP_STREAM_RECV_H_INCLUDED
#define CURVECP_STREAM_RECV_H_INCLUDED

#include "curvecp_stream.h"

#define CURVECP_STREAM_REORDER_MAX 32   /* out-of-order intervals kept */
#define CURVECP_STREAM_NUDGE_MIN_NS (100 * 1000000ull)  /* repeat acknowledgments showing a hole ... */
#define CURVECP_STREAM_NUDGE_MAX_NS (4000 * 1000000ull) /* ... backing off to this */

typedef struct {
    uint64_t start, end;
} curvecp_stream_interval_t;

typedef struct {
    /* from the stream's completed config */
    size_t window;                    /* receive_window */
    uint64_t idle_release_ns;
    uint64_t ack_delay_ns;
    curvecp_stream_info_t *info;      /* the stream's counters */

    uint8_t *buf;
    size_t buf_size;                  /* bytes allocated: up to window */
    size_t initial_buffer;            /* config.initial_buffer */
    uint64_t read;                    /* everything below was read */
    uint64_t contig;                  /* everything below has arrived */
    uint64_t idle_since;              /* buffer empty since then */
    curvecp_stream_interval_t intervals[CURVECP_STREAM_REORDER_MAX];
    int interval_count;
    bool eof_known;
    curvecp_eof_t eof;
    uint64_t total;
    bool ack_pending;
    uint32_t ack_id;
    uint64_t ack_due;
    uint64_t acked_contig;            /* contig as our latest acknowledgment said */
    uint32_t nameable_id;             /* latest message ID we may name (see may_name) */
    uint64_t ack_data_end;            /* end of the data in the latest message with an ID */
    bool window_refused;              /* refused data since the last read */
    uint64_t nudge_at;                /* repeat our acknowledgment then if it shows a hole */
    uint64_t nudge_interval;
} curvecp_stream_recv_t;

/* Start empty, with the limits of config (completed as curvecp_stream_new
   does: curvecp_stream_config_complete), counting into info. */
void curvecp_stream_recv_init (curvecp_stream_recv_t *self, const curvecp_stream_config_t *config,
        curvecp_stream_info_t *info);

/* Free the buffer. */
void curvecp_stream_recv_term (curvecp_stream_recv_t *self);

/* ---- application side ------------------------------------------------ */

/* Bytes ready to read now. */
size_t curvecp_stream_recv_readable (const curvecp_stream_recv_t *self);

/* The readable bytes that lie contiguous in the buffer (the ring may
   wrap: the rest comes after these are read); *data points at them,
   valid until the next read or input. 0 when none. */
size_t curvecp_stream_recv_peek (const curvecp_stream_recv_t *self, const uint8_t **data);

/* Copy up to cap contiguous bytes out (out NULL: consume them uncopied,
   after a peek); returns how many. Reading after data was refused for
   want of room makes a window update due at once.
   clock: the stream's latest time (when the buffer went idle). */
size_t curvecp_stream_recv_read (curvecp_stream_recv_t *self, uint8_t *out, size_t cap, uint64_t clock);

/* How the peer's stream ended: NONE until its EOF arrived and every byte
   before it was read. */
curvecp_eof_t curvecp_stream_recv_eof (const curvecp_stream_recv_t *self);

/* ---- network side ---------------------------------------------------- */

/* Does message's data fit what we know of the peer's stream (nothing
   beyond, or an EOF elsewhere than, the end we were told; no EOF below
   data we hold)? */
bool curvecp_stream_recv_data_plausible (const curvecp_stream_recv_t *self, const curvecp_message_t *message);

/* Take in the data (and EOF) of a valid message that arrived at now, and
   schedule its acknowledgment if it has an ID. CURVECP_OK if it was
   stored or held nothing new; CURVECP_E_FULL if refused: beyond the
   receive window (nothing stored, but still acknowledged, so the sender
   knows we are alive; reading makes a window update due), or the
   reassembly list full or no memory (dropped as if lost: no
   acknowledgment). Each refusal is counted in info. */
curvecp_reason_t curvecp_stream_recv_data (curvecp_stream_recv_t *self, const curvecp_message_t *message,
        uint64_t now);

/* Fill in our acknowledgment (range 1, ranges 2..6, and the ID we owe
   if one is due) on message; what was due is then sent. */
void curvecp_stream_recv_fill_ack (curvecp_stream_recv_t *self, curvecp_message_t *message);

/* An acknowledgment is due at now (ack_time: when, UINT64_MAX = none). */
bool curvecp_stream_recv_ack_due (const curvecp_stream_recv_t *self, uint64_t now);
uint64_t curvecp_stream_recv_ack_time (const curvecp_stream_recv_t *self);

/* The nudge: repeat an acknowledgment showing a hole while both sides
   are quiet. Restart its timer (base: the sender's rtt_timeout) whenever
   anything passes between us; nudge_time is when it is due (UINT64_MAX
   = never), nudge_due whether it is at now; nudge makes the repeated acknowledgment due and backs off. */
static inline void curvecp_stream_recv_restart_nudge (curvecp_stream_recv_t *self, uint64_t now, uint64_t rto);
uint64_t curvecp_stream_recv_nudge_time (const curvecp_stream_recv_t *self);
bool curvecp_stream_recv_nudge_due (const curvecp_stream_recv_t *self, uint64_t now);
void curvecp_stream_recv_nudge (curvecp_stream_recv_t *self, uint64_t now);

/* Inline: it runs for every message either way. */
static inline void
curvecp_stream_recv_restart_nudge (curvecp_stream_recv_t *self, uint64_t now, uint64_t rto)
{
    self->nudge_interval = rto < CURVECP_STREAM_NUDGE_MIN_NS ? CURVECP_STREAM_NUDGE_MIN_NS
                         : rto > CURVECP_STREAM_NUDGE_MAX_NS ? CURVECP_STREAM_NUDGE_MAX_NS : rto;
    self->nudge_at = now + self->nudge_interval;
}

/* ---- memory ---------------------------------------------------------- */

/* When the buffer is due to be freed (UINT64_MAX = not; at once when
   the stream failed or the peer's stream ended and was read). */
uint64_t curvecp_stream_recv_release_time (const curvecp_stream_recv_t *self, bool failed);

/* Free the buffer if it is due at now. */
void curvecp_stream_recv_release_idle (curvecp_stream_recv_t *self, uint64_t now, bool failed);

/* Bytes held outside the struct: the buffer. */
size_t curvecp_stream_recv_memory (const curvecp_stream_recv_t *self);

#endif
