/*  curvecp_filerecv.h - the client side of one file transfer: keeps the
    partial copy as "local.part", asks for the rest of the file from where
    that copy ends, writes and hashes what arrives, and once the server's
    SHA-256 of the whole file matches, renames the copy to "local".

    A transfer that stops (the connection drops, the program is killed,
    the caller stops pushing) leaves local.part behind; the next transfer
    to the same local name resumes from its end. A copy whose digest does
    not match is deleted, so the next try starts afresh.

        curvecp_filerecv_t *recv = curvecp_filerecv_new ("dir/f", "f");
        len = curvecp_filerecv_request (recv, out, sizeof out);   // send it
        curvecp_filerecv_push (recv, bytes, n);                   // as they arrive
        ... until curvecp_filerecv_state is DONE or FAILED            */
#ifndef CURVECP_FILERECV_H_INCLUDED
#define CURVECP_FILERECV_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_filexfer.h"

typedef struct _curvecp_filerecv_t curvecp_filerecv_t;

typedef enum {
    CURVECP_FILERECV_RUNNING,
    CURVECP_FILERECV_DONE,              /* digest matched, file in place */
    CURVECP_FILERECV_FAILED             /* see failure and error */
} curvecp_filerecv_state_t;

typedef enum {
    CURVECP_FILERECV_E_NONE = 0,
    CURVECP_FILERECV_E_LOCAL,           /* our file system: disk full, permission... */
    CURVECP_FILERECV_E_NOT_FOUND,       /* server: no such file, not a regular file */
    CURVECP_FILERECV_E_REFUSED,         /* server: outside the served directory, denied */
    CURVECP_FILERECV_E_PROTOCOL,        /* malformed reply, server error, stream ended early */
    CURVECP_FILERECV_E_DIGEST,          /* the copy does not match the server's SHA-256 */
    CURVECP_FILERECV_E_STOPPED          /* stop_after was reached: the partial copy is kept */
} curvecp_filerecv_failure_t;

/* A transfer of remote_path into local_path (via local_path.part).
   Never NULL but on memory exhaustion; if local_path.part cannot be
   opened the transfer is FAILED from the start. */
curvecp_filerecv_t *curvecp_filerecv_new (const char *remote_path, const char *local_path);

/* Close the partial file (kept on disk unless done or empty) and free;
   sets *self_p to NULL. */
void curvecp_filerecv_destroy (curvecp_filerecv_t **self_p);

/* The request to send (asks from the end of the partial copy). Returns
   its length, 0 if the path is too long. */
size_t curvecp_filerecv_request (curvecp_filerecv_t *self, uint8_t *out, size_t cap);

/* Bytes from the server, in order. Returns how many were taken: all of
   them while running; fewer once the transfer is over (done or failed). */
size_t curvecp_filerecv_push (curvecp_filerecv_t *self, const uint8_t *data, size_t len);

/* Take at most bytes file bytes in this transfer, then stop (FAILED,
   E_STOPPED) keeping the partial copy: a way to test and show resuming. */
void curvecp_filerecv_stop_after (curvecp_filerecv_t *self, uint64_t bytes);

/* The server ended its stream: a failure unless the transfer is done. */
void curvecp_filerecv_end (curvecp_filerecv_t *self);

curvecp_filerecv_state_t curvecp_filerecv_state (const curvecp_filerecv_t *self);
curvecp_filerecv_failure_t curvecp_filerecv_failure (const curvecp_filerecv_t *self);

/* Why it failed, one line such as "f.part: No space left on device". */
const char *curvecp_filerecv_error (const curvecp_filerecv_t *self);

/* Where the copy grows: "LOCAL.part". */
const char *curvecp_filerecv_part_path (const curvecp_filerecv_t *self);

/* The reply head has arrived: size and offset below are the server's. */
bool curvecp_filerecv_started (const curvecp_filerecv_t *self);

/* Size of the whole file (once started), where this transfer started
   (the resume point) and the file bytes received in this transfer. */
uint64_t curvecp_filerecv_size (const curvecp_filerecv_t *self);
uint64_t curvecp_filerecv_offset (const curvecp_filerecv_t *self);
uint64_t curvecp_filerecv_received (const curvecp_filerecv_t *self);

/* File bytes still to come before the digest (once started). */
uint64_t curvecp_filerecv_remaining (const curvecp_filerecv_t *self);

#endif
