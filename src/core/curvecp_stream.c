/*  curvecp_stream.c - one endpoint's message layer: a sans-I/O state
    machine for both directions of a CurveCP connection.

    The stream is the glue between its two sides and the decongestion
    controller: curvecp_stream_send (the bytes written, the blocks in
    flight, resends, acknowledgments received, our EOF) and
    curvecp_stream_recv (reassembly, the acknowledgments we owe, the
    receive window, the peer's EOF), both embedded in it, and Chicago
    (curvecp_chicago), which says when a block may go and how long a
    round trip takes. Here: validating a message against both sides
    before either changes, the order in which a message's parts are
    handled, what goes into each message produced (a resend, a new block,
    a pure acknowledgment, a nudge), the deadline, the window tag, and
    giving up when the peer stays silent.

    Memory: both buffers exist only while they hold something. Once a
    buffer is empty (every byte written acknowledged, every byte received
    read) and stays empty for idle_release_ns, it is freed, and allocated
    again by the next write or arriving data; a direction that has ended
    frees its buffer at once. The delay keeps a busy connection from
    freeing and allocating 128 KiB every round trip; the stream's deadline
    includes the release, so an idle connection is woken once for it.

    Between two of our peers (curvecp_stream.h): the window tag lets a
    sender keep more than 128 blocks / 128 KiB in flight, and large blocks
    (negotiated by the carrier) cut the per-packet costs.             */
#include <stdlib.h>
#include <string.h>
#include "curvecp_stream.h"
#include "curvecp_stream_common.h"
#include "curvecp_stream_recv.h"
#include "curvecp_stream_send.h"

#define DEFAULT_BUFFER     131072
#define DEFAULT_GIVE_UP    (60ull * 1000000000ull)
#define DEFAULT_IDLE_RELEASE (100ull * 1000000ull)
#define DEFAULT_TIMER_RESOLUTION 1000000ull

struct _curvecp_stream_t {
    curvecp_stream_config_t config;
    curvecp_chicago_t *chicago;
    curvecp_stats_t stats;
    curvecp_stream_info_t info;
    bool failed;
    uint64_t waiting_since;           /* last time the peer was heard or we began waiting */
    uint64_t last_heard;              /* last valid message from the peer */
    uint64_t clock;                   /* latest now we were given */
    curvecp_stream_recv_t recv;
    curvecp_stream_send_t send;       /* with its small inline block table */
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

void
curvecp_stream_config_complete (curvecp_stream_config_t *config)
{
    if (config->give_up_ns == 0)
        config->give_up_ns = DEFAULT_GIVE_UP;
    if (config->idle_release_ns == 0)
        config->idle_release_ns = DEFAULT_IDLE_RELEASE;
    if (config->timer_resolution_ns == 0)
        config->timer_resolution_ns = DEFAULT_TIMER_RESOLUTION;
    if (config->block_max < CURVECP_MESSAGE_DATA_MAX)
        config->block_max = CURVECP_MESSAGE_DATA_MAX;
    if (config->blocks_max < CURVECP_STREAM_BLOCKS_MAX)
        config->blocks_max = CURVECP_STREAM_BLOCKS_MAX;
    if (config->peer_window_max < CURVECP_STREAM_PEER_WINDOW)
        config->peer_window_max = CURVECP_STREAM_PEER_WINDOW;
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
    curvecp_stream_config_complete (&self->config);
    self->chicago = curvecp_chicago_new (config->pacing, config->now, config->rng);
    if (!self->chicago) {
        free (self);
        return NULL;
    }
    curvecp_chicago_set_timer_resolution (self->chicago, self->config.timer_resolution_ns);
    curvecp_stream_send_init (&self->send, &self->config, &self->info);
    curvecp_stream_recv_init (&self->recv, &self->config, &self->info);
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
        curvecp_stream_send_term (&self->send);
        curvecp_stream_recv_term (&self->recv);
        free (self);
        *self_p = NULL;
    }
}

/* ---- buffers --------------------------------------------------------- */

static void
release_idle_buffers (curvecp_stream_t *self, uint64_t now)
{
    if (self->clock < now)
        self->clock = now;
    curvecp_stream_send_release_idle (&self->send, now, self->failed);
    curvecp_stream_recv_release_idle (&self->recv, now, self->failed);
}

size_t
curvecp_stream_memory (const curvecp_stream_t *self)
{
    return sizeof *self + curvecp_chicago_memory (self->chicago)
         + curvecp_stream_send_memory (&self->send)
         + curvecp_stream_recv_memory (&self->recv);
}

/* ---- application side ------------------------------------------------ */

size_t
curvecp_stream_send_space (const curvecp_stream_t *self)
{
    return self->failed ? 0 : curvecp_stream_send_writable (&self->send);
}

size_t
curvecp_stream_write (curvecp_stream_t *self, const uint8_t *data, size_t len)
{
    if (self->failed)
        return 0;
    return curvecp_stream_send_write (&self->send, data, len);
}

curvecp_reason_t
curvecp_stream_ping (curvecp_stream_t *self)
{
    if (self->failed)
        return CURVECP_E_WRONG_STATE;
    return curvecp_stream_send_ping (&self->send);
}

curvecp_reason_t
curvecp_stream_close (curvecp_stream_t *self, curvecp_eof_t eof)
{
    return curvecp_stream_send_close (&self->send, eof);
}

size_t
curvecp_stream_readable (const curvecp_stream_t *self)
{
    return curvecp_stream_recv_readable (&self->recv);
}

size_t
curvecp_stream_read (curvecp_stream_t *self, uint8_t *out, size_t cap)
{
    return curvecp_stream_recv_read (&self->recv, out, cap, self->clock);
}

size_t
curvecp_stream_peek (const curvecp_stream_t *self, const uint8_t **data)
{
    return curvecp_stream_recv_peek (&self->recv, data);
}

size_t
curvecp_stream_reserve (curvecp_stream_t *self, uint8_t **space)
{
    return self->failed ? 0 : curvecp_stream_send_reserve (&self->send, space);
}

void
curvecp_stream_commit (curvecp_stream_t *self, size_t len)
{
    curvecp_stream_send_commit (&self->send, len);
}

curvecp_eof_t
curvecp_stream_received_eof (const curvecp_stream_t *self)
{
    return curvecp_stream_recv_eof (&self->recv);
}

bool
curvecp_stream_all_acked (const curvecp_stream_t *self)
{
    return curvecp_stream_send_all_acked (&self->send);
}

bool
curvecp_stream_done (const curvecp_stream_t *self)
{
    return curvecp_stream_send_eof_acked (&self->send)
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

/* ---- limits ---------------------------------------------------------- */

size_t
curvecp_stream_message_max (const curvecp_stream_t *self)
{
    return curvecp_message_size_large (curvecp_stream_send_block_max (&self->send));
}

curvecp_reason_t
curvecp_stream_set_send_block_max (curvecp_stream_t *self, size_t block_max)
{
    return curvecp_stream_send_set_block_max (&self->send, block_max);
}

size_t
curvecp_stream_peer_window (const curvecp_stream_t *self)
{
    return curvecp_stream_send_peer_window (&self->send);
}

size_t
curvecp_stream_flight_bytes_max (const curvecp_stream_t *self)
{
    return curvecp_stream_send_flight_bytes_max (&self->send);
}

size_t
curvecp_stream_flight_blocks_max (const curvecp_stream_t *self)
{
    return curvecp_stream_send_flight_blocks_max (&self->send);
}

/* ---- receiving ------------------------------------------------------- */

/* Would this message contradict what we know (acks for bytes we never
   sent, data beyond or an EOF before the end we were told)? Such a
   message is refused whole, before anything changes. */
static bool
message_consistent (const curvecp_stream_t *self, const curvecp_message_t *message)
{
    return curvecp_stream_send_ack_plausible (&self->send, message)
        && curvecp_stream_recv_data_plausible (&self->recv, message);
}

/* Anything passed between us: the nudge waits again. */
static void
restart_nudge (curvecp_stream_t *self, uint64_t now)
{
    curvecp_stream_recv_restart_nudge (&self->recv, now, curvecp_chicago_rtt_timeout (self->chicago));
}

/* The acknowledgment part of a message: the sending side marks blocks
   done; the controller hears of the round trip and of losses. */
static void
process_acks (curvecp_stream_t *self, const curvecp_message_t *message, uint64_t now)
{
    curvecp_stream_acked_t acked = curvecp_stream_send_ack (&self->send, message, self->clock);
    if (acked.rtt_sample)
        curvecp_chicago_rtt_sample (self->chicago, acked.sent_at, now);
    if (acked.loss)
        curvecp_chicago_loss (self->chicago, now);
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
    curvecp_stream_send_peer_heard (&self->send);
    uint32_t window = curvecp_message_window (buffer, len);
    if (window)
        curvecp_stream_send_set_peer_window (&self->send, window);
    self->waiting_since = now;
    self->last_heard = now;
    restart_nudge (self, now);
    process_acks (self, &message, now);
    /* data refused for want of room is still acknowledged (the recv
       side's reason is for its counters, not for the carrier) */
    curvecp_stream_recv_data (&self->recv, &message, now);
    release_idle_buffers (self, now);
    return CURVECP_OK;
}

/* ---- producing ------------------------------------------------------- */

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
send_block (curvecp_stream_t *self, curvecp_stream_block_t *block, uint64_t now, uint8_t *out, size_t cap)
{
    curvecp_message_t message;
    memset (&message, 0, sizeof message);
    if (curvecp_message_size_large (block->length) > cap)
        return 0;
    curvecp_stream_recv_fill_ack (&self->recv, &message);
    curvecp_chicago_sent (self->chicago, now);
    self->info.messages_sent++;
    return announce_window (self, out, curvecp_stream_send_transmit (&self->send, block, now, &message, out, cap));
}

static size_t
send_pure_ack (curvecp_stream_t *self, uint8_t *out, size_t cap)
{
    curvecp_message_t message;
    memset (&message, 0, sizeof message);
    curvecp_stream_recv_fill_ack (&self->recv, &message);
    self->info.acks_sent++;
    self->info.messages_sent++;
    return announce_window (self, out, curvecp_message_encode (&message, out, cap));
}

/* The next block to send: a resend that is due, else a new block. The
   rate backs off on a timer expiry only if the peer has also gone
   quiet: a timeout while its acknowledgments keep coming means a full
   receive window or a twice-lost block, not a congested path. */
static curvecp_stream_block_t *
next_block (curvecp_stream_t *self, uint64_t now, size_t cap)
{
    uint64_t rto = curvecp_chicago_rtt_timeout (self->chicago);
    curvecp_stream_send_why_t why;
    curvecp_stream_block_t *block = curvecp_stream_send_next (&self->send, now, rto, cap, &why);
    if (why == CURVECP_STREAM_SEND_TIMEOUT && now >= self->last_heard + rto)
        curvecp_chicago_timeout (self->chicago, now);
    else
    if (why == CURVECP_STREAM_SEND_FIRST)
        self->waiting_since = now;      /* we start waiting for the peer now */
    return block;
}

static bool
gave_up (curvecp_stream_t *self, uint64_t now)
{
    if (!self->failed && curvecp_stream_send_blocks (&self->send) > 0
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
    size_t block_max = curvecp_stream_send_block_max (&self->send);
    size_t smallest_max = block_max < CURVECP_MESSAGE_DATA_MAX ? block_max : CURVECP_MESSAGE_DATA_MAX;
    if (curvecp_chicago_may_send (self->chicago, now)
    &&  curvecp_message_size (smallest_max) <= cap) {
        curvecp_stream_block_t *block = next_block (self, now, cap);
        if (block) {
            restart_nudge (self, now);
            return send_block (self, block, now, out, cap);
        }
    }
    if (curvecp_stream_recv_ack_due (&self->recv, now)) {
        restart_nudge (self, now);
        return send_pure_ack (self, out, cap);
    }
    if (curvecp_stream_recv_nudge_due (&self->recv, now)) {
        curvecp_stream_recv_nudge (&self->recv, now);
        return send_pure_ack (self, out, cap);
    }
    return 0;
}

uint64_t
curvecp_stream_deadline (const curvecp_stream_t *self)
{
    uint64_t deadline = curvecp_stream_send_release_time (&self->send, self->failed);
    uint64_t recv_release = curvecp_stream_recv_release_time (&self->recv, self->failed);
    if (recv_release < deadline)
        deadline = recv_release;
    if (self->failed)
        return deadline;
    if (curvecp_stream_recv_ack_time (&self->recv) < deadline)
        deadline = curvecp_stream_recv_ack_time (&self->recv);
    if (curvecp_stream_recv_nudge_time (&self->recv) < deadline)
        deadline = curvecp_stream_recv_nudge_time (&self->recv);
    uint64_t send_time = curvecp_chicago_send_time (self->chicago);
    uint64_t resend = curvecp_stream_send_next_time (&self->send, curvecp_chicago_rtt_timeout (self->chicago));
    if (resend != UINT64_MAX) {
        if (resend < send_time)
            resend = send_time;
        if (resend < deadline)
            deadline = resend;
    }
    if (curvecp_stream_send_blocks (&self->send) > 0 && self->waiting_since + self->config.give_up_ns < deadline)
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
    curvecp_stream_send_set_next_id (&self->send, id);
}

const curvecp_chicago_t *
curvecp_stream_chicago (const curvecp_stream_t *self)
{
    return self->chicago;
}
