/*  sim_app.c - the simulated application and the bare-stream endpoint. */
#include <string.h>
#include "sim_app.h"

#define CHUNK 4096

uint8_t
sim_app_byte (uint64_t seed, uint64_t pos)
{
    return (uint8_t) (sim_mix64 (seed ^ (pos >> 3) * 0x100000001b3ull) >> (8 * (pos & 7)));
}

static void
app_write (sim_app_t *app, curvecp_stream_t *stream)
{
    uint8_t chunk[CHUNK];
    while (app->written < app->send_total) {
        uint64_t left = app->send_total - app->written;
        size_t len = left < CHUNK ? (size_t) left : CHUNK;
        size_t space = curvecp_stream_send_space (stream);
        if (space == 0)
            return;
        if (len > space)
            len = space;
        for (size_t i = 0; i < len; i++)
            chunk[i] = sim_app_byte (app->send_seed, app->written + i);
        app->written += curvecp_stream_write (stream, chunk, len);
    }
    if (!app->closed) {
        curvecp_stream_close (stream, app->send_eof);
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
app_read (sim_app_t *app, curvecp_stream_t *stream, uint64_t now)
{
    uint8_t chunk[CHUNK];
    uint64_t allowance = read_allowance (app, now);
    while (allowance > 0) {
        size_t cap = allowance < CHUNK ? (size_t) allowance : CHUNK;
        size_t len = curvecp_stream_read (stream, chunk, cap);
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
    if (app->read_rate_bps && app->read_clock < now && curvecp_stream_readable (stream) == 0)
        app->read_clock = now;          /* an idle reader saves up nothing */
}

void
sim_app_pump (sim_app_t *app, curvecp_stream_t *stream, uint64_t now)
{
    app_write (app, stream);
    app_read (app, stream, now);
    if (!app->all_read_at && app->received == app->expect_total && app->expect_total)
        app->all_read_at = now;
    if (!app->finished_at && sim_app_complete (app, stream))
        app->finished_at = now;
}

bool
sim_app_complete (const sim_app_t *app, curvecp_stream_t *stream)
{
    return !app->corrupt && app->received == app->expect_total
        && curvecp_stream_received_eof (stream) == app->expect_eof
        && app->closed && curvecp_stream_all_acked (stream);
}

uint64_t
sim_app_deadline (const sim_app_t *app, curvecp_stream_t *stream)
{
    if (app->read_rate_bps == 0 || curvecp_stream_readable (stream) == 0)
        return UINT64_MAX;
    return app->read_clock + 1024 * 8000000000ull / app->read_rate_bps;
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
