/*  curvecp-demo - the README's first command: a file served over CurveCP
    on both carriers, on loopback, in well under a minute.

    Makes a server key directory and a file of random bytes (20 MB by
    default) in a temporary directory, starts curvecp-fileserver on a
    ØMQ (tcp://) and a UDP endpoint, fetches the file with curvecp-fetch
    over each, checks each copy's SHA-256 against the original, prints
    the throughput, stops the server and removes the temporary files.
    The tools are the ones next to this program (/proc/self/exe).

        curvecp-demo [-s megabytes]

    Exit 0 when both copies are right.                                   */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sodium.h>
#include "curvecp_keys.h"
#include "curvecp_udp_socket.h"

#define WAIT_NS     (50ull * 1000000000ull)   /* any one step: a demo must end by itself */
#define CHUNK       (1 << 20)

extern char **environ;

typedef struct {
    char tmp[64];                             /* the temporary directory */
    char bindir[PATH_MAX];                    /* where the tools are */
    char hex[65];                             /* the server's public key */
    uint8_t digest[32];
    uint64_t size;
    pid_t server;
    char endpoints[2][128];                   /* ØMQ, UDP */
} demo_t;

static void
to_hex (const uint8_t *bytes, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        sprintf (out + 2 * i, "%02x", bytes[i]);
}

static int
remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove (path);
}

static void
cleanup (demo_t *self)
{
    if (self->server > 0) {
        kill (self->server, SIGTERM);
        waitpid (self->server, NULL, 0);
        self->server = 0;
    }
    if (self->tmp[0])
        nftw (self->tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
fail (demo_t *self, const char *what)
{
    fprintf (stderr, "curvecp-demo: %s\n", what);
    cleanup (self);
    fprintf (stderr, "curvecp-demo: FAILED\n");
    return 1;
}

/* The tools live in the same directory as this program. */
static bool
find_tools (demo_t *self)
{
    ssize_t n = readlink ("/proc/self/exe", self->bindir, sizeof self->bindir - 1);
    if (n <= 0)
        return false;
    self->bindir[n] = 0;
    char *slash = strrchr (self->bindir, '/');
    if (!slash)
        return false;
    *slash = 0;
    char path[PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/curvecp-fileserver", self->bindir);
    if (access (path, X_OK) != 0)
        return false;
    snprintf (path, sizeof path, "%s/curvecp-fetch", self->bindir);
    return access (path, X_OK) == 0;
}

/* Random bytes into path, hashing them on the way. */
static bool
make_file (demo_t *self, const char *path)
{
    FILE *file = fopen (path, "wb");
    uint8_t *chunk = (uint8_t *) malloc (CHUNK);
    bool ok = file && chunk;
    crypto_hash_sha256_state hash;
    crypto_hash_sha256_init (&hash);
    for (uint64_t done = 0; ok && done < self->size; done += CHUNK) {
        size_t n = self->size - done < CHUNK ? (size_t) (self->size - done) : CHUNK;
        randombytes_buf (chunk, n);
        crypto_hash_sha256_update (&hash, chunk, n);
        ok = fwrite (chunk, 1, n, file) == n;
    }
    crypto_hash_sha256_final (&hash, self->digest);
    free (chunk);
    if (file && fclose (file) != 0)
        ok = false;
    return ok;
}

static bool
hash_file (const char *path, uint8_t digest[32])
{
    FILE *file = fopen (path, "rb");
    uint8_t *chunk = (uint8_t *) malloc (CHUNK);
    bool ok = file && chunk;
    size_t n;
    crypto_hash_sha256_state hash;
    crypto_hash_sha256_init (&hash);
    while (ok && (n = fread (chunk, 1, CHUNK, file)) > 0)
        crypto_hash_sha256_update (&hash, chunk, n);
    crypto_hash_sha256_final (&hash, digest);
    free (chunk);
    if (file)
        fclose (file);
    return ok;
}

static pid_t
spawn (demo_t *self, const char *tool, char *const argv[], int stdout_fd)
{
    char path[PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/%s", self->bindir, tool);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    if (stdout_fd >= 0)
        posix_spawn_file_actions_adddup2 (&actions, stdout_fd, 1);
    pid_t pid;
    int rc = posix_spawn (&pid, path, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    return rc == 0 ? pid : -1;
}

/* One "serving DIR on ENDPOINT" line: keep the endpoint. */
static bool
take_endpoint (demo_t *self, char *line)
{
    char *on = strstr (line, " on ");
    if (strncmp (line, "curvecp-fileserver: serving ", 28) != 0 || !on)
        return false;
    snprintf (self->endpoints[strncmp (on + 4, "tcp://", 6) == 0 ? 0 : 1], sizeof self->endpoints[0], "%s", on + 4);
    return true;
}

/* Start the server on free ports and read the endpoints it printed
   (raw reads: a stdio buffer would hide lines from poll). */
static bool
start_server (demo_t *self, char *keydir, char *served)
{
    int fds[2];
    if (pipe (fds) != 0)
        return false;
    char *argv[] = { "curvecp-fileserver", "-q", "-k", keydir, served, "tcp://127.0.0.1:0", "127.0.0.1:0", NULL };
    self->server = spawn (self, "curvecp-fileserver", argv, fds[1]);
    close (fds[1]);
    char text[2048];
    size_t len = 0;
    int found = 0;
    struct pollfd pfd = { fds[0], POLLIN, 0 };
    while (self->server > 0 && found < 2 && len < sizeof text - 1 && poll (&pfd, 1, 5000) > 0) {
        ssize_t n = read (fds[0], text + len, sizeof text - 1 - len);
        if (n <= 0)
            break;
        len += (size_t) n;
        text[len] = 0;
        char *newline;
        while ((newline = strchr (text, '\n')) != NULL) {
            *newline = 0;
            found += take_endpoint (self, text);
            len -= (size_t) (newline + 1 - text);
            memmove (text, newline + 1, len + 1);
        }
    }
    close (fds[0]);            /* the server says no more: it runs with -q */
    return found == 2;
}

/* Run curvecp-fetch to completion (bounded); its exit code, or -1. */
static int
run_fetch (demo_t *self, const char *endpoint, char *local)
{
    char name[] = "demo.bin", timeout[] = "10", endpoint_arg[128];
    snprintf (endpoint_arg, sizeof endpoint_arg, "%s", endpoint);
    char *argv[] = { "curvecp-fetch", "-t", timeout, self->hex, endpoint_arg, name, local, NULL };
    pid_t pid = spawn (self, "curvecp-fetch", argv, -1);
    if (pid < 0)
        return -1;
    uint64_t until = curvecp_clock_now () + WAIT_NS;
    int status;
    while (waitpid (pid, &status, WNOHANG) == 0) {
        if (curvecp_clock_now () > until) {
            kill (pid, SIGKILL);
            waitpid (pid, &status, 0);
            return -1;
        }
        usleep (10000);
    }
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static bool
transfer (demo_t *self, const char *carrier, const char *endpoint)
{
    char local[128];
    snprintf (local, sizeof local, "%s/copy-%s.bin", self->tmp, carrier);
    uint64_t start = curvecp_clock_now ();
    int rc = run_fetch (self, endpoint, local);
    double seconds = (double) (curvecp_clock_now () - start) / 1e9;
    uint8_t digest[32];
    if (rc != 0) {
        printf ("  %s  %-24s curvecp-fetch failed (exit %d)\n", carrier, endpoint, rc);
        return false;
    }
    bool same = hash_file (local, digest) && memcmp (digest, self->digest, 32) == 0;
    printf ("  %s  %-24s %.1f MB in %.2f s = %6.1f MB/s   SHA-256 %s\n", carrier, endpoint,
            (double) self->size / 1e6, seconds, (double) self->size / 1e6 / seconds,
            same ? "matches" : "DIFFERS");
    fflush (stdout);
    return same;
}

int
main (int argc, char *argv[])
{
    demo_t self;
    memset (&self, 0, sizeof self);
    self.size = 20000000;
    int opt;
    while ((opt = getopt (argc, argv, "s:")) != -1) {
        long mb = opt == 's' ? atol (optarg) : 0;
        if (mb < 1 || mb > 4000) {
            fprintf (stderr, "usage: curvecp-demo [-s megabytes (1-4000, default 20)]\n");
            return 2;
        }
        self.size = (uint64_t) mb * 1000000;
    }
    if (sodium_init () < 0)
        return 1;
    signal (SIGPIPE, SIG_IGN);
    if (!find_tools (&self))
        return fail (&self, "cannot find curvecp-fileserver and curvecp-fetch next to this program "
                     "(build every target: cmake --build build)");
    snprintf (self.tmp, sizeof self.tmp, "/tmp/curvecp-demo-XXXXXX");
    if (!mkdtemp (self.tmp)) {
        self.tmp[0] = 0;
        return fail (&self, "cannot make a temporary directory");
    }
    char keydir[128], served[128], file[160];
    snprintf (keydir, sizeof keydir, "%s/server-keys", self.tmp);
    snprintf (served, sizeof served, "%s/served", self.tmp);
    snprintf (file, sizeof file, "%s/demo.bin", served);
    curvecp_keypair_t keys;
    if (curvecp_keydir_create (keydir, &keys) != CURVECP_OK)
        return fail (&self, curvecp_keys_error ());
    curvecp_key_to_hex (keys.public_key, self.hex);
    curvecp_keypair_wipe (&keys);
    char digest_hex[65];
    if (mkdir (served, 0700) != 0 || !make_file (&self, file))
        return fail (&self, "cannot write the demo file");
    to_hex (self.digest, 32, digest_hex);

    printf ("curvecp-demo: one file over CurveCP, on the ØMQ carrier and on the UDP carrier (loopback)\n\n");
    printf ("  work dir    %s (removed at the end)\n", self.tmp);
    printf ("  server key  %s (NaCl key directory)\n", self.hex);
    printf ("  file        demo.bin, %.1f MB of random bytes, SHA-256 %.16s...\n", (double) self.size / 1e6,
            digest_hex);
    fflush (stdout);
    if (!start_server (&self, keydir, served))
        return fail (&self, "curvecp-fileserver did not start");
    printf ("  server      curvecp-fileserver on %s and %s\n\n", self.endpoints[0], self.endpoints[1]);
    printf ("  by hand:    curvecp-fileserver -k KEYDIR DIR tcp://127.0.0.1:9000 udp://127.0.0.1:9001\n");
    printf ("              curvecp-fetch SERVERKEY tcp://127.0.0.1:9000 demo.bin\n\n");
    fflush (stdout);
    bool ok = transfer (&self, "ØMQ", self.endpoints[0]);
    ok = transfer (&self, "UDP", self.endpoints[1]) && ok;
    cleanup (&self);
    printf ("\ncurvecp-demo: %s (server stopped, temporary files removed)\n", ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
