/*  curvecp_tool.h - the command-line conventions every curvecp tool
    shares, so that they behave alike:

      - arguments that start with '-' are options, up to the first
        operand, "-" or "--"; a key directory called "-h" is never made;
      - -h or --help prints the usage on stdout and exits 0;
      - a usage error prints one line naming what is wrong, then the
        usage, on stderr, and exits 100 (NaCl's code);
      - a fatal error prints "name: fatal: <message>" on stderr (unless
        the tool was told to be quiet) and exits 111 (NaCl's code);
      - a number option is decimal digits only, within its range.

    Call curvecp_tool_start first: it notes the tool's name and usage and
    answers -h / --help (and refuses other long options) before getopt
    sees them. Then run getopt with curvecp_tool_optstring's result and
    hand anything it does not know to curvecp_tool_bad_option.           */
#ifndef CURVECP_TOOL_H_INCLUDED
#define CURVECP_TOOL_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#define CURVECP_TOOL_EXIT_USAGE 100
#define CURVECP_TOOL_EXIT_FATAL 111

/* name: "curvecp-client"; usage: the whole usage text; optstring: the
   tool's getopt options (without the leading '+' or ':'). Exits 0 after
   printing the usage if -h or --help is among the options; exits 100 for
   any other --long option. Sets getopt to stop at the first operand and
   to print nothing itself. */
void curvecp_tool_start (const char *name, const char *usage, const char *optstring, int argc, char **argv);

/* The getopt option string to use: "+:" followed by optstring. */
const char *curvecp_tool_optstring (void);

/* getopt returned '?' or ':': name the option, usage, exit 100. */
void curvecp_tool_bad_option (void) __attribute__ ((noreturn));

/* A usage error: "name: <message>", then the usage, exit 100. */
void curvecp_tool_usage_error (const char *format, ...)
    __attribute__ ((format (printf, 1, 2), noreturn));

/* A fatal error: "name: fatal: <message>" on stderr, then exit 111.
   Runs the tool's cleanup first (curvecp_tool_on_fatal); prints nothing
   if the tool is quiet (curvecp_tool_set_quiet). */
void curvecp_tool_fatal (const char *format, ...)
    __attribute__ ((format (printf, 1, 2), noreturn));

/* The shape most fatal errors have: "what: detail", or "what" alone
   when detail is NULL or empty (a library that had nothing to add). */
void curvecp_tool_fatal_detail (const char *what, const char *detail) __attribute__ ((noreturn));

/* "what: <strerror (errno)>", or "what" alone when errno is 0 (a
   failure that set none, such as a refusal by the library). */
void curvecp_tool_fatal_errno (const char *what) __attribute__ ((noreturn));

/* quiet: a fatal error exits 111 without a word (the NaCl tools' -q). */
void curvecp_tool_set_quiet (bool quiet);

/* cleanup: run after the message of a fatal error and before its exit,
   for what must not outlive the process unclosed (a ØMQ socket). */
void curvecp_tool_on_fatal (void (*cleanup) (void));

/* A number option: decimal digits only (no sign, no spaces: strtol would
   take " +5"), nothing after them, no overflow, within min..max. True
   with *value set, or false with *value and errno untouched, so that the
   caller names the option in its own usage error. */
bool curvecp_tool_number (const char *text, uint64_t min, uint64_t max, uint64_t *value);

/* The -t option of the tools that wait for a peer: whole seconds, 1 to
   86400, or a usage error that says so. */
int curvecp_tool_seconds (const char *text);

/* The message layer's give-up (how long the peer may stay silent with
   data outstanding before the connection fails): default_ns, or the
   milliseconds in the environment variable CURVECP_GIVE_UP_MS (1 ms to
   1 hour), so that tests of a give-up need not wait 60 s. */
uint64_t curvecp_tool_give_up_ns (uint64_t default_ns);

/* The tool's name, as given to curvecp_tool_start. */
const char *curvecp_tool_name (void);

#endif
