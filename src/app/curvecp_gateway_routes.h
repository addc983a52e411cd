/*  curvecp_gateway_routes.h - the route table of curvecp-gateway: which
    local server address each 16-byte server extension goes to.

    A routes file is text, one route a line:

        EXTHEX HOST PORT       # 32 hex digits, an IPv4 or IPv6 address, a port

    Blank lines and '#' comments (to the end of a line) are ignored; fields
    are separated by spaces or tabs. The parser refuses the whole file on
    the first bad line (a malformed field, a missing or extra field, a
    duplicate extension, a NUL byte, a line over 1000 bytes, more than
    CURVECP_GATEWAY_ROUTES_MAX routes) and says which line and why, so a
    gateway can keep the routes it has when an edit goes wrong. The parser
    is pure (text in, table out): tests/fuzz/fuzz_gateway drives it.      */
#ifndef CURVECP_GATEWAY_ROUTES_H_INCLUDED
#define CURVECP_GATEWAY_ROUTES_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"
#include "curvecp_udp_addr.h"

typedef struct _curvecp_gateway_routes_t curvecp_gateway_routes_t;

#define CURVECP_GATEWAY_ROUTES_MAX   65536       /* routes in one file */
#define CURVECP_GATEWAY_ROUTES_FILE_MAX (8u << 20)  /* bytes in one file */
#define CURVECP_GATEWAY_ERROR_TEXT    160        /* room for a parse error */

/* Parse len bytes of routes text. NULL on a bad file, with a one-line
   reason ("line 3: bad extension") in error (cap bytes). */
curvecp_gateway_routes_t *curvecp_gateway_routes_parse (const char *text, size_t len, char *error, size_t cap);

/* Read and parse the file at path (at most CURVECP_GATEWAY_ROUTES_FILE_MAX
   bytes). NULL with the reason in error. */
curvecp_gateway_routes_t *curvecp_gateway_routes_load (const char *path, char *error, size_t cap);

/* Free, set *self_p to NULL. */
void curvecp_gateway_routes_destroy (curvecp_gateway_routes_t **self_p);

/* The local server for a server extension, or NULL (no route). */
const curvecp_udp_addr_t *curvecp_gateway_routes_lookup (const curvecp_gateway_routes_t *self,
        const uint8_t ext[CURVECP_EXT_BYTES]);

/* Routes in the table. */
size_t curvecp_gateway_routes_count (const curvecp_gateway_routes_t *self);

#endif
