/*  alloc_count.c - an LD_PRELOAD shim that counts the heap allocations a
    whole process makes (every thread, every library: libzmq's operator
    new ends in malloc too) and prints the totals to stderr at exit:

        ALLOCS program malloc=N calloc=N realloc=N memalign=N total=N

    bench/count-zmq.sh builds it with cc -shared and runs bench-zmq under
    it twice (two counts of rounds), so the difference is per round.
    It calls the next definitions through dlsym; calloc during dlsym's own
    start-up is served from a small static arena.                        */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_ulong n_malloc, n_calloc, n_realloc, n_memalign;
static void *(*real_malloc) (size_t);
static void *(*real_calloc) (size_t, size_t);
static void *(*real_realloc) (void *, size_t);
static int (*real_posix_memalign) (void **, size_t, size_t);
static void *(*real_aligned_alloc) (size_t, size_t);
static char arena[4096];
static size_t arena_used;
static int resolving;

static void
resolve (void)
{
    if (real_malloc || resolving)
        return;
    resolving = 1;
    real_calloc = dlsym (RTLD_NEXT, "calloc");
    real_malloc = dlsym (RTLD_NEXT, "malloc");
    real_realloc = dlsym (RTLD_NEXT, "realloc");
    real_posix_memalign = dlsym (RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = dlsym (RTLD_NEXT, "aligned_alloc");
    resolving = 0;
}

/* ALLOC_LOG=bytes: also print each allocation of at least that size
   with its caller, to find the large ones. */
static size_t log_min = (size_t) -1;

static void
log_large (const char *what, size_t size, void *caller)
{
    if (size >= log_min) {
        Dl_info info;
        if (dladdr (caller, &info) && info.dli_sname)
            fprintf (stderr, "ALLOC %s %zu from %s+%#lx\n", what, size, info.dli_sname,
                     (unsigned long) ((char *) caller - (char *) info.dli_saddr));
        else if (dladdr (caller, &info))
            fprintf (stderr, "ALLOC %s %zu from %s:%#lx\n", what, size, info.dli_fname,
                     (unsigned long) ((char *) caller - (char *) info.dli_fbase));
        else
            fprintf (stderr, "ALLOC %s %zu from %p\n", what, size, caller);
    }
}

__attribute__ ((constructor)) static void
start (void)
{
    const char *env = getenv ("ALLOC_LOG");
    if (env)
        log_min = (size_t) strtoul (env, NULL, 10);
}

void *
malloc (size_t size)
{
    resolve ();
    atomic_fetch_add_explicit (&n_malloc, 1, memory_order_relaxed);
    log_large ("malloc", size, __builtin_return_address (0));
    return real_malloc (size);
}

void *
calloc (size_t n, size_t size)
{
    if (!real_calloc) {
        if (resolving) {            /* dlsym's own calloc: a static arena */
            size_t want = (n * size + 15) & ~(size_t) 15;
            if (arena_used + want > sizeof arena)
                return NULL;
            void *p = arena + arena_used;
            arena_used += want;
            return p;
        }
        resolve ();
    }
    atomic_fetch_add_explicit (&n_calloc, 1, memory_order_relaxed);
    log_large ("calloc", n * size, __builtin_return_address (0));
    return real_calloc (n, size);
}

void *
realloc (void *p, size_t size)
{
    resolve ();
    atomic_fetch_add_explicit (&n_realloc, 1, memory_order_relaxed);
    log_large ("realloc", size, __builtin_return_address (0));
    return real_realloc (p, size);
}

void
free (void *p)
{
    static void (*real_free) (void *);
    if ((char *) p >= arena && (char *) p < arena + sizeof arena)
        return;
    if (!real_free)
        real_free = dlsym (RTLD_NEXT, "free");
    real_free (p);
}

int
posix_memalign (void **out, size_t align, size_t size)
{
    resolve ();
    atomic_fetch_add_explicit (&n_memalign, 1, memory_order_relaxed);
    return real_posix_memalign (out, align, size);
}

void *
aligned_alloc (size_t align, size_t size)
{
    resolve ();
    atomic_fetch_add_explicit (&n_memalign, 1, memory_order_relaxed);
    return real_aligned_alloc (align, size);
}

__attribute__ ((destructor)) static void
report (void)
{
    unsigned long m = n_malloc, c = n_calloc, r = n_realloc, a = n_memalign;
    fprintf (stderr, "ALLOCS %s malloc=%lu calloc=%lu realloc=%lu memalign=%lu total=%lu\n", program_invocation_short_name, m, c, r, a, m + c + r + a);
}
