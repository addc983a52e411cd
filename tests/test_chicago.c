/*  test_chicago.c - the decongestion controller: initial window, first
    RTT sample, Jacobson timeout, back-off on timeouts, loss without and
    with queueing delay, doubling to link speed, slow restart, the WINDOW
    policy, and determinism under a seeded RNG.                          */
#include "curvecp_chicago.h"
#include "sim_net.h"
#include "testutil.h"

#define US 1000ull
#define MS 1000000ull
#define SECOND 1000000000ull

static void
test_initial_window (void)
{
    uint64_t rng_state = 1;
    const curvecp_rng_t rng = SIM_RNG (&rng_state);
    curvecp_chicago_t *c = curvecp_chicago_new (CURVECP_PACING_CHICAGO, 5 * SECOND, &rng);
    CHECK (c);
    CHECK_EQ (curvecp_chicago_rtt_timeout (c), SECOND);
    int sent = 0;
    while (curvecp_chicago_may_send (c, 5 * SECOND)) {
        curvecp_chicago_sent (c, 5 * SECOND);
        sent++;
        CHECK (sent < 100);
    }
    CHECK_EQ (sent, 8);
    CHECK (curvecp_chicago_send_time (c) > 5 * SECOND);
    curvecp_chicago_destroy (&c);
    CHECK (c == NULL);
}

static void
test_first_sample_and_timeout (void)
{
    uint64_t rng_state = 2;
    const curvecp_rng_t rng = SIM_RNG (&rng_state);
    curvecp_chicago_t *c = curvecp_chicago_new (CURVECP_PACING_CHICAGO, 0, &rng);
    curvecp_chicago_sent (c, 0);
    curvecp_chicago_rtt_sample (c, 0, 40 * MS);
    CHECK_EQ (curvecp_chicago_rtt_average (c), 40 * MS);
    uint64_t n = curvecp_chicago_nsecperblock (c);
    CHECK (n <= 40 * MS / 8);
    /* average + 4 deviation + 8 N, deviation = rtt/2 then decayed */
    uint64_t timeout = curvecp_chicago_rtt_timeout (c);
    CHECK (timeout >= 40 * MS + 8 * n && timeout <= 40 * MS + 4 * 20 * MS + 8 * 5 * MS);

    /* a timeout halves the rate, but only once per 4 rtt_timeout */
    uint64_t before = curvecp_chicago_nsecperblock (c);
    curvecp_chicago_timeout (c, 100 * MS + 4 * timeout);
    CHECK_EQ (curvecp_chicago_nsecperblock (c), 2 * before);
    curvecp_chicago_timeout (c, 101 * MS + 4 * timeout);
    CHECK_EQ (curvecp_chicago_nsecperblock (c), 2 * before);
    curvecp_chicago_destroy (&c);
}

/* Loss on a path without queueing delay is noise; with it, congestion. */
static void
test_loss (void)
{
    uint64_t rng_state = 3;
    const curvecp_rng_t rng = SIM_RNG (&rng_state);
    curvecp_chicago_t *c = curvecp_chicago_new (CURVECP_PACING_CHICAGO, 0, &rng);
    uint64_t now = 100 * MS;
    for (int i = 0; i < 50; i++, now += MS)
        curvecp_chicago_rtt_sample (c, now - 20 * MS, now);
    uint64_t n = curvecp_chicago_nsecperblock (c);
    curvecp_chicago_loss (c, now);
    CHECK_EQ (curvecp_chicago_nsecperblock (c), n);
    for (int i = 0; i < 50; i++, now += MS)
        curvecp_chicago_rtt_sample (c, now - 60 * MS, now);
    n = curvecp_chicago_nsecperblock (c);
    curvecp_chicago_loss (c, now);
    CHECK (curvecp_chicago_nsecperblock (c) > n);
    curvecp_chicago_destroy (&c);
}

/* Steady 30 us RTT samples (loopback): the rate climbs to the floor N
   of 1 us within a simulated second; NaCl would still be at 1 block per
   RTT or slower. */
static void
test_reaches_link_speed (void)
{
    uint64_t rng_state = 4;
    const curvecp_rng_t rng = SIM_RNG (&rng_state);
    curvecp_chicago_t *c = curvecp_chicago_new (CURVECP_PACING_CHICAGO, 0, &rng);
    uint64_t now = 0;
    while (now < SECOND) {
        curvecp_chicago_sent (c, now);
        curvecp_chicago_rtt_sample (c, now, now + 30 * US);
        now += 30 * US;
    }
    CHECK (curvecp_chicago_nsecperblock (c) <= 2 * US);
    CHECK_EQ (curvecp_chicago_rtt_timeout (c), 10 * MS);     /* floor */
    curvecp_chicago_destroy (&c);
}

static void
test_slow_restart_deterministic (void)
{
    uint64_t n[2];
    for (int run = 0; run < 2; run++) {
        uint64_t rng_state = 77;
        const curvecp_rng_t rng = SIM_RNG (&rng_state);
        curvecp_chicago_t *c = curvecp_chicago_new (CURVECP_PACING_CHICAGO, 0, &rng);
        uint64_t now = 0;
        for (int i = 0; i < 2000; i++, now += 100 * US)
            curvecp_chicago_rtt_sample (c, now, now + 20 * MS);
        uint64_t fast = curvecp_chicago_nsecperblock (c);
        now += 30 * SECOND;             /* idle */
        curvecp_chicago_rtt_sample (c, now, now + 20 * MS);
        n[run] = curvecp_chicago_nsecperblock (c);
        CHECK (n[run] > fast);
        CHECK (n[run] >= 20 * MS / 8 / 2);
        curvecp_chicago_destroy (&c);
    }
    CHECK_EQ (n[0], n[1]);
}

static void
test_window_policy (void)
{
    curvecp_chicago_t *c = curvecp_chicago_new (CURVECP_PACING_WINDOW, 0, NULL);
    CHECK_EQ (curvecp_chicago_pacing (c), CURVECP_PACING_WINDOW);
    for (int i = 0; i < 1000; i++) {
        CHECK (curvecp_chicago_may_send (c, 0));
        curvecp_chicago_sent (c, 0);
    }
    CHECK_EQ (curvecp_chicago_send_time (c), 0);
    curvecp_chicago_rtt_sample (c, 0, 5 * MS);
    uint64_t n = curvecp_chicago_nsecperblock (c);
    curvecp_chicago_timeout (c, 10 * SECOND);
    CHECK_EQ (curvecp_chicago_nsecperblock (c), n);
    CHECK (curvecp_chicago_rtt_timeout (c) >= 10 * MS);
    curvecp_chicago_destroy (&c);
}

int
main (void)
{
    test_initial_window ();
    test_first_sample_and_timeout ();
    test_loss ();
    test_reaches_link_speed ();
    test_slow_restart_deterministic ();
    test_window_policy ();
    printf ("test_chicago: OK\n");
    return 0;
}
