/*  sim_app.h - an application on top of a curvecp_stream_t in the
    simulator: writes a seeded pseudo-random stream of a given length and
    EOF kind, reads and checks the peer's stream byte by byte against the
    same generator (O(1) memory), optionally reading slowly. Plus the
    simplest endpoint: a bare stream whose messages are the packets.     */
#ifndef SIM_APP_H_INCLUDED
#define SIM_APP_H_INCLUDED

#include "curvecp_stream.h"
#include "sim_net.h"

typedef struct {
    /* what we send */
    uint64_t send_seed, send_total;
    curvecp_eof_t send_eof;
    uint64_t written;
    bool closed;
    /* what we expect */
    uint64_t expect_seed, expect_total;
    curvecp_eof_t expect_eof;
    uint64_t received;
    bool corrupt;                       /* a byte differed or too many arrived */
    uint64_t read_rate_bps;             /* 0 = read everything at once */
    uint64_t read_clock;                /* virtual time up to which reading is accounted */
    /* when both directions finished, and when the last expected byte was read */
    uint64_t finished_at;
    uint64_t all_read_at;
} sim_app_t;

/* The byte stream under an app: a bare curvecp_stream_t (sim_io_stream)
   or a core connection (sim_io_conn); h is that object. */
typedef struct {
    size_t (*send_space) (void *h);
    size_t (*write) (void *h, const uint8_t *data, size_t len);
    void (*close) (void *h, curvecp_eof_t eof);
    size_t (*read) (void *h, uint8_t *out, size_t cap);
    size_t (*readable) (void *h);
    curvecp_eof_t (*received_eof) (void *h);
    bool (*all_acked) (void *h);
} sim_io_t;

extern const sim_io_t sim_io_stream, sim_io_conn;

void sim_app_pump_io (sim_app_t *app, const sim_io_t *io, void *h, uint64_t now);
bool sim_app_complete_io (const sim_app_t *app, const sim_io_t *io, void *h);
uint64_t sim_app_deadline_io (const sim_app_t *app, const sim_io_t *io, void *h);

/* Byte pos of the stream with this seed. */
uint8_t sim_app_byte (uint64_t seed, uint64_t pos);

/* Write, close and read as far as the stream allows at now. */
void sim_app_pump (sim_app_t *app, curvecp_stream_t *stream, uint64_t now);

/* Everything arrived intact with the right EOF, and ours was acknowledged. */
bool sim_app_complete (const sim_app_t *app, curvecp_stream_t *stream);

/* Earliest time the app itself wants to run (slow reader), or UINT64_MAX. */
uint64_t sim_app_deadline (const sim_app_t *app, curvecp_stream_t *stream);

/* A bare-stream endpoint. */
typedef struct {
    sim_app_t app;
    curvecp_stream_t *stream;
} sim_stream_endpoint_t;

/* Fill endpoint's callbacks for a bare stream endpoint. */
void sim_stream_endpoint_bind (sim_stream_endpoint_t *self, sim_endpoint_t *endpoint);

#endif
