/*  curvecp_z85.h - Z85 text encoding (ZeroMQ RFC 32), as zcert files use.

    Ours rather than libzmq's so that programs which never speak ØMQ (the
    UDP tools) need not load libzmq and its dependencies at start-up.      */
#ifndef CURVECP_Z85_H_INCLUDED
#define CURVECP_Z85_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Encode size bytes (a multiple of 4) into text (5/4 size + 1 bytes,
   NUL-terminated). Returns false if size is not a multiple of 4. */
bool curvecp_z85_encode (char *text, const uint8_t *data, size_t size);

/* Decode text (length a multiple of 5) into data (4/5 of its length).
   Returns false on a bad length, a character outside the alphabet, or a
   group whose value does not fit in 32 bits. */
bool curvecp_z85_decode (uint8_t *data, const char *text);

#endif
