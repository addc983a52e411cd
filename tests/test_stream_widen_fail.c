/*  test_stream_widen_fail.c - the send side when its block table cannot
    widen for want of memory: it goes on with the narrow table, its send
    deadline agrees with what send_next would do at every step, and once
    an acknowledgment frees blocks it tries again, so one failed
    allocation never caps the flight for good. A carrier that sleeps until
    the deadline (the ØMQ codec's output returns at once when nothing is
    due) would otherwise never call send_next on a full narrow table again.
    malloc is wrapped (-Wl,--wrap=malloc, stream.cmake) to fail on demand. */
#include <stdlib.h>
#include "core/curvecp_stream_common.h"
#include "core/curvecp_stream_send.h"
#include "curvecp_constants.h"
#include "testutil.h"

#define MS 1000000ull
#define RTO (100 * MS)
#define DATA (200 * 1024)

void *__real_malloc (size_t size);
void *__wrap_malloc (size_t size);

static bool malloc_fails;
static int malloc_refused;

void *
__wrap_malloc (size_t size)
{
    if (malloc_fails) {
        malloc_refused++;
        return NULL;
    }
    return __real_malloc (size);
}

typedef struct {
    curvecp_stream_config_t config;
    curvecp_stream_info_t info;
    curvecp_stream_send_t send;
    uint32_t last_id;
} side_t;

/* A side that may keep 256 blocks in flight towards a peer with a large
   window, with DATA bytes written. */
static void
side_init (side_t *self, const uint8_t *data)
{
    curvecp_stream_config_default (&self->config);
    self->config.send_buffer = DATA;
    self->config.blocks_max = 256;
    self->config.peer_window_max = 1 << 20;
    curvecp_stream_config_complete (&self->config);
    memset (&self->info, 0, sizeof self->info);
    curvecp_stream_send_init (&self->send, &self->config, &self->info);
    CHECK_EQ (curvecp_stream_send_write (&self->send, data, DATA), DATA);
    curvecp_stream_send_set_peer_window (&self->send, 1 << 20);
    CHECK_EQ (curvecp_stream_send_flight_blocks_max (&self->send), 256);
    self->last_id = 0;
}

/* Send what the deadline says is due, as a carrier that trusts it does,
   checking that a deadline in the future means send_next has nothing:
   the number of blocks sent. */
static int
burst (side_t *self, uint64_t now)
{
    int sent = 0;
    uint8_t out[CURVECP_MSG_MAX];
    for (;;) {
        bool due = curvecp_stream_send_next_time (&self->send, RTO) <= now;
        curvecp_stream_send_why_t why;
        curvecp_stream_block_t *block = curvecp_stream_send_next (&self->send, now, RTO, CURVECP_MSG_MAX, &why);
        if (!due)
            CHECK (block == NULL);      /* the deadline hid due work */
        if (!block)
            return sent;
        curvecp_message_t message;
        memset (&message, 0, sizeof message);
        CHECK (curvecp_stream_send_transmit (&self->send, block, now, &message, out, sizeof out) > 0);
        self->last_id = message.id;
        sent++;
    }
}

/* Everything sent so far arrived: range 1 up to what was cut. */
static void
ack_all (side_t *self, uint64_t upto)
{
    curvecp_message_t m;
    memset (&m, 0, sizeof m);
    m.id = 1;
    m.acked_id = self->last_id;
    CHECK_EQ (curvecp_message_set_ranges (&m, upto, NULL, NULL, 0), 0);
    CHECK (curvecp_stream_send_ack_plausible (&self->send, &m));
    curvecp_stream_send_ack (&self->send, &m, 0);
}

int
main (void)
{
    static uint8_t data[DATA];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t) (i * 7 + 3);
    side_t side;
    side_init (&side, data);

    /* the wide table cannot be had: the narrow one's blocks go, and
       then nothing is due (the deadline agrees with send_next) */
    malloc_fails = true;
    CHECK_EQ (burst (&side, 0), CURVECP_STREAM_INLINE_BLOCKS);
    CHECK (malloc_refused > 0);
    CHECK (curvecp_stream_send_next_time (&side.send, RTO) > 0);
    /* still none after an acknowledgment: one more try (refused), then
       the narrow table again, not a retry per call */
    int refused = malloc_refused;
    ack_all (&side, CURVECP_STREAM_INLINE_BLOCKS * 1024);
    CHECK_EQ (burst (&side, 1), CURVECP_STREAM_INLINE_BLOCKS);
    CHECK_EQ (malloc_refused, refused + 1);
    CHECK (curvecp_stream_send_next_time (&side.send, RTO) > 1);

    /* memory is back: the next acknowledgment makes the next burst
       widen the table and send the rest of the data at once */
    malloc_fails = false;
    ack_all (&side, 2 * CURVECP_STREAM_INLINE_BLOCKS * 1024);
    CHECK_EQ (burst (&side, 2), DATA / 1024 - 2 * CURVECP_STREAM_INLINE_BLOCKS);
    CHECK_EQ (curvecp_stream_send_blocks (&side.send), DATA / 1024 - 2 * CURVECP_STREAM_INLINE_BLOCKS);
    ack_all (&side, DATA);
    CHECK (curvecp_stream_send_all_acked (&side.send));
    curvecp_stream_send_term (&side.send);
    printf ("test_stream_widen_fail: OK\n");
    return 0;
}
