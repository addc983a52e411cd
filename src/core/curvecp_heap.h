/*  curvecp_heap.h - a binary min-heap of intrusive timer nodes.

    Every object that needs a visit at some time embeds a
    curvecp_heap_node_t and sets its deadline here; the owner asks for the
    earliest. Each node remembers its slot, so moving a deadline is one
    sift, and a node with no deadline (UINT64_MAX) is not in the heap at
    all: ten thousand idle objects cost nothing. The heap allocates only
    when it grows; curvecp_heap_reserve grows it ahead of time so that a
    caller can be sure an insert will not fail before it commits.

    Deadlines are whatever clock the owner uses (the library's is
    curvecp_clock_now, monotonic nanoseconds); equal deadlines come out in
    no promised order.                                                     */
#ifndef CURVECP_HEAP_H_INCLUDED
#define CURVECP_HEAP_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "curvecp_container.h"

typedef struct {
    uint64_t deadline;          /* UINT64_MAX when not in the heap */
    size_t index;               /* slot in the heap, CURVECP_HEAP_NOWHERE if none */
} curvecp_heap_node_t;

#define CURVECP_HEAP_NOWHERE SIZE_MAX

typedef struct _curvecp_heap_t curvecp_heap_t;

/* An empty heap, or NULL if out of memory. */
curvecp_heap_t *curvecp_heap_new (void);

/* Frees the heap (not the nodes: they belong to their owners). */
void curvecp_heap_destroy (curvecp_heap_t **self_p);

/* A node that is in no heap, with no deadline. */
void curvecp_heap_node_init (curvecp_heap_node_t *node);

/* Insert node, move it to a new deadline, or (UINT64_MAX) take it out.
   0, or -1 only when inserting needed growth and memory ran out (then
   the node is unchanged and still out of the heap). */
int curvecp_heap_set (curvecp_heap_t *self, curvecp_heap_node_t *node, uint64_t deadline);

/* Take node out (no-op if it is in no heap); its deadline becomes UINT64_MAX. */
void curvecp_heap_remove (curvecp_heap_t *self, curvecp_heap_node_t *node);

/* The node with the earliest deadline, or NULL when empty. */
curvecp_heap_node_t *curvecp_heap_first (const curvecp_heap_t *self);

/* The earliest deadline, UINT64_MAX when empty. */
uint64_t curvecp_heap_deadline (const curvecp_heap_t *self);

/* The earliest node if its deadline is <= now, taken out; else NULL. */
curvecp_heap_node_t *curvecp_heap_take_due (curvecp_heap_t *self, uint64_t now);

/* Nodes in the heap. */
size_t curvecp_heap_size (const curvecp_heap_t *self);

/* Make room for n nodes in all (not n more), so that inserts up to that
   size cannot fail. 0, or -1 if out of memory. */
int curvecp_heap_reserve (curvecp_heap_t *self, size_t n);

/* Is node in a heap? */
static inline int
curvecp_heap_node_queued (const curvecp_heap_node_t *node)
{
    return node->index != CURVECP_HEAP_NOWHERE;
}

#endif
