/*  test_filexfer_units.c - the file-transfer pieces without a network:
    the wire format (round trips, byte-at-a-time decoding, every malformed
    input refused with its reason and the output untouched), the path
    rule, the server side against a real directory (each refusal, symlink
    escapes, resume offsets, digest of the whole file), the client side
    against hand-made server bytes (resume, digest mismatch, early end,
    stop_after) and the endpoint parser.                                 */
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include "curvecp_endpoint.h"
#include "curvecp_filerecv.h"
#include "curvecp_filesend.h"
#include "curvecp_filexfer.h"
#include "testutil.h"

#define streq(a, b) (strcmp ((a), (b)) == 0)

static char dir[256] = "/tmp/test_filexfer_XXXXXX";

static void
write_file (const char *name, const uint8_t *data, size_t len)
{
    char path[320];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen (path, "wb");
    CHECK (file);
    CHECK_EQ (fwrite (data, 1, len, file), len);
    fclose (file);
}

/* ---- wire format -------------------------------------------------------- */

static void
test_request_codec (void)
{
    curvecp_filexfer_request_t in, out;
    memset (&in, 0, sizeof in);
    strcpy (in.path, "docs/a file.txt");
    in.offset = 0x0102030405060708ull;
    uint8_t buf[CURVECP_FILEXFER_REQUEST_MAX];
    size_t len = curvecp_filexfer_request_encode (&in, buf, sizeof buf), used;
    CHECK_EQ (len, CURVECP_FILEXFER_REQUEST_HEAD + strlen (in.path));
    CHECK_MEM (buf, "CPFQ\x01\x00\x00\x0f\x01\x02\x03\x04\x05\x06\x07\x08", 16);
    /* every prefix is "not whole yet", then the whole decodes */
    for (size_t n = 0; n < len; n++) {
        CHECK_EQ (curvecp_filexfer_request_decode (buf, n, &out, &used), CURVECP_OK);
        CHECK_EQ (used, 0);
    }
    CHECK_EQ (curvecp_filexfer_request_decode (buf, len + 5, &out, &used), CURVECP_OK);
    CHECK_EQ (used, len);
    CHECK (streq (out.path, in.path));
    CHECK_EQ (out.offset, in.offset);
    /* out of range: empty path, too small a buffer */
    in.path[0] = 0;
    CHECK_EQ (curvecp_filexfer_request_encode (&in, buf, sizeof buf), 0);
    strcpy (in.path, "x");
    CHECK_EQ (curvecp_filexfer_request_encode (&in, buf, 16), 0);
}

typedef struct {
    size_t at;
    uint8_t value;
    curvecp_reason_t reason;
} mutation_t;

static void
test_request_malformed (void)
{
    curvecp_filexfer_request_t in, out;
    memset (&in, 0, sizeof in);
    strcpy (in.path, "abc");
    uint8_t good[64], bad[64];
    size_t len = curvecp_filexfer_request_encode (&in, good, sizeof good), used;
    const mutation_t cases[] = {
        { 0, 'X', CURVECP_E_BAD_MAGIC },        /* magic */
        { 4, 2, CURVECP_E_BAD_MAGIC },          /* version */
        { 5, 1, CURVECP_E_BAD_MESSAGE },        /* flags */
        { 7, 0, CURVECP_E_TOO_SHORT },          /* empty path */
        { 6, 0x04, CURVECP_E_TOO_LONG },        /* path of 1027 bytes */
        { 17, 0, CURVECP_E_BAD_MESSAGE },       /* NUL inside the path */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy (bad, good, len);
        bad[cases[i].at] = cases[i].value;
        memset (&out, 0x55, sizeof out);
        CHECK_EQ (curvecp_filexfer_request_decode (bad, len, &out, &used), cases[i].reason);
        CHECK_EQ (used, 0);
        CHECK_EQ (out.offset, 0x5555555555555555ull);       /* left alone */
    }
}

static void
test_reply_codec (void)
{
    curvecp_filexfer_reply_t in, out;
    memset (&in, 0, sizeof in);
    in.status = CURVECP_FILEXFER_OK;
    in.size = 1000;
    in.offset = 200;
    uint8_t buf[CURVECP_FILEXFER_REPLY_MAX], bad[CURVECP_FILEXFER_REPLY_MAX];
    size_t len = curvecp_filexfer_reply_encode (&in, buf, sizeof buf), used;
    CHECK_EQ (len, CURVECP_FILEXFER_REPLY_HEAD);
    CHECK_EQ (curvecp_filexfer_reply_decode (buf, len, &out, &used), CURVECP_OK);
    CHECK_EQ (used, len);
    CHECK_EQ (out.size, 1000);
    CHECK_EQ (out.offset, 200);
    in.status = CURVECP_FILEXFER_NOT_FOUND;
    strcpy (in.text, "no such file");
    len = curvecp_filexfer_reply_encode (&in, buf, sizeof buf);
    for (size_t n = 0; n < len; n++) {
        CHECK_EQ (curvecp_filexfer_reply_decode (buf, n, &out, &used), CURVECP_OK);
        CHECK_EQ (used, 0);
    }
    CHECK_EQ (curvecp_filexfer_reply_decode (buf, len, &out, &used), CURVECP_OK);
    CHECK_EQ (out.status, CURVECP_FILEXFER_NOT_FOUND);
    CHECK (streq (out.text, "no such file"));
    /* malformed: unknown status, offset past size, text too long, NUL in text */
    const mutation_t cases[] = {
        { 5, CURVECP_FILEXFER_STATUS_COUNT, CURVECP_E_BAD_MESSAGE },
        { 16, 1, CURVECP_E_BAD_MESSAGE },
        { 6, 0x05, CURVECP_E_TOO_LONG },
        { 25, 0, CURVECP_E_BAD_MESSAGE },
        { 3, 'Q', CURVECP_E_BAD_MAGIC },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy (bad, buf, len);
        bad[cases[i].at] = cases[i].value;
        memset (&out, 0x55, sizeof out);
        CHECK_EQ (curvecp_filexfer_reply_decode (bad, len, &out, &used), cases[i].reason);
        CHECK_EQ (out.size, 0x5555555555555555ull);
    }
    in.offset = 2000;                                   /* offset past size: not encoded */
    CHECK_EQ (curvecp_filexfer_reply_encode (&in, buf, sizeof buf), 0);
}

static void
test_path_check (void)
{
    const char *good[] = { "a", "a/b", "./a", "a/./b", "a..b", "..a", "a/..b/c", ".hidden", NULL };
    const char *bad[] = { "", "/", "/etc/passwd", "..", "../a", "a/..", "a/../b", "a/b/../../..", "//x", NULL };
    for (int i = 0; good[i]; i++)
        CHECK_EQ (curvecp_filexfer_path_check (good[i]), CURVECP_FILEXFER_OK);
    for (int i = 0; bad[i]; i++)
        CHECK_EQ (curvecp_filexfer_path_check (bad[i]), CURVECP_FILEXFER_OUTSIDE);
}

/* ---- server side -------------------------------------------------------- */

typedef struct {
    curvecp_filexfer_reply_t reply;
    uint8_t body[200000];
    size_t body_len;
    uint8_t digest[32];
} served_t;

/* Ask for path at offset; collect the reply, body and digest. */
static void
serve (const char *path, uint64_t offset, served_t *out)
{
    curvecp_filesend_t *send = curvecp_filesend_new (dir);
    CHECK (send);
    curvecp_filexfer_request_t request;
    memset (&request, 0, sizeof request);
    snprintf (request.path, sizeof request.path, "%s", path);
    request.offset = offset;
    uint8_t buf[CURVECP_FILEXFER_REQUEST_MAX + 10], all[300000];
    size_t len = curvecp_filexfer_request_encode (&request, buf, sizeof buf), total = 0, used;
    CHECK_EQ (curvecp_filesend_feed (send, buf, len + 10), len);   /* extra bytes not taken */
    CHECK (curvecp_filesend_started (send));
    const uint8_t *data;
    size_t n;
    while ((data = curvecp_filesend_data (send, &n)) && n > 0) {
        size_t take = n > 777 ? 777 : n;                           /* a carrier taking a little at a time */
        CHECK (total + take <= sizeof all);
        memcpy (all + total, data, take);
        total += take;
        curvecp_filesend_advance (send, take);
    }
    CHECK (curvecp_filesend_finished (send));
    CHECK (!curvecp_filesend_failed (send));
    CHECK_EQ (curvecp_filexfer_reply_decode (all, total, &out->reply, &used), CURVECP_OK);
    CHECK (used > 0);
    out->body_len = 0;
    if (out->reply.status == CURVECP_FILEXFER_OK) {
        out->body_len = total - used - 32;
        CHECK_EQ (out->body_len, out->reply.size - out->reply.offset);
        CHECK_EQ (curvecp_filesend_sent (send), out->body_len);
        memcpy (out->body, all + used, out->body_len);
        memcpy (out->digest, all + total - 32, 32);
    }
    else
        CHECK_EQ (total, used);
    curvecp_filesend_destroy (&send);
    CHECK (send == NULL);
}

static served_t served;

static void
test_server_side (const uint8_t *file, size_t size)
{
    uint8_t digest[32];
    crypto_hash_sha256 (digest, file, size);
    serve ("f.bin", 0, &served);
    CHECK_EQ (served.reply.status, CURVECP_FILEXFER_OK);
    CHECK_EQ (served.reply.size, size);
    CHECK_MEM (served.body, file, size);
    CHECK_MEM (served.digest, digest, 32);
    serve ("sub/../f.bin", 12345, &served);                 /* resumed: the digest still covers it all */
    CHECK_EQ (served.reply.status, CURVECP_FILEXFER_OUTSIDE);
    serve ("./f.bin", 12345, &served);
    CHECK_EQ (served.reply.offset, 12345);
    CHECK_MEM (served.body, file + 12345, size - 12345);
    CHECK_MEM (served.digest, digest, 32);
    serve ("f.bin", size, &served);                         /* nothing left but the digest */
    CHECK_EQ (served.body_len, 0);
    CHECK_MEM (served.digest, digest, 32);
    serve ("f.bin", size + 1, &served);                     /* past the end: from the start */
    CHECK_EQ (served.reply.offset, 0);
    CHECK_EQ (served.body_len, size);
    serve ("empty", 0, &served);
    CHECK_EQ (served.reply.status, CURVECP_FILEXFER_OK);
    crypto_hash_sha256 (digest, file, 0);
    CHECK_MEM (served.digest, digest, 32);
    const struct { const char *path; curvecp_filexfer_status_t status; } refused[] = {
        { "missing", CURVECP_FILEXFER_NOT_FOUND },
        { "f.bin/x", CURVECP_FILEXFER_NOT_FOUND },
        { "sub", CURVECP_FILEXFER_NOT_REGULAR },
        { "fifo", CURVECP_FILEXFER_NOT_REGULAR },
        { ".", CURVECP_FILEXFER_NOT_REGULAR },
        { "../outside", CURVECP_FILEXFER_OUTSIDE },
        { "/etc/passwd", CURVECP_FILEXFER_OUTSIDE },
        { "up", CURVECP_FILEXFER_OUTSIDE },                 /* symlink to a file outside */
        { "updir/outside", CURVECP_FILEXFER_OUTSIDE },      /* through a symlinked directory */
        { "sub/inside", CURVECP_FILEXFER_OK },              /* a symlink that stays inside is fine */
        { "secret", CURVECP_FILEXFER_DENIED },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (refused[i].status == CURVECP_FILEXFER_DENIED && geteuid () == 0)
            continue;                                       /* root reads mode 000 files */
        serve (refused[i].path, 0, &served);
        if (served.reply.status != refused[i].status)
            fprintf (stderr, "%s: status %d\n", refused[i].path, served.reply.status);
        CHECK_EQ (served.reply.status, refused[i].status);
        if (refused[i].status != CURVECP_FILEXFER_OK)
            CHECK (streq (served.reply.text, curvecp_filexfer_status_text (refused[i].status)));
    }
}

static void
test_server_bad_request (void)
{
    curvecp_filesend_t *send = curvecp_filesend_new (dir);
    uint8_t junk[40] = "GET /f.bin HTTP/1.0\r\n\r\n";
    CHECK_EQ (curvecp_filesend_feed (send, junk, sizeof junk), sizeof junk);
    CHECK_EQ (curvecp_filesend_request_reason (send), CURVECP_E_BAD_MAGIC);
    CHECK_EQ (curvecp_filesend_reply (send)->status, CURVECP_FILEXFER_BAD_REQUEST);
    CHECK_EQ (curvecp_filesend_feed (send, junk, sizeof junk), 0);    /* one request per transfer */
    curvecp_filesend_destroy (&send);
    CHECK (curvecp_filesend_new ("/nonexistent/dir") == NULL);
}

/* ---- client side -------------------------------------------------------- */

/* The bytes a server sends for file[offset..size). */
static size_t
server_bytes (const uint8_t *file, size_t size, uint64_t offset, uint8_t *out)
{
    curvecp_filexfer_reply_t reply;
    memset (&reply, 0, sizeof reply);
    reply.size = size;
    reply.offset = offset;
    size_t len = curvecp_filexfer_reply_encode (&reply, out, CURVECP_FILEXFER_REPLY_MAX);
    memcpy (out + len, file + offset, size - offset);
    len += size - offset;
    crypto_hash_sha256 (out + len, file, size);
    return len + 32;
}

static bool
file_equals (const char *path, const uint8_t *data, size_t len)
{
    static uint8_t buf[300000];
    FILE *file = fopen (path, "rb");
    if (!file)
        return false;
    size_t n = fread (buf, 1, sizeof buf, file);
    fclose (file);
    return n == len && memcmp (buf, data, len) == 0;
}

static uint8_t stream[300000];

static void
test_client_side (const uint8_t *file, size_t size)
{
    char local[256], part[256];
    snprintf (local, sizeof local, "%s/copy", dir);
    snprintf (part, sizeof part, "%s/copy.part", dir);
    /* stop after 50000 bytes: the partial copy stays */
    curvecp_filerecv_t *recv = curvecp_filerecv_new ("f.bin", local);
    uint8_t request[CURVECP_FILEXFER_REQUEST_MAX];
    curvecp_filexfer_request_t decoded;
    size_t used, len = curvecp_filerecv_request (recv, request, sizeof request);
    CHECK_EQ (curvecp_filexfer_request_decode (request, len, &decoded, &used), CURVECP_OK);
    CHECK_EQ (decoded.offset, 0);
    curvecp_filerecv_stop_after (recv, 50000);
    len = server_bytes (file, size, 0, stream);
    CHECK (curvecp_filerecv_push (recv, stream, len) < len);
    CHECK_EQ (curvecp_filerecv_state (recv), CURVECP_FILERECV_FAILED);
    CHECK_EQ (curvecp_filerecv_failure (recv), CURVECP_FILERECV_E_STOPPED);
    CHECK_EQ (curvecp_filerecv_received (recv), 50000);
    curvecp_filerecv_destroy (&recv);
    CHECK (file_equals (part, file, 50000));
    /* resume: asks from 50000, takes the rest a byte at a time at first */
    recv = curvecp_filerecv_new ("f.bin", local);
    len = curvecp_filerecv_request (recv, request, sizeof request);
    CHECK_EQ (curvecp_filexfer_request_decode (request, len, &decoded, &used), CURVECP_OK);
    CHECK_EQ (decoded.offset, 50000);
    len = server_bytes (file, size, 50000, stream);
    for (size_t i = 0; i < 100; i++)
        CHECK_EQ (curvecp_filerecv_push (recv, stream + i, 1), 1);
    CHECK_EQ (curvecp_filerecv_push (recv, stream + 100, len - 100), len - 100);
    CHECK_EQ (curvecp_filerecv_state (recv), CURVECP_FILERECV_DONE);
    CHECK_EQ (curvecp_filerecv_offset (recv), 50000);
    CHECK_EQ (curvecp_filerecv_received (recv), size - 50000);
    curvecp_filerecv_destroy (&recv);
    CHECK (file_equals (local, file, size));
    CHECK (access (part, F_OK) != 0);
    /* a wrong prefix in the partial copy: digest mismatch, copy removed */
    write_file ("copy.part", (const uint8_t *) "garbage", 7);
    recv = curvecp_filerecv_new ("f.bin", local);
    len = server_bytes (file, size, 7, stream);
    curvecp_filerecv_push (recv, stream, len);
    CHECK_EQ (curvecp_filerecv_failure (recv), CURVECP_FILERECV_E_DIGEST);
    CHECK (strstr (curvecp_filerecv_error (recv), "SHA-256 mismatch"));
    curvecp_filerecv_destroy (&recv);
    CHECK (access (part, F_OK) != 0);
    /* the server restarts from 0 when our copy is longer than its file */
    write_file ("copy.part", file, 1000);
    recv = curvecp_filerecv_new ("f.bin", local);
    len = server_bytes (file, 500, 0, stream);
    curvecp_filerecv_push (recv, stream, len);
    CHECK_EQ (curvecp_filerecv_state (recv), CURVECP_FILERECV_DONE);
    curvecp_filerecv_destroy (&recv);
    CHECK (file_equals (local, file, 500));
    /* a server that resumes past what we have is broken */
    write_file ("copy.part", file, 10);
    recv = curvecp_filerecv_new ("f.bin", local);
    len = server_bytes (file, size, 20, stream);
    curvecp_filerecv_push (recv, stream, len);
    CHECK_EQ (curvecp_filerecv_failure (recv), CURVECP_FILERECV_E_PROTOCOL);
    curvecp_filerecv_destroy (&recv);
    /* the stream ends early: a failure, the partial copy kept */
    recv = curvecp_filerecv_new ("f.bin", local);
    len = server_bytes (file, size, 10, stream);
    curvecp_filerecv_push (recv, stream, 5000);
    curvecp_filerecv_end (recv);
    CHECK_EQ (curvecp_filerecv_failure (recv), CURVECP_FILERECV_E_PROTOCOL);
    CHECK (strstr (curvecp_filerecv_error (recv), "run again to resume"));
    curvecp_filerecv_destroy (&recv);
    CHECK (file_equals (part, file, 10 + 5000 - CURVECP_FILEXFER_REPLY_HEAD));
    unlink (part);
    /* a refusal: the failure class and the server's words; no litter */
    recv = curvecp_filerecv_new ("../x", local);
    curvecp_filexfer_reply_t reply;
    memset (&reply, 0, sizeof reply);
    reply.status = CURVECP_FILEXFER_OUTSIDE;
    strcpy (reply.text, "path outside the served directory");
    len = curvecp_filexfer_reply_encode (&reply, stream, sizeof stream);
    curvecp_filerecv_push (recv, stream, len);
    CHECK_EQ (curvecp_filerecv_failure (recv), CURVECP_FILERECV_E_REFUSED);
    CHECK (streq (curvecp_filerecv_error (recv), "../x: path outside the served directory"));
    curvecp_filerecv_destroy (&recv);
    CHECK (access (part, F_OK) != 0);
    /* malformed reply */
    recv = curvecp_filerecv_new ("f.bin", local);
    curvecp_filerecv_push (recv, (const uint8_t *) "HTTP/1.0 200 OK\r\n\r\n", 19);
    CHECK_EQ (curvecp_filerecv_failure (recv), CURVECP_FILERECV_E_PROTOCOL);
    curvecp_filerecv_destroy (&recv);
    /* cannot create the partial copy */
    recv = curvecp_filerecv_new ("f.bin", "/nonexistent/dir/copy");
    CHECK_EQ (curvecp_filerecv_failure (recv), CURVECP_FILERECV_E_LOCAL);
    CHECK (strstr (curvecp_filerecv_error (recv), "/nonexistent/dir/copy.part"));
    curvecp_filerecv_destroy (&recv);
}

/* ---- endpoints ---------------------------------------------------------- */

static void
test_endpoints (void)
{
    curvecp_endpoint_t ep;
    char text[CURVECP_ENDPOINT_TEXT];
    CHECK_EQ (curvecp_endpoint_parse ("tcp://example.com:9000", &ep), CURVECP_OK);
    CHECK_EQ (ep.kind, CURVECP_ENDPOINT_ZMQ);
    CHECK (streq (ep.zmq, "tcp://example.com:9000"));
    CHECK_EQ (curvecp_endpoint_parse ("ipc:///tmp/x", &ep), CURVECP_OK);
    CHECK_EQ (curvecp_endpoint_parse ("tcp://127.0.0.1:65535", &ep), CURVECP_OK);
    CHECK_EQ (curvecp_endpoint_parse ("tcp://127.0.0.1:*", &ep), CURVECP_OK);
    CHECK_EQ (ep.kind, CURVECP_ENDPOINT_ZMQ);
    const char *udp[][2] = { { "127.0.0.1:9001", "udp://127.0.0.1:9001" },
                             { "udp://127.0.0.1:9001", "udp://127.0.0.1:9001" },
                             { "[::1]:5", "udp://[::1]:5" }, { "udp://[::1]:*", "udp://[::1]:0" } };
    for (int i = 0; i < 4; i++) {
        CHECK_EQ (curvecp_endpoint_parse (udp[i][0], &ep), CURVECP_OK);
        CHECK_EQ (ep.kind, CURVECP_ENDPOINT_UDP);
        CHECK (streq (curvecp_endpoint_format (&ep, text, sizeof text), udp[i][1]));
    }
    const char *bad[] = { "", "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:9x", "http://a:1",
                          "host.example:9000", ":9000", "udp://", "tcp://127.0.0.1:99998",
                          "tcp://127.0.0.1:123456", "tcp://[::1]:65536", NULL };
    for (int i = 0; bad[i]; i++)
        CHECK_EQ (curvecp_endpoint_parse (bad[i], &ep), CURVECP_E_BAD_ARGUMENT);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    CHECK (mkdtemp (dir));
    static uint8_t file[150000];
    randombytes_buf (file, sizeof file);
    char path[320], other[320];
    snprintf (path, sizeof path, "%s/served", dir);
    CHECK (mkdir (path, 0755) == 0);
    char base[64];
    strcpy (base, dir);
    strcat (dir, "/served");                    /* the served directory; base holds what is outside */
    write_file ("f.bin", file, sizeof file);
    write_file ("empty", file, 0);
    write_file ("secret", file, 10);
    snprintf (path, sizeof path, "%s/secret", dir);
    chmod (path, 0);
    snprintf (path, sizeof path, "%s/sub", dir);
    CHECK (mkdir (path, 0755) == 0);
    snprintf (path, sizeof path, "%s/fifo", dir);
    CHECK (mkfifo (path, 0600) == 0);
    snprintf (path, sizeof path, "%s/outside", base);
    FILE *outside = fopen (path, "w");
    CHECK (outside);
    fclose (outside);
    snprintf (other, sizeof other, "%s/up", dir);
    CHECK (symlink (path, other) == 0);
    snprintf (other, sizeof other, "%s/updir", dir);
    CHECK (symlink (base, other) == 0);
    snprintf (other, sizeof other, "%s/sub/inside", dir);
    CHECK (symlink ("../f.bin", other) == 0);

    test_request_codec ();
    test_request_malformed ();
    test_reply_codec ();
    test_path_check ();
    test_server_side (file, sizeof file);
    test_server_bad_request ();
    test_client_side (file, sizeof file);
    test_endpoints ();

    char cleanup[300];
    snprintf (cleanup, sizeof cleanup, "rm -rf '%s'", base);
    CHECK (system (cleanup) == 0);
    printf ("test_filexfer_units: OK\n");
    return 0;
}
