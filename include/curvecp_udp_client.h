/*  curvecp_udp_client.h - a CurveCP client over UDP ("connect").

    Sends Hellos on NaCl's schedule (8 attempts, 1 s then x1.5 with
    jitter) to up to 8 address slots in turn, so a dead address costs one
    wait (about a second) and the next one is tried. Only a Cookie from
    the address of the latest Hello is taken; that address is the server
    from then on. The client extension comes from a file
    (/etc/curvecpextension by default) re-read before every Hello; a
    missing file means 16 zero bytes.

    The connection (curvecp_udp_client_conn) exists from the start: in
    stream mode bytes written before the Cookie wait in the stream and go
    in the first Initiate. Event loop as for the server: poll the fd,
    sleep until the deadline, call process.

    Time: every now and deadline here is monotonic nanoseconds from
    curvecp_clock_now (curvecp_clock.h); examples/udp_echo.c is an event
    loop that drives a server and a client this way.                              */
#ifndef CURVECP_UDP_CLIENT_H_INCLUDED
#define CURVECP_UDP_CLIENT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "curvecp_clock.h"
#include "curvecp_keys.h"
#include "curvecp_nonce16.h"
#include "curvecp_export.h"
#include "curvecp_reason.h"
#include "curvecp_udp_addr.h"
#include "curvecp_udp_conn.h"

CURVECP_BEGIN_DECLS

/* The message layer's settings (internal): a program outside this tree
   passes NULL, the defaults. */
struct _curvecp_stream_config_t;

typedef struct _curvecp_udp_client_t curvecp_udp_client_t;

#define CURVECP_UDP_CLIENT_SLOTS 8
#define CURVECP_UDP_EXT_FILE "/etc/curvecpextension"

typedef struct {
    uint8_t server_pk[CURVECP_KEY_BYTES];
    const char *server_name;                   /* dotted */
    uint8_t server_ext[CURVECP_EXT_BYTES];
    const char *ext_path;                      /* NULL = /etc/curvecpextension */
    const curvecp_keypair_t *long_term;        /* C, c; NULL = fresh random pair */
    curvecp_nonce16_fn vouch_nonce;            /* NULL = random (tools: safenonce) */
    void *vouch_nonce_context;
    curvecp_udp_addr_t addrs[CURVECP_UDP_CLIENT_SLOTS];  /* server addresses */
    int addr_count;                            /* 1..8 */
    bool shuffle;                              /* NaCl's random slot order */
    curvecp_udp_message_fn *on_message;        /* set: message mode */
    void *on_message_arg;
    const struct _curvecp_stream_config_t *stream;     /* stream mode settings (NULL = defaults) */
    uint64_t keepalive_ns;                     /* stream mode: an idle connection sends a zero
                                                  message (ignored by peers) this often, so a
                                                  NAT keeps its mapping (0 = off) */
} curvecp_udp_client_config_t;

typedef enum {
    CURVECP_UDP_CONNECTING,      /* Hellos going out */
    CURVECP_UDP_CONNECTED,       /* Cookie taken: Initiates / Messages */
    CURVECP_UDP_NO_RESPONSE      /* all 8 Hellos went unanswered */
} curvecp_udp_client_state_t;

CURVECP_EXPORT void curvecp_udp_client_config_default (curvecp_udp_client_config_t *config);

/* Start connecting (the first Hello goes out at the first process).
   NULL with errno set: bad name, bad key, no addresses, no socket. */
CURVECP_EXPORT curvecp_udp_client_t *curvecp_udp_client_new (const curvecp_udp_client_config_t *config, uint64_t now);

/* Close the socket, free the connection, wipe, set *self_p to NULL. */
CURVECP_EXPORT void curvecp_udp_client_destroy (curvecp_udp_client_t **self_p);

/* The connection (valid until destroy; do not close it). */
CURVECP_EXPORT curvecp_udp_conn_t *curvecp_udp_client_conn (curvecp_udp_client_t *self);

CURVECP_EXPORT curvecp_udp_client_state_t curvecp_udp_client_state (const curvecp_udp_client_t *self, uint64_t now);

CURVECP_EXPORT int curvecp_udp_client_fd (const curvecp_udp_client_t *self);
CURVECP_EXPORT uint64_t curvecp_udp_client_deadline (const curvecp_udp_client_t *self);
CURVECP_EXPORT bool curvecp_udp_client_want_write (const curvecp_udp_client_t *self);
CURVECP_EXPORT void curvecp_udp_client_process (curvecp_udp_client_t *self, uint64_t now);

/* Move to a fresh socket (a new local port), as after a NAT rebinding
   or a change of network: the server follows. The fd changes. */
CURVECP_EXPORT curvecp_reason_t curvecp_udp_client_rebind (curvecp_udp_client_t *self);

/* Which slot's address answered (0..7), -1 before the Cookie; the
   slot's address, and the address each Hello went to (for tests). */
CURVECP_EXPORT int curvecp_udp_client_slot (const curvecp_udp_client_t *self);
CURVECP_EXPORT const curvecp_udp_addr_t *curvecp_udp_client_slot_addr (const curvecp_udp_client_t *self, int slot);
CURVECP_EXPORT int curvecp_udp_client_hellos (const curvecp_udp_client_t *self);

/* The client extension currently in use. */
CURVECP_EXPORT const uint8_t *curvecp_udp_client_ext (const curvecp_udp_client_t *self);

/* Per-reason counts of every datagram received. */
CURVECP_EXPORT const curvecp_stats_t *curvecp_udp_client_stats (const curvecp_udp_client_t *self);

CURVECP_END_DECLS

#endif
