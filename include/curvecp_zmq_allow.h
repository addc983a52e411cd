/*  curvecp_zmq_allow.h - an allow-list of client keys from a directory of
    zcert public certificates, reloaded whenever the directory changes.

    Every regular file in the directory that holds a zcert public key (a
    "name" or "name_secret" file written by zcert_save or curvecp-makekey)
    adds that key; other files are skipped and counted. Each check first
    looks at the names, sizes and modification times of the files and
    reloads the list if any of them changed, so an edit is in force for
    the very next handshake.                                              */
#ifndef CURVECP_ZMQ_ALLOW_H_INCLUDED
#define CURVECP_ZMQ_ALLOW_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_constants.h"

typedef struct _curvecp_zmq_allow_t curvecp_zmq_allow_t;

/* New allow-list over directory (loaded at once). NULL if it cannot be read. */
curvecp_zmq_allow_t *curvecp_zmq_allow_new (const char *directory);

/* Free and set *self_p to NULL. */
void curvecp_zmq_allow_destroy (curvecp_zmq_allow_t **self_p);

/* Is key allowed? Reloads first if the directory changed. */
bool curvecp_zmq_allow_check (curvecp_zmq_allow_t *self, const uint8_t key[CURVECP_KEY_BYTES]);

/* Keys loaded, files skipped (not a certificate), and loads so far. */
size_t curvecp_zmq_allow_size (const curvecp_zmq_allow_t *self);
size_t curvecp_zmq_allow_skipped (const curvecp_zmq_allow_t *self);
uint64_t curvecp_zmq_allow_loads (const curvecp_zmq_allow_t *self);

#endif
