/*  curvecp_ilist.h - an intrusive doubly linked list: the node lives in
    the element, so putting an element on a list never allocates and so
    never fails (a list of pointers, like czmq's zlistx, allocates a node
    per add: two allocations per ØMQ round trip, and an add that can fail
    where the caller has no way to report it).

        curvecp_ilist_t ready;                  struct peer { curvecp_ilist_node_t in_ready; ... };
        curvecp_ilist_init (&ready);
        curvecp_ilist_push (&ready, &peer->in_ready);
        curvecp_ilist_node_t *first = curvecp_ilist_first (&ready);
        peer_t *peer = CURVECP_CONTAINER_OF (first, peer_t, in_ready);

    A node is on no list when both its pointers are NULL (a zeroed node);
    it is on at most one list at a time. Header only: each call is a few
    pointer moves.                                                      */
#ifndef CURVECP_ILIST_H
#define CURVECP_ILIST_H

#include <stdbool.h>
#include <stddef.h>
#include "curvecp_container.h"

typedef struct curvecp_ilist_node_s {
    struct curvecp_ilist_node_s *prev, *next;
} curvecp_ilist_node_t;

typedef struct {
    curvecp_ilist_node_t head;          /* sentinel: the list is circular through it */
    size_t size;
} curvecp_ilist_t;

static inline void
curvecp_ilist_init (curvecp_ilist_t *self)
{
    self->head.prev = self->head.next = &self->head;
    self->size = 0;
}

static inline bool
curvecp_ilist_linked (const curvecp_ilist_node_t *node)
{
    return node->next != NULL;
}

static inline size_t
curvecp_ilist_size (const curvecp_ilist_t *self)
{
    return self->size;
}

/* At the end; node must be on no list. */
static inline void
curvecp_ilist_push (curvecp_ilist_t *self, curvecp_ilist_node_t *node)
{
    node->prev = self->head.prev;
    node->next = &self->head;
    self->head.prev->next = node;
    self->head.prev = node;
    self->size++;
}

/* node must be on this list. */
static inline void
curvecp_ilist_remove (curvecp_ilist_t *self, curvecp_ilist_node_t *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->prev = node->next = NULL;
    self->size--;
}

static inline curvecp_ilist_node_t *
curvecp_ilist_first (const curvecp_ilist_t *self)
{
    return self->head.next == &self->head ? NULL : self->head.next;
}

/* To the end (round robin); node must be on this list. */
static inline void
curvecp_ilist_move_end (curvecp_ilist_t *self, curvecp_ilist_node_t *node)
{
    curvecp_ilist_remove (self, node);
    curvecp_ilist_push (self, node);
}

#endif
