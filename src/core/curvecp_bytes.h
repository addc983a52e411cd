/*  curvecp_bytes.h - little-endian loads and stores (internal).
    Every multi-byte integer of CurveCP is little-endian.                 */
#ifndef CURVECP_BYTES_H_INCLUDED
#define CURVECP_BYTES_H_INCLUDED

#include <stdint.h>

static inline void
curvecp_store_u64_le (uint8_t *out, uint64_t value)
{
    for (int i = 0; i < 8; i++, value >>= 8)
        out[i] = (uint8_t) value;
}

static inline uint64_t
curvecp_load_u64_le (const uint8_t *in)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = (value << 8) | in[i];
    return value;
}

#endif
