/*  The core's intrusive list: a zeroed node is on no list; push appends,
    remove unlinks from anywhere and zeroes the node again, move_end
    rotates, first and size follow, and CURVECP_CONTAINER_OF finds the
    owner. Checked against a plain array model over many random
    operations, as the ØMQ server uses it (ready and unflushed lists).  */
#include <sodium.h>
#include <string.h>
#include "testutil.h"
#include "core/curvecp_ilist.h"

typedef struct {
    int id;
    curvecp_ilist_node_t in_list;
} item_t;

#define ITEMS 64

/* The list must hold exactly model[0..count) in that order, both ways. */
static void
check_model (curvecp_ilist_t *list, item_t *items, const int *model, size_t count)
{
    CHECK_EQ (curvecp_ilist_size (list), count);
    curvecp_ilist_node_t *node = list->head.next;
    for (size_t i = 0; i < count; i++, node = node->next) {
        CHECK (node != &list->head);
        CHECK_EQ (CURVECP_CONTAINER_OF (node, item_t, in_list)->id, model[i]);
    }
    CHECK (node == &list->head);
    node = list->head.prev;
    for (size_t i = count; i > 0; i--, node = node->prev)
        CHECK_EQ (CURVECP_CONTAINER_OF (node, item_t, in_list)->id, model[i - 1]);
    CHECK (node == &list->head);
    for (int i = 0; i < ITEMS; i++) {
        bool in_model = false;
        for (size_t j = 0; j < count; j++)
            in_model |= model[j] == i;
        CHECK_EQ (curvecp_ilist_linked (&items[i].in_list), in_model);
    }
    if (count == 0)
        CHECK (curvecp_ilist_first (list) == NULL);
    else
        CHECK_EQ (CURVECP_CONTAINER_OF (curvecp_ilist_first (list), item_t, in_list)->id, model[0]);
}

static size_t
model_index (const int *model, size_t count, int id)
{
    for (size_t i = 0; i < count; i++)
        if (model[i] == id)
            return i;
    return count;
}

/* Items 0..ITEMS-1, each on no list, and an empty list. */
static void
setup (item_t *items, curvecp_ilist_t *list)
{
    memset (items, 0, ITEMS * sizeof *items);
    for (int i = 0; i < ITEMS; i++)
        items[i].id = i;
    curvecp_ilist_init (list);
}

static void
test_basics (void)
{
    item_t items[ITEMS];
    curvecp_ilist_t list;
    setup (items, &list);
    check_model (&list, items, NULL, 0);
    curvecp_ilist_push (&list, &items[3].in_list);
    curvecp_ilist_push (&list, &items[7].in_list);
    curvecp_ilist_push (&list, &items[1].in_list);
    check_model (&list, items, (int []) { 3, 7, 1 }, 3);
    curvecp_ilist_move_end (&list, &items[3].in_list);
    check_model (&list, items, (int []) { 7, 1, 3 }, 3);
    curvecp_ilist_remove (&list, &items[1].in_list);        /* from the middle */
    check_model (&list, items, (int []) { 7, 3 }, 2);
    CHECK (items[1].in_list.prev == NULL && items[1].in_list.next == NULL);
    curvecp_ilist_move_end (&list, &items[3].in_list);      /* already last: stays */
    check_model (&list, items, (int []) { 7, 3 }, 2);
    curvecp_ilist_remove (&list, &items[7].in_list);
    curvecp_ilist_remove (&list, &items[3].in_list);
    check_model (&list, items, NULL, 0);
    curvecp_ilist_push (&list, &items[1].in_list);          /* a removed node goes on again */
    check_model (&list, items, (int []) { 1 }, 1);
}

static void
model_remove (int *model, size_t count, size_t at)
{
    memmove (model + at, model + at + 1, (count - at - 1) * sizeof *model);
}

static void
test_random_against_model (void)
{
    item_t items[ITEMS];
    curvecp_ilist_t list;
    setup (items, &list);
    int model[ITEMS];
    size_t count = 0;
    for (int step = 0; step < 20000; step++) {
        int id = (int) randombytes_uniform (ITEMS);
        size_t at = model_index (model, count, id);
        switch (randombytes_uniform (3)) {
            case 0:             /* push if on no list */
                if (at == count) {
                    curvecp_ilist_push (&list, &items[id].in_list);
                    model[count++] = id;
                }
                break;
            case 1:             /* remove if on it */
                if (at < count) {
                    curvecp_ilist_remove (&list, &items[id].in_list);
                    model_remove (model, count--, at);
                }
                break;
            default:            /* to the end if on it */
                if (at < count) {
                    curvecp_ilist_move_end (&list, &items[id].in_list);
                    model_remove (model, count, at);
                    model[count - 1] = id;
                }
                break;
        }
        check_model (&list, items, model, count);
    }
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_basics ();
    test_random_against_model ();
    printf ("test_ilist: ok\n");
    return 0;
}
