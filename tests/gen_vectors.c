/*  gen_vectors - print the packet test vectors (see vectors.h).
    Regenerate with: build/tests/gen_vectors > tests/vectors/packets.txt   */
#include "vectors.h"

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    vectors_write (stdout);
    return 0;
}
