/*  helper_keytool - what test_nacl_keys.sh needs of our key code, as a
    command line:
        helper_keytool load KEYDIR
            load the key pair (checks the keys match), print the public
            key in hex; exit 0, or 1 with the reason on stderr
        helper_keytool nonces KEYDIR RESERVE COUNT
            take COUNT long-term nonces with reservations of RESERVE and
            print the counter inside each (TEA-decrypted), one per line  */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "curvecp_keys.h"
#include "curvecp_safenonce.h"

static int
s_load (const char *keydir)
{
    curvecp_keypair_t keys;
    curvecp_reason_t rc = curvecp_keydir_load (keydir, &keys);
    if (rc != CURVECP_OK) {
        fprintf (stderr, "helper_keytool: %s: %s\n", curvecp_reason_name (rc), curvecp_keys_error ());
        return 1;
    }
    char hex[2 * CURVECP_KEY_BYTES + 1];
    curvecp_key_to_hex (keys.public_key, hex);
    curvecp_keypair_wipe (&keys);
    printf ("%s\n", hex);
    return 0;
}

static int
s_nonces (const char *keydir, uint64_t reserve, uint64_t count)
{
    char path[4096];
    uint8_t noncekey[32];
    snprintf (path, sizeof path, "%s/.expertsonly/noncekey", keydir);
    curvecp_safenonce_t *source = curvecp_safenonce_new (keydir, reserve);
    if (!source || curvecp_keyfile_load (path, noncekey, sizeof noncekey) != CURVECP_OK) {
        fprintf (stderr, "helper_keytool: cannot use %s\n", keydir);
        return 1;
    }
    for (uint64_t i = 0; i < count; i++) {
        uint8_t nonce[16], block[16];
        curvecp_reason_t rc = curvecp_safenonce_next (source, nonce);
        if (rc != CURVECP_OK) {
            fprintf (stderr, "helper_keytool: %s\n", curvecp_reason_name (rc));
            return 1;
        }
        curvecp_tea64_decrypt (block, nonce, noncekey);
        uint64_t counter = 0;
        for (int b = 7; b >= 0; b--)
            counter = (counter << 8) | block[b];
        printf ("%" PRIu64 "\n", counter);
    }
    sodium_memzero (noncekey, sizeof noncekey);
    curvecp_safenonce_destroy (&source);
    return 0;
}

int
main (int argc, char **argv)
{
    if (sodium_init () < 0)
        return 1;
    if (argc == 3 && strcmp (argv[1], "load") == 0)
        return s_load (argv[2]);
    if (argc == 5 && strcmp (argv[1], "nonces") == 0)
        return s_nonces (argv[2], strtoull (argv[3], NULL, 10), strtoull (argv[4], NULL, 10));
    fprintf (stderr, "usage: helper_keytool load KEYDIR | nonces KEYDIR RESERVE COUNT\n");
    return 2;
}
