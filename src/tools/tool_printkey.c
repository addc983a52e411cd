/*  curvecp-printkey - print a key directory's public key, as
    curvecpprintkey does: exactly 64 lowercase hex digits and a newline.
    A zcert certificate file (public or secret) is printed the same way.

    Usage: curvecp-printkey keydir|zcertfile
    Exit 111 for a missing argument (with NaCl's usage line) or any
    failure, 0 on success. Arguments that start with '-' are options:
    -h / --help prints the usage on stdout (exit 0), anything else is a
    usage error (exit 100); no key is printed for either.               */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "curvecp_keys.h"
#include "curvecp_tool.h"

#define USAGE "curvecp-printkey: usage: curvecp-printkey keydir\n" \
    "  keydir   a NaCl key directory, or a CZMQ zcert certificate file\n" \
    "           (curvecp-makekey -z): its public key is printed in hex\n" \
    "  -h       this help\n" \
    "Exit codes: 0 printed; 100 usage; 111 fatal (unreadable).\n"

int
main (int argc, char **argv)
{
    curvecp_tool_start ("curvecp-printkey", USAGE, "", argc, argv);
    if (getopt (argc, argv, curvecp_tool_optstring ()) != -1)
        curvecp_tool_bad_option ();
    if (optind >= argc) {
        //  NaCl's usage line and exit code, which scripts may test for
        fprintf (stderr, "curvecp-printkey: usage: curvecp-printkey keydir\n");
        return CURVECP_TOOL_EXIT_FATAL;
    }
    const char *path = argv[optind];
    struct stat st;
    bool file = stat (path, &st) == 0 && S_ISREG (st.st_mode);
    uint8_t public_key[CURVECP_KEY_BYTES];
    curvecp_reason_t rc = file ? curvecp_zcert_load_public (path, public_key)
                               : curvecp_keydir_load_public (path, public_key);
    if (rc != CURVECP_OK)
        curvecp_tool_fatal ("%s", curvecp_keys_error ());
    char hex[2 * CURVECP_KEY_BYTES + 1];
    curvecp_key_to_hex (public_key, hex);
    //  A write error (full disk, closed pipe) must not look like success
    if (printf ("%s\n", hex) < 0 || fflush (stdout) == EOF)
        curvecp_tool_fatal ("unable to write output");
    return 0;
}
