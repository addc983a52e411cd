/*  curvecp-makekey - create a NaCl key directory, as curvecpmakekey does.

    Usage: curvecp-makekey keydir
    Same files, sizes and modes as NaCl's tool, same exit codes: 111 for a
    usage error and for any failure (including an existing keydir), 0 on
    success. Nothing is printed on success; the key is never printed.    */
#include <stdio.h>
#include "curvecp_keys.h"

#define EXIT_FATAL 111    /* NaCl's tools exit 111 on usage and fatal errors */

int
main (int argc, char **argv)
{
    if (argc < 2 || !argv[1]) {
        fprintf (stderr, "curvecp-makekey: usage: curvecp-makekey keydir\n");
        return EXIT_FATAL;
    }
    if (curvecp_keydir_create (argv[1], NULL) != CURVECP_OK) {
        fprintf (stderr, "curvecp-makekey: fatal: %s\n", curvecp_keys_error ());
        return EXIT_FATAL;
    }
    return 0;
}
