/*  curvecp_listener.h - the server side every carrier shares: what to do
    with each packet that arrives at a server, and its connection table.

    One listener per server, sans-I/O (the carrier reads and sends, and
    passes the time in). It owns the handshake (names, extension, minute
    keys, the Initiate replay cache), so every carrier defends the same
    way:

      - input classifies a packet without crypto (size, magic, our
        extension; Messages up to config.message_max) and says what to do:
        drop it (counted by reason), it is a Hello (queued fairly per
        source: curvecp_hello_queue.h), it is for a known connection
        (found by C' in a keyed table), or it is an Initiate for a new one;
      - Hellos are answered by next_cookie, one per call, within a time
        budget per carrier call (begin ... next_cookie with a fresh now
        each) and an optional rate (token bucket), so a Hello flood costs
        a bounded share of the server's time and one flooding source
        cannot keep other sources' Hellos out;
      - accept admits a new connection (connection limit, pending =
        accepted but not yet confirmed by a Client Message, the pending
        memory budget, the limit on connections held for authorisation,
        a bound on new connections per carrier call) before verifying
        its Initiate (cookie, box, name, vouch, replay): a refused client
        costs no crypto and no replay-cache entry, and its resent
        Initiate is admitted once there is room. Nothing is allocated
        before a valid Initiate;
      - add registers the carrier's connection under C' with a token
        (where replies go: a UDP address, a ØMQ routing id), which the
        carrier updates only after an authentic packet; confirm, hold,
        release and remove keep the admission counts.

    Every packet given to input is counted once in the stats under its
    fate: the listener counts what it decides; for a packet it hands to
    a connection the carrier reports the connection's verdict with
    curvecp_listener_count. Bad input changes nothing else.              */
#ifndef CURVECP_LISTENER_H_INCLUDED
#define CURVECP_LISTENER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_hs_server.h"
#include "curvecp_keys.h"
#include "curvecp_packet.h"
#include "curvecp_reason.h"
#include "curvecp_rng.h"
#include "curvecp_session.h"

typedef struct _curvecp_listener_t curvecp_listener_t;
typedef struct _curvecp_listener_entry_t curvecp_listener_entry_t;

#define CURVECP_LISTENER_NO_LIMIT SIZE_MAX

/* Admission limits; a new connection that would exceed any of them is
   refused [full]. */
typedef struct {
    size_t max_connections;       /* connections in the table */
    size_t max_pending;           /* of those, not yet confirmed */
    size_t max_pending_memory;    /* bytes charged to unconfirmed connections */
    size_t pending_charge;        /* charged per unconfirmed connection */
    size_t max_held;              /* held for authorisation */
} curvecp_listener_limits_t;

typedef struct {
    const curvecp_keypair_t *keys;            /* S, s (copied) */
    uint8_t ext[CURVECP_EXT_BYTES];           /* our extension */
    size_t message_max;                       /* largest Message taken: CURVECP_MSG_MAX
                                                 (0: UDP) .. CURVECP_LARGE_MSG_MAX (ØMQ) */
    size_t token_max;                         /* largest carrier token, bytes (0 = 256) */
    curvecp_listener_limits_t limits;
    size_t hello_queue;                       /* Hellos waiting at most (0 = 1024) */
    uint64_t hello_budget_ns;                 /* answering Hellos per carrier call
                                                 (0 = 1 ms; at least one Hello) */
    uint32_t hello_rate;                      /* Hellos per second at most (0 = no cap) */
    int initiates_per_call;                   /* new connections per carrier call (0 = 128) */
    uint64_t now;                             /* minute keys start here */
    const curvecp_rng_t *rng;                 /* minute keys, hash keys (NULL: the
                                                 system's; it must outlive the listener) */
} curvecp_listener_config_t;

/* Zero config: no limits, defaults above. */
void curvecp_listener_config_default (curvecp_listener_config_t *config);

/* NULL if out of memory or config has no keys. */
curvecp_listener_t *curvecp_listener_new (const curvecp_listener_config_t *config);

/* Free every entry (not the carriers' connections), wipe secrets, set
   *self_p to NULL. */
void curvecp_listener_destroy (curvecp_listener_t **self_p);

/* The handshake object: names, cookie nonces, minute keys, replay cache. */
curvecp_hs_server_t *curvecp_listener_handshake (curvecp_listener_t *self);

/* Cookie nonces from fn (a NaCl key directory's counter, say) instead
   of the listener's own. */
void curvecp_listener_set_cookie_nonce (curvecp_listener_t *self, curvecp_nonce16_fn fn, void *context);

/* About to wait idle: do now the work a Hello would otherwise wait for
   (the next Cookie's short-term key pair; see curvecp_hs_server_prepare). */
void curvecp_listener_prepare (curvecp_listener_t *self);

/* Listeners of one server's workers (a thread each) use the same minute
   keys: self takes from's, and from then on both take each rotation's
   keys from source (curvecp_hs_server_share_minute_keys says how). */
void curvecp_listener_share_minute_keys (curvecp_listener_t *self, curvecp_listener_t *from,
        curvecp_minute_keys_fn *source, void *context);

/* The minute keys a shared source starts from: this listener's current
   and previous. */
void curvecp_listener_minute_keys (const curvecp_listener_t *self, uint8_t current[32], uint8_t previous[32]);

void curvecp_listener_set_limits (curvecp_listener_t *self, const curvecp_listener_limits_t *limits);
const curvecp_listener_limits_t *curvecp_listener_limits (const curvecp_listener_t *self);

/* ---- packets ------------------------------------------------------------- */

typedef enum {
    CURVECP_LISTENER_DROP,            /* refused, counted under reason */
    CURVECP_LISTENER_HELLO_QUEUED,    /* answered later by next_cookie */
    CURVECP_LISTENER_CONNECTION,      /* for entry's connection: the carrier runs it
                                         and reports its verdict (curvecp_listener_count) */
    CURVECP_LISTENER_NEW_INITIATE     /* call accept (now, or after the batch) */
} curvecp_listener_action_t;

typedef struct {
    curvecp_listener_action_t action;
    curvecp_reason_t reason;          /* DROP: why */
    curvecp_packet_type_t type;       /* once classified */
    curvecp_listener_entry_t *entry;  /* CONNECTION */
    void *conn;                       /* CONNECTION: the carrier's connection */
} curvecp_listener_result_t;

/* A packet arrived from source (carrier bytes, 1..token_max: where a
   Cookie for a Hello goes; the same bytes for the same sender). */
curvecp_listener_action_t curvecp_listener_input (curvecp_listener_t *self, const uint8_t *packet,
        size_t len, const uint8_t *source, size_t source_len, curvecp_listener_result_t *result);

/* Count the verdict on a packet input handed to a connection. */
void curvecp_listener_count (curvecp_listener_t *self, curvecp_reason_t reason);

/* Accept Initiates for this name (dotted); its index, -1 on a bad name
   or too many names. */
int curvecp_listener_add_name (curvecp_listener_t *self, const char *name);

/* The carrier refused a client after the handshake (authoriser, ZAP):
   counted with the handshake's verdicts (reason CURVECP_E_NOT_AUTHORISED). */
void curvecp_listener_refuse (curvecp_listener_t *self, curvecp_reason_t reason);

/* A carrier call starts (a process or receive round): the Hello budget
   counts from now, the bound on new connections starts again. */
void curvecp_listener_begin (curvecp_listener_t *self, uint64_t now);

typedef enum {
    CURVECP_LISTENER_NO_COOKIE,       /* none waiting, or over the budget or the rate */
    CURVECP_LISTENER_COOKIE,          /* send cookie to token */
    CURVECP_LISTENER_HELLO_REFUSED    /* one Hello taken and refused (counted): call again */
} curvecp_listener_cookie_t;

/* Answer the next waiting Hello, if the budget and the rate allow, at now
   (a fresh clock reading: the budget is spent when now is budget past
   begin). token holds token_max bytes; *reason (if not NULL) says how a
   Hello taken fared (as counted). */
curvecp_listener_cookie_t curvecp_listener_next_cookie (curvecp_listener_t *self, uint64_t now,
        uint8_t cookie[CURVECP_COOKIE_BYTES], uint8_t *token, size_t *token_len, curvecp_reason_t *reason);

/* When to call next_cookie again: 0 = at once, UINT64_MAX = no Hello
   waits; else when the rate allows the next. */
uint64_t curvecp_listener_deadline (const curvecp_listener_t *self);

/* ---- new connections ------------------------------------------------------ */

/* What a valid Initiate brought. The carrier copies session into its
   connection; add or abandon wipes it and the first message. */
typedef struct {
    curvecp_session_t session;
    const uint8_t *message;           /* the first message (in the listener) */
    size_t message_len;
    int name_index;                   /* which of our names */
    uint8_t client_key[CURVECP_KEY_BYTES];   /* C, vouched for */
    size_t charge;                    /* pending memory it will be charged */
} curvecp_listener_accepted_t;

/* An Initiate input called new: admission, then verification. OK: the
   carrier makes its connection and calls add (or abandon); any other
   reason is counted and changes nothing (FULL: over a limit, OVERLOADED:
   over the per-call bound). */
curvecp_reason_t curvecp_listener_accept (curvecp_listener_t *self, const uint8_t *packet, size_t len,
        uint64_t now, curvecp_listener_accepted_t *accepted);

/* Register conn (non-NULL) for accepted under its C', replies to token.
   Counts the Initiate accepted; the connection is pending until
   confirmed. NULL if out of memory (counted [io]). Wipes accepted. */
curvecp_listener_entry_t *curvecp_listener_add (curvecp_listener_t *self, curvecp_listener_accepted_t *accepted,
        void *conn, const uint8_t *token, size_t token_len);

/* The carrier refuses an accepted Initiate (policy, no memory): counted
   under reason, in the handshake's stats too. Wipes accepted. */
void curvecp_listener_abandon (curvecp_listener_t *self, curvecp_listener_accepted_t *accepted,
        curvecp_reason_t reason);

/* A Client Message opened: no longer pending (its charge is returned). */
void curvecp_listener_confirm (curvecp_listener_t *self, curvecp_listener_entry_t *entry);

/* Held for authorisation / released from it. */
void curvecp_listener_hold (curvecp_listener_t *self, curvecp_listener_entry_t *entry);
void curvecp_listener_release (curvecp_listener_t *self, curvecp_listener_entry_t *entry);

/* Forget the entry (not the carrier's connection); *entry_p = NULL. */
void curvecp_listener_remove (curvecp_listener_t *self, curvecp_listener_entry_t **entry_p);

/* The entry for C', or NULL. */
curvecp_listener_entry_t *curvecp_listener_lookup (curvecp_listener_t *self,
        const uint8_t client_short_pk[CURVECP_KEY_BYTES]);

/* Walk every entry: set *cursor = 0, call until NULL; the table must not
   change meanwhile (to empty it, take cursor 0 and remove, until NULL). */
curvecp_listener_entry_t *curvecp_listener_next (curvecp_listener_t *self, size_t *cursor);

/* Some entry (the first of a walk), NULL when empty: to empty the table. */
curvecp_listener_entry_t *curvecp_listener_first (curvecp_listener_t *self);

void *curvecp_listener_entry_conn (const curvecp_listener_entry_t *entry);
const uint8_t *curvecp_listener_entry_token (const curvecp_listener_entry_t *entry, size_t *token_len);
/* After an authentic packet from token. Returns false (unchanged) if
   the token is too long. */
bool curvecp_listener_entry_set_token (curvecp_listener_entry_t *entry, const uint8_t *token, size_t token_len);
bool curvecp_listener_entry_confirmed (const curvecp_listener_entry_t *entry);
bool curvecp_listener_entry_held (const curvecp_listener_entry_t *entry);

/* ---- counters --------------------------------------------------------------- */

typedef struct {
    uint64_t hellos_queued;           /* Hellos put in the queue */
    uint64_t hellos_answered;         /* Cookies made */
    uint64_t hellos_dropped;          /* dropped from a full queue [overloaded] */
    size_t hellos_waiting;
    uint64_t connections;             /* admitted (added) */
    size_t count, pending, pending_memory, held;   /* now */
    uint64_t full_connections, full_pending, full_memory, full_held;   /* refusals per limit */
    uint64_t initiates_deferred;      /* over the per-call bound [overloaded] */
} curvecp_listener_info_t;

const curvecp_listener_info_t *curvecp_listener_info (curvecp_listener_t *self);

/* Entries in the table now. */
size_t curvecp_listener_size (const curvecp_listener_t *self);

/* Every packet's fate by reason (see the header comment). */
const curvecp_stats_t *curvecp_listener_stats (const curvecp_listener_t *self);

#endif
