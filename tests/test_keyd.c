/*  The key service's bad inputs, one by one (curvecp_keyd_proto.c,
    curvecp_keyd.c):
    - the request decoder: no frame, a command that is not exactly one
      (case, length, an embedded NUL), CHANGE without its update or with
      one longer than any update can be, frames after the last, each
      refused with its own reason; the longest real update still passes;
    - the CHANGE-reply decoder: a REFUSED is never taken for OK (not even
      with reason "ok"), an unknown reason is UNKNOWN_REASON, a reply with
      a bad sequence number or missing or extra frames is no reply;
    - the "HEX@ENDPOINT" spec parser: empty, missing parts, junk, an
      endpoint too long or with spaces: refused, outputs untouched;
    - a live service fed each bad request over its secured session
      refuses it, counts it under its reason, answers a bad CHANGE with
      REFUSED malformed, and keeps its set and subscribers as they were;
      a CHANGE whose key bytes were altered after signing is refused
      bad-signature;
    - curvecp_keyd_change against a service that answers REFUSED with a
      reason nobody defined reports UNKNOWN_REASON, not OK.          */
#include <sodium.h>
#include <czmq.h>
#include <pthread.h>
#include "testutil.h"
#include "curvecp_keyd.h"
#include "curvecp_keyd_proto.h"

static uint8_t admin_pk[32], admin_sk[64];
static curvecp_keypair_t keyd_keys;

/* A message of these frames (NULL-terminated list of strings). */
static zmsg_t *
msg_of (const char *first, ...)
{
    zmsg_t *msg = zmsg_new ();
    va_list args;
    va_start (args, first);
    for (const char *frame = first; frame; frame = va_arg (args, const char *))
        zmsg_addstr (msg, frame);
    va_end (args);
    return msg;
}

static curvecp_keyd_request_result_t
decode_request (zmsg_t *msg, keyd_request_t *request)
{
    size_t frames = zmsg_size (msg);
    curvecp_keyd_request_result_t why = keyd_request_decode (msg, request);
    CHECK (zmsg_size (msg) == frames);          /* the message is left as it was */
    return why;
}

static void
refused_as (zmsg_t **msg_p, curvecp_keyd_request_result_t expected)
{
    keyd_request_t request;
    CHECK_EQ (decode_request (*msg_p, &request), expected);
    CHECK (!request.update && request.update_size == 0);
    zmsg_destroy (msg_p);
}

static curvecp_keyset_entry_t
longest_entry (void)
{
    curvecp_keyset_entry_t entry;
    memset (&entry, 0, sizeof entry);
    memset (entry.key, 0x42, sizeof entry.key);
    memset (entry.name, 'n', CURVECP_KEYSET_NAME_MAX);
    memset (entry.metadata, 'v', CURVECP_KEYSET_METADATA_MAX);
    entry.metadata[0] = 'k';
    entry.metadata[1] = '=';
    entry.added = 1700000000;
    return entry;
}

static void
test_request_decoder (void)
{
    keyd_request_t request;
    zmsg_t *msg = msg_of (KEYD_SUBSCRIBE, NULL);
    CHECK (decode_request (msg, &request) == CURVECP_KEYD_REQUEST_OK && request.command == KEYD_REQUEST_SUBSCRIBE);
    zmsg_destroy (&msg);
    msg = msg_of (KEYD_SNAPSHOT, NULL);
    CHECK (decode_request (msg, &request) == CURVECP_KEYD_REQUEST_OK && request.command == KEYD_REQUEST_SNAPSHOT);
    zmsg_destroy (&msg);

    /* the longest update there can be is taken, one byte more is not */
    curvecp_keyset_t *set = curvecp_keyset_new (admin_pk);
    curvecp_keyset_entry_t entry = longest_entry ();
    CHECK (curvecp_keyset_entry_valid (&entry));
    size_t size;
    uint8_t *update = curvecp_keyset_make_update (set, &entry, admin_sk, &size);
    CHECK (update);
    CHECK_EQ (size, KEYD_UPDATE_MAX);
    msg = msg_of (KEYD_CHANGE, NULL);
    zmsg_addmem (msg, update, size);
    CHECK (decode_request (msg, &request) == CURVECP_KEYD_REQUEST_OK && request.command == KEYD_REQUEST_CHANGE);
    CHECK (request.update_size == size && memcmp (request.update, update, size) == 0);
    zmsg_destroy (&msg);
    uint8_t *longer = (uint8_t *) calloc (1, size + 1);
    memcpy (longer, update, size);
    msg = msg_of (KEYD_CHANGE, NULL);
    zmsg_addmem (msg, longer, size + 1);
    refused_as (&msg, CURVECP_KEYD_REQUEST_OVERSIZED);
    free (longer);
    longer = (uint8_t *) calloc (1, 1u << 20);
    msg = msg_of (KEYD_CHANGE, NULL);
    zmsg_addmem (msg, longer, 1u << 20);
    refused_as (&msg, CURVECP_KEYD_REQUEST_OVERSIZED);
    free (longer);

    /* no frame; commands that are not exactly one */
    msg = zmsg_new ();
    refused_as (&msg, CURVECP_KEYD_REQUEST_EMPTY);
    const char *unknown[] = { "", "subscribe", "Snapshot", "SUBSCRIB", "SUBSCRIBEX", "SNAPSHOTS", "CHANGE ",
                              " CHANGE", KEYD_UPDATE, KEYD_HUGZ, KEYD_OK, KEYD_REFUSED, "\xff\xfe" };
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        msg = msg_of (unknown[i], NULL);
        refused_as (&msg, CURVECP_KEYD_REQUEST_UNKNOWN);
    }
    const char *with_nul[] = { KEYD_SNAPSHOT, KEYD_SUBSCRIBE, KEYD_CHANGE };
    for (size_t i = 0; i < 3; i++) {
        char command[16];
        size_t len = strlen (with_nul[i]);
        memcpy (command, with_nul[i], len);
        memcpy (command + len, "\0x", 2);           /* "SNAPSHOT\0x": a C string compare says SNAPSHOT */
        msg = zmsg_new ();
        zmsg_addmem (msg, command, len + 2);
        zmsg_addmem (msg, update, size);
        refused_as (&msg, CURVECP_KEYD_REQUEST_UNKNOWN);
    }

    /* CHANGE without its update; frames past the request's last */
    msg = msg_of (KEYD_CHANGE, NULL);
    refused_as (&msg, CURVECP_KEYD_REQUEST_NO_UPDATE);
    msg = msg_of (KEYD_SUBSCRIBE, "", NULL);
    refused_as (&msg, CURVECP_KEYD_REQUEST_TRAILING);
    msg = msg_of (KEYD_SNAPSHOT, KEYD_SNAPSHOT, NULL);
    refused_as (&msg, CURVECP_KEYD_REQUEST_TRAILING);
    msg = msg_of (KEYD_CHANGE, NULL);
    zmsg_addmem (msg, update, size);
    zmsg_addstr (msg, "extra");
    refused_as (&msg, CURVECP_KEYD_REQUEST_TRAILING);

    /* every reason has its own name */
    for (int i = 0; i < CURVECP_KEYD_REQUEST_RESULTS; i++)
        for (int j = 0; j < i; j++)
            CHECK (!streq (curvecp_keyd_request_result_text ((curvecp_keyd_request_result_t) i),
                           curvecp_keyd_request_result_text ((curvecp_keyd_request_result_t) j)));
    CHECK (streq (curvecp_keyd_request_result_text (CURVECP_KEYD_REQUEST_RESULTS), "unknown"));
    free (update);
    curvecp_keyset_destroy (&set);
}

static curvecp_keyset_result_t
decode_reply (zmsg_t **msg_p, uint64_t *seq)
{
    *seq = 12345;                               /* must be overwritten */
    curvecp_keyset_result_t result = keyd_change_reply_decode (*msg_p, seq);
    zmsg_destroy (msg_p);
    return result;
}

static void
test_reply_decoder (void)
{
    uint64_t seq;
    zmsg_t *msg = msg_of (KEYD_OK, "5", NULL);
    CHECK (decode_reply (&msg, &seq) == CURVECP_KEYSET_OK && seq == 5);
    msg = msg_of (KEYD_OK, "18446744073709551615", NULL);
    CHECK (decode_reply (&msg, &seq) == CURVECP_KEYSET_OK && seq == UINT64_MAX);
    for (int i = CURVECP_KEYSET_MALFORMED; i < CURVECP_KEYSET_UNKNOWN_REASON; i++) {
        msg = msg_of (KEYD_REFUSED, curvecp_keyset_result_text ((curvecp_keyset_result_t) i), "7", NULL);
        CHECK_EQ (decode_reply (&msg, &seq), i);
        CHECK (seq == 7);
    }
    /* reasons nobody defined: a refusal all the same, never OK */
    const char *strange[] = { "ok", "OK", "frobnicated", "", "stale ", "Stale", "unknown-reason", "bad-signaturex" };
    for (size_t i = 0; i < sizeof strange / sizeof *strange; i++) {
        msg = msg_of (KEYD_REFUSED, strange[i], "3", NULL);
        CHECK_EQ (decode_reply (&msg, &seq), CURVECP_KEYSET_UNKNOWN_REASON);
        CHECK (seq == 3);
    }
    msg = zmsg_new ();
    zmsg_addstr (msg, KEYD_REFUSED);
    zmsg_addmem (msg, "stale\0", 6);            /* a C string compare says stale */
    zmsg_addstr (msg, "3");
    CHECK_EQ (decode_reply (&msg, &seq), CURVECP_KEYSET_UNKNOWN_REASON);
    CHECK_EQ (curvecp_keyset_result_text (CURVECP_KEYSET_UNKNOWN_REASON)[0], 'u');

    /* no reply: frames missing or extra, a sequence number that is not one */
    zmsg_t *bad[] = {
        zmsg_new (), msg_of (KEYD_OK, NULL), msg_of (KEYD_OK, "", NULL), msg_of (KEYD_OK, "12a", NULL),
        msg_of (KEYD_OK, "-1", NULL), msg_of (KEYD_OK, " 1", NULL), msg_of (KEYD_OK, "+1", NULL),
        msg_of (KEYD_OK, "18446744073709551616", NULL), msg_of (KEYD_OK, "000000000000000000001", NULL),
        msg_of (KEYD_OK, "1", "x", NULL), msg_of ("OKAY", "1", NULL), msg_of ("ok", "1", NULL),
        msg_of (KEYD_REFUSED, "3", NULL), msg_of (KEYD_REFUSED, NULL), msg_of (KEYD_REFUSED, "stale", "x", NULL),
        msg_of (KEYD_REFUSED, "stale", "3", "4", NULL), msg_of (KEYD_SNAPSHOT, "1", NULL),
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_EQ (decode_reply (&bad[i], &seq), CURVECP_KEYSET_RESULTS);
        CHECK (seq == 0);
    }
}

static void
test_spec_parse (void)
{
    char hex[65];
    uint8_t key[32], want[32];
    randombytes_buf (want, sizeof want);
    curvecp_key_to_hex (want, hex);
    char spec[600];
    const char *endpoint = NULL;
    snprintf (spec, sizeof spec, "%s@tcp://127.0.0.1:7100", hex);
    CHECK (curvecp_keyd_spec_parse (spec, key, &endpoint) == 0);
    CHECK_MEM (key, want, 32);
    CHECK (endpoint == spec + 65 && streq (endpoint, "tcp://127.0.0.1:7100"));

    char longest[256 + 1];
    memset (longest, 'e', 255);
    longest[255] = 0;
    snprintf (spec, sizeof spec, "%s@%s", hex, longest);
    CHECK (curvecp_keyd_spec_parse (spec, key, &endpoint) == 0 && strlen (endpoint) == 255);

    /* refused, and neither output touched */
    const char *bad[] = {
        "", "@", "@tcp://127.0.0.1:7100", "tcp://127.0.0.1:7100", "junk", "junk@tcp://127.0.0.1:7100",
    };
    uint8_t sentinel[32];
    memset (sentinel, 0xa5, sizeof sentinel);
    for (size_t i = 0; i < sizeof bad / sizeof *bad + 9; i++) {
        const char *text = i < sizeof bad / sizeof *bad ? bad[i] : spec;
        switch ((int) (i - sizeof bad / sizeof *bad)) {
        case 0: snprintf (spec, sizeof spec, "%s", hex); break;                         /* no endpoint */
        case 1: snprintf (spec, sizeof spec, "%s@", hex); break;                        /* empty endpoint */
        case 2: snprintf (spec, sizeof spec, "%.63s@tcp://127.0.0.1:7100", hex); break; /* a digit short */
        case 3: snprintf (spec, sizeof spec, "%sa@tcp://127.0.0.1:7100", hex); break;   /* a digit long */
        case 4: snprintf (spec, sizeof spec, "g%.63s@tcp://127.0.0.1:7100", hex); break; /* not hex */
        case 5: snprintf (spec, sizeof spec, "%s@tcp://127.0.0.1:7100 x", hex); break;  /* a space */
        case 6: snprintf (spec, sizeof spec, "%s@tcp://\t127.0.0.1:7100", hex); break;  /* a control character */
        case 7: snprintf (spec, sizeof spec, "%s@%se", hex, longest); break;            /* 256 characters */
        case 8: snprintf (spec, sizeof spec, "%s@tcp://h\xc3\xa9:1", hex); break;      /* not ASCII */
        default: break;
        }
        memcpy (key, sentinel, sizeof key);
        endpoint = "untouched";
        CHECK (curvecp_keyd_spec_parse (text, key, &endpoint) == -1);
        CHECK_MEM (key, sentinel, 32);
        CHECK (streq (endpoint, "untouched"));
    }
    CHECK (curvecp_keyd_spec_parse (NULL, key, &endpoint) == -1);
    /* overlong: a megabyte of endpoint */
    size_t huge = 1u << 20;
    char *overlong = (char *) malloc (huge + 66);
    snprintf (overlong, 66, "%s@", hex);
    memset (overlong + 65, 'x', huge);
    overlong[65 + huge] = 0;
    CHECK (curvecp_keyd_spec_parse (overlong, key, &endpoint) == -1);
    CHECK_MEM (key, sentinel, 32);
    free (overlong);
}

/* ---- a live service ---------------------------------------------------- */

static uint8_t *
snapshot_of (curvecp_keyd_t *keyd, curvecp_zmq_client_t *client, size_t *size)
{
    curvecp_keyset_t *set = curvecp_keyd_fetch (client, admin_pk, 5000);
    CHECK (set && curvecp_keyset_seq (set) == curvecp_keyd_seq (keyd));
    uint8_t *snap = curvecp_keyset_snapshot (set, size);
    curvecp_keyset_destroy (&set);
    return snap;
}

/* The next CHANGE reply on the session. */
static curvecp_keyset_result_t
change_reply (curvecp_zmq_client_t *client, uint64_t *seq)
{
    curvecp_zmq_client_set_rcvtimeo (client, 5000);
    zmsg_t *reply = curvecp_zmq_client_recv (client);
    CHECK (reply);
    curvecp_keyset_result_t result = keyd_change_reply_decode (reply, seq);
    zmsg_destroy (&reply);
    return result;
}

/* Send msg; it must be refused for why, counted once, answered (a CHANGE)
   with REFUSED malformed, and leave the set and subscribers as they were.
   The SNAPSHOT that follows on the same ordered session shows the
   service has handled it. */
static void
refused_live (curvecp_keyd_t *keyd, curvecp_zmq_client_t *client, zmsg_t *msg, curvecp_keyd_request_result_t why,
        bool answered)
{
    size_t before_size, after_size;
    uint8_t *before = snapshot_of (keyd, client, &before_size);
    uint64_t refused = curvecp_keyd_refused_requests (keyd, why);
    uint64_t taken = curvecp_keyd_refused_requests (keyd, CURVECP_KEYD_REQUEST_OK);
    curvecp_keyset_stats_t stats = curvecp_keyd_stats (keyd);
    CHECK (curvecp_zmq_client_send (client, &msg) == 0);
    if (answered) {
        uint64_t seq;
        CHECK_EQ (change_reply (client, &seq), CURVECP_KEYSET_MALFORMED);
        CHECK (seq == curvecp_keyd_seq (keyd));
    }
    uint8_t *after = snapshot_of (keyd, client, &after_size);
    CHECK (before_size == after_size && memcmp (before, after, after_size) == 0);
    CHECK_EQ (curvecp_keyd_refused_requests (keyd, why), refused + 1);
    CHECK_EQ (curvecp_keyd_refused_requests (keyd, CURVECP_KEYD_REQUEST_OK), taken + 1);   /* the SNAPSHOT */
    CHECK_EQ (curvecp_keyd_subscribers (keyd), 0);
    curvecp_keyset_stats_t now = curvecp_keyd_stats (keyd);
    CHECK (memcmp (&now, &stats, sizeof now) == 0);     /* the set never saw it */
    free (before);
    free (after);
}

static void
test_live_service (void)
{
    curvecp_keyd_t *keyd = curvecp_keyd_new (&keyd_keys, CURVECP_KEYD_DEFAULT_NAME, admin_pk, NULL);
    CHECK (keyd);
    curvecp_keyd_set_log (keyd, stderr);
    int port = curvecp_keyd_bind (keyd, "tcp://127.0.0.1:*");
    CHECK (port > 0);
    CHECK (curvecp_keyd_start (keyd) == 0);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    curvecp_zmq_client_t *client = curvecp_zmq_client_new (NULL, keyd_keys.public_key, CURVECP_KEYD_DEFAULT_NAME);
    CHECK (client && curvecp_zmq_client_connect (client, endpoint) == 0);
    curvecp_zmq_client_set_linger (client, 0);

    /* one good change, so that there is a set to keep */
    curvecp_keyset_t *set = curvecp_keyset_new (admin_pk);
    curvecp_keyset_entry_t entry = longest_entry ();
    size_t size;
    uint8_t *update = curvecp_keyset_make_update (set, &entry, admin_sk, &size);
    uint64_t seq = 0;
    CHECK (curvecp_keyd_change (client, update, size, 5000, &seq) == CURVECP_KEYSET_OK && seq == 1);
    CHECK (curvecp_keyset_apply_update (set, update, size) == CURVECP_KEYSET_OK);
    free (update);
    entry.key[0] ^= 1;
    update = curvecp_keyset_make_update (set, &entry, admin_sk, &size);      /* a valid seq 2 */

    /* (a message of no frame cannot travel: the decoder's own test has it) */
    refused_live (keyd, client, msg_of ("", NULL), CURVECP_KEYD_REQUEST_UNKNOWN, false);
    refused_live (keyd, client, msg_of ("subscribe", NULL), CURVECP_KEYD_REQUEST_UNKNOWN, false);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, "SUBSCRIBE\0x", 11);
    refused_live (keyd, client, msg, CURVECP_KEYD_REQUEST_UNKNOWN, false);
    refused_live (keyd, client, msg_of (KEYD_SUBSCRIBE, "x", NULL), CURVECP_KEYD_REQUEST_TRAILING, false);
    refused_live (keyd, client, msg_of (KEYD_CHANGE, NULL), CURVECP_KEYD_REQUEST_NO_UPDATE, true);
    msg = msg_of (KEYD_CHANGE, NULL);
    zmsg_addmem (msg, update, size);
    zmsg_addstr (msg, "x");
    refused_live (keyd, client, msg, CURVECP_KEYD_REQUEST_TRAILING, true);
    uint8_t *oversized = (uint8_t *) calloc (1, KEYD_UPDATE_MAX + 1);
    memcpy (oversized, update, size);
    msg = msg_of (KEYD_CHANGE, NULL);
    zmsg_addmem (msg, oversized, KEYD_UPDATE_MAX + 1);
    refused_live (keyd, client, msg, CURVECP_KEYD_REQUEST_OVERSIZED, true);
    free (oversized);

    /* a well-formed CHANGE whose key bytes were altered after signing:
       the set refuses it (bad-signature), counts it, and stays at 1 */
    size_t key_at = 8 + 8;                      /* magic, seq, then the entry's key */
    update[key_at] ^= 0x80;
    uint64_t bad_sigs = curvecp_keyd_stats (keyd).counts[CURVECP_KEYSET_BAD_SIGNATURE];
    CHECK (curvecp_keyd_change (client, update, size, 5000, &seq) == CURVECP_KEYSET_BAD_SIGNATURE && seq == 1);
    CHECK_EQ (curvecp_keyd_stats (keyd).counts[CURVECP_KEYSET_BAD_SIGNATURE], bad_sigs + 1);
    /* a truncated one: malformed */
    update[key_at] ^= 0x80;
    CHECK (curvecp_keyd_change (client, update, size - 1, 5000, &seq) == CURVECP_KEYSET_MALFORMED && seq == 1);
    CHECK (curvecp_keyd_seq (keyd) == 1);
    /* and the real one still goes in */
    CHECK (curvecp_keyd_change (client, update, size, 5000, &seq) == CURVECP_KEYSET_OK && seq == 2);
    free (update);
    curvecp_keyset_destroy (&set);
    curvecp_zmq_client_destroy (&client);
    curvecp_keyd_destroy (&keyd);
}

/* ---- a service that answers a reason nobody defined -------------------- */

typedef struct {
    curvecp_zmq_server_t *server;
    const char *reason;
    bool answered;
} rogue_t;

static void *
rogue_run (void *arg)
{
    rogue_t *rogue = (rogue_t *) arg;
    curvecp_zmq_server_set_rcvtimeo (rogue->server, 5000);
    zmsg_t *msg = curvecp_zmq_server_recv (rogue->server);
    if (msg && keyd_frame_is (zmsg_first (msg), KEYD_CHANGE)) {
        zmsg_t *reply = msg_of (KEYD_REFUSED, rogue->reason, "9", NULL);
        rogue->answered = curvecp_zmq_server_reply (rogue->server, &reply) == 0;
        zmsg_destroy (&reply);
        curvecp_zmq_server_flush (rogue->server);
    }
    zmsg_destroy (&msg);
    return NULL;
}

static void
test_unknown_reason (void)
{
    const char *reasons[] = { "frobnicated", "ok" };
    for (int i = 0; i < 2; i++) {
        rogue_t rogue = { curvecp_zmq_server_new (&keyd_keys, CURVECP_KEYD_DEFAULT_NAME), reasons[i], false };
        CHECK (rogue.server);
        int port = curvecp_zmq_server_bind (rogue.server, "tcp://127.0.0.1:*");
        CHECK (port > 0);
        char endpoint[64];
        snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
        pthread_t thread;
        CHECK (pthread_create (&thread, NULL, rogue_run, &rogue) == 0);
        curvecp_zmq_client_t *client = curvecp_zmq_client_new (NULL, keyd_keys.public_key, CURVECP_KEYD_DEFAULT_NAME);
        CHECK (client && curvecp_zmq_client_connect (client, endpoint) == 0);
        curvecp_zmq_client_set_linger (client, 0);
        uint64_t seq = 0;
        curvecp_keyset_result_t result = curvecp_keyd_change (client, (const uint8_t *) "x", 1, 5000, &seq);
        pthread_join (thread, NULL);
        CHECK (rogue.answered);
        CHECK_EQ (result, CURVECP_KEYSET_UNKNOWN_REASON);
        CHECK (seq == 9);
        CHECK (streq (curvecp_keyset_result_text (result), "unknown-reason"));
        curvecp_zmq_client_destroy (&client);
        curvecp_zmq_server_destroy (&rogue.server);
    }
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    crypto_sign_keypair (admin_pk, admin_sk);
    curvecp_keypair_generate (&keyd_keys);
    test_request_decoder ();
    test_reply_decoder ();
    test_spec_parse ();
    test_live_service ();
    test_unknown_reason ();
    printf ("keyd tests passed\n");
    return 0;
}
