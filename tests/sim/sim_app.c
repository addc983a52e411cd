/*  sim_app.c - the simulated application and the bare-stream endpoint. */
#include <string.h>
#include "curvecp_conn.h"
#include "sim_app.h"

#define CHUNK 4096

uint8_t
sim_app_byte (uint64_t seed, uint64_t pos)
{
    return (uint8_t) (sim_mix64 (seed ^ (pos >> 3) * 0x100000001b3ull) >> (8 * (pos & 7)));
}

/* ---- the byte stream under the app: a bare stream or a connection ---- */

static size_t s_send_space (void *h) { return curvecp_stream_send_space ((curvecp_stream_t *) h); }
static size_t s_write (void *h, const uint8_t *d, size_t n) { return curvecp_stream_write ((curvecp_stream_t *) h, d, n); }
static void s_close (void *h, curvecp_eof_t eof) { curvecp_stream_close ((curvecp_stream_t *) h, eof); }
static size_t s_read (void *h, uint8_t *d, size_t n) { return curvecp_stream_read ((curvecp_stream_t *) h, d, n); }
static size_t s_readable (void *h) { return curvecp_stream_readable ((curvecp_stream_t *) h); }
static curvecp_eof_t s_received_eof (void *h) { return curvecp_stream_received_eof ((curvecp_stream_t *) h); }
static bool s_all_acked (void *h) { return curvecp_stream_all_acked ((curvecp_stream_t *) h); }
const sim_io_t sim_io_stream = { s_send_space, s_write, s_close, s_read, s_readable, s_received_eof, s_all_acked };

static size_t c_send_space (void *h) { return curvecp_conn_send_space ((curvecp_conn_t *) h); }
static size_t c_write (void *h, const uint8_t *d, size_t n) { return curvecp_conn_write ((curvecp_conn_t *) h, d, n); }
static void c_close (void *h, curvecp_eof_t eof) { curvecp_conn_shutdown ((curvecp_conn_t *) h, eof); }
static size_t c_read (void *h, uint8_t *d, size_t n) { return curvecp_conn_read ((curvecp_conn_t *) h, d, n); }
static size_t c_readable (void *h) { return curvecp_conn_readable ((curvecp_conn_t *) h); }
static curvecp_eof_t c_received_eof (void *h) { return curvecp_conn_received_eof ((curvecp_conn_t *) h); }
static bool c_all_acked (void *h) { return curvecp_conn_all_acked ((curvecp_conn_t *) h); }
const sim_io_t sim_io_conn = { c_send_space, c_write, c_close, c_read, c_readable, c_received_eof, c_all_acked };

static void
app_write (sim_app_t *app, const sim_io_t *io, void *h)
{
    uint8_t chunk[CHUNK];
    while (app->written < app->send_total) {
        uint64_t left = app->send_total - app->written;
        size_t len = left < CHUNK ? (size_t) left : CHUNK;
        size_t space = io->send_space (h);
        if (space == 0)
            return;
        if (len > space)
            len = space;
        for (size_t i = 0; i < len; i++)
            chunk[i] = sim_app_byte (app->send_seed, app->written + i);
        app->written += io->write (h, chunk, len);
    }
    if (!app->closed) {
        io->close (h, app->send_eof);
        app->closed = true;
    }
}

/* How many bytes a slow reader may take at now. */
static uint64_t
read_allowance (sim_app_t *app, uint64_t now)
{
    if (app->read_rate_bps == 0)
        return UINT64_MAX;
    if (now <= app->read_clock)
        return 0;
    uint64_t bytes = (now - app->read_clock) * app->read_rate_bps / 8000000000ull;
    return bytes;
}

static void
app_read (sim_app_t *app, const sim_io_t *io, void *h, uint64_t now)
{
    uint8_t chunk[CHUNK];
    uint64_t allowance = read_allowance (app, now);
    while (allowance > 0) {
        size_t cap = allowance < CHUNK ? (size_t) allowance : CHUNK;
        size_t len = io->read (h, chunk, cap);
        if (len == 0)
            break;
        for (size_t i = 0; i < len; i++)
            if (chunk[i] != sim_app_byte (app->expect_seed, app->received + i))
                app->corrupt = true;
        app->received += len;
        if (app->received > app->expect_total)
            app->corrupt = true;
        if (app->read_rate_bps)
            app->read_clock += (uint64_t) len * 8000000000ull / app->read_rate_bps;
        allowance -= len;
    }
    if (app->read_rate_bps && app->read_clock < now && io->readable (h) == 0)
        app->read_clock = now;          /* an idle reader saves up nothing */
}

void
sim_app_pump_io (sim_app_t *app, const sim_io_t *io, void *h, uint64_t now)
{
    app_write (app, io, h);
    app_read (app, io, h, now);
    if (!app->all_read_at && app->received == app->expect_total && app->expect_total)
        app->all_read_at = now;
    if (!app->finished_at && sim_app_complete_io (app, io, h))
        app->finished_at = now;
}

bool
sim_app_complete_io (const sim_app_t *app, const sim_io_t *io, void *h)
{
    return !app->corrupt && app->received == app->expect_total
        && io->received_eof (h) == app->expect_eof
        && app->closed && io->all_acked (h);
}

uint64_t
sim_app_deadline_io (const sim_app_t *app, const sim_io_t *io, void *h)
{
    if (app->read_rate_bps == 0 || io->readable (h) == 0)
        return UINT64_MAX;
    return app->read_clock + 1024 * 8000000000ull / app->read_rate_bps;
}

void
sim_app_pump (sim_app_t *app, curvecp_stream_t *stream, uint64_t now)
{
    sim_app_pump_io (app, &sim_io_stream, stream, now);
}

bool
sim_app_complete (const sim_app_t *app, curvecp_stream_t *stream)
{
    return sim_app_complete_io (app, &sim_io_stream, stream);
}

uint64_t
sim_app_deadline (const sim_app_t *app, curvecp_stream_t *stream)
{
    return sim_app_deadline_io (app, &sim_io_stream, stream);
}

/* ---- bare stream endpoint -------------------------------------------- */

static void
stream_input (void *self_, const uint8_t *packet, size_t len, uint64_t now)
{
    sim_stream_endpoint_t *self = (sim_stream_endpoint_t *) self_;
    curvecp_stream_receive (self->stream, packet, len, now);
}

static size_t
stream_output (void *self_, uint64_t now, uint8_t *out, size_t cap)
{
    sim_stream_endpoint_t *self = (sim_stream_endpoint_t *) self_;
    sim_app_pump (&self->app, self->stream, now);
    return curvecp_stream_produce (self->stream, now, out, cap);
}

static uint64_t
stream_deadline (void *self_)
{
    sim_stream_endpoint_t *self = (sim_stream_endpoint_t *) self_;
    uint64_t deadline = curvecp_stream_deadline (self->stream);
    uint64_t app = sim_app_deadline (&self->app, self->stream);
    return app < deadline ? app : deadline;
}

static bool
stream_finished (void *self_)
{
    sim_stream_endpoint_t *self = (sim_stream_endpoint_t *) self_;
    return curvecp_stream_failed (self->stream)
        || (sim_app_complete (&self->app, self->stream) && curvecp_stream_deadline (self->stream) == UINT64_MAX);
}

void
sim_stream_endpoint_bind (sim_stream_endpoint_t *self, sim_endpoint_t *endpoint)
{
    endpoint->self = self;
    endpoint->input = stream_input;
    endpoint->output = stream_output;
    endpoint->deadline = stream_deadline;
    endpoint->finished = stream_finished;
}
