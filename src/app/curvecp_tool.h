/*  curvecp_tool.h - the command-line conventions every curvecp tool
    shares, so that they behave alike:

      - arguments that start with '-' are options, up to the first
        operand, "-" or "--"; a key directory called "-h" is never made;
      - -h or --help prints the usage on stdout and exits 0;
      - a usage error prints one line naming what is wrong, then the
        usage, on stderr, and exits 100 (NaCl's code);
      - a fatal error exits 111 (NaCl's code).

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

/* The message layer's give-up (how long the peer may stay silent with
   data outstanding before the connection fails): default_ns, or the
   milliseconds in the environment variable CURVECP_GIVE_UP_MS (1 ms to
   1 hour), so that tests of a give-up need not wait 60 s. */
uint64_t curvecp_tool_give_up_ns (uint64_t default_ns);

/* The tool's name, as given to curvecp_tool_start. */
const char *curvecp_tool_name (void);

#endif
