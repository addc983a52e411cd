/*  curvecp_hs_server.h - the server side of the CurveCP handshake.

    Answers Hellos with Cookies from the packet alone and the minute key,
    so it keeps no state and allocates nothing before a valid Initiate.
    Opens Initiates for new connections: cookie under the current or the
    previous minute key, C' in the cookie equal to the packet's, the box,
    the server name (one of several, for virtual hosts), the vouch. On
    success it fills a caller-provided curvecp_session_t.

    Minute keys rotate every 60 s of the caller's clock (monotonic ns,
    passed in as now); curvecp_hs_server_deadline says when next. Every
    rejection is counted per reason in curvecp_hs_server_stats.            */
#ifndef CURVECP_HS_SERVER_H_INCLUDED
#define CURVECP_HS_SERVER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_keys.h"
#include "curvecp_nonce16.h"
#include "curvecp_replay.h"
#include "curvecp_reason.h"
#include "curvecp_rng.h"
#include "curvecp_session.h"
#include "curvecp_vouch_cache.h"

typedef struct _curvecp_hs_server_t curvecp_hs_server_t;

#define CURVECP_HS_SERVER_NAMES_MAX 16

/* Default Initiate replay cache: 65536 client short-term keys (about
   8.5 MiB: the ring, and the hash index at load <= 1/2), enough for ~540 new connections/s sustained before the oldest
   entries are forgotten early (see curvecp_replay.h). */
#define CURVECP_HS_SERVER_REPLAY_DEFAULT 65536

/* Default vouch cache: C.s for 1024 client long-term keys (65 KiB),
   so a returning client's Initiate costs one X25519 fewer (see
   curvecp_vouch_cache.h, including what its timing gives away). */
#define CURVECP_HS_SERVER_VOUCH_CACHE_DEFAULT 1024

/* What a valid Initiate for a new connection carried. message points into
   the caller's scratch buffer. */
typedef struct {
    const uint8_t *message;         /* the first message (16..640 bytes) */
    size_t message_len;
    int name_index;                 /* which of our names it was for */
} curvecp_initiate_info_t;

/* New server handshake for keys (copied) and our 16-byte extension,
   with fresh random minute keys starting at now. Every random byte
   (minute keys, short-term keys, Cookie nonces, session nonce counters,
   the replay cache's hash key) comes from rng (NULL: system randomness),
   which must outlive the handshake. */
curvecp_hs_server_t *curvecp_hs_server_new (const curvecp_keypair_t *keys,
        const uint8_t server_ext[CURVECP_EXT_BYTES], uint64_t now, const curvecp_rng_t *rng);

/* Wipe every secret, free, and set *self_p to NULL. */
void curvecp_hs_server_destroy (curvecp_hs_server_t **self_p);

/* Accept Initiates for this server name (dotted text). Up to
   CURVECP_HS_SERVER_NAMES_MAX names; returns the name's index. */
int curvecp_hs_server_add_name (curvecp_hs_server_t *self, const char *name);

/* Resize the Initiate replay cache (0 turns it off, as in NaCl). The
   cache drops an Initiate whose C' was accepted within the last 120 s,
   even after its connection ended. Returns -1 if out of memory. */
int curvecp_hs_server_set_replay_capacity (curvecp_hs_server_t *self, size_t capacity);

/* Resize the vouch cache (0 turns it off: every Initiate computes C.s).
   -1 if out of memory. */
int curvecp_hs_server_set_vouch_cache (curvecp_hs_server_t *self, size_t entries);

/* The vouch cache (NULL when off), to read its hits. */
const curvecp_vouch_cache_t *curvecp_hs_server_vouch_cache (const curvecp_hs_server_t *self);

/* The replay cache (NULL when off), to read its size and evictions. */
const curvecp_replay_t *curvecp_hs_server_replay (const curvecp_hs_server_t *self);

/* Where Cookie nonces come from (default, or fn NULL: 16 bytes from the
   handshake's rng). */
void curvecp_hs_server_set_nonce16 (curvecp_hs_server_t *self, curvecp_nonce16_fn fn, void *context);

/* Replace both minute keys (tests and vectors); the next rotation is 60 s
   after now. */
void curvecp_hs_server_set_minute_keys (curvecp_hs_server_t *self, const uint8_t current[32],
        const uint8_t previous[32], uint64_t now);

/* Where shared minute keys come from: the keys of rotation period
   (1, 2, ... since the start; periods count the same in every handshake
   that shares them) into current and previous. A period's keys are
   random and the same for every caller; previous is the period before's
   current, or random if the source no longer has it. */
typedef void (curvecp_minute_keys_fn) (void *context, uint64_t period, uint8_t current[32],
        uint8_t previous[32]);

/* Workers of one server (threads, each with its own handshake) use the
   same minute keys: self takes from's keys, rotation time and period,
   and from then on both take each rotation's keys from source (which
   draws them at random once per period, under whatever lock the carrier
   needs) instead of drawing their own. Nothing about the keys is
   derivable from what memory holds: a minute key taken from memory
   opens cookies of its two minutes only. Call before either is used from
   another thread. */
void curvecp_hs_server_share_minute_keys (curvecp_hs_server_t *self, curvecp_hs_server_t *from,
        curvecp_minute_keys_fn *source, void *context);

/* The keys a source starts from: from's current and previous. */
void curvecp_hs_server_minute_keys (const curvecp_hs_server_t *self, uint8_t current[32], uint8_t previous[32]);

/* When the next minute-key rotation is due. */
uint64_t curvecp_hs_server_deadline (const curvecp_hs_server_t *self);

/* Rotate minute keys if due (the handlers below call this too). */
void curvecp_hs_server_advance (curvecp_hs_server_t *self, uint64_t now);

/* Make the next Cookie's short-term key pair (S', one X25519) now: a
   carrier calls it when it is about to wait idle, so answering a Hello
   costs one X25519 less on the client's path. Does nothing if one is
   ready; a Cookie without one makes its own. Kept secret, wiped on
   destroy or once used. */
void curvecp_hs_server_prepare (curvecp_hs_server_t *self);

/* A packet already classified as Hello: on success out holds a 200-byte
   Cookie to send back to the packet's source. */
curvecp_reason_t curvecp_hs_server_hello (curvecp_hs_server_t *self, const uint8_t *packet, size_t len,
        uint64_t now, uint8_t cookie[CURVECP_COOKIE_BYTES]);

/* A packet classified as Initiate whose C' has no session yet. On success
   session is filled (server side, ready to seal) and info says what came.
   scratch must hold CURVECP_INITIATE_INNER_BASE + 640 bytes. */
curvecp_reason_t curvecp_hs_server_initiate (curvecp_hs_server_t *self, const uint8_t *packet, size_t len,
        uint64_t now, curvecp_session_t *session, uint8_t *scratch, curvecp_initiate_info_t *info);

/* Count a rejection that a carrier made on the server's behalf (such as
   CURVECP_E_FULL or CURVECP_E_NOT_AUTHORISED). */
void curvecp_hs_server_count (curvecp_hs_server_t *self, curvecp_reason_t reason);

/* Per-reason counters of every packet handled. */
const curvecp_stats_t *curvecp_hs_server_stats (const curvecp_hs_server_t *self);

/* Our long-term public key and extension. */
const uint8_t *curvecp_hs_server_public_key (const curvecp_hs_server_t *self);
const uint8_t *curvecp_hs_server_ext (const curvecp_hs_server_t *self);

#endif
