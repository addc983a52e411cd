/*  fuzz_tool_number - the tools' number-option parser (curvecp_tool_number).

    Input: bytes 0-7 the minimum, 8-15 the maximum (little-endian), the
    rest the option's text (cut at its first NUL, as argv would be).
    An independent model says what must happen: the text is taken exactly
    when it is one or more decimal digits whose value fits in 64 bits and
    lies within min..max, and then with that value; a refusal leaves the
    output as it was; errno is never changed either way.                 */
#include <errno.h>
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_tool.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define TEXT_MAX 64

static uint64_t
s_le64 (const uint8_t *bytes)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = value << 8 | bytes[i];
    return value;
}

/* The model: digit by digit, refusing as soon as the value would wrap. */
static bool
s_model (const char *text, uint64_t min, uint64_t max, uint64_t *value)
{
    if (*text == 0)
        return false;
    uint64_t n = 0;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        unsigned digit = (unsigned) (*c - '0');
        if (n > (UINT64_MAX - digit) / 10)
            return false;
        n = n * 10 + digit;
    }
    *value = n;
    return n >= min && n <= max;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 16)
        return 0;
    uint64_t min = s_le64 (data), max = s_le64 (data + 8);
    char text[TEXT_MAX + 1];
    size_t len = size - 16 < TEXT_MAX ? size - 16 : TEXT_MAX;
    memcpy (text, data + 16, len);
    text[len] = 0;

    uint64_t expected = 0, got = 0x5a5a5a5a5a5a5a5aull;
    bool model = s_model (text, min, max, &expected);
    errno = EILSEQ;
    bool taken = curvecp_tool_number (text, min, max, &got);
    FUZZ_CHECK (errno == EILSEQ);
    FUZZ_CHECK (taken == model);
    FUZZ_CHECK (taken ? got == expected : got == 0x5a5a5a5a5a5a5a5aull);
    return 0;
}
