/*  curvecp_udp_hellos.h - Hellos waiting for their Cookie, shared fairly
    between the addresses they came from.

    A Hello costs the server two X25519 scalar multiplications, a
    Message almost nothing, so a server under a Hello flood reads every
    datagram first, handles its connections' packets at once and puts
    the Hellos here, to be answered as its budget allows. The queue has a
    fixed number of slots (allocated once: nothing per Hello) and one
    lane per source address and port (keyed hash, so a sender cannot aim
    at one lane). Hellos leave in round-robin order over the lanes, and
    when every slot is taken an arrival pushes out the oldest Hello of
    the longest lane, or is itself refused if its own lane is the
    longest: one flooding address cannot keep a real client's Hello out.
    A source that varies its address (spoofing) is not held back by
    this; the queue's size and the server's budget still bound the work. */
#ifndef CURVECP_UDP_HELLOS_H_INCLUDED
#define CURVECP_UDP_HELLOS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"
#include "curvecp_udp_addr.h"

typedef struct _curvecp_udp_hellos_t curvecp_udp_hellos_t;

/* A queue of capacity Hellos (at least 1). NULL if out of memory. */
curvecp_udp_hellos_t *curvecp_udp_hellos_new (size_t capacity);

/* Free, set *self_p to NULL. */
void curvecp_udp_hellos_destroy (curvecp_udp_hellos_t **self_p);

/* Queue a Hello (CURVECP_HELLO_BYTES) from from. Returns true when a
   Hello was dropped to make room: this one or an older one of a longer
   lane (count it once as refused). */
bool curvecp_udp_hellos_push (curvecp_udp_hellos_t *self, const uint8_t *hello,
        const curvecp_udp_addr_t *from);

/* Take the next Hello in round-robin order into hello and from.
   false when the queue is empty. */
bool curvecp_udp_hellos_take (curvecp_udp_hellos_t *self, uint8_t *hello, curvecp_udp_addr_t *from);

/* Hellos waiting. */
size_t curvecp_udp_hellos_count (const curvecp_udp_hellos_t *self);

#endif
