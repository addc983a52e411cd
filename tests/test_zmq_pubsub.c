/*  Secured PUB-SUB (curvecp_zmq_pub, curvecp_zmq_sub) over tcp://127.0.0.1,
    publisher and subscribers pumped in turn from one thread:
    - delivery of whole multi-frame messages in order, batched and not;
    - confidentiality: a raw SUB sees no plaintext, a subscriber not
      permitted a channel opens none of it (counted no-key);
    - origin: a subscriber holding the epoch key forges a batch that opens
      under that key, and the others refuse it (forged);
    - replay and order: a relay between publisher and a subscriber drops,
      duplicates, replays, truncates, re-topics and corrupts batches: gaps
      reported with their count, everything else refused and counted, no
      state change (the next good batch is delivered with the right gap);
    - membership: a revoked subscriber opens nothing after the switch
      (< 1 s), a session that ends starts an epoch, a late joiner gets the
      current one, epochs rotate on a timer without loss;
    - topics: ØMQ prefix filtering;
    - application requests and replies over the key channel;
    - the wire decoders' refusals (KEYS bodies, batches, plaintexts);
    - key-channel requests that are none of ours, refused and counted;
    - the grace: a batch of the previous epoch opens just after the
      switch, and is refused (out of epoch) once the grace is over;
    - publisher and subscribers served by one zloop (attach).
    Every wait is bounded.                                               */
#include <sodium.h>
#include "testutil.h"
#include "curvecp_zmq_pub.h"
#include "curvecp_zmq_sub.h"
#include "curvecp_zmq.h"
#include "zmq/curvecp_pubsub_wire.h"

#define NAME "pub.example.com"

static curvecp_zmq_pub_t *pub;
static curvecp_keypair_t pub_keys;
static char key_endpoint[64], data_endpoint[64];

#define SUBS_MAX 8
static curvecp_zmq_sub_t *subs[SUBS_MAX];

static void
pump (int msecs)
{
    uint64_t until = curvecp_clock_now () + (uint64_t) msecs * 1000000ull;
    do {
        curvecp_zmq_pub_serve (pub, 1);
        for (int i = 0; i < SUBS_MAX; i++)
            if (subs[i])
                curvecp_zmq_sub_handle (subs[i]);
    } while (curvecp_clock_now () < until);
}

static void
start_pub (void)
{
    curvecp_keypair_generate (&pub_keys);
    pub = curvecp_zmq_pub_new (&pub_keys, NAME);
    CHECK (pub);
    int port = curvecp_zmq_pub_bind_keys (pub, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    snprintf (key_endpoint, sizeof key_endpoint, "tcp://127.0.0.1:%d", port);
    port = curvecp_zmq_pub_bind_data (pub, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    snprintf (data_endpoint, sizeof data_endpoint, "tcp://127.0.0.1:%d", port);
    curvecp_zmq_pub_set_batch (pub, 32768, 0);
}

static void
stop_all (void)
{
    for (int i = 0; i < SUBS_MAX; i++)
        curvecp_zmq_sub_destroy (&subs[i]);
    curvecp_zmq_pub_destroy (&pub);
}

/* A subscriber in slot i, keys in hand, subscribed to prefix. */
static curvecp_zmq_sub_t *
start_sub (int i, const curvecp_keypair_t *keys, const char *data, const char *prefix)
{
    subs[i] = curvecp_zmq_sub_new (keys, pub_keys.public_key, NAME);
    CHECK (subs[i]);
    CHECK_EQ (curvecp_zmq_sub_connect (subs[i], key_endpoint, data ? data : data_endpoint), 0);
    CHECK_EQ (curvecp_zmq_sub_subscribe (subs[i], prefix), 0);
    uint64_t until = curvecp_clock_now () + 5000000000ull;
    while (!curvecp_zmq_sub_has_keys (subs[i]) && curvecp_clock_now () < until)
        pump (5);
    CHECK (curvecp_zmq_sub_has_keys (subs[i]));
    pump (100);             /* the SUB connection and its subscription settle */
    return subs[i];
}

/* Next message for sub within msecs, pumping everyone; NULL if none. */
static zmsg_t *
next_message (curvecp_zmq_sub_t *sub, int msecs)
{
    uint64_t until = curvecp_clock_now () + (uint64_t) msecs * 1000000ull;
    for (;;) {
        zmsg_t *msg = curvecp_zmq_sub_recv_nowait (sub);
        if (msg || curvecp_clock_now () >= until)
            return msg;
        pump (1);
    }
}

/* The next message is [topic][body]. */
static void
expect (curvecp_zmq_sub_t *sub, const char *topic, const char *body, uint64_t gap)
{
    zmsg_t *msg = next_message (sub, 3000);
    CHECK (msg);
    CHECK_EQ (zmsg_size (msg), 2);
    char *got_topic = zmsg_popstr (msg), *got_body = zmsg_popstr (msg);
    if (!streq (got_topic, topic) || !streq (got_body, body))
        fprintf (stderr, "expected %s %s, got %s %s\n", topic, body, got_topic, got_body);
    CHECK (streq (got_topic, topic));
    CHECK (streq (got_body, body));
    CHECK_EQ (curvecp_zmq_sub_gap (sub), gap);
    zstr_free (&got_topic);
    zstr_free (&got_body);
    zmsg_destroy (&msg);
}

static void
expect_nothing (curvecp_zmq_sub_t *sub, int msecs)
{
    zmsg_t *msg = next_message (sub, msecs);
    CHECK (msg == NULL);
}

/* ---- delivery ------------------------------------------------------------------- */

static void
test_delivery (void)
{
    start_pub ();
    curvecp_zmq_sub_t *sub = start_sub (0, NULL, NULL, "");
    CHECK (curvecp_zmq_sub_signing_key (sub));
    CHECK_MEM (curvecp_zmq_sub_signing_key (sub), curvecp_zmq_pub_signing_key (pub), 32);
    CHECK_EQ (curvecp_zmq_sub_key_epoch (sub), curvecp_zmq_pub_info (pub)->epoch);
    for (int i = 0; i < 10; i++) {
        char body[16];
        snprintf (body, sizeof body, "m%d", i);
        CHECK_EQ (curvecp_zmq_pub_send_str (pub, "t.a", body), 0);
    }
    for (int i = 0; i < 10; i++) {
        char body[16];
        snprintf (body, sizeof body, "m%d", i);
        expect (sub, "t.a", body, 0);
        CHECK_EQ (curvecp_zmq_sub_sequence (sub), i + 1);
    }
    /* multi-frame, empty frames, batched: one PUB message for many */
    curvecp_zmq_pub_set_batch (pub, 32768, 1000);
    uint64_t batches = curvecp_zmq_pub_info (pub)->batches;
    for (int i = 0; i < 100; i++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addstr (msg, "first");
        zmsg_addmem (msg, NULL, 0);
        zmsg_addmem (msg, &i, sizeof i);
        CHECK_EQ (curvecp_zmq_pub_send (pub, "t.b", &msg), 0);
        CHECK (msg == NULL);
    }
    curvecp_zmq_pub_flush (pub);
    CHECK_EQ (curvecp_zmq_pub_info (pub)->batches, batches + 1);
    for (int i = 0; i < 100; i++) {
        zmsg_t *msg = next_message (sub, 3000);
        CHECK (msg);
        CHECK_EQ (zmsg_size (msg), 4);
        char *topic = zmsg_popstr (msg);
        CHECK (streq (topic, "t.b"));
        zstr_free (&topic);
        zframe_t *frame = zmsg_pop (msg);
        CHECK (zframe_streq (frame, "first"));
        zframe_destroy (&frame);
        frame = zmsg_pop (msg);
        CHECK_EQ (zframe_size (frame), 0);
        zframe_destroy (&frame);
        frame = zmsg_pop (msg);
        CHECK_EQ (zframe_size (frame), sizeof (int));
        CHECK_EQ (*(int *) zframe_data (frame), i);
        zframe_destroy (&frame);
        zmsg_destroy (&msg);
    }
    /* the linger seals a batch by itself */
    curvecp_zmq_pub_set_batch (pub, 32768, 20);
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "t.c", "lingered"), 0);
    expect (sub, "t.c", "lingered", 0);
    /* a send past the open batch's linger seals it, even unserved */
    batches = curvecp_zmq_pub_info (pub)->batches;
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "t.d", "slow 1"), 0);
    zclock_sleep (40);
    CHECK_EQ (curvecp_zmq_pub_info (pub)->batches, batches);
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "t.d", "slow 2"), 0);
    CHECK_EQ (curvecp_zmq_pub_info (pub)->batches, batches + 1);
    curvecp_zmq_pub_flush (pub);
    CHECK_EQ (curvecp_zmq_pub_info (pub)->batches, batches + 2);
    expect (sub, "t.d", "slow 1", 0);
    expect (sub, "t.d", "slow 2", 0);
    /* refused: too long a topic, no message */
    char topic[300];
    memset (topic, 'x', sizeof topic - 1);
    topic[sizeof topic - 1] = 0;
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, topic, "x"), -1);
    zmsg_t *empty = zmsg_new ();
    CHECK_EQ (curvecp_zmq_pub_send (pub, "t", &empty), -1);
    zmsg_destroy (&empty);
    const curvecp_zmq_sub_stats_t *stats = curvecp_zmq_sub_stats (sub);
    CHECK_EQ (stats->delivered, 113);
    CHECK_EQ (stats->forged + stats->replayed + stats->no_key + stats->malformed + stats->unsealed, 0);
    stop_all ();
    printf ("delivery: ok\n");
}

/* ---- confidentiality and channels ---------------------------------------------- */

static bool
no_secret (curvecp_zmq_pub_t *p, const uint8_t *key, const char *user_id, const char *channel, void *arg)
{
    (void) p; (void) user_id;
    const uint8_t *barred = (const uint8_t *) arg;
    return !(memcmp (key, barred, 32) == 0 && streq (channel, "secret."));
}

static void
test_confidentiality (void)
{
    start_pub ();
    curvecp_keypair_t barred;
    curvecp_keypair_generate (&barred);
    curvecp_zmq_pub_set_permit (pub, no_secret, barred.public_key);
    CHECK_EQ (curvecp_zmq_pub_add_channel (pub, "secret."), 0);
    pump (50);
    curvecp_zmq_sub_t *reader = start_sub (0, NULL, NULL, "");
    curvecp_zmq_sub_t *other = start_sub (1, &barred, NULL, "");
    CHECK_EQ (curvecp_zmq_sub_channels (reader), 2);
    CHECK_EQ (curvecp_zmq_sub_channels (other), 1);
    zsock_t *raw = zsock_new_sub (data_endpoint, "");
    CHECK (raw);
    pump (200);
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "secret.plans", "attack at dawn"), 0);
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "public", "weather fine"), 0);
    expect (reader, "secret.plans", "attack at dawn", 0);
    expect (reader, "public", "weather fine", 0);
    expect (other, "public", "weather fine", 0);
    CHECK_EQ (curvecp_zmq_sub_stats (other)->no_key, 1);
    CHECK_EQ (curvecp_zmq_sub_stats (other)->delivered, 1);
    /* on the wire: the topic in clear, the bodies nowhere */
    zsock_set_rcvtimeo (raw, 2000);
    for (int i = 0; i < 2; i++) {
        zmsg_t *msg = zmsg_recv (raw);
        CHECK (msg);
        CHECK_EQ (zmsg_size (msg), 2);
        zframe_t *frame = zmsg_last (msg);
        CHECK (!memmem (zframe_data (frame), zframe_size (frame), "attack", 6));
        CHECK (!memmem (zframe_data (frame), zframe_size (frame), "weather", 7));
        zmsg_destroy (&msg);
    }
    zsock_destroy (&raw);
    stop_all ();
    printf ("confidentiality: ok\n");
}

/* ---- the relay: publisher -> raw SUB -> test -> raw PUB -> victim ---------------- */

static zsock_t *relay_in, *relay_out;
static char relay_endpoint[64];

static void
start_relay (void)
{
    relay_in = zsock_new_sub (data_endpoint, "");
    relay_out = zsock_new (ZMQ_PUB);
    CHECK (relay_in && relay_out);
    int port = zsock_bind (relay_out, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    snprintf (relay_endpoint, sizeof relay_endpoint, "tcp://127.0.0.1:%d", port);
    zsock_set_rcvtimeo (relay_in, 0);
}

static void
stop_relay (void)
{
    zsock_destroy (&relay_in);
    zsock_destroy (&relay_out);
}

/* The next batch the publisher sent, as the relay saw it. */
static zmsg_t *
relay_take (void)
{
    uint64_t until = curvecp_clock_now () + 3000000000ull;
    for (;;) {
        zmsg_t *msg = zmsg_recv (relay_in);
        if (msg)
            return msg;
        CHECK (curvecp_clock_now () < until);
        pump (1);
    }
}

static void
relay_send (zmsg_t *msg)
{
    zmsg_t *copy = zmsg_dup (msg);
    CHECK_EQ (zmsg_send (&copy, relay_out), 0);
}

/* A copy of msg with its batch frame changed by fn. */
static zmsg_t *
altered (zmsg_t *msg, const char *topic, size_t cut, size_t flip)
{
    zframe_t *batch = zmsg_last (msg);
    zmsg_t *out = zmsg_new ();
    if (topic)
        zmsg_addstr (out, topic);
    else
        zmsg_append (out, &(zframe_t *) { zframe_dup (zmsg_first (msg)) });
    size_t size = zframe_size (batch) - cut;
    uint8_t *bytes = (uint8_t *) malloc (size);
    memcpy (bytes, zframe_data (batch), size);
    if (flip < size)
        bytes[flip] ^= 0x01;
    zmsg_addmem (out, bytes, size);
    free (bytes);
    return out;
}

static void
send_and_destroy (zmsg_t *msg)
{
    CHECK_EQ (zmsg_send (&msg, relay_out), 0);
}

static void
test_bad_input (void)
{
    start_pub ();
    start_relay ();
    pump (100);
    curvecp_zmq_sub_t *victim = start_sub (0, NULL, relay_endpoint, "");
    const curvecp_zmq_sub_stats_t *stats = curvecp_zmq_sub_stats (victim);
    /* warm the relay path: a message through it */
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "news.x", "1"), 0);
    zmsg_t *m1 = relay_take ();
    relay_send (m1);
    expect (victim, "news.x", "1", 0);
    /* replay and duplicate: refused, counted, nothing delivered */
    relay_send (m1);
    relay_send (m1);
    pump (100);
    expect_nothing (victim, 100);
    CHECK_EQ (stats->replayed, 2);
    /* gap: messages 2 and 3 dropped, 4 delivered with gap 2 */
    for (int i = 2; i <= 4; i++) {
        char body[8];
        snprintf (body, sizeof body, "%d", i);
        CHECK_EQ (curvecp_zmq_pub_send_str (pub, "news.x", body), 0);
    }
    zmsg_t *m2 = relay_take (), *m3 = relay_take (), *m4 = relay_take ();
    /* first, every kind of bad input built from m4; none may change the
       subscriber's state: m4 itself is delivered afterwards */
    uint64_t before = stats->delivered;
    send_and_destroy (altered (m4, NULL, zframe_size (zmsg_last (m4)) - 10, SIZE_MAX));   /* truncated short */
    send_and_destroy (altered (m4, NULL, 1, SIZE_MAX));          /* truncated by one byte */
    send_and_destroy (altered (m4, NULL, 0, 0));                 /* bad version */
    send_and_destroy (altered (m4, NULL, 0, 60));                /* ciphertext flipped */
    send_and_destroy (altered (m4, NULL, 0, zframe_size (zmsg_last (m4)) - 1));  /* signature flipped */
    send_and_destroy (altered (m4, "news.y", 0, SIZE_MAX));     /* moved to another topic */
    send_and_destroy (altered (m4, "new", 0, SIZE_MAX));        /* topic shorter than its channel? */
    send_and_destroy (altered (m4, NULL, 0, 5));                 /* another epoch */
    zmsg_t *three = zmsg_new ();                                 /* not [topic][batch] */
    zmsg_addstr (three, "news.x");
    zmsg_addstr (three, "a");
    zmsg_addstr (three, "b");
    send_and_destroy (three);
    pump (200);
    expect_nothing (victim, 100);
    CHECK_EQ (stats->delivered, before);
    CHECK_EQ (stats->malformed, 3);     /* short, bad version, three frames */
    /* one byte short, ciphertext, signature, another topic, and "new":
       the channel of news.x is "" here, so "new" holds it and the batch
       is a forgery there (test_wrong_topic has a longer channel) */
    CHECK_EQ (stats->forged, 5);
    CHECK_EQ (stats->no_key, 1);        /* another epoch */
    relay_send (m4);
    expect (victim, "news.x", "4", 2);
    CHECK_EQ (stats->lost, 2);
    /* late copies of what was skipped are replays now */
    relay_send (m2);
    relay_send (m3);
    pump (100);
    expect_nothing (victim, 100);
    CHECK_EQ (stats->replayed, 4);
    zmsg_destroy (&m1);
    zmsg_destroy (&m2);
    zmsg_destroy (&m3);
    zmsg_destroy (&m4);
    stop_relay ();
    stop_all ();
    printf ("bad input: ok\n");
}

/* A channel prefix longer than the topic frame: wrong topic. */
static void
test_wrong_topic (void)
{
    start_pub ();
    CHECK_EQ (curvecp_zmq_pub_add_channel (pub, "news."), 0);
    pump (50);
    start_relay ();
    pump (100);
    curvecp_zmq_sub_t *victim = start_sub (0, NULL, relay_endpoint, "");
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "news.x", "1"), 0);
    zmsg_t *m1 = relay_take ();
    send_and_destroy (altered (m1, "new", 0, SIZE_MAX));
    send_and_destroy (altered (m1, "other", 0, SIZE_MAX));     /* channel "news." is not its prefix */
    pump (100);
    expect_nothing (victim, 100);
    const curvecp_zmq_sub_stats_t *stats = curvecp_zmq_sub_stats (victim);
    CHECK_EQ (stats->wrong_topic, 1);
    CHECK_EQ (stats->no_key, 1);
    relay_send (m1);
    expect (victim, "news.x", "1", 0);
    zmsg_destroy (&m1);
    stop_relay ();
    stop_all ();
    printf ("wrong topic: ok\n");
}

/* ---- origin: a key-holding subscriber forges ----------------------------------- */

static void
test_origin (void)
{
    start_pub ();
    start_relay ();
    pump (100);
    curvecp_zmq_sub_t *victim = start_sub (0, NULL, relay_endpoint, "");
    /* the forger: an authorised session of its own, reading KEYS raw */
    curvecp_zmq_client_t *forger = curvecp_zmq_client_new (NULL, pub_keys.public_key, NAME);
    CHECK_EQ (curvecp_zmq_client_connect (forger, key_endpoint), 0);
    zmsg_t *join = zmsg_new ();
    zmsg_addstr (join, "JOIN");
    zmsg_addmem (join, "\x01", 1);
    CHECK_EQ (curvecp_zmq_client_send (forger, &join), 0);
    zmsg_t *keys_msg = NULL;
    uint64_t until = curvecp_clock_now () + 5000000000ull;
    while (!keys_msg && curvecp_clock_now () < until) {
        pump (2);
        curvecp_zmq_client_handle (forger);
        keys_msg = curvecp_zmq_client_recv_nowait (forger);
    }
    CHECK (keys_msg);
    CHECK (zframe_streq (zmsg_first (keys_msg), "KEYS"));
    zframe_t *body = zmsg_next (keys_msg);
    ps_keys_t keys;
    CHECK_EQ (ps_keys_parse (zframe_data (body), zframe_size (body), &keys), PS_OK);
    const uint8_t *prefix, *key;
    uint8_t prefix_len;
    ps_keys_entry (&keys, 0, &prefix, &prefix_len, &key);
    CHECK_EQ (prefix_len, 0);
    /* a batch sealed with the true epoch key, signed with the forger's key */
    uint8_t fake_pk[32], fake_sk[64], nonce[24], plain[64], out[512];
    crypto_sign_keypair (fake_pk, fake_sk);
    randombytes_buf (nonce, sizeof nonce);
    size_t plain_len = 0;
    plain[plain_len++] = 1;
    memcpy (plain + plain_len, "\x00\x00\x00\x04" "fake", 8);
    plain_len += 8;
    uint8_t scratch[512];
    CHECK (ps_signed_size (4, ps_batch_size (plain_len)) <= sizeof scratch);
    size_t len = ps_batch_seal (out, (const uint8_t *) "news", 4, 0, keys.epoch, 1, 1, nonce, plain, plain_len,
                                key, fake_sk, scratch);
    /* it opens: confidentiality alone would accept it */
    ps_batch_t batch;
    uint8_t opened[64];
    CHECK_EQ (ps_batch_parse (out, len, 4, &batch), PS_OK);
    CHECK (ps_batch_open (&batch, (const uint8_t *) "news", 4, key, opened));
    zmsg_t *fake = zmsg_new ();
    zmsg_addstr (fake, "news");
    zmsg_addmem (fake, out, len);
    send_and_destroy (fake);
    pump (200);
    expect_nothing (victim, 100);
    CHECK_EQ (curvecp_zmq_sub_stats (victim)->forged, 1);
    /* and the true publisher's next message on that topic still arrives as
       sequence 1: the forgery changed nothing */
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "news", "true"), 0);
    zmsg_t *real = relay_take ();
    relay_send (real);
    expect (victim, "news", "true", 0);
    CHECK_EQ (curvecp_zmq_sub_sequence (victim), 1);
    zmsg_destroy (&real);
    zmsg_destroy (&keys_msg);
    curvecp_zmq_client_destroy (&forger);
    stop_relay ();
    stop_all ();
    printf ("origin: ok\n");
}

/* ---- membership ----------------------------------------------------------------- */

static void
test_membership (void)
{
    start_pub ();
    curvecp_keypair_t keys[3];
    for (int i = 0; i < 3; i++) {
        curvecp_keypair_generate (&keys[i]);
        start_sub (i, &keys[i], NULL, "m");
    }
    CHECK_EQ (curvecp_zmq_pub_info (pub)->subscribers, 3);
    uint64_t epoch = curvecp_zmq_pub_info (pub)->epoch;
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "m", "before"), 0);
    for (int i = 0; i < 3; i++)
        expect (subs[i], "m", "before", 0);
    /* revoke subscriber 2: the switch happens within 1 s */
    uint64_t start = curvecp_clock_now ();
    CHECK_EQ (curvecp_zmq_pub_revoke (pub, keys[2].public_key), 0);
    while (curvecp_zmq_pub_info (pub)->epoch == epoch && curvecp_clock_now () - start < 2000000000ull)
        pump (1);
    uint64_t took = curvecp_clock_now () - start;
    printf ("membership: revoke to switch %.1f ms (by acknowledgments: %s)\n", took / 1e6,
            curvecp_zmq_pub_info (pub)->switches_by_timeout ? "no" : "yes");
    CHECK (curvecp_zmq_pub_info (pub)->epoch > epoch);
    CHECK (took < 1000000000ull);
    CHECK_EQ (curvecp_zmq_pub_info (pub)->switches_by_timeout, 0);
    CHECK_EQ (curvecp_zmq_pub_info (pub)->subscribers, 2);
    pump (50);
    CHECK (curvecp_zmq_sub_denied (subs[2]));
    CHECK (streq (curvecp_zmq_sub_deny_reason (subs[2]), "revoked"));
    uint64_t no_key = curvecp_zmq_sub_stats (subs[2])->no_key;
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "m", "after"), 0);
    expect (subs[0], "m", "after", 0);
    expect (subs[1], "m", "after", 0);
    expect_nothing (subs[2], 300);
    CHECK_EQ (curvecp_zmq_sub_stats (subs[2])->no_key, no_key + 1);
    /* its JOIN again is refused */
    CHECK (curvecp_zmq_pub_revoked (pub, keys[2].public_key));
    curvecp_zmq_sub_destroy (&subs[2]);
    subs[2] = curvecp_zmq_sub_new (&keys[2], pub_keys.public_key, NAME);
    CHECK_EQ (curvecp_zmq_sub_connect (subs[2], key_endpoint, data_endpoint), 0);
    for (int i = 0; i < 200 && !curvecp_zmq_sub_denied (subs[2]); i++)
        pump (5);
    CHECK (curvecp_zmq_sub_denied (subs[2]));
    CHECK (!curvecp_zmq_sub_has_keys (subs[2]));
    curvecp_zmq_sub_destroy (&subs[2]);
    /* a session that ends starts a new epoch */
    epoch = curvecp_zmq_pub_info (pub)->epoch;
    uint64_t ends = curvecp_zmq_pub_info (pub)->rekeys_session_end;
    curvecp_zmq_sub_destroy (&subs[1]);
    start = curvecp_clock_now ();
    while (curvecp_zmq_pub_info (pub)->epoch == epoch && curvecp_clock_now () - start < 3000000000ull)
        pump (5);
    CHECK (curvecp_zmq_pub_info (pub)->epoch > epoch);
    CHECK_EQ (curvecp_zmq_pub_info (pub)->rekeys_session_end, ends + 1);
    CHECK_EQ (curvecp_zmq_pub_info (pub)->subscribers, 1);
    printf ("membership: session end to switch %.1f ms\n", (curvecp_clock_now () - start) / 1e6);
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "m", "two left"), 0);
    expect (subs[0], "m", "two left", 0);
    /* a late joiner gets the current epoch and reads at once */
    curvecp_zmq_sub_t *late = start_sub (3, NULL, NULL, "m");
    CHECK_EQ (curvecp_zmq_sub_key_epoch (late), curvecp_zmq_pub_info (pub)->epoch);
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "m", "welcome"), 0);
    expect (late, "m", "welcome", 0);
    expect (subs[0], "m", "welcome", 0);
    /* epochs rotate on a timer; nothing is lost across the switches */
    epoch = curvecp_zmq_pub_info (pub)->epoch;
    curvecp_zmq_pub_set_epoch_interval (pub, 100);
    for (int i = 0; i < 40; i++) {
        char body[16];
        snprintf (body, sizeof body, "r%d", i);
        CHECK_EQ (curvecp_zmq_pub_send_str (pub, "m", body), 0);
        expect (subs[0], "m", body, 0);
        expect (late, "m", body, 0);
        pump (10);
    }
    CHECK (curvecp_zmq_pub_info (pub)->epoch >= epoch + 2);
    CHECK (curvecp_zmq_pub_info (pub)->rekeys_timer >= 2);
    CHECK_EQ (curvecp_zmq_sub_stats (late)->lost, 0);
    stop_all ();
    printf ("membership: ok\n");
}

/* ---- topics ---------------------------------------------------------------------- */

static void
test_topics (void)
{
    start_pub ();
    curvecp_zmq_sub_t *weather = start_sub (0, NULL, NULL, "weather.");
    curvecp_zmq_sub_t *all = start_sub (1, NULL, NULL, "");
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "news.today", "n1"), 0);
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "weather.paris", "w1"), 0);
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "weather.oslo", "w2"), 0);
    expect (weather, "weather.paris", "w1", 0);
    expect (weather, "weather.oslo", "w2", 0);
    expect_nothing (weather, 200);
    expect (all, "news.today", "n1", 0);
    expect (all, "weather.paris", "w1", 0);
    expect (all, "weather.oslo", "w2", 0);
    /* filtered topics are not gaps: sequence numbers run per topic */
    CHECK_EQ (curvecp_zmq_sub_stats (weather)->lost, 0);
    CHECK_EQ (curvecp_zmq_sub_stats (weather)->wrong_topic, 0);
    CHECK_EQ (curvecp_zmq_sub_unsubscribe (weather, "weather."), 0);
    CHECK_EQ (curvecp_zmq_sub_unsubscribe (weather, "weather."), -1);
    stop_all ();
    printf ("topics: ok\n");
}

/* ---- requests over the key channel ---------------------------------------------- */

static int
echo_request (curvecp_zmq_pub_t *p, const char *peer_id, zmsg_t **msg_p, void *arg)
{
    (void) arg;
    CHECK (curvecp_zmq_server_has_peer (curvecp_zmq_pub_server (p), peer_id));
    CHECK (!curvecp_zmq_server_has_peer (curvecp_zmq_pub_server (p), "00"));
    zmsg_pushstr (*msg_p, "echo");
    CHECK_EQ (curvecp_zmq_pub_reply (p, peer_id, msg_p), 0);
    return 0;
}

static void
test_requests (void)
{
    start_pub ();
    curvecp_zmq_pub_set_request_fn (pub, echo_request, NULL);
    curvecp_zmq_sub_t *sub = start_sub (0, NULL, NULL, "");
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "snapshot please");
    CHECK_EQ (curvecp_zmq_sub_request (sub, &msg), 0);
    zmsg_t *reply = NULL;
    for (int i = 0; i < 500 && !reply; i++) {
        pump (2);
        reply = curvecp_zmq_sub_reply_nowait (sub);
    }
    CHECK (reply);
    CHECK_EQ (zmsg_size (reply), 2);
    char *head = zmsg_popstr (reply), *tail = zmsg_popstr (reply);
    CHECK (streq (head, "echo") && streq (tail, "snapshot please"));
    zstr_free (&head);
    zstr_free (&tail);
    zmsg_destroy (&reply);
    CHECK_EQ (curvecp_zmq_pub_info (pub)->requests, 1);
    stop_all ();
    printf ("requests: ok\n");
}


/* ---- the decoders, directly ------------------------------------------------------ */

/* What ps_plain_message hands its callback. */
typedef struct {
    size_t count;
    size_t sizes[4];
    uint8_t first[4];
    uint16_t last_message;
} frames_seen_t;

static void
see_frame (void *arg, uint16_t message, uint8_t frame, uint8_t nframes, const uint8_t *data, size_t size)
{
    frames_seen_t *seen = (frames_seen_t *) arg;
    CHECK (frame < nframes && seen->count < 4);
    seen->sizes[seen->count] = size;
    seen->first[seen->count] = size ? data[0] : 0;
    seen->last_message = message;
    seen->count++;
}

static void
test_wire (void)
{
    uint8_t pk[32], sk[64], key[32], master[32];
    crypto_sign_keypair (pk, sk);
    randombytes_buf (master, sizeof master);
    const char *prefixes[2] = { "a.", "b." };
    uint8_t keys[2][32];
    ps_channel_key (keys[0], master, "a.");
    ps_channel_key (keys[1], master, "b.");
    CHECK (memcmp (keys[0], keys[1], 32) != 0);
    uint8_t body[256];
    size_t len = ps_keys_encode (body, pk, 9, 2, prefixes, (const uint8_t (*)[32]) keys);
    CHECK_EQ (len, ps_keys_size (2, prefixes));
    ps_keys_t parsed;
    CHECK_EQ (ps_keys_parse (body, len, &parsed), PS_OK);
    CHECK_EQ (parsed.count, 2);
    CHECK_EQ (parsed.epoch, 9);
    CHECK_EQ (ps_keys_parse (body, len - 1, &parsed), PS_MALFORMED);        /* truncated */
    uint8_t longer[257];
    memcpy (longer, body, len);
    longer[len] = 0;
    CHECK_EQ (ps_keys_parse (longer, len + 1, &parsed), PS_MALFORMED);     /* bytes left over */
    body[0] = 2;
    CHECK_EQ (ps_keys_parse (body, len, &parsed), PS_MALFORMED);           /* version */
    body[0] = 1;
    const char *twice[2] = { "a.", "a." };
    len = ps_keys_encode (body, pk, 9, 2, twice, (const uint8_t (*)[32]) keys);
    CHECK_EQ (ps_keys_parse (body, len, &parsed), PS_MALFORMED);           /* a prefix twice */
    len = ps_keys_encode (body, pk, 0, 2, prefixes, (const uint8_t (*)[32]) keys);
    CHECK_EQ (ps_keys_parse (body, len, &parsed), PS_MALFORMED);           /* epoch 0 */
    /* batches: count 0, sequence 0, epoch 0, a wrapping sequence */
    uint8_t nonce[24] = { 0 }, plain[5] = { 1, 0, 0, 0, 0 }, frame[256], scratch[512];
    len = ps_batch_seal (frame, (const uint8_t *) "a.x", 3, 2, 1, 1, 1, nonce, plain, 5, key, sk, scratch);
    ps_batch_t batch;
    CHECK_EQ (ps_batch_parse (frame, len, 3, &batch), PS_OK);
    CHECK_EQ (ps_batch_parse (frame, len, 1, &batch), PS_WRONG_TOPIC);
    CHECK_EQ (ps_batch_parse (frame, len - 1, 3, &batch), PS_MALFORMED);
    CHECK_EQ (ps_batch_parse (frame, PS_BATCH_MIN - 1, 3, &batch), PS_MALFORMED);
    CHECK_EQ (ps_batch_parse (frame, len, 256, &batch), PS_MALFORMED);
    len = ps_batch_seal (frame, (const uint8_t *) "a.x", 3, 2, 1, 0, 1, nonce, plain, 5, key, sk, scratch);
    CHECK_EQ (ps_batch_parse (frame, len, 3, &batch), PS_MALFORMED);
    len = ps_batch_seal (frame, (const uint8_t *) "a.x", 3, 2, 0, 1, 1, nonce, plain, 5, key, sk, scratch);
    CHECK_EQ (ps_batch_parse (frame, len, 3, &batch), PS_MALFORMED);
    len = ps_batch_seal (frame, (const uint8_t *) "a.x", 3, 2, 1, UINT64_MAX, 1, nonce, plain, 5, key, sk, scratch);
    CHECK_EQ (ps_batch_parse (frame, len, 3, &batch), PS_MALFORMED);
    len = ps_batch_seal (frame, (const uint8_t *) "a.x", 3, 2, 1, 1, 2, nonce, plain, 5, key, sk, scratch);
    CHECK_EQ (ps_batch_parse (frame, len, 3, &batch), PS_MALFORMED);      /* no room for 2 */
    /* plaintexts: the count must be exact, frames within, none empty */
    CHECK (ps_plain_walk (plain, 5, 1, NULL, NULL));
    CHECK (!ps_plain_walk (plain, 5, 2, NULL, NULL));
    CHECK (!ps_plain_walk (plain, 4, 1, NULL, NULL));
    uint8_t extra[6] = { 1, 0, 0, 0, 0, 9 };
    CHECK (!ps_plain_walk (extra, 6, 1, NULL, NULL));
    uint8_t no_frames[1] = { 0 };
    CHECK (!ps_plain_walk (no_frames, 1, 1, NULL, NULL));
    uint8_t too_long[6] = { 1, 0, 0, 0, 2, 7 };
    CHECK (!ps_plain_walk (too_long, 6, 1, NULL, NULL));
    /* one message at a time: the frames to the callback, the offset past
       it; a bad one leaves the offset where it was */
    uint8_t two[] = { 2, 0, 0, 0, 1, 'a', 0, 0, 0, 0,  1, 0, 0, 0, 2, 'b', 'c' };
    frames_seen_t seen = { 0 };
    size_t at = 0;
    CHECK (ps_plain_message (two, sizeof two, &at, 0, see_frame, &seen) && at == 10);
    CHECK (seen.count == 2 && seen.sizes[0] == 1 && seen.sizes[1] == 0 && seen.first[0] == 'a');
    CHECK (ps_plain_message (two, sizeof two, &at, 1, see_frame, &seen) && at == sizeof two);
    CHECK (seen.count == 3 && seen.sizes[2] == 2 && seen.first[2] == 'b' && seen.last_message == 1);
    CHECK (!ps_plain_message (two, sizeof two, &at, 2, NULL, NULL) && at == sizeof two);
    at = 10;
    CHECK (!ps_plain_message (two, sizeof two - 1, &at, 1, NULL, NULL) && at == 10);
    CHECK (ps_plain_walk (two, sizeof two, 2, NULL, NULL));
    /* the big-endian 32-bit length every frame carries */
    uint8_t be[4];
    ps_put32 (be, 0x01020304u);
    CHECK (be[0] == 1 && be[1] == 2 && be[2] == 3 && be[3] == 4 && ps_get32 (be) == 0x01020304u);
    ps_put32 (be, UINT32_MAX);
    CHECK (ps_get32 (be) == UINT32_MAX);
    printf ("wire: ok\n");
}

/* ---- key-channel requests that are none of ours ------------------------------------ */

static void
test_bad_requests (void)
{
    start_pub ();
    curvecp_zmq_client_t *client = curvecp_zmq_client_new (NULL, pub_keys.public_key, NAME);
    CHECK_EQ (curvecp_zmq_client_connect (client, key_endpoint), 0);
    const char *bad[][2] = { { "BOGUS", "x" }, { "ACK", "123" }, { "JOIN", "\x02" }, { "APP", "no handler" } };
    for (size_t i = 0; i < 4; i++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addstr (msg, bad[i][0]);
        zmsg_addstr (msg, bad[i][1]);
        CHECK_EQ (curvecp_zmq_client_send (client, &msg), 0);
    }
    zmsg_t *deny = NULL;
    for (int i = 0; i < 1000 && !deny; i++) {
        pump (2);
        curvecp_zmq_client_handle (client);
        deny = curvecp_zmq_client_recv_nowait (client);
    }
    CHECK (deny);
    CHECK (zframe_streq (zmsg_first (deny), "DENY"));
    CHECK (zframe_streq (zmsg_next (deny), "version"));
    zmsg_destroy (&deny);
    pump (100);
    const curvecp_zmq_pub_info_t *info = curvecp_zmq_pub_info (pub);
    CHECK_EQ (info->bad_requests, 4);
    CHECK_EQ (info->subscribers, 0);
    CHECK_EQ (info->keys_sent, 0);
    CHECK_EQ (info->denied, 1);
    curvecp_zmq_client_destroy (&client);
    stop_all ();
    printf ("bad requests: ok\n");
}

/* ---- the grace, and out of epoch --------------------------------------------------- */

static void
test_grace (void)
{
    start_pub ();
    start_relay ();
    pump (100);
    curvecp_zmq_sub_t *victim = start_sub (0, NULL, relay_endpoint, "");
    curvecp_zmq_sub_set_grace (victim, 300);
    const curvecp_zmq_sub_stats_t *stats = curvecp_zmq_sub_stats (victim);
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "g.a", "old 1"), 0);
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "g.b", "old 2"), 0);
    zmsg_t *a = relay_take (), *b = relay_take ();
    uint64_t epoch = curvecp_zmq_pub_info (pub)->epoch;
    curvecp_zmq_pub_rekey (pub);
    while (curvecp_zmq_pub_info (pub)->epoch == epoch)
        pump (1);
    CHECK (curvecp_zmq_sub_key_epoch (victim) > epoch);
    relay_send (a);                         /* within the grace: it opens */
    expect (victim, "g.a", "old 1", 0);
    CHECK_EQ (curvecp_zmq_sub_epoch (victim), epoch);
    pump (400);                             /* the grace is over */
    relay_send (b);
    pump (100);
    expect_nothing (victim, 100);
    CHECK_EQ (stats->no_key, 1);
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "g.b", "new"), 0);
    zmsg_t *c = relay_take ();
    relay_send (c);
    expect (victim, "g.b", "new", 0);
    CHECK_EQ (curvecp_zmq_sub_epoch (victim), curvecp_zmq_pub_info (pub)->epoch);
    CHECK_EQ (curvecp_zmq_sub_sequence (victim), 1);
    zmsg_destroy (&a);
    zmsg_destroy (&b);
    zmsg_destroy (&c);
    stop_relay ();
    stop_all ();
    printf ("grace: ok\n");
}

/* ---- one zloop for all ------------------------------------------------------------- */

typedef struct {
    int got[2];
    int sent;
} loop_state_t;

static int
on_loop_message (curvecp_zmq_sub_t *sub, zmsg_t **msg_p, uint64_t gap, bool is_reply, void *arg)
{
    loop_state_t *state = (loop_state_t *) arg;
    CHECK (!is_reply);
    CHECK_EQ (gap, 0);
    int who = sub == subs[0] ? 0 : 1;
    char *topic = zmsg_popstr (*msg_p);
    CHECK (streq (topic, "loop"));
    zstr_free (&topic);
    state->got[who]++;
    return state->got[0] >= 20 && state->got[1] >= 20 ? -1 : 0;
}

static int
on_loop_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    loop_state_t *state = (loop_state_t *) arg;
    if (curvecp_zmq_pub_info (pub)->subscribers == 2 && state->sent < 1000) {
        char body[16];
        snprintf (body, sizeof body, "%d", state->sent++);
        CHECK_EQ (curvecp_zmq_pub_send_str (pub, "loop", body), 0);
    }
    return 0;
}

static int
on_loop_deadline (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id; (void) arg;
    return -1;
}

static void
test_attach (void)
{
    start_pub ();
    curvecp_zmq_pub_set_batch (pub, 32768, 5);
    zloop_t *loop = zloop_new ();
    CHECK_EQ (curvecp_zmq_pub_attach (pub, loop), 0);
    CHECK_EQ (curvecp_zmq_pub_attach (pub, loop), -1);
    loop_state_t state = { { 0, 0 }, 0 };
    for (int i = 0; i < 2; i++) {
        subs[i] = curvecp_zmq_sub_new (NULL, pub_keys.public_key, NAME);
        CHECK_EQ (curvecp_zmq_sub_connect (subs[i], key_endpoint, data_endpoint), 0);
        CHECK_EQ (curvecp_zmq_sub_subscribe (subs[i], "loop"), 0);
        CHECK_EQ (curvecp_zmq_sub_attach (subs[i], loop, on_loop_message, &state), 0);
    }
    zloop_timer (loop, 10, 0, on_loop_tick, &state);
    zloop_timer (loop, 10000, 1, on_loop_deadline, NULL);
    zloop_start (loop);
    CHECK (state.got[0] >= 20 && state.got[1] >= 20);
    for (int i = 0; i < 2; i++)
        curvecp_zmq_sub_detach (subs[i]);
    curvecp_zmq_pub_detach (pub);
    zloop_destroy (&loop);
    stop_all ();
    printf ("attach: ok (%d published)\n", state.sent);
}

/* ---- the publisher restarts on the same endpoints ---------------------------------- */

static void
test_restart (void)
{
    start_pub ();
    curvecp_zmq_sub_t *sub = start_sub (0, NULL, NULL, "");
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "r", "first life"), 0);
    expect (sub, "r", "first life", 0);
    uint8_t old_signer[32];
    memcpy (old_signer, curvecp_zmq_sub_signing_key (sub), 32);
    /* a new publisher with the same long-term key on the same ports: the
       subscriber's client makes a new handshake by itself, joins again,
       and takes the new signer's keys */
    curvecp_zmq_pub_destroy (&pub);
    pub = curvecp_zmq_pub_new (&pub_keys, NAME);
    CHECK (pub);
    curvecp_zmq_pub_set_batch (pub, 32768, 0);
    /* the old sockets' ports are let go by ØMQ's I/O thread, soon */
    int keys_bound = -1, data_bound = -1;
    for (int i = 0; i < 200 && (keys_bound < 0 || data_bound < 0); i++) {
        if (keys_bound < 0)
            keys_bound = curvecp_zmq_pub_bind_keys (pub, key_endpoint);
        if (data_bound < 0)
            data_bound = curvecp_zmq_pub_bind_data (pub, data_endpoint);
        if (keys_bound < 0 || data_bound < 0)
            zclock_sleep (10);
    }
    CHECK (keys_bound > 0 && data_bound > 0);
    uint64_t until = curvecp_clock_now () + 30000000000ull;
    while ((!curvecp_zmq_sub_has_keys (sub) || memcmp (curvecp_zmq_sub_signing_key (sub), old_signer, 32) == 0)
           && curvecp_clock_now () < until)
        pump (10);
    CHECK (curvecp_zmq_sub_has_keys (sub));
    CHECK (memcmp (curvecp_zmq_sub_signing_key (sub), curvecp_zmq_pub_signing_key (pub), 32) == 0);
    pump (200);
    CHECK_EQ (curvecp_zmq_pub_send_str (pub, "r", "second life"), 0);
    expect (sub, "r", "second life", 0);
    CHECK_EQ (curvecp_zmq_sub_sequence (sub), 1);
    stop_all ();
    printf ("restart: ok\n");
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    zsys_init ();
    test_delivery ();
    test_confidentiality ();
    test_bad_input ();
    test_wrong_topic ();
    test_origin ();
    test_membership ();
    test_topics ();
    test_requests ();
    test_wire ();
    test_bad_requests ();
    test_grace ();
    test_attach ();
    test_restart ();
    printf ("test_zmq_pubsub: all passed\n");
    return 0;
}
