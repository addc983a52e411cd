/*  curvecp_z85.c - Z85: each 4 bytes (big-endian) become 5 base-85 digits.

    Ours rather than libzmq's zmq_z85_encode / zmq_z85_decode because the
    core reads and writes zcert files (curvecp_keys.c), and libcurvecp
    links libsodium only: a UDP program that loads a zcert key must not
    need libzmq.                                                         */
#include <string.h>
#include "curvecp_z85.h"

static const char alphabet[86] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

bool
curvecp_z85_encode (char *text, const uint8_t *data, size_t size)
{
    if (size % 4)
        return false;
    for (size_t at = 0; at < size; at += 4) {
        uint32_t value = (uint32_t) data[at] << 24 | (uint32_t) data[at + 1] << 16
                       | (uint32_t) data[at + 2] << 8 | data[at + 3];
        for (int digit = 4; digit >= 0; digit--) {
            text[digit] = alphabet[value % 85];
            value /= 85;
        }
        text += 5;
    }
    *text = 0;
    return true;
}

static int
digit_value (char c)
{
    const char *at = c ? strchr (alphabet, c) : NULL;
    return at ? (int) (at - alphabet) : -1;
}

bool
curvecp_z85_decode (uint8_t *data, const char *text)
{
    size_t len = strlen (text);
    if (len % 5)
        return false;
    for (size_t at = 0; at < len; at += 5) {
        uint64_t value = 0;
        for (int i = 0; i < 5; i++) {
            int digit = digit_value (text[at + i]);
            if (digit < 0)
                return false;
            value = value * 85 + (uint64_t) digit;
        }
        if (value > UINT32_MAX)
            return false;
        for (int i = 3; i >= 0; i--, value >>= 8)
            data[i] = (uint8_t) value;
        data += 4;
    }
    return true;
}
