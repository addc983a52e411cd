/*  curvecp_udp_timers.c - the UDP carrier's connection deadlines, on the
    core heap (curvecp_heap). Each connection embeds a heap node, so
    moving its deadline is one sift, and idle connections (deadline
    UINT64_MAX) are not in the heap at all: 10,000 idle connections cost
    nothing here. A thin wrapper that keeps the carrier's names while its
    owners are rewritten; the heap is made at the first insert, so
    initialising cannot fail.                                             */
#include "curvecp_udp_internal.h"

void
curvecp_udp_timers_init (curvecp_udp_timers_t *self)
{
    self->heap = NULL;
}

void
curvecp_udp_timers_free (curvecp_udp_timers_t *self)
{
    curvecp_heap_destroy (&self->heap);
}

int
curvecp_udp_timers_set (curvecp_udp_timers_t *self, curvecp_udp_conn_t *conn, uint64_t deadline)
{
    if (!self->heap && deadline != UINT64_MAX && !(self->heap = curvecp_heap_new ()))
        return -1;
    if (!self->heap)
        return 0;                       /* nothing is queued: nothing to take out */
    return curvecp_heap_set (self->heap, &conn->timer, deadline);
}

curvecp_udp_conn_t *
curvecp_udp_timers_first (const curvecp_udp_timers_t *self)
{
    curvecp_heap_node_t *node = self->heap ? curvecp_heap_first (self->heap) : NULL;
    return node ? CURVECP_CONTAINER_OF (node, curvecp_udp_conn_t, timer) : NULL;
}

uint64_t
curvecp_udp_timers_deadline (const curvecp_udp_timers_t *self)
{
    return self->heap ? curvecp_heap_deadline (self->heap) : UINT64_MAX;
}

void
curvecp_udp_timers_run (curvecp_udp_timers_t *self, uint64_t now, curvecp_udp_forget_fn *forget, void *owner)
{
    curvecp_udp_conn_t *conn;
    while ((conn = curvecp_udp_timers_first (self)) && conn->timer.deadline <= now) {
        if (curvecp_udp_conn_run (conn, now))
            forget (owner, conn);
        else
        if (conn->timer.deadline <= now)  /* more to send: next call, after the others */
            curvecp_udp_timers_set (self, conn, now + 1);
    }
}
