/*  curvecp_keyd.h - the key service (curvecp-keyd): it holds the signed
    key set (curvecp_keyset.h) in a state file and serves it over the
    secured DEALER-ROUTER (curvecp_zmq_server) on the Clone pattern: a
    SNAPSHOT gets the signed set and where the updates are published; the
    updates, in sequence, and a heartbeat (HUGZ) with the set's sequence
    number every second go out on the secured PUB-SUB (a curvecp_zmq_pub
    under the same long-term key, bound next to the service's endpoint:
    tcp://host:* for tcp://host:port, endpoint-keys / endpoint-data
    otherwise), and down the session of each client that sent SUBSCRIBE.
    A CHANGE carries an administrator's signed update, which it applies
    only if the administrator signed it and it is the next in sequence,
    saves, then publishes.
    The service holds no administrator secret: it cannot make a change,
    only pass on the ones the administrator signed.
        curvecp_keyd_t *keyd = curvecp_keyd_new (&keys, "keyd", admin_key, "state/keyset");
        curvecp_keyd_bind (keyd, "tcp://127.0.0.1:7100");
        curvecp_keyd_start (keyd);          // serves in a thread of its own
    The client side (an administrator's tool, a lister) uses
    curvecp_keyd_fetch and curvecp_keyd_change over a curvecp_zmq_client;
    replicas use curvecp_keys_replica.h.                               */

#ifndef CURVECP_KEYD_H_INCLUDED
#define CURVECP_KEYD_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "curvecp_export.h"
#include "curvecp_keys.h"
#include "curvecp_keyset.h"
#include "curvecp_zmq_client.h"
#include "curvecp_zmq_server.h"

CURVECP_BEGIN_DECLS

typedef struct _curvecp_keyd_t curvecp_keyd_t;

/* What the service made of a request (rfc 18.2, ks-request): anything
   but OK is refused before it touches the set or the subscribers,
   counted (curvecp_keyd_refused_requests) and logged; a refused request
   that names CHANGE gets REFUSED malformed, any other no reply. */
typedef enum {
    CURVECP_KEYD_REQUEST_OK = 0,
    CURVECP_KEYD_REQUEST_EMPTY,         /* no frame at all */
    CURVECP_KEYD_REQUEST_UNKNOWN,       /* the first frame is no command (exactly) */
    CURVECP_KEYD_REQUEST_NO_UPDATE,     /* CHANGE without its update frame */
    CURVECP_KEYD_REQUEST_OVERSIZED,     /* an update longer than any can be */
    CURVECP_KEYD_REQUEST_TRAILING,      /* frames after the request's last */
    CURVECP_KEYD_REQUEST_RESULTS
} curvecp_keyd_request_result_t;

/* A key service with our long-term keys and server name, trusting
   admin_key, keeping its set in state_file (loaded if it exists; NULL:
   in memory only). NULL on a bad name or an unreadable state file. */
CURVECP_EXPORT curvecp_keyd_t *curvecp_keyd_new (const curvecp_keypair_t *keys, const char *name,
        const uint8_t admin_key[CURVECP_KEYSET_ADMIN_PUBLIC_BYTES], const char *state_file);
CURVECP_EXPORT void curvecp_keyd_destroy (curvecp_keyd_t **self_p);
/* Its server, to set an allow-list, options, ... before start. */
CURVECP_EXPORT curvecp_zmq_server_t *curvecp_keyd_server (curvecp_keyd_t *self);
/* Bind the service (as curvecp_zmq_server_bind: the port for
   tcp://...:*) and, the first time, its publisher next to it; -1 if
   either cannot be bound. */
CURVECP_EXPORT int curvecp_keyd_bind (curvecp_keyd_t *self, const char *endpoint);
/* Lines about changes and refusals (NULL: none). */
CURVECP_EXPORT void curvecp_keyd_set_log (curvecp_keyd_t *self, FILE *log);
/* Serve in a thread until destroy. 0 or -1. */
CURVECP_EXPORT int curvecp_keyd_start (curvecp_keyd_t *self);
CURVECP_EXPORT uint64_t curvecp_keyd_seq (curvecp_keyd_t *self);
CURVECP_EXPORT size_t curvecp_keyd_subscribers (curvecp_keyd_t *self);
/* Changes refused so far (each also counted in the set's stats). */
CURVECP_EXPORT curvecp_keyset_stats_t curvecp_keyd_stats (curvecp_keyd_t *self);
/* Requests refused so far for this reason (OK: requests taken). */
CURVECP_EXPORT uint64_t curvecp_keyd_refused_requests (curvecp_keyd_t *self, curvecp_keyd_request_result_t why);
CURVECP_EXPORT const char *curvecp_keyd_request_result_text (curvecp_keyd_request_result_t why);

/* Client side. The service's signed set, checked against admin_key;
   NULL on timeout, failure or a set that is not the administrator's. */
CURVECP_EXPORT curvecp_keyset_t *curvecp_keyd_fetch (curvecp_zmq_client_t *client,
        const uint8_t admin_key[CURVECP_KEYSET_ADMIN_PUBLIC_BYTES], int timeout_ms);
/* Send a signed update; the service's answer: CURVECP_KEYSET_OK or why
   it refused it (CURVECP_KEYSET_UNKNOWN_REASON: a reason this build
   does not know; CURVECP_KEYSET_RESULTS on timeout, failure or a reply
   that does not decode). *seq (if not NULL) gets the service's sequence
   number after it. */
CURVECP_EXPORT curvecp_keyset_result_t curvecp_keyd_change (curvecp_zmq_client_t *client, const uint8_t *update,
        size_t size, int timeout_ms, uint64_t *seq);

/* The key of the newest live entry named name in the set of the service
   at keyd_spec ("HEX@ENDPOINT": its public key and ØMQ endpoint, server
   name "keyd"), checked against admin_key. 0, or -1 (no such name, no
   answer within timeout_ms, a bad spec or set). */
CURVECP_EXPORT int curvecp_keyd_lookup (const char *keyd_spec, const uint8_t admin_key[CURVECP_KEYSET_ADMIN_PUBLIC_BYTES],
        const char *name, uint8_t key[CURVECP_KEY_BYTES], int timeout_ms);
/* Parse "HEX@ENDPOINT" (64 hex digits; an endpoint of 1..255 printable
   characters, no space): the key, and the endpoint's start in spec.
   0, or -1 with key and *endpoint untouched. */
CURVECP_EXPORT int curvecp_keyd_spec_parse (const char *keyd_spec, uint8_t key[CURVECP_KEY_BYTES], const char **endpoint);

CURVECP_END_DECLS

#endif
