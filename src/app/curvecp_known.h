/*  curvecp_known.h - known servers for the client tools (curvecp-client,
    curvecp-fetch, curvecp-zmq-echo -c), like SSH's known_hosts.
    Where a tool takes a server key it also takes a server NAME: a word
    that is not 64 hex digits nor an existing key directory or zcert file.
    The name is looked up in the known-servers file (lines "NAME HEX",
    '#' comments), then, if the environment names a key service
    (CURVECP_KEYD="HEX@ENDPOINT" and CURVECP_KEYD_ADMIN="HEX"), in the
    key service's signed set (its newest live entry with that name).
    An explicit key is recorded under the tool's record name (the server
    name, or the endpoint) at its first use; a later, different key for
    that name is refused until the user deletes the line.
    The file is $CURVECP_KNOWN_SERVERS when that is set (empty: no file),
    else $HOME/.curvecp/known_servers when that file exists: recording is
    opted into by creating the file (or naming one), so that tools run by
    scripts and tests with throw-away keys never fill a user's file.  */
#ifndef CURVECP_KNOWN_H_INCLUDED
#define CURVECP_KNOWN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"

typedef enum {
    CURVECP_KNOWN_OK = 0,
    CURVECP_KNOWN_RECORDED,     /* ok, and the key was recorded now */
    CURVECP_KNOWN_BAD_KEY,      /* an explicit key that cannot be read */
    CURVECP_KNOWN_UNKNOWN,      /* a name nobody maps to a key */
    CURVECP_KNOWN_MISMATCH,     /* an explicit key other than the recorded one */
    CURVECP_KNOWN_IO            /* the file cannot be read or written */
} curvecp_known_result_t;

/* How a tool that speaks ØMQ asks the key service (curvecp_keyd_lookup):
   0 and key, or -1. Tools that do not register one skip the service. */
typedef int (curvecp_known_keyd_fn) (const char *keyd_spec, const uint8_t admin_key[32], const char *name,
        uint8_t key[CURVECP_KEY_BYTES], int timeout_ms);
void curvecp_known_set_keyd (curvecp_known_keyd_fn *fn);

/* An explicit key: 64 hex digits, a key directory or a zcert file. False
   with *is_key false when arg is none of these (then it may be a name);
   false with *is_key true when it names a key file that cannot be read
   (error says why). */
bool curvecp_known_explicit_key (const char *arg, uint8_t key[CURVECP_KEY_BYTES], bool *is_key,
        char *error, size_t error_size);

/* The known-servers file in force ("" when none). */
const char *curvecp_known_file (void);

/* Resolve arg (a key: 64 hex digits, key directory, zcert file; or a
   name) to key. record_name: where an explicit key is recorded (NULL or
   "": not recorded). On failure, error (of error_size) says why in one
   line naming the file and line. */
curvecp_known_result_t curvecp_known_server_key (const char *arg, const char *record_name,
        uint8_t key[CURVECP_KEY_BYTES], char *error, size_t error_size);

#endif
