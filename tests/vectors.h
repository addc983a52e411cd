/*  vectors.h - the known-answer vectors of every packet type.

    Fixed keys, nonces and minute key go in; every packet comes out as hex.
    gen_vectors prints this text into tests/vectors/packets.txt, and
    test_vectors checks that the code still produces exactly that file.
    Each line is "name hex". Inputs come first so that an independent
    implementation (tests/test_vectors_pynacl.py) can rebuild every packet. */
#ifndef CURVECP_VECTORS_H_INCLUDED
#define CURVECP_VECTORS_H_INCLUDED

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_packet.h"

typedef struct {
    uint8_t s[32], S[32], c[32], C[32], cs[32], Cs[32], ss[32], Ss[32];   /* long and short keys */
    uint8_t minute_key[32], server_ext[16], client_ext[16], cookie_nonce[16], vouch_nonce[16];
    uint8_t name[256];
    uint8_t initiate_msg[192], server_msg[192], client_msg[192];
    uint64_t hello_nonce, initiate_nonce, client_msg_nonce, server_msg_nonce;
} vectors_input_t;

static void
vectors_pattern (uint8_t *out, size_t len, uint8_t start)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t) (start + i);
}

static void
vectors_put_u64 (uint8_t *out, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t) (v >> (8 * i));
}

/* Message-layer messages (spec layout): data "hello\n" with ID 1, the
   server's ack of it, and the client's success EOF. */
static void
vectors_messages (vectors_input_t *in)
{
    memset (in->initiate_msg, 0, 192);
    in->initiate_msg[0] = 1;                         /* ID 1 */
    in->initiate_msg[38] = 6;                        /* D = 6 */
    memcpy (in->initiate_msg + 192 - 6, "hello\n", 6);
    memset (in->server_msg, 0, 192);
    in->server_msg[4] = 1;                           /* acknowledges ID 1 */
    vectors_put_u64 (in->server_msg + 8, 6);         /* range 1: bytes 0..5 */
    memset (in->client_msg, 0, 192);
    in->client_msg[0] = 2;                           /* ID 2 */
    in->client_msg[39] = 0x08;                       /* success EOF (2048), D = 0 */
    vectors_put_u64 (in->client_msg + 40, 6);        /* at position 6 */
}

static void
vectors_input (vectors_input_t *in)
{
    vectors_pattern (in->s, 32, 0x01);
    vectors_pattern (in->c, 32, 0x21);
    vectors_pattern (in->cs, 32, 0x41);
    vectors_pattern (in->ss, 32, 0x61);
    crypto_scalarmult_base (in->S, in->s);
    crypto_scalarmult_base (in->C, in->c);
    crypto_scalarmult_base (in->Cs, in->cs);
    crypto_scalarmult_base (in->Ss, in->ss);
    vectors_pattern (in->minute_key, 32, 0x81);
    vectors_pattern (in->server_ext, 16, 0xa1);
    vectors_pattern (in->client_ext, 16, 0xb1);
    vectors_pattern (in->cookie_nonce, 16, 0xc1);
    vectors_pattern (in->vouch_nonce, 16, 0xd1);
    curvecp_name_encode ("test.example.com", in->name);
    vectors_messages (in);
    in->hello_nonce = 1;
    in->initiate_nonce = 2;
    in->client_msg_nonce = 3;
    in->server_msg_nonce = 1;
}

static void
vectors_hex (FILE *out, const char *name, const uint8_t *data, size_t len)
{
    fprintf (out, "%s ", name);
    for (size_t i = 0; i < len; i++)
        fprintf (out, "%02x", data[i]);
    fprintf (out, "\n");
}

static void
vectors_u64 (FILE *out, const char *name, uint64_t v)
{
    fprintf (out, "%s %llu\n", name, (unsigned long long) v);
}

static void
vectors_write_inputs (FILE *out, const vectors_input_t *in)
{
    vectors_hex (out, "server_long_secret", in->s, 32);
    vectors_hex (out, "server_long_public", in->S, 32);
    vectors_hex (out, "client_long_secret", in->c, 32);
    vectors_hex (out, "client_long_public", in->C, 32);
    vectors_hex (out, "client_short_secret", in->cs, 32);
    vectors_hex (out, "client_short_public", in->Cs, 32);
    vectors_hex (out, "server_short_secret", in->ss, 32);
    vectors_hex (out, "server_short_public", in->Ss, 32);
    vectors_hex (out, "minute_key", in->minute_key, 32);
    vectors_hex (out, "server_extension", in->server_ext, 16);
    vectors_hex (out, "client_extension", in->client_ext, 16);
    vectors_hex (out, "cookie_nonce16", in->cookie_nonce, 16);
    vectors_hex (out, "vouch_nonce16", in->vouch_nonce, 16);
    vectors_hex (out, "server_name_field", in->name, 256);
    vectors_u64 (out, "hello_nonce", in->hello_nonce);
    vectors_u64 (out, "initiate_nonce", in->initiate_nonce);
    vectors_u64 (out, "client_message_nonce", in->client_msg_nonce);
    vectors_u64 (out, "server_message_nonce", in->server_msg_nonce);
    vectors_hex (out, "initiate_message", in->initiate_msg, 192);
    vectors_hex (out, "server_message_message", in->server_msg, 192);
    vectors_hex (out, "client_message_message", in->client_msg, 192);
}

/* The packets, built with the core's encoders from the inputs. */
typedef struct {
    uint8_t hello[CURVECP_HELLO_BYTES], cookie[CURVECP_COOKIE_BYTES], vouch[CURVECP_VOUCH_BYTES];
    uint8_t initiate[CURVECP_PACKET_MAX], server_msg[CURVECP_PACKET_MAX], client_msg[CURVECP_PACKET_MAX];
    size_t initiate_len, server_msg_len, client_msg_len;
} vectors_output_t;

static void
vectors_build (const vectors_input_t *in, vectors_output_t *out)
{
    uint8_t hello_shared[32], vouch_shared[32], session_shared[32], server_short_pk[32], k[96];
    if (crypto_box_beforenm (hello_shared, in->S, in->cs) != 0
    ||  crypto_box_beforenm (vouch_shared, in->S, in->c) != 0
    ||  crypto_box_beforenm (session_shared, in->Ss, in->cs) != 0)
        abort ();
    curvecp_hello_encode (out->hello, in->server_ext, in->client_ext, in->Cs, hello_shared, in->hello_nonce);
    curvecp_cookie_encode (out->cookie, in->client_ext, in->server_ext, in->cookie_nonce, in->Ss, in->ss,
                           in->Cs, in->minute_key, hello_shared);
    curvecp_cookie_open (out->cookie, sizeof out->cookie, in->client_ext, in->server_ext, hello_shared,
                         server_short_pk, k);
    curvecp_vouch_encode (out->vouch, in->vouch_nonce, in->Cs, vouch_shared);
    curvecp_initiate_encode (out->initiate, &out->initiate_len, in->server_ext, in->client_ext, in->Cs, k,
                             in->initiate_nonce, session_shared, in->C, in->vouch_nonce, out->vouch,
                             in->name, in->initiate_msg, 192);
    curvecp_server_message_encode (out->server_msg, &out->server_msg_len, in->client_ext, in->server_ext,
                                   in->server_msg_nonce, session_shared, in->server_msg, 192);
    curvecp_client_message_encode (out->client_msg, &out->client_msg_len, in->server_ext, in->client_ext,
                                   in->Cs, in->client_msg_nonce, session_shared, in->client_msg, 192);
}

static void
vectors_write (FILE *out)
{
    vectors_input_t in;
    vectors_output_t pk;
    vectors_input (&in);
    vectors_build (&in, &pk);
    fprintf (out, "# CurveCP packet test vectors: inputs, then packets (hex). "
                  "Generated by gen_vectors; checked by test_vectors.\n");
    vectors_write_inputs (out, &in);
    vectors_hex (out, "hello_packet", pk.hello, sizeof pk.hello);
    vectors_hex (out, "cookie_packet", pk.cookie, sizeof pk.cookie);
    vectors_hex (out, "vouch", pk.vouch, sizeof pk.vouch);
    vectors_hex (out, "initiate_packet", pk.initiate, pk.initiate_len);
    vectors_hex (out, "server_message_packet", pk.server_msg, pk.server_msg_len);
    vectors_hex (out, "client_message_packet", pk.client_msg, pk.client_msg_len);
}
#endif
