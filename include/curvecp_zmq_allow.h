/*  curvecp_zmq_allow.h - an allow-list of client keys from a directory of
    zcert public certificates, reloaded when the directory changes.

    Every regular file in the directory that holds a zcert public key (a
    "name" or "name_secret" file written by zcert_save or curvecp-makekey
    -z) adds that key; other files are skipped and counted. The keys are kept
    in a hash; a check reads no file while nothing changed. On Linux an
    inotify watch on the directory makes an edit (a file added, removed,
    renamed, rewritten or its mode changed) in force for the very next
    check; elsewhere, or once the watch is lost (the directory itself
    removed or renamed), the directory's entries are looked at (names,
    sizes, modification times) at most once a second and the list is
    reloaded only if they changed.                                        */
#ifndef CURVECP_ZMQ_ALLOW_H_INCLUDED
#define CURVECP_ZMQ_ALLOW_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_export.h"
#include "curvecp_constants.h"

CURVECP_BEGIN_DECLS

typedef struct _curvecp_zmq_allow_t curvecp_zmq_allow_t;

/* New allow-list over directory (loaded at once). NULL if it cannot be read. */
CURVECP_EXPORT curvecp_zmq_allow_t *curvecp_zmq_allow_new (const char *directory);

/* Free and set *self_p to NULL. */
CURVECP_EXPORT void curvecp_zmq_allow_destroy (curvecp_zmq_allow_t **self_p);

/* Is key allowed? Reloads first if the directory changed. */
CURVECP_EXPORT bool curvecp_zmq_allow_check (curvecp_zmq_allow_t *self, const uint8_t key[CURVECP_KEY_BYTES]);

/* Keys loaded, files skipped (not a certificate), and loads so far. */
CURVECP_EXPORT size_t curvecp_zmq_allow_size (const curvecp_zmq_allow_t *self);
CURVECP_EXPORT size_t curvecp_zmq_allow_skipped (const curvecp_zmq_allow_t *self);
CURVECP_EXPORT uint64_t curvecp_zmq_allow_loads (const curvecp_zmq_allow_t *self);

/* Files opened and parsed by loads so far, and directory scans (a stat
   per entry) made by checks; both stay put while nothing changes. */
CURVECP_EXPORT uint64_t curvecp_zmq_allow_files_read (const curvecp_zmq_allow_t *self);
CURVECP_EXPORT uint64_t curvecp_zmq_allow_scans (const curvecp_zmq_allow_t *self);

/* Is an inotify watch in use (false: scanning)? */
CURVECP_EXPORT bool curvecp_zmq_allow_watching (const curvecp_zmq_allow_t *self);

/* Stop watching and scan instead, at most once every interval_ms (0: at
   every check). For systems or file systems where watches do not work
   (network file systems), and for tests. */
CURVECP_EXPORT void curvecp_zmq_allow_scan_every (curvecp_zmq_allow_t *self, int interval_ms);

CURVECP_END_DECLS

#endif
