/*  curvecp_stream.h - one endpoint's CurveCP message layer, both ways.

    A pure state machine: the application writes and reads bytes, the
    carrier feeds in messages that arrived and asks for messages to send,
    and passes the time in every call. There is no I/O, no clock and no
    thread. Wire behaviour follows curvecpmessage (IDs from 1 skipping 0,
    resends under new IDs, at most 128 blocks outstanding, EOF acknowledged
    as total + 1) and interoperates with it; on top we send selective
    acknowledgments (ranges 2..6), repair losses they reveal before the
    timer fires, and keep a receive window so a slow reader stalls the
    sender instead of losing data. Our acknowledgments are shaped for
    curvecpmessage's sender: the acknowledged ID is always a message whose
    block completed range 1 when it arrived (else the latest such ID), and
    while the end of the peer's stream is unknown the highest selective
    range stops one byte short of the highest byte received. As a sender
    we read an acknowledged ID that names a block above range 1 (only
    curvecpmessage sends those: it names every message it stores) as
    proof of arrival, repair the holes below it early, and, when it shows
    losses, halve the blocks we keep unconfirmed at once (curvecpmessage
    drops whatever overflows its 64-message input queue), regrowing by
    one block per round trip.

    Carrier loop:
        curvecp_stream_receive (stream, m, len, now);     // for each message
        while ((n = curvecp_stream_produce (stream, now, buf, sizeof buf)))
            seal and send buf[0..n);
        sleep until curvecp_stream_deadline (stream) or input.

    Timing, for carriers: call produce until it returns 0 after every batch
    of input and every application write, and when the deadline passes.
    The deadline wants nanoseconds but tolerates lateness up to
    config.timer_resolution_ns (default 1 ms, the millisecond timeout of poll): pacing
    lets a timer resolution's worth of blocks out at once, and on a fast
    path the peer's acknowledgments (input) wake the sender far more often
    than its timer anyway. Firing early is harmless (produce returns 0).
    Retransmission timers are at least 10 ms, so a 1 ms timer costs them
    nothing.

    Between two of our peers (see curvecp_message.h for the wire forms):
      - a receive_window above 128 KiB is announced in every message we
        send (the window tag, in padding curvecpmessage ignores); a sender
        whose peer_window_max is above 128 KiB and that reads the tag keeps
        up to min(tag, peer_window_max) bytes and blocks_max blocks beyond
        the peer's range 1, otherwise 128 KiB and 128 blocks as always;
      - block_max above 1024 accepts large blocks, and
        curvecp_stream_set_send_block_max (once the peer said it accepts
        them) lets produce cut them, as large as the cap it is given.
    The default config uses neither: the wire is exactly curvecpmessage's. */
#ifndef CURVECP_STREAM_H_INCLUDED
#define CURVECP_STREAM_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_chicago.h"
#include "curvecp_message.h"
#include "curvecp_reason.h"

typedef struct _curvecp_stream_t curvecp_stream_t;

#define CURVECP_STREAM_BLOCKS_MAX     128      /* blocks outstanding at once */
#define CURVECP_STREAM_PEER_WINDOW 131072      /* curvecpmessage's receive buffer */
#define CURVECP_STREAM_TABLE_MAX     4096      /* largest blocks_max */

typedef struct _curvecp_stream_config_t {
    bool is_client;              /* 512-byte blocks until anything arrives */
    size_t send_buffer;          /* bytes the app may have unacknowledged (default 131072) */
    size_t receive_window;       /* bytes received but not read (default 131072) */
    curvecp_pacing_t pacing;     /* CHICAGO (UDP) or WINDOW (ordered carriers) */
    uint64_t give_up_ns;         /* fail after this long with data outstanding and
                                    nothing heard from the peer (default 60 s) */
    uint64_t ack_delay_ns;       /* longest the acknowledgment of a small in-order
                                    message (under 1024 bytes unacknowledged) may
                                    wait for data of ours to ride on (default 0);
                                    anything else is acknowledged at once */
    uint64_t now;                /* creation time */
    const curvecp_rng_t *rng;    /* NULL = system randomness; outlives the stream */
    uint64_t timer_resolution_ns;/* how late the carrier's wake-up for the
                                    deadline may come (0 = default 1 ms, as
                                    poll gives; ppoll, epoll_pwait2 with default
                                    timer slack: 50 us); CHICAGO pacing lets
                                    that much time's worth of blocks go in
                                    one burst */
    uint64_t idle_release_ns;    /* free an empty send or receive buffer after
                                    it stayed empty this long (0 = default
                                    100 ms; UINT64_MAX = never) */
    /* extensions for two of our peers (0 = off: NaCl's limits) */
    size_t block_max;            /* largest incoming block accepted (0 = 1024; up to
                                    CURVECP_MESSAGE_LARGE_DATA_MAX, only when the
                                    carrier carries messages of that size) */
    size_t blocks_max;           /* block table: most blocks in flight towards a peer
                                    that announced a window (0 = 128; 128..4096) */
    size_t peer_window_max;      /* most bytes in flight beyond the peer's range 1
                                    towards a peer that announced a larger window
                                    (0 = 128 KiB: never more than curvecpmessage takes) */
    size_t initial_buffer;       /* allocate the send and receive rings this small
                                    and double them as the bytes they must hold
                                    need (0 = their full size at first use): a
                                    connection that carries little never touches
                                    a large window */
} curvecp_stream_config_t;

/* Fill config with the defaults above (server, Chicago, now = 0). */
void curvecp_stream_config_default (curvecp_stream_config_t *config);

/* New stream. Buffers are allocated on first use and freed again once
   they have been empty (everything written acknowledged, everything
   received read) for idle_release_ns, or at once when that direction has
   ended; so an idle stream costs only its bookkeeping (curvecp_stream_memory,
   under 8 KiB). NULL on a bad config or no memory. */
curvecp_stream_t *curvecp_stream_new (const curvecp_stream_config_t *config);

/* Free and set *self_p to NULL. */
void curvecp_stream_destroy (curvecp_stream_t **self_p);

/* ---- application side ------------------------------------------------ */

/* Queue up to len bytes; returns how many were taken (0 when the send
   buffer is full, after close, or on failure). Never drops. */
size_t curvecp_stream_write (curvecp_stream_t *self, const uint8_t *data, size_t len);

/* End our stream with a success or failure EOF. Further writes take
   nothing. CURVECP_E_WRONG_STATE if already closed. */
curvecp_reason_t curvecp_stream_close (curvecp_stream_t *self, curvecp_eof_t eof);

/* curvecpmessage's ping: make sure a block goes out even with nothing
   to send, so a client's first message (and its Initiate) leaves at
   once. If no block was sent yet, the next block is a zero-length block
   at position 0 (or the first data or EOF block, if the application
   provides one first), resent on the timer until acknowledged, as any
   block. CURVECP_E_WRONG_STATE once a block was sent or the stream
   failed. */
curvecp_reason_t curvecp_stream_ping (curvecp_stream_t *self);

/* Copy up to cap contiguous received bytes out (out NULL: consume them
   uncopied, after a peek); returns how many. */
size_t curvecp_stream_read (curvecp_stream_t *self, uint8_t *out, size_t cap);

/* Zero-copy access to both buffers (a carrier's program pipes): the
   received bytes lying contiguous (then read (NULL, n) consumes n), and
   the free send space lying contiguous (then commit queues n <= that).
   See curvecp_stream_recv_peek and curvecp_stream_send_reserve. */
size_t curvecp_stream_peek (const curvecp_stream_t *self, const uint8_t **data);
size_t curvecp_stream_reserve (curvecp_stream_t *self, uint8_t **space);
void curvecp_stream_commit (curvecp_stream_t *self, size_t len);

/* Bytes ready to read now. */
size_t curvecp_stream_readable (const curvecp_stream_t *self);

/* How the peer's stream ended: NONE until the EOF has arrived and every
   byte before it has been read. */
curvecp_eof_t curvecp_stream_received_eof (const curvecp_stream_t *self);

/* Everything we wrote, and our EOF if we closed, is acknowledged. */
bool curvecp_stream_all_acked (const curvecp_stream_t *self);

/* Both directions are finished: our stream closed and acknowledged, the
   peer's EOF received and read. */
bool curvecp_stream_done (const curvecp_stream_t *self);

/* The connection gave up (peer silent for give_up_ns with data
   outstanding). A failed stream sends and accepts nothing more. */
bool curvecp_stream_failed (const curvecp_stream_t *self);

/* Limits: send buffer size, free space in it, and the receive window. */
size_t curvecp_stream_send_buffer (const curvecp_stream_t *self);
size_t curvecp_stream_send_space (const curvecp_stream_t *self);
size_t curvecp_stream_receive_window (const curvecp_stream_t *self);

/* ---- network side ---------------------------------------------------- */

/* A message M arrived (already opened by the session). Bad messages are
   counted per reason and change nothing. */
curvecp_reason_t curvecp_stream_receive (curvecp_stream_t *self, const uint8_t *message, size_t len,
        uint64_t now);

/* Write the next message due at now into out (cap >= CURVECP_MSG_MAX is
   always enough); returns its length, or 0 when nothing is due. Call
   again until it returns 0. */
size_t curvecp_stream_produce (curvecp_stream_t *self, uint64_t now, uint8_t *out, size_t cap);

/* When produce next wants to be called (UINT64_MAX = only after input or
   an application call). May be <= now. It includes the moment an idle
   buffer is due to be freed, so an idle stream wakes once more for that. */
uint64_t curvecp_stream_deadline (const curvecp_stream_t *self);

/* Largest message produce makes now (576 for a client until anything
   has arrived, so it fits an Initiate; 1088 after; with large blocks
   allowed, the message of the largest such block). */
size_t curvecp_stream_message_max (const curvecp_stream_t *self);

/* Allow blocks of up to block_max bytes (1024..65536) in what we send:
   only once the peer said it accepts them (it has block_max at least as
   large and its carrier carries such messages). produce then cuts blocks
   as large as fit its cap, never above block_max; give it the same cap on
   every call (a block cut larger than a later cap waits for a larger
   one). Before anything arrived, a client keeps its 512-byte blocks. */
curvecp_reason_t curvecp_stream_set_send_block_max (curvecp_stream_t *self, size_t block_max);

/* Window the peer announced (0 = none), and the limits we apply to what
   we keep in flight towards it now: bytes beyond its range 1, blocks. */
size_t curvecp_stream_peer_window (const curvecp_stream_t *self);
size_t curvecp_stream_flight_bytes_max (const curvecp_stream_t *self);
size_t curvecp_stream_flight_blocks_max (const curvecp_stream_t *self);

/* ---- observation ----------------------------------------------------- */

typedef struct {
    uint64_t messages_sent;      /* every message produced */
    uint64_t blocks_sent;        /* first transmissions of data/EOF blocks */
    uint64_t retransmissions;    /* blocks sent again (timer or early repair) */
    uint64_t timeouts;           /* of which by the retransmission timer */
    uint64_t acks_sent;          /* pure acknowledgments produced */
    uint64_t refused_window;     /* incoming data refused: receive window full */
    uint64_t refused_reorder;    /* incoming data dropped: reassembly list full */
    uint64_t duplicate_bytes;    /* incoming bytes we already had */
    uint64_t duplicate_blocks;   /* incoming data blocks we had whole: the
                                    peer's unneeded retransmissions */
    uint64_t buffer_allocations; /* send or receive buffer allocated */
    uint64_t buffer_releases;    /* ... and freed while the stream lives */
    uint64_t buffer_growths;     /* ... and doubled (config.initial_buffer) */
    uint64_t acks_repeated;      /* of acks_sent: acknowledgments showing a hole,
                                    repeated while both sides were quiet, for
                                    curvecpmessage, which may not retransmit
                                    until it hears from us (spec 9.4) */
    uint64_t large_blocks;       /* of blocks_sent: over 1024 bytes (large form) */
    uint64_t most_in_flight;     /* most blocks ever in the table at once */
} curvecp_stream_info_t;

/* Per-reason counts of received messages (counts[CURVECP_OK] = accepted). */
const curvecp_stats_t *curvecp_stream_stats (const curvecp_stream_t *self);
const curvecp_stream_info_t *curvecp_stream_info (const curvecp_stream_t *self);

/* Bytes this stream holds now: its bookkeeping, its controller and
   whichever buffers are allocated (allocator overhead not counted). */
size_t curvecp_stream_memory (const curvecp_stream_t *self);

/* Set the next message ID (tests and vectors: to see 0 skipped on wrap). */
void curvecp_stream_set_next_id (curvecp_stream_t *self, uint32_t id);

/* The decongestion controller (read-only use: RTT, rate). */
const curvecp_chicago_t *curvecp_stream_chicago (const curvecp_stream_t *self);

#endif
