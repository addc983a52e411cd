/*  curvecp_stream_recv.c - the receiving side of a stream (see
    curvecp_stream_recv.h for why it is a struct the stream embeds).

    Data goes into a ring buffer the size of the receive window, starting
    at the first unread byte; out-of-order pieces are remembered as up to
    REORDER_MAX intervals, which also become ranges 2..6 of our
    acknowledgments. Two rules keep those ranges from confusing
    curvecpmessage, which parses them but never sends them: an
    acknowledgment names (by ID) only a message whose block was new and
    completes range 1 (may_name), and the top range stops a byte short
    until the EOF is known (trim_top_range). Data beyond the window is
    refused but still answered by ID, so the sender hears that we are
    alive (it backs off its timer but not its rate and does not give up);
    once the reader frees space we send a window update (a pure ack
    naming no message, which curvecpmessage never sends) and the sender
    resends at once.                                                     */
#include "curvecp_stream_recv.h"
#include "curvecp_stream_common.h"

#define NUDGE_MAX_NS CURVECP_STREAM_NUDGE_MAX_NS
#define ACK_DELAY_BYTES 1024      /* unacknowledged in-order bytes that may wait */

typedef curvecp_stream_recv_t recv_t;

void
curvecp_stream_recv_init (recv_t *self, const curvecp_stream_config_t *config, curvecp_stream_info_t *info)
{
    memset (self, 0, sizeof *self);
    self->window = config->receive_window;
    self->initial_buffer = config->initial_buffer;
    self->idle_release_ns = config->idle_release_ns;
    self->ack_delay_ns = config->ack_delay_ns;
    self->info = info;
}

void
curvecp_stream_recv_term (recv_t *self)
{
    free (self->buf);
    self->buf = NULL;
}

/* ---- buffer ---------------------------------------------------------- */

static bool
recv_empty (const recv_t *self)
{
    return self->read == self->contig && self->interval_count == 0;
}

static bool
recv_ended (const recv_t *self, bool failed)
{
    return failed || (self->eof_known && self->read == self->total);
}

/* (Inside this file the static forms of the public getters are called:
   a shared library's exported functions are not inlined.) */
static uint64_t
release_time (const recv_t *self, bool failed)
{
    if (!self->buf || !recv_empty (self))
        return UINT64_MAX;
    if (recv_ended (self, failed))
        return 0;
    return curvecp_stream_idle_end (self->idle_since, self->idle_release_ns);
}

uint64_t
curvecp_stream_recv_release_time (const recv_t *self, bool failed)
{
    return release_time (self, failed);
}

void
curvecp_stream_recv_release_idle (recv_t *self, uint64_t now, bool failed)
{
    if (release_time (self, failed) <= now)
        curvecp_stream_buffer_free (&self->buf, self->info);
}

size_t
curvecp_stream_recv_memory (const recv_t *self)
{
    return self->buf ? self->buf_size : 0;
}

/* ---- application side ------------------------------------------------ */

static size_t
readable (const recv_t *self)
{
    return (size_t) (self->contig - self->read);
}

size_t
curvecp_stream_recv_readable (const recv_t *self)
{
    return readable (self);
}

size_t
curvecp_stream_recv_peek (const recv_t *self, const uint8_t **data)
{
    size_t len = readable (self);
    if (len == 0)
        return 0;
    size_t offset = (size_t) (self->read % self->buf_size);
    *data = self->buf + offset;
    return len < self->buf_size - offset ? len : self->buf_size - offset;
}

size_t
curvecp_stream_recv_read (recv_t *self, uint8_t *out, size_t cap, uint64_t clock)
{
    size_t len = readable (self);
    if (len > cap)
        len = cap;
    if (len == 0)
        return 0;
    if (out)
        curvecp_stream_ring_get (self->buf, self->buf_size, self->read, out, len);
    self->read += len;
    if (recv_empty (self))
        self->idle_since = clock;
    if (self->window_refused) {
        /* window update: due at once, whatever the ack delay */
        self->window_refused = false;
        self->ack_pending = true;
        self->ack_due = 0;
    }
    return len;
}

curvecp_eof_t
curvecp_stream_recv_eof (const recv_t *self)
{
    if (self->eof_known && self->read == self->total)
        return self->eof;
    return CURVECP_EOF_NONE;
}

/* ---- acknowledgments due ----------------------------------------------- */

static void
schedule_ack (recv_t *self, uint32_t id, uint64_t now, uint64_t delay)
{
    uint64_t due = now + delay;
    if (!self->ack_pending || due < self->ack_due)
        self->ack_due = due;
    self->ack_pending = true;
    if (id)
        self->ack_id = id;
}

bool
curvecp_stream_recv_ack_due (const recv_t *self, uint64_t now)
{
    return self->ack_pending && now >= self->ack_due;
}

uint64_t
curvecp_stream_recv_ack_time (const recv_t *self)
{
    return self->ack_pending ? self->ack_due : UINT64_MAX;
}

/* The nudge. curvecpmessage arms no timer for a retransmission that falls
   due before its next paced send (spec 9.4), so once it has sent all it
   has, a block it lost waits for its next wake-up: the next message we
   send, or 60 s. While our acknowledgments show a hole and nothing has
   passed either way for a while, we repeat the acknowledgment, backing
   off from max(rtt_timeout, 100 ms) to 4 s. It names the
   latest ID we may name (see may_name), never 0, so our own senders do
   not take it for a window update. */
static bool
nudge_armed (const recv_t *self)
{
    return self->interval_count > 0 && self->nameable_id != 0;
}

bool
curvecp_stream_recv_nudge_due (const recv_t *self, uint64_t now)
{
    return nudge_armed (self) && now >= self->nudge_at;
}

uint64_t
curvecp_stream_recv_nudge_time (const recv_t *self)
{
    return nudge_armed (self) ? self->nudge_at : UINT64_MAX;
}

void
curvecp_stream_recv_nudge (recv_t *self, uint64_t now)
{
    schedule_ack (self, self->nameable_id, now, 0);
    self->info->acks_repeated++;
    self->nudge_at = now + self->nudge_interval;
    self->nudge_interval = self->nudge_interval < NUDGE_MAX_NS / 2 ? 2 * self->nudge_interval : NUDGE_MAX_NS;
}


/* ---- receiving ------------------------------------------------------- */


static uint64_t
recv_highest (const recv_t *self)
{
    return self->interval_count ? self->intervals[self->interval_count - 1].end : self->contig;
}

/* Would this message contradict what we know (acks for bytes we never
   sent, data beyond or an EOF before the end we were told)? Such a
   message is refused whole, before anything changes. */
bool
curvecp_stream_recv_data_plausible (const recv_t *self, const curvecp_message_t *message)
{
    uint64_t data_end = message->position + message->data_len;
    if (self->eof_known) {
        if (data_end > self->total)
            return false;
        if (message->eof != CURVECP_EOF_NONE
        &&  (data_end != self->total || message->eof != self->eof))
            return false;
    }
    else
    if (message->eof != CURVECP_EOF_NONE && data_end < recv_highest (self))
        return false;
    return true;
}

/* Room in the interval list for [start, end)? If so, add it. */
static bool
interval_add (recv_t *self, uint64_t start, uint64_t end)
{
    curvecp_stream_interval_t *list = self->intervals;
    int first = 0;
    while (first < self->interval_count && list[first].end < start)
        first++;
    int last = first;
    while (last < self->interval_count && list[last].start <= end) {
        if (list[last].start < start)
            start = list[last].start;
        if (list[last].end > end)
            end = list[last].end;
        last++;
    }
    int removed = last - first;
    if (removed == 0 && self->interval_count == CURVECP_STREAM_REORDER_MAX)
        return false;
    if (removed != 1)
        memmove (list + first + 1, list + last, (size_t) (self->interval_count - last) * sizeof (curvecp_stream_interval_t));
    list[first].start = start;
    list[first].end = end;
    self->interval_count += 1 - removed;
    return true;
}

static void
advance_contig (recv_t *self)
{
    int merged = 0;
    while (merged < self->interval_count && self->intervals[merged].start <= self->contig) {
        if (self->intervals[merged].end > self->contig)
            self->contig = self->intervals[merged].end;
        merged++;
    }
    if (merged) {
        memmove (self->intervals, self->intervals + merged,
                 (size_t) (self->interval_count - merged) * sizeof (curvecp_stream_interval_t));
        self->interval_count -= merged;
    }
}

/* Do we hold [start, end) above recv_contig already? */
static bool
interval_holds (const recv_t *self, uint64_t start, uint64_t end)
{
    for (int i = 0; i < self->interval_count && self->intervals[i].start <= start; i++)
        if (end <= self->intervals[i].end)
            return true;
    return false;
}

typedef enum { STORE_REFUSED, STORE_DUPLICATE, STORE_NEW } store_result_t;

/* Store the new part of a data block. STORE_NEW if at least one byte of
   it had never arrived before (so no acknowledgment of ours can have
   covered the whole block yet). */
static store_result_t
store_data (recv_t *self, const curvecp_message_t *message)
{
    uint64_t end = message->position + message->data_len;
    uint64_t start = message->position > self->contig ? message->position : self->contig;
    self->info->duplicate_bytes += (start < end ? start : end) - message->position;
    if (start >= end) {
        self->info->duplicate_blocks += message->data_len > 0;
        return STORE_DUPLICATE;
    }
    if (interval_holds (self, start, end)) {
        self->info->duplicate_bytes += end - start;
        self->info->duplicate_blocks++;
        return STORE_DUPLICATE;
    }
    if (!curvecp_stream_ring_reserve (&self->buf, &self->buf_size, self->initial_buffer, self->window,
                                      self->read, end, self->info))
        return STORE_REFUSED;
    if (start > self->contig && !interval_add (self, start, end)) {
        self->info->refused_reorder++;
        return STORE_REFUSED;
    }
    curvecp_stream_ring_put (self->buf, self->buf_size, start,
              message->data + (start - message->position), (size_t) (end - start));
    if (start == self->contig)
        self->contig = end;
    advance_contig (self);
    return STORE_NEW;
}

/* May our acknowledgments name this message's ID? curvecpmessage takes an
   RTT sample whenever an acknowledgment names the latest transmission of
   any block still in its table, including a block that an earlier
   selective range already marked done but that waits there for the blocks
   below it: its send time is then 0, the "RTT" is the wall-clock time
   since 1970, and its retransmission timeout becomes decades (it stalled
   with 128 blocks outstanding). That happens when we name an ID twice (a
   duplicated or repeated acknowledgment) or name a duplicate block. So we
   name only a message whose block was new to us and lies inside range 1
   once stored: every acknowledgment that could have reached the peer
   before this one lacked part of the block, and every later one releases
   it from the peer's table through range 1. A lone empty block (a ping)
   qualifies at position 0 only, where no selective range can reach. */
static bool
may_name (const recv_t *self, const curvecp_message_t *message, store_result_t stored)
{
    uint64_t end = message->position + message->data_len;
    if (message->eof != CURVECP_EOF_NONE)
        return stored == STORE_NEW && self->contig == end;
    if (message->data_len == 0)
        return message->position == 0;
    return stored == STORE_NEW && end <= self->contig;
}

/* How long the acknowledgment of this message may wait for a message of
   ours to ride on (a reply, the next request): ack_delay_ns only for new
   data that arrived in order and, with what is not yet acknowledged, stays
   under ACK_DELAY_BYTES (small messages: a round trip then costs two
   datagrams, not four). Anything else is acknowledged at once as before:
   bulk data (the sender's window and RTT samples), a hole, a duplicate (a
   retransmission: our acknowledgment was lost), an EOF. */
static uint64_t
ack_delay (const recv_t *self, const curvecp_message_t *message, store_result_t stored)
{
    if (self->ack_delay_ns == 0 || stored != STORE_NEW || message->eof != CURVECP_EOF_NONE
    ||  message->data_len == 0 || self->interval_count > 0
    ||  self->contig != message->position + message->data_len
    ||  self->contig - self->acked_contig >= ACK_DELAY_BYTES)
        return 0;
    return self->ack_delay_ns;
}

curvecp_reason_t
curvecp_stream_recv_data (recv_t *self, const curvecp_message_t *message, uint64_t now)
{
    curvecp_reason_t reason = CURVECP_OK;
    uint64_t end = message->position + message->data_len;
    store_result_t stored = STORE_DUPLICATE;
    if (message->data_len || message->eof != CURVECP_EOF_NONE) {
        if (end > self->read + self->window) {
            self->info->refused_window++;
            self->window_refused = true;
            reason = CURVECP_E_FULL;
        }
        else {
            stored = store_data (self, message);
            if (stored == STORE_REFUSED)
                return CURVECP_E_FULL;  /* as if lost: no acknowledgment */
            if (message->eof != CURVECP_EOF_NONE && !self->eof_known) {
                stored = STORE_NEW;     /* the EOF itself is news */
                self->eof_known = true;
                self->eof = message->eof;
                self->total = end;
            }
        }
    }
    if (message->id) {
        /* every message with an ID is answered; one we may not name is
           answered under the latest ID we could name (0 if none yet),
           which can only give the sender a late RTT sample */
        if (may_name (self, message, stored))
            self->nameable_id = message->id;
        schedule_ack (self, self->nameable_id, now, ack_delay (self, message, stored));
        self->ack_data_end = end;
    }
    return reason;
}

#define PIECES_MAX (2 * CURVECP_STREAM_REORDER_MAX + 8)
#define PIECE_MAX  UINT16_MAX

/* Cut the out-of-order intervals into pieces a range field can carry. */
static int
ack_pieces (const recv_t *self, uint64_t *start, uint64_t *end)
{
    int count = 0;
    for (int i = 0; i < self->interval_count && count < PIECES_MAX; i++)
        for (uint64_t at = self->intervals[i].start; at < self->intervals[i].end && count < PIECES_MAX;
             at += PIECE_MAX) {
            start[count] = at;
            end[count++] = at + PIECE_MAX < self->intervals[i].end ? at + PIECE_MAX : self->intervals[i].end;
        }
    return count;
}

/* curvecpmessage counts a zero-length block as acknowledged by any range
   that reaches its position, and ends its stream with such a block when
   its EOF comes after the data: a selective range ending at our highest
   byte would tell it a lost EOF block had arrived, and it would never
   send it again. Until we know where the stream ends, the top range stops
   one byte short (the block holding that byte waits for a later range). */
static int
trim_top_range (const recv_t *self, uint64_t *start, uint64_t *end, int count)
{
    if (self->eof_known || count == 0 || end[count - 1] != recv_highest (self))
        return count;
    end[count - 1]--;
    return start[count - 1] < end[count - 1] ? count : count - 1;
}

/* Choose ranges 2..6: the lowest pieces, in order, so that every gap
   between reported ranges is a real hole (the sender repairs the holes
   it sees at once). If there are more pieces than fields, the last field
   carries the piece holding the data we acknowledge by ID instead of the
   fifth lowest, so that block is confirmed; a sender then must not read
   a hole below that last field (see detect_losses). */
static int
choose_ranges (const recv_t *self, uint64_t *start, uint64_t *end)
{
    uint64_t piece_start[PIECES_MAX], piece_end[PIECES_MAX];
    int pieces = ack_pieces (self, piece_start, piece_end);
    int fields = CURVECP_MESSAGE_RANGES - 1;
    int count = pieces < fields ? pieces : fields;
    for (int i = 0; i < count; i++) {
        start[i] = piece_start[i];
        end[i] = piece_end[i];
    }
    if (pieces > fields)
        for (int i = fields; i < pieces; i++)
            if (piece_start[i] < self->ack_data_end && self->ack_data_end <= piece_end[i]
            &&  piece_start[i] - end[fields - 2] <= UINT16_MAX) {
                start[fields - 1] = piece_start[i];
                end[fields - 1] = piece_end[i];
            }
    return trim_top_range (self, start, end, count);
}

void
curvecp_stream_recv_fill_ack (recv_t *self, curvecp_message_t *message)
{
    uint64_t range1 = self->contig;
    if (self->eof_known && self->contig == self->total)
        range1++;
    uint64_t start[CURVECP_MESSAGE_RANGES], end[CURVECP_MESSAGE_RANGES];
    int count = choose_ranges (self, start, end);
    curvecp_message_set_ranges (message, range1, start, end, count);
    self->acked_contig = self->contig;
    if (self->ack_pending) {
        message->acked_id = self->ack_id;
        self->ack_pending = false;
        self->ack_id = 0;
    }
}
