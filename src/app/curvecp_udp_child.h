/*  curvecp_udp_child.h - a program run for one connection, joined to it
    by two pipes: the shared part of curvecp-server and curvecp-client.

    Two kinds of child:
      - FRAMES: a message handler as NaCl runs it (curvecpmessage, or our
        curvecp-message): fd 8 brings it frames from the network, fd 9
        takes its frames to the network (length byte n, 16*n bytes; see
        curvecp_framing.h). Both pipes non-blocking, as NaCl sets them.
        The connection must be in message mode.
      - STREAM: a plain program that reads and writes bytes (the
        in-process mode, -m): our message layer runs in this process and
        the child gets a byte stream on two fds of our choice (0/1 at a
        server, 6/7 at a client as curvecpmessage -c gives them). Its
        ends are blocking, as for any ordinary program. The end of its
        output becomes our success EOF (a read error: failure EOF); the
        peer's EOF closes its input. The connection is in stream mode.

    A failure is never an ordinary end: when the connection fails (the
    message layer gives up, the handshake fails) or the peer ends its
    stream with a failure EOF, the child's input is closed and it gets
    SIGHUP (a program that does not handle SIGHUP dies of it), and
    curvecp_udp_child_failed says so; the owner reports it and exits 111.

    The owner polls the fds curvecp_udp_child_poll lists, then calls
    curvecp_udp_child_service; for FRAMES, the network's messages go in
    with curvecp_udp_child_deliver.                                       */
#ifndef CURVECP_UDP_CHILD_H_INCLUDED
#define CURVECP_UDP_CHILD_H_INCLUDED

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "curvecp_reason.h"
#include "curvecp_udp_conn.h"

typedef struct _curvecp_udp_child_t curvecp_udp_child_t;

typedef enum {
    CURVECP_CHILD_FRAMES,
    CURVECP_CHILD_STREAM
} curvecp_udp_child_kind_t;

/* Start argv[0] (searched in PATH) with its input on in_fd and its
   output on out_fd (8/9, 0/1 or 6/7), its other fds inherited, default
   SIGPIPE and SIGCHLD, and nothing added to the environment. NULL with
   errno set if pipes or fork fail (exec failure: the child exits 111). */
curvecp_udp_child_t *curvecp_udp_child_new (curvecp_udp_child_kind_t kind, curvecp_udp_conn_t *conn,
        int in_fd, int out_fd, char *const argv[]);

/* Close our pipe ends (the child sees EOF), free, set *self_p to NULL.
   The child itself is not waited for: see curvecp_udp_child_reap. */
void curvecp_udp_child_destroy (curvecp_udp_child_t **self_p);

/* Up to 2 pollfds for our ends that need watching; returns the count. */
int curvecp_udp_child_poll (const curvecp_udp_child_t *self, struct pollfd *fds);

/* Move what can move between the child and the connection. */
void curvecp_udp_child_service (curvecp_udp_child_t *self);

/* FRAMES: a message arrived for the child (queued, written when the
   pipe takes it; dropped if our queue is full: the peer resends). */
void curvecp_udp_child_deliver (curvecp_udp_child_t *self, const uint8_t *message, size_t len);

/* The connection ends for this child: FRAMES when its output closed
   or broke framing; STREAM when both directions are done (or the
   connection failed). */
bool curvecp_udp_child_finished (const curvecp_udp_child_t *self);

/* FRAMES: the client may send up to 640-byte messages until the server
   has spoken; raise the limit to 1088 then. */
void curvecp_udp_child_set_input_max (curvecp_udp_child_t *self, size_t max_message);

/* The connection went away (failed, or the server shut down): stop
   using it and close the child's input. */
void curvecp_udp_child_detach (curvecp_udp_child_t *self);

pid_t curvecp_udp_child_pid (const curvecp_udp_child_t *self);

/* Wait for the child (blocking if block) and return its exit code as
   curvecpclient does: the code, or 111 if a signal killed it; -1 if it
   is still running (non-blocking). */
int curvecp_udp_child_reap (curvecp_udp_child_t *self, bool block);

/* The signal that killed the child (once reaped), 0 if it exited. */
int curvecp_udp_child_signal (const curvecp_udp_child_t *self);

/* Why it finished: CURVECP_OK (EOF), CURVECP_E_BAD_MESSAGE /
   CURVECP_E_TOO_LONG (framing), CURVECP_E_IO (pipe error). */
curvecp_reason_t curvecp_udp_child_reason (const curvecp_udp_child_t *self);

/* The connection failed, or the peer's EOF was a failure: the child was
   told (input closed, SIGHUP). */
bool curvecp_udp_child_failed (const curvecp_udp_child_t *self);

/* What happened, for one fatal line ("server stopped acknowledging data
   (peer-silent)"); NULL unless failed. */
const char *curvecp_udp_child_failure (const curvecp_udp_child_t *self);

#endif
