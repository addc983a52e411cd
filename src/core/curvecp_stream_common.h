/*  curvecp_stream_common.h - what the stream and its two sides
    (curvecp_stream_send, curvecp_stream_recv) share: the byte rings each
    side keeps (allocated on first use, counted in the stream's info) and
    the configuration as curvecp_stream_new completes it, which both sides
    read. Internal: not installed. */
#ifndef CURVECP_STREAM_COMMON_H_INCLUDED
#define CURVECP_STREAM_COMMON_H_INCLUDED

#include <stdlib.h>
#include <string.h>
#include "curvecp_stream.h"

/* Fill in the defaults a zero field stands for and raise the limits
   below NaCl's to NaCl's, as curvecp_stream_new does with its copy
   (the sides expect a config completed so). */
void curvecp_stream_config_complete (curvecp_stream_config_t *config);

/* Copy len bytes into / out of a ring of size bytes at stream position. */
static inline void
curvecp_stream_ring_put (uint8_t *ring, size_t size, uint64_t position, const uint8_t *data, size_t len)
{
    size_t offset = (size_t) (position % size);
    size_t first = len < size - offset ? len : size - offset;
    memcpy (ring + offset, data, first);
    memcpy (ring, data + first, len - first);
}

static inline void
curvecp_stream_ring_get (const uint8_t *ring, size_t size, uint64_t position, uint8_t *out, size_t len)
{
    if (len == 0)
        return;                         /* an empty EOF block: the ring may not exist */
    size_t offset = (size_t) (position % size);
    size_t first = len < size - offset ? len : size - offset;
    memcpy (out, ring + offset, first);
    memcpy (out + first, ring, len - first);
}

/* Make the ring *buffer (*size bytes allocated, at most cap) hold the
   stream positions [base, end), end - base <= cap: allocate it (initial
   bytes, 0 = cap) or double it until it does, moving the bytes at
   positions [base, base + *size) - everything the ring holds, since
   nothing live lies below base - to their places in the larger ring.
   false if out of memory (the ring is unchanged). */
static inline bool
curvecp_stream_ring_reserve (uint8_t **buffer, size_t *size, size_t initial, size_t cap,
                             uint64_t base, uint64_t end, curvecp_stream_info_t *info)
{
    size_t need = (size_t) (end - base);
    if (*buffer && need <= *size)
        return true;
    size_t grown_size = *buffer ? *size : initial && initial < cap ? initial : cap;
    while (grown_size < need)
        grown_size = grown_size > cap / 2 ? cap : 2 * grown_size;
    uint8_t *grown = (uint8_t *) malloc (grown_size);
    if (!grown)
        return false;
    if (*buffer) {
        for (size_t done = 0; done < *size;) {
            size_t offset = (size_t) ((base + done) % *size);
            size_t piece = *size - offset < *size - done ? *size - offset : *size - done;
            curvecp_stream_ring_put (grown, grown_size, base + done, *buffer + offset, piece);
            done += piece;
        }
        free (*buffer);
        info->buffer_growths++;
    }
    else
        info->buffer_allocations++;
    *buffer = grown;
    *size = grown_size;
    return true;
}

static inline void
curvecp_stream_buffer_free (uint8_t **buffer, curvecp_stream_info_t *info)
{
    if (*buffer) {
        free (*buffer);
        *buffer = NULL;
        info->buffer_releases++;
    }
}

/* When a buffer idle since since is due to be freed after idle ns. */
static inline uint64_t
curvecp_stream_idle_end (uint64_t since, uint64_t idle)
{
    return since > UINT64_MAX - idle ? UINT64_MAX : since + idle;
}

#endif
