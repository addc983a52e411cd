/*  curvecp_gateway_routes.c - parse a gateway's routes file into a table
    keyed by server extension (see the header for the format).

    Entries go into a growing array first and into the SipHash table only
    when the whole file has parsed, so the table's values point into an
    array that no longer moves.                                           */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_gateway_routes.h"
#include "curvecp_table.h"

#define LINE_MAX_BYTES 1000

typedef struct {
    uint8_t ext[CURVECP_EXT_BYTES];
    curvecp_udp_addr_t addr;
    size_t line;                   /* for the duplicate error */
} route_t;

struct _curvecp_gateway_routes_t {
    route_t *routes;
    size_t count, cap;
    curvecp_table_t *by_ext;
};

static void say (char *error, size_t cap, const char *format, ...) __attribute__ ((format (printf, 3, 4)));

static void
say (char *error, size_t cap, const char *format, ...)
{
    if (!error || cap == 0)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (error, cap, format, args);
    va_end (args);
}

static bool
append (curvecp_gateway_routes_t *self, const route_t *route)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? 2 * self->cap : 16;
        route_t *grown = realloc (self->routes, cap * sizeof *grown);
        if (!grown)
            return false;
        self->routes = grown;
        self->cap = cap;
    }
    self->routes[self->count++] = *route;
    return true;
}

/* One line without its newline, comment already cut: "" or three fields. */
static const char *
parse_line (char *line, route_t *route)
{
    const char *sep = " \t\r";
    char *save = NULL;
    char *ext = strtok_r (line, sep, &save);
    if (!ext)
        return "";                 /* blank */
    char *host = strtok_r (NULL, sep, &save);
    char *port = strtok_r (NULL, sep, &save);
    if (!host || !port)
        return "expected EXTHEX HOST PORT";
    if (strtok_r (NULL, sep, &save))
        return "extra field after PORT";
    if (curvecp_udp_ext_parse (ext, route->ext) != CURVECP_OK)
        return "bad extension (need 32 hex digits)";
    uint16_t number;
    if (curvecp_udp_port_parse (port, &number) != CURVECP_OK || number == 0)
        return "bad port (need 1..65535)";
    if (curvecp_udp_addr_parse (host, number, &route->addr) != CURVECP_OK)
        return "bad host address";
    return NULL;
}

/* Every line into self->routes; false with the error said. */
static bool
parse_lines (curvecp_gateway_routes_t *self, const char *text, size_t len, char *error, size_t cap)
{
    size_t at = 0, number = 0;
    while (at < len) {
        number++;
        const char *end = memchr (text + at, '\n', len - at);
        size_t line_len = end ? (size_t) (end - (text + at)) : len - at;
        if (line_len > LINE_MAX_BYTES) {
            say (error, cap, "line %zu: longer than %d bytes", number, LINE_MAX_BYTES);
            return false;
        }
        char line[LINE_MAX_BYTES + 1];
        memcpy (line, text + at, line_len);
        line[line_len] = 0;
        at += line_len + 1;
        if (strlen (line) != line_len) {
            say (error, cap, "line %zu: NUL byte", number);
            return false;
        }
        char *hash = strchr (line, '#');
        if (hash)
            *hash = 0;
        route_t route = { .line = number };
        const char *why = parse_line (line, &route);
        if (why && *why == 0)
            continue;
        if (why) {
            say (error, cap, "line %zu: %s", number, why);
            return false;
        }
        if (self->count == CURVECP_GATEWAY_ROUTES_MAX) {
            say (error, cap, "line %zu: more than %d routes", number, CURVECP_GATEWAY_ROUTES_MAX);
            return false;
        }
        if (!append (self, &route)) {
            say (error, cap, "out of memory");
            return false;
        }
    }
    return true;
}

static bool
index_routes (curvecp_gateway_routes_t *self, char *error, size_t cap)
{
    self->by_ext = curvecp_table_new (CURVECP_EXT_BYTES, NULL);
    if (!self->by_ext || curvecp_table_reserve (self->by_ext, self->count) != CURVECP_OK) {
        say (error, cap, "out of memory");
        return false;
    }
    for (size_t i = 0; i < self->count; i++) {
        route_t *route = &self->routes[i];
        curvecp_reason_t rc = curvecp_table_insert (self->by_ext, route->ext, route);
        if (rc == CURVECP_E_EXISTS) {
            route_t *first = curvecp_table_lookup (self->by_ext, route->ext);
            say (error, cap, "line %zu: extension already routed on line %zu", route->line, first->line);
            return false;
        }
        if (rc != CURVECP_OK) {
            say (error, cap, "out of memory");
            return false;
        }
    }
    return true;
}

curvecp_gateway_routes_t *
curvecp_gateway_routes_parse (const char *text, size_t len, char *error, size_t cap)
{
    say (error, cap, "no error");
    curvecp_gateway_routes_t *self = calloc (1, sizeof *self);
    if (!self) {
        say (error, cap, "out of memory");
        return NULL;
    }
    if (!parse_lines (self, text, len, error, cap) || !index_routes (self, error, cap))
        curvecp_gateway_routes_destroy (&self);
    return self;
}

curvecp_gateway_routes_t *
curvecp_gateway_routes_load (const char *path, char *error, size_t cap)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        say (error, cap, "cannot open %s: %s", path, strerror (errno));
        return NULL;
    }
    size_t limit = CURVECP_GATEWAY_ROUTES_FILE_MAX;
    char *text = malloc (limit + 1);
    size_t len = text ? fread (text, 1, limit + 1, file) : 0;
    bool failed = !text || ferror (file);
    fclose (file);
    curvecp_gateway_routes_t *self = NULL;
    if (failed)
        say (error, cap, "cannot read %s", path);
    else
    if (len > limit)
        say (error, cap, "%s is larger than %zu bytes", path, limit);
    else
        self = curvecp_gateway_routes_parse (text, len, error, cap);
    free (text);
    return self;
}

void
curvecp_gateway_routes_destroy (curvecp_gateway_routes_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_gateway_routes_t *self = *self_p;
    curvecp_table_destroy (&self->by_ext);
    free (self->routes);
    free (self);
    *self_p = NULL;
}

const curvecp_udp_addr_t *
curvecp_gateway_routes_lookup (const curvecp_gateway_routes_t *self, const uint8_t ext[CURVECP_EXT_BYTES])
{
    if (!self)
        return NULL;
    route_t *route = curvecp_table_lookup (self->by_ext, ext);
    return route ? &route->addr : NULL;
}

size_t
curvecp_gateway_routes_count (const curvecp_gateway_routes_t *self)
{
    return self ? self->count : 0;
}
