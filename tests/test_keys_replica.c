/*  The key service and its replicas, end to end on loopback:
    - curvecp_keyd takes only the administrator's signed changes in
      sequence (another signer, a gap: refused, counted, seq unchanged);
    - a replica follows it (snapshot, then updates) and persists the set;
    - a ØMQ server and a UDP server use the replica as their live
      allow-list: after a revocation, the revoked client's next handshake
      is refused by both, and the replica had the revocation within 1 s;
    - a rogue service that pushes a forged update or one past a gap never
      changes a replica (counted; the gap makes it take a new snapshot);
    - a replica that loses the service says so (live false) and keeps
      serving its last signed set; one started from its state file alone
      serves that set; when the service is back it is live again.      */
#include <sodium.h>
#include <czmq.h>
#include <unistd.h>
#include "testutil.h"
#include "test_zmq_echo_actor.h"
#include "test_udp_util.h"
#include "curvecp_keyd.h"
#include "curvecp_keys_replica.h"
#include "curvecp_keyd_proto.h"

static uint8_t admin_pk[32], admin_sk[64], other_pk[32], other_sk[64];
static curvecp_keypair_t keyd_keys, alice, bob, carol;
static char dir[] = "/tmp/test_keys_replica_XXXXXX";
static char keyd_state[128], replica_state[128], endpoint[64];

static curvecp_zmq_client_t *
admin_client (void)
{
    curvecp_zmq_client_t *client = curvecp_zmq_client_new (NULL, keyd_keys.public_key, CURVECP_KEYD_DEFAULT_NAME);
    CHECK (client && curvecp_zmq_client_connect (client, endpoint) == 0);
    return client;
}

static curvecp_keyset_entry_t
entry_for (const curvecp_keypair_t *keys, const char *name, bool revoked)
{
    curvecp_keyset_entry_t entry;
    memset (&entry, 0, sizeof entry);
    memcpy (entry.key, keys->public_key, 32);
    snprintf (entry.name, sizeof entry.name, "%s", name);
    entry.added = (uint64_t) time (NULL);
    entry.revoked = revoked;
    return entry;
}

/* The administrator's change, made against the service's current set. */
static curvecp_keyset_result_t
change (curvecp_zmq_client_t *client, const curvecp_keyset_entry_t *entry, const uint8_t *sk, int64_t seq_delta)
{
    curvecp_keyset_t *set = curvecp_keyd_fetch (client, admin_pk, 5000);
    CHECK (set);
    curvecp_keyset_t *basis = curvecp_keyset_dup (set);
    /* a gap: build the update as if seq_delta - 1 changes came between */
    for (int64_t i = 1; i < seq_delta; i++) {
        curvecp_keyset_entry_t filler = entry_for (&carol, "filler", true);
        size_t size;
        uint8_t *update = curvecp_keyset_make_update (basis, &filler, admin_sk, &size);
        CHECK (curvecp_keyset_apply_update (basis, update, size) == CURVECP_KEYSET_OK);
        free (update);
    }
    curvecp_keyset_t *signer = basis;
    curvecp_keyset_t *other = NULL;
    if (sk == other_sk) {               /* the same set, trusting another key */
        other = curvecp_keyset_new (other_pk);
        size_t size;
        signer = other;
        /* bring other to the same seq with its own signatures */
        for (uint64_t i = 0; i < curvecp_keyset_seq (basis); i++) {
            curvecp_keyset_entry_t filler = entry_for (&carol, "filler", true);
            uint8_t *update = curvecp_keyset_make_update (other, &filler, other_sk, &size);
            CHECK (curvecp_keyset_apply_update (other, update, size) == CURVECP_KEYSET_OK);
            free (update);
        }
    }
    size_t size;
    uint8_t *update = curvecp_keyset_make_update (signer, entry, sk, &size);
    CHECK (update);
    uint64_t seq = 0;
    curvecp_keyset_result_t result = curvecp_keyd_change (client, update, size, 5000, &seq);
    free (update);
    curvecp_keyset_destroy (&other);
    curvecp_keyset_destroy (&basis);
    curvecp_keyset_destroy (&set);
    return result;
}

static curvecp_keyd_t *
start_keyd (void)
{
    curvecp_keyd_t *keyd = curvecp_keyd_new (&keyd_keys, CURVECP_KEYD_DEFAULT_NAME, admin_pk, keyd_state);
    CHECK (keyd);
    curvecp_keyd_set_log (keyd, stderr);
    int rc = curvecp_keyd_bind (keyd, endpoint);
    for (int tries = 0; rc < 0 && tries < 100; tries++) {       /* the old one's socket may linger */
        zclock_sleep (20);
        rc = curvecp_keyd_bind (keyd, endpoint);
    }
    CHECK (rc >= 0);
    CHECK (curvecp_keyd_start (keyd) == 0);
    return keyd;
}

static curvecp_keys_replica_t *
start_replica (const char *state, int lost_after_ms)
{
    curvecp_keys_replica_config_t config;
    memset (&config, 0, sizeof config);
    config.endpoint = endpoint;
    memcpy (config.keyd_key, keyd_keys.public_key, 32);
    memcpy (config.admin_key, admin_pk, 32);
    config.state_file = state;
    config.lost_after_ms = lost_after_ms;
    config.log = stderr;
    curvecp_keys_replica_t *replica = curvecp_keys_replica_new (&config);
    CHECK (replica);
    return replica;
}

/* ---- the carriers ------------------------------------------------------------ */

/* Does the ØMQ echo server answer a client with these keys? */
static bool
zmq_answers (const echo_args_t *args, const curvecp_keypair_t *keys)
{
    curvecp_zmq_client_t *client = curvecp_zmq_client_new (keys, args->keys.public_key, "test.example");
    char ep[64];
    snprintf (ep, sizeof ep, "tcp://127.0.0.1:%d", args->port);
    CHECK (client && curvecp_zmq_client_connect (client, ep) == 0);
    curvecp_zmq_client_set_linger (client, 0);
    curvecp_zmq_client_set_rcvtimeo (client, 1500);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "ping");
    CHECK (curvecp_zmq_client_send (client, &msg) == 0);
    zmsg_t *reply = curvecp_zmq_client_recv (client);
    bool answered = reply != NULL;
    zmsg_destroy (&reply);
    curvecp_zmq_client_destroy (&client);
    return answered;
}

/* Does the UDP server make a connection for a client with these keys?
   true when it did, false when it refused the Initiate [not-authorised]. */
static bool
udp_admits (fixture_t *f, const curvecp_keypair_t *keys)
{
    uint64_t made = curvecp_udp_server_info (f->server)->connections;
    uint64_t refused = curvecp_udp_server_stats (f->server)->counts[CURVECP_E_NOT_AUTHORISED];
    curvecp_udp_client_config_t config;
    client_config (f, &config);
    config.long_term = keys;
    curvecp_udp_client_t *client = curvecp_udp_client_new (&config, curvecp_clock_now ());
    CHECK (client);
    CHECK (curvecp_udp_conn_send (curvecp_udp_client_conn (client), (const uint8_t *) "ping", 4) == 4);
    uint64_t start = curvecp_clock_now ();
    bool admitted = false, refusal = false;
    while (!admitted && !refusal) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        step (f, client);
        admitted = curvecp_udp_server_info (f->server)->connections > made;
        refusal = curvecp_udp_server_stats (f->server)->counts[CURVECP_E_NOT_AUTHORISED] > refused;
    }
    curvecp_udp_client_destroy (&client);
    for (int i = 0; i < 5; i++)         /* let the server see the client go */
        step (f, NULL);
    return admitted;
}

/* ---- the tests ------------------------------------------------------------------ */

static void
test_live_allow_list (void)
{
    curvecp_keyd_t *keyd = start_keyd ();
    curvecp_zmq_client_t *admin = admin_client ();
    curvecp_keyset_entry_t a = entry_for (&alice, "alice", false), b = entry_for (&bob, "bob", false);
    CHECK (change (admin, &a, admin_sk, 1) == CURVECP_KEYSET_OK);
    CHECK (change (admin, &b, admin_sk, 1) == CURVECP_KEYSET_OK);
    CHECK (curvecp_keyd_seq (keyd) == 2);

    /* bad changes: another signer, a gap; refused, counted, nothing changes */
    curvecp_keyset_entry_t c = entry_for (&carol, "carol", false);
    CHECK (change (admin, &c, other_sk, 1) == CURVECP_KEYSET_BAD_SIGNATURE);
    CHECK (change (admin, &c, admin_sk, 2) == CURVECP_KEYSET_GAP);
    CHECK (curvecp_keyd_seq (keyd) == 2);
    curvecp_keyset_stats_t stats = curvecp_keyd_stats (keyd);
    CHECK (stats.counts[CURVECP_KEYSET_BAD_SIGNATURE] == 1 && stats.counts[CURVECP_KEYSET_GAP] == 1);

    curvecp_keys_replica_t *replica = start_replica (replica_state, 1500);
    CHECK (curvecp_keys_replica_wait (replica, 2, true, 5000));
    CHECK (curvecp_keys_replica_allowed (replica, alice.public_key));
    CHECK (!curvecp_keys_replica_allowed (replica, carol.public_key));
    uint8_t found[32];
    CHECK (curvecp_keys_replica_lookup (replica, "bob", found) == 0 && memcmp (found, bob.public_key, 32) == 0);
    CHECK (curvecp_keys_replica_lookup (replica, "carol", found) == -1);

    /* both carriers with the replica as their allow-list */
    echo_args_t args;
    memset (&args, 0, sizeof args);
    curvecp_keypair_generate (&args.keys);
    args.name = "test.example";
    snprintf (args.endpoint, sizeof args.endpoint, "tcp://127.0.0.1:*");
    args.authoriser = curvecp_keys_replica_authorise;
    args.authoriser_arg = replica;
    zactor_t *echo = zactor_new (echo_actor, &args);
    CHECK (echo && args.port > 0);
    fixture_t udp;
    memset (&udp, 0, sizeof udp);
    curvecp_udp_server_config_t udp_config;
    curvecp_udp_server_config_default (&udp_config);
    udp_config.authorise = curvecp_keys_replica_authorise;
    udp_config.authorise_arg = replica;
    fixture_start_with (&udp, &udp_config, "127.0.0.1");

    CHECK (zmq_answers (&args, &alice));
    CHECK (zmq_answers (&args, &bob));
    CHECK (!zmq_answers (&args, &carol));
    CHECK (udp_admits (&udp, &alice));
    CHECK (!udp_admits (&udp, &carol));

    /* revoke alice: the replica has it within 1 s; both servers refuse her */
    curvecp_keyset_entry_t a_revoked = a;
    a_revoked.revoked = true;
    CHECK (change (admin, &a_revoked, admin_sk, 1) == CURVECP_KEYSET_OK);
    int64_t revoked_at = zclock_mono ();
    CHECK (curvecp_keys_replica_wait (replica, 3, true, 1000));
    int64_t took = zclock_mono () - revoked_at;
    printf ("revocation reached the replica in %lld ms\n", (long long) took);
    CHECK (took < 1000);
    curvecp_keys_replica_stats_t rs = curvecp_keys_replica_stats (replica);
    printf ("replica: snapshots %llu updates %llu published %llu resyncs %llu\n", (unsigned long long) rs.snapshots, (unsigned long long) rs.updates, (unsigned long long) rs.published, (unsigned long long) rs.resyncs);
    CHECK (rs.published >= 1);     /* it came over the PUB-SUB */
    CHECK (!curvecp_keys_replica_allowed (replica, alice.public_key));
    CHECK (!zmq_answers (&args, &alice));
    CHECK (!udp_admits (&udp, &alice));
    CHECK (zmq_answers (&args, &bob));
    CHECK (udp_admits (&udp, &bob));
    unsigned long long dropped, accepted, refused;
    size_t peers;
    echo_stats (echo, &dropped, &peers, &accepted, &refused);
    CHECK (refused >= 2);               /* carol, then alice */

    /* the replica saved the signed set: a copy from the file alone has it */
    curvecp_keyset_t *saved = curvecp_keyset_new (admin_pk);
    CHECK (curvecp_keyset_load_file (saved, replica_state) == 0 && curvecp_keyset_seq (saved) == 3);
    curvecp_keyset_destroy (&saved);

    /* losing the service: live false, the last set still served */
    curvecp_zmq_client_destroy (&admin);
    curvecp_keyd_destroy (&keyd);
    int64_t lost_wait = zclock_mono ();
    while (curvecp_keys_replica_live (replica) && zclock_mono () - lost_wait < 5000)
        zclock_sleep (20);
    CHECK (!curvecp_keys_replica_live (replica));
    CHECK (curvecp_keys_replica_stats (replica).losses >= 1);
    CHECK (curvecp_keys_replica_allowed (replica, bob.public_key));
    CHECK (!curvecp_keys_replica_allowed (replica, alice.public_key));

    /* a replica started from its file with no service serves that set */
    curvecp_keys_replica_t *cold = start_replica (replica_state, 1500);
    CHECK (curvecp_keys_replica_seq (cold) == 3 && !curvecp_keys_replica_live (cold));
    CHECK (curvecp_keys_replica_allowed (cold, bob.public_key));
    /* the service comes back: live again, and the next change arrives */
    keyd = start_keyd ();
    CHECK (curvecp_keyd_seq (keyd) == 3);
    CHECK (curvecp_keys_replica_wait (replica, 3, true, 5000));
    CHECK (curvecp_keys_replica_wait (cold, 3, true, 5000));
    admin = admin_client ();
    CHECK (change (admin, &c, admin_sk, 1) == CURVECP_KEYSET_OK);
    CHECK (curvecp_keys_replica_wait (replica, 4, true, 2000));
    CHECK (curvecp_keys_replica_wait (cold, 4, true, 2000));
    CHECK (curvecp_keys_replica_allowed (cold, carol.public_key));

    zactor_destroy (&echo);
    curvecp_udp_server_destroy (&udp.server);
    curvecp_keys_replica_destroy (&cold);
    curvecp_keys_replica_destroy (&replica);
    curvecp_zmq_client_destroy (&admin);
    curvecp_keyd_destroy (&keyd);
}

/* A service that sends whatever it is told (on the session: it names no
   publisher, so the replica asks for updates there): a valid snapshot at seq 1,
   then a forged update (another signer) at seq 2, then a valid update at
   seq 3 (a gap). The replica stays at 1, counts both, and answers the gap
   with a new SUBSCRIBE. */
static void
test_rogue_service (void)
{
    curvecp_zmq_server_t *rogue = curvecp_zmq_server_new (&keyd_keys, CURVECP_KEYD_DEFAULT_NAME);
    CHECK (rogue);
    int port = curvecp_zmq_server_bind (rogue, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    curvecp_keyset_t *set = curvecp_keyset_new (admin_pk), *forger = curvecp_keyset_new (other_pk);
    curvecp_keyset_entry_t a = entry_for (&alice, "alice", false), b = entry_for (&bob, "bob", false);
    size_t size;
    uint8_t *update = curvecp_keyset_make_update (set, &a, admin_sk, &size);
    CHECK (curvecp_keyset_apply_update (set, update, size) == CURVECP_KEYSET_OK);
    free (update);
    update = curvecp_keyset_make_update (forger, &a, other_sk, &size);
    CHECK (curvecp_keyset_apply_update (forger, update, size) == CURVECP_KEYSET_OK);
    free (update);
    uint8_t *forged = curvecp_keyset_make_update (forger, &b, other_sk, &size);   /* seq 2, other key */
    size_t forged_size = size;
    curvecp_keyset_t *ahead = curvecp_keyset_dup (set);
    update = curvecp_keyset_make_update (ahead, &b, admin_sk, &size);
    CHECK (curvecp_keyset_apply_update (ahead, update, size) == CURVECP_KEYSET_OK);
    free (update);
    curvecp_keyset_entry_t a_revoked = a;
    a_revoked.revoked = true;
    uint8_t *gap = curvecp_keyset_make_update (ahead, &a_revoked, admin_sk, &size);  /* seq 3 */
    size_t gap_size = size;

    curvecp_keys_replica_t *replica = start_replica (NULL, 0);
    curvecp_zmq_server_set_rcvtimeo (rogue, 5000);
    zmsg_t *msg = curvecp_zmq_server_recv (rogue);
    CHECK (msg);
    char *command = zmsg_popstr (msg);
    CHECK (command && streq (command, KEYD_SNAPSHOT));
    free (command);
    zmsg_destroy (&msg);
    char peer[CURVECP_ZMQ_SERVER_PEER_ID_BYTES];
    snprintf (peer, sizeof peer, "%s", curvecp_zmq_server_peer_id (rogue));
    uint8_t *snap = curvecp_keyset_snapshot (set, &size);
    msg = zmsg_new ();
    zmsg_addstr (msg, KEYD_SNAPSHOT);
    zmsg_addmem (msg, snap, size);      /* no publisher named: updates on the session */
    CHECK (curvecp_zmq_server_send (rogue, peer, &msg) == 0);
    free (snap);
    msg = curvecp_zmq_server_recv (rogue);
    CHECK (msg);
    command = zmsg_popstr (msg);
    CHECK (command && streq (command, KEYD_SUBSCRIBE));
    free (command);
    zmsg_destroy (&msg);
    msg = zmsg_new ();
    zmsg_addstr (msg, KEYD_UPDATE);
    zmsg_addmem (msg, forged, forged_size);
    CHECK (curvecp_zmq_server_send (rogue, peer, &msg) == 0);
    msg = zmsg_new ();
    zmsg_addstr (msg, KEYD_UPDATE);
    zmsg_addmem (msg, gap, gap_size);
    CHECK (curvecp_zmq_server_send (rogue, peer, &msg) == 0);
    /* the gap makes it ask again */
    msg = curvecp_zmq_server_recv (rogue);
    CHECK (msg);
    command = zmsg_popstr (msg);
    CHECK (command && streq (command, KEYD_SUBSCRIBE));
    free (command);
    zmsg_destroy (&msg);
    CHECK (curvecp_keys_replica_seq (replica) == 1);
    curvecp_keys_replica_stats_t stats = curvecp_keys_replica_stats (replica);
    CHECK (stats.set.counts[CURVECP_KEYSET_BAD_SIGNATURE] == 1);
    CHECK (stats.set.counts[CURVECP_KEYSET_GAP] == 1);
    CHECK (stats.resyncs == 1 && stats.updates == 0 && stats.snapshots == 1);
    CHECK (curvecp_keys_replica_allowed (replica, alice.public_key));
    CHECK (!curvecp_keys_replica_allowed (replica, bob.public_key));
    /* a forged snapshot (other signer, later seq) changes nothing either */
    curvecp_keyset_t *forged_set = curvecp_keyset_dup (forger);
    update = curvecp_keyset_make_update (forged_set, &b, other_sk, &size);
    CHECK (curvecp_keyset_apply_update (forged_set, update, size) == CURVECP_KEYSET_OK);
    free (update);
    snap = curvecp_keyset_snapshot (forged_set, &size);
    msg = zmsg_new ();
    zmsg_addstr (msg, KEYD_SNAPSHOT);
    zmsg_addmem (msg, snap, size);
    CHECK (curvecp_zmq_server_send (rogue, peer, &msg) == 0);
    free (snap);
    int64_t start = zclock_mono ();
    while (curvecp_keys_replica_stats (replica).set.counts[CURVECP_KEYSET_BAD_SIGNATURE] < 2) {
        CHECK (zclock_mono () - start < 5000);
        curvecp_zmq_server_set_rcvtimeo (rogue, 20);
        zmsg_t *other = curvecp_zmq_server_recv (rogue);
        zmsg_destroy (&other);
    }
    CHECK (curvecp_keys_replica_seq (replica) == 1);
    CHECK (!curvecp_keys_replica_allowed (replica, bob.public_key));

    /* heartbeats: one that is no sequence number (not decimal, empty, signed,
       past 64 bits) is counted and ignored; one announcing a later set makes
       the replica ask again (SUBSCRIBE) and changes nothing by itself */
    uint64_t resyncs = curvecp_keys_replica_stats (replica).resyncs;
    const char *bad[] = { "x", "", "-1", "99999999999999999999999", "5x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg = zmsg_new ();
        zmsg_addstr (msg, KEYD_HUGZ);
        zmsg_addstr (msg, bad[i]);
        CHECK (curvecp_zmq_server_send (rogue, peer, &msg) == 0);
    }
    start = zclock_mono ();
    while (curvecp_keys_replica_stats (replica).bad_heartbeats < 5) {
        CHECK (zclock_mono () - start < 5000);
        curvecp_zmq_server_set_rcvtimeo (rogue, 20);
        zmsg_t *other = curvecp_zmq_server_recv (rogue);
        zmsg_destroy (&other);
    }
    CHECK (curvecp_keys_replica_stats (replica).resyncs == resyncs);
    CHECK (curvecp_keys_replica_seq (replica) == 1);
    msg = zmsg_new ();
    zmsg_addstr (msg, KEYD_HUGZ);
    zmsg_addstr (msg, "5");
    CHECK (curvecp_zmq_server_send (rogue, peer, &msg) == 0);
    start = zclock_mono ();
    while (curvecp_keys_replica_stats (replica).resyncs == resyncs) {
        CHECK (zclock_mono () - start < 5000);
        curvecp_zmq_server_set_rcvtimeo (rogue, 20);
        zmsg_t *other = curvecp_zmq_server_recv (rogue);
        zmsg_destroy (&other);
    }
    CHECK (curvecp_keys_replica_stats (replica).resyncs == resyncs + 1);
    CHECK (curvecp_keys_replica_seq (replica) == 1);
    CHECK (!curvecp_keys_replica_allowed (replica, bob.public_key));

    curvecp_keys_replica_destroy (&replica);
    free (forged);
    free (gap);
    curvecp_keyset_destroy (&forged_set);
    curvecp_keyset_destroy (&ahead);
    curvecp_keyset_destroy (&forger);
    curvecp_keyset_destroy (&set);
    curvecp_zmq_server_destroy (&rogue);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    zsys_init ();
    CHECK (mkdtemp (dir));
    snprintf (keyd_state, sizeof keyd_state, "%s/keyd-keyset", dir);
    snprintf (replica_state, sizeof replica_state, "%s/replica-keyset", dir);
    crypto_sign_keypair (admin_pk, admin_sk);
    crypto_sign_keypair (other_pk, other_sk);
    curvecp_keypair_generate (&keyd_keys);
    curvecp_keypair_generate (&alice);
    curvecp_keypair_generate (&bob);
    curvecp_keypair_generate (&carol);
    /* a fixed endpoint so the service can come back on it: port 0 first */
    zsock_t *probe = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (probe, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    zsock_destroy (&probe);
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    test_live_allow_list ();
    test_rogue_service ();
    unlink (keyd_state);
    unlink (replica_state);
    rmdir (dir);
    printf ("key service tests passed\n");
    return 0;
}
