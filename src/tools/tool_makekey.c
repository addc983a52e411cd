/*  curvecp-makekey - create a NaCl key directory, as curvecpmakekey does,
    or (-z) a CZMQ zcert certificate pair for the ØMQ tools.

    Usage: curvecp-makekey keydir
           curvecp-makekey -z name      (writes name and name_secret)
    A key directory has NaCl's files, sizes and modes and NaCl's exit
    codes: 111 for a missing argument (with NaCl's usage line) and for any
    failure (including an existing keydir), 0 on success. Arguments that
    start with '-' are options: -h / --help prints the usage on stdout
    (exit 0), an unknown option is a usage error (exit 100). Nothing is
    printed on success; the key is never printed.                       */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "curvecp_keys.h"
#include "curvecp_tool.h"

#define USAGE "curvecp-makekey: usage: curvecp-makekey keydir\n" \
    "       curvecp-makekey -z name\n" \
    "  keydir   a new NaCl key directory (publickey, .expertsonly/secretkey, ...)\n" \
    "  -z name  a new CZMQ zcert certificate pair instead: name (public, for a\n" \
    "           server's allow-list directory or a client's serverkey) and\n" \
    "           name_secret (both keys, mode 0600)\n" \
    "  -h       this help\n" \
    "Exit codes: 0 made; 100 usage; 111 fatal (it exists already, cannot write).\n"


/* A zcert pair, never over an existing file (a lost secret key cannot
   be had back). */
static int
make_zcert (const char *name)
{
    char secret[4096];
    struct stat st;
    if (snprintf (secret, sizeof secret, "%s_secret", name) >= (int) sizeof secret)
        curvecp_tool_fatal_detail ("name too long", name);
    if (lstat (name, &st) == 0)
        curvecp_tool_fatal_detail ("refusing to overwrite an existing file", name);
    if (lstat (secret, &st) == 0)
        curvecp_tool_fatal_detail ("refusing to overwrite an existing file", secret);
    curvecp_keypair_t keys;
    curvecp_keypair_generate (&keys);
    curvecp_reason_t rc = curvecp_zcert_save (name, &keys);
    curvecp_keypair_wipe (&keys);
    if (rc != CURVECP_OK)
        curvecp_tool_fatal_detail (curvecp_keys_error (), NULL);
    return 0;
}

int
main (int argc, char **argv)
{
    curvecp_tool_start ("curvecp-makekey", USAGE, "z", argc, argv);
    bool zcert = false;
    int opt;
    while ((opt = getopt (argc, argv, curvecp_tool_optstring ())) != -1) {
        if (opt == 'z')
            zcert = true;
        else
            curvecp_tool_bad_option ();
    }
    if (optind >= argc) {
        //  NaCl's usage line and exit code, which scripts may test for
        fprintf (stderr, "curvecp-makekey: usage: curvecp-makekey keydir\n");
        return CURVECP_TOOL_EXIT_FATAL;
    }
    if (zcert)
        return make_zcert (argv[optind]);
    if (curvecp_keydir_create (argv[optind], NULL) != CURVECP_OK)
        curvecp_tool_fatal_detail (curvecp_keys_error (), NULL);
    return 0;
}
