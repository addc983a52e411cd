/*  curvecp_stream.c - one endpoint's message layer: a sans-I/O state
    machine for both directions of a CurveCP connection.

    Sending: the application's bytes go into a ring buffer (allocated on
    first write). Blocks are cut from it only when one may go out, so the
    block table holds exactly the blocks in flight (at most 128, as
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

    Receiving: data goes into a ring buffer the size of the receive window,
    starting at the first unread byte; out-of-order pieces are remembered
    as up to REORDER_MAX intervals, which also become ranges 2..6 of our
    acknowledgments. Two rules keep those ranges from confusing
    curvecpmessage, which parses them but never sends them: an
    acknowledgment names (by ID) only a message whose block was new and
    completes range 1 (may_name), and the top range stops a byte short
    until the EOF is known (trim_top_range). As a sender we then take RTT
    samples from ranges too, since IDs are not named while a hole lasts. Data beyond the window is refused but still answered
    by ID, so the sender hears that we are alive (it backs off its timer
    but not its rate and does not give up); once the reader frees space we
    send a window update (a pure ack naming no message, which
    curvecpmessage never sends) and the sender resends at once.

    Memory: both buffers exist only while they hold something. Once a
    buffer is empty (every byte written acknowledged, every byte received
    read) and stays empty for idle_release_ns, it is freed, and allocated
    again by the next write or arriving data; a direction that has ended
    frees its buffer at once. The delay keeps a busy connection from
    freeing and allocating 128 KiB every round trip; the stream's deadline
    includes the release, so an idle connection is woken once for it.

    Between two of our peers (curvecp_stream.h): the window tag lets a
    sender keep more than 128 blocks / 128 KiB in flight, and large blocks
    (negotiated by the carrier) cut the per-packet costs. The block table
    holds 128 blocks inside the stream; a wider table (blocks_max) is
    allocated only when the peer announced a window and the inline table
    is full, and freed again when no block is in it, so idle streams and
    streams that send little stay small.                      */
#include <stdlib.h>
#include <string.h>
#include "curvecp_stream.h"

#define REORDER_MAX       32           /* out-of-order intervals kept */
#define LOSS_REORDER       3           /* later transmissions acked before a block counts as lost */
#define BACKOFF_SHIFT_MAX  6           /* timer backoff: up to 64 x rtt_timeout */
#define GIVE_UP_TRIES     16           /* ... but at least this many tries before giving up */
#define BLOCK_CLIENT_EARLY 512
#define DEFAULT_BUFFER     131072
#define DEFAULT_GIVE_UP    (60ull * 1000000000ull)
#define DEFAULT_IDLE_RELEASE (100ull * 1000000ull)
#define DEFAULT_TIMER_RESOLUTION 1000000ull
#define FLIGHT_LIMIT_MIN   8           /* blocks: floor of the flight limit (see limit_flight) */
#define NUDGE_MIN_NS       (100 * 1000000ull)   /* repeat acknowledgments showing a hole ... */
#define NUDGE_MAX_NS       (4000 * 1000000ull)  /* ... backing off to this (see nudge_due) */

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
    uint8_t where;            /* IN_NONE (acknowledged), IN_FLIGHT or IN_LOST */
    int16_t prev, next;       /* neighbours on that list (slot numbers) */
} block_t;

/* Lists threaded through the block table by slot number. */
#define IN_NONE   0
#define IN_FLIGHT 1               /* sent, waiting for its acknowledgment or timer */
#define IN_LOST   2               /* found lost early or window reopened: resend now */
#define NO_SLOT  (-1)
#define ID_SLOTS 256              /* message ID -> block lookup (IDs in flight are recent):
                                     at least twice the table, a power of two */

typedef struct {
    int16_t head, tail;
} list_t;

typedef struct {
    uint64_t start, end;
} interval_t;

struct _curvecp_stream_t {
    curvecp_stream_config_t config;
    curvecp_chicago_t *chicago;
    curvecp_stats_t stats;
    curvecp_stream_info_t info;
    bool failed;
    bool heard_peer;                  /* anything arrived: full-size blocks */
    uint64_t waiting_since;           /* last time the peer was heard or we began waiting */
    uint64_t last_heard;              /* last valid message from the peer */
    uint64_t clock;                   /* latest now we were given */

    /* sending */
    uint8_t *send_buf;
    uint64_t send_released;           /* everything below is acknowledged */
    uint64_t send_cut;                /* everything below is in blocks */
    uint64_t send_written;            /* everything below came from the app */
    uint64_t send_idle_since;         /* send buffer empty since then */
    curvecp_eof_t send_eof;
    bool eof_cut, eof_acked;
    block_t *blocks;                  /* the block table: inline_blocks or a wider one */
    uint16_t *id_slot;                /* slot of the block last sent with ID i (& id_mask) */
    int table_size;
    uint32_t id_mask;
    int block_head, block_count;
    list_t flight, lost;
    size_t send_block_max;            /* largest block we may send (set_send_block_max) */
    uint32_t peer_window;             /* window the peer announced (0 = none) */
    uint32_t next_id;
    uint64_t next_seq;
    uint64_t max_acked_seq;
    block_t *sample_block;            /* newest once-sent block the ack being handled covered */
    bool peer_names_all;              /* the peer names blocks above its range 1 (curvecpmessage) */
    uint64_t peer_has_end;            /* highest end of a block it named so */
    int unconfirmed;                  /* blocks neither acknowledged nor named */
    int lost_count;                   /* blocks on the lost list */
    int flight_limit;                 /* most unconfirmed blocks at once (see limit_flight) */
    int flight_credit;                /* blocks confirmed towards the next raise of the limit */
    uint64_t limit_cut_seq;           /* next transmission after the latest cut of the limit */

    /* receiving */
    uint8_t *recv_buf;
    uint64_t recv_read;               /* everything below was read */
    uint64_t recv_contig;             /* everything below has arrived */
    uint64_t recv_idle_since;         /* receive buffer empty since then */
    interval_t intervals[REORDER_MAX];
    int interval_count;
    bool recv_eof_known;
    curvecp_eof_t recv_eof;
    uint64_t recv_total;
    bool ack_pending;
    uint32_t ack_id;
    uint64_t ack_due;
    uint32_t nameable_id;             /* latest message ID we may name (see may_name) */
    uint64_t ack_data_end;            /* end of the data in the latest message with an ID */
    bool window_refused;              /* refused data since the last read */
    bool ping_wanted;                 /* curvecp_stream_ping: an empty block at 0 */
    uint64_t nudge_at;                /* repeat our acknowledgment then if it shows a hole */
    uint64_t nudge_interval;

    block_t inline_blocks[CURVECP_STREAM_BLOCKS_MAX];
    uint16_t inline_id_slot[ID_SLOTS];
};

void
curvecp_stream_config_default (curvecp_stream_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->send_buffer = DEFAULT_BUFFER;
    config->receive_window = DEFAULT_BUFFER;
    config->pacing = CURVECP_PACING_CHICAGO;
    config->give_up_ns = DEFAULT_GIVE_UP;
}

curvecp_stream_t *
curvecp_stream_new (const curvecp_stream_config_t *config)
{
    if (!config || config->send_buffer < CURVECP_MESSAGE_DATA_MAX
    ||  config->receive_window < CURVECP_MESSAGE_DATA_MAX
    ||  config->block_max > CURVECP_MESSAGE_LARGE_DATA_MAX
    ||  (config->block_max > CURVECP_MESSAGE_DATA_MAX && config->block_max > config->receive_window)
    ||  config->blocks_max > CURVECP_STREAM_TABLE_MAX)
        return NULL;
    curvecp_stream_t *self = (curvecp_stream_t *) calloc (1, sizeof (curvecp_stream_t));
    if (!self)
        return NULL;
    self->config = *config;
    if (self->config.give_up_ns == 0)
        self->config.give_up_ns = DEFAULT_GIVE_UP;
    if (self->config.idle_release_ns == 0)
        self->config.idle_release_ns = DEFAULT_IDLE_RELEASE;
    if (self->config.timer_resolution_ns == 0)
        self->config.timer_resolution_ns = DEFAULT_TIMER_RESOLUTION;
    self->chicago = curvecp_chicago_new (config->pacing, config->now, config->rng);
    if (!self->chicago) {
        free (self);
        return NULL;
    }
    curvecp_chicago_set_timer_resolution (self->chicago, self->config.timer_resolution_ns);
    if (self->config.block_max < CURVECP_MESSAGE_DATA_MAX)
        self->config.block_max = CURVECP_MESSAGE_DATA_MAX;
    if (self->config.blocks_max < CURVECP_STREAM_BLOCKS_MAX)
        self->config.blocks_max = CURVECP_STREAM_BLOCKS_MAX;
    if (self->config.peer_window_max < CURVECP_STREAM_PEER_WINDOW)
        self->config.peer_window_max = CURVECP_STREAM_PEER_WINDOW;
    self->blocks = self->inline_blocks;
    self->id_slot = self->inline_id_slot;
    self->table_size = CURVECP_STREAM_BLOCKS_MAX;
    self->id_mask = ID_SLOTS - 1;
    self->send_block_max = CURVECP_MESSAGE_DATA_MAX;
    self->next_id = 1;
    self->flight_limit = (int) self->config.blocks_max;
    self->flight.head = self->flight.tail = NO_SLOT;
    self->lost.head = self->lost.tail = NO_SLOT;
    self->waiting_since = config->now;
    self->clock = config->now;
    return self;
}

void
curvecp_stream_destroy (curvecp_stream_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_stream_t *self = *self_p;
        curvecp_chicago_destroy (&self->chicago);
        if (self->blocks != self->inline_blocks)
            free (self->blocks);
        free (self->send_buf);
        free (self->recv_buf);
        free (self);
        *self_p = NULL;
    }
}

/* ---- ring buffers ---------------------------------------------------- */

static void
ring_put (uint8_t *ring, size_t size, uint64_t position, const uint8_t *data, size_t len)
{
    size_t offset = (size_t) (position % size);
    size_t first = len < size - offset ? len : size - offset;
    memcpy (ring + offset, data, first);
    memcpy (ring, data + first, len - first);
}

static void
ring_get (const uint8_t *ring, size_t size, uint64_t position, uint8_t *out, size_t len)
{
    if (len == 0)
        return;                         /* an empty EOF block: the ring may not exist */
    size_t offset = (size_t) (position % size);
    size_t first = len < size - offset ? len : size - offset;
    memcpy (out, ring + offset, first);
    memcpy (out + first, ring, len - first);
}

/* ---- buffers --------------------------------------------------------- */

static uint8_t *
buffer_get (curvecp_stream_t *self, uint8_t **buffer, size_t size)
{
    if (!*buffer) {
        *buffer = (uint8_t *) malloc (size);
        if (*buffer)
            self->info.buffer_allocations++;
    }
    return *buffer;
}

static void
buffer_free (curvecp_stream_t *self, uint8_t **buffer)
{
    if (*buffer) {
        free (*buffer);
        *buffer = NULL;
        self->info.buffer_releases++;
    }
}

static bool
send_empty (const curvecp_stream_t *self)
{
    return self->send_released == self->send_written;
}


static bool
recv_empty (const curvecp_stream_t *self)
{
    return self->recv_read == self->recv_contig && self->interval_count == 0;
}

static bool
recv_ended (const curvecp_stream_t *self)
{
    return self->failed || (self->recv_eof_known && self->recv_read == self->recv_total);
}

/* When each allocated buffer is due to be freed (UINT64_MAX = not). */
static uint64_t
send_release_time (const curvecp_stream_t *self)
{
    if (!self->send_buf)
        return UINT64_MAX;
    if (self->failed)
        return 0;                       /* nothing will be sent again */
    if (!send_empty (self))
        return UINT64_MAX;
    if (self->send_eof != CURVECP_EOF_NONE)
        return 0;                       /* nothing more can be written */
    uint64_t idle = self->config.idle_release_ns;
    return self->send_idle_since > UINT64_MAX - idle ? UINT64_MAX : self->send_idle_since + idle;
}

static uint64_t
recv_release_time (const curvecp_stream_t *self)
{
    if (!self->recv_buf || !recv_empty (self))
        return UINT64_MAX;
    if (recv_ended (self))
        return 0;
    uint64_t idle = self->config.idle_release_ns;
    return self->recv_idle_since > UINT64_MAX - idle ? UINT64_MAX : self->recv_idle_since + idle;
}

static void table_narrow (curvecp_stream_t *self);

static void
release_idle_buffers (curvecp_stream_t *self, uint64_t now)
{
    if (self->clock < now)
        self->clock = now;
    if (send_release_time (self) <= now)
        buffer_free (self, &self->send_buf);
    if (recv_release_time (self) <= now)
        buffer_free (self, &self->recv_buf);
    if (!self->send_buf && self->block_count == 0)
        table_narrow (self);
}

/* Bytes of a wide block table of size blocks and its ID lookup. */
static size_t
table_bytes (int size)
{
    uint32_t id_slots = ID_SLOTS;
    while (id_slots < 2 * (uint32_t) size)
        id_slots *= 2;
    return (size_t) size * sizeof (block_t) + id_slots * sizeof (uint16_t);
}

size_t
curvecp_stream_memory (const curvecp_stream_t *self)
{
    return sizeof *self + curvecp_chicago_memory (self->chicago)
         + (self->send_buf ? self->config.send_buffer : 0)
         + (self->recv_buf ? self->config.receive_window : 0)
         + (self->blocks != self->inline_blocks ? table_bytes (self->table_size) : 0);
}

/* ---- application side ------------------------------------------------ */

size_t
curvecp_stream_send_space (const curvecp_stream_t *self)
{
    if (self->failed || self->send_eof != CURVECP_EOF_NONE)
        return 0;
    return self->config.send_buffer - (size_t) (self->send_written - self->send_released);
}

size_t
curvecp_stream_write (curvecp_stream_t *self, const uint8_t *data, size_t len)
{
    size_t space = curvecp_stream_send_space (self);
    if (len > space)
        len = space;
    if (len == 0)
        return 0;
    if (!buffer_get (self, &self->send_buf, self->config.send_buffer))
        return 0;
    ring_put (self->send_buf, self->config.send_buffer, self->send_written, data, len);
    self->send_written += len;
    return len;
}

curvecp_reason_t
curvecp_stream_ping (curvecp_stream_t *self)
{
    if (self->failed || self->block_count > 0 || self->send_cut > 0 || self->eof_cut
    ||  self->info.blocks_sent > 0)
        return CURVECP_E_WRONG_STATE;
    self->ping_wanted = true;
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_stream_close (curvecp_stream_t *self, curvecp_eof_t eof)
{
    if (eof != CURVECP_EOF_SUCCESS && eof != CURVECP_EOF_FAILURE)
        return CURVECP_E_BAD_ARGUMENT;
    if (self->send_eof != CURVECP_EOF_NONE)
        return CURVECP_E_WRONG_STATE;
    self->send_eof = eof;
    return CURVECP_OK;
}

size_t
curvecp_stream_readable (const curvecp_stream_t *self)
{
    return (size_t) (self->recv_contig - self->recv_read);
}

static void
schedule_ack (curvecp_stream_t *self, uint32_t id, uint64_t now)
{
    if (!self->ack_pending)
        self->ack_due = now + self->config.ack_delay_ns;
    self->ack_pending = true;
    if (id)
        self->ack_id = id;
}

size_t
curvecp_stream_read (curvecp_stream_t *self, uint8_t *out, size_t cap)
{
    size_t len = curvecp_stream_readable (self);
    if (len > cap)
        len = cap;
    if (len == 0)
        return 0;
    ring_get (self->recv_buf, self->config.receive_window, self->recv_read, out, len);
    self->recv_read += len;
    if (recv_empty (self))
        self->recv_idle_since = self->clock;
    if (self->window_refused) {
        /* window update: due at once, whatever the ack delay */
        self->window_refused = false;
        self->ack_pending = true;
        self->ack_due = 0;
    }
    return len;
}

curvecp_eof_t
curvecp_stream_received_eof (const curvecp_stream_t *self)
{
    if (self->recv_eof_known && self->recv_read == self->recv_total)
        return self->recv_eof;
    return CURVECP_EOF_NONE;
}

bool
curvecp_stream_all_acked (const curvecp_stream_t *self)
{
    return self->send_released == self->send_written
        && (self->send_eof == CURVECP_EOF_NONE || self->eof_acked);
}

bool
curvecp_stream_done (const curvecp_stream_t *self)
{
    return self->send_eof != CURVECP_EOF_NONE && self->eof_acked
        && curvecp_stream_received_eof (self) != CURVECP_EOF_NONE;
}

bool
curvecp_stream_failed (const curvecp_stream_t *self)
{
    return self->failed;
}

size_t
curvecp_stream_send_buffer (const curvecp_stream_t *self)
{
    return self->config.send_buffer;
}

size_t
curvecp_stream_receive_window (const curvecp_stream_t *self)
{
    return self->config.receive_window;
}

/* ---- blocks ---------------------------------------------------------- */

static block_t *
block_at (curvecp_stream_t *self, int index)
{
    return &self->blocks[(self->block_head + index) % self->table_size];
}

static size_t
block_max (const curvecp_stream_t *self)
{
    return self->config.is_client && !self->heard_peer ? BLOCK_CLIENT_EARLY : self->send_block_max;
}

size_t
curvecp_stream_message_max (const curvecp_stream_t *self)
{
    return curvecp_message_size_large (block_max (self));
}

curvecp_reason_t
curvecp_stream_set_send_block_max (curvecp_stream_t *self, size_t block_max)
{
    if (block_max < CURVECP_MESSAGE_DATA_MAX || block_max > CURVECP_MESSAGE_LARGE_DATA_MAX)
        return CURVECP_E_BAD_ARGUMENT;
    self->send_block_max = block_max;
    return CURVECP_OK;
}

/* The peer announced a window above curvecpmessage's, and we may use it. */
static bool
peer_is_wide (const curvecp_stream_t *self)
{
    return self->peer_window > CURVECP_STREAM_PEER_WINDOW
        && self->config.peer_window_max > CURVECP_STREAM_PEER_WINDOW;
}

size_t
curvecp_stream_peer_window (const curvecp_stream_t *self)
{
    return self->peer_window;
}

size_t
curvecp_stream_flight_bytes_max (const curvecp_stream_t *self)
{
    if (!peer_is_wide (self))
        return CURVECP_STREAM_PEER_WINDOW;
    return self->peer_window < self->config.peer_window_max ? self->peer_window : self->config.peer_window_max;
}

size_t
curvecp_stream_flight_blocks_max (const curvecp_stream_t *self)
{
    return peer_is_wide (self) ? self->config.blocks_max : CURVECP_STREAM_BLOCKS_MAX;
}

/* Move the blocks in flight into table (size entries) and id_slot, in
   stream order from slot 0; list links follow their blocks. IDs of
   earlier transmissions are forgotten (their acknowledgments only
   matched the latest transmission anyway). */
static void
table_move (curvecp_stream_t *self, block_t *table, int size, uint16_t *id_slot, uint32_t id_mask)
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

/* A wider table, once the peer allows more than the inline 128 blocks.
   Allocation failure just keeps the narrow one. */
static void
table_widen (curvecp_stream_t *self)
{
    int size = (int) curvecp_stream_flight_blocks_max (self);
    if (size <= self->table_size)
        return;
    block_t *table = (block_t *) malloc (table_bytes (size));
    if (!table)
        return;
    uint32_t id_slots = (uint32_t) ((table_bytes (size) - (size_t) size * sizeof (block_t)) / sizeof (uint16_t));
    table_move (self, table, size, (uint16_t *) (table + size), id_slots - 1);
}

/* Back to the inline table once it is empty. */
static void
table_narrow (curvecp_stream_t *self)
{
    if (self->blocks != self->inline_blocks && self->block_count == 0)
        table_move (self, self->inline_blocks, CURVECP_STREAM_BLOCKS_MAX, self->inline_id_slot, ID_SLOTS - 1);
}

static void
list_unlink (curvecp_stream_t *self, block_t *block)
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
list_append (curvecp_stream_t *self, block_t *block, uint8_t where)
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
note_arrival (curvecp_stream_t *self, block_t *block)
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
confirm_block (curvecp_stream_t *self, block_t *block)
{
    if (block->peer_has)
        return;
    self->unconfirmed--;
    if (self->flight_limit < (int) self->config.blocks_max && ++self->flight_credit >= self->flight_limit) {
        self->flight_limit++;
        self->flight_credit = 0;
    }
}

static void
ack_block (curvecp_stream_t *self, block_t *block)
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
note_named (curvecp_stream_t *self, block_t *block)
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
note_trimmed_arrival (curvecp_stream_t *self, block_t *block)
{
    if (block->acked || block->seen_below_top)
        return;             /* only the first such acknowledgment is timely */
    block->seen_below_top = true;
    note_arrival (self, block);
}

/* Index of the first block at or after position (block_count if none). */
static int
block_index_from (curvecp_stream_t *self, uint64_t position)
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
ack_ranges (curvecp_stream_t *self, const uint64_t *start, const uint64_t *end, int count)
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
release_acked_blocks (curvecp_stream_t *self)
{
    while (self->block_count > 0 && block_at (self, 0)->acked) {
        block_t *block = block_at (self, 0);
        self->send_released = block->position + block->length;
        if (block->eof)
            self->eof_acked = true;
        self->block_head = (self->block_head + 1) % self->table_size;
        self->block_count--;
    }
    if (self->block_count == 0)
        self->send_released = self->send_cut;
    if (send_empty (self))
        self->send_idle_since = self->clock;
}

/* The peer's reader freed space after refusing data: resend what the
   timer is holding back at once instead of after the backoff, in stream
   order, since the lowest block is the one the reader waits for (the
   rest may be refused again). Rare: a walk over the table is fine. */
static void
reopen_window (curvecp_stream_t *self)
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
limit_flight (curvecp_stream_t *self, const block_t *lost)
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
static void
detect_losses (curvecp_stream_t *self, uint64_t holes_below, uint64_t now)
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
    if (found)
        curvecp_chicago_loss (self->chicago, now);
}

static void
process_acks (curvecp_stream_t *self, const curvecp_message_t *message, uint64_t now)
{
    block_t *named = NULL;
    if (message->acked_id) {
        block_t *block = &self->blocks[self->id_slot[message->acked_id & self->id_mask]];
        if (block->where != IN_NONE && block->id == message->acked_id) {
            curvecp_chicago_rtt_sample (self->chicago, block->sent_at, now);
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
    if (!named && self->sample_block)
        curvecp_chicago_rtt_sample (self->chicago, self->sample_block->sent_at, now);
    self->sample_block = NULL;
    if (named)
        note_named (self, named);
    /* only our window updates are pure acks naming no message */
    if (message->id == 0 && message->acked_id == 0)
        reopen_window (self);
    uint64_t holes_below = holes_shown_below (message, end, count);
    if (self->peer_names_all && self->peer_has_end > holes_below)
        holes_below = self->peer_has_end;   /* named blocks show the holes below them */
    detect_losses (self, holes_below, now);
    uint64_t released = self->send_released;
    release_acked_blocks (self);
    /* progress: the peer is alive and reading, so the block it needs next
       gets an unbacked-off timer again (as TCP resets its backoff on a new
       acknowledgment); without this, one lost window update left a
       tiny-window stream at one block per backed-off timeout */
    if (self->send_released > released && self->block_count > 0)
        block_at (self, 0)->tries = 0;
}

/* ---- receiving ------------------------------------------------------- */

static uint64_t
recv_highest (const curvecp_stream_t *self)
{
    return self->interval_count ? self->intervals[self->interval_count - 1].end : self->recv_contig;
}

/* Would this message contradict what we know (acks for bytes we never
   sent, data beyond or an EOF before the end we were told)? Such a
   message is refused whole, before anything changes. */
static bool
message_consistent (const curvecp_stream_t *self, const curvecp_message_t *message)
{
    if (message->range1_end > self->send_cut + (self->eof_cut ? 1 : 0))
        return false;
    uint64_t data_end = message->position + message->data_len;
    if (self->recv_eof_known) {
        if (data_end > self->recv_total)
            return false;
        if (message->eof != CURVECP_EOF_NONE
        &&  (data_end != self->recv_total || message->eof != self->recv_eof))
            return false;
    }
    else
    if (message->eof != CURVECP_EOF_NONE && data_end < recv_highest (self))
        return false;
    return true;
}

/* Room in the interval list for [start, end)? If so, add it. */
static bool
interval_add (curvecp_stream_t *self, uint64_t start, uint64_t end)
{
    interval_t *list = self->intervals;
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
    if (removed == 0 && self->interval_count == REORDER_MAX)
        return false;
    if (removed != 1)
        memmove (list + first + 1, list + last, (size_t) (self->interval_count - last) * sizeof (interval_t));
    list[first].start = start;
    list[first].end = end;
    self->interval_count += 1 - removed;
    return true;
}

static void
advance_contig (curvecp_stream_t *self)
{
    int merged = 0;
    while (merged < self->interval_count && self->intervals[merged].start <= self->recv_contig) {
        if (self->intervals[merged].end > self->recv_contig)
            self->recv_contig = self->intervals[merged].end;
        merged++;
    }
    if (merged) {
        memmove (self->intervals, self->intervals + merged,
                 (size_t) (self->interval_count - merged) * sizeof (interval_t));
        self->interval_count -= merged;
    }
}

/* Do we hold [start, end) above recv_contig already? */
static bool
interval_holds (const curvecp_stream_t *self, uint64_t start, uint64_t end)
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
store_data (curvecp_stream_t *self, const curvecp_message_t *message)
{
    uint64_t end = message->position + message->data_len;
    uint64_t start = message->position > self->recv_contig ? message->position : self->recv_contig;
    self->info.duplicate_bytes += (start < end ? start : end) - message->position;
    if (start >= end) {
        self->info.duplicate_blocks += message->data_len > 0;
        return STORE_DUPLICATE;
    }
    if (interval_holds (self, start, end)) {
        self->info.duplicate_bytes += end - start;
        self->info.duplicate_blocks++;
        return STORE_DUPLICATE;
    }
    if (!buffer_get (self, &self->recv_buf, self->config.receive_window))
        return STORE_REFUSED;
    if (start > self->recv_contig && !interval_add (self, start, end)) {
        self->info.refused_reorder++;
        return STORE_REFUSED;
    }
    ring_put (self->recv_buf, self->config.receive_window, start,
              message->data + (start - message->position), (size_t) (end - start));
    if (start == self->recv_contig)
        self->recv_contig = end;
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
may_name (const curvecp_stream_t *self, const curvecp_message_t *message, store_result_t stored)
{
    uint64_t end = message->position + message->data_len;
    if (message->eof != CURVECP_EOF_NONE)
        return stored == STORE_NEW && self->recv_contig == end;
    if (message->data_len == 0)
        return message->position == 0;
    return stored == STORE_NEW && end <= self->recv_contig;
}

static void
process_data (curvecp_stream_t *self, const curvecp_message_t *message, uint64_t now)
{
    uint64_t end = message->position + message->data_len;
    store_result_t stored = STORE_DUPLICATE;
    if (message->data_len || message->eof != CURVECP_EOF_NONE) {
        if (end > self->recv_read + self->config.receive_window) {
            self->info.refused_window++;
            self->window_refused = true;
        }
        else {
            stored = store_data (self, message);
            if (stored == STORE_REFUSED)
                return;             /* as if lost: no acknowledgment */
            if (message->eof != CURVECP_EOF_NONE && !self->recv_eof_known) {
                stored = STORE_NEW;     /* the EOF itself is news */
                self->recv_eof_known = true;
                self->recv_eof = message->eof;
                self->recv_total = end;
            }
        }
    }
    if (message->id) {
        /* every message with an ID is answered; one we may not name is
           answered under the latest ID we could name (0 if none yet),
           which can only give the sender a late RTT sample */
        if (may_name (self, message, stored))
            self->nameable_id = message->id;
        schedule_ack (self, self->nameable_id, now);
        self->ack_data_end = end;
    }
}

/* Anything passed between us: the nudge (see send_nudge) waits again. */
static uint64_t
nudge_base (const curvecp_stream_t *self)
{
    uint64_t base = curvecp_chicago_rtt_timeout (self->chicago);
    return base < NUDGE_MIN_NS ? NUDGE_MIN_NS : base > NUDGE_MAX_NS ? NUDGE_MAX_NS : base;
}

static void
restart_nudge (curvecp_stream_t *self, uint64_t now)
{
    self->nudge_interval = nudge_base (self);
    self->nudge_at = now + self->nudge_interval;
}

curvecp_reason_t
curvecp_stream_receive (curvecp_stream_t *self, const uint8_t *buffer, size_t len, uint64_t now)
{
    curvecp_message_t message;
    curvecp_reason_t reason = curvecp_message_decode_large (buffer, len, self->config.block_max, &message);
    if (self->clock < now)
        self->clock = now;
    if (reason == CURVECP_OK && self->failed)
        reason = CURVECP_E_WRONG_STATE;
    if (reason == CURVECP_OK && !message_consistent (self, &message))
        reason = CURVECP_E_BAD_MESSAGE;
    curvecp_stats_count (&self->stats, reason);
    if (reason != CURVECP_OK)
        return reason;
    self->heard_peer = true;
    uint32_t window = curvecp_message_window (buffer, len);
    if (window)
        self->peer_window = window;
    self->waiting_since = now;
    self->last_heard = now;
    restart_nudge (self, now);
    process_acks (self, &message, now);
    process_data (self, &message, now);
    release_idle_buffers (self, now);
    return CURVECP_OK;
}

/* ---- producing ------------------------------------------------------- */

static uint64_t
block_timeout (const curvecp_stream_t *self, const block_t *block)
{
    /* exponential backoff, but capped so that a block gets at least
       GIVE_UP_TRIES tries before the connection gives up */
    uint32_t shift = block->tries < BACKOFF_SHIFT_MAX ? block->tries : BACKOFF_SHIFT_MAX;
    uint64_t timeout = curvecp_chicago_rtt_timeout (self->chicago);
    uint64_t cap = self->config.give_up_ns / GIVE_UP_TRIES;
    if (cap < timeout)
        cap = timeout;
    timeout <<= shift;
    return timeout < cap ? timeout : cap;
}

static uint64_t
block_due (const curvecp_stream_t *self, const block_t *block)
{
    return block->where == IN_LOST ? 0 : block->sent_at + block_timeout (self, block);
}

/* Is the flight limit reached? Blocks found lost are no longer in the
   network: only the rest count (as TCP's "pipe"), so repairs and new
   blocks both wait for room. */
static bool
pipe_full (const curvecp_stream_t *self)
{
    return self->unconfirmed - self->lost_count >= self->flight_limit;
}

/* The block whose resend is due at now, or NULL: the first lost one
   (if the flight limit allows), or a timer that expired. The flight list is in order of sent_at and every
   timer is at least rtt_timeout, so the walk stops at the first block
   sent less than rtt_timeout ago (at once, usually). */
static block_t *
block_to_resend (curvecp_stream_t *self, uint64_t now)
{
    if (self->lost.head != NO_SLOT && !pipe_full (self))
        return &self->blocks[self->lost.head];
    uint64_t rto = curvecp_chicago_rtt_timeout (self->chicago);
    for (int16_t slot = self->flight.head; slot != NO_SLOT; slot = self->blocks[slot].next) {
        block_t *block = &self->blocks[slot];
        if (block->sent_at + rto > now)
            break;
        if (block_due (self, block) <= now)
            return block;
    }
    return NULL;
}

/* Earliest resend time (UINT64_MAX if nothing is outstanding). */
static uint64_t
next_resend (const curvecp_stream_t *self)
{
    if (self->lost.head != NO_SLOT && !pipe_full (self))
        return 0;
    uint64_t rto = curvecp_chicago_rtt_timeout (self->chicago);
    uint64_t earliest = UINT64_MAX;
    for (int16_t slot = self->flight.head; slot != NO_SLOT; slot = self->blocks[slot].next) {
        const block_t *block = &self->blocks[slot];
        if (block->sent_at + rto >= earliest)
            break;
        uint64_t due = block_due (self, block);
        if (due < earliest)
            earliest = due;
    }
    return earliest;
}

static bool
may_cut_block (const curvecp_stream_t *self)
{
    if (self->block_count >= self->table_size || self->block_count >= (int) curvecp_stream_flight_blocks_max (self)
    ||  self->eof_cut || pipe_full (self))
        return false;
    if (self->send_cut == self->send_written && self->send_eof == CURVECP_EOF_NONE && !self->ping_wanted)
        return false;
    /* curvecpmessage drops data ending beyond what it acknowledged plus its
       128 KiB buffer; never send that far ahead (farther only towards a
       peer that announced a larger window) */
    uint64_t next_end = self->send_cut + 1;
    return next_end <= self->send_released + curvecp_stream_flight_bytes_max (self);
}

/* Largest block to cut now for a message of at most cap bytes (produce
   has checked that cap holds a block of up to 1024 bytes). */
static size_t
cut_max (const curvecp_stream_t *self, size_t cap)
{
    size_t max = block_max (self);
    if (max > CURVECP_MESSAGE_DATA_MAX) {
        size_t fit = cap / 16 * 16 - CURVECP_MESSAGE_LARGE_HEADER;
        if (fit < max)
            max = fit > CURVECP_MESSAGE_DATA_MAX ? fit : CURVECP_MESSAGE_DATA_MAX;
    }
    return max;
}

static block_t *
cut_block (curvecp_stream_t *self, uint64_t now, size_t cap)
{
    uint64_t room = self->send_released + curvecp_stream_flight_bytes_max (self) - self->send_cut;
    uint64_t length = self->send_written - self->send_cut;
    if (length > cut_max (self, cap))
        length = cut_max (self, cap);
    if (length > room)
        length = room;
    if (self->block_count == 0)
        self->waiting_since = now;      /* we start waiting for the peer now */
    block_t *block = block_at (self, self->block_count++);
    memset (block, 0, sizeof *block);
    block->position = self->send_cut;
    block->length = (uint32_t) length;
    self->send_cut += length;
    block->eof = self->send_eof != CURVECP_EOF_NONE && self->send_cut == self->send_written;
    if (block->eof)
        self->eof_cut = true;
    self->info.blocks_sent++;
    self->info.large_blocks += length > CURVECP_MESSAGE_DATA_MAX;
    if ((uint64_t) self->block_count > self->info.most_in_flight)
        self->info.most_in_flight = (uint64_t) self->block_count;
    self->unconfirmed++;
    self->ping_wanted = false;      /* any first block is the ping */
    return block;
}

#define PIECES_MAX (2 * REORDER_MAX + 8)
#define PIECE_MAX  UINT16_MAX

/* Cut the out-of-order intervals into pieces a range field can carry. */
static int
ack_pieces (const curvecp_stream_t *self, uint64_t *start, uint64_t *end)
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
trim_top_range (const curvecp_stream_t *self, uint64_t *start, uint64_t *end, int count)
{
    if (self->recv_eof_known || count == 0 || end[count - 1] != recv_highest (self))
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
choose_ranges (const curvecp_stream_t *self, uint64_t *start, uint64_t *end)
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

static void
fill_acknowledgment (curvecp_stream_t *self, curvecp_message_t *message)
{
    uint64_t range1 = self->recv_contig;
    if (self->recv_eof_known && self->recv_contig == self->recv_total)
        range1++;
    uint64_t start[CURVECP_MESSAGE_RANGES], end[CURVECP_MESSAGE_RANGES];
    int count = choose_ranges (self, start, end);
    curvecp_message_set_ranges (message, range1, start, end, count);
    if (self->ack_pending) {
        message->acked_id = self->ack_id;
        self->ack_pending = false;
        self->ack_id = 0;
    }
}

static uint32_t
take_id (curvecp_stream_t *self)
{
    uint32_t id = self->next_id++;
    if (self->next_id == 0)
        self->next_id = 1;              /* 0 means a pure acknowledgment */
    return id;
}

/* A receive window above curvecpmessage's is announced in every message. */
static size_t
announce_window (const curvecp_stream_t *self, uint8_t *out, size_t len)
{
    if (len && self->config.receive_window > CURVECP_STREAM_PEER_WINDOW)
        curvecp_message_put_window (out, len, self->config.receive_window > UINT32_MAX
                                              ? UINT32_MAX : (uint32_t) self->config.receive_window);
    return len;
}

static size_t
send_block (curvecp_stream_t *self, block_t *block, uint64_t now, uint8_t *out, size_t cap)
{
    curvecp_message_t message;
    memset (&message, 0, sizeof message);
    if (curvecp_message_size_large (block->length) > cap)
        return 0;
    message.data = NULL;            /* the data is copied from the ring into place below */
    block->resent = block->id != 0;
    block->seen_below_top = false;
    message.id = take_id (self);
    message.data_len = block->length;
    message.position = block->position;
    message.eof = block->eof ? self->send_eof : CURVECP_EOF_NONE;
    fill_acknowledgment (self, &message);
    block->id = message.id;
    block->seq = ++self->next_seq;
    block->sent_at = now;
    list_append (self, block, IN_FLIGHT);
    self->id_slot[message.id & self->id_mask] = (uint16_t) (block - self->blocks);
    curvecp_chicago_sent (self->chicago, now);
    self->info.messages_sent++;
    size_t len = curvecp_message_encode_large (&message, out, cap);
    if (len)
        ring_get (self->send_buf, self->config.send_buffer, block->position, out + len - block->length,
                  block->length);
    return announce_window (self, out, len);
}

static size_t
send_pure_ack (curvecp_stream_t *self, uint8_t *out, size_t cap)
{
    curvecp_message_t message;
    memset (&message, 0, sizeof message);
    fill_acknowledgment (self, &message);
    self->info.acks_sent++;
    self->info.messages_sent++;
    return announce_window (self, out, curvecp_message_encode (&message, out, cap));
}

/* The nudge. curvecpmessage arms no timer for a retransmission that falls
   due before its next paced send (spec 9.4), so once it has sent all it
   has, a block it lost waits for its next wake-up: the next message we
   send, or 60 s. While our acknowledgments show a hole and nothing has
   passed either way for a while, we repeat the acknowledgment, backing
   off from max(rtt_timeout, NUDGE_MIN_NS) to NUDGE_MAX_NS. It names the
   latest ID we may name (see may_name), never 0, so our own senders do
   not take it for a window update. */
static bool
nudge_due (const curvecp_stream_t *self, uint64_t now)
{
    return self->interval_count > 0 && self->nameable_id != 0 && now >= self->nudge_at;
}

static size_t
send_nudge (curvecp_stream_t *self, uint64_t now, uint8_t *out, size_t cap)
{
    schedule_ack (self, self->nameable_id, now);
    self->info.acks_repeated++;
    self->nudge_at = now + self->nudge_interval;
    self->nudge_interval = self->nudge_interval < NUDGE_MAX_NS / 2 ? 2 * self->nudge_interval : NUDGE_MAX_NS;
    return send_pure_ack (self, out, cap);
}

/* Resend a due block: count why, and back off on a timer expiry. The
   rate backs off only if the peer has also gone quiet: a timeout while
   its acknowledgments keep coming means a full receive window or a
   twice-lost block, not a congested path. */
static void
note_resend (curvecp_stream_t *self, block_t *block, uint64_t now)
{
    self->info.retransmissions++;
    if (block->where == IN_LOST)
        return;
    block->tries++;
    self->info.timeouts++;
    if (now >= self->last_heard + curvecp_chicago_rtt_timeout (self->chicago))
        curvecp_chicago_timeout (self->chicago, now);
}

static bool
gave_up (curvecp_stream_t *self, uint64_t now)
{
    if (!self->failed && self->block_count > 0
    &&  now >= self->waiting_since + self->config.give_up_ns)
        self->failed = true;
    return self->failed;
}

size_t
curvecp_stream_produce (curvecp_stream_t *self, uint64_t now, uint8_t *out, size_t cap)
{
    bool failed = gave_up (self, now);
    release_idle_buffers (self, now);
    if (failed || cap < CURVECP_MESSAGE_ACK_BYTES)
        return 0;
    size_t smallest_max = block_max (self) < CURVECP_MESSAGE_DATA_MAX ? block_max (self) : CURVECP_MESSAGE_DATA_MAX;
    if (curvecp_chicago_may_send (self->chicago, now)
    &&  curvecp_message_size (smallest_max) <= cap) {
        block_t *block = block_to_resend (self, now);
        if (block && curvecp_message_size_large (block->length) > cap)
            block = NULL;           /* cut for a larger cap: waits for one */
        if (block)
            note_resend (self, block, now);
        else {
            /* the wider table only once the inline one is full: a stream
               that sends little never allocates it */
            if (self->block_count == self->table_size
            &&  self->table_size < (int) curvecp_stream_flight_blocks_max (self))
                table_widen (self);
            if (may_cut_block (self))
                block = cut_block (self, now, cap);
        }
        if (block) {
            restart_nudge (self, now);
            return send_block (self, block, now, out, cap);
        }
    }
    if (self->ack_pending && now >= self->ack_due) {
        restart_nudge (self, now);
        return send_pure_ack (self, out, cap);
    }
    if (nudge_due (self, now))
        return send_nudge (self, now, out, cap);
    return 0;
}

uint64_t
curvecp_stream_deadline (const curvecp_stream_t *self)
{
    uint64_t deadline = send_release_time (self);
    if (recv_release_time (self) < deadline)
        deadline = recv_release_time (self);
    if (self->failed)
        return deadline;
    if (self->ack_pending && self->ack_due < deadline)
        deadline = self->ack_due;
    if (self->interval_count > 0 && self->nameable_id != 0 && self->nudge_at < deadline)
        deadline = self->nudge_at;
    uint64_t send_time = curvecp_chicago_send_time (self->chicago);
    uint64_t resend = next_resend (self);
    if (may_cut_block (self))
        resend = 0;
    if (resend != UINT64_MAX) {
        if (resend < send_time)
            resend = send_time;
        if (resend < deadline)
            deadline = resend;
    }
    if (self->block_count > 0 && self->waiting_since + self->config.give_up_ns < deadline)
        deadline = self->waiting_since + self->config.give_up_ns;
    return deadline;
}

/* ---- observation ----------------------------------------------------- */

const curvecp_stats_t *
curvecp_stream_stats (const curvecp_stream_t *self)
{
    return &self->stats;
}

const curvecp_stream_info_t *
curvecp_stream_info (const curvecp_stream_t *self)
{
    return &self->info;
}

void
curvecp_stream_set_next_id (curvecp_stream_t *self, uint32_t id)
{
    self->next_id = id ? id : 1;
}

const curvecp_chicago_t *
curvecp_stream_chicago (const curvecp_stream_t *self)
{
    return self->chicago;
}
