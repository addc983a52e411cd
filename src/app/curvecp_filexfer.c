/*  curvecp_filexfer.c - the file-transfer wire format (pure, no I/O).

    Lives with the carriers because its users (curvecp_filesend,
    curvecp_filerecv) touch files; the codec itself would be at home in
    src/core.                                                            */
#include <string.h>
#include "curvecp_filexfer.h"

static const uint8_t request_magic[4] = { 'C', 'P', 'F', 'Q' };
static const uint8_t reply_magic[4] = { 'C', 'P', 'F', 'R' };

static void
store_be (uint8_t *out, uint64_t value, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, value >>= 8)
        out[i] = (uint8_t) value;
}

static uint64_t
load_be (const uint8_t *in, int bytes)
{
    uint64_t value = 0;
    for (int i = 0; i < bytes; i++)
        value = (value << 8) | in[i];
    return value;
}

size_t
curvecp_filexfer_request_encode (const curvecp_filexfer_request_t *request, uint8_t *out, size_t cap)
{
    size_t path_len = strnlen (request->path, sizeof request->path);
    size_t len = CURVECP_FILEXFER_REQUEST_HEAD + path_len;
    if (path_len == 0 || path_len > CURVECP_FILEXFER_PATH_MAX || cap < len)
        return 0;
    memcpy (out, request_magic, 4);
    out[4] = CURVECP_FILEXFER_VERSION;
    out[5] = 0;
    store_be (out + 6, path_len, 2);
    store_be (out + 8, request->offset, 8);
    memcpy (out + CURVECP_FILEXFER_REQUEST_HEAD, request->path, path_len);
    return len;
}

size_t
curvecp_filexfer_reply_encode (const curvecp_filexfer_reply_t *reply, uint8_t *out, size_t cap)
{
    size_t text_len = strnlen (reply->text, sizeof reply->text);
    size_t len = CURVECP_FILEXFER_REPLY_HEAD + text_len;
    if (text_len > CURVECP_FILEXFER_TEXT_MAX || cap < len
    ||  (unsigned) reply->status >= CURVECP_FILEXFER_STATUS_COUNT || reply->offset > reply->size)
        return 0;
    memcpy (out, reply_magic, 4);
    out[4] = CURVECP_FILEXFER_VERSION;
    out[5] = (uint8_t) reply->status;
    store_be (out + 6, text_len, 2);
    store_be (out + 8, reply->size, 8);
    store_be (out + 16, reply->offset, 8);
    memcpy (out + CURVECP_FILEXFER_REPLY_HEAD, reply->text, text_len);
    return len;
}

/* The fixed head both messages share: magic, version, a byte, a length. */
static curvecp_reason_t
check_head (const uint8_t *data, size_t len, const uint8_t magic[4], size_t head, size_t max,
            size_t *body_len)
{
    *body_len = 0;
    /* refuse a wrong magic as soon as its bytes are here, not after a full head */
    if (memcmp (data, magic, len < 4 ? len : 4) != 0 || (len > 4 && data[4] != CURVECP_FILEXFER_VERSION))
        return CURVECP_E_BAD_MAGIC;
    if (len < head)
        return CURVECP_OK;
    *body_len = (size_t) load_be (data + 6, 2);
    if (*body_len > max)
        return CURVECP_E_TOO_LONG;
    return CURVECP_OK;
}

/* The string after the head: *whole = false while it is not all here;
   copied with its NUL into out once it is (a NUL inside is malformed). */
static curvecp_reason_t
take_string (const uint8_t *data, size_t len, size_t head, size_t str_len, char *out, bool *whole)
{
    *whole = len >= head + str_len;
    if (!*whole)
        return CURVECP_OK;
    if (memchr (data + head, 0, str_len))
        return CURVECP_E_BAD_MESSAGE;
    memcpy (out, data + head, str_len);
    out[str_len] = 0;
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_filexfer_request_decode (const uint8_t *data, size_t len, curvecp_filexfer_request_t *request,
                                 size_t *used)
{
    size_t path_len;
    char path[CURVECP_FILEXFER_PATH_MAX + 1];
    bool whole;
    *used = 0;
    curvecp_reason_t rc = check_head (data, len, request_magic, CURVECP_FILEXFER_REQUEST_HEAD,
                                      CURVECP_FILEXFER_PATH_MAX, &path_len);
    if (rc != CURVECP_OK || len < CURVECP_FILEXFER_REQUEST_HEAD)
        return rc;
    if (data[5] != 0)
        return CURVECP_E_BAD_MESSAGE;
    if (path_len == 0)
        return CURVECP_E_TOO_SHORT;
    rc = take_string (data, len, CURVECP_FILEXFER_REQUEST_HEAD, path_len, path, &whole);
    if (rc != CURVECP_OK || !whole)
        return rc;
    request->offset = load_be (data + 8, 8);
    memcpy (request->path, path, path_len + 1);
    *used = CURVECP_FILEXFER_REQUEST_HEAD + path_len;
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_filexfer_reply_decode (const uint8_t *data, size_t len, curvecp_filexfer_reply_t *reply,
                               size_t *used)
{
    size_t text_len;
    char text[CURVECP_FILEXFER_TEXT_MAX + 1];
    bool whole;
    *used = 0;
    curvecp_reason_t rc = check_head (data, len, reply_magic, CURVECP_FILEXFER_REPLY_HEAD,
                                      CURVECP_FILEXFER_TEXT_MAX, &text_len);
    if (rc != CURVECP_OK || len < CURVECP_FILEXFER_REPLY_HEAD)
        return rc;
    uint64_t size = load_be (data + 8, 8), offset = load_be (data + 16, 8);
    if (data[5] >= CURVECP_FILEXFER_STATUS_COUNT || offset > size)
        return CURVECP_E_BAD_MESSAGE;
    rc = take_string (data, len, CURVECP_FILEXFER_REPLY_HEAD, text_len, text, &whole);
    if (rc != CURVECP_OK || !whole)
        return rc;
    reply->status = (curvecp_filexfer_status_t) data[5];
    reply->size = size;
    reply->offset = offset;
    memcpy (reply->text, text, text_len + 1);
    *used = CURVECP_FILEXFER_REPLY_HEAD + text_len;
    return CURVECP_OK;
}

curvecp_filexfer_status_t
curvecp_filexfer_path_check (const char *path)
{
    if (!path || !*path || *path == '/')
        return CURVECP_FILEXFER_OUTSIDE;
    for (const char *part = path; *part; ) {
        size_t n = strcspn (part, "/");
        if (n == 2 && part[0] == '.' && part[1] == '.')
            return CURVECP_FILEXFER_OUTSIDE;
        part += n;
        part += *part == '/';
    }
    return CURVECP_FILEXFER_OK;
}

const char *
curvecp_filexfer_status_text (curvecp_filexfer_status_t status)
{
    switch (status) {
        case CURVECP_FILEXFER_OK:           return "ok";
        case CURVECP_FILEXFER_NOT_FOUND:    return "no such file";
        case CURVECP_FILEXFER_OUTSIDE:      return "path outside the served directory";
        case CURVECP_FILEXFER_NOT_REGULAR:  return "not a regular file";
        case CURVECP_FILEXFER_DENIED:       return "permission denied";
        case CURVECP_FILEXFER_BAD_REQUEST:  return "malformed request";
        case CURVECP_FILEXFER_SERVER_ERROR: return "server error";
        default:                            return "unknown status";
    }
}
