/*  curvecp_known.c - known servers (curvecp_known.h): the per-user file
    of "NAME HEX" lines and, for names it lacks, the key service.      */

#include "curvecp_known.h"
#include "curvecp_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096
#define KEYD_TIMEOUT_MS 5000

static char s_file[PATH_MAX];

const char *
curvecp_known_file (void)
{
    const char *named = getenv ("CURVECP_KNOWN_SERVERS");
    if (named) {
        snprintf (s_file, sizeof s_file, "%s", named);
        return s_file;
    }
    const char *home = getenv ("HOME");
    struct stat st;
    if (home && *home && snprintf (s_file, sizeof s_file, "%s/.curvecp/known_servers", home) < (int) sizeof s_file
    &&  stat (s_file, &st) == 0)
        return s_file;
    s_file[0] = 0;
    return s_file;
}

bool
curvecp_known_explicit_key (const char *arg, uint8_t key[CURVECP_KEY_BYTES], bool *is_key, char *error, size_t error_size)
{
    struct stat st;
    *is_key = true;
    if (strlen (arg) == 2 * CURVECP_KEY_BYTES && curvecp_key_from_hex (arg, key) == CURVECP_OK)
        return true;
    if (stat (arg, &st) != 0) {
        *is_key = false;
        return false;
    }
    curvecp_reason_t rc = S_ISDIR (st.st_mode) ? curvecp_keydir_load_public (arg, key)
                                               : curvecp_zcert_load_public (arg, key);
    if (rc != CURVECP_OK)
        snprintf (error, error_size, "server key %s: %s", arg, curvecp_keys_error ());
    return rc == CURVECP_OK;
}

/* Look name up in the file: 1 found (key, *line), 0 not, -1 unreadable. */
static int
file_lookup (const char *path, const char *name, uint8_t key[CURVECP_KEY_BYTES], int *line_no,
        char *error, size_t error_size)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        if (errno == ENOENT)
            return 0;
        snprintf (error, error_size, "cannot read %s: %s", path, strerror (errno));
        return -1;
    }
    char line[LINE_MAX_BYTES];
    int number = 0, found = 0;
    while (!found && fgets (line, sizeof line, file)) {
        number++;
        char word[LINE_MAX_BYTES], hex[LINE_MAX_BYTES];
        if (line[0] == '#' || sscanf (line, "%4095s %4095s", word, hex) != 2 || strcmp (word, name) != 0)
            continue;
        if (curvecp_key_from_hex (hex, key) != CURVECP_OK) {
            snprintf (error, error_size, "%s line %d: '%s' is not a key (64 hex digits)", path, number, hex);
            fclose (file);
            return -1;
        }
        *line_no = number;
        found = 1;
    }
    fclose (file);
    return found;
}

static bool
record (const char *path, const char *name, const uint8_t key[CURVECP_KEY_BYTES], char *error, size_t error_size)
{
    char hex[2 * CURVECP_KEY_BYTES + 1];
    curvecp_key_to_hex (key, hex);
    int fd = open (path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    char line[LINE_MAX_BYTES];
    int length = snprintf (line, sizeof line, "%s %s\n", name, hex);
    bool ok = fd >= 0 && length > 0 && length < (int) sizeof line
           && write (fd, line, (size_t) length) == length && fsync (fd) == 0;
    if (!ok)
        snprintf (error, error_size, "cannot record the key of %s in %s: %s", name, path, strerror (errno));
    if (fd >= 0)
        close (fd);
    return ok;
}

static curvecp_known_keyd_fn *s_keyd_lookup;

void
curvecp_known_set_keyd (curvecp_known_keyd_fn *fn)
{
    s_keyd_lookup = fn;
}

/* The key service named by the environment, if any: 1 found, 0 not. */
static int
keyd_lookup (const char *name, uint8_t key[CURVECP_KEY_BYTES])
{
    const char *spec = getenv ("CURVECP_KEYD"), *admin_hex = getenv ("CURVECP_KEYD_ADMIN");
    uint8_t admin[CURVECP_KEY_BYTES];
    if (!s_keyd_lookup || !spec || !admin_hex || curvecp_key_from_hex (admin_hex, admin) != CURVECP_OK)
        return 0;
    return s_keyd_lookup (spec, admin, name, key, KEYD_TIMEOUT_MS) == 0;
}

static curvecp_known_result_t
by_name (const char *path, const char *name, uint8_t key[CURVECP_KEY_BYTES], char *error, size_t error_size)
{
    int line_no = 0;
    int found = *path ? file_lookup (path, name, key, &line_no, error, error_size) : 0;
    if (found < 0)
        return CURVECP_KNOWN_IO;
    if (found || keyd_lookup (name, key))
        return CURVECP_KNOWN_OK;
    if (*path)
        snprintf (error, error_size, "unknown server '%s': not a key, and not in %s%s (give its key once to "
                  "record it)", name, path, getenv ("CURVECP_KEYD") ? " nor in the key service" : "");
    else
        snprintf (error, error_size, "unknown server '%s': not a key (64 hex digits, key directory, zcert file), "
                  "and no known-servers file (create ~/.curvecp/known_servers or set CURVECP_KNOWN_SERVERS)%s",
                  name, getenv ("CURVECP_KEYD") ? " nor in the key service" : "");
    return CURVECP_KNOWN_UNKNOWN;
}

curvecp_known_result_t
curvecp_known_server_key (const char *arg, const char *record_name, uint8_t key[CURVECP_KEY_BYTES],
        char *error, size_t error_size)
{
    error[0] = 0;
    const char *path = curvecp_known_file ();
    bool is_key;
    if (!curvecp_known_explicit_key (arg, key, &is_key, error, error_size)) {
        if (is_key)
            return CURVECP_KNOWN_BAD_KEY;
        return by_name (path, arg, key, error, error_size);
    }
    if (!*path || !record_name || !*record_name || strpbrk (record_name, " \t\n#"))
        return CURVECP_KNOWN_OK;
    uint8_t recorded[CURVECP_KEY_BYTES];
    int line_no = 0;
    int found = file_lookup (path, record_name, recorded, &line_no, error, error_size);
    if (found < 0)
        return CURVECP_KNOWN_IO;
    if (found && sodium_memcmp (recorded, key, CURVECP_KEY_BYTES) != 0) {
        char hex[2 * CURVECP_KEY_BYTES + 1];
        curvecp_key_to_hex (recorded, hex);
        snprintf (error, error_size, "the key given for '%s' is not the one recorded in %s line %d (%s): "
                  "refusing it; if the server's key really changed, delete that line", record_name, path,
                  line_no, hex);
        return CURVECP_KNOWN_MISMATCH;
    }
    if (found)
        return CURVECP_KNOWN_OK;
    return record (path, record_name, key, error, error_size) ? CURVECP_KNOWN_RECORDED : CURVECP_KNOWN_IO;
}
