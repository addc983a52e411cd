/*  fuzz_keys - the key file parsers: NaCl key directories, CZMQ zcert
    certificates, raw key files and hex keys. The input becomes files in a
    private temporary directory (on /dev/shm when there is one), which the
    loaders then read; every result is checked against what the files hold.

    Input byte 0 modulo 4 picks the mode:
      0: key directory: publickey and .expertsonly/secretkey, each present
         or absent and 0..64 bytes. keydir_load_public succeeds exactly
         when publickey is 32 bytes, keydir_load exactly when both are 32
         bytes and the public key is the secret key's; a failed load
         leaves the pair zeroed; keys_load on the directory agrees.
      1: zcert: "cert" and "cert_secret", each present or absent with fuzz
         text. A loaded public key's Z85 text is in the file; a loaded
         pair matches; a failed load leaves the pair zeroed; keys_load on
         the file agrees with zcert_load.
      2: hex: key_from_hex succeeds exactly for 64 hex digits, and
         key_to_hex gives them back in lowercase.
      3: keyfile_load of a fuzz file with a fuzz size succeeds exactly
         when the sizes are equal, and yields the file's bytes.          */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "fuzz_common.h"
#include "curvecp_keys.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char s_dir[PATH_MAX];

/* ---- the scratch directory --------------------------------------------- */

static void
s_path (char *out, const char *name)
{
    snprintf (out, PATH_MAX, "%s/%s", s_dir, name);
}

static const char *s_names[] = { "kd/.expertsonly/secretkey", "kd/publickey", "cert_secret", "cert", "file" };

static void
s_clean (void)
{
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof s_names / sizeof s_names[0]; i++) {
        s_path (path, s_names[i]);
        unlink (path);
    }
}

static void
s_remove_dir (void)
{
    char path[PATH_MAX];
    s_clean ();
    s_path (path, "kd/.expertsonly");
    rmdir (path);
    s_path (path, "kd");
    rmdir (path);
    rmdir (s_dir);
}

static void
s_setup (void)
{
    if (s_dir[0])
        return;
    struct stat st;
    const char *base = stat ("/dev/shm", &st) == 0 && S_ISDIR (st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf (s_dir, sizeof s_dir, "%s/curvecp-fuzz-keys-XXXXXX", base);
    FUZZ_CHECK (mkdtemp (s_dir) != NULL);
    char path[PATH_MAX];
    s_path (path, "kd");
    FUZZ_CHECK (mkdir (path, 0700) == 0);
    s_path (path, "kd/.expertsonly");
    FUZZ_CHECK (mkdir (path, 0700) == 0);
    atexit (s_remove_dir);
}

/* 0600 so that the loaders' warning about exposed secrets stays quiet. */
static void
s_write (const char *name, const uint8_t *data, size_t size)
{
    char path[PATH_MAX];
    s_path (path, name);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK (fd >= 0);
    FUZZ_CHECK (size == 0 || write (fd, data, size) == (ssize_t) size);
    close (fd);
}

static bool
s_is_zero (const void *data, size_t size)
{
    const uint8_t *bytes = data;
    for (size_t i = 0; i < size; i++)
        if (bytes[i])
            return false;
    return true;
}

static bool
s_pair_matches (const curvecp_keypair_t *pair)
{
    uint8_t derived[32];
    return crypto_scalarmult_base (derived, pair->secret_key) == 0
        && memcmp (derived, pair->public_key, 32) == 0;
}

/* ---- mode 0: key directories ------------------------------------------ */

/* One file of the directory: present or not, 0..64 fuzz bytes. */
static size_t
s_keydir_file (fuzz_input_t *in, const char *name, uint8_t content[64], bool *present)
{
    uint8_t head = fuzz_u8 (in);
    *present = head & 0x80;
    size_t size = (head & 0x7f) % 65;
    fuzz_bytes (in, content, size);
    if (*present)
        s_write (name, content, size);
    return size;
}

static void
s_keydir_mode (fuzz_input_t *in)
{
    uint8_t public_key[64], secret_key[64];
    bool public_present, secret_present;
    size_t public_size = s_keydir_file (in, "kd/publickey", public_key, &public_present);
    size_t secret_size = s_keydir_file (in, "kd/.expertsonly/secretkey", secret_key, &secret_present);
    char dir[PATH_MAX];
    s_path (dir, "kd");

    uint8_t loaded[32];
    bool public_ok = public_present && public_size == 32;
    FUZZ_CHECK ((curvecp_keydir_load_public (dir, loaded) == CURVECP_OK) == public_ok);
    if (public_ok)
        FUZZ_CHECK (memcmp (loaded, public_key, 32) == 0);

    curvecp_keypair_t pair;
    memset (&pair, 0xa5, sizeof pair);
    curvecp_reason_t rc = curvecp_keydir_load (dir, &pair);
    bool pair_ok = public_ok && secret_present && secret_size == 32;
    if (pair_ok) {
        curvecp_keypair_t expected;
        memcpy (expected.public_key, public_key, 32);
        memcpy (expected.secret_key, secret_key, 32);
        pair_ok = s_pair_matches (&expected);
    }
    FUZZ_CHECK ((rc == CURVECP_OK) == pair_ok);
    if (rc == CURVECP_OK)
        FUZZ_CHECK (memcmp (pair.public_key, public_key, 32) == 0 && memcmp (pair.secret_key, secret_key, 32) == 0);
    else
        FUZZ_CHECK (s_is_zero (&pair, sizeof pair) && curvecp_keys_error ()[0] != 0);
    curvecp_keypair_t again;
    FUZZ_CHECK (curvecp_keys_load (dir, &again) == rc);
    FUZZ_CHECK (memcmp (&again, &pair, sizeof pair) == 0);
}

/* ---- mode 1: zcert files ---------------------------------------------- */

static bool
s_text_holds_key (const uint8_t *text, size_t size, const uint8_t key[32])
{
    char z85[41];
    FUZZ_CHECK (zmq_z85_encode (z85, key, 32) != NULL);
    return memmem (text, size, z85, 40) != NULL;
}

static void
s_zcert_mode (fuzz_input_t *in)
{
    uint8_t flags = fuzz_u8 (in);
    uint16_t split = fuzz_u16 (in);
    const uint8_t *text = in->data;
    size_t size = in->size;
    size_t public_size = split < size ? split : size;
    if (flags & 1)
        s_write ("cert", text, public_size);
    if (flags & 2)
        s_write ("cert_secret", text + public_size, size - public_size);
    char path[PATH_MAX];
    s_path (path, "cert");

    uint8_t public_key[32];
    if (curvecp_zcert_load_public (path, public_key) == CURVECP_OK)
        FUZZ_CHECK ((flags & 1) && s_text_holds_key (text, public_size, public_key));
    curvecp_keypair_t pair;
    memset (&pair, 0xa5, sizeof pair);
    curvecp_reason_t rc = curvecp_zcert_load (path, &pair);
    if (rc == CURVECP_OK) {
        FUZZ_CHECK (s_pair_matches (&pair));
        /* the secret half wins when it exists */
        const uint8_t *source = flags & 2 ? text + public_size : text;
        size_t source_size = flags & 2 ? size - public_size : public_size;
        FUZZ_CHECK (s_text_holds_key (source, source_size, pair.public_key));
        FUZZ_CHECK (s_text_holds_key (source, source_size, pair.secret_key));
    }
    else
        FUZZ_CHECK (s_is_zero (&pair, sizeof pair));
    curvecp_keypair_t again;
    FUZZ_CHECK (curvecp_keys_load (path, &again) == rc);
    FUZZ_CHECK (memcmp (&again, &pair, sizeof pair) == 0);
    sodium_memzero (&pair, sizeof pair);
}

/* ---- mode 2: hex ------------------------------------------------------- */

static void
s_hex_mode (fuzz_input_t *in)
{
    char text[160];
    size_t length = fuzz_rest (in, (uint8_t *) text, sizeof text - 1);
    text[length] = 0;
    length = strlen (text);
    bool valid = length == 64;
    for (size_t i = 0; valid && i < length; i++)
        valid = isxdigit ((unsigned char) text[i]);
    uint8_t key[32];
    curvecp_reason_t rc = curvecp_key_from_hex (text, key);
    FUZZ_CHECK ((rc == CURVECP_OK) == valid);
    if (valid) {
        char hex[65];
        curvecp_key_to_hex (key, hex);
        for (size_t i = 0; i < 64; i++)
            FUZZ_CHECK (hex[i] == tolower ((unsigned char) text[i]));
        FUZZ_CHECK (hex[64] == 0);
    }
}

/* ---- mode 3: raw key files --------------------------------------------- */

static void
s_keyfile_mode (fuzz_input_t *in)
{
    size_t want = fuzz_u8 (in) % 80;
    s_write ("file", in->data, in->size);
    char path[PATH_MAX];
    s_path (path, "file");
    uint8_t *buffer = malloc (want ? want : 1);
    FUZZ_CHECK (buffer);
    curvecp_reason_t rc = curvecp_keyfile_load (path, buffer, want);
    FUZZ_CHECK ((rc == CURVECP_OK) == (in->size == want));
    if (rc == CURVECP_OK)
        FUZZ_CHECK (want == 0 || memcmp (buffer, in->data, want) == 0);
    else
        FUZZ_CHECK (rc == CURVECP_E_BAD_KEY && s_is_zero (buffer, want));
    free (buffer);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_input_t in;
    fuzz_start (&in, data, size);
    s_setup ();
    s_clean ();
    switch (fuzz_u8 (&in) % 4) {
        case 0: s_keydir_mode (&in); break;
        case 1: s_zcert_mode (&in); break;
        case 2: s_hex_mode (&in); break;
        default: s_keyfile_mode (&in); break;
    }
    return 0;
}
