/*  curvecp_filesend.h - the server side of one file transfer: takes the
    request bytes, opens the file safely under the served directory, and
    hands out the reply bytes (head, the file from the offset, the
    SHA-256 of the whole file) for any carrier to send.

    Safety: the path must pass curvecp_filexfer_path_check (relative, no
    ".."); the real path (every symlink resolved) must lie inside the
    real served directory, and the file that was opened is checked again
    through /proc/self/fd, so a symlink swapped in between is refused
    too. Only regular files are served.

        curvecp_filesend_t *send = curvecp_filesend_new (root);
        used = curvecp_filesend_feed (send, bytes, len);     // request
        while ((data = curvecp_filesend_data (send, &len)) && len)
            curvecp_filesend_advance (send, carrier_send (data, len));
                                                                         */
#ifndef CURVECP_FILESEND_H_INCLUDED
#define CURVECP_FILESEND_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_filexfer.h"
#include "curvecp_reason.h"

typedef struct _curvecp_filesend_t curvecp_filesend_t;

/* A transfer serving files below root (a directory). NULL with errno
   set if root cannot be resolved. */
curvecp_filesend_t *curvecp_filesend_new (const char *root);

/* Close the file and free; sets *self_p to NULL. */
void curvecp_filesend_destroy (curvecp_filesend_t **self_p);

/* Request bytes from the client; returns how many were taken (bytes
   after a whole request are not taken). Once the request is whole (or
   malformed), the reply is ready. */
size_t curvecp_filesend_feed (curvecp_filesend_t *self, const uint8_t *data, size_t len);

/* The reply is ready (the request was whole or malformed). */
bool curvecp_filesend_started (const curvecp_filesend_t *self);

/* The next bytes to send (valid until the next call); *len = 0 when
   everything has been handed out, or nothing is ready yet. */
const uint8_t *curvecp_filesend_data (curvecp_filesend_t *self, size_t *len);

/* n bytes of data were sent. */
void curvecp_filesend_advance (curvecp_filesend_t *self, size_t n);

/* Every byte of the reply has been handed out. */
bool curvecp_filesend_finished (const curvecp_filesend_t *self);

/* Reading the file failed mid-transfer (it shrank, an I/O error): the
   carrier should end the stream with a failure. */
bool curvecp_filesend_failed (const curvecp_filesend_t *self);

/* For logs: the request, the answer, and the file bytes sent so far. */
const curvecp_filexfer_request_t *curvecp_filesend_request (const curvecp_filesend_t *self);
const curvecp_filexfer_reply_t *curvecp_filesend_reply (const curvecp_filesend_t *self);
uint64_t curvecp_filesend_sent (const curvecp_filesend_t *self);

/* How the request decoded (CURVECP_OK, or why it was malformed). */
curvecp_reason_t curvecp_filesend_request_reason (const curvecp_filesend_t *self);

#endif
