/*  curvecp_udp_addr.c - addresses and NaCl-compatible argument parsers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "curvecp_udp_addr.h"

/* NaCl's ip4 parser: four parts of 1-3 digits joined by dots, no range
   check; a part over 255 keeps its low byte. */
static bool
parse_nacl_ip4 (const char *text, uint8_t out[4])
{
    for (int part = 0; part < 4; part++) {
        unsigned value = 0;
        int digits = 0;
        while (*text >= '0' && *text <= '9' && digits < 3) {
            value = value * 10 + (unsigned) (*text++ - '0');
            digits++;
        }
        if (digits == 0)
            return false;
        out[part] = (uint8_t) value;
        if (part < 3 && *text++ != '.')
            return false;
    }
    return *text == 0;
}

curvecp_reason_t
curvecp_udp_addr_parse (const char *ip, uint16_t port, curvecp_udp_addr_t *addr)
{
    memset (addr, 0, sizeof *addr);
    uint8_t ip4[4];
    if (parse_nacl_ip4 (ip, ip4)) {
        struct sockaddr_in *sin = (struct sockaddr_in *) &addr->sa;
        sin->sin_family = AF_INET;
        sin->sin_port = htons (port);
        memcpy (&sin->sin_addr, ip4, 4);
        addr->len = sizeof *sin;
        return CURVECP_OK;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &addr->sa;
    if (inet_pton (AF_INET6, ip, &sin6->sin6_addr) != 1)
        return CURVECP_E_BAD_ARGUMENT;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons (port);
    addr->len = sizeof *sin6;
    return CURVECP_OK;
}

int
curvecp_udp_addr_parse_list (const char *list, uint16_t port, curvecp_udp_addr_t *out, int max)
{
    int count = 0;
    const char *p = list;
    while (*p) {
        const char *comma = strchr (p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen (p);
        char one[INET6_ADDRSTRLEN + 1];
        if (len == 0 || len >= sizeof one || count == max)
            return -1;
        memcpy (one, p, len);
        one[len] = 0;
        if (curvecp_udp_addr_parse (one, port, &out[count]) != CURVECP_OK)
            return -1;
        count++;
        p += len;
        if (*p == ',' && *++p == 0)
            return -1;
    }
    return count > 0 ? count : -1;
}

bool
curvecp_udp_addr_equal (const curvecp_udp_addr_t *a, const curvecp_udp_addr_t *b)
{
    if (a->len != b->len || a->sa.ss_family != b->sa.ss_family)
        return false;
    if (a->sa.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *) &a->sa;
        const struct sockaddr_in *y = (const struct sockaddr_in *) &b->sa;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *) &a->sa;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *) &b->sa;
    return x->sin6_port == y->sin6_port
        && memcmp (&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

int
curvecp_udp_addr_family (const curvecp_udp_addr_t *addr)
{
    return addr->sa.ss_family;
}

uint16_t
curvecp_udp_addr_port (const curvecp_udp_addr_t *addr)
{
    if (addr->sa.ss_family == AF_INET)
        return ntohs (((const struct sockaddr_in *) &addr->sa)->sin_port);
    return ntohs (((const struct sockaddr_in6 *) &addr->sa)->sin6_port);
}

void
curvecp_udp_addr_to_v6 (const curvecp_udp_addr_t *in, curvecp_udp_addr_t *out)
{
    if (in->sa.ss_family != AF_INET) {
        *out = *in;
        return;
    }
    const struct sockaddr_in *sin = (const struct sockaddr_in *) &in->sa;
    curvecp_udp_addr_t mapped;
    memset (&mapped, 0, sizeof mapped);
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &mapped.sa;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = sin->sin_port;
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
    memcpy (&sin6->sin6_addr.s6_addr[12], &sin->sin_addr, 4);
    mapped.len = sizeof *sin6;
    *out = mapped;
}

const char *
curvecp_udp_addr_format (const curvecp_udp_addr_t *addr, char *text, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (addr->sa.ss_family == AF_INET) {
        inet_ntop (AF_INET, &((const struct sockaddr_in *) &addr->sa)->sin_addr, ip, sizeof ip);
        snprintf (text, cap, "%s:%u", ip, curvecp_udp_addr_port (addr));
    }
    else {
        inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) &addr->sa)->sin6_addr, ip, sizeof ip);
        snprintf (text, cap, "[%s]:%u", ip, curvecp_udp_addr_port (addr));
    }
    return text;
}

curvecp_reason_t
curvecp_udp_port_parse (const char *text, uint16_t *port)
{
    unsigned long value = 0;
    int digits = 0;
    while (text[digits] >= '0' && text[digits] <= '9' && digits < 5)
        value = value * 10 + (unsigned long) (text[digits++] - '0');
    if (digits == 0 || text[digits] != 0 || value > 65535)
        return CURVECP_E_BAD_ARGUMENT;   /* NaCl wraps 99999 to 34463: a surprise, refused */
    *port = (uint16_t) value;
    return CURVECP_OK;
}

static int
hex_value (char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

curvecp_reason_t
curvecp_udp_ext_parse (const char *text, uint8_t ext[CURVECP_EXT_BYTES])
{
    uint8_t out[CURVECP_EXT_BYTES];
    if (strlen (text) != 2 * CURVECP_EXT_BYTES)
        return CURVECP_E_BAD_ARGUMENT;
    for (int i = 0; i < CURVECP_EXT_BYTES; i++) {
        int hi = hex_value (text[2 * i]), lo = hex_value (text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return CURVECP_E_BAD_ARGUMENT;
        out[i] = (uint8_t) (hi * 16 + lo);
    }
    memcpy (ext, out, CURVECP_EXT_BYTES);
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_udp_ext_load (const char *path, uint8_t ext[CURVECP_EXT_BYTES])
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENAMETOOLONG) {
            memset (ext, 0, CURVECP_EXT_BYTES);
            return CURVECP_OK;
        }
        return CURVECP_E_IO;
    }
    uint8_t buf[CURVECP_EXT_BYTES] = { 0 };
    size_t have = 0;
    while (have < sizeof buf) {
        ssize_t r = read (fd, buf + have, sizeof buf - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            close (fd);
            return CURVECP_E_IO;
        }
        if (r == 0)
            break;
        have += (size_t) r;
    }
    close (fd);
    if (have < sizeof buf) {          /* NaCl's load() wants all 16 bytes */
        errno = EPROTO;
        return CURVECP_E_IO;
    }
    memcpy (ext, buf, CURVECP_EXT_BYTES);
    return CURVECP_OK;
}
