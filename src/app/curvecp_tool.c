/*  curvecp_tool.c - the shared command-line conventions of the tools
    (see curvecp_tool.h). One tool per process, so the name and usage
    live in file-scope state set once at start.                          */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "curvecp_tool.h"

static const char *s_name = "curvecp";
static const char *s_usage = "";
static char s_optstring[64] = "+:";
static bool s_quiet = false;
static void (*s_cleanup) (void) = NULL;

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

/* One line on stderr, "name: <kind><message>", as every tool's errors. */
static void say_line (const char *kind, const char *format, va_list args) __attribute__ ((format (printf, 2, 0)));

static void
say_line (const char *kind, const char *format, va_list args)
{
    fprintf (stderr, "%s: %s", s_name, kind);
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
}

void
curvecp_tool_usage_error (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    say_line ("", format, args);
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

void
curvecp_tool_set_quiet (bool quiet)
{
    s_quiet = quiet;
}

void
curvecp_tool_on_fatal (void (*cleanup) (void))
{
    s_cleanup = cleanup;
}

/* The message is printed before the cleanup runs: its text may live in
   what the cleanup frees (a client's error string). */
void
curvecp_tool_fatal (const char *format, ...)
{
    if (!s_quiet) {
        va_list args;
        va_start (args, format);
        say_line ("fatal: ", format, args);
        va_end (args);
    }
    if (s_cleanup)
        s_cleanup ();
    exit (CURVECP_TOOL_EXIT_FATAL);
}

void
curvecp_tool_fatal_detail (const char *what, const char *detail)
{
    if (detail && *detail)
        curvecp_tool_fatal ("%s: %s", what, detail);
    curvecp_tool_fatal ("%s", what);
}

void
curvecp_tool_fatal_errno (const char *what)
{
    int err = errno;
    curvecp_tool_fatal_detail (what, err ? strerror (err) : NULL);
}

bool
curvecp_tool_number (const char *text, uint64_t min, uint64_t max, uint64_t *value)
{
    if (*text < '0' || *text > '9')
        return false;
    int saved = errno;                  /* a later fatal may print errno */
    errno = 0;
    char *end;
    unsigned long long n = strtoull (text, &end, 10);
    bool good = *end == 0 && errno == 0 && n >= min && n <= max;
    errno = saved;
    if (good)
        *value = (uint64_t) n;
    return good;
}

int
curvecp_tool_seconds (const char *text)
{
    uint64_t seconds;
    if (!curvecp_tool_number (text, 1, 86400, &seconds))
        curvecp_tool_usage_error ("bad -t '%s' (whole seconds, 1 to 86400)", text);
    return (int) seconds;
}
