/*  curvecp_zmq_pub.c - the secured publisher (curvecp_zmq_pub.h).

    Two sockets: a curvecp_zmq_server (the key channel: JOIN, KEYS, ACK,
    DENY, APP over CurveCP sessions, in queued-send mode so KEYS are never
    lost to a full queue) and a PUB socket (the data channel). Per topic
    a batch of plaintext gathers until it is sealed (curvecp_pubsub_wire)
    once for every subscriber with the epoch key of the topic's channel
    and signed with the publisher's Ed25519 key.

    An epoch is a master secret (channel keys are derived from it) and a
    snapshot of the channel prefixes. Starting a new one sends its keys to
    every member (a joined, unrevoked session) and waits for their ACKs,
    sealing with the old epoch meanwhile, so no subscriber gets a batch
    it has no key for yet; once all acknowledged (or switch_max passed)
    every open batch is sealed with the old keys, and the switch drops
    them: nothing is sealed with them after that.                        */
#include <sodium.h>
#include <string.h>
#include "curvecp_zmq_pub.h"
#include "curvecp_pubsub_wire.h"
#include "curvecp_zmq.h"

#define CHANNELS_MAX     PS_KEYS_MAX_CHANNELS
#define BATCH_BYTES_MAX  (1u << 20)
#define MEMBER_CHECK_MS  100        /* how often sessions are looked for */
#define SEND_QUEUE_BYTES (4u << 20) /* key-channel bytes kept for slow members */

typedef struct {
    uint64_t id;
    uint8_t master[PS_KEY_BYTES];
    size_t count;
    char **prefixes;                /* the channels of this epoch */
    uint8_t (*keys)[PS_KEY_BYTES];  /* their keys */
    uint64_t started;
} epoch_t;

typedef struct {
    char peer_id[CURVECP_ZMQ_SERVER_PEER_ID_BYTES];
    uint8_t key[CURVECP_KEY_BYTES];
    char *user_id;
    bool waiting;                   /* has not acknowledged the next epoch */
} member_t;

typedef struct {
    char *topic;
    size_t topic_len;
    size_t channel;                 /* index into the current epoch */
    uint64_t next_seq;
    uint8_t *plain;
    size_t plain_len, plain_cap;
    uint16_t count;
    uint64_t due;                   /* seal by then (linger) */
    void *pending_handle;           /* in the pending list */
} topic_t;

struct _curvecp_zmq_pub_t {
    curvecp_zmq_server_t *server;
    zsock_t *pub;
    void *pub_handle;
    uint8_t sign_pk[PS_SIGN_PK_BYTES];
    uint8_t sign_sk[PS_SIGN_SK_BYTES];
    char **channels;                /* for the next epoch */
    size_t channel_count;
    epoch_t *current, *next;
    uint64_t switch_deadline;
    int switch_max_ms, epoch_interval_ms, linger_ms;
    size_t batch_bytes;
    zhashx_t *members;              /* peer_id -> member_t */
    zhashx_t *revoked;              /* hex key -> "" */
    zhashx_t *topics;               /* topic -> topic_t (current epoch) */
    zlistx_t *pending;              /* topics with an open batch, oldest first */
    uint64_t next_member_check;
    bool ever_joined;
    curvecp_zmq_pub_permit_fn *permit;
    void *permit_arg;
    curvecp_zmq_pub_request_fn *on_request;
    void *on_request_arg;
    bool stop;                      /* a request handler asked to end */
    uint8_t *out;                   /* the batch frame being sealed */
    size_t out_cap;
    uint8_t *scratch;               /* the bytes it signs, laid out whole */
    size_t scratch_cap;
    curvecp_zmq_pub_info_t info;
    curvecp_zmq_loop_t loop;
    zsock_t *watched_zap;
};

/* ---- epochs -------------------------------------------------------------------- */

static void
epoch_destroy (epoch_t **epoch_p)
{
    epoch_t *epoch = *epoch_p;
    if (!epoch)
        return;
    for (size_t i = 0; i < epoch->count; i++)
        free (epoch->prefixes[i]);
    free (epoch->prefixes);
    if (epoch->keys)
        sodium_memzero (epoch->keys, epoch->count * PS_KEY_BYTES);
    free (epoch->keys);
    sodium_memzero (epoch, sizeof *epoch);
    free (epoch);
    *epoch_p = NULL;
}

static epoch_t *
epoch_new (curvecp_zmq_pub_t *self, uint64_t id)
{
    epoch_t *epoch = (epoch_t *) calloc (1, sizeof (epoch_t));
    if (!epoch)
        return NULL;
    epoch->id = id;
    epoch->started = curvecp_clock_now ();
    randombytes_buf (epoch->master, PS_KEY_BYTES);
    epoch->prefixes = (char **) calloc (self->channel_count + 1, sizeof (char *));
    epoch->keys = (uint8_t (*)[PS_KEY_BYTES]) calloc (self->channel_count + 1, PS_KEY_BYTES);
    if (!epoch->prefixes || !epoch->keys) {
        epoch_destroy (&epoch);
        return NULL;
    }
    for (size_t i = 0; i < self->channel_count; i++) {
        epoch->prefixes[i] = strdup (self->channels[i]);
        if (!epoch->prefixes[i]) {
            epoch_destroy (&epoch);
            return NULL;
        }
        epoch->count++;
        ps_channel_key (epoch->keys[i], epoch->master, epoch->prefixes[i]);
    }
    return epoch;
}

/* The channel of topic in epoch: the longest prefix it starts with; -1 none. */
static long
channel_of (const epoch_t *epoch, const char *topic)
{
    long best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < epoch->count; i++) {
        size_t len = strlen (epoch->prefixes[i]);
        if (strncmp (topic, epoch->prefixes[i], len) == 0 && (best < 0 || len > best_len)) {
            best = (long) i;
            best_len = len;
        }
    }
    return best;
}

/* ---- topics and batches ---------------------------------------------------------- */

static void
topic_destroy (void **item)
{
    topic_t *topic = (topic_t *) *item;
    if (topic) {
        free (topic->topic);
        free (topic->plain);
        free (topic);
        *item = NULL;
    }
}

static topic_t *
topic_get (curvecp_zmq_pub_t *self, const char *name)
{
    topic_t *topic = (topic_t *) zhashx_lookup (self->topics, name);
    if (topic)
        return topic;
    long channel = channel_of (self->current, name);
    if (channel < 0)
        return NULL;
    topic = (topic_t *) calloc (1, sizeof (topic_t));
    if (!topic || !(topic->topic = strdup (name))) {
        free (topic);
        return NULL;
    }
    topic->topic_len = strlen (name);
    topic->channel = (size_t) channel;
    topic->next_seq = 1;
    zhashx_insert (self->topics, name, topic);
    return topic;
}

static bool
reserve (uint8_t **buffer, size_t *cap, size_t want)
{
    if (want <= *cap)
        return true;
    size_t size = *cap ? *cap : 256;
    while (size < want)
        size *= 2;
    uint8_t *grown = (uint8_t *) realloc (*buffer, size);
    if (!grown)
        return false;
    *buffer = grown;
    *cap = size;
    return true;
}

/* Seal topic's open batch with the current epoch and put it on PUB. */
static void
seal (curvecp_zmq_pub_t *self, topic_t *topic)
{
    if (topic->pending_handle) {
        zlistx_delete (self->pending, topic->pending_handle);
        topic->pending_handle = NULL;
    }
    if (topic->count == 0)
        return;
    size_t frame_len = ps_batch_size (topic->plain_len);
    if (reserve (&self->out, &self->out_cap, frame_len)
    &&  reserve (&self->scratch, &self->scratch_cap, ps_signed_size (topic->topic_len, frame_len))) {
        uint8_t nonce[PS_NONCE_BYTES];
        randombytes_buf (nonce, sizeof nonce);
        const char *prefix = self->current->prefixes[topic->channel];
        size_t len = ps_batch_seal (self->out, (const uint8_t *) topic->topic, topic->topic_len,
                                    (uint8_t) strlen (prefix), self->current->id, topic->next_seq, topic->count,
                                    nonce, topic->plain, topic->plain_len, self->current->keys[topic->channel],
                                    self->sign_sk, self->scratch);
        if (len
        &&  zmq_send (self->pub_handle, topic->topic, topic->topic_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0
        &&  zmq_send (self->pub_handle, self->out, len, ZMQ_DONTWAIT) >= 0) {
            self->info.batches++;
            self->info.bytes += len + topic->topic_len;
        }
        else
            self->info.unsent++;
    }
    else
        self->info.unsent++;
    /* the sequence numbers are spent either way: subscribers see a gap */
    topic->next_seq += topic->count;
    topic->count = 0;
    topic->plain_len = 0;
    topic->due = 0;
}

static void
seal_all (curvecp_zmq_pub_t *self)
{
    topic_t *topic;
    while ((topic = (topic_t *) zlistx_first (self->pending)) != NULL)
        seal (self, topic);
}

static void
seal_due (curvecp_zmq_pub_t *self, uint64_t now)
{
    topic_t *topic;
    while ((topic = (topic_t *) zlistx_first (self->pending)) != NULL && topic->due <= now)
        seal (self, topic);
}

/* Append one message (frames) to topic's batch; seal when full. */
typedef struct {
    size_t count;
    const void *const *data;
    const size_t *size;
} frames_t;

static int
publish (curvecp_zmq_pub_t *self, const char *name, const frames_t *frames)
{
    if (!name || strlen (name) > PS_TOPIC_MAX || frames->count == 0 || frames->count > PS_FRAMES_MAX) {
        errno = EINVAL;
        return -1;
    }
    topic_t *topic = topic_get (self, name);
    if (!topic) {
        errno = EINVAL;
        return -1;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < frames->count; i++)
        bytes += frames->size[i];
    size_t need = ps_plain_message_size (frames->count, bytes);
    /* batches past their linger go out first (this one's too: the new
       message starts the next), so a publisher that sends slowly and
       serves seldom still keeps the linger */
    uint64_t now = self->linger_ms ? curvecp_clock_now () : 0;
    if (self->linger_ms)
        seal_due (self, now);
    if (topic->count && topic->plain_len + need > self->batch_bytes)
        seal (self, topic);
    if (!reserve (&topic->plain, &topic->plain_cap, topic->plain_len + need)) {
        errno = ENOMEM;
        return -1;
    }
    uint8_t *at = topic->plain + topic->plain_len;
    *at++ = (uint8_t) frames->count;
    for (size_t i = 0; i < frames->count; i++) {
        uint32_t size = (uint32_t) frames->size[i];
        ps_put32 (at, size);
        at += 4;
        if (size)
            memcpy (at, frames->data[i], size);
        at += size;
    }
    topic->plain_len += need;
    topic->count++;
    self->info.messages++;
    if (self->linger_ms == 0 || topic->plain_len >= self->batch_bytes || topic->count == PS_COUNT_MAX)
        seal (self, topic);
    else
    if (topic->count == 1) {
        topic->due = now + (uint64_t) self->linger_ms * 1000000ull;
        topic->pending_handle = zlistx_add_end (self->pending, topic);
    }
    return 0;
}

/* ---- members and the key channel -------------------------------------------------- */

static void
member_destroy (void **item)
{
    member_t *member = (member_t *) *item;
    if (member) {
        free (member->user_id);
        free (member);
        *item = NULL;
    }
}

static void
send_command (curvecp_zmq_pub_t *self, const char *peer_id, const char *command, const void *body, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, command);
    zmsg_addmem (msg, body, size);
    if (curvecp_zmq_server_send (self->server, peer_id, &msg) != 0)
        zmsg_destroy (&msg);
}

static void
deny (curvecp_zmq_pub_t *self, const char *peer_id, const char *reason)
{
    send_command (self, peer_id, PS_CMD_DENY, reason, strlen (reason));
    self->info.denied++;
}

static bool
permitted (curvecp_zmq_pub_t *self, const member_t *member, const char *channel)
{
    return !self->permit || self->permit (self, member->key, member->user_id ? member->user_id : "", channel,
                                          self->permit_arg);
}

/* Send member the keys of epoch for the channels it may read; false if
   it may read none (it was told DENY). */
static bool
send_keys (curvecp_zmq_pub_t *self, member_t *member, const epoch_t *epoch)
{
    const char **prefixes = (const char **) calloc (epoch->count + 1, sizeof (char *));
    uint8_t (*keys)[PS_KEY_BYTES] = (uint8_t (*)[PS_KEY_BYTES]) sodium_malloc ((epoch->count + 1) * PS_KEY_BYTES);
    size_t count = 0;
    for (size_t i = 0; prefixes && keys && i < epoch->count; i++)
        if (permitted (self, member, epoch->prefixes[i])) {
            prefixes[count] = epoch->prefixes[i];
            memcpy (keys[count++], epoch->keys[i], PS_KEY_BYTES);
        }
    bool sent = false;
    if (count) {
        size_t size = ps_keys_size (count, prefixes);
        uint8_t *body = (uint8_t *) sodium_malloc (size);
        if (body) {
            ps_keys_encode (body, self->sign_pk, epoch->id, count, prefixes, (const uint8_t (*)[PS_KEY_BYTES]) keys);
            send_command (self, member->peer_id, PS_CMD_KEYS, body, size);
            sodium_free (body);
            self->info.keys_sent++;
            sent = true;
        }
    }
    else
        deny (self, member->peer_id, "not permitted");
    free (prefixes);
    if (keys)
        sodium_free (keys);
    return sent;
}

static void switch_epoch (curvecp_zmq_pub_t *self);

static void
count_waiting (curvecp_zmq_pub_t *self)
{
    size_t waiting = 0;
    for (member_t *member = (member_t *) zhashx_first (self->members); member;
         member = (member_t *) zhashx_next (self->members))
        waiting += member->waiting;
    self->info.waiting_acks = waiting;
    self->info.subscribers = zhashx_size (self->members);
}

/* Start a new epoch: its keys to every member; switch when all ACK. A
   rekey while one is under way starts over with a newer epoch (a member
   revoked meanwhile got the first one). */
static void
start_epoch (curvecp_zmq_pub_t *self)
{
    uint64_t id = (self->next ? self->next->id : self->current->id) + 1;
    epoch_t *epoch = epoch_new (self, id);
    if (!epoch)
        return;             /* out of memory: the timer tries again */
    epoch_destroy (&self->next);
    self->next = epoch;
    self->info.next_epoch = id;
    self->info.epochs++;
    self->switch_deadline = curvecp_clock_now () + (uint64_t) self->switch_max_ms * 1000000ull;
    zlistx_t *refused = zlistx_new ();
    for (member_t *member = (member_t *) zhashx_first (self->members); member;
         member = (member_t *) zhashx_next (self->members)) {
        member->waiting = send_keys (self, member, epoch);
        if (!member->waiting)
            zlistx_add_end (refused, member->peer_id);
    }
    for (char *peer_id = (char *) zlistx_first (refused); peer_id; peer_id = (char *) zlistx_next (refused))
        zhashx_delete (self->members, peer_id);
    zlistx_destroy (&refused);
    count_waiting (self);
    if (self->info.waiting_acks == 0)
        switch_epoch (self);
}

static void
switch_epoch (curvecp_zmq_pub_t *self)
{
    if (!self->next)
        return;
    seal_all (self);            /* what was published before the switch, with the old keys */
    zhashx_purge (self->topics);        /* sequence numbers start again at 1 */
    if (self->info.waiting_acks)
        self->info.switches_by_timeout++;
    uint64_t now = curvecp_clock_now ();
    self->info.last_switch_ns = now - self->next->started;
    epoch_destroy (&self->current);
    self->current = self->next;
    self->next = NULL;
    self->current->started = now;
    self->info.epoch = self->current->id;
    self->info.next_epoch = 0;
    for (member_t *member = (member_t *) zhashx_first (self->members); member;
         member = (member_t *) zhashx_next (self->members))
        member->waiting = false;
    self->info.waiting_acks = 0;
}

static void
on_join (curvecp_zmq_pub_t *self, const char *peer_id)
{
    self->info.joins++;
    const uint8_t *key = curvecp_zmq_server_peer_key (self->server);
    if (curvecp_zmq_pub_revoked (self, key)) {
        zhashx_delete (self->members, peer_id);
        deny (self, peer_id, "revoked");
        return;
    }
    member_t *member = (member_t *) zhashx_lookup (self->members, peer_id);
    if (!member) {
        member = (member_t *) calloc (1, sizeof (member_t));
        if (!member)
            return;
        snprintf (member->peer_id, sizeof member->peer_id, "%s", peer_id);
        memcpy (member->key, key, CURVECP_KEY_BYTES);
        member->user_id = strdup (curvecp_zmq_server_peer_user_id (self->server));
        zhashx_insert (self->members, peer_id, member);
    }
    self->ever_joined = true;
    if (!send_keys (self, member, self->current))
        zhashx_delete (self->members, peer_id);
    else if (self->next)
        member->waiting = send_keys (self, member, self->next);
    count_waiting (self);
}

static void
on_ack (curvecp_zmq_pub_t *self, const char *peer_id, zframe_t *body)
{
    member_t *member = (member_t *) zhashx_lookup (self->members, peer_id);
    if (!member || !body || zframe_size (body) != 8) {
        self->info.bad_requests++;
        return;
    }
    self->info.acks++;
    uint64_t epoch = ps_get64 (zframe_data (body));
    if (self->next && epoch == self->next->id && member->waiting) {
        member->waiting = false;
        count_waiting (self);
        if (self->info.waiting_acks == 0)
            switch_epoch (self);
    }
}

static void
on_key_message (curvecp_zmq_pub_t *self, zmsg_t **msg_p)
{
    const char *peer_id = curvecp_zmq_server_peer_id (self->server);
    zframe_t *command = zmsg_first (*msg_p);
    if (zframe_streq (command, PS_CMD_JOIN)) {
        zframe_t *version = zmsg_next (*msg_p);
        if (version && zframe_size (version) == 1 && zframe_data (version)[0] == PS_VERSION && zmsg_size (*msg_p) == 2)
            on_join (self, peer_id);
        else {
            self->info.bad_requests++;
            deny (self, peer_id, "version");
        }
    }
    else
    if (zframe_streq (command, PS_CMD_ACK) && zmsg_size (*msg_p) == 2)
        on_ack (self, peer_id, zmsg_next (*msg_p));
    else
    if (zframe_streq (command, PS_CMD_APP) && self->on_request) {
        self->info.requests++;
        zframe_t *head = zmsg_pop (*msg_p);
        zframe_destroy (&head);
        if (self->on_request (self, peer_id, msg_p, self->on_request_arg) < 0)
            self->stop = true;
    }
    else
        self->info.bad_requests++;
    zmsg_destroy (msg_p);
}

/* Members whose session ended leave; one new epoch for all of them. */
static void
check_members (curvecp_zmq_pub_t *self, uint64_t now)
{
    if (now < self->next_member_check)
        return;
    self->next_member_check = now + MEMBER_CHECK_MS * 1000000ull;
    zlistx_t *gone = zlistx_new ();
    for (member_t *member = (member_t *) zhashx_first (self->members); member;
         member = (member_t *) zhashx_next (self->members))
        if (!curvecp_zmq_server_has_peer (self->server, member->peer_id))
            zlistx_add_end (gone, member->peer_id);
    for (char *peer_id = (char *) zlistx_first (gone); peer_id; peer_id = (char *) zlistx_next (gone))
        zhashx_delete (self->members, peer_id);
    if (zlistx_size (gone)) {
        self->info.rekeys_session_end++;
        start_epoch (self);
    }
    zlistx_destroy (&gone);
    count_waiting (self);
}

static void
run_timers (curvecp_zmq_pub_t *self, uint64_t now)
{
    seal_due (self, now);
    check_members (self, now);
    if (self->next && now >= self->switch_deadline)
        switch_epoch (self);
    if (!self->next && self->epoch_interval_ms > 0
    &&  now >= self->current->started + (uint64_t) self->epoch_interval_ms * 1000000ull) {
        self->info.rekeys_timer++;
        start_epoch (self);
    }
}

static uint64_t
next_deadline (curvecp_zmq_pub_t *self)
{
    uint64_t deadline = UINT64_MAX;
    topic_t *topic = (topic_t *) zlistx_first (self->pending);
    if (topic)
        deadline = topic->due;
    if (zhashx_size (self->members) && self->next_member_check < deadline)
        deadline = self->next_member_check;
    if (self->next && self->switch_deadline < deadline)
        deadline = self->switch_deadline;
    if (!self->next && self->epoch_interval_ms > 0) {
        uint64_t rotate = self->current->started + (uint64_t) self->epoch_interval_ms * 1000000ull;
        if (rotate < deadline)
            deadline = rotate;
    }
    return deadline;
}

/* ---- construction ---------------------------------------------------------------- */

static int
channels_add (curvecp_zmq_pub_t *self, const char *prefix)
{
    if (!prefix || strlen (prefix) > PS_TOPIC_MAX || self->channel_count >= CHANNELS_MAX)
        return -1;
    for (size_t i = 0; i < self->channel_count; i++)
        if (streq (self->channels[i], prefix))
            return 0;
    char **grown = (char **) realloc (self->channels, (self->channel_count + 1) * sizeof (char *));
    if (!grown)
        return -1;
    self->channels = grown;
    if (!(self->channels[self->channel_count] = strdup (prefix)))
        return -1;
    self->channel_count++;
    return 0;
}

static curvecp_zmq_pub_t *
pub_new (curvecp_zmq_server_t *server)
{
    if (!server)
        return NULL;
    curvecp_zmq_pub_t *self = (curvecp_zmq_pub_t *) calloc (1, sizeof (curvecp_zmq_pub_t));
    if (!self) {
        curvecp_zmq_server_destroy (&server);
        return NULL;
    }
    self->server = server;
    curvecp_zmq_server_set_send_queue (server, SEND_QUEUE_BYTES);
    crypto_sign_keypair (self->sign_pk, self->sign_sk);
    self->pub = zsock_new (ZMQ_PUB);
    self->members = zhashx_new ();
    self->revoked = zhashx_new ();
    self->topics = zhashx_new ();
    self->pending = zlistx_new ();
    if (!self->pub || !self->members || !self->revoked || !self->topics || !self->pending
    ||  channels_add (self, "") != 0) {
        curvecp_zmq_pub_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->members, member_destroy);
    zhashx_set_destructor (self->topics, topic_destroy);
    self->pub_handle = zsock_resolve (self->pub);
    self->switch_max_ms = 500;
    self->epoch_interval_ms = 600000;
    self->linger_ms = 2;
    self->batch_bytes = 32768;
    self->loop.timer_id = -1;
    /* epochs count on from a random start so a restarted publisher's
       epochs are not mistaken for replays of the last one's */
    uint64_t first = ((uint64_t) randombytes_uniform (1u << 30) << 20) + 1;
    self->current = epoch_new (self, first);
    if (!self->current) {
        curvecp_zmq_pub_destroy (&self);
        return NULL;
    }
    self->info.epoch = first;
    self->info.epochs = 1;
    return self;
}

curvecp_zmq_pub_t *
curvecp_zmq_pub_new (const curvecp_keypair_t *keys, const char *name)
{
    if (sodium_init () < 0)
        return NULL;
    return pub_new (curvecp_zmq_server_new (keys, name));
}

curvecp_zmq_pub_t *
curvecp_zmq_pub_new_zcert (zcert_t *cert, const char *name)
{
    if (sodium_init () < 0)
        return NULL;
    return pub_new (curvecp_zmq_server_new_zcert (cert, name));
}

void
curvecp_zmq_pub_destroy (curvecp_zmq_pub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_zmq_pub_t *self = *self_p;
    curvecp_zmq_pub_detach (self);
    if (self->current)
        seal_all (self);
    if (self->members) {
        for (member_t *member = (member_t *) zhashx_first (self->members); member;
             member = (member_t *) zhashx_next (self->members))
            deny (self, member->peer_id, "closing");
        curvecp_zmq_server_flush (self->server);
    }
    zhashx_destroy (&self->members);
    zhashx_destroy (&self->revoked);
    zhashx_destroy (&self->topics);
    zlistx_destroy (&self->pending);
    epoch_destroy (&self->current);
    epoch_destroy (&self->next);
    for (size_t i = 0; i < self->channel_count; i++)
        free (self->channels[i]);
    free (self->channels);
    free (self->out);
    free (self->scratch);
    zsock_destroy (&self->pub);
    curvecp_zmq_server_destroy (&self->server);
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

curvecp_zmq_server_t *
curvecp_zmq_pub_server (curvecp_zmq_pub_t *self)
{
    return self->server;
}

zsock_t *
curvecp_zmq_pub_data_sock (curvecp_zmq_pub_t *self)
{
    return self->pub;
}

int
curvecp_zmq_pub_bind_keys (curvecp_zmq_pub_t *self, const char *endpoint)
{
    return curvecp_zmq_server_bind (self->server, endpoint);
}

int
curvecp_zmq_pub_bind_data (curvecp_zmq_pub_t *self, const char *endpoint)
{
    return zsock_bind (self->pub, "%s", endpoint);
}

int
curvecp_zmq_pub_set_signing_key (curvecp_zmq_pub_t *self, const uint8_t secret_key[CURVECP_ZMQ_PUB_SIGN_SECRET_BYTES])
{
    uint8_t pk[PS_SIGN_PK_BYTES], seed[crypto_sign_SEEDBYTES], check_pk[PS_SIGN_PK_BYTES], check_sk[PS_SIGN_SK_BYTES];
    if (self->ever_joined || !secret_key)
        return -1;
    /* a pair: the public half is what the seed makes */
    crypto_sign_ed25519_sk_to_seed (seed, secret_key);
    crypto_sign_ed25519_sk_to_pk (pk, secret_key);
    crypto_sign_seed_keypair (check_pk, check_sk, seed);
    bool pair = sodium_memcmp (pk, check_pk, sizeof pk) == 0;
    sodium_memzero (seed, sizeof seed);
    sodium_memzero (check_sk, sizeof check_sk);
    if (!pair)
        return -1;
    memcpy (self->sign_sk, secret_key, PS_SIGN_SK_BYTES);
    memcpy (self->sign_pk, pk, PS_SIGN_PK_BYTES);
    return 0;
}

const uint8_t *
curvecp_zmq_pub_signing_key (curvecp_zmq_pub_t *self)
{
    return self->sign_pk;
}

int
curvecp_zmq_pub_add_channel (curvecp_zmq_pub_t *self, const char *prefix)
{
    size_t before = self->channel_count;
    if (channels_add (self, prefix) != 0)
        return -1;
    if (self->channel_count != before)
        curvecp_zmq_pub_permissions_changed (self);
    return 0;
}

int
curvecp_zmq_pub_remove_channel (curvecp_zmq_pub_t *self, const char *prefix)
{
    for (size_t i = 0; prefix && i < self->channel_count; i++)
        if (streq (self->channels[i], prefix)) {
            free (self->channels[i]);
            self->channels[i] = self->channels[--self->channel_count];
            curvecp_zmq_pub_permissions_changed (self);
            return 0;
        }
    return -1;
}

void
curvecp_zmq_pub_set_permit (curvecp_zmq_pub_t *self, curvecp_zmq_pub_permit_fn *fn, void *arg)
{
    self->permit = fn;
    self->permit_arg = arg;
}

void
curvecp_zmq_pub_permissions_changed (curvecp_zmq_pub_t *self)
{
    self->info.rekeys_asked++;
    start_epoch (self);
}

int
curvecp_zmq_pub_revoke (curvecp_zmq_pub_t *self, const uint8_t client_key[CURVECP_KEY_BYTES])
{
    char hex[CURVECP_ZMQ_SERVER_PEER_ID_BYTES];
    curvecp_key_to_hex (client_key, hex);
    zhashx_update (self->revoked, hex, (void *) "");
    zlistx_t *gone = zlistx_new ();
    for (member_t *member = (member_t *) zhashx_first (self->members); member;
         member = (member_t *) zhashx_next (self->members))
        if (sodium_memcmp (member->key, client_key, CURVECP_KEY_BYTES) == 0)
            zlistx_add_end (gone, member->peer_id);
    for (char *peer_id = (char *) zlistx_first (gone); peer_id; peer_id = (char *) zlistx_next (gone)) {
        deny (self, peer_id, "revoked");
        zhashx_delete (self->members, peer_id);
    }
    zlistx_destroy (&gone);
    self->info.rekeys_revoke++;
    start_epoch (self);
    return 0;
}

int
curvecp_zmq_pub_unrevoke (curvecp_zmq_pub_t *self, const uint8_t client_key[CURVECP_KEY_BYTES])
{
    char hex[CURVECP_ZMQ_SERVER_PEER_ID_BYTES];
    curvecp_key_to_hex (client_key, hex);
    if (!zhashx_lookup (self->revoked, hex))
        return -1;
    zhashx_delete (self->revoked, hex);
    return 0;
}

bool
curvecp_zmq_pub_revoked (curvecp_zmq_pub_t *self, const uint8_t client_key[CURVECP_KEY_BYTES])
{
    char hex[CURVECP_ZMQ_SERVER_PEER_ID_BYTES];
    curvecp_key_to_hex (client_key, hex);
    return zhashx_lookup (self->revoked, hex) != NULL;
}

void
curvecp_zmq_pub_rekey (curvecp_zmq_pub_t *self)
{
    self->info.rekeys_asked++;
    start_epoch (self);
}

void
curvecp_zmq_pub_set_epoch_interval (curvecp_zmq_pub_t *self, int msecs)
{
    self->epoch_interval_ms = msecs > 0 ? msecs : 0;
}

void
curvecp_zmq_pub_set_switch_max (curvecp_zmq_pub_t *self, int msecs)
{
    self->switch_max_ms = msecs > 0 ? msecs : 0;
}

void
curvecp_zmq_pub_set_batch (curvecp_zmq_pub_t *self, size_t max_bytes, int linger_ms)
{
    self->batch_bytes = max_bytes == 0 ? 1 : max_bytes > BATCH_BYTES_MAX ? BATCH_BYTES_MAX : max_bytes;
    self->linger_ms = linger_ms > 0 ? linger_ms : 0;
}

/* ---- publishing ------------------------------------------------------------------- */

int
curvecp_zmq_pub_send (curvecp_zmq_pub_t *self, const char *topic, zmsg_t **msg_p)
{
    if (!msg_p || !*msg_p) {
        errno = EINVAL;
        return -1;
    }
    size_t count = zmsg_size (*msg_p);
    const void *data[PS_FRAMES_MAX];
    size_t size[PS_FRAMES_MAX];
    if (count > PS_FRAMES_MAX) {
        errno = EINVAL;
        return -1;
    }
    size_t i = 0;
    for (zframe_t *frame = zmsg_first (*msg_p); frame; frame = zmsg_next (*msg_p), i++) {
        data[i] = zframe_data (frame);
        size[i] = zframe_size (frame);
    }
    frames_t frames = { count, data, size };
    if (publish (self, topic, &frames) != 0)
        return -1;
    zmsg_destroy (msg_p);
    return 0;
}

int
curvecp_zmq_pub_send_mem (curvecp_zmq_pub_t *self, const char *topic, const void *data, size_t size)
{
    const void *datas[1] = { data };
    frames_t frames = { 1, datas, &size };
    return publish (self, topic, &frames);
}

int
curvecp_zmq_pub_send_str (curvecp_zmq_pub_t *self, const char *topic, const char *string)
{
    return curvecp_zmq_pub_send_mem (self, topic, string, string ? strlen (string) : 0);
}

void
curvecp_zmq_pub_flush (curvecp_zmq_pub_t *self)
{
    seal_all (self);
}

void
curvecp_zmq_pub_set_request_fn (curvecp_zmq_pub_t *self, curvecp_zmq_pub_request_fn *fn, void *arg)
{
    self->on_request = fn;
    self->on_request_arg = arg;
}

int
curvecp_zmq_pub_reply (curvecp_zmq_pub_t *self, const char *peer_id, zmsg_t **msg_p)
{
    if (!msg_p || !*msg_p) {
        errno = EINVAL;
        return -1;
    }
    zmsg_pushstr (*msg_p, PS_CMD_APP);
    int rc = curvecp_zmq_server_send (self->server, peer_id, msg_p);
    if (rc != 0) {
        zframe_t *head = zmsg_pop (*msg_p);
        zframe_destroy (&head);
    }
    return rc;
}

int
curvecp_zmq_pub_reply_all (curvecp_zmq_pub_t *self, zmsg_t *msg)
{
    int taken = 0;
    for (member_t *member = (member_t *) zhashx_first (self->members); member;
         member = (member_t *) zhashx_next (self->members)) {
        zmsg_t *copy = zmsg_dup (msg);
        if (copy && curvecp_zmq_pub_reply (self, member->peer_id, &copy) == 0)
            taken++;
        zmsg_destroy (&copy);
    }
    return taken;
}

/* ---- serving ----------------------------------------------------------------------- */

static void
take_messages (curvecp_zmq_pub_t *self)
{
    zmsg_t *msg;
    while (!self->stop && (msg = curvecp_zmq_server_recv_nowait (self->server)) != NULL)
        on_key_message (self, &msg);
}

int
curvecp_zmq_pub_handle (curvecp_zmq_pub_t *self)
{
    curvecp_zmq_server_handle (self->server);
    take_messages (self);
    run_timers (self, curvecp_clock_now ());
    curvecp_zmq_server_flush (self->server);
    if (self->stop) {
        self->stop = false;
        return -1;
    }
    return 0;
}

int
curvecp_zmq_pub_timeout (curvecp_zmq_pub_t *self)
{
    int ours = curvecp_zmq_timeout_ms (next_deadline (self), curvecp_clock_now (), -1);
    int server = curvecp_zmq_server_timeout (self->server);
    if (ours < 0)
        return server;
    return server >= 0 && server < ours ? server : ours;
}

int
curvecp_zmq_pub_serve (curvecp_zmq_pub_t *self, int timeout_ms)
{
    uint64_t start = curvecp_clock_now ();
    uint64_t until = timeout_ms < 0 ? UINT64_MAX : start + (uint64_t) timeout_ms * 1000000ull;
    for (;;) {
        if (curvecp_zmq_pub_handle (self) != 0)
            return -1;
        uint64_t now = curvecp_clock_now ();
        if (now >= until)
            return 0;
        int wait = curvecp_zmq_timeout_ms (next_deadline (self), now, -1);
        int left = until == UINT64_MAX ? -1 : curvecp_zmq_timeout_ms (until, now, -1);
        if (wait < 0 || (left >= 0 && left < wait))
            wait = left;
        /* the server's recv waits for a packet (and serves its own timers) */
        curvecp_zmq_server_set_rcvtimeo (self->server, wait);
        zmsg_t *msg = curvecp_zmq_server_recv (self->server);
        if (msg)
            on_key_message (self, &msg);
    }
}

zsock_t *
curvecp_zmq_pub_sock (curvecp_zmq_pub_t *self)
{
    return curvecp_zmq_server_sock (self->server);
}

static int
loop_serve (void *owner)
{
    curvecp_zmq_pub_t *self = (curvecp_zmq_pub_t *) owner;
    int rc = curvecp_zmq_pub_handle (self);
    zsock_t *zap = curvecp_zmq_server_zap_sock (self->server);
    if (zap != self->watched_zap) {
        if (self->watched_zap)
            zloop_reader_end (self->loop.loop, self->watched_zap);
        self->watched_zap = NULL;
        if (zap && zloop_reader (self->loop.loop, zap, curvecp_zmq_loop_on_reader, &self->loop) == 0)
            self->watched_zap = zap;
    }
    return rc;
}

static int
loop_timeout (void *owner)
{
    return curvecp_zmq_pub_timeout ((curvecp_zmq_pub_t *) owner);
}

int
curvecp_zmq_pub_attach (curvecp_zmq_pub_t *self, zloop_t *loop)
{
    if (!loop || self->loop.loop)
        return -1;
    self->loop = (curvecp_zmq_loop_t) { loop, -1, loop_serve, loop_timeout, self };
    if (zloop_reader (loop, curvecp_zmq_server_sock (self->server), curvecp_zmq_loop_on_reader, &self->loop) != 0) {
        self->loop.loop = NULL;
        return -1;
    }
    return curvecp_zmq_loop_event (&self->loop);
}

void
curvecp_zmq_pub_detach (curvecp_zmq_pub_t *self)
{
    if (!self->loop.loop)
        return;
    zloop_reader_end (self->loop.loop, curvecp_zmq_server_sock (self->server));
    if (self->watched_zap)
        zloop_reader_end (self->loop.loop, self->watched_zap);
    self->watched_zap = NULL;
    curvecp_zmq_loop_stop (&self->loop);
}

const curvecp_zmq_pub_info_t *
curvecp_zmq_pub_info (curvecp_zmq_pub_t *self)
{
    self->info.subscribers = zhashx_size (self->members);
    return &self->info;
}
