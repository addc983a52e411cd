/*  testutil.h - the few helpers every test program uses.
    A failed CHECK prints where and why and exits 1, so ctest reports it. */
#ifndef CURVECP_TESTUTIL_H_INCLUDED
#define CURVECP_TESTUTIL_H_INCLUDED
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#define CHECK(cond) do { if (!(cond)) { \
    fprintf (stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); exit (1); } } while (0)
#define CHECK_EQ(a, b) do { long long _a = (long long) (a), _b = (long long) (b); if (_a != _b) { \
    fprintf (stderr, "%s:%d: CHECK_EQ failed: %s = %lld, %s = %lld\n", __FILE__, __LINE__, #a, _a, #b, _b); \
    exit (1); } } while (0)
#define CHECK_MEM(a, b, n) do { if (memcmp ((a), (b), (n)) != 0) { \
    fprintf (stderr, "%s:%d: CHECK_MEM failed: %s != %s (%zu bytes)\n", __FILE__, __LINE__, #a, #b, (size_t) (n)); \
    exit (1); } } while (0)

/* Decode hex into out; returns the number of bytes, or -1 on bad input. */
static inline int
test_unhex (const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (hex[0] && hex[1]) {
        if (n == cap) return -1;
        unsigned v;
        if (sscanf (hex, "%2x", &v) != 1) return -1;
        out[n++] = (uint8_t) v;
        hex += 2;
    }
    return (int) n;
}
#endif
