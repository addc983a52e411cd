/*  bench_sim_goodput.c - goodput of the message layer over the simulated
    network, as a fraction of the link capacity: one 10 MB stream from a
    client to a server over a 40 Mbit/s link with 20 ms RTT (10 ms each
    way) and a 20 ms drop-tail queue, at 0 %, 1 % and 5 % random loss in
    both directions. peer = the link capacity (1.0).

    40 Mbit/s is chosen so that the bandwidth-delay product (100 KB) fits
    in the 128 blocks curvecpmessage allows in flight; above about
    52 Mbit/s at this RTT the block limit, not the controller, decides.
    For scale: NaCl's curvecpmessage, with the same RTT, moves about
    0.086 MB/s at 1 % loss (0.017 of this link).

    Then a loopback-like path: 2 Gbit/s, 30 us RTT, 1 ms of queue, 20 MB,
    with carriers whose timers are exact, fire on 50 us ticks (ppoll with
    the kernel's default timer slack) or on 1 ms ticks (poll()). A packet
    arriving wakes a carrier at once in every case. The last line has a
    shallow queue (100 us, 23 packets) that bursts overflow.           */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "curvecp_stream.h"
#include "sim_app.h"

#define SECOND 1000000000ull
#define LINK_BPS 40000000ull
#define TRANSFER 10000000ull

typedef struct {
    const char *name;
    double loss;
    uint64_t delay_ns, rate_bps, queue_ns, transfer, resolution_ns;
} scenario_t;

static double
goodput (const scenario_t *scenario, uint64_t seed, curvecp_stream_info_t *info_out, uint64_t *unneeded)
{
    sim_link_t link;
    memset (&link, 0, sizeof link);
    link.loss = scenario->loss;
    link.delay_ns = scenario->delay_ns;
    link.rate_bps = scenario->rate_bps;
    link.queue_ns = scenario->queue_ns;
    uint64_t transfer = scenario->transfer;
    sim_net_t *net = sim_net_new (seed, &link, &link);
    sim_net_set_timer_resolution (net, scenario->resolution_ns);
    sim_stream_endpoint_t side[2];
    sim_endpoint_t endpoint[2], *endpoints[2] = { &endpoint[0], &endpoint[1] };
    uint64_t rng[2] = { seed * 3 + 1, seed * 5 + 2 };
    const curvecp_rng_t stream_rng[2] = { SIM_RNG (&rng[0]), SIM_RNG (&rng[1]) };
    for (int i = 0; i < 2; i++) {
        memset (&side[i], 0, sizeof side[i]);
        curvecp_stream_config_t config;
        curvecp_stream_config_default (&config);
        config.is_client = i == 0;
        config.rng = &stream_rng[i];
        side[i].stream = curvecp_stream_new (&config);
        side[i].app.send_seed = 42;
        side[i].app.send_total = i == 0 ? transfer : 0;
        side[i].app.send_eof = CURVECP_EOF_SUCCESS;
        side[i].app.expect_seed = 42;
        side[i].app.expect_total = i == 0 ? 0 : transfer;
        side[i].app.expect_eof = CURVECP_EOF_SUCCESS;
        sim_stream_endpoint_bind (&side[i], &endpoint[i]);
    }
    sim_net_run (net, endpoints, 0, 3600 * SECOND);
    double result = 0;
    if (side[1].app.all_read_at && !side[1].app.corrupt) {
        double seconds = (double) side[1].app.all_read_at / 1e9;
        result = (double) transfer * 8 / seconds / (double) scenario->rate_bps;
    }
    *info_out = *curvecp_stream_info (side[0].stream);
    *unneeded = curvecp_stream_info (side[1].stream)->duplicate_blocks;
    if (getenv ("BENCH_VERBOSE")) {
        const curvecp_stream_info_t *r = curvecp_stream_info (side[1].stream);
        fprintf (stderr, "receiver: refused window %llu reorder %llu duplicate bytes %llu acks %llu; "
                 "queue drops %llu; N %llu ns rtt %llu ns timeout %llu ns\n",
                 (unsigned long long) r->refused_window, (unsigned long long) r->refused_reorder,
                 (unsigned long long) r->duplicate_bytes, (unsigned long long) r->acks_sent,
                 (unsigned long long) sim_net_stats (net, 0)->queue_dropped,
                 (unsigned long long) curvecp_chicago_nsecperblock (curvecp_stream_chicago (side[0].stream)),
                 (unsigned long long) curvecp_chicago_rtt_average (curvecp_stream_chicago (side[0].stream)),
                 (unsigned long long) curvecp_chicago_rtt_timeout (curvecp_stream_chicago (side[0].stream)));
    }
    for (int i = 0; i < 2; i++)
        curvecp_stream_destroy (&side[i].stream);
    sim_net_destroy (&net);
    return result;
}

#define MS 1000000ull
#define US 1000ull

int
main (void)
{
    static const scenario_t cases[] = {
        { "sim_goodput_loss0", 0.0, 10 * MS, LINK_BPS, 20 * MS, TRANSFER, 0 },
        { "sim_goodput_loss1", 0.01, 10 * MS, LINK_BPS, 20 * MS, TRANSFER, 0 },
        { "sim_goodput_loss5", 0.05, 10 * MS, LINK_BPS, 20 * MS, TRANSFER, 0 },
        { "sim_goodput_loopback_exact", 0.0, 15 * US, 2000 * MS, 1 * MS, 2 * TRANSFER, 0 },
        { "sim_goodput_loopback_tick50us", 0.0, 15 * US, 2000 * MS, 1 * MS, 2 * TRANSFER, 50 * US },
        { "sim_goodput_loopback_tick1ms", 0.0, 15 * US, 2000 * MS, 1 * MS, 2 * TRANSFER, 1 * MS },
        { "sim_goodput_loopback_shallow_tick1ms", 0.0, 15 * US, 2000 * MS, 100 * US, 2 * TRANSFER, 1 * MS },
    };
    printf ("link %.0f Mbit/s, RTT 20 ms, queue 20 ms, %.0f MB client -> server\n",
            (double) LINK_BPS / 1e6, (double) TRANSFER / 1e6);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        curvecp_stream_info_t info;
        uint64_t unneeded;
        double ours = goodput (&cases[i], 1234 + i, &info, &unneeded);
        printf ("# %s: %.2f MB/s, %llu blocks, %llu retransmissions (%llu by timer, %llu unneeded: "
                "the receiver had them)\n", cases[i].name,
                ours * (double) cases[i].rate_bps / 8e6, (unsigned long long) info.blocks_sent,
                (unsigned long long) info.retransmissions, (unsigned long long) info.timeouts,
                (unsigned long long) unneeded);
        printf ("RESULT %s ours=%.4f peer=1.0 ratio=%.4f unit=fraction\n", cases[i].name, ours, ours);
    }
    return 0;
}
