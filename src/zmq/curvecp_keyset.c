/*  curvecp_keyset.c - the key service's signed key set: its encoding
    (rfc/curvecp.md, "Key service"), the administrator's signatures
    (libsodium crypto_sign, Ed25519), updates in sequence, and the set's
    file. Entries are kept sorted by key, so that the encoding of a set
    is canonical: the administrator signs the set it computes, every
    holder computes the same bytes and checks that signature.          */

#include "curvecp_keyset.h"
#include "curvecp_keys.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SET_MAGIC    "CCPKSET1"
#define UPDATE_MAGIC "CCPKUPD1"
#define MAGIC_BYTES  8
#define ENTRY_MIN    (CURVECP_KEY_BYTES + 8 + 1 + 1 + 1 + 2)
#define FLAG_REVOKED 0x01
#define FILE_MAX     (64u << 20)

struct _curvecp_keyset_t {
    uint8_t admin[CURVECP_KEYSET_ADMIN_PUBLIC_BYTES];
    uint64_t seq;
    uint8_t sig[CURVECP_KEYSET_SIG_BYTES];      /* of the set at seq (zero at 0) */
    curvecp_keyset_entry_t *entries;            /* sorted by key */
    size_t count, cap;
    curvecp_keyset_stats_t stats;
};

/* ---- a growing byte buffer ------------------------------------------------ */

typedef struct {
    uint8_t *data;
    size_t size, cap;
    bool failed;
} buf_t;

static void
buf_put (buf_t *buf, const void *data, size_t size)
{
    if (buf->failed)
        return;
    if (buf->size + size > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 256;
        while (cap < buf->size + size)
            cap *= 2;
        uint8_t *grown = (uint8_t *) realloc (buf->data, cap);
        if (!grown) {
            buf->failed = true;
            return;
        }
        buf->data = grown;
        buf->cap = cap;
    }
    memcpy (buf->data + buf->size, data, size);
    buf->size += size;
}

static void
buf_put_le (buf_t *buf, uint64_t value, size_t bytes)
{
    uint8_t out[8];
    for (size_t i = 0; i < bytes; i++)
        out[i] = (uint8_t) (value >> (8 * i));
    buf_put (buf, out, bytes);
}

static uint8_t *
buf_take (buf_t *buf, size_t *size)
{
    if (buf->failed) {
        free (buf->data);
        return NULL;
    }
    *size = buf->size;
    return buf->data;
}

/* ---- a reader that refuses to run past the end ---------------------------- */

typedef struct {
    const uint8_t *data;
    size_t size, at;
    bool bad;
} reader_t;

static const uint8_t *
take (reader_t *in, size_t size)
{
    if (in->bad || in->size - in->at < size) {
        in->bad = true;
        return NULL;
    }
    const uint8_t *here = in->data + in->at;
    in->at += size;
    return here;
}

static uint64_t
take_le (reader_t *in, size_t bytes)
{
    const uint8_t *p = take (in, bytes);
    uint64_t value = 0;
    for (size_t i = 0; p && i < bytes; i++)
        value |= (uint64_t) p[i] << (8 * i);
    return value;
}

/* ---- entries ---------------------------------------------------------------- */

static bool
name_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '.' || c == '_' || c == '@' || c == '-';
}

static bool
name_valid (const char *name, size_t len)
{
    if (len == 0 || len > CURVECP_KEYSET_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!name_char (name[i]))
            return false;
    return true;
}

/* Lines "key=value" joined by '\n': key of name characters, value of
   printable ASCII. Empty metadata is no lines. */
static bool
metadata_valid (const char *text, size_t len)
{
    if (len > CURVECP_KEYSET_METADATA_MAX)
        return false;
    size_t start = 0;
    while (start < len) {
        size_t end = start, equals = 0;
        while (end < len && text[end] != '\n') {
            char c = text[end];
            if (c == '=' && !equals)
                equals = end;
            else
            if (!equals ? !name_char (c) : (c < 0x20 || c > 0x7e))
                return false;
            end++;
        }
        if (!equals || equals == start)
            return false;
        if (end == len - 1)             /* a trailing '\n' makes an empty line */
            return false;
        start = end + 1;
    }
    return true;
}

bool
curvecp_keyset_entry_valid (const curvecp_keyset_entry_t *entry)
{
    size_t name_len = strnlen (entry->name, sizeof entry->name);
    size_t meta_len = strnlen (entry->metadata, sizeof entry->metadata);
    return name_len < sizeof entry->name && meta_len < sizeof entry->metadata
        && name_valid (entry->name, name_len) && metadata_valid (entry->metadata, meta_len);
}

static void
encode_entry (buf_t *buf, const curvecp_keyset_entry_t *entry)
{
    size_t name_len = strlen (entry->name), meta_len = strlen (entry->metadata);
    buf_put (buf, entry->key, CURVECP_KEY_BYTES);
    buf_put_le (buf, entry->added, 8);
    buf_put_le (buf, entry->revoked ? FLAG_REVOKED : 0, 1);
    buf_put_le (buf, name_len, 1);
    buf_put (buf, entry->name, name_len);
    buf_put_le (buf, meta_len, 2);
    buf_put (buf, entry->metadata, meta_len);
}

static bool
decode_entry (reader_t *in, curvecp_keyset_entry_t *entry)
{
    memset (entry, 0, sizeof *entry);
    const uint8_t *key = take (in, CURVECP_KEY_BYTES);
    entry->added = take_le (in, 8);
    uint64_t flags = take_le (in, 1);
    size_t name_len = (size_t) take_le (in, 1);
    const uint8_t *name = take (in, name_len);
    size_t meta_len = (size_t) take_le (in, 2);
    const uint8_t *meta = take (in, meta_len);
    if (in->bad || (flags & ~(uint64_t) FLAG_REVOKED)
    ||  !name_valid ((const char *) name, name_len) || !metadata_valid ((const char *) meta, meta_len))
        return false;
    memcpy (entry->key, key, CURVECP_KEY_BYTES);
    entry->revoked = flags & FLAG_REVOKED;
    memcpy (entry->name, name, name_len);
    memcpy (entry->metadata, meta, meta_len);
    return true;
}

/* ---- the set ---------------------------------------------------------------- */

curvecp_keyset_t *
curvecp_keyset_new (const uint8_t admin_key[CURVECP_KEYSET_ADMIN_PUBLIC_BYTES])
{
    curvecp_keyset_t *self = (curvecp_keyset_t *) calloc (1, sizeof *self);
    if (self)
        memcpy (self->admin, admin_key, sizeof self->admin);
    return self;
}

void
curvecp_keyset_destroy (curvecp_keyset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->entries);
    free (*self_p);
    *self_p = NULL;
}

static bool
reserve (curvecp_keyset_t *self, size_t count)
{
    if (count <= self->cap)
        return true;
    size_t cap = self->cap ? self->cap * 2 : 16;
    while (cap < count)
        cap *= 2;
    curvecp_keyset_entry_t *grown = (curvecp_keyset_entry_t *) realloc (self->entries, cap * sizeof *grown);
    if (!grown)
        return false;
    self->entries = grown;
    self->cap = cap;
    return true;
}

curvecp_keyset_t *
curvecp_keyset_dup (const curvecp_keyset_t *self)
{
    curvecp_keyset_t *copy = curvecp_keyset_new (self->admin);
    if (!copy || !reserve (copy, self->count)) {
        curvecp_keyset_destroy (&copy);
        return NULL;
    }
    if (self->count)
        memcpy (copy->entries, self->entries, self->count * sizeof *self->entries);
    copy->count = self->count;
    copy->seq = self->seq;
    memcpy (copy->sig, self->sig, sizeof copy->sig);
    return copy;
}

uint64_t curvecp_keyset_seq (const curvecp_keyset_t *self) { return self->seq; }
size_t curvecp_keyset_size (const curvecp_keyset_t *self) { return self->count; }
const uint8_t *curvecp_keyset_admin_key (const curvecp_keyset_t *self) { return self->admin; }
const curvecp_keyset_stats_t *curvecp_keyset_stats (const curvecp_keyset_t *self) { return &self->stats; }

const curvecp_keyset_entry_t *
curvecp_keyset_entry (const curvecp_keyset_t *self, size_t index)
{
    return index < self->count ? &self->entries[index] : NULL;
}

/* Index of key, or where it would go (*found false). */
static size_t
search (const curvecp_keyset_t *self, const uint8_t key[CURVECP_KEY_BYTES], bool *found)
{
    size_t low = 0, high = self->count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int order = memcmp (self->entries[mid].key, key, CURVECP_KEY_BYTES);
        if (order == 0) {
            *found = true;
            return mid;
        }
        if (order < 0)
            low = mid + 1;
        else
            high = mid;
    }
    *found = false;
    return low;
}

const curvecp_keyset_entry_t *
curvecp_keyset_find (const curvecp_keyset_t *self, const uint8_t key[CURVECP_KEY_BYTES])
{
    bool found;
    size_t at = search (self, key, &found);
    return found ? &self->entries[at] : NULL;
}

const curvecp_keyset_entry_t *
curvecp_keyset_find_name (const curvecp_keyset_t *self, const char *name)
{
    const curvecp_keyset_entry_t *best = NULL;
    for (size_t i = 0; i < self->count; i++) {
        const curvecp_keyset_entry_t *entry = &self->entries[i];
        if (!entry->revoked && strcmp (entry->name, name) == 0 && (!best || entry->added > best->added))
            best = entry;
    }
    return best;
}

bool
curvecp_keyset_allowed (const curvecp_keyset_t *self, const uint8_t key[CURVECP_KEY_BYTES])
{
    const curvecp_keyset_entry_t *entry = curvecp_keyset_find (self, key);
    return entry && !entry->revoked;
}

/* Put entry in (added, or replacing the one with its key). */
static bool
upsert (curvecp_keyset_t *self, const curvecp_keyset_entry_t *entry)
{
    bool found;
    size_t at = search (self, entry->key, &found);
    if (!found) {
        if (self->count >= CURVECP_KEYSET_ENTRIES_MAX || !reserve (self, self->count + 1))
            return false;
        memmove (&self->entries[at + 1], &self->entries[at], (self->count - at) * sizeof *entry);
        self->count++;
    }
    self->entries[at] = *entry;
    return true;
}

/* The signed part of a set at seq: magic, seq, count, entries. */
static uint8_t *
encode_set_body (const curvecp_keyset_t *self, uint64_t seq, size_t *size)
{
    buf_t buf = { 0 };
    buf_put (&buf, SET_MAGIC, MAGIC_BYTES);
    buf_put_le (&buf, seq, 8);
    buf_put_le (&buf, self->count, 4);
    for (size_t i = 0; i < self->count; i++)
        encode_entry (&buf, &self->entries[i]);
    return buf_take (&buf, size);
}

uint8_t *
curvecp_keyset_snapshot (const curvecp_keyset_t *self, size_t *size)
{
    size_t body_size;
    uint8_t *body = encode_set_body (self, self->seq, &body_size);
    if (!body)
        return NULL;
    buf_t buf = { body, body_size, body_size, false };
    buf_put (&buf, self->sig, sizeof self->sig);
    return buf_take (&buf, size);
}

static curvecp_keyset_result_t
counted (curvecp_keyset_t *self, curvecp_keyset_result_t result)
{
    self->stats.counts[result]++;
    return result;
}

static bool
verify (const curvecp_keyset_t *self, const uint8_t *sig, const uint8_t *data, size_t size)
{
    return crypto_sign_verify_detached (sig, data, size, self->admin) == 0;
}

/* Decode a signed set into a fresh set (same admin key). */
static curvecp_keyset_t *
decode_set (const curvecp_keyset_t *self, const uint8_t *data, size_t size, curvecp_keyset_result_t *result)
{
    *result = CURVECP_KEYSET_MALFORMED;
    reader_t in = { data, size, 0, false };
    const uint8_t *magic = take (&in, MAGIC_BYTES);
    uint64_t seq = take_le (&in, 8);
    uint64_t count = take_le (&in, 4);
    if (in.bad || memcmp (magic, SET_MAGIC, MAGIC_BYTES) != 0 || size < CURVECP_KEYSET_SIG_BYTES
    ||  count > CURVECP_KEYSET_ENTRIES_MAX || count > (size - in.at) / ENTRY_MIN)
        return NULL;
    curvecp_keyset_t *set = curvecp_keyset_new (self->admin);
    if (!set || !reserve (set, (size_t) count)) {
        curvecp_keyset_destroy (&set);
        return NULL;
    }
    for (uint64_t i = 0; i < count; i++) {
        curvecp_keyset_entry_t *entry = &set->entries[set->count];
        if (!decode_entry (&in, entry)
        ||  (set->count && memcmp (set->entries[set->count - 1].key, entry->key, CURVECP_KEY_BYTES) >= 0))
            break;                      /* strictly ascending keys: canonical, no duplicates */
        set->count++;
    }
    const uint8_t *sig = take (&in, CURVECP_KEYSET_SIG_BYTES);
    if (set->count != count || in.bad || in.at != size) {
        curvecp_keyset_destroy (&set);
        return NULL;
    }
    set->seq = seq;
    memcpy (set->sig, sig, sizeof set->sig);
    static const uint8_t zero[CURVECP_KEYSET_SIG_BYTES];
    bool signed_ok = seq == 0 ? count == 0 && sodium_memcmp (sig, zero, sizeof zero) == 0
                              : verify (self, sig, data, size - CURVECP_KEYSET_SIG_BYTES);
    if (!signed_ok) {
        *result = CURVECP_KEYSET_BAD_SIGNATURE;
        curvecp_keyset_destroy (&set);
        return NULL;
    }
    *result = CURVECP_KEYSET_OK;
    return set;
}

/* Take other's entries, seq and signature; other is freed. */
static void
adopt (curvecp_keyset_t *self, curvecp_keyset_t **other_p)
{
    curvecp_keyset_t *other = *other_p;
    free (self->entries);
    self->entries = other->entries;
    self->count = other->count;
    self->cap = other->cap;
    self->seq = other->seq;
    memcpy (self->sig, other->sig, sizeof self->sig);
    other->entries = NULL;
    curvecp_keyset_destroy (other_p);
}

static bool
same_content (const curvecp_keyset_t *self, const uint8_t *data, size_t size)
{
    size_t mine_size;
    uint8_t *mine = curvecp_keyset_snapshot (self, &mine_size);
    bool same = mine && mine_size == size && memcmp (mine, data, size) == 0;
    free (mine);
    return same;
}

curvecp_keyset_result_t
curvecp_keyset_load_snapshot (curvecp_keyset_t *self, const uint8_t *data, size_t size)
{
    curvecp_keyset_result_t result;
    curvecp_keyset_t *set = decode_set (self, data, size, &result);
    if (!set)
        return counted (self, result);
    if (set->seq < self->seq || (set->seq == self->seq && !same_content (self, data, size))) {
        result = set->seq < self->seq ? CURVECP_KEYSET_STALE : CURVECP_KEYSET_DIVERGED;
        curvecp_keyset_destroy (&set);
        return counted (self, result);
    }
    adopt (self, &set);
    return counted (self, CURVECP_KEYSET_OK);
}

/* ---- updates ---------------------------------------------------------------- */

typedef struct {
    uint64_t seq;
    curvecp_keyset_entry_t entry;
    const uint8_t *set_sig;
} update_t;

static bool
decode_update (const uint8_t *data, size_t size, update_t *update)
{
    reader_t in = { data, size, 0, false };
    const uint8_t *magic = take (&in, MAGIC_BYTES);
    update->seq = take_le (&in, 8);
    if (in.bad || memcmp (magic, UPDATE_MAGIC, MAGIC_BYTES) != 0 || !decode_entry (&in, &update->entry))
        return false;
    update->set_sig = take (&in, CURVECP_KEYSET_SIG_BYTES);
    take (&in, CURVECP_KEYSET_SIG_BYTES);
    return !in.bad && in.at == size && update->seq > 0;
}

uint64_t
curvecp_keyset_update_seq (const uint8_t *data, size_t size)
{
    update_t update;
    return decode_update (data, size, &update) ? update.seq : 0;
}

/* self with entry put in, as sequence seq; its signature unset. */
static curvecp_keyset_t *
with_entry (const curvecp_keyset_t *self, const curvecp_keyset_entry_t *entry, uint64_t seq)
{
    curvecp_keyset_t *next = curvecp_keyset_dup (self);
    if (next && !upsert (next, entry))
        curvecp_keyset_destroy (&next);
    if (next)
        next->seq = seq;
    return next;
}

curvecp_keyset_result_t
curvecp_keyset_apply_update (curvecp_keyset_t *self, const uint8_t *data, size_t size)
{
    update_t update;
    if (!decode_update (data, size, &update))
        return counted (self, CURVECP_KEYSET_MALFORMED);
    if (!verify (self, data + size - CURVECP_KEYSET_SIG_BYTES, data, size - CURVECP_KEYSET_SIG_BYTES))
        return counted (self, CURVECP_KEYSET_BAD_SIGNATURE);
    if (update.seq <= self->seq)
        return counted (self, CURVECP_KEYSET_STALE);
    if (update.seq != self->seq + 1)
        return counted (self, CURVECP_KEYSET_GAP);
    curvecp_keyset_t *next = with_entry (self, &update.entry, update.seq);
    size_t body_size = 0;
    uint8_t *body = next ? encode_set_body (next, next->seq, &body_size) : NULL;
    bool signed_ok = body && verify (self, update.set_sig, body, body_size);
    free (body);
    if (!signed_ok) {
        curvecp_keyset_destroy (&next);
        return counted (self, CURVECP_KEYSET_DIVERGED);
    }
    memcpy (next->sig, update.set_sig, sizeof next->sig);
    adopt (self, &next);
    return counted (self, CURVECP_KEYSET_OK);
}

uint8_t *
curvecp_keyset_make_update (const curvecp_keyset_t *self, const curvecp_keyset_entry_t *entry,
        const uint8_t admin_secret[CURVECP_KEYSET_ADMIN_SECRET_BYTES], size_t *size)
{
    /* an Ed25519 secret key holds its public key in its last 32 bytes */
    if (!curvecp_keyset_entry_valid (entry)
    ||  sodium_memcmp (admin_secret + 32, self->admin, sizeof self->admin) != 0)
        return NULL;
    curvecp_keyset_t *next = with_entry (self, entry, self->seq + 1);
    size_t body_size = 0;
    uint8_t *body = next ? encode_set_body (next, next->seq, &body_size) : NULL;
    curvecp_keyset_destroy (&next);
    if (!body)
        return NULL;
    uint8_t set_sig[CURVECP_KEYSET_SIG_BYTES], sig[CURVECP_KEYSET_SIG_BYTES];
    crypto_sign_detached (set_sig, NULL, body, body_size, admin_secret);
    free (body);
    buf_t buf = { 0 };
    buf_put (&buf, UPDATE_MAGIC, MAGIC_BYTES);
    buf_put_le (&buf, self->seq + 1, 8);
    encode_entry (&buf, entry);
    buf_put (&buf, set_sig, sizeof set_sig);
    if (!buf.failed)
        crypto_sign_detached (sig, NULL, buf.data, buf.size, admin_secret);
    buf_put (&buf, sig, sizeof sig);
    return buf_take (&buf, size);
}

/* ---- the file --------------------------------------------------------------- */

int
curvecp_keyset_save (const curvecp_keyset_t *self, const char *path)
{
    size_t size;
    uint8_t *data = curvecp_keyset_snapshot (self, &size);
    int rc = data && curvecp_keyfile_save (path, data, size, 0644) == CURVECP_OK ? 0 : -1;
    free (data);
    return rc;
}

static uint8_t *
read_file (const char *path, size_t *size)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    buf_t buf = { 0 };
    uint8_t chunk[4096];
    size_t got;
    while ((got = fread (chunk, 1, sizeof chunk, file)) > 0 && buf.size <= FILE_MAX)
        buf_put (&buf, chunk, got);
    bool bad = ferror (file) || buf.size > FILE_MAX;
    fclose (file);
    if (bad)
        buf.failed = true;
    return buf_take (&buf, size);
}

int
curvecp_keyset_load_file (curvecp_keyset_t *self, const char *path)
{
    size_t size = 0;
    uint8_t *data = read_file (path, &size);
    if (!data)
        return -1;
    curvecp_keyset_result_t result = curvecp_keyset_load_snapshot (self, data, size);
    free (data);
    return result == CURVECP_KEYSET_OK ? 0 : -1;
}

const char *
curvecp_keyset_result_text (curvecp_keyset_result_t result)
{
    static const char *texts[CURVECP_KEYSET_RESULTS] = {
        "ok", "malformed", "bad-signature", "stale", "gap", "diverged", "unknown-reason"
    };
    return result < CURVECP_KEYSET_RESULTS ? texts[result] : "unknown";
}
