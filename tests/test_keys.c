/*  test_keys.c - key pairs, NaCl key directories, zcert files and hex:
    round trips, refusals, modes, corrupt files, and interop with CZMQ's
    own zcert code in both directions.                                   */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include <czmq.h>
#include "curvecp_keys.h"
#include "testutil.h"

static char s_root[64];

/* root/name into a static buffer (one at a time is all the tests need). */
static const char *
at (const char *name)
{
    static char paths[4][512];
    static int next;
    char *path = paths[next++ % 4];
    snprintf (path, 512, "%s/%s", s_root, name);
    return path;
}

static unsigned
mode_of (const char *path)
{
    struct stat st;
    CHECK (stat (path, &st) == 0);
    return (unsigned) (st.st_mode & 07777);
}

static long
size_of (const char *path)
{
    struct stat st;
    CHECK (stat (path, &st) == 0);
    return (long) st.st_size;
}

static void
write_file (const char *path, const void *data, size_t size)
{
    FILE *file = fopen (path, "wb");
    CHECK (file);
    CHECK (fwrite (data, 1, size, file) == size);
    CHECK (fclose (file) == 0);
    CHECK (chmod (path, 0600) == 0);     //  as private as a real key file
}

/* Read a whole small file into buf (NUL-terminated); returns its size. */
static size_t
read_file (const char *path, char *buf, size_t cap)
{
    FILE *file = fopen (path, "rb");
    CHECK (file);
    size_t n = fread (buf, 1, cap - 1, file);
    fclose (file);
    buf[n] = 0;
    return n;
}

static bool
is_zero (const void *data, size_t size)
{
    return sodium_is_zero (data, size) == 1;
}

/* Nothing named "*.tmp-*" may be left behind by an atomic write. */
static void
check_no_temp_files (const char *dir)
{
    DIR *handle = opendir (dir);
    CHECK (handle);
    struct dirent *entry;
    while ((entry = readdir (handle)))
        CHECK (strstr (entry->d_name, ".tmp-") == NULL);
    closedir (handle);
}

static void
test_keypair (void)
{
    curvecp_keypair_t a, b;
    curvecp_keypair_generate (&a);
    CHECK (!is_zero (a.secret_key, 32));
    curvecp_keypair_from_secret (&b, a.secret_key);
    CHECK_MEM (a.public_key, b.public_key, 32);
    curvecp_keypair_wipe (&b);
    CHECK (is_zero (&b, sizeof b));
}

static void
test_hex (void)
{
    uint8_t key[32], back[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t) (i * 17 + 3);
    char hex[65];
    curvecp_key_to_hex (key, hex);
    CHECK_EQ (strlen (hex), 64);
    CHECK (strncmp (hex, "031425364758697a8b9cadbecfe0f102", 32) == 0);
    CHECK_EQ (curvecp_key_from_hex (hex, back), CURVECP_OK);
    CHECK_MEM (key, back, 32);

    //  Either case parses
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (char) (hex[i] >= 'a' && hex[i] <= 'f'? hex[i] - 32: hex[i]);
    memset (back, 0, 32);
    CHECK_EQ (curvecp_key_from_hex (upper, back), CURVECP_OK);
    CHECK_MEM (key, back, 32);

    //  Wrong length, bad digit, trailing junk, NULL
    char bad[80];
    snprintf (bad, sizeof bad, "%.63s", hex);
    CHECK_EQ (curvecp_key_from_hex (bad, back), CURVECP_E_BAD_KEY);
    CHECK (is_zero (back, 32));
    snprintf (bad, sizeof bad, "%s0", hex);
    CHECK_EQ (curvecp_key_from_hex (bad, back), CURVECP_E_BAD_KEY);
    snprintf (bad, sizeof bad, "%s\n", hex);
    CHECK_EQ (curvecp_key_from_hex (bad, back), CURVECP_E_BAD_KEY);
    snprintf (bad, sizeof bad, "%s", hex);
    bad[10] = 'g';
    CHECK_EQ (curvecp_key_from_hex (bad, back), CURVECP_E_BAD_KEY);
    bad[10] = ' ';
    CHECK_EQ (curvecp_key_from_hex (bad, back), CURVECP_E_BAD_KEY);
    CHECK_EQ (curvecp_key_from_hex ("", back), CURVECP_E_BAD_KEY);
    CHECK_EQ (curvecp_key_from_hex (NULL, back), CURVECP_E_BAD_ARGUMENT);
}

static void
test_keydir_layout (void)
{
    curvecp_keypair_t made, loaded;
    CHECK_EQ (curvecp_keydir_create (at ("kd"), &made), CURVECP_OK);
    CHECK_EQ (mode_of (at ("kd")), 0755);
    CHECK_EQ (mode_of (at ("kd/.expertsonly")), 0700);
    CHECK_EQ (mode_of (at ("kd/publickey")), 0644);
    const char *secrets[] = { "secretkey", "lock", "noncekey", "noncecounter" };
    const long sizes[] = { 32, 1, 32, 8 };
    for (int i = 0; i < 4; i++) {
        char name[64];
        snprintf (name, sizeof name, "kd/.expertsonly/%s", secrets[i]);
        CHECK_EQ (mode_of (at (name)), 0600);
        CHECK_EQ (size_of (at (name)), sizes[i]);
    }
    CHECK_EQ (size_of (at ("kd/publickey")), 32);

    //  The raw files hold exactly the keys, a zero lock byte, counter 0
    uint8_t raw[32];
    CHECK_EQ (curvecp_keyfile_load (at ("kd/publickey"), raw, 32), CURVECP_OK);
    CHECK_MEM (raw, made.public_key, 32);
    CHECK_EQ (curvecp_keyfile_load (at ("kd/.expertsonly/secretkey"), raw, 32), CURVECP_OK);
    CHECK_MEM (raw, made.secret_key, 32);
    CHECK_EQ (curvecp_keyfile_load (at ("kd/.expertsonly/lock"), raw, 1), CURVECP_OK);
    CHECK_EQ (raw[0], 0);
    CHECK_EQ (curvecp_keyfile_load (at ("kd/.expertsonly/noncecounter"), raw, 8), CURVECP_OK);
    CHECK (is_zero (raw, 8));
    CHECK_EQ (curvecp_keyfile_load (at ("kd/.expertsonly/noncekey"), raw, 32), CURVECP_OK);
    CHECK (!is_zero (raw, 32));
    check_no_temp_files (s_root);
    check_no_temp_files (at ("kd/.expertsonly"));

    CHECK_EQ (curvecp_keydir_load (at ("kd"), &loaded), CURVECP_OK);
    CHECK_MEM (&made, &loaded, sizeof made);
    uint8_t public_key[32];
    CHECK_EQ (curvecp_keydir_load_public (at ("kd"), public_key), CURVECP_OK);
    CHECK_MEM (public_key, made.public_key, 32);
    CHECK_EQ (curvecp_keys_load (at ("kd"), &loaded), CURVECP_OK);
    CHECK_MEM (&made, &loaded, sizeof made);

    //  A given pair saves and loads back; a trailing slash names the dir
    curvecp_keypair_t given;
    curvecp_keypair_generate (&given);
    CHECK_EQ (curvecp_keydir_save (at ("given/"), &given), CURVECP_OK);
    CHECK_EQ (curvecp_keydir_load (at ("given"), &loaded), CURVECP_OK);
    CHECK_MEM (&given, &loaded, sizeof given);

    //  Umask does not change the modes NaCl's tool gives
    mode_t old = umask (077);
    CHECK_EQ (curvecp_keydir_create (at ("umask"), NULL), CURVECP_OK);
    umask (old);
    CHECK_EQ (mode_of (at ("umask")), 0755);
    CHECK_EQ (mode_of (at ("umask/publickey")), 0644);
    curvecp_keypair_wipe (&made);
    curvecp_keypair_wipe (&loaded);
    curvecp_keypair_wipe (&given);
}

static void
test_keydir_refuses_existing (void)
{
    curvecp_keypair_t keys, loaded;
    curvecp_keypair_generate (&keys);
    //  An existing key directory is never touched
    uint8_t before[32];
    CHECK_EQ (curvecp_keyfile_load (at ("kd/.expertsonly/secretkey"), before, 32), CURVECP_OK);
    CHECK_EQ (curvecp_keydir_save (at ("kd"), &keys), CURVECP_E_EXISTS);
    CHECK (strstr (curvecp_keys_error (), "file already exists"));
    CHECK_EQ (curvecp_keydir_create (at ("kd"), NULL), CURVECP_E_EXISTS);
    CHECK_EQ (curvecp_keydir_load (at ("kd"), &loaded), CURVECP_OK);
    CHECK_MEM (loaded.secret_key, before, 32);

    //  Nor an empty directory, a plain file or a dangling symlink
    CHECK (mkdir (at ("empty"), 0755) == 0);
    CHECK_EQ (curvecp_keydir_create (at ("empty"), NULL), CURVECP_E_EXISTS);
    CHECK (rmdir (at ("empty")) == 0);
    write_file (at ("plain"), "x", 1);
    CHECK_EQ (curvecp_keydir_create (at ("plain"), NULL), CURVECP_E_EXISTS);
    CHECK (symlink ("nowhere", at ("dangling")) == 0);
    CHECK_EQ (curvecp_keydir_create (at ("dangling"), NULL), CURVECP_E_EXISTS);

    //  A missing parent is an I/O error, with nothing left behind
    CHECK_EQ (curvecp_keydir_create (at ("no/such/dir"), NULL), CURVECP_E_IO);
    CHECK (strstr (curvecp_keys_error (), "file does not exist"));
    CHECK_EQ (curvecp_keydir_create (NULL, NULL), CURVECP_E_BAD_ARGUMENT);
    CHECK_EQ (curvecp_keydir_create ("", NULL), CURVECP_E_BAD_ARGUMENT);
    check_no_temp_files (s_root);
    curvecp_keypair_wipe (&keys);
    curvecp_keypair_wipe (&loaded);
}

static void
test_keydir_corrupt (void)
{
    curvecp_keypair_t loaded, other;
    uint8_t bytes[40];
    memset (bytes, 0x41, sizeof bytes);

    //  Short secret key: BAD_KEY, says how short, and leaves no key behind
    CHECK_EQ (curvecp_keydir_create (at ("short"), NULL), CURVECP_OK);
    write_file (at ("short/.expertsonly/secretkey"), bytes, 31);
    memset (&loaded, 0x55, sizeof loaded);
    CHECK_EQ (curvecp_keydir_load (at ("short"), &loaded), CURVECP_E_BAD_KEY);
    CHECK (strstr (curvecp_keys_error (), "31 bytes, expected 32"));
    CHECK (is_zero (&loaded, sizeof loaded));

    //  Long or empty public key
    CHECK_EQ (curvecp_keydir_create (at ("long"), NULL), CURVECP_OK);
    write_file (at ("long/publickey"), bytes, 33);
    CHECK_EQ (curvecp_keydir_load (at ("long"), &loaded), CURVECP_E_BAD_KEY);
    CHECK_EQ (curvecp_keydir_load_public (at ("long"), bytes), CURVECP_E_BAD_KEY);
    write_file (at ("long/publickey"), bytes, 0);
    CHECK_EQ (curvecp_keydir_load (at ("long"), &loaded), CURVECP_E_BAD_KEY);

    //  Missing files: I/O error with errno
    CHECK_EQ (curvecp_keydir_create (at ("missing"), NULL), CURVECP_OK);
    CHECK (unlink (at ("missing/.expertsonly/secretkey")) == 0);
    CHECK_EQ (curvecp_keydir_load (at ("missing"), &loaded), CURVECP_E_IO);
    CHECK (strstr (curvecp_keys_error (), "secretkey: file does not exist"));
    CHECK_EQ (curvecp_keydir_load (at ("nosuchdir"), &loaded), CURVECP_E_IO);

    //  A public key that is not the secret key's
    CHECK_EQ (curvecp_keydir_create (at ("mismatch"), NULL), CURVECP_OK);
    curvecp_keypair_generate (&other);
    CHECK_EQ (curvecp_keyfile_save (at ("mismatch/publickey"), other.public_key, 32, 0644), CURVECP_OK);
    CHECK_EQ (curvecp_keydir_load (at ("mismatch"), &loaded), CURVECP_E_BAD_KEY);
    CHECK (strstr (curvecp_keys_error (), "do not match"));
    CHECK (is_zero (&loaded, sizeof loaded));
    //  ... but the public key alone still loads
    CHECK_EQ (curvecp_keydir_load_public (at ("mismatch"), bytes), CURVECP_OK);
    CHECK_MEM (bytes, other.public_key, 32);
    curvecp_keypair_wipe (&other);
}

/* A group-readable secret key loads, with a warning on stderr that names
   the file and never shows the key. */
static void
test_keydir_exposed_warning (void)
{
    curvecp_keypair_t made, loaded;
    CHECK_EQ (curvecp_keydir_create (at ("exposed"), &made), CURVECP_OK);
    CHECK (chmod (at ("exposed/.expertsonly/secretkey"), 0640) == 0);

    fflush (stderr);
    int saved = dup (2);
    int capture = open (at ("stderr.txt"), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    CHECK (saved >= 0 && capture >= 0);
    dup2 (capture, 2);
    curvecp_reason_t rc = curvecp_keydir_load (at ("exposed"), &loaded);
    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    close (capture);
    CHECK_EQ (rc, CURVECP_OK);

    char text[2048];
    size_t size = read_file (at ("stderr.txt"), text, sizeof text);
    CHECK (strstr (text, "warning"));
    CHECK (strstr (text, "exposed/.expertsonly/secretkey"));
    char hex[65];
    curvecp_key_to_hex (made.secret_key, hex);
    CHECK (strstr (text, hex) == NULL);
    CHECK (memmem (text, size, made.secret_key, 8) == NULL);

    //  0600 again: silence
    CHECK (chmod (at ("exposed/.expertsonly/secretkey"), 0600) == 0);
    capture = open (at ("stderr.txt"), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    saved = dup (2);
    dup2 (capture, 2);
    CHECK_EQ (curvecp_keydir_load (at ("exposed"), &loaded), CURVECP_OK);
    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    close (capture);
    CHECK_EQ (read_file (at ("stderr.txt"), text, sizeof text), 0);
    curvecp_keypair_wipe (&made);
    curvecp_keypair_wipe (&loaded);
}

static void
test_keyfile (void)
{
    const char *path = at ("keyfile");
    CHECK_EQ (curvecp_keyfile_save (path, "abcd", 4, 0600), CURVECP_OK);
    CHECK_EQ (mode_of (path), 0600);
    //  Overwrites atomically and sets the mode it is told
    CHECK_EQ (curvecp_keyfile_save (path, "wxyz", 4, 0644), CURVECP_OK);
    CHECK_EQ (mode_of (path), 0644);
    char buf[4];
    CHECK_EQ (curvecp_keyfile_load (path, buf, 4), CURVECP_OK);
    CHECK_MEM (buf, "wxyz", 4);
    CHECK_EQ (curvecp_keyfile_load (path, buf, 3), CURVECP_E_BAD_KEY);
    CHECK_EQ (curvecp_keyfile_save (at ("no/such/keyfile"), "a", 1, 0600), CURVECP_E_IO);
    check_no_temp_files (s_root);
}

/* Everything after the first line (the "Generated on" time stamp). */
static const char *
after_first_line (const char *text)
{
    const char *newline = strchr (text, '\n');
    CHECK (newline);
    return newline + 1;
}

static void
test_zcert_ours_to_czmq (void)
{
    curvecp_keypair_t keys, loaded;
    curvecp_keypair_generate (&keys);
    CHECK_EQ (curvecp_zcert_save (at ("ours.cert"), &keys), CURVECP_OK);
    CHECK_EQ (mode_of (at ("ours.cert")), 0644);
    CHECK_EQ (mode_of (at ("ours.cert_secret")), 0600);
    check_no_temp_files (s_root);

    //  CZMQ reads both halves
    zcert_t *cert = zcert_load (at ("ours.cert"));
    CHECK (cert);
    CHECK_MEM (zcert_public_key (cert), keys.public_key, 32);
    CHECK_MEM (zcert_secret_key (cert), keys.secret_key, 32);
    zcert_destroy (&cert);

    //  We read them back, the whole pair or the public half
    CHECK_EQ (curvecp_zcert_load (at ("ours.cert"), &loaded), CURVECP_OK);
    CHECK_MEM (&loaded, &keys, sizeof keys);
    CHECK_EQ (curvecp_zcert_load (at ("ours.cert_secret"), &loaded), CURVECP_OK);
    CHECK_MEM (&loaded, &keys, sizeof keys);
    CHECK_EQ (curvecp_keys_load (at ("ours.cert"), &loaded), CURVECP_OK);
    CHECK_MEM (&loaded, &keys, sizeof keys);
    uint8_t public_key[32];
    CHECK_EQ (curvecp_zcert_load_public (at ("ours.cert"), public_key), CURVECP_OK);
    CHECK_MEM (public_key, keys.public_key, 32);

    //  Byte for byte what zcert_save writes for the same keys (but the time)
    cert = zcert_new_from (keys.public_key, keys.secret_key);
    CHECK (cert);
    CHECK_EQ (zcert_save (cert, at ("czmq.cert")), 0);
    zcert_destroy (&cert);
    char ours[2048], theirs[2048];
    read_file (at ("ours.cert"), ours, sizeof ours);
    read_file (at ("czmq.cert"), theirs, sizeof theirs);
    CHECK (strcmp (after_first_line (ours), after_first_line (theirs)) == 0);
    CHECK (strncmp (ours, "#   ****  Generated by curvecp  ****\n", 36) == 0);
    read_file (at ("ours.cert_secret"), ours, sizeof ours);
    read_file (at ("czmq.cert_secret"), theirs, sizeof theirs);
    CHECK (strcmp (after_first_line (ours), after_first_line (theirs)) == 0);
    sodium_memzero (ours, sizeof ours);
    sodium_memzero (theirs, sizeof theirs);

    //  A public certificate alone: CZMQ sees no secret, we refuse a pair
    CHECK (unlink (at ("ours.cert_secret")) == 0);
    cert = zcert_load (at ("ours.cert"));
    CHECK (cert);
    CHECK_MEM (zcert_public_key (cert), keys.public_key, 32);
    zcert_destroy (&cert);
    CHECK_EQ (curvecp_zcert_load (at ("ours.cert"), &loaded), CURVECP_E_BAD_KEY);
    CHECK (strstr (curvecp_keys_error (), "secret-key"));
    curvecp_keypair_wipe (&keys);
    curvecp_keypair_wipe (&loaded);
}

static void
test_zcert_czmq_to_ours (void)
{
    zcert_t *cert = zcert_new ();
    CHECK (cert);
    zcert_set_meta (cert, "name", "test peer");
    zcert_set_meta (cert, "curve", "a metadata value named like the section");
    CHECK_EQ (zcert_save (cert, at ("theirs.cert")), 0);
    curvecp_keypair_t loaded;
    CHECK_EQ (curvecp_zcert_load (at ("theirs.cert"), &loaded), CURVECP_OK);
    CHECK_MEM (loaded.public_key, zcert_public_key (cert), 32);
    CHECK_MEM (loaded.secret_key, zcert_secret_key (cert), 32);
    uint8_t public_key[32];
    CHECK_EQ (curvecp_zcert_load_public (at ("theirs.cert"), public_key), CURVECP_OK);
    CHECK_MEM (public_key, zcert_public_key (cert), 32);

    //  zcert_save_public alone gives a file we read the public key from
    CHECK_EQ (zcert_save_public (cert, at ("pubonly.cert")), 0);
    CHECK_EQ (curvecp_zcert_load_public (at ("pubonly.cert"), public_key), CURVECP_OK);
    CHECK_MEM (public_key, zcert_public_key (cert), 32);
    zcert_destroy (&cert);
    curvecp_keypair_wipe (&loaded);
}

/* Hand-written ZPL: the other quoting forms zconfig accepts, CRLF, and
   the ways a certificate can be broken. */
static void
test_zcert_parsing (void)
{
    curvecp_keypair_t keys, loaded;
    char pub[41], sec[41], text[1024];
    //  '#' is a Z85 digit but starts a comment in an unquoted value, so
    //  take keys without one for the unquoted form
    do {
        curvecp_keypair_generate (&keys);
        zmq_z85_encode (pub, keys.public_key, 32);
        zmq_z85_encode (sec, keys.secret_key, 32);
    } while (strchr (sec, '#'));

    snprintf (text, sizeof text, "# comment\r\ncurve\r\n    public-key = '%s'\r\n"
              "    secret-key = %s   # trailing comment\r\n", pub, sec);
    write_file (at ("hand.cert"), text, strlen (text));
    CHECK_EQ (curvecp_zcert_load (at ("hand.cert"), &loaded), CURVECP_OK);
    CHECK_MEM (&loaded, &keys, sizeof keys);

    //  Keys outside the curve section, or nested deeper, do not count
    snprintf (text, sizeof text, "metadata\n    public-key = \"%s\"\n"
              "curve\n    inner\n        secret-key = \"%s\"\n", pub, sec);
    write_file (at ("wrongplace.cert"), text, strlen (text));
    CHECK_EQ (curvecp_zcert_load (at ("wrongplace.cert"), &loaded), CURVECP_E_BAD_KEY);

    //  Short, bad-character and unterminated keys
    snprintf (text, sizeof text, "curve\n    public-key = \"%.39s\"\n    secret-key = \"%s\"\n", pub, sec);
    write_file (at ("short.cert"), text, strlen (text));
    CHECK_EQ (curvecp_zcert_load (at ("short.cert"), &loaded), CURVECP_E_BAD_KEY);
    CHECK (is_zero (&loaded, sizeof loaded));
    snprintf (text, sizeof text, "curve\n    public-key = \"%s\"\n    secret-key = \"%.39s~\"\n", pub, sec);
    write_file (at ("badchar.cert"), text, strlen (text));
    CHECK_EQ (curvecp_zcert_load (at ("badchar.cert"), &loaded), CURVECP_E_BAD_KEY);
    snprintf (text, sizeof text, "curve\n    public-key = \"%s\n    secret-key = \"%s\"\n", pub, sec);
    write_file (at ("unterminated.cert"), text, strlen (text));
    CHECK_EQ (curvecp_zcert_load (at ("unterminated.cert"), &loaded), CURVECP_E_BAD_KEY);

    //  Keys that do not belong together
    curvecp_keypair_t other;
    curvecp_keypair_generate (&other);
    char other_pub[41];
    zmq_z85_encode (other_pub, other.public_key, 32);
    snprintf (text, sizeof text, "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n", other_pub, sec);
    write_file (at ("mismatch.cert"), text, strlen (text));
    CHECK_EQ (curvecp_zcert_load (at ("mismatch.cert"), &loaded), CURVECP_E_BAD_KEY);
    CHECK (strstr (curvecp_keys_error (), "do not match"));

    //  Not there at all, and an empty file
    CHECK_EQ (curvecp_zcert_load (at ("absent.cert"), &loaded), CURVECP_E_IO);
    write_file (at ("empty.cert"), "", 0);
    CHECK_EQ (curvecp_zcert_load_public (at ("empty.cert"), loaded.public_key), CURVECP_E_BAD_KEY);
    sodium_memzero (sec, sizeof sec);
    sodium_memzero (text, sizeof text);
    curvecp_keypair_wipe (&keys);
    curvecp_keypair_wipe (&other);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    snprintf (s_root, sizeof s_root, "/tmp/curvecp-test-keys-XXXXXX");
    CHECK (mkdtemp (s_root));

    test_keypair ();
    test_hex ();
    test_keydir_layout ();
    test_keydir_refuses_existing ();
    test_keydir_corrupt ();
    test_keydir_exposed_warning ();
    test_keyfile ();
    test_zcert_ours_to_czmq ();
    test_zcert_czmq_to_ours ();
    test_zcert_parsing ();

    char command[128];
    snprintf (command, sizeof command, "rm -rf '%s'", s_root);
    CHECK (system (command) == 0);
    printf ("test_keys: OK\n");
    return 0;
}
