/*  Authorisation on the ØMQ carrier: an allow-list directory of zcert
    public certificates (allowed, denied, reloaded after a change, junk
    skipped), and ZAP requests answered by a real zactor(zauth): address
    rules with mechanism "CURVECP", certificate rules with "CURVE". A
    denied client gets no session and learns it as a handshake failure. */
#include <sodium.h>
#include "testutil.h"
#include "curvecp_client.h"
#include "curvecp_server.h"
#include "test_zmq_echo_actor.h"

#define NAME "echo.example.com"

static char testdir[64];

static curvecp_client_t *
new_client (const curvecp_keypair_t *keys, const uint8_t *server_key, int port)
{
    curvecp_client_t *client = curvecp_client_new (keys, server_key, NAME);
    CHECK (client);
    curvecp_codec_options_t options;
    curvecp_codec_options_default (&options);
    options.handshake_timeout_ns = 1000000000ull;        /* denial shows after 1 s */
    curvecp_client_set_options (client, &options);
    curvecp_client_set_rcvtimeo (client, 5000);
    curvecp_client_set_linger (client, 0);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    CHECK_EQ (curvecp_client_connect (client, endpoint), 0);
    return client;
}

/* true if the client got its echo; false if it was refused (checked to
   be a handshake failure that says the Initiate went unanswered). */
static bool
try_echo (curvecp_client_t *client)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "knock");
    CHECK_EQ (curvecp_client_send (client, &msg), 0);
    zmsg_t *reply = curvecp_client_recv (client);
    if (!reply) {
        CHECK (curvecp_client_failed (client));
        CHECK_EQ (curvecp_client_failure (client), CURVECP_CODEC_HANDSHAKE_TIMEOUT);
        CHECK (strstr (curvecp_client_error (client), "never answered the Initiate"));
        return false;
    }
    CHECK_EQ (zmsg_size (reply), 3);
    zmsg_destroy (&reply);
    return true;
}

static void
save_public (const curvecp_keypair_t *keys, const char *name)
{
    zcert_t *cert = zcert_new_from (keys->public_key, keys->secret_key);
    char path[128];
    snprintf (path, sizeof path, "%s/%s", testdir, name);
    CHECK_EQ (zcert_save_public (cert, path), 0);
    zcert_destroy (&cert);
}

static zactor_t *
start_server (echo_args_t *args, const curvecp_keypair_t *sk, const char *allow, const char *zap,
              const char *mechanism)
{
    memset (args, 0, sizeof *args);
    args->keys = *sk;
    args->name = NAME;
    args->allow_directory = allow;
    args->zap_domain = zap;
    args->zap_mechanism = mechanism;
    snprintf (args->endpoint, sizeof args->endpoint, "tcp://127.0.0.1:*");
    zactor_t *actor = zactor_new (echo_actor, args);
    CHECK (actor && args->port > 0);
    return actor;
}

static void
test_allow_list (void)
{
    curvecp_keypair_t sk, a, b;
    curvecp_keypair_generate (&sk);
    curvecp_keypair_generate (&a);
    curvecp_keypair_generate (&b);
    save_public (&a, "alice.pub");
    char junk[128];
    snprintf (junk, sizeof junk, "%s/README", testdir);
    FILE *file = fopen (junk, "w");
    CHECK (file);
    fputs ("not a certificate\n", file);
    fclose (file);

    echo_args_t args;
    zactor_t *server = start_server (&args, &sk, testdir, NULL, NULL);
    curvecp_client_t *alice = new_client (&a, sk.public_key, args.port);
    curvecp_client_t *bob = new_client (&b, sk.public_key, args.port);
    CHECK (try_echo (alice));
    CHECK (!try_echo (bob));
    unsigned long long dropped, accepted, refused;
    size_t peers;
    echo_stats (server, &dropped, &peers, &accepted, &refused);
    CHECK_EQ (peers, 1);                 /* bob has no session */
    CHECK (refused >= 1);                /* his Initiates, as not-authorised */

    /* the list changes: bob is in from the next handshake */
    save_public (&b, "bob.pub");
    CHECK_EQ (curvecp_client_reconnect (bob), 0);
    CHECK (try_echo (bob));
    echo_stats (server, &dropped, &peers, &accepted, &refused);
    CHECK_EQ (peers, 2);

    /* and out again */
    char path[128];
    snprintf (path, sizeof path, "%s/bob.pub", testdir);
    CHECK_EQ (remove (path), 0);
    CHECK_EQ (curvecp_client_reconnect (bob), 0);
    CHECK (!try_echo (bob));
    printf ("allow-list: allowed, denied, reloaded after a change both ways\n");
    curvecp_client_destroy (&alice);
    curvecp_client_destroy (&bob);
    zactor_destroy (&server);
}

static void
test_zap_with_zauth (void)
{
    curvecp_keypair_t sk, a, b;
    curvecp_keypair_generate (&sk);
    curvecp_keypair_generate (&a);
    curvecp_keypair_generate (&b);
    echo_args_t args;

    /* mechanism CURVECP: zauth knows no key rules for it, so its address
       rules decide: nothing allowed by default, then 127.0.0.1 allowed */
    zactor_t *auth = zactor_new (zauth, NULL);
    CHECK (auth);
    zactor_t *server = start_server (&args, &sk, NULL, "global", NULL);
    curvecp_client_t *client = new_client (&a, sk.public_key, args.port);
    CHECK (!try_echo (client));
    zstr_sendx (auth, "ALLOW", "127.0.0.1", NULL);
    zsock_wait (auth);
    CHECK_EQ (curvecp_client_reconnect (client), 0);
    CHECK (try_echo (client));
    curvecp_client_destroy (&client);
    zactor_destroy (&server);
    zactor_destroy (&auth);

    /* a blacklisted address is denied */
    auth = zactor_new (zauth, NULL);
    zstr_sendx (auth, "DENY", "127.0.0.1", NULL);
    zsock_wait (auth);
    server = start_server (&args, &sk, NULL, "global", NULL);
    client = new_client (&a, sk.public_key, args.port);
    CHECK (!try_echo (client));
    curvecp_client_destroy (&client);
    zactor_destroy (&server);
    zactor_destroy (&auth);

    /* mechanism CURVE: zauth checks the key against its certificates */
    char certs[96];
    snprintf (certs, sizeof certs, "%s/zauth", testdir);
    CHECK_EQ (zsys_dir_create ("%s", certs), 0);
    zcert_t *cert = zcert_new_from (a.public_key, a.secret_key);
    char path[160];
    snprintf (path, sizeof path, "%s/alice.pub", certs);
    CHECK_EQ (zcert_save_public (cert, path), 0);
    zcert_destroy (&cert);
    auth = zactor_new (zauth, NULL);
    zstr_sendx (auth, "CURVE", certs, NULL);
    zsock_wait (auth);
    server = start_server (&args, &sk, NULL, "global", "CURVE");
    curvecp_client_t *alice = new_client (&a, sk.public_key, args.port);
    curvecp_client_t *bob = new_client (&b, sk.public_key, args.port);
    CHECK (try_echo (alice));
    CHECK (!try_echo (bob));
    curvecp_client_destroy (&alice);
    curvecp_client_destroy (&bob);
    zactor_destroy (&server);
    zactor_destroy (&auth);
    printf ("zap: zauth address rules (CURVECP) and certificate rules (CURVE) decide\n");
}

/* No ZAP handler at all: the request times out and the client is denied. */
static void
test_zap_without_handler (void)
{
    curvecp_keypair_t sk, a;
    curvecp_keypair_generate (&sk);
    curvecp_keypair_generate (&a);
    echo_args_t args;
    zactor_t *server = start_server (&args, &sk, NULL, "global", NULL);
    curvecp_client_t *client = new_client (&a, sk.public_key, args.port);
    CHECK (!try_echo (client));
    curvecp_client_destroy (&client);
    zactor_destroy (&server);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    zsys_init ();
    snprintf (testdir, sizeof testdir, "/tmp/test_zmq_auth.%d", (int) getpid ());
    CHECK_EQ (zsys_dir_create ("%s", testdir), 0);
    test_allow_list ();
    test_zap_with_zauth ();
    test_zap_without_handler ();
    zdir_t *dir = zdir_new (testdir, NULL);
    if (dir) {
        zdir_remove (dir, true);
        zdir_destroy (&dir);
    }
    printf ("test_zmq_auth: OK\n");
    return 0;
}
