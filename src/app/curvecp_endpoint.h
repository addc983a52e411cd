/*  curvecp_endpoint.h - one endpoint text for both carriers, as the file
    tools take it: "tcp://host:port" (or any ØMQ transport: ipc://,
    inproc://) is the ØMQ carrier; "udp://ip:port", "ip:port" and
    "[ipv6]:port" are the UDP carrier. A port of "*" or 0 lets a server
    bind to a free port.                                                 */
#ifndef CURVECP_ENDPOINT_H_INCLUDED
#define CURVECP_ENDPOINT_H_INCLUDED

#include <stdbool.h>
#include "curvecp_reason.h"
#include "curvecp_udp_addr.h"

#define CURVECP_ENDPOINT_TEXT 256

typedef enum {
    CURVECP_ENDPOINT_ZMQ,
    CURVECP_ENDPOINT_UDP
} curvecp_endpoint_kind_t;

typedef struct {
    curvecp_endpoint_kind_t kind;
    char zmq[CURVECP_ENDPOINT_TEXT];          /* ØMQ endpoint, as given */
    curvecp_udp_addr_t udp;                   /* UDP address and port */
} curvecp_endpoint_t;

/* Parse text. CURVECP_E_BAD_ARGUMENT if it is neither (unknown scheme,
   no port, a bad address, too long). */
curvecp_reason_t curvecp_endpoint_parse (const char *text, curvecp_endpoint_t *endpoint);

/* "tcp://127.0.0.1:9000" or "udp://127.0.0.1:9001" into text (cap >=
   CURVECP_ENDPOINT_TEXT). */
const char *curvecp_endpoint_format (const curvecp_endpoint_t *endpoint, char *text, size_t cap);

#endif
