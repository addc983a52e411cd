/*  curvecp_heap.c - a binary min-heap of intrusive timer nodes.

    The array holds node pointers; each node keeps its own slot index, so
    a move or removal starts its sift where the node is instead of
    searching for it.                                                      */
#include <stdlib.h>
#include "curvecp_heap.h"

struct _curvecp_heap_t {
    curvecp_heap_node_t **nodes;
    size_t count, size;
};

#define FIRST_SIZE 64

curvecp_heap_t *
curvecp_heap_new (void)
{
    return (curvecp_heap_t *) calloc (1, sizeof (curvecp_heap_t));
}

void
curvecp_heap_destroy (curvecp_heap_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->nodes);
        free (*self_p);
        *self_p = NULL;
    }
}

void
curvecp_heap_node_init (curvecp_heap_node_t *node)
{
    node->deadline = UINT64_MAX;
    node->index = CURVECP_HEAP_NOWHERE;
}

static void
place (curvecp_heap_t *self, size_t index, curvecp_heap_node_t *node)
{
    self->nodes[index] = node;
    node->index = index;
}

static void
sift_up (curvecp_heap_t *self, size_t index)
{
    curvecp_heap_node_t *node = self->nodes[index];
    while (index > 0) {
        size_t parent = (index - 1) / 2;
        if (self->nodes[parent]->deadline <= node->deadline)
            break;
        place (self, index, self->nodes[parent]);
        index = parent;
    }
    place (self, index, node);
}

static void
sift_down (curvecp_heap_t *self, size_t index)
{
    curvecp_heap_node_t *node = self->nodes[index];
    for (;;) {
        size_t child = 2 * index + 1;
        if (child >= self->count)
            break;
        if (child + 1 < self->count && self->nodes[child + 1]->deadline < self->nodes[child]->deadline)
            child++;
        if (node->deadline <= self->nodes[child]->deadline)
            break;
        place (self, index, self->nodes[child]);
        index = child;
    }
    place (self, index, node);
}

int
curvecp_heap_reserve (curvecp_heap_t *self, size_t n)
{
    if (n <= self->size)
        return 0;
    size_t size = self->size ? self->size : FIRST_SIZE;
    while (size < n) {
        if (size > SIZE_MAX / 2 / sizeof (curvecp_heap_node_t *))
            return -1;
        size *= 2;
    }
    curvecp_heap_node_t **nodes = (curvecp_heap_node_t **) realloc (self->nodes, size * sizeof *nodes);
    if (!nodes)
        return -1;
    self->nodes = nodes;
    self->size = size;
    return 0;
}

void
curvecp_heap_remove (curvecp_heap_t *self, curvecp_heap_node_t *node)
{
    size_t index = node->index;
    node->deadline = UINT64_MAX;
    if (index == CURVECP_HEAP_NOWHERE)
        return;
    node->index = CURVECP_HEAP_NOWHERE;
    curvecp_heap_node_t *last = self->nodes[--self->count];
    if (index < self->count) {
        /* The last node fills the hole; it may belong above or below it. */
        place (self, index, last);
        sift_up (self, index);
        sift_down (self, last->index);
    }
}

int
curvecp_heap_set (curvecp_heap_t *self, curvecp_heap_node_t *node, uint64_t deadline)
{
    if (deadline == UINT64_MAX) {
        curvecp_heap_remove (self, node);
        return 0;
    }
    if (node->index == CURVECP_HEAP_NOWHERE) {
        if (curvecp_heap_reserve (self, self->count + 1) != 0)
            return -1;
        node->deadline = deadline;
        place (self, self->count++, node);
        sift_up (self, node->index);
        return 0;
    }
    uint64_t old = node->deadline;
    node->deadline = deadline;
    if (deadline < old)
        sift_up (self, node->index);
    else
        sift_down (self, node->index);
    return 0;
}

curvecp_heap_node_t *
curvecp_heap_first (const curvecp_heap_t *self)
{
    return self->count ? self->nodes[0] : NULL;
}

uint64_t
curvecp_heap_deadline (const curvecp_heap_t *self)
{
    return self->count ? self->nodes[0]->deadline : UINT64_MAX;
}

curvecp_heap_node_t *
curvecp_heap_take_due (curvecp_heap_t *self, uint64_t now)
{
    if (self->count == 0 || self->nodes[0]->deadline > now)
        return NULL;
    curvecp_heap_node_t *node = self->nodes[0];
    curvecp_heap_remove (self, node);
    return node;
}

size_t
curvecp_heap_size (const curvecp_heap_t *self)
{
    return self->count;
}
