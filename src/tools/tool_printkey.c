/*  curvecp-printkey - print a key directory's public key, as
    curvecpprintkey does: exactly 64 lowercase hex digits and a newline.

    Usage: curvecp-printkey keydir
    Exit 111 for a usage error or any failure, 0 on success.             */
#include <stdio.h>
#include "curvecp_keys.h"

#define EXIT_FATAL 111    /* NaCl's tools exit 111 on usage and fatal errors */

int
main (int argc, char **argv)
{
    if (argc < 2 || !argv[1]) {
        fprintf (stderr, "curvecp-printkey: usage: curvecp-printkey keydir\n");
        return EXIT_FATAL;
    }
    uint8_t public_key[CURVECP_KEY_BYTES];
    if (curvecp_keydir_load_public (argv[1], public_key) != CURVECP_OK) {
        fprintf (stderr, "curvecp-printkey: fatal: %s\n", curvecp_keys_error ());
        return EXIT_FATAL;
    }
    char hex[2 * CURVECP_KEY_BYTES + 1];
    curvecp_key_to_hex (public_key, hex);
    //  A write error (full disk, closed pipe) must not look like success
    if (printf ("%s\n", hex) < 0 || fflush (stdout) == EOF) {
        fprintf (stderr, "curvecp-printkey: fatal: unable to write output\n");
        return EXIT_FATAL;
    }
    return 0;
}
