/* Every reason has a distinct name and text; counters count. */
#include "testutil.h"
#include "curvecp_reason.h"

int
main (void)
{
    for (int a = 0; a < CURVECP_REASON_COUNT; a++) {
        CHECK (curvecp_reason_name (a) && curvecp_reason_name (a)[0]);
        CHECK (curvecp_reason_text (a) && curvecp_reason_text (a)[0]);
        for (int b = a + 1; b < CURVECP_REASON_COUNT; b++)
            CHECK (strcmp (curvecp_reason_name (a), curvecp_reason_name (b)) != 0);
    }
    CHECK (strcmp (curvecp_reason_name (CURVECP_REASON_COUNT), "unknown") == 0);
    curvecp_stats_t stats = { { 0 } };
    CHECK_EQ (curvecp_stats_count (&stats, CURVECP_E_BAD_MAGIC), CURVECP_E_BAD_MAGIC);
    curvecp_stats_count (&stats, CURVECP_E_BAD_MAGIC);
    curvecp_stats_count (&stats, CURVECP_OK);
    CHECK_EQ (stats.counts[CURVECP_E_BAD_MAGIC], 2);
    CHECK_EQ (curvecp_stats_rejected (&stats), 2);
    return 0;
}
