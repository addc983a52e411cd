/*  test_harden_secrets.c - secrets are wiped, kept out of messages, and
    key files are written safely:

      1. wipe functions zero every byte (keypair, session);
      2. no freed heap block holds a known secret: this test is linked with
         -Wl,--wrap=free (harden.cmake), and every block the library frees
         is scanned for the long-term secrets, a connection's session key
         and the zcert secret text, after a real UDP connection and a
         transfer, after every destroy path, after key loads (a positive
         control proves the scanner finds an unwiped secret);
      3. error texts (curvecp_keys_error) and stderr of failing key loads
         never carry a secret, in raw bytes, hex, Z85 or base64;
      4. key files appear under their final name only by rename (inotify
         sees no create, open or write of the final name), with the right
         modes even under umask 0, and an overwritten key file's old inode
         is never touched;
      5. loading a secret key file readable by group or others warns on
         stderr (keydir and zcert), naming the file and not the key; a
         0600 file loads silently.                                       */
#include <fcntl.h>
#include <malloc.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include "curvecp_hs_client.h"
#include "curvecp_hs_server.h"
#include "curvecp_keys.h"
#include "curvecp_z85.h"
#include "test_harden_util.h"
#include "test_udp_util.h"
#include "udp/curvecp_udp_internal.h"   /* white box: a connection's session key */

/* ---- the freed-block scanner ------------------------------------------ */

#define SECRETS_MAX 16
#define PROBE       16          /* bytes of a secret that count as a leak */

static struct {
    const char *what;
    uint8_t bytes[64];
    size_t len;
} secrets[SECRETS_MAX];
static int secret_count;
static unsigned long leaks, scanned;
static const char *last_leak;

void __real_free (void *p);
void __wrap_free (void *p);

static void
secret_add (const char *what, const void *bytes, size_t len)
{
    CHECK (secret_count < SECRETS_MAX && len <= sizeof secrets[0].bytes && len >= PROBE);
    secrets[secret_count].what = what;
    memcpy (secrets[secret_count].bytes, bytes, len);
    secrets[secret_count++].len = len;
}

static void
secrets_clear (void)
{
    sodium_memzero (secrets, sizeof secrets);
    secret_count = 0;
}

/* Does any PROBE-byte piece of a known secret appear in data? */
static const char *
find_secret (const uint8_t *data, size_t len)
{
    for (int s = 0; s < secret_count; s++)
        for (size_t off = 0; off + PROBE <= secrets[s].len; off += PROBE)
            if (memmem (data, len, secrets[s].bytes + off, PROBE))
                return secrets[s].what;
    return NULL;
}

void
__wrap_free (void *p)
{
    if (p && secret_count > 0) {
        const char *what = find_secret (p, malloc_usable_size (p));
        scanned++;
        if (what) {
            leaks++;
            last_leak = what;
        }
    }
    __real_free (p);
}

static void
expect_no_leaks (const char *where, unsigned long before)
{
    if (leaks != before)
        fprintf (stderr, "%s: %lu freed blocks held a secret (last: %s)\n", where, leaks - before,
                 last_leak);
    CHECK_EQ (leaks, before);
}

/* ---- 1. wipe functions -------------------------------------------------- */

static bool
all_zero (const void *p, size_t len)
{
    return sodium_is_zero (p, len) == 1;
}

static void
test_wipes (void)
{
    curvecp_keypair_t keys;
    curvecp_keypair_generate (&keys);
    CHECK (!all_zero (keys.secret_key, 32));
    curvecp_keypair_wipe (&keys);
    CHECK (all_zero (&keys, sizeof keys));

    curvecp_keypair_t server;
    curvecp_keypair_generate (&server);
    uint8_t ext[16] = { 0 };
    curvecp_hs_client_t *hs = curvecp_hs_client_new (server.public_key, "a.example", ext, ext, NULL, NULL);
    curvecp_hs_server_t *hss = curvecp_hs_server_new (&server, ext, 0, NULL);
    CHECK (hs && hss);
    CHECK_EQ (curvecp_hs_server_add_name (hss, "a.example"), 0);
    uint8_t hello[CURVECP_HELLO_BYTES], cookie[CURVECP_COOKIE_BYTES];
    int attempt;
    CHECK_EQ (curvecp_hs_client_hello (hs, 0, hello, &attempt), CURVECP_OK);
    CHECK_EQ (curvecp_hs_server_hello (hss, hello, sizeof hello, 0, cookie), CURVECP_OK);
    curvecp_session_t session;
    CHECK_EQ (curvecp_hs_client_cookie (hs, cookie, sizeof cookie, &session), CURVECP_OK);
    CHECK (!all_zero (session.shared, 32) && !all_zero (session.vouch, sizeof session.vouch));
    curvecp_session_wipe (&session);
    CHECK (all_zero (&session, sizeof session));
    curvecp_hs_client_destroy (&hs);
    curvecp_hs_server_destroy (&hss);
    CHECK (hs == NULL && hss == NULL);
    curvecp_keypair_wipe (&server);
    printf ("wipe: keypair and session all zero\n");
}

/* ---- 2. freed blocks ---------------------------------------------------- */

/* The scanner finds a secret freed without a wipe, and not after one. */
static void
test_scanner_works (void)
{
    uint8_t secret[32];
    randombytes_buf (secret, sizeof secret);
    secret_add ("control", secret, sizeof secret);
    unsigned long before = leaks;
    /* through volatile pointers, or the compiler drops the pair */
    void *(*volatile allocate) (size_t) = malloc;
    void (*volatile release) (void *) = free;
    uint8_t *block = allocate (100);
    CHECK (block);
    memcpy (block + 37, secret, 32);
    release (block);
    CHECK_EQ (leaks, before + 1);
    block = allocate (100);
    CHECK (block);
    memcpy (block + 5, secret, 32);
    sodium_memzero (block, 100);
    release (block);
    CHECK_EQ (leaks, before + 1);
    leaks = before;
    secrets_clear ();
    sodium_memzero (secret, sizeof secret);
}

/* A real connection and transfer, then every destroy path: no freed
   block may hold the server's or client's long-term secret or the
   connection's session key. */
static void
test_udp_destroy_paths (void)
{
    fixture_t f;
    memset (&f, 0, sizeof f);
    fixture_start (&f, "127.0.0.1", 0, NULL, NULL);
    curvecp_keypair_t client_keys;
    curvecp_keypair_generate (&client_keys);
    curvecp_udp_client_config_t config;
    client_config (&f, &config);
    config.long_term = &client_keys;
    curvecp_udp_client_t *client = curvecp_udp_client_new (&config, curvecp_clock_now ());
    CHECK (client);
    secret_add ("server long-term secret", f.keys.secret_key, 32);
    secret_add ("client long-term secret", client_keys.secret_key, 32);
    unsigned long before = leaks, scanned_before = scanned;

    curvecp_udp_conn_t *cc = curvecp_udp_client_conn (client), *sc = NULL;
    pump_t up = { 0, 0, 200000, 1, false }, down = { 0, 0, 200000, 2, false };
    uint64_t start = curvecp_clock_now ();
    bool keyed = false;
    while (!(curvecp_udp_conn_done (cc) && sc && curvecp_udp_conn_done (sc))) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        step (&f, client);
        if (!sc)
            sc = curvecp_udp_server_accept (f.server);
        if (sc && !keyed) {
            CHECK_MEM (sc->session.shared, cc->session.shared, 32);
            secret_add ("session key", sc->session.shared, 32);
            keyed = true;
        }
        pump (cc, &up, &down);
        if (sc)
            pump (sc, &down, &up);
    }
    CHECK_EQ (up.received, up.total);
    CHECK_EQ (down.received, down.total);
    curvecp_udp_conn_close (&sc);
    curvecp_udp_client_destroy (&client);
    curvecp_udp_server_destroy (&f.server);
    expect_no_leaks ("udp server, connection and client destroyed", before);
    CHECK (scanned > scanned_before + 5);      /* server, hs, conns, streams, sockets... */

    /* the core's classes on their own, with the same long-term keys */
    uint8_t ext[16] = { 0 };
    curvecp_hs_server_t *hss = curvecp_hs_server_new (&f.keys, ext, 0, NULL);
    curvecp_hs_client_t *hs = curvecp_hs_client_new (f.keys.public_key, "a.example", ext, ext, &client_keys, NULL);
    CHECK (hss && hs);
    curvecp_hs_client_destroy (&hs);
    curvecp_hs_server_destroy (&hss);
    expect_no_leaks ("hs_client and hs_server destroyed", before);
    printf ("destroy paths: %lu freed blocks scanned, no secret in any\n", scanned - scanned_before);
    secrets_clear ();
    curvecp_keypair_wipe (&client_keys);
}

/* ---- 3. messages ---------------------------------------------------------- */

/* Every spelling of a secret a message could carry. */
typedef struct {
    char hex[65], HEX[65], z85[41], b64[64];
    uint8_t raw[32];
} spellings_t;

static void
spell (spellings_t *s, const uint8_t key[32])
{
    memcpy (s->raw, key, 32);
    sodium_bin2hex (s->hex, sizeof s->hex, key, 32);
    for (int i = 0; i < 64; i++)
        s->HEX[i] = (char) (s->hex[i] >= 'a' ? s->hex[i] - 32 : s->hex[i]);
    s->HEX[64] = 0;
    CHECK (curvecp_z85_encode (s->z85, key, 32));
    sodium_bin2base64 (s->b64, sizeof s->b64, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

static bool
text_has_secret (const char *text, size_t len, const spellings_t *s)
{
    /* any 16-character run of the text forms, 16 raw bytes */
    for (size_t off = 0; off + 16 <= 64; off += 8)
        if (memmem (text, len, s->hex + off, 16) || memmem (text, len, s->HEX + off, 16))
            return true;
    return memmem (text, len, s->z85, 20) || memmem (text, len, s->z85 + 20, 20)
        || memmem (text, len, s->b64, 20) || memmem (text, len, s->raw, 16)
        || memmem (text, len, s->raw + 16, 16);
}

/* Run fn with stderr going to a file; return what it wrote. */
static size_t
with_stderr (void (*fn) (void *), void *arg, char *out, size_t cap)
{
    char path[] = "/tmp/curvecp-stderr.XXXXXX";
    int fd = mkstemp (path);
    CHECK (fd >= 0);
    unlink (path);
    fflush (stderr);
    int saved = dup (2);
    dup2 (fd, 2);
    fn (arg);
    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    ssize_t n = pread (fd, out, cap - 1, 0);
    close (fd);
    CHECK (n >= 0);
    out[n] = 0;
    return (size_t) n;
}

typedef struct {
    const char *path;
    bool zcert;
    curvecp_reason_t rc;
    char error[512];
} load_t;

static void
load (void *arg)
{
    load_t *l = arg;
    curvecp_keypair_t keys;
    l->rc = l->zcert ? curvecp_zcert_load (l->path, &keys) : curvecp_keydir_load (l->path, &keys);
    snprintf (l->error, sizeof l->error, "%s", curvecp_keys_error ());
    curvecp_keypair_wipe (&keys);
}

static void
write_file (const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CHECK (fd >= 0);
    CHECK_EQ (write (fd, data, len), (long long) len);
    CHECK (fchmod (fd, mode) == 0);
    close (fd);
}

static char *
read_text (const char *path, size_t *len)
{
    static char text[4096];
    int fd = open (path, O_RDONLY);
    CHECK (fd >= 0);
    ssize_t n = read (fd, text, sizeof text - 1);
    CHECK (n > 0);
    close (fd);
    text[n] = 0;
    *len = (size_t) n;
    return text;
}

/* Load, check the verdict, and that neither the error text nor stderr
   carries the secret; returns stderr's length. */
static size_t
load_checked (const char *path, bool zcert, curvecp_reason_t want, const spellings_t *s, char *err,
              size_t cap)
{
    load_t l = { path, zcert, CURVECP_OK, "" };
    size_t n = with_stderr (load, &l, err, cap);
    if (l.rc != want)
        fprintf (stderr, "load %s: %s (%s), expected %s\n", path, curvecp_reason_name (l.rc), l.error,
                 curvecp_reason_name (want));
    CHECK_EQ (l.rc, want);
    CHECK (!text_has_secret (l.error, strlen (l.error), s));
    CHECK (!text_has_secret (err, n, s));
    CHECK (want == CURVECP_OK || strlen (l.error) > 0);
    return n;
}

static void
test_messages_and_warnings (const char *dir)
{
    char kd[256], path[300], zc[256], zs[300], err[4096];
    snprintf (kd, sizeof kd, "%s/kd", dir);
    curvecp_keypair_t keys;
    CHECK_EQ (curvecp_keydir_create (kd, &keys), CURVECP_OK);
    spellings_t s;
    spell (&s, keys.secret_key);
    secret_add ("keydir secret", keys.secret_key, 32);
    unsigned long before = leaks;
    snprintf (path, sizeof path, "%s/.expertsonly/secretkey", kd);

    /* 5. a 0600 secret loads silently; readable by others: a warning */
    CHECK_EQ (load_checked (kd, false, CURVECP_OK, &s, err, sizeof err), 0);
    CHECK (chmod (path, 0644) == 0);
    CHECK (load_checked (kd, false, CURVECP_OK, &s, err, sizeof err) > 0);
    CHECK (strstr (err, "warning") && strstr (err, path) && strstr (err, "readable"));
    CHECK (chmod (path, 0640) == 0);
    CHECK (load_checked (kd, false, CURVECP_OK, &s, err, sizeof err) > 0);
    CHECK (strstr (err, "warning") && strstr (err, path));
    CHECK (chmod (path, 0600) == 0);

    /* 3. failing loads: another key's secret, a short file, a long one */
    curvecp_keypair_t other;
    curvecp_keypair_generate (&other);
    write_file (path, other.secret_key, 32, 0600);
    spellings_t so;
    spell (&so, other.secret_key);
    load_checked (kd, false, CURVECP_E_BAD_KEY, &s, err, sizeof err);
    load_checked (kd, false, CURVECP_E_BAD_KEY, &so, err, sizeof err);
    write_file (path, keys.secret_key, 31, 0600);
    load_checked (kd, false, CURVECP_E_BAD_KEY, &s, err, sizeof err);
    uint8_t longer[33];
    memcpy (longer, keys.secret_key, 32);
    longer[32] = 1;
    write_file (path, longer, 33, 0600);
    load_checked (kd, false, CURVECP_E_BAD_KEY, &s, err, sizeof err);
    sodium_memzero (longer, sizeof longer);

    /* zcert: silent at 0600, warns when exposed, failures say nothing secret */
    snprintf (zc, sizeof zc, "%s/cert", dir);
    snprintf (zs, sizeof zs, "%s/cert_secret", dir);
    CHECK_EQ (curvecp_zcert_save (zc, &keys), CURVECP_OK);
    secret_add ("zcert secret text", s.z85, 40);
    size_t tlen;
    const char *text = read_text (zs, &tlen);
    CHECK (strstr (text, s.z85));                 /* the file does hold it */
    CHECK_EQ (load_checked (zc, true, CURVECP_OK, &s, err, sizeof err), 0);
    CHECK (chmod (zs, 0604) == 0);
    CHECK (load_checked (zc, true, CURVECP_OK, &s, err, sizeof err) > 0);
    CHECK (strstr (err, "warning") && strstr (err, zs));
    CHECK (chmod (zs, 0600) == 0);
    char bad[4096];
    snprintf (bad, sizeof bad, "%s", text);
    char *pub = strstr (bad, "public-key = \"");
    CHECK (pub);
    pub[14] = pub[14] == 'a' ? 'b' : 'a';         /* keys no longer match */
    write_file (zs, bad, strlen (bad), 0600);
    load_checked (zc, true, CURVECP_E_BAD_KEY, &s, err, sizeof err);
    snprintf (bad, sizeof bad, "%s", text);
    char *sec = strstr (bad, "secret-key = \"");
    CHECK (sec);
    memmove (sec + 14 + 39, sec + 14 + 40, strlen (sec + 14 + 40) + 1);   /* 39 characters */
    write_file (zs, bad, strlen (bad), 0600);
    load_checked (zc, true, CURVECP_E_BAD_KEY, &s, err, sizeof err);
    sodium_memzero (bad, sizeof bad);
    expect_no_leaks ("key loads (keydir and zcert)", before);
    printf ("messages: no secret in any error or stderr; exposed secret files warned about\n");
    secrets_clear ();
    curvecp_keypair_wipe (&keys);
    curvecp_keypair_wipe (&other);
}

/* ---- 4. key files appear only whole, by rename ---------------------------- */

typedef struct {
    int fd;
    int final_other;        /* any event on the final name but a rename into it */
    int final_moved_to;
    int temp_created;
} watch_t;

static void
watch_start (watch_t *w, const char *dir)
{
    memset (w, 0, sizeof *w);
    w->fd = inotify_init1 (IN_NONBLOCK);
    CHECK (w->fd >= 0);
    CHECK (inotify_add_watch (w->fd, dir, IN_CREATE | IN_OPEN | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB
                              | IN_MOVED_FROM | IN_MOVED_TO) >= 0);
}

static void
watch_end (watch_t *w, const char *name)
{
    char buf[16384] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
    ssize_t n;
    while ((n = read (w->fd, buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *) p;
            if (e->len && strcmp (e->name, name) == 0) {
                if (e->mask & IN_MOVED_TO)
                    w->final_moved_to++;
                else
                    w->final_other++;
            }
            else
            if (e->len && strncmp (e->name, name, strlen (name)) == 0 && (e->mask & IN_CREATE))
                w->temp_created++;
            p += sizeof *e + e->len;
        }
    close (w->fd);
}

static mode_t
mode_of (const char *path)
{
    struct stat st;
    CHECK (stat (path, &st) == 0);
    return st.st_mode & 07777;
}

static void
test_key_files (const char *dir)
{
    mode_t old_umask = umask (0);               /* modes must not depend on it */
    char kd[256], path[400];
    watch_t w;

    /* a key directory appears whole, by one rename */
    snprintf (kd, sizeof kd, "%s/made", dir);
    watch_start (&w, dir);
    CHECK_EQ (curvecp_keydir_create (kd, NULL), CURVECP_OK);
    watch_end (&w, "made");
    CHECK_EQ (w.final_moved_to, 1);
    CHECK_EQ (w.final_other, 0);
    CHECK_EQ (w.temp_created, 1);
    CHECK_EQ (mode_of (kd), 0755);
    const struct { const char *name; mode_t mode; } files[] = {
        { "publickey", 0644 }, { ".expertsonly", 0700 }, { ".expertsonly/secretkey", 0600 },
        { ".expertsonly/noncekey", 0600 }, { ".expertsonly/noncecounter", 0600 },
        { ".expertsonly/lock", 0600 },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf (path, sizeof path, "%s/%s", kd, files[i].name);
        if (mode_of (path) != files[i].mode)
            fprintf (stderr, "%s: mode %o, expected %o\n", path, mode_of (path), files[i].mode);
        CHECK_EQ (mode_of (path), files[i].mode);
    }

    /* a key file written over an old one: by rename; the old inode keeps
       its bytes to the end (a reader never sees half a key) */
    char ex[300];
    snprintf (ex, sizeof ex, "%s/.expertsonly", kd);
    snprintf (path, sizeof path, "%s/secretkey", ex);
    struct stat st0, st1;
    CHECK (stat (path, &st0) == 0);
    uint8_t old_key[32], new_key[32], seen[32];
    int old_fd = open (path, O_RDONLY);
    CHECK (old_fd >= 0);
    CHECK_EQ (pread (old_fd, old_key, 32, 0), 32);
    randombytes_buf (new_key, sizeof new_key);
    watch_start (&w, ex);
    CHECK_EQ (curvecp_keyfile_save (path, new_key, 32, 0600), CURVECP_OK);
    watch_end (&w, "secretkey");
    CHECK_EQ (w.final_moved_to, 1);
    CHECK_EQ (w.final_other, 0);
    CHECK_EQ (w.temp_created, 1);
    CHECK (stat (path, &st1) == 0);
    CHECK (st1.st_ino != st0.st_ino);
    CHECK_EQ (pread (old_fd, seen, 32, 0), 32);
    CHECK_MEM (seen, old_key, 32);
    close (old_fd);
    CHECK_EQ (curvecp_keyfile_load (path, seen, 32), CURVECP_OK);
    CHECK_MEM (seen, new_key, 32);
    CHECK_EQ (mode_of (path), 0600);

    /* zcert: both halves by rename, the secret one 0600 */
    curvecp_keypair_t keys;
    curvecp_keypair_generate (&keys);
    char zc[300], zs[320];
    snprintf (zc, sizeof zc, "%s/zc", dir);
    snprintf (zs, sizeof zs, "%s_secret", zc);
    watch_start (&w, dir);
    CHECK_EQ (curvecp_zcert_save (zc, &keys), CURVECP_OK);
    watch_end (&w, "zc_secret");
    CHECK_EQ (w.final_moved_to, 1);
    CHECK_EQ (w.final_other, 0);
    watch_start (&w, dir);
    CHECK_EQ (curvecp_zcert_save (zc, &keys), CURVECP_OK);   /* again, over both */
    watch_end (&w, "zc");
    CHECK_EQ (w.final_moved_to, 1);
    CHECK_EQ (w.final_other, 0);
    CHECK_EQ (mode_of (zs), 0600);
    CHECK_EQ (mode_of (zc), 0644);
    /* no temporary file left behind anywhere */
    char cmd[400];
    snprintf (cmd, sizeof cmd, "find %s -name '*.tmp-*' | grep -q .", dir);
    CHECK (system (cmd) != 0);
    curvecp_keypair_wipe (&keys);
    sodium_memzero (old_key, 32);
    sodium_memzero (new_key, 32);
    sodium_memzero (seen, 32);
    umask (old_umask);
    printf ("key files: appear by rename only, modes right under umask 0, old inode untouched\n");
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    char dir[] = "/tmp/curvecp-secrets.XXXXXX";
    CHECK (mkdtemp (dir));
    test_wipes ();
    test_scanner_works ();
    test_udp_destroy_paths ();
    test_messages_and_warnings (dir);
    test_key_files (dir);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK (system (cmd) == 0);
    printf ("test_harden_secrets: OK\n");
    return 0;
}
