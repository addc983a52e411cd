/*  gen_rfc_vectors - print the test-vector appendix of rfc/curvecp.md.

    The text between the "BEGIN VECTORS" and "END VECTORS" marker lines of
    rfc/curvecp.md is exactly this program's output; test_rfc_vectors.sh
    regenerates it and fails if the document differs, so the document
    cannot drift from the code. To rewrite the section after an intended
    change:  bash tests/test_rfc_vectors.sh <build> <source> --update

    Every value comes from the fixed inputs of vectors.h (the same ones as
    tests/vectors/packets.txt) pushed through the core's own encoders; the
    intermediate values an implementer needs to debug (shared keys, 24-byte
    nonces, box plaintexts) are printed too. Hex is 32 bytes a line in
    groups of four, with decimal offsets, so a reader can match bytes to
    the layouts of the packet section.                                   */
#include "vectors.h"
#include "curvecp_appframe.h"
#include "curvecp_message.h"
#include "curvecp_safenonce.h"
#include "curvecp_stream.h"
#include "zmq/curvecp_pubsub_wire.h"
#include "curvecp_keyset.h"

#define LINE_BYTES 32

/* ---- printing ---------------------------------------------------------- */

/* One value: a label line, then the bytes (offsets when over a line). */
static void
put_hex (const char *label, const uint8_t *data, size_t len)
{
    printf ("%s (%zu bytes):\n", label, len);
    for (size_t at = 0; at < len; at += LINE_BYTES) {
        if (len > LINE_BYTES)
            printf ("  %4zu ", at);
        else
            printf ("  ");
        for (size_t i = at; i < at + LINE_BYTES && i < len; i++)
            printf ("%s%02x", (i - at) % 4 == 0 ? " " : "", data[i]);
        printf ("\n");
    }
}

/* A 24-byte nonce: a comment line spelling out its ASCII prefix (a "#"
   line carries no value), then the bytes under the label "nonce". */
static void
put_nonce (const char *label, const uint8_t nonce[24], size_t prefix_len)
{
    printf ("# %s = \"%.*s\" || %zu bytes\n", label, (int) prefix_len, (const char *) nonce,
            24 - prefix_len);
    put_hex ("  nonce", nonce, 24);
}

static void
block_open (const char *title)
{
    printf ("%s\n\n```text\n", title);
}

static void
block_close (void)
{
    printf ("```\n\n");
}

/* ---- nonces as the packet code builds them ------------------------------ */

static void
nonce_counter (uint8_t nonce[24], const char prefix[16], uint64_t counter)
{
    memcpy (nonce, prefix, 16);
    vectors_put_u64 (nonce + 16, counter);
}

static void
nonce_long (uint8_t nonce[24], const char prefix[8], const uint8_t n16[16])
{
    memcpy (nonce, prefix, 8);
    memcpy (nonce + 8, n16, 16);
}

/* ---- the fixed inputs ---------------------------------------------------- */

typedef struct {
    uint8_t hello[32];      /* beforenm(S, c') = beforenm(C', s) */
    uint8_t vouch[32];      /* beforenm(S, c)  = beforenm(C, s)  */
    uint8_t session[32];    /* beforenm(S', c') = beforenm(C', s') */
} shared_keys_t;

static void
shared_keys (const vectors_input_t *in, shared_keys_t *keys)
{
    if (crypto_box_beforenm (keys->hello, in->S, in->cs) != 0
    ||  crypto_box_beforenm (keys->vouch, in->S, in->c) != 0
    ||  crypto_box_beforenm (keys->session, in->Ss, in->cs) != 0)
        abort ();
}

static void
print_keys (const vectors_input_t *in, const shared_keys_t *keys)
{
    printf ("### A.1 Keys\n\n"
            "Secret keys are counting byte patterns; each public key is the X25519\n"
            "base-point multiple of its secret key. A shared key is\n"
            "`crypto_box_beforenm` (HSalsa20 of the X25519 product, zero nonce).\n\n");
    block_open ("Long-term and short-term key pairs:");
    put_hex ("s   server long-term secret key", in->s, 32);
    put_hex ("S   server long-term public key", in->S, 32);
    put_hex ("c   client long-term secret key", in->c, 32);
    put_hex ("C   client long-term public key", in->C, 32);
    put_hex ("c'  client short-term secret key", in->cs, 32);
    put_hex ("C'  client short-term public key", in->Cs, 32);
    put_hex ("s'  server short-term secret key", in->ss, 32);
    put_hex ("S'  server short-term public key", in->Ss, 32);
    block_close ();
    block_open ("Shared keys:");
    put_hex ("K_hello   = beforenm(S, c') = beforenm(C', s)  (Hello and Cookie boxes)", keys->hello, 32);
    put_hex ("K_vouch   = beforenm(S, c)  = beforenm(C, s)   (vouch box)", keys->vouch, 32);
    put_hex ("K_session = beforenm(S', c') = beforenm(C', s') (Initiate and Message boxes)",
             keys->session, 32);
    block_close ();
}

static void
print_inputs (const vectors_input_t *in)
{
    printf ("### A.2 Other inputs\n\n"
            "The server name is `test.example.com`. The minute key is the server's\n"
            "current minute key when it makes the Cookie; any previous minute key\n"
            "is irrelevant to the bytes. The 8-byte counters are the values\n"
            "carried in the packets (the sender incremented its counter to them).\n\n");
    block_open ("Inputs:");
    put_hex ("server extension", in->server_ext, 16);
    put_hex ("client extension", in->client_ext, 16);
    put_hex ("minute key", in->minute_key, 32);
    put_hex ("N16  Cookie nonce (long-term, server)", in->cookie_nonce, 16);
    put_hex ("V16  vouch nonce (long-term, client)", in->vouch_nonce, 16);
    put_hex ("server name field for \"test.example.com\"", in->name, CURVECP_NAME_BYTES);
    printf ("Hello counter            %llu\n", (unsigned long long) in->hello_nonce);
    printf ("Initiate counter         %llu\n", (unsigned long long) in->initiate_nonce);
    printf ("Client Message counter   %llu\n", (unsigned long long) in->client_msg_nonce);
    printf ("Server Message counter   %llu\n", (unsigned long long) in->server_msg_nonce);
    block_close ();
}

/* NaCl's safenonce: counter || 8 random bytes, TEA-64 under the noncekey. */
static void
print_safenonce (void)
{
    uint8_t key[32], block[16], out[16], back[16];
    vectors_pattern (key, 32, 0xe1);
    printf ("### A.3 Long-term nonce generation\n\n"
            "The block cipher of section 4.2 (TEA on 64-bit words, 32 rounds), as a\n"
            "key directory's `.expertsonly/noncekey` encrypts the counters 0 and 1\n"
            "(each followed by 8 random bytes, here fixed) into 16-byte nonces.\n\n");
    block_open ("Nonce blocks:");
    put_hex ("noncekey", key, 32);
    for (uint64_t counter = 0; counter < 2; counter++) {
        vectors_put_u64 (block, counter);
        vectors_pattern (block + 8, 8, (uint8_t) (0xf1 + 8 * counter));
        curvecp_tea64_encrypt (out, block, key);
        curvecp_tea64_decrypt (back, out, key);
        if (memcmp (back, block, 16) != 0)
            abort ();
        printf ("counter %llu:\n", (unsigned long long) counter);
        put_hex ("  block = u64le(counter) || random", block, 16);
        put_hex ("  nonce = TEA64(noncekey, block)", out, 16);
    }
    block_close ();
}

/* ---- the five packets --------------------------------------------------- */

static void
print_hello (const vectors_input_t *in, const vectors_output_t *out)
{
    uint8_t nonce[24];
    nonce_counter (nonce, "CurveCP-client-H", in->hello_nonce);
    printf ("### A.4 Hello\n\n");
    block_open ("Box under K_hello of 64 zero bytes:");
    put_nonce ("Hello box nonce", nonce, 16);
    put_hex ("Hello packet", out->hello, sizeof out->hello);
    block_close ();
}

static void
print_cookie (const vectors_input_t *in, const vectors_output_t *out)
{
    uint8_t nonce[24], keys[64], inner[128];
    memcpy (keys, in->Cs, 32);
    memcpy (keys + 32, in->ss, 32);
    memcpy (inner, in->Ss, 32);
    memcpy (inner + 32, out->initiate + 72, CURVECP_COOKIE_K_BYTES);    /* K as the client echoes it */
    printf ("### A.5 Cookie\n\n");
    block_open ("The cookie K (secretbox under the minute key of C' || s'), then the Cookie box\n"
                "under K_hello of S' || K:");
    nonce_long (nonce, "minute-k", in->cookie_nonce);
    put_nonce ("cookie secretbox nonce", nonce, 8);
    put_hex ("secretbox plaintext C' || s'", keys, 64);
    put_hex ("K = N16 || secretbox", inner + 32, CURVECP_COOKIE_K_BYTES);
    nonce_long (nonce, "CurveCPK", in->cookie_nonce);
    put_nonce ("Cookie box nonce", nonce, 8);
    put_hex ("Cookie box plaintext S' || K", inner, 128);
    put_hex ("Cookie packet", out->cookie, sizeof out->cookie);
    block_close ();
    sodium_memzero (keys, sizeof keys);
}

static void
print_initiate (const vectors_input_t *in, const vectors_output_t *out)
{
    uint8_t nonce[24], inner[CURVECP_INITIATE_INNER_BASE + 192];
    memcpy (inner, in->C, 32);
    memcpy (inner + 32, in->vouch_nonce, 16);
    memcpy (inner + 48, out->vouch, CURVECP_VOUCH_BYTES);
    memcpy (inner + 96, in->name, CURVECP_NAME_BYTES);
    memcpy (inner + CURVECP_INITIATE_INNER_BASE, in->initiate_msg, 192);
    printf ("### A.6 Initiate\n\n"
            "The message M is the first message of the exchange in A.9 (192 bytes).\n\n");
    block_open ("The vouch (box under K_vouch of C'), then the Initiate box under K_session:");
    nonce_long (nonce, "CurveCPV", in->vouch_nonce);
    put_nonce ("vouch nonce", nonce, 8);
    put_hex ("vouch", out->vouch, CURVECP_VOUCH_BYTES);
    nonce_counter (nonce, "CurveCP-client-I", in->initiate_nonce);
    put_nonce ("Initiate box nonce", nonce, 16);
    put_hex ("Initiate box plaintext C || V16 || vouch || name || M", inner, sizeof inner);
    put_hex ("Initiate packet", out->initiate, out->initiate_len);
    block_close ();
}

static void
print_messages (const vectors_input_t *in, const vectors_output_t *out)
{
    uint8_t nonce[24];
    printf ("### A.7 Server Message\n\n");
    block_open ("Box under K_session of M (the second message of A.9):");
    nonce_counter (nonce, "CurveCP-server-M", in->server_msg_nonce);
    put_nonce ("Server Message box nonce", nonce, 16);
    put_hex ("M", in->server_msg, 192);
    put_hex ("Server Message packet", out->server_msg, out->server_msg_len);
    block_close ();
    printf ("### A.8 Client Message\n\n");
    block_open ("Box under K_session of M (the third message of A.9):");
    nonce_counter (nonce, "CurveCP-client-M", in->client_msg_nonce);
    put_nonce ("Client Message box nonce", nonce, 16);
    put_hex ("M", in->client_msg, 192);
    put_hex ("Client Message packet", out->client_msg, out->client_msg_len);
    block_close ();
}

/* ---- the message-layer exchange ------------------------------------------ */

typedef struct {
    bool from_client;
    bool initiate;              /* the client's first message rides in the Initiate */
    uint64_t counter;           /* packet nonce counter */
    const char *what;
    const char *events;         /* what the applications did before this message */
    curvecp_message_t message;
} step_t;

static step_t
data_step (bool from_client, uint64_t counter, uint32_t id, uint64_t position,
        const char *data, curvecp_eof_t eof, const char *what)
{
    step_t step = { .from_client = from_client, .counter = counter, .what = what };
    step.message.id = id;
    step.message.position = position;
    step.message.data = (const uint8_t *) data;
    step.message.data_len = (uint16_t) strlen (data);
    step.message.eof = eof;
    return step;
}

static step_t
ack_step (bool from_client, uint64_t counter, uint32_t acked_id, uint64_t range1_end, const char *what)
{
    step_t step = { .from_client = from_client, .counter = counter, .what = what };
    step.message.acked_id = acked_id;
    step.message.range1_end = range1_end;
    return step;
}

/* Decode what we encoded and print the fields, so the reader sees both. */
static void
print_fields (const uint8_t *m, size_t len)
{
    curvecp_message_t d;
    if (curvecp_message_decode (m, len, &d) != CURVECP_OK)
        abort ();
    static const char *eof_names[] = { "none", "success (2048)", "failure (4096)" };
    printf ("M fields: id %u, acknowledged id %u, range 1 = [0, %llu), D = %u, EOF %s, position %llu\n",
            d.id, d.acked_id, (unsigned long long) d.range1_end, d.data_len, eof_names[d.eof],
            (unsigned long long) d.position);
}

static void
seal_step (const vectors_input_t *in, const vectors_output_t *out, const shared_keys_t *keys,
        const step_t *step, const uint8_t *m, size_t len, uint8_t *packet, size_t *packet_len)
{
    curvecp_reason_t rc;
    if (step->initiate)
        rc = curvecp_initiate_encode (packet, packet_len, in->server_ext, in->client_ext, in->Cs,
                out->initiate + 72, step->counter, keys->session, in->C, in->vouch_nonce, out->vouch,
                in->name, m, len);
    else
    if (step->from_client)
        rc = curvecp_client_message_encode (packet, packet_len, in->server_ext, in->client_ext, in->Cs,
                step->counter, keys->session, m, len);
    else
        rc = curvecp_server_message_encode (packet, packet_len, in->client_ext, in->server_ext,
                step->counter, keys->session, m, len);
    if (rc != CURVECP_OK)
        abort ();
}

/* The packets of A.6-A.8 carry the first three steps: they must agree. */
static void
check_against_packets (const vectors_input_t *in, const vectors_output_t *out, int index,
        const uint8_t *m, const uint8_t *packet, size_t packet_len)
{
    const uint8_t *want_m[] = { in->initiate_msg, in->server_msg, in->client_msg };
    const uint8_t *want_p[] = { out->initiate, out->server_msg, out->client_msg };
    size_t want_len[] = { out->initiate_len, out->server_msg_len, out->client_msg_len };
    if (index > 2)
        return;
    if (memcmp (m, want_m[index], 192) != 0 || packet_len != want_len[index]
    ||  memcmp (packet, want_p[index], packet_len) != 0)
        abort ();
}

/* Our message layer itself must produce exactly these messages: two
   streams, one per side, play the exchange, and every message one of
   them produces is compared with the step's bytes. */
static void
expect_produced (curvecp_stream_t *stream, uint64_t now, const uint8_t *want, size_t want_len, int step)
{
    uint8_t m[CURVECP_MSG_MAX];
    size_t len = curvecp_stream_produce (stream, now, m, sizeof m);
    if (len != want_len || memcmp (m, want, len) != 0) {
        fprintf (stderr, "gen_rfc_vectors: the message layer does not produce step %d as printed\n", step);
        abort ();
    }
}

static curvecp_stream_t *
exchange_stream (bool is_client)
{
    curvecp_stream_config_t config;
    curvecp_stream_config_default (&config);
    config.is_client = is_client;
    config.pacing = CURVECP_PACING_WINDOW;
    curvecp_stream_t *stream = curvecp_stream_new (&config);
    if (!stream)
        abort ();
    return stream;
}

static void
expect_read (curvecp_stream_t *stream, const char *want)
{
    uint8_t got[64];
    size_t len = curvecp_stream_read (stream, got, sizeof got);
    if (len != strlen (want) || memcmp (got, want, len) != 0)
        abort ();
}

static void
play_exchange (uint8_t m[][CURVECP_MSG_MAX], const size_t *len)
{
    const uint64_t ms = 1000000;
    curvecp_stream_t *client = exchange_stream (true);
    curvecp_stream_t *server = exchange_stream (false);
    if (curvecp_stream_write (client, (const uint8_t *) "hello\n", 6) != 6)
        abort ();
    expect_produced (client, 1 * ms, m[0], len[0], 1);
    if (curvecp_stream_receive (server, m[0], len[0], 2 * ms) != CURVECP_OK)
        abort ();
    expect_produced (server, 2 * ms, m[1], len[1], 2);
    if (curvecp_stream_receive (client, m[1], len[1], 3 * ms) != CURVECP_OK
    ||  curvecp_stream_close (client, CURVECP_EOF_SUCCESS) != CURVECP_OK)
        abort ();
    expect_produced (client, 3 * ms, m[2], len[2], 3);
    if (curvecp_stream_receive (server, m[2], len[2], 4 * ms) != CURVECP_OK)
        abort ();
    expect_produced (server, 4 * ms, m[3], len[3], 4);
    if (curvecp_stream_write (server, (const uint8_t *) "HELLO\n", 6) != 6
    ||  curvecp_stream_close (server, CURVECP_EOF_SUCCESS) != CURVECP_OK)
        abort ();
    expect_produced (server, 5 * ms, m[4], len[4], 5);
    if (curvecp_stream_receive (client, m[4], len[4], 6 * ms) != CURVECP_OK)
        abort ();
    expect_produced (client, 6 * ms, m[5], len[5], 6);
    if (curvecp_stream_receive (server, m[5], len[5], 7 * ms) != CURVECP_OK)
        abort ();
    expect_read (server, "hello\n");
    expect_read (client, "HELLO\n");
    if (!curvecp_stream_done (client) || !curvecp_stream_done (server))
        abort ();
    curvecp_stream_destroy (&client);
    curvecp_stream_destroy (&server);
}

static void
print_exchange (const vectors_input_t *in, const vectors_output_t *out, const shared_keys_t *keys)
{
    step_t steps[] = {
        data_step (true, in->initiate_nonce, 1, 0, "hello\n", CURVECP_EOF_NONE,
                   "client: data \"hello\\n\" (ID 1) in the Initiate"),
        ack_step (false, in->server_msg_nonce, 1, 6, "server: acknowledges ID 1, bytes [0, 6)"),
        data_step (true, in->client_msg_nonce, 2, 6, "", CURVECP_EOF_SUCCESS,
                   "client: success EOF at position 6 (ID 2), a Client Message"),
        ack_step (false, in->server_msg_nonce + 1, 2, 7,
                  "server: acknowledges ID 2; range 1 ends at 7 = 6 + 1, the EOF"),
        data_step (false, in->server_msg_nonce + 2, 1, 0, "HELLO\n", CURVECP_EOF_SUCCESS,
                   "server: data \"HELLO\\n\" and its success EOF in one block (ID 1), "
                   "repeating range 1 = 7 as our sender does in every message"),
        ack_step (true, in->client_msg_nonce + 1, 1, 7,
                  "client: acknowledges ID 1: the 6 bytes and the EOF; both streams are done"),
    };
    steps[0].initiate = true;
    steps[4].message.range1_end = 7;        /* piggybacked (section 8.4) */
    /* the order of events play_exchange follows */
    steps[0].events = "the client has just opened the Cookie; its application writes \"hello\\n\" "
                      "and does not close yet";
    steps[1].events = "the server receives step 1 and owes an acknowledgement of ID 1; its "
                      "application has nothing to send";
    steps[2].events = "the client receives step 2 (ID 0: nothing owed); now its application "
                      "closes its stream";
    steps[3].events = "the server receives step 3 and owes an acknowledgement of ID 2; its "
                      "application has still written nothing";
    steps[4].events = "the server's application writes \"HELLO\\n\" and closes its stream; "
                      "nothing is owed, since step 4 paid for ID 2";
    steps[5].events = "the client receives step 5 and owes an acknowledgement of ID 1";
    printf ("### A.9 A message-layer exchange\n\n"
            "One connection, continuing A.4-A.8 with the same keys: the client sends\n"
            "\"hello\\n\" and ends its stream; the server answers \"HELLO\\n\" and ends\n"
            "its stream; each side acknowledges the other. Steps 1-3 are the packets\n"
            "of A.6-A.8. Each step shows M (encoded as section 8 says) and the packet\n"
            "that carries it under K_session with the given counter. Two instances of\n"
            "our message layer, playing this exchange, produce exactly these messages\n"
            "(the generator checks it). Over fds 8\n"
            "and 9 (section 10) each M would travel as the byte 0c (192 / 16)\n"
            "followed by M.\n\n");
    enum { STEPS = sizeof steps / sizeof steps[0] };
    uint8_t ms[STEPS][CURVECP_MSG_MAX];
    size_t lens[STEPS];
    for (size_t i = 0; i < STEPS; i++)
        if ((lens[i] = curvecp_message_encode (&steps[i].message, ms[i], sizeof ms[i])) == 0)
            abort ();
    play_exchange (ms, lens);
    for (size_t i = 0; i < STEPS; i++) {
        uint8_t packet[CURVECP_PACKET_MAX];
        size_t packet_len;
        const uint8_t *m = ms[i];
        size_t len = lens[i];
        seal_step (in, out, keys, &steps[i], m, len, packet, &packet_len);
        check_against_packets (in, out, (int) i, m, packet, packet_len);
        char title[256];
        snprintf (title, sizeof title, "Step %zu, %s, counter %llu. %s:", i + 1,
                  steps[i].initiate ? "Initiate" : steps[i].from_client ? "Client Message" : "Server Message",
                  (unsigned long long) steps[i].counter, steps[i].what);
        printf ("Before step %zu: %s.\n\n", i + 1, steps[i].events);
        block_open (title);
        print_fields (m, len);
        put_hex ("M", m, len);
        put_hex (steps[i].initiate ? "packet (as A.6)" : "packet", packet, packet_len);
        block_close ();
    }
}

/* A.10: selective acknowledgments as our receiver really produces them.
   Each receiver is one of our streams, fed the listed messages in order
   and then asked for its acknowledgment; the printed bytes are what it
   produced, checked against the fields the text states. */
typedef struct {
    uint32_t id;
    uint64_t position;
    uint32_t length;
    curvecp_eof_t eof;
} arrival_t;

static void
feed_arrivals (curvecp_stream_t *stream, const arrival_t *arrivals, size_t count)
{
    static const uint8_t zeros[CURVECP_MESSAGE_DATA_MAX];
    for (size_t i = 0; i < count; i++) {
        curvecp_message_t message = { .id = arrivals[i].id, .position = arrivals[i].position,
                                      .data = zeros, .data_len = arrivals[i].length,
                                      .eof = arrivals[i].eof };
        uint8_t m[CURVECP_MSG_MAX];
        size_t len = curvecp_message_encode (&message, m, sizeof m);
        if (len == 0 || curvecp_stream_receive (stream, m, len, 1000000 * (i + 1)) != CURVECP_OK)
            abort ();
    }
}

/* The stream's acknowledgment must carry exactly these fields. */
static size_t
produce_selective_ack (const arrival_t *arrivals, size_t count, uint32_t acked_id,
        const uint64_t *start, const uint64_t *end, int ranges, uint8_t *m)
{
    curvecp_stream_t *stream = exchange_stream (false);
    feed_arrivals (stream, arrivals, count);
    size_t len = curvecp_stream_produce (stream, 1000000 * (count + 1), m, CURVECP_MSG_MAX);
    if (curvecp_stream_produce (stream, 1000000 * (count + 1), m + len, CURVECP_MSG_MAX) != 0)
        abort ();               /* one acknowledgment pays for everything */
    curvecp_stream_destroy (&stream);
    curvecp_message_t d;
    uint64_t got_start[CURVECP_MESSAGE_RANGES], got_end[CURVECP_MESSAGE_RANGES];
    if (len != 192 || curvecp_message_decode (m, len, &d) != CURVECP_OK || d.id != 0 || d.data_len != 0
    ||  d.acked_id != acked_id || curvecp_message_ranges (&d, got_start, got_end) != ranges)
        abort ();
    for (int i = 0; i < ranges; i++)
        if (got_start[i] != start[i] || got_end[i] != end[i])
            abort ();
    return len;
}

static void
print_arrivals (const arrival_t *arrivals, size_t count)
{
    for (size_t i = 0; i < count; i++)
        printf ("received: id %u, bytes [%llu, %llu)%s\n", arrivals[i].id,
                (unsigned long long) arrivals[i].position,
                (unsigned long long) (arrivals[i].position + arrivals[i].length),
                arrivals[i].eof == CURVECP_EOF_SUCCESS ? ", success EOF" : "");
}

static void
print_selective_ack (void)
{
    /* before the EOF is known: a block above a hole is not named, and the
       top range stops a byte short of the highest byte received */
    const arrival_t open[] = {
        { 1, 0, 1024, CURVECP_EOF_NONE }, { 2, 1024, 1024, CURVECP_EOF_NONE },
        { 3, 2048, 1024, CURVECP_EOF_NONE }, { 4, 4096, 1024, CURVECP_EOF_NONE },
        { 9, 6144, 256, CURVECP_EOF_NONE }
    };
    const uint64_t open_start[] = { 0, 4096, 6144 }, open_end[] = { 3072, 5120, 6399 };
    /* the EOF known: the retransmission that completes range 1 is named,
       and the top range reaches the end of the stream */
    const arrival_t ended[] = {
        { 1, 0, 1024, CURVECP_EOF_NONE }, { 2, 1024, 1024, CURVECP_EOF_NONE },
        { 5, 4096, 1024, CURVECP_EOF_NONE }, { 7, 6144, 256, CURVECP_EOF_SUCCESS },
        { 9, 2048, 1024, CURVECP_EOF_NONE }
    };
    const uint64_t ended_start[] = { 0, 4096, 6144 }, ended_end[] = { 3072, 5120, 6400 };
    uint8_t m_open[2 * CURVECP_MSG_MAX], m_ended[2 * CURVECP_MSG_MAX];
    size_t len_open = produce_selective_ack (open, 5, 3, open_start, open_end, 3, m_open);
    size_t len_ended = produce_selective_ack (ended, 5, 9, ended_start, ended_end, 3, m_ended);
    printf ("### A.10 Selective acknowledgments\n\n"
            "Two receivers, each an instance of our message layer (section 8.5) fed\n"
            "the messages listed, in that order, and then asked for its\n"
            "acknowledgment: the bytes are what it produced (the generator checks\n"
            "the fields stated here). Each is a 192-byte pure acknowledgment (ID 0);\n"
            "unused ranges are zero.\n\n"
            "Before the EOF is known: blocks 1-3 fill [0, 3072), then [4096, 5120)\n"
            "and [6144, 6400) arrive above holes. ID 9 is not named, since its block\n"
            "does not lie inside range 1; the acknowledgment names ID 3, the latest\n"
            "message that qualified. Range 1 ends at 3072; range 2 follows a gap of\n"
            "1024 (u32) with size 1024; range 3 follows a gap of 1024 (u16) with size\n"
            "255, one byte short of the highest byte received, because the end of\n"
            "the stream is not known (8.5, step 4 of the ranges).\n\n");
    block_open ("Acknowledgment before the EOF is known:");
    print_arrivals (open, 5);
    put_hex ("M before the EOF is known", m_open, len_open);
    block_close ();
    printf ("With the EOF known: [6144, 6400) carried a success EOF (the stream is\n"
            "6400 bytes), and the last message to arrive, ID 9, is a retransmission\n"
            "of [2048, 3072) that completes range 1, so it is named. Range 3 now has\n"
            "size 256, up to the end of the stream; range 1 is still 3072 (not\n"
            "6401: bytes are missing).\n\n");
    block_open ("Acknowledgment with the EOF known:");
    print_arrivals (ended, 5);
    put_hex ("M", m_ended, len_ended);
    block_close ();
}

/* ---- the ØMQ application framing ------------------------------------------ */

/* The greeting and a two-frame message as the ØMQ carrier writes them
   (curvecp_appframe's own encoders), read back by its decoder, cut into
   a block by the message layer, and sealed as a Client Message. */
static size_t
zccp_stream (uint8_t *out)
{
    static const char *frames[2] = { "hello", "world" };
    size_t len = CURVECP_APPFRAME_GREETING;
    curvecp_appframe_greeting (out, 0);
    for (int i = 0; i < 2; i++) {
        len += curvecp_appframe_header (out + len, strlen (frames[i]), i == 0);
        memcpy (out + len, frames[i], strlen (frames[i]));
        len += strlen (frames[i]);
    }
    curvecp_appframe_t *decoder = curvecp_appframe_new (true, 0, 0);
    size_t used = 0;
    if (!decoder || curvecp_appframe_feed (decoder, out, len, &used) != CURVECP_OK || used != len)
        abort ();
    zmsg_t *msg = curvecp_appframe_take (decoder);
    if (!msg || zmsg_size (msg) != 2 || !zframe_streq (zmsg_first (msg), frames[0])
    ||  !zframe_streq (zmsg_next (msg), frames[1]))
        abort ();
    zmsg_destroy (&msg);
    curvecp_appframe_destroy (&decoder);
    return len;
}

static void
print_zmq (const vectors_input_t *in, const shared_keys_t *keys)
{
    uint8_t bytes[64], header[CURVECP_APPFRAME_HEADER_MAX], m[CURVECP_MSG_MAX];
    uint8_t packet[CURVECP_PACKET_MAX], nonce[24];
    size_t len = zccp_stream (bytes), packet_len;
    size_t header_len = curvecp_appframe_header (header, 300, false);
    curvecp_stream_t *client = exchange_stream (true);
    if (curvecp_stream_write (client, bytes, len) != len)
        abort ();
    size_t m_len = curvecp_stream_produce (client, 1000000, m, sizeof m);
    curvecp_stream_destroy (&client);
    const uint64_t counter = in->client_msg_nonce + 2;
    if (m_len != 192
    ||  curvecp_client_message_encode (packet, &packet_len, in->server_ext, in->client_ext, in->Cs,
                                       counter, keys->session, m, m_len) != CURVECP_OK)
        abort ();
    printf ("### A.11 ØMQ application framing\n\n"
            "The start of a client's stream on the ØMQ carrier (section 12.5): the\n"
            "greeting (version 1, options 0) and one message of two frames,\n"
            "\"hello\" (MORE set) and \"world\", both with 1-byte sizes. Our message\n"
            "layer carries these %zu bytes as the first block of the stream (ID 1,\n"
            "position 0). On a real connection the first message of the client's\n"
            "stream rides in its first Initiate (A.6 shows where M goes); here M is\n"
            "sealed as a Client Message with the keys and extensions of A.1-A.2 and\n"
            "counter %llu. A frame of 300 bytes would have the 9-byte header shown\n"
            "last (LONG set, size big-endian).\n\n",
            len, (unsigned long long) counter);
    block_open ("Greeting and message, the message-layer message, the packet:");
    put_hex ("stream bytes", bytes, len);
    print_fields (m, m_len);
    put_hex ("M", m, m_len);
    nonce_counter (nonce, "CurveCP-client-M", counter);
    put_nonce ("Client Message box nonce", nonce, 16);
    put_hex ("Client Message packet", packet, packet_len);
    put_hex ("header of a last frame of 300 bytes", header, header_len);
    block_close ();
}

/* ---- the extensions of section 8.8 ----------------------------------------- */

/* A stream of ours that takes and sends large blocks and announces a
   1 MiB window, as two of our codecs do once large blocks are agreed. */
static curvecp_stream_t *
wide_stream (void)
{
    curvecp_stream_config_t config;
    curvecp_stream_config_default (&config);
    config.pacing = CURVECP_PACING_WINDOW;
    config.receive_window = 1024 * 1024;
    config.block_max = CURVECP_MESSAGE_LARGE_DATA_MAX;
    curvecp_stream_t *stream = curvecp_stream_new (&config);
    if (!stream || curvecp_stream_set_send_block_max (stream, CURVECP_MESSAGE_LARGE_DATA_MAX) != CURVECP_OK)
        abort ();
    return stream;
}

static void
print_large (const vectors_input_t *in, const shared_keys_t *keys)
{
    enum { DATA = 1040 };
    static uint8_t data[DATA], m[CURVECP_LARGE_MSG_MAX], packet[CURVECP_LARGE_MSG_MAX + CURVECP_SERVER_MSG_BASE];
    uint8_t ack[CURVECP_MSG_MAX];
    vectors_pattern (data, DATA, 0x00);
    curvecp_stream_t *sender = wide_stream ();
    if (curvecp_stream_write (sender, data, DATA) != DATA)
        abort ();
    size_t len = curvecp_stream_produce (sender, 1000000, m, sizeof m);
    curvecp_stream_destroy (&sender);
    /* what a receiver that agreed reads, and what one that did not does */
    curvecp_message_t d, plain;
    if (len != 1104 || curvecp_message_decode_large (m, len, CURVECP_MESSAGE_LARGE_DATA_MAX, &d) != CURVECP_OK
    ||  d.id != 1 || d.data_len != DATA || d.position != 0 || memcmp (d.data, data, DATA) != 0
    ||  curvecp_message_window (m, len) != 1024 * 1024
    ||  curvecp_message_decode (m, len, &plain) != CURVECP_E_TOO_LONG)
        abort ();
    /* the same stream's receiver: a pure acknowledgment, in NaCl's form, tagged */
    curvecp_stream_t *receiver = wide_stream ();
    if (curvecp_stream_receive (receiver, m, len, 2000000) != CURVECP_OK)
        abort ();
    size_t ack_len = curvecp_stream_produce (receiver, 2000000, ack, sizeof ack);
    curvecp_stream_destroy (&receiver);
    if (ack_len != 192 || curvecp_message_decode (ack, ack_len, &plain) != CURVECP_OK
    ||  plain.acked_id != 1 || plain.range1_end != DATA || curvecp_message_window (ack, ack_len) != 1024 * 1024)
        abort ();
    const uint64_t counter = in->server_msg_nonce + 3;
    size_t packet_len;
    if (curvecp_server_message_encode_max (packet, &packet_len, CURVECP_LARGE_MSG_MAX, in->client_ext,
                                           in->server_ext, counter, keys->session, m, len) != CURVECP_OK)
        abort ();
    printf ("### A.12 A large block and the window tag\n\n"
            "Section 8.8, as two of our message layers send it once large blocks are\n"
            "agreed (12.6) and with a 1 MiB receive window: the first block of a\n"
            "stream, %d bytes (the counting pattern 00 01 02 ...), in the large form:\n"
            "0x2000 at offset 38, D as u32 at 48, zero at 52, the window tag \"cpW1\"\n"
            "and 1048576 (u32) at 56, no padding (64 + %d is a multiple of 16).\n"
            "Our plain decoder, for a peer that did not agree, refuses it (it is\n"
            "longer than 1088 bytes). Then the receiver's acknowledgment: NaCl's\n"
            "192-byte form, carrying the same tag in its padding. The Server Message\n"
            "uses the keys of A.1-A.2 and counter %llu; it is longer than the 1152\n"
            "bytes of section 5, as only the ØMQ option allows.\n\n",
            DATA, DATA, (unsigned long long) counter);
    block_open ("Large-block message, its Server Message, the tagged acknowledgment:");
    printf ("M fields: id %u, acknowledged id %u, range 1 = [0, %llu), D = %u (large form), "
            "EOF none, position %llu, window tag %u\n", d.id, d.acked_id,
            (unsigned long long) d.range1_end, d.data_len, (unsigned long long) d.position,
            curvecp_message_window (m, len));
    put_hex ("M", m, len);
    put_hex ("Server Message packet", packet, packet_len);
    printf ("acknowledgment fields: id %u, acknowledged id %u, range 1 = [0, %llu), D = 0, "
            "window tag %u\n", plain.id, plain.acked_id, (unsigned long long) plain.range1_end,
            curvecp_message_window (ack, ack_len));
    put_hex ("acknowledgment M", ack, ack_len);
    block_close ();
}

/* ---- secured publish-subscribe (section 17) ----------------------------------- */

/* One message of the batch plaintext: nframes, then len(4) bytes per frame. */
static size_t
plain_message (uint8_t *out, const char *const *frames, size_t nframes)
{
    size_t at = 0;
    out[at++] = (uint8_t) nframes;
    for (size_t i = 0; i < nframes; i++) {
        size_t n = strlen (frames[i]);
        out[at++] = 0; out[at++] = 0; out[at++] = (uint8_t) (n >> 8); out[at++] = (uint8_t) n;
        memcpy (out + at, frames[i], n);
        at += n;
    }
    return at;
}

static void
print_pubsub (void)
{
    uint8_t seed[32], sign_pk[32], sign_sk[64], master[32], key[32], nonce[24];
    vectors_pattern (seed, sizeof seed, 0x60);
    vectors_pattern (master, sizeof master, 0x80);
    vectors_pattern (nonce, sizeof nonce, 0xa0);
    crypto_sign_seed_keypair (sign_pk, sign_sk, seed);
    const char *channel = "weather.", *topic = "weather.paris";
    const uint64_t epoch = 0x0000000100000001ull, first_seq = 7;
    ps_channel_key (key, master, channel);
    /* KEYS: one channel */
    const char *prefixes[1] = { channel };
    uint8_t keys_body[128];
    size_t keys_len = ps_keys_encode (keys_body, sign_pk, epoch, 1, prefixes, (const uint8_t (*)[32]) &key);
    /* a batch of two messages: ["12 C"] and ["rain", ""] */
    static const char *const first[] = { "12 C" }, *const second[] = { "rain", "" };
    uint8_t plain[64];
    size_t plain_len = plain_message (plain, first, 1);
    plain_len += plain_message (plain + plain_len, second, 2);
    uint8_t batch[256], scratch[512];
    size_t topic_len = strlen (topic);
    if (ps_signed_size (topic_len, ps_batch_size (plain_len)) > sizeof scratch)
        abort ();
    size_t len = ps_batch_seal (batch, (const uint8_t *) topic, topic_len, (uint8_t) strlen (channel), epoch,
                                first_seq, 2, nonce, plain, plain_len, key, sign_sk, scratch);
    /* what a subscriber does with it */
    ps_batch_t parsed;
    uint8_t opened[64];
    ps_keys_t keys;
    if (len != ps_batch_size (plain_len) || ps_keys_parse (keys_body, keys_len, &keys) != PS_OK
    ||  ps_batch_parse (batch, len, topic_len, &parsed) != PS_OK
    ||  !ps_batch_verify (&parsed, (const uint8_t *) topic, topic_len, sign_pk, scratch)
    ||  !ps_batch_open (&parsed, (const uint8_t *) topic, topic_len, key, opened)
    ||  memcmp (opened, plain, plain_len) != 0 || !ps_plain_walk (opened, plain_len, 2, NULL, NULL))
        abort ();
    uint8_t ad[1 + PS_TOPIC_MAX + PS_HEADER_BYTES];
    ad[0] = (uint8_t) topic_len;
    memcpy (ad + 1, topic, topic_len);
    memcpy (ad + 1 + topic_len, batch, PS_HEADER_BYTES);
    printf ("### A.13 Secured publish-subscribe\n\n"
            "Section 17. The publisher's Ed25519 key pair comes from the seed below\n"
            "(libsodium's crypto_sign_seed_keypair; the secret key is seed || public\n"
            "key). The epoch master secret gives the key of channel \"%s\"\n"
            "(17.3: BLAKE2b-256 keyed with the master over \"CurveCP-PUBSUB-channel\"\n"
            "|| prefix), which the KEYS body carries for epoch %llu (17.4). Then a\n"
            "batch on topic \"%s\" (channel length %zu), first sequence number\n"
            "%llu, two messages: [\"12 C\"] and [\"rain\", \"\"] (17.5). The associated\n"
            "data of the seal is topic_len || topic || header; the signature covers\n"
            "\"CurveCP-PUBSUB-1\" || topic_len || topic || header || ciphertext. The\n"
            "batch frame is the PUB message's second frame; its first is the topic.\n\n",
            channel, (unsigned long long) epoch, topic, strlen (channel), (unsigned long long) first_seq);
    block_open ("Keys, KEYS body, plaintext, associated data, batch frame:");
    put_hex ("signing seed", seed, sizeof seed);
    put_hex ("signing public key", sign_pk, sizeof sign_pk);
    put_hex ("epoch master", master, sizeof master);
    put_hex ("channel key", key, sizeof key);
    put_hex ("KEYS body", keys_body, keys_len);
    put_hex ("plaintext", plain, plain_len);
    put_hex ("batch nonce", nonce, sizeof nonce);
    put_hex ("associated data", ad, 1 + topic_len + PS_HEADER_BYTES);
    put_hex ("batch frame", batch, len);
    block_close ();
    sodium_memzero (sign_sk, sizeof sign_sk);
}

/* A.14: the key service's set and updates (section 18), signed by an
   administrator key from a fixed seed (Ed25519 signatures are
   deterministic, so every byte is fixed). */
static void
put_keyset_update (curvecp_keyset_t *set, const curvecp_keyset_entry_t *entry, const uint8_t *admin_sk,
        const char *label)
{
    size_t size;
    uint8_t *update = curvecp_keyset_make_update (set, entry, admin_sk, &size);
    if (!update || curvecp_keyset_apply_update (set, update, size) != CURVECP_KEYSET_OK)
        abort ();
    put_hex (label, update, size);
    free (update);
    uint8_t *snapshot = curvecp_keyset_snapshot (set, &size);
    char snapshot_label[64];
    snprintf (snapshot_label, sizeof snapshot_label, "signed set at seq %llu",
              (unsigned long long) curvecp_keyset_seq (set));
    put_hex (snapshot_label, snapshot, size);
    free (snapshot);
}

static void
print_keyset (void)
{
    uint8_t seed[32], admin_pk[32], admin_sk[64];
    vectors_pattern (seed, sizeof seed, 0xc0);
    crypto_sign_seed_keypair (admin_pk, admin_sk, seed);
    curvecp_keyset_t *set = curvecp_keyset_new (admin_pk);
    curvecp_keyset_entry_t alice;
    memset (&alice, 0, sizeof alice);
    vectors_pattern (alice.key, sizeof alice.key, 0xe0);
    strcpy (alice.name, "alice");
    strcpy (alice.metadata, "team=ops\nhost=a1");
    alice.added = 1700000000;
    printf ("### A.14 Key service\n\n"
            "Section 18. The administrator's Ed25519 key pair comes from the seed\n"
            "below (crypto_sign_seed_keypair). From the empty set at sequence 0, the\n"
            "update that adds client key e0e1...ff as \"alice\" (metadata\n"
            "\"team=ops\" and \"host=a1\", added 1700000000), and the signed set it\n"
            "gives; then the update that revokes her, and the set at sequence 2.\n"
            "The empty set at sequence 0 is the set magic, eight zero bytes of\n"
            "sequence, four of count and 64 zero bytes of signature.\n\n");
    block_open ("Administrator key, updates and signed sets:");
    put_hex ("administrator seed", seed, sizeof seed);
    put_hex ("administrator public key", admin_pk, sizeof admin_pk);
    put_keyset_update (set, &alice, admin_sk, "update 1 (add alice)");
    alice.revoked = true;
    put_keyset_update (set, &alice, admin_sk, "update 2 (revoke alice)");
    block_close ();
    curvecp_keyset_destroy (&set);
    sodium_memzero (admin_sk, sizeof admin_sk);
    sodium_memzero (seed, sizeof seed);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    (void) vectors_write;           /* vectors.h's file writer is gen_vectors' business */
    vectors_input_t in;
    vectors_output_t out;
    shared_keys_t keys;
    vectors_input (&in);
    vectors_build (&in, &out);
    shared_keys (&in, &keys);
    print_keys (&in, &keys);
    print_inputs (&in);
    print_safenonce ();
    print_hello (&in, &out);
    print_cookie (&in, &out);
    print_initiate (&in, &out);
    print_messages (&in, &out);
    print_exchange (&in, &out, &keys);
    print_selective_ack ();
    print_zmq (&in, &keys);
    print_large (&in, &keys);
    print_pubsub ();
    print_keyset ();
    sodium_memzero (&keys, sizeof keys);
    return 0;
}
