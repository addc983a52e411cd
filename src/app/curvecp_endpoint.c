/*  curvecp_endpoint.c - ØMQ or UDP endpoint text.                      */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_endpoint.h"

static const char *const zmq_schemes[] = { "tcp://", "ipc://", "inproc://", "ws://", "tipc://", NULL };

static bool
is_zmq (const char *text)
{
    for (int i = 0; zmq_schemes[i]; i++)
        if (strncmp (text, zmq_schemes[i], strlen (zmq_schemes[i])) == 0)
            return true;
    return false;
}

/* "*" or 0..65535, digits only. */
static bool
parse_port (const char *text, uint16_t *port)
{
    if (strcmp (text, "*") == 0) {
        *port = 0;
        return true;
    }
    size_t n = strspn (text, "0123456789");
    if (n == 0 || n > 5 || text[n])
        return false;
    long value = strtol (text, NULL, 10);
    if (value > 65535)
        return false;
    *port = (uint16_t) value;
    return true;
}

/* ØMQ takes "tcp://host:99998" and binds or connects to the port
   modulo 65536: a port in digits must fit 16 bits. Other forms (a
   service name, "*", an interface) are ØMQ's to judge. */
static bool
tcp_port_ok (const char *text)
{
    if (strncmp (text, "tcp://", 6) != 0)
        return true;
    const char *colon = strrchr (text, ':');
    if (!colon || colon < text + 6)
        return true;
    uint16_t port;
    size_t digits = strspn (colon + 1, "0123456789");
    return digits == 0 || colon[1 + digits] != 0 || parse_port (colon + 1, &port);
}

static curvecp_reason_t
parse_udp (const char *text, curvecp_endpoint_t *endpoint)
{
    char host[CURVECP_ENDPOINT_TEXT];
    const char *colon = strrchr (text, ':');
    if (!colon || (size_t) (colon - text) >= sizeof host)
        return CURVECP_E_BAD_ARGUMENT;
    memcpy (host, text, (size_t) (colon - text));
    host[colon - text] = 0;
    char *ip = host;
    size_t len = strlen (host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host[len - 1] = 0;
        ip = host + 1;
    }
    uint16_t port;
    if (!*ip || !parse_port (colon + 1, &port) || curvecp_udp_addr_parse (ip, port, &endpoint->udp) != CURVECP_OK)
        return CURVECP_E_BAD_ARGUMENT;
    endpoint->kind = CURVECP_ENDPOINT_UDP;
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_endpoint_parse (const char *text, curvecp_endpoint_t *endpoint)
{
    memset (endpoint, 0, sizeof *endpoint);
    if (!text || strlen (text) >= CURVECP_ENDPOINT_TEXT)
        return CURVECP_E_BAD_ARGUMENT;
    if (is_zmq (text)) {
        if (!tcp_port_ok (text))
            return CURVECP_E_BAD_ARGUMENT;
        endpoint->kind = CURVECP_ENDPOINT_ZMQ;
        strcpy (endpoint->zmq, text);
        return CURVECP_OK;
    }
    if (strncmp (text, "udp://", 6) == 0)
        text += 6;
    else if (strstr (text, "://"))
        return CURVECP_E_BAD_ARGUMENT;
    return parse_udp (text, endpoint);
}

const char *
curvecp_endpoint_format (const curvecp_endpoint_t *endpoint, char *text, size_t cap)
{
    if (endpoint->kind == CURVECP_ENDPOINT_ZMQ)
        snprintf (text, cap, "%s", endpoint->zmq);
    else {
        char addr[CURVECP_UDP_ADDR_TEXT];
        snprintf (text, cap, "udp://%s", curvecp_udp_addr_format (&endpoint->udp, addr, sizeof addr));
    }
    return text;
}
