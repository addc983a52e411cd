/*  fuzz_common.h - what every libFuzzer target shares.

    fuzz_world: the fixed keys, extensions and packets of the test vectors
    (tests/vectors.h) plus the shared keys they imply, computed once, so a
    target can seal valid boxes and reach the code after decryption.

    fuzz_input: a cursor over the fuzz input that never fails: past the end
    it yields zeros, so every input means something.

    fuzz_rng: libsodium's randomness replaced by a seeded generator, so
    every input replays identically (libFuzzer needs determinism to
    minimise and to reproduce a crash).

    FUZZ_CHECK aborts with a message: libFuzzer reports an abort as a
    crash and saves the input, so a broken invariant is a finding.       */
#ifndef CURVECP_FUZZ_COMMON_H_INCLUDED
#define CURVECP_FUZZ_COMMON_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "curvecp_constants.h"
#include "curvecp_reason.h"
#include "curvecp_session.h"

#define FUZZ_CHECK(cond) do { if (!(cond)) { \
    fprintf (stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); abort (); } } while (0)

/* For harness loops that only check or fill bytes: coverage feedback from
   them is noise and their comparison hooks cost more than the code under
   test. noinline: inlined into an instrumented caller, they would be
   instrumented again. */
#define FUZZ_NO_COVERAGE __attribute__ ((no_sanitize ("coverage"), noinline))

/* ---- the fixed world of the test vectors ------------------------------ */

typedef struct {
    const uint8_t *data;
    size_t size;
} fuzz_input_t;

typedef struct {
    uint8_t server_long_sk[32], server_long_pk[32];      /* s, S */
    uint8_t client_long_sk[32], client_long_pk[32];      /* c, C */
    uint8_t client_short_sk[32], client_short_pk[32];    /* c', C' */
    uint8_t server_short_sk[32], server_short_pk[32];    /* s', S' */
    uint8_t minute_key[32];
    uint8_t server_ext[16], client_ext[16];
    uint8_t cookie_nonce[16], vouch_nonce[16];
    uint8_t name_field[CURVECP_NAME_BYTES];              /* "test.example.com" */
    uint8_t hello_shared[32];      /* beforenm(S, c') = beforenm(C', s) */
    uint8_t vouch_shared[32];      /* beforenm(S, c) = beforenm(C, s) */
    uint8_t session_shared[32];    /* beforenm(S', c') = beforenm(C', s') */
    uint8_t cookie_k[CURVECP_COOKIE_K_BYTES];            /* K of the vector Cookie */
    uint8_t vouch[CURVECP_VOUCH_BYTES];
    uint8_t initiate_msg[192], server_msg[192], client_msg[192];
    uint8_t hello[CURVECP_HELLO_BYTES], cookie[CURVECP_COOKIE_BYTES];
    uint8_t initiate[CURVECP_PACKET_MAX], server_message[CURVECP_PACKET_MAX], client_message[CURVECP_PACKET_MAX];
    size_t initiate_len, server_message_len, client_message_len;
} fuzz_world_t;

/* The world, built on first use (installs fuzz_rng and sodium_init). */
const fuzz_world_t *fuzz_world (void);

/* What every target does first: the world, the RNG seeded from the input
   (so it replays identically), and a cursor over the input. */
const fuzz_world_t *fuzz_start (fuzz_input_t *in, const uint8_t *data, size_t size);

/* A session of the vector connection as the handshake leaves it: a client
   before the first Server Message (still holding cookie, vouch, name), or
   an established server that has accepted nothing yet. */
void fuzz_session_init (curvecp_session_t *session, bool is_client);

/* ---- reading the fuzz input ------------------------------------------- */


void fuzz_input_init (fuzz_input_t *self, const uint8_t *data, size_t size);
uint8_t fuzz_u8 (fuzz_input_t *self);
uint16_t fuzz_u16 (fuzz_input_t *self);
uint32_t fuzz_u32 (fuzz_input_t *self);
uint64_t fuzz_u64 (fuzz_input_t *self);
bool fuzz_bool (fuzz_input_t *self);
/* Copy n bytes (zeros past the end). */
void fuzz_bytes (fuzz_input_t *self, void *out, size_t n);
/* Take up to cap bytes, as many as remain; returns how many. */
size_t fuzz_rest (fuzz_input_t *self, uint8_t *out, size_t cap);
size_t fuzz_remaining (const fuzz_input_t *self);

/* ---- deterministic randomness ----------------------------------------- */

/* Restart libsodium's randomness at seed (call at the top of each input). */
void fuzz_rng_seed (uint64_t seed);

/* ---- packet helpers ---------------------------------------------------- */

/* Build-mode message length: n rounded up to a multiple of 16 within
   16..max. */
size_t fuzz_message_len (size_t n, size_t max);

/* The "flip" of build modes: xor value into packet[position] if value is
   not 0 and position < len. Returns the position flipped, or SIZE_MAX. */
size_t fuzz_flip (uint8_t *packet, size_t len, uint16_t position, uint8_t value);

/* Is the one-byte flip at position inside [from, to)? */
bool fuzz_flipped_in (size_t flipped, size_t from, size_t to);

/* ---- what writers write ---------------------------------------------- */

/* The byte a writer with this salt puts at position, so a reader checks
   every byte with O(1) memory; fill and matches do it for a run. */
uint8_t fuzz_pattern (uint64_t salt, uint64_t position);
void fuzz_pattern_fill (uint8_t *out, size_t n, uint64_t salt, uint64_t position);
bool fuzz_pattern_matches (const uint8_t *data, size_t n, uint64_t salt, uint64_t position);

/* Every count in stats, added up: one per input that was counted. */
uint64_t fuzz_stats_total (const curvecp_stats_t *stats);

/* ---- checked calls (each asserts the invariants of its contract) ------- */

/* curvecp_session_open, then: the result is counted exactly once; a
   refusal changes nothing else in the session (byte for byte); an
   acceptance moves last_received to the packet's nonce (a client also
   becomes established and wipes cookie, vouch and name) and nothing else. */
curvecp_reason_t fuzz_session_open (curvecp_session_t *session, const uint8_t *packet, size_t len,
        uint8_t message[CURVECP_MSG_MAX], size_t *message_len);

/* curvecp_name_decode into a heap buffer of exactly cap bytes (so ASan
   sees any overrun), then: a decoded name is NUL-terminated within cap,
   and if no label holds a '.' or a NUL it encodes back to the same field
   (up to its terminator, zeros after). Returns the decoder's result. */
curvecp_reason_t fuzz_check_name_field (const uint8_t field[CURVECP_NAME_BYTES], size_t cap);

#endif
