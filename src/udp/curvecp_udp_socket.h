/*  curvecp_udp_socket.h - a non-blocking UDP socket that moves datagrams
    in batches (recvmmsg / sendmmsg, with UDP GSO and GRO where the kernel
    has them).

    System calls, not crypto, limit UDP here, so a socket reads up to
    CURVECP_UDP_BATCH datagrams per call and collects outgoing datagrams
    in place (callers seal straight into the next send slot) until the
    batch is full or they flush. Datagrams the kernel would not take
    (EAGAIN) stay queued; curvecp_udp_socket_pending says so, and the
    caller polls for POLLOUT and flushes again.                           */
#ifndef CURVECP_UDP_SOCKET_H_INCLUDED
#define CURVECP_UDP_SOCKET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curvecp_reason.h"
#include "curvecp_clock.h"        /* the time every deadline here is in */
#include "curvecp_udp_addr.h"

typedef struct _curvecp_udp_socket_t curvecp_udp_socket_t;

#define CURVECP_UDP_BATCH    64
#define CURVECP_UDP_DGRAM  2048      /* receive slot: larger than any packet, so oversize is seen */

/* poll() the fds until something happens or deadline (monotonic ns;
   UINT64_MAX = no limit, <= now = do not sleep), with nanosecond
   precision (ppoll). Returns poll's result. */
struct pollfd;
int curvecp_udp_poll (struct pollfd *fds, int count, uint64_t deadline);

/* Fill the free descriptors 0..9 with /dev/null, as NaCl's tools do, so
   pipes opened later never land on 0-9 (the fds children are given). */
void curvecp_udp_reserve_low_fds (void);

/* A UDP socket of family (AF_INET / AF_INET6; AF_INET6 is dual-stack)
   bound to bind_addr, or to an ephemeral port if bind_addr is NULL.
   NULL with errno set on failure. */
curvecp_udp_socket_t *curvecp_udp_socket_new (int family, const curvecp_udp_addr_t *bind_addr);

/* The same, one of workers sockets sharing bind_addr's port
   (SO_REUSEPORT), the kernel steering each datagram by the client's
   short-term key C' to the (C' mod workers)-th socket bound: every
   packet of a connection reaches the same socket whatever its source
   address. Bind them in worker order, the first with first = true
   (it attaches the steering program); workers >= 1. */
curvecp_udp_socket_t *curvecp_udp_socket_new_steered (int family, const curvecp_udp_addr_t *bind_addr,
        int workers, bool first);

/* Close, free, set *self_p to NULL. */
void curvecp_udp_socket_destroy (curvecp_udp_socket_t **self_p);

int curvecp_udp_socket_fd (const curvecp_udp_socket_t *self);
int curvecp_udp_socket_family (const curvecp_udp_socket_t *self);

/* The address the socket is bound to (after an ephemeral bind: the
   port the kernel chose). */
void curvecp_udp_socket_local (const curvecp_udp_socket_t *self, curvecp_udp_addr_t *addr);

/* Read one batch. Returns the number of datagrams (0 when none are
   waiting). They stay valid until the next receive. */
int curvecp_udp_socket_receive (curvecp_udp_socket_t *self);

/* Datagram i of the last batch: its bytes, its true length (may exceed
   the slot, then the bytes are cut: reject by length) and its source. */
const uint8_t *curvecp_udp_socket_datagram (curvecp_udp_socket_t *self, int i, size_t *len,
        const curvecp_udp_addr_t **from);

/* A buffer of CURVECP_PACKET_MAX bytes for the next outgoing datagram
   (flushes first if the batch is full; NULL if the kernel is full and the
   batch cannot move: drop, the message layer resends). */
uint8_t *curvecp_udp_socket_slot (curvecp_udp_socket_t *self);

/* The slot now holds len bytes for to: queue it. */
void curvecp_udp_socket_commit (curvecp_udp_socket_t *self, size_t len, const curvecp_udp_addr_t *to);

/* Send everything queued. Returns how many datagrams are still queued
   (kernel buffer full: poll for POLLOUT). Hard errors (unreachable
   address...) drop that datagram and count it. */
int curvecp_udp_socket_flush (curvecp_udp_socket_t *self);

/* Datagrams queued and not yet sent. */
int curvecp_udp_socket_pending (const curvecp_udp_socket_t *self);

/* Did the last read find the kernel's queue empty (fewer datagrams than
   buffers) and has every datagram it got been handed out? Then a read
   now would most likely find nothing: a poll says when there is more. */
bool curvecp_udp_socket_drained (const curvecp_udp_socket_t *self);

/* The event-loop turn both endpoints share: send what waits, then up to
   rounds batches of datagrams, each handed to on_datagram (its verdict
   counted in stats) and followed by after_batch (run timers) and a
   flush; a last after_batch and flush at the end. after_batch returns
   false to stop reading (the application should read first). */
typedef curvecp_reason_t (curvecp_udp_datagram_fn) (void *ctx, const uint8_t *packet, size_t len,
        const curvecp_udp_addr_t *from, uint64_t now);
typedef bool (curvecp_udp_batch_fn) (void *ctx, uint64_t now);
void curvecp_udp_socket_turn (curvecp_udp_socket_t *self, uint64_t now, int rounds,
        curvecp_udp_datagram_fn *on_datagram, curvecp_udp_batch_fn *after_batch, void *ctx,
        curvecp_stats_t *stats);

typedef struct {
    uint64_t received;         /* datagrams read */
    uint64_t sent;             /* datagrams the kernel took */
    uint64_t send_errors;      /* datagrams dropped on a hard send error */
    uint64_t send_full;        /* slots refused because the kernel was full */
    uint64_t recv_calls, send_calls;  /* system calls made */
    uint64_t gso_sends;        /* messages that carried several datagrams (UDP_SEGMENT) */
    uint64_t gso_refused;      /* GSO sends the kernel refused (GSO then off) */
} curvecp_udp_socket_info_t;

/* Whether segmentation offload is in use: GSO (sends; turned off for
   good by a send the kernel refuses) and GRO (receives). Both off when
   the environment has CURVECP_UDP_OFFLOAD=0. */
bool curvecp_udp_socket_gso (const curvecp_udp_socket_t *self);
bool curvecp_udp_socket_gro (const curvecp_udp_socket_t *self);

const curvecp_udp_socket_info_t *curvecp_udp_socket_info (const curvecp_udp_socket_t *self);

#endif
