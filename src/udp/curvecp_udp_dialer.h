/*  curvecp_udp_dialer.h - many CurveCP client connections to one server
    over one UDP socket (in-tree, for curvecp-tunnel; not in the ABI yet).

    curvecp_udp_client owns a socket per connection. A program that opens
    a connection per request (a tunnel: one per TCP connection) wants one
    socket for all of them, one fd to poll, one port in a firewall. The
    server's packets (Cookie, Server Message) name the client's extension,
    not C', so the dialer gives each connection a fresh random client
    extension and finds a packet's connection by it: exactly what the
    extension is for (the client-side gateway of CurveCP's addressing).
    Packets from any address but the server's are refused (wrong-source).

    Connections are the carrier's curvecp_udp_conn (stream mode), driven
    by the dialer's process: Hellos on NaCl's schedule while it has no
    Cookie, then the deadline heap. Give one back with
    curvecp_udp_conn_close: it is freed once finished (acknowledged and
    lingered, or failed). A rebind moves every connection to a new local
    port; the server follows each by C'.                                   */
#ifndef CURVECP_UDP_DIALER_H_INCLUDED
#define CURVECP_UDP_DIALER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "curvecp_keys.h"
#include "curvecp_nonce16.h"
#include "curvecp_reason.h"
#include "curvecp_stream.h"
#include "curvecp_udp_addr.h"
#include "curvecp_udp_conn.h"

typedef struct _curvecp_udp_dialer_t curvecp_udp_dialer_t;

typedef struct {
    uint8_t server_pk[CURVECP_KEY_BYTES];
    const char *server_name;                   /* dotted */
    uint8_t server_ext[CURVECP_EXT_BYTES];
    curvecp_udp_addr_t server;                 /* its UDP address */
    const curvecp_keypair_t *long_term;        /* C, c; NULL = a fresh pair for the dialer */
    curvecp_nonce16_fn vouch_nonce;            /* NULL = random */
    void *vouch_nonce_context;
    const curvecp_stream_config_t *stream;     /* NULL = the UDP defaults */
    uint64_t linger_ns;                        /* a closed connection, once done (0 = 2 s) */
    uint64_t keepalive_ns;                     /* an idle connection sends a zero message this
                                                  often, so a NAT keeps its mapping (0 = off) */
} curvecp_udp_dialer_config_t;

typedef struct {
    uint64_t connections;         /* connections made */
    uint64_t closed;              /* connections freed */
    uint64_t live;                /* connections held now (closed ones lingering too) */
    uint64_t hellos;              /* Hellos sent */
    uint64_t rebinds;
} curvecp_udp_dialer_info_t;

/* Zero config. */
void curvecp_udp_dialer_config_default (curvecp_udp_dialer_config_t *config);

/* One socket (ephemeral port) towards config->server. NULL with errno. */
curvecp_udp_dialer_t *curvecp_udp_dialer_new (const curvecp_udp_dialer_config_t *config);

/* Close the socket, free every connection (handles still held become
   invalid), wipe, set *self_p to NULL. */
void curvecp_udp_dialer_destroy (curvecp_udp_dialer_t **self_p);

/* A new connection (its first Hello goes out at the next process).
   Bytes sent before the Cookie wait and go in the first Initiate. NULL
   on no memory. */
curvecp_udp_conn_t *curvecp_udp_dialer_connect (curvecp_udp_dialer_t *self, uint64_t now);

/* Has this connection's handshake failed (8 Hellos unanswered)? Then
   the connection has failed too (curvecp_udp_conn_failed). */
bool curvecp_udp_dialer_conn_no_response (const curvecp_udp_conn_t *conn, uint64_t now);

int curvecp_udp_dialer_fd (const curvecp_udp_dialer_t *self);
void curvecp_udp_dialer_local (const curvecp_udp_dialer_t *self, curvecp_udp_addr_t *addr);
uint64_t curvecp_udp_dialer_deadline (const curvecp_udp_dialer_t *self);
bool curvecp_udp_dialer_want_write (const curvecp_udp_dialer_t *self);

/* Read and handle every waiting datagram, send Hellos due, run due
   connections, send. */
void curvecp_udp_dialer_process (curvecp_udp_dialer_t *self, uint64_t now);

/* Send Hellos due, run due connections, send; the socket is read (as by
   process) only if the last read may have left datagrams waiting. For a
   caller that just read the socket, or was woken by something else, and
   whose connections have something to send now: no recvmmsg that finds
   nothing (its poll says when datagrams come). */
void curvecp_udp_dialer_send_due (curvecp_udp_dialer_t *self, uint64_t now);

/* Move to a fresh socket (new local port); every connection announces
   itself there. The fd changes. */
curvecp_reason_t curvecp_udp_dialer_rebind (curvecp_udp_dialer_t *self, uint64_t now);

/* Every datagram's fate by reason (wrong-source, unknown extension =
   CURVECP_E_UNKNOWN_SESSION, ...). */
const curvecp_stats_t *curvecp_udp_dialer_stats (const curvecp_udp_dialer_t *self);
const curvecp_udp_dialer_info_t *curvecp_udp_dialer_info (const curvecp_udp_dialer_t *self);

#endif
