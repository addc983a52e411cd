/*  curvecp_tool.c - the shared command-line conventions of the tools
    (see curvecp_tool.h). One tool per process, so the name and usage
    live in file-scope state set once at start.                          */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "curvecp_tool.h"

static const char *s_name = "curvecp";
static const char *s_usage = "";
static char s_optstring[64] = "+:";

static bool
takes_argument (const char *optstring, char option)
{
    const char *at = strchr (optstring, option);
    return option != ':' && at && at[1] == ':';
}

/* Walk the options as getopt will (bundles, option arguments) up to the
   first operand, looking for -h / --help and long options. */
void
curvecp_tool_start (const char *name, const char *usage, const char *optstring, int argc, char **argv)
{
    s_name = name;
    s_usage = usage;
    snprintf (s_optstring, sizeof s_optstring, "+:%s", optstring);
    opterr = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] == 0 || strcmp (arg, "--") == 0)
            return;
        if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0) {
            fputs (usage, stdout);
            exit (fflush (stdout) == 0 ? 0 : CURVECP_TOOL_EXIT_FATAL);
        }
        if (arg[1] == '-')
            curvecp_tool_usage_error ("unknown option '%s'", arg);
        for (const char *c = arg + 1; *c; c++)
            if (takes_argument (optstring, *c)) {
                if (c[1] == 0)
                    i++;                  /* the next word is its argument */
                break;
            }
    }
}

const char *
curvecp_tool_optstring (void)
{
    return s_optstring;
}

void
curvecp_tool_bad_option (void)
{
    if (optopt && takes_argument (s_optstring, (char) optopt))
        curvecp_tool_usage_error ("option -%c needs an argument", optopt);
    curvecp_tool_usage_error ("unknown option '-%c'", optopt ? optopt : '?');
}

void
curvecp_tool_usage_error (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "%s: ", s_name);
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
    fputs (s_usage, stderr);
    exit (CURVECP_TOOL_EXIT_USAGE);
}

const char *
curvecp_tool_name (void)
{
    return s_name;
}

uint64_t
curvecp_tool_give_up_ns (uint64_t default_ns)
{
    const char *text = getenv ("CURVECP_GIVE_UP_MS");
    if (!text || !*text)
        return default_ns;
    char *end;
    unsigned long ms = strtoul (text, &end, 10);
    if (*end || ms < 1 || ms > 3600000ul)
        return default_ns;
    return (uint64_t) ms * 1000000ull;
}
