/*  curvecp_listener.c - classification, the Hello queue and its budget,
    admission and the C' table, for every carrier's server.

    Admission is checked before the Initiate is verified: verifying it
    puts its C' in the replay cache, so a client refused after that could
    never connect with the Initiate it keeps resending.                   */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_hello_queue.h"
#include "curvecp_listener.h"
#include "curvecp_table.h"

#define DEFAULT_HELLO_QUEUE     1024
#define DEFAULT_HELLO_BUDGET_NS 1000000ull
#define DEFAULT_TOKEN_MAX       256
/* Initiates for new connections per carrier call: each costs as much as
   a Hello, and one cookie can be sent with any number of forged boxes. */
#define DEFAULT_INITIATES_PER_CALL 128
#define SCRATCH_BYTES (CURVECP_INITIATE_INNER_BASE + CURVECP_INITIATE_MSG_MAX)

struct _curvecp_listener_entry_t {
    uint8_t key[CURVECP_KEY_BYTES];        /* C' */
    void *conn;
    size_t charge;                         /* pending memory, while unconfirmed */
    bool confirmed, held;
    size_t token_len, token_max;
    uint8_t token[];
};

struct _curvecp_listener_t {
    curvecp_hs_server_t *hs;
    size_t message_max, token_max;
    curvecp_listener_limits_t limits;
    curvecp_hello_queue_t *hellos;
    uint64_t hello_budget_ns;
    uint32_t hello_rate;
    double hello_tokens;                   /* token bucket when hello_rate is set */
    uint64_t hello_tokens_at;
    uint64_t call_started;                 /* begin's now */
    uint64_t answered_in_call;
    int initiates_per_call, initiates_left;
    curvecp_table_t *table;                /* C' -> entry (keyed SipHash: clients
                                              cannot aim their C' at one slot) */
    uint8_t hello[CURVECP_HELLO_BYTES];    /* the one being answered */
    uint8_t scratch[SCRATCH_BYTES];        /* an accepted Initiate's inside, until add */
    curvecp_listener_info_t info;
    curvecp_stats_t stats;
};

void
curvecp_listener_config_default (curvecp_listener_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->limits.max_connections = CURVECP_LISTENER_NO_LIMIT;
    config->limits.max_pending = CURVECP_LISTENER_NO_LIMIT;
    config->limits.max_pending_memory = CURVECP_LISTENER_NO_LIMIT;
    config->limits.max_held = CURVECP_LISTENER_NO_LIMIT;
}

curvecp_listener_t *
curvecp_listener_new (const curvecp_listener_config_t *config)
{
    if (!config || !config->keys || config->message_max > CURVECP_LARGE_MSG_MAX)
        return NULL;
    curvecp_listener_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->message_max = config->message_max ? config->message_max : CURVECP_MSG_MAX;
    self->token_max = config->token_max ? config->token_max : DEFAULT_TOKEN_MAX;
    self->limits = config->limits;
    self->hello_budget_ns = config->hello_budget_ns ? config->hello_budget_ns : DEFAULT_HELLO_BUDGET_NS;
    self->hello_rate = config->hello_rate;
    self->initiates_per_call = config->initiates_per_call > 0 ? config->initiates_per_call
                                                              : DEFAULT_INITIATES_PER_CALL;
    self->initiates_left = self->initiates_per_call;
    self->table = curvecp_table_new (CURVECP_KEY_BYTES, config->rng);
    self->hs = curvecp_hs_server_new (config->keys, config->ext, config->now, config->rng);
    self->hellos = curvecp_hello_queue_new (config->hello_queue ? config->hello_queue : DEFAULT_HELLO_QUEUE,
                                            self->token_max, config->rng);
    if (!self->table || !self->hs || !self->hellos)
        curvecp_listener_destroy (&self);
    return self;
}

void
curvecp_listener_destroy (curvecp_listener_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_listener_t *self = *self_p;
    curvecp_listener_entry_t *entry;
    while (self->table && (entry = curvecp_listener_first (self)) != NULL) {
        curvecp_table_remove (self->table, entry->key);
        free (entry);
    }
    curvecp_table_destroy (&self->table);
    curvecp_hs_server_destroy (&self->hs);
    curvecp_hello_queue_destroy (&self->hellos);
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

curvecp_hs_server_t *
curvecp_listener_handshake (curvecp_listener_t *self)
{
    return self->hs;
}

void
curvecp_listener_set_cookie_nonce (curvecp_listener_t *self, curvecp_nonce16_fn fn, void *context)
{
    curvecp_hs_server_set_nonce16 (self->hs, fn, context);
}

void
curvecp_listener_prepare (curvecp_listener_t *self)
{
    curvecp_hs_server_prepare (self->hs);
}

void
curvecp_listener_share_minute_keys (curvecp_listener_t *self, curvecp_listener_t *from,
        curvecp_minute_keys_fn *source, void *context)
{
    curvecp_hs_server_share_minute_keys (self->hs, from->hs, source, context);
}

void
curvecp_listener_minute_keys (const curvecp_listener_t *self, uint8_t current[32], uint8_t previous[32])
{
    curvecp_hs_server_minute_keys (self->hs, current, previous);
}

void
curvecp_listener_set_limits (curvecp_listener_t *self, const curvecp_listener_limits_t *limits)
{
    self->limits = *limits;
}

const curvecp_listener_limits_t *
curvecp_listener_limits (const curvecp_listener_t *self)
{
    return &self->limits;
}

/* ---- the C' table ----------------------------------------------------- */

curvecp_listener_entry_t *
curvecp_listener_lookup (curvecp_listener_t *self, const uint8_t client_short_pk[CURVECP_KEY_BYTES])
{
    return (curvecp_listener_entry_t *) curvecp_table_lookup (self->table, client_short_pk);
}

curvecp_listener_entry_t *
curvecp_listener_next (curvecp_listener_t *self, size_t *cursor)
{
    return (curvecp_listener_entry_t *) curvecp_table_next (self->table, cursor, NULL);
}

curvecp_listener_entry_t *
curvecp_listener_first (curvecp_listener_t *self)
{
    size_t cursor = 0;
    return curvecp_listener_next (self, &cursor);
}

/* ---- packets ------------------------------------------------------------ */

static curvecp_listener_action_t
drop (curvecp_listener_t *self, curvecp_listener_result_t *result, curvecp_reason_t reason)
{
    result->action = CURVECP_LISTENER_DROP;
    result->reason = curvecp_stats_count (&self->stats, reason);
    return result->action;
}

static curvecp_listener_action_t
queue_hello (curvecp_listener_t *self, const uint8_t *packet, const uint8_t *source, size_t source_len,
        curvecp_listener_result_t *result)
{
    if (!source || source_len == 0 || source_len > self->token_max)
        return drop (self, result, CURVECP_E_BAD_ARGUMENT);
    self->info.hellos_queued++;
    if (curvecp_hello_queue_push (self->hellos, packet, source, source_len)) {
        /* this one or an older one of a longer lane: one Hello dropped */
        self->info.hellos_dropped++;
        return drop (self, result, CURVECP_E_OVERLOADED);
    }
    result->action = CURVECP_LISTENER_HELLO_QUEUED;
    return result->action;
}

curvecp_listener_action_t
curvecp_listener_input (curvecp_listener_t *self, const uint8_t *packet, size_t len,
        const uint8_t *source, size_t source_len, curvecp_listener_result_t *result)
{
    memset (result, 0, sizeof *result);
    if (!packet)
        return drop (self, result, CURVECP_E_BAD_ARGUMENT);
    curvecp_reason_t reason = curvecp_packet_classify_at_server_max (packet, len,
            curvecp_hs_server_ext (self->hs), self->message_max, &result->type);
    if (reason != CURVECP_OK)
        return drop (self, result, reason);
    if (result->type == CURVECP_PACKET_HELLO)
        return queue_hello (self, packet, source, source_len, result);
    curvecp_listener_entry_t *entry = curvecp_listener_lookup (self, curvecp_packet_client_short_key (packet));
    if (entry) {
        result->action = CURVECP_LISTENER_CONNECTION;
        result->entry = entry;
        result->conn = entry->conn;
        return result->action;
    }
    if (result->type == CURVECP_PACKET_INITIATE) {
        result->action = CURVECP_LISTENER_NEW_INITIATE;
        return result->action;
    }
    /* a large Message only a connection that negotiated it may take */
    return drop (self, result, len > CURVECP_PACKET_MAX ? CURVECP_E_TOO_LONG : CURVECP_E_UNKNOWN_SESSION);
}

void
curvecp_listener_count (curvecp_listener_t *self, curvecp_reason_t reason)
{
    curvecp_stats_count (&self->stats, reason);
}

int
curvecp_listener_add_name (curvecp_listener_t *self, const char *name)
{
    return curvecp_hs_server_add_name (self->hs, name);
}

void
curvecp_listener_refuse (curvecp_listener_t *self, curvecp_reason_t reason)
{
    curvecp_hs_server_count (self->hs, reason);
}

void
curvecp_listener_begin (curvecp_listener_t *self, uint64_t now)
{
    self->call_started = now;
    self->answered_in_call = 0;
    self->initiates_left = self->initiates_per_call;
}

/* ---- Hellos --------------------------------------------------------------- */

/* Token bucket: up to a twentieth of a second's Hellos saved up. */
static void
refill_tokens (curvecp_listener_t *self, uint64_t now)
{
    if (now <= self->hello_tokens_at)
        return;
    double burst = self->hello_rate / 20.0 > 1 ? self->hello_rate / 20.0 : 1;
    self->hello_tokens += (double) (now - self->hello_tokens_at) * self->hello_rate / 1e9;
    if (self->hello_tokens > burst || self->hello_tokens_at == 0)
        self->hello_tokens = burst;
    self->hello_tokens_at = now;
}

static bool
hello_allowed (curvecp_listener_t *self, uint64_t now)
{
    if (self->answered_in_call > 0 && now >= self->call_started + self->hello_budget_ns)
        return false;
    if (self->hello_rate == 0)
        return true;
    refill_tokens (self, now);
    return self->hello_tokens >= 1;
}

curvecp_listener_cookie_t
curvecp_listener_next_cookie (curvecp_listener_t *self, uint64_t now, uint8_t cookie[CURVECP_COOKIE_BYTES],
        uint8_t *token, size_t *token_len, curvecp_reason_t *reason_p)
{
    if (curvecp_hello_queue_count (self->hellos) == 0 || !hello_allowed (self, now)
    ||  !curvecp_hello_queue_take (self->hellos, self->hello, token, token_len))
        return CURVECP_LISTENER_NO_COOKIE;
    self->answered_in_call++;
    if (self->hello_rate)
        self->hello_tokens -= 1;
    curvecp_reason_t reason = curvecp_hs_server_hello (self->hs, self->hello, CURVECP_HELLO_BYTES, now, cookie);
    curvecp_stats_count (&self->stats, reason);
    if (reason_p)
        *reason_p = reason;
    if (reason != CURVECP_OK)
        return CURVECP_LISTENER_HELLO_REFUSED;
    self->info.hellos_answered++;
    return CURVECP_LISTENER_COOKIE;
}

uint64_t
curvecp_listener_deadline (const curvecp_listener_t *self)
{
    if (curvecp_hello_queue_count (self->hellos) == 0)
        return UINT64_MAX;
    if (self->hello_rate == 0 || self->hello_tokens >= 1)
        return 0;
    return self->hello_tokens_at + (uint64_t) ((1 - self->hello_tokens) * 1e9 / self->hello_rate) + 1;
}

/* ---- new connections -------------------------------------------------------- */

/* Which limits a new connection would exceed, each counted. */
static bool
admissible (curvecp_listener_t *self)
{
    const curvecp_listener_limits_t *l = &self->limits;
    curvecp_listener_info_t *i = &self->info;
    bool ok = true;
    if (i->count >= l->max_connections) {
        i->full_connections++;
        ok = false;
    }
    if (i->pending >= l->max_pending) {
        i->full_pending++;
        ok = false;
    }
    if (i->held >= l->max_held) {
        i->full_held++;
        ok = false;
    }
    if (l->pending_charge > l->max_pending_memory || i->pending_memory > l->max_pending_memory - l->pending_charge) {
        i->full_memory++;
        ok = false;
    }
    return ok;
}

static curvecp_reason_t
refuse (curvecp_listener_t *self, curvecp_reason_t reason)
{
    curvecp_hs_server_count (self->hs, reason);
    return curvecp_stats_count (&self->stats, reason);
}

curvecp_reason_t
curvecp_listener_accept (curvecp_listener_t *self, const uint8_t *packet, size_t len, uint64_t now,
        curvecp_listener_accepted_t *accepted)
{
    memset (accepted, 0, sizeof *accepted);
    curvecp_packet_type_t type;
    curvecp_reason_t reason = packet ? curvecp_packet_classify_at_server (packet, len,
            curvecp_hs_server_ext (self->hs), &type) : CURVECP_E_BAD_ARGUMENT;
    if (reason == CURVECP_OK && type != CURVECP_PACKET_INITIATE)
        reason = CURVECP_E_WRONG_STATE;
    if (reason == CURVECP_OK && curvecp_listener_lookup (self, curvecp_packet_client_short_key (packet)))
        reason = CURVECP_E_WRONG_STATE;            /* its connection exists: input says so */
    if (reason != CURVECP_OK)
        return curvecp_stats_count (&self->stats, reason);
    if (self->initiates_left == 0) {
        self->info.initiates_deferred++;
        return curvecp_stats_count (&self->stats, CURVECP_E_OVERLOADED);
    }
    if (!admissible (self))
        return refuse (self, CURVECP_E_FULL);      /* no crypto spent: not bounded per call */
    self->initiates_left--;
    curvecp_initiate_info_t first;
    reason = curvecp_hs_server_initiate (self->hs, packet, len, now, &accepted->session, self->scratch, &first);
    if (reason != CURVECP_OK) {
        sodium_memzero (self->scratch, sizeof self->scratch);
        return curvecp_stats_count (&self->stats, reason);
    }
    accepted->message = first.message;
    accepted->message_len = first.message_len;
    accepted->name_index = first.name_index;
    memcpy (accepted->client_key, accepted->session.client_long_pk, CURVECP_KEY_BYTES);
    accepted->charge = self->limits.pending_charge;
    return CURVECP_OK;                              /* counted at add or abandon */
}

static void
wipe_accepted (curvecp_listener_t *self, curvecp_listener_accepted_t *accepted)
{
    sodium_memzero (self->scratch, sizeof self->scratch);
    sodium_memzero (accepted, sizeof *accepted);
}

curvecp_listener_entry_t *
curvecp_listener_add (curvecp_listener_t *self, curvecp_listener_accepted_t *accepted, void *conn,
        const uint8_t *token, size_t token_len)
{
    curvecp_listener_entry_t *entry = NULL;
    if (conn && token_len <= self->token_max && (token || token_len == 0))
        entry = calloc (1, sizeof *entry + self->token_max);
    if (!entry) {
        curvecp_listener_abandon (self, accepted, conn ? CURVECP_E_IO : CURVECP_E_BAD_ARGUMENT);
        return NULL;
    }
    memcpy (entry->key, accepted->session.client_short_pk, CURVECP_KEY_BYTES);
    if (curvecp_table_insert (self->table, entry->key, entry) != CURVECP_OK) {
        free (entry);
        curvecp_listener_abandon (self, accepted, CURVECP_E_IO);
        return NULL;
    }
    entry->conn = conn;
    entry->token_max = self->token_max;
    curvecp_listener_entry_set_token (entry, token, token_len);
    entry->charge = accepted->charge;
    self->info.count++;
    self->info.pending++;
    self->info.pending_memory += entry->charge;
    self->info.connections++;
    curvecp_stats_count (&self->stats, CURVECP_OK);
    wipe_accepted (self, accepted);
    return entry;
}

void
curvecp_listener_abandon (curvecp_listener_t *self, curvecp_listener_accepted_t *accepted,
        curvecp_reason_t reason)
{
    refuse (self, reason);
    wipe_accepted (self, accepted);
}

void
curvecp_listener_confirm (curvecp_listener_t *self, curvecp_listener_entry_t *entry)
{
    if (entry->confirmed)
        return;
    entry->confirmed = true;
    self->info.pending--;
    self->info.pending_memory -= entry->charge;
    entry->charge = 0;
}

void
curvecp_listener_hold (curvecp_listener_t *self, curvecp_listener_entry_t *entry)
{
    if (!entry->held) {
        entry->held = true;
        self->info.held++;
    }
}

void
curvecp_listener_release (curvecp_listener_t *self, curvecp_listener_entry_t *entry)
{
    if (entry->held) {
        entry->held = false;
        self->info.held--;
    }
}

void
curvecp_listener_remove (curvecp_listener_t *self, curvecp_listener_entry_t **entry_p)
{
    curvecp_listener_entry_t *entry = *entry_p;
    if (!entry)
        return;
    curvecp_listener_release (self, entry);
    curvecp_listener_confirm (self, entry);
    curvecp_table_remove (self->table, entry->key);
    self->info.count--;
    free (entry);
    *entry_p = NULL;
}

void *
curvecp_listener_entry_conn (const curvecp_listener_entry_t *entry)
{
    return entry->conn;
}

const uint8_t *
curvecp_listener_entry_token (const curvecp_listener_entry_t *entry, size_t *token_len)
{
    *token_len = entry->token_len;
    return entry->token;
}

bool
curvecp_listener_entry_set_token (curvecp_listener_entry_t *entry, const uint8_t *token, size_t token_len)
{
    if (token_len > entry->token_max || (token_len && !token))
        return false;
    if (token_len)
        memcpy (entry->token, token, token_len);
    entry->token_len = token_len;
    return true;
}

bool
curvecp_listener_entry_confirmed (const curvecp_listener_entry_t *entry)
{
    return entry->confirmed;
}

bool
curvecp_listener_entry_held (const curvecp_listener_entry_t *entry)
{
    return entry->held;
}

/* ---- counters ------------------------------------------------------------------ */

const curvecp_listener_info_t *
curvecp_listener_info (curvecp_listener_t *self)
{
    self->info.hellos_waiting = curvecp_hello_queue_count (self->hellos);
    return &self->info;
}

size_t
curvecp_listener_size (const curvecp_listener_t *self)
{
    return self->info.count;
}

const curvecp_stats_t *
curvecp_listener_stats (const curvecp_listener_t *self)
{
    return &self->stats;
}
