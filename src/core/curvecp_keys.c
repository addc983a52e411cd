/*  curvecp_keys.c - long-term key pairs, NaCl key directories and CZMQ
    zcert certificate files.

    Every file that holds a key is written through curvecp_keyfile_save
    (temporary file, fsync, rename), and a whole key directory is first
    assembled under a temporary name and then renamed into place without
    replacing anything, so neither a crash nor a race ever leaves half a
    key or overwrites someone's keys. Secret bytes live only in the
    caller's buffers and in locals that are wiped before return.          */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "curvecp_z85.h"
#include "curvecp_keys.h"

#define Z85_KEY_CHARS   40      /* Z85 text of a 32-byte key */
#define ZCERT_TEXT_MAX  65536   /* far above any real certificate */
#define ZCERT_SAVE_MAX  1024    /* our own certificates are ~360 bytes */

/* Last failure of this thread, in words, for tools and logs. */
static _Thread_local char s_error[PATH_MAX + 128];

static void s_error_set (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

static void
s_error_set (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (s_error, sizeof s_error, format, args);
    va_end (args);
}

const char *
curvecp_keys_error (void)
{
    return s_error;
}

/* The words NaCl's tools use for the usual errors, so our messages read
   the same as curvecpmakekey's; anything else in the C library's words. */
static const char *
s_errno_text (int error)
{
    switch (error) {
        case ENOENT:  return "file does not exist";
        case EEXIST:  return "file already exists";
        case ENOTDIR: return "not a directory";
        case EISDIR:  return "is a directory";
        case EACCES:  return "access denied";
        case EPERM:   return "permission denied";
        case ENOSPC:  return "out of disk space";
        case EROFS:   return "read-only file system";
        case EIO:     return "input/output error";
        default:      return strerror (error);
    }
}

/* Record "unable to <action> <path>: <errno text>", keep errno. */
static curvecp_reason_t
s_io_fail (const char *action, const char *path)
{
    int saved = errno;
    s_error_set ("unable to %s %s: %s", action, path, s_errno_text (saved));
    errno = saved;
    return CURVECP_E_IO;
}

static curvecp_reason_t
s_bad_argument (const char *what)
{
    s_error_set ("invalid argument: %s", what);
    errno = EINVAL;
    return CURVECP_E_BAD_ARGUMENT;
}

/* dir + "/" + name into out; false if it does not fit. */
static bool
s_path_join (char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf (out, cap, "%s/%s", dir, name);
    return n > 0 && (size_t) n < cap;
}

/* ---------------------------------------------------------------------- */
/* Key pairs                                                              */

/* Long-term keys and a key directory's nonce key always come from the
   system's randomness, not an rng context: they are made once, outlive
   any run, and a reproducible long-term key would be a weak one; a
   simulator that wants its keys from a seed calls curvecp_rng_keypair. */
void
curvecp_keypair_generate (curvecp_keypair_t *keypair)
{
    crypto_box_keypair (keypair->public_key, keypair->secret_key);
}

void
curvecp_keypair_from_secret (curvecp_keypair_t *keypair, const uint8_t secret_key[CURVECP_KEY_BYTES])
{
    memmove (keypair->secret_key, secret_key, CURVECP_KEY_BYTES);
    crypto_scalarmult_base (keypair->public_key, keypair->secret_key);
}

void
curvecp_keypair_wipe (curvecp_keypair_t *keypair)
{
    sodium_memzero (keypair, sizeof *keypair);
}

/* A loaded pair is usable only if the public key is the secret key's. */
static curvecp_reason_t
s_keypair_check (const curvecp_keypair_t *keypair, const char *where)
{
    uint8_t derived[CURVECP_KEY_BYTES];
    int rc = crypto_scalarmult_base (derived, keypair->secret_key);
    bool match = rc == 0
              && sodium_memcmp (derived, keypair->public_key, CURVECP_KEY_BYTES) == 0;
    sodium_memzero (derived, sizeof derived);
    if (match)
        return CURVECP_OK;
    s_error_set ("keys in %s do not match: the public key is not the secret key's", where);
    return CURVECP_E_BAD_KEY;
}

/* ---------------------------------------------------------------------- */
/* Key files                                                              */

/* Flush the directory holding path so a rename in it survives a crash.
   Best effort: some file systems refuse fsync on directories, and the
   file itself is already complete on disk by then. */
static void
s_sync_parent (const char *path)
{
    char dir[PATH_MAX];
    snprintf (dir, sizeof dir, "%s", path);
    char *slash = strrchr (dir, '/');
    if (!slash)
        snprintf (dir, sizeof dir, ".");
    else
    if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd != -1) {
        (void) fsync (fd);
        close (fd);
    }
}

static bool
s_write_all (int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write (fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        size -= (size_t) n;
    }
    return true;
}

curvecp_reason_t
curvecp_keyfile_save (const char *path, const void *data, size_t size, unsigned mode)
{
    s_error[0] = 0;
    if (!path || (!data && size))
        return s_bad_argument ("keyfile_save needs a path and data");
    char temp[PATH_MAX];
    int n = snprintf (temp, sizeof temp, "%s.tmp-XXXXXX", path);
    if (n < 0 || (size_t) n >= sizeof temp)
        return s_bad_argument ("path too long");

    //  mkostemp creates the file 0600 and exclusively, so secret bytes are
    //  never readable by others, even for a moment
    int fd = mkostemp (temp, O_CLOEXEC);
    if (fd == -1)
        return s_io_fail ("create", path);
    if (fchmod (fd, (mode_t) mode) == -1
    ||  !s_write_all (fd, data, size)
    ||  fsync (fd) == -1) {
        curvecp_reason_t rc = s_io_fail ("write", path);
        close (fd);
        unlink (temp);
        return rc;
    }
    if (close (fd) == -1 || rename (temp, path) == -1) {
        curvecp_reason_t rc = s_io_fail ("write", path);
        unlink (temp);
        return rc;
    }
    s_sync_parent (path);
    return CURVECP_OK;
}

/* Read up to size bytes; returns how many, or -1 on error. */
static ssize_t
s_read_full (int fd, uint8_t *data, size_t size)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = read (fd, data + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t) n;
    }
    return (ssize_t) got;
}

curvecp_reason_t
curvecp_keyfile_load (const char *path, void *data, size_t size)
{
    s_error[0] = 0;
    if (!path || (!data && size))
        return s_bad_argument ("keyfile_load needs a path and a buffer");
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return s_io_fail ("read", path);

    //  Read one byte more than we want, to notice files that are too long
    uint8_t extra;
    ssize_t got = s_read_full (fd, data, size);
    ssize_t more = got == (ssize_t) size? s_read_full (fd, &extra, 1): 0;
    curvecp_reason_t rc = CURVECP_OK;
    if (got < 0 || more < 0)
        rc = s_io_fail ("read", path);
    else
    if ((size_t) got < size) {
        s_error_set ("unable to read %s: file is %zd bytes, expected %zu", path, got, size);
        rc = CURVECP_E_BAD_KEY;
    }
    else
    if (more > 0) {
        s_error_set ("unable to read %s: file is longer than %zu bytes", path, size);
        rc = CURVECP_E_BAD_KEY;
    }
    close (fd);
    sodium_memzero (&extra, sizeof extra);
    if (rc != CURVECP_OK)
        sodium_memzero (data, size);
    return rc;
}

/* Tell the user, on stderr, when a secret key file is open to others;
   the path and mode only, never the key. */
static void
s_warn_if_exposed (const char *path)
{
    struct stat st;
    if (stat (path, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)))
        fprintf (stderr, "curvecp: warning: secret key file %s is readable by "
                 "group or others (mode %03o); chmod 600 it\n",
                 path, (unsigned) (st.st_mode & 0777));
}

/* End of every key pair load: warn about an exposed secret file, check
   that the keys belong together, and leave nothing behind on failure. */
static curvecp_reason_t
s_keypair_finish (curvecp_reason_t rc, curvecp_keypair_t *keypair,
                  const char *secret_path, const char *where)
{
    if (rc == CURVECP_OK) {
        s_warn_if_exposed (secret_path);
        rc = s_keypair_check (keypair, where);
    }
    if (rc != CURVECP_OK)
        curvecp_keypair_wipe (keypair);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* NaCl key directories                                                   */

#define KEYDIR_PUBLIC   "publickey"
#define KEYDIR_EXPERTS  ".expertsonly"
#define KEYDIR_SECRET   ".expertsonly/secretkey"
#define KEYDIR_LOCK     ".expertsonly/lock"
#define KEYDIR_NONCEKEY ".expertsonly/noncekey"
#define KEYDIR_COUNTER  ".expertsonly/noncecounter"

typedef struct {
    const char *name;
    const uint8_t *data;
    size_t size;
    unsigned mode;
} keydir_file_t;

/* Write the files of a key directory into dir, which we just made. */
static curvecp_reason_t
s_keydir_fill (const char *dir, const curvecp_keypair_t *keypair)
{
    char path[PATH_MAX];
    if (!s_path_join (path, sizeof path, dir, KEYDIR_EXPERTS))
        return s_bad_argument ("path too long");
    if (mkdir (path, 0700) == -1 || chmod (path, 0700) == -1)
        return s_io_fail ("create directory", path);

    uint8_t noncekey[32];
    randombytes_buf (noncekey, sizeof noncekey);
    static const uint8_t lock[1] = { 0 };
    static const uint8_t counter[8] = { 0 };
    const keydir_file_t files[] = {
        { KEYDIR_PUBLIC,   keypair->public_key, CURVECP_KEY_BYTES, 0644 },
        { KEYDIR_SECRET,   keypair->secret_key, CURVECP_KEY_BYTES, 0600 },
        { KEYDIR_LOCK,     lock,                sizeof lock,       0600 },
        { KEYDIR_NONCEKEY, noncekey,            sizeof noncekey,   0600 },
        { KEYDIR_COUNTER,  counter,             sizeof counter,    0600 },
    };
    curvecp_reason_t rc = CURVECP_OK;
    for (size_t i = 0; rc == CURVECP_OK && i < sizeof files / sizeof files[0]; i++) {
        if (!s_path_join (path, sizeof path, dir, files[i].name))
            rc = s_bad_argument ("path too long");
        else
            rc = curvecp_keyfile_save (path, files[i].data, files[i].size, files[i].mode);
    }
    sodium_memzero (noncekey, sizeof noncekey);
    if (rc == CURVECP_OK && chmod (dir, 0755) == -1)
        rc = s_io_fail ("chmod", dir);
    return rc;
}

/* Undo a half-built key directory (only ever our temporary one). */
static void
s_keydir_remove (const char *dir)
{
    static const char *names[] = {
        KEYDIR_PUBLIC, KEYDIR_SECRET, KEYDIR_LOCK, KEYDIR_NONCEKEY, KEYDIR_COUNTER, KEYDIR_EXPERTS
    };
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (s_path_join (path, sizeof path, dir, names[i]))
            (void) remove (path);
    (void) rmdir (dir);
}

/* Rename the finished directory to its real name, never replacing
   anything there (rename alone would replace an empty directory). */
static curvecp_reason_t
s_keydir_publish (const char *temp, const char *keydir)
{
    int rc = renameat2 (AT_FDCWD, temp, AT_FDCWD, keydir, RENAME_NOREPLACE);
    if (rc == -1 && (errno == EINVAL || errno == ENOSYS)) {
        //  This file system cannot rename without replacing: check, then
        //  rename; only a racing creator could slip in between
        struct stat st;
        if (lstat (keydir, &st) == 0)
            errno = EEXIST;
        else
            rc = rename (temp, keydir);
    }
    if (rc == -1 && (errno == EEXIST || errno == ENOTEMPTY)) {
        errno = EEXIST;
        s_io_fail ("create directory", keydir);
        return CURVECP_E_EXISTS;
    }
    if (rc == -1)
        return s_io_fail ("create directory", keydir);
    s_sync_parent (keydir);
    return CURVECP_OK;
}

curvecp_reason_t
curvecp_keydir_save (const char *keydir, const curvecp_keypair_t *keypair)
{
    s_error[0] = 0;
    if (!keydir || !*keydir || !keypair)
        return s_bad_argument ("keydir_save needs a directory name and keys");
    char target[PATH_MAX];
    int n = snprintf (target, sizeof target, "%s", keydir);
    if (n < 0 || (size_t) n >= sizeof target)
        return s_bad_argument ("path too long");
    while (n > 1 && target[n - 1] == '/')
        target[--n] = 0;          //  "kd/" names kd, not a file inside it

    struct stat st;
    if (lstat (target, &st) == 0) {
        errno = EEXIST;
        s_io_fail ("create directory", keydir);
        return CURVECP_E_EXISTS;
    }
    char temp[PATH_MAX];
    n = snprintf (temp, sizeof temp, "%s.tmp-XXXXXX", target);
    if (n < 0 || (size_t) n >= sizeof temp)
        return s_bad_argument ("path too long");
    if (!mkdtemp (temp))
        return s_io_fail ("create directory", keydir);
    curvecp_reason_t rc = s_keydir_fill (temp, keypair);
    if (rc == CURVECP_OK)
        rc = s_keydir_publish (temp, target);
    if (rc != CURVECP_OK)
        s_keydir_remove (temp);
    return rc;
}

curvecp_reason_t
curvecp_keydir_create (const char *keydir, curvecp_keypair_t *keypair)
{
    curvecp_keypair_t fresh;
    curvecp_keypair_generate (&fresh);
    curvecp_reason_t rc = curvecp_keydir_save (keydir, &fresh);
    if (rc == CURVECP_OK && keypair)
        *keypair = fresh;
    curvecp_keypair_wipe (&fresh);
    return rc;
}

curvecp_reason_t
curvecp_keydir_load_public (const char *keydir, uint8_t public_key[CURVECP_KEY_BYTES])
{
    s_error[0] = 0;
    char path[PATH_MAX];
    if (!keydir || !public_key || !s_path_join (path, sizeof path, keydir, KEYDIR_PUBLIC))
        return s_bad_argument ("keydir_load_public needs a directory name");
    return curvecp_keyfile_load (path, public_key, CURVECP_KEY_BYTES);
}

curvecp_reason_t
curvecp_keydir_load (const char *keydir, curvecp_keypair_t *keypair)
{
    s_error[0] = 0;
    char path[PATH_MAX];
    if (!keydir || !keypair || !s_path_join (path, sizeof path, keydir, KEYDIR_SECRET))
        return s_bad_argument ("keydir_load needs a directory name and a key pair");
    curvecp_reason_t rc = curvecp_keydir_load_public (keydir, keypair->public_key);
    if (rc == CURVECP_OK)
        rc = curvecp_keyfile_load (path, keypair->secret_key, CURVECP_KEY_BYTES);
    return s_keypair_finish (rc, keypair, path, keydir);
}

/* ---------------------------------------------------------------------- */
/* CZMQ zcert files                                                       */

/* The banners zcert_save_public and zcert_save_secret write, so that
   our files are the same bytes as CZMQ's (apart from the time). */
static const char s_public_banner[] =
    "#   ZeroMQ CURVE Public Certificate\n"
    "#   Exchange securely, or use a secure mechanism to verify the contents\n"
    "#   of this file after exchange. Store public certificates in your home\n"
    "#   directory, in the .curve subdirectory.\n";
static const char s_secret_banner[] =
    "#   ZeroMQ CURVE **Secret** Certificate\n"
    "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n";

/* "path" + "_secret", as CZMQ names the secret half. */
static bool
s_zcert_secret_path (char *out, size_t cap, const char *path)
{
    int n = snprintf (out, cap, "%s_secret", path);
    return n > 0 && (size_t) n < cap;
}

/* Format one certificate file; secret_txt is NULL for the public one.
   CZMQ puts the creation time in the first line; the core reads no clock,
   so ours says who made it instead (readers treat the line as a comment). */
static size_t
s_zcert_format (char *text, size_t cap, const char *public_txt, const char *secret_txt)
{
    int n = snprintf (text, cap,
        "#   ****  Generated by curvecp  ****\n"
        "%s\n"
        "metadata\n"
        "curve\n"
        "    public-key = \"%s\"\n"
        "%s%s%s",
        secret_txt? s_secret_banner: s_public_banner, public_txt,
        secret_txt? "    secret-key = \"": "",
        secret_txt? secret_txt: "",
        secret_txt? "\"\n": "");
    return n > 0 && (size_t) n < cap? (size_t) n: 0;
}

curvecp_reason_t
curvecp_zcert_save (const char *path, const curvecp_keypair_t *keypair)
{
    s_error[0] = 0;
    char secret_path[PATH_MAX];
    if (!path || !keypair || !s_zcert_secret_path (secret_path, sizeof secret_path, path))
        return s_bad_argument ("zcert_save needs a path and keys");
    char public_txt[Z85_KEY_CHARS + 1];
    char secret_txt[Z85_KEY_CHARS + 1];
    char text[ZCERT_SAVE_MAX];
    curvecp_z85_encode (public_txt, keypair->public_key, CURVECP_KEY_BYTES);
    curvecp_z85_encode (secret_txt, keypair->secret_key, CURVECP_KEY_BYTES);

    //  The secret half first: a public file never names a key whose
    //  secret was lost in a crash
    size_t size = s_zcert_format (text, sizeof text, public_txt, secret_txt);
    curvecp_reason_t rc = curvecp_keyfile_save (secret_path, text, size, 0600);
    if (rc == CURVECP_OK) {
        size = s_zcert_format (text, sizeof text, public_txt, NULL);
        rc = curvecp_keyfile_save (path, text, size, 0644);
    }
    sodium_memzero (secret_txt, sizeof secret_txt);
    sodium_memzero (text, sizeof text);
    return rc;
}

/* ZPL names are letters, digits and a few punctuation marks. */
static bool
s_zpl_name_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || (c && strchr ("$-_@.&+/", c));
}

/* Does the item (the rest of a line, available bytes) start with name? */
static bool
s_zpl_name_is (const char *item, size_t available, const char *name)
{
    size_t length = strlen (name);
    return length <= available && memcmp (item, name, length) == 0
        && (length == available || !s_zpl_name_char (item[length]));
}

/* Parse " = value" or ' = "value"' from p up to end into value. */
static bool
s_zpl_value (const char *p, const char *end, char *value, size_t cap)
{
    while (p < end && *p == ' ')
        p++;
    if (p == end || *p++ != '=')
        return false;
    while (p < end && *p == ' ')
        p++;
    const char *stop;
    if (p < end && (*p == '"' || *p == '\'')) {
        stop = memchr (p + 1, *p, (size_t) (end - p - 1));
        if (!stop)
            return false;
        p++;
    }
    else
        for (stop = p; stop < end && !strchr (" \t#\r", *stop); stop++)
            ;
    size_t length = (size_t) (stop - p);
    if (length >= cap)
        return false;
    memcpy (value, p, length);
    value[length] = 0;
    return true;
}

/* Find "name = value" directly under the top-level "curve" section of a
   ZPL text (zconfig's format: four spaces per level, # comments). */
static bool
s_zpl_curve_value (const char *text, const char *name, char *value, size_t cap)
{
    bool in_curve = false;
    const char *line = text;
    while (*line) {
        size_t length = strcspn (line, "\n");
        size_t indent = strspn (line, " ");
        const char *item = line + indent;
        if (indent < length && *item != '#' && *item != '\r') {
            if (indent == 0)
                in_curve = s_zpl_name_is (item, length, "curve");
            else
            if (indent == 4 && in_curve && s_zpl_name_is (item, length - indent, name))
                return s_zpl_value (item + strlen (name), line + length, value, cap);
        }
        line += length + (line[length] == '\n');
    }
    return false;
}

/* Read a whole certificate file into a fresh NUL-terminated buffer that
   the caller wipes and frees. */
static char *
s_zcert_read_text (const char *path, curvecp_reason_t *rc)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        *rc = s_io_fail ("read", path);
        return NULL;
    }
    char *text = malloc (ZCERT_TEXT_MAX + 1);
    uint8_t extra;
    ssize_t got = text? s_read_full (fd, (uint8_t *) text, ZCERT_TEXT_MAX): -1;
    ssize_t more = got == ZCERT_TEXT_MAX? s_read_full (fd, &extra, 1): 0;
    sodium_memzero (&extra, sizeof extra);
    if (got >= 0 && more == 0) {
        close (fd);
        text[got] = 0;
        return text;
    }
    if (got < 0 || more < 0)
        *rc = s_io_fail ("read", path);
    else {
        s_error_set ("unable to read %s: longer than %d bytes, not a certificate", path, ZCERT_TEXT_MAX);
        *rc = CURVECP_E_BAD_KEY;
    }
    close (fd);
    if (text) {
        sodium_memzero (text, ZCERT_TEXT_MAX + 1);
        free (text);
    }
    return NULL;
}

/* Decode the Z85 key "name" of the certificate text into key. */
static curvecp_reason_t
s_zcert_key (const char *text, const char *name, uint8_t key[CURVECP_KEY_BYTES], const char *path)
{
    char z85[Z85_KEY_CHARS + 2];
    curvecp_reason_t rc = CURVECP_OK;
    if (!s_zpl_curve_value (text, name, z85, sizeof z85)) {
        s_error_set ("unable to read %s: no valid curve/%s", path, name);
        rc = CURVECP_E_BAD_KEY;
    }
    else
    if (strlen (z85) != Z85_KEY_CHARS || !curvecp_z85_decode (key, z85)) {
        s_error_set ("unable to read %s: curve/%s is not a 40-character Z85 key", path, name);
        rc = CURVECP_E_BAD_KEY;
    }
    sodium_memzero (z85, sizeof z85);
    return rc;
}

/* Load the public key, and the secret key if secret_key is not NULL. */
static curvecp_reason_t
s_zcert_load_file (const char *path, uint8_t *public_key, uint8_t *secret_key)
{
    curvecp_reason_t rc = CURVECP_OK;
    char *text = s_zcert_read_text (path, &rc);
    if (!text)
        return rc;
    rc = s_zcert_key (text, "public-key", public_key, path);
    if (rc == CURVECP_OK && secret_key)
        rc = s_zcert_key (text, "secret-key", secret_key, path);
    //  All of it: a NUL inside the file would hide bytes from strlen
    sodium_memzero (text, ZCERT_TEXT_MAX + 1);
    free (text);
    return rc;
}

curvecp_reason_t
curvecp_zcert_load (const char *path, curvecp_keypair_t *keypair)
{
    s_error[0] = 0;
    char secret_path[PATH_MAX];
    if (!path || !keypair || !s_zcert_secret_path (secret_path, sizeof secret_path, path))
        return s_bad_argument ("zcert_load needs a path and a key pair");

    //  Like zcert_load: the secret half if there is one, else path itself
    struct stat st;
    const char *source = stat (secret_path, &st) == 0? secret_path: path;
    curvecp_reason_t rc = s_zcert_load_file (source, keypair->public_key, keypair->secret_key);
    return s_keypair_finish (rc, keypair, source, source);
}

curvecp_reason_t
curvecp_zcert_load_public (const char *path, uint8_t public_key[CURVECP_KEY_BYTES])
{
    s_error[0] = 0;
    if (!path || !public_key)
        return s_bad_argument ("zcert_load_public needs a path");
    return s_zcert_load_file (path, public_key, NULL);
}

curvecp_reason_t
curvecp_keys_load (const char *path, curvecp_keypair_t *keypair)
{
    struct stat st;
    if (path && stat (path, &st) == 0 && S_ISDIR (st.st_mode))
        return curvecp_keydir_load (path, keypair);
    return curvecp_zcert_load (path, keypair);
}

/* ---------------------------------------------------------------------- */
/* Hex                                                                    */

void
curvecp_key_to_hex (const uint8_t key[CURVECP_KEY_BYTES], char hex[2 * CURVECP_KEY_BYTES + 1])
{
    sodium_bin2hex (hex, 2 * CURVECP_KEY_BYTES + 1, key, CURVECP_KEY_BYTES);
}

curvecp_reason_t
curvecp_key_from_hex (const char *hex, uint8_t key[CURVECP_KEY_BYTES])
{
    s_error[0] = 0;
    if (!hex || !key)
        return s_bad_argument ("key_from_hex needs a string and a buffer");
    size_t length = 0;
    const char *end = NULL;
    if (strnlen (hex, 2 * CURVECP_KEY_BYTES + 1) != 2 * CURVECP_KEY_BYTES
    ||  sodium_hex2bin (key, CURVECP_KEY_BYTES, hex, 2 * CURVECP_KEY_BYTES,
                        NULL, &length, &end) != 0
    ||  length != CURVECP_KEY_BYTES || end != hex + 2 * CURVECP_KEY_BYTES) {
        sodium_memzero (key, CURVECP_KEY_BYTES);
        s_error_set ("a key is exactly %d hex digits", 2 * CURVECP_KEY_BYTES);
        return CURVECP_E_BAD_KEY;
    }
    return CURVECP_OK;
}
