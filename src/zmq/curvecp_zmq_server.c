/*  curvecp_zmq_server.c - the ROUTER side of the ØMQ carrier.

    The core listener (core/curvecp_listener.h, shared with the UDP
    server) classifies every packet, queues Hellos fairly per routing id
    and answers them within a time budget per call (between every few,
    the socket is read again), admits new connections (max_peers,
    max_pending, the pending-memory budget, max_authorising) and finds
    each connection, a server codec, by C'; the routing id is its token.
    A receive round takes every waiting packet,
    notes which connections got input, hands whole messages out one at a
    time (rotating between connections for fairness) and, for connections
    with nothing to hand out, sends their acknowledgments at once; those
    with messages waiting send theirs with the application's reply.

    ZAP is asynchronous: a client the allow-list admits gets its connection
    at once but held - its first HELD_BYTES_MAX bytes of packets go into
    its codec (so a fast reply costs no retransmission; later ones are
    dropped until the reply and resent by the client), nothing is sent to
    it and nothing is handed to the application - until the handler's reply releases it (200) or refuses
    it (anything else, or no reply within the ZAP timeout: the connection
    is dropped). So a slow or absent handler delays only the clients it
    is asked about, and at most max_authorising of them wait at once.  */
#include <sodium.h>
#include <string.h>
#include "core/curvecp_heap.h"
#include "core/curvecp_ilist.h"
#include "core/curvecp_listener.h"
#include "core/curvecp_table.h"
#include "curvecp_packet.h"
#include "curvecp_zmq_server.h"
#include "curvecp_zmq_codec_internal.h"
#include "curvecp_zmq_server_internal.h"
#include "curvecp_zmq.h"
#include "curvecp_zmq_allow.h"
#include "curvecp_zmq_zap.h"

#define DRAIN_MAX    256
#define ROUTING_MAX  256
#define PACKET_CAP   CURVECP_ZMQ_CODEC_BLOB_MAX     /* any blob a codec may make: also says we take large ones */
#define HELD_BYTES_MAX 65536    /* packet bytes taken from a client held for ZAP */
#define PENDING_MEMORY_MAX (64u << 20)   /* default budget of unconfirmed connections */
#define PENDING_BASE_COST  32768        /* codec, stream, decoder and table bookkeeping */
#define ZAP_POLL_MS  10         /* timeout cap while ZAP replies are due, for
                                   pollers that do not poll the ZAP socket */
#define HELLOS_PER_READ 4       /* Hellos answered between two reads of the socket */
#define QUEUED CURVECP_REASON_COUNT    /* a Hello: counted once answered or dropped */

/* What the ZAP handler said about an allowed client: shared by its
   connection and by the server's "last sender" while the application
   reads them, so either may go first. */
typedef struct {
    int refs;
    char *user_id;
    zhash_t *metadata;            /* NULL: none */
} auth_t;

typedef struct peer_s {
    curvecp_zmq_codec_t *codec;
    uint8_t short_key[CURVECP_KEY_BYTES];          /* C': the table key */
    char id[CURVECP_ZMQ_SERVER_PEER_ID_BYTES];
    curvecp_listener_entry_t *entry;   /* in the listener: C', routing id (token), admission */
    curvecp_ilist_node_t in_dirty;       /* on the dirty list: got input this round */
    curvecp_ilist_node_t in_ready;       /* on the ready list */
    curvecp_ilist_node_t in_unflushed;   /* on the unflushed list: sent to since the last flush */
    curvecp_heap_node_t timer; /* in the timer heap: when it next needs a visit */
    uint8_t long_key[CURVECP_KEY_BYTES];            /* the client's key: the by_key index */
    struct peer_s *key_newer, *key_older;           /* connections with the same client key */
    /* held until the ZAP handler answers request zap_request */
    bool authorising;
    uint64_t zap_request, zap_deadline;
    size_t held_bytes;         /* packet bytes taken while held */
    void *authorising_handle;  /* in the authorising list */
    auth_t *auth;              /* NULL: no ZAP */
    zlist_t *kept;             /* queued-send mode: messages waiting for room, oldest first */
    void *backlog_handle;      /* in the backlog list while it keeps any */
} peer_t;

struct _curvecp_zmq_server_t {
    curvecp_keypair_t keys;
    curvecp_listener_t *listener;
    curvecp_zmq_codec_options_t options;
    zsock_t *router;
    void *handle;
    curvecp_ilist_t ready;      /* peers that may hold whole messages */
    curvecp_ilist_t unflushed;  /* peers sent to since the last flush */
    curvecp_table_t *by_key;    /* client key -> its newest peer */
    curvecp_heap_t *heap;       /* peers by when they next need a visit */
    peer_t **visiting;          /* the peers due in one service pass */
    size_t visiting_size;
    curvecp_zmq_server_info_t info;
    curvecp_ilist_t dirty;      /* peers that got input since the last answer */
    size_t max_peers, max_pending;
    size_t max_pending_memory;  /* budget for what unconfirmed connections may allocate */
    int rcvtimeo, sndtimeo;
    curvecp_zmq_allow_t *allow;
    curvecp_authorise_fn *authoriser;       /* a live allow-list, or NULL */
    void *authoriser_arg;
    curvecp_zmq_zap_t *zap;
    zlistx_t *authorising;      /* peers held for a ZAP reply, oldest first */
    size_t max_authorising;
    bool zap_wanted;            /* set by the authoriser for the Initiate in hand */
    curvecp_zmq_server_zap_stats_t zap_stats;
    uint64_t zap_malformed_before;      /* counted by ZAP sockets replaced since */
    char *names[CURVECP_HS_SERVER_NAMES_MAX];
    size_t name_count;
    /* the packet being handled, for the authoriser */
    const char *packet_address;
    const uint8_t *packet_routing;
    size_t packet_routing_len;
    /* the sender of the last message */
    uint8_t last_key[CURVECP_KEY_BYTES];
    char last_name[CURVECP_NAME_BYTES];
    uint8_t last_short_key[CURVECP_KEY_BYTES];  /* its C': reply looks it up by these bytes */
    bool have_last;
    char last_id[CURVECP_ZMQ_SERVER_PEER_ID_BYTES];  /* last_short_key in hex, made when asked for */
    auth_t *last_auth;
    curvecp_stats_t stats;
    uint64_t dropped;
    uint64_t bad_envelopes;
    uint8_t *out;               /* PACKET_CAP bytes for codec output */
    bool in_step;               /* the last message came from a wait that took
                                   its packet, with nothing else to answer */
    size_t send_queue_max;      /* queued-send mode's bound (0: off) */
    zlistx_t *backlog;          /* peers keeping messages for later */
    curvecp_zmq_loop_t loop;    /* attached to a zloop */
    curvecp_zmq_server_message_fn *on_message;
    void *on_message_arg;
};

/* ---- the pending budget ----------------------------------------------------
   A connection costs its codec's buffers from the first Initiate on (the
   client's greeting rides in it): the receive window and the send buffer
   (options.window each, 1 MiB by default) and the large-block buffer -
   over 2 MiB before the client has shown it can answer. Until it
   confirms, it is charged that much against max_pending_memory, and a
   new client that would overdraw it is refused [full] (its Initiate is
   resent and admitted once others confirm or expire), so unconfirmed
   connections never hold more than the budget whatever max_pending is. */

static size_t
pending_cost (const curvecp_zmq_server_t *self)
{
    return 2 * self->options.window + (self->options.block_max > 1024 ? CURVECP_LARGE_MSG_MAX : 0)
         + PENDING_BASE_COST;
}

/* The listener admits new connections: tell it the limits as they are now. */
static void
update_limits (curvecp_zmq_server_t *self)
{
    if (!self->listener)
        return;
    curvecp_listener_limits_t limits = {
        .max_connections = self->max_peers,
        .max_pending = self->max_pending,
        .max_pending_memory = self->max_pending_memory,
        .pending_charge = pending_cost (self),
        .max_held = self->zap ? self->max_authorising : CURVECP_LISTENER_NO_LIMIT
    };
    curvecp_listener_set_limits (self->listener, &limits);
}

/* info.pending_memory follows the listener's charge (callers may hold
   the info struct). */
static void
sync_pending (curvecp_zmq_server_t *self)
{
    self->info.pending_memory = curvecp_listener_info (self->listener)->pending_memory;
}

static bool
peer_confirmed (const peer_t *peer)
{
    return curvecp_listener_entry_confirmed (peer->entry);
}

static peer_t *
peer_lookup (curvecp_zmq_server_t *self, const uint8_t *short_key)
{
    curvecp_listener_entry_t *entry = curvecp_listener_lookup (self->listener, short_key);
    return entry ? (peer_t *) curvecp_listener_entry_conn (entry) : NULL;
}

/* ---- the timer heap ---------------------------------------------------------
   Every connection sits in a min-heap keyed by when it next needs a visit
   (its codec's deadline, its handshake or ZAP expiry, or 0 when it is to
   be dropped), and its key is updated after every call that may move it,
   so a call looks only at the connections that are due. A connection
   with nothing to wait for (deadline UINT64_MAX) is out of the heap. */

/* Room for one more connection in the heap, the key index and a service
   pass, made before the connection exists so that adding it cannot fail
   halfway. Returns false if out of memory. */
static bool
peers_reserve (curvecp_zmq_server_t *self)
{
    size_t want = curvecp_listener_size (self->listener) + 1;
    if (curvecp_heap_reserve (self->heap, want) != 0
    ||  curvecp_table_reserve (self->by_key, want) != CURVECP_OK)
        return false;
    if (self->visiting_size < want) {
        size_t size = self->visiting_size ? 2 * self->visiting_size : 64;
        while (size < want)
            size *= 2;
        peer_t **visiting = (peer_t **) realloc (self->visiting, size * sizeof (peer_t *));
        if (!visiting)
            return false;
        self->visiting = visiting;
        self->visiting_size = size;
    }
    return true;
}

/* The earliest peer due by now, taken out of the heap; NULL if none. */
static peer_t *
heap_take_due (curvecp_zmq_server_t *self, uint64_t now)
{
    curvecp_heap_node_t *node = curvecp_heap_take_due (self->heap, now);
    return node ? CURVECP_CONTAINER_OF (node, peer_t, timer) : NULL;
}

/* ---- the client key index -------------------------------------------------
   send_to_key wants the newest connection of a client key: each key maps
   to its newest connection, which links to the older ones. */

static void
key_index_add (curvecp_zmq_server_t *self, peer_t *peer)
{
    peer_t *newest = (peer_t *) curvecp_table_remove (self->by_key, peer->long_key);
    peer->key_older = newest;
    if (newest)
        newest->key_newer = peer;
    curvecp_table_insert (self->by_key, peer->long_key, peer);   /* reserved: cannot fail */
}

static void
key_index_remove (curvecp_zmq_server_t *self, peer_t *peer)
{
    if (peer->key_older)
        peer->key_older->key_newer = peer->key_newer;
    if (peer->key_newer)
        peer->key_newer->key_older = peer->key_older;
    else {
        curvecp_table_remove (self->by_key, peer->long_key);
        if (peer->key_older)            /* it takes the slot just freed: cannot fail */
            curvecp_table_insert (self->by_key, peer->key_older->long_key, peer->key_older);
    }
    peer->key_newer = peer->key_older = NULL;
}

static peer_t *
peer_new (curvecp_zmq_codec_t *codec)
{
    peer_t *peer = (peer_t *) calloc (1, sizeof (peer_t));
    if (!peer)
        return NULL;
    peer->codec = codec;
    memcpy (peer->short_key, curvecp_zmq_codec_client_short_key (codec), CURVECP_KEY_BYTES);
    memcpy (peer->long_key, curvecp_zmq_codec_peer_key (codec), CURVECP_KEY_BYTES);
    curvecp_heap_node_init (&peer->timer);
    curvecp_key_to_hex (peer->short_key, peer->id);
    return peer;
}

static auth_t *
auth_new (const char *user_id, zhash_t **metadata_p)
{
    auth_t *auth = (auth_t *) calloc (1, sizeof (auth_t));
    if (!auth)
        return NULL;
    auth->user_id = strdup (user_id ? user_id : "");
    if (!auth->user_id) {
        free (auth);
        return NULL;
    }
    auth->refs = 1;
    auth->metadata = *metadata_p;
    *metadata_p = NULL;
    return auth;
}

static auth_t *
auth_ref (auth_t *auth)
{
    if (auth)
        auth->refs++;
    return auth;
}

static void
auth_unref (auth_t **auth_p)
{
    auth_t *auth = *auth_p;
    if (auth && --auth->refs == 0) {
        free (auth->user_id);
        zhash_destroy (&auth->metadata);
        free (auth);
    }
    *auth_p = NULL;
}

static void drop_kept (curvecp_zmq_server_t *self, peer_t *peer);

static void
peer_remove (curvecp_zmq_server_t *self, peer_t *peer)
{
    drop_kept (self, peer);
    if (curvecp_ilist_linked (&peer->in_dirty))
        curvecp_ilist_remove (&self->dirty, &peer->in_dirty);
    if (curvecp_ilist_linked (&peer->in_ready))
        curvecp_ilist_remove (&self->ready, &peer->in_ready);
    if (curvecp_ilist_linked (&peer->in_unflushed))
        curvecp_ilist_remove (&self->unflushed, &peer->in_unflushed);
    curvecp_heap_remove (self->heap, &peer->timer);
    key_index_remove (self, peer);
    if (peer->authorising_handle)
        zlistx_delete (self->authorising, peer->authorising_handle);
    auth_unref (&peer->auth);
    curvecp_listener_remove (self->listener, &peer->entry);
    sync_pending (self);
    curvecp_zmq_codec_destroy (&peer->codec);
    free (peer);
}

/* ---- construction ------------------------------------------------------------ */

static const uint8_t zero_ext[CURVECP_EXT_BYTES] = { 0 };

/* A listener for our keys and this extension: Messages up to the large
   size (each codec applies its session's limit), routing ids as tokens. */
static curvecp_listener_t *
listener_new (curvecp_zmq_server_t *self, const uint8_t server_ext[CURVECP_EXT_BYTES])
{
    curvecp_listener_config_t config;
    curvecp_listener_config_default (&config);
    config.keys = &self->keys;
    memcpy (config.ext, server_ext, CURVECP_EXT_BYTES);
    config.message_max = CURVECP_LARGE_MSG_MAX;
    config.token_max = ROUTING_MAX;
    config.now = curvecp_clock_now ();
    curvecp_listener_t *listener = curvecp_listener_new (&config);
    for (size_t i = 0; listener && i < self->name_count; i++)
        if (curvecp_listener_add_name (listener, self->names[i]) < 0)
            curvecp_listener_destroy (&listener);
    return listener;
}

curvecp_zmq_server_t *
curvecp_zmq_server_new (const curvecp_keypair_t *keys, const char *name)
{
    if (!keys || !name)
        return NULL;
    if (sodium_init () < 0)
        return NULL;
    curvecp_zmq_server_t *self = (curvecp_zmq_server_t *) calloc (1, sizeof (curvecp_zmq_server_t));
    if (!self)
        return NULL;
    self->keys = *keys;
    curvecp_zmq_codec_options_default (&self->options);
    self->max_peers = 10000;
    self->max_pending = 1024;
    self->max_pending_memory = PENDING_MEMORY_MAX;
    self->max_authorising = 256;
    self->rcvtimeo = -1;
    self->sndtimeo = 0;         /* a send never waits for one client: see send_to_peer */
    self->listener = listener_new (self, zero_ext);
    curvecp_ilist_init (&self->dirty);
    curvecp_ilist_init (&self->ready);
    curvecp_ilist_init (&self->unflushed);
    self->by_key = curvecp_table_new (CURVECP_KEY_BYTES, NULL);
    self->heap = curvecp_heap_new ();
    self->authorising = zlistx_new ();
    self->backlog = zlistx_new ();
    self->loop.timer_id = -1;
    self->router = zsock_new (ZMQ_ROUTER);
    self->out = (uint8_t *) malloc (PACKET_CAP);
    if (!self->listener || !self->by_key || !self->heap
    ||  !self->authorising || !self->backlog
    ||  !self->router || !self->out
    ||  curvecp_zmq_server_add_name (self, name) != 0) {
        curvecp_zmq_server_destroy (&self);
        return NULL;
    }
    update_limits (self);
    zsock_set_linger (self->router, 0);
    /* report (and count) drops at the high-water mark instead of hiding them */
    zsock_set_router_mandatory (self->router, 1);
    self->handle = zsock_resolve (self->router);
    return self;
}

curvecp_zmq_server_t *
curvecp_zmq_server_new_zcert (zcert_t *cert, const char *name)
{
    curvecp_keypair_t keys;
    curvecp_zmq_server_t *self = curvecp_zmq_keys_from_zcert (cert, &keys) ? curvecp_zmq_server_new (&keys, name) : NULL;
    sodium_memzero (&keys, sizeof keys);
    return self;
}

void
curvecp_zmq_server_destroy (curvecp_zmq_server_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_zmq_server_t *self = *self_p;
        curvecp_zmq_server_detach (self);
        curvecp_listener_entry_t *entry;
        while (self->listener && (entry = curvecp_listener_first (self->listener)) != NULL)
            peer_remove (self, (peer_t *) curvecp_listener_entry_conn (entry));
        zlistx_destroy (&self->backlog);
        curvecp_table_destroy (&self->by_key);
        curvecp_heap_destroy (&self->heap);
        free (self->visiting);
        zlistx_destroy (&self->authorising);
        auth_unref (&self->last_auth);
        free (self->out);
        zsock_destroy (&self->router);
        curvecp_listener_destroy (&self->listener);
        curvecp_zmq_allow_destroy (&self->allow);
        curvecp_zmq_zap_destroy (&self->zap);
        for (size_t i = 0; i < self->name_count; i++)
            free (self->names[i]);
        sodium_memzero (self, sizeof *self);
        free (self);
        *self_p = NULL;
    }
}

int
curvecp_zmq_server_add_name (curvecp_zmq_server_t *self, const char *name)
{
    if (self->name_count == CURVECP_HS_SERVER_NAMES_MAX
    ||  curvecp_listener_add_name (self->listener, name) < 0)
        return -1;
    self->names[self->name_count] = strdup (name);
    return self->names[self->name_count++] ? 0 : -1;
}

int
curvecp_zmq_server_set_extension (curvecp_zmq_server_t *self, const uint8_t server_ext[CURVECP_EXT_BYTES])
{
    /* extensions are fixed when a listener is made: make a new one with
       the same names, only before any connection (codecs share its
       handshake object) */
    if (curvecp_listener_size (self->listener) > 0)
        return -1;
    curvecp_listener_t *listener = listener_new (self, server_ext ? server_ext : zero_ext);
    if (!listener)
        return -1;
    curvecp_listener_destroy (&self->listener);
    self->listener = listener;
    update_limits (self);
    return 0;
}

void
curvecp_zmq_server_set_options (curvecp_zmq_server_t *self, const curvecp_zmq_codec_options_t *options)
{
    if (options)
        self->options = *options;
    else
        curvecp_zmq_codec_options_default (&self->options);
    update_limits (self);
}

void
curvecp_zmq_server_set_max_peers (curvecp_zmq_server_t *self, size_t max_peers)
{
    self->max_peers = max_peers;
    update_limits (self);
}

void
curvecp_zmq_server_set_max_pending (curvecp_zmq_server_t *self, size_t max_pending)
{
    self->max_pending = max_pending;
    update_limits (self);
}

void
curvecp_zmq_server_set_max_pending_memory (curvecp_zmq_server_t *self, size_t bytes)
{
    self->max_pending_memory = bytes;
    update_limits (self);
}

void
curvecp_zmq_server_set_max_authorising (curvecp_zmq_server_t *self, size_t max_authorising)
{
    self->max_authorising = max_authorising;
    update_limits (self);
}

void
curvecp_zmq_server_set_rcvtimeo (curvecp_zmq_server_t *self, int msecs)
{
    self->rcvtimeo = msecs;
}

void
curvecp_zmq_server_set_sndtimeo (curvecp_zmq_server_t *self, int msecs)
{
    self->sndtimeo = msecs;
}

int
curvecp_zmq_server_allow_directory (curvecp_zmq_server_t *self, const char *directory)
{
    curvecp_zmq_allow_destroy (&self->allow);
    if (!directory)
        return 0;
    self->allow = curvecp_zmq_allow_new (directory);
    return self->allow ? 0 : -1;
}

void
curvecp_zmq_server_set_authoriser (curvecp_zmq_server_t *self, curvecp_authorise_fn *fn, void *arg)
{
    self->authoriser = fn;
    self->authoriser_arg = arg;
}

curvecp_zmq_allow_t *
curvecp_zmq_server_allow_list (curvecp_zmq_server_t *self)
{
    return self->allow;
}

static void refuse (curvecp_zmq_server_t *self, peer_t *peer);

int
curvecp_zmq_server_set_zap (curvecp_zmq_server_t *self, const char *domain, const char *mechanism, int timeout_ms)
{
    /* replies to the old socket's requests can no longer arrive */
    peer_t *peer;
    while ((peer = (peer_t *) zlistx_first (self->authorising)) != NULL)
        refuse (self, peer);
    if (self->zap)
        self->zap_malformed_before += curvecp_zmq_zap_malformed (self->zap);
    curvecp_zmq_zap_destroy (&self->zap);
    if (domain)
        self->zap = curvecp_zmq_zap_new (domain, mechanism, timeout_ms);
    update_limits (self);
    return !domain || self->zap ? 0 : -1;
}

int
curvecp_zmq_server_bind (curvecp_zmq_server_t *self, const char *endpoint)
{
    return zsock_bind (self->router, "%s", endpoint);
}

/* ---- authorisation ---------------------------------------------------------- */

static bool
authorize (void *arg, const uint8_t client_key[CURVECP_KEY_BYTES], const char *server_name)
{
    (void) server_name;
    curvecp_zmq_server_t *self = (curvecp_zmq_server_t *) arg;
    if (self->allow && !curvecp_zmq_allow_check (self->allow, client_key))
        return false;
    if (self->authoriser && !self->authoriser (self->authoriser_arg, client_key))
        return false;
    self->zap_wanted = self->zap != NULL;       /* asked once the connection exists */
    return true;
}

/* Drop a connection the ZAP handler did not allow. */
static void
refuse (curvecp_zmq_server_t *self, peer_t *peer)
{
    curvecp_stats_count (&self->stats, CURVECP_E_NOT_AUTHORISED);
    curvecp_listener_refuse (self->listener, CURVECP_E_NOT_AUTHORISED);
    peer_remove (self, peer);
}

/* Send the ZAP request for a new connection and hold it; false if the
   request could not be sent. */
static bool
start_authorising (curvecp_zmq_server_t *self, peer_t *peer, uint64_t now)
{
    uint64_t id = curvecp_zmq_zap_request (self->zap, self->packet_address, self->packet_routing,
                                           self->packet_routing_len, curvecp_zmq_codec_peer_key (peer->codec));
    if (id == 0) {
        self->zap_stats.unsent++;
        return false;
    }
    int timeout_ms = curvecp_zmq_zap_timeout (self->zap);
    peer->authorising = true;
    peer->zap_request = id;
    peer->zap_deadline = timeout_ms >= 0 ? now + (uint64_t) timeout_ms * 1000000ull
                                         : now + self->options.handshake_timeout_ns;
    peer->authorising_handle = zlistx_add_end (self->authorising, peer);
    curvecp_listener_hold (self->listener, peer->entry);
    return peer->authorising_handle != NULL;
}

static peer_t *
authorising_peer (curvecp_zmq_server_t *self, uint64_t request)
{
    for (peer_t *peer = (peer_t *) zlistx_first (self->authorising); peer;
         peer = (peer_t *) zlistx_next (self->authorising))
        if (peer->zap_request == request)
            return peer;
    return NULL;
}

static void mark_dirty (curvecp_zmq_server_t *self, peer_t *peer);
static void peer_schedule (curvecp_zmq_server_t *self, peer_t *peer);

/* Take every waiting ZAP reply: release or drop the connection it is for. */
static void
drain_zap (curvecp_zmq_server_t *self)
{
    uint64_t request;
    while (self->zap && (request = curvecp_zmq_zap_recv (self->zap)) != 0) {
        peer_t *peer = authorising_peer (self, request);
        if (!peer) {
            self->zap_stats.late++;             /* its connection timed out or went */
            continue;
        }
        zhash_t *metadata = curvecp_zmq_zap_take_metadata (self->zap);
        if (curvecp_zmq_zap_allowed (self->zap)
        &&  (peer->auth = auth_new (curvecp_zmq_zap_user_id (self->zap), &metadata)) != NULL) {
            self->zap_stats.allowed++;
            zlistx_delete (self->authorising, peer->authorising_handle);
            peer->authorising_handle = NULL;
            peer->authorising = false;
            curvecp_listener_release (self->listener, peer->entry);
            peer_schedule (self, peer);
            mark_dirty (self, peer);            /* its greeting, acks and messages go now */
        }
        else {
            self->zap_stats.denied++;
            refuse (self, peer);
        }
        zhash_destroy (&metadata);
    }
}

/* ---- packets in and out -------------------------------------------------------- */

static void
send_packet (curvecp_zmq_server_t *self, const uint8_t *routing, size_t routing_len,
             const uint8_t *packet, size_t len)
{
    if (zmq_send (self->handle, routing, routing_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
    ||  zmq_send (self->handle, packet, len, ZMQ_DONTWAIT) < 0)
        self->dropped++;            /* ROUTER at its high-water mark: resent later */
}

/* The codec's output in self->out, to the client at routing: a large
   packet leaves without a copy (curvecp_zmq_send_output). */
static void
send_output (curvecp_zmq_server_t *self, const uint8_t *routing, size_t routing_len, size_t len)
{
    if (zmq_send (self->handle, routing, routing_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
    ||  curvecp_zmq_send_output (self->handle, &self->out, len, PACKET_CAP, ZMQ_DONTWAIT) < 0)
        self->dropped++;            /* ROUTER at its high-water mark: resent later */
}

/* Read out its messages, the client ended its stream: nothing more to do. */
static bool
peer_finished (peer_t *peer)
{
    return !curvecp_ilist_linked (&peer->in_ready) && curvecp_zmq_codec_peer_closed (peer->codec);
}

/* When the connection next needs a visit: 0 if it is to be dropped. */
static uint64_t
peer_due (peer_t *peer)
{
    if (peer->authorising)
        return peer->zap_deadline;      /* no timers run until the handler answers */
    if (curvecp_zmq_codec_state (peer->codec) == CURVECP_ZMQ_CODEC_FAILED || peer_finished (peer))
        return 0;
    return curvecp_zmq_codec_deadline (peer->codec);
}

/* After any call into its codec: put the connection where it now belongs
   in the timer heap. */
static void
peer_schedule (curvecp_zmq_server_t *self, peer_t *peer)
{
    curvecp_heap_set (self->heap, &peer->timer, peer_due (peer));   /* reserved: cannot fail */
}

static void
peer_output (curvecp_zmq_server_t *self, peer_t *peer, uint64_t now)
{
    size_t len, routing_len;
    const uint8_t *routing = curvecp_listener_entry_token (peer->entry, &routing_len);
    self->info.visits++;
    while ((len = curvecp_zmq_codec_output (peer->codec, now, self->out, PACKET_CAP)) > 0)
        send_output (self, routing, routing_len, len);
    peer_schedule (self, peer);
}

static void answer_input (curvecp_zmq_server_t *self, peer_t *peer, uint64_t now);

/* Answer it at the end of this round (answer_dirty); a peer removed
   before then leaves the list with it. */
static void
mark_dirty (curvecp_zmq_server_t *self, peer_t *peer)
{
    if (!curvecp_ilist_linked (&peer->in_dirty))
        curvecp_ilist_push (&self->dirty, &peer->in_dirty);
}

/* The allow-list decides at once; ZAP (asked once the connection exists)
   later. */
static bool
authorised (curvecp_zmq_server_t *self, const curvecp_listener_accepted_t *accepted)
{
    const char *name = accepted->name_index >= 0 && (size_t) accepted->name_index < self->name_count
                     ? self->names[accepted->name_index] : "";
    self->zap_wanted = false;
    return authorize (self, accepted->client_key, name);
}

/* A verified Initiate: its codec, made from the session, and its peer. */
static peer_t *
make_peer (curvecp_zmq_server_t *self, const curvecp_listener_accepted_t *accepted, uint64_t now)
{
    curvecp_zmq_codec_t *codec = peers_reserve (self)
        ? curvecp_zmq_codec_new_accepted (&accepted->session, accepted->message, accepted->message_len,
                                      &self->options, now)
        : NULL;
    peer_t *peer = codec ? peer_new (codec) : NULL;
    if (!peer)
        curvecp_zmq_codec_destroy (&codec);
    return peer;
}

static curvecp_reason_t
new_connection (curvecp_zmq_server_t *self, const uint8_t *packet, size_t len, uint64_t now)
{
    const curvecp_listener_info_t *info = curvecp_listener_info (self->listener);
    uint64_t held_full = info->full_held, memory_full = info->full_memory;
    curvecp_listener_accepted_t accepted;
    curvecp_reason_t reason = curvecp_listener_accept (self->listener, packet, len, now, &accepted);
    self->zap_stats.full += info->full_held - held_full;
    self->info.pending_memory_full += info->full_memory - memory_full;
    if (reason != CURVECP_OK)
        return reason;
    if (!authorised (self, &accepted)) {
        curvecp_listener_abandon (self->listener, &accepted, CURVECP_E_NOT_AUTHORISED);
        return CURVECP_E_NOT_AUTHORISED;
    }
    peer_t *peer = make_peer (self, &accepted, now);
    if (!peer) {
        curvecp_listener_abandon (self->listener, &accepted, CURVECP_E_IO);
        return CURVECP_E_IO;
    }
    peer->entry = curvecp_listener_add (self->listener, &accepted, peer, self->packet_routing,
                                        self->packet_routing_len);
    if (!peer->entry) {                         /* counted [io] by the listener */
        curvecp_zmq_codec_destroy (&peer->codec);
        free (peer);
        return CURVECP_E_IO;
    }
    key_index_add (self, peer);
    sync_pending (self);
    if (self->zap_wanted) {
        self->zap_wanted = false;
        if (!start_authorising (self, peer, now)) {
            peer_remove (self, peer);
            curvecp_listener_refuse (self->listener, CURVECP_E_NOT_AUTHORISED);
            return CURVECP_E_NOT_AUTHORISED;
        }
        self->zap_stats.requests++;
        peer_schedule (self, peer);
        return reason;                          /* held: nothing out, nothing delivered */
    }
    peer_schedule (self, peer);
    mark_dirty (self, peer);
    return reason;
}

static curvecp_reason_t
existing_connection (curvecp_zmq_server_t *self, peer_t *peer, curvecp_packet_type_t type,
                     const uint8_t *packet, size_t len, uint64_t now)
{
    if (peer->authorising) {
        /* a client nobody has allowed yet may not fill a whole window */
        if (len > HELD_BYTES_MAX - peer->held_bytes) {
            self->zap_stats.held_dropped++;
            return CURVECP_E_WRONG_STATE;
        }
        peer->held_bytes += len;
    }
    curvecp_reason_t reason = curvecp_zmq_codec_execute (peer->codec, packet, len, now);
    if (reason != CURVECP_OK) {
        peer_schedule (self, peer);
        return reason;
    }
    /* only an authentic packet may move the connection to another routing id */
    size_t routing_len;
    const uint8_t *routing = curvecp_listener_entry_token (peer->entry, &routing_len);
    if (self->packet_routing_len != routing_len || memcmp (self->packet_routing, routing, routing_len) != 0)
        curvecp_listener_entry_set_token (peer->entry, self->packet_routing,
                self->packet_routing_len < ROUTING_MAX ? self->packet_routing_len : ROUTING_MAX);
    if (type == CURVECP_PACKET_CLIENT_MESSAGE && !peer_confirmed (peer)) {
        curvecp_listener_confirm (self->listener, peer->entry);
        sync_pending (self);
    }
    peer_schedule (self, peer);
    if (!peer->authorising)
        mark_dirty (self, peer);
    return reason;
}

/* A packet's fate; QUEUED for a Hello (counted once answered or dropped). */
static curvecp_reason_t
dispatch (curvecp_zmq_server_t *self, const uint8_t *packet, size_t len, uint64_t now)
{
    curvecp_listener_result_t result;
    switch (curvecp_listener_input (self->listener, packet, len, self->packet_routing,
                                    self->packet_routing_len, &result)) {
        case CURVECP_LISTENER_HELLO_QUEUED:
            return QUEUED;
        case CURVECP_LISTENER_CONNECTION: {
            curvecp_reason_t reason = existing_connection (self, (peer_t *) result.conn, result.type,
                                                           packet, len, now);
            curvecp_listener_count (self->listener, reason);
            return reason;
        }
        case CURVECP_LISTENER_NEW_INITIATE:
            return new_connection (self, packet, len, now);
        default:
            return result.reason;
    }
}

/* Take one [routing id][packet] message; false when none is waiting. A
   message of any other shape is dropped whole and counted: a packet is
   exactly one frame, and no frame of a malformed envelope is trusted. */
static bool
take_packet (curvecp_zmq_server_t *self, zmq_msg_t *routing, zmq_msg_t *packet, uint64_t now, int flags)
{
    if (zmq_msg_recv (routing, self->handle, flags) < 0)
        return false;
    if (!zmq_msg_more (routing) || zmq_msg_recv (packet, self->handle, ZMQ_DONTWAIT) < 0) {
        curvecp_stats_count (&self->stats, CURVECP_E_TOO_SHORT);     /* no packet frame */
        self->bad_envelopes++;
        return true;
    }
    if (zmq_msg_more (packet)) {
        curvecp_zmq_skip_rest (self->handle);
        curvecp_stats_count (&self->stats, CURVECP_E_TOO_LONG);      /* more than one packet frame */
        self->bad_envelopes++;
        return true;
    }
    self->packet_routing = (const uint8_t *) zmq_msg_data (routing);
    self->packet_routing_len = zmq_msg_size (routing);
    self->packet_address = zmq_msg_gets (packet, "Peer-Address");
    curvecp_reason_t reason = dispatch (self, (const uint8_t *) zmq_msg_data (packet), zmq_msg_size (packet), now);
    curvecp_stats_count (&self->stats, reason);
    self->packet_routing = NULL;
    self->packet_address = NULL;
    return true;
}

/* A connection with input this round: whole messages wait on the ready
   list (its acknowledgments go with the application's reply), the others
   answer at once. */
static void
answer_input (curvecp_zmq_server_t *self, peer_t *peer, uint64_t now)
{
    self->info.visits++;
    if (curvecp_zmq_codec_readable (peer->codec)) {
        if (!curvecp_ilist_linked (&peer->in_ready))
            curvecp_ilist_push (&self->ready, &peer->in_ready);
        peer_schedule (self, peer);
    }
    else
        peer_output (self, peer, now);
}

static void answer_dirty (curvecp_zmq_server_t *self, uint64_t now);

/* Take what is waiting (bounded), then answer the connections that had
   input. */
static void
take_waiting (curvecp_zmq_server_t *self, uint64_t now)
{
    zmq_msg_t routing, packet;
    zmq_msg_init (&routing);
    zmq_msg_init (&packet);
    for (int i = 0; i < DRAIN_MAX && take_packet (self, &routing, &packet, now, ZMQ_DONTWAIT); i++)
        ;
    zmq_msg_close (&routing);
    zmq_msg_close (&packet);
    drain_zap (self);
    answer_dirty (self, now);
}

/* The listener's queued Hellos, each at a fresh clock reading, until it
   says stop (none left, its budget for this call spent, or its rate),
   taking what waits on the socket again every few: a Hello flood costs
   connections a bounded delay, never their turn. */
static void
answer_hellos (curvecp_zmq_server_t *self)
{
    uint8_t cookie[CURVECP_COOKIE_BYTES];
    uint8_t routing[ROUTING_MAX];
    size_t routing_len;
    int answered = 0;
    curvecp_listener_cookie_t done;
    curvecp_reason_t reason;
    if (curvecp_listener_deadline (self->listener) == UINT64_MAX)
        return;                                 /* none waiting: no clock read */
    uint64_t now = curvecp_clock_now ();
    while ((done = curvecp_listener_next_cookie (self->listener, now, cookie, routing, &routing_len, &reason))
           != CURVECP_LISTENER_NO_COOKIE) {
        if (done == CURVECP_LISTENER_COOKIE)
            send_packet (self, routing, routing_len, cookie, sizeof cookie);
        curvecp_stats_count (&self->stats, reason);
        now = curvecp_clock_now ();
        if (++answered % HELLOS_PER_READ == 0)
            take_waiting (self, now);
    }
}

/* One round: what is waiting, then Hellos within the listener's budget. */
static void send_kept (curvecp_zmq_server_t *self, uint64_t now);

static void
drain_input (curvecp_zmq_server_t *self, uint64_t now)
{
    curvecp_listener_begin (self->listener, now);
    take_waiting (self, now);
    answer_hellos (self);
    send_kept (self, now);
}

/* Answer the connections that had input since the last answer. */
static void
answer_dirty (curvecp_zmq_server_t *self, uint64_t now)
{
    curvecp_ilist_node_t *node;
    while ((node = curvecp_ilist_first (&self->dirty)) != NULL) {
        curvecp_ilist_remove (&self->dirty, node);
        answer_input (self, CURVECP_CONTAINER_OF (node, peer_t, in_dirty), now);
    }
}

/* Put what was sent since the last flush into the streams, and send it. */
static void
flush_unflushed (curvecp_zmq_server_t *self, uint64_t now)
{
    curvecp_ilist_node_t *node;
    while ((node = curvecp_ilist_first (&self->unflushed)) != NULL) {
        peer_t *peer = CURVECP_CONTAINER_OF (node, peer_t, in_unflushed);
        curvecp_ilist_remove (&self->unflushed, node);
        curvecp_zmq_codec_flush (peer->codec);
        peer_output (self, peer, now);
    }
}

/* One visit to a connection that is due: run its timers, or drop it. */
static void
visit_due (curvecp_zmq_server_t *self, peer_t *peer, uint64_t now)
{
    if (peer->authorising) {
        self->info.visits++;
        self->zap_stats.timed_out++;    /* due only at its ZAP deadline */
        refuse (self, peer);
        return;
    }
    peer_output (self, peer, now);
    if (peer->timer.deadline == 0)       /* failed (an unconfirmed one at its handshake timeout) or done */
        peer_remove (self, peer);
}

/* The connections due by now, each visited once (a connection still due
   after its visit waits for the next call); returns the earliest
   deadline left. Costs O(due log n), not O(n). */
static uint64_t
service_due (curvecp_zmq_server_t *self, uint64_t now)
{
    self->info.calls++;
    size_t count = 0;
    peer_t *peer;
    while ((peer = heap_take_due (self, now)) != NULL)
        self->visiting[count++] = peer;         /* visiting_size >= every connection */
    for (size_t i = 0; i < count; i++)
        visit_due (self, self->visiting[i], now);
    return curvecp_heap_deadline (self->heap);
}

/* Connections due, then the earliest of their deadlines and the
   listener's (Hellos waiting: at once, or when its rate allows). */
static uint64_t
next_deadline (curvecp_zmq_server_t *self, uint64_t now)
{
    uint64_t due = service_due (self, now);
    uint64_t hellos = curvecp_listener_deadline (self->listener);
    return hellos < due ? hellos : due;
}

/* ---- messages ---------------------------------------------------------------------- */

/* Wait up to timeout_ms for a packet or a ZAP reply; true when it took a
   packet (its connection is answered by answer_dirty). Without ZAP, a
   receive with a timeout takes the first packet (libzmq's cheapest wait:
   one poll on the socket's mailbox; zmq_poll asks ZMQ_EVENTS before and
   after polling, each another trip through it); the caller's next drain
   answers the connection it was for. */
static bool
wait_input (curvecp_zmq_server_t *self, int timeout_ms)
{
    if (!self->zap) {
        zmq_setsockopt (self->handle, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
        zmq_msg_t routing, packet;
        zmq_msg_init (&routing);
        zmq_msg_init (&packet);
        bool took = take_packet (self, &routing, &packet, curvecp_clock_now (), 0);
        zmq_msg_close (&routing);
        zmq_msg_close (&packet);
        return took;
    }
    zmq_pollitem_t items[2] = {
        { self->handle, 0, ZMQ_POLLIN, 0 },
        { self->zap ? zsock_resolve (curvecp_zmq_zap_sock (self->zap)) : NULL, 0, ZMQ_POLLIN, 0 }
    };
    zmq_poll (items, self->zap ? 2 : 1, timeout_ms);
    return false;
}

/* A whole message from a connection on the ready list. The clock is read
   only when a connection's acknowledgments go out (not per message). */
static zmsg_t *
take_ready (curvecp_zmq_server_t *self)
{
    curvecp_ilist_node_t *node;
    while ((node = curvecp_ilist_first (&self->ready)) != NULL) {
        peer_t *peer = CURVECP_CONTAINER_OF (node, peer_t, in_ready);
        zmsg_t *msg = curvecp_zmq_codec_recv (peer->codec);
        if (msg) {
            memcpy (self->last_key, curvecp_zmq_codec_peer_key (peer->codec), CURVECP_KEY_BYTES);
            /* per message: a plain copy, not snprintf (a measurable share of small-message time) */
            const char *name = curvecp_zmq_codec_server_name (peer->codec);
            size_t name_len = strnlen (name, sizeof self->last_name - 1);
            memcpy (self->last_name, name, name_len);
            self->last_name[name_len] = 0;
            memcpy (self->last_short_key, peer->short_key, sizeof self->last_short_key);
            self->have_last = true;
            auth_unref (&self->last_auth);
            self->last_auth = auth_ref (peer->auth);
            if (curvecp_ilist_size (&self->ready) > 1)
                curvecp_ilist_move_end (&self->ready, node);
            peer_schedule (self, peer);         /* reading may owe a window update */
            return msg;
        }
        curvecp_ilist_remove (&self->ready, node);
        peer_output (self, peer, curvecp_clock_now ());   /* the acknowledgments held back */
    }
    return NULL;
}

zmsg_t *
curvecp_zmq_server_recv_nowait (curvecp_zmq_server_t *self)
{
    return take_ready (self);
}

zmsg_t *
curvecp_zmq_server_recv (curvecp_zmq_server_t *self)
{
    zmsg_t *msg = take_ready (self);
    if (msg)
        return msg;
    uint64_t start = curvecp_clock_now ();
    uint64_t until = self->rcvtimeo < 0 ? UINT64_MAX : start + (uint64_t) self->rcvtimeo * 1000000ull;
    /* in step with a request-reply rhythm (the last message came alone
       from a wait, no Hello or kept message pending), the first pass goes
       straight to the wait, as libzmq's own blocking receive does: a
       receive that finds a packet waiting costs no system call, one that
       finds none costs a poll of the socket's mailbox. Out of step (a
       flood, a burst, a backlog), every call starts with a full drain. */
    bool took = self->in_step && zlistx_size (self->backlog) == 0
             && curvecp_listener_deadline (self->listener) == UINT64_MAX;
    self->in_step = false;
    for (uint64_t now = start;; now = curvecp_clock_now ()) {
        /* after a wait that took a packet, answer it before draining more:
           a request alone (the usual case) costs no receive that fails */
        if (took) {
            curvecp_listener_begin (self->listener, now);
            answer_dirty (self, now);
            answer_hellos (self);
        }
        else
            drain_input (self, now);
        msg = take_ready (self);
        if (msg) {
            self->in_step = took && curvecp_ilist_size (&self->ready) <= 1;   /* only its own connection */
            return msg;
        }
        flush_unflushed (self, now);
        uint64_t deadline = next_deadline (self, now);
        if (now >= until) {
            errno = EAGAIN;
            return NULL;
        }
        if (until < deadline)
            deadline = until;
        /* about to wait: the next Cookie's key pair costs nothing now */
        curvecp_listener_prepare (self->listener);
        took = wait_input (self, curvecp_zmq_timeout_ms (deadline, now, -1));
    }
}

const uint8_t *
curvecp_zmq_server_peer_key (curvecp_zmq_server_t *self)
{
    return self->last_key;
}

const char *
curvecp_zmq_server_peer_name (curvecp_zmq_server_t *self)
{
    return self->last_name;
}

const char *
curvecp_zmq_server_peer_id (curvecp_zmq_server_t *self)
{
    if (self->have_last)
        curvecp_key_to_hex (self->last_short_key, self->last_id);
    return self->last_id;
}

/* The connection with C' short_key that the application may address:
   none while it waits for its authoriser. */
static peer_t *
peer_to_address (curvecp_zmq_server_t *self, const uint8_t *short_key)
{
    peer_t *peer = peer_lookup (self, short_key);
    return peer && !peer->authorising ? peer : NULL;
}

static peer_t *
peer_by_id (curvecp_zmq_server_t *self, const char *peer_id)
{
    uint8_t key[CURVECP_KEY_BYTES];
    if (!peer_id || curvecp_key_from_hex (peer_id, key) != CURVECP_OK)
        return NULL;
    return peer_to_address (self, key);
}

/* Queue msg for peer. When its queue is full: take input and run timers
   once (acknowledgments waiting may make room), then wait only while
   sndtimeo allows - by default not at all, so one client that stops
   acknowledging never holds up the others (its sends fail with EAGAIN
   until it catches up). While a send waits, every other connection's
   input and timers are still served. */
static int keep (curvecp_zmq_server_t *self, peer_t *peer, zmsg_t **msg_p);
static void sent (curvecp_zmq_server_t *self, peer_t *peer);

static int
send_to_peer (curvecp_zmq_server_t *self, peer_t *peer, zmsg_t **msg_p)
{
    if (!peer) {
        errno = EHOSTUNREACH;
        return -1;
    }
    if (self->send_queue_max && (peer->kept || !curvecp_zmq_codec_writable (peer->codec))
    &&  curvecp_zmq_codec_state (peer->codec) != CURVECP_ZMQ_CODEC_FAILED)
        return keep (self, peer, msg_p);
    uint8_t short_key[CURVECP_KEY_BYTES];
    memcpy (short_key, peer->short_key, sizeof short_key);
    uint64_t until = self->sndtimeo < 0 ? UINT64_MAX : curvecp_clock_now () + (uint64_t) self->sndtimeo * 1000000ull;
    bool pumped = false;
    while (curvecp_zmq_codec_send (peer->codec, msg_p) != 0) {
        if (!msg_p || !*msg_p || zmsg_size (*msg_p) == 0) {
            errno = EINVAL;
            return -1;
        }
        if (curvecp_zmq_codec_state (peer->codec) == CURVECP_ZMQ_CODEC_FAILED) {
            errno = EHOSTUNREACH;
            return -1;
        }
        uint64_t now = curvecp_clock_now ();
        if (pumped && now >= until) {
            self->info.send_full++;
            errno = EAGAIN;
            return -1;
        }
        drain_input (self, now);
        peer_output (self, peer, now);
        uint64_t others = service_due (self, now);
        pumped = true;
        /* the connection may have gone meanwhile */
        if (peer_lookup (self, short_key) != peer) {
            errno = EHOSTUNREACH;
            return -1;
        }
        if (now < until && !curvecp_zmq_codec_writable (peer->codec)) {
            uint64_t deadline = curvecp_zmq_codec_deadline (peer->codec);
            if (others < deadline)
                deadline = others;
            wait_input (self, curvecp_zmq_timeout_ms (deadline < until ? deadline : until, now, -1));
        }
    }
    sent (self, peer);
    return 0;
}

/* A message went into peer's codec: flush it with the others, or at once. */
static void
sent (curvecp_zmq_server_t *self, peer_t *peer)
{
    if (!curvecp_ilist_linked (&peer->in_unflushed))
        curvecp_ilist_push (&self->unflushed, &peer->in_unflushed);
    if (curvecp_zmq_codec_ready_to_write (peer->codec) && !curvecp_ilist_linked (&peer->in_ready))
        peer_output (self, peer, curvecp_clock_now ());
    else
        peer_schedule (self, peer);
}

/* ---- queued-send mode -----------------------------------------------------------
   Messages that do not fit a client's queue wait in a list of their own
   per connection (only connections that keep something are on the
   backlog list), so the usual send that fits costs nothing more. */

static int
keep (curvecp_zmq_server_t *self, peer_t *peer, zmsg_t **msg_p)
{
    if (!msg_p || !*msg_p || zmsg_size (*msg_p) == 0) {
        errno = EINVAL;
        return -1;
    }
    size_t bytes = zmsg_content_size (*msg_p);
    if (self->info.send_kept_bytes + bytes > self->send_queue_max) {
        self->info.send_refused++;
        errno = ENOBUFS;
        return -1;
    }
    if (!peer->kept && !(peer->kept = zlist_new ())) {
        errno = ENOMEM;
        return -1;
    }
    if (zlist_append (peer->kept, *msg_p) != 0) {
        errno = ENOMEM;
        return -1;
    }
    *msg_p = NULL;
    self->info.send_kept++;
    self->info.send_kept_bytes += bytes;
    if (!peer->backlog_handle)
        peer->backlog_handle = zlistx_add_end (self->backlog, peer);
    return 0;
}

/* Free peer's list once it is empty (off the backlog). */
static void
kept_done (curvecp_zmq_server_t *self, peer_t *peer)
{
    if (peer->backlog_handle)
        zlistx_delete (self->backlog, peer->backlog_handle);
    peer->backlog_handle = NULL;
    zlist_destroy (&peer->kept);
}

static void
drop_kept (curvecp_zmq_server_t *self, peer_t *peer)
{
    zmsg_t *msg;
    while (peer->kept && (msg = (zmsg_t *) zlist_pop (peer->kept)) != NULL) {
        self->info.send_kept--;
        self->info.send_kept_bytes -= zmsg_content_size (msg);
        self->info.send_dropped++;
        zmsg_destroy (&msg);
    }
    kept_done (self, peer);
}

/* Every connection's kept messages, oldest first, as far as they fit. */
static void
send_kept (curvecp_zmq_server_t *self, uint64_t now)
{
    (void) now;
    peer_t *peer = (peer_t *) zlistx_first (self->backlog);
    while (peer) {
        peer_t *next = (peer_t *) zlistx_next (self->backlog);
        zmsg_t *msg;
        bool moved = false;
        while ((msg = (zmsg_t *) zlist_first (peer->kept)) != NULL && curvecp_zmq_codec_writable (peer->codec)) {
            size_t bytes = zmsg_content_size (msg);
            if (curvecp_zmq_codec_send (peer->codec, &msg) != 0)
                break;
            zlist_pop (peer->kept);
            self->info.send_kept--;
            self->info.send_kept_bytes -= bytes;
            moved = true;
        }
        if (zlist_size (peer->kept) == 0)
            kept_done (self, peer);
        if (moved)
            sent (self, peer);
        peer = next;
    }
}

void
curvecp_zmq_server_set_send_queue (curvecp_zmq_server_t *self, size_t max_bytes)
{
    self->send_queue_max = max_bytes;
}

int
curvecp_zmq_server_send (curvecp_zmq_server_t *self, const char *peer_id, zmsg_t **msg_p)
{
    return send_to_peer (self, peer_by_id (self, peer_id), msg_p);
}

bool
curvecp_zmq_server_has_peer (curvecp_zmq_server_t *self, const char *peer_id)
{
    return peer_by_id (self, peer_id) != NULL;
}

bool
curvecp_zmq_server_writable (curvecp_zmq_server_t *self, const char *peer_id)
{
    peer_t *peer = peer_by_id (self, peer_id);
    return peer && curvecp_zmq_codec_writable (peer->codec);
}

int
curvecp_zmq_server_reply (curvecp_zmq_server_t *self, zmsg_t **msg_p)
{
    return send_to_peer (self, self->have_last ? peer_to_address (self, self->last_short_key) : NULL, msg_p);
}

int
curvecp_zmq_server_send_to_key (curvecp_zmq_server_t *self, const uint8_t client_key[CURVECP_KEY_BYTES], zmsg_t **msg_p)
{
    peer_t *newest = (peer_t *) curvecp_table_lookup (self->by_key, client_key);
    while (newest && newest->authorising)
        newest = newest->key_older;
    return send_to_peer (self, newest, msg_p);
}

void
curvecp_zmq_server_flush (curvecp_zmq_server_t *self)
{
    uint64_t now = curvecp_clock_now ();
    send_kept (self, now);
    flush_unflushed (self, now);
    service_due (self, now);
}

/* ---- polling ------------------------------------------------------------------------ */

zsock_t *
curvecp_zmq_server_sock (curvecp_zmq_server_t *self)
{
    return self->router;
}

int
curvecp_zmq_server_timeout (curvecp_zmq_server_t *self)
{
    if (curvecp_ilist_size (&self->ready) > 0)
        return 0;
    uint64_t now = curvecp_clock_now ();
    int cap = zlistx_size (self->authorising) > 0 ? ZAP_POLL_MS : -1;
    /* a query: the earliest deadline, without serving anything */
    uint64_t due = curvecp_heap_deadline (self->heap);
    uint64_t hellos = curvecp_listener_deadline (self->listener);
    return curvecp_zmq_timeout_ms (hellos < due ? hellos : due, now, cap);
}

int
curvecp_zmq_server_handle (curvecp_zmq_server_t *self)
{
    uint64_t now = curvecp_clock_now ();
    drain_input (self, now);
    service_due (self, now);
    send_kept (self, now);
    return 0;
}

/* ---- zloop ---------------------------------------------------------------------------- */

/* After every event: serve, and hand the messages over. */
static int
loop_serve (void *owner)
{
    curvecp_zmq_server_t *self = (curvecp_zmq_server_t *) owner;
    curvecp_zmq_server_handle (self);
    zmsg_t *msg;
    while ((msg = curvecp_zmq_server_recv_nowait (self)) != NULL) {
        int rc = self->on_message (self, &msg, self->on_message_arg);
        zmsg_destroy (&msg);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int
loop_timeout (void *owner)
{
    return curvecp_zmq_server_timeout ((curvecp_zmq_server_t *) owner);
}

int
curvecp_zmq_server_attach (curvecp_zmq_server_t *self, zloop_t *loop, curvecp_zmq_server_message_fn *fn, void *arg)
{
    if (!loop || !fn || self->loop.loop)
        return -1;
    self->loop = (curvecp_zmq_loop_t) { loop, -1, loop_serve, loop_timeout, self };
    self->on_message = fn;
    self->on_message_arg = arg;
    if (zloop_reader (loop, self->router, curvecp_zmq_loop_on_reader, &self->loop) != 0
    ||  (self->zap && zloop_reader (loop, curvecp_zmq_zap_sock (self->zap), curvecp_zmq_loop_on_reader,
                                    &self->loop) != 0)) {
        curvecp_zmq_server_detach (self);
        return -1;
    }
    return curvecp_zmq_loop_event (&self->loop);
}

void
curvecp_zmq_server_detach (curvecp_zmq_server_t *self)
{
    if (!self->loop.loop)
        return;
    zloop_reader_end (self->loop.loop, self->router);
    if (self->zap)
        zloop_reader_end (self->loop.loop, curvecp_zmq_zap_sock (self->zap));
    curvecp_zmq_loop_stop (&self->loop);
}

size_t
curvecp_zmq_server_peers (curvecp_zmq_server_t *self)
{
    return curvecp_listener_size (self->listener);
}

size_t
curvecp_zmq_server_pending (curvecp_zmq_server_t *self)
{
    return curvecp_listener_info (self->listener)->pending;
}

size_t
curvecp_zmq_server_authorising (curvecp_zmq_server_t *self)
{
    return zlistx_size (self->authorising);
}

const char *
curvecp_zmq_server_peer_user_id (curvecp_zmq_server_t *self)
{
    return self->last_auth ? self->last_auth->user_id : "";
}

zhash_t *
curvecp_zmq_server_peer_metadata (curvecp_zmq_server_t *self)
{
    return self->last_auth ? self->last_auth->metadata : NULL;
}

const char *
curvecp_zmq_server_peer_property (curvecp_zmq_server_t *self, const char *name)
{
    zhash_t *metadata = curvecp_zmq_server_peer_metadata (self);
    return metadata && name ? (const char *) zhash_lookup (metadata, name) : NULL;
}

zsock_t *
curvecp_zmq_server_zap_sock (curvecp_zmq_server_t *self)
{
    return self->zap ? curvecp_zmq_zap_sock (self->zap) : NULL;
}

const curvecp_zmq_server_zap_stats_t *
curvecp_zmq_server_zap_stats (curvecp_zmq_server_t *self)
{
    self->zap_stats.malformed = self->zap_malformed_before + (self->zap ? curvecp_zmq_zap_malformed (self->zap) : 0);
    return &self->zap_stats;
}

const curvecp_stats_t *
curvecp_zmq_server_stats (curvecp_zmq_server_t *self)
{
    return &self->stats;
}

uint64_t
curvecp_zmq_server_dropped (curvecp_zmq_server_t *self)
{
    return self->dropped;
}

const curvecp_zmq_server_info_t *
curvecp_zmq_server_info (curvecp_zmq_server_t *self)
{
    self->info.heap = curvecp_heap_size (self->heap);
    const curvecp_listener_info_t *listener = curvecp_listener_info (self->listener);
    self->info.hellos = listener->hellos_answered;
    self->info.hellos_dropped = listener->hellos_dropped;
    self->info.hellos_waiting = listener->hellos_waiting;
    return &self->info;
}

uint64_t
curvecp_zmq_server_bad_envelopes (curvecp_zmq_server_t *self)
{
    return self->bad_envelopes;
}

curvecp_hs_server_t *
curvecp_zmq_server_handshake (curvecp_zmq_server_t *self)
{
    return curvecp_listener_handshake (self->listener);
}
