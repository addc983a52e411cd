/*  curvecp_adminkey.h - the key service administrator's Ed25519 key files
    for the tools (curvecp-keys, curvecp-keyd, curvecp-server -K):
        ADMINKEY      the secret key, 128 hex digits and a newline, 0600
        ADMINKEY.pub  the public key, 64 hex digits and a newline
    A public key argument is 64 hex digits or a file holding them (a .pub
    file, or the secret file itself: its public half).                  */
#ifndef CURVECP_ADMINKEY_H_INCLUDED
#define CURVECP_ADMINKEY_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

/* Make a new pair in path and path.pub (refuses an existing path). The
   public key goes to public_key. 0, or -1 with errno. */
int curvecp_adminkey_create (const char *path, uint8_t public_key[32]);
/* Load the secret key (64 bytes) from path. 0 or -1. */
int curvecp_adminkey_load_secret (const char *path, uint8_t secret_key[64]);
/* A public key: 64 hex digits, or a file with them (or a secret file). */
int curvecp_adminkey_load_public (const char *arg, uint8_t public_key[32]);

#endif
