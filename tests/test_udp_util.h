/*  test_udp_util.h - what the UDP carrier tests share: a server and
    clients in one process on loopback, one event-loop step over all of
    them, and a byte pump that checks a known pattern.                   */
#ifndef TEST_UDP_UTIL_H_INCLUDED
#define TEST_UDP_UTIL_H_INCLUDED
#include <poll.h>
#include <sodium.h>
#include "curvecp_udp_client.h"
#include "curvecp_udp_server.h"
#include "curvecp_udp_socket.h"
#include "testutil.h"

#define WAIT_LIMIT_NS (20ull * 1000000000ull)

typedef struct {
    curvecp_keypair_t keys;
    curvecp_udp_server_t *server;
    curvecp_udp_addr_t addr;
    uint8_t ext [CURVECP_EXT_BYTES];
} fixture_t;

static inline void
fixture_start_with (fixture_t *f, curvecp_udp_server_config_t *config, const char *ip)
{
    curvecp_keypair_generate (&f->keys);
    config->keys = &f->keys;
    memcpy (config->ext, f->ext, CURVECP_EXT_BYTES);
    CHECK_EQ (curvecp_udp_addr_parse (ip, 0, &config->bind), CURVECP_OK);
    f->server = curvecp_udp_server_new (config);
    CHECK (f->server);
    CHECK_EQ (curvecp_udp_server_add_name (f->server, "test.example"), 0);
    curvecp_udp_server_local (f->server, &f->addr);
}

static inline void
fixture_start (fixture_t *f, const char *ip, int max, curvecp_udp_message_fn *on_message, void *arg)
{
    curvecp_udp_server_config_t config;
    curvecp_udp_server_config_default (&config);
    config.max_connections = max;
    config.on_message = on_message;
    config.on_message_arg = arg;
    fixture_start_with (f, &config, ip);
}

static inline void
client_config (fixture_t *f, curvecp_udp_client_config_t *config)
{
    curvecp_udp_client_config_default (config);
    memcpy (config->server_pk, f->keys.public_key, 32);
    memcpy (config->server_ext, f->ext, CURVECP_EXT_BYTES);
    config->server_name = "test.example";
    config->ext_path = "/nonexistent/curvecpextension";
    config->addrs [0] = f->addr;
    config->addr_count = 1;
}

static inline curvecp_udp_client_t *
client_start (fixture_t *f, curvecp_udp_message_fn *on_message, void *arg)
{
    curvecp_udp_client_config_t config;
    client_config (f, &config);
    config.on_message = on_message;
    config.on_message_arg = arg;
    curvecp_udp_client_t *client = curvecp_udp_client_new (&config, curvecp_clock_now ());
    CHECK (client);
    return client;
}

static inline uint64_t
earliest (uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* One poll over the server and up to 8 clients, then process all. */
static inline void
step_many (fixture_t *f, curvecp_udp_client_t **clients, int count)
{
    struct pollfd pfd [9];
    uint64_t deadline = curvecp_udp_server_deadline (f->server);
    pfd [0] = (struct pollfd) { curvecp_udp_server_fd (f->server), POLLIN, 0 };
    for (int i = 0; i < count; i++) {
        pfd [1 + i] = (struct pollfd) { curvecp_udp_client_fd (clients [i]), POLLIN, 0 };
        deadline = earliest (deadline, curvecp_udp_client_deadline (clients [i]));
    }
    uint64_t cap = curvecp_clock_now () + 50000000ull;
    curvecp_udp_poll (pfd, 1 + count, earliest (deadline, cap));
    uint64_t now = curvecp_clock_now ();
    curvecp_udp_server_process (f->server, now);
    for (int i = 0; i < count; i++)
        curvecp_udp_client_process (clients [i], now);
}

static inline void
step (fixture_t *f, curvecp_udp_client_t *client)
{
    step_many (f, &client, client ? 1 : 0);
}

static inline void
pattern (uint8_t *buf, size_t len, uint64_t offset, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf [i] = (uint8_t) ((offset + i) * 131 + seed + ((offset + i) >> 10));
}

typedef struct {
    uint64_t sent, received, total;
    uint8_t seed;
    bool shut;
} pump_t;

/* Send our pattern, shut down at the end, check what arrives. */
static inline void
pump (curvecp_udp_conn_t *conn, pump_t *out, pump_t *in)
{
    uint8_t buf [16384], want [16384];
    while (out->sent < out->total) {
        size_t n = out->total - out->sent < sizeof buf ? (size_t) (out->total - out->sent) : sizeof buf;
        pattern (buf, n, out->sent, out->seed);
        size_t took = curvecp_udp_conn_send (conn, buf, n);
        out->sent += took;
        if (took < n)
            break;
    }
    if (out->sent == out->total && !out->shut) {
        CHECK_EQ (curvecp_udp_conn_shutdown (conn, CURVECP_EOF_SUCCESS), CURVECP_OK);
        out->shut = true;
    }
    size_t n;
    while ((n = curvecp_udp_conn_recv (conn, buf, sizeof buf)) > 0) {
        pattern (want, n, in->received, in->seed);
        CHECK_MEM (buf, want, n);
        in->received += n;
    }
}

/* Step until the client has a Cookie (or fail after the limit). */
static inline void
connect_client (fixture_t *f, curvecp_udp_client_t *client)
{
    uint64_t start = curvecp_clock_now ();
    while (curvecp_udp_client_state (client, curvecp_clock_now ()) != CURVECP_UDP_CONNECTED) {
        CHECK (curvecp_clock_now () - start < WAIT_LIMIT_NS);
        step (f, client);
    }
}
#endif
