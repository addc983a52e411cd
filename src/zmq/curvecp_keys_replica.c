/*  curvecp_keys_replica.c - a replica of the key service's signed set on
    the Clone pattern: SUBSCRIBE, take the snapshot, apply UPDATEs in
    sequence, SUBSCRIBE again on a gap; HUGZ says the service is alive
    and how far its set is. Runs in its own thread; the set is guarded by
    a mutex, so servers may ask it from theirs.                          */

#include "curvecp_keys_replica.h"
#include "curvecp_zmq_client.h"
#include "curvecp_zmq_sub.h"
#include "curvecp_zmq.h"
#include "curvecp_keyd_proto.h"

#include <errno.h>
#include <czmq.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

struct _curvecp_keys_replica_t {
    char *endpoint, *keyd_name, *state_file;
    uint8_t keyd_key[CURVECP_KEY_BYTES];
    curvecp_keypair_t keys;
    int lost_after_ms;
    FILE *log;

    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t mutex;
    pthread_cond_t changed;
    curvecp_keyset_t *set;              /* under mutex */
    bool live;                          /* under mutex */
    curvecp_keys_replica_stats_t stats; /* under mutex */
};

static char *
dup_or_null (const char *text)
{
    return text ? strdup (text) : NULL;
}

/* Every log line of this class carries its name. */
#define say(self, ...) curvecp_zmq_say ((self)->log, "curvecp-keys-replica", __VA_ARGS__)

/* ---- the set, under the mutex ------------------------------------------- */

static void
set_live (curvecp_keys_replica_t *self, bool live)
{
    pthread_mutex_lock (&self->mutex);
    bool was = self->live;
    self->live = live;
    uint64_t seq = curvecp_keyset_seq (self->set);
    if (was && !live)
        self->stats.losses++;
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->mutex);
    if (was && !live)
        say (self, "lost the key service at %s: serving the last signed set (seq %" PRIu64 ")", self->endpoint, seq);
    else
    if (!was && live)
        say (self, "following the key service at %s (seq %" PRIu64 ")", self->endpoint, seq);
}

static void
persist (curvecp_keys_replica_t *self)
{
    if (self->state_file && curvecp_keyset_save (self->set, self->state_file) != 0)
        say (self, "cannot save %s: %s", self->state_file, curvecp_keys_error ());
}

/* A snapshot or an update (published: taken from the PUB-SUB) from the
   service; what became of it. */
static curvecp_keyset_result_t
take (curvecp_keys_replica_t *self, zframe_t *frame, bool update, bool published)
{
    const uint8_t *data = frame ? zframe_data (frame) : (const uint8_t *) "";
    size_t size = frame ? zframe_size (frame) : 0;
    pthread_mutex_lock (&self->mutex);
    curvecp_keyset_result_t result = update ? curvecp_keyset_apply_update (self->set, data, size)
                                            : curvecp_keyset_load_snapshot (self->set, data, size);
    if (result == CURVECP_KEYSET_OK) {
        if (update)
            self->stats.updates++;
        if (update && published)
            self->stats.published++;
        else
            self->stats.snapshots++;
        persist (self);
        pthread_cond_broadcast (&self->changed);
    }
    pthread_mutex_unlock (&self->mutex);
    return result;
}

/* ---- the session with the service --------------------------------------- */

/* What the thread holds: the session (snapshots), and once the service
   said where, the subscriber that follows its updates. */
typedef struct {
    curvecp_zmq_client_t *client;
    curvecp_zmq_sub_t *sub;             /* NULL: updates come down the session */
    bool sub_ready;                     /* the subscriber holds the epoch keys */
    bool session_subscribed;            /* SUBSCRIBE sent on this session */
} link_t;

static void
ask (curvecp_zmq_client_t *client, const char *command)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, command);
    if (curvecp_zmq_client_send (client, &msg) != 0)
        zmsg_destroy (&msg);
}

/* A snapshot: over the session always; updates then follow on the PUB-SUB,
   or (a service that publishes none) down the session after SUBSCRIBE. */
static void
ask_snapshot (link_t *link)
{
    ask (link->client, link->sub || !link->session_subscribed ? KEYD_SNAPSHOT : KEYD_SUBSCRIBE);
}

static void
resync (curvecp_keys_replica_t *self, link_t *link, const char *why)
{
    pthread_mutex_lock (&self->mutex);
    self->stats.resyncs++;
    pthread_mutex_unlock (&self->mutex);
    say (self, "%s: taking a new snapshot", why);
    ask_snapshot (link);
}

/* The service said where it publishes: follow it there. */
static void
follow (curvecp_keys_replica_t *self, link_t *link, zmsg_t *msg)
{
    char *keys_ep = zmsg_popstr (msg), *data_ep = zmsg_popstr (msg);
    if (!link->sub && keys_ep && data_ep) {
        link->sub = curvecp_zmq_sub_new (&self->keys, self->keyd_key, self->keyd_name);
        if (!link->sub || curvecp_zmq_sub_connect (link->sub, keys_ep, data_ep) != 0
        ||  curvecp_zmq_sub_subscribe (link->sub, KEYD_TOPIC) != 0) {
            say (self, "cannot follow the updates at %s: taking them on the session", data_ep);
            curvecp_zmq_sub_destroy (&link->sub);
        }
    }
    if (!link->sub && !link->session_subscribed) {
        link->session_subscribed = true;
        ask (link->client, KEYD_SUBSCRIBE);
    }
    free (keys_ep);
    free (data_ep);
}

/* One message from the service (over the session, or published);
   true if it was one of the service's. */
static bool heartbeat_seq (zframe_t *body, uint64_t *seq);

static bool
handle (curvecp_keys_replica_t *self, link_t *link, zmsg_t *msg, bool published)
{
    char *command = zmsg_popstr (msg);
    zframe_t *body = zmsg_pop (msg);
    bool known = true;
    if (command && streq (command, KEYD_SNAPSHOT) && !published) {
        curvecp_keyset_result_t result = take (self, body, false, false);
        if (result != CURVECP_KEYSET_OK && result != CURVECP_KEYSET_STALE)
            say (self, "snapshot refused [%s]", curvecp_keyset_result_text (result));
        else
            set_live (self, true);      /* a stale one: the service lags us; we keep ours */
        follow (self, link, msg);
    }
    else
    if (command && streq (command, KEYD_UPDATE)) {
        curvecp_keyset_result_t result = take (self, body, true, published);
        if (result == CURVECP_KEYSET_GAP || result == CURVECP_KEYSET_DIVERGED)
            resync (self, link, curvecp_keyset_result_text (result));
        else
        if (result != CURVECP_KEYSET_OK && result != CURVECP_KEYSET_STALE)
            say (self, "update refused [%s]", curvecp_keyset_result_text (result));
    }
    else
    if (command && streq (command, KEYD_HUGZ) && body) {
        uint64_t seq;
        if (!heartbeat_seq (body, &seq))
            self->stats.bad_heartbeats++;       /* nothing a sound service sends: ignored */
        else
        if (seq > curvecp_keys_replica_seq (self))
            resync (self, link, "heartbeat announces a later set");
        else
            set_live (self, true);
    }
    else
        known = false;
    zframe_destroy (&body);
    free (command);
    return known;
}

/* A heartbeat's body: the service's sequence number in decimal, all of
   it, no sign, no overflow. */
static bool
heartbeat_seq (zframe_t *body, uint64_t *seq)
{
    char *text = zframe_strdup (body);
    char *end = NULL;
    errno = 0;
    bool ok = text && text[0] >= '0' && text[0] <= '9';
    if (ok) {
        unsigned long long value = strtoull (text, &end, 10);
        ok = errno == 0 && *end == 0;
        *seq = value;
    }
    free (text);
    return ok;
}

/* Published messages: [topic][command][body]; a gap (PUB dropped some)
   means a snapshot. true if any was the service's. */
static bool
take_published (curvecp_keys_replica_t *self, link_t *link)
{
    bool heard = false;
    zmsg_t *msg;
    while (link->sub && (msg = curvecp_zmq_sub_recv_nowait (link->sub))) {
        uint64_t gap = curvecp_zmq_sub_gap (link->sub);
        free (zmsg_popstr (msg));       /* the topic */
        heard |= handle (self, link, msg, true);
        zmsg_destroy (&msg);
        if (gap)
            resync (self, link, "published updates lost");
    }
    return heard;
}

/* Forget the session and the subscriber, and start again. */
static void
restart (curvecp_keys_replica_t *self, link_t *link)
{
    set_live (self, false);
    curvecp_zmq_sub_destroy (&link->sub);
    link->sub_ready = false;
    link->session_subscribed = false;
    curvecp_zmq_client_reconnect (link->client);
    ask_snapshot (link);
}

static int
poll_timeout (link_t *link)
{
    int timeout = curvecp_zmq_client_timeout (link->client);
    int sub_timeout = link->sub ? curvecp_zmq_sub_timeout (link->sub) : -1;
    if (sub_timeout >= 0 && (timeout < 0 || sub_timeout < timeout))
        timeout = sub_timeout;
    return timeout < 0 || timeout > 100 ? 100 : timeout;
}

static void *
run (void *arg)
{
    curvecp_keys_replica_t *self = (curvecp_keys_replica_t *) arg;
    link_t link = { NULL, NULL, false, false };
    link.client = curvecp_zmq_client_new (&self->keys, self->keyd_key, self->keyd_name);
    if (!link.client || curvecp_zmq_client_connect (link.client, self->endpoint) != 0) {
        say (self, "cannot connect to %s: serving the last signed set", self->endpoint);
        curvecp_zmq_client_destroy (&link.client);
        return NULL;
    }
    curvecp_zmq_client_set_linger (link.client, 0);
    ask_snapshot (&link);
    int64_t heard = zclock_mono ();
    while (!atomic_load (&self->stop)) {
        /* zmq_poll, not zpoller: zpoller returns at once for ever after
           czmq's own SIGINT/SIGTERM handler has fired in this process */
        zmq_pollitem_t items[3] = { { zsock_resolve (curvecp_zmq_client_sock (link.client)), 0, ZMQ_POLLIN, 0 } };
        int count = 1;
        if (link.sub) {
            items[count++] = (zmq_pollitem_t) { zsock_resolve (curvecp_zmq_sub_key_sock (link.sub)), 0, ZMQ_POLLIN, 0 };
            items[count++] = (zmq_pollitem_t) { zsock_resolve (curvecp_zmq_sub_data_sock (link.sub)), 0, ZMQ_POLLIN, 0 };
        }
        zmq_poll (items, count, poll_timeout (&link));
        curvecp_zmq_client_handle (link.client);
        bool sub_failed = link.sub && curvecp_zmq_sub_handle (link.sub) != 0;
        zmsg_t *msg;
        while ((msg = curvecp_zmq_client_recv_nowait (link.client))) {
            if (handle (self, &link, msg, false))
                heard = zclock_mono ();
            zmsg_destroy (&msg);
        }
        if (take_published (self, &link))
            heard = zclock_mono ();
        if (link.sub && !link.sub_ready && curvecp_zmq_sub_has_keys (link.sub)) {
            /* As the Clone pattern does: subscribed first, then the
               snapshot, so no update falls between the two. */
            link.sub_ready = true;
            ask (link.client, KEYD_SNAPSHOT);
        }
        if (curvecp_zmq_client_failed (link.client) || sub_failed
        ||  (link.sub && curvecp_zmq_sub_denied (link.sub)) || zclock_mono () - heard > self->lost_after_ms) {
            restart (self, &link);
            heard = zclock_mono ();     /* the next try after another lost_after_ms */
        }
    }
    curvecp_zmq_sub_destroy (&link.sub);
    curvecp_zmq_client_destroy (&link.client);
    return NULL;
}

/* ---- the class ------------------------------------------------------------ */

curvecp_keys_replica_t *
curvecp_keys_replica_new (const curvecp_keys_replica_config_t *config)
{
    if (!config || !config->endpoint)
        return NULL;
    curvecp_keys_replica_t *self = (curvecp_keys_replica_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoint = strdup (config->endpoint);
    self->keyd_name = strdup (config->keyd_name ? config->keyd_name : CURVECP_KEYD_DEFAULT_NAME);
    self->state_file = dup_or_null (config->state_file);
    memcpy (self->keyd_key, config->keyd_key, sizeof self->keyd_key);
    if (config->keys)
        self->keys = *config->keys;
    else
        curvecp_keypair_generate (&self->keys);     /* one pair for session and subscriber */
    self->lost_after_ms = config->lost_after_ms > 0 ? config->lost_after_ms : KEYD_LOST_AFTER_MS;
    self->log = config->log;
    self->set = curvecp_keyset_new (config->admin_key);
    pthread_mutex_init (&self->mutex, NULL);
    pthread_cond_init (&self->changed, NULL);
    if (self->state_file && curvecp_keyset_load_file (self->set, self->state_file) == 0)
        say (self, "serving the signed set of %s (seq %" PRIu64 ") until the key service answers",
             self->state_file, curvecp_keyset_seq (self->set));
    if (!self->endpoint || !self->keyd_name || !self->set
    ||  pthread_create (&self->thread, NULL, run, self) != 0) {
        curvecp_keyset_destroy (&self->set);
        free (self->endpoint);
        free (self->keyd_name);
        free (self->state_file);
        curvecp_keypair_wipe (&self->keys);
        pthread_mutex_destroy (&self->mutex);
        pthread_cond_destroy (&self->changed);
        free (self);
        return NULL;
    }
    return self;
}

void
curvecp_keys_replica_destroy (curvecp_keys_replica_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_keys_replica_t *self = *self_p;
    atomic_store (&self->stop, true);
    pthread_join (self->thread, NULL);
    curvecp_keyset_destroy (&self->set);
    free (self->endpoint);
    free (self->keyd_name);
    free (self->state_file);
    curvecp_keypair_wipe (&self->keys);
    pthread_mutex_destroy (&self->mutex);
    pthread_cond_destroy (&self->changed);
    free (self);
    *self_p = NULL;
}

bool
curvecp_keys_replica_allowed (curvecp_keys_replica_t *self, const uint8_t key[CURVECP_KEY_BYTES])
{
    pthread_mutex_lock (&self->mutex);
    bool allowed = curvecp_keyset_allowed (self->set, key);
    pthread_mutex_unlock (&self->mutex);
    return allowed;
}

bool
curvecp_keys_replica_authorise (void *replica, const uint8_t client_key[CURVECP_KEY_BYTES])
{
    return curvecp_keys_replica_allowed ((curvecp_keys_replica_t *) replica, client_key);
}

int
curvecp_keys_replica_lookup (curvecp_keys_replica_t *self, const char *name, uint8_t key[CURVECP_KEY_BYTES])
{
    pthread_mutex_lock (&self->mutex);
    const curvecp_keyset_entry_t *entry = curvecp_keyset_find_name (self->set, name);
    if (entry)
        memcpy (key, entry->key, CURVECP_KEY_BYTES);
    pthread_mutex_unlock (&self->mutex);
    return entry ? 0 : -1;
}

curvecp_keyset_t *
curvecp_keys_replica_set (curvecp_keys_replica_t *self)
{
    pthread_mutex_lock (&self->mutex);
    curvecp_keyset_t *copy = curvecp_keyset_dup (self->set);
    pthread_mutex_unlock (&self->mutex);
    return copy;
}

uint64_t
curvecp_keys_replica_seq (curvecp_keys_replica_t *self)
{
    pthread_mutex_lock (&self->mutex);
    uint64_t seq = curvecp_keyset_seq (self->set);
    pthread_mutex_unlock (&self->mutex);
    return seq;
}

bool
curvecp_keys_replica_live (curvecp_keys_replica_t *self)
{
    pthread_mutex_lock (&self->mutex);
    bool live = self->live;
    pthread_mutex_unlock (&self->mutex);
    return live;
}

bool
curvecp_keys_replica_wait (curvecp_keys_replica_t *self, uint64_t seq, bool live, int timeout_ms)
{
    struct timespec until;
    clock_gettime (CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock (&self->mutex);
    bool done;
    while (!(done = curvecp_keyset_seq (self->set) >= seq && (!live || self->live)))
        if (pthread_cond_timedwait (&self->changed, &self->mutex, &until) != 0)
            break;
    done = curvecp_keyset_seq (self->set) >= seq && (!live || self->live);
    pthread_mutex_unlock (&self->mutex);
    return done;
}

curvecp_keys_replica_stats_t
curvecp_keys_replica_stats (curvecp_keys_replica_t *self)
{
    pthread_mutex_lock (&self->mutex);
    curvecp_keys_replica_stats_t stats = self->stats;
    stats.set = *curvecp_keyset_stats (self->set);
    pthread_mutex_unlock (&self->mutex);
    return stats;
}
