/*  The packet vectors in tests/vectors/packets.txt are exactly what the code
    produces from the fixed inputs; the state machines accept them; and a
    change of any single byte of a packet (but the Hello's unchecked padding)
    makes it rejected.                                                     */
#include "testutil.h"
#include "vectors.h"
#include "curvecp_hs_server.h"

static char *
read_file (const char *path)
{
    FILE *f = fopen (path, "rb");
    CHECK (f);
    static char text[65536];
    size_t n = fread (text, 1, sizeof text - 1, f);
    fclose (f);
    text[n] = 0;
    return text;
}

static void
test_file_matches_code (void)
{
    char *made = NULL;
    size_t made_len = 0;
    FILE *mem = open_memstream (&made, &made_len);
    vectors_write (mem);
    fclose (mem);
    const char *src = getenv ("CURVECP_SRC");
    char path[4096];
    snprintf (path, sizeof path, "%s/tests/vectors/packets.txt", src ? src : "..");
    const char *stored = read_file (path);
    if (strcmp (made, stored) != 0) {
        fprintf (stderr, "tests/vectors/packets.txt differs from what the code produces;\n"
                         "if the change is intended: build/tests/gen_vectors > tests/vectors/packets.txt\n");
        exit (1);
    }
    free (made);
}

static curvecp_hs_server_t *
vector_server (const vectors_input_t *in)
{
    curvecp_keypair_t keys;
    memcpy (keys.secret_key, in->s, 32);
    memcpy (keys.public_key, in->S, 32);
    curvecp_hs_server_t *server = curvecp_hs_server_new (&keys, in->server_ext, 0, NULL);
    uint8_t previous[32] = { 0 };
    curvecp_hs_server_set_minute_keys (server, in->minute_key, previous, 0);
    CHECK_EQ (curvecp_hs_server_add_name (server, "test.example.com"), 0);
    return server;
}

static void
test_state_machines_accept (void)
{
    vectors_input_t in;
    vectors_output_t out;
    vectors_input (&in);
    vectors_build (&in, &out);
    curvecp_hs_server_t *server = vector_server (&in);
    uint8_t cookie[200], scratch[992], msg[1088];
    size_t msg_len;
    CHECK_EQ (curvecp_hs_server_hello (server, out.hello, 224, 0, cookie), CURVECP_OK);
    CHECK_MEM (cookie, "RL3aNMXK", 8);
    curvecp_session_t session;
    curvecp_initiate_info_t info;
    CHECK_EQ (curvecp_hs_server_initiate (server, out.initiate, out.initiate_len, 0, &session, scratch, &info),
              CURVECP_OK);
    CHECK_EQ (info.message_len, 192);
    CHECK_MEM (info.message, in.initiate_msg, 192);
    CHECK_MEM (session.client_long_pk, in.C, 32);
    CHECK_EQ (curvecp_session_open (&session, out.client_msg, out.client_msg_len, msg, &msg_len), CURVECP_OK);
    CHECK_MEM (msg, in.client_msg, 192);
    uint8_t shared[32];
    CHECK (crypto_box_beforenm (shared, in.Ss, in.cs) == 0);
    CHECK_EQ (curvecp_server_message_open (out.server_msg, out.server_msg_len, shared, msg, &msg_len), CURVECP_OK);
    CHECK_MEM (msg, in.server_msg, 192);
    curvecp_hs_server_destroy (&server);
}

/* Flip each byte in turn: the packet must be refused. */
static void
test_every_byte_matters (void)
{
    vectors_input_t in;
    vectors_output_t out;
    vectors_input (&in);
    vectors_build (&in, &out);
    curvecp_hs_server_t *server = vector_server (&in);
    uint8_t cookie[200], scratch[992];
    for (size_t i = 0; i < 224; i++) {
        if ((i >= 24 && i < 40) || (i >= 72 && i < 136))
            continue;                   /* client extension, padding: not authenticated */
        out.hello[i] ^= 0x20;
        CHECK (curvecp_hs_server_hello (server, out.hello, 224, 0, cookie) != CURVECP_OK);
        out.hello[i] ^= 0x20;
    }
    for (size_t i = 0; i < out.initiate_len; i++) {
        if (i >= 24 && i < 40)
            continue;                   /* client extension: not authenticated by CurveCP */
        curvecp_session_t session;
        curvecp_initiate_info_t info;
        out.initiate[i] ^= 0x20;
        CHECK (curvecp_hs_server_initiate (server, out.initiate, out.initiate_len, 0, &session, scratch, &info)
               != CURVECP_OK);
        out.initiate[i] ^= 0x20;
    }
    uint8_t shared[32], sk[32], pk[32], k[96], msg[1088];
    size_t msg_len;
    CHECK (crypto_box_beforenm (shared, in.S, in.cs) == 0);
    for (size_t i = 0; i < 200; i++) {
        out.cookie[i] ^= 0x20;
        CHECK (curvecp_cookie_open (out.cookie, 200, in.client_ext, in.server_ext, shared, pk, k) != CURVECP_OK);
        out.cookie[i] ^= 0x20;
    }
    CHECK (crypto_box_beforenm (sk, in.Ss, in.cs) == 0);
    for (size_t i = 0; i < out.server_msg_len; i++) {
        out.server_msg[i] ^= 0x20;
        curvecp_packet_type_t type;
        curvecp_reason_t rc = curvecp_packet_classify_at_client (out.server_msg, out.server_msg_len,
                                                                 in.client_ext, in.server_ext, &type);
        if (rc == CURVECP_OK)
            rc = curvecp_server_message_open (out.server_msg, out.server_msg_len, sk, msg, &msg_len);
        CHECK (rc != CURVECP_OK);
        out.server_msg[i] ^= 0x20;
    }
    curvecp_hs_server_destroy (&server);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_file_matches_code ();
    test_state_machines_accept ();
    test_every_byte_matters ();
    printf ("vector tests passed\n");
    return 0;
}
