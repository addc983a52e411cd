/*  curvecp_udp_child.c - one program per connection, on two pipes.

    Our pipe ends are always non-blocking so one slow child never stalls
    the event loop; the child's ends are non-blocking too for FRAMES (as
    NaCl sets them: handlers cope with EAGAIN) and blocking for STREAM
    (ordinary programs such as cat do not).

    A failure (the connection gave up, or the peer ended its stream with
    a failure EOF) must never look like an ordinary end to the program:
    its input is closed and it gets SIGHUP, which ends a program that
    does not handle it; one that does can clean up (remove a partial
    file) and exit non-zero. The owner asks curvecp_udp_child_failed.    */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "curvecp_framing.h"
#include "curvecp_udp_child.h"
#include "curvecp_udp_internal.h"         /* the stream's buffers in place */

#define PIPE_BYTES (512 * 1024)           /* a window's worth (the kernel's default: 64 KiB) */

struct _curvecp_udp_child_t {
    curvecp_udp_child_kind_t kind;
    curvecp_udp_conn_t *conn;         /* NULL once detached */
    pid_t pid;
    int to_fd;                        /* we write: the child's input */
    int from_fd;                      /* we read: the child's output */
    bool finished;
    curvecp_reason_t reason;
    bool failed;                      /* the connection failed or the peer's EOF did */
    char failure[160];                /* what happened, for the owner's fatal line */
    int status;                       /* exit code once reaped, else -1 */
    int signal;                       /* the signal that killed it, else 0 */
    curvecp_framing_t *framing;       /* FRAMES */
};

static void
set_nonblock (int fd)
{
    fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
}

/* In the child: put the pipe ends on in_fd / out_fd and exec. Moving
   them above 9 first keeps dup2 from clobbering one with the other. */
static void
exec_child (int child_in, int child_out, int in_fd, int out_fd, char *const argv[])
{
    signal (SIGPIPE, SIG_DFL);
    signal (SIGCHLD, SIG_DFL);
    int a = fcntl (child_in, F_DUPFD, 10);
    int b = fcntl (child_out, F_DUPFD, 10);
    if (a < 0 || b < 0 || dup2 (a, in_fd) < 0 || dup2 (b, out_fd) < 0)
        _exit (111);
    close (a);
    close (b);
    execvp (argv[0], argv);
    _exit (111);
}

static int
spawn (curvecp_udp_child_t *self, int in_fd, int out_fd, char *const argv[])
{
    int to[2], from[2];
    if (pipe2 (to, O_CLOEXEC) != 0)
        return -1;
    if (pipe2 (from, O_CLOEXEC) != 0) {
        close (to[0]);
        close (to[1]);
        return -1;
    }
    set_nonblock (to[1]);
    set_nonblock (from[0]);
#ifdef F_SETPIPE_SZ
    /* fewer wake-ups and system calls per megabyte; where the system
       allows less, the default stays */
    fcntl (to[1], F_SETPIPE_SZ, PIPE_BYTES);
    fcntl (from[0], F_SETPIPE_SZ, PIPE_BYTES);
#endif
    if (self->kind == CURVECP_CHILD_FRAMES) {
        set_nonblock (to[0]);
        set_nonblock (from[1]);
    }
    self->pid = fork ();
    if (self->pid == 0)
        exec_child (to[0], from[1], in_fd, out_fd, argv);
    int saved = errno;
    close (to[0]);
    close (from[1]);
    self->to_fd = to[1];
    self->from_fd = from[0];
    if (self->pid < 0) {
        errno = saved;
        return -1;
    }
    return 0;
}

curvecp_udp_child_t *
curvecp_udp_child_new (curvecp_udp_child_kind_t kind, curvecp_udp_conn_t *conn,
        int in_fd, int out_fd, char *const argv[])
{
    curvecp_udp_child_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->kind = kind;
    self->conn = conn;
    self->status = -1;
    self->to_fd = self->from_fd = -1;
    if (kind == CURVECP_CHILD_FRAMES)
        self->framing = curvecp_framing_new (0);
    if ((kind == CURVECP_CHILD_FRAMES && !self->framing) || spawn (self, in_fd, out_fd, argv) != 0) {
        int saved = errno;
        curvecp_udp_child_destroy (&self);
        errno = saved;
        return NULL;
    }
    return self;
}

static void
close_fd (int *fd)
{
    if (*fd >= 0) {
        close (*fd);
        *fd = -1;
    }
}

void
curvecp_udp_child_destroy (curvecp_udp_child_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_udp_child_t *self = *self_p;
    close_fd (&self->to_fd);
    close_fd (&self->from_fd);
    curvecp_framing_destroy (&self->framing);
    free (self);
    *self_p = NULL;
}

static bool
stream_has_output (const curvecp_udp_child_t *self)
{
    return self->conn && curvecp_udp_conn_readable (self->conn) > 0;
}

int
curvecp_udp_child_poll (const curvecp_udp_child_t *self, struct pollfd *fds)
{
    int n = 0;
    bool want_read = self->from_fd >= 0;
    bool want_write = false;
    if (self->kind == CURVECP_CHILD_FRAMES)
        want_write = self->to_fd >= 0 && curvecp_framing_queued (self->framing) > 0;
    else {
        want_read = want_read && (!self->conn || curvecp_udp_conn_send_space (self->conn) > 0);
        want_write = self->to_fd >= 0 && stream_has_output (self);
    }
    if (want_read)
        fds[n++] = (struct pollfd) { self->from_fd, POLLIN, 0 };
    if (want_write)
        fds[n++] = (struct pollfd) { self->to_fd, POLLOUT, 0 };
    return n;
}

static void
finish (curvecp_udp_child_t *self, curvecp_reason_t reason)
{
    if (!self->finished) {
        self->finished = true;
        self->reason = reason;
    }
}

/* Tell the program: no more input, and SIGHUP (if it still runs: with
   SIGCHLD ignored, a child that is gone can no longer be waited for). */
static void
fail_child (curvecp_udp_child_t *self, const char *what, const char *name)
{
    if (self->failed)
        return;
    self->failed = true;
    snprintf (self->failure, sizeof self->failure, "%s (%s)", what, name);
    close_fd (&self->to_fd);
    if (self->pid > 0 && curvecp_udp_child_reap (self, false) < 0)
        kill (self->pid, SIGHUP);
}

/* The connection failed: the program is told and we are finished. */
static bool
check_conn_failed (curvecp_udp_child_t *self)
{
    if (!self->conn || !curvecp_udp_conn_failed (self->conn))
        return false;
    fail_child (self, curvecp_udp_conn_error (self->conn), curvecp_udp_conn_failure (self->conn));
    close_fd (&self->from_fd);
    finish (self, CURVECP_E_IO);
    return true;
}

/* ---- FRAMES ----------------------------------------------------------- */

static void
frames_from_child (curvecp_udp_child_t *self)
{
    while (self->from_fd >= 0) {
        ssize_t r = curvecp_framing_read_fd (self->framing, self->from_fd);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return;
        if (r <= 0) {
            finish (self, r == 0 ? CURVECP_OK : CURVECP_E_IO);
            close_fd (&self->from_fd);
            return;
        }
        const uint8_t *message;
        size_t len;
        int got;
        while ((got = curvecp_framing_next (self->framing, &message, &len)) == 1)
            if (self->conn)
                curvecp_udp_conn_send_message (self->conn, message, len);
        if (got < 0) {
            finish (self, curvecp_framing_error (self->framing));
            close_fd (&self->from_fd);
            return;
        }
    }
}

void
curvecp_udp_child_deliver (curvecp_udp_child_t *self, const uint8_t *message, size_t len)
{
    if (self->kind != CURVECP_CHILD_FRAMES || self->to_fd < 0)
        return;
    curvecp_framing_queue (self->framing, message, len);
    if (curvecp_framing_flush (self->framing, self->to_fd) < 0)
        close_fd (&self->to_fd);     /* the handler stopped reading: drop from now on */
}

void
curvecp_udp_child_set_input_max (curvecp_udp_child_t *self, size_t max_message)
{
    if (self->framing)
        curvecp_framing_set_input_max (self->framing, max_message);
}

/* ---- STREAM ----------------------------------------------------------- */

/* Received bytes go from the stream's buffer straight into the pipe,
   and are consumed as the pipe takes them. */
static void
stream_to_child (curvecp_udp_child_t *self)
{
    while (self->to_fd >= 0) {
        const uint8_t *data = NULL;
        size_t len = self->conn ? curvecp_udp_conn_recv_peek (self->conn, &data) : 0;
        if (len == 0) {
            curvecp_eof_t eof = self->conn ? curvecp_udp_conn_received_eof (self->conn) : CURVECP_EOF_NONE;
            if (eof == CURVECP_EOF_FAILURE)
                fail_child (self, "the peer ended its stream with a failure", "failure-eof");
            else
            if (!self->conn || eof != CURVECP_EOF_NONE)
                close_fd (&self->to_fd);   /* the child sees the peer's EOF */
            return;
        }
        ssize_t w = write (self->to_fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return;
        if (w < 0) {
            close_fd (&self->to_fd);         /* the child stopped reading */
            return;
        }
        curvecp_udp_conn_recv (self->conn, NULL, (size_t) w);
    }
    /* Input closed early: keep draining so the peer is not stalled. */
    if (self->conn)
        curvecp_udp_conn_recv (self->conn, NULL, SIZE_MAX);
}

/* The program's output is read straight into the stream's send buffer. */
static void
stream_from_child (curvecp_udp_child_t *self)
{
    while (self->from_fd >= 0 && self->conn) {
        uint8_t *space = NULL;
        size_t room = curvecp_udp_conn_send_reserve (self->conn, &space);
        if (room == 0)
            return;
        ssize_t r = read (self->from_fd, space, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return;
        if (r <= 0) {
            /* after a failure, the program's end is no success either */
            bool ok = r == 0 && !self->failed;
            curvecp_udp_conn_shutdown (self->conn, ok ? CURVECP_EOF_SUCCESS : CURVECP_EOF_FAILURE);
            close_fd (&self->from_fd);
            return;
        }
        curvecp_udp_conn_send_commit (self->conn, (size_t) r);
    }
}

static void
stream_check_done (curvecp_udp_child_t *self)
{
    if (!self->conn) {
        finish (self, CURVECP_E_IO);
        return;
    }
    if (check_conn_failed (self))
        return;
    if (self->to_fd < 0 && self->from_fd < 0 && curvecp_udp_conn_all_acked (self->conn))
        finish (self, CURVECP_OK);
}

void
curvecp_udp_child_service (curvecp_udp_child_t *self)
{
    if (self->kind == CURVECP_CHILD_FRAMES) {
        if (self->to_fd >= 0 && curvecp_framing_flush (self->framing, self->to_fd) < 0)
            close_fd (&self->to_fd);
        if (!check_conn_failed (self))
            frames_from_child (self);
        return;
    }
    stream_to_child (self);
    stream_from_child (self);
    stream_check_done (self);
}

bool
curvecp_udp_child_finished (const curvecp_udp_child_t *self)
{
    return self->finished;
}

void
curvecp_udp_child_detach (curvecp_udp_child_t *self)
{
    self->conn = NULL;
    close_fd (&self->to_fd);
}

pid_t
curvecp_udp_child_pid (const curvecp_udp_child_t *self)
{
    return self->pid;
}

int
curvecp_udp_child_reap (curvecp_udp_child_t *self, bool block)
{
    if (self->status >= 0 || self->pid <= 0)
        return self->status;
    int status;
    pid_t r;
    do
        r = waitpid (self->pid, &status, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return -1;
    if (r < 0)
        self->status = 111;           /* not ours to wait for (SIGCHLD ignored) */
    else {
        self->status = WIFEXITED (status) ? WEXITSTATUS (status) : 111;
        self->signal = WIFSIGNALED (status) ? WTERMSIG (status) : 0;
    }
    return self->status;
}

curvecp_reason_t
curvecp_udp_child_reason (const curvecp_udp_child_t *self)
{
    return self->reason;
}

bool
curvecp_udp_child_failed (const curvecp_udp_child_t *self)
{
    return self->failed;
}

const char *
curvecp_udp_child_failure (const curvecp_udp_child_t *self)
{
    return self->failed ? self->failure : NULL;
}

int
curvecp_udp_child_signal (const curvecp_udp_child_t *self)
{
    return self->signal;
}
