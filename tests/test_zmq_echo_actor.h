/*  test_zmq_echo_actor.h - a CurveCP echo server in a zactor, for the ØMQ
    carrier tests. It runs curvecp_zmq_server under zpoller (the pollable
    socket, the timeout, the handler) and answers each message with the
    same frames preceded by the sender's key as the server saw it (hex)
    and the server name (and, when property is set, the ZAP user id and
    that metadata property, or "-"). Commands on the pipe: "STATS" -> "dropped
    peers accepted refused"; "ZAP" -> "requests allowed denied timed_out
    full late malformed authorising held_dropped"; "ALLOW" -> "loads files_read
    scans" of the allow-list (0 0 0 without one); "$TERM" ends it.                   */
#ifndef TEST_ZMQ_ECHO_ACTOR_H_INCLUDED
#define TEST_ZMQ_ECHO_ACTOR_H_INCLUDED

#include <czmq.h>
#include "curvecp_zmq_server.h"

typedef struct {
    curvecp_keypair_t keys;
    const char *name;
    char endpoint[128];
    int sndhwm, sndbuf;              /* 0 = ØMQ defaults */
    const char *allow_directory;     /* NULL = no allow-list */
    const char *zap_domain;          /* NULL = no ZAP */
    const char *zap_mechanism;
    int zap_timeout_ms;              /* 0 = 1000 */
    size_t max_authorising;          /* 0 = the server's default */
    const char *property;            /* non-NULL: echo the user id and this property too */
    int port;                        /* set once bound */
    curvecp_authorise_fn *authoriser;   /* non-NULL: a live allow-list */
    void *authoriser_arg;
} echo_args_t;

static void
echo_actor (zsock_t *pipe, void *arg)
{
    echo_args_t *args = (echo_args_t *) arg;
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&args->keys, args->name);
    if (args->sndhwm)
        zsock_set_sndhwm (curvecp_zmq_server_sock (server), args->sndhwm);
    if (args->sndbuf)
        zsock_set_sndbuf (curvecp_zmq_server_sock (server), args->sndbuf);
    if (args->allow_directory)
        curvecp_zmq_server_allow_directory (server, args->allow_directory);
    if (args->zap_domain)
        curvecp_zmq_server_set_zap (server, args->zap_domain, args->zap_mechanism,
                                args->zap_timeout_ms ? args->zap_timeout_ms : 1000);
    if (args->authoriser)
        curvecp_zmq_server_set_authoriser (server, args->authoriser, args->authoriser_arg);
    if (args->max_authorising)
        curvecp_zmq_server_set_max_authorising (server, args->max_authorising);
    /* a fixed port a previous server just had may wait for libzmq's
       reaper thread to close that socket */
    args->port = curvecp_zmq_server_bind (server, args->endpoint);
    for (int tries = 0; args->port < 0 && tries < 100; tries++) {
        zclock_sleep (20);
        args->port = curvecp_zmq_server_bind (server, args->endpoint);
    }
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, curvecp_zmq_server_sock (server), NULL);
    if (curvecp_zmq_server_zap_sock (server))
        zpoller_add (poller, curvecp_zmq_server_zap_sock (server));
    bool done = false;
    while (!done) {
        int timeout = curvecp_zmq_server_timeout (server);
        void *which = zpoller_wait (poller, timeout < 0 || timeout > 100 ? 100 : timeout);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            if (!command || streq (command, "$TERM"))
                done = true;
            else
            if (streq (command, "STATS")) {
                const curvecp_stats_t *stats = curvecp_zmq_server_stats (server);
                zstr_sendf (pipe, "%llu %zu %llu %llu", (unsigned long long) curvecp_zmq_server_dropped (server),
                            curvecp_zmq_server_peers (server), (unsigned long long) stats->counts[CURVECP_OK],
                            (unsigned long long) curvecp_stats_rejected (stats));
            }
            else
            if (streq (command, "ALLOW")) {
                curvecp_zmq_allow_t *allow = curvecp_zmq_server_allow_list (server);
                zstr_sendf (pipe, "%llu %llu %llu",
                            (unsigned long long) (allow ? curvecp_zmq_allow_loads (allow) : 0),
                            (unsigned long long) (allow ? curvecp_zmq_allow_files_read (allow) : 0),
                            (unsigned long long) (allow ? curvecp_zmq_allow_scans (allow) : 0));
            }
            else
            if (streq (command, "ZAP")) {
                const curvecp_zmq_server_zap_stats_t *zap = curvecp_zmq_server_zap_stats (server);
                zstr_sendf (pipe, "%llu %llu %llu %llu %llu %llu %llu %zu %llu", (unsigned long long) zap->requests,
                            (unsigned long long) zap->allowed, (unsigned long long) zap->denied,
                            (unsigned long long) zap->timed_out, (unsigned long long) zap->full,
                            (unsigned long long) zap->late, (unsigned long long) zap->malformed,
                            curvecp_zmq_server_authorising (server), (unsigned long long) zap->held_dropped);
            }
            zstr_free (&command);
            continue;
        }
        curvecp_zmq_server_handle (server);
        zmsg_t *msg;
        while ((msg = curvecp_zmq_server_recv_nowait (server)) != NULL) {
            char hex[65];
            curvecp_key_to_hex (curvecp_zmq_server_peer_key (server), hex);
            if (args->property) {
                const char *role = curvecp_zmq_server_peer_property (server, args->property);
                zmsg_pushstr (msg, role ? role : "-");
                zmsg_pushstr (msg, curvecp_zmq_server_peer_user_id (server));
            }
            zmsg_pushstr (msg, curvecp_zmq_server_peer_name (server));
            zmsg_pushstr (msg, hex);
            if (curvecp_zmq_server_reply (server, &msg) != 0) {
                fprintf (stderr, "echo: reply failed\n");
                exit (1);
            }
        }
    }
    zpoller_destroy (&poller);
    curvecp_zmq_server_destroy (&server);
}

/* Ask the actor for its numbers. */
static void
echo_stats (zactor_t *actor, unsigned long long *dropped, size_t *peers, unsigned long long *accepted,
            unsigned long long *refused)
{
    zstr_send (actor, "STATS");
    char *reply = zstr_recv (actor);
    if (!reply || sscanf (reply, "%llu %zu %llu %llu", dropped, peers, accepted, refused) != 4) {
        fprintf (stderr, "echo actor: no STATS reply\n");
        exit (1);
    }
    zstr_free (&reply);
}

/* Ask the actor about its allow-list. */
static inline void
echo_allow (zactor_t *actor, unsigned long long *loads, unsigned long long *files_read, unsigned long long *scans)
{
    zstr_send (actor, "ALLOW");
    char *reply = zstr_recv (actor);
    if (!reply || sscanf (reply, "%llu %llu %llu", loads, files_read, scans) != 3) {
        fprintf (stderr, "echo actor: no ALLOW reply\n");
        exit (1);
    }
    zstr_free (&reply);
}

/* Ask the actor for its ZAP numbers. */
typedef struct {
    unsigned long long requests, allowed, denied, timed_out, full, late, malformed;
    size_t authorising;
    unsigned long long held_dropped;
} echo_zap_t;

static inline void
echo_zap (zactor_t *actor, echo_zap_t *zap)
{
    zstr_send (actor, "ZAP");
    char *reply = zstr_recv (actor);
    if (!reply || sscanf (reply, "%llu %llu %llu %llu %llu %llu %llu %zu %llu", &zap->requests, &zap->allowed,
                          &zap->denied, &zap->timed_out, &zap->full, &zap->late, &zap->malformed,
                          &zap->authorising, &zap->held_dropped) != 9) {
        fprintf (stderr, "echo actor: no ZAP reply\n");
        exit (1);
    }
    zstr_free (&reply);
}

#endif
