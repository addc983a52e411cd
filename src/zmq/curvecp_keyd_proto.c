/*  curvecp_keyd_proto.c - the key service's request and reply decoders
    (curvecp_keyd_proto.h, rfc/curvecp.md 18.2). Strict: a command frame
    is the command's bytes exactly (no NUL, no suffix, no other case),
    and a message holds exactly the frames its ABNF rule names, so that
    what the service acts on and what a client believes are the same
    thing every implementation reads.                                   */

#include "curvecp_keyd_proto.h"

#include <string.h>

bool
keyd_frame_is (zframe_t *frame, const char *command)
{
    size_t len = strlen (command);
    return frame && zframe_size (frame) == len && memcmp (zframe_data (frame), command, len) == 0;
}

curvecp_keyd_request_result_t
keyd_request_decode (zmsg_t *msg, keyd_request_t *request)
{
    memset (request, 0, sizeof *request);
    size_t frames = zmsg_size (msg);
    zframe_t *command = zmsg_first (msg);
    if (!command)
        return CURVECP_KEYD_REQUEST_EMPTY;
    if (keyd_frame_is (command, KEYD_SUBSCRIBE) || keyd_frame_is (command, KEYD_SNAPSHOT)) {
        request->command = keyd_frame_is (command, KEYD_SUBSCRIBE) ? KEYD_REQUEST_SUBSCRIBE : KEYD_REQUEST_SNAPSHOT;
        return frames == 1 ? CURVECP_KEYD_REQUEST_OK : CURVECP_KEYD_REQUEST_TRAILING;
    }
    if (!keyd_frame_is (command, KEYD_CHANGE))
        return CURVECP_KEYD_REQUEST_UNKNOWN;
    request->command = KEYD_REQUEST_CHANGE;
    zframe_t *update = zmsg_next (msg);
    if (!update)
        return CURVECP_KEYD_REQUEST_NO_UPDATE;
    if (zframe_size (update) > KEYD_UPDATE_MAX)
        return CURVECP_KEYD_REQUEST_OVERSIZED;
    if (frames > 2)
        return CURVECP_KEYD_REQUEST_TRAILING;
    request->update = zframe_data (update);
    request->update_size = zframe_size (update);
    return CURVECP_KEYD_REQUEST_OK;
}

const char *
curvecp_keyd_request_result_text (curvecp_keyd_request_result_t why)
{
    static const char *texts[CURVECP_KEYD_REQUEST_RESULTS] = {
        "ok", "empty", "unknown-command", "no-update", "oversized", "trailing-frames"
    };
    return (unsigned) why < CURVECP_KEYD_REQUEST_RESULTS ? texts[why] : "unknown";
}

/* A sequence number: 1..20 decimal digits that fit in 64 bits. */
static bool
decimal_frame (zframe_t *frame, uint64_t *value)
{
    size_t len = frame ? zframe_size (frame) : 0;
    const uint8_t *digits = frame ? zframe_data (frame) : NULL;
    if (len == 0 || len > KEYD_DECIMAL_MAX)
        return false;
    uint64_t sum = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned digit = (unsigned) digits[i] - '0';
        if (digit > 9 || sum > (UINT64_MAX - digit) / 10)
            return false;
        sum = sum * 10 + digit;
    }
    *value = sum;
    return true;
}

/* The refusal a reason frame names: never OK, whatever it says. */
static curvecp_keyset_result_t
refusal_reason (zframe_t *frame)
{
    for (int i = CURVECP_KEYSET_OK + 1; i < CURVECP_KEYSET_UNKNOWN_REASON; i++)
        if (keyd_frame_is (frame, curvecp_keyset_result_text ((curvecp_keyset_result_t) i)))
            return (curvecp_keyset_result_t) i;
    return CURVECP_KEYSET_UNKNOWN_REASON;
}

curvecp_keyset_result_t
keyd_change_reply_decode (zmsg_t *msg, uint64_t *seq)
{
    *seq = 0;
    size_t frames = zmsg_size (msg);
    zframe_t *verdict = zmsg_first (msg);
    bool ok = keyd_frame_is (verdict, KEYD_OK) && frames == 2;
    bool refused = keyd_frame_is (verdict, KEYD_REFUSED) && frames == 3;
    if (!ok && !refused)
        return CURVECP_KEYSET_RESULTS;
    zframe_t *why = refused ? zmsg_next (msg) : NULL;
    uint64_t value;
    if (!decimal_frame (zmsg_next (msg), &value))
        return CURVECP_KEYSET_RESULTS;
    *seq = value;
    return ok ? CURVECP_KEYSET_OK : refusal_reason (why);
}
