/*  curvecp-message - a CurveCP message handler with the command line of
    NaCl's curvecpmessage:

        curvecp-message [-q] [-Q] [-v] [-c|-C|-s] prog [args...]

    curvecp-server / curvecp-client (or NaCl's curvecpserver/curvecpclient)
    hand us the messages of one connection on fd 8 and take ours on fd 9,
    each framed as a length byte n (1..68) and 16·n bytes. We run the
    message layer (curvecp_stream, Chicago pacing) between those frames and
    a child program:

      -s (default)  server side: the child talks on its stdin/stdout;
      -c            client side, ping at once: child reads fd 6, writes fd 7;
      -C            client side, ping after 1 s unless the child wrote first.

    The peer's EOF closes the child's input; the child's EOF ends our
    stream. We exit once our EOF is acknowledged, the peer's EOF has been
    received and written out, and the child has exited, with the child's
    exit status. A bad frame on fd 8 (n = 0, n > 68, EOF anywhere) is fatal
    with "protocol error", as in curvecpmessage. Usage errors exit 100
    (-h prints the usage on stdout, exit 0), fatal errors 111. -q silences
    error messages, -v adds a summary.

    A failure is never an ordinary end for the child: when our message
    layer gives up on a silent peer, or the peer ends its stream with a
    failure EOF, the child's input is closed and it gets SIGHUP (a program
    that does not handle SIGHUP dies of it), and we exit 111 with one line
    saying what happened, whatever the child's own exit code.

    The ping is curvecpmessage's: a zero-length block at position 0
    (curvecp_stream_ping), which makes curvecpclient send its Initiate and
    is resent on the stream's timer until acknowledged, so a lost Initiate
    is retried. Repeating acknowledgments for curvecpmessage, which may not
    retransmit until it hears from us, is the stream's business too. The
    only clock is CLOCK_MONOTONIC, read here. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "curvecp_clock.h"
#include "curvecp_framing.h"
#include "curvecp_message.h"
#include "curvecp_stream.h"
#include "curvecp_tool.h"

#define EXIT_FATAL 111

#define FD_FROM_NET   8
#define FD_TO_NET     9
#define FD_CHILD_IN   6           /* client mode: the child reads the peer's data here */
#define FD_CHILD_OUT  7           /* client mode: the child writes to the peer here */

#define FRAME_MAX       CURVECP_FRAME_MAX
#define NET_OUT_BUFFER  65536
#define CHILD_BUFFER    65536

#define SECOND_NS             1000000000ull
#define LAZY_PING_NS          SECOND_NS          /* -C waits this long for data */
#define ORPHAN_IDLE_NS        (10 * SECOND_NS)   /* child gone, peer silent: give up */

typedef enum { MODE_SERVER, MODE_CLIENT_PING, MODE_CLIENT_LAZY } handler_mode_t;

typedef enum { QUIET = 0, ERRORS = 1, VERBOSE = 2 } verbosity_t;

typedef struct {
    curvecp_stream_t *stream;
    handler_mode_t mode;
    verbosity_t verbosity;

    pid_t child;
    bool child_exited;
    int child_status;
    int to_child;                     /* our end of the child's input, -1 once closed */
    int from_child;                   /* our end of the child's output, -1 once closed */
    bool child_refuses_input;         /* the child closed its input: we discard */
    bool peer_failed;                 /* the peer's EOF was a failure: the child was told */

    curvecp_framing_t *framing;       /* fd 8 in, fd 9 out */

    uint8_t to_child_buf[CHILD_BUFFER];
    size_t to_child_start, to_child_len;

    bool net_eof;                     /* fd 8 reached its end */
    uint64_t give_up_ns;
    bool heard_peer;
    uint64_t last_frame_in;
    bool ping_pending;
    uint64_t ping_at;

    uint64_t frames_in, frames_out, bytes_to_child, bytes_from_child, bytes_discarded;
} handler_t;

static verbosity_t s_verbosity = ERRORS;

static void say (verbosity_t level, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static void
say (verbosity_t level, const char *format, ...)
{
    if (s_verbosity < level)
        return;
    va_list args;
    va_start (args, format);
    fprintf (stderr, "curvecp-message: ");
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
}

#define USAGE "curvecp-message: usage: curvecp-message [-q] [-Q] [-v] [-c|-C|-s] prog [args...]\n" \
    "  -s  server side (default): prog talks on its stdin/stdout\n" \
    "  -c  client side, ping at once: prog reads fd 6, writes fd 7\n" \
    "  -C  client side, ping after 1 s unless prog wrote first\n" \
    "  -q / -Q / -v  no error messages / error messages / also a summary\n" \
    "  -h  this help\n" \
    "Messages come in on fd 8 and go out on fd 9 (curvecp-server, curvecp-client).\n" \
    "If the peer stops acknowledging or ends its stream in failure, prog's input is\n" \
    "closed and prog gets SIGHUP; we exit 111. Exit codes: prog's own; 100 usage;\n" \
    "111 fatal.\n"

/* ---- command line ---------------------------------------------------- */

/* Options may be bundled (-qv); "-" or "--" ends them. Returns the index
   of prog in argv. */
static int
parse_options (int argc, char **argv, handler_mode_t *mode)
{
    curvecp_tool_start ("curvecp-message", USAGE, "qQvscC", argc, argv);
    int index = 1;
    for (; index < argc && argv[index][0] == '-'; index++) {
        const char *option = argv[index] + 1;
        if (*option == 0 || strcmp (option, "-") == 0) {
            index++;
            break;
        }
        for (; *option; option++)
            switch (*option) {
                case 'q': s_verbosity = QUIET; break;
                case 'Q': s_verbosity = ERRORS; break;
                case 'v': s_verbosity = VERBOSE; break;
                case 's': *mode = MODE_SERVER; break;
                case 'c': *mode = MODE_CLIENT_PING; break;
                case 'C': *mode = MODE_CLIENT_LAZY; break;
                default: curvecp_tool_usage_error ("unknown option '-%c' in '%s'", *option, argv[index]);
            }
    }
    curvecp_tool_set_quiet (s_verbosity < ERRORS);
    if (index >= argc)
        curvecp_tool_usage_error ("no program to run");
    return index;
}

/* ---- descriptors ----------------------------------------------------- */

static void
set_nonblocking (int fd)
{
    int flags = fcntl (fd, F_GETFL);
    if (flags == -1 || fcntl (fd, F_SETFL, flags | O_NONBLOCK) == -1)
        curvecp_tool_fatal ("unable to set file descriptor %d non-blocking: %s", fd, strerror (errno));
}

/* A pipe whose two ends sit at descriptors >= 10 and close on exec, so
   neither can collide with 0/1/6/7/8/9 when the child arranges them. */
static void
make_pipe (int fds[2])
{
    int raw[2];
    if (pipe (raw) == -1)
        curvecp_tool_fatal ("unable to create pipe: %s", strerror (errno));
    for (int i = 0; i < 2; i++) {
        fds[i] = fcntl (raw[i], F_DUPFD_CLOEXEC, 10);
        if (fds[i] == -1)
            curvecp_tool_fatal ("unable to duplicate pipe: %s", strerror (errno));
        close (raw[i]);
    }
}

static void
close_fd (int *fd)
{
    if (*fd >= 0) {
        close (*fd);
        *fd = -1;
    }
}

/* ---- child ----------------------------------------------------------- */

static void
exec_child (handler_mode_t mode, int input, int output, char **argv, const sigset_t *original_mask)
{
    int input_fd = mode == MODE_SERVER ? 0 : FD_CHILD_IN;
    int output_fd = mode == MODE_SERVER ? 1 : FD_CHILD_OUT;
    if (dup2 (input, input_fd) == -1 || dup2 (output, output_fd) == -1)
        _exit (EXIT_FATAL);
    close (FD_FROM_NET);
    close (FD_TO_NET);
    signal (SIGPIPE, SIG_DFL);
    signal (SIGCHLD, SIG_DFL);
    sigprocmask (SIG_SETMASK, original_mask, NULL);
    execvp (argv[0], argv);
    fprintf (stderr, "curvecp-message: fatal: unable to run %s: %s\n", argv[0], strerror (errno));
    _exit (EXIT_FATAL);
}

static void
start_child (handler_t *self, char **argv, const sigset_t *original_mask)
{
    int input[2], output[2];
    make_pipe (input);
    make_pipe (output);
    self->child = fork ();
    if (self->child == -1)
        curvecp_tool_fatal ("unable to fork: %s", strerror (errno));
    if (self->child == 0)
        exec_child (self->mode, input[0], output[1], argv, original_mask);
    close (input[0]);
    close (output[1]);
    self->to_child = input[1];
    self->from_child = output[0];
    //  Only our ends are non-blocking; the child's ends stay blocking
    set_nonblocking (self->to_child);
    set_nonblocking (self->from_child);
}

static void
reap_child (handler_t *self, bool block)
{
    if (self->child_exited)
        return;
    int status;
    pid_t pid;
    do
        pid = waitpid (self->child, &status, block ? 0 : WNOHANG);
    while (pid == -1 && errno == EINTR);
    if (pid == self->child) {
        self->child_exited = true;
        self->child_status = status;
    }
    else
    if (pid == -1)
        curvecp_tool_fatal ("unable to wait for the child: %s", strerror (errno));
}

/* The connection failed or the peer's stream did: the child must not
   take its end of input for a clean one. */
static void
tell_child (handler_t *self)
{
    close_fd (&self->to_child);
    self->child_refuses_input = true;
    self->to_child_len = 0;
    reap_child (self, false);
    if (!self->child_exited)
        kill (self->child, SIGHUP);
}

/* ---- fds 8 and 9: frames ---------------------------------------------- */

static void
deliver_frames (handler_t *self, uint64_t now)
{
    const uint8_t *message;
    size_t len;
    int got;
    while ((got = curvecp_framing_next (self->framing, &message, &len)) == 1) {
        curvecp_stream_receive (self->stream, message, len, now);
        self->frames_in++;
        self->heard_peer = true;
        self->last_frame_in = now;
    }
    if (got == -1)
        curvecp_tool_fatal ("unable to read from file descriptor 8: protocol error (%s)",
                            curvecp_framing_error (self->framing) == CURVECP_E_TOO_LONG
                            ? "frame length byte over 68" : "frame length byte 0 or over 127, not 1..68");
}

static void
read_network (handler_t *self, uint64_t now)
{
    for (;;) {
        ssize_t got = curvecp_framing_read_fd (self->framing, FD_FROM_NET);
        if (got == -1 && errno == EINTR)
            continue;
        if (got == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (got == -1)
            curvecp_tool_fatal ("unable to read from file descriptor 8: %s", strerror (errno));
        if (got == 0 && curvecp_framing_buffered (self->framing))
            curvecp_tool_fatal ("unable to read from file descriptor 8: protocol error (end of input inside a frame)");
        if (got == 0) {
            self->net_eof = true;       /* fatal unless this iteration finishes us */
            return;
        }
        deliver_frames (self, now);
    }
}

static size_t
net_out_room (const handler_t *self)
{
    return NET_OUT_BUFFER - curvecp_framing_queued (self->framing);
}

static void
queue_frame (handler_t *self, const uint8_t *message, size_t len)
{
    //  Callers check the room first, so a refusal here is a bug
    if (curvecp_framing_queue (self->framing, message, len) != CURVECP_OK)
        curvecp_tool_fatal ("unable to queue a %zu-byte message for file descriptor 9", len);
    self->frames_out++;
}

static void
flush_network (handler_t *self)
{
    if (curvecp_framing_flush (self->framing, FD_TO_NET) == -1)
        curvecp_tool_fatal ("unable to write to file descriptor 9: %s", strerror (errno));
}

/* Queue every message the stream wants to send now, while a whole frame
   still fits: the stream commits to a message (new ID, pacing) when it
   produces it, so it must never be produced without room to keep it. */
static void
produce_frames (handler_t *self, uint64_t now)
{
    uint8_t message[CURVECP_MSG_MAX];
    while (net_out_room (self) >= FRAME_MAX) {
        size_t len = curvecp_stream_produce (self->stream, now, message, sizeof message);
        if (len == 0)
            break;
        queue_frame (self, message, len);
    }
}

/* ---- the ping --------------------------------------------------------- */

/* -c pings at once, -C once a second has passed without data from the
   child; once any block has gone out the stream refuses, as it should. */
static void
send_ping (handler_t *self, uint64_t now)
{
    if (!self->ping_pending || now < self->ping_at)
        return;
    curvecp_stream_ping (self->stream);
    self->ping_pending = false;
}

/* ---- child I/O -------------------------------------------------------- */

static void
read_child (handler_t *self)
{
    uint8_t buffer[CHILD_BUFFER];
    while (self->from_child >= 0) {
        size_t space = curvecp_stream_send_space (self->stream);
        if (space == 0)
            return;
        ssize_t got = read (self->from_child, buffer, space < sizeof buffer ? space : sizeof buffer);
        if (got == -1 && errno == EINTR)
            continue;
        if (got == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (got <= 0) {
            //  A read error ends our stream with a failure EOF, as in curvecpmessage
            if (got == -1)
                say (ERRORS, "unable to read from the child: %s", strerror (errno));
            curvecp_stream_close (self->stream, got == 0 ? CURVECP_EOF_SUCCESS : CURVECP_EOF_FAILURE);
            close_fd (&self->from_child);
            return;
        }
        size_t taken = curvecp_stream_write (self->stream, buffer, (size_t) got);
        if (taken != (size_t) got)
            curvecp_tool_fatal ("message layer took %zu of %zd bytes", taken, got);
        self->bytes_from_child += (size_t) got;
    }
}

static void
write_child (handler_t *self)
{
    for (;;) {
        if (self->to_child_len == 0) {
            self->to_child_start = 0;
            self->to_child_len = curvecp_stream_read (self->stream, self->to_child_buf, sizeof self->to_child_buf);
            if (self->to_child_len == 0)
                break;
        }
        if (self->child_refuses_input) {
            self->bytes_discarded += self->to_child_len;
            self->to_child_len = 0;
            continue;
        }
        ssize_t put = write (self->to_child, self->to_child_buf + self->to_child_start, self->to_child_len);
        if (put == -1 && errno == EINTR)
            continue;
        if (put == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (put <= 0) {
            //  The child closed its input: keep the connection going, drop the rest
            say (VERBOSE, "child stopped reading (%s); discarding its input", strerror (errno));
            self->child_refuses_input = true;
            close_fd (&self->to_child);
            continue;
        }
        self->to_child_start += (size_t) put;
        self->to_child_len -= (size_t) put;
        self->bytes_to_child += (size_t) put;
    }
    curvecp_eof_t eof = curvecp_stream_received_eof (self->stream);
    if (eof == CURVECP_EOF_FAILURE && !self->peer_failed) {
        self->peer_failed = true;
        tell_child (self);
    }
    if (eof != CURVECP_EOF_NONE)
        close_fd (&self->to_child);
}

/* ---- the loop --------------------------------------------------------- */

static bool
finished (handler_t *self)
{
    return curvecp_stream_done (self->stream)
        && self->to_child < 0 && self->to_child_len == 0
        && curvecp_framing_queued (self->framing) == 0;
}

/* Debian's curvecpmessage gives up about 10 s after its child died if
   nothing more comes from the peer; so do we. */
static bool
orphaned_and_idle (handler_t *self, uint64_t now)
{
    return self->child_exited && now >= self->last_frame_in + ORPHAN_IDLE_NS;
}

static uint64_t
next_wakeup (handler_t *self)
{
    uint64_t wakeup = UINT64_MAX;
    if (net_out_room (self) >= FRAME_MAX) {
        wakeup = curvecp_stream_deadline (self->stream);
        if (self->ping_pending && self->ping_at < wakeup)
            wakeup = self->ping_at;
    }
    if (self->child_exited && self->last_frame_in + ORPHAN_IDLE_NS < wakeup)
        wakeup = self->last_frame_in + ORPHAN_IDLE_NS;
    return wakeup;
}

static void
wait_for_events (handler_t *self, uint64_t now, const sigset_t *wait_mask)
{
    struct pollfd fds[4];
    nfds_t count = 0;
    fds[count++] = (struct pollfd) { .fd = FD_FROM_NET, .events = POLLIN };
    if (curvecp_framing_queued (self->framing))
        fds[count++] = (struct pollfd) { .fd = FD_TO_NET, .events = POLLOUT };
    if (self->from_child >= 0 && curvecp_stream_send_space (self->stream) > 0)
        fds[count++] = (struct pollfd) { .fd = self->from_child, .events = POLLIN };
    if (self->to_child >= 0 && self->to_child_len > 0)
        fds[count++] = (struct pollfd) { .fd = self->to_child, .events = POLLOUT };

    uint64_t wakeup = next_wakeup (self);
    struct timespec timeout, *timeout_p = NULL;
    if (wakeup != UINT64_MAX) {
        uint64_t wait = wakeup > now ? wakeup - now : 0;
        timeout.tv_sec = (time_t) (wait / SECOND_NS);
        timeout.tv_nsec = (long) (wait % SECOND_NS);
        timeout_p = &timeout;
    }
    //  SIGCHLD is blocked except inside ppoll, so a child's death wakes us
    if (ppoll (fds, count, timeout_p, wait_mask) == -1 && errno != EINTR)
        curvecp_tool_fatal ("unable to poll: %s", strerror (errno));
}

static void
report (handler_t *self)
{
    const curvecp_stream_info_t *info = curvecp_stream_info (self->stream);
    say (VERBOSE, "frames in %" PRIu64 " out %" PRIu64 "; bytes from child %" PRIu64
         " to child %" PRIu64 " discarded %" PRIu64 "; blocks %" PRIu64 " resent %" PRIu64
         " (timeouts %" PRIu64 "); acknowledgments repeated %" PRIu64 "; refused messages %" PRIu64,
         self->frames_in, self->frames_out, self->bytes_from_child, self->bytes_to_child,
         self->bytes_discarded, info->blocks_sent, info->retransmissions, info->timeouts, info->acks_repeated,
         curvecp_stats_rejected (curvecp_stream_stats (self->stream)));
}

static int
exit_status (handler_t *self)
{
    reap_child (self, true);
    report (self);
    if (self->peer_failed)
        curvecp_tool_fatal ("the %s ended its stream with a failure (failure-eof)",
                            self->mode == MODE_SERVER ? "client" : "server");
    if (WIFEXITED (self->child_status))
        return WEXITSTATUS (self->child_status);
    curvecp_tool_fatal ("child killed by signal %d", WTERMSIG (self->child_status));
    return EXIT_FATAL;
}

static int
run (handler_t *self, const sigset_t *wait_mask)
{
    for (;;) {
        uint64_t now = curvecp_clock_now ();
        reap_child (self, false);
        read_network (self, now);
        read_child (self);
        write_child (self);
        send_ping (self, now);
        produce_frames (self, now);
        flush_network (self);
        if (finished (self))
            return exit_status (self);
        if (self->net_eof)
            curvecp_tool_fatal ("unable to read from file descriptor 8: protocol error (end of input)");
        if (curvecp_stream_failed (self->stream)) {
            tell_child (self);
            curvecp_tool_fatal ("connection failed: the %s stopped acknowledging data (peer-silent: nothing for %.1f s)",
                                self->mode == MODE_SERVER ? "client" : "server", (double) self->give_up_ns / 1e9);
        }
        if (orphaned_and_idle (self, now)) {
            say (VERBOSE, "child exited and the peer is silent: giving up");
            return exit_status (self);
        }
        wait_for_events (self, now, wait_mask);
    }
}

static void
on_sigchld (int signal_number)
{
    (void) signal_number;             /* only here to interrupt ppoll */
}

int
main (int argc, char **argv)
{
    static handler_t handler;
    handler_t *self = &handler;
    self->mode = MODE_SERVER;
    int prog = parse_options (argc, argv, &self->mode);

    signal (SIGPIPE, SIG_IGN);
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = on_sigchld;
    sigemptyset (&action.sa_mask);
    sigaction (SIGCHLD, &action, NULL);
    sigset_t chld, original_mask;
    sigemptyset (&chld);
    sigaddset (&chld, SIGCHLD);
    sigprocmask (SIG_BLOCK, &chld, &original_mask);
    sigset_t wait_mask = original_mask;
    sigdelset (&wait_mask, SIGCHLD);

    set_nonblocking (FD_FROM_NET);
    set_nonblocking (FD_TO_NET);

    uint64_t start = curvecp_clock_now ();
    curvecp_stream_config_t config;
    curvecp_stream_config_default (&config);
    config.is_client = self->mode != MODE_SERVER;
    config.pacing = CURVECP_PACING_CHICAGO;
    config.now = start;
    config.give_up_ns = curvecp_tool_give_up_ns (config.give_up_ns);
    self->give_up_ns = config.give_up_ns;
    self->stream = curvecp_stream_new (&config);
    self->framing = curvecp_framing_new (NET_OUT_BUFFER);
    if (!self->stream || !self->framing)
        curvecp_tool_fatal ("unable to create the message layer: out of memory");

    self->last_frame_in = start;
    self->ping_pending = self->mode != MODE_SERVER;
    self->ping_at = start + (self->mode == MODE_CLIENT_LAZY ? LAZY_PING_NS : 0);

    start_child (self, argv + prog, &original_mask);
    int status = run (self, &wait_mask);
    curvecp_stream_destroy (&self->stream);
    curvecp_framing_destroy (&self->framing);
    return status;
}
