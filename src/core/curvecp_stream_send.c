/*  curvecp_stream_send.c - the sending side of a stream (see
    curvecp_stream_send.h for why it is a struct the stream embeds).

    The application's bytes go into a ring buffer (allocated on first
    write). Blocks are cut from it only when one may go out, so the block
    table holds exactly the blocks in flight (at most 128, as
    curvecpmessage), in stream order. Each transmission gets a new message
    ID and a 64-bit sequence number; an acknowledgment's ranges mark blocks
    done, and a block still missing after three later transmissions were
    acknowledged is resent at once (selective-ack repair) instead of
    waiting for the timer. The timer is always armed.

    Nothing on the per-block path scans the table: unacknowledged blocks
    sit on one of two lists threaded through the table, "flight" in
    transmission order (so its head has the oldest timer and the lowest
    sequence number) and "lost" (to resend now); ranges find their blocks
    by binary search; an acknowledgment's ID finds its block through a
    small table indexed by the ID's low bits.

    As a sender we take RTT samples from ranges too, since our receivers
    (curvecp_stream_recv) name IDs only of blocks completing range 1.

    The block table holds CURVECP_STREAM_INLINE_BLOCKS blocks inside the
    struct (enough for a request, a reply, an EOF); once they are all in
    flight a table as wide as the flight limit is allocated (128 blocks,
    or blocks_max towards a peer that announced a window; wider again if
    the peer widens its window later). The wide table goes back to the
    inline one when the idle buffer is released, so idle streams and
    streams that send little stay small: a server holding many idle
    connections holds no block tables.                                   */
#include "curvecp_stream_send.h"
#include "curvecp_stream_common.h"

#define LOSS_REORDER       3           /* later transmissions acked before a block counts as lost */
#define BACKOFF_SHIFT_MAX  6           /* timer backoff: up to 64 x rtt_timeout */
#define GIVE_UP_TRIES     16           /* ... but at least this many tries before giving up */
#define FLIGHT_LIMIT_MIN   8           /* blocks: floor of the flight limit (see limit_flight) */

/* Lists threaded through the block table by slot number. */
#define IN_NONE   0
#define IN_FLIGHT 1               /* sent, waiting for its acknowledgment or timer */
#define IN_LOST   2               /* found lost early or window reopened: resend now */
#define NO_SLOT  (-1)
#define ID_SLOTS CURVECP_STREAM_ID_SLOTS
_Static_assert ((ID_SLOTS & (ID_SLOTS - 1)) == 0 && ID_SLOTS >= 2 * CURVECP_STREAM_INLINE_BLOCKS,
                "the inline ID lookup: a power of two, twice the inline table");

typedef curvecp_stream_block_t block_t;
typedef curvecp_stream_list_t list_t;
typedef curvecp_stream_send_t send_t;

void
curvecp_stream_send_init (send_t *self, const curvecp_stream_config_t *config, curvecp_stream_info_t *info)
{
    memset (self, 0, sizeof *self);
    self->buffer_size = config->send_buffer;
    self->initial_buffer = config->initial_buffer;
    self->blocks_max = config->blocks_max;
    self->peer_window_max = config->peer_window_max;
    self->give_up_ns = config->give_up_ns;
    self->idle_release_ns = config->idle_release_ns;
    self->is_client = config->is_client;
    self->info = info;
    self->blocks = self->inline_blocks;
    self->id_slot = self->inline_id_slot;
    self->table_size = CURVECP_STREAM_INLINE_BLOCKS;
    self->id_mask = ID_SLOTS - 1;
    self->block_max = CURVECP_MESSAGE_DATA_MAX;
    self->next_id = 1;
    self->flight_limit = (int) self->blocks_max;
    self->flight.head = self->flight.tail = NO_SLOT;
    self->lost.head = self->lost.tail = NO_SLOT;
}

void
curvecp_stream_send_term (send_t *self)
{
    if (self->blocks != self->inline_blocks)
        free (self->blocks);
    self->blocks = self->inline_blocks;
    free (self->buf);
    self->buf = NULL;
}

/* ---- buffer ---------------------------------------------------------- */

static bool
send_empty (const send_t *self)
{
    return self->released == self->written;
}

/* (Inside this file the static forms of the public getters are called:
   a shared library's exported functions are not inlined.) */
static uint64_t
release_time (const send_t *self, bool failed)
{
    if (!self->buf)
        return UINT64_MAX;
    if (failed)
        return 0;                       /* nothing will be sent again */
    if (!send_empty (self))
        return UINT64_MAX;
    if (self->eof != CURVECP_EOF_NONE)
        return 0;                       /* nothing more can be written */
    return curvecp_stream_idle_end (self->idle_since, self->idle_release_ns);
}

uint64_t
curvecp_stream_send_release_time (const send_t *self, bool failed)
{
    return release_time (self, failed);
}

static void table_narrow (send_t *self);

void
curvecp_stream_send_release_idle (send_t *self, uint64_t now, bool failed)
{
    if (release_time (self, failed) <= now)
        curvecp_stream_buffer_free (&self->buf, self->info);
    if (!self->buf && self->block_count == 0)
        table_narrow (self);
}

/* ID lookup slots for a table of size blocks: a power of two, at least
   twice the table. */
static uint32_t
id_slots_for (int size)
{
    uint32_t id_slots = ID_SLOTS;
    while (id_slots < 2 * (uint32_t) size)
        id_slots *= 2;
    return id_slots;
}

/* Bytes of a wide block table of size blocks and its ID lookup. */
static size_t
table_bytes (int size)
{
    return (size_t) size * sizeof (block_t) + id_slots_for (size) * sizeof (uint16_t);
}

size_t
curvecp_stream_send_memory (const send_t *self)
{
    return (self->buf ? self->buf_size : 0)
         + (self->blocks != self->inline_blocks ? table_bytes (self->table_size) : 0);
}

/* ---- application side ------------------------------------------------ */

static size_t
writable (const send_t *self)
{
    if (self->eof != CURVECP_EOF_NONE)
        return 0;
    return self->buffer_size - (size_t) (self->written - self->released);
}

size_t
curvecp_stream_send_writable (const send_t *self)
{
    return writable (self);
}

size_t
curvecp_stream_send_write (send_t *self, const uint8_t *data, size_t len)
{
    size_t space = writable (self);
    if (len > space)
        len = space;
    if (len == 0)
        return 0;
    if (!curvecp_stream_ring_reserve (&self->buf, &self->buf_size, self->initial_buffer, self->buffer_size,
                                      self->released, self->written + len, self->info))
        return 0;
    curvecp_stream_ring_put (self->buf, self->buf_size, self->written, data, len);
    self->written += len;
    return len;
}

size_t
curvecp_stream_send_reserve (send_t *self, uint8_t **space)
{
    size_t len = writable (self);
    if (len == 0 || !curvecp_stream_ring_reserve (&self->buf, &self->buf_size, self->initial_buffer,
                                                  self->buffer_size, self->released, self->written + len,
                                                  self->info))
        return 0;
    size_t offset = (size_t) (self->written % self->buf_size);
    *space = self->buf + offset;
    return len < self->buf_size - offset ? len : self->buf_size - offset;
}

void
curvecp_stream_send_commit (send_t *self, size_t len)
{
    /* never more than there is room for: the ring's accounting stays sound */
    size_t room = writable (self);
    self->written += len < room ? len : room;
}

curvecp_reason_t
curvecp_stream_send_ping (send_t *self)
{
    if (self->block_count > 0 || self->cut > 0 || self->eof_cut || self->info->blocks_sent > 0)
        return CURVECP_E_WRONG_STATE;
    self->ping_wanted = true;
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_stream_send_close (send_t *self, curvecp_eof_t eof)
{
    if (eof != CURVECP_EOF_SUCCESS && eof != CURVECP_EOF_FAILURE)
        return CURVECP_E_BAD_ARGUMENT;
    if (self->eof != CURVECP_EOF_NONE)
        return CURVECP_E_WRONG_STATE;
    self->eof = eof;
    return CURVECP_OK;
}

bool
curvecp_stream_send_all_acked (const send_t *self)
{
    return self->released == self->written
        && (self->eof == CURVECP_EOF_NONE || self->eof_acked);
}

bool
curvecp_stream_send_eof_acked (const send_t *self)
{
    return self->eof != CURVECP_EOF_NONE && self->eof_acked;
}

/* ---- limits ------------------------------------------------------------ */

static block_t *
block_at (send_t *self, int index)
{
    return &self->blocks[(self->block_head + index) % self->table_size];
}

curvecp_reason_t
curvecp_stream_send_set_block_max (send_t *self, size_t block_max)
{
    if (block_max < CURVECP_MESSAGE_DATA_MAX || block_max > CURVECP_MESSAGE_LARGE_DATA_MAX)
        return CURVECP_E_BAD_ARGUMENT;
    self->block_max = block_max;
    return CURVECP_OK;
}

void
curvecp_stream_send_set_peer_window (send_t *self, uint32_t window)
{
    self->peer_window = window;
}

/* The peer announced a window above curvecpmessage's, and we may use it. */
static bool
peer_is_wide (const send_t *self)
{
    return self->peer_window > CURVECP_STREAM_PEER_WINDOW
        && self->peer_window_max > CURVECP_STREAM_PEER_WINDOW;
}

size_t
curvecp_stream_send_peer_window (const send_t *self)
{
    return self->peer_window;
}

static size_t
flight_bytes_max (const send_t *self)
{
    if (!peer_is_wide (self))
        return CURVECP_STREAM_PEER_WINDOW;
    return self->peer_window < self->peer_window_max ? self->peer_window : self->peer_window_max;
}

static size_t
flight_blocks_max (const send_t *self)
{
    return peer_is_wide (self) ? self->blocks_max : CURVECP_STREAM_BLOCKS_MAX;
}

size_t
curvecp_stream_send_flight_bytes_max (const send_t *self)
{
    return flight_bytes_max (self);
}

size_t
curvecp_stream_send_flight_blocks_max (const send_t *self)
{
    return flight_blocks_max (self);
}

void
curvecp_stream_send_set_next_id (send_t *self, uint32_t id)
{
    self->next_id = id ? id : 1;
}

/* ---- block table ----------------------------------------------------- */

/* Move the blocks in flight into table (size entries) and id_slot, in
   stream order from slot 0; list links follow their blocks. IDs of
   earlier transmissions are forgotten (their acknowledgments only
   matched the latest transmission anyway). */
static void
table_move (send_t *self, block_t *table, int size, uint16_t *id_slot, uint32_t id_mask)
{
    int16_t map[CURVECP_STREAM_TABLE_MAX];
    for (int i = 0; i < self->block_count; i++) {
        int old = (self->block_head + i) % self->table_size;
        table[i] = self->blocks[old];
        map[old] = (int16_t) i;
    }
    for (int i = 0; i < self->block_count; i++) {
        if (table[i].prev != NO_SLOT)
            table[i].prev = map[table[i].prev];
        if (table[i].next != NO_SLOT)
            table[i].next = map[table[i].next];
    }
    list_t *lists[2] = { &self->flight, &self->lost };
    for (int l = 0; l < 2; l++)
        if (lists[l]->head != NO_SLOT) {
            lists[l]->head = map[lists[l]->head];
            lists[l]->tail = map[lists[l]->tail];
        }
    memset (id_slot, 0, (id_mask + 1) * sizeof (uint16_t));
    for (int i = 0; i < self->block_count; i++)
        if (table[i].id)
            id_slot[table[i].id & id_mask] = (uint16_t) i;
    if (self->blocks != self->inline_blocks)
        free (self->blocks);
    self->blocks = table;
    self->id_slot = id_slot;
    self->table_size = size;
    self->id_mask = id_mask;
    self->block_head = 0;
}

/* A table as wide as the flight limit, once this one is full: one
   allocation per busy spell, whatever the flight's timing (doubling
   would make the count depend on how far a flight happened to grow).
   Allocation failure just keeps the narrow one: fewer blocks fly. */
static void
table_widen (send_t *self)
{
    int size = (int) flight_blocks_max (self);
    if (size <= self->table_size)
        return;
    block_t *table = (block_t *) malloc (table_bytes (size));
    self->widen_failed = !table;
    if (!table)
        return;
    table_move (self, table, size, (uint16_t *) (table + size), id_slots_for (size) - 1);
}

/* Back to the inline table once it is empty. */
static void
table_narrow (send_t *self)
{
    if (self->blocks != self->inline_blocks && self->block_count == 0)
        table_move (self, self->inline_blocks, CURVECP_STREAM_INLINE_BLOCKS, self->inline_id_slot, ID_SLOTS - 1);
}

static void
list_unlink (send_t *self, block_t *block)
{
    if (block->where == IN_NONE)
        return;
    self->lost_count -= block->where == IN_LOST;
    list_t *list = block->where == IN_LOST ? &self->lost : &self->flight;
    if (block->prev != NO_SLOT)
        self->blocks[block->prev].next = block->next;
    else
        list->head = block->next;
    if (block->next != NO_SLOT)
        self->blocks[block->next].prev = block->prev;
    else
        list->tail = block->prev;
    block->where = IN_NONE;
}

static void
list_append (send_t *self, block_t *block, uint8_t where)
{
    list_unlink (self, block);
    list_t *list = where == IN_LOST ? &self->lost : &self->flight;
    int16_t slot = (int16_t) (block - self->blocks);
    block->prev = list->tail;
    block->next = NO_SLOT;
    if (list->tail != NO_SLOT)
        self->blocks[list->tail].next = slot;
    else
        list->head = slot;
    list->tail = slot;
    block->where = where;
    self->lost_count += where == IN_LOST;
}

/* The acknowledgment being handled shows that this block arrived: later
   evidence for the loss of blocks sent before it, and an RTT sample if
   it was sent once (Karn) and is the newest such block. */
static void
note_arrival (send_t *self, block_t *block)
{
    if (block->seq > self->max_acked_seq)
        self->max_acked_seq = block->seq;
    if (!block->resent && (!self->sample_block || block->seq > self->sample_block->seq))
        self->sample_block = block;
}

/* A block the peer confirmed (acknowledged, or named): it no longer
   counts against the flight limit, which regrows by one block per
   flight_limit blocks confirmed (about one per round trip). */
static void
confirm_block (send_t *self, block_t *block)
{
    if (block->peer_has)
        return;
    self->unconfirmed--;
    if (self->flight_limit < (int) self->blocks_max && ++self->flight_credit >= self->flight_limit) {
        self->flight_limit++;
        self->flight_credit = 0;
    }
}

static void
ack_block (send_t *self, block_t *block)
{
    list_unlink (self, block);
    block->acked = true;
    confirm_block (self, block);
    note_arrival (self, block);
}

/* curvecpmessage acknowledges every message it stores, by ID, with range
   1 only: an ID naming a block above range 1 says that block arrived
   (our own receivers name only blocks inside range 1, so this never
   happens with them). It counts as evidence, like a selective range,
   but the block stays unreleased until range 1 covers it. */
static void
note_named (send_t *self, block_t *block)
{
    if (block->acked || block->peer_has)
        return;
    confirm_block (self, block);
    block->peer_has = true;
    self->peer_names_all = true;
    if (block->position + block->length > self->peer_has_end)
        self->peer_has_end = block->position + block->length;
    note_arrival (self, block);
}

/* A selective range that stops one byte short of a block's end is, in
   all likelihood, a receiver hiding its top byte (see trim_top_range):
   the block arrived. Not enough to release it (a receiver could have
   stored part of it), but evidence that the blocks sent before it and
   still missing were lost, and an RTT sample. */
static void
note_trimmed_arrival (send_t *self, block_t *block)
{
    if (block->acked || block->seen_below_top)
        return;             /* only the first such acknowledgment is timely */
    block->seen_below_top = true;
    note_arrival (self, block);
}

/* Index of the first block at or after position (block_count if none). */
static int
block_index_from (send_t *self, uint64_t position)
{
    int low = 0, high = self->block_count;
    while (low < high) {
        int mid = (low + high) / 2;
        if (block_at (self, mid)->position < position)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

/* Mark the blocks inside the acknowledged ranges. Range 1 starts at 0;
   an EOF block needs range 1 to reach one past the end of the stream. */
static void
ack_ranges (send_t *self, const uint64_t *start, const uint64_t *end, int count)
{
    for (int i = 0; i < self->block_count; i++) {
        block_t *block = block_at (self, i);
        uint64_t block_end = block->position + block->length;
        if (block->eof ? end[0] <= block_end : end[0] < block_end)
            break;
        if (!block->acked)
            ack_block (self, block);
    }
    for (int r = 1; r < count; r++)
        for (int i = block_index_from (self, start[r]); i < self->block_count; i++) {
            block_t *block = block_at (self, i);
            if (!block->eof && block->position + block->length == end[r] + 1)
                note_trimmed_arrival (self, block);
            if (block->eof || block->position + block->length > end[r])
                break;
            if (!block->acked)
                ack_block (self, block);
        }
}

static void
release_acked_blocks (send_t *self, uint64_t clock)
{
    while (self->block_count > 0 && block_at (self, 0)->acked) {
        block_t *block = block_at (self, 0);
        self->released = block->position + block->length;
        if (block->eof)
            self->eof_acked = true;
        self->block_head = (self->block_head + 1) % self->table_size;
        self->block_count--;
    }
    if (self->block_count == 0)
        self->released = self->cut;
    if (send_empty (self))
        self->idle_since = clock;
}

/* The peer's reader freed space after refusing data: resend what the
   timer is holding back at once instead of after the backoff, in stream
   order, since the lowest block is the one the reader waits for (the
   rest may be refused again). Rare: a walk over the table is fine. */
static void
reopen_window (send_t *self)
{
    for (int i = 0; i < self->block_count; i++) {
        block_t *block = block_at (self, i);
        if (block->where != IN_NONE && (block->tries > 0 || block->where == IN_LOST)) {
            block->tries = 0;
            list_append (self, block, IN_LOST);
        }
    }
}

/* How far up this acknowledgment shows the peer's holes: every block
   below the returned position that it does not cover, the peer lacks.
   Up to four selective ranges are the peer's lowest pieces in order; a
   fifth may be a piece further up (ours puts the block just acknowledged
   there), so the gap below it proves nothing. A peer that sends range 1
   only (curvecpmessage) shows no holes at all. */
static uint64_t
holes_shown_below (const curvecp_message_t *message, const uint64_t *end, int count)
{
    int fields = 0;
    for (int i = 0; i < CURVECP_MESSAGE_RANGES - 1; i++)
        fields += message->size[i] > 0;
    if (fields == CURVECP_MESSAGE_RANGES - 1 && count > 1)
        return end[count - 2];
    return end[count - 1];
}

/* curvecpmessage queues 64 incoming messages and silently drops the rest,
   so a burst of 128 blocks loses about half of them, on any path: a loss
   it shows us (by naming later blocks) halves the blocks we let be
   unconfirmed at once, once per round of transmissions; confirm_block
   raises the limit again slowly. Our own receivers never trigger it. */
static void
limit_flight (send_t *self, const block_t *lost)
{
    if (lost->seq < self->limit_cut_seq)
        return;                         /* same round: already cut */
    int limit = (self->unconfirmed + 1) / 2;
    self->flight_limit = limit > FLIGHT_LIMIT_MIN ? limit : FLIGHT_LIMIT_MIN;
    self->flight_credit = 0;
    self->limit_cut_seq = self->next_seq + 1;
}

/* A block is lost when LOSS_REORDER later transmissions were acknowledged
   and an acknowledgment shows a hole where it lies. Candidates are at the
   head of the flight list (sequence order); those above the holes shown
   stay in flight (they may well have arrived: only their own
   acknowledgment can tell, or the timer). */
static bool
detect_losses (send_t *self, uint64_t holes_below)
{
    bool found = false;
    int16_t slot = self->flight.head;
    while (slot != NO_SLOT) {
        block_t *block = &self->blocks[slot];
        slot = block->next;
        if (block->seq + LOSS_REORDER > self->max_acked_seq)
            break;
        if (block->position + block->length <= holes_below && !block->eof && !block->peer_has) {
            list_append (self, block, IN_LOST);
            if (self->peer_names_all)
                limit_flight (self, block);
            found = true;
        }
    }
    return found;
}

curvecp_stream_acked_t
curvecp_stream_send_ack (send_t *self, const curvecp_message_t *message, uint64_t clock)
{
    curvecp_stream_acked_t acked = { false, 0, false };
    block_t *named = NULL;
    if (message->acked_id) {
        block_t *block = &self->blocks[self->id_slot[message->acked_id & self->id_mask]];
        if (block->where != IN_NONE && block->id == message->acked_id) {
            acked.rtt_sample = true;
            acked.sent_at = block->sent_at;
            named = block;
        }
    }
    uint64_t start[CURVECP_MESSAGE_RANGES], end[CURVECP_MESSAGE_RANGES];
    int count = curvecp_message_ranges (message, start, end);
    self->sample_block = NULL;
    ack_ranges (self, start, end, count);
    /* receivers name only blocks that complete range 1 (see may_name),
       so while a hole lasts the ID gives no sample; the newest block
       sent once that this acknowledgment covers gives one instead */
    if (!named && self->sample_block) {
        acked.rtt_sample = true;
        acked.sent_at = self->sample_block->sent_at;
    }
    self->sample_block = NULL;
    if (named)
        note_named (self, named);
    /* only our window updates are pure acks naming no message */
    if (message->id == 0 && message->acked_id == 0)
        reopen_window (self);
    uint64_t holes_below = holes_shown_below (message, end, count);
    if (self->peer_names_all && self->peer_has_end > holes_below)
        holes_below = self->peer_has_end;   /* named blocks show the holes below them */
    acked.loss = detect_losses (self, holes_below);
    uint64_t released = self->released;
    release_acked_blocks (self, clock);
    /* freed blocks: a table that failed to widen may try once more when
       it fills again (the deadline says so, and send_next tries); else
       one failed allocation would cap the flight at the narrow table for
       good under a carrier that trusts the deadline */
    if (self->released > released)
        self->widen_failed = false;
    /* progress: the peer is alive and reading, so the block it needs next
       gets an unbacked-off timer again (as TCP resets its backoff on a new
       acknowledgment); without this, one lost window update left a
       tiny-window stream at one block per backed-off timeout */
    if (self->released > released && self->block_count > 0)
        block_at (self, 0)->tries = 0;
    return acked;
}

/* ---- producing ------------------------------------------------------- */

static uint64_t
block_timeout (const send_t *self, const block_t *block, uint64_t rto)
{
    /* exponential backoff, but capped so that a block gets at least
       GIVE_UP_TRIES tries before the connection gives up */
    uint32_t shift = block->tries < BACKOFF_SHIFT_MAX ? block->tries : BACKOFF_SHIFT_MAX;
    uint64_t timeout = rto;
    uint64_t cap = self->give_up_ns / GIVE_UP_TRIES;
    if (cap < timeout)
        cap = timeout;
    timeout <<= shift;
    return timeout < cap ? timeout : cap;
}

static uint64_t
block_due (const send_t *self, const block_t *block, uint64_t rto)
{
    return block->where == IN_LOST ? 0 : block->sent_at + block_timeout (self, block, rto);
}

/* Is the flight limit reached? Blocks found lost are no longer in the
   network: only the rest count (as TCP's "pipe"), so repairs and new
   blocks both wait for room. */
static bool
pipe_full (const send_t *self)
{
    return self->unconfirmed - self->lost_count >= self->flight_limit;
}

/* The block whose resend is due at now, or NULL: the first lost one
   (if the flight limit allows), or a timer that expired. The flight list
   is in order of sent_at and every timer is at least rto, so the walk
   stops at the first block sent less than rto ago (at once, usually). */
static block_t *
block_to_resend (send_t *self, uint64_t now, uint64_t rto)
{
    if (self->lost.head != NO_SLOT && !pipe_full (self))
        return &self->blocks[self->lost.head];
    for (int16_t slot = self->flight.head; slot != NO_SLOT; slot = self->blocks[slot].next) {
        block_t *block = &self->blocks[slot];
        if (block->sent_at + rto > now)
            break;
        if (block_due (self, block, rto) <= now)
            return block;
    }
    return NULL;
}

/* Count a resend of block: a repair, or a timer expiry (backs off). */
static curvecp_stream_send_why_t
note_resend (send_t *self, block_t *block)
{
    self->info->retransmissions++;
    if (block->where == IN_LOST)
        return CURVECP_STREAM_SEND_REPAIR;
    block->tries++;
    self->info->timeouts++;
    return CURVECP_STREAM_SEND_TIMEOUT;
}

/* Earliest resend time (UINT64_MAX if nothing is outstanding). */
static uint64_t
next_resend (const send_t *self, uint64_t rto)
{
    if (self->lost.head != NO_SLOT && !pipe_full (self))
        return 0;
    uint64_t earliest = UINT64_MAX;
    for (int16_t slot = self->flight.head; slot != NO_SLOT; slot = self->blocks[slot].next) {
        const block_t *block = &self->blocks[slot];
        if (block->sent_at + rto >= earliest)
            break;
        uint64_t due = block_due (self, block, rto);
        if (due < earliest)
            earliest = due;
    }
    return earliest;
}

/* Room for one more block: a full table that may still widen counts,
   because send_next widens it before cutting, and the deadline must say
   so (or a carrier sleeping until it waits for an unrelated timer). */
static bool
table_room (const send_t *self)
{
    return self->block_count < self->table_size
        || (self->table_size < (int) flight_blocks_max (self) && !self->widen_failed);
}

static bool
may_cut_block (const send_t *self)
{
    if (!table_room (self) || self->block_count >= (int) flight_blocks_max (self)
    ||  self->eof_cut || pipe_full (self))
        return false;
    if (self->cut == self->written && self->eof == CURVECP_EOF_NONE && !self->ping_wanted)
        return false;
    /* curvecpmessage drops data ending beyond what it acknowledged plus its
       128 KiB buffer; never send that far ahead (farther only towards a
       peer that announced a larger window) */
    uint64_t next_end = self->cut + 1;
    return next_end <= self->released + flight_bytes_max (self);
}

uint64_t
curvecp_stream_send_next_time (const send_t *self, uint64_t rto)
{
    return may_cut_block (self) ? 0 : next_resend (self, rto);
}

/* Largest block to cut now for a message of at most cap bytes (produce
   has checked that cap holds a block of up to 1024 bytes). */
static size_t
cut_max (const send_t *self, size_t cap)
{
    size_t max = curvecp_stream_send_block_max (self);
    if (max > CURVECP_MESSAGE_DATA_MAX) {
        size_t fit = cap / 16 * 16 - CURVECP_MESSAGE_LARGE_HEADER;
        if (fit < max)
            max = fit > CURVECP_MESSAGE_DATA_MAX ? fit : CURVECP_MESSAGE_DATA_MAX;
    }
    return max;
}

static block_t *
cut_block (send_t *self, size_t cap)
{
    uint64_t room = self->released + flight_bytes_max (self) - self->cut;
    uint64_t length = self->written - self->cut;
    if (length > cut_max (self, cap))
        length = cut_max (self, cap);
    if (length > room)
        length = room;
    block_t *block = block_at (self, self->block_count++);
    memset (block, 0, sizeof *block);
    block->position = self->cut;
    block->length = (uint32_t) length;
    self->cut += length;
    block->eof = self->eof != CURVECP_EOF_NONE && self->cut == self->written;
    if (block->eof)
        self->eof_cut = true;
    self->info->blocks_sent++;
    self->info->large_blocks += length > CURVECP_MESSAGE_DATA_MAX;
    if ((uint64_t) self->block_count > self->info->most_in_flight)
        self->info->most_in_flight = (uint64_t) self->block_count;
    self->unconfirmed++;
    self->ping_wanted = false;      /* any first block is the ping */
    return block;
}

block_t *
curvecp_stream_send_next (send_t *self, uint64_t now, uint64_t rto, size_t cap, curvecp_stream_send_why_t *why)
{
    block_t *block = block_to_resend (self, now, rto);
    if (block && curvecp_message_size_large (block->length) > cap)
        block = NULL;               /* cut for a larger cap: waits for one */
    if (block) {
        *why = note_resend (self, block);
        return block;
    }
    /* a wider table only once this one is full: a stream that sends
       little never allocates one */
    if (self->block_count == self->table_size
    &&  self->table_size < (int) flight_blocks_max (self))
        table_widen (self);
    /* may_cut_block counts a full table that may still widen as room;
       once table_widen has run, a full table means it could not, and
       cut_block must never write past the table */
    if (self->block_count >= self->table_size || !may_cut_block (self)) {
        *why = CURVECP_STREAM_SEND_NONE;
        return NULL;
    }
    *why = self->block_count == 0 ? CURVECP_STREAM_SEND_FIRST : CURVECP_STREAM_SEND_NEW;
    return cut_block (self, cap);
}

static uint32_t
take_id (send_t *self)
{
    uint32_t id = self->next_id++;
    if (self->next_id == 0)
        self->next_id = 1;              /* 0 means a pure acknowledgment */
    return id;
}

size_t
curvecp_stream_send_transmit (send_t *self, block_t *block, uint64_t now, curvecp_message_t *message,
        uint8_t *out, size_t cap)
{
    message->data = NULL;           /* the data is copied from the ring into place below */
    block->resent = block->id != 0;
    block->seen_below_top = false;
    message->id = take_id (self);
    message->data_len = block->length;
    message->position = block->position;
    message->eof = block->eof ? self->eof : CURVECP_EOF_NONE;
    block->id = message->id;
    block->seq = ++self->next_seq;
    block->sent_at = now;
    list_append (self, block, IN_FLIGHT);
    self->id_slot[message->id & self->id_mask] = (uint16_t) (block - self->blocks);
    size_t len = curvecp_message_encode_large (message, out, cap);
    if (len)
        curvecp_stream_ring_get (self->buf, self->buf_size, block->position, out + len - block->length,
                                 block->length);
    return len;
}
