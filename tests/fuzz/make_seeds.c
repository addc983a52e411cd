/*  make_seeds - write the seed corpora tests/fuzz/corpus/<target>/ from
    the test vectors: the packets of tests/vectors/packets.txt in each
    target's raw mode, the same packets rebuilt in its build modes (so the
    fuzzer starts with inputs that pass every check), and a few edge cases
    (empty, one byte short, wrong type, flipped bytes).

    Usage: fuzz_make_seeds <tests/vectors/packets.txt> <corpus-dir>
    Each seed's file name says what it is. Re-running rewrites the same
    files byte for byte.                                                  */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>
#include "fuzz_common.h"
#include "curvecp_appframe.h"
#include "curvecp_keys.h"
#include "curvecp_keyset.h"
#include "testutil.h"

/* ---- reading packets.txt ------------------------------------------------ */

typedef struct {
    uint8_t hello[CURVECP_HELLO_BYTES], cookie[CURVECP_COOKIE_BYTES];
    uint8_t initiate[CURVECP_PACKET_MAX], server_message[CURVECP_PACKET_MAX], client_message[CURVECP_PACKET_MAX];
    int hello_len, cookie_len, initiate_len, server_message_len, client_message_len;
} packets_t;

static int
s_read_hex (FILE *file, const char *name, uint8_t *out, size_t cap)
{
    static char line[8192];
    rewind (file);
    size_t name_len = strlen (name);
    while (fgets (line, sizeof line, file))
        if (strncmp (line, name, name_len) == 0 && line[name_len] == ' ') {
            line[strcspn (line, "\r\n")] = 0;
            return test_unhex (line + name_len + 1, out, cap);
        }
    return -1;
}

static void
s_read_packets (const char *path, packets_t *p)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        fprintf (stderr, "make_seeds: cannot read %s: %s\n", path, strerror (errno));
        exit (1);
    }
    p->hello_len = s_read_hex (file, "hello_packet", p->hello, sizeof p->hello);
    p->cookie_len = s_read_hex (file, "cookie_packet", p->cookie, sizeof p->cookie);
    p->initiate_len = s_read_hex (file, "initiate_packet", p->initiate, sizeof p->initiate);
    p->server_message_len = s_read_hex (file, "server_message_packet", p->server_message, sizeof p->server_message);
    p->client_message_len = s_read_hex (file, "client_message_packet", p->client_message, sizeof p->client_message);
    fclose (file);
    if (p->hello_len != CURVECP_HELLO_BYTES || p->cookie_len != CURVECP_COOKIE_BYTES
    ||  p->initiate_len < 0 || p->server_message_len < 0 || p->client_message_len < 0) {
        fprintf (stderr, "make_seeds: %s lacks a packet\n", path);
        exit (1);
    }
}

/* ---- writing seeds ------------------------------------------------------ */

static const char *s_corpus;

/* A seed under construction: bytes appended in order. */
typedef struct {
    uint8_t data[4096];
    size_t size;
} seed_t;

static void
s_put (seed_t *seed, const void *data, size_t size)
{
    if (seed->size + size > sizeof seed->data)
        abort ();
    memcpy (seed->data + seed->size, data, size);
    seed->size += size;
}

static void
s_put_u8 (seed_t *seed, uint8_t value)
{
    s_put (seed, &value, 1);
}

static void
s_put_le (seed_t *seed, uint64_t value, int bytes)
{
    for (int i = 0; i < bytes; i++)
        s_put_u8 (seed, (uint8_t) (value >> (8 * i)));
}

static void
s_start (seed_t *seed, uint8_t mode)
{
    seed->size = 0;
    s_put_u8 (seed, mode);
}

static void
s_save (const char *target, const char *name, const seed_t *seed)
{
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", s_corpus, target);
    if (mkdir (path, 0755) != 0 && errno != EEXIST) {
        fprintf (stderr, "make_seeds: mkdir %s: %s\n", path, strerror (errno));
        exit (1);
    }
    snprintf (path, sizeof path, "%s/%s/%s", s_corpus, target, name);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (seed->data, 1, seed->size, file) != seed->size || fclose (file) != 0) {
        fprintf (stderr, "make_seeds: cannot write %s\n", path);
        exit (1);
    }
}

/* mode byte + packet, plus the same cut one byte short. */
static void
s_save_raw (const char *target, const char *name, uint8_t mode, const uint8_t *packet, size_t len)
{
    seed_t seed;
    char short_name[128];
    s_start (&seed, mode);
    s_put (&seed, packet, len);
    s_save (target, name, &seed);
    seed.size--;
    snprintf (short_name, sizeof short_name, "%s-short", name);
    s_save (target, short_name, &seed);
}

/* Build-mode header: flip position and value (0 = no flip). */
static void
s_start_build (seed_t *seed, uint8_t mode, uint16_t position, uint8_t value)
{
    s_start (seed, mode);
    s_put_le (seed, position, 2);
    s_put_u8 (seed, value);
}

/* ---- per target ----------------------------------------------------------- */

static void
s_hello (const fuzz_world_t *w, const packets_t *p)
{
    seed_t seed;
    s_save_raw ("fuzz_hello", "vector-hello", 0, p->hello, (size_t) p->hello_len);
    s_save_raw ("fuzz_hello", "vector-initiate", 0, p->initiate, (size_t) p->initiate_len);
    s_start (&seed, 0);
    s_save ("fuzz_hello", "empty", &seed);
    uint16_t flips[] = { 0, 7, 20, 100, 140, 200 };
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        char name[64];
        s_start_build (&seed, 1, flips[i], flips[i] ? 0x01 : 0);
        s_put (&seed, w->client_ext, 16);
        s_put (&seed, w->client_short_pk, 32);
        s_put_le (&seed, 1, 8);
        snprintf (name, sizeof name, "build-flip-%u", flips[i]);
        s_save ("fuzz_hello", name, &seed);
    }
}

static void
s_cookie (const fuzz_world_t *w, const packets_t *p)
{
    seed_t seed;
    s_save_raw ("fuzz_cookie", "vector-cookie", 0, p->cookie, (size_t) p->cookie_len);
    s_save_raw ("fuzz_cookie", "vector-server-message", 0, p->server_message, (size_t) p->server_message_len);
    s_start_build (&seed, 1, 0, 0);
    s_put (&seed, w->cookie_nonce, 16);
    s_put (&seed, w->server_short_pk, 32);
    s_put (&seed, w->server_short_sk, 32);
    s_put (&seed, w->client_short_pk, 32);
    s_save ("fuzz_cookie", "build", &seed);
    seed.data[1] = 100;
    seed.data[3] = 0x80;
    s_save ("fuzz_cookie", "build-flip-100", &seed);
    s_start (&seed, 2);
    s_put (&seed, w->cookie_k, sizeof w->cookie_k);
    s_save ("fuzz_cookie", "vector-k", &seed);
}

/* Build-mode Initiate: valid vouch and name text, or raw vouch and field. */
static void
s_initiate_build (const fuzz_world_t *w, seed_t *seed, bool valid, uint16_t position)
{
    s_start_build (seed, 1, position, position ? 0x40 : 0);
    s_put_u8 (seed, 255);                        /* name_cap - 1 */
    s_put_le (seed, 2, 8);
    s_put (seed, w->client_long_pk, 32);
    s_put (seed, w->vouch_nonce, 16);
    s_put_u8 (seed, valid ? 3 : 0);
    if (valid) {
        s_put_u8 (seed, 16);
        s_put (seed, "test.example.com", 16);
    }
    else {
        s_put (seed, w->vouch, CURVECP_VOUCH_BYTES);
        s_put (seed, w->name_field, CURVECP_NAME_BYTES);
    }
    s_put (seed, w->initiate_msg, sizeof w->initiate_msg);
}

static void
s_initiate (const fuzz_world_t *w, const packets_t *p)
{
    seed_t seed;
    s_save_raw ("fuzz_initiate", "vector-initiate", 0, p->initiate, (size_t) p->initiate_len);
    s_save_raw ("fuzz_initiate", "vector-client-message", 0, p->client_message, (size_t) p->client_message_len);
    s_initiate_build (w, &seed, true, 0);
    s_save ("fuzz_initiate", "build-valid", &seed);
    s_initiate_build (w, &seed, false, 0);
    s_save ("fuzz_initiate", "build-raw-fields", &seed);
    uint16_t flips[] = { 30, 50, 100, 300 };
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        char name[64];
        s_initiate_build (w, &seed, true, flips[i]);
        snprintf (name, sizeof name, "build-flip-%u", flips[i]);
        s_save ("fuzz_initiate", name, &seed);
    }
}

static void
s_message_packets (const char *target, const uint8_t *packet, int len, const uint8_t *message)
{
    seed_t seed;
    s_save_raw (target, "vector-packet", 0, packet, (size_t) len);
    s_start_build (&seed, 1, 0, 0);
    s_put_le (&seed, 3, 8);
    s_put (&seed, message, 192);
    s_save (target, "build", &seed);
    seed.data[1] = 90;
    seed.data[3] = 0x01;
    s_save (target, "build-flip-90", &seed);
    /* sequence: fresh, replay, step back, big jump */
    s_start (&seed, 2);
    s_put_u8 (&seed, 1);                         /* have_received (server side) */
    s_put_le (&seed, 100, 8);                    /* last nonce */
    s_put_u8 (&seed, 4);                         /* 5 packets */
    uint8_t steps[] = { 65, 64, 63, 66 };
    for (size_t i = 0; i < sizeof steps; i++) {
        s_put_u8 (&seed, steps[i]);
        s_put_u8 (&seed, 40);
        s_put (&seed, message, 16);
    }
    s_put_u8 (&seed, 0x80);
    s_put_le (&seed, UINT64_MAX, 8);
    s_put_u8 (&seed, 220);
    s_put (&seed, message, 16);
    s_save (target, "sequence", &seed);
}

/* ---- keys --------------------------------------------------------------- */

static size_t
s_zcert_text (char *out, size_t cap, const curvecp_keypair_t *pair, bool secret)
{
    char public_txt[41], secret_txt[41];
    zmq_z85_encode (public_txt, pair->public_key, 32);
    zmq_z85_encode (secret_txt, pair->secret_key, 32);
    int n = snprintf (out, cap,
        "#   ZeroMQ CURVE %s Certificate\n"
        "#   made by make_seeds from the test vector keys\n\n"
        "metadata\n    name = \"fuzz seed\"\n"
        "curve\n    public-key = \"%s\"\n%s%s%s",
        secret ? "**Secret**" : "Public", public_txt,
        secret ? "    secret-key = \"" : "", secret ? secret_txt : "", secret ? "\"\n" : "");
    return (size_t) n;
}

static void
s_keys (const fuzz_world_t *w)
{
    seed_t seed;
    s_start (&seed, 0);
    s_put_u8 (&seed, 0x80 | 32);
    s_put (&seed, w->server_long_pk, 32);
    s_put_u8 (&seed, 0x80 | 32);
    s_put (&seed, w->server_long_sk, 32);
    s_save ("fuzz_keys", "keydir-valid", &seed);
    seed.data[1 + 1 + 32] = 0x80 | 31;
    seed.size--;
    s_save ("fuzz_keys", "keydir-short-secret", &seed);

    curvecp_keypair_t pair;
    memcpy (pair.public_key, w->server_long_pk, 32);
    memcpy (pair.secret_key, w->server_long_sk, 32);
    char public_text[512], secret_text[512];
    size_t public_len = s_zcert_text (public_text, sizeof public_text, &pair, false);
    size_t secret_len = s_zcert_text (secret_text, sizeof secret_text, &pair, true);
    s_start (&seed, 1);
    s_put_u8 (&seed, 3);
    s_put_le (&seed, public_len, 2);
    s_put (&seed, public_text, public_len);
    s_put (&seed, secret_text, secret_len);
    s_save ("fuzz_keys", "zcert-pair", &seed);
    s_start (&seed, 1);
    s_put_u8 (&seed, 1);
    s_put_le (&seed, 0xffff, 2);
    s_put (&seed, secret_text, secret_len);
    s_save ("fuzz_keys", "zcert-secret-only", &seed);

    char hex[65];
    curvecp_key_to_hex (w->server_long_pk, hex);
    s_start (&seed, 2);
    s_put (&seed, hex, 64);
    s_save ("fuzz_keys", "hex", &seed);
    s_start (&seed, 3);
    s_put_u8 (&seed, 32);
    s_put (&seed, w->server_long_sk, 32);
    s_save ("fuzz_keys", "keyfile-32", &seed);
}

/* ---- message layer -------------------------------------------------------- */

static void
s_message (const fuzz_world_t *w)
{
    seed_t seed;
    const uint8_t *messages[] = { w->initiate_msg, w->server_msg, w->client_msg };
    const char *names[] = { "vector-initiate-message", "vector-server-message", "vector-client-message" };
    for (int i = 0; i < 3; i++) {
        s_start (&seed, 0);
        s_put (&seed, messages[i], 192);
        s_save ("fuzz_message", names[i], &seed);
    }
    /* an acknowledgment with every range used */
    uint8_t ack[192] = { 0 };
    ack[8] = 100;                                /* range 1: [0, 100) */
    ack[16] = 10; ack[20] = 5;                   /* gap 10, size 5 */
    for (int i = 1; i < 5; i++) {
        ack[18 + 4 * i] = (uint8_t) (i == 2 ? 0 : 3);    /* one gap of 0: merged */
        ack[20 + 4 * i] = 7;
    }
    s_start (&seed, 0);
    s_put (&seed, ack, sizeof ack);
    s_save ("fuzz_message", "ack-six-ranges", &seed);
    /* set_ranges: range 1 of 1000, three intervals of small widths */
    s_start (&seed, 1);
    s_put_u8 (&seed, 1);
    s_put_le (&seed, 1000, 2);
    s_put_u8 (&seed, 3);
    for (int i = 0; i < 3; i++) {
        s_put_u8 (&seed, (uint8_t) (4 * (i + 1)));   /* gap (width 0: value >> 2) */
        s_put_u8 (&seed, 1);
        s_put_le (&seed, 300, 2);                    /* size */
    }
    s_save ("fuzz_message", "set-ranges", &seed);
}

/* Stream programs: setup byte, then operations (see fuzz_stream.c). */
enum { OP_WRITE, OP_PRODUCE, OP_DELIVER, OP_LOSE, OP_TIME, OP_READ, OP_CLOSE, OP_INJECT, OP_DEADLINE };
#define SIDE_B 0x80

static void
s_stream_exchange (seed_t *seed, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        s_put_u8 (seed, OP_PRODUCE); s_put_u8 (seed, 7);
        s_put_u8 (seed, OP_DELIVER); s_put_u8 (seed, 0);
        s_put_u8 (seed, OP_DELIVER); s_put_u8 (seed, 0);
        s_put_u8 (seed, SIDE_B | OP_PRODUCE); s_put_u8 (seed, 7);
        s_put_u8 (seed, SIDE_B | OP_DELIVER); s_put_u8 (seed, 0);
        s_put_u8 (seed, SIDE_B | OP_READ); s_put_le (seed, 8192, 2);
        s_put_u8 (seed, OP_READ); s_put_le (seed, 8192, 2);
        s_put_u8 (seed, OP_DEADLINE);
    }
}

static void
s_stream (const fuzz_world_t *w)
{
    seed_t seed;
    /* A writes 3000 bytes and closes; B answers 100 bytes and closes. */
    for (uint8_t setup = 0; setup < 2; setup++) {
        s_start (&seed, setup);
        s_put_u8 (&seed, OP_WRITE); s_put_le (&seed, 3000, 2);
        s_put_u8 (&seed, SIDE_B | OP_WRITE); s_put_le (&seed, 100, 2);
        s_put_u8 (&seed, OP_CLOSE); s_put_u8 (&seed, 0);
        s_put_u8 (&seed, SIDE_B | OP_CLOSE); s_put_u8 (&seed, 1);
        s_stream_exchange (&seed, 4);
        s_save ("fuzz_stream", setup ? "exchange-window" : "exchange-chicago", &seed);
    }
    /* small buffers, a loss, a duplicate, a timeout */
    s_start (&seed, 8 | 2);
    s_put_u8 (&seed, OP_WRITE); s_put_le (&seed, 4000, 2);
    s_put_u8 (&seed, OP_PRODUCE); s_put_u8 (&seed, 7);
    s_put_u8 (&seed, OP_LOSE);
    s_put_u8 (&seed, OP_DELIVER); s_put_u8 (&seed, 1);
    s_put_u8 (&seed, OP_TIME); s_put_le (&seed, 1000, 2); s_put_u8 (&seed, 20);
    s_stream_exchange (&seed, 3);
    s_save ("fuzz_stream", "loss-duplicate-timeout", &seed);
    /* the vector messages injected raw at B */
    s_start (&seed, 0);
    s_put_u8 (&seed, SIDE_B | OP_INJECT); s_put_le (&seed, 192, 2); s_put (&seed, w->initiate_msg, 192);
    s_put_u8 (&seed, SIDE_B | OP_READ); s_put_le (&seed, 100, 2);
    s_put_u8 (&seed, SIDE_B | OP_INJECT); s_put_le (&seed, 192, 2); s_put (&seed, w->client_msg, 192);
    s_put_u8 (&seed, SIDE_B | OP_PRODUCE); s_put_u8 (&seed, 3);
    s_save ("fuzz_stream", "inject-vectors", &seed);
}

/* fd 8/9 frames of the vector messages, whole and cut short; build mode. */
static void
s_framing (const fuzz_world_t *w)
{
    seed_t seed;
    const uint8_t *messages[] = { w->initiate_msg, w->server_msg, w->client_msg };
    s_start (&seed, 0);
    s_put_le (&seed, 0, 2);                      /* input limit (unused) */
    s_put_le (&seed, 0x01020304, 4);             /* piece sizes */
    for (int i = 0; i < 3; i++) {
        s_put_u8 (&seed, 192 / 16);
        s_put (&seed, messages[i], 192);
    }
    s_save ("fuzz_framing", "vector-frames", &seed);
    seed.size -= 100;
    s_save ("fuzz_framing", "vector-frames-cut", &seed);
    s_start (&seed, 1);                          /* client limit of 640 */
    s_put_le (&seed, 640, 2);
    s_put_le (&seed, 7, 4);
    s_put_u8 (&seed, 41);                        /* 656 bytes: too long for it */
    s_save ("fuzz_framing", "client-limit", &seed);
    s_start (&seed, 2 | 4);                      /* build mode, small queue */
    s_put_le (&seed, 0, 2);
    s_put_u8 (&seed, 5);                         /* 6 messages */
    for (int i = 0; i < 6; i++) {
        s_put_u8 (&seed, (uint8_t) (i * 13));
        s_put (&seed, messages[i % 3], 16);
    }
    s_put_u8 (&seed, 0x80);                      /* a bad length byte after them */
    s_save ("fuzz_framing", "build-queue", &seed);
}

/* Server endpoint programs (see fuzz_server.c): op = client << 4 | kind. */
enum { SV_HELLO = 0, SV_INITIATE = 2, SV_MESSAGE = 4, SV_REPLY = 6, SV_REPLAY = 7, SV_FLIP = 8,
       SV_RAW = 9, SV_CLOSE = 10, SV_TIME = 11 };

static void
s_server_initiate (seed_t *seed, uint8_t client, uint8_t flags)
{
    s_put_u8 (seed, (uint8_t) (client << 4 | SV_INITIATE));
    s_put_u8 (seed, flags);
    s_put (seed, "vouch nonce 0123", 16);
    s_put_u8 (seed, 64);                         /* 192-byte message */
    s_put (seed, "first message...", 16);
}

static void
s_server_message (seed_t *seed, uint8_t client)
{
    s_put_u8 (seed, (uint8_t) (client << 4 | SV_MESSAGE));
    s_put_u8 (seed, 38);
    s_put (seed, "a client message", 16);
}

static void
s_server (void)
{
    seed_t seed;
    /* client 0 connects, talks, is answered; its Initiate is replayed and flipped */
    s_start (&seed, SV_HELLO);
    s_server_initiate (&seed, 0, 0);
    s_server_message (&seed, 0);
    s_put_u8 (&seed, SV_REPLY); s_put_u8 (&seed, 200); s_put (&seed, "a server message", 16);
    s_put_u8 (&seed, SV_REPLAY);
    s_put_u8 (&seed, SV_FLIP); s_put_le (&seed, 300, 2); s_put_u8 (&seed, 4);
    s_save ("fuzz_server", "connect-talk-replay", &seed);
    /* wrong name, bad vouch, then an expired cookie after two minutes */
    s_start (&seed, 1 << 4 | SV_HELLO);
    s_server_initiate (&seed, 1, 1);
    s_server_initiate (&seed, 1, 2 | 8);
    s_put_u8 (&seed, SV_TIME); s_put_le (&seed, 13000, 2);
    s_server_initiate (&seed, 1, 0);
    s_save ("fuzz_server", "refusals-and-expiry", &seed);
    /* three clients for two slots; one connection ends, the third gets in */
    s_start (&seed, SV_HELLO);
    s_put_u8 (&seed, 1 << 4 | SV_HELLO);
    s_put_u8 (&seed, 2 << 4 | SV_HELLO);
    s_server_initiate (&seed, 0, 0);
    s_server_initiate (&seed, 1, 0);
    s_server_initiate (&seed, 2, 0);
    s_put_u8 (&seed, SV_CLOSE);
    s_server_initiate (&seed, 2, 0);
    s_server_message (&seed, 2);
    s_save ("fuzz_server", "full-then-free", &seed);
    /* raw datagrams */
    s_start (&seed, SV_RAW);
    s_put_le (&seed, 224, 2);
    s_put (&seed, "QvnQ5XlH", 8);
    s_save ("fuzz_server", "raw-short-hello", &seed);
}

/* ØMQ application framing (see fuzz_appframe.c): setup, limits, pieces,
   then the stream (raw) or the message recipe (build). */
static void
s_appframe_start (seed_t *seed, uint8_t setup)
{
    s_start (seed, setup);
    s_put_le (seed, 4000, 2);                    /* max_message 68001 */
    s_put_u8 (seed, 15);                         /* max_frames 16 */
    s_put_le (seed, 0x00012345, 4);              /* piece sizes, half by commit */
}

static void
s_appframe (const fuzz_world_t *w)
{
    seed_t seed;
    uint8_t header[CURVECP_APPFRAME_HEADER_MAX], greeting[CURVECP_APPFRAME_GREETING];
    s_appframe_start (&seed, 1);
    curvecp_appframe_greeting (greeting, 0);
    s_put (&seed, greeting, sizeof greeting);
    s_put (&seed, header, curvecp_appframe_header (header, 6, true));
    s_put (&seed, "hello\n", 6);
    s_put (&seed, header, curvecp_appframe_header (header, 0, true));
    s_put (&seed, header, curvecp_appframe_header (header, 576, false));
    s_put (&seed, w->initiate_msg, 192);
    s_put (&seed, w->server_msg, 192);
    s_put (&seed, w->client_msg, 192);
    s_save ("fuzz_appframe", "greeting-three-frames", &seed);
    s_appframe_start (&seed, 0);
    uint8_t bad[] = { 0x02, 0, 0, 0, 0, 0, 0, 0, 0xff };    /* long size under 256 */
    s_put (&seed, bad, sizeof bad);
    s_save ("fuzz_appframe", "long-not-minimal", &seed);
    s_appframe_start (&seed, 3);                 /* build: greeting, 3 messages */
    s_put_u8 (&seed, 7);                         /* options */
    s_put_u8 (&seed, 2);
    for (int i = 0; i < 3; i++) {
        s_put_u8 (&seed, (uint8_t) i);           /* i + 1 frames */
        for (int f = 0; f <= i; f++) {
            s_put_u8 (&seed, 1);                 /* u16 size follows */
            s_put_le (&seed, (uint64_t) (f * 300), 2);
        }
    }
    s_save ("fuzz_appframe", "build", &seed);
}

/* Client endpoint programs (see fuzz_client.c). */
enum { CL_HELLO, CL_COOKIE, CL_SEAL, CL_SERVER_MESSAGE };

static void
s_client (void)
{
    seed_t seed;
    /* Hello, Cookie, Initiate, Server Message, Client Message, replay */
    s_start (&seed, CL_HELLO);
    s_put_le (&seed, 0, 2); s_put_u8 (&seed, 0);
    s_put_u8 (&seed, CL_COOKIE); s_put_u8 (&seed, 0); s_put (&seed, "cookie nonce 016", 16);
    s_put_u8 (&seed, CL_SEAL); s_put_u8 (&seed, 38); s_put (&seed, "initiate message", 16);
    s_put_u8 (&seed, CL_SERVER_MESSAGE); s_put_u8 (&seed, 0); s_put_u8 (&seed, 38);
    s_put (&seed, "server message..", 16); s_put_u8 (&seed, 9);
    s_put_u8 (&seed, CL_SEAL); s_put_u8 (&seed, 200); s_put (&seed, "client message..", 16);
    s_put_u8 (&seed, CL_SERVER_MESSAGE); s_put_u8 (&seed, 0); s_put_u8 (&seed, 38);
    s_put (&seed, "server replayed.", 16); s_put_u8 (&seed, 8);
    s_save ("fuzz_client", "handshake-and-talk", &seed);
    /* a Cookie before any Hello, one with a low-order S', a second Hello */
    s_start (&seed, CL_COOKIE); s_put_u8 (&seed, 0); s_put (&seed, "cookie nonce 016", 16);
    s_put_u8 (&seed, CL_HELLO); s_put_le (&seed, 0, 2); s_put_u8 (&seed, 0);
    s_put_u8 (&seed, CL_COOKIE); s_put_u8 (&seed, 1);
    for (int i = 0; i < 32; i++)
        s_put_u8 (&seed, 0);                     /* S' = 0: low order */
    s_put (&seed, "cookie nonce 016", 16);
    s_put_u8 (&seed, CL_HELLO); s_put_le (&seed, 2000, 2); s_put_u8 (&seed, 1);
    s_put_u8 (&seed, CL_COOKIE); s_put_u8 (&seed, 2); s_put (&seed, "cookie nonce 016", 16);
    s_put_u8 (&seed, 100); s_put_u8 (&seed, 1);
    s_save ("fuzz_client", "cookie-refusals", &seed);
}

/* fuzz_keyset: valid snapshots (empty, one and two entries) and updates
   (the next one, a revocation, one past a gap, one by another signer),
   under the target's administrator key (seed 0x5a...). */
static void
s_keyset_save (const char *name, uint8_t mode, uint8_t *data, size_t size)
{
    seed_t seed;
    s_start (&seed, mode);
    s_put (&seed, data, size);
    s_save ("fuzz_keyset", name, &seed);
    free (data);
}

/* One frame of a fuzz_keyset message: 2-byte big-endian length, bytes. */
static void
s_frame (seed_t *seed, const void *data, size_t size)
{
    s_put_u8 (seed, (uint8_t) (size >> 8));
    s_put_u8 (seed, (uint8_t) size);
    s_put (seed, data, size);
}

/* fuzz_keyset modes 2 and 3: the requests (a CHANGE carrying the next
   update after set) and the CHANGE replies, good and bad. */
static void
s_keyd_messages (const curvecp_keyset_t *set, const curvecp_keyset_entry_t *entry, const uint8_t *sk)
{
    seed_t seed;
    const char *commands[] = { "SUBSCRIBE", "SNAPSHOT" };
    for (int i = 0; i < 2; i++) {
        s_start (&seed, 2);
        s_frame (&seed, commands[i], strlen (commands[i]));
        s_save ("fuzz_keyset", i ? "request-snapshot" : "request-subscribe", &seed);
    }
    size_t size;
    uint8_t *update = curvecp_keyset_make_update (set, entry, sk, &size);
    s_start (&seed, 2);
    s_frame (&seed, "CHANGE", 6);
    s_frame (&seed, update, size);
    s_save ("fuzz_keyset", "request-change", &seed);
    s_frame (&seed, "x", 1);
    s_save ("fuzz_keyset", "request-change-trailing", &seed);
    free (update);
    const char *replies[][3] = { { "OK", "2", NULL }, { "REFUSED", "stale", "1" }, { "REFUSED", "ok", "1" },
                                 { "REFUSED", "frobnicated", "18446744073709551615" } };
    const char *names[] = { "reply-ok", "reply-stale", "reply-refused-ok", "reply-unknown-reason" };
    for (int i = 0; i < 4; i++) {
        s_start (&seed, 3);
        for (int j = 0; j < 3 && replies[i][j]; j++)
            s_frame (&seed, replies[i][j], strlen (replies[i][j]));
        s_save ("fuzz_keyset", names[i], &seed);
    }
}

static void
s_keyset (void)
{
    uint8_t pk[32], sk[64], other_pk[32], other_sk[64], seed[crypto_sign_SEEDBYTES];
    memset (seed, 0x5a, sizeof seed);
    crypto_sign_seed_keypair (pk, sk, seed);
    memset (seed, 0x33, sizeof seed);
    crypto_sign_seed_keypair (other_pk, other_sk, seed);
    curvecp_keyset_t *set = curvecp_keyset_new (pk);
    curvecp_keyset_t *other = curvecp_keyset_new (other_pk);
    curvecp_keyset_entry_t entry;
    memset (&entry, 0, sizeof entry);
    size_t size;
    s_keyset_save ("snapshot-empty", 0, curvecp_keyset_snapshot (set, &size), size);
    memset (entry.key, 0x11, sizeof entry.key);
    strcpy (entry.name, "alice");
    strcpy (entry.metadata, "team=ops");
    entry.added = 1700000000;
    uint8_t *update = curvecp_keyset_make_update (set, &entry, sk, &size);
    CHECK (curvecp_keyset_apply_update (set, update, size) == CURVECP_KEYSET_OK);
    free (update);
    s_keyset_save ("snapshot-one", 0, curvecp_keyset_snapshot (set, &size), size);
    curvecp_keyset_entry_t bob = entry;
    memset (bob.key, 0x22, sizeof bob.key);
    strcpy (bob.name, "bob");
    bob.metadata[0] = 0;
    s_keyset_save ("update-next", 1, curvecp_keyset_make_update (set, &bob, sk, &size), size);
    s_keyd_messages (set, &bob, sk);   /* its CHANGE carries that same next update */
    entry.revoked = true;
    s_keyset_save ("update-revoke", 1, curvecp_keyset_make_update (set, &entry, sk, &size), size);
    update = curvecp_keyset_make_update (set, &bob, sk, &size);
    CHECK (curvecp_keyset_apply_update (set, update, size) == CURVECP_KEYSET_OK);
    free (update);
    s_keyset_save ("snapshot-two", 0, curvecp_keyset_snapshot (set, &size), size);
    s_keyset_save ("update-gap", 1, curvecp_keyset_make_update (set, &entry, sk, &size), size);
    update = curvecp_keyset_make_update (other, &bob, other_sk, &size);
    CHECK (curvecp_keyset_apply_update (other, update, size) == CURVECP_KEYSET_OK);
    free (update);
    s_keyset_save ("update-other-signer", 1, curvecp_keyset_make_update (other, &bob, other_sk, &size), size);
    curvecp_keyset_destroy (&other);
    curvecp_keyset_destroy (&set);
}

int
main (int argc, char **argv)
{
    if (argc != 3) {
        fprintf (stderr, "usage: %s tests/vectors/packets.txt corpus-dir\n", argv[0]);
        return 1;
    }
    s_corpus = argv[2];
    if (mkdir (s_corpus, 0755) != 0 && errno != EEXIST) {
        fprintf (stderr, "make_seeds: mkdir %s: %s\n", s_corpus, strerror (errno));
        return 1;
    }
    const fuzz_world_t *w = fuzz_world ();
    packets_t p;
    s_read_packets (argv[1], &p);
    /* the stored vectors are what the code makes from the vector inputs */
    if (memcmp (p.hello, w->hello, sizeof p.hello) != 0 || memcmp (p.cookie, w->cookie, sizeof p.cookie) != 0) {
        fprintf (stderr, "make_seeds: %s differs from tests/vectors.h\n", argv[1]);
        return 1;
    }
    s_hello (w, &p);
    s_cookie (w, &p);
    s_initiate (w, &p);
    s_message_packets ("fuzz_server_message", p.server_message, p.server_message_len, w->server_msg);
    s_message_packets ("fuzz_client_message", p.client_message, p.client_message_len, w->client_msg);
    s_keys (w);
    s_message (w);
    s_stream (w);
    s_framing (w);
    s_server ();
    s_appframe (w);
    s_client ();
    s_keyset ();
    return 0;
}
