/*  test_safenonce.c - NaCl's long-term nonce scheme: the 64-bit TEA block
    cipher against known answers and an independent re-implementation,
    counter reservations as curvecpserver/curvecpclient make them, and
    uniqueness across objects, threads and processes.                    */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sodium.h>
#include "curvecp_keys.h"
#include "curvecp_nonce16.h"
#include "curvecp_safenonce.h"
#include "testutil.h"

static char s_root[64];

static const char *
at (const char *name)
{
    static char paths[4][512];
    static int next;
    char *path = paths[next++ % 4];
    snprintf (path, 512, "%s/%s", s_root, name);
    return path;
}

/* ---- an independent TEA-64, written from the description -------------- */

static uint64_t
ref_le64 (const uint8_t *p)
{
    return (uint64_t) p[0]       | (uint64_t) p[1] << 8  | (uint64_t) p[2] << 16
         | (uint64_t) p[3] << 24 | (uint64_t) p[4] << 32 | (uint64_t) p[5] << 40
         | (uint64_t) p[6] << 48 | (uint64_t) p[7] << 56;
}

static void
ref_tea64 (uint8_t out[16], const uint8_t in[16], const uint8_t key[32])
{
    uint64_t y = ref_le64 (in), z = ref_le64 (in + 8);
    uint64_t a = ref_le64 (key), b = ref_le64 (key + 8);
    uint64_t c = ref_le64 (key + 16), d = ref_le64 (key + 24);
    uint64_t sum = 0;
    for (int n = 32; n > 0; n--) {
        sum += 0x9e3779b97f4a7c15ull;
        y += ((z << 7) + a) ^ (z + sum) ^ ((z >> 12) + b);
        z += ((y << 16) + c) ^ (y + sum) ^ ((y >> 8) + d);
    }
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t) (y >> (8 * i));
        out[8 + i] = (uint8_t) (z >> (8 * i));
    }
}

static void
test_tea_known_answers (void)
{
    //  Computed with a separate Python implementation of the same cipher
    static const struct { const char *key, *in, *out; } vectors[] = {
        { "0000000000000000000000000000000000000000000000000000000000000000",
          "00000000000000000000000000000000", "f986c9b87805cd72762943e5c2b51b10" },
        { "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
          "000102030405060708090a0b0c0d0e0f", "34cce4f8d270bfb17a3f11bb9f4ad593" },
        { "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
          "05000000000000000123456789abcdef", "6c25dc2d58a714170e4205c3344ab8ad" },
    };
    for (size_t v = 0; v < sizeof vectors / sizeof vectors[0]; v++) {
        uint8_t key[32], in[16], want[16], got[16], back[16];
        CHECK_EQ (test_unhex (vectors[v].key, key, 32), 32);
        CHECK_EQ (test_unhex (vectors[v].in, in, 16), 16);
        CHECK_EQ (test_unhex (vectors[v].out, want, 16), 16);
        curvecp_tea64_encrypt (got, in, key);
        CHECK_MEM (got, want, 16);
        ref_tea64 (got, in, key);
        CHECK_MEM (got, want, 16);
        curvecp_tea64_decrypt (back, want, key);
        CHECK_MEM (back, in, 16);
    }
}

static void
test_tea_random (void)
{
    for (int i = 0; i < 10000; i++) {
        uint8_t key[32], in[16], ours[16], theirs[16], back[16];
        randombytes_buf (key, sizeof key);
        randombytes_buf (in, sizeof in);
        curvecp_tea64_encrypt (ours, in, key);
        ref_tea64 (theirs, in, key);
        CHECK_MEM (ours, theirs, 16);
        CHECK (memcmp (ours, in, 16) != 0);
        curvecp_tea64_decrypt (back, ours, key);
        CHECK_MEM (back, in, 16);
        //  In place works too
        curvecp_tea64_encrypt (in, in, key);
        CHECK_MEM (in, ours, 16);
    }
}

/* ---- reservations ----------------------------------------------------- */

static uint64_t
counter_file (const char *keydir)
{
    char path[600];
    uint8_t data[8];
    snprintf (path, sizeof path, "%s/.expertsonly/noncecounter", keydir);
    CHECK_EQ (curvecp_keyfile_load (path, data, 8), CURVECP_OK);
    return ref_le64 (data);
}

static void
set_counter_file (const char *keydir, uint64_t value)
{
    char path[600];
    uint8_t data[8];
    snprintf (path, sizeof path, "%s/.expertsonly/noncecounter", keydir);
    for (int i = 0; i < 8; i++)
        data[i] = (uint8_t) (value >> (8 * i));
    CHECK_EQ (curvecp_keyfile_save (path, data, 8, 0600), CURVECP_OK);
}

/* The counter a nonce carries: decrypt with the keydir's noncekey. */
static uint64_t
nonce_counter (const char *keydir, const uint8_t nonce[16])
{
    char path[600];
    uint8_t key[32], block[16];
    snprintf (path, sizeof path, "%s/.expertsonly/noncekey", keydir);
    CHECK_EQ (curvecp_keyfile_load (path, key, 32), CURVECP_OK);
    curvecp_tea64_decrypt (block, nonce, key);
    sodium_memzero (key, sizeof key);
    return ref_le64 (block);
}

static void
test_server_reservation (void)
{
    const char *keydir = at ("server");
    CHECK_EQ (curvecp_keydir_create (keydir, NULL), CURVECP_OK);
    curvecp_safenonce_t *nonces = curvecp_safenonce_new (keydir, CURVECP_SAFENONCE_SERVER);
    CHECK (nonces);
    //  Nothing is reserved until the first nonce is asked for
    CHECK_EQ (counter_file (keydir), 0);

    //  Usable as a curvecp_nonce16_fn
    curvecp_nonce16_fn next = curvecp_safenonce_next;
    uint8_t first[16], second[16];
    CHECK_EQ (next (nonces, first), CURVECP_OK);
    CHECK_EQ (counter_file (keydir), 1048576);
    CHECK_EQ (next (nonces, second), CURVECP_OK);
    CHECK_EQ (nonce_counter (keydir, first), 0);
    CHECK_EQ (nonce_counter (keydir, second), 1);
    uint64_t low, high;
    curvecp_safenonce_reserved (nonces, &low, &high);
    CHECK_EQ (low, 2);
    CHECK_EQ (high, 1048576);
    CHECK_EQ (counter_file (keydir), 1048576);

    //  A second "server" on the same keydir takes the next block
    curvecp_safenonce_t *other = curvecp_safenonce_new (keydir, CURVECP_SAFENONCE_SERVER);
    CHECK (other);
    CHECK_EQ (curvecp_safenonce_next (other, first), CURVECP_OK);
    CHECK_EQ (nonce_counter (keydir, first), 1048576);
    CHECK_EQ (counter_file (keydir), 2 * 1048576);
    curvecp_safenonce_destroy (&other);
    curvecp_safenonce_destroy (&nonces);
    CHECK (nonces == NULL);
    curvecp_safenonce_destroy (&nonces);     //  harmless twice
}

static void
test_client_reservation (void)
{
    const char *keydir = at ("client");
    CHECK_EQ (curvecp_keydir_create (keydir, NULL), CURVECP_OK);
    set_counter_file (keydir, 41);
    curvecp_safenonce_t *nonces = curvecp_safenonce_new (keydir, CURVECP_SAFENONCE_CLIENT);
    CHECK (nonces);
    //  One counter per nonce, each written back before it is used
    for (uint64_t i = 0; i < 5; i++) {
        uint8_t nonce[16];
        CHECK_EQ (curvecp_safenonce_next (nonces, nonce), CURVECP_OK);
        CHECK_EQ (counter_file (keydir), 41 + i + 1);
        CHECK_EQ (nonce_counter (keydir, nonce), 41 + i);
    }
    curvecp_safenonce_destroy (&nonces);
}

static int
compare_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y? -1: x > y;
}

static int
compare_nonce (const void *a, const void *b)
{
    return memcmp (a, b, 16);
}

static void
check_all_distinct (uint64_t *values, size_t count)
{
    qsort (values, count, sizeof *values, compare_u64);
    for (size_t i = 1; i < count; i++)
        CHECK (values[i] != values[i - 1]);
}

static void
test_many_unique (void)
{
    const char *keydir = at ("many");
    CHECK_EQ (curvecp_keydir_create (keydir, NULL), CURVECP_OK);
    enum { COUNT = 100000 };
    uint8_t (*nonces)[16] = malloc (COUNT * 16);
    CHECK (nonces);
    curvecp_safenonce_t *source = curvecp_safenonce_new (keydir, 1000);
    CHECK (source);
    for (int i = 0; i < COUNT; i++)
        CHECK_EQ (curvecp_safenonce_next (source, nonces[i]), CURVECP_OK);
    curvecp_safenonce_destroy (&source);
    CHECK_EQ (counter_file (keydir), COUNT);
    CHECK_EQ (nonce_counter (keydir, nonces[COUNT - 1]), COUNT - 1);
    qsort (nonces, COUNT, 16, compare_nonce);
    for (int i = 1; i < COUNT; i++)
        CHECK (memcmp (nonces[i], nonces[i - 1], 16) != 0);
    free (nonces);
}

/* Two objects on one keydir, used in turn with small reservations. */
static void
test_two_objects_interleaved (void)
{
    const char *keydir = at ("two");
    CHECK_EQ (curvecp_keydir_create (keydir, NULL), CURVECP_OK);
    curvecp_safenonce_t *a = curvecp_safenonce_new (keydir, 3);
    curvecp_safenonce_t *b = curvecp_safenonce_new (keydir, 5);
    CHECK (a && b);
    uint64_t counters[400];
    for (int i = 0; i < 200; i++) {
        uint8_t nonce[16];
        CHECK_EQ (curvecp_safenonce_next (a, nonce), CURVECP_OK);
        counters[2 * i] = nonce_counter (keydir, nonce);
        CHECK_EQ (curvecp_safenonce_next (b, nonce), CURVECP_OK);
        counters[2 * i + 1] = nonce_counter (keydir, nonce);
    }
    uint64_t file = counter_file (keydir);
    check_all_distinct (counters, 400);
    CHECK (counters[399] < file);
    curvecp_safenonce_destroy (&a);
    curvecp_safenonce_destroy (&b);
}

/* Objects in several threads of one process: lockf alone would not keep
   them apart (its locks belong to the process), the mutex must. */
enum { THREADS = 4, PER_THREAD = 500 };
static uint64_t s_thread_counters[THREADS * PER_THREAD];
static char s_thread_keydir[512];     //  at () is not for threads

static void *
thread_take (void *arg)
{
    int index = (int) (intptr_t) arg;
    const char *keydir = s_thread_keydir;
    curvecp_safenonce_t *source = curvecp_safenonce_new (keydir, 1);
    CHECK (source);
    char path[600];
    uint8_t key[32];
    snprintf (path, sizeof path, "%s/.expertsonly/noncekey", keydir);
    CHECK_EQ (curvecp_keyfile_load (path, key, 32), CURVECP_OK);
    for (int i = 0; i < PER_THREAD; i++) {
        uint8_t nonce[16], block[16];
        CHECK_EQ (curvecp_safenonce_next (source, nonce), CURVECP_OK);
        curvecp_tea64_decrypt (block, nonce, key);
        s_thread_counters[index * PER_THREAD + i] = ref_le64 (block);
    }
    curvecp_safenonce_destroy (&source);
    return NULL;
}

static void
test_threads (void)
{
    snprintf (s_thread_keydir, sizeof s_thread_keydir, "%s", at ("threads"));
    CHECK_EQ (curvecp_keydir_create (s_thread_keydir, NULL), CURVECP_OK);
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        CHECK (pthread_create (&threads[t], NULL, thread_take, (void *) (intptr_t) t) == 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join (threads[t], NULL);
    check_all_distinct (s_thread_counters, THREADS * PER_THREAD);
    CHECK_EQ (counter_file (s_thread_keydir), THREADS * PER_THREAD);
}

/* Processes: each child writes the counters it got to a pipe. */
static void
test_processes (void)
{
    const char *keydir = at ("procs");
    CHECK_EQ (curvecp_keydir_create (keydir, NULL), CURVECP_OK);
    enum { CHILDREN = 4, PER_CHILD = 500 };
    int fds[2];
    CHECK (pipe (fds) == 0);
    for (int c = 0; c < CHILDREN; c++) {
        pid_t pid = fork ();
        CHECK (pid >= 0);
        if (pid == 0) {
            close (fds[0]);
            curvecp_safenonce_t *source = curvecp_safenonce_new (keydir, (uint64_t) c + 1);
            if (!source)
                _exit (1);
            for (int i = 0; i < PER_CHILD; i++) {
                uint8_t nonce[16];
                if (curvecp_safenonce_next (source, nonce) != CURVECP_OK)
                    _exit (1);
                uint64_t counter = nonce_counter (keydir, nonce);
                if (write (fds[1], &counter, 8) != 8)
                    _exit (1);
            }
            curvecp_safenonce_destroy (&source);
            _exit (0);
        }
    }
    close (fds[1]);
    static uint64_t counters[CHILDREN * PER_CHILD];
    size_t got = 0;
    ssize_t n;
    while ((n = read (fds[0], (uint8_t *) counters + got, sizeof counters - got)) > 0)
        got += (size_t) n;
    close (fds[0]);
    for (int c = 0; c < CHILDREN; c++) {
        int status;
        CHECK (wait (&status) > 0);
        CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }
    CHECK_EQ (got, sizeof counters);
    check_all_distinct (counters, CHILDREN * PER_CHILD);
}

/* A forked child must not reuse the reservation it inherited. */
static void
test_fork_reserves_again (void)
{
    const char *keydir = at ("fork");
    CHECK_EQ (curvecp_keydir_create (keydir, NULL), CURVECP_OK);
    curvecp_safenonce_t *source = curvecp_safenonce_new (keydir, CURVECP_SAFENONCE_SERVER);
    uint8_t nonce[16];
    CHECK_EQ (curvecp_safenonce_next (source, nonce), CURVECP_OK);
    pid_t pid = fork ();
    CHECK (pid >= 0);
    if (pid == 0) {
        bool fresh = curvecp_safenonce_next (source, nonce) == CURVECP_OK
                  && nonce_counter (keydir, nonce) == 1048576;
        _exit (fresh? 0: 1);
    }
    int status;
    CHECK (waitpid (pid, &status, 0) == pid);
    CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    CHECK_EQ (counter_file (keydir), 2 * 1048576);
    //  The parent goes on in its own range
    CHECK_EQ (curvecp_safenonce_next (source, nonce), CURVECP_OK);
    CHECK_EQ (nonce_counter (keydir, nonce), 1);
    curvecp_safenonce_destroy (&source);
}

static void
test_failures (void)
{
    //  No such keydir, no reservation size
    CHECK (curvecp_safenonce_new (at ("absent"), 1) == NULL);
    const char *keydir = at ("broken");
    CHECK_EQ (curvecp_keydir_create (keydir, NULL), CURVECP_OK);
    CHECK (curvecp_safenonce_new (keydir, 0) == NULL);
    CHECK_EQ (curvecp_safenonce_next (NULL, (uint8_t [16]) { 0 }), CURVECP_E_BAD_ARGUMENT);

    //  A counter file of the wrong size: refuse, and hand out nothing
    curvecp_safenonce_t *source = curvecp_safenonce_new (keydir, 1);
    CHECK (source);
    char path[600];
    snprintf (path, sizeof path, "%s/.expertsonly/noncecounter", keydir);
    CHECK_EQ (curvecp_keyfile_save (path, "1234", 4, 0600), CURVECP_OK);
    uint8_t nonce[16];
    memset (nonce, 0xaa, 16);
    CHECK_EQ (curvecp_safenonce_next (source, nonce), CURVECP_E_BAD_KEY);
    CHECK (sodium_is_zero (nonce, 16));

    //  A counter about to wrap: exhausted, and the file is left alone
    set_counter_file (keydir, UINT64_MAX - 2);
    curvecp_safenonce_t *server = curvecp_safenonce_new (keydir, CURVECP_SAFENONCE_SERVER);
    CHECK_EQ (curvecp_safenonce_next (server, nonce), CURVECP_E_NONCE_EXHAUSTED);
    CHECK (counter_file (keydir) == UINT64_MAX - 2);
    //  ... while a client still gets the last two values
    CHECK_EQ (curvecp_safenonce_next (source, nonce), CURVECP_OK);
    CHECK (nonce_counter (keydir, nonce) == UINT64_MAX - 2);
    CHECK_EQ (curvecp_safenonce_next (source, nonce), CURVECP_OK);
    CHECK_EQ (curvecp_safenonce_next (source, nonce), CURVECP_E_NONCE_EXHAUSTED);
    CHECK (counter_file (keydir) == UINT64_MAX);

    //  Lock file gone: an I/O error
    snprintf (path, sizeof path, "%s/.expertsonly/lock", keydir);
    CHECK (unlink (path) == 0);
    set_counter_file (keydir, 0);
    CHECK_EQ (curvecp_safenonce_next (source, nonce), CURVECP_E_IO);
    CHECK (curvecp_safenonce_new (keydir, 1) == NULL);
    curvecp_safenonce_destroy (&source);
    curvecp_safenonce_destroy (&server);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    snprintf (s_root, sizeof s_root, "/tmp/curvecp-test-safenonce-XXXXXX");
    CHECK (mkdtemp (s_root));

    test_tea_known_answers ();
    test_tea_random ();
    test_server_reservation ();
    test_client_reservation ();
    test_many_unique ();
    test_two_objects_interleaved ();
    test_threads ();
    test_processes ();
    test_fork_reserves_again ();
    test_failures ();

    char command[128];
    snprintf (command, sizeof command, "rm -rf '%s'", s_root);
    CHECK (system (command) == 0);
    printf ("test_safenonce: OK\n");
    return 0;
}
