/*  curvecp-demo - a short, readable run of the CurveCP core.

    Makes a server key directory and a client key pair, runs the handshake
    between a client and a server entirely in memory (no network: the core
    is sans-I/O, so the demo plays the network), carries a message in the
    Initiate and a reply in a Server Message, and prints what happened.   */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "curvecp_hs_client.h"
#include "curvecp_hs_server.h"
#include "curvecp_keys.h"
#include "curvecp_packet.h"

static const uint8_t no_ext[CURVECP_EXT_BYTES] = { 0 };

static void
show_packet (const char *arrow, const char *what, const uint8_t *packet, size_t len)
{
    printf ("  %s %-15s %4zu bytes  %.8s...\n", arrow, what, len, (const char *) packet);
}

static int
fail (const char *step, curvecp_reason_t rc)
{
    fprintf (stderr, "curvecp-demo: %s failed: %s\n", step, curvecp_reason_text (rc));
    return 1;
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    char keydir[] = "/tmp/curvecp-demo-XXXXXX";
    if (!mkdtemp (keydir))
        return 1;
    char server_dir[sizeof keydir + 16];
    snprintf (server_dir, sizeof server_dir, "%s/server", keydir);

    curvecp_keypair_t server_keys, client_keys;
    curvecp_reason_t rc = curvecp_keydir_create (server_dir, &server_keys);
    if (rc != CURVECP_OK)
        return fail ("making the server key directory", rc);
    curvecp_keypair_generate (&client_keys);
    char hex[65];
    curvecp_key_to_hex (server_keys.public_key, hex);
    printf ("server key directory %s, public key %s\n", server_dir, hex);
    curvecp_key_to_hex (client_keys.public_key, hex);
    printf ("client public key %s\n\n", hex);

    uint64_t now = 0;                     /* the demo's clock: the core only reads what it is given */
    curvecp_hs_server_t *server = curvecp_hs_server_new (&server_keys, no_ext, now);
    curvecp_hs_server_add_name (server, "demo.example.com");
    curvecp_hs_client_t *client = curvecp_hs_client_new (server_keys.public_key, "demo.example.com",
                                                         no_ext, no_ext, &client_keys);
    uint8_t hello[CURVECP_HELLO_BYTES], cookie[CURVECP_COOKIE_BYTES];
    uint8_t packet[CURVECP_PACKET_MAX], message[CURVECP_MSG_MAX], scratch[1024];
    size_t packet_len, message_len;
    curvecp_session_t client_session, server_session;
    curvecp_initiate_info_t info;

    printf ("handshake:\n");
    if ((rc = curvecp_hs_client_hello (client, now, hello, NULL)) != CURVECP_OK)
        return fail ("Hello", rc);
    show_packet ("C->S", "Hello", hello, sizeof hello);
    if ((rc = curvecp_hs_server_hello (server, hello, sizeof hello, now, cookie)) != CURVECP_OK)
        return fail ("Cookie", rc);
    show_packet ("S->C", "Cookie", cookie, sizeof cookie);
    if ((rc = curvecp_hs_client_cookie (client, cookie, sizeof cookie, &client_session)) != CURVECP_OK)
        return fail ("opening the Cookie", rc);

    uint8_t greeting[64] = "Hello, CurveCP server!";
    if ((rc = curvecp_session_seal (&client_session, greeting, sizeof greeting, packet, &packet_len)) != CURVECP_OK)
        return fail ("sealing the Initiate", rc);
    show_packet ("C->S", "Initiate", packet, packet_len);
    if ((rc = curvecp_hs_server_initiate (server, packet, packet_len, now, &server_session, scratch, &info))
        != CURVECP_OK)
        return fail ("opening the Initiate", rc);
    curvecp_key_to_hex (server_session.client_long_pk, hex);
    printf ("       server authenticated client %s\n", hex);
    printf ("       server read: \"%s\"\n", (const char *) info.message);

    uint8_t reply[64] = "Hello, client: your vouch checks out.";
    if ((rc = curvecp_session_seal (&server_session, reply, sizeof reply, packet, &packet_len)) != CURVECP_OK)
        return fail ("sealing the reply", rc);
    show_packet ("S->C", "Server Message", packet, packet_len);
    if ((rc = curvecp_session_open (&client_session, packet, packet_len, message, &message_len)) != CURVECP_OK)
        return fail ("opening the reply", rc);
    printf ("       client read: \"%s\"\n", (const char *) message);

    /* A replay of the same packet is refused and counted. */
    rc = curvecp_session_open (&client_session, packet, packet_len, message, &message_len);
    printf ("\nreplaying that Server Message: refused (%s), counted %llu time(s)\n",
            curvecp_reason_name (rc),
            (unsigned long long) client_session.stats.counts[CURVECP_E_REPLAYED_NONCE]);

    curvecp_hs_client_destroy (&client);
    curvecp_hs_server_destroy (&server);
    curvecp_keypair_wipe (&server_keys);
    curvecp_keypair_wipe (&client_keys);
    curvecp_session_wipe (&client_session);
    curvecp_session_wipe (&server_session);
    char cleanup[256];
    snprintf (cleanup, sizeof cleanup, "rm -rf '%s'", keydir);
    return system (cleanup) == 0 ? 0 : 1;
}
