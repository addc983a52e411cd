/*  curvecp_keyd.c - the key service: a curvecp_zmq_server in queued-send
    mode (a slow subscriber never holds up the others, and nothing sent
    to it is lost while its connection lives) that answers SUBSCRIBE,
    SNAPSHOT and CHANGE and pushes UPDATE and HUGZ to subscribers.
    The serving loop runs in its own thread; the set is guarded by a
    mutex so that the accessors may be called from any thread.         */

#include "curvecp_keyd.h"
#include "curvecp_keyd_proto.h"
#include "curvecp_zmq.h"
#include "curvecp_zmq_pub.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEND_QUEUE_BYTES (64u << 20)

struct _curvecp_keyd_t {
    curvecp_zmq_server_t *server;
    curvecp_zmq_pub_t *pub;             /* updates and heartbeats, to replicas */
    char *pub_keys, *pub_data;          /* its endpoints, as bound (announced) */
    char *state_file;
    FILE *log;
    zlistx_t *subscribers;              /* peer ids (strings) */
    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t mutex;
    curvecp_keyset_t *set;              /* under mutex */
    uint64_t requests[CURVECP_KEYD_REQUEST_RESULTS];   /* under mutex: taken, refused by reason */
};

/* Every log line of this class carries its name. */
#define say(self, ...) curvecp_zmq_say ((self)->log, "curvecp-keyd", __VA_ARGS__)

curvecp_keyd_t *
curvecp_keyd_new (const curvecp_keypair_t *keys, const char *name,
        const uint8_t admin_key[CURVECP_KEYSET_ADMIN_PUBLIC_BYTES], const char *state_file)
{
    curvecp_keyd_t *self = (curvecp_keyd_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init (&self->mutex, NULL);
    self->server = curvecp_zmq_server_new (keys, name);
    self->pub = curvecp_zmq_pub_new (keys, name);
    self->set = curvecp_keyset_new (admin_key);
    self->subscribers = zlistx_new ();
    self->state_file = state_file ? strdup (state_file) : NULL;
    bool ok = self->server && self->pub && self->set && self->subscribers && (!state_file || self->state_file);
    if (ok && state_file && access (state_file, F_OK) == 0)
        ok = curvecp_keyset_load_file (self->set, state_file) == 0;
    if (!ok) {
        curvecp_keyd_destroy (&self);
        return NULL;
    }
    zlistx_set_destructor (self->subscribers, (czmq_destructor *) zstr_free);
    zlistx_set_duplicator (self->subscribers, (czmq_duplicator *) strdup);
    zlistx_set_comparator (self->subscribers, (czmq_comparator *) strcmp);
    curvecp_zmq_server_set_send_queue (self->server, SEND_QUEUE_BYTES);
    curvecp_zmq_pub_set_batch (self->pub, 32768, 0);        /* every update out at once */
    curvecp_zmq_server_set_send_queue (curvecp_zmq_pub_server (self->pub), SEND_QUEUE_BYTES);
    return self;
}

void
curvecp_keyd_destroy (curvecp_keyd_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_keyd_t *self = *self_p;
    if (self->started) {
        atomic_store (&self->stop, true);
        pthread_join (self->thread, NULL);
    }
    curvecp_zmq_server_destroy (&self->server);
    curvecp_zmq_pub_destroy (&self->pub);
    free (self->pub_keys);
    free (self->pub_data);
    curvecp_keyset_destroy (&self->set);
    zlistx_destroy (&self->subscribers);
    free (self->state_file);
    pthread_mutex_destroy (&self->mutex);
    free (self);
    *self_p = NULL;
}

curvecp_zmq_server_t *curvecp_keyd_server (curvecp_keyd_t *self) { return self->server; }
void curvecp_keyd_set_log (curvecp_keyd_t *self, FILE *log) { self->log = log; }

/* Where the publisher binds, next to endpoint: tcp://host:* (a free
   port on the same address), else endpoint-suffix (ipc://, inproc://). */
static char *
beside (const char *endpoint, const char *suffix)
{
    const char *colon = strrchr (endpoint, ':');
    if (strncmp (endpoint, "tcp://", 6) == 0 && colon && colon > endpoint + 5)
        return zsys_sprintf ("%.*s:*", (int) (colon - endpoint), endpoint);
    return zsys_sprintf ("%s-%s", endpoint, suffix);
}

/* Bind sock's owner at endpoint; the endpoint as bound, or NULL. */
static char *
bind_pub (curvecp_keyd_t *self, const char *endpoint, bool keys)
{
    char *where = beside (endpoint, keys ? "keys" : "data");
    int rc = keys ? curvecp_zmq_pub_bind_keys (self->pub, where) : curvecp_zmq_pub_bind_data (self->pub, where);
    zstr_free (&where);
    if (rc < 0)
        return NULL;
    zsock_t *sock = keys ? curvecp_zmq_server_sock (curvecp_zmq_pub_server (self->pub))
                         : curvecp_zmq_pub_data_sock (self->pub);
    return zsock_last_endpoint (sock);
}

int
curvecp_keyd_bind (curvecp_keyd_t *self, const char *endpoint)
{
    int rc = curvecp_zmq_server_bind (self->server, endpoint);
    if (rc < 0 || self->pub_keys)
        return rc;
    self->pub_keys = bind_pub (self, endpoint, true);
    self->pub_data = bind_pub (self, endpoint, false);
    return self->pub_keys && self->pub_data ? rc : -1;
}

uint64_t
curvecp_keyd_seq (curvecp_keyd_t *self)
{
    pthread_mutex_lock (&self->mutex);
    uint64_t seq = curvecp_keyset_seq (self->set);
    pthread_mutex_unlock (&self->mutex);
    return seq;
}

size_t
curvecp_keyd_subscribers (curvecp_keyd_t *self)
{
    pthread_mutex_lock (&self->mutex);
    size_t count = zlistx_size (self->subscribers);
    pthread_mutex_unlock (&self->mutex);
    return count;
}

curvecp_keyset_stats_t
curvecp_keyd_stats (curvecp_keyd_t *self)
{
    pthread_mutex_lock (&self->mutex);
    curvecp_keyset_stats_t stats = *curvecp_keyset_stats (self->set);
    pthread_mutex_unlock (&self->mutex);
    return stats;
}

uint64_t
curvecp_keyd_refused_requests (curvecp_keyd_t *self, curvecp_keyd_request_result_t why)
{
    if ((unsigned) why >= CURVECP_KEYD_REQUEST_RESULTS)
        return 0;
    pthread_mutex_lock (&self->mutex);
    uint64_t count = self->requests[why];
    pthread_mutex_unlock (&self->mutex);
    return count;
}

/* ---- serving ---------------------------------------------------------------- */

static zmsg_t *
snapshot_msg (curvecp_keyd_t *self)
{
    size_t size;
    pthread_mutex_lock (&self->mutex);
    uint8_t *data = curvecp_keyset_snapshot (self->set, &size);
    pthread_mutex_unlock (&self->mutex);
    if (!data)
        return NULL;
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, KEYD_SNAPSHOT);
    zmsg_addmem (msg, data, size);
    free (data);
    if (self->pub_keys && self->pub_data) {     /* where the updates are published */
        zmsg_addstr (msg, self->pub_keys);
        zmsg_addstr (msg, self->pub_data);
    }
    return msg;
}

/* Publish msg on the PUB-SUB, and send a copy to every session
   subscriber; forget those that are gone. */
static void
to_subscribers (curvecp_keyd_t *self, zmsg_t *msg)
{
    zmsg_t *published = zmsg_dup (msg);
    if (curvecp_zmq_pub_send (self->pub, KEYD_TOPIC, &published) != 0)
        zmsg_destroy (&published);
    pthread_mutex_lock (&self->mutex);
    const char *peer = (const char *) zlistx_first (self->subscribers);
    while (peer) {
        zmsg_t *copy = zmsg_dup (msg);
        int rc = curvecp_zmq_server_send (self->server, peer, &copy);
        zmsg_destroy (&copy);
        if (rc != 0 && errno == EHOSTUNREACH) {
            zlistx_delete (self->subscribers, zlistx_cursor (self->subscribers));
            peer = (const char *) zlistx_first (self->subscribers);    /* start over: the cursor is gone */
            continue;
        }
        peer = (const char *) zlistx_next (self->subscribers);
    }
    pthread_mutex_unlock (&self->mutex);
}

static void
hugz (curvecp_keyd_t *self)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, KEYD_HUGZ);
    zmsg_addstrf (msg, "%" PRIu64, curvecp_keyd_seq (self));
    to_subscribers (self, msg);
    zmsg_destroy (&msg);
}

static void
reply_change (curvecp_keyd_t *self, curvecp_keyset_result_t result)
{
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, result == CURVECP_KEYSET_OK ? KEYD_OK : KEYD_REFUSED);
    if (result != CURVECP_KEYSET_OK)
        zmsg_addstr (reply, curvecp_keyset_result_text (result));
    zmsg_addstrf (reply, "%" PRIu64, curvecp_keyd_seq (self));
    curvecp_zmq_server_reply (self->server, &reply);
    zmsg_destroy (&reply);
}

/* An administrator's change: applied, saved, then passed on as it came
   (the update carries its own signatures). */
static void
change (curvecp_keyd_t *self, const uint8_t *data, size_t size)
{
    pthread_mutex_lock (&self->mutex);
    curvecp_keyset_result_t result = curvecp_keyset_apply_update (self->set, data, size);
    bool saved = result != CURVECP_KEYSET_OK || !self->state_file
              || curvecp_keyset_save (self->set, self->state_file) == 0;
    uint64_t seq = curvecp_keyset_seq (self->set);
    pthread_mutex_unlock (&self->mutex);
    if (!saved)
        say (self, "cannot save %s (seq %" PRIu64 "): %s", self->state_file, seq, curvecp_keys_error ());
    reply_change (self, result);
    if (result != CURVECP_KEYSET_OK) {
        say (self, "change refused [%s] (we are at seq %" PRIu64 ")", curvecp_keyset_result_text (result), seq);
        return;
    }
    say (self, "change applied: seq %" PRIu64, seq);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, KEYD_UPDATE);
    zmsg_addmem (msg, data, size);
    to_subscribers (self, msg);
    zmsg_destroy (&msg);
}

static void
subscribe (curvecp_keyd_t *self)
{
    char peer[CURVECP_ZMQ_SERVER_PEER_ID_BYTES];
    snprintf (peer, sizeof peer, "%s", curvecp_zmq_server_peer_id (self->server));
    pthread_mutex_lock (&self->mutex);
    if (!zlistx_find (self->subscribers, peer))
        zlistx_add_end (self->subscribers, peer);
    pthread_mutex_unlock (&self->mutex);
}

/* A request that does not decode: counted and logged; one that names
   CHANGE is answered (REFUSED malformed), so its sender need not wait. */
static void
refuse_request (curvecp_keyd_t *self, const keyd_request_t *request, curvecp_keyd_request_result_t why)
{
    pthread_mutex_lock (&self->mutex);
    self->requests[why]++;
    pthread_mutex_unlock (&self->mutex);
    say (self, "request refused [%s]", curvecp_keyd_request_result_text (why));
    if (why != CURVECP_KEYD_REQUEST_EMPTY && why != CURVECP_KEYD_REQUEST_UNKNOWN
    &&  request->command == KEYD_REQUEST_CHANGE)
        reply_change (self, CURVECP_KEYSET_MALFORMED);
}

static void
handle (curvecp_keyd_t *self, zmsg_t *msg)
{
    keyd_request_t request;
    curvecp_keyd_request_result_t why = keyd_request_decode (msg, &request);
    if (why != CURVECP_KEYD_REQUEST_OK) {
        refuse_request (self, &request, why);
        return;
    }
    pthread_mutex_lock (&self->mutex);
    self->requests[CURVECP_KEYD_REQUEST_OK]++;
    pthread_mutex_unlock (&self->mutex);
    if (request.command == KEYD_REQUEST_CHANGE) {
        change (self, request.update, request.update_size);
        return;
    }
    /* the snapshot first, then (a subscriber) every update after it:
       both go down the same ordered session, so none is missed */
    zmsg_t *reply = snapshot_msg (self);
    if (reply && curvecp_zmq_server_reply (self->server, &reply) == 0 && request.command == KEYD_REQUEST_SUBSCRIBE)
        subscribe (self);
    zmsg_destroy (&reply);
}

static void *
run (void *arg)
{
    curvecp_keyd_t *self = (curvecp_keyd_t *) arg;
    void *router = zsock_resolve (curvecp_zmq_server_sock (self->server));
    void *pub_router = zsock_resolve (curvecp_zmq_pub_sock (self->pub));
    int64_t next_hugz = zclock_mono () + KEYD_HUGZ_MS;
    while (!atomic_load (&self->stop)) {
        int timeout = curvecp_zmq_server_timeout (self->server);
        int pub_timeout = curvecp_zmq_pub_timeout (self->pub);
        if (pub_timeout >= 0 && (timeout < 0 || pub_timeout < timeout))
            timeout = pub_timeout;
        if (timeout < 0 || timeout > 100)
            timeout = 100;
        zmq_pollitem_t items[2] = { { router, 0, ZMQ_POLLIN, 0 }, { pub_router, 0, ZMQ_POLLIN, 0 } };
        zmq_poll (items, 2, timeout);   /* not zpoller: see curvecp_keys_replica.c */
        curvecp_zmq_server_handle (self->server);
        curvecp_zmq_pub_handle (self->pub);
        zmsg_t *msg;
        while ((msg = curvecp_zmq_server_recv_nowait (self->server))) {
            handle (self, msg);
            zmsg_destroy (&msg);
        }
        if (zclock_mono () >= next_hugz) {
            hugz (self);
            next_hugz = zclock_mono () + KEYD_HUGZ_MS;
        }
        curvecp_zmq_server_flush (self->server);
        curvecp_zmq_pub_handle (self->pub);
    }
    return NULL;
}

int
curvecp_keyd_start (curvecp_keyd_t *self)
{
    if (self->started || pthread_create (&self->thread, NULL, run, self) != 0)
        return -1;
    self->started = true;
    return 0;
}

/* ---- client side ------------------------------------------------------------ */

/* The next message whose first frame is one of the replies wanted
   (heartbeats and updates in between are skipped), or NULL. */
static zmsg_t *
await (curvecp_zmq_client_t *client, const char *want1, const char *want2, int timeout_ms)
{
    int64_t until = zclock_mono () + timeout_ms;
    while (zclock_mono () < until) {
        curvecp_zmq_client_set_rcvtimeo (client, (int) (until - zclock_mono ()) + 1);
        zmsg_t *msg = curvecp_zmq_client_recv (client);
        if (!msg)
            return NULL;
        zframe_t *first = zmsg_first (msg);
        if (keyd_frame_is (first, want1) || (want2 && keyd_frame_is (first, want2)))
            return msg;
        zmsg_destroy (&msg);
    }
    return NULL;
}

curvecp_keyset_t *
curvecp_keyd_fetch (curvecp_zmq_client_t *client, const uint8_t admin_key[CURVECP_KEYSET_ADMIN_PUBLIC_BYTES],
        int timeout_ms)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, KEYD_SNAPSHOT);
    if (curvecp_zmq_client_send (client, &request) != 0) {
        zmsg_destroy (&request);
        return NULL;
    }
    zmsg_t *reply = await (client, KEYD_SNAPSHOT, NULL, timeout_ms);
    /* [SNAPSHOT][set], then where updates are published (not needed here) */
    zframe_t *body = reply && zmsg_size (reply) >= 2 ? (zmsg_first (reply), zmsg_next (reply)) : NULL;
    curvecp_keyset_t *set = curvecp_keyset_new (admin_key);
    if (!set || !body
    ||  curvecp_keyset_load_snapshot (set, zframe_data (body), zframe_size (body)) != CURVECP_KEYSET_OK)
        curvecp_keyset_destroy (&set);
    zmsg_destroy (&reply);
    return set;
}

curvecp_keyset_result_t
curvecp_keyd_change (curvecp_zmq_client_t *client, const uint8_t *update, size_t size, int timeout_ms, uint64_t *seq)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, KEYD_CHANGE);
    zmsg_addmem (request, update, size);
    if (curvecp_zmq_client_send (client, &request) != 0) {
        zmsg_destroy (&request);
        return CURVECP_KEYSET_RESULTS;
    }
    zmsg_t *reply = await (client, KEYD_OK, KEYD_REFUSED, timeout_ms);
    if (!reply)
        return CURVECP_KEYSET_RESULTS;
    uint64_t their_seq;
    curvecp_keyset_result_t result = keyd_change_reply_decode (reply, &their_seq);
    if (seq)
        *seq = their_seq;
    zmsg_destroy (&reply);
    return result;
}

/* rfc 18.2's ks-endpoint: 1..255 printable characters, no space. */
static bool
endpoint_valid (const char *endpoint)
{
    size_t len = strnlen (endpoint, KEYD_ENDPOINT_MAX + 1);
    if (len == 0 || len > KEYD_ENDPOINT_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (endpoint[i] < 0x21 || endpoint[i] > 0x7e)
            return false;
    return true;
}

int
curvecp_keyd_spec_parse (const char *keyd_spec, uint8_t key[CURVECP_KEY_BYTES], const char **endpoint)
{
    enum { HEX = 2 * CURVECP_KEY_BYTES };
    if (!keyd_spec || strnlen (keyd_spec, HEX + 1) <= HEX || keyd_spec[HEX] != '@'
    ||  !endpoint_valid (keyd_spec + HEX + 1))
        return -1;
    char hex[HEX + 1];
    memcpy (hex, keyd_spec, HEX);
    hex[HEX] = 0;
    uint8_t parsed[CURVECP_KEY_BYTES];
    if (curvecp_key_from_hex (hex, parsed) != CURVECP_OK)
        return -1;
    memcpy (key, parsed, CURVECP_KEY_BYTES);    /* nothing written on a refusal */
    *endpoint = keyd_spec + HEX + 1;
    return 0;
}

int
curvecp_keyd_lookup (const char *keyd_spec, const uint8_t admin_key[CURVECP_KEYSET_ADMIN_PUBLIC_BYTES],
        const char *name, uint8_t key[CURVECP_KEY_BYTES], int timeout_ms)
{
    uint8_t keyd_key[CURVECP_KEY_BYTES];
    const char *endpoint;
    if (curvecp_keyd_spec_parse (keyd_spec, keyd_key, &endpoint) != 0)
        return -1;
    curvecp_zmq_client_t *client = curvecp_zmq_client_new (NULL, keyd_key, CURVECP_KEYD_DEFAULT_NAME);
    if (!client)
        return -1;
    curvecp_zmq_client_set_linger (client, 0);
    curvecp_keyset_t *set = curvecp_zmq_client_connect (client, endpoint) == 0
                          ? curvecp_keyd_fetch (client, admin_key, timeout_ms) : NULL;
    const curvecp_keyset_entry_t *entry = set ? curvecp_keyset_find_name (set, name) : NULL;
    if (entry)
        memcpy (key, entry->key, CURVECP_KEY_BYTES);
    curvecp_keyset_destroy (&set);
    curvecp_zmq_client_destroy (&client);
    return entry ? 0 : -1;
}
