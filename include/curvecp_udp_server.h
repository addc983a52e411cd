/*  curvecp_udp_server.h - a CurveCP server on one UDP socket ("listen").

    One socket serves many connections, each found by the client's
    short-term key C' (so a client may change address). Hellos are
    answered from the stack with nothing stored or allocated; a
    connection is created only by a valid Initiate (cookie, box, name,
    vouch). At the connection limit new Initiates are dropped and counted
    (CURVECP_E_FULL) while Hellos are still answered, as NaCl does; so
    are new Initiates while max_pending connections have not yet sent a
    Client Message, or while the memory those could allocate (their
    stream buffers) would exceed max_pending_memory.
    Several server names (virtual hosts) share the socket; each
    connection says which one it asked for.

    Event loop: poll curvecp_udp_server_fd for POLLIN (and POLLOUT when
    curvecp_udp_server_want_write), sleep no later than
    curvecp_udp_server_deadline, then call curvecp_udp_server_process.
    Datagrams move in batches (recvmmsg / sendmmsg).

    Under a Hello flood: a Hello costs two X25519 multiplications, a
    Message almost nothing, so process reads everything waiting first,
    handles the packets of known connections at once, then Initiates,
    and queues the Hellos (a fixed queue, fair between source addresses).
    The ØMQ server shares this defence (both use the core listener). Hellos are answered within a time budget per
    process call, and between every few of them the socket is read again,
    so connections' packets never wait behind a Hello for long nor
    overflow the kernel's queue. Hellos the queue cannot hold are dropped
    and counted CURVECP_E_OVERLOADED; a client sends its Hello again.

    Time: every now and deadline here is monotonic nanoseconds from
    curvecp_clock_now (curvecp_clock.h); examples/udp_echo.c is an event
    loop that drives a server and a client this way.    */
#ifndef CURVECP_UDP_SERVER_H_INCLUDED
#define CURVECP_UDP_SERVER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "curvecp_clock.h"
#include "curvecp_export.h"
#include "curvecp_keys.h"
#include "curvecp_nonce16.h"
#include "curvecp_reason.h"
#include "curvecp_udp_addr.h"
#include "curvecp_udp_conn.h"

CURVECP_BEGIN_DECLS

typedef struct _curvecp_udp_server_t curvecp_udp_server_t;

/* The message layer's settings (curvecp_stream_config_t, internal for
   now): a server made outside this tree passes NULL, the defaults. */
struct _curvecp_stream_config_t;

/* A new connection (server's on_connect): name_index says which name. */
typedef void (curvecp_udp_connect_fn) (curvecp_udp_conn_t *conn, void *arg);

typedef struct {
    const curvecp_keypair_t *keys;             /* S, s (copied) */
    uint8_t ext[CURVECP_EXT_BYTES];            /* our extension */
    curvecp_udp_addr_t bind;                   /* ip and port to listen on */
    int max_connections;                       /* 0 = 100, as curvecpserver */
    curvecp_nonce16_fn cookie_nonce;           /* NULL = random (tools: safenonce) */
    void *cookie_nonce_context;
    curvecp_udp_message_fn *on_message;        /* set: message mode */
    void *on_message_arg;
    curvecp_udp_connect_fn *on_connect;        /* set: told of each new connection
                                                  (instead of the accept queue) */
    void *on_connect_arg;
    const struct _curvecp_stream_config_t *stream;  /* stream mode settings (NULL = defaults) */
    uint64_t linger_ns;                        /* after a closed stream is done (0 = 2 s) */
    size_t hello_queue;                        /* Hellos waiting at most (0 = 1024) */
    uint64_t hello_budget_ns;                  /* time answering Hellos per process
                                                  call (0 = 1 ms; at least one Hello) */
    uint32_t hello_rate;                       /* Hellos answered per second at most
                                                  (0 = no limit but the budget) */
    size_t max_pending;                        /* connections without a Client Message
                                                  yet (0 = max_connections) */
    size_t max_pending_memory;                 /* bytes those may allocate, counted as
                                                  their stream buffers (0 = no budget,
                                                  as NaCl: max_connections bounds them) */
    curvecp_authorise_fn *authorise;           /* set: asked about each verified
                                                  Initiate's client key; a refused
                                                  client gets no connection
                                                  [not-authorised] (NULL: everyone) */
    void *authorise_arg;
} curvecp_udp_server_config_t;

/* Zero config with NaCl's defaults. */
CURVECP_EXPORT void curvecp_udp_server_config_default (curvecp_udp_server_config_t *config);

/* Bind and listen. NULL with errno set (bind failed, bad config). */
CURVECP_EXPORT curvecp_udp_server_t *curvecp_udp_server_new (const curvecp_udp_server_config_t *config);

/* Workers: one server of workers (1..) that share one port so that
   each runs on its own core, each driven by its own thread like any
   server (curvecp_udp_workers.h runs them for you). Make them in order,
   first = NULL for the first, then first = the first one (its port,
   even after binding port 0, and its minute keys). The kernel steers
   each datagram by the client's short-term key C' (SO_REUSEPORT with a
   classic BPF program), so a connection's packets reach its worker from
   any address, and a replayed Initiate reaches the worker whose replay
   cache holds its C'. The workers share minute keys (any worker opens
   a cookie another made): at each minute's rotation the first worker to
   rotate draws the new keys and the others take them, under a lock
   taken once a minute; nothing is locked per packet. Each worker has its own
   limits (max_connections etc. are per worker) and counters. A
   cookie_nonce function is called from every worker's thread: it must
   be thread-safe. NULL with errno set (bind failed, bad arguments, no
   SO_REUSEPORT or BPF steering in this kernel). */
CURVECP_EXPORT curvecp_udp_server_t *curvecp_udp_server_new_worker (const curvecp_udp_server_config_t *config,
        curvecp_udp_server_t *first, int workers);

/* Close the socket, free every connection (handles the user still holds
   become invalid), wipe secrets, set *self_p to NULL. */
CURVECP_EXPORT void curvecp_udp_server_destroy (curvecp_udp_server_t **self_p);

/* Accept Initiates for this name; returns its index (0, 1, ...), -1 on
   a bad name or too many names. A server needs at least one. */
CURVECP_EXPORT int curvecp_udp_server_add_name (curvecp_udp_server_t *self, const char *name);

CURVECP_EXPORT int curvecp_udp_server_fd (const curvecp_udp_server_t *self);

/* The bound address (the real port after binding port 0). */
CURVECP_EXPORT void curvecp_udp_server_local (const curvecp_udp_server_t *self, curvecp_udp_addr_t *addr);

/* Latest time (monotonic ns) to call process again; 0 = now. */
CURVECP_EXPORT uint64_t curvecp_udp_server_deadline (const curvecp_udp_server_t *self);

/* Datagrams wait for socket space: poll for POLLOUT too. */
CURVECP_EXPORT bool curvecp_udp_server_want_write (const curvecp_udp_server_t *self);

/* Read and handle every waiting datagram, run due timers, send. */
CURVECP_EXPORT void curvecp_udp_server_process (curvecp_udp_server_t *self, uint64_t now);

/* Run due timers and send, reading the socket (as process does) only if
   the last read may have left datagrams waiting or Hellos wait for an
   answer. For a loop that just processed, or was woken by another socket,
   and whose connections were given bytes to send: no recvmmsg that would
   find nothing (poll says when datagrams come). */
CURVECP_EXPORT void curvecp_udp_server_send_due (curvecp_udp_server_t *self, uint64_t now);

/* Next new connection, or NULL (stream mode without on_connect). */
CURVECP_EXPORT curvecp_udp_conn_t *curvecp_udp_server_accept (curvecp_udp_server_t *self);

/* Live connections (including closed ones still lingering). */
CURVECP_EXPORT int curvecp_udp_server_connections (const curvecp_udp_server_t *self);

/* Every datagram's fate, counted once per datagram by reason:
   counts[CURVECP_OK] = handled; CURVECP_E_FULL = Initiate refused at the
   limit; CURVECP_E_UNKNOWN_SESSION = Message for no connection;
   CURVECP_E_OVERLOADED = Hello dropped from a full queue, or Initiate
   for a new connection over the per-call bound; ... A queued Hello is
   counted when it is answered or dropped. */
CURVECP_EXPORT const curvecp_stats_t *curvecp_udp_server_stats (const curvecp_udp_server_t *self);

typedef struct {
    uint64_t hellos;              /* Hellos answered with a Cookie */
    uint64_t connections;         /* connections created */
    uint64_t closed;              /* connections freed */
    uint64_t roams;               /* connections that moved address */
    uint64_t datagrams_in, datagrams_out;
    uint64_t recv_calls, send_calls;
    uint64_t hellos_waiting;      /* queued, not yet answered */
    uint64_t hellos_dropped;      /* dropped from a full queue (CURVECP_E_OVERLOADED) */
    uint64_t pending;             /* connections without a Client Message yet */
    uint64_t pending_memory;      /* bytes charged to them */
    uint64_t pending_memory_full; /* Initiates refused [full] for the pending budget */
} curvecp_udp_server_info_t;

/* Counters (filled in when called). */
CURVECP_EXPORT const curvecp_udp_server_info_t *curvecp_udp_server_info (curvecp_udp_server_t *self);

CURVECP_END_DECLS

#endif
