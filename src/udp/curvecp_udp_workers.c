/*  curvecp_udp_workers.c - N curvecp_udp_servers on one port, one thread
    each.

    The servers are made with curvecp_udp_server_new_worker (the kernel
    steers by C', minute keys from one shared source), so the threads share
    nothing on the packet path. What they do share is outside it: the
    cookie_nonce function (under a lock here, as a file-backed counter
    such as the tools' safenonce is not thread-safe), and counters, which
    a reader asks each worker to copy at its next turn (woken through its
    eventfd) rather than reading memory another thread is writing.       */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "curvecp_udp_socket.h"
#include "curvecp_udp_workers.h"

/* How long a worker sleeps at most without a deadline (it wakes on its
   eventfd for stop and counters anyway). */
#define IDLE_POLL_NS (1000ull * 1000000ull)

typedef struct {
    curvecp_udp_server_t *server;
    pthread_t thread;
    bool running;
    int wake_fd;                       /* eventfd: stop, or counters wanted */
    pthread_mutex_t lock;              /* guards the snapshot below */
    pthread_cond_t copied;
    uint64_t asked, answered;          /* snapshot requests */
    curvecp_stats_t stats;
    curvecp_udp_server_info_t info;
    int connections;
    atomic_bool stop;
} worker_t;

struct _curvecp_udp_workers_t {
    int count;
    worker_t workers[CURVECP_UDP_WORKERS_MAX];
    curvecp_nonce16_fn cookie_nonce;   /* the user's, called under nonce_lock */
    void *cookie_nonce_context;
    pthread_mutex_t nonce_lock;
};

static curvecp_reason_t
locked_nonce (void *context, uint8_t nonce16[CURVECP_NONCE16_BYTES])
{
    curvecp_udp_workers_t *self = context;
    pthread_mutex_lock (&self->nonce_lock);
    curvecp_reason_t rc = self->cookie_nonce (self->cookie_nonce_context, nonce16);
    pthread_mutex_unlock (&self->nonce_lock);
    return rc;
}

static int
worker_init (worker_t *w, const curvecp_udp_server_config_t *config, curvecp_udp_server_t *first, int count)
{
    w->wake_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init (&w->lock, NULL);
    pthread_cond_init (&w->copied, NULL);
    w->server = curvecp_udp_server_new_worker (config, first, count);
    return w->server && w->wake_fd >= 0 ? 0 : -1;
}

curvecp_udp_workers_t *
curvecp_udp_workers_new (const curvecp_udp_server_config_t *config, int count)
{
    if (count < 1 || count > CURVECP_UDP_WORKERS_MAX) {
        errno = EINVAL;
        return NULL;
    }
    curvecp_udp_workers_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init (&self->nonce_lock, NULL);
    curvecp_udp_server_config_t each = *config;
    if (config->cookie_nonce) {
        self->cookie_nonce = config->cookie_nonce;
        self->cookie_nonce_context = config->cookie_nonce_context;
        each.cookie_nonce = locked_nonce;
        each.cookie_nonce_context = self;
    }
    for (int i = 0; i < count; i++)
        self->workers[i].wake_fd = -1;
    for (int i = 0; i < count; i++) {
        self->count = i + 1;
        if (worker_init (&self->workers[i], &each, i ? self->workers[0].server : NULL, count) != 0) {
            int saved = errno;
            curvecp_udp_workers_destroy (&self);
            errno = saved;
            return NULL;
        }
    }
    return self;
}

void
curvecp_udp_workers_destroy (curvecp_udp_workers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curvecp_udp_workers_t *self = *self_p;
    curvecp_udp_workers_stop (self);
    for (int i = 0; i < self->count; i++) {
        worker_t *w = &self->workers[i];
        curvecp_udp_server_destroy (&w->server);
        if (w->wake_fd >= 0)
            close (w->wake_fd);
        pthread_mutex_destroy (&w->lock);
        pthread_cond_destroy (&w->copied);
    }
    pthread_mutex_destroy (&self->nonce_lock);
    free (self);
    *self_p = NULL;
}

int
curvecp_udp_workers_add_name (curvecp_udp_workers_t *self, const char *name)
{
    int index = -1;
    for (int i = 0; i < self->count; i++)
        index = curvecp_udp_server_add_name (self->workers[i].server, name);
    return index;
}

int
curvecp_udp_workers_count (const curvecp_udp_workers_t *self)
{
    return self->count;
}

curvecp_udp_server_t *
curvecp_udp_workers_server (curvecp_udp_workers_t *self, int index)
{
    return index >= 0 && index < self->count ? self->workers[index].server : NULL;
}

void
curvecp_udp_workers_local (const curvecp_udp_workers_t *self, curvecp_udp_addr_t *addr)
{
    curvecp_udp_server_local (self->workers[0].server, addr);
}

/* ---- the threads -------------------------------------------------------- */

/* In the worker's thread: copy its counters if a reader asked. */
static void
answer_snapshot (worker_t *w)
{
    pthread_mutex_lock (&w->lock);
    if (w->asked != w->answered) {
        w->stats = *curvecp_udp_server_stats (w->server);
        w->info = *curvecp_udp_server_info (w->server);
        w->connections = curvecp_udp_server_connections (w->server);
        w->answered = w->asked;
        pthread_cond_broadcast (&w->copied);
    }
    pthread_mutex_unlock (&w->lock);
}

static void *
worker_main (void *arg)
{
    worker_t *w = arg;
    while (!atomic_load (&w->stop)) {
        struct pollfd fds[2] = {
            { curvecp_udp_server_fd (w->server),
              (short) (POLLIN | (curvecp_udp_server_want_write (w->server) ? POLLOUT : 0)), 0 },
            { w->wake_fd, POLLIN, 0 },
        };
        uint64_t idle = curvecp_clock_now () + IDLE_POLL_NS;
        uint64_t deadline = curvecp_udp_server_deadline (w->server);
        curvecp_udp_poll (fds, 2, deadline < idle ? deadline : idle);
        if (fds[1].revents & POLLIN) {
            uint64_t drained;
            if (read (w->wake_fd, &drained, sizeof drained) < 0)
                drained = 0;            /* EAGAIN: another turn drained it */
        }
        curvecp_udp_server_process (w->server, curvecp_clock_now ());
        answer_snapshot (w);
    }
    answer_snapshot (w);
    return NULL;
}

static void
wake (worker_t *w)
{
    uint64_t one = 1;
    if (write (w->wake_fd, &one, sizeof one) < 0)
        one = 0;                        /* counter full: it is awake anyway */
}

int
curvecp_udp_workers_start (curvecp_udp_workers_t *self)
{
    for (int i = 0; i < self->count; i++) {
        worker_t *w = &self->workers[i];
        if (w->running)
            continue;
        atomic_store (&w->stop, false);
        int rc = pthread_create (&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            curvecp_udp_workers_stop (self);
            errno = rc;
            return -1;
        }
        w->running = true;
    }
    return 0;
}

void
curvecp_udp_workers_stop (curvecp_udp_workers_t *self)
{
    for (int i = 0; i < self->count; i++)
        if (self->workers[i].running) {
            atomic_store (&self->workers[i].stop, true);
            wake (&self->workers[i]);
        }
    for (int i = 0; i < self->count; i++)
        if (self->workers[i].running) {
            pthread_join (self->workers[i].thread, NULL);
            self->workers[i].running = false;
        }
}

/* A copy of worker w's counters: from its thread if running. */
static void
snapshot (worker_t *w)
{
    if (!w->running) {
        pthread_mutex_lock (&w->lock);
        w->asked = w->answered + 1;
        pthread_mutex_unlock (&w->lock);
        answer_snapshot (w);
        return;
    }
    pthread_mutex_lock (&w->lock);
    uint64_t ticket = ++w->asked;
    wake (w);
    while (w->answered < ticket)
        pthread_cond_wait (&w->copied, &w->lock);
    pthread_mutex_unlock (&w->lock);
}

void
curvecp_udp_workers_stats (curvecp_udp_workers_t *self, curvecp_stats_t *stats)
{
    memset (stats, 0, sizeof *stats);
    for (int i = 0; i < self->count; i++) {
        worker_t *w = &self->workers[i];
        snapshot (w);
        pthread_mutex_lock (&w->lock);
        for (int r = 0; r < CURVECP_REASON_COUNT; r++)
            stats->counts[r] += w->stats.counts[r];
        pthread_mutex_unlock (&w->lock);
    }
}

_Static_assert (sizeof (curvecp_udp_server_info_t) % sizeof (uint64_t) == 0,
                "curvecp_udp_server_info_t holds only uint64_t counters, summed as such");

static void
add_info (curvecp_udp_server_info_t *sum, const curvecp_udp_server_info_t *one)
{
    uint64_t *a = (uint64_t *) sum;
    const uint64_t *b = (const uint64_t *) one;
    for (size_t k = 0; k < sizeof *sum / sizeof (uint64_t); k++)
        a[k] += b[k];
}

void
curvecp_udp_workers_info (curvecp_udp_workers_t *self, curvecp_udp_server_info_t *info)
{
    memset (info, 0, sizeof *info);
    for (int i = 0; i < self->count; i++) {
        worker_t *w = &self->workers[i];
        snapshot (w);
        pthread_mutex_lock (&w->lock);
        add_info (info, &w->info);
        pthread_mutex_unlock (&w->lock);
    }
}

int
curvecp_udp_workers_connections (curvecp_udp_workers_t *self, int *counts)
{
    int total = 0;
    for (int i = 0; i < self->count; i++) {
        worker_t *w = &self->workers[i];
        snapshot (w);
        pthread_mutex_lock (&w->lock);
        if (counts)
            counts[i] = w->connections;
        total += w->connections;
        pthread_mutex_unlock (&w->lock);
    }
    return total;
}
