/*  test_listener.c - the core listener, in memory, with real Hellos and
    Initiates made by curvecp_hs_client:

      1. a Hello is queued, answered by next_cookie to its source, and the
         Cookie opens at the client;
      2. a flood from one source fills the queue (the excess counted
         [overloaded]); another source's Hello still gets in and is
         answered second;
      3. the time budget per call (one Hello at least, then none once now
         is past it) and the rate cap (token bucket, its deadline);
      4. an Initiate is admitted: the session, first message, name index
         and client key come out, add registers the connection, its
         packets are routed to it, a Client Message confirms it, hold /
         release / remove keep the counts;
      5. each limit (connections, pending, pending memory, held) refuses
         [full], counted, with no state change: no entry, no replay-cache
         entry (the same Initiate is admitted once the limit is lifted);
         the per-call bound refuses [overloaded];
      6. a replayed Initiate (after its connection went), a Hello for
         another extension, truncated, oversized and garbage packets, a
         Message for no connection, a source too long: each dropped and
         counted under its reason, nothing else changed;
      7. no allocation at all before a valid Initiate (malloc counted via
         the linker's --wrap, see listener.cmake).                       */
#include <stddef.h>
#include <sodium.h>
#include "core/curvecp_listener.h"
#include "curvecp_hs_client.h"
#include "test_alloc_count.h"
#include "testutil.h"

/* ---- a server and its clients ------------------------------------------ */

#define NAME "listener.example.com"
#define NOW  1000000000ull
#define MS   1000000ull

static curvecp_keypair_t server_keys;
static const uint8_t server_ext[CURVECP_EXT_BYTES] = { 's', 'e', 'x', 't' };
static const uint8_t client_ext[CURVECP_EXT_BYTES] = { 'c', 'e', 'x', 't' };

typedef struct {
    curvecp_keypair_t keys;
    curvecp_hs_client_t *hs;
    curvecp_session_t session;
    uint8_t hello[CURVECP_HELLO_BYTES];
    uint8_t initiate[CURVECP_PACKET_MAX];
    size_t initiate_len;
    uint8_t message[64];              /* what the Initiate carries */
} client_t;

static curvecp_listener_t *
listener_with (const curvecp_listener_limits_t *limits, size_t queue, uint32_t rate, int per_call)
{
    curvecp_listener_config_t config;
    curvecp_listener_config_default (&config);
    config.keys = &server_keys;
    memcpy (config.ext, server_ext, CURVECP_EXT_BYTES);
    config.token_max = 16;
    if (limits)
        config.limits = *limits;
    config.hello_queue = queue;
    config.hello_budget_ns = 2 * MS;
    config.hello_rate = rate;
    config.initiates_per_call = per_call;
    config.now = NOW;
    curvecp_listener_t *self = curvecp_listener_new (&config);
    CHECK (self);
    CHECK_EQ (curvecp_hs_server_add_name (curvecp_listener_handshake (self), "other.example.com"), 0);
    CHECK_EQ (curvecp_hs_server_add_name (curvecp_listener_handshake (self), NAME), 1);
    return self;
}

static curvecp_listener_t *
listener_new (void)
{
    return listener_with (NULL, 0, 0, 0);
}

static void
client_init (client_t *c, const uint8_t *ext)
{
    memset (c, 0, sizeof *c);
    curvecp_keypair_generate (&c->keys);
    c->hs = curvecp_hs_client_new (server_keys.public_key, NAME, ext, client_ext, &c->keys, NULL);
    CHECK (c->hs);
    CHECK_EQ (curvecp_hs_client_hello (c->hs, 0, c->hello, NULL), CURVECP_OK);
    for (size_t i = 0; i < sizeof c->message; i++)
        c->message[i] = (uint8_t) (i * 7 + 1);
}

static void
client_free (client_t *c)
{
    curvecp_hs_client_destroy (&c->hs);
    curvecp_session_wipe (&c->session);
}

/* The client takes its Cookie and seals its Initiate. */
static void
client_cookie (client_t *c, const uint8_t *cookie)
{
    CHECK_EQ (curvecp_hs_client_cookie (c->hs, cookie, CURVECP_COOKIE_BYTES, &c->session), CURVECP_OK);
    CHECK_EQ (curvecp_session_seal (&c->session, c->message, sizeof c->message, c->initiate, &c->initiate_len),
              CURVECP_OK);
}

static curvecp_listener_action_t
input (curvecp_listener_t *self, const uint8_t *packet, size_t len, const char *source,
       curvecp_listener_result_t *result)
{
    return curvecp_listener_input (self, packet, len, (const uint8_t *) source, strlen (source), result);
}

/* A client's Hello through the queue: its Cookie comes back to source. */
static void
handshake (curvecp_listener_t *self, client_t *c, const char *source, uint64_t now)
{
    curvecp_listener_result_t result;
    CHECK_EQ (input (self, c->hello, sizeof c->hello, source, &result), CURVECP_LISTENER_HELLO_QUEUED);
    curvecp_listener_begin (self, now);
    uint8_t cookie[CURVECP_COOKIE_BYTES], token[16];
    size_t token_len;
    curvecp_reason_t reason;
    CHECK_EQ (curvecp_listener_next_cookie (self, now, cookie, token, &token_len, &reason), CURVECP_LISTENER_COOKIE);
    CHECK_EQ (reason, CURVECP_OK);
    CHECK_EQ (token_len, strlen (source));
    CHECK_MEM (token, source, token_len);
    client_cookie (c, cookie);
}

static curvecp_stats_t
stats_of (const curvecp_listener_t *self)
{
    return *curvecp_listener_stats (self);
}

/* Exactly one more count, under reason. */
static void
check_counted (const curvecp_stats_t *before, const curvecp_listener_t *self, curvecp_reason_t reason)
{
    const curvecp_stats_t *after = curvecp_listener_stats (self);
    for (int r = 0; r < CURVECP_REASON_COUNT; r++)
        CHECK_EQ (after->counts[r] - before->counts[r], r == (int) reason);
}

/* ---- 1. Hello -> Cookie ----------------------------------------------------- */

static void
test_hello (void)
{
    curvecp_listener_t *self = listener_new ();
    client_t c;
    client_init (&c, server_ext);
    CHECK_EQ (curvecp_listener_deadline (self), UINT64_MAX);
    curvecp_listener_result_t result;
    CHECK_EQ (input (self, c.hello, sizeof c.hello, "A", &result), CURVECP_LISTENER_HELLO_QUEUED);
    CHECK_EQ (result.type, CURVECP_PACKET_HELLO);
    CHECK_EQ (curvecp_listener_deadline (self), 0);
    CHECK_EQ (curvecp_listener_info (self)->hellos_waiting, 1);
    CHECK_EQ (stats_of (self).counts[CURVECP_OK], 0);         /* counted once answered */
    curvecp_listener_begin (self, NOW);
    uint8_t cookie[CURVECP_COOKIE_BYTES], token[16];
    size_t token_len;
    CHECK_EQ (curvecp_listener_next_cookie (self, NOW, cookie, token, &token_len, NULL), CURVECP_LISTENER_COOKIE);
    CHECK_EQ (token_len, 1);
    CHECK_EQ (token[0], 'A');
    CHECK_EQ (curvecp_listener_next_cookie (self, NOW, cookie, token, &token_len, NULL), CURVECP_LISTENER_NO_COOKIE);
    CHECK_EQ (curvecp_listener_deadline (self), UINT64_MAX);
    client_cookie (&c, cookie);
    const curvecp_listener_info_t *info = curvecp_listener_info (self);
    CHECK_EQ (info->hellos_queued, 1);
    CHECK_EQ (info->hellos_answered, 1);
    CHECK_EQ (info->hellos_waiting, 0);
    CHECK_EQ (stats_of (self).counts[CURVECP_OK], 1);
    CHECK_EQ (curvecp_stats_rejected (curvecp_listener_stats (self)), 0);

    /* a Hello whose box does not open: taken, refused, counted */
    c.hello[CURVECP_HELLO_BYTES - 1] ^= 1;
    curvecp_stats_t before = stats_of (self);
    CHECK_EQ (input (self, c.hello, sizeof c.hello, "A", &result), CURVECP_LISTENER_HELLO_QUEUED);
    curvecp_reason_t reason;
    CHECK_EQ (curvecp_listener_next_cookie (self, NOW, cookie, token, &token_len, &reason),
              CURVECP_LISTENER_HELLO_REFUSED);
    CHECK_EQ (reason, CURVECP_E_BAD_HELLO_BOX);
    check_counted (&before, self, CURVECP_E_BAD_HELLO_BOX);
    CHECK_EQ (curvecp_listener_info (self)->hellos_answered, 1);
    client_free (&c);
    curvecp_listener_destroy (&self);
    CHECK (self == NULL);
    curvecp_listener_destroy (&self);
    printf ("hello: queued, answered to its source, the Cookie opens; a bad box refused and counted\n");
}

/* ---- 2. fairness under a flood from one source --------------------------------- */

static void
test_fairness (void)
{
    enum { QUEUE = 8, FLOOD = 100 };
    curvecp_listener_t *self = listener_with (NULL, QUEUE, 0, 0);
    client_t flooder, c;
    client_init (&flooder, server_ext);
    client_init (&c, server_ext);
    curvecp_listener_result_t result;
    int queued = 0, dropped = 0;
    for (int i = 0; i < FLOOD; i++) {
        curvecp_listener_action_t action = input (self, flooder.hello, sizeof flooder.hello, "flood", &result);
        queued += action == CURVECP_LISTENER_HELLO_QUEUED;
        if (action == CURVECP_LISTENER_DROP) {
            CHECK_EQ (result.reason, CURVECP_E_OVERLOADED);
            dropped++;
        }
    }
    CHECK_EQ (queued, QUEUE);
    CHECK_EQ (dropped, FLOOD - QUEUE);
    /* the queue is full of the flood's, yet the other source's Hello gets in
       (one of the flood's makes room) and is answered second */
    CHECK_EQ (input (self, c.hello, sizeof c.hello, "client", &result), CURVECP_LISTENER_DROP);
    CHECK_EQ (result.reason, CURVECP_E_OVERLOADED);
    const curvecp_listener_info_t *info = curvecp_listener_info (self);
    CHECK_EQ (info->hellos_waiting, QUEUE);
    CHECK_EQ (info->hellos_dropped, FLOOD - QUEUE + 1);
    CHECK_EQ (curvecp_listener_stats (self)->counts[CURVECP_E_OVERLOADED], FLOOD - QUEUE + 1);
    uint8_t cookie[CURVECP_COOKIE_BYTES], token[16];
    size_t token_len;
    curvecp_listener_begin (self, NOW);
    CHECK_EQ (curvecp_listener_next_cookie (self, NOW, cookie, token, &token_len, NULL), CURVECP_LISTENER_COOKIE);
    CHECK (token_len == 5 && memcmp (token, "flood", 5) == 0);
    CHECK_EQ (curvecp_listener_next_cookie (self, NOW, cookie, token, &token_len, NULL), CURVECP_LISTENER_COOKIE);
    CHECK (token_len == 6 && memcmp (token, "client", 6) == 0);
    client_cookie (&c, cookie);
    client_free (&flooder);
    client_free (&c);
    curvecp_listener_destroy (&self);
    printf ("fairness: %d Hellos from one source, %d dropped [overloaded]; another source's answered second\n",
            FLOOD, FLOOD - QUEUE + 1);
}

/* ---- 3. budget and rate ------------------------------------------------------ */

static void
test_budget_and_rate (void)
{
    curvecp_listener_t *self = listener_new ();
    client_t c;
    client_init (&c, server_ext);
    curvecp_listener_result_t result;
    for (int i = 0; i < 3; i++)
        CHECK_EQ (input (self, c.hello, sizeof c.hello, "A", &result), CURVECP_LISTENER_HELLO_QUEUED);
    uint8_t cookie[CURVECP_COOKIE_BYTES], token[16];
    size_t token_len;
    /* budget 2 ms: one at least, however late; then none past the budget */
    curvecp_listener_begin (self, NOW);
    CHECK_EQ (curvecp_listener_next_cookie (self, NOW + 5 * MS, cookie, token, &token_len, NULL),
              CURVECP_LISTENER_COOKIE);
    CHECK_EQ (curvecp_listener_next_cookie (self, NOW + 2 * MS, cookie, token, &token_len, NULL),
              CURVECP_LISTENER_NO_COOKIE);
    CHECK_EQ (curvecp_listener_next_cookie (self, NOW + 2 * MS - 1, cookie, token, &token_len, NULL),
              CURVECP_LISTENER_COOKIE);
    CHECK_EQ (curvecp_listener_info (self)->hellos_waiting, 1);
    CHECK_EQ (curvecp_listener_deadline (self), 0);          /* the next call */
    curvecp_listener_begin (self, NOW + 3 * MS);
    CHECK_EQ (curvecp_listener_next_cookie (self, NOW + 3 * MS, cookie, token, &token_len, NULL),
              CURVECP_LISTENER_COOKIE);
    CHECK_EQ (curvecp_listener_info (self)->hellos_answered, 3);
    curvecp_listener_destroy (&self);

    /* rate 10/s: one, then none until the deadline it gives, then one */
    self = listener_with (NULL, 0, 10, 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ (input (self, c.hello, sizeof c.hello, "A", &result), CURVECP_LISTENER_HELLO_QUEUED);
    curvecp_listener_begin (self, NOW);
    CHECK_EQ (curvecp_listener_next_cookie (self, NOW, cookie, token, &token_len, NULL), CURVECP_LISTENER_COOKIE);
    CHECK_EQ (curvecp_listener_next_cookie (self, NOW, cookie, token, &token_len, NULL), CURVECP_LISTENER_NO_COOKIE);
    uint64_t next = curvecp_listener_deadline (self);
    CHECK (next > NOW + 99 * MS && next <= NOW + 101 * MS);
    curvecp_listener_begin (self, next - MS);
    CHECK_EQ (curvecp_listener_next_cookie (self, next - MS, cookie, token, &token_len, NULL),
              CURVECP_LISTENER_NO_COOKIE);
    curvecp_listener_begin (self, next);
    CHECK_EQ (curvecp_listener_next_cookie (self, next, cookie, token, &token_len, NULL), CURVECP_LISTENER_COOKIE);
    CHECK_EQ (curvecp_listener_info (self)->hellos_waiting, 1);
    CHECK_EQ (curvecp_stats_rejected (curvecp_listener_stats (self)), 0);
    client_free (&c);
    curvecp_listener_destroy (&self);
    printf ("budget: one Hello at least per call, none past the budget; rate 10/s: one per deadline\n");
}

/* ---- 4. a connection ------------------------------------------------------------ */

static int conn_a, conn_b;            /* the carrier's connections (addresses only) */

static void
test_connection (void)
{
    curvecp_listener_limits_t limits = { 10, 10, CURVECP_LISTENER_NO_LIMIT, 1000, 10 };
    curvecp_listener_t *self = listener_with (&limits, 0, 0, 0);
    client_t c;
    client_init (&c, server_ext);
    handshake (self, &c, "A", NOW);
    curvecp_listener_result_t result;
    CHECK_EQ (input (self, c.initiate, c.initiate_len, "A", &result), CURVECP_LISTENER_NEW_INITIATE);
    CHECK_EQ (result.type, CURVECP_PACKET_INITIATE);
    curvecp_listener_accepted_t accepted;
    CHECK_EQ (curvecp_listener_accept (self, c.initiate, c.initiate_len, NOW, &accepted), CURVECP_OK);
    CHECK_EQ (accepted.message_len, sizeof c.message);
    CHECK_MEM (accepted.message, c.message, sizeof c.message);
    CHECK_EQ (accepted.name_index, 1);
    CHECK_MEM (accepted.client_key, c.keys.public_key, CURVECP_KEY_BYTES);
    CHECK_MEM (accepted.session.client_short_pk, curvecp_hs_client_short_key (c.hs), CURVECP_KEY_BYTES);
    CHECK_EQ (accepted.charge, 1000);
    CHECK_EQ (curvecp_listener_size (self), 0);               /* not until add */
    curvecp_session_t server = accepted.session;              /* the carrier's copy */
    curvecp_listener_entry_t *entry = curvecp_listener_add (self, &accepted, &conn_a, (const uint8_t *) "A", 1);
    CHECK (entry);
    static const curvecp_listener_accepted_t zero;
    CHECK_MEM (&accepted, &zero, sizeof zero);               /* wiped */
    CHECK (curvecp_listener_lookup (self, server.client_short_pk) == entry);
    CHECK (curvecp_listener_entry_conn (entry) == &conn_a);
    const curvecp_listener_info_t *info = curvecp_listener_info (self);
    CHECK_EQ (info->count, 1);
    CHECK_EQ (info->pending, 1);
    CHECK_EQ (info->pending_memory, 1000);
    CHECK_EQ (info->connections, 1);
    CHECK (!curvecp_listener_entry_confirmed (entry));

    /* the Initiate again goes to the connection (the carrier's to judge) */
    CHECK_EQ (input (self, c.initiate, c.initiate_len, "B", &result), CURVECP_LISTENER_CONNECTION);
    CHECK (result.conn == &conn_a && result.entry == entry);
    /* a Client Message too; the carrier confirms it */
    uint8_t reply[CURVECP_PACKET_MAX], message[CURVECP_MSG_MAX], packet[CURVECP_PACKET_MAX];
    size_t reply_len, message_len, packet_len;
    CHECK_EQ (curvecp_session_seal (&server, c.message, 32, reply, &reply_len), CURVECP_OK);
    CHECK_EQ (curvecp_session_open (&c.session, reply, reply_len, message, &message_len), CURVECP_OK);
    CHECK_EQ (curvecp_session_seal (&c.session, c.message, 48, packet, &packet_len), CURVECP_OK);
    CHECK_EQ (input (self, packet, packet_len, "B", &result), CURVECP_LISTENER_CONNECTION);
    CHECK_EQ (result.type, CURVECP_PACKET_CLIENT_MESSAGE);
    CHECK (result.conn == &conn_a);
    curvecp_listener_count (self, CURVECP_OK);
    curvecp_listener_confirm (self, entry);
    curvecp_listener_confirm (self, entry);                   /* once only */
    CHECK (curvecp_listener_entry_confirmed (entry));
    CHECK_EQ (info->pending, 0);
    CHECK_EQ (info->pending_memory, 0);
    CHECK (curvecp_listener_entry_set_token (entry, (const uint8_t *) "B", 1));
    CHECK (!curvecp_listener_entry_set_token (entry, (const uint8_t *) "0123456789abcdefX", 17));
    size_t token_len;
    const uint8_t *token = curvecp_listener_entry_token (entry, &token_len);
    CHECK (token_len == 1 && token[0] == 'B');

    curvecp_listener_hold (self, entry);
    curvecp_listener_hold (self, entry);
    CHECK_EQ (info->held, 1);
    CHECK (curvecp_listener_entry_held (entry));
    curvecp_listener_release (self, entry);
    CHECK_EQ (info->held, 0);
    curvecp_listener_hold (self, entry);
    curvecp_listener_remove (self, &entry);                   /* undoes its counts */
    CHECK (entry == NULL);
    CHECK_EQ (info->held, 0);
    CHECK_EQ (info->count, 0);
    CHECK (curvecp_listener_lookup (self, server.client_short_pk) == NULL);
    CHECK_EQ (input (self, packet, packet_len, "B", &result), CURVECP_LISTENER_DROP);
    CHECK_EQ (result.reason, CURVECP_E_UNKNOWN_SESSION);
    /* so far: one Hello, the Initiate, the carrier's verdict; one unknown */
    CHECK_EQ (curvecp_listener_stats (self)->counts[CURVECP_OK], 3);
    CHECK_EQ (curvecp_stats_rejected (curvecp_listener_stats (self)), 1);

    /* 6. replayed after its connection went */
    curvecp_stats_t before = stats_of (self);
    CHECK_EQ (input (self, c.initiate, c.initiate_len, "A", &result), CURVECP_LISTENER_NEW_INITIATE);
    CHECK_EQ (curvecp_listener_accept (self, c.initiate, c.initiate_len, NOW, &accepted),
              CURVECP_E_REPLAYED_INITIATE);
    check_counted (&before, self, CURVECP_E_REPLAYED_INITIATE);
    CHECK_EQ (curvecp_listener_size (self), 0);

    /* a carrier that refuses (policy) counts it and keeps nothing */
    client_t d;
    client_init (&d, server_ext);
    handshake (self, &d, "D", NOW);
    CHECK_EQ (curvecp_listener_accept (self, d.initiate, d.initiate_len, NOW, &accepted), CURVECP_OK);
    before = stats_of (self);
    uint64_t hs_refused = curvecp_hs_server_stats (curvecp_listener_handshake (self))->counts[CURVECP_E_NOT_AUTHORISED];
    curvecp_listener_abandon (self, &accepted, CURVECP_E_NOT_AUTHORISED);
    check_counted (&before, self, CURVECP_E_NOT_AUTHORISED);
    CHECK_EQ (curvecp_hs_server_stats (curvecp_listener_handshake (self))->counts[CURVECP_E_NOT_AUTHORISED],
              hs_refused + 1);
    CHECK_MEM (&accepted, &zero, sizeof zero);
    CHECK_EQ (info->count, 0);
    CHECK_EQ (info->pending, 0);
    /* the walk sees every entry once */
    client_t e;
    client_init (&e, server_ext);
    handshake (self, &e, "E", NOW);
    CHECK_EQ (curvecp_listener_accept (self, e.initiate, e.initiate_len, NOW, &accepted), CURVECP_OK);
    CHECK (curvecp_listener_add (self, &accepted, &conn_b, (const uint8_t *) "E", 1));
    size_t cursor = 0, walked = 0;
    curvecp_listener_entry_t *w;
    while ((w = curvecp_listener_next (self, &cursor)) != NULL)
        walked += curvecp_listener_entry_conn (w) == &conn_b;
    CHECK_EQ (walked, 1);
    CHECK (curvecp_listener_first (self) != NULL);
    client_free (&c);
    client_free (&d);
    client_free (&e);
    curvecp_session_wipe (&server);
    curvecp_listener_destroy (&self);                          /* frees the entry */
    printf ("connection: admitted, routed, confirmed, held, released, removed; replayed Initiate refused\n");
}

/* ---- 5. limits ------------------------------------------------------------------- */

/* A connection admitted and added (it stays pending unless confirmed). */
static curvecp_listener_entry_t *
admit (curvecp_listener_t *self, client_t *c, const char *source)
{
    handshake (self, c, source, NOW);
    curvecp_listener_accepted_t accepted;
    CHECK_EQ (curvecp_listener_accept (self, c->initiate, c->initiate_len, NOW, &accepted), CURVECP_OK);
    curvecp_listener_entry_t *entry = curvecp_listener_add (self, &accepted, &conn_a, (const uint8_t *) source,
                                                            strlen (source));
    CHECK (entry);
    return entry;
}

/* c's Initiate is refused with reason, counted once, and changes nothing:
   no entry, no admission count; with the limits lifted the very same
   Initiate is admitted (so it did not reach the replay cache). */
static uint64_t
counter_at (const curvecp_listener_info_t *info, size_t offset)
{
    uint64_t value;
    memcpy (&value, (const uint8_t *) info + offset, sizeof value);
    return value;
}

/* ... and the info counter at offset (the limit that refused it) moved by one. */
static void
check_refused (curvecp_listener_t *self, client_t *c, curvecp_reason_t reason, size_t offset)
{
    curvecp_listener_info_t before = *curvecp_listener_info (self);
    curvecp_stats_t stats = stats_of (self);
    uint64_t hs_full = curvecp_hs_server_stats (curvecp_listener_handshake (self))->counts[CURVECP_E_FULL];
    curvecp_listener_accepted_t accepted;
    CHECK_EQ (curvecp_listener_accept (self, c->initiate, c->initiate_len, NOW, &accepted), reason);
    check_counted (&stats, self, reason);
    const curvecp_listener_info_t *after = curvecp_listener_info (self);
    CHECK_EQ (after->count, before.count);
    CHECK_EQ (after->pending, before.pending);
    CHECK_EQ (after->pending_memory, before.pending_memory);
    CHECK_EQ (after->held, before.held);
    CHECK_EQ (after->connections, before.connections);
    if (reason == CURVECP_E_FULL)
        CHECK_EQ (curvecp_hs_server_stats (curvecp_listener_handshake (self))->counts[CURVECP_E_FULL], hs_full + 1);
    CHECK (curvecp_listener_lookup (self, curvecp_hs_client_short_key (c->hs)) == NULL);
    CHECK_EQ (counter_at (after, offset) - counter_at (&before, offset), 1);
}

static void
lift_and_admit (curvecp_listener_t *self, client_t *c)
{
    curvecp_listener_limits_t saved = *curvecp_listener_limits (self);
    curvecp_listener_limits_t open = { CURVECP_LISTENER_NO_LIMIT, CURVECP_LISTENER_NO_LIMIT,
                                       CURVECP_LISTENER_NO_LIMIT, 0, CURVECP_LISTENER_NO_LIMIT };
    curvecp_listener_set_limits (self, &open);
    curvecp_listener_accepted_t accepted;
    CHECK_EQ (curvecp_listener_accept (self, c->initiate, c->initiate_len, NOW, &accepted), CURVECP_OK);
    curvecp_listener_entry_t *entry = curvecp_listener_add (self, &accepted, &conn_b, (const uint8_t *) "L", 1);
    CHECK (entry);
    curvecp_listener_remove (self, &entry);
    curvecp_listener_set_limits (self, &saved);
}

static void
test_limits (void)
{
    enum { LATE = 5 };
    client_t firsts[LATE], second, late[LATE];
    for (int i = 0; i < LATE; i++) {
        client_init (&firsts[i], server_ext);
        client_init (&late[i], server_ext);
    }
    client_init (&second, server_ext);
    client_t *first;

    /* connections: one allowed */
    curvecp_listener_limits_t limits = { 1, CURVECP_LISTENER_NO_LIMIT, CURVECP_LISTENER_NO_LIMIT, 100,
                                         CURVECP_LISTENER_NO_LIMIT };
    curvecp_listener_t *self = listener_with (&limits, 0, 0, 0);
    const curvecp_listener_info_t *info = curvecp_listener_info (self);
    first = &firsts[0];
    curvecp_listener_entry_t *entry = admit (self, first, "1");
    curvecp_listener_confirm (self, entry);
    handshake (self, &late[0], "late", NOW);                  /* Hellos still answered at the limit */
    check_refused (self, &late[0], CURVECP_E_FULL, offsetof (curvecp_listener_info_t, full_connections));
    lift_and_admit (self, &late[0]);
    curvecp_listener_destroy (&self);

    /* pending: one unconfirmed allowed; confirming makes room */
    limits = (curvecp_listener_limits_t) { 10, 1, CURVECP_LISTENER_NO_LIMIT, 100, CURVECP_LISTENER_NO_LIMIT };
    self = listener_with (&limits, 0, 0, 0);
    info = curvecp_listener_info (self);
    first = &firsts[1];
    entry = admit (self, first, "1");
    handshake (self, &late[1], "late", NOW);
    check_refused (self, &late[1], CURVECP_E_FULL, offsetof (curvecp_listener_info_t, full_pending));
    curvecp_listener_confirm (self, entry);
    curvecp_listener_accepted_t accepted;
    CHECK_EQ (curvecp_listener_accept (self, late[1].initiate, late[1].initiate_len, NOW, &accepted), CURVECP_OK);
    CHECK (curvecp_listener_add (self, &accepted, &conn_b, (const uint8_t *) "late", 4));
    CHECK_EQ (info->pending, 1);
    curvecp_listener_destroy (&self);

    /* pending memory: 250 bytes for charges of 100: two */
    limits = (curvecp_listener_limits_t) { 10, 10, 250, 100, CURVECP_LISTENER_NO_LIMIT };
    self = listener_with (&limits, 0, 0, 0);
    info = curvecp_listener_info (self);
    first = &firsts[2];
    entry = admit (self, first, "1");
    admit (self, &second, "2");
    CHECK_EQ (info->pending_memory, 200);
    handshake (self, &late[2], "late", NOW);
    check_refused (self, &late[2], CURVECP_E_FULL, offsetof (curvecp_listener_info_t, full_memory));
    curvecp_listener_remove (self, &entry);                   /* its charge back */
    CHECK_EQ (info->pending_memory, 100);
    CHECK_EQ (curvecp_listener_accept (self, late[2].initiate, late[2].initiate_len, NOW, &accepted), CURVECP_OK);
    CHECK (curvecp_listener_add (self, &accepted, &conn_b, (const uint8_t *) "late", 4));
    CHECK_EQ (info->pending_memory, 200);
    curvecp_listener_destroy (&self);

    /* held for authorisation: one */
    limits = (curvecp_listener_limits_t) { 10, 10, CURVECP_LISTENER_NO_LIMIT, 100, 1 };
    self = listener_with (&limits, 0, 0, 0);
    info = curvecp_listener_info (self);
    first = &firsts[3];
    entry = admit (self, first, "1");
    curvecp_listener_hold (self, entry);
    handshake (self, &late[3], "late", NOW);
    check_refused (self, &late[3], CURVECP_E_FULL, offsetof (curvecp_listener_info_t, full_held));
    curvecp_listener_release (self, entry);
    lift_and_admit (self, &late[3]);
    curvecp_listener_destroy (&self);

    /* the per-call bound: one new connection per call */
    self = listener_with (NULL, 0, 0, 1);
    first = &firsts[4];
    handshake (self, &late[4], "late", NOW);
    handshake (self, first, "1", NOW);
    curvecp_listener_begin (self, NOW);
    CHECK_EQ (curvecp_listener_accept (self, first->initiate, first->initiate_len, NOW, &accepted), CURVECP_OK);
    CHECK (curvecp_listener_add (self, &accepted, &conn_a, (const uint8_t *) "1", 1));
    check_refused (self, &late[4], CURVECP_E_OVERLOADED, offsetof (curvecp_listener_info_t, initiates_deferred));
    curvecp_listener_begin (self, NOW + MS);                  /* the next call */
    CHECK_EQ (curvecp_listener_accept (self, late[4].initiate, late[4].initiate_len, NOW, &accepted), CURVECP_OK);
    CHECK (curvecp_listener_add (self, &accepted, &conn_b, (const uint8_t *) "late", 4));
    CHECK_EQ (curvecp_listener_size (self), 2);
    curvecp_listener_destroy (&self);

    client_free (&second);
    for (int i = 0; i < LATE; i++) {
        client_free (&firsts[i]);
        client_free (&late[i]);
    }
    printf ("limits: connections, pending, pending memory, held refuse [full], the per-call bound [overloaded];"
            " counted, nothing changed, admitted once lifted\n");
}

/* ---- 6. bad packets ----------------------------------------------------------------- */

typedef struct {
    const char *what;
    uint8_t data[CURVECP_PACKET_MAX + 64];
    size_t len;
    const char *source;
    curvecp_reason_t reason;
} bad_t;

static void
check_drop (curvecp_listener_t *self, const bad_t *bad)
{
    curvecp_listener_info_t before = *curvecp_listener_info (self);
    curvecp_stats_t stats = stats_of (self);
    curvecp_listener_result_t result;
    if (input (self, bad->data, bad->len, bad->source, &result) != CURVECP_LISTENER_DROP
    ||  result.reason != bad->reason) {
        fprintf (stderr, "%s: action %d reason %s, want drop %s\n", bad->what, result.action,
                 curvecp_reason_name (result.reason), curvecp_reason_name (bad->reason));
        exit (1);
    }
    check_counted (&stats, self, bad->reason);
    const curvecp_listener_info_t *after = curvecp_listener_info (self);
    CHECK_EQ (after->hellos_waiting, before.hellos_waiting);
    CHECK_EQ (after->hellos_queued, before.hellos_queued);
    CHECK_EQ (after->count, before.count);
}

/* Every kind of bad packet against a listener with one connection and
   one Hello waiting. */
static void
bad_packets (curvecp_listener_t *self, client_t *c, client_t *forger, size_t *kinds)
{
    static bad_t bad[16];
    size_t n = 0;
    const uint8_t other_ext[CURVECP_EXT_BYTES] = { 'o', 't', 'h', 'e', 'r' };
    client_t stranger;
    client_init (&stranger, other_ext);
    bad[n] = (bad_t) { "hello for another extension", { 0 }, CURVECP_HELLO_BYTES, "X", CURVECP_E_WRONG_SERVER_EXT };
    memcpy (bad[n++].data, stranger.hello, CURVECP_HELLO_BYTES);
    bad[n] = (bad_t) { "truncated hello", { 0 }, CURVECP_HELLO_BYTES - 16, "X", CURVECP_E_TOO_SHORT };
    memcpy (bad[n++].data, c->hello, CURVECP_HELLO_BYTES);
    bad[n] = (bad_t) { "hello not a multiple of 16", { 0 }, CURVECP_HELLO_BYTES - 1, "X", CURVECP_E_NOT_MULTIPLE_16 };
    memcpy (bad[n++].data, c->hello, CURVECP_HELLO_BYTES);
    bad[n] = (bad_t) { "truncated initiate", { 0 }, CURVECP_INITIATE_BASE - 16, "X", CURVECP_E_TOO_SHORT };
    memcpy (bad[n++].data, c->initiate, CURVECP_INITIATE_BASE);
    bad[n] = (bad_t) { "oversized", { 0 }, CURVECP_PACKET_MAX + 16, "X", CURVECP_E_TOO_LONG };
    memcpy (bad[n++].data, c->initiate, c->initiate_len);
    bad[n] = (bad_t) { "tiny", { 'Q' }, 1, "X", CURVECP_E_TOO_SHORT };
    n++;
    bad[n] = (bad_t) { "garbage", { 0 }, 256, "X", CURVECP_E_BAD_MAGIC };
    randombytes_buf (bad[n++].data, 256);
    bad[n] = (bad_t) { "hello from a source too long", { 0 }, CURVECP_HELLO_BYTES, "0123456789abcdefX",
                       CURVECP_E_BAD_ARGUMENT };
    memcpy (bad[n++].data, c->hello, CURVECP_HELLO_BYTES);
    bad[n] = (bad_t) { "hello from no source", { 0 }, CURVECP_HELLO_BYTES, "", CURVECP_E_BAD_ARGUMENT };
    memcpy (bad[n++].data, c->hello, CURVECP_HELLO_BYTES);
    /* a Client Message for a C' nobody has */
    bad[n] = (bad_t) { "message for no connection", { 0 }, 256, "X", CURVECP_E_UNKNOWN_SESSION };
    memcpy (bad[n].data, "QvnQ5XlM", 8);
    memcpy (bad[n].data + 8, server_ext, CURVECP_EXT_BYTES);
    randombytes_buf (bad[n].data + 40, 32);
    n++;
    for (size_t i = 0; i < n; i++)
        check_drop (self, &bad[i]);
    /* NULL packet */
    curvecp_listener_result_t result;
    CHECK_EQ (curvecp_listener_input (self, NULL, 0, (const uint8_t *) "X", 1, &result), CURVECP_LISTENER_DROP);
    CHECK_EQ (result.reason, CURVECP_E_BAD_ARGUMENT);
    /* accept for what is not an Initiate, or for a connection that exists */
    curvecp_stats_t stats = stats_of (self);
    curvecp_listener_accepted_t accepted;
    CHECK_EQ (curvecp_listener_accept (self, c->hello, CURVECP_HELLO_BYTES, NOW, &accepted), CURVECP_E_WRONG_STATE);
    check_counted (&stats, self, CURVECP_E_WRONG_STATE);
    stats = stats_of (self);
    CHECK_EQ (curvecp_listener_accept (self, c->initiate, c->initiate_len, NOW, &accepted), CURVECP_E_WRONG_STATE);
    check_counted (&stats, self, CURVECP_E_WRONG_STATE);
    /* an Initiate with a forged box: refused by verification */
    forger->initiate[forger->initiate_len - 1] ^= 1;
    stats = stats_of (self);
    CHECK_EQ (curvecp_listener_accept (self, forger->initiate, forger->initiate_len, NOW, &accepted),
              CURVECP_E_BAD_INITIATE_BOX);
    check_counted (&stats, self, CURVECP_E_BAD_INITIATE_BOX);
    CHECK (curvecp_listener_lookup (self, curvecp_hs_client_short_key (forger->hs)) == NULL);
    client_free (&stranger);
    *kinds = n + 4;
}

static void
test_bad_packets (void)
{
    curvecp_listener_t *self = listener_new ();
    client_t c, waiting, forger;
    client_init (&c, server_ext);
    client_init (&waiting, server_ext);
    client_init (&forger, server_ext);
    admit (self, &c, "C");
    handshake (self, &forger, "F", NOW);
    curvecp_listener_result_t result;
    CHECK_EQ (input (self, waiting.hello, sizeof waiting.hello, "W", &result), CURVECP_LISTENER_HELLO_QUEUED);
    size_t kinds;
    bad_packets (self, &c, &forger, &kinds);
    CHECK_EQ (curvecp_listener_size (self), 1);
    CHECK_EQ (curvecp_listener_info (self)->hellos_waiting, 1);
    client_free (&c);
    client_free (&waiting);
    client_free (&forger);
    curvecp_listener_destroy (&self);
    printf ("bad packets: %zu kinds dropped, each counted under its reason, nothing else changed\n", kinds);
}

/* ---- 7. no allocation before a valid Initiate ----------------------------------------- */

static void
test_no_allocation (void)
{
    enum { HELLOS = 20 };
    client_t clients[HELLOS], c;
    for (int i = 0; i < HELLOS; i++)
        client_init (&clients[i], server_ext);
    client_init (&c, server_ext);
    curvecp_listener_limits_t limits = { 10, 10, CURVECP_LISTENER_NO_LIMIT, 100, CURVECP_LISTENER_NO_LIMIT };
    curvecp_listener_t *self = listener_with (&limits, 8, 0, 0);
    /* the client's own allocations first: its Cookie, its Initiate */
    handshake (self, &c, "C", NOW);
    uint8_t forged[CURVECP_PACKET_MAX];
    memcpy (forged, c.initiate, c.initiate_len);
    forged[c.initiate_len - 1] ^= 1;

    allocations = 0;
    counting = true;
    curvecp_listener_result_t result;
    uint8_t cookie[CURVECP_COOKIE_BYTES], token[16];
    size_t token_len;
    for (int i = 0; i < HELLOS; i++) {                        /* queued, some dropped, answered */
        char source[2] = { (char) ('a' + i % 3), 0 };
        input (self, clients[i].hello, sizeof clients[i].hello, source, &result);
    }
    curvecp_listener_begin (self, NOW);
    int answered = 0;
    while (curvecp_listener_next_cookie (self, NOW, cookie, token, &token_len, NULL) == CURVECP_LISTENER_COOKIE)
        answered++;
    uint8_t garbage[512];
    memset (garbage, 0x55, sizeof garbage);
    input (self, garbage, sizeof garbage, "g", &result);
    curvecp_listener_accepted_t accepted;
    CHECK_EQ (curvecp_listener_accept (self, forged, c.initiate_len, NOW, &accepted), CURVECP_E_BAD_INITIATE_BOX);
    limits.max_connections = 0;
    curvecp_listener_set_limits (self, &limits);
    CHECK_EQ (curvecp_listener_accept (self, c.initiate, c.initiate_len, NOW, &accepted), CURVECP_E_FULL);
    counting = false;
    CHECK_EQ (answered, 8);
    CHECK_EQ (allocations, 0);
    /* the valid Initiate may allocate (the replay cache, the entry, the table) */
    limits.max_connections = 10;
    curvecp_listener_set_limits (self, &limits);
    counting = true;
    CHECK_EQ (curvecp_listener_accept (self, c.initiate, c.initiate_len, NOW, &accepted), CURVECP_OK);
    CHECK (curvecp_listener_add (self, &accepted, &conn_a, (const uint8_t *) "C", 1));
    counting = false;
    CHECK (allocations > 0);
    printf ("no allocation: %d Hellos (%d answered), garbage, a forged and a refused Initiate: 0 allocations; "
            "the valid one: %lu\n", HELLOS, answered, allocations);
    for (int i = 0; i < HELLOS; i++)
        client_free (&clients[i]);
    client_free (&c);
    curvecp_listener_destroy (&self);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    curvecp_keypair_generate (&server_keys);
    curvecp_listener_config_t config;
    curvecp_listener_config_default (&config);
    CHECK (curvecp_listener_new (&config) == NULL);           /* no keys */
    CHECK (curvecp_listener_new (NULL) == NULL);
    test_hello ();
    test_fairness ();
    test_budget_and_rate ();
    test_connection ();
    test_limits ();
    test_bad_packets ();
    test_no_allocation ();
    printf ("test_listener: OK\n");
    return 0;
}
