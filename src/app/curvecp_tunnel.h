/*  curvecp_tunnel.h - carry TCP connections over CurveCP, spiped's shape
    (the class behind curvecp-tunnel).

    Encrypting side: accepts TCP connections and carries each over its
    own CurveCP connection (one UDP socket for all: curvecp_udp_dialer)
    to the decrypting side, which receives them on one UDP socket
    (curvecp_udp_server) and connects each to the TCP service. One
    process, one poll loop, no process per connection.

    Ends map both ways: a TCP FIN is a success EOF on the stream (half
    close: the other direction goes on) and a success EOF becomes a FIN;
    a TCP reset, a failure EOF, or a failed CurveCP connection (no
    answer to the Hellos, the peer silent with data outstanding for the
    give-up time) ends the other side's TCP connection with a reset
    (SO_LINGER 0), never with a clean close. Backpressure: a TCP socket
    is read only while its stream has room, a stream only while its TCP
    socket takes the bytes. Over the connection limit a new TCP
    connection is reset at once (encrypting side), and a new CurveCP
    connection ends at once with a failure EOF (decrypting side), which
    resets its TCP connection at the encrypting side; both are counted.
    Keepalive (keepalive_ns, encrypting side): an idle connection sends
    a zero message that often, so a NAT or gateway on the way keeps its
    mapping and the service's bytes after a long silence still arrive.  */
#ifndef CURVECP_TUNNEL_H_INCLUDED
#define CURVECP_TUNNEL_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "curvecp_keys.h"
#include "curvecp_nonce16.h"
#include "curvecp_reason.h"
#include "curvecp_stream.h"
#include "curvecp_udp_addr.h"

typedef struct _curvecp_tunnel_t curvecp_tunnel_t;

#define CURVECP_TUNNEL_NAME "tunnel"      /* server name when none is given */

typedef struct {
    bool encrypt;                         /* -e: TCP in, CurveCP out; else -d */
    curvecp_udp_addr_t source;            /* -e: TCP to listen on; -d: UDP to listen on */
    curvecp_udp_addr_t target;            /* -e: the -d side's UDP address; -d: the TCP service */
    uint8_t server_pk[CURVECP_KEY_BYTES]; /* -e: the -d side's long-term key */
    const curvecp_keypair_t *keys;        /* -d: its long-term keys (copied) */
    const char *name;                     /* server name (NULL: CURVECP_TUNNEL_NAME) */
    uint8_t ext[CURVECP_EXT_BYTES];       /* server extension */
    int max_connections;                  /* 0 = 100 */
    const curvecp_stream_config_t *stream;/* NULL: the UDP defaults */
    curvecp_nonce16_fn cookie_nonce;      /* -d: NULL = random */
    void *cookie_nonce_context;
    uint64_t keepalive_ns;                /* -e: an idle connection sends a zero message this
                                             often, so a NAT or gateway on the way keeps its
                                             mapping for the -d side's replies (0 = off) */
} curvecp_tunnel_config_t;

typedef struct {
    uint64_t accepted;            /* TCP connections taken (-e) / CurveCP connections (-d) */
    uint64_t refused;             /* over the limit (-e: reset at once; -d: failure EOF) */
    uint64_t clean;               /* ended with FIN both ways */
    uint64_t resets;              /* TCP connections we ended with a reset */
    uint64_t tcp_resets;          /* TCP resets (or errors) we turned into failure EOFs */
    uint64_t failed;              /* CurveCP connections failed or ended with a failure EOF */
    uint64_t connect_failed;      /* -d: the TCP service refused */
    uint64_t live;                /* tunnelled connections now */
    uint64_t datagrams_refused;   /* UDP datagrams dropped for any reason */
    uint64_t roams;               /* -d: connections that followed the -e side to a new address */
    uint64_t bytes_in, bytes_out; /* TCP -> CurveCP, CurveCP -> TCP */
    uint64_t keepalives;          /* -e: keepalives sent (keepalive_ns) */
} curvecp_tunnel_info_t;

void curvecp_tunnel_config_default (curvecp_tunnel_config_t *config);

/* Bind both sockets. NULL with errno set. */
curvecp_tunnel_t *curvecp_tunnel_new (const curvecp_tunnel_config_t *config);

/* Reset every TCP connection still open, free, set *self_p to NULL. */
void curvecp_tunnel_destroy (curvecp_tunnel_t **self_p);

/* The address -s is bound to (its real port after port 0). */
void curvecp_tunnel_local (const curvecp_tunnel_t *self, curvecp_udp_addr_t *addr);

/* One turn of the loop: wait for sockets at most max_wait_ns (or until a
   signal arrives), then move what can move. */
void curvecp_tunnel_step (curvecp_tunnel_t *self, uint64_t max_wait_ns);

/* -e: move to a new UDP port (as after a NAT rebinding); every
   connection carries on there. */
curvecp_reason_t curvecp_tunnel_rebind (curvecp_tunnel_t *self);

const curvecp_tunnel_info_t *curvecp_tunnel_info (curvecp_tunnel_t *self);

#endif
