/*  curvecp_reason.h - why a packet, message or call was refused.

    Every rejection anywhere in curvecp returns one of these, and the object
    that rejected it increments a counter per reason (curvecp_stats_t), so a
    user can always see what was dropped and why. Bad input never changes
    any other state.                                                       */
#ifndef CURVECP_REASON_H_INCLUDED
#define CURVECP_REASON_H_INCLUDED

#include <stdint.h>
#include "curvecp_export.h"

CURVECP_BEGIN_DECLS

typedef enum {
    CURVECP_OK = 0,
    CURVECP_E_TOO_SHORT,          /* shorter than the packet/message type needs */
    CURVECP_E_TOO_LONG,           /* longer than the type allows */
    CURVECP_E_NOT_MULTIPLE_16,    /* length not a multiple of 16 */
    CURVECP_E_BAD_MAGIC,          /* unknown magic or wrong direction */
    CURVECP_E_WRONG_SERVER_EXT,   /* server extension differs from ours */
    CURVECP_E_WRONG_CLIENT_EXT,   /* client extension differs from ours */
    CURVECP_E_BAD_HELLO_BOX,      /* Hello box does not open */
    CURVECP_E_BAD_COOKIE_BOX,     /* Cookie box does not open */
    CURVECP_E_BAD_COOKIE,         /* cookie opens under neither minute key (forged or expired) */
    CURVECP_E_COOKIE_MISMATCH,    /* cookie was issued to another C' */
    CURVECP_E_BAD_INITIATE_BOX,   /* Initiate box does not open */
    CURVECP_E_BAD_VOUCH,          /* vouch does not open, or vouches for another C' */
    CURVECP_E_WRONG_NAME,         /* server name not one of ours */
    CURVECP_E_BAD_MESSAGE_BOX,    /* Message box does not open */
    CURVECP_E_REPLAYED_NONCE,     /* nonce not greater than the last accepted one */
    CURVECP_E_REPLAYED_INITIATE,  /* Initiate already accepted once (replay cache) */
    CURVECP_E_UNKNOWN_SESSION,    /* no connection for this C' */
    CURVECP_E_WRONG_STATE,        /* packet or call not valid in this state */
    CURVECP_E_NONCE_EXHAUSTED,    /* counter would wrap: refuse to reuse a nonce */
    CURVECP_E_FULL,               /* connection limit reached */
    CURVECP_E_NOT_AUTHORISED,     /* client key refused by policy */
    CURVECP_E_WRONG_SOURCE,       /* packet came from an unexpected address */
    CURVECP_E_BAD_MESSAGE,        /* message-layer message malformed */
    CURVECP_E_BAD_ARGUMENT,       /* caller error: bad size, NULL, bad name */
    CURVECP_E_IO,                 /* file or system call failed (errno set) */
    CURVECP_E_BAD_KEY,            /* key file malformed or keys do not match */
    CURVECP_E_EXISTS,             /* refusing to overwrite */
    CURVECP_E_OVERLOADED,         /* dropped unanswered: over the handshake budget */
    CURVECP_REASON_COUNT
} curvecp_reason_t;

/* Per-reason counters; index with a curvecp_reason_t. counts[CURVECP_OK]
   counts accepted inputs. */
typedef struct {
    uint64_t counts[CURVECP_REASON_COUNT];
} curvecp_stats_t;

/* A short, stable, lowercase name such as "bad-cookie". Never NULL. */
CURVECP_EXPORT const char *curvecp_reason_name (curvecp_reason_t reason);

/* A one-line human explanation. Never NULL. */
CURVECP_EXPORT const char *curvecp_reason_text (curvecp_reason_t reason);

/* Count a result in stats (if stats is not NULL) and return it unchanged,
   so code can write: return curvecp_stats_count (&self->stats, CURVECP_E_TOO_SHORT); */
CURVECP_EXPORT curvecp_reason_t curvecp_stats_count (curvecp_stats_t *stats, curvecp_reason_t reason);

/* Sum of all rejections (every reason but CURVECP_OK). */
CURVECP_EXPORT uint64_t curvecp_stats_rejected (const curvecp_stats_t *stats);

CURVECP_END_DECLS

#endif
