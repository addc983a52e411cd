/*  test_zmq_fleet.h - many CurveCP client codecs over one ØMQ DEALER, for
    the ØMQ server's scaling and memory tests. The server names
    connections by C', so one DEALER (one routing id) can carry thousands
    of them; each codec gets its own client extension (its index), which
    every server packet echoes at offset 8, so replies find their codec
    in O(1). Everything runs in the caller's thread: the caller drives
    the server between pumps.                                              */
#ifndef TEST_ZMQ_FLEET_H_INCLUDED
#define TEST_ZMQ_FLEET_H_INCLUDED

#include <czmq.h>
#include "testutil.h"
#include "curvecp_zmq_codec.h"
#include "curvecp_zmq.h"

typedef struct {
    zsock_t *dealer;
    curvecp_zmq_codec_t **codecs;
    size_t count, cap;
    uint8_t *buf;                   /* CURVECP_ZMQ_CODEC_BLOB_MAX: we take large blobs */
    uint64_t sent, received, unrouted;
} fleet_t;

static inline fleet_t *
fleet_new (int port, size_t cap)
{
    fleet_t *fleet = (fleet_t *) calloc (1, sizeof (fleet_t));
    CHECK (fleet);
    fleet->codecs = (curvecp_zmq_codec_t **) calloc (cap, sizeof (curvecp_zmq_codec_t *));
    fleet->buf = (uint8_t *) malloc (CURVECP_ZMQ_CODEC_BLOB_MAX);
    fleet->dealer = zsock_new (ZMQ_DEALER);
    CHECK (fleet->codecs && fleet->buf && fleet->dealer);
    fleet->cap = cap;
    zsock_set_linger (fleet->dealer, 0);
    zsock_set_sndhwm (fleet->dealer, 0);
    zsock_set_rcvhwm (fleet->dealer, 0);
    CHECK_EQ (zsock_connect (fleet->dealer, "tcp://127.0.0.1:%d", port), 0);
    return fleet;
}

static inline void
fleet_destroy (fleet_t **fleet_p)
{
    fleet_t *fleet = *fleet_p;
    for (size_t i = 0; i < fleet->count; i++)
        curvecp_zmq_codec_destroy (&fleet->codecs[i]);
    free (fleet->codecs);
    free (fleet->buf);
    zsock_destroy (&fleet->dealer);
    free (fleet);
    *fleet_p = NULL;
}

/* A new client codec (keys NULL: a fresh key); returns its index. */
static inline size_t
fleet_add (fleet_t *fleet, const curvecp_keypair_t *keys, const uint8_t *server_pk, const char *name,
           const curvecp_zmq_codec_options_t *options)
{
    CHECK (fleet->count < fleet->cap);
    uint8_t ext[CURVECP_EXT_BYTES];
    memset (ext, 'F', sizeof ext);
    uint32_t index = (uint32_t) fleet->count;
    memcpy (ext, &index, sizeof index);
    curvecp_zmq_codec_t *codec = curvecp_zmq_codec_new_client (keys, server_pk, name, NULL, ext, options,
                                                       curvecp_clock_now ());
    CHECK (codec);
    fleet->codecs[fleet->count] = codec;
    return fleet->count++;
}

/* Send everything codecs [from, to) have to send now. */
static inline void
fleet_output (fleet_t *fleet, size_t from, size_t to)
{
    uint64_t now = curvecp_clock_now ();
    for (size_t i = from; i < to && i < fleet->count; i++) {
        size_t len;
        while ((len = curvecp_zmq_codec_output (fleet->codecs[i], now, fleet->buf, CURVECP_ZMQ_CODEC_BLOB_MAX)) > 0) {
            CHECK_EQ (zmq_send (zsock_resolve (fleet->dealer), fleet->buf, len, 0), (int) len);
            fleet->sent++;
        }
    }
}

/* Hand every packet waiting at the DEALER to its codec (waiting up to
   wait_ms for the first); returns how many. */
static inline size_t
fleet_input (fleet_t *fleet, int wait_ms)
{
    size_t count = 0;
    zmq_pollitem_t item = { zsock_resolve (fleet->dealer), 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, wait_ms) <= 0)
        return 0;
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    while (zmq_msg_recv (&msg, zsock_resolve (fleet->dealer), ZMQ_DONTWAIT) >= 0) {
        const uint8_t *packet = (const uint8_t *) zmq_msg_data (&msg);
        size_t len = zmq_msg_size (&msg);
        uint32_t index = UINT32_MAX;
        if (len >= 8 + CURVECP_EXT_BYTES)
            memcpy (&index, packet + 8, sizeof index);
        if (index < fleet->count) {
            curvecp_zmq_codec_execute (fleet->codecs[index], packet, len, curvecp_clock_now ());
            fleet->received++;
        }
        else
            fleet->unrouted++;
        count++;
    }
    zmq_msg_close (&msg);
    return count;
}

#endif
