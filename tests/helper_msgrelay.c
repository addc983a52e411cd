/*  helper_msgrelay - joins two message handlers (ours or NaCl's
    curvecpmessage) by their fd 8/9 frames, standing in for the
    curvecpclient/curvecpserver pair and the network between them.

    helper_msgrelay relay [-s seed] [-d drop%] [-u dup%] [-t seconds] [-l logfile] CLIENT... :: SERVER...
        Runs both handler commands with fd 8 (frames in) and fd 9 (frames
        out) on non-blocking pipes, and moves every frame from one to the
        other, dropping or duplicating a seeded share of them. It also
        checks the handlers' frames as curvecpclient/curvecpserver would:
        n in 1..68, and n <= 40 from the client until a server frame has
        been delivered to it (the Initiate limit). Prints one line:
          relay: client=<status> server=<status> c2s=<frames> s2c=<frames>
                 c2s_bytes=<n> s2c_bytes=<n> dropped=<n> duplicated=<n> violations=<n> seconds=<t>
        <status> is an exit code, or "signal<n>" / "timeout". Exits 0
        when both handlers exited on their own and no violation was seen.

    helper_msgrelay child RFD WFD SEND SEND_SEED EXPECT EXPECT_SEED ORDER STATUS
        A child program for the handlers: writes SEND bytes of a seeded
        pattern to WFD while reading RFD to EOF and checking it is exactly
        EXPECT bytes of the EXPECT_SEED pattern. ORDER "first" closes WFD as
        soon as everything is sent; "last" only after RFD reached EOF.
        Exits STATUS if what arrived was right, 1 (with a message) if not. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "curvecp_clock.h"
#include "curvecp_framing.h"

#define QUEUE_BYTES  (8u << 20)      /* per direction: the "network" never drops unasked */
#define EARLY_MAX    40              /* curvecpclient: Initiate carries at most 640 bytes */

/* ---- the seeded byte pattern ---------------------------------------------- */

static uint64_t
splitmix (uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void
pattern (uint64_t seed, uint64_t offset, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint64_t at = offset + i;
        out[i] = (uint8_t) (splitmix (seed ^ (at >> 3) * 0x100000001b3ull) >> (8 * (at & 7)));
    }
}

static void
nonblocking (int fd)
{
    fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
}

/* ---- child mode --------------------------------------------------------------- */

typedef struct {
    int rfd, wfd;
    uint64_t send, send_seed, sent;
    uint64_t expect, expect_seed, received;
    bool close_first, input_done, bad;
} child_t;

static void
child_write (child_t *self)
{
    uint8_t buffer[16384];
    uint64_t left = self->send - self->sent;
    size_t len = left < sizeof buffer ? (size_t) left : sizeof buffer;
    pattern (self->send_seed, self->sent, buffer, len);
    ssize_t put = write (self->wfd, buffer, len);
    if (put < 0 && errno != EINTR && errno != EAGAIN) {
        fprintf (stderr, "helper child: write to fd %d failed after %llu bytes: %s\n",
                 self->wfd, (unsigned long long) self->sent, strerror (errno));
        exit (1);
    }
    if (put > 0)
        self->sent += (uint64_t) put;
}

static void
child_read (child_t *self)
{
    uint8_t buffer[16384], want[16384];
    ssize_t got = read (self->rfd, buffer, sizeof buffer);
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (got < 0) {
        fprintf (stderr, "helper child: read from fd %d failed: %s\n", self->rfd, strerror (errno));
        exit (1);
    }
    if (got == 0) {
        self->input_done = true;
        return;
    }
    size_t check = self->received < self->expect ? (size_t) (self->expect - self->received) : 0;
    if (check > (size_t) got)
        check = (size_t) got;
    pattern (self->expect_seed, self->received, want, check);
    if (check < (size_t) got || memcmp (buffer, want, check) != 0) {
        if (!self->bad)
            fprintf (stderr, "helper child: wrong data at offset near %llu (expected %llu bytes)\n",
                     (unsigned long long) self->received, (unsigned long long) self->expect);
        self->bad = true;
    }
    self->received += (uint64_t) got;
}

static int
child_main (char **argv)
{
    child_t self = {
        .rfd = atoi (argv[0]), .wfd = atoi (argv[1]),
        .send = strtoull (argv[2], NULL, 10), .send_seed = strtoull (argv[3], NULL, 10),
        .expect = strtoull (argv[4], NULL, 10), .expect_seed = strtoull (argv[5], NULL, 10),
        .close_first = strcmp (argv[6], "first") == 0
    };
    int status = atoi (argv[7]);
    signal (SIGPIPE, SIG_IGN);
    //  A blocking write of more than the pipe has room for would wait for a
    //  handler that is itself waiting for us to read: never block
    nonblocking (self.rfd);
    nonblocking (self.wfd);
    while (!self.input_done || self.wfd >= 0) {
        bool sending = self.wfd >= 0 && self.sent < self.send;
        if (self.wfd >= 0 && !sending && (self.close_first || self.input_done)) {
            close (self.wfd);
            self.wfd = -1;
            continue;
        }
        struct pollfd fds[2];
        nfds_t count = 0;
        if (!self.input_done)
            fds[count++] = (struct pollfd) { .fd = self.rfd, .events = POLLIN };
        if (sending)
            fds[count++] = (struct pollfd) { .fd = self.wfd, .events = POLLOUT };
        if (count == 0)
            break;                  /* "last": waiting only for input, which is done */
        if (poll (fds, count, -1) < 0 && errno != EINTR)
            return 1;
        for (nfds_t i = 0; i < count; i++) {
            if (!fds[i].revents)
                continue;
            if (fds[i].fd == self.rfd)
                child_read (&self);
            else
                child_write (&self);
        }
    }
    if (self.received != self.expect || self.bad) {
        fprintf (stderr, "helper child: received %llu bytes, expected %llu%s\n",
                 (unsigned long long) self.received, (unsigned long long) self.expect,
                 self.bad ? ", with wrong contents" : "");
        return 1;
    }
    return status;
}

/* ---- relay mode --------------------------------------------------------------- */

typedef struct {
    const char *name;
    pid_t pid;
    int status;
    bool exited;
    int from;                        /* handler's fd 9, our read end (-1 at EOF) */
    int to;                          /* handler's fd 8, our write end */
    curvecp_framing_t *framing;      /* frames from this handler, queue to it */
    uint64_t frames, bytes;
} side_t;

typedef struct {
    side_t client, server;
    uint64_t rng;
    unsigned drop, dup;              /* percent */
    uint64_t dropped, duplicated, violations;
    bool server_heard;               /* a server frame reached the client */
    FILE *log;                       /* -l: one line per frame, for debugging */
} relay_t;

static uint64_t
le (const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void
log_frame (relay_t *self, const side_t *from, const uint8_t *m, size_t len, const char *fate)
{
    if (!self->log || len < 48)
        return;
    uint64_t now = curvecp_clock_now ();
    fprintf (self->log, "%llu.%06llu %s len=%zu id=%llu ack=%llu r1=%llu r2=+%llu/%llu D=%llu flags=%llx pos=%llu %s\n",
             (unsigned long long) (now / 1000000000ull), (unsigned long long) (now % 1000000000ull / 1000), from->name, len,
             (unsigned long long) le (m, 4), (unsigned long long) le (m + 4, 4),
             (unsigned long long) le (m + 8, 8), (unsigned long long) le (m + 16, 4),
             (unsigned long long) le (m + 20, 2), (unsigned long long) (le (m + 38, 2) & 0x7ff),
             (unsigned long long) (le (m + 38, 2) & 0xf800), (unsigned long long) le (m + 40, 8), fate);
}

static uint64_t
relay_random (relay_t *self)
{
    self->rng = splitmix (self->rng);
    return self->rng;
}

/* Start a handler with fds 8/9 on fresh non-blocking pipes. */
static void
side_start (side_t *self, char **argv)
{
    int in[2], out[2];
    if (pipe (in) || pipe (out)) {
        perror ("pipe");
        exit (2);
    }
    self->pid = fork ();
    if (self->pid == 0) {
        //  Lift both ends above 9 first so dup2 cannot clobber one with another
        int r = fcntl (in[0], F_DUPFD, 20), w = fcntl (out[1], F_DUPFD, 20);
        close (in[0]); close (in[1]); close (out[0]); close (out[1]);
        if (r < 0 || w < 0 || dup2 (r, 8) < 0 || dup2 (w, 9) < 0)
            _exit (2);
        nonblocking (8);
        nonblocking (9);
        for (int fd = 10; fd < 64; fd++)
            close (fd);
        signal (SIGPIPE, SIG_DFL);
        execvp (argv[0], argv);
        fprintf (stderr, "helper_msgrelay: cannot run %s: %s\n", argv[0], strerror (errno));
        _exit (2);
    }
    close (in[0]);
    close (out[1]);
    self->to = in[1];
    self->from = out[0];
    nonblocking (self->to);
    nonblocking (self->from);
    //  The other handler must not inherit our ends of this one's pipes
    fcntl (self->to, F_SETFD, FD_CLOEXEC);
    fcntl (self->from, F_SETFD, FD_CLOEXEC);
    self->framing = curvecp_framing_new (QUEUE_BYTES);
}

static void
violation (relay_t *self, const char *what, const side_t *side, size_t len)
{
    if (self->violations++ < 5)
        fprintf (stderr, "helper_msgrelay: %s: %s (%zu-byte message)\n", side->name, what, len);
}

/* Deliver one message to dest, maybe dropping or duplicating it. */
static void
forward (relay_t *self, side_t *from, side_t *dest, const uint8_t *message, size_t len)
{
    from->frames++;
    from->bytes += len;
    if (from == &self->client && !self->server_heard && len > EARLY_MAX * 16)
        violation (self, "message over 640 bytes before the server spoke", from, len);
    if (relay_random (self) % 100 < self->drop) {
        self->dropped++;
        log_frame (self, from, message, len, "dropped");
        return;
    }
    int copies = 1;
    if (relay_random (self) % 100 < self->dup) {
        self->duplicated++;
        copies = 2;
    }
    log_frame (self, from, message, len, copies == 2 ? "twice" : "");
    for (int i = 0; i < copies && !dest->exited; i++)
        if (curvecp_framing_queue (dest->framing, message, len) != CURVECP_OK)
            violation (self, "relay queue full: frame lost", from, len);
    if (from == &self->server)
        self->server_heard = true;
}

static void
side_read (relay_t *self, side_t *from, side_t *dest)
{
    ssize_t got;
    while ((got = curvecp_framing_read_fd (from->framing, from->from)) > 0 || (got < 0 && errno == EINTR)) {
        const uint8_t *message;
        size_t len;
        int more;
        while ((more = curvecp_framing_next (from->framing, &message, &len)) == 1)
            forward (self, from, dest, message, len);
        if (more < 0) {
            violation (self, "bad frame length byte", from, 0);
            break;
        }
    }
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR) || curvecp_framing_error (from->framing)) {
        if (curvecp_framing_buffered (from->framing) && !curvecp_framing_error (from->framing))
            violation (self, "output ended inside a frame", from, 0);
        close (from->from);
        from->from = -1;
    }
}

static void
side_reap (side_t *self)
{
    int status;
    if (!self->exited && waitpid (self->pid, &status, WNOHANG) == self->pid) {
        self->exited = true;
        self->status = status;
    }
}

static void
status_text (const side_t *side, char *out, size_t cap)
{
    if (!side->exited)
        snprintf (out, cap, "timeout");
    else
    if (WIFEXITED (side->status))
        snprintf (out, cap, "%d", WEXITSTATUS (side->status));
    else
        snprintf (out, cap, "signal%d", WTERMSIG (side->status));
}

static double
seconds_now (void)
{
    return (double) curvecp_clock_now () / 1e9;
}

/* Move frames until both handlers exit or the time is up. */
static void
relay_loop (relay_t *self, double deadline)
{
    side_t *sides[2] = { &self->client, &self->server };
    while (!(self->client.exited && self->server.exited) && seconds_now () < deadline) {
        struct pollfd fds[4];
        side_t *owner[4];
        nfds_t count = 0;
        for (int i = 0; i < 2; i++) {
            side_t *side = sides[i];
            if (side->from >= 0) {
                owner[count] = side;
                fds[count++] = (struct pollfd) { .fd = side->from, .events = POLLIN };
            }
            if (curvecp_framing_queued (side->framing)) {
                owner[count] = side;
                fds[count++] = (struct pollfd) { .fd = side->to, .events = POLLOUT };
            }
        }
        poll (fds, count, 20);
        for (nfds_t i = 0; i < count; i++) {
            if (!fds[i].revents)
                continue;
            side_t *side = owner[i];
            if (fds[i].fd == side->from)
                side_read (self, side, side == &self->client ? &self->server : &self->client);
            else
            if (curvecp_framing_flush (side->framing, side->to) < 0) {
                //  The handler has gone; what is queued for it is lost, as on a network
                curvecp_framing_destroy (&side->framing);
                side->framing = curvecp_framing_new (CURVECP_FRAME_MAX);
            }
        }
        side_reap (&self->client);
        side_reap (&self->server);
    }
}

static int
relay_main (int argc, char **argv)
{
    relay_t self = { .client.name = "client", .server.name = "server" };
    unsigned timeout = 100;
    int opt;
    while ((opt = getopt (argc, argv, "+s:d:u:t:l:")) != -1)
        switch (opt) {
            case 's': self.rng = strtoull (optarg, NULL, 10); break;
            case 'd': self.drop = (unsigned) atoi (optarg); break;
            case 'u': self.dup = (unsigned) atoi (optarg); break;
            case 't': timeout = (unsigned) atoi (optarg); break;
            case 'l': self.log = fopen (optarg, "w"); break;
            default: return 2;
        }
    char **client = argv + optind, **server = NULL;
    for (int i = optind; i < argc; i++)
        if (strcmp (argv[i], "::") == 0) {
            argv[i] = NULL;
            server = argv + i + 1;
        }
    if (!server || !*client || !*server) {
        fprintf (stderr, "usage: helper_msgrelay relay [-s seed] [-d drop%%] [-u dup%%] [-t s] CLIENT... :: SERVER...\n");
        return 2;
    }
    signal (SIGPIPE, SIG_IGN);
    double start = seconds_now ();
    side_start (&self.server, server);
    side_start (&self.client, client);
    relay_loop (&self, start + timeout);
    double elapsed = seconds_now () - start;
    bool timed_out = !(self.client.exited && self.server.exited);
    if (!self.client.exited) kill (self.client.pid, SIGKILL);
    if (!self.server.exited) kill (self.server.pid, SIGKILL);
    char client_status[32], server_status[32];
    status_text (&self.client, client_status, sizeof client_status);
    status_text (&self.server, server_status, sizeof server_status);
    printf ("relay: client=%s server=%s c2s=%llu s2c=%llu c2s_bytes=%llu s2c_bytes=%llu "
            "dropped=%llu duplicated=%llu violations=%llu seconds=%.3f\n",
            client_status, server_status,
            (unsigned long long) self.client.frames, (unsigned long long) self.server.frames,
            (unsigned long long) self.client.bytes, (unsigned long long) self.server.bytes,
            (unsigned long long) self.dropped, (unsigned long long) self.duplicated,
            (unsigned long long) self.violations, elapsed);
    curvecp_framing_destroy (&self.client.framing);
    curvecp_framing_destroy (&self.server.framing);
    return timed_out || self.violations ? 1 : 0;
}

int
main (int argc, char **argv)
{
    if (argc >= 10 && strcmp (argv[1], "child") == 0)
        return child_main (argv + 2);
    if (argc >= 2 && strcmp (argv[1], "relay") == 0)
        return relay_main (argc - 1, argv + 1);
    fprintf (stderr, "usage: helper_msgrelay relay ... | child RFD WFD SEND SEED EXPECT SEED ORDER STATUS\n");
    return 2;
}
