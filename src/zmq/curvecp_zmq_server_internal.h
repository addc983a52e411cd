/*  curvecp_zmq_server_internal.h - what curvecp_zmq_server shows only to this
    tree (tests, tools): the handshake object inside it, an internal class
    that the public header must not name.                                */
#ifndef CURVECP_ZMQ_SERVER_INTERNAL_H_INCLUDED
#define CURVECP_ZMQ_SERVER_INTERNAL_H_INCLUDED

#include "curvecp_hs_server.h"
#include "curvecp_zmq_server.h"

/* The shared handshake object (minute keys, handshake statistics). */
curvecp_hs_server_t *curvecp_zmq_server_handshake (curvecp_zmq_server_t *self);

#endif
