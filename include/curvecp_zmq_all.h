/*  curvecp_zmq_all.h - the whole public API of libcurvecp-zmq, the ØMQ
    carrier: a CurveCP-secured DEALER (curvecp_zmq_client) and ROUTER
    (curvecp_zmq_server), the codec under both, the allow-list of client
    keys, and the secured publisher and subscriber over them
    (curvecp_zmq_pub, curvecp_zmq_sub); with all of libcurvecp (curvecp.h).

        #include <curvecp_zmq_all.h>  cc app.c $(pkg-config --cflags --libs libcurvecp-zmq)

    Separate from curvecp.h because these headers include czmq.h: a
    program that speaks only UDP includes curvecp.h and needs neither
    czmq nor libzmq.                                                     */
#ifndef CURVECP_ZMQ_ALL_H_INCLUDED
#define CURVECP_ZMQ_ALL_H_INCLUDED

#include "curvecp.h"
#include "curvecp_zmq_codec.h"
#include "curvecp_zmq_client.h"
#include "curvecp_zmq_server.h"
#include "curvecp_zmq_allow.h"
#include "curvecp_keyset.h"
#include "curvecp_keys_replica.h"
#include "curvecp_keyd.h"
#include "curvecp_zmq_pub.h"
#include "curvecp_zmq_sub.h"

#endif
