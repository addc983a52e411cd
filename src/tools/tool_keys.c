/*  curvecp-keys - administers the key service (curvecp-keyd).

    curvecp-keys new-admin ADMINKEY
    curvecp-keys [-n name] [-t seconds] -a ADMINKEY add KEYDKEY ENDPOINT CLIENTKEY NAME [key=value...]
    curvecp-keys [-n name] [-t seconds] -a ADMINKEY revoke KEYDKEY ENDPOINT CLIENTKEY|NAME
    curvecp-keys [-n name] [-t seconds] [-a ADMINKEY | -A ADMINPUB] list KEYDKEY ENDPOINT

    new-admin makes the administrator's Ed25519 pair (ADMINKEY, 0600, and
    ADMINKEY.pub) and prints the public key. add and revoke take the
    service's signed set, make the change and sign it (and the set after
    it) with the administrator's secret key, and send it; the service
    takes it only if that key signed it and it is the next in sequence
    (another change in between: we take the set again and retry). list
    prints the set, checked against the administrator's public key: a
    line "seq N entries M", then per entry "HEX NAME added=TIME
    active|revoked [key=value...]". KEYDKEY: the service's public key (64
    hex digits, key directory or zcert file); -n its server name (default
    keyd); -t how long to wait for it (default 10 s).
    Exit codes: 0 done; 1 refused by the service, or no such entry; 100
    usage; 111 fatal (unreadable keys, no answer from the service).    */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <czmq.h>
#include "curvecp_keyd.h"
#include "curvecp_known.h"
#include "curvecp_adminkey.h"
#include "curvecp_packet.h"
#include "curvecp_tool.h"

#define EXIT_REFUSED 1
#define RETRIES      5

#define USAGE "curvecp-keys: usage:\n" \
    "  curvecp-keys new-admin ADMINKEY\n" \
    "  curvecp-keys [-n name] [-t seconds] -a ADMINKEY add KEYDKEY ENDPOINT CLIENTKEY NAME [key=value...]\n" \
    "  curvecp-keys [-n name] [-t seconds] -a ADMINKEY revoke KEYDKEY ENDPOINT CLIENTKEY|NAME\n" \
    "  curvecp-keys [-n name] [-t seconds] [-a ADMINKEY | -A ADMINPUB] list KEYDKEY ENDPOINT\n" \
    "  ADMINKEY   the administrator's secret key file (ADMINKEY.pub: its public key)\n" \
    "  KEYDKEY    the key service's public key: 64 hex digits, key directory or zcert file\n" \
    "  ENDPOINT   the key service's ØMQ endpoint, e.g. tcp://127.0.0.1:7100\n" \
    "  CLIENTKEY  a client's public key: 64 hex digits, key directory or zcert file\n" \
    "  -a file    the administrator's secret key (add, revoke; list: its public half)\n" \
    "  -A key     the administrator's public key, for list (64 hex digits or a file)\n" \
    "  -n name    the key service's server name (default keyd)\n" \
    "  -t seconds how long to wait for the key service (default 10)\n" \
    "  -h         this help\n" \
    "Exit codes: 0 done; 1 refused, or no such entry; 100 usage; 111 fatal.\n"

typedef struct {
    const char *name;
    const char *admin_secret_path, *admin_public_arg;
    int timeout_ms;
    uint8_t admin_pk[32], admin_sk[64];
    curvecp_zmq_client_t *client;
} keys_tool_t;

static curvecp_zmq_client_t *s_client;    /* closed on a fatal error too */

static void
close_client (void)
{
    curvecp_zmq_client_destroy (&s_client);
}

/* 64 hex digits, a NaCl key directory, or a zcert file. */
static bool
public_key_arg (const char *text, uint8_t key[CURVECP_KEY_BYTES])
{
    bool is_key;
    char error[256];
    return curvecp_known_explicit_key (text, key, &is_key, error, sizeof error);
}

static int
new_admin (int argc, char **argv)
{
    if (argc != 1)
        curvecp_tool_usage_error ("new-admin takes one argument ADMINKEY");
    uint8_t pk[32];
    if (curvecp_adminkey_create (argv[0], pk) != 0)
        curvecp_tool_fatal_detail ("unable to write the administrator key",
                                   errno == EEXIST ? "it exists" : strerror (errno));
    char hex[65];
    sodium_bin2hex (hex, sizeof hex, pk, sizeof pk);
    printf ("%s\n", hex);
    return 0;
}

static void
connect_keyd (keys_tool_t *self, const char *key_arg, const char *endpoint)
{
    uint8_t keyd_key[CURVECP_KEY_BYTES];
    if (!public_key_arg (key_arg, keyd_key))
        curvecp_tool_usage_error ("bad KEYDKEY: '%s' (64 hex digits, key directory or zcert file)", key_arg);
    self->client = curvecp_zmq_client_new (NULL, keyd_key, self->name);
    if (!self->client || curvecp_zmq_client_connect (self->client, endpoint) != 0)
        curvecp_tool_fatal_detail ("unable to connect to", endpoint);
    curvecp_zmq_client_set_linger (self->client, 1000);
    s_client = self->client;
}

static curvecp_keyset_t *
fetch (keys_tool_t *self)
{
    curvecp_keyset_t *set = curvecp_keyd_fetch (self->client, self->admin_pk, self->timeout_ms);
    if (!set)
        curvecp_tool_fatal_detail ("no signed set from the key service", curvecp_zmq_client_failed (self->client)
                                   ? curvecp_zmq_client_error (self->client)
                                   : "no answer in time, or its set is not signed by this administrator key");
    return set;
}

/* Sign entry into the service's current set and send it; again if
   another change came first. */
static int
send_change (keys_tool_t *self, const curvecp_keyset_entry_t *entry, const char *what)
{
    for (int attempt = 0; attempt < RETRIES; attempt++) {
        curvecp_keyset_t *set = fetch (self);
        size_t size;
        uint8_t *update = curvecp_keyset_make_update (set, entry, self->admin_sk, &size);
        curvecp_keyset_destroy (&set);
        if (!update)
            curvecp_tool_fatal_detail ("unable to make the change",
                                       "a bad entry, or ADMINKEY is not the service's administrator key");
        uint64_t seq = 0;
        curvecp_keyset_result_t result = curvecp_keyd_change (self->client, update, size, self->timeout_ms, &seq);
        free (update);
        char hex[65];
        curvecp_key_to_hex (entry->key, hex);
        if (result == CURVECP_KEYSET_OK) {
            printf ("seq %" PRIu64 ": %s %s %s\n", seq, what, entry->name, hex);
            return 0;
        }
        if (result == CURVECP_KEYSET_RESULTS)
            curvecp_tool_fatal_detail ("no answer from the key service", curvecp_zmq_client_error (self->client));
        if (result != CURVECP_KEYSET_STALE && result != CURVECP_KEYSET_GAP) {
            fprintf (stderr, "curvecp-keys: the key service refused the change [%s]\n",
                     curvecp_keyset_result_text (result));
            return EXIT_REFUSED;
        }
    }
    fprintf (stderr, "curvecp-keys: other changes kept coming first: gave up after %d tries\n", RETRIES);
    return EXIT_REFUSED;
}

static int
add_entry (keys_tool_t *self, int argc, char **argv)
{
    if (argc < 2)
        curvecp_tool_usage_error ("add takes CLIENTKEY NAME [key=value...]");
    curvecp_keyset_entry_t entry;
    memset (&entry, 0, sizeof entry);
    if (!public_key_arg (argv[0], entry.key))
        curvecp_tool_usage_error ("bad CLIENTKEY: '%s' (64 hex digits, key directory or zcert file)", argv[0]);
    snprintf (entry.name, sizeof entry.name, "%s", argv[1]);
    size_t used = 0;
    for (int i = 2; i < argc; i++) {
        int n = snprintf (entry.metadata + used, sizeof entry.metadata - used, "%s%s", i > 2 ? "\n" : "", argv[i]);
        if (n < 0 || (size_t) n >= sizeof entry.metadata - used)
            curvecp_tool_usage_error ("metadata longer than %d bytes", CURVECP_KEYSET_METADATA_MAX);
        used += (size_t) n;
    }
    entry.added = (uint64_t) time (NULL);
    if (!curvecp_keyset_entry_valid (&entry))
        curvecp_tool_usage_error ("bad NAME '%s' ([A-Za-z0-9._@-], 1..255) or metadata (key=value, printable)",
                                  argv[1]);
    return send_change (self, &entry, "added");
}

static int
revoke_entry (keys_tool_t *self, int argc, char **argv)
{
    if (argc != 1)
        curvecp_tool_usage_error ("revoke takes one CLIENTKEY or NAME");
    curvecp_keyset_t *set = fetch (self);
    uint8_t key[CURVECP_KEY_BYTES];
    const curvecp_keyset_entry_t *found = public_key_arg (argv[0], key) ? curvecp_keyset_find (set, key)
                                                                        : curvecp_keyset_find_name (set, argv[0]);
    if (!found) {
        curvecp_keyset_destroy (&set);
        fprintf (stderr, "curvecp-keys: no entry for %s in the key set\n", argv[0]);
        return EXIT_REFUSED;
    }
    curvecp_keyset_entry_t entry = *found;
    curvecp_keyset_destroy (&set);
    entry.revoked = true;
    return send_change (self, &entry, "revoked");
}

static int
list_entries (keys_tool_t *self)
{
    curvecp_keyset_t *set = fetch (self);
    printf ("seq %" PRIu64 " entries %zu\n", curvecp_keyset_seq (set), curvecp_keyset_size (set));
    for (size_t i = 0; i < curvecp_keyset_size (set); i++) {
        const curvecp_keyset_entry_t *entry = curvecp_keyset_entry (set, i);
        char hex[65], when[32], metadata[CURVECP_KEYSET_METADATA_MAX + 1];
        curvecp_key_to_hex (entry->key, hex);
        time_t added = (time_t) entry->added;
        struct tm tm;
        strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r (&added, &tm));
        snprintf (metadata, sizeof metadata, "%s", entry->metadata);
        for (char *c = metadata; *c; c++)
            if (*c == '\n')
                *c = ' ';
        printf ("%s %s added=%s %s%s%s\n", hex, entry->name, when, entry->revoked ? "revoked" : "active",
                *metadata ? " " : "", metadata);
    }
    curvecp_keyset_destroy (&set);
    return 0;
}

static void
load_admin (keys_tool_t *self, bool need_secret)
{
    if (need_secret && !self->admin_secret_path)
        curvecp_tool_usage_error ("add and revoke need -a ADMINKEY");
    if (self->admin_secret_path) {
        if (curvecp_adminkey_load_secret (self->admin_secret_path, self->admin_sk) != 0)
            curvecp_tool_fatal_detail ("unable to read the administrator's secret key (128 hex digits)",
                                       self->admin_secret_path);
        memcpy (self->admin_pk, self->admin_sk + 32, 32);
    }
    else
    if (!self->admin_public_arg)
        curvecp_tool_usage_error ("list needs -a ADMINKEY or -A ADMINPUB, to check the set's signature");
    else
    if (curvecp_adminkey_load_public (self->admin_public_arg, self->admin_pk) != 0)
        curvecp_tool_usage_error ("bad -A '%s' (64 hex digits, or a file with them)", self->admin_public_arg);
}

int
main (int argc, char **argv)
{
    keys_tool_t self;
    memset (&self, 0, sizeof self);
    self.name = CURVECP_KEYD_DEFAULT_NAME;
    self.timeout_ms = 10000;
    int opt;
    curvecp_tool_start ("curvecp-keys", USAGE, "n:t:a:A:", argc, argv);
    curvecp_tool_on_fatal (close_client);
    while ((opt = getopt (argc, argv, curvecp_tool_optstring ())) != -1) {
        if (opt == 'n')
            self.name = optarg;
        else if (opt == 't')
            self.timeout_ms = curvecp_tool_seconds (optarg) * 1000;
        else if (opt == 'a')
            self.admin_secret_path = optarg;
        else if (opt == 'A')
            self.admin_public_arg = optarg;
        else
            curvecp_tool_bad_option ();
    }
    if (optind >= argc)
        curvecp_tool_usage_error ("no command: new-admin, add, revoke or list");
    if (sodium_init () < 0)
        curvecp_tool_fatal_detail ("libsodium", NULL);
    const char *command = argv[optind];
    int left = argc - optind - 1;
    char **rest = argv + optind + 1;
    if (streq (command, "new-admin"))
        return new_admin (left, rest);
    if (!streq (command, "add") && !streq (command, "revoke") && !streq (command, "list"))
        curvecp_tool_usage_error ("unknown command '%s' (new-admin, add, revoke or list)", command);
    uint8_t field[CURVECP_NAME_BYTES];
    if (curvecp_name_encode (self.name, field) != CURVECP_OK)
        curvecp_tool_usage_error ("bad server name: -n '%s' (dotted labels of 1..63 bytes)", self.name);
    if (left < 2)
        curvecp_tool_usage_error ("%s needs KEYDKEY ENDPOINT", command);
    if (streq (command, "list") && left != 2)
        curvecp_tool_usage_error ("list takes only KEYDKEY ENDPOINT");
    load_admin (&self, !streq (command, "list"));
    connect_keyd (&self, rest[0], rest[1]);
    int rc = streq (command, "add") ? add_entry (&self, left - 2, rest + 2)
           : streq (command, "revoke") ? revoke_entry (&self, left - 2, rest + 2)
           : list_entries (&self);
    sodium_memzero (self.admin_sk, sizeof self.admin_sk);
    s_client = NULL;
    curvecp_zmq_client_destroy (&self.client);
    return rc;
}
