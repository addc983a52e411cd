/*  curvecp_reason.c - names, texts and counters for rejection reasons,
    plus the packet magics (one table of wire constants).                */
#include "curvecp_reason.h"
#include "curvecp_constants.h"

const uint8_t curvecp_magic_hello[8]      = { 'Q','v','n','Q','5','X','l','H' };
const uint8_t curvecp_magic_cookie[8]     = { 'R','L','3','a','N','M','X','K' };
const uint8_t curvecp_magic_initiate[8]   = { 'Q','v','n','Q','5','X','l','I' };
const uint8_t curvecp_magic_server_msg[8] = { 'R','L','3','a','N','M','X','M' };
const uint8_t curvecp_magic_client_msg[8] = { 'Q','v','n','Q','5','X','l','M' };

static const struct {
    const char *name;
    const char *text;
} reasons[CURVECP_REASON_COUNT] = {
    [CURVECP_OK]                  = { "ok", "accepted" },
    [CURVECP_E_TOO_SHORT]         = { "too-short", "input shorter than its type requires" },
    [CURVECP_E_TOO_LONG]          = { "too-long", "input longer than its type allows" },
    [CURVECP_E_NOT_MULTIPLE_16]   = { "not-multiple-16", "length is not a multiple of 16" },
    [CURVECP_E_BAD_MAGIC]         = { "bad-magic", "unknown packet magic" },
    [CURVECP_E_WRONG_SERVER_EXT]  = { "wrong-server-ext", "server extension does not match" },
    [CURVECP_E_WRONG_CLIENT_EXT]  = { "wrong-client-ext", "client extension does not match" },
    [CURVECP_E_BAD_HELLO_BOX]     = { "bad-hello-box", "Hello box does not open" },
    [CURVECP_E_BAD_COOKIE_BOX]    = { "bad-cookie-box", "Cookie box does not open (wrong server key?)" },
    [CURVECP_E_BAD_COOKIE]        = { "bad-cookie", "cookie forged or older than two minute keys" },
    [CURVECP_E_COOKIE_MISMATCH]   = { "cookie-mismatch", "cookie was issued to another short-term key" },
    [CURVECP_E_BAD_INITIATE_BOX]  = { "bad-initiate-box", "Initiate box does not open" },
    [CURVECP_E_BAD_VOUCH]         = { "bad-vouch", "vouch does not open or names another key" },
    [CURVECP_E_WRONG_NAME]        = { "wrong-name", "server name is not one of ours" },
    [CURVECP_E_BAD_MESSAGE_BOX]   = { "bad-message-box", "Message box does not open" },
    [CURVECP_E_REPLAYED_NONCE]    = { "replayed-nonce", "nonce not newer than the last accepted" },
    [CURVECP_E_REPLAYED_INITIATE] = { "replayed-initiate", "Initiate was already accepted once" },
    [CURVECP_E_UNKNOWN_SESSION]   = { "unknown-session", "no connection for this short-term key" },
    [CURVECP_E_WRONG_STATE]       = { "wrong-state", "not valid in the current state" },
    [CURVECP_E_NONCE_EXHAUSTED]   = { "nonce-exhausted", "nonce counter would wrap" },
    [CURVECP_E_FULL]              = { "full", "connection limit reached" },
    [CURVECP_E_NOT_AUTHORISED]    = { "not-authorised", "client key refused by policy" },
    [CURVECP_E_WRONG_SOURCE]      = { "wrong-source", "packet from an unexpected address" },
    [CURVECP_E_BAD_MESSAGE]       = { "bad-message", "malformed message-layer message" },
    [CURVECP_E_BAD_ARGUMENT]      = { "bad-argument", "invalid argument" },
    [CURVECP_E_IO]                = { "io", "file or system call failed" },
    [CURVECP_E_BAD_KEY]           = { "bad-key", "key malformed or keys do not match" },
    [CURVECP_E_EXISTS]            = { "exists", "refusing to overwrite an existing file" },
    [CURVECP_E_OVERLOADED]        = { "overloaded", "dropped unanswered: handshake work over its budget" },
};

const char *
curvecp_reason_name (curvecp_reason_t reason)
{
    if ((unsigned) reason >= CURVECP_REASON_COUNT)
        return "unknown";
    return reasons[reason].name;
}

const char *
curvecp_reason_text (curvecp_reason_t reason)
{
    if ((unsigned) reason >= CURVECP_REASON_COUNT)
        return "unknown reason";
    return reasons[reason].text;
}

curvecp_reason_t
curvecp_stats_count (curvecp_stats_t *stats, curvecp_reason_t reason)
{
    if (stats && (unsigned) reason < CURVECP_REASON_COUNT)
        stats->counts[reason]++;
    return reason;
}

uint64_t
curvecp_stats_rejected (const curvecp_stats_t *stats)
{
    uint64_t total = 0;
    for (int r = 1; r < CURVECP_REASON_COUNT; r++)
        total += stats->counts[r];
    return total;
}
