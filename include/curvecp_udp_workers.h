/*  curvecp_udp_workers.h - a CurveCP UDP server on N cores: N workers,
    each a curvecp_udp_server on its own thread, sharing one port.

    The kernel steers every datagram by the client's short-term key C'
    (SO_REUSEPORT with a BPF program: see curvecp_udp_server_new_worker),
    so a connection's packets, whatever address they come from, and every
    Initiate carrying its C' (a replay too) reach the same worker; minute
    keys are the same in every worker. Nothing is locked on the packet
    path; workers share no memory at run time.

    The config is curvecp_udp_server_config_t's, with these differences:
    on_connect and on_message run on the connection's worker thread (use
    the connection only there, from those callbacks; stream mode needs
    on_connect); max_connections and the other limits are per worker; a
    cookie_nonce function is called under a lock the workers share.       */
#ifndef CURVECP_UDP_WORKERS_H_INCLUDED
#define CURVECP_UDP_WORKERS_H_INCLUDED

#include "curvecp_export.h"
#include "curvecp_udp_server.h"

CURVECP_BEGIN_DECLS

typedef struct _curvecp_udp_workers_t curvecp_udp_workers_t;

#define CURVECP_UDP_WORKERS_MAX 64

/* count workers (1..CURVECP_UDP_WORKERS_MAX) bound to config->bind, not
   yet running. NULL with errno set. */
CURVECP_EXPORT curvecp_udp_workers_t *curvecp_udp_workers_new (const curvecp_udp_server_config_t *config,
        int count);

/* Stop the threads (if running), destroy every worker, set *self_p NULL. */
CURVECP_EXPORT void curvecp_udp_workers_destroy (curvecp_udp_workers_t **self_p);

/* A name for every worker (before start): its index, -1 if refused. */
CURVECP_EXPORT int curvecp_udp_workers_add_name (curvecp_udp_workers_t *self, const char *name);

CURVECP_EXPORT int curvecp_udp_workers_count (const curvecp_udp_workers_t *self);

/* Worker index's server: to use before start or after stop. */
CURVECP_EXPORT curvecp_udp_server_t *curvecp_udp_workers_server (curvecp_udp_workers_t *self, int index);

/* The shared address (the real port after binding port 0). */
CURVECP_EXPORT void curvecp_udp_workers_local (const curvecp_udp_workers_t *self, curvecp_udp_addr_t *addr);

/* One thread per worker runs its event loop. 0, or -1 with errno. */
CURVECP_EXPORT int curvecp_udp_workers_start (curvecp_udp_workers_t *self);

/* Ask every thread to stop and wait for it (connections stay). */
CURVECP_EXPORT void curvecp_udp_workers_stop (curvecp_udp_workers_t *self);

/* Every worker's counters summed (safe while running: each worker copies
   its own at its next turn, woken for it). */
CURVECP_EXPORT void curvecp_udp_workers_stats (curvecp_udp_workers_t *self, curvecp_stats_t *stats);
CURVECP_EXPORT void curvecp_udp_workers_info (curvecp_udp_workers_t *self, curvecp_udp_server_info_t *info);

/* Live connections in all workers; per worker in counts[] if not NULL
   (count entries). Safe while running. */
CURVECP_EXPORT int curvecp_udp_workers_connections (curvecp_udp_workers_t *self, int *counts);

CURVECP_END_DECLS

#endif
