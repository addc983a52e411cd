/*  test_zmq_heap.h - heap bytes in use, for the ØMQ carrier's memory
    tests: glibc's count (arena and mmap'ed blocks, main arena only, so
    measure allocations made in the calling thread), or the sanitizer's
    when it owns malloc (mallinfo2 reads 0 there).                        */
#ifndef TEST_ZMQ_HEAP_H_INCLUDED
#define TEST_ZMQ_HEAP_H_INCLUDED

#include <malloc.h>
#include <stddef.h>

#if defined (__SANITIZE_ADDRESS__)
#   define TEST_HEAP_FROM_SANITIZER 1
#elif defined (__has_feature)
#   if __has_feature (address_sanitizer)
#       define TEST_HEAP_FROM_SANITIZER 1
#   endif
#endif

#ifdef TEST_HEAP_FROM_SANITIZER
size_t __sanitizer_get_current_allocated_bytes (void);
static inline size_t
heap_in_use (void)
{
    return __sanitizer_get_current_allocated_bytes ();
}
#else
static inline size_t
heap_in_use (void)
{
    struct mallinfo2 info = mallinfo2 ();
    return info.uordblks + info.hblkhd;
}
#endif

#endif
