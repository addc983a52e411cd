/*  test_tool_units.c - the tools' shared conventions (curvecp_tool.h)
    without running a tool: the number parser (every bad input refused
    with the value and errno untouched, the edges of each range kept),
    the -t seconds option, and the fatal error's exact line, exit code,
    quiet mode and cleanup, each in a child process since they exit.  */
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>
#include "curvecp_tool.h"
#include "testutil.h"

/* ---- curvecp_tool_number ------------------------------------------------ */

static void
check_refused (const char *text, uint64_t min, uint64_t max)
{
    uint64_t value = 4242;
    errno = EINTR;
    if (curvecp_tool_number (text, min, max, &value)) {
        fprintf (stderr, "'%s' taken in %llu..%llu\n", text, (unsigned long long) min, (unsigned long long) max);
        exit (1);
    }
    CHECK_EQ (value, 4242);             /* refused: the output untouched */
    CHECK_EQ (errno, EINTR);            /* and errno too: a fatal may print it */
}

static void
check_taken (const char *text, uint64_t min, uint64_t max, uint64_t expected)
{
    uint64_t value = 4242;
    errno = EINTR;
    CHECK (curvecp_tool_number (text, min, max, &value));
    CHECK (value == expected);
    CHECK_EQ (errno, EINTR);
}

static void
test_number (void)
{
    check_taken ("1", 1, 10, 1);
    check_taken ("10", 1, 10, 10);
    check_taken ("007", 1, 10, 7);                  /* leading zeros are digits */
    check_taken ("0", 0, 10, 0);
    check_taken ("18446744073709551615", 0, UINT64_MAX, UINT64_MAX);
    check_refused ("", 0, 10);                      /* empty */
    check_refused ("5x", 0, 10);                    /* trailing junk */
    check_refused ("5 ", 0, 10);
    check_refused ("0x5", 0, 10);
    check_refused ("5.0", 0, 10);
    check_refused ("x", 0, 10);
    check_refused (" 5", 0, 10);                    /* strtol would skip the space */
    check_refused ("+5", 0, 10);                    /* and take the sign */
    check_refused ("-5", 0, 10);                    /* negative */
    check_refused ("-0", 0, 10);
    check_refused (" -5", 0, UINT64_MAX);           /* strtoull would wrap it */
    check_refused ("0", 1, 10);                     /* out of range, both ends */
    check_refused ("11", 1, 10);
    check_refused ("18446744073709551616", 0, UINT64_MAX);     /* overflow */
    check_refused ("99999999999999999999999", 0, UINT64_MAX);
}

/* ---- what exits: run in a child, collect its stderr and status --------- */

typedef struct {
    int status;                         /* exit code, or -1 if it did not exit */
    char err[512];
} outcome_t;

static outcome_t
run_child (void (*body) (void))
{
    int fds[2];
    CHECK (pipe (fds) == 0);
    fflush (stdout);                    /* the child exits through exit (): no second copy */
    pid_t pid = fork ();
    CHECK (pid >= 0);
    if (pid == 0) {
        dup2 (fds[1], 2);
        close (fds[0]);
        body ();
        _exit (0);                      /* body was meant to exit: 0 says it did not */
    }
    close (fds[1]);
    outcome_t outcome = { -1, "" };
    size_t len = 0;
    ssize_t got;
    while (len < sizeof outcome.err - 1 && (got = read (fds[0], outcome.err + len, sizeof outcome.err - 1 - len)) > 0)
        len += (size_t) got;
    outcome.err[len] = 0;
    close (fds[0]);
    int status;
    CHECK (waitpid (pid, &status, 0) == pid);
    if (WIFEXITED (status))
        outcome.status = WEXITSTATUS (status);
    return outcome;
}

static void
check_outcome (void (*body) (void), int status, const char *err)
{
    outcome_t outcome = run_child (body);
    if (outcome.status != status || strcmp (outcome.err, err) != 0) {
        fprintf (stderr, "expected %d \"%s\", got %d \"%s\"\n", status, err, outcome.status, outcome.err);
        exit (1);
    }
}

static void start (void) { curvecp_tool_start ("curvecp-test", "usage: curvecp-test [-t secs]\n", "t:", 1, (char *[]) { "x", NULL }); }

static void fatal_format (void) { start (); curvecp_tool_fatal ("%d flows, %s", 3, "too many"); }
static void detail_some (void) { start (); curvecp_tool_fatal_detail ("unable to bind", "Address in use"); }
static void detail_null (void) { start (); curvecp_tool_fatal_detail ("libsodium", NULL); }
static void detail_empty (void) { start (); curvecp_tool_fatal_detail ("unable to bind", ""); }
static void errno_set (void) { start (); errno = ENOENT; curvecp_tool_fatal_errno ("unable to read"); }
static void errno_zero (void) { start (); errno = 0; curvecp_tool_fatal_errno ("out of memory"); }
static void quiet (void) { start (); curvecp_tool_set_quiet (true); curvecp_tool_fatal ("not said"); }
static void quiet_off (void) { start (); curvecp_tool_set_quiet (true); curvecp_tool_set_quiet (false); curvecp_tool_fatal ("said"); }
static void cleanup (void) { fprintf (stderr, "cleanup\n"); }
static void with_cleanup (void) { start (); curvecp_tool_on_fatal (cleanup); curvecp_tool_fatal ("first"); }
static void seconds_zero (void) { start (); curvecp_tool_seconds ("0"); }
static void seconds_over (void) { start (); curvecp_tool_seconds ("86401"); }
static void seconds_junk (void) { start (); curvecp_tool_seconds ("10s"); }

static void
test_fatal (void)
{
    check_outcome (fatal_format, 111, "curvecp-test: fatal: 3 flows, too many\n");
    check_outcome (detail_some, 111, "curvecp-test: fatal: unable to bind: Address in use\n");
    check_outcome (detail_null, 111, "curvecp-test: fatal: libsodium\n");
    check_outcome (detail_empty, 111, "curvecp-test: fatal: unable to bind\n");
    char expected[256];
    snprintf (expected, sizeof expected, "curvecp-test: fatal: unable to read: %s\n", strerror (ENOENT));
    check_outcome (errno_set, 111, expected);
    check_outcome (errno_zero, 111, "curvecp-test: fatal: out of memory\n");
    check_outcome (quiet, 111, "");
    check_outcome (quiet_off, 111, "curvecp-test: fatal: said\n");
    check_outcome (with_cleanup, 111, "curvecp-test: fatal: first\ncleanup\n");   /* message first */
}

static void
test_seconds (void)
{
    CHECK_EQ (curvecp_tool_seconds ("1"), 1);
    CHECK_EQ (curvecp_tool_seconds ("86400"), 86400);
#define USAGE_ERROR(text) "curvecp-test: bad -t '" text "' (whole seconds, 1 to 86400)\nusage: curvecp-test [-t secs]\n"
    check_outcome (seconds_zero, 100, USAGE_ERROR ("0"));
    check_outcome (seconds_over, 100, USAGE_ERROR ("86401"));
    check_outcome (seconds_junk, 100, USAGE_ERROR ("10s"));
}

int
main (void)
{
    test_number ();
    test_fatal ();
    test_seconds ();
    printf ("test_tool_units: OK\n");
    return 0;
}
