/*  test_alloc_count.h - counts the heap allocations a test program makes
    while `counting` is set. The program is linked with -Wl,--wrap=malloc
    -Wl,--wrap=calloc -Wl,--wrap=realloc (see harden.cmake,
    listener.cmake), so every call the library makes comes here first;
    works under the sanitizers too. Include it in one file per program.  */
#ifndef TEST_ALLOC_COUNT_H_INCLUDED
#define TEST_ALLOC_COUNT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

static bool counting;
static unsigned long allocations;

void *__real_malloc (size_t size);
void *__real_calloc (size_t n, size_t size);
void *__real_realloc (void *p, size_t size);
void *__wrap_malloc (size_t size);
void *__wrap_calloc (size_t n, size_t size);
void *__wrap_realloc (void *p, size_t size);

void *
__wrap_malloc (size_t size)
{
    allocations += counting;
    return __real_malloc (size);
}

void *
__wrap_calloc (size_t n, size_t size)
{
    allocations += counting;
    return __real_calloc (n, size);
}

void *
__wrap_realloc (void *p, size_t size)
{
    allocations += counting;
    return __real_realloc (p, size);
}

#endif
