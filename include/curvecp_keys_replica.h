/*  curvecp_keys_replica.h - a live copy of the key service's signed key
    set (curvecp-keyd), kept up to date the way the ØMQ Guide's Clone
    pattern (chapter 5) keeps its copies: take a snapshot, then follow
    the updates in sequence; a sequence number that skips (an update past
    a gap, or a heartbeat announcing a later set) makes it take a new
    snapshot. Everything it takes must be signed by the administrator key
    (curvecp_keyset.h): nothing else ever changes it.
        curvecp_keys_replica_config_t config = { .endpoint = "tcp://127.0.0.1:7100", ... };
        curvecp_keys_replica_t *replica = curvecp_keys_replica_new (&config);
        curvecp_zmq_server_set_authoriser (server, curvecp_keys_replica_authorise, replica);
    It takes snapshots over the secured DEALER-ROUTER (a curvecp_zmq_client
    session; the reply also says where the service publishes) and follows
    the updates and heartbeats over the secured PUB-SUB (a curvecp_zmq_sub
    of the service's curvecp_zmq_pub, which the service's long-term key
    authenticates); a service that publishes nothing pushes them down the
    session instead (SUBSCRIBE). It runs in a thread of its own, so a
    server in any loop can ask it at any time.
    With a state file it saves every signed set it takes (atomically) and
    starts from that file, so that it has a set to serve before, or
    without, the key service. When it hears nothing from the service for
    lost_after_ms it says so (live false, a line on the log) and keeps
    serving its last signed set while it tries again.                  */

#ifndef CURVECP_KEYS_REPLICA_H_INCLUDED
#define CURVECP_KEYS_REPLICA_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "curvecp_export.h"
#include "curvecp_keys.h"
#include "curvecp_keyset.h"

CURVECP_BEGIN_DECLS

typedef struct _curvecp_keys_replica_t curvecp_keys_replica_t;


typedef struct {
    const char *endpoint;                          /* the key service's ØMQ endpoint */
    uint8_t keyd_key[CURVECP_KEY_BYTES];           /* its long-term public key */
    const char *keyd_name;                         /* its server name (NULL: "keyd") */
    uint8_t admin_key[CURVECP_KEYSET_ADMIN_PUBLIC_BYTES];  /* who signs the set */
    const curvecp_keypair_t *keys;                 /* ours (NULL: a fresh pair) */
    const char *state_file;                        /* last signed set (NULL: none) */
    int lost_after_ms;                             /* silence that means lost (0: 3000) */
    FILE *log;                                     /* status lines (NULL: none) */
} curvecp_keys_replica_config_t;

typedef struct {
    uint64_t snapshots;         /* snapshots taken */
    uint64_t updates;           /* updates applied */
    uint64_t published;         /* ... of them taken from the PUB-SUB */
    uint64_t resyncs;           /* new snapshots asked for after a gap */
    uint64_t losses;            /* times the service was found lost */
    uint64_t bad_heartbeats;    /* HUGZ whose sequence number is not one: ignored */
    curvecp_keyset_stats_t set; /* every snapshot and update, by result */
} curvecp_keys_replica_stats_t;

/* Start (the state file, if any, is loaded at once). NULL on a bad
   config or a thread that cannot start. */
CURVECP_EXPORT curvecp_keys_replica_t *curvecp_keys_replica_new (const curvecp_keys_replica_config_t *config);
CURVECP_EXPORT void curvecp_keys_replica_destroy (curvecp_keys_replica_t **self_p);

/* Is key in the set and not revoked? (thread-safe) */
CURVECP_EXPORT bool curvecp_keys_replica_allowed (curvecp_keys_replica_t *self, const uint8_t key[CURVECP_KEY_BYTES]);
/* The same as an authoriser for curvecp_zmq_server_set_authoriser and
   curvecp_udp_server_config_t.authorise (arg: the replica). */
CURVECP_EXPORT bool curvecp_keys_replica_authorise (void *replica, const uint8_t client_key[CURVECP_KEY_BYTES]);
/* The key of the newest live entry with this name. 0, or -1 if none. */
CURVECP_EXPORT int curvecp_keys_replica_lookup (curvecp_keys_replica_t *self, const char *name,
        uint8_t key[CURVECP_KEY_BYTES]);
/* A copy of the set now (destroy it). */
CURVECP_EXPORT curvecp_keyset_t *curvecp_keys_replica_set (curvecp_keys_replica_t *self);
CURVECP_EXPORT uint64_t curvecp_keys_replica_seq (curvecp_keys_replica_t *self);
/* Does it hear the key service now? false before the first snapshot
   and once lost (it then serves its last signed set). */
CURVECP_EXPORT bool curvecp_keys_replica_live (curvecp_keys_replica_t *self);
/* Wait up to timeout_ms until its set is at seq or later (and live if
   live is true). true if so. */
CURVECP_EXPORT bool curvecp_keys_replica_wait (curvecp_keys_replica_t *self, uint64_t seq, bool live, int timeout_ms);
CURVECP_EXPORT curvecp_keys_replica_stats_t curvecp_keys_replica_stats (curvecp_keys_replica_t *self);

CURVECP_END_DECLS

#endif
