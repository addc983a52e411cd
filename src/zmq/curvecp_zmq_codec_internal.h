/*  curvecp_zmq_codec_internal.h - what the ØMQ server and the tests inside
    this tree use of the codec beyond its public API: codecs made from a
    listener's accepted session, and the message layer underneath (types
    the public headers hide).                                            */
#ifndef CURVECP_ZMQ_CODEC_INTERNAL_H_INCLUDED
#define CURVECP_ZMQ_CODEC_INTERNAL_H_INCLUDED

#include "curvecp_zmq_codec.h"
#include "curvecp_session.h"
#include "curvecp_stream.h"

/* Server codec for a connection the server's listener accepted: the
   session a valid Initiate made (copied; the caller wipes its own) and
   the message that Initiate carried. */
curvecp_zmq_codec_t *curvecp_zmq_codec_new_accepted (const curvecp_session_t *session,
        const uint8_t *first_message, size_t first_len, const curvecp_zmq_codec_options_t *options, uint64_t now);

/* What is written and waiting fits in half the window: the
   acknowledgments waiting on the carrier cannot hold output back, so a
   carrier may send without taking input first. */
bool curvecp_zmq_codec_window_ample (const curvecp_zmq_codec_t *self);

/* The deadline computed afresh, as curvecp_zmq_codec_deadline would
   without the value it keeps between calls that change nothing: the
   tests compare the two after every step. */
uint64_t curvecp_zmq_codec_deadline_fresh (curvecp_zmq_codec_t *self);

/* The message layer of the current session (NULL before one exists). */
const curvecp_stream_t *curvecp_zmq_codec_stream (const curvecp_zmq_codec_t *self);

#endif
