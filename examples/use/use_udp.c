/*  use_udp.c - the smallest program against libcurvecp (the core and the
    UDP carrier, libsodium only): one umbrella header, a key pair, a UDP
    server bound to an ephemeral port on 127.0.0.1, then everything freed
    and the key wiped. The README's "Using the library" builds it against
    an installed curvecp (tests/test_install.sh runs those very commands).
    examples/udp_echo.c is a complete server and client.

    Prints "linked MAJOR.MINOR.PATCH" and exits 0.                         */
#include <stdio.h>
#include <string.h>
#include <curvecp.h>

#if CURVECP_VERSION < CURVECP_MAKE_VERSION (0, 1, 0)
#error "needs curvecp 0.1.0 or later"
#endif

int main (void)
{
    curvecp_keypair_t keys;
    curvecp_keypair_generate (&keys);
    char hex [2 * CURVECP_KEY_BYTES + 1];
    curvecp_key_to_hex (keys.public_key, hex);

    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.keys = &keys;
    if (curvecp_udp_addr_parse ("127.0.0.1", 0, &config.bind) != CURVECP_OK)
        return 1;
    curvecp_udp_server_t *server = curvecp_udp_server_new (&config);
    if (!server || curvecp_udp_server_add_name (server, "use.example") != 0)
        return 2;
    fprintf (stderr, "use_udp: a UDP server with key %s\n", hex);
    curvecp_udp_server_destroy (&server);
    curvecp_keypair_wipe (&keys);
    if (server || strcmp (curvecp_reason_name (CURVECP_OK), "ok") != 0)
        return 3;
    printf ("linked %d.%d.%d\n", CURVECP_VERSION_MAJOR, CURVECP_VERSION_MINOR, CURVECP_VERSION_PATCH);
    return 0;
}
