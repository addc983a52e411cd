/*  curvecp_zmq_zap.c - a synchronous ZAP client for the CurveCP server.

    One DEALER connected to the ZAP endpoint; each request carries a new
    request id, and replies to older (timed-out) requests are skipped.   */
#include <czmq.h>
#include "curvecp_zmq_zap.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

struct _curvecp_zmq_zap_t {
    zsock_t *socket;
    char *domain, *mechanism;
    int timeout_ms;
    uint64_t sequence;
    char status[16], status_text[128], user_id[128];
};

curvecp_zmq_zap_t *
curvecp_zmq_zap_new (const char *domain, const char *mechanism, int timeout_ms)
{
    curvecp_zmq_zap_t *self = (curvecp_zmq_zap_t *) calloc (1, sizeof (curvecp_zmq_zap_t));
    if (!self)
        return NULL;
    self->domain = strdup (domain ? domain : "");
    self->mechanism = strdup (mechanism ? mechanism : "CURVECP");
    self->timeout_ms = timeout_ms;
    self->socket = zsock_new (ZMQ_DEALER);
    if (!self->domain || !self->mechanism || !self->socket
    ||  zsock_connect (self->socket, ZAP_ENDPOINT) != 0) {
        curvecp_zmq_zap_destroy (&self);
        return NULL;
    }
    zsock_set_linger (self->socket, 0);
    return self;
}

void
curvecp_zmq_zap_destroy (curvecp_zmq_zap_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_zmq_zap_t *self = *self_p;
        zsock_destroy (&self->socket);
        free (self->domain);
        free (self->mechanism);
        free (self);
        *self_p = NULL;
    }
}

static void
copy_frame (zmsg_t *reply, char *out, size_t cap)
{
    char *text = zmsg_popstr (reply);
    snprintf (out, cap, "%s", text ? text : "");
    zstr_free (&text);
}

/* Read the reply to request id; false on timeout or a malformed reply. */
static bool
read_reply (curvecp_zmq_zap_t *self, const char *id)
{
    zpoller_t *poller = zpoller_new (self->socket, NULL);
    int64_t until = zclock_mono () + self->timeout_ms;
    bool done = false;
    while (!done) {
        int64_t left = until - zclock_mono ();
        if (left <= 0 || zpoller_wait (poller, (int) left) != self->socket)
            break;
        zmsg_t *reply = zmsg_recv (self->socket);
        char *empty = reply ? zmsg_popstr (reply) : NULL;
        char *version = reply ? zmsg_popstr (reply) : NULL;
        char *request = reply ? zmsg_popstr (reply) : NULL;
        if (empty && version && request && streq (request, id) && streq (version, "1.0")) {
            copy_frame (reply, self->status, sizeof self->status);
            copy_frame (reply, self->status_text, sizeof self->status_text);
            copy_frame (reply, self->user_id, sizeof self->user_id);
            done = true;
        }
        zstr_free (&empty);
        zstr_free (&version);
        zstr_free (&request);
        zmsg_destroy (&reply);
    }
    zpoller_destroy (&poller);
    return done;
}

bool
curvecp_zmq_zap_check (curvecp_zmq_zap_t *self, const char *address, const uint8_t *routing_id,
                       size_t routing_len, const uint8_t key[CURVECP_KEY_BYTES])
{
    char id[24];
    snprintf (id, sizeof id, "%llu", (unsigned long long) ++self->sequence);
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "");
    zmsg_addstr (request, "1.0");
    zmsg_addstr (request, id);
    zmsg_addstr (request, self->domain);
    zmsg_addstr (request, address ? address : "");
    zmsg_addmem (request, routing_id, routing_id ? routing_len : 0);
    zmsg_addstr (request, self->mechanism);
    zmsg_addmem (request, key, CURVECP_KEY_BYTES);
    self->status[0] = self->user_id[0] = 0;
    snprintf (self->status_text, sizeof self->status_text, "no ZAP reply");
    if (zmsg_send (&request, self->socket) != 0) {
        zmsg_destroy (&request);
        return false;
    }
    return read_reply (self, id) && streq (self->status, "200");
}

const char *
curvecp_zmq_zap_status (const curvecp_zmq_zap_t *self)
{
    return self->status;
}

const char *
curvecp_zmq_zap_status_text (const curvecp_zmq_zap_t *self)
{
    return self->status_text;
}

const char *
curvecp_zmq_zap_user_id (const curvecp_zmq_zap_t *self)
{
    return self->user_id;
}
