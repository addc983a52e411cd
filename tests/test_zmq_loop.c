/*  test_zmq_loop.c - the ØMQ server and client in one zloop through
    curvecp_zmq_server_attach / curvecp_zmq_client_attach: whole messages reach
    the callbacks, echoes come back in order, the server's queued-send
    mode needs no help from the application, and an idle connection
    costs the loop (almost) nothing: no periodic tick, only the timer
    each side sets to its next deadline.                                */
#include <sodium.h>
#include "testutil.h"
#include "curvecp_zmq_client.h"
#include "curvecp_zmq_server.h"

#define NAME "loop.example.com"
#define ROUNDS 200

typedef struct {
    curvecp_zmq_client_t *client;
    int sent, echoed;
    bool in_order;
} state_t;

static void
send_next (state_t *state)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstrf (msg, "request %d", state->sent);
    zmsg_addmem (msg, "second frame", 12);
    CHECK_EQ (curvecp_zmq_client_send (state->client, &msg), 0);
    state->sent++;
}

static int
echo (curvecp_zmq_server_t *server, zmsg_t **msg_p, void *arg)
{
    (void) arg;
    CHECK_EQ (zmsg_size (*msg_p), 2);
    CHECK_EQ (curvecp_zmq_server_reply (server, msg_p), 0);
    return 0;
}

static int
on_echo (curvecp_zmq_client_t *client, zmsg_t **msg_p, void *arg)
{
    (void) client;
    state_t *state = (state_t *) arg;
    char *text = zmsg_popstr (*msg_p);
    char want[32];
    snprintf (want, sizeof want, "request %d", state->echoed);
    state->in_order = state->in_order && text && streq (text, want);
    zstr_free (&text);
    state->echoed++;
    if (state->echoed == ROUNDS)
        return -1;                      /* done: end the loop */
    send_next (state);
    return 0;
}

static int
give_up (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    *(bool *) arg = true;
    return -1;
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    curvecp_keypair_t keys;
    curvecp_keypair_generate (&keys);
    curvecp_zmq_server_t *server = curvecp_zmq_server_new (&keys, NAME);
    int port = curvecp_zmq_server_bind (server, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    curvecp_zmq_server_set_send_queue (server, 1u << 20);
    state_t state = { curvecp_zmq_client_new (NULL, keys.public_key, NAME), 0, 0, true };
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    CHECK_EQ (curvecp_zmq_client_connect (state.client, endpoint), 0);

    zloop_t *loop = zloop_new ();
    CHECK_EQ (curvecp_zmq_server_attach (server, loop, echo, NULL), 0);
    CHECK_EQ (curvecp_zmq_server_attach (server, loop, echo, NULL), -1);     /* one loop at a time */
    send_next (&state);
    CHECK_EQ (curvecp_zmq_client_attach (state.client, loop, on_echo, &state), 0);
    bool timed_out = false;
    int guard = zloop_timer (loop, 20000, 1, give_up, &timed_out);
    zloop_start (loop);
    zloop_timer_end (loop, guard);
    CHECK (!timed_out);
    CHECK_EQ (state.echoed, ROUNDS);
    CHECK (state.in_order);

    /* idle: the loop sleeps until a deadline, it does not tick */
    const curvecp_zmq_server_info_t *info = curvecp_zmq_server_info (server);
    uint64_t calls = info->calls;
    timed_out = false;
    zloop_timer (loop, 500, 1, give_up, &timed_out);
    zloop_start (loop);
    CHECK (timed_out);
    printf ("%d echoes in order; %llu server passes in 500 ms of idle loop\n", ROUNDS,
            (unsigned long long) (info->calls - calls));
    CHECK (info->calls - calls <= 10);   /* a 10 ms tick would make 50 */

    curvecp_zmq_client_detach (state.client);
    curvecp_zmq_server_detach (server);
    zloop_destroy (&loop);
    curvecp_zmq_client_destroy (&state.client);
    curvecp_zmq_server_destroy (&server);
    curvecp_keypair_wipe (&keys);
    printf ("test_zmq_loop: OK\n");
    return 0;
}
