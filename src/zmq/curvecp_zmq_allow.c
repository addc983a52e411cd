/*  curvecp_zmq_allow.c - client keys allowed by a directory of zcerts.

    The change check hashes (name, size, mtime in ns) of every entry plus
    the directory's own mtime: cheap next to a handshake (a few stat calls
    for a small directory), and exact, so a test or an operator never has
    to wait for a polling interval.                                      */
#include <czmq.h>
#include <dirent.h>
#include <sys/stat.h>
#include "curvecp_keys.h"
#include "curvecp_zmq_allow.h"

struct _curvecp_zmq_allow_t {
    char *directory;
    zhashx_t *keys;              /* hex key -> non-NULL marker */
    uint64_t signature;
    bool loaded;
    size_t skipped;
    uint64_t loads;
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
        if (curvecp_zcert_load_public (path, key) != CURVECP_OK) {
            self->skipped++;
            continue;
        }
        curvecp_key_to_hex (key, hex);
        zhashx_update (self->keys, hex, (void *) self);
    }
    closedir (dir);
}

curvecp_zmq_allow_t *
curvecp_zmq_allow_new (const char *directory)
{
    if (!directory || directory_signature (directory) == 0)
        return NULL;
    curvecp_zmq_allow_t *self = (curvecp_zmq_allow_t *) calloc (1, sizeof (curvecp_zmq_allow_t));
    if (!self)
        return NULL;
    self->directory = strdup (directory);
    self->keys = zhashx_new ();
    if (!self->directory || !self->keys) {
        curvecp_zmq_allow_destroy (&self);
        return NULL;
    }
    self->signature = directory_signature (directory);
    reload (self);
    self->loaded = true;
    return self;
}

void
curvecp_zmq_allow_destroy (curvecp_zmq_allow_t **self_p)
{
    if (self_p && *self_p) {
        curvecp_zmq_allow_t *self = *self_p;
        zhashx_destroy (&self->keys);
        free (self->directory);
        free (self);
        *self_p = NULL;
    }
}

bool
curvecp_zmq_allow_check (curvecp_zmq_allow_t *self, const uint8_t key[CURVECP_KEY_BYTES])
{
    uint64_t signature = directory_signature (self->directory);
    if (!self->loaded || signature != self->signature) {
        reload (self);
        self->signature = signature;
        self->loaded = true;
    }
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
