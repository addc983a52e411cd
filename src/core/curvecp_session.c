/*  curvecp_session.c - seal and open packets of an established connection.

    The replay rule is checked before any crypto (it costs nothing) and the
    stored nonce moves only after a box opens, so a forged packet can never
    push the window forward.                                               */
#include <sodium.h>
#include <string.h>
#include "curvecp_packet.h"
#include "curvecp_session.h"

/* Client: once the server has spoken, C, the vouch, the name and the
   cookie are never needed again; wipe them as NaCl does. */
static void
client_establish (curvecp_session_t *self)
{
    self->established = true;
    sodium_memzero (self->cookie_k, sizeof self->cookie_k);
    sodium_memzero (self->vouch_nonce, sizeof self->vouch_nonce);
    sodium_memzero (self->vouch, sizeof self->vouch);
    sodium_memzero (self->name_field, sizeof self->name_field);
}

static curvecp_reason_t
seal_client (curvecp_session_t *self, const uint8_t *message, size_t message_len,
        uint8_t *out, size_t *out_len)
{
    size_t max = self->established ? curvecp_session_message_max (self) : CURVECP_INITIATE_MSG_MAX;
    curvecp_reason_t rc = curvecp_message_len_check (message_len, max);
    uint64_t nonce;
    if (rc == CURVECP_OK)
        rc = curvecp_counter_next (&self->send_counter, &nonce);
    if (rc != CURVECP_OK)
        return rc;
    if (self->established)
        return curvecp_client_message_encode_max (out, out_len, max, self->server_ext, self->client_ext,
                self->client_short_pk, nonce, self->shared, message, message_len);
    return curvecp_initiate_encode (out, out_len, self->server_ext, self->client_ext,
            self->client_short_pk, self->cookie_k, nonce, self->shared, self->client_long_pk,
            self->vouch_nonce, self->vouch, self->name_field, message, message_len);
}

static curvecp_reason_t
seal_server (curvecp_session_t *self, const uint8_t *message, size_t message_len,
        uint8_t *out, size_t *out_len)
{
    size_t max = curvecp_session_message_max (self);
    curvecp_reason_t rc = curvecp_message_len_check (message_len, max);
    uint64_t nonce;
    if (rc == CURVECP_OK)
        rc = curvecp_counter_next (&self->send_counter, &nonce);
    if (rc != CURVECP_OK)
        return rc;
    return curvecp_server_message_encode_max (out, out_len, max, self->client_ext, self->server_ext,
            nonce, self->shared, message, message_len);
}

curvecp_reason_t
curvecp_session_seal (curvecp_session_t *self, const uint8_t *message, size_t message_len,
        uint8_t *out, size_t *out_len)
{
    if (self->is_client)
        return seal_client (self, message, message_len, out, out_len);
    return seal_server (self, message, message_len, out, out_len);
}

/* Strictly increasing, once anything has been accepted. */
static bool
nonce_is_fresh (const curvecp_session_t *self, uint64_t nonce)
{
    return !self->have_received || nonce > self->last_received;
}

/* Only a packet whose box opened may move the replay window. */
static void
nonce_accepted (curvecp_session_t *self, uint64_t nonce)
{
    self->last_received = nonce;
    self->have_received = true;
}

/* An Initiate repeated for an existing connection: only its box counts
   (NaCl does not recheck cookie, vouch or name for a known C'). */
static curvecp_reason_t
open_repeated_initiate (curvecp_session_t *self, const uint8_t *packet, size_t len,
        uint8_t *message, size_t *message_len)
{
    uint8_t inner[CURVECP_INITIATE_INNER_BASE + CURVECP_INITIATE_MSG_MAX];
    size_t inner_len;
    curvecp_reason_t rc = curvecp_initiate_open (packet, len, self->shared, inner, &inner_len);
    if (rc == CURVECP_OK) {
        *message_len = inner_len - CURVECP_INITIATE_INNER_BASE;
        memcpy (message, inner + CURVECP_INITIATE_INNER_BASE, *message_len);
    }
    sodium_memzero (inner, sizeof inner);
    return rc;
}

static curvecp_reason_t
open_at_server (curvecp_session_t *self, const uint8_t *packet, size_t len,
        uint8_t *message, size_t *message_len)
{
    curvecp_packet_type_t type;
    size_t max = curvecp_session_message_max (self);
    curvecp_reason_t rc = curvecp_packet_classify_at_server_max (packet, len, self->server_ext, max, &type);
    if (rc != CURVECP_OK)
        return rc;
    if (type == CURVECP_PACKET_HELLO)
        return CURVECP_E_WRONG_STATE;
    if (!curvecp_session_matches (self, packet))
        return CURVECP_E_UNKNOWN_SESSION;
    uint64_t nonce = curvecp_packet_nonce8 (packet, type);
    if (!nonce_is_fresh (self, nonce))
        return CURVECP_E_REPLAYED_NONCE;
    if (type == CURVECP_PACKET_INITIATE)
        rc = open_repeated_initiate (self, packet, len, message, message_len);
    else
        rc = curvecp_client_message_open_max (packet, len, max, self->shared, message, message_len);
    if (rc == CURVECP_OK)
        nonce_accepted (self, nonce);
    return rc;
}

static curvecp_reason_t
open_at_client (curvecp_session_t *self, const uint8_t *packet, size_t len,
        uint8_t *message, size_t *message_len)
{
    curvecp_packet_type_t type;
    size_t max = curvecp_session_message_max (self);
    curvecp_reason_t rc = curvecp_packet_classify_at_client_max (packet, len, self->client_ext,
            self->server_ext, max, &type);
    if (rc != CURVECP_OK)
        return rc;
    if (type != CURVECP_PACKET_SERVER_MESSAGE)
        return CURVECP_E_WRONG_STATE;      /* a late Cookie */
    uint64_t nonce = curvecp_packet_nonce8 (packet, type);
    if (!nonce_is_fresh (self, nonce))
        return CURVECP_E_REPLAYED_NONCE;
    rc = curvecp_server_message_open_max (packet, len, max, self->shared, message, message_len);
    if (rc == CURVECP_OK) {
        nonce_accepted (self, nonce);
        if (!self->established)
            client_establish (self);
    }
    return rc;
}

curvecp_reason_t
curvecp_session_open (curvecp_session_t *self, const uint8_t *packet, size_t len,
        uint8_t *message, size_t *message_len)
{
    curvecp_reason_t rc = self->is_client
        ? open_at_client (self, packet, len, message, message_len)
        : open_at_server (self, packet, len, message, message_len);
    return curvecp_stats_count (&self->stats, rc);
}

curvecp_reason_t
curvecp_session_set_message_max (curvecp_session_t *self, size_t message_max)
{
    if (message_max < CURVECP_MSG_MAX || message_max > CURVECP_LARGE_MSG_MAX || message_max % 16)
        return CURVECP_E_BAD_ARGUMENT;
    self->message_max = message_max;
    return CURVECP_OK;
}

size_t
curvecp_session_message_max (const curvecp_session_t *self)
{
    return self->message_max ? self->message_max : CURVECP_MSG_MAX;
}

bool
curvecp_session_matches (const curvecp_session_t *self, const uint8_t *packet)
{
    /* C' is in clear on every packet: nothing secret to keep from timing */
    return memcmp (curvecp_packet_client_short_key (packet), self->client_short_pk, CURVECP_KEY_BYTES) == 0;
}

void
curvecp_session_wipe (curvecp_session_t *self)
{
    sodium_memzero (self, sizeof *self);
}
