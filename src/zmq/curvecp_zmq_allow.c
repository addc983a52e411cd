/*  curvecp_zmq_allow.c - client keys allowed by a directory of zcerts.

    Client keys are free, so anyone can make the server check the list as
    often as it can send Initiates: a check must not touch the disk. The
    list is parsed into a hash once and reloaded only when the directory
    changed. On Linux an inotify watch says so: a check is one
    non-blocking read of the watch (nothing to read: nothing changed), and
    a change is in force for the very next handshake. Without inotify (or
    once the watch is lost) the directory is scanned - a stat of each
    entry, hashed with its name, size and mtime - at most once per polling
    interval, and reloaded only if that hash moved.                     */
#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/inotify.h>
#endif
#include "curvecp_keys.h"
#include "curvecp_zmq.h"
#include "curvecp_zmq_allow.h"

#define POLL_INTERVAL_MS 1000           /* without inotify */

struct _curvecp_zmq_allow_t {
    char *directory;
    zhashx_t *keys;              /* hex key -> non-NULL marker */
    int watch_fd;                /* inotify, -1: scanning */
    uint64_t signature;          /* scanning: the directory as last seen */
    uint64_t interval_ns, next_scan;
    size_t skipped;
    uint64_t loads, files_read, scans;
};

static uint64_t
mix (uint64_t hash, const void *data, size_t len)
{
    const uint8_t *bytes = (const uint8_t *) data;
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ bytes[i]) * 1099511628211ull;
    return hash;
}

static uint64_t
stat_mix (uint64_t hash, const struct stat *st)
{
    int64_t fields[3] = { (int64_t) st->st_size, (int64_t) st->st_mtim.tv_sec, (int64_t) st->st_mtim.tv_nsec };
    return mix (hash, fields, sizeof fields);
}

/* A hash of what the directory holds now; 0 if it cannot be read. */
static uint64_t
directory_signature (const char *directory)
{
    struct stat st;
    DIR *dir = opendir (directory);
    if (!dir || stat (directory, &st) != 0) {
        if (dir)
            closedir (dir);
        return 0;
    }
    uint64_t hash = stat_mix (14695981039346656037ull, &st), sum = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)) != NULL) {
        char path[4096];
        snprintf (path, sizeof path, "%s/%s", directory, entry->d_name);
        if (entry->d_name[0] == '.' || stat (path, &st) != 0 || !S_ISREG (st.st_mode))
            continue;
        /* order-independent: readdir order is not stable */
        sum += stat_mix (mix (14695981039346656037ull, entry->d_name, strlen (entry->d_name)), &st);
    }
    closedir (dir);
    return mix (hash, &sum, sizeof sum) | 1;
}

static void
reload (curvecp_zmq_allow_t *self)
{
    zhashx_purge (self->keys);
    self->skipped = 0;
    self->loads++;
    DIR *dir = opendir (self->directory);
    if (!dir)
        return;
    struct dirent *entry;
    while ((entry = readdir (dir)) != NULL) {
        char path[4096];
        struct stat st;
        snprintf (path, sizeof path, "%s/%s", self->directory, entry->d_name);
        if (entry->d_name[0] == '.' || stat (path, &st) != 0 || !S_ISREG (st.st_mode))
            continue;
        uint8_t key[CURVECP_KEY_BYTES];
        char hex[2 * CURVECP_KEY_BYTES + 1];
        self->files_read++;
        if (curvecp_zcert_load_public (path, key) != CURVECP_OK) {
            self->skipped++;
            continue;
        }
        curvecp_key_to_hex (key, hex);
        zhashx_update (self->keys, hex, (void *) self);
    }
    closedir (dir);
}

/* ---- change detection --------------------------------------------------- */

static void
watch_stop (curvecp_zmq_allow_t *self)
{
    if (self->watch_fd >= 0)
        close (self->watch_fd);
    self->watch_fd = -1;
}

static void
watch_start (curvecp_zmq_allow_t *self)
{
    self->watch_fd = -1;
#ifdef __linux__
    int fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
        return;
    uint32_t mask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO
                  | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
    if (inotify_add_watch (fd, self->directory, mask) < 0) {
        close (fd);
        return;
    }
    self->watch_fd = fd;
#endif
}

/* Did the watched directory change? Falls back to scanning when the
   watch is lost (the directory itself went or was moved). */
static bool
watch_changed (curvecp_zmq_allow_t *self)
{
    bool changed = false;
#ifdef __linux__
    _Alignas (struct inotify_event) char events[4096];
    ssize_t len;
    while ((len = read (self->watch_fd, events, sizeof events)) > 0) {
        changed = true;
        for (ssize_t at = 0; at < len; ) {
            const struct inotify_event *event = (const struct inotify_event *) (const void *) (events + at);
            if (event->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                watch_stop (self);
                return true;
            }
            at += (ssize_t) (sizeof *event + event->len);
        }
    }
    if (len < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        watch_stop (self);
        return true;
    }
#else
    (void) self;
#endif
    return changed;
}

/* Scanning: at most once per interval, and a change only if the
   directory's signature moved. */
static bool
scan_changed (curvecp_zmq_allow_t *self)
{
    uint64_t now = curvecp_clock_now ();
    if (now < self->next_scan)
        return false;
    self->next_scan = now + self->interval_ns;
    self->scans++;
    uint64_t signature = directory_signature (self->directory);
    if (signature == self->signature)
        return false;
    self->signature = signature;
    return true;
}

/* ---- the class ---------------------------------------------------------- */

curvecp_zmq_allow_t *
curvecp_zmq_allow_new (const char *directory)
{
    if (!directory || directory_signature (directory) == 0)
        return NULL;
    curvecp_zmq_allow_t *self = (curvecp_zmq_allow_t *) calloc (1, sizeof (curvecp_zmq_allow_t));
    if (!self)
        return NULL;
    self->watch_fd = -1;
    self->directory = strdup (directory);
    self->keys = zhashx_new ();
    if (!self->directory || !self->keys) {
        curvecp_zmq_allow_destroy (&self);
        return NULL;
    }
    self->interval_ns = POLL_INTERVAL_MS * 1000000ull;
    watch_start (self);         /* before loading: a change during the load is seen */
    self->signature = directory_signature (directory);
    self->next_scan = curvecp_clock_now () + self->interval_ns;
    reload (self);
    return self;
}

void
curvecp_zmq_allow_destroy (curvecp_zmq_allow_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_zmq_allow_t *self = *self_p;
        watch_stop (self);
        zhashx_destroy (&self->keys);
        free (self->directory);
        free (self);
        *self_p = NULL;
    }
}

void
curvecp_zmq_allow_scan_every (curvecp_zmq_allow_t *self, int interval_ms)
{
    watch_stop (self);
    self->interval_ns = interval_ms > 0 ? (uint64_t) interval_ms * 1000000ull : 0;
    self->next_scan = curvecp_clock_now () + self->interval_ns;
}

bool
curvecp_zmq_allow_check (curvecp_zmq_allow_t *self, const uint8_t key[CURVECP_KEY_BYTES])
{
    bool changed;
    if (self->watch_fd >= 0) {
        changed = watch_changed (self);
        if (self->watch_fd < 0) {
            /* watch lost: scan from now on, starting with this check */
            self->next_scan = 0;
            changed = scan_changed (self) || changed;
        }
    }
    else
        changed = scan_changed (self);
    if (changed)
        reload (self);
    char hex[2 * CURVECP_KEY_BYTES + 1];
    curvecp_key_to_hex (key, hex);
    return zhashx_lookup (self->keys, hex) != NULL;
}

size_t
curvecp_zmq_allow_size (const curvecp_zmq_allow_t *self)
{
    return zhashx_size (self->keys);
}

size_t
curvecp_zmq_allow_skipped (const curvecp_zmq_allow_t *self)
{
    return self->skipped;
}

uint64_t
curvecp_zmq_allow_loads (const curvecp_zmq_allow_t *self)
{
    return self->loads;
}

uint64_t
curvecp_zmq_allow_files_read (const curvecp_zmq_allow_t *self)
{
    return self->files_read;
}

uint64_t
curvecp_zmq_allow_scans (const curvecp_zmq_allow_t *self)
{
    return self->scans;
}

bool
curvecp_zmq_allow_watching (const curvecp_zmq_allow_t *self)
{
    return self->watch_fd >= 0;
}
