/*  curvecp_safenonce.c - NaCl's long-term nonce scheme: a counter in the
    key directory, reserved in blocks under lockf, each value encrypted
    with 64-bit TEA under the directory's noncekey.                      */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sodium.h>
#include "curvecp_bytes.h"
#include "curvecp_keys.h"
#include "curvecp_safenonce.h"

#define TEA64_ROUNDS 32
#define TEA64_DELTA  UINT64_C (0x9e3779b97f4a7c15)
#define NONCEKEY_BYTES 32
#define COUNTER_BYTES  8

struct _curvecp_safenonce_t {
    char lock_path[PATH_MAX];       /* keydir/.expertsonly/lock */
    char counter_path[PATH_MAX];    /* keydir/.expertsonly/noncecounter */
    uint64_t reserve;               /* counters to take per reservation */
    uint64_t next;                  /* next counter to hand out */
    uint64_t high;                  /* end of our reservation, exclusive */
    pid_t owner;                    /* process that made the reservation */
    uint8_t noncekey[NONCEKEY_BYTES];
};

/* The key as four little-endian words, as NaCl's crypto_block reads it. */
static void
s_tea64_key (uint64_t k[4], const uint8_t key[CURVECP_TEA64_KEY_BYTES])
{
    for (int i = 0; i < 4; i++)
        k[i] = curvecp_load_u64_le (key + 8 * i);
}

void
curvecp_tea64_encrypt (uint8_t out[CURVECP_TEA64_BLOCK_BYTES],
                       const uint8_t in[CURVECP_TEA64_BLOCK_BYTES],
                       const uint8_t key[CURVECP_TEA64_KEY_BYTES])
{
    uint64_t v0 = curvecp_load_u64_le (in), v1 = curvecp_load_u64_le (in + 8);
    uint64_t k[4];
    s_tea64_key (k, key);
    uint64_t sum = 0;
    for (int round = 0; round < TEA64_ROUNDS; round++) {
        sum += TEA64_DELTA;
        v0 += ((v1 << 7) + k[0]) ^ (v1 + sum) ^ ((v1 >> 12) + k[1]);
        v1 += ((v0 << 16) + k[2]) ^ (v0 + sum) ^ ((v0 >> 8) + k[3]);
    }
    curvecp_store_u64_le (out, v0);
    curvecp_store_u64_le (out + 8, v1);
}

void
curvecp_tea64_decrypt (uint8_t out[CURVECP_TEA64_BLOCK_BYTES],
                       const uint8_t in[CURVECP_TEA64_BLOCK_BYTES],
                       const uint8_t key[CURVECP_TEA64_KEY_BYTES])
{
    uint64_t v0 = curvecp_load_u64_le (in), v1 = curvecp_load_u64_le (in + 8);
    uint64_t k[4];
    s_tea64_key (k, key);
    uint64_t sum = TEA64_DELTA * TEA64_ROUNDS;
    for (int round = 0; round < TEA64_ROUNDS; round++) {
        v1 -= ((v0 << 16) + k[2]) ^ (v0 + sum) ^ ((v0 >> 8) + k[3]);
        v0 -= ((v1 << 7) + k[0]) ^ (v1 + sum) ^ ((v1 >> 12) + k[1]);
        sum -= TEA64_DELTA;
    }
    curvecp_store_u64_le (out, v0);
    curvecp_store_u64_le (out + 8, v1);
}

/* Take the key directory's lock; returns the descriptor or -1.
   NaCl's tools lockf the file, a lock that belongs to the whole process:
   two of our objects in one process would both "hold" it. An open file
   description lock is held per descriptor, so it keeps our own objects
   apart, and Linux makes it conflict with other processes' lockf locks,
   so NaCl's tools stay out too. */
static int
s_lock (const char *lock_path)
{
    int fd = open (lock_path, O_RDWR | O_CLOEXEC);
    if (fd == -1)
        return -1;
    struct flock whole = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
    int rc;
    while ((rc = fcntl (fd, F_OFD_SETLKW, &whole)) == -1 && errno == EINTR)
        ;
    if (rc == -1) {
        int saved = errno;
        close (fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Closing the descriptor releases the lock. */
static void
s_unlock (int fd)
{
    close (fd);
}

curvecp_safenonce_t *
curvecp_safenonce_new (const char *keydir, uint64_t reserve)
{
    if (!keydir || reserve == 0) {
        errno = EINVAL;
        return NULL;
    }
    curvecp_safenonce_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    char noncekey_path[PATH_MAX];
    int n1 = snprintf (self->lock_path, PATH_MAX, "%s/.expertsonly/lock", keydir);
    int n2 = snprintf (self->counter_path, PATH_MAX, "%s/.expertsonly/noncecounter", keydir);
    int n3 = snprintf (noncekey_path, PATH_MAX, "%s/.expertsonly/noncekey", keydir);
    if (n1 < 0 || n2 < 0 || n3 < 0 || n1 >= PATH_MAX || n2 >= PATH_MAX || n3 >= PATH_MAX) {
        free (self);
        errno = ENAMETOOLONG;
        return NULL;
    }
    self->reserve = reserve;

    //  NaCl reads the noncekey under the lock too, so a key directory that
    //  is being created or replaced is never read half-way
    int fd = s_lock (self->lock_path);
    curvecp_reason_t rc = fd == -1? CURVECP_E_IO:
        curvecp_keyfile_load (noncekey_path, self->noncekey, NONCEKEY_BYTES);
    if (fd != -1)
        s_unlock (fd);
    if (rc != CURVECP_OK) {
        int saved = errno;
        curvecp_safenonce_destroy (&self);
        errno = rc == CURVECP_E_IO? saved: EPROTO;
        return NULL;
    }
    return self;
}

void
curvecp_safenonce_destroy (curvecp_safenonce_t **self_p)
{
    if (self_p && *self_p) {
        sodium_memzero (*self_p, sizeof **self_p);
        free (*self_p);
        *self_p = NULL;
    }
}

/* Reserve [low, low + reserve) in the key directory's counter file: the
   file always holds a value no process has used yet. */
static curvecp_reason_t
s_reserve (curvecp_safenonce_t *self)
{
    int fd = s_lock (self->lock_path);
    if (fd == -1)
        return CURVECP_E_IO;
    uint8_t data[COUNTER_BYTES];
    curvecp_reason_t rc = curvecp_keyfile_load (self->counter_path, data, sizeof data);
    uint64_t low = curvecp_load_u64_le (data);
    if (rc == CURVECP_OK && low > UINT64_MAX - self->reserve)
        rc = CURVECP_E_NONCE_EXHAUSTED;
    if (rc == CURVECP_OK) {
        curvecp_store_u64_le (data, low + self->reserve);
        rc = curvecp_keyfile_save (self->counter_path, data, sizeof data, 0600);
    }
    s_unlock (fd);
    if (rc == CURVECP_OK) {
        self->next = low;
        self->high = low + self->reserve;
        self->owner = getpid ();
    }
    return rc;
}

curvecp_reason_t
curvecp_safenonce_next (void *context, uint8_t nonce[CURVECP_NONCE16_BYTES])
{
    curvecp_safenonce_t *self = (curvecp_safenonce_t *) context;
    if (!self || !nonce)
        return CURVECP_E_BAD_ARGUMENT;

    //  A forked child inherits its parent's reservation; using it would
    //  repeat the parent's nonces, so a new process reserves its own
    if (self->next >= self->high || self->owner != getpid ()) {
        curvecp_reason_t rc = s_reserve (self);
        if (rc != CURVECP_OK) {
            sodium_memzero (nonce, CURVECP_NONCE16_BYTES);
            return rc;
        }
    }
    uint8_t block[CURVECP_TEA64_BLOCK_BYTES];
    curvecp_store_u64_le (block, self->next++);
    /* System randomness, not an rng context: these nonces belong to a key
       directory shared by processes (NaCl's tools too), where a seeded
       generator could only repeat a nonce another run already used. */
    randombytes_buf (block + 8, 8);
    curvecp_tea64_encrypt (nonce, block, self->noncekey);
    sodium_memzero (block, sizeof block);
    return CURVECP_OK;
}

void
curvecp_safenonce_reserved (curvecp_safenonce_t *self, uint64_t *next, uint64_t *high)
{
    if (next)
        *next = self? self->next: 0;
    if (high)
        *high = self? self->high: 0;
}
