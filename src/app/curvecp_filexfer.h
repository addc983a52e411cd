/*  curvecp_filexfer.h - the wire format of curvecp's file transfer
    (curvecp-fileserver / curvecp-fetch): pure encoders, decoders and the
    path rule, no I/O.

    The protocol is a byte stream each way, so the same bytes travel on
    a UDP stream-mode connection and, cut into ØMQ messages of any size,
    on the ØMQ carrier. All integers are big-endian.

        request   "CPFQ" | version 1 | flags 0 | path length u16 |
                  offset u64 | path (1..1024 bytes, no NUL)
        reply     "CPFR" | version 1 | status u8 | text length u16 |
                  size u64 | offset u64 | text (0..1024 bytes)
        then, if the status is OK: the file's bytes from offset to size,
        then the SHA-256 of the whole file (bytes 0..size), 32 bytes.

    offset is where the client's partial copy ends; the server answers
    with the offset it will really start at (0 if the client's was past
    the end of the file), and the client cuts its copy back to it. The
    digest always covers the whole file, so a resumed copy is checked
    as a whole.                                                          */
#ifndef CURVECP_FILEXFER_H_INCLUDED
#define CURVECP_FILEXFER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_reason.h"

#define CURVECP_FILEXFER_VERSION       1
#define CURVECP_FILEXFER_PATH_MAX      1024
#define CURVECP_FILEXFER_TEXT_MAX      1024
#define CURVECP_FILEXFER_REQUEST_HEAD  16
#define CURVECP_FILEXFER_REPLY_HEAD    24
#define CURVECP_FILEXFER_REQUEST_MAX   (CURVECP_FILEXFER_REQUEST_HEAD + CURVECP_FILEXFER_PATH_MAX)
#define CURVECP_FILEXFER_REPLY_MAX     (CURVECP_FILEXFER_REPLY_HEAD + CURVECP_FILEXFER_TEXT_MAX)
#define CURVECP_FILEXFER_DIGEST_BYTES  32

typedef enum {
    CURVECP_FILEXFER_OK = 0,
    CURVECP_FILEXFER_NOT_FOUND,        /* no such file */
    CURVECP_FILEXFER_OUTSIDE,          /* path outside the served directory */
    CURVECP_FILEXFER_NOT_REGULAR,      /* a directory, device, fifo... */
    CURVECP_FILEXFER_DENIED,           /* the server may not read it */
    CURVECP_FILEXFER_BAD_REQUEST,      /* malformed request */
    CURVECP_FILEXFER_SERVER_ERROR,     /* the server failed (I/O) */
    CURVECP_FILEXFER_STATUS_COUNT
} curvecp_filexfer_status_t;

typedef struct {
    uint64_t offset;
    char path[CURVECP_FILEXFER_PATH_MAX + 1];
} curvecp_filexfer_request_t;

typedef struct {
    curvecp_filexfer_status_t status;
    uint64_t size;                     /* whole file (0 unless OK) */
    uint64_t offset;                   /* first byte that follows */
    char text[CURVECP_FILEXFER_TEXT_MAX + 1];   /* why, for a refusal */
} curvecp_filexfer_reply_t;

/* Encode into out (cap >= CURVECP_FILEXFER_REQUEST_MAX / _REPLY_MAX is
   always enough). Returns the length, 0 if a field is out of range. */
size_t curvecp_filexfer_request_encode (const curvecp_filexfer_request_t *request, uint8_t *out, size_t cap);
size_t curvecp_filexfer_reply_encode (const curvecp_filexfer_reply_t *reply, uint8_t *out, size_t cap);

/* Decode from the start of a stream. CURVECP_OK with *used = 0: not
   whole yet, give more bytes. CURVECP_OK with *used > 0: decoded, *used
   bytes taken. Any other reason: malformed (E_TOO_SHORT: empty path;
   E_TOO_LONG: path or text over the limit; E_BAD_MAGIC: magic or
   version; E_BAD_MESSAGE: a NUL in the path, flags set, an unknown
   status, offset past size), and the output is left alone. */
curvecp_reason_t curvecp_filexfer_request_decode (const uint8_t *data, size_t len,
        curvecp_filexfer_request_t *request, size_t *used);
curvecp_reason_t curvecp_filexfer_reply_decode (const uint8_t *data, size_t len,
        curvecp_filexfer_reply_t *reply, size_t *used);

/* The lexical rule for a requested path: relative, no ".." component,
   not empty. CURVECP_FILEXFER_OK or CURVECP_FILEXFER_OUTSIDE (symlinks
   are the server's to check on the real file system). */
curvecp_filexfer_status_t curvecp_filexfer_path_check (const char *path);

/* "no such file", "path outside the served directory", ... */
const char *curvecp_filexfer_status_text (curvecp_filexfer_status_t status);

#endif
