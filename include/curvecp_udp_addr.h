/*  curvecp_udp_addr.h - IPv4 / IPv6 UDP addresses and the argument
    parsers of NaCl's curvecp tools.

    NaCl's parsers have quirks that scripts may rely on, so the tool
    parsers keep them: a dotted quad takes 1-3 digits per part with no
    range check (each part is truncated to a byte), a port takes 1-5
    digits truncated to 16 bits, an extension is exactly 32 hex digits.
    On top of NaCl, any address inet_pton accepts as IPv6 works too.      */
#ifndef CURVECP_UDP_ADDR_H_INCLUDED
#define CURVECP_UDP_ADDR_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "curvecp_export.h"
#include "curvecp_constants.h"
#include "curvecp_reason.h"

CURVECP_BEGIN_DECLS

typedef struct {
    struct sockaddr_storage sa;
    socklen_t len;                   /* 0 = no address */
} curvecp_udp_addr_t;

#define CURVECP_UDP_ADDR_TEXT 64     /* "[v6]:port" with room to spare */

/* ip (NaCl dotted quad or IPv6 text) and port (host order) into addr. */
CURVECP_EXPORT curvecp_reason_t curvecp_udp_addr_parse (const char *ip, uint16_t port, curvecp_udp_addr_t *addr);

/* A comma-separated list of addresses, all with port; at most max.
   Returns how many were parsed, or -1 if any is malformed or the list is
   empty. */
CURVECP_EXPORT int curvecp_udp_addr_parse_list (const char *list, uint16_t port, curvecp_udp_addr_t *out, int max);

/* The same address and port. */
CURVECP_EXPORT bool curvecp_udp_addr_equal (const curvecp_udp_addr_t *a, const curvecp_udp_addr_t *b);

/* AF_INET or AF_INET6. */
CURVECP_EXPORT int curvecp_udp_addr_family (const curvecp_udp_addr_t *addr);

/* Port in host order. */
CURVECP_EXPORT uint16_t curvecp_udp_addr_port (const curvecp_udp_addr_t *addr);

/* An IPv4 address as IPv4-mapped IPv6 (for a dual-stack socket); an
   IPv6 address is copied. */
CURVECP_EXPORT void curvecp_udp_addr_to_v6 (const curvecp_udp_addr_t *in, curvecp_udp_addr_t *out);

/* "1.2.3.4:5" or "[::1]:5" into text (CURVECP_UDP_ADDR_TEXT bytes). */
CURVECP_EXPORT const char *curvecp_udp_addr_format (const curvecp_udp_addr_t *addr, char *text, size_t cap);

/* A port: 1-5 decimal digits, at most 65535 (NaCl truncates larger values
   to 16 bits; we refuse them: 99999 would quietly mean 34463). */
CURVECP_EXPORT curvecp_reason_t curvecp_udp_port_parse (const char *text, uint16_t *port);

/* NaCl's extension parser: exactly 32 hex digits, either case. */
CURVECP_EXPORT curvecp_reason_t curvecp_udp_ext_parse (const char *text, uint8_t ext[CURVECP_EXT_BYTES]);

/* Read a client extension the way curvecpclient does: the first 16
   bytes of path. A missing file (ENOENT, ENAMETOOLONG) gives 16 zero
   bytes; any other error, a file under 16 bytes included, keeps ext as
   it is and returns CURVECP_E_IO. */
CURVECP_EXPORT curvecp_reason_t curvecp_udp_ext_load (const char *path, uint8_t ext[CURVECP_EXT_BYTES]);

CURVECP_END_DECLS

#endif
