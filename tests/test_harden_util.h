/*  test_harden_util.h - what the hardening tests share: clients made by
    hand from the core's packet encoders (so a test can send valid Hellos
    from thousands of short-term keys, or Initiates that are wrong in one
    chosen way), raw datagram helpers, and per-reason counter checks.

    A fake client's index travels in its client extension, which the
    server echoes in the Cookie: a Cookie finds its client in O(1) and
    proves it answers that very Hello.                                   */
#ifndef TEST_HARDEN_UTIL_H_INCLUDED
#define TEST_HARDEN_UTIL_H_INCLUDED
#include <errno.h>
#include <sodium.h>
#include <sys/socket.h>
#include "curvecp_keys.h"
#include "curvecp_packet.h"
#include "curvecp_reason.h"
#include "curvecp_udp_socket.h"
#include "testutil.h"

/* A client short-term key and what the Hello and Cookie need. */
typedef struct {
    curvecp_keypair_t short_term;            /* C', c' */
    uint8_t hello_shared[32];                /* beforenm (S, c'): Hello box, Cookie box */
    uint8_t ext[CURVECP_EXT_BYTES];          /* client extension: carries the index */
    uint8_t server_short_pk[32];             /* S', once a Cookie opened */
    uint8_t cookie_k[CURVECP_COOKIE_K_BYTES];
    int cookies;                             /* Cookies that opened */
} fake_client_t;

static inline void
fake_ext (uint8_t ext[CURVECP_EXT_BYTES], uint32_t index)
{
    memset (ext, 0xc1, CURVECP_EXT_BYTES);
    ext[0] = (uint8_t) index;
    ext[1] = (uint8_t) (index >> 8);
    ext[2] = (uint8_t) (index >> 16);
    ext[3] = (uint8_t) (index >> 24);
}

/* Which fake client a Cookie's client extension names (-1: none). */
static inline long
fake_index (const uint8_t ext[CURVECP_EXT_BYTES], long count)
{
    uint32_t index = (uint32_t) ext[0] | (uint32_t) ext[1] << 8 | (uint32_t) ext[2] << 16
                   | (uint32_t) ext[3] << 24;
    uint8_t want[CURVECP_EXT_BYTES];
    fake_ext (want, index);
    return memcmp (want, ext, CURVECP_EXT_BYTES) == 0 && (long) index < count ? (long) index : -1;
}

static inline void
fake_init (fake_client_t *f, const uint8_t server_pk[32], uint32_t index)
{
    memset (f, 0, sizeof *f);
    curvecp_keypair_generate (&f->short_term);
    CHECK (crypto_box_beforenm (f->hello_shared, server_pk, f->short_term.secret_key) == 0);
    fake_ext (f->ext, index);
}

static inline void
fake_hello (const fake_client_t *f, const uint8_t server_ext[16], uint64_t nonce,
            uint8_t out[CURVECP_HELLO_BYTES])
{
    curvecp_hello_encode (out, server_ext, f->ext, f->short_term.public_key, f->hello_shared, nonce);
}

/* A datagram that should be this client's Cookie: open it, keep S' and K. */
static inline curvecp_reason_t
fake_take_cookie (fake_client_t *f, const uint8_t *packet, size_t len, const uint8_t server_ext[16])
{
    curvecp_reason_t rc = curvecp_cookie_open (packet, len, f->ext, server_ext, f->hello_shared,
                                               f->server_short_pk, f->cookie_k);
    if (rc == CURVECP_OK)
        f->cookies++;
    return rc;
}

/* How an Initiate should be wrong (all zero: a valid Initiate). */
typedef struct {
    const char *name;                        /* server name asked for */
    const uint8_t *cookie_k;                 /* NULL = our own cookie */
    const uint8_t *vouched;                  /* C' inside the vouch (NULL = ours) */
    bool corrupt_box;                        /* flip a byte of the box */
} initiate_fault_t;

/* An Initiate from f (which took a Cookie) with long-term key long_term,
   carrying a 48-byte zero message; returns its length. */
static inline size_t
fake_initiate (const fake_client_t *f, const curvecp_keypair_t *long_term, const uint8_t server_pk[32],
               const uint8_t server_ext[16], uint64_t nonce, const initiate_fault_t *fault, uint8_t *out)
{
    uint8_t session_shared[32], vouch_shared[32], vouch[CURVECP_VOUCH_BYTES], v16[16];
    uint8_t name[CURVECP_NAME_BYTES], message[48] = { 0 };
    CHECK (crypto_box_beforenm (session_shared, f->server_short_pk, f->short_term.secret_key) == 0);
    CHECK (crypto_box_beforenm (vouch_shared, server_pk, long_term->secret_key) == 0);
    randombytes_buf (v16, sizeof v16);
    curvecp_vouch_encode (vouch, v16, fault->vouched ? fault->vouched : f->short_term.public_key,
                          vouch_shared);
    CHECK_EQ (curvecp_name_encode (fault->name, name), CURVECP_OK);
    size_t len = 0;
    CHECK_EQ (curvecp_initiate_encode (out, &len, server_ext, f->ext, f->short_term.public_key,
                                       fault->cookie_k ? fault->cookie_k : f->cookie_k, nonce,
                                       session_shared, long_term->public_key, v16, vouch, name,
                                       message, sizeof message), CURVECP_OK);
    if (fault->corrupt_box)
        out[len - 1] ^= 0x01;
    sodium_memzero (session_shared, sizeof session_shared);
    sodium_memzero (vouch_shared, sizeof vouch_shared);
    return len;
}

/* ---- datagrams ------------------------------------------------------- */

/* A UDP socket on 127.0.0.1, any port. */
static inline curvecp_udp_socket_t *
loopback_socket (void)
{
    curvecp_udp_addr_t any;
    CHECK_EQ (curvecp_udp_addr_parse ("127.0.0.1", 0, &any), CURVECP_OK);
    curvecp_udp_socket_t *sock = curvecp_udp_socket_new (AF_INET, &any);
    CHECK (sock);
    return sock;
}

static inline void
send_raw (curvecp_udp_socket_t *sock, const curvecp_udp_addr_t *to, const uint8_t *data, size_t len)
{
    ssize_t n;
    while ((n = sendto (curvecp_udp_socket_fd (sock), data, len, 0, (const struct sockaddr *) &to->sa,
                        to->len)) < 0 && (errno == EAGAIN || errno == EINTR))
        ;
    CHECK_EQ (n, (long long) len);
}

/* ---- counters -------------------------------------------------------- */

/* after - before must equal want, reason by reason (skip: a reason not
   checked, or CURVECP_REASON_COUNT for none). Prints every difference. */
static inline void
check_stats_moved (const char *what, const curvecp_stats_t *before, const curvecp_stats_t *after,
                   const uint64_t want[CURVECP_REASON_COUNT], int skip)
{
    bool ok = true;
    for (int r = 0; r < CURVECP_REASON_COUNT; r++) {
        uint64_t moved = after->counts[r] - before->counts[r];
        if (r != skip && moved != want[r]) {
            fprintf (stderr, "%s: %s moved by %llu, expected %llu\n", what,
                     curvecp_reason_name ((curvecp_reason_t) r), (unsigned long long) moved,
                     (unsigned long long) want[r]);
            ok = false;
        }
    }
    CHECK (ok);
}
#endif
