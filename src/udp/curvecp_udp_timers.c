/*  curvecp_udp_timers.c - a binary min-heap of connections by deadline.

    Each connection remembers its index in the heap, so moving its
    deadline is one sift, and idle connections (deadline UINT64_MAX) are
    not in the heap at all: 10,000 idle connections cost nothing here.   */
#include <stdlib.h>
#include "curvecp_udp_internal.h"

void
curvecp_udp_timers_init (curvecp_udp_timers_t *self)
{
    self->heap = NULL;
    self->count = self->cap = 0;
}

void
curvecp_udp_timers_free (curvecp_udp_timers_t *self)
{
    free (self->heap);
    curvecp_udp_timers_init (self);
}

static void
place (curvecp_udp_timers_t *self, int i, curvecp_udp_conn_t *conn)
{
    self->heap[i] = conn;
    conn->heap_index = i;
}

static void
sift_up (curvecp_udp_timers_t *self, int i)
{
    curvecp_udp_conn_t *conn = self->heap[i];
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (self->heap[parent]->deadline <= conn->deadline)
            break;
        place (self, i, self->heap[parent]);
        i = parent;
    }
    place (self, i, conn);
}

static void
sift_down (curvecp_udp_timers_t *self, int i)
{
    curvecp_udp_conn_t *conn = self->heap[i];
    for (;;) {
        int child = 2 * i + 1;
        if (child >= self->count)
            break;
        if (child + 1 < self->count && self->heap[child + 1]->deadline < self->heap[child]->deadline)
            child++;
        if (self->heap[child]->deadline >= conn->deadline)
            break;
        place (self, i, self->heap[child]);
        i = child;
    }
    place (self, i, conn);
}

static void
remove_at (curvecp_udp_timers_t *self, int i)
{
    curvecp_udp_conn_t *gone = self->heap[i];
    gone->heap_index = -1;
    self->count--;
    if (i == self->count)
        return;
    curvecp_udp_conn_t *moved = self->heap[self->count];
    place (self, i, moved);
    sift_up (self, i);
    sift_down (self, moved->heap_index);
}

int
curvecp_udp_timers_set (curvecp_udp_timers_t *self, curvecp_udp_conn_t *conn, uint64_t deadline)
{
    uint64_t old = conn->deadline;
    conn->deadline = deadline;
    if (conn->heap_index >= 0) {
        if (deadline == UINT64_MAX)
            remove_at (self, conn->heap_index);
        else
        if (deadline < old)
            sift_up (self, conn->heap_index);
        else
            sift_down (self, conn->heap_index);
        return 0;
    }
    if (deadline == UINT64_MAX)
        return 0;
    if (self->count == self->cap) {
        int cap = self->cap ? 2 * self->cap : 64;
        curvecp_udp_conn_t **heap = realloc (self->heap, (size_t) cap * sizeof *heap);
        if (!heap)
            return -1;
        self->heap = heap;
        self->cap = cap;
    }
    place (self, self->count++, conn);
    sift_up (self, conn->heap_index);
    return 0;
}

curvecp_udp_conn_t *
curvecp_udp_timers_first (const curvecp_udp_timers_t *self)
{
    return self->count ? self->heap[0] : NULL;
}

uint64_t
curvecp_udp_timers_deadline (const curvecp_udp_timers_t *self)
{
    return self->count ? self->heap[0]->deadline : UINT64_MAX;
}
