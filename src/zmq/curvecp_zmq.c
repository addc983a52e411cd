/*  curvecp_zmq.c - timeout rounding and frame skipping for the ØMQ carrier. */
#include <sodium.h>
#include <stdarg.h>
#include <string.h>
#include <zmq.h>
#include "curvecp_zmq.h"

int
curvecp_zmq_timeout_ms (uint64_t deadline, uint64_t now, int cap_ms)
{
    if (deadline == UINT64_MAX)
        return cap_ms;
    if (deadline <= now)
        return 0;
    uint64_t ms = (deadline - now + 999999) / 1000000;
    if (cap_ms >= 0 && ms > (uint64_t) cap_ms)
        return cap_ms;
    return ms > 0x7fffffff ? 0x7fffffff : (int) ms;
}

/* Below this a copy costs less than a fresh buffer (a 64 KiB copy is a
   few microseconds; libzmq copies small parts into its own batch anyway). */
#define HANDOFF_MIN (16u * 1024u)

static void
free_handed_off (void *data, void *hint)
{
    (void) hint;
    free (data);                      /* plain ciphertext: nothing secret to wipe */
}

int
curvecp_zmq_send_output (void *handle, uint8_t **buffer_p, size_t len, size_t cap, int flags)
{
    uint8_t *fresh = len >= HANDOFF_MIN ? (uint8_t *) malloc (cap) : NULL;
    if (!fresh)
        return zmq_send (handle, *buffer_p, len, flags);
    zmq_msg_t part;
    if (zmq_msg_init_data (&part, *buffer_p, len, free_handed_off, NULL) != 0) {
        free (fresh);
        return zmq_send (handle, *buffer_p, len, flags);
    }
    *buffer_p = fresh;                /* the part owns the old buffer now, sent or not */
    int rc = zmq_msg_send (&part, handle, flags);
    if (rc < 0)
        zmq_msg_close (&part);
    return rc;
}

size_t
curvecp_zmq_skip_rest (void *handle)
{
    size_t skipped = 0;
    zmq_msg_t part;
    zmq_msg_init (&part);
    /* a message's parts arrive together: none of these receives waits */
    while (zmq_msg_recv (&part, handle, ZMQ_DONTWAIT) >= 0) {
        skipped++;
        if (!zmq_msg_more (&part))
            break;
    }
    zmq_msg_close (&part);
    return skipped;
}


static int
on_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    curvecp_zmq_loop_t *self = (curvecp_zmq_loop_t *) arg;
    self->timer_id = -1;                /* a one-shot timer: gone once it fired */
    return curvecp_zmq_loop_event (self);
}

int
curvecp_zmq_loop_event (curvecp_zmq_loop_t *self)
{
    if (self->serve (self->owner) != 0)
        return -1;
    if (self->timer_id >= 0)
        zloop_timer_end (self->loop, self->timer_id);
    int timeout = self->timeout (self->owner);
    self->timer_id = timeout >= 0 ? zloop_timer (self->loop, (size_t) timeout, 1, on_timer, self) : -1;
    return 0;
}

int
curvecp_zmq_loop_on_reader (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    return curvecp_zmq_loop_event ((curvecp_zmq_loop_t *) arg);
}

void
curvecp_zmq_loop_stop (curvecp_zmq_loop_t *self)
{
    if (self->loop && self->timer_id >= 0)
        zloop_timer_end (self->loop, self->timer_id);
    self->timer_id = -1;
    self->loop = NULL;
}

bool
curvecp_zmq_keys_from_zcert (zcert_t *cert, curvecp_keypair_t *keys)
{
    memset (keys, 0, sizeof *keys);
    if (!cert)
        return false;
    memcpy (keys->public_key, zcert_public_key (cert), CURVECP_KEY_BYTES);
    memcpy (keys->secret_key, zcert_secret_key (cert), CURVECP_KEY_BYTES);
    /* a public certificate read from disk has an all-zero secret key */
    uint8_t derived[CURVECP_KEY_BYTES];
    bool whole = !sodium_is_zero (keys->secret_key, CURVECP_KEY_BYTES)
              && crypto_scalarmult_base (derived, keys->secret_key) == 0
              && sodium_memcmp (derived, keys->public_key, CURVECP_KEY_BYTES) == 0;
    if (!whole)
        sodium_memzero (keys, sizeof *keys);
    return whole;
}

void
curvecp_zmq_say (FILE *log, const char *who, const char *format, ...)
{
    if (!log)
        return;
    /* one write for the whole line: stderr is unbuffered, and processes
       sharing it (a key service and its replicas) must not interleave
       their lines mid-way */
    char line[1024];
    int prefix = snprintf (line, sizeof line, "%s: ", who);
    va_list args;
    va_start (args, format);
    int body = prefix < 0 || (size_t) prefix >= sizeof line ? -1
             : vsnprintf (line + prefix, sizeof line - (size_t) prefix, format, args);
    va_end (args);
    if (body < 0 || (size_t) prefix + (size_t) body + 1 >= sizeof line) {
        va_start (args, format);              /* too long for one write: as it comes */
        fprintf (log, "%s: ", who);
        vfprintf (log, format, args);
        fprintf (log, "\n");
        va_end (args);
    }
    else {
        line[prefix + body] = '\n';
        fwrite (line, 1, (size_t) prefix + (size_t) body + 1, log);
    }
    fflush (log);
}
