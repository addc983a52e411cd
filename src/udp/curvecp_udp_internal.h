/*  curvecp_udp_internal.h - what the UDP carrier's classes share and the
    public API hides: the connection struct, and the deadline heap that
    lets one server run thousands of connections' timers in O(log n).    */
#ifndef CURVECP_UDP_INTERNAL_H_INCLUDED
#define CURVECP_UDP_INTERNAL_H_INCLUDED

#include "curvecp_conn.h"
#include "curvecp_heap.h"
#include "curvecp_session.h"
#include "curvecp_stream.h"
#include "curvecp_udp_conn.h"
#include "curvecp_udp_socket.h"

/* ---- deadline heap (the core heap; see curvecp_udp_timers.c) ---------- */

typedef struct {
    curvecp_heap_t *heap;                  /* NULL until the first insert */
} curvecp_udp_timers_t;

void curvecp_udp_timers_init (curvecp_udp_timers_t *self);
void curvecp_udp_timers_free (curvecp_udp_timers_t *self);
/* Insert, move or (deadline UINT64_MAX) remove conn. 0 or -1 (no memory). */
int curvecp_udp_timers_set (curvecp_udp_timers_t *self, curvecp_udp_conn_t *conn, uint64_t deadline);
/* Earliest conn, or NULL. */
curvecp_udp_conn_t *curvecp_udp_timers_first (const curvecp_udp_timers_t *self);
uint64_t curvecp_udp_timers_deadline (const curvecp_udp_timers_t *self);
/* Run every connection due by now (curvecp_udp_conn_run), earliest first;
   one that is done goes to forget (which must take it out of the heap),
   one with more to send now waits for the next call, after the others. */
typedef void curvecp_udp_forget_fn (void *owner, curvecp_udp_conn_t *conn);
void curvecp_udp_timers_run (curvecp_udp_timers_t *self, uint64_t now, curvecp_udp_forget_fn *forget, void *owner);

/* ---- the connection --------------------------------------------------- */

/* The message layer's settings a UDP connection uses by default (wider
   windows than the core's); a tool that changes one setting (a shorter
   give-up for a test) starts from here. */
void curvecp_udp_stream_config_default (curvecp_stream_config_t *config);

typedef struct {
    curvecp_udp_message_fn *on_message;      /* message mode if set */
    void *on_message_arg;
    const curvecp_stream_config_t *stream;   /* stream mode config (NULL = defaults) */
    uint64_t linger_ns;                      /* after done, before freeing */
    const curvecp_rng_t *rng;                /* the stream's when its config has none
                                                (NULL: the system's) */
    uint64_t keepalive_ns;                   /* idle: a zero message this often (0: off;
                                                curvecp_conn_config_t.keepalive_ns) */
} curvecp_udp_conn_config_t;

/* What the UDP carrier adds to a core connection: where its packets go
   (the peer's address, followed when a client roams), the owner's socket
   and timer heap, and the owner's tables. */
struct _curvecp_udp_conn_t {
    curvecp_conn_t *conn;                  /* the protocol: handshake, session, stream, timers */
    curvecp_udp_message_fn *on_message;    /* message mode */
    void *on_message_arg;
    curvecp_udp_socket_t *sock;            /* the owner's socket */
    curvecp_udp_timers_t *timers;          /* the owner's deadline heap */
    curvecp_udp_addr_t peer;
    curvecp_udp_addr_t candidate;          /* roaming: verified packet came from here */
    bool candidate_answered;               /* and we have sent there since */
    const curvecp_udp_addr_t *arriving_from;   /* server, during input: the packet's source */
    bool user_closed;
    curvecp_heap_node_t timer;             /* deadline, as held in the heap */
    curvecp_udp_conn_t *accept_next;       /* server: accept queue */
    void *user;
    uint64_t initiates_in;                 /* server: the Initiate that made it */
    struct _curvecp_listener_entry_t *entry;   /* server: its entry in the listener's
                                              C' table (the session, C' included, is
                                              wiped when the connection fails) */
    curvecp_udp_conn_info_t info;
};

/* Server connection from a ready session (copied; the caller wipes its own). */
curvecp_udp_conn_t *curvecp_udp_conn_new_accepted (const curvecp_udp_conn_config_t *config,
        const curvecp_session_t *session, curvecp_udp_socket_t *sock, curvecp_udp_timers_t *timers,
        const curvecp_udp_addr_t *peer, uint64_t now);

/* Client connection, handshake not yet begun (its Hellos go out through
   the client, which picks each one's address). */
curvecp_udp_conn_t *curvecp_udp_conn_new_client (const curvecp_udp_conn_config_t *config,
        const curvecp_keypair_t *long_term, const uint8_t server_pk[CURVECP_KEY_BYTES],
        const char *server_name, const uint8_t server_ext[CURVECP_EXT_BYTES],
        const uint8_t client_ext[CURVECP_EXT_BYTES], curvecp_udp_socket_t *sock,
        curvecp_udp_timers_t *timers, const curvecp_udp_addr_t *peer, uint64_t now);

/* Free (wipes the session); does not touch the owner's tables. */
void curvecp_udp_conn_free (curvecp_udp_conn_t **self_p);

/* A packet for this connection from from: open it, follow roaming,
   deliver the message. Returns the connection's verdict. If reader_due
   is not NULL, *reader_due is set when this packet made half the receive
   window wait unread (see curvecp_udp_conn_wants_reader): the carrier
   stops after its batch so the application reads. */
curvecp_reason_t curvecp_udp_conn_input (curvecp_udp_conn_t *self, const uint8_t *packet, size_t len,
        const curvecp_udp_addr_t *from, uint64_t now, bool *reader_due);

/* Deliver a message that came inside a new connection's Initiate. */
void curvecp_udp_conn_deliver (curvecp_udp_conn_t *self, const uint8_t *message, size_t len, uint64_t now);

/* Send what is due and reschedule. Returns true when the owner should
   free the connection (closed by the user and finished, or failed). */
bool curvecp_udp_conn_run (curvecp_udp_conn_t *self, uint64_t now);

/* The client moved to a new socket: announce it with zero messages
   (repeated with back-off) until a packet arrives there. */
void curvecp_udp_conn_probe (curvecp_udp_conn_t *self, uint64_t now);

/* Ask for a run as soon as possible (after input or an app call). */
void curvecp_udp_conn_wake (curvecp_udp_conn_t *self);

/* Enough received bytes wait unread that the carrier should stop reading
   and let the application read. */
bool curvecp_udp_conn_wants_reader (const curvecp_udp_conn_t *self);

/* In place, for the tools' pipes (one copy fewer each way): received
   bytes lying contiguous in the stream (consume n of them with
   curvecp_udp_conn_recv (self, NULL, n)), and free send space lying
   contiguous, queued by commit (n <= what reserve returned). */
size_t curvecp_udp_conn_recv_peek (const curvecp_udp_conn_t *self, const uint8_t **data);
size_t curvecp_udp_conn_send_reserve (curvecp_udp_conn_t *self, uint8_t **space);
void curvecp_udp_conn_send_commit (curvecp_udp_conn_t *self, size_t len);

/* The message layer (stream mode; NULL in message mode), read-only: for
   tests and benchmarks inside this tree. */
const curvecp_stream_t *curvecp_udp_conn_stream (const curvecp_udp_conn_t *self);

#endif
