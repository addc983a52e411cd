/*  curvecp_zmq_replies.c - replies kept while a client's queue is full.

    One FIFO per connection (by peer id), only for connections that have
    something kept, so the common case (the send fits) costs one hash
    lookup that finds nothing.                                          */
#include <errno.h>
#include <string.h>
#include "curvecp_zmq_replies.h"

#define DEFAULT_MAX_BYTES (16u * 1024u * 1024u)

struct _curvecp_zmq_replies_t {
    curvecp_server_t *server;
    zhashx_t *queues;           /* peer id -> zlist_t of zmsg_t, oldest first */
    size_t max_bytes, bytes, kept;
    uint64_t dropped;
};

static void
queue_destroy (void **item_p)
{
    zlist_t *queue = (zlist_t *) *item_p;
    if (queue) {
        zmsg_t *msg;
        while ((msg = (zmsg_t *) zlist_pop (queue)) != NULL)
            zmsg_destroy (&msg);
        zlist_destroy (&queue);
        *item_p = NULL;
    }
}

curvecp_zmq_replies_t *
curvecp_zmq_replies_new (curvecp_server_t *server, size_t max_bytes)
{
    if (!server)
        return NULL;
    curvecp_zmq_replies_t *self = (curvecp_zmq_replies_t *) calloc (1, sizeof (curvecp_zmq_replies_t));
    if (!self)
        return NULL;
    self->queues = zhashx_new ();
    if (!self->queues) {
        free (self);
        return NULL;
    }
    zhashx_set_destructor (self->queues, queue_destroy);
    self->server = server;
    self->max_bytes = max_bytes ? max_bytes : DEFAULT_MAX_BYTES;
    return self;
}

void
curvecp_zmq_replies_destroy (curvecp_zmq_replies_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_zmq_replies_t *self = *self_p;
        zhashx_destroy (&self->queues);
        free (self);
        *self_p = NULL;
    }
}

static int
drop (curvecp_zmq_replies_t *self, zmsg_t **msg_p, int error)
{
    zmsg_destroy (msg_p);
    self->dropped++;
    errno = error;
    return -1;
}

static int
keep (curvecp_zmq_replies_t *self, const char *peer_id, zlist_t *queue, zmsg_t **msg_p)
{
    size_t size = zmsg_content_size (*msg_p);
    if (self->bytes + size > self->max_bytes)
        return drop (self, msg_p, ENOBUFS);
    if (!queue) {
        queue = zlist_new ();
        if (!queue)
            return drop (self, msg_p, ENOMEM);
        zhashx_insert (self->queues, peer_id, queue);
    }
    zlist_append (queue, *msg_p);
    *msg_p = NULL;
    self->bytes += size;
    self->kept++;
    return 0;
}

int
curvecp_zmq_replies_send (curvecp_zmq_replies_t *self, const char *peer_id, zmsg_t **msg_p)
{
    if (!msg_p || !*msg_p) {
        errno = EINVAL;
        return -1;
    }
    if (!peer_id)
        return drop (self, msg_p, EHOSTUNREACH);
    zlist_t *queue = (zlist_t *) zhashx_lookup (self->queues, peer_id);
    if (!queue) {
        if (curvecp_server_send (self->server, peer_id, msg_p) == 0)
            return 0;
        if (errno != EAGAIN)
            return drop (self, msg_p, errno);
    }
    /* full now, or older replies wait: keep it behind them */
    return keep (self, peer_id, queue, msg_p);
}

int
curvecp_zmq_replies_reply (curvecp_zmq_replies_t *self, zmsg_t **msg_p)
{
    return curvecp_zmq_replies_send (self, curvecp_server_peer_id (self->server), msg_p);
}

/* Send one connection's kept messages while they fit; false once the
   connection is gone (what was kept for it is then dropped). */
static bool
retry_queue (curvecp_zmq_replies_t *self, const char *peer_id, zlist_t *queue)
{
    zmsg_t *msg;
    while ((msg = (zmsg_t *) zlist_first (queue)) != NULL) {
        size_t size = zmsg_content_size (msg);
        if (curvecp_server_send (self->server, peer_id, &msg) != 0) {
            if (errno == EAGAIN)
                return true;            /* still full: the rest wait too */
            break;
        }
        zlist_pop (queue);
        self->bytes -= size;
        self->kept--;
    }
    if (zlist_size (queue) == 0)
        return false;
    /* the connection is gone: what was kept for it goes too */
    self->dropped += zlist_size (queue);
    self->kept -= zlist_size (queue);
    while ((msg = (zmsg_t *) zlist_pop (queue)) != NULL) {
        self->bytes -= zmsg_content_size (msg);
        zmsg_destroy (&msg);
    }
    return false;
}

size_t
curvecp_zmq_replies_retry (curvecp_zmq_replies_t *self)
{
    if (self->kept == 0)
        return 0;
    zlist_t *done = zlist_new ();
    zlist_autofree (done);
    zlist_t *queue;
    for (queue = (zlist_t *) zhashx_first (self->queues); queue; queue = (zlist_t *) zhashx_next (self->queues)) {
        const char *peer_id = (const char *) zhashx_cursor (self->queues);
        if (!retry_queue (self, peer_id, queue))
            zlist_append (done, (char *) (uintptr_t) peer_id);      /* copied: autofree */
    }
    char *peer_id;
    while ((peer_id = (char *) zlist_pop (done)) != NULL) {
        zhashx_delete (self->queues, peer_id);
        free (peer_id);
    }
    zlist_destroy (&done);
    return self->kept;
}

size_t
curvecp_zmq_replies_kept (curvecp_zmq_replies_t *self)
{
    return self->kept;
}

uint64_t
curvecp_zmq_replies_dropped (curvecp_zmq_replies_t *self)
{
    return self->dropped;
}
