/*  curvecp_hello_queue.h - Hellos waiting for their Cookie, shared fairly
    between the sources they came from.

    A Hello costs the server two X25519 scalar multiplications, a
    Message almost nothing, so a server under a Hello flood takes every
    packet first, handles its connections' packets at once and puts the
    Hellos here, to be answered as its budget allows. A source is opaque
    bytes the carrier gives (a UDP address, a ØMQ routing id): the same
    bytes for the same sender, and where the Cookie goes. The queue has a
    fixed number of slots (allocated once: nothing per Hello) and one lane
    per source (keyed hash, so a sender cannot aim at one lane). Hellos
    leave in round-robin order over the lanes, and when every slot is
    taken an arrival pushes out the oldest Hello of the longest lane, or
    is itself refused if its own lane is the longest: one flooding source
    cannot keep a real client's Hello out. A sender that varies its
    source (spoofed addresses, many ØMQ connections) is not held back by
    this; the queue's size and the server's budget still bound the work.  */
#ifndef CURVECP_HELLO_QUEUE_H_INCLUDED
#define CURVECP_HELLO_QUEUE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"
#include "curvecp_rng.h"

typedef struct _curvecp_hello_queue_t curvecp_hello_queue_t;

/* A queue of capacity Hellos (at least 1) from sources of up to
   source_max bytes (at least 1); its hash key from rng (NULL: the
   system's). NULL if out of memory or bad sizes. */
curvecp_hello_queue_t *curvecp_hello_queue_new (size_t capacity, size_t source_max, const curvecp_rng_t *rng);

/* Free, set *self_p to NULL. */
void curvecp_hello_queue_destroy (curvecp_hello_queue_t **self_p);

/* Queue a Hello (CURVECP_HELLO_BYTES) from source (1..source_max bytes).
   Returns true when a Hello was dropped to make room: this one or an
   older one of a longer lane (count it once as refused). A source of a
   bad size is refused (true) and changes nothing. */
bool curvecp_hello_queue_push (curvecp_hello_queue_t *self, const uint8_t *hello,
        const uint8_t *source, size_t source_len);

/* Take the next Hello in round-robin order into hello, and its source
   into source (source_max bytes) and *source_len. false when empty. */
bool curvecp_hello_queue_take (curvecp_hello_queue_t *self, uint8_t *hello,
        uint8_t *source, size_t *source_len);

/* Hellos waiting. */
size_t curvecp_hello_queue_count (const curvecp_hello_queue_t *self);

#endif
