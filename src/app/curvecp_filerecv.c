/*  curvecp_filerecv.c - client side of one file transfer.               */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "curvecp_filerecv.h"

typedef enum { HEAD, BODY, TRAILER } phase_t;

struct _curvecp_filerecv_t {
    char *remote, *local, *part;
    int fd;
    curvecp_filerecv_state_t state;
    curvecp_filerecv_failure_t failure;
    char error[CURVECP_FILEXFER_TEXT_MAX + 256];
    phase_t phase;
    uint64_t have;                          /* bytes in the partial copy at the start */
    curvecp_filexfer_reply_t reply;
    uint8_t head[CURVECP_FILEXFER_REPLY_MAX];
    size_t head_len;
    uint8_t digest[CURVECP_FILEXFER_DIGEST_BYTES];
    size_t digest_len;
    crypto_hash_sha256_state hash;
    uint64_t received;
    uint64_t limit;                         /* stop_after: file bytes to take at most */
};

static void
fail (curvecp_filerecv_t *self, curvecp_filerecv_failure_t failure, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
fail (curvecp_filerecv_t *self, curvecp_filerecv_failure_t failure, const char *format, ...)
{
    if (self->state != CURVECP_FILERECV_RUNNING)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (self->error, sizeof self->error, format, args);
    va_end (args);
    self->state = CURVECP_FILERECV_FAILED;
    self->failure = failure;
}

static void
fail_local (curvecp_filerecv_t *self, const char *what, int err)
{
    fail (self, CURVECP_FILERECV_E_LOCAL, "%s %s: %s%s", what, self->part, strerror (err),
          err == ENOSPC ? " (disk full)" : "");
}

static void
open_part (curvecp_filerecv_t *self)
{
    self->fd = open (self->part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    struct stat st;
    if (self->fd < 0)
        fail_local (self, "cannot open", errno);
    else if (fstat (self->fd, &st) != 0)
        fail_local (self, "cannot stat", errno);
    else if (!S_ISREG (st.st_mode))
        fail (self, CURVECP_FILERECV_E_LOCAL, "%s is not a regular file", self->part);
    else
        self->have = (uint64_t) st.st_size;
}

curvecp_filerecv_t *
curvecp_filerecv_new (const char *remote_path, const char *local_path)
{
    curvecp_filerecv_t *self = (curvecp_filerecv_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->fd = -1;
    self->limit = UINT64_MAX;
    self->remote = strdup (remote_path);
    self->local = strdup (local_path);
    self->part = (char *) malloc (strlen (local_path) + 6);
    if (!self->remote || !self->local || !self->part) {
        curvecp_filerecv_destroy (&self);
        return NULL;
    }
    sprintf (self->part, "%s.part", local_path);
    crypto_hash_sha256_init (&self->hash);
    open_part (self);
    return self;
}

void
curvecp_filerecv_destroy (curvecp_filerecv_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_filerecv_t *self = *self_p;
    struct stat st;
    if (self->fd >= 0 && self->state != CURVECP_FILERECV_DONE && fstat (self->fd, &st) == 0 && st.st_size == 0)
        unlink (self->part);                  /* nothing worth resuming: leave no litter */
    if (self->fd >= 0)
        close (self->fd);
    free (self->remote);
    free (self->local);
    free (self->part);
    free (self);
    *self_p = NULL;
}

size_t
curvecp_filerecv_request (curvecp_filerecv_t *self, uint8_t *out, size_t cap)
{
    curvecp_filexfer_request_t request;
    memset (&request, 0, sizeof request);
    if (strlen (self->remote) > CURVECP_FILEXFER_PATH_MAX)
        return 0;
    strcpy (request.path, self->remote);
    request.offset = self->have;
    return curvecp_filexfer_request_encode (&request, out, cap);
}

static curvecp_filerecv_failure_t
failure_of (curvecp_filexfer_status_t status)
{
    switch (status) {
        case CURVECP_FILEXFER_NOT_FOUND:
        case CURVECP_FILEXFER_NOT_REGULAR: return CURVECP_FILERECV_E_NOT_FOUND;
        case CURVECP_FILEXFER_OUTSIDE:
        case CURVECP_FILEXFER_DENIED:      return CURVECP_FILERECV_E_REFUSED;
        default:                           return CURVECP_FILERECV_E_PROTOCOL;
    }
}

/* Hash the part of our copy the server will not send again. */
static void
hash_kept (curvecp_filerecv_t *self, uint64_t offset)
{
    uint8_t buf[65536];
    if (lseek (self->fd, 0, SEEK_SET) < 0) {
        fail_local (self, "cannot seek", errno);
        return;
    }
    for (uint64_t done = 0; done < offset; ) {
        size_t want = offset - done < sizeof buf ? (size_t) (offset - done) : sizeof buf;
        ssize_t n = read (self->fd, buf, want);
        if (n <= 0) {
            fail_local (self, "cannot read", n < 0 ? errno : EIO);
            return;
        }
        crypto_hash_sha256_update (&self->hash, buf, (unsigned long long) n);
        done += (uint64_t) n;
    }
}

/* The reply head arrived: a refusal ends it; otherwise keep the first
   offset bytes of our copy and go on from there. */
static void
start_body (curvecp_filerecv_t *self)
{
    const curvecp_filexfer_reply_t *reply = &self->reply;
    if (reply->status != CURVECP_FILEXFER_OK) {
        fail (self, failure_of (reply->status), "%s: %s", self->remote,
              reply->text[0] ? reply->text : curvecp_filexfer_status_text (reply->status));
        return;
    }
    if (reply->offset > self->have) {
        fail (self, CURVECP_FILERECV_E_PROTOCOL, "server resumes at %llu, past our %llu bytes",
              (unsigned long long) reply->offset, (unsigned long long) self->have);
        return;
    }
    if (reply->offset < self->have && ftruncate (self->fd, (off_t) reply->offset) != 0) {
        fail_local (self, "cannot truncate", errno);
        return;
    }
    hash_kept (self, reply->offset);
    self->phase = BODY;
}

static size_t
push_head (curvecp_filerecv_t *self, const uint8_t *data, size_t len)
{
    size_t room = sizeof self->head - self->head_len;
    size_t take = len < room ? len : room, used;
    memcpy (self->head + self->head_len, data, take);
    size_t before = self->head_len;
    self->head_len += take;
    curvecp_reason_t rc = curvecp_filexfer_reply_decode (self->head, self->head_len, &self->reply, &used);
    if (rc != CURVECP_OK) {
        fail (self, CURVECP_FILERECV_E_PROTOCOL, "malformed reply from server (%s)", curvecp_reason_name (rc));
        return take;
    }
    if (used == 0)
        return take;
    start_body (self);
    return used - before;
}

static size_t
push_body (curvecp_filerecv_t *self, const uint8_t *data, size_t len)
{
    uint64_t left = curvecp_filerecv_remaining (self);
    if (left == 0) {
        self->phase = TRAILER;
        return 0;
    }
    if (self->received >= self->limit) {
        fail (self, CURVECP_FILERECV_E_STOPPED, "stopped after %llu bytes as asked; %s kept (%llu of %llu bytes): "
              "run again to resume", (unsigned long long) self->received, self->part,
              (unsigned long long) (self->reply.offset + self->received), (unsigned long long) self->reply.size);
        return 0;
    }
    if (left > self->limit - self->received)
        left = self->limit - self->received;
    size_t take = len < left ? len : (size_t) left;
    for (size_t done = 0; done < take; ) {
        ssize_t n = write (self->fd, data + done, take - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fail_local (self, "cannot write", n < 0 ? errno : ENOSPC);
            return done;
        }
        done += (size_t) n;
    }
    crypto_hash_sha256_update (&self->hash, data, (unsigned long long) take);
    self->received += take;
    if (curvecp_filerecv_remaining (self) == 0)
        self->phase = TRAILER;
    else if (self->received >= self->limit)
        push_body (self, NULL, 0);              /* stop now, not at the next byte */
    return take;
}

/* The whole copy is here: check it and put it in place. A copy that
   does not match is removed so that the next try starts afresh. */
static void
finish (curvecp_filerecv_t *self)
{
    uint8_t ours[CURVECP_FILEXFER_DIGEST_BYTES];
    crypto_hash_sha256_final (&self->hash, ours);
    if (sodium_memcmp (ours, self->digest, sizeof ours) != 0) {
        unlink (self->part);
        fail (self, CURVECP_FILERECV_E_DIGEST, "%s: SHA-256 mismatch: the copy differs from the server's file "
              "(removed %s)", self->remote, self->part);
        return;
    }
    if (fdatasync (self->fd) != 0)
        fail_local (self, "cannot sync", errno);
    else if (rename (self->part, self->local) != 0)
        fail (self, CURVECP_FILERECV_E_LOCAL, "cannot rename %s to %s: %s", self->part, self->local,
              strerror (errno));
    else
        self->state = CURVECP_FILERECV_DONE;
}

static size_t
push_trailer (curvecp_filerecv_t *self, const uint8_t *data, size_t len)
{
    size_t room = sizeof self->digest - self->digest_len;
    size_t take = len < room ? len : room;
    memcpy (self->digest + self->digest_len, data, take);
    self->digest_len += take;
    if (self->digest_len == sizeof self->digest)
        finish (self);
    return take;
}

size_t
curvecp_filerecv_push (curvecp_filerecv_t *self, const uint8_t *data, size_t len)
{
    size_t taken = 0;
    while (taken < len && self->state == CURVECP_FILERECV_RUNNING) {
        size_t n;
        if (self->phase == HEAD)
            n = push_head (self, data + taken, len - taken);
        else if (self->phase == BODY)
            n = push_body (self, data + taken, len - taken);
        else
            n = push_trailer (self, data + taken, len - taken);
        taken += n;
    }
    return taken;
}

void
curvecp_filerecv_stop_after (curvecp_filerecv_t *self, uint64_t bytes)
{
    self->limit = bytes;
}

void
curvecp_filerecv_end (curvecp_filerecv_t *self)
{
    if (self->state != CURVECP_FILERECV_RUNNING)
        return;
    if (self->phase == HEAD)
        fail (self, CURVECP_FILERECV_E_PROTOCOL, "the server closed the connection without a reply");
    else
        fail (self, CURVECP_FILERECV_E_PROTOCOL, "the server closed the connection after %llu of %llu bytes "
              "(%s kept: run again to resume)", (unsigned long long) (self->reply.offset + self->received),
              (unsigned long long) self->reply.size, self->part);
}

curvecp_filerecv_state_t
curvecp_filerecv_state (const curvecp_filerecv_t *self)
{
    return self->state;
}

curvecp_filerecv_failure_t
curvecp_filerecv_failure (const curvecp_filerecv_t *self)
{
    return self->failure;
}

const char *
curvecp_filerecv_error (const curvecp_filerecv_t *self)
{
    return self->error;
}

bool
curvecp_filerecv_started (const curvecp_filerecv_t *self)
{
    return self->phase != HEAD;
}

uint64_t
curvecp_filerecv_size (const curvecp_filerecv_t *self)
{
    return self->reply.size;
}

uint64_t
curvecp_filerecv_offset (const curvecp_filerecv_t *self)
{
    return self->phase == HEAD ? self->have : self->reply.offset;
}

uint64_t
curvecp_filerecv_received (const curvecp_filerecv_t *self)
{
    return self->received;
}

uint64_t
curvecp_filerecv_remaining (const curvecp_filerecv_t *self)
{
    if (self->phase == HEAD)
        return 0;
    return self->reply.size - self->reply.offset - self->received;
}

const char *
curvecp_filerecv_part_path (const curvecp_filerecv_t *self)
{
    return self->part;
}
