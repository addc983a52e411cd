/*  curvecp.h - the whole public API of libcurvecp: keys, reasons, the
    constants of the wire format, and the UDP carrier (server, client,
    connection, addresses).

        #include <curvecp.h>          cc app.c $(pkg-config --cflags --libs libcurvecp)

    The ØMQ carrier (libcurvecp-zmq) has an umbrella of its own,
    curvecp_zmq_all.h, which includes this one: its headers need czmq's,
    and a UDP-only program must build without czmq (or libzmq) installed.
    Everything else in the source tree (handshake, session, message layer,
    the tools' plumbing) is internal and not installed.                 */
#ifndef CURVECP_H_INCLUDED
#define CURVECP_H_INCLUDED

#include "curvecp_version.h"
#include "curvecp_export.h"
#include "curvecp_constants.h"
#include "curvecp_clock.h"
#include "curvecp_reason.h"
#include "curvecp_keys.h"
#include "curvecp_nonce16.h"
#include "curvecp_udp_addr.h"
#include "curvecp_udp_conn.h"
#include "curvecp_udp_server.h"
#include "curvecp_udp_workers.h"
#include "curvecp_udp_client.h"

#endif
