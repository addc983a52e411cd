/*  curvecp_filesend.c - server side of one file transfer.                */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "curvecp_filesend.h"

#define CHUNK (64 * 1024)

typedef enum { WAIT_REQUEST, HEAD, BODY, TRAILER, DONE, FAILED } phase_t;

struct _curvecp_filesend_t {
    char *root;                              /* realpath of the served directory */
    phase_t phase;
    uint8_t request_buf[CURVECP_FILEXFER_REQUEST_MAX];
    size_t request_len;
    curvecp_reason_t request_reason;
    curvecp_filexfer_request_t request;
    curvecp_filexfer_reply_t reply;
    int fd;
    crypto_hash_sha256_state hash;
    uint64_t position;                       /* next file byte to read */
    uint64_t sent;                           /* file bytes handed out and sent */
    uint8_t buf[CHUNK];                      /* head, a chunk of the file, or the digest */
    size_t buf_len, buf_pos;
};

curvecp_filesend_t *
curvecp_filesend_new (const char *root)
{
    char *real = realpath (root, NULL);
    if (!real)
        return NULL;
    curvecp_filesend_t *self = (curvecp_filesend_t *) calloc (1, sizeof *self);
    if (!self) {
        free (real);
        return NULL;
    }
    self->root = real;
    self->fd = -1;
    return self;
}

void
curvecp_filesend_destroy (curvecp_filesend_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_filesend_t *self = *self_p;
    if (self->fd >= 0)
        close (self->fd);
    free (self->root);
    free (self);
    *self_p = NULL;
}

/* Inside root: root itself or below "root/". */
static bool
inside_root (const curvecp_filesend_t *self, const char *real)
{
    size_t n = strlen (self->root);
    if (strcmp (self->root, "/") == 0)
        return true;
    return strncmp (real, self->root, n) == 0 && (real[n] == '/' || real[n] == 0);
}

static curvecp_filexfer_status_t
status_from_errno (int err)
{
    if (err == ENOENT || err == ENOTDIR)
        return CURVECP_FILEXFER_NOT_FOUND;
    if (err == EACCES || err == EPERM)
        return CURVECP_FILEXFER_DENIED;
    if (err == ELOOP)
        return CURVECP_FILEXFER_OUTSIDE;
    return CURVECP_FILEXFER_SERVER_ERROR;
}

/* The opened file is still the one realpath found (a symlink swapped in
   after realpath would show a different target). No /proc: trust the
   realpath check and O_NOFOLLOW. */
static bool
opened_inside (const curvecp_filesend_t *self, int fd)
{
    char link[64], target[PATH_MAX + 1];
    snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink (link, target, PATH_MAX);
    if (n < 0)
        return errno == ENOENT;
    target[n] = 0;
    return inside_root (self, target);
}

/* Resolve, check and open the requested file; the status says why not. */
static curvecp_filexfer_status_t
open_file (curvecp_filesend_t *self, uint64_t *size)
{
    curvecp_filexfer_status_t status = curvecp_filexfer_path_check (self->request.path);
    if (status != CURVECP_FILEXFER_OK)
        return status;
    char joined[PATH_MAX + CURVECP_FILEXFER_PATH_MAX + 2];
    snprintf (joined, sizeof joined, "%s/%s", self->root, self->request.path);
    char *real = realpath (joined, NULL);
    if (!real)
        return status_from_errno (errno);
    int fd = -1;
    if (!inside_root (self, real))
        status = CURVECP_FILEXFER_OUTSIDE;
    else if ((fd = open (real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
        status = status_from_errno (errno);
    free (real);
    if (status != CURVECP_FILEXFER_OK)
        return status;
    struct stat st;
    if (!opened_inside (self, fd))
        status = CURVECP_FILEXFER_OUTSIDE;
    else if (fstat (fd, &st) != 0)
        status = CURVECP_FILEXFER_SERVER_ERROR;
    else if (!S_ISREG (st.st_mode))
        status = CURVECP_FILEXFER_NOT_REGULAR;
    if (status != CURVECP_FILEXFER_OK) {
        close (fd);
        return status;
    }
    self->fd = fd;
    *size = (uint64_t) st.st_size;
    return CURVECP_FILEXFER_OK;
}

/* Read up to want bytes at the current position into buf, hashing them. */
static ssize_t
read_hashed (curvecp_filesend_t *self, uint8_t *buf, size_t want)
{
    ssize_t n;
    do
        n = read (self->fd, buf, want);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        crypto_hash_sha256_update (&self->hash, buf, (unsigned long long) n);
        self->position += (uint64_t) n;
    }
    return n;
}

/* The digest covers the whole file: hash the part the client has. */
static bool
hash_prefix (curvecp_filesend_t *self, uint64_t offset)
{
    while (self->position < offset) {
        uint64_t left = offset - self->position;
        ssize_t n = read_hashed (self, self->buf, left < CHUNK ? (size_t) left : CHUNK);
        if (n <= 0)
            return false;
    }
    return true;
}

static void
prepare_reply (curvecp_filesend_t *self)
{
    curvecp_filexfer_reply_t *reply = &self->reply;
    memset (reply, 0, sizeof *reply);
    crypto_hash_sha256_init (&self->hash);
    if (self->request_reason != CURVECP_OK)
        reply->status = CURVECP_FILEXFER_BAD_REQUEST;
    else
        reply->status = open_file (self, &reply->size);
    if (reply->status == CURVECP_FILEXFER_OK) {
        reply->offset = self->request.offset <= reply->size ? self->request.offset : 0;
        if (!hash_prefix (self, reply->offset))
            reply->status = CURVECP_FILEXFER_SERVER_ERROR;
    }
    if (reply->status != CURVECP_FILEXFER_OK) {
        reply->size = reply->offset = 0;
        snprintf (reply->text, sizeof reply->text, "%s", curvecp_filexfer_status_text (reply->status));
    }
    self->buf_len = curvecp_filexfer_reply_encode (reply, self->buf, sizeof self->buf);
    self->buf_pos = 0;
    self->phase = HEAD;
}

size_t
curvecp_filesend_feed (curvecp_filesend_t *self, const uint8_t *data, size_t len)
{
    if (self->phase != WAIT_REQUEST)
        return 0;
    size_t room = sizeof self->request_buf - self->request_len;
    size_t take = len < room ? len : room;
    memcpy (self->request_buf + self->request_len, data, take);
    size_t before = self->request_len, used;
    self->request_len += take;
    self->request_reason = curvecp_filexfer_request_decode (self->request_buf, self->request_len,
                                                            &self->request, &used);
    if (self->request_reason == CURVECP_OK && used == 0)
        return take;                          /* not whole yet */
    prepare_reply (self);
    return self->request_reason == CURVECP_OK ? used - before : take;
}

bool
curvecp_filesend_started (const curvecp_filesend_t *self)
{
    return self->phase != WAIT_REQUEST;
}

/* The buffer is used up: fill it with what comes next. */
static void
refill (curvecp_filesend_t *self)
{
    self->buf_pos = self->buf_len = 0;
    if (self->phase == HEAD)
        self->phase = self->reply.status == CURVECP_FILEXFER_OK ? BODY : DONE;
    if (self->phase == BODY && self->position < self->reply.size) {
        uint64_t left = self->reply.size - self->position;
        ssize_t n = read_hashed (self, self->buf, left < CHUNK ? (size_t) left : CHUNK);
        if (n <= 0)
            self->phase = FAILED;
        else
            self->buf_len = (size_t) n;
        return;
    }
    if (self->phase == BODY) {
        crypto_hash_sha256_final (&self->hash, self->buf);
        self->buf_len = CURVECP_FILEXFER_DIGEST_BYTES;
        self->phase = TRAILER;
        return;
    }
    if (self->phase == TRAILER)
        self->phase = DONE;
}

const uint8_t *
curvecp_filesend_data (curvecp_filesend_t *self, size_t *len)
{
    if (self->buf_pos == self->buf_len && self->phase != WAIT_REQUEST && self->phase != DONE
    &&  self->phase != FAILED)
        refill (self);
    *len = self->buf_len - self->buf_pos;
    return self->buf + self->buf_pos;
}

void
curvecp_filesend_advance (curvecp_filesend_t *self, size_t n)
{
    if (n > self->buf_len - self->buf_pos)
        n = self->buf_len - self->buf_pos;
    self->buf_pos += n;
    if (self->phase == BODY)
        self->sent += n;
    if (self->buf_pos == self->buf_len && (self->phase == TRAILER || self->phase == HEAD))
        refill (self);
}

bool
curvecp_filesend_finished (const curvecp_filesend_t *self)
{
    return self->phase == DONE;
}

bool
curvecp_filesend_failed (const curvecp_filesend_t *self)
{
    return self->phase == FAILED;
}

const curvecp_filexfer_request_t *
curvecp_filesend_request (const curvecp_filesend_t *self)
{
    return &self->request;
}

const curvecp_filexfer_reply_t *
curvecp_filesend_reply (const curvecp_filesend_t *self)
{
    return &self->reply;
}

uint64_t
curvecp_filesend_sent (const curvecp_filesend_t *self)
{
    return self->sent;
}

curvecp_reason_t
curvecp_filesend_request_reason (const curvecp_filesend_t *self)
{
    return self->request_reason;
}
