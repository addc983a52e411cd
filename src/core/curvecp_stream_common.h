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

/* The ring *buffer, allocated now if it is not (NULL if out of memory). */
static inline uint8_t *
curvecp_stream_buffer_get (uint8_t **buffer, size_t size, curvecp_stream_info_t *info)
{
    if (!*buffer) {
        *buffer = (uint8_t *) malloc (size);
        if (*buffer)
            info->buffer_allocations++;
    }
    return *buffer;
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
