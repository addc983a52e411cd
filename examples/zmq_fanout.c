/*  zmq_fanout.c - secured fan-out: one publisher, three subscribers, one
    of them revoked mid-run, shown to stop reading.

    The publisher (curvecp_zmq_pub) seals each tick once for everyone and
    signs it; each subscriber (curvecp_zmq_sub, in its own thread, served
    by a zloop) took the epoch keys over its own CurveCP session. After
    tick 5 the publisher revokes carol: a new epoch starts, its keys go to
    alice and bob only, and carol, still connected to the PUB socket,
    receives the later ticks but can open none of them.

        zmq-fanout          (ends by itself; prints "zmq-fanout: OK")

    Public API only (curvecp_zmq_all.h), as an application would write it. */
#include <curvecp_zmq_all.h>
#include <stdio.h>
#include <string.h>

#define NAME  "fanout.example.com"
#define TICKS 10
#define REVOKE_AFTER 5

typedef struct {
    const char *name;
    curvecp_keypair_t keys;
    uint8_t pub_key[CURVECP_KEY_BYTES];
    char key_endpoint[64], data_endpoint[64];
    int read;
} reader_t;

/* A subscriber's zloop callback: one whole message [topic][body]. */
static int
on_tick (curvecp_zmq_sub_t *sub, zmsg_t **msg_p, uint64_t gap, bool is_reply, void *arg)
{
    (void) sub;
    reader_t *reader = (reader_t *) arg;
    if (is_reply)
        return 0;
    char *topic = zmsg_popstr (*msg_p), *body = zmsg_popstr (*msg_p);
    printf ("%-5s reads %s: %s%s\n", reader->name, topic, body, gap ? " (after a gap)" : "");
    fflush (stdout);
    reader->read++;
    zstr_free (&topic);
    zstr_free (&body);
    return 0;
}

/* The actor's pipe: "REPORT" asks for the counts, $TERM ends the loop. */
static int
on_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop;
    curvecp_zmq_sub_t *sub = (curvecp_zmq_sub_t *) arg;
    char *command = zstr_recv (pipe);
    int rc = 0;
    if (!command || streq (command, "$TERM"))
        rc = -1;
    else
    if (streq (command, "REPORT")) {
        const curvecp_zmq_sub_stats_t *stats = curvecp_zmq_sub_stats (sub);
        zstr_sendf (pipe, "%llu %llu %s", (unsigned long long) stats->delivered,
                    (unsigned long long) stats->no_key,
                    curvecp_zmq_sub_denied (sub) ? curvecp_zmq_sub_deny_reason (sub) : "-");
    }
    zstr_free (&command);
    return rc;
}

static void
reader_actor (zsock_t *pipe, void *args)
{
    reader_t *reader = (reader_t *) args;
    curvecp_zmq_sub_t *sub = curvecp_zmq_sub_new (&reader->keys, reader->pub_key, NAME);
    zloop_t *loop = zloop_new ();
    if (!sub || !loop || curvecp_zmq_sub_connect (sub, reader->key_endpoint, reader->data_endpoint) != 0
    ||  curvecp_zmq_sub_subscribe (sub, "tick") != 0) {
        zsock_signal (pipe, 1);
        curvecp_zmq_sub_destroy (&sub);
        zloop_destroy (&loop);
        return;
    }
    zloop_reader (loop, pipe, on_pipe, sub);
    curvecp_zmq_sub_attach (sub, loop, on_tick, reader);
    zsock_signal (pipe, 0);
    zloop_start (loop);
    curvecp_zmq_sub_destroy (&sub);     /* before the loop: it detaches itself */
    zloop_destroy (&loop);
}

/* Serve the key channel until cond holds or msecs pass. */
static bool
serve_until (curvecp_zmq_pub_t *pub, int msecs, bool (*cond) (curvecp_zmq_pub_t *, const void *), const void *arg)
{
    uint64_t until = curvecp_clock_now () + (uint64_t) msecs * 1000000ull;
    while (!cond (pub, arg) && curvecp_clock_now () < until)
        curvecp_zmq_pub_serve (pub, 5);
    return cond (pub, arg);
}

static bool
all_joined (curvecp_zmq_pub_t *pub, const void *arg)
{
    return curvecp_zmq_pub_info (pub)->subscribers == *(const size_t *) arg;
}

static bool
epoch_after (curvecp_zmq_pub_t *pub, const void *arg)
{
    return curvecp_zmq_pub_info (pub)->epoch > *(const uint64_t *) arg;
}

static bool
never (curvecp_zmq_pub_t *pub, const void *arg)
{
    (void) pub; (void) arg;
    return false;
}

int
main (void)
{
    zsys_init ();
    curvecp_keypair_t pub_keys;
    curvecp_keypair_generate (&pub_keys);
    curvecp_zmq_pub_t *pub = curvecp_zmq_pub_new (&pub_keys, NAME);
    int key_port = pub ? curvecp_zmq_pub_bind_keys (pub, "tcp://127.0.0.1:*") : -1;
    int data_port = pub ? curvecp_zmq_pub_bind_data (pub, "tcp://127.0.0.1:*") : -1;
    if (key_port <= 0 || data_port <= 0) {
        fprintf (stderr, "zmq-fanout: cannot start the publisher\n");
        return 1;
    }
    reader_t readers[3] = { { .name = "alice" }, { .name = "bob" }, { .name = "carol" } };
    zactor_t *actors[3];
    for (int i = 0; i < 3; i++) {
        curvecp_keypair_generate (&readers[i].keys);
        memcpy (readers[i].pub_key, pub_keys.public_key, CURVECP_KEY_BYTES);
        snprintf (readers[i].key_endpoint, sizeof readers[i].key_endpoint, "tcp://127.0.0.1:%d", key_port);
        snprintf (readers[i].data_endpoint, sizeof readers[i].data_endpoint, "tcp://127.0.0.1:%d", data_port);
        actors[i] = zactor_new (reader_actor, &readers[i]);
    }
    size_t three = 3;
    if (!serve_until (pub, 5000, all_joined, &three)) {
        fprintf (stderr, "zmq-fanout: the subscribers did not join\n");
        return 1;
    }
    serve_until (pub, 300, never, NULL);        /* the SUB connections settle */
    printf ("publisher: 3 subscribers hold the keys of epoch %llu\n",
            (unsigned long long) curvecp_zmq_pub_info (pub)->epoch);
    for (int tick = 1; tick <= TICKS; tick++) {
        char body[32];
        snprintf (body, sizeof body, "tick %d", tick);
        curvecp_zmq_pub_send_str (pub, "tick", body);
        serve_until (pub, 100, never, NULL);
        if (tick == REVOKE_AFTER) {
            uint64_t epoch = curvecp_zmq_pub_info (pub)->epoch;
            curvecp_zmq_pub_revoke (pub, readers[2].keys.public_key);
            serve_until (pub, 1000, epoch_after, &epoch);
            printf ("publisher: revoked carol; epoch %llu -> %llu in %.1f ms, keys to %zu subscribers\n",
                    (unsigned long long) epoch, (unsigned long long) curvecp_zmq_pub_info (pub)->epoch,
                    curvecp_zmq_pub_info (pub)->last_switch_ns / 1e6, curvecp_zmq_pub_info (pub)->subscribers);
        }
    }
    serve_until (pub, 300, never, NULL);
    bool ok = true;
    for (int i = 0; i < 3; i++) {
        zstr_send (actors[i], "REPORT");
        char *report = zstr_recv (actors[i]);
        unsigned long long read = 0, refused = 0;
        char denied[64] = "-";
        if (report)
            sscanf (report, "%llu %llu %63s", &read, &refused, denied);
        printf ("%s read %llu ticks, refused %llu it had no key for%s%s\n", readers[i].name, read, refused,
                streq (denied, "-") ? "" : ", denied: ", streq (denied, "-") ? "" : denied);
        ok = ok && read == (i < 2 ? TICKS : REVOKE_AFTER) && (i < 2 || refused == TICKS - REVOKE_AFTER);
        zstr_free (&report);
        zactor_destroy (&actors[i]);
    }
    curvecp_zmq_pub_destroy (&pub);
    printf ("zmq-fanout: %s\n", ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
