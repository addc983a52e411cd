/*  curvecp_zmq_zap.c - a ZAP client for the CurveCP server.

    One DEALER connected to the ZAP endpoint, with zero send and receive
    timeouts so that no call here ever waits (except check, which says
    so). Requests go out with zmq_send part by part: libzmq takes the rest
    of a message once it took the first part, so a full queue refuses a
    request whole. Each reply is read part by part too, so a reply with
    too many parts is dropped without ever being held whole.             */
#include <czmq.h>
#include "curvecp_zmq.h"
#include "curvecp_zmq_zap.h"

#define ZAP_ENDPOINT   "inproc://zeromq.zap.01"
#define REPLY_PARTS    7
#define STATUS_MAX     16
#define TEXT_MAX       128

struct _curvecp_zmq_zap_t {
    zsock_t *socket;
    void *handle;
    char *domain, *mechanism;
    int timeout_ms;
    uint64_t sequence, malformed;
    /* the last reply */
    bool allowed;
    char status[STATUS_MAX], status_text[TEXT_MAX], user_id[CURVECP_ZMQ_ZAP_USER_ID_MAX + 1];
    zhash_t *metadata;
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
    self->handle = zsock_resolve (self->socket);
    snprintf (self->status_text, sizeof self->status_text, "no ZAP reply");
    return self;
}

void
curvecp_zmq_zap_destroy (curvecp_zmq_zap_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_zmq_zap_t *self = *self_p;
        zsock_destroy (&self->socket);
        zhash_destroy (&self->metadata);
        free (self->domain);
        free (self->mechanism);
        free (self);
        *self_p = NULL;
    }
}

/* ---- requests ------------------------------------------------------------ */

static bool
send_part (curvecp_zmq_zap_t *self, const void *data, size_t len, bool more)
{
    return zmq_send (self->handle, data, len, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) >= 0;
}

uint64_t
curvecp_zmq_zap_request (curvecp_zmq_zap_t *self, const char *address, const uint8_t *routing_id,
                         size_t routing_len, const uint8_t key[CURVECP_KEY_BYTES])
{
    char id[24];
    uint64_t sequence = self->sequence + 1;
    snprintf (id, sizeof id, "%llu", (unsigned long long) sequence);
    if (!address)
        address = "";
    if (!send_part (self, "", 0, true))
        return 0;                       /* queue full: nothing of it went */
    send_part (self, "1.0", 3, true);
    send_part (self, id, strlen (id), true);
    send_part (self, self->domain, strlen (self->domain), true);
    send_part (self, address, strlen (address), true);
    send_part (self, routing_id, routing_id ? routing_len : 0, true);
    send_part (self, self->mechanism, strlen (self->mechanism), true);
    send_part (self, key, CURVECP_KEY_BYTES, false);
    self->sequence = sequence;
    return sequence;
}

/* ---- replies ------------------------------------------------------------- */

static zhash_t *
metadata_fail (zhash_t **hash_p)
{
    zhash_destroy (hash_p);
    return NULL;
}

zhash_t *
curvecp_zmq_zap_parse_metadata (const uint8_t *data, size_t len)
{
    zhash_t *hash = zhash_new ();
    if (!hash)
        return NULL;
    zhash_autofree (hash);
    size_t at = 0;
    while (at < len) {
        size_t name_len = data[at++];
        if (name_len == 0 || name_len > len - at || memchr (data + at, 0, name_len))
            return metadata_fail (&hash);
        char name[256];
        memcpy (name, data + at, name_len);
        name[name_len] = 0;
        at += name_len;
        if (len - at < 4)
            return metadata_fail (&hash);
        size_t value_len = (size_t) data[at] << 24 | (size_t) data[at + 1] << 16
                         | (size_t) data[at + 2] << 8 | data[at + 3];
        at += 4;
        if (value_len > len - at)
            return metadata_fail (&hash);
        char *value = (char *) malloc (value_len + 1);
        if (!value)
            return metadata_fail (&hash);
        memcpy (value, data + at, value_len);
        value[value_len] = 0;
        at += value_len;
        int rc = zhash_insert (hash, name, value);       /* autofree: copies value */
        free (value);
        if (rc != 0)
            return metadata_fail (&hash);               /* a name given twice */
    }
    return hash;
}

static void
reset_reply (curvecp_zmq_zap_t *self)
{
    self->allowed = false;
    self->status[0] = self->user_id[0] = 0;
    self->status_text[0] = 0;
    zhash_destroy (&self->metadata);
}

static void
copy_text (char *out, size_t cap, zmq_msg_t *part)
{
    size_t len = zmq_msg_size (part) < cap - 1 ? zmq_msg_size (part) : cap - 1;
    memcpy (out, zmq_msg_data (part), len);
    out[len] = 0;
}

/* Decode a reply to a known request into the "last reply" fields; false
   with status_text saying why if it is malformed (then it denies). */
static bool
decode_reply (curvecp_zmq_zap_t *self, zmq_msg_t parts[REPLY_PARTS])
{
    const uint8_t *status = (const uint8_t *) zmq_msg_data (&parts[3]);
    size_t user_len = zmq_msg_size (&parts[5]);
    copy_text (self->status, sizeof self->status, &parts[3]);
    if (zmq_msg_size (&parts[3]) != 3 || !isdigit (status[0]) || !isdigit (status[1]) || !isdigit (status[2])) {
        snprintf (self->status_text, sizeof self->status_text, "malformed ZAP reply: status code is not 3 digits");
        return false;
    }
    copy_text (self->status_text, sizeof self->status_text, &parts[4]);
    if (user_len > CURVECP_ZMQ_ZAP_USER_ID_MAX || memchr (zmq_msg_data (&parts[5]), 0, user_len)) {
        snprintf (self->status_text, sizeof self->status_text,
                  "malformed ZAP reply: user id longer than %d bytes or with a zero byte",
                  CURVECP_ZMQ_ZAP_USER_ID_MAX);
        return false;
    }
    copy_text (self->user_id, sizeof self->user_id, &parts[5]);
    if (zmq_msg_size (&parts[6]) > 0) {
        self->metadata = curvecp_zmq_zap_parse_metadata ((const uint8_t *) zmq_msg_data (&parts[6]),
                                                         zmq_msg_size (&parts[6]));
        if (!self->metadata) {
            snprintf (self->status_text, sizeof self->status_text, "malformed ZAP reply: bad metadata");
            return false;
        }
    }
    return true;
}

/* The request id a reply's id part names; 0 if it is not a decimal
   number we could have sent. */
static uint64_t
reply_id (const curvecp_zmq_zap_t *self, zmq_msg_t *part)
{
    char text[24];
    size_t len = zmq_msg_size (part);
    if (len == 0 || len >= sizeof text)
        return 0;
    memcpy (text, zmq_msg_data (part), len);
    text[len] = 0;
    uint64_t id = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit ((unsigned char) text[i]))
            return 0;
        id = id * 10 + (uint64_t) (text[i] - '0');
    }
    return id <= self->sequence ? id : 0;
}

/* Read one whole reply; its id, or 0 if it was malformed (counted). */
static uint64_t
read_one (curvecp_zmq_zap_t *self, zmq_msg_t parts[REPLY_PARTS], bool *more_waiting)
{
    size_t count = 0;
    bool more = true;
    while (more && count < REPLY_PARTS) {
        if (zmq_msg_recv (&parts[count], self->handle, ZMQ_DONTWAIT) < 0) {
            if (count == 0)
                *more_waiting = false;
            break;
        }
        more = zmq_msg_more (&parts[count++]);
    }
    if (count == 0)
        return 0;
    if (more) {                                   /* too many parts: drop the rest */
        zmq_msg_t extra;
        zmq_msg_init (&extra);
        while (zmq_msg_recv (&extra, self->handle, ZMQ_DONTWAIT) >= 0 && zmq_msg_more (&extra))
            ;
        zmq_msg_close (&extra);
    }
    uint64_t id = 0;
    if (!more && count == REPLY_PARTS && zmq_msg_size (&parts[0]) == 0
    &&  zmq_msg_size (&parts[1]) == 3 && memcmp (zmq_msg_data (&parts[1]), "1.0", 3) == 0)
        id = reply_id (self, &parts[2]);
    if (id == 0)
        self->malformed++;
    return id;
}

uint64_t
curvecp_zmq_zap_recv (curvecp_zmq_zap_t *self)
{
    zmq_msg_t parts[REPLY_PARTS];
    for (int i = 0; i < REPLY_PARTS; i++)
        zmq_msg_init (&parts[i]);
    uint64_t id = 0;
    bool waiting = true;
    while (id == 0 && waiting)
        id = read_one (self, parts, &waiting);
    if (id) {
        reset_reply (self);
        self->allowed = decode_reply (self, parts) && streq (self->status, "200");
        if (!self->allowed)
            zhash_destroy (&self->metadata);
    }
    for (int i = 0; i < REPLY_PARTS; i++)
        zmq_msg_close (&parts[i]);
    return id;
}

zsock_t *
curvecp_zmq_zap_sock (curvecp_zmq_zap_t *self)
{
    return self->socket;
}

int
curvecp_zmq_zap_timeout (const curvecp_zmq_zap_t *self)
{
    return self->timeout_ms;
}

bool
curvecp_zmq_zap_check (curvecp_zmq_zap_t *self, const char *address, const uint8_t *routing_id,
                       size_t routing_len, const uint8_t key[CURVECP_KEY_BYTES])
{
    reset_reply (self);
    snprintf (self->status_text, sizeof self->status_text, "no ZAP reply");
    uint64_t id = curvecp_zmq_zap_request (self, address, routing_id, routing_len, key);
    if (id == 0)
        return false;
    uint64_t until = curvecp_clock_now () + (uint64_t) (self->timeout_ms < 0 ? 0 : self->timeout_ms) * 1000000ull;
    for (;;) {
        uint64_t got = curvecp_zmq_zap_recv (self);
        if (got == id)
            return self->allowed;
        if (got)
            continue;                   /* a reply to an earlier request */
        uint64_t now = curvecp_clock_now ();
        if (now >= until)
            break;
        zmq_pollitem_t item = { self->handle, 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, curvecp_zmq_timeout_ms (until, now, -1));
    }
    reset_reply (self);
    snprintf (self->status_text, sizeof self->status_text, "no ZAP reply");
    return false;
}

bool
curvecp_zmq_zap_allowed (const curvecp_zmq_zap_t *self)
{
    return self->allowed;
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

zhash_t *
curvecp_zmq_zap_take_metadata (curvecp_zmq_zap_t *self)
{
    zhash_t *metadata = self->metadata;
    self->metadata = NULL;
    return metadata;
}

uint64_t
curvecp_zmq_zap_requests (const curvecp_zmq_zap_t *self)
{
    return self->sequence;
}

uint64_t
curvecp_zmq_zap_malformed (const curvecp_zmq_zap_t *self)
{
    return self->malformed;
}
