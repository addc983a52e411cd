/*  helper_pubsub_pub - a curvecp_zmq_pub for test_pypeer_pubsub.py: the
    independent Python subscriber must interoperate with it.

        helper_pubsub_pub SECONDS

    Binds the key and data channels on tcp://127.0.0.1:* and prints one
    line "PUB <key hex> <key port> <data port> <signing key hex>", then for
    SECONDS publishes "msg N" on topic "py.a" every 2 ms (batched: linger
    5 ms, so batches hold several messages) and "other N" on "zz.b", with
    an epoch every 300 ms. An APP request "revoke-me" revokes its
    sender's key (answered APP "revoking" first); "echo" frames come back.
    At the end prints "STATS epochs=E switches_by_timeout=T joins=J
    denied=D acks=A" and exits 0.                                        */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "curvecp_zmq_pub.h"
#include "curvecp_zmq.h"

static int
on_request (curvecp_zmq_pub_t *pub, const char *peer_id, zmsg_t **msg_p, void *arg)
{
    (void) arg;
    zframe_t *first = zmsg_first (*msg_p);
    if (first && zframe_streq (first, "revoke-me")) {
        uint8_t key[32];
        memcpy (key, curvecp_zmq_server_peer_key (curvecp_zmq_pub_server (pub)), 32);
        zmsg_t *reply = zmsg_new ();
        zmsg_addstr (reply, "revoking");
        curvecp_zmq_pub_reply (pub, peer_id, &reply);
        zmsg_destroy (&reply);
        curvecp_zmq_pub_revoke (pub, key);
    }
    else
        curvecp_zmq_pub_reply (pub, peer_id, msg_p);
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc != 2)
        return 100;
    int seconds = atoi (argv[1]);
    zsys_init ();
    zsys_set_linger (0);
    curvecp_keypair_t keys;
    curvecp_keypair_generate (&keys);
    curvecp_zmq_pub_t *pub = curvecp_zmq_pub_new (&keys, "");
    if (!pub)
        return 111;
    curvecp_zmq_pub_set_batch (pub, 32768, 5);
    curvecp_zmq_pub_set_epoch_interval (pub, 300);
    curvecp_zmq_pub_set_request_fn (pub, on_request, NULL);
    int key_port = curvecp_zmq_pub_bind_keys (pub, "tcp://127.0.0.1:*");
    int data_port = curvecp_zmq_pub_bind_data (pub, "tcp://127.0.0.1:*");
    if (key_port <= 0 || data_port <= 0)
        return 111;
    char hex[65], sign[65];
    curvecp_key_to_hex (keys.public_key, hex);
    curvecp_key_to_hex (curvecp_zmq_pub_signing_key (pub), sign);
    printf ("PUB %s %d %d %s\n", hex, key_port, data_port, sign);
    fflush (stdout);
    uint64_t until = curvecp_clock_now () + (uint64_t) seconds * 1000000000ull;
    for (unsigned n = 1; curvecp_clock_now () < until; n++) {
        char body[32];
        snprintf (body, sizeof body, "msg %u", n);
        curvecp_zmq_pub_send_str (pub, "py.a", body);
        snprintf (body, sizeof body, "other %u", n);
        curvecp_zmq_pub_send_str (pub, "zz.b", body);
        curvecp_zmq_pub_serve (pub, 2);
    }
    const curvecp_zmq_pub_info_t *info = curvecp_zmq_pub_info (pub);
    printf ("STATS epochs=%llu switches_by_timeout=%llu joins=%llu denied=%llu acks=%llu\n",
            (unsigned long long) info->epochs, (unsigned long long) info->switches_by_timeout,
            (unsigned long long) info->joins, (unsigned long long) info->denied,
            (unsigned long long) info->acks);
    fflush (stdout);
    curvecp_zmq_pub_destroy (&pub);
    sodium_memzero (&keys, sizeof keys);
    return 0;
}
