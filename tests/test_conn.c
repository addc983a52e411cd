/*  test_conn.c - the core connection (src/core/curvecp_conn.c) on its own:
    two connections joined in memory under a virtual clock, the server's
    made either from a listener-style accepted session or self-accepting.
    Covers the byte stream both ways with EOFs, close and linger, every
    failure rule (handshake timeout with and without a Cookie, idle, the
    message layer's give-up, the client's re-handshake), the keepalive of
    an idle connection, message mode, the
    authoriser, and bad input: refused with its reason, counted, no state
    change.                                                               */
#include <sodium.h>
#include "curvecp_conn.h"
#include "curvecp_packet.h"
#include "testutil.h"

#define MS     1000000ull
#define SECOND 1000000000ull
#define NAME   "conn.example.com"

typedef struct {
    curvecp_keypair_t server_keys, client_keys;
    curvecp_hs_server_t *handshake;     /* the listener's part, for accepted servers */
    curvecp_conn_t *client, *server;
    curvecp_conn_config_t client_config, server_config;
    bool self_accepting;
    bool drop_up, drop_down;            /* lose everything in that direction */
    uint64_t now;
    uint8_t last_down[CURVECP_PACKET_MAX];   /* the last packet to the client */
    size_t last_down_len;
    uint8_t last_up[CURVECP_PACKET_MAX];
    size_t last_up_len;
} net_t;

static void
net_init (net_t *net, bool self_accepting)
{
    memset (net, 0, sizeof *net);
    net->now = 1000 * SECOND;
    curvecp_keypair_generate (&net->server_keys);
    curvecp_keypair_generate (&net->client_keys);
    curvecp_conn_config_default (&net->client_config);
    curvecp_conn_config_default (&net->server_config);
    net->self_accepting = self_accepting;
}

static void
net_start (net_t *net)
{
    net->client = curvecp_conn_new_client (&net->client_config, &net->client_keys, net->server_keys.public_key,
                                           NAME, NULL, NULL, net->now);
    CHECK (net->client);
    if (net->self_accepting) {
        const char *names[] = { NAME, NULL };
        net->server = curvecp_conn_new_server_alone (&net->server_config, &net->server_keys, NULL, names, net->now);
        CHECK (net->server);
    }
    else {
        net->handshake = curvecp_hs_server_new (&net->server_keys, (const uint8_t *) "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
                                                net->now, NULL);
        CHECK (net->handshake);
        CHECK_EQ (curvecp_hs_server_add_name (net->handshake, NAME), 0);
    }
}

static void
net_destroy (net_t *net)
{
    curvecp_conn_destroy (&net->client);
    curvecp_conn_destroy (&net->server);
    curvecp_hs_server_destroy (&net->handshake);
    CHECK (net->client == NULL && net->server == NULL);
}

/* A packet up to the server: the accepted path answers Hellos and makes
   the connection from an Initiate, as a listener would. */
static void
to_server (net_t *net, const uint8_t *packet, size_t len)
{
    memcpy (net->last_up, packet, len);
    net->last_up_len = len;
    if (net->drop_up)
        return;
    if (net->server) {
        curvecp_conn_input (net->server, packet, len, net->now);
        return;
    }
    curvecp_packet_type_t type;
    CHECK_EQ (curvecp_packet_classify_at_server (packet, len, curvecp_hs_server_ext (net->handshake), &type),
              CURVECP_OK);
    if (type == CURVECP_PACKET_HELLO) {
        uint8_t cookie[CURVECP_COOKIE_BYTES];
        CHECK_EQ (curvecp_hs_server_hello (net->handshake, packet, len, net->now, cookie), CURVECP_OK);
        if (!net->drop_down)
            curvecp_conn_input (net->client, cookie, sizeof cookie, net->now);
        return;
    }
    CHECK_EQ (type, CURVECP_PACKET_INITIATE);
    curvecp_session_t session;
    curvecp_initiate_info_t first;
    uint8_t scratch[CURVECP_INITIATE_INNER_BASE + CURVECP_INITIATE_MSG_MAX];
    CHECK_EQ (curvecp_hs_server_initiate (net->handshake, packet, len, net->now, &session, scratch, &first),
              CURVECP_OK);
    net->server = curvecp_conn_new_accepted (&net->server_config, &session, net->now);
    CHECK (net->server);
    curvecp_session_wipe (&session);
    curvecp_conn_deliver (net->server, first.message, first.message_len, net->now);
}

/* Everything both sides have due now, delivered (or dropped). */
static int
net_exchange (net_t *net)
{
    uint8_t packet[CURVECP_PACKET_MAX];
    int moved = 0;
    for (int round = 0; round < 1000; round++) {
        size_t len;
        int before = moved;
        while ((len = curvecp_conn_output (net->client, net->now, packet, sizeof packet)) > 0) {
            to_server (net, packet, len);
            moved++;
        }
        while (net->server && (len = curvecp_conn_output (net->server, net->now, packet, sizeof packet)) > 0) {
            memcpy (net->last_down, packet, len);
            net->last_down_len = len;
            if (!net->drop_down)
                curvecp_conn_input (net->client, packet, len, net->now);
            moved++;
        }
        if (moved == before)
            break;
    }
    return moved;
}

static uint64_t
earliest (uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Jump the clock to the next deadline (at most limit ahead) and exchange. */
static void
net_step (net_t *net, uint64_t limit)
{
    net_exchange (net);
    uint64_t next = curvecp_conn_deadline (net->client);
    if (net->server)
        next = earliest (next, curvecp_conn_deadline (net->server));
    if (next > net->now + limit)
        next = net->now + limit;
    if (next > net->now)
        net->now = next;
    net_exchange (net);
}

static void
write_all (curvecp_conn_t *conn, const uint8_t *data, size_t len, size_t *written)
{
    *written += curvecp_conn_write (conn, data + *written, len - *written);
}

static void
read_all (curvecp_conn_t *conn, uint8_t *buf, size_t cap, size_t *got)
{
    *got += curvecp_conn_read (conn, buf + *got, cap - *got);
}

/* 200 kB each way with success EOFs; both sides done; close and linger. */
static void
test_stream_both_ways (bool self_accepting)
{
    net_t net;
    net_init (&net, self_accepting);
    net_start (&net);
    enum { SIZE = 200000 };
    static uint8_t up[SIZE], down[SIZE], got_up[SIZE], got_down[SIZE];
    randombytes_buf (up, SIZE);
    randombytes_buf (down, SIZE);
    size_t up_written = 0, down_written = 0, up_got = 0, down_got = 0;
    /* the client writes before the handshake: the stream holds it */
    write_all (net.client, up, SIZE, &up_written);
    CHECK (up_written > 0);
    CHECK (!curvecp_conn_has_session (net.client));
    for (int i = 0; i < 100000 && !(curvecp_conn_done (net.client) && net.server && curvecp_conn_done (net.server)); i++) {
        write_all (net.client, up, SIZE, &up_written);
        if (up_written == SIZE)
            curvecp_conn_shutdown (net.client, CURVECP_EOF_SUCCESS);
        if (net.server) {
            write_all (net.server, down, SIZE, &down_written);
            if (down_written == SIZE)
                curvecp_conn_shutdown (net.server, CURVECP_EOF_SUCCESS);
            read_all (net.server, got_up, SIZE, &up_got);
        }
        read_all (net.client, got_down, SIZE, &down_got);
        net_step (&net, 100 * MS);
    }
    CHECK_EQ (up_got, SIZE);
    CHECK_EQ (down_got, SIZE);
    CHECK_MEM (got_up, up, SIZE);
    CHECK_MEM (got_down, down, SIZE);
    CHECK_EQ (curvecp_conn_received_eof (net.client), CURVECP_EOF_SUCCESS);
    CHECK_EQ (curvecp_conn_received_eof (net.server), CURVECP_EOF_SUCCESS);
    CHECK_EQ (curvecp_conn_state (net.client), CURVECP_CONN_OPEN);
    CHECK (curvecp_conn_established (net.client));
    CHECK_MEM (curvecp_conn_peer_key (net.server), net.client_keys.public_key, 32);
    CHECK_MEM (curvecp_conn_client_key (net.client), net.client_keys.public_key, 32);
    CHECK_MEM (curvecp_conn_client_short_key (net.server), curvecp_conn_client_short_key (net.client), 32);
    CHECK (strcmp (curvecp_conn_server_name (net.server), NAME) == 0);
    CHECK_EQ (curvecp_stats_rejected (curvecp_conn_stats (net.client)), 0);
    CHECK_EQ (curvecp_stats_rejected (curvecp_conn_stats (net.server)), 0);
    /* closed and done: finished only after the linger */
    curvecp_conn_close (net.server);
    curvecp_conn_tick (net.server, net.now);
    CHECK (!curvecp_conn_finished (net.server));
    curvecp_conn_tick (net.server, net.now + net.server_config.linger_ns - 1);
    CHECK (!curvecp_conn_finished (net.server));
    curvecp_conn_tick (net.server, net.now + net.server_config.linger_ns);
    CHECK (curvecp_conn_finished (net.server));
    CHECK_EQ (curvecp_conn_state (net.server), CURVECP_CONN_OPEN);    /* a clean end, not a failure */
    net_destroy (&net);
}

/* The server never answers: the Hello schedule ends in a failure that
   says no Cookie came; with a handshake timeout, at that timeout. */
static void
test_no_server (void)
{
    net_t net;
    net_init (&net, false);
    net_start (&net);
    net.drop_up = true;
    uint64_t start = net.now;
    while (curvecp_conn_state (net.client) != CURVECP_CONN_FAILED && net.now < start + 600 * SECOND)
        net_step (&net, 10 * SECOND);
    uint64_t hellos = curvecp_conn_info (net.client)->packets_out;
    CHECK_EQ (curvecp_conn_failure (net.client), CURVECP_CONN_HANDSHAKE_TIMEOUT);
    CHECK (strstr (curvecp_conn_error (net.client), "no Cookie"));
    CHECK_EQ (hellos, 8);                       /* NaCl's schedule: 8 Hellos */
    CHECK (net.now - start > 30 * SECOND);      /* ... spread over about a minute */
    CHECK_EQ (curvecp_conn_deadline (net.client), UINT64_MAX);
    CHECK_EQ (curvecp_conn_write (net.client, (const uint8_t *) "x", 1), 0);
    net_destroy (&net);

    net_init (&net, false);
    net.client_config.handshake_timeout_ns = 3 * SECOND;
    net_start (&net);
    net.drop_up = true;
    start = net.now;
    while (curvecp_conn_state (net.client) != CURVECP_CONN_FAILED && net.now < start + 60 * SECOND)
        net_step (&net, 10 * SECOND);
    CHECK_EQ (curvecp_conn_failure (net.client), CURVECP_CONN_HANDSHAKE_TIMEOUT);
    CHECK_EQ (net.now, start + 3 * SECOND);
    net_destroy (&net);
}

/* A Cookie but the Initiates go unanswered (a server that refuses the
   client): the handshake timeout decides, and no re-handshake runs first
   even with a silence timeout shorter than it. */
static void
test_cookie_but_no_answer (void)
{
    net_t net;
    net_init (&net, true);
    net.client_config.handshake_timeout_ns = 10 * SECOND;
    net.client_config.silence_timeout_ns = 2 * SECOND;
    net_start (&net);
    curvecp_conn_write (net.client, (const uint8_t *) "hello", 5);
    uint8_t packet[CURVECP_PACKET_MAX];
    size_t len = curvecp_conn_output (net.client, net.now, packet, sizeof packet);
    CHECK_EQ (len, CURVECP_HELLO_BYTES);
    to_server (&net, packet, len);
    len = curvecp_conn_output (net.server, net.now, packet, sizeof packet);
    CHECK_EQ (len, CURVECP_COOKIE_BYTES);
    CHECK_EQ (curvecp_conn_input (net.client, packet, len, net.now), CURVECP_OK);
    CHECK (curvecp_conn_has_session (net.client));
    net.drop_up = true;                          /* every Initiate lost */
    uint64_t start = net.now;
    while (curvecp_conn_state (net.client) != CURVECP_CONN_FAILED && net.now < start + 60 * SECOND)
        net_step (&net, SECOND);
    CHECK_EQ (curvecp_conn_failure (net.client), CURVECP_CONN_HANDSHAKE_TIMEOUT);
    CHECK (strstr (curvecp_conn_error (net.client), "Cookie but never answered"));
    CHECK_EQ (curvecp_conn_info (net.client)->rehandshakes, 0);
    net_destroy (&net);
}

/* The server hears nothing for its idle timeout. */
static void
test_idle (void)
{
    net_t net;
    net_init (&net, false);
    net.server_config.idle_timeout_ns = 30 * SECOND;
    net_start (&net);
    curvecp_conn_write (net.client, (const uint8_t *) "ping", 4);
    for (int i = 0; i < 50 && !net.server; i++)
        net_step (&net, 100 * MS);
    CHECK (net.server);
    net.drop_up = true;
    uint64_t start = net.now;
    while (curvecp_conn_state (net.server) != CURVECP_CONN_FAILED && net.now < start + 120 * SECOND)
        net_step (&net, SECOND);
    CHECK_EQ (curvecp_conn_failure (net.server), CURVECP_CONN_IDLE);
    CHECK (net.now <= start + 31 * SECOND);
    CHECK (curvecp_conn_finished (net.server));
    net_destroy (&net);
}

/* An accepted server whose client never confirms (Initiates only, no
   Client Message) fails at its confirm timeout; one that confirms does not. */
static void
test_unconfirmed (void)
{
    net_t net;
    net_init (&net, false);
    net.server_config.confirm_timeout_ns = 10 * SECOND;
    net_start (&net);
    curvecp_conn_write (net.client, (const uint8_t *) "only Initiates", 14);
    uint8_t hello[CURVECP_PACKET_MAX];
    size_t len = curvecp_conn_output (net.client, net.now, hello, sizeof hello);
    CHECK_EQ (len, CURVECP_HELLO_BYTES);
    to_server (&net, hello, len);               /* the Cookie reaches the client */
    CHECK (curvecp_conn_has_session (net.client));
    net.drop_down = true;                       /* then it never hears the server again */
    for (int i = 0; i < 50 && !net.server; i++)
        net_step (&net, 100 * MS);
    CHECK (net.server);
    uint64_t start = net.now;
    while (curvecp_conn_state (net.server) != CURVECP_CONN_FAILED && net.now < start + 60 * SECOND)
        net_step (&net, SECOND);
    CHECK_EQ (curvecp_conn_failure (net.server), CURVECP_CONN_HANDSHAKE_TIMEOUT);
    CHECK (strstr (curvecp_conn_error (net.server), "never confirmed"));
    CHECK (net.now <= start + 10 * SECOND + 100 * MS);
    net_destroy (&net);

    net_init (&net, false);
    net.server_config.confirm_timeout_ns = 10 * SECOND;
    net_start (&net);
    curvecp_conn_write (net.client, (const uint8_t *) "hello", 5);
    for (int i = 0; i < 50 && !(net.server && curvecp_conn_established (net.client)); i++)
        net_step (&net, 100 * MS);
    curvecp_conn_write (net.client, (const uint8_t *) "confirmed", 9);
    start = net.now;
    while (net.now < start + 30 * SECOND)
        net_step (&net, SECOND);
    CHECK_EQ (curvecp_conn_state (net.server), CURVECP_CONN_OPEN);
    net_destroy (&net);
}

/* Data outstanding and the server gone: without a silence timeout the
   message layer's give-up fails the client; with one the client makes a
   new handshake (a new generation) and talks to a new server. */
static void
test_give_up_and_rehandshake (void)
{
    net_t net;
    net_init (&net, false);
    net_start (&net);
    curvecp_conn_write (net.client, (const uint8_t *) "first", 5);
    for (int i = 0; i < 50 && !curvecp_conn_established (net.client); i++)
        net_step (&net, 100 * MS);
    CHECK (curvecp_conn_established (net.client));
    net.drop_up = true;
    curvecp_conn_write (net.client, (const uint8_t *) "second", 6);
    uint64_t start = net.now;
    while (curvecp_conn_state (net.client) != CURVECP_CONN_FAILED && net.now < start + 600 * SECOND) {
        net_step (&net, 10 * SECOND);
        /* a give-up found while producing must fail the connection then,
           or at least be due: an owner that sleeps until the deadline
           would otherwise never see it (the tools hung or exited 0) */
        const curvecp_stream_t *stream = curvecp_conn_stream (net.client);
        if (stream && curvecp_stream_failed (stream))
            CHECK (curvecp_conn_state (net.client) == CURVECP_CONN_FAILED
                || curvecp_conn_deadline (net.client) <= net.now);
    }
    CHECK_EQ (curvecp_conn_failure (net.client), CURVECP_CONN_PEER_SILENT);
    CHECK (curvecp_conn_finished (net.client));
    net_destroy (&net);

    net_init (&net, false);
    net.client_config.silence_timeout_ns = 5 * SECOND;
    net_start (&net);
    curvecp_conn_write (net.client, (const uint8_t *) "first", 5);
    for (int i = 0; i < 50 && !curvecp_conn_established (net.client); i++)
        net_step (&net, 100 * MS);
    CHECK (curvecp_conn_established (net.client));
    CHECK_EQ (curvecp_conn_generation (net.client), 0);
    uint8_t old_short[32];
    memcpy (old_short, curvecp_conn_client_short_key (net.client), 32);
    /* the server restarts and forgets: its connection is gone */
    curvecp_conn_destroy (&net.server);
    net.drop_up = true;
    curvecp_conn_write (net.client, (const uint8_t *) "second", 6);
    start = net.now;
    while (curvecp_conn_generation (net.client) == 0 && net.now < start + 60 * SECOND)
        net_step (&net, SECOND);
    CHECK_EQ (curvecp_conn_generation (net.client), 1);
    CHECK_EQ (curvecp_conn_info (net.client)->rehandshakes, 1);
    CHECK (net.now <= start + 6 * SECOND);
    CHECK_EQ (curvecp_conn_state (net.client), CURVECP_CONN_HANDSHAKE);
    CHECK (memcmp (old_short, curvecp_conn_client_short_key (net.client), 32) != 0);
    /* a new handshake with the (new) server, and the new stream works */
    net.drop_up = false;
    curvecp_conn_write (net.client, (const uint8_t *) "again", 5);
    for (int i = 0; i < 100 && !(net.server && curvecp_conn_readable (net.server) >= 5); i++)
        net_step (&net, 100 * MS);
    uint8_t buf[16];
    CHECK_EQ (curvecp_conn_read (net.server, buf, sizeof buf), 5);
    CHECK_MEM (buf, "again", 5);
    net_destroy (&net);
}

/* Bad input changes nothing: forged, replayed, truncated, late Cookie. */
static void
test_bad_input (void)
{
    net_t net;
    net_init (&net, false);
    net_start (&net);
    curvecp_conn_write (net.client, (const uint8_t *) "data", 4);
    for (int i = 0; i < 50 && !(net.server && curvecp_conn_established (net.client)); i++)
        net_step (&net, 100 * MS);
    CHECK (curvecp_conn_established (net.client));
    curvecp_conn_write (net.server, (const uint8_t *) "reply", 5);
    net.drop_down = true;
    net_exchange (&net);                          /* the reply is in last_down, not delivered */
    net.drop_down = false;
    uint8_t packet[CURVECP_PACKET_MAX];
    size_t len = net.last_down_len;
    CHECK (len > 0);
    const curvecp_stats_t *stats = curvecp_conn_stats (net.client);
    size_t readable = curvecp_conn_readable (net.client);

    memcpy (packet, net.last_down, len);
    packet[len - 1] ^= 1;
    CHECK_EQ (curvecp_conn_input (net.client, packet, len, net.now), CURVECP_E_BAD_MESSAGE_BOX);
    CHECK_EQ (stats->counts[CURVECP_E_BAD_MESSAGE_BOX], 1);
    CHECK_EQ (curvecp_conn_input (net.client, net.last_down, 40, net.now), CURVECP_E_TOO_SHORT);
    CHECK_EQ (curvecp_conn_input (net.client, NULL, 0, net.now), CURVECP_E_BAD_ARGUMENT);
    CHECK_EQ (curvecp_conn_readable (net.client), readable);
    /* the real one opens once, then it is a replay */
    CHECK_EQ (curvecp_conn_input (net.client, net.last_down, len, net.now), CURVECP_OK);
    CHECK_EQ (curvecp_conn_readable (net.client), readable + 5);
    CHECK_EQ (curvecp_conn_input (net.client, net.last_down, len, net.now), CURVECP_E_REPLAYED_NONCE);
    CHECK_EQ (curvecp_conn_readable (net.client), readable + 5);
    /* a Hello at a client, a server packet of another connection at the server */
    CHECK (curvecp_conn_input (net.server, net.last_down, len, net.now) != CURVECP_OK);
    uint64_t ok_before = stats->counts[CURVECP_OK];
    CHECK_EQ (stats->counts[CURVECP_E_REPLAYED_NONCE], 1);
    /* an accepted server has no handshake: a Hello is the wrong state */
    curvecp_conn_t *other = curvecp_conn_new_client (NULL, NULL, net.server_keys.public_key, NAME, NULL, NULL, net.now);
    CHECK (other);
    CHECK_EQ (curvecp_conn_output (other, net.now, packet, sizeof packet), CURVECP_HELLO_BYTES);
    CHECK_EQ (curvecp_conn_input (net.server, packet, CURVECP_HELLO_BYTES, net.now), CURVECP_E_WRONG_STATE);
    curvecp_conn_destroy (&other);
    /* a late Cookie */
    uint8_t cookie[CURVECP_COOKIE_BYTES] = { 0 };
    memcpy (cookie, "RL3aNMXK", 8);
    CHECK (curvecp_conn_input (net.client, cookie, sizeof cookie, net.now) != CURVECP_OK);
    CHECK_EQ (stats->counts[CURVECP_OK], ok_before);
    /* a failed connection takes nothing */
    curvecp_conn_fail (net.client, CURVECP_CONN_CLOSED, NULL);
    CHECK_EQ (curvecp_conn_input (net.client, net.last_down, len, net.now), CURVECP_E_WRONG_STATE);
    CHECK (strcmp (curvecp_conn_error (net.client), "closed") == 0);
    CHECK_EQ (curvecp_conn_output (net.client, net.now, packet, sizeof packet), 0);
    CHECK_EQ (curvecp_conn_output (net.client, net.now, packet, 100), 0);      /* too small a buffer */
    net_destroy (&net);
}

/* A request and its reply, everything acknowledged: an established pair
   with nothing left to say. */
static void
net_talk (net_t *net)
{
    curvecp_conn_write (net->client, (const uint8_t *) "request", 7);
    for (int i = 0; i < 50 && !(net->server && curvecp_conn_readable (net->server) == 7); i++)
        net_step (net, 100 * MS);
    CHECK (net->server);
    uint8_t buf[16];
    CHECK_EQ (curvecp_conn_read (net->server, buf, sizeof buf), 7);
    curvecp_conn_write (net->server, (const uint8_t *) "reply", 5);
    for (int i = 0; i < 50 && curvecp_conn_readable (net->client) < 5; i++)
        net_step (net, 100 * MS);
    CHECK_EQ (curvecp_conn_read (net->client, buf, sizeof buf), 5);
    CHECK (curvecp_conn_established (net->client));
    for (int i = 0; i < 50 && !(curvecp_conn_all_acked (net->client) && curvecp_conn_all_acked (net->server)); i++)
        net_step (net, 10 * MS);
    CHECK (curvecp_conn_all_acked (net->client) && curvecp_conn_all_acked (net->server));
}

/* The server's side of the stream, as far as keepalives could move it. */
typedef struct {
    uint64_t packets_out, messages_sent, acks_sent, blocks_sent;
    size_t readable;
} server_view_t;

static void
server_view (const net_t *net, server_view_t *view)
{
    const curvecp_stream_info_t *info = curvecp_stream_info (curvecp_conn_stream (net->server));
    view->packets_out = curvecp_conn_info (net->server)->packets_out;
    view->messages_sent = info->messages_sent;
    view->acks_sent = info->acks_sent;
    view->blocks_sent = info->blocks_sent;
    view->readable = curvecp_conn_readable (net->server);
}

/* count 4-byte writes from one side to the other, gap apart. */
static void
trickle (net_t *net, curvecp_conn_t *from, curvecp_conn_t *to, int count, uint64_t gap)
{
    for (int i = 0; i < count; i++) {
        curvecp_conn_write (from, (const uint8_t *) "tick", 4);
        for (uint64_t until = net->now + gap; net->now < until; )
            net_step (net, until - net->now);
        uint8_t buf[16];
        CHECK_EQ (curvecp_conn_read (to, buf, sizeof buf), 4);
    }
}

/* Neither side sends a packet for this long. */
static void
check_silent (net_t *net, uint64_t duration)
{
    uint64_t up = curvecp_conn_info (net->client)->packets_out;
    uint64_t down = curvecp_conn_info (net->server)->packets_out;
    for (uint64_t until = net->now + duration; net->now < until; )
        net_step (net, SECOND);
    CHECK_EQ (curvecp_conn_info (net->client)->packets_out, up);
    CHECK_EQ (curvecp_conn_info (net->server)->packets_out, down);
}

/* Keepalive: an idle established client sends one zero message per
   interval, at the deadline it announces; the server takes each (so it
   counts as heard) and answers none; nothing in the server's stream
   moves. None while data flows either way, none after close, none when
   off (the default). */
static void
test_keepalive (void)
{
    net_t net;
    net_init (&net, false);
    net.client_config.keepalive_ns = SECOND;
    net.server_config.idle_timeout_ns = 3 * SECOND;   /* kept alive by them */
    net_start (&net);
    net_talk (&net);

    /* data flowing down every 0.6 s for 6 s: the client's acknowledgments
       are packets out, so no keepalive between them; and up, every 0.9 s */
    trickle (&net, net.server, net.client, 10, 600 * MS);
    trickle (&net, net.client, net.server, 6, 900 * MS);
    CHECK_EQ (curvecp_conn_info (net.client)->keepalives, 0);

    /* idle: one client packet per second, exactly at its deadline */
    uint64_t out = curvecp_conn_info (net.client)->packets_out;
    uint64_t in = curvecp_conn_info (net.server)->packets_in;
    server_view_t before, after;
    server_view (&net, &before);
    uint64_t at = curvecp_conn_deadline (net.client);
    CHECK (at > net.now && at <= net.now + SECOND);
    for (int i = 1; i <= 10; i++) {
        if (i > 1)
            CHECK_EQ (curvecp_conn_deadline (net.client), at + SECOND);
        at = curvecp_conn_deadline (net.client);
        /* the server's own timers (freeing an idle buffer) send nothing */
        for (int j = 0; j < 10 && curvecp_conn_deadline (net.server) < at; j++) {
            net.now = curvecp_conn_deadline (net.server) > net.now ? curvecp_conn_deadline (net.server) : net.now;
            CHECK_EQ (net_exchange (&net), 0);
        }
        CHECK (curvecp_conn_deadline (net.server) >= at);
        net.now = at;
        net_exchange (&net);
        CHECK_EQ (curvecp_conn_info (net.client)->packets_out, out + (uint64_t) i);
        CHECK_EQ (curvecp_conn_info (net.client)->keepalives, (uint64_t) i);
        CHECK_EQ (net.last_up_len, CURVECP_CLIENT_MSG_BASE + 192);
        CHECK_EQ (curvecp_conn_info (net.server)->packets_in, in + (uint64_t) i);
        server_view (&net, &after);
        CHECK_MEM (&after, &before, sizeof before);  /* no reply, no ack, no data */
    }
    CHECK_EQ (curvecp_conn_state (net.server), CURVECP_CONN_OPEN);   /* its idle timeout never came */
    CHECK_EQ (curvecp_stats_rejected (curvecp_conn_stats (net.server)), 0);
    CHECK_EQ (curvecp_conn_received_eof (net.server), CURVECP_EOF_NONE);

    /* closed: the EOF is acknowledged, then silence */
    curvecp_conn_close (net.client);
    for (int i = 0; i < 50 && !curvecp_conn_all_acked (net.client); i++)
        net_step (&net, 100 * MS);
    CHECK (curvecp_conn_all_acked (net.client));
    check_silent (&net, 10 * SECOND);
    CHECK_EQ (curvecp_conn_info (net.client)->keepalives, 10);
    net_destroy (&net);

    /* the server ends its direction: nothing more can come, no keepalive */
    net_init (&net, false);
    net.client_config.keepalive_ns = SECOND;
    net_start (&net);
    net_talk (&net);
    curvecp_conn_shutdown (net.server, CURVECP_EOF_SUCCESS);
    for (int i = 0; i < 50 && curvecp_conn_received_eof (net.client) == CURVECP_EOF_NONE; i++) {
        net_step (&net, 100 * MS);
        curvecp_conn_read (net.client, NULL, curvecp_conn_readable (net.client));
    }
    CHECK_EQ (curvecp_conn_received_eof (net.client), CURVECP_EOF_SUCCESS);
    check_silent (&net, 10 * SECOND);
    net_destroy (&net);

    /* off (the default): an idle pair sends nothing */
    net_init (&net, true);
    CHECK_EQ (net.client_config.keepalive_ns, 0);
    net_start (&net);
    net_talk (&net);
    check_silent (&net, 60 * SECOND);
    CHECK_EQ (curvecp_conn_info (net.client)->keepalives, 0);
    CHECK_EQ (curvecp_conn_deadline (net.client), UINT64_MAX);
    net_destroy (&net);

    /* a failed connection sends none */
    net_init (&net, false);
    net.client_config.keepalive_ns = SECOND;
    net_start (&net);
    net_talk (&net);
    curvecp_conn_fail (net.client, CURVECP_CONN_CLOSED, NULL);
    CHECK_EQ (curvecp_conn_deadline (net.client), UINT64_MAX);
    uint8_t packet[CURVECP_PACKET_MAX];
    CHECK_EQ (curvecp_conn_output (net.client, net.now + 5 * SECOND, packet, sizeof packet), 0);
    CHECK_EQ (curvecp_conn_info (net.client)->keepalives, 0);
    net_destroy (&net);
}

/* Message mode: M to the callback, sealed one per packet; close ends it. */
typedef struct {
    uint8_t last[CURVECP_MSG_MAX];
    size_t last_len;
    int count;
} inbox_t;

static void
on_message (void *arg, const uint8_t *message, size_t len)
{
    inbox_t *inbox = (inbox_t *) arg;
    memcpy (inbox->last, message, len);
    inbox->last_len = len;
    inbox->count++;
}

static void
test_message_mode (void)
{
    net_t net;
    net_init (&net, true);
    inbox_t at_server = { { 0 }, 0, 0 }, at_client = { { 0 }, 0, 0 };
    net.server_config.on_message = on_message;
    net.server_config.on_message_arg = &at_server;
    net.client_config.on_message = on_message;
    net.client_config.on_message_arg = &at_client;
    net_start (&net);
    net_exchange (&net);                          /* Hello, Cookie */
    CHECK (curvecp_conn_has_session (net.client));
    CHECK (curvecp_conn_stream (net.client) == NULL);
    uint8_t message[64], packet[CURVECP_PACKET_MAX];
    size_t len;
    memset (message, 7, sizeof message);
    CHECK_EQ (curvecp_conn_seal_message (net.client, message, 24, packet, &len), CURVECP_E_NOT_MULTIPLE_16);
    CHECK_EQ (curvecp_conn_seal_message (net.client, message, sizeof message, packet, &len), CURVECP_OK);
    CHECK_EQ (curvecp_conn_input (net.server, packet, len, net.now), CURVECP_OK);     /* the Initiate */
    CHECK_EQ (at_server.count, 1);
    CHECK_EQ (at_server.last_len, sizeof message);
    CHECK_MEM (at_server.last, message, sizeof message);
    memset (message, 9, sizeof message);
    CHECK_EQ (curvecp_conn_seal_message (net.server, message, 32, packet, &len), CURVECP_OK);
    CHECK_EQ (curvecp_conn_input (net.client, packet, len, net.now), CURVECP_OK);
    CHECK_EQ (at_client.count, 1);
    CHECK_MEM (at_client.last, message, 32);
    CHECK (curvecp_conn_established (net.client));
    CHECK_EQ (curvecp_conn_output (net.client, net.now, packet, sizeof packet), 0);   /* nothing of its own */
    curvecp_conn_close (net.server);
    CHECK (curvecp_conn_finished (net.server));
    CHECK_EQ (curvecp_conn_failure (net.server), CURVECP_CONN_CLOSED);
    net_destroy (&net);
}

/* A self-accepting server's authoriser refuses the client. */
static bool
refuse (void *arg, const uint8_t client_key[CURVECP_KEY_BYTES], const char *server_name)
{
    (void) client_key;
    *(int *) arg += strcmp (server_name, NAME) == 0;
    return false;
}

static void
test_denied (void)
{
    net_t net;
    net_init (&net, true);
    net_start (&net);
    int asked = 0;
    curvecp_conn_set_authorizer (net.server, refuse, &asked);
    curvecp_conn_write (net.client, (const uint8_t *) "let me in", 9);
    net_step (&net, 100 * MS);
    CHECK_EQ (asked, 1);
    CHECK_EQ (curvecp_conn_failure (net.server), CURVECP_CONN_DENIED);
    CHECK (curvecp_conn_stream (net.server) == NULL);
    CHECK_EQ (curvecp_conn_stats (net.server)->counts[CURVECP_E_NOT_AUTHORISED], 1);
    CHECK_MEM (curvecp_conn_peer_key (net.server), net.client_keys.public_key, 32);
    net_destroy (&net);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_stream_both_ways (false);
    test_stream_both_ways (true);
    test_no_server ();
    test_cookie_but_no_answer ();
    test_idle ();
    test_unconfirmed ();
    test_give_up_and_rehandshake ();
    test_bad_input ();
    test_keepalive ();
    test_message_mode ();
    test_denied ();
    printf ("test_conn: all passed\n");
    return 0;
}
