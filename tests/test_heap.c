/*  The core timer heap: the earliest node is always first, moves and
    removals keep the order, UINT64_MAX takes a node out, nodes find their
    owners through CURVECP_CONTAINER_OF, and an impossible reservation is
    refused without changing anything. Checked against a plain array model
    over many random operations.                                          */
#include <sodium.h>
#include "testutil.h"
#include "core/curvecp_heap.h"

typedef struct {
    int id;
    curvecp_heap_node_t timer;
    uint64_t model;             /* what the test thinks the deadline is */
} item_t;

#define ITEMS 500

static uint64_t
model_min (const item_t *items)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < ITEMS; i++)
        if (items[i].model < best)
            best = items[i].model;
    return best;
}

static size_t
model_size (const item_t *items)
{
    size_t n = 0;
    for (int i = 0; i < ITEMS; i++)
        n += items[i].model != UINT64_MAX;
    return n;
}

static void
test_basics (void)
{
    curvecp_heap_t *heap = curvecp_heap_new ();
    CHECK (heap);
    CHECK (curvecp_heap_first (heap) == NULL);
    CHECK (curvecp_heap_deadline (heap) == UINT64_MAX);
    CHECK (curvecp_heap_take_due (heap, UINT64_MAX - 1) == NULL);
    item_t a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };
    curvecp_heap_node_init (&a.timer);
    curvecp_heap_node_init (&b.timer);
    curvecp_heap_node_init (&c.timer);
    CHECK (!curvecp_heap_node_queued (&a.timer));
    /* UINT64_MAX on a node outside the heap: nothing happens. */
    CHECK_EQ (curvecp_heap_set (heap, &a.timer, UINT64_MAX), 0);
    CHECK_EQ (curvecp_heap_size (heap), 0);
    CHECK_EQ (curvecp_heap_set (heap, &a.timer, 30), 0);
    CHECK_EQ (curvecp_heap_set (heap, &b.timer, 10), 0);
    CHECK_EQ (curvecp_heap_set (heap, &c.timer, 20), 0);
    CHECK_EQ (curvecp_heap_size (heap), 3);
    CHECK (curvecp_heap_node_queued (&a.timer));
    CHECK_EQ (CURVECP_CONTAINER_OF (curvecp_heap_first (heap), item_t, timer)->id, 2);
    CHECK_EQ (curvecp_heap_deadline (heap), 10);
    /* Move the first one later: the next becomes first. */
    CHECK_EQ (curvecp_heap_set (heap, &b.timer, 40), 0);
    CHECK_EQ (CURVECP_CONTAINER_OF (curvecp_heap_first (heap), item_t, timer)->id, 3);
    /* Move the last one earliest. */
    CHECK_EQ (curvecp_heap_set (heap, &b.timer, 5), 0);
    CHECK_EQ (CURVECP_CONTAINER_OF (curvecp_heap_first (heap), item_t, timer)->id, 2);
    /* Take what is due by 20, in order. */
    CHECK (curvecp_heap_take_due (heap, 4) == NULL);
    CHECK (curvecp_heap_take_due (heap, 20) == &b.timer);
    CHECK (!curvecp_heap_node_queued (&b.timer));
    CHECK (b.timer.deadline == UINT64_MAX);
    CHECK (curvecp_heap_take_due (heap, 20) == &c.timer);
    CHECK (curvecp_heap_take_due (heap, 20) == NULL);
    CHECK_EQ (curvecp_heap_size (heap), 1);
    /* Removing twice is harmless; UINT64_MAX removes. */
    curvecp_heap_remove (heap, &b.timer);
    CHECK_EQ (curvecp_heap_size (heap), 1);
    CHECK_EQ (curvecp_heap_set (heap, &a.timer, UINT64_MAX), 0);
    CHECK_EQ (curvecp_heap_size (heap), 0);
    CHECK (curvecp_heap_first (heap) == NULL);
    curvecp_heap_destroy (&heap);
    CHECK (heap == NULL);
    curvecp_heap_destroy (&heap);
}

/* A reservation that cannot be met is refused and changes nothing; one
   that can is kept, so inserts up to it succeed. */
static void
test_reserve (void)
{
    curvecp_heap_t *heap = curvecp_heap_new ();
    item_t a = { .id = 1 };
    curvecp_heap_node_init (&a.timer);
    CHECK_EQ (curvecp_heap_set (heap, &a.timer, 7), 0);
    CHECK_EQ (curvecp_heap_reserve (heap, SIZE_MAX), -1);
    CHECK_EQ (curvecp_heap_size (heap), 1);
    CHECK (curvecp_heap_first (heap) == &a.timer);
    CHECK_EQ (curvecp_heap_reserve (heap, 1000), 0);
    CHECK_EQ (curvecp_heap_reserve (heap, 10), 0);
    curvecp_heap_destroy (&heap);
}

/* Random inserts, moves (earlier and later), removals and takes against
   the model; after each, the first node is a minimum and sizes agree,
   and every node's index points back at it. */
static void
test_random (void)
{
    static item_t items[ITEMS];
    curvecp_heap_t *heap = curvecp_heap_new ();
    for (int i = 0; i < ITEMS; i++) {
        items[i].id = i;
        items[i].model = UINT64_MAX;
        curvecp_heap_node_init (&items[i].timer);
    }
    uint64_t now = 0;
    for (int step = 0; step < 100000; step++) {
        item_t *item = &items[randombytes_uniform (ITEMS)];
        uint32_t op = randombytes_uniform (10);
        if (op < 6) {
            uint64_t deadline = now + randombytes_uniform (1000);
            CHECK_EQ (curvecp_heap_set (heap, &item->timer, deadline), 0);
            item->model = deadline;
        }
        else
        if (op < 8) {
            curvecp_heap_remove (heap, &item->timer);
            item->model = UINT64_MAX;
        }
        else {
            now += randombytes_uniform (50);
            curvecp_heap_node_t *node = curvecp_heap_take_due (heap, now);
            uint64_t least = model_min (items);
            if (least <= now) {
                CHECK (node);
                item_t *taken = CURVECP_CONTAINER_OF (node, item_t, timer);
                CHECK_EQ (taken->model, least);
                taken->model = UINT64_MAX;
            }
            else
                CHECK (node == NULL);
        }
        CHECK_EQ (curvecp_heap_size (heap), model_size (items));
        CHECK (curvecp_heap_deadline (heap) == model_min (items));
        if (step % 1000 == 0)
            for (int i = 0; i < ITEMS; i++) {
                CHECK (items[i].timer.deadline == items[i].model);
                CHECK_EQ (curvecp_heap_node_queued (&items[i].timer), items[i].model != UINT64_MAX);
            }
    }
    /* Drain: deadlines come out in order. */
    uint64_t last = 0;
    curvecp_heap_node_t *node;
    while ((node = curvecp_heap_first (heap)) != NULL) {
        CHECK (node->deadline >= last);
        last = node->deadline;
        curvecp_heap_remove (heap, node);
    }
    curvecp_heap_destroy (&heap);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_basics ();
    test_reserve ();
    test_random ();
    printf ("heap: ok\n");
    return 0;
}
