"""A secured publish-subscribe subscriber (rfc/curvecp.md section 17),
written from the rfc alone, on top of this peer's CurveCP client over ØMQ
(section 12): the key channel is a CurveCP session (JOIN, KEYS, ACK, DENY,
APP as application messages of 12.5), the data channel a SUB socket whose
batches are checked in the order of 17.6 (PyNaCl: Ed25519 and
XChaCha20-Poly1305; hashlib: BLAKE2b)."""

import hashlib
import struct
import time

from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import VerifyKey

import curvecp_peer as cp

VERSION = 1
CONTEXT = b"CurveCP-PUBSUB-1"                    # 17.5
HEADER = 44
TAG = 16
SIG = 64
GRACE = 2.0                                      # 17.3
EPOCHS_KEPT = 4


def channel_key(master, prefix):
    """17.3: BLAKE2b-256 keyed with the master over the label and prefix."""
    return hashlib.blake2b(b"CurveCP-PUBSUB-channel" + prefix, digest_size=32, key=master).digest()


def parse_keys(body):
    """17.4/17.7 ps-keys-body -> (sign_pk, epoch, {prefix: key}); ValueError if bad."""
    if len(body) < 43 or body[0] != VERSION:
        raise ValueError("short or bad version")
    sign_pk = bytes(body[1:33])
    epoch = struct.unpack_from(">Q", body, 33)[0]
    count = struct.unpack_from(">H", body, 41)[0]
    if epoch == 0 or count > 1024:
        raise ValueError("epoch 0 or too many channels")
    at, keys = 43, {}
    for _ in range(count):
        if at >= len(body):
            raise ValueError("entry missing")
        plen = body[at]
        if len(body) - at - 1 < plen + 32:
            raise ValueError("entry truncated")
        prefix = bytes(body[at + 1:at + 1 + plen])
        if prefix in keys:
            raise ValueError("prefix twice")
        keys[prefix] = bytes(body[at + 1 + plen:at + 1 + plen + 32])
        at += 1 + plen + 32
    if at != len(body):
        raise ValueError("bytes left over")
    return sign_pk, epoch, keys


def parse_batch(frame, topic_len):
    """17.6 step 1-2 on the batch alone: dict of fields, or a reason."""
    if len(frame) < HEADER + TAG + SIG or frame[0] != VERSION or topic_len > 255:
        return "malformed"
    b = {"channel_len": frame[1],
         "epoch": struct.unpack_from(">Q", frame, 2)[0],
         "first": struct.unpack_from(">Q", frame, 10)[0],
         "count": struct.unpack_from(">H", frame, 18)[0],
         "header": bytes(frame[:HEADER]),
         "nonce": bytes(frame[20:HEADER]),
         "cipher": bytes(frame[HEADER:len(frame) - SIG]),
         "sig": bytes(frame[len(frame) - SIG:])}
    if (b["count"] == 0 or b["first"] == 0 or b["epoch"] == 0
            or b["first"] > 2**64 - 1 - b["count"] or len(b["cipher"]) < TAG + 5 * b["count"]):
        return "malformed"
    if b["channel_len"] > topic_len:
        return "wrong-topic"
    return b


def walk_plain(plain, count):
    """17.5: exactly count messages of 1..255 frames; list of frame lists or None."""
    at, out = 0, []
    for _ in range(count):
        if at >= len(plain) or plain[at] == 0:
            return None
        n = plain[at]
        at += 1
        frames = []
        for _ in range(n):
            if len(plain) - at < 4:
                return None
            size = struct.unpack_from(">I", plain, at)[0]
            at += 4
            if len(plain) - at < size:
                return None
            frames.append(bytes(plain[at:at + size]))
            at += size
        out.append(frames)
    return out if at == len(plain) else None


def verify(b, topic, sign_pk):
    signed = CONTEXT + bytes([len(topic)]) + topic + b["header"] + b["cipher"]
    try:
        VerifyKey(sign_pk).verify(signed, b["sig"])
        return True
    except BadSignatureError:
        return False


def open_seal(b, topic, key):
    ad = bytes([len(topic)]) + topic + b["header"]
    try:
        return crypto_aead_xchacha20poly1305_ietf_decrypt(b["cipher"], ad, b["nonce"], key)
    except CryptoError:
        return None


class Session:
    """A CurveCP client session over a DEALER that stays open (12.3-12.7),
    driven step by step: application messages in and out (12.5)."""

    def __init__(self, ctx, endpoint, server_pk, name="", longterm=None):
        self.car = cp.ZmqDealerCarrier(ctx, endpoint)
        self.conn = cp.ClientConn(server_pk, name=name, longterm=longterm)
        self.stream = cp.Stream(max_block=512, gap=0.0)    # 8.3: 512 until the server spoke
        self.stream.write(cp.ZCCP_GREETING)
        self.dec = cp.ZccpDecoder()
        self.inbox = []
        self.hello_at = 0.0
        self.hellos = 0

    def send(self, frames):
        self.stream.write(cp.zccp_encode(frames))

    def step(self, timeout):
        now = time.monotonic()
        if self.conn.state == "hello":
            if now >= self.hello_at:
                self.car.send(self.conn.hello())
                self.hellos += 1
                self.hello_at = now + 1.0
            pkt = self.car.recv(min(timeout, 0.05))
            if pkt is not None:
                self.conn.on_cookie(pkt)
            return
        for m in self.stream.poll(now):
            self.car.send(self.conn.seal(m))
        pkt = self.car.recv(max(0.0, min(timeout, self.stream.next_wakeup(now))))
        while pkt is not None:
            m = self.conn.open_server_message(pkt)
            if m is not None:
                self.stream.max_block = 1024
                self.stream.receive(m, time.monotonic())
            pkt = self.car.recv(0)
        data = self.stream.read()
        if data:
            self.inbox.extend(self.dec.feed(data))
        for m in self.stream.poll(time.monotonic()):
            self.car.send(self.conn.seal(m))

    def close(self):
        self.car.close()


class Subscriber:
    """17.4 and 17.6: JOIN, KEYS (ACK each), DENY, APP; batches checked in order."""

    def __init__(self, ctx, key_endpoint, data_endpoint, server_pk, prefixes, name=""):
        import zmq
        self.session = Session(ctx, key_endpoint, server_pk, name)
        self.session.send([b"JOIN", bytes([VERSION])])
        self.sub = ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.prefixes = [p.encode() if isinstance(p, str) else p for p in prefixes]
        for p in self.prefixes:
            self.sub.setsockopt(zmq.SUBSCRIBE, p)
        self.sub.connect(data_endpoint)
        self.zmq = zmq
        self.sign_pk = None
        self.epochs = {}            # epoch -> [keys by prefix, expires or None]
        self.tracks = {}            # topic -> (epoch, last delivered)
        self.delivered = []         # (topic, frames, seq, epoch, gap)
        self.replies = []
        self.denied = None
        self.keys_taken = []
        self.counts = {}

    def _count(self, reason):
        self.counts[reason] = self.counts.get(reason, 0) + 1

    def on_key_message(self, frames):
        cmd = frames[0] if frames else b""
        if cmd == b"KEYS" and len(frames) == 2:
            try:
                sign_pk, epoch, keys = parse_keys(frames[1])
            except ValueError:
                return self._count("bad-keys")
            if self.sign_pk is not None and sign_pk != self.sign_pk:
                self.epochs.clear()             # 17.4: the publisher restarted
                self.tracks.clear()
            elif self.epochs and epoch <= max(self.epochs):
                return self._count("bad-keys")
            now = time.monotonic()
            for e in self.epochs.values():
                if e[1] is None:
                    e[1] = now + GRACE
            self.epochs[epoch] = [keys, None]
            while len(self.epochs) > EPOCHS_KEPT:
                del self.epochs[min(self.epochs)]
            self.sign_pk = sign_pk
            self.denied = None
            self.keys_taken.append(epoch)
            self.session.send([b"ACK", struct.pack(">Q", epoch)])
        elif cmd == b"DENY" and len(frames) == 2:
            self.denied = frames[1].decode("ascii", "replace")
            self.epochs.clear()
        elif cmd == b"APP":
            self.replies.append(frames[1:])
        else:
            self._count("bad-keys")

    def take_batch(self, topic, frame):
        """17.6; returns "ok" or the reason of the refusal."""
        b = parse_batch(frame, len(topic))
        if isinstance(b, str):
            return b
        if not any(topic.startswith(p) for p in self.prefixes):
            return "wrong-topic"
        e = self.epochs.get(b["epoch"])
        if e is not None and e[1] is not None and e[1] <= time.monotonic():
            del self.epochs[b["epoch"]]
            e = None
        key = e[0].get(topic[:b["channel_len"]]) if e else None
        if key is None:
            return "no-key"
        track = self.tracks.get(topic)
        if track and (b["epoch"] < track[0] or (b["epoch"] == track[0] and b["first"] <= track[1])):
            return "replayed"
        if not verify(b, topic, self.sign_pk):
            return "forged"
        plain = open_seal(b, topic, key)
        messages = walk_plain(plain, b["count"]) if plain is not None else None
        if messages is None:
            return "unsealed"
        if track is None:
            gap = 0
        elif b["epoch"] == track[0]:
            gap = b["first"] - track[1] - 1
        else:
            gap = b["first"] - 1
        self.tracks[topic] = (b["epoch"], b["first"] + b["count"] - 1)
        for i, frames in enumerate(messages):
            self.delivered.append((topic, frames, b["first"] + i, b["epoch"], gap if i == 0 else 0))
        return "ok"

    def step(self, timeout=0.01):
        self.session.step(timeout)
        while self.session.inbox:
            self.on_key_message(self.session.inbox.pop(0))
        while True:
            try:
                parts = self.sub.recv_multipart(self.zmq.NOBLOCK)
            except self.zmq.Again:
                break
            if len(parts) != 2 or len(parts[0]) > 255:
                self._count("malformed")
                continue
            self._count(self.take_batch(parts[0], parts[1]))

    def request(self, frames):
        self.session.send([b"APP"] + list(frames))

    def close(self):
        self.sub.close()
        self.session.close()
