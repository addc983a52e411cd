/*  curvecp_adminkey.c - the administrator's key files (hex text), written
    atomically with curvecp_keyfile_save; the secret is wiped after use. */

#include "curvecp_adminkey.h"
#include "curvecp_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read up to size - 1 bytes of text from path, NUL-terminated. */
static int
read_text (const char *path, char *text, size_t size)
{
    int fd = open (path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t got = read (fd, text, size - 1);
    close (fd);
    if (got < 0)
        return -1;
    text[got] = 0;
    return 0;
}

/* Exactly bytes of hex in text (then only whitespace). */
static int
from_hex (const char *text, uint8_t *out, size_t bytes)
{
    size_t got = 0;
    const char *end = NULL;
    if (sodium_hex2bin (out, bytes, text, strlen (text), NULL, &got, &end) != 0 || got != bytes)
        return -1;
    for (; *end; end++)
        if (*end != '\n' && *end != ' ' && *end != '\r' && *end != '\t')
            return -1;
    return 0;
}

int
curvecp_adminkey_create (const char *path, uint8_t public_key[32])
{
    struct stat st;
    if (lstat (path, &st) == 0) {
        errno = EEXIST;
        return -1;
    }
    uint8_t secret[crypto_sign_SECRETKEYBYTES];
    char text[2 * crypto_sign_SECRETKEYBYTES + 2], pub_path[4096];
    crypto_sign_keypair (public_key, secret);
    sodium_bin2hex (text, sizeof text, secret, sizeof secret);
    strcat (text, "\n");
    int rc = curvecp_keyfile_save (path, text, strlen (text), 0600) == CURVECP_OK ? 0 : -1;
    sodium_memzero (secret, sizeof secret);
    sodium_memzero (text, sizeof text);
    if (rc != 0 || snprintf (pub_path, sizeof pub_path, "%s.pub", path) >= (int) sizeof pub_path)
        return -1;
    sodium_bin2hex (text, sizeof text, public_key, 32);
    strcat (text, "\n");
    return curvecp_keyfile_save (pub_path, text, strlen (text), 0644) == CURVECP_OK ? 0 : -1;
}

int
curvecp_adminkey_load_secret (const char *path, uint8_t secret_key[64])
{
    char text[2 * crypto_sign_SECRETKEYBYTES + 16];
    int rc = read_text (path, text, sizeof text) == 0 ? from_hex (text, secret_key, 64) : -1;
    sodium_memzero (text, sizeof text);
    return rc;
}

int
curvecp_adminkey_load_public (const char *arg, uint8_t public_key[32])
{
    if (from_hex (arg, public_key, 32) == 0)
        return 0;
    char text[2 * crypto_sign_SECRETKEYBYTES + 16];
    if (read_text (arg, text, sizeof text) != 0)
        return -1;
    int rc = from_hex (text, public_key, 32);
    if (rc != 0) {                      /* a secret file: its public half */
        uint8_t secret[64];
        rc = from_hex (text, secret, 64);
        if (rc == 0)
            memcpy (public_key, secret + 32, 32);
        sodium_memzero (secret, sizeof secret);
    }
    sodium_memzero (text, sizeof text);
    return rc;
}
