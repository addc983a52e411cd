/*  curvecp_zmq_sub.c - the secured subscriber (curvecp_zmq_sub.h).

    A curvecp_zmq_client carries the key channel (JOIN out; KEYS, DENY,
    APP in; ACK out for each KEYS), a SUB socket the data channel. Each
    batch is checked cheapest first - format, topic, epoch and channel
    key, sequence numbers - and only then its Ed25519 signature and its
    seal, so a flood of junk costs no public-key work, and nothing about
    a refused batch changes any state (the sequence numbers move only
    after a batch is delivered).

    Keys of an epoch stay usable for the grace time after a newer epoch's
    keys came, so batches sealed just before the publisher's switch still
    open; an older epoch than the one a topic was last delivered in is a
    replay.                                                              */
#include <sodium.h>
#include <string.h>
#include "curvecp_zmq_sub.h"
#include "curvecp_pubsub_wire.h"
#include "curvecp_zmq.h"

#define EPOCHS_KEPT 4           /* newest and those in their grace */
#define DRAIN_MAX   256         /* batches taken per service pass */

typedef struct {
    uint8_t len;
    uint8_t prefix[PS_TOPIC_MAX];
    uint8_t key[PS_KEY_BYTES];
} channel_t;

typedef struct {
    uint64_t id;
    uint64_t expires;           /* 0: the newest; else usable until then */
    size_t count;
    channel_t *channels;        /* sodium_malloc'd */
} sub_epoch_t;

typedef struct {
    uint64_t epoch, last_seq;   /* last delivered */
} track_t;

/* A checked batch whose messages the application has not all taken: its
   plaintext, and where the next message starts. Messages become zmsg_t
   only when taken, one at a time, so a batch of hundreds costs one
   buffer, not hundreds of live messages. */
typedef struct {
    uint8_t topic[PS_TOPIC_MAX];
    size_t topic_len;
    uint8_t *plain;
    size_t len, at;             /* its length (walked whole before it came here) */
    uint16_t left;              /* messages not yet taken */
    uint64_t seq, epoch, gap;   /* of the next message */
} pending_t;

/* The last message taken. */
typedef struct {
    uint64_t gap, seq, epoch;
} last_t;

struct _curvecp_zmq_sub_t {
    curvecp_zmq_client_t *client;
    zsock_t *sub;
    void *sub_handle;
    zlistx_t *prefixes;         /* our subscriptions */
    sub_epoch_t epochs[EPOCHS_KEPT];
    uint8_t sign_pk[PS_SIGN_PK_BYTES];
    bool have_signer;
    bool denied;
    char deny_reason[PS_DENY_MAX + 1];
    int grace_ms, rcvtimeo;
    zhashx_t *tracks;           /* hex topic -> track_t */
    zlistx_t *items;            /* pending_t: checked batches not yet all taken */
    zlistx_t *replies;          /* APP messages from the publisher */
    uint64_t rehandshakes;      /* the client's count when we last sent JOIN */
    last_t last;                /* the last message returned */
    uint8_t *scratch, *plain;
    size_t scratch_cap, plain_cap;
    curvecp_zmq_sub_stats_t stats;
    curvecp_zmq_loop_t loop;
    zsock_t *watched;
    curvecp_zmq_sub_message_fn *on_message;
    void *on_message_arg;
};

/* ---- keys ----------------------------------------------------------------------- */

static void
epoch_clear (sub_epoch_t *epoch)
{
    if (epoch->channels)
        sodium_free (epoch->channels);
    memset (epoch, 0, sizeof *epoch);
}

static void
epochs_clear (curvecp_zmq_sub_t *self)
{
    for (size_t i = 0; i < EPOCHS_KEPT; i++)
        epoch_clear (&self->epochs[i]);
}

static sub_epoch_t *
epoch_find (curvecp_zmq_sub_t *self, uint64_t id, uint64_t now)
{
    for (size_t i = 0; i < EPOCHS_KEPT; i++) {
        sub_epoch_t *epoch = &self->epochs[i];
        if (epoch->id == id && epoch->channels) {
            if (epoch->expires && epoch->expires <= now) {
                epoch_clear (epoch);        /* its grace is over */
                return NULL;
            }
            return epoch;
        }
    }
    return NULL;
}

static uint64_t
newest_epoch (curvecp_zmq_sub_t *self)
{
    uint64_t newest = 0;
    for (size_t i = 0; i < EPOCHS_KEPT; i++)
        if (self->epochs[i].channels && self->epochs[i].id > newest)
            newest = self->epochs[i].id;
    return newest;
}

static const channel_t *
channel_find (const sub_epoch_t *epoch, const uint8_t *topic, uint8_t len)
{
    for (size_t i = 0; i < epoch->count; i++)
        if (epoch->channels[i].len == len && memcmp (epoch->channels[i].prefix, topic, len) == 0)
            return &epoch->channels[i];
    return NULL;
}

/* A slot for a new epoch: a free one, else the one that expires first. */
static sub_epoch_t *
epoch_slot (curvecp_zmq_sub_t *self, uint64_t now)
{
    sub_epoch_t *slot = NULL;
    for (size_t i = 0; i < EPOCHS_KEPT; i++) {
        sub_epoch_t *epoch = &self->epochs[i];
        if (epoch->channels && epoch->expires && epoch->expires <= now)
            epoch_clear (epoch);
        if (!epoch->channels)
            return epoch;
        if (!slot || epoch->id < slot->id)
            slot = epoch;
    }
    epoch_clear (slot);
    return slot;
}

static void
send_command (curvecp_zmq_sub_t *self, const char *command, const void *body, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, command);
    zmsg_addmem (msg, body, size);
    if (curvecp_zmq_client_send (self->client, &msg) != 0)
        zmsg_destroy (&msg);
}

static void
send_join (curvecp_zmq_sub_t *self)
{
    uint8_t version = PS_VERSION;
    send_command (self, PS_CMD_JOIN, &version, 1);
}

static void
on_keys (curvecp_zmq_sub_t *self, zframe_t *body, uint64_t now)
{
    ps_keys_t keys;
    if (!body || ps_keys_parse (zframe_data (body), zframe_size (body), &keys) != PS_OK) {
        self->stats.bad_keys++;
        return;
    }
    /* another signer on the same authenticated session: the publisher
       restarted; its epochs are unrelated to the ones we hold */
    if (self->have_signer && sodium_memcmp (self->sign_pk, keys.sign_pk, PS_SIGN_PK_BYTES) != 0) {
        epochs_clear (self);
        zhashx_purge (self->tracks);
    }
    uint64_t newest = newest_epoch (self);
    bool same_signer = self->have_signer && sodium_memcmp (self->sign_pk, keys.sign_pk, PS_SIGN_PK_BYTES) == 0;
    if (same_signer && keys.epoch == newest) {
        /* the answer to a JOIN sent twice (after a re-handshake): acknowledged again */
        uint8_t ack[8];
        ps_put64 (ack, keys.epoch);
        send_command (self, PS_CMD_ACK, ack, sizeof ack);
        return;
    }
    if (same_signer && keys.epoch < newest) {
        self->stats.bad_keys++;
        return;
    }
    channel_t *channels = (channel_t *) sodium_malloc ((keys.count ? keys.count : 1) * sizeof (channel_t));
    if (!channels)
        return;
    for (uint16_t i = 0; i < keys.count; i++) {
        const uint8_t *prefix, *key;
        ps_keys_entry (&keys, i, &prefix, &channels[i].len, &key);
        memcpy (channels[i].prefix, prefix, channels[i].len);
        memcpy (channels[i].key, key, PS_KEY_BYTES);
    }
    for (size_t i = 0; i < EPOCHS_KEPT; i++)
        if (self->epochs[i].channels && !self->epochs[i].expires)
            self->epochs[i].expires = now + (uint64_t) self->grace_ms * 1000000ull;
    sub_epoch_t *slot = epoch_slot (self, now);
    *slot = (sub_epoch_t) { keys.epoch, 0, keys.count, channels };
    memcpy (self->sign_pk, keys.sign_pk, PS_SIGN_PK_BYTES);
    self->have_signer = true;
    self->denied = false;
    self->stats.keys++;
    uint8_t ack[8];
    ps_put64 (ack, keys.epoch);
    send_command (self, PS_CMD_ACK, ack, sizeof ack);
}

static void
on_deny (curvecp_zmq_sub_t *self, zframe_t *body)
{
    size_t size = body ? zframe_size (body) : 0;
    if (size > PS_DENY_MAX)
        size = PS_DENY_MAX;
    for (size_t i = 0; i < size; i++) {
        uint8_t c = zframe_data (body)[i];
        self->deny_reason[i] = c >= 0x20 && c < 0x7f ? (char) c : '?';
    }
    self->deny_reason[size] = 0;
    self->denied = true;
    epochs_clear (self);
    /* a publisher that is going away may come back on the same endpoint
       and key: a JOIN outstanding makes our client re-handshake with it
       once it has been silent (the codec's silence timeout) */
    if (streq (self->deny_reason, "closing"))
        send_join (self);
}

static void
on_key_message (curvecp_zmq_sub_t *self, zmsg_t **msg_p, uint64_t now)
{
    zframe_t *command = zmsg_first (*msg_p);
    if (zframe_streq (command, PS_CMD_KEYS) && zmsg_size (*msg_p) == 2)
        on_keys (self, zmsg_next (*msg_p), now);
    else
    if (zframe_streq (command, PS_CMD_DENY) && zmsg_size (*msg_p) == 2)
        on_deny (self, zmsg_next (*msg_p));
    else
    if (zframe_streq (command, PS_CMD_APP)) {
        zframe_t *head = zmsg_pop (*msg_p);
        zframe_destroy (&head);
        zlistx_add_end (self->replies, *msg_p);
        *msg_p = NULL;
        self->stats.replies++;
    }
    else
        self->stats.bad_keys++;
    zmsg_destroy (msg_p);
}

/* ---- batches -------------------------------------------------------------------- */

static bool
subscribed (curvecp_zmq_sub_t *self, const uint8_t *topic, size_t len)
{
    for (const char *prefix = (const char *) zlistx_first (self->prefixes); prefix;
         prefix = (const char *) zlistx_next (self->prefixes)) {
        size_t plen = strlen (prefix);
        if (plen <= len && memcmp (prefix, topic, plen) == 0)
            return true;
    }
    return false;
}

static bool
grow (uint8_t **buffer, size_t *cap, size_t want)
{
    if (want <= *cap)
        return true;
    uint8_t *grown = (uint8_t *) realloc (*buffer, want);
    if (!grown)
        return false;
    *buffer = grown;
    *cap = want;
    return true;
}

static void
topic_hex (const uint8_t *topic, size_t len, char *hex)
{
    sodium_bin2hex (hex, 2 * PS_TOPIC_MAX + 1, topic, len);
}

/* Check one batch; deliver its messages or count why not. */
static ps_result_t
take_batch (curvecp_zmq_sub_t *self, const uint8_t *topic, size_t topic_len, const uint8_t *frame, size_t len,
            uint64_t now)
{
    ps_batch_t batch;
    ps_result_t rc = ps_batch_parse (frame, len, topic_len, &batch);
    if (rc != PS_OK)
        return rc;
    if (!subscribed (self, topic, topic_len))
        return PS_WRONG_TOPIC;
    sub_epoch_t *epoch = epoch_find (self, batch.epoch, now);
    const channel_t *channel = epoch ? channel_find (epoch, topic, batch.channel_len) : NULL;
    if (!channel)
        return PS_NO_KEY;
    char hex[2 * PS_TOPIC_MAX + 1];
    topic_hex (topic, topic_len, hex);
    track_t *track = (track_t *) zhashx_lookup (self->tracks, hex);
    if (track && (batch.epoch < track->epoch || (batch.epoch == track->epoch && batch.first_seq <= track->last_seq)))
        return PS_REPLAYED;
    if (!grow (&self->scratch, &self->scratch_cap, ps_signed_size (topic_len, len))
    ||  !grow (&self->plain, &self->plain_cap, batch.cipher_len))
        return PS_UNSEALED;
    if (!ps_batch_verify (&batch, topic, topic_len, self->sign_pk, self->scratch))
        return PS_FORGED;
    size_t plain_len = batch.cipher_len - PS_TAG_BYTES;
    if (!ps_batch_open (&batch, topic, topic_len, channel->key, self->plain)
    ||  !ps_plain_walk (self->plain, plain_len, batch.count, NULL, NULL))
        return PS_UNSEALED;
    /* gaps: within an epoch from the last delivered; in a newer epoch of
       a topic we follow, from its start (1) */
    uint64_t gap = 0;
    if (track)
        gap = batch.epoch == track->epoch ? batch.first_seq - track->last_seq - 1 : batch.first_seq - 1;
    /* everything this batch needs before any state moves: a batch refused
       for memory changes nothing */
    pending_t *pending = (pending_t *) malloc (sizeof (pending_t));
    track_t *new_track = track ? NULL : (track_t *) calloc (1, sizeof (track_t));
    if (!pending || (!track && !new_track)) {
        free (pending);
        free (new_track);
        return PS_UNSEALED;
    }
    if (new_track) {
        track = new_track;
        zhashx_insert (self->tracks, hex, track);
    }
    track->epoch = batch.epoch;
    track->last_seq = batch.first_seq + batch.count - 1;
    memcpy (pending->topic, topic, topic_len);
    pending->topic_len = topic_len;
    pending->plain = self->plain;           /* the buffer moves to the batch */
    pending->len = plain_len;
    pending->at = 0;
    pending->left = batch.count;
    pending->seq = batch.first_seq;
    pending->epoch = batch.epoch;
    pending->gap = gap;
    self->plain = NULL;
    self->plain_cap = 0;
    zlistx_add_end (self->items, pending);
    self->stats.lost += gap;
    self->stats.batches++;
    self->stats.delivered += batch.count;
    return PS_OK;
}

static void
count_refusal (curvecp_zmq_sub_t *self, ps_result_t rc)
{
    switch (rc) {
        case PS_OK:          break;
        case PS_MALFORMED:   self->stats.malformed++; break;
        case PS_WRONG_TOPIC: self->stats.wrong_topic++; break;
        case PS_NO_KEY:      self->stats.no_key++; break;
        case PS_REPLAYED:    self->stats.replayed++; break;
        case PS_FORGED:      self->stats.forged++; break;
        case PS_UNSEALED:    self->stats.unsealed++; break;
    }
}

/* One ØMQ message from SUB: [topic][batch], exactly. false if none. */
static bool
read_batch (curvecp_zmq_sub_t *self, uint64_t now)
{
    zmq_msg_t topic, frame;
    zmq_msg_init (&topic);
    if (zmq_msg_recv (&topic, self->sub_handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&topic);
        return false;
    }
    ps_result_t rc = PS_MALFORMED;
    if (zmq_msg_more (&topic)) {
        zmq_msg_init (&frame);
        if (zmq_msg_recv (&frame, self->sub_handle, 0) >= 0) {
            if (zmq_msg_more (&frame))
                curvecp_zmq_skip_rest (self->sub_handle);
            else
            if (zmq_msg_size (&topic) <= PS_TOPIC_MAX)
                rc = take_batch (self, (const uint8_t *) zmq_msg_data (&topic), zmq_msg_size (&topic),
                                 (const uint8_t *) zmq_msg_data (&frame), zmq_msg_size (&frame), now);
        }
        zmq_msg_close (&frame);
    }
    zmq_msg_close (&topic);
    count_refusal (self, rc);
    return true;
}

/* ---- construction --------------------------------------------------------------- */

static void
track_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

static curvecp_zmq_sub_t *
sub_new (curvecp_zmq_client_t *client)
{
    if (!client)
        return NULL;
    curvecp_zmq_sub_t *self = (curvecp_zmq_sub_t *) calloc (1, sizeof (curvecp_zmq_sub_t));
    if (!self) {
        curvecp_zmq_client_destroy (&client);
        return NULL;
    }
    self->client = client;
    self->sub = zsock_new (ZMQ_SUB);
    self->prefixes = zlistx_new ();
    self->tracks = zhashx_new ();
    self->items = zlistx_new ();
    self->replies = zlistx_new ();
    if (!self->sub || !self->prefixes || !self->tracks || !self->items || !self->replies) {
        curvecp_zmq_sub_destroy (&self);
        return NULL;
    }
    zlistx_set_destructor (self->prefixes, (czmq_destructor *) zstr_free);
    zhashx_set_destructor (self->tracks, track_destroy);
    self->sub_handle = zsock_resolve (self->sub);
    self->grace_ms = 2000;
    self->rcvtimeo = -1;
    self->loop.timer_id = -1;
    return self;
}

curvecp_zmq_sub_t *
curvecp_zmq_sub_new (const curvecp_keypair_t *keys, const uint8_t publisher_key[CURVECP_KEY_BYTES],
                     const char *publisher_name)
{
    if (sodium_init () < 0)
        return NULL;
    return sub_new (curvecp_zmq_client_new (keys, publisher_key, publisher_name));
}

curvecp_zmq_sub_t *
curvecp_zmq_sub_new_zcert (zcert_t *cert, zcert_t *publisher_cert, const char *publisher_name)
{
    if (sodium_init () < 0)
        return NULL;
    return sub_new (curvecp_zmq_client_new_zcert (cert, publisher_cert, publisher_name));
}

static void
items_purge (zlistx_t *items)
{
    pending_t *pending;
    while ((pending = (pending_t *) zlistx_detach (items, NULL)) != NULL) {
        free (pending->plain);
        free (pending);
    }
}

void
curvecp_zmq_sub_destroy (curvecp_zmq_sub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_zmq_sub_t *self = *self_p;
    curvecp_zmq_sub_detach (self);
    epochs_clear (self);
    if (self->items)
        items_purge (self->items);
    zlistx_destroy (&self->items);
    if (self->replies) {
        zmsg_t *msg;
        while ((msg = (zmsg_t *) zlistx_detach (self->replies, NULL)) != NULL)
            zmsg_destroy (&msg);
    }
    zlistx_destroy (&self->replies);
    zlistx_destroy (&self->prefixes);
    zhashx_destroy (&self->tracks);
    zsock_destroy (&self->sub);
    curvecp_zmq_client_destroy (&self->client);
    free (self->scratch);
    free (self->plain);
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

curvecp_zmq_client_t *
curvecp_zmq_sub_client (curvecp_zmq_sub_t *self)
{
    return self->client;
}

int
curvecp_zmq_sub_connect (curvecp_zmq_sub_t *self, const char *key_endpoint, const char *data_endpoint)
{
    if (!key_endpoint || !data_endpoint
    ||  curvecp_zmq_client_connect (self->client, key_endpoint) != 0
    ||  zsock_connect (self->sub, "%s", data_endpoint) != 0)
        return -1;
    send_join (self);
    return 0;
}

int
curvecp_zmq_sub_subscribe (curvecp_zmq_sub_t *self, const char *prefix)
{
    if (!prefix || strlen (prefix) > PS_TOPIC_MAX)
        return -1;
    zsock_set_subscribe (self->sub, prefix);
    char *copy = strdup (prefix);
    if (!copy)
        return -1;
    zlistx_add_end (self->prefixes, copy);
    return 0;
}

int
curvecp_zmq_sub_unsubscribe (curvecp_zmq_sub_t *self, const char *prefix)
{
    for (const char *held = (const char *) zlistx_first (self->prefixes); prefix && held;
         held = (const char *) zlistx_next (self->prefixes))
        if (streq (held, prefix)) {
            zsock_set_unsubscribe (self->sub, prefix);
            zlistx_delete (self->prefixes, zlistx_cursor (self->prefixes));
            return 0;
        }
    return -1;
}

void
curvecp_zmq_sub_set_grace (curvecp_zmq_sub_t *self, int msecs)
{
    self->grace_ms = msecs > 0 ? msecs : 0;
}

void
curvecp_zmq_sub_set_rcvtimeo (curvecp_zmq_sub_t *self, int msecs)
{
    self->rcvtimeo = msecs;
}

/* ---- serving -------------------------------------------------------------------- */

/* Take what both channels have now; never waits. */
static void
service (curvecp_zmq_sub_t *self)
{
    curvecp_zmq_client_handle (self->client);
    uint64_t now = curvecp_clock_now ();
    zmsg_t *msg;
    while ((msg = curvecp_zmq_client_recv_nowait (self->client)) != NULL)
        on_key_message (self, &msg, now);
    /* a publisher that restarted does not know us: join again */
    const curvecp_zmq_codec_t *codec = curvecp_zmq_client_codec (self->client);
    if (codec && curvecp_zmq_codec_info (codec)->rehandshakes != self->rehandshakes) {
        self->rehandshakes = curvecp_zmq_codec_info (codec)->rehandshakes;
        send_join (self);
    }
    for (int i = 0; i < DRAIN_MAX && read_batch (self, now); i++)
        ;
}

static bool
session_failed (curvecp_zmq_sub_t *self)
{
    return curvecp_zmq_client_failed (self->client);
}

/* Wait for input on either socket for up to timeout_ms (bounded by the
   client's next deadline). */
static void
wait_input (curvecp_zmq_sub_t *self, int timeout_ms)
{
    int client = curvecp_zmq_client_timeout (self->client);
    if (client >= 0 && (timeout_ms < 0 || client < timeout_ms))
        timeout_ms = client;
    zmq_pollitem_t items[2] = {
        { zsock_resolve (curvecp_zmq_client_sock (self->client)), 0, ZMQ_POLLIN, 0 },
        { self->sub_handle, 0, ZMQ_POLLIN, 0 }
    };
    zmq_poll (items[0].socket ? items : items + 1, items[0].socket ? 2 : 1, timeout_ms);
}

static void
add_frame (void *msg, uint16_t message, uint8_t frame, uint8_t nframes, const uint8_t *data, size_t size)
{
    (void) message, (void) frame, (void) nframes;
    zmsg_addmem ((zmsg_t *) msg, data, size);
}

/* The next message of the oldest pending batch as [topic][frames...]
   (its plaintext was walked whole before the batch was accepted, so the
   same walk, one message on, cannot fail here). */
static zmsg_t *
pop_item (curvecp_zmq_sub_t *self)
{
    pending_t *pending = (pending_t *) zlistx_first (self->items);
    if (!pending)
        return NULL;
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, pending->topic, pending->topic_len);
    ps_plain_message (pending->plain, pending->len, &pending->at, 0, add_frame, msg);
    self->last = (last_t) { pending->gap, pending->seq, pending->epoch };
    pending->gap = 0;
    pending->seq++;
    if (--pending->left == 0) {
        zlistx_detach (self->items, NULL);
        free (pending->plain);
        free (pending);
    }
    return msg;
}

zmsg_t *
curvecp_zmq_sub_recv_nowait (curvecp_zmq_sub_t *self)
{
    zmsg_t *msg = pop_item (self);
    if (msg)
        return msg;
    service (self);
    return pop_item (self);
}

zmsg_t *
curvecp_zmq_sub_recv (curvecp_zmq_sub_t *self)
{
    zmsg_t *ready = pop_item (self);        /* the common case reads no clock */
    if (ready)
        return ready;
    uint64_t start = curvecp_clock_now ();
    uint64_t until = self->rcvtimeo < 0 ? UINT64_MAX : start + (uint64_t) self->rcvtimeo * 1000000ull;
    for (;;) {
        zmsg_t *msg = curvecp_zmq_sub_recv_nowait (self);
        if (msg)
            return msg;
        uint64_t now = curvecp_clock_now ();
        if (now >= until || session_failed (self))
            return NULL;
        wait_input (self, until == UINT64_MAX ? -1 : curvecp_zmq_timeout_ms (until, now, -1));
    }
}

uint64_t
curvecp_zmq_sub_gap (curvecp_zmq_sub_t *self)
{
    return self->last.gap;
}

uint64_t
curvecp_zmq_sub_sequence (curvecp_zmq_sub_t *self)
{
    return self->last.seq;
}

uint64_t
curvecp_zmq_sub_epoch (curvecp_zmq_sub_t *self)
{
    return self->last.epoch;
}

int
curvecp_zmq_sub_wait_keys (curvecp_zmq_sub_t *self, int timeout_ms)
{
    uint64_t start = curvecp_clock_now ();
    uint64_t until = timeout_ms < 0 ? UINT64_MAX : start + (uint64_t) timeout_ms * 1000000ull;
    for (;;) {
        service (self);
        if (curvecp_zmq_sub_has_keys (self))
            return 0;
        uint64_t now = curvecp_clock_now ();
        if (self->denied || session_failed (self) || now >= until)
            return -1;
        wait_input (self, until == UINT64_MAX ? -1 : curvecp_zmq_timeout_ms (until, now, -1));
    }
}

int
curvecp_zmq_sub_request (curvecp_zmq_sub_t *self, zmsg_t **msg_p)
{
    if (!msg_p || !*msg_p)
        return -1;
    zmsg_pushstr (*msg_p, PS_CMD_APP);
    if (curvecp_zmq_client_send (self->client, msg_p) != 0) {
        zframe_t *head = zmsg_pop (*msg_p);
        zframe_destroy (&head);
        return -1;
    }
    return 0;
}

zmsg_t *
curvecp_zmq_sub_reply_nowait (curvecp_zmq_sub_t *self)
{
    zmsg_t *msg = (zmsg_t *) zlistx_detach (self->replies, NULL);
    if (msg)
        return msg;
    service (self);
    return (zmsg_t *) zlistx_detach (self->replies, NULL);
}

zsock_t *
curvecp_zmq_sub_key_sock (curvecp_zmq_sub_t *self)
{
    return curvecp_zmq_client_sock (self->client);
}

zsock_t *
curvecp_zmq_sub_data_sock (curvecp_zmq_sub_t *self)
{
    return self->sub;
}

int
curvecp_zmq_sub_timeout (curvecp_zmq_sub_t *self)
{
    return zlistx_size (self->items) || zlistx_size (self->replies) ? 0 : curvecp_zmq_client_timeout (self->client);
}

int
curvecp_zmq_sub_handle (curvecp_zmq_sub_t *self)
{
    service (self);
    return session_failed (self) ? -1 : 0;
}

/* ---- zloop ---------------------------------------------------------------------- */

static int
loop_serve (void *owner)
{
    curvecp_zmq_sub_t *self = (curvecp_zmq_sub_t *) owner;
    service (self);
    zmsg_t *msg;
    while ((msg = (zmsg_t *) zlistx_detach (self->replies, NULL)) != NULL) {
        int rc = self->on_message (self, &msg, 0, true, self->on_message_arg);
        zmsg_destroy (&msg);
        if (rc < 0)
            return -1;
    }
    while ((msg = pop_item (self)) != NULL) {
        int rc = self->on_message (self, &msg, self->last.gap, false, self->on_message_arg);
        zmsg_destroy (&msg);
        if (rc < 0)
            return -1;
    }
    /* the DEALER exists once connected */
    zsock_t *dealer = curvecp_zmq_client_sock (self->client);
    if (dealer != self->watched) {
        if (self->watched)
            zloop_reader_end (self->loop.loop, self->watched);
        self->watched = NULL;
        if (dealer && zloop_reader (self->loop.loop, dealer, curvecp_zmq_loop_on_reader, &self->loop) == 0)
            self->watched = dealer;
    }
    return 0;
}

static int
loop_timeout (void *owner)
{
    return curvecp_zmq_sub_timeout ((curvecp_zmq_sub_t *) owner);
}

int
curvecp_zmq_sub_attach (curvecp_zmq_sub_t *self, zloop_t *loop, curvecp_zmq_sub_message_fn *fn, void *arg)
{
    if (!loop || !fn || self->loop.loop)
        return -1;
    self->loop = (curvecp_zmq_loop_t) { loop, -1, loop_serve, loop_timeout, self };
    self->on_message = fn;
    self->on_message_arg = arg;
    if (zloop_reader (loop, self->sub, curvecp_zmq_loop_on_reader, &self->loop) != 0) {
        self->loop.loop = NULL;
        return -1;
    }
    return curvecp_zmq_loop_event (&self->loop);
}

void
curvecp_zmq_sub_detach (curvecp_zmq_sub_t *self)
{
    if (!self->loop.loop)
        return;
    zloop_reader_end (self->loop.loop, self->sub);
    if (self->watched)
        zloop_reader_end (self->loop.loop, self->watched);
    self->watched = NULL;
    curvecp_zmq_loop_stop (&self->loop);
}

/* ---- state ---------------------------------------------------------------------- */

bool
curvecp_zmq_sub_has_keys (curvecp_zmq_sub_t *self)
{
    return !self->denied && newest_epoch (self) != 0;
}

bool
curvecp_zmq_sub_denied (curvecp_zmq_sub_t *self)
{
    return self->denied;
}

const char *
curvecp_zmq_sub_deny_reason (curvecp_zmq_sub_t *self)
{
    return self->deny_reason;
}

uint64_t
curvecp_zmq_sub_key_epoch (curvecp_zmq_sub_t *self)
{
    return newest_epoch (self);
}

size_t
curvecp_zmq_sub_channels (curvecp_zmq_sub_t *self)
{
    uint64_t newest = newest_epoch (self);
    for (size_t i = 0; newest && i < EPOCHS_KEPT; i++)
        if (self->epochs[i].channels && self->epochs[i].id == newest)
            return self->epochs[i].count;
    return 0;
}

const uint8_t *
curvecp_zmq_sub_signing_key (curvecp_zmq_sub_t *self)
{
    return self->have_signer ? self->sign_pk : NULL;
}

const curvecp_zmq_sub_stats_t *
curvecp_zmq_sub_stats (curvecp_zmq_sub_t *self)
{
    return &self->stats;
}
