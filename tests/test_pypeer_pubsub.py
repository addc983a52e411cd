#!/usr/bin/python3
"""The independent Python peer's secured subscriber (tests/peer_py/
curvecp_pubsub.py, written from rfc/curvecp.md section 17) against our
publisher (curvecp_zmq_pub, run by tests/helper_pubsub_pub):

  (p1) vector A.13: the channel key derived from the master, the KEYS body
       parsed, the batch verified and opened to its two messages; one
       flipped byte in the batch (header, ciphertext, signature) or in the
       topic makes it refused, each with the reason of 17.6.
  (p2) interoperation: the Python subscriber joins over a CurveCP session,
       takes KEYS with the signing key the helper printed, reads batches
       of several messages on "py.a" in sequence with no gaps, across
       several epoch switches (KEYS, ACK each: the publisher switches by
       acknowledgments, never by timeout); ØMQ filtering keeps "zz.b" away;
       an APP request is echoed over the key channel.
  (p3) revocation: an APP "revoke-me" makes the publisher revoke the
       Python subscriber: DENY "revoked" arrives, and every batch after the
       switch is refused no-key: nothing more is delivered.

Usage: test_pypeer_pubsub.py BUILD_DIR SOURCE_DIR"""

import os
import struct
import subprocess
import sys
import time

BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build"
SRC = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "tests", "peer_py"))

import zmq                                                 # noqa: E402
import curvecp_pubsub as ps                                # noqa: E402
from harness import Children, Report                      # noqa: E402
from rfcvectors import Vectors                             # noqa: E402

R = Report(120.0)
KIDS = Children()
HELPER = os.path.join(BUILD, "tests", "helper_pubsub_pub")


def p1_vectors():
    v = Vectors(os.path.join(SRC, "rfc", "curvecp.md"))
    master = v.get("A.13", "epoch master")
    key = v.get("A.13", "channel key")
    R.check("(p1) channel key = BLAKE2b(master, label || prefix)", ps.channel_key(master, b"weather.") == key)
    sign_pk, epoch, keys = ps.parse_keys(v.get("A.13", "KEYS body"))
    R.check("(p1) KEYS body parses", sign_pk == v.get("A.13", "signing public key")
            and epoch == 0x0000000100000001 and keys == {b"weather.": key})
    from nacl.signing import SigningKey
    R.check("(p1) signing key from the seed", bytes(SigningKey(v.get("A.13", "signing seed")).verify_key) == sign_pk)
    frame = v.get("A.13", "batch frame")
    topic = b"weather.paris"

    class Fixed(ps.Subscriber):
        def __init__(self):                                # no sockets: the checks alone
            self.prefixes = [b""]
            self.sign_pk = sign_pk
            self.epochs = {epoch: [keys, None]}
            self.tracks = {}
            self.delivered = []
    s = Fixed()
    R.check("(p1) batch accepted", s.take_batch(topic, frame) == "ok", s.delivered)
    R.check("(p1) two messages, sequence 7 and 8",
            [(d[1], d[2]) for d in s.delivered] == [([b"12 C"], 7), ([b"rain", b""], 8)], s.delivered)
    R.check("(p1) the same batch again is a replay", s.take_batch(topic, frame) == "replayed")
    cases = [("header (epoch) flipped", frame[:5] + bytes([frame[5] ^ 1]) + frame[6:], topic, "no-key"),
             ("sequence flipped", frame[:17] + bytes([frame[17] ^ 0x40]) + frame[18:], topic, "forged"),
             ("ciphertext flipped", frame[:60] + bytes([frame[60] ^ 1]) + frame[61:], topic, "forged"),
             ("signature flipped", frame[:-1] + bytes([frame[-1] ^ 1]), topic, "forged"),
             ("truncated", frame[:120], topic, "malformed"),
             ("moved topic", frame, b"weather.oslo", "forged"),
             ("topic shorter than channel", frame, b"weather", "wrong-topic")]
    for what, f, t, want in cases:
        s = Fixed()
        got = s.take_batch(t, f)
        R.check("(p1) %s: %s" % (what, want), got == want and not s.delivered, got)


def start_helper(seconds):
    p = KIDS.start([HELPER, str(seconds)], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    if len(line) != 5 or line[0] != "PUB":
        R.check("helper started", False, line)
        return None
    return p, bytes.fromhex(line[1]), int(line[2]), int(line[3]), bytes.fromhex(line[4])


def pump(sub, until, cond):
    while time.monotonic() < until and not cond():
        sub.step(0.01)
    return cond()


def p2_p3(ctx):
    started = start_helper(8)
    if not started:
        return
    p, key, key_port, data_port, sign = started
    sub = ps.Subscriber(ctx, "tcp://127.0.0.1:%d" % key_port, "tcp://127.0.0.1:%d" % data_port, key, ["py."])
    t0 = time.monotonic()
    R.check("(p2) KEYS over the CurveCP session",
            pump(sub, t0 + 5, lambda: sub.keys_taken), sub.counts)
    R.check("(p2) signing key is the publisher's", sub.sign_pk == sign)
    before_keys = dict(sub.counts)      # batches that came before the keys: no-key, rightly
    R.check("(p2) batches delivered", pump(sub, t0 + 6, lambda: len(sub.delivered) > 200), sub.counts)
    R.check("(p2) several epochs taken, each acknowledged",
            pump(sub, t0 + 6, lambda: len(sub.keys_taken) >= 4), sub.keys_taken)
    seqs = {}
    ok_order, gaps, multi = True, 0, False
    for topic, frames, seq, epoch, gap in sub.delivered:
        last = seqs.get(epoch)
        if last is not None and seq != last + 1:
            ok_order = False
        seqs[epoch] = seq
        gaps += gap
        ok_order = ok_order and topic == b"py.a" and frames[0].startswith(b"msg ")
    numbers = [int(d[1][0].split()[1]) for d in sub.delivered]
    multi = len(sub.delivered) > sub.counts.get("ok", 0)
    R.check("(p2) in order, per epoch, only py.a", ok_order)
    R.check("(p2) message numbers increase by one", numbers == list(range(numbers[0], numbers[0] + len(numbers))),
            numbers[:5])
    refused = {k: n - before_keys.get(k, 0) for k, n in sub.counts.items() if k != "ok"}
    R.check("(p2) no gaps, nothing refused once keyed", gaps == 0 and not any(refused.values()),
            (sub.counts, before_keys))
    R.check("(p2) batches carried several messages", multi, (len(sub.delivered), sub.counts))
    sub.request([b"echo", b"me"])
    R.check("(p2) APP request echoed", pump(sub, time.monotonic() + 3, lambda: sub.replies)
            and sub.replies[0] == [b"echo", b"me"], sub.replies)
    # (p3) revocation
    delivered = len(sub.delivered)
    sub.request([b"revoke-me"])
    R.check("(p3) DENY revoked", pump(sub, time.monotonic() + 3, lambda: sub.denied) and sub.denied == "revoked",
            sub.denied)
    t1 = time.monotonic()
    pump(sub, t1 + 1.5, lambda: False)
    after = len(sub.delivered)
    no_key = sub.counts.get("no-key", 0)
    pump(sub, time.monotonic() + 1.0, lambda: False)
    R.check("(p3) nothing delivered once the switch is past", len(sub.delivered) == after,
            (delivered, after, len(sub.delivered)))
    R.check("(p3) later batches refused no-key", sub.counts.get("no-key", 0) > no_key, sub.counts)
    sub.close()
    out, _ = p.communicate(timeout=15)
    stats = dict(kv.split("=") for kv in out.split()[1:]) if out.startswith("STATS") else {}
    # every switch waits for the Python ACK (at most 500 ms); one late ACK
    # on a loaded machine is tolerated, ACKs that never work are not
    R.check("(p2) the publisher switched by acknowledgments", int(stats.get("switches_by_timeout", 99)) <= 1
            and int(stats.get("acks", 0)) >= 4, out.strip())
    R.check("helper exits 0", p.returncode == 0, p.returncode)


def main():
    p1_vectors()
    if not os.access(HELPER, os.X_OK):
        R.check("helper built", False, HELPER)
        return R.finish()
    ctx = zmq.Context()
    try:
        p2_p3(ctx)
    finally:
        ctx.destroy(linger=0)
        KIDS.kill_all()
    return R.finish()


sys.exit(main())
