/*  Our Z85 agrees with libzmq's on random keys and with RFC 32's example,
    and refuses what libzmq refuses.                                      */
#include <sodium.h>
#include <zmq.h>
#include "testutil.h"
#include "curvecp_z85.h"

int
main (void)
{
    CHECK (sodium_init () >= 0);
    /* RFC 32's test case. */
    const uint8_t hello[8] = { 0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B };
    char text[41];
    CHECK (curvecp_z85_encode (text, hello, 8));
    CHECK (strcmp (text, "HelloWorld") == 0);
    uint8_t back[32];
    CHECK (curvecp_z85_decode (back, "HelloWorld"));
    CHECK_MEM (back, hello, 8);
    for (int i = 0; i < 2000; i++) {
        uint8_t key[32], theirs_bin[32];
        char ours[41], theirs[41];
        randombytes_buf (key, sizeof key);
        CHECK (curvecp_z85_encode (ours, key, 32));
        CHECK (zmq_z85_encode (theirs, key, 32));
        CHECK (strcmp (ours, theirs) == 0);
        CHECK (curvecp_z85_decode (back, ours));
        CHECK_MEM (back, key, 32);
        CHECK (zmq_z85_decode (theirs_bin, ours));
        CHECK_MEM (theirs_bin, key, 32);
    }
    CHECK (!curvecp_z85_encode (text, hello, 7));          /* not a multiple of 4 */
    CHECK (!curvecp_z85_decode (back, "Hello"  "Worl"));   /* not a multiple of 5 */
    CHECK (!curvecp_z85_decode (back, "Hello Wor"  "l"));  /* space is not Z85 */
    CHECK (!curvecp_z85_decode (back, "\"ello"));          /* nor is a quote */
    CHECK (!curvecp_z85_decode (back, "#####"));           /* 85^5 - 1 > 2^32 - 1 */
    CHECK (curvecp_z85_decode (back, "%nSc0"));             /* 2^32 - 1 exactly */
    CHECK_MEM (back, "\xff\xff\xff\xff", 4);
    printf ("z85 tests passed\n");
    return 0;
}
