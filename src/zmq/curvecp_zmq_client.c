/*  curvecp_zmq_client.c - the DEALER side of the ØMQ carrier.

    Each call does the I/O the codec needs, in three moves: take every
    packet waiting on the DEALER (acknowledgments first, so the window is
    current), let the codec produce what it may, and wait in a receive
    with a timeout only until its next deadline. A message is handed to
    the application before any acknowledgment is sent for it, so a reply
    the application sends at once carries the acknowledgment (one packet,
    not two).                                                           */
#include <sodium.h>
#include <string.h>
#include "curvecp_zmq_client.h"
#include "curvecp_zmq_codec_internal.h"
#include "curvecp_packet.h"
#include "curvecp_zmq.h"

#define DRAIN_MAX 256          /* packets taken per move, so output is never starved */
#define PACKET_CAP CURVECP_ZMQ_CODEC_BLOB_MAX         /* any blob a codec may make: also says we take large ones */

struct _curvecp_zmq_client_t {
    curvecp_keypair_t keys;                       /* secret: wiped on destroy */
    uint8_t server_key[CURVECP_KEY_BYTES];
    uint8_t server_ext[CURVECP_EXT_BYTES];
    uint8_t client_ext[CURVECP_EXT_BYTES];
    char server_name[CURVECP_NAME_BYTES];
    char *endpoint;
    curvecp_zmq_codec_options_t options;
    int rcvtimeo, sndtimeo, linger;
    zsock_t *dealer;
    void *handle;
    curvecp_zmq_codec_t *codec;
    uint64_t dropped;
    curvecp_stats_t stats;                        /* carrier drops, before the codec */
    uint8_t *out;                                 /* PACKET_CAP bytes for codec output */
    bool took;                                    /* the last wait took a packet */
    curvecp_zmq_loop_t loop;                      /* attached to a zloop */
    zsock_t *watched;                             /* the DEALER registered as its reader */
    curvecp_zmq_client_message_fn *on_message;
    void *on_message_arg;
};

curvecp_zmq_client_t *
curvecp_zmq_client_new (const curvecp_keypair_t *keys, const uint8_t server_key[CURVECP_KEY_BYTES],
                    const char *server_name)
{
    uint8_t field[CURVECP_NAME_BYTES];
    if (!server_key || !server_name || strlen (server_name) >= CURVECP_NAME_BYTES
    ||  curvecp_name_encode (server_name, field) != CURVECP_OK)
        return NULL;
    if (sodium_init () < 0)
        return NULL;
    curvecp_zmq_client_t *self = (curvecp_zmq_client_t *) calloc (1, sizeof (curvecp_zmq_client_t));
    if (!self)
        return NULL;
    self->out = (uint8_t *) malloc (PACKET_CAP);
    if (!self->out) {
        free (self);
        return NULL;
    }
    if (keys)
        self->keys = *keys;
    else
        curvecp_keypair_generate (&self->keys);
    memcpy (self->server_key, server_key, CURVECP_KEY_BYTES);
    snprintf (self->server_name, sizeof self->server_name, "%s", server_name);
    curvecp_zmq_codec_options_default (&self->options);
    self->rcvtimeo = -1;
    self->sndtimeo = -1;
    self->linger = 1000;
    self->loop.timer_id = -1;
    return self;
}

curvecp_zmq_client_t *
curvecp_zmq_client_new_zcert (zcert_t *cert, zcert_t *server_cert, const char *server_name)
{
    curvecp_keypair_t keys;
    if (!server_cert || (cert && !curvecp_zmq_keys_from_zcert (cert, &keys)))
        return NULL;
    curvecp_zmq_client_t *self = curvecp_zmq_client_new (cert ? &keys : NULL, zcert_public_key (server_cert), server_name);
    sodium_memzero (&keys, sizeof keys);
    return self;
}

static void unwatch (curvecp_zmq_client_t *self);
static uint64_t until_from (int msecs);
static void push_output (curvecp_zmq_client_t *self, uint64_t now);

static void
close_connection (curvecp_zmq_client_t *self)
{
    unwatch (self);
    curvecp_zmq_codec_destroy (&self->codec);
    zsock_destroy (&self->dealer);
    self->handle = NULL;
}

/* A close that costs no round trip and loses nothing: wait (up to the
   linger) until the server has acknowledged every message - a reply
   already carried that acknowledgment, so usually no wait at all - then
   end our stream with a success EOF so the server forgets us at once,
   and do not wait for the EOF's own acknowledgment: the DEALER closes
   with a ØMQ linger, which lets the EOF's packet leave after it closed
   (TCP delivers it before the disconnect). The server's acknowledgment
   of the EOF meets a DEALER that is gone, and the ROUTER drops it. */
static void
end_stream (curvecp_zmq_client_t *self)
{
    uint64_t until = until_from (self->linger);
    if (!curvecp_zmq_codec_idle (self->codec))
        curvecp_zmq_client_wait_acked (self, self->linger);
    curvecp_zmq_codec_shutdown (self->codec);
    push_output (self, curvecp_clock_now ());     /* the EOF: no input needed for it */
    uint64_t now = curvecp_clock_now ();
    int left = self->linger < 0 ? -1 : until > now ? (int) ((until - now + 999999) / 1000000) : 1;
    zsock_set_linger (self->dealer, left);
}

void
curvecp_zmq_client_destroy (curvecp_zmq_client_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_zmq_client_t *self = *self_p;
        curvecp_zmq_client_detach (self);
        if (self->codec && !curvecp_zmq_client_failed (self) && self->linger != 0)
            end_stream (self);
        close_connection (self);
        free (self->endpoint);
        free (self->out);
        sodium_memzero (self, sizeof *self);
        free (self);
        *self_p = NULL;
    }
}

void
curvecp_zmq_client_set_options (curvecp_zmq_client_t *self, const curvecp_zmq_codec_options_t *options)
{
    if (options)
        self->options = *options;
    else
        curvecp_zmq_codec_options_default (&self->options);
}

void
curvecp_zmq_client_set_extensions (curvecp_zmq_client_t *self, const uint8_t server_ext[CURVECP_EXT_BYTES],
                               const uint8_t client_ext[CURVECP_EXT_BYTES])
{
    memset (self->server_ext, 0, CURVECP_EXT_BYTES);
    memset (self->client_ext, 0, CURVECP_EXT_BYTES);
    if (server_ext)
        memcpy (self->server_ext, server_ext, CURVECP_EXT_BYTES);
    if (client_ext)
        memcpy (self->client_ext, client_ext, CURVECP_EXT_BYTES);
}

void
curvecp_zmq_client_set_rcvtimeo (curvecp_zmq_client_t *self, int msecs)
{
    self->rcvtimeo = msecs;
}

void
curvecp_zmq_client_set_sndtimeo (curvecp_zmq_client_t *self, int msecs)
{
    self->sndtimeo = msecs;
}

void
curvecp_zmq_client_set_linger (curvecp_zmq_client_t *self, int msecs)
{
    self->linger = msecs;
}

static int
open_connection (curvecp_zmq_client_t *self)
{
    self->dealer = zsock_new (ZMQ_DEALER);
    if (!self->dealer)
        return -1;
    zsock_set_linger (self->dealer, 0);
    self->handle = zsock_resolve (self->dealer);
    if (zsock_connect (self->dealer, "%s", self->endpoint) != 0) {
        close_connection (self);
        return -1;
    }
    self->codec = curvecp_zmq_codec_new_client (&self->keys, self->server_key, self->server_name,
                                            self->server_ext, self->client_ext, &self->options,
                                            curvecp_clock_now ());
    if (!self->codec) {
        close_connection (self);
        return -1;
    }
    return 0;
}

int
curvecp_zmq_client_connect (curvecp_zmq_client_t *self, const char *endpoint)
{
    if (!endpoint || self->dealer)
        return -1;
    free (self->endpoint);
    self->endpoint = strdup (endpoint);
    return self->endpoint ? open_connection (self) : -1;
}

int
curvecp_zmq_client_reconnect (curvecp_zmq_client_t *self)
{
    if (!self->endpoint)
        return -1;
    close_connection (self);
    return open_connection (self);
}

/* ---- the three moves ------------------------------------------------------ */

/* A packet is one ØMQ message of one frame; anything longer is dropped
   whole (no frame of it is trusted) and counted. */
static void
take_packet (curvecp_zmq_client_t *self, zmq_msg_t *packet, uint64_t now)
{
    if (zmq_msg_more (packet)) {
        curvecp_zmq_skip_rest (self->handle);
        curvecp_stats_count (&self->stats, CURVECP_E_TOO_LONG);
        return;
    }
    curvecp_zmq_codec_execute (self->codec, (const uint8_t *) zmq_msg_data (packet), zmq_msg_size (packet), now);
}

static void
drain_input (curvecp_zmq_client_t *self, uint64_t now)
{
    zmq_msg_t packet;
    zmq_msg_init (&packet);
    for (int i = 0; i < DRAIN_MAX && zmq_msg_recv (&packet, self->handle, ZMQ_DONTWAIT) >= 0; i++)
        take_packet (self, &packet, now);
    zmq_msg_close (&packet);
}

static void
push_output (curvecp_zmq_client_t *self, uint64_t now)
{
    size_t len;
    while ((len = curvecp_zmq_codec_output (self->codec, now, self->out, PACKET_CAP)) > 0)
        if (curvecp_zmq_send_output (self->handle, &self->out, len, PACKET_CAP, ZMQ_DONTWAIT) < 0) {
            self->dropped++;            /* the message layer will send it again */
            break;
        }
}

/* Wait for input until the codec's next deadline or until (ns), taking
   the first packet that arrives. A blocking receive with a timeout is
   libzmq's cheapest wait (one poll on the socket's mailbox, then the
   read): zmq_poll first asks ZMQ_EVENTS, polls, asks again, and the
   receive that follows goes through the mailbox once more. false once
   until has passed. */
static bool
wait_input (curvecp_zmq_client_t *self, uint64_t until)
{
    uint64_t now = curvecp_clock_now ();
    if (until != UINT64_MAX && now >= until)
        return false;
    uint64_t deadline = curvecp_zmq_codec_deadline (self->codec);
    if (until < deadline)
        deadline = until;
    int timeout = curvecp_zmq_timeout_ms (deadline, now, -1);
    zmq_setsockopt (self->handle, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_msg_t packet;
    zmq_msg_init (&packet);
    self->took = zmq_msg_recv (&packet, self->handle, 0) >= 0;
    if (self->took)
        take_packet (self, &packet, curvecp_clock_now ());
    zmq_msg_close (&packet);
    return true;
}

static uint64_t
until_from (int msecs)
{
    return msecs < 0 ? UINT64_MAX : curvecp_clock_now () + (uint64_t) msecs * 1000000ull;
}

/* ---- messages ------------------------------------------------------------------ */

int
curvecp_zmq_client_send (curvecp_zmq_client_t *self, zmsg_t **msg_p)
{
    if (!self->codec || curvecp_zmq_client_failed (self))
        return -1;
    uint64_t until = UINT64_MAX;
    bool timed = false;
    while (curvecp_zmq_codec_send (self->codec, msg_p) != 0) {
        if (!msg_p || !*msg_p || zmsg_size (*msg_p) == 0 || curvecp_zmq_client_failed (self))
            return -1;
        if (!timed) {
            until = until_from (self->sndtimeo);
            timed = true;
        }
        uint64_t now = curvecp_clock_now ();
        drain_input (self, now);
        push_output (self, now);
        if (!curvecp_zmq_codec_writable (self->codec) && !wait_input (self, until)) {
            errno = EAGAIN;
            return -1;
        }
    }
    if (curvecp_zmq_codec_ready_to_write (self->codec)) {
        /* input first only when acknowledgments may be what holds the
           output back: a request after a reply finds none waiting, and
           each receive that finds nothing is a trip through the socket's
           mailbox (a poll) */
        uint64_t now = curvecp_clock_now ();
        if (!curvecp_zmq_codec_window_ample (self->codec))
            drain_input (self, now);
        push_output (self, now);
    }
    return 0;
}

zmsg_t *
curvecp_zmq_client_recv_nowait (curvecp_zmq_client_t *self)
{
    return self->codec ? curvecp_zmq_codec_recv (self->codec) : NULL;
}

zmsg_t *
curvecp_zmq_client_recv (curvecp_zmq_client_t *self)
{
    if (!self->codec)
        return NULL;
    uint64_t until = until_from (self->rcvtimeo);
    /* the first pass goes straight to the wait, which takes a packet
       already there at once: after a send (which drained) a drain here
       would cost a trip through the socket's mailbox and find nothing.
       So does a pass after a wait took a handshake packet (the Cookie
       comes alone: its Initiate goes out without a receive that fails). */
    for (bool first = true;; first = false) {
        zmsg_t *msg = curvecp_zmq_codec_recv (self->codec);
        if (msg)
            return msg;
        uint64_t now = curvecp_clock_now ();
        bool alone = self->took && curvecp_zmq_codec_state (self->codec) == CURVECP_ZMQ_CODEC_HANDSHAKE;
        if (!first && !alone) {
            drain_input (self, now);
            msg = curvecp_zmq_codec_recv (self->codec);
            if (msg)
                return msg;
        }
        curvecp_zmq_codec_flush (self->codec);
        push_output (self, now);
        if (curvecp_zmq_client_failed (self))
            return NULL;
        if (!wait_input (self, until)) {
            errno = EAGAIN;
            return NULL;
        }
    }
}

int
curvecp_zmq_client_flush (curvecp_zmq_client_t *self)
{
    if (!self->codec)
        return -1;
    uint64_t now = curvecp_clock_now ();
    curvecp_zmq_codec_flush (self->codec);
    drain_input (self, now);
    push_output (self, now);
    return curvecp_zmq_client_failed (self) ? -1 : 0;
}

int
curvecp_zmq_client_wait_acked (curvecp_zmq_client_t *self, int timeout_ms)
{
    if (!self->codec)
        return -1;
    uint64_t until = until_from (timeout_ms);
    for (;;) {
        if (curvecp_zmq_client_flush (self) != 0)
            return -1;
        if (curvecp_zmq_codec_idle (self->codec))
            return 0;
        if (!wait_input (self, until))
            return -1;
    }
}

/* ---- polling ------------------------------------------------------------------- */

zsock_t *
curvecp_zmq_client_sock (curvecp_zmq_client_t *self)
{
    return self->dealer;
}

int
curvecp_zmq_client_timeout (curvecp_zmq_client_t *self)
{
    if (!self->codec)
        return -1;
    return curvecp_zmq_timeout_ms (curvecp_zmq_codec_deadline (self->codec), curvecp_clock_now (), -1);
}

int
curvecp_zmq_client_handle (curvecp_zmq_client_t *self)
{
    if (!self->codec)
        return -1;
    uint64_t now = curvecp_clock_now ();
    drain_input (self, now);
    push_output (self, now);
    return curvecp_zmq_client_failed (self) ? -1 : 0;
}

/* ---- zloop --------------------------------------------------------------------- */

/* The DEALER as the loop's reader (it is new after a reconnect). */
static int
watch (curvecp_zmq_client_t *self)
{
    if (!self->loop.loop || self->watched == self->dealer)
        return 0;
    unwatch (self);
    if (self->dealer && zloop_reader (self->loop.loop, self->dealer, curvecp_zmq_loop_on_reader, &self->loop) != 0)
        return -1;
    self->watched = self->dealer;
    return 0;
}

static void
unwatch (curvecp_zmq_client_t *self)
{
    if (self->loop.loop && self->watched)
        zloop_reader_end (self->loop.loop, self->watched);
    self->watched = NULL;
}

/* After every event: serve, hand the messages over, watch the DEALER. */
static int
loop_serve (void *owner)
{
    curvecp_zmq_client_t *self = (curvecp_zmq_client_t *) owner;
    curvecp_zmq_client_handle (self);
    zmsg_t *msg;
    while ((msg = curvecp_zmq_client_recv_nowait (self)) != NULL) {
        int rc = self->on_message (self, &msg, self->on_message_arg);
        zmsg_destroy (&msg);
        if (rc < 0)
            return -1;
    }
    return watch (self);
}

static int
loop_timeout (void *owner)
{
    return curvecp_zmq_client_timeout ((curvecp_zmq_client_t *) owner);
}

int
curvecp_zmq_client_attach (curvecp_zmq_client_t *self, zloop_t *loop, curvecp_zmq_client_message_fn *fn, void *arg)
{
    if (!loop || !fn || self->loop.loop)
        return -1;
    self->loop = (curvecp_zmq_loop_t) { loop, -1, loop_serve, loop_timeout, self };
    self->on_message = fn;
    self->on_message_arg = arg;
    return curvecp_zmq_loop_event (&self->loop);
}

void
curvecp_zmq_client_detach (curvecp_zmq_client_t *self)
{
    if (!self->loop.loop)
        return;
    unwatch (self);
    curvecp_zmq_loop_stop (&self->loop);
}

/* ---- state --------------------------------------------------------------------- */

bool
curvecp_zmq_client_connected (curvecp_zmq_client_t *self)
{
    return self->codec && curvecp_zmq_codec_state (self->codec) == CURVECP_ZMQ_CODEC_CONNECTED;
}

bool
curvecp_zmq_client_failed (curvecp_zmq_client_t *self)
{
    return self->codec && curvecp_zmq_codec_state (self->codec) == CURVECP_ZMQ_CODEC_FAILED;
}

curvecp_zmq_codec_failure_t
curvecp_zmq_client_failure (curvecp_zmq_client_t *self)
{
    return self->codec ? curvecp_zmq_codec_failure (self->codec) : CURVECP_ZMQ_CODEC_OK;
}

const char *
curvecp_zmq_client_error (curvecp_zmq_client_t *self)
{
    return self->codec ? curvecp_zmq_codec_error (self->codec) : "not connected";
}

const uint8_t *
curvecp_zmq_client_public_key (curvecp_zmq_client_t *self)
{
    return self->keys.public_key;
}

const curvecp_zmq_codec_t *
curvecp_zmq_client_codec (curvecp_zmq_client_t *self)
{
    return self->codec;
}

uint64_t
curvecp_zmq_client_dropped (curvecp_zmq_client_t *self)
{
    return self->dropped;
}

const curvecp_stats_t *
curvecp_zmq_client_stats (curvecp_zmq_client_t *self)
{
    return &self->stats;
}
