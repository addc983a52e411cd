/*  fuzz_conn - two core connections (src/core/curvecp_conn.c), a client
    and a self-accepting server with the vector server keys, joined by a
    fuzz network: packets queued each way are delivered, dropped,
    duplicated, replayed later, flipped in one byte, truncated, or
    replaced by raw fuzz bytes; the clock jumps; each side writes its
    pattern, reads, shuts its direction. The client sends keepalives
    (every 300 ms of its silence), so they meet all of that too.

    Invariants:
      - every input is counted exactly once in the receiver's stats;
      - a refused packet changes nothing the application can see (state,
        session, readable bytes, received EOF);
      - every byte read is the byte the other side wrote at that position;
      - after a drain on a clean network, either everything written (and
        the EOF) arrived, or a side reports a failure: never silence.   */
#include <string.h>
#include "fuzz_common.h"
#include "curvecp_conn.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define QUEUE_MAX 16
#define OPS_MAX 256
#define WRITE_MAX 8192              /* per side per input, so a drain stays short */
#define DRAIN_STEPS 4000
#define MS 1000000ull

typedef struct {
    uint8_t data[CURVECP_PACKET_MAX];
    size_t len;
} packet_t;

typedef struct {
    curvecp_conn_t *conn;
    uint8_t salt;
    uint64_t written, read;
    bool shut;
    packet_t queue[QUEUE_MAX];      /* output towards the other side */
    int count;
    packet_t last;                  /* the last packet delivered to the other side */
} side_t;

typedef struct {
    side_t side[2];                 /* 0 client, 1 server */
    uint64_t now;
} world_t;

/* Give packet to side to: counted once; a refusal changes nothing visible. */
static void
s_deliver (world_t *w, int to, const uint8_t *packet, size_t len)
{
    curvecp_conn_t *conn = w->side[to].conn;
    uint64_t counted = fuzz_stats_total (curvecp_conn_stats (conn));
    curvecp_conn_state_t state = curvecp_conn_state (conn);
    bool session = curvecp_conn_has_session (conn);
    size_t readable = curvecp_conn_readable (conn);
    curvecp_eof_t eof = curvecp_conn_received_eof (conn);
    curvecp_reason_t rc = curvecp_conn_input (conn, packet, len, w->now);
    FUZZ_CHECK (fuzz_stats_total (curvecp_conn_stats (conn)) == counted + 1);
    if (rc != CURVECP_OK) {
        FUZZ_CHECK (curvecp_conn_state (conn) == state);
        FUZZ_CHECK (curvecp_conn_has_session (conn) == session);
        FUZZ_CHECK (curvecp_conn_readable (conn) == readable);
        FUZZ_CHECK (curvecp_conn_received_eof (conn) == eof);
    }
}

/* Everything side i has due now, into its queue (the oldest dropped when full). */
static void
s_produce (world_t *w, int i)
{
    side_t *side = &w->side[i];
    for (int k = 0; k < 64; k++) {
        packet_t *slot = &side->queue[side->count < QUEUE_MAX ? side->count : QUEUE_MAX - 1];
        size_t len = curvecp_conn_output (side->conn, w->now, slot->data, sizeof slot->data);
        if (len == 0)
            return;
        FUZZ_CHECK (len <= CURVECP_PACKET_MAX);
        slot->len = len;
        if (side->count < QUEUE_MAX)
            side->count++;
    }
}

static void
s_write (world_t *w, int i, size_t n)
{
    side_t *side = &w->side[i];
    if (side->shut || side->written >= WRITE_MAX)
        return;
    uint8_t buf[WRITE_MAX];
    if (n > WRITE_MAX - side->written)
        n = (size_t) (WRITE_MAX - side->written);
    fuzz_pattern_fill (buf, n, side->salt, side->written);
    side->written += curvecp_conn_write (side->conn, buf, n);
}

static void
s_read (world_t *w, int i)
{
    side_t *side = &w->side[i];
    uint8_t buf[4096];
    size_t n;
    while ((n = curvecp_conn_read (side->conn, buf, sizeof buf)) > 0) {
        FUZZ_CHECK (fuzz_pattern_matches (buf, n, w->side[1 - i].salt, side->read));
        side->read += n;
        FUZZ_CHECK (side->read <= w->side[1 - i].written);
    }
}

/* Take packet k off side i's queue (it goes to the other side or is lost). */
static packet_t
s_take (side_t *side, int k)
{
    packet_t packet = side->queue[k];
    memmove (&side->queue[k], &side->queue[k + 1], (size_t) (side->count - k - 1) * sizeof (packet_t));
    side->count--;
    return packet;
}

/* One network event; its parameters are read whatever happens, so an
   input keeps its meaning as the state varies. */
static void
s_network (world_t *w, fuzz_input_t *in, int i)
{
    side_t *side = &w->side[i];
    uint8_t op = fuzz_u8 (in) % 6;
    uint8_t pick = fuzz_u8 (in);
    uint16_t position = fuzz_u16 (in);
    uint8_t value = fuzz_u8 (in);
    bool cut = fuzz_bool (in);
    if (op == 5) {                  /* raw bytes */
        uint8_t raw[CURVECP_PACKET_MAX];
        size_t len = position % sizeof raw;
        fuzz_bytes (in, raw, len);
        s_deliver (w, 1 - i, raw, len);
        return;
    }
    if (op == 4) {                  /* replay the last delivered packet */
        if (side->last.len)
            s_deliver (w, 1 - i, side->last.data, side->last.len);
        return;
    }
    if (side->count == 0)
        return;
    int k = pick % side->count;
    packet_t packet = op == 3 ? side->queue[k] : s_take (side, k);   /* 3: duplicate */
    if (op == 1)                    /* lost */
        return;
    if (op == 2) {                  /* one byte flipped, or cut short */
        if (cut)
            packet.len = position % (packet.len + 1);
        else
            fuzz_flip (packet.data, packet.len, position, value);
    }
    s_deliver (w, 1 - i, packet.data, packet.len);
    if (op != 2)
        side->last = packet;
}

static void
s_step (world_t *w, fuzz_input_t *in)
{
    uint8_t op = fuzz_u8 (in) % 8;
    int i = op & 1;
    switch (op >> 1) {
        case 0:
            w->now += (uint64_t) fuzz_u16 (in) * MS / 16;
            break;
        case 1:
            s_write (w, i, fuzz_u16 (in) % 3000);
            break;
        case 2:
            s_network (w, in, i);
            break;
        default:
            if (fuzz_u8 (in) < 16 && !w->side[i].shut && w->side[i].written >= WRITE_MAX / 4)
                w->side[i].shut = curvecp_conn_shutdown (w->side[i].conn, CURVECP_EOF_SUCCESS) == CURVECP_OK;
            s_read (w, i);
            break;
    }
    s_produce (w, 0);
    s_produce (w, 1);
}

static bool
s_failed (const world_t *w)
{
    return curvecp_conn_state (w->side[0].conn) == CURVECP_CONN_FAILED
        || curvecp_conn_state (w->side[1].conn) == CURVECP_CONN_FAILED;
}

static bool
s_complete (const world_t *w)
{
    for (int i = 0; i < 2; i++) {
        const side_t *side = &w->side[i];
        if (side->read != w->side[1 - i].written)
            return false;
        if (w->side[1 - i].shut && curvecp_conn_received_eof (side->conn) != CURVECP_EOF_SUCCESS)
            return false;
    }
    return true;
}

/* A clean network: everything queued arrives, time moves to deadlines. */
static void
s_drain (world_t *w)
{
    for (int step = 0; step < DRAIN_STEPS && !s_failed (w) && !s_complete (w); step++) {
        for (int i = 0; i < 2; i++) {
            s_read (w, i);
            s_produce (w, i);
            side_t *side = &w->side[i];
            while (side->count > 0) {
                packet_t packet = s_take (side, 0);
                s_deliver (w, 1 - i, packet.data, packet.len);
            }
        }
        uint64_t next = curvecp_conn_deadline (w->side[0].conn);
        uint64_t other = curvecp_conn_deadline (w->side[1].conn);
        next = next < other ? next : other;
        if (next > w->now && next != UINT64_MAX)
            w->now = next;
        else
        if (next == UINT64_MAX)
            w->now += 1000 * MS;
    }
    FUZZ_CHECK (s_failed (w) || s_complete (w));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_input_t in;
    const fuzz_world_t *fw = fuzz_start (&in, data, size);
    curvecp_keypair_t server_keys, client_keys;
    memcpy (server_keys.public_key, fw->server_long_pk, 32);
    memcpy (server_keys.secret_key, fw->server_long_sk, 32);
    memcpy (client_keys.public_key, fw->client_long_pk, 32);
    memcpy (client_keys.secret_key, fw->client_long_sk, 32);
    world_t w;
    memset (&w, 0, sizeof w);
    w.now = 1000000 * MS;
    curvecp_conn_config_t config;
    curvecp_conn_config_default (&config);
    const char *names[] = { "test.example.com", NULL };
    curvecp_conn_config_t client_config = config;
    client_config.keepalive_ns = 300 * MS;
    w.side[0].conn = curvecp_conn_new_client (&client_config, &client_keys, fw->server_long_pk, names[0],
                                              fw->server_ext, fw->client_ext, w.now);
    w.side[1].conn = curvecp_conn_new_server_alone (&config, &server_keys, fw->server_ext, names, w.now);
    FUZZ_CHECK (w.side[0].conn && w.side[1].conn);
    w.side[0].salt = 1;
    w.side[1].salt = 2;
    for (int op = 0; op < OPS_MAX && fuzz_remaining (&in) > 0; op++)
        s_step (&w, &in);
    s_drain (&w);
    curvecp_conn_destroy (&w.side[0].conn);
    curvecp_conn_destroy (&w.side[1].conn);
    return 0;
}
