"""An independent CurveCP peer, written from rfc/curvecp.md alone.

Purpose: prove that the RFC is enough to build a peer that talks to the
project's tools and to NaCl's.  Nothing here was taken from the project's C
sources.  Section numbers in comments ("RFC 5.4") point at the text each
piece was built from.  The guesses of the first pass are listed in RFC_GAPS.md;
the second pass (RFC completed) replaced those the RFC answered otherwise.

Layers:
  * crypto + packets (RFC 2.3, 4, 5)
  * handshake: ClientConn (RFC 7.1), Server / ServerConn (RFC 6, 7.2)
  * message layer: Stream (RFC 8, a simple pacing instead of Chicago, RFC 9)
  * carriers: UDP client/server loops (RFC 11), ØMQ DEALER/ROUTER loops and
    the application-message framing (RFC 12)

Only Debian's python3-nacl (nacl.bindings) and python3-zmq are used.
"""

import select
import socket
import struct
import time

from nacl import bindings as nb
from nacl.exceptions import CryptoError

# --------------------------------------------------------------------------
# Constants (RFC 5.1, 5.2 .. 5.6)

MAGIC_HELLO = b"QvnQ5XlH"
MAGIC_INITIATE = b"QvnQ5XlI"
MAGIC_CLIENT_MSG = b"QvnQ5XlM"
MAGIC_COOKIE = b"RL3aNMXK"
MAGIC_SERVER_MSG = b"RL3aNMXM"

ZERO_EXT = bytes(16)
HELLO_LEN = 224
COOKIE_LEN = 200

NONCE_HELLO = b"CurveCP-client-H"
NONCE_INITIATE = b"CurveCP-client-I"
NONCE_CLIENT_MSG = b"CurveCP-client-M"
NONCE_SERVER_MSG = b"CurveCP-server-M"
NONCE_COOKIE = b"CurveCPK"
NONCE_MINUTE = b"minute-k"
NONCE_VOUCH = b"CurveCPV"

MESSAGE_SIZES = (192, 320, 576, 1088)      # RFC 8.3
EOF_SUCCESS = 0x0800                        # RFC 8.2
EOF_FAILURE = 0x1000
MAX_BLOCKS_IN_FLIGHT = 128                  # RFC 8.4
PEER_BUFFER = 131072                        # RFC 8.4
RECV_WINDOW = 131072                        # RFC 8.5
MAX_INTERVALS = 32                          # RFC 8.5


def u16(n):
    return struct.pack("<H", n)


def u32(n):
    return struct.pack("<I", n)


def u64(n):
    return struct.pack("<Q", n)


def get_u16(b, o):
    return struct.unpack_from("<H", b, o)[0]


def get_u32(b, o):
    return struct.unpack_from("<I", b, o)[0]


def get_u64(b, o):
    return struct.unpack_from("<Q", b, o)[0]


# --------------------------------------------------------------------------
# Crypto (RFC 2.3).  PyNaCl's bindings already give the compact form
# (authenticator || ciphertext), exactly what travels on the wire.

def keypair(secret=None):
    """(public, secret); secret is random unless given (test vectors)."""
    if secret is None:
        secret = nb.randombytes(32)
    return nb.crypto_scalarmult_base(secret), secret


def beforenm(pk, sk):
    """Shared key; libsodium refuses a low-order pk (RFC 2.3), so do we."""
    return nb.crypto_box_beforenm(pk, sk)


def box(m, nonce, k):
    return nb.crypto_box_afternm(m, nonce, k)


def unbox(c, nonce, k):
    """Plaintext, or None when the box does not open."""
    try:
        return nb.crypto_box_open_afternm(c, nonce, k)
    except CryptoError:
        return None


def secretbox(m, nonce, k):
    return nb.crypto_secretbox(m, nonce, k)


def secretunbox(c, nonce, k):
    try:
        return nb.crypto_secretbox_open(c, nonce, k)
    except CryptoError:
        return None


# --------------------------------------------------------------------------
# Long-term nonces (RFC 4.2): random, or NaCl's key-directory scheme whose
# block cipher (TEA on 64-bit words) we implement for the A.3 vectors.

def tea64_encrypt(key32, block16):
    mask = (1 << 64) - 1
    v0, v1 = struct.unpack("<QQ", block16)
    k0, k1, k2, k3 = struct.unpack("<QQQQ", key32)
    s, delta = 0, 0x9E3779B97F4A7C15
    for _ in range(32):
        s = (s + delta) & mask
        v0 = (v0 + ((((v1 << 7) & mask) + k0) & mask
                    ^ ((v1 + s) & mask)
                    ^ (((v1 >> 12) + k1) & mask))) & mask
        v1 = (v1 + ((((v0 << 16) & mask) + k2) & mask
                    ^ ((v0 + s) & mask)
                    ^ (((v0 >> 8) + k3) & mask))) & mask
    return struct.pack("<QQ", v0, v1)


def random_nonce16():
    return nb.randombytes(16)


# --------------------------------------------------------------------------
# Server name (RFC 5.7)

def encode_name(name):
    out = bytearray()
    for label in name.split("."):
        if not label:
            continue
        lb = label.encode()
        if len(lb) > 63:
            raise ValueError("label over 63 bytes")
        out += bytes([len(lb)]) + lb
    out += b"\x00"
    if len(out) > 256:
        raise ValueError("name too long")
    return bytes(out) + bytes(256 - len(out))


# --------------------------------------------------------------------------
# Counters (RFC 4.3)

class Counter:
    """Incremented before each packet; never wraps."""

    def __init__(self, start=None):
        if start is None:
            start = int.from_bytes(nb.randombytes(8), "little") % (1 << 48)
        self.value = start

    def next(self):
        if self.value >= (1 << 64) - 1:
            raise OverflowError("counter would wrap: stop sending")
        self.value += 1
        return self.value


# --------------------------------------------------------------------------
# Client side of the handshake (RFC 7.1) and its packets

class ClientConn:
    """Packets of one client connection.  Secrets may be injected for the
    test vectors; otherwise they are random."""

    def __init__(self, server_pk, server_ext=ZERO_EXT, client_ext=ZERO_EXT,
                 name="", longterm=None, short_secret=None, counter_start=None,
                 vouch_nonce=None):
        self.S = server_pk
        self.server_ext = server_ext
        self.client_ext = client_ext
        self.name_field = encode_name(name)
        if longterm is None:
            longterm = keypair()           # like curvecpclient without -c
        self.C, self.c = longterm
        self.Cp, self.cp = keypair(short_secret)
        self.counter = Counter(counter_start)
        self.k_hello = beforenm(self.S, self.cp)
        self.k_vouch = beforenm(self.S, self.c)
        self.vouch_nonce = vouch_nonce
        self.state = "hello"               # hello -> initiate -> established
        self.k_session = None
        self.cookie = None
        self.vouch = None
        self.last_server_counter = None
        self.drops = {}

    def _drop(self, reason):
        self.drops[reason] = self.drops.get(reason, 0) + 1
        return None

    # RFC 5.2
    def hello(self):
        n = self.counter.next()
        b = box(bytes(64), NONCE_HELLO + u64(n), self.k_hello)
        return (MAGIC_HELLO + self.server_ext + self.client_ext + self.Cp
                + bytes(64) + u64(n) + b)

    def _check_to_client(self, pkt):
        """RFC 5.9, client, rules 1-3; returns the magic or None."""
        if len(pkt) < 80:
            return self._drop("too-short")
        if len(pkt) > 1152:
            return self._drop("too-long")
        magic = pkt[:8]
        if magic == MAGIC_COOKIE:          # RFC 5.9 client rule 2
            if len(pkt) != COOKIE_LEN:
                return self._drop("too-short" if len(pkt) < COOKIE_LEN else "too-long")
        elif magic == MAGIC_SERVER_MSG:
            if len(pkt) % 16:
                return self._drop("not-multiple-16")
        else:
            return self._drop("bad-magic")
        if pkt[8:24] != self.client_ext:
            return self._drop("wrong-client-ext")
        if pkt[24:40] != self.server_ext:
            return self._drop("wrong-server-ext")
        return magic

    # RFC 5.3, 7.1 step 3
    def on_cookie(self, pkt):
        """True if pkt is the (first) valid Cookie."""
        if self._check_to_client(pkt) != MAGIC_COOKIE:
            return False
        if self.state != "hello":
            self._drop("wrong-state")
            return False
        n16 = pkt[40:56]
        plain = unbox(pkt[56:200], NONCE_COOKIE + n16, self.k_hello)
        if plain is None:
            self._drop("bad-cookie-box")
            return False
        sp, k = plain[:32], plain[32:128]
        try:
            self.k_session = beforenm(sp, self.cp)
        except Exception:
            self._drop("bad-cookie-box")   # low-order S'
            return False
        self.cookie = k
        v16 = self.vouch_nonce or random_nonce16()
        self.vouch_nonce = v16
        self.vouch = box(self.Cp, NONCE_VOUCH + v16, self.k_vouch)
        self.state = "initiate"
        return True

    # RFC 5.4
    def initiate(self, m):
        assert self.state == "initiate" and 16 <= len(m) <= 640 and len(m) % 16 == 0
        n = self.counter.next()
        inner = self.C + self.vouch_nonce + self.vouch + self.name_field + m
        b = box(inner, NONCE_INITIATE + u64(n), self.k_session)
        return (MAGIC_INITIATE + self.server_ext + self.client_ext + self.Cp
                + self.cookie + u64(n) + b)

    # RFC 5.6
    def client_message(self, m):
        assert self.state == "established" and 16 <= len(m) <= 1088 and len(m) % 16 == 0
        n = self.counter.next()
        b = box(m, NONCE_CLIENT_MSG + u64(n), self.k_session)
        return (MAGIC_CLIENT_MSG + self.server_ext + self.client_ext + self.Cp
                + u64(n) + b)

    def seal(self, m):
        """RFC 7.1 step 4/5: Initiates until the first Server Message."""
        return self.initiate(m) if self.state == "initiate" else self.client_message(m)

    # RFC 5.5, 5.9 rules 4-5
    def open_server_message(self, pkt):
        if self._check_to_client(pkt) != MAGIC_SERVER_MSG:
            return None
        if self.state == "hello":
            return self._drop("wrong-state")
        n = get_u64(pkt, 40)
        if self.last_server_counter is not None and n <= self.last_server_counter:
            return self._drop("replayed-nonce")
        m = unbox(pkt[48:], NONCE_SERVER_MSG + u64(n), self.k_session)
        if m is None:
            return self._drop("bad-message-box")
        self.last_server_counter = n
        if self.state == "initiate":
            self.state = "established"     # RFC 7.1 step 5: forget K and the vouch
            self.cookie = self.vouch = self.vouch_nonce = None
            self.name_field = None
        return m


# --------------------------------------------------------------------------
# Server side of the handshake (RFC 6, 7.2)

class ServerConn:
    def __init__(self, Cp, C, k_session, client_ext, server_ext, name_field,
                 last_counter, counter_start=None):
        self.Cp, self.C = Cp, C
        self.k_session = k_session
        self.client_ext, self.server_ext = client_ext, server_ext
        self.name_field = name_field
        self.last_client_counter = last_counter
        self.counter = Counter(counter_start)
        self.addr = None
        self.stream = None
        self.app = None

    # RFC 5.5
    def seal(self, m):
        assert 16 <= len(m) <= 1088 and len(m) % 16 == 0
        n = self.counter.next()
        b = box(m, NONCE_SERVER_MSG + u64(n), self.k_session)
        return MAGIC_SERVER_MSG + self.client_ext + self.server_ext + u64(n) + b


class Server:
    """Stateless Hello -> Cookie; Initiate -> ServerConn (RFC 7.2).
    handle() returns ('cookie', packet), ('new', conn, M), ('msg', conn, M)
    or None (dropped; self.drops counts why)."""

    ROTATE = 60.0

    def __init__(self, longterm, server_ext=ZERO_EXT, names=("",), limit=100,
                 now=None, minute_key=None):
        self.S, self.s = longterm
        self.server_ext = server_ext
        self.name_fields = [encode_name(n) for n in names]
        self.limit = limit
        self.conns = {}
        self.drops = {}
        self.start = time.monotonic() if now is None else now
        self.period = 0
        self.minute_current = minute_key or nb.randombytes(32)
        self.minute_previous = nb.randombytes(32)
        # test-vector hooks: next short-term secret and N16
        self.inject_short_secret = None
        self.inject_n16 = None

    def _drop(self, reason):
        self.drops[reason] = self.drops.get(reason, 0) + 1
        return None

    def _rotate(self, now):
        """RFC 6: a fixed 60 s grid from start; both keys fresh after a gap."""
        period = int((now - self.start) // self.ROTATE)
        if period == self.period:
            return
        if period >= self.period + 2:
            self.minute_previous = nb.randombytes(32)
        else:
            self.minute_previous = self.minute_current
        self.minute_current = nb.randombytes(32)
        self.period = period

    def make_cookie(self, hello):
        """RFC 7.2 step 1 (no state kept)."""
        Cp = hello[40:72]
        sp_pub, sp = keypair(self.inject_short_secret)
        n16 = self.inject_n16 or random_nonce16()
        k = n16 + secretbox(Cp + sp, NONCE_MINUTE + n16, self.minute_current)
        b = box(sp_pub + k, NONCE_COOKIE + n16, beforenm(Cp, self.s))
        return MAGIC_COOKIE + hello[24:40] + self.server_ext + n16 + b

    def handle(self, pkt, now=None):
        self._rotate(time.monotonic() if now is None else now)
        n = len(pkt)                        # RFC 5.9, server, any packet
        if n < 80:
            return self._drop("too-short")
        if n > 1184:
            return self._drop("too-long")
        if n % 16:
            return self._drop("not-multiple-16")
        if pkt[:7] != MAGIC_HELLO[:7] or pkt[7:8] not in (b"H", b"I", b"M"):
            return self._drop("bad-magic")
        if pkt[8:24] != self.server_ext:
            return self._drop("wrong-server-ext")
        kind = pkt[7:8]
        if kind == b"H":
            if n != HELLO_LEN:
                return self._drop("too-short" if n < HELLO_LEN else "too-long")
            try:
                k_hello = beforenm(pkt[40:72], self.s)
            except Exception:
                return self._drop("bad-hello-box")
            if unbox(pkt[144:224], NONCE_HELLO + pkt[136:144], k_hello) is None:
                return self._drop("bad-hello-box")
            return ("cookie", self.make_cookie(pkt))
        if kind == b"I":
            if n < 560:
                return self._drop("too-short")
            conn = self.conns.get(pkt[40:72])
            if conn is not None:
                return self._known_initiate(conn, pkt)
            return self._new_initiate(pkt)
        if n < 112:
            return self._drop("too-short")
        conn = self.conns.get(pkt[40:72])
        if conn is None:
            return self._drop("unknown-session")
        ctr = get_u64(pkt, 72)
        if ctr <= conn.last_client_counter:
            return self._drop("replayed-nonce")
        m = unbox(pkt[80:], NONCE_CLIENT_MSG + u64(ctr), conn.k_session)
        if m is None:
            return self._drop("bad-message-box")
        conn.last_client_counter = ctr
        return ("msg", conn, m)

    def _known_initiate(self, conn, pkt):
        ctr = get_u64(pkt, 168)
        if ctr <= conn.last_client_counter:
            return self._drop("replayed-nonce")
        inner = unbox(pkt[176:], NONCE_INITIATE + u64(ctr), conn.k_session)
        if inner is None:
            return self._drop("bad-initiate-box")
        conn.last_client_counter = ctr
        return ("msg", conn, inner[352:])

    def _new_initiate(self, pkt):
        if len(self.conns) >= self.limit:
            return self._drop("full")
        Cp, k, ctr = pkt[40:72], pkt[72:168], get_u64(pkt, 168)
        plain = None
        for mk in (self.minute_current, self.minute_previous):
            plain = secretunbox(k[16:96], NONCE_MINUTE + k[:16], mk)
            if plain is not None:
                break
        if plain is None:
            return self._drop("bad-cookie")
        if plain[:32] != Cp:
            return self._drop("cookie-mismatch")
        k_session = beforenm(Cp, plain[32:64])
        inner = unbox(pkt[176:], NONCE_INITIATE + u64(ctr), k_session)
        if inner is None:
            return self._drop("bad-initiate-box")
        C, v16, vouch, name = inner[:32], inner[32:48], inner[48:96], inner[96:352]
        if name not in self.name_fields:
            return self._drop("wrong-name")
        try:
            k_vouch = beforenm(C, self.s)
        except Exception:
            return self._drop("bad-vouch")
        if unbox(vouch, NONCE_VOUCH + v16, k_vouch) != Cp:
            return self._drop("bad-vouch")
        conn = ServerConn(Cp, C, k_session, pkt[24:40], self.server_ext, name, ctr)
        self.conns[Cp] = conn
        return ("new", conn, inner[352:])

    def forget(self, conn):
        self.conns.pop(conn.Cp, None)


# --------------------------------------------------------------------------
# Message encoding (RFC 8.2, 8.3)

def message_length(d):
    for size in MESSAGE_SIZES:
        if size >= 64 + d:
            return size
    raise ValueError("block over 1024 bytes")


def encode_message(msg_id, acked_id, range1, ranges, data=b"", flags=0, pos=0):
    """ranges: up to 5 (gap, size) pairs for ranges 2..6."""
    ranges = list(ranges) + [(0, 0)] * (5 - len(ranges))
    head = u32(msg_id) + u32(acked_id) + u64(range1)
    head += u32(ranges[0][0]) + u16(ranges[0][1])
    for gap, size in ranges[1:]:
        head += u16(gap) + u16(size)
    head += u16(len(data) | flags) + u64(pos)
    total = message_length(len(data))
    return head + bytes(total - 48 - len(data)) + data


class Message:
    __slots__ = ("id", "acked", "range1", "ranges", "d", "eof", "pos", "data")


def decode_message(m):
    """RFC 8.5 first bullet; returns a Message or raises ValueError."""
    n = len(m)
    if n % 16 or n < 48 or n > 1088:
        raise ValueError("bad length")
    msg = Message()
    msg.id, msg.acked, msg.range1 = get_u32(m, 0), get_u32(m, 4), get_u64(m, 8)
    msg.ranges = [(get_u32(m, 16), get_u16(m, 20))]
    for i in range(4):
        msg.ranges.append((get_u16(m, 22 + 4 * i), get_u16(m, 24 + 4 * i)))
    sf = get_u16(m, 38)
    msg.d = sf & 0x07FF
    flags = sf & ~0x07FF
    if flags & ~(EOF_SUCCESS | EOF_FAILURE):
        raise ValueError("unknown flag bits")
    if flags == EOF_SUCCESS | EOF_FAILURE:
        raise ValueError("both EOF flags")
    msg.eof = {0: None, EOF_SUCCESS: "success", EOF_FAILURE: "failure"}[flags]
    msg.pos = get_u64(m, 40)
    if msg.d > 1024 or 48 + msg.d > n:
        raise ValueError("bad D")
    if msg.pos + msg.d >= 1 << 64:
        raise ValueError("position overflow")
    msg.data = bytes(m[n - msg.d:]) if msg.d else b""
    return msg


# --------------------------------------------------------------------------
# The message layer (RFC 8).  Pacing: a fixed gap between blocks with a
# small burst allowance (RFC 9 lets a peer pick its own decongestion).

class Block:
    __slots__ = ("pos", "length", "eof", "last_id", "last_time", "expiries", "acked")

    def __init__(self, pos, length, eof):
        self.pos, self.length, self.eof = pos, length, eof
        self.last_id = 0
        self.last_time = 0.0
        self.expiries = 0
        self.acked = False


class Stream:
    def __init__(self, max_block=1024, gap=0.0, burst=8, giveup=60.0):
        self.max_block = max_block
        self.gap, self.burst, self.giveup = gap, burst, giveup
        # sending
        self.out = bytearray()      # stream bytes from send_base on
        self.send_base = 0          # first byte not yet released
        self.send_next = 0          # first byte not yet in a block
        self.closing = None         # None, "success", "failure"
        self.eof_block_made = False
        self.eof_acked = False
        self.blocks = []            # in flight, in stream order
        self.by_id = {}             # latest transmission id -> block
        self.next_id = 1
        self.sched = 0.0
        # receiving
        self.rx_contig = 0          # bytes [0, rx_contig) received
        self.rx_app = bytearray()   # received, not yet read by the app
        self.rx_read = 0
        self.rx_ooo = []            # sorted disjoint [start, bytes]
        self.rx_eof_len = None
        self.rx_eof_kind = None
        self.ack_owed = False       # RFC 8.5 step 5: a message with an ID arrived
        self.ack_name = 0           # RFC 8.5 "acknowledged ID": latest that qualified
        self.last_data_end = None   # end of the data of the latest message with an ID
        # RTT (RFC 9.1)
        self.rtt_avg = None
        self.rtt_dev = 0.0
        self.rto = 1.0
        self.last_heard = None
        self.failed = False
        self.stats = {"sent": 0, "resent": 0, "received": 0, "pure_acks": 0,
                      "bad-message": 0}

    # ---- application side
    def write(self, data):
        assert self.closing is None
        self.out += data

    def close(self, success=True):
        if self.closing is None:
            self.closing = "success" if success else "failure"

    def read(self):
        data = bytes(self.rx_app)
        self.rx_read += len(data)
        self.rx_app.clear()
        return data

    @property
    def written(self):
        return self.send_base + len(self.out)

    @property
    def peer_eof(self):
        """The peer's EOF kind once every byte before it has arrived."""
        if self.rx_eof_len is not None and self.rx_contig == self.rx_eof_len:
            return self.rx_eof_kind
        return None

    @property
    def done(self):
        return (self.eof_acked and self.peer_eof is not None and not self.rx_app)

    # ---- receiving (RFC 8.5)
    def receive(self, m, now):
        try:
            msg = decode_message(m)
            self._check_consistent(msg)
        except ValueError:
            self.stats["bad-message"] += 1
            return False
        self.stats["received"] += 1
        self.last_heard = now
        self._take_ack(msg, now)
        if msg.id and self._take_data(msg):
            self.ack_owed = True
        return True

    def _check_consistent(self, msg):
        limit = self.send_next + (1 if self.eof_block_made else 0)
        if msg.range1 > limit:
            raise ValueError("acknowledges unsent bytes")
        if not msg.id:
            return
        end = msg.pos + msg.d
        if self.rx_eof_len is not None:
            if end > self.rx_eof_len:
                raise ValueError("data beyond EOF")
            if msg.eof and (end != self.rx_eof_len or msg.eof != self.rx_eof_kind):
                raise ValueError("contradictory EOF")
        if msg.eof:
            highest = max([self.rx_contig] + [s + len(b) for s, b in self.rx_ooo])
            if end < highest:
                raise ValueError("EOF before received data")

    def _take_ack(self, msg, now):
        blk = self.by_id.get(msg.acked) if msg.acked else None
        if blk is not None and not blk.acked and blk.last_id == msg.acked:
            self._rtt_sample(now - blk.last_time)
        covered = [(0, msg.range1)]
        end = msg.range1
        for gap, size in msg.ranges:
            start = end + gap
            end = start + size
            if size:
                covered.append((start, end))
        for b in self.blocks:
            if b.acked:
                continue
            if b.eof:
                # RFC 8.4: only range 1 at stream length + 1 acknowledges it
                if msg.range1 >= b.pos + b.length + 1:
                    b.acked = True
            elif any(s <= b.pos and b.pos + b.length <= e for s, e in covered):
                b.acked = True
        while self.blocks and self.blocks[0].acked:
            b = self.blocks.pop(0)
            self.by_id.pop(b.last_id, None)
            if b.eof:
                self.eof_acked = True
        release = self.blocks[0].pos if self.blocks else self.send_next
        if release > self.send_base:
            del self.out[:release - self.send_base]
            self.send_base = release

    def _rtt_sample(self, rtt):
        if self.rtt_avg is None:
            self.rtt_avg, self.rtt_dev = rtt, rtt / 2
        else:
            delta = rtt - self.rtt_avg
            self.rtt_avg += delta / 8
            self.rtt_dev += (abs(delta) - self.rtt_dev) / 4
        self.rto = max(self.rtt_avg + 4 * self.rtt_dev + 8 * self.gap, 0.010)

    def _have(self, start, end):
        """True if every byte of [start, end) has arrived already."""
        if end <= self.rx_contig:
            return True
        return any(s <= start and end <= s + len(b) for s, b in self.rx_ooo)

    def _take_data(self, msg):
        """RFC 8.5 steps 3-5.  False only when the data was dropped for want
        of a 33rd interval (then no acknowledgement is owed at all)."""
        start, data = msg.pos, msg.data
        end = start + len(data)
        if end > self.rx_read + RECV_WINDOW:
            # refused, "still acknowledged by ID" (step 3): named although
            # it is not stored (see RFC_GAPS.md, second pass, S4)
            self.ack_name = msg.id
            return True
        new = (not self._have(start, end)) or (msg.eof is not None and self.rx_eof_len is None)
        if end > self.rx_contig and start > self.rx_contig:
            if not self._store_ooo(start, data):
                return False
        elif end > self.rx_contig:
            self._append(data[self.rx_contig - start:])
        if msg.eof:
            self.rx_eof_len, self.rx_eof_kind = end, msg.eof
        self.last_data_end = end
        # RFC 8.5 "acknowledged ID": name it only if new and inside range 1
        if msg.eof:
            inside = self.rx_contig == self.rx_eof_len
        elif not data:
            inside, new = start == 0, True  # an empty block: a ping at 0 only
        else:
            inside = end <= self.rx_contig
        if new and inside:
            self.ack_name = msg.id
        return True

    def _append(self, data):
        self.rx_app += data
        self.rx_contig += len(data)
        while self.rx_ooo and self.rx_ooo[0][0] <= self.rx_contig:
            s, b = self.rx_ooo.pop(0)
            if s + len(b) > self.rx_contig:
                tail = b[self.rx_contig - s:]
                self.rx_app += tail
                self.rx_contig += len(tail)

    def _store_ooo(self, start, data):
        pieces = self.rx_ooo + [[start, bytes(data)]]
        pieces.sort(key=lambda p: p[0])
        merged = []
        for s, b in pieces:
            if merged and s <= merged[-1][0] + len(merged[-1][1]):
                ms, mb = merged[-1]
                if s + len(b) > ms + len(mb):
                    merged[-1][1] = mb + b[ms + len(mb) - s:]
            else:
                merged.append([s, b])
        if len(merged) > MAX_INTERVALS:
            return False                    # dropped unacknowledged, as if lost
        self.rx_ooo = merged
        return True

    # ---- acknowledgement fields (RFC 8.5)
    def _ack_fields(self):
        r1 = self.rx_contig
        if self.rx_eof_len is not None and self.rx_contig == self.rx_eof_len:
            r1 += 1
        ranges = []
        prev_end = r1
        for s, b in self.rx_ooo:            # the lowest intervals (RFC 8.5 fallback)
            gap = s - prev_end
            if gap > (0xFFFFFFFF if not ranges else 0xFFFF):
                break
            left = len(b)
            first = True
            while left and len(ranges) < 5:
                size = min(left, 0xFFFF)
                ranges.append((gap if first else 0, size))
                left -= size
                first = False
            if left or len(ranges) >= 5:
                break
            prev_end = s + len(b)
        # step 4: until the EOF is known, the top range stops a byte short
        # of the highest byte received (an empty EOF block may sit there)
        if ranges and self.rx_eof_len is None:
            top = r1
            for gap, size in ranges:
                top += gap + size
            if top == self.rx_ooo[-1][0] + len(self.rx_ooo[-1][1]):
                gap, size = ranges[-1]
                if size > 1:
                    ranges[-1] = (gap, size - 1)
                else:
                    ranges.pop()
        return r1, ranges

    # ---- sending (RFC 8.4)
    def _due(self, now):
        cap = max(self.giveup / 16, self.rto)
        for b in self.blocks:
            if not b.acked and now >= b.last_time + min(self.rto * 2 ** min(b.expiries, 6), cap):
                return b
        return None

    def _new_block(self):
        if self.eof_block_made or len(self.blocks) >= MAX_BLOCKS_IN_FLIGHT:
            return None
        room = self.send_base + PEER_BUFFER - self.send_next
        length = max(0, min(self.max_block, self.written - self.send_next, room))
        last = self.closing is not None and self.send_next + length == self.written
        if length == 0 and not last:
            return None
        b = Block(self.send_next, length, self.closing if last else None)
        self.send_next += length
        if last:
            self.eof_block_made = True
        self.blocks.append(b)
        return b

    def _pace_ok(self, now):
        return self.gap <= 0 or now >= self.sched

    def _paced(self, now):
        if self.gap > 0:
            self.sched = max(self.sched, now - self.burst * self.gap) + self.gap

    def _take_id(self):
        i = self.next_id
        self.next_id = 1 if i == 0xFFFFFFFF else i + 1
        return i

    def _transmit(self, b, now, resend):
        if resend:
            self.by_id.pop(b.last_id, None)
            self.stats["resent"] += 1
        else:
            self.stats["sent"] += 1
        b.last_id = self._take_id()
        b.last_time = now
        self.by_id[b.last_id] = b
        r1, ranges = self._ack_fields()
        # nothing owed: 0 (A.9 steps 3 and 5); owed: the latest that qualified
        acked, self.ack_owed = (self.ack_name if self.ack_owed else 0), False
        flags = {None: 0, "success": EOF_SUCCESS, "failure": EOF_FAILURE}[b.eof]
        data = bytes(self.out[b.pos - self.send_base:b.pos - self.send_base + b.length])
        return encode_message(b.last_id, acked, r1, ranges, data, flags, b.pos)

    def poll(self, now):
        """Messages to send now."""
        if self.failed:
            return []
        if (self.blocks and self.last_heard is not None
                and now - self.last_heard > self.giveup):
            self.failed = True
            return []
        out = []
        while self._pace_ok(now):
            b = self._due(now)
            if b is not None:
                b.expiries += 1
                out.append(self._transmit(b, now, True))
            else:
                b = self._new_block()
                if b is None:
                    break
                out.append(self._transmit(b, now, False))
            self._paced(now)
            if len(out) >= 32:
                break
        if self.ack_owed and not out:
            r1, ranges = self._ack_fields()
            out.append(encode_message(0, self.ack_name, r1, ranges))
            self.ack_owed = False
            self.stats["pure_acks"] += 1
        return out

    def next_wakeup(self, now):
        """Seconds until poll() may have something new to send (timers only)."""
        t = now + 1.0
        cap = max(self.giveup / 16, self.rto)
        for b in self.blocks:
            if not b.acked:
                t = min(t, b.last_time + min(self.rto * 2 ** min(b.expiries, 6), cap))
        if self.gap > 0 and (self.send_next < self.written
                             or (self.closing and not self.eof_block_made)):
            t = min(t, self.sched)
        return max(0.0, t - now)


# --------------------------------------------------------------------------
# The UDP carrier (RFC 11)

def hello_waits(attempts=8):
    """RFC 7.1: w_0 = 1 s, w_(i+1) = 1.5 w_i, wait w_i + r, r in [0, w_i)."""
    w = 1.0
    out = []
    for _ in range(attempts):
        r = int.from_bytes(nb.randombytes(4), "little") / 2 ** 32 * w
        out.append(w + r)
        w *= 1.5
    return out


class ClientResult:
    def __init__(self):
        self.cookie = False
        self.established = False
        self.received = b""
        self.peer_eof = None
        self.done = False
        self.eof_acked = False
        self.failed_reason = None
        self.drops = {}
        self.stats = {}


def run_client(send_pkt, recv_pkt, conn, data, deadline, handshake_limit=None,
               gap=0.0005, close_after_data=True, linger=0.3, wait_server_first=False,
               on_packet=None, close_when=None, zmq_end=False):
    """Drives one client connection over any datagram-like carrier.
    send_pkt(bytes); recv_pkt(timeout) -> bytes or None.
    handshake_limit caps the Hello schedule (seconds) so that a test with a
    wrong key ends early; None keeps RFC 7.1's full 8 attempts.  On ØMQ
    (RFC 12.3) it bounds the whole handshake, Server Message included.
    close_when(received bytes) -> True closes our stream (instead of
    close_after_data).  zmq_end selects RFC 12.7's end: the client is done
    once its EOF is acknowledged, or `linger` after closing, and never
    waits for a server EOF; otherwise RFC 8.6 (both EOFs, then linger)."""
    res = ClientResult()
    stream = Stream(max_block=512, gap=gap)   # RFC 8.3: 512 until the server spoke
    start = time.monotonic()
    # ---- Hellos (RFC 7.1 step 2)
    waits = hello_waits()
    for w in waits:
        send_pkt(conn.hello())
        until = time.monotonic() + w
        if handshake_limit is not None:
            until = min(until, start + handshake_limit)
        until = min(until, deadline)
        while not res.cookie:
            left = until - time.monotonic()
            if left <= 0:
                break
            pkt = recv_pkt(left)
            if pkt is not None and conn.on_cookie(pkt):
                res.cookie = True
        if res.cookie or time.monotonic() >= min(deadline, start + (handshake_limit or 1e9)):
            break
    if not res.cookie:
        res.failed_reason = "no cookie"
        res.drops = dict(conn.drops)
        return res
    # ---- the connection
    if data:
        stream.write(data)
    if close_after_data and not wait_server_first and close_when is None:
        stream.close()
    received = bytearray()
    ping_at, ping_backoff = (time.monotonic(), 1.0)
    done_at = closed_at = None
    while True:
        now = time.monotonic()
        if now >= deadline:
            res.failed_reason = "deadline"
            break
        if (zmq_end and handshake_limit is not None and not res.established
                and now >= start + handshake_limit):
            # RFC 12.3: a Cookie but no Server Message
            res.failed_reason = "no server message"
            break
        if close_when is not None and stream.closing is None and close_when(bytes(received)):
            stream.close()
        if zmq_end and stream.closing is not None:
            closed_at = closed_at or now
            if stream.eof_acked or now - closed_at >= linger:
                res.done = True              # RFC 12.7: no server EOF awaited
                res.eof_acked = stream.eof_acked
                break
        if stream.failed:
            res.failed_reason = "give-up"
            break
        msgs = stream.poll(now)
        for m in msgs:
            send_pkt(conn.seal(m))
        # RFC 11.6: ping while nothing else goes and the server is silent
        if (not msgs and conn.state == "initiate" and not stream.blocks
                and now >= ping_at):
            send_pkt(conn.seal(bytes(192)))
            ping_at = now + ping_backoff
            ping_backoff = min(ping_backoff * 2, 8.0)
        if stream.done and done_at is None and not zmq_end:
            done_at = now
        if done_at is not None and now - done_at >= linger:
            res.done = True
            break
        timeout = min(stream.next_wakeup(now), 0.05, max(0.0, deadline - now))
        pkt = recv_pkt(timeout)
        while pkt is not None:
            if on_packet:
                pkt = on_packet(pkt)
            m = conn.open_server_message(pkt) if pkt else None
            if m is not None:
                res.established = True
                stream.max_block = 1024
                stream.receive(m, time.monotonic())
            received += stream.read()
            if wait_server_first and received and close_after_data and stream.closing is None:
                stream.close()
            pkt = recv_pkt(0)
        received += stream.read()
    res.received = bytes(received)
    res.peer_eof = stream.peer_eof
    res.drops = dict(conn.drops)
    res.stats = dict(stream.stats)
    return res


class UdpClientSocket:
    """A client socket that accepts packets only from the server address
    (RFC 11.1, [wrong-source])."""

    def __init__(self, server_addr):
        self.server_addr = server_addr
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.wrong_source = 0

    def send(self, pkt):
        self.sock.sendto(pkt, self.server_addr)

    def recv(self, timeout):
        if timeout > 0:
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                return None
        try:
            data, addr = self.sock.recvfrom(2048)
        except BlockingIOError:
            return None
        if addr != self.server_addr:
            self.wrong_source += 1
            return None
        return data

    def close(self):
        self.sock.close()


def udp_client(server_addr, server_pk, data, deadline, drop_every=0, **kw):
    """drop_every=n drops every n-th packet of the connection in each
    direction (deterministic loss, to exercise retransmission); Hellos and
    Cookies are never dropped."""
    s = UdpClientSocket(server_addr)
    s.sock.setblocking(False)
    hs_limit = kw.pop("handshake_limit", None)
    conn = ClientConn(server_pk, **kw)
    send, recv = s.send, s.recv
    if drop_every:
        seen = {"in": 0, "out": 0, "dropped": 0}

        def send(pkt):
            if pkt[:8] != MAGIC_HELLO:
                seen["out"] += 1
                if seen["out"] % drop_every == 0:
                    seen["dropped"] += 1
                    return
            s.send(pkt)

        def recv(timeout):
            pkt = s.recv(timeout)
            if pkt is not None and pkt[:8] == MAGIC_SERVER_MSG:
                seen["in"] += 1
                if seen["in"] % drop_every == 0:
                    seen["dropped"] += 1
                    return b""          # nothing, but keep reading
            return pkt
    try:
        res = run_client(send, recv, conn, data, deadline, handshake_limit=hs_limit)
        if drop_every:
            res.stats["dropped"] = seen["dropped"]
        return res
    finally:
        s.close()


class EchoApp:
    """Server application: echoes the peer's stream, then ends its own with
    the same kind of EOF."""

    def __init__(self):
        self.received = bytearray()
        self.peer_eof = None

    def step(self, stream):
        data = stream.read()
        self.received += data
        if data and stream.closing is None:
            stream.write(data)
        if stream.peer_eof is not None and stream.closing is None:
            self.peer_eof = stream.peer_eof
            stream.close(stream.peer_eof == "success")


class ServerLoop:
    """A carrier-independent server loop: Server + one Stream per connection.
    The carrier supplies recv(timeout) -> (pkt, reply_to) or None and
    send(pkt, reply_to)."""

    def __init__(self, server, recv, send, app_factory=EchoApp, gap=0.0005,
                 linger=2.0, zmq_end=False, handshake_timeout=10.0, idle_timeout=600.0,
                 send_final=None):
        """zmq_end: RFC 12.7 and 12.3 instead of 8.6/11.1: forget a
        connection as soon as the client's EOF has been read and
        acknowledged (no linger, no EOF of our own), and drop connections
        not confirmed by a Client Message within handshake_timeout, silent
        for idle_timeout, whose message layer gave up or whose application
        stream broke (app.broken).
        send_final: how to send what goes out once the client's EOF has
        arrived (its acknowledgement), which RFC 12.7 lets meet a DEALER
        that is already gone (default: send)."""
        self.server, self.recv, self.send = server, recv, send
        self.send_final = send_final or send
        self.app_factory = app_factory
        self.gap, self.linger = gap, linger
        self.zmq_end = zmq_end
        self.handshake_timeout, self.idle_timeout = handshake_timeout, idle_timeout
        self.finished = []          # (conn, app) of completed connections
        self.failed = []            # (conn, app, reason) of dropped ones
        self.done_at = {}

    def _flush(self, conn, now):
        conn.app.step(conn.stream)
        final = self.zmq_end and conn.stream.peer_eof is not None
        for m in conn.stream.poll(now):
            (self.send_final if final else self.send)(conn.seal(m), conn.addr)

    def step(self, timeout):
        got = self.recv(timeout)
        now = time.monotonic()
        while got is not None:
            pkt, reply_to = got
            r = self.server.handle(pkt, now)
            if r is not None and r[0] == "cookie":
                self.send(r[1], reply_to)
            elif r is not None:
                conn, m = r[1], r[2]
                conn.addr = reply_to        # RFC 12.1: only after it opened
                conn.heard = now
                if r[0] == "new":
                    conn.stream = Stream(max_block=1024, gap=self.gap)
                    conn.app = self.app_factory()
                    conn.created, conn.confirmed = now, False
                elif pkt[7:8] == b"M":
                    conn.confirmed = True
                conn.stream.receive(m, now)
            got = self.recv(0)
        for conn in list(self.server.conns.values()):
            self._flush(conn, now)
            if self.zmq_end:
                self._zmq_end(conn, now)
            elif conn.stream.done or conn.stream.failed:
                t = self.done_at.setdefault(conn.Cp, now)
                if now - t >= self.linger:
                    self.finished.append((conn, conn.app))
                    self.server.forget(conn)
                    del self.done_at[conn.Cp]

    def _zmq_end(self, conn, now):
        st, app = conn.stream, conn.app
        why = None
        if getattr(app, "broken", None):
            why = "broken stream: " + app.broken
        elif st.failed:
            why = "message layer gave up"
        elif not conn.confirmed and now - conn.created > self.handshake_timeout:
            why = "handshake timeout"
        elif now - conn.heard > self.idle_timeout:
            why = "idle timeout"
        if why is not None:         # RFC 12.7 failures: nothing is sent
            self.failed.append((conn, app, why))
            self.server.forget(conn)
        elif st.peer_eof is not None and not st.rx_app and not st.ack_owed:
            # RFC 12.7: the client's EOF has been read and its
            # acknowledgement has just gone out in _flush: forget at once
            self.finished.append((conn, app))
            self.server.forget(conn)

    def run(self, stop, deadline):
        while not stop.is_set() and time.monotonic() < deadline:
            self.step(0.02)


class UdpServerSocket:
    def __init__(self, host="127.0.0.1", port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.setblocking(False)
        self.addr = self.sock.getsockname()

    def recv(self, timeout):
        if timeout > 0:
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                return None
        try:
            data, addr = self.sock.recvfrom(2048)
        except BlockingIOError:
            return None
        return data, addr

    def send(self, pkt, addr):
        self.sock.sendto(pkt, addr)

    def close(self):
        self.sock.close()


# --------------------------------------------------------------------------
# The ØMQ carrier (RFC 12): one packet per frame; DEALER client, ROUTER
# server; the stream carries a greeting and framed application messages.

ZCCP_GREETING = b"ZCCP\x01\x00\x00\x00"


def zccp_encode(frames):
    """One application message (a list of frames) in the stream (RFC 12.5)."""
    out = bytearray()
    for i, body in enumerate(frames):
        more = 1 if i < len(frames) - 1 else 0
        if len(body) < 256:
            out += bytes([more]) + bytes([len(body)])
        else:
            out += bytes([more | 2]) + struct.pack(">Q", len(body))
        out += body
    return bytes(out)


class ZccpDecoder:
    """Incremental decoder of one direction's stream (RFC 12.5)."""

    def __init__(self, max_bytes=256 << 20, max_frames=4096):
        self.buf = bytearray()
        self.greeted = False
        self.options = None
        self.frames = []
        self.size = 0
        self.max_bytes, self.max_frames = max_bytes, max_frames

    def feed(self, data):
        """Returns the complete messages; raises ValueError on a broken stream."""
        self.buf += data
        out = []
        if not self.greeted:
            if len(self.buf) < 8:
                return out
            g = bytes(self.buf[:8])
            if g[:4] != b"ZCCP" or g[4] != 1 or g[6:8] != b"\x00\x00":
                raise ValueError("bad greeting")
            self.options = g[5]
            del self.buf[:8]
            self.greeted = True
        while self.buf:
            flags = self.buf[0]
            if flags & ~3:
                raise ValueError("reserved flag bit")
            if flags & 2:
                if len(self.buf) < 9:
                    break
                size = struct.unpack_from(">Q", self.buf, 1)[0]
                if size < 256:
                    raise ValueError("non-minimal long size")
                hdr = 9
            else:
                if len(self.buf) < 2:
                    break
                size, hdr = self.buf[1], 2
            if self.size + size > self.max_bytes or len(self.frames) + 1 > self.max_frames:
                raise ValueError("message beyond limits")
            if len(self.buf) < hdr + size:
                break
            self.frames.append(bytes(self.buf[hdr:hdr + size]))
            self.size += size
            del self.buf[:hdr + size]
            if not flags & 1:
                out.append(self.frames)
                self.frames, self.size = [], 0
        return out


class ZmqEchoApp:
    """ØMQ server application: echoes every application message.  It never
    ends its own stream (RFC 12.7: a ØMQ server sends no EOF); a broken
    client stream sets self.broken and the ServerLoop drops the connection
    without a word (RFC 12.5 "Errors", 12.7 "Failures")."""

    def __init__(self):
        self.decoder = ZccpDecoder()
        self.greeted = False
        self.messages = []
        self.peer_eof = None
        self.broken = None

    def step(self, stream):
        if not self.greeted:
            stream.write(ZCCP_GREETING)     # RFC 12.5: at once, in our first Server Message
            self.greeted = True
        if self.broken:
            return
        try:
            msgs = self.decoder.feed(stream.read())
        except ValueError as e:
            self.broken = str(e)
            return
        for msg in msgs:
            self.messages.append(msg)
            stream.write(zccp_encode(msg))
        if stream.peer_eof is not None:
            self.peer_eof = stream.peer_eof


def _count(drops, reason, n=1):
    drops[reason] = drops.get(reason, 0) + n


class ZmqRouterCarrier:
    """RFC 12.1: [identity][packet] in, [identity][packet] out."""

    def __init__(self, ctx, endpoint):
        import zmq
        self.zmq = zmq
        self.sock = ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.ROUTER_MANDATORY, 1)   # see refused sends
        if endpoint.endswith(":0"):
            port = self.sock.bind_to_random_port(endpoint[:-2])
            endpoint = "%s:%d" % (endpoint[:-2], port)
        else:
            self.sock.bind(endpoint)
        self.endpoint = endpoint
        self.drops = {}             # envelope drops and refused sends, by reason
        self.unrouted_final = 0     # acknowledgements of a client's EOF the ROUTER refused

    def recv(self, timeout):
        if timeout > 0 and not self.sock.poll(int(timeout * 1000)):
            return None
        while True:
            try:
                frames = self.sock.recv_multipart(self.zmq.NOBLOCK)
            except self.zmq.Again:
                return None
            if len(frames) < 2:
                _count(self.drops, "too-short")     # no packet after the identity
                continue
            if len(frames) > 2:
                _count(self.drops, "too-long", len(frames) - 2)  # never joined
            return frames[1], frames[0]

    def send(self, pkt, ident):
        try:
            self.sock.send_multipart([ident, pkt], self.zmq.NOBLOCK)
        except (self.zmq.Again, self.zmq.ZMQError):
            _count(self.drops, "send-refused")  # the message layer resends

    def send_final(self, pkt, ident):
        """RFC 12.7: the acknowledgement of a client's EOF. The client need
        not wait for it, so its DEALER may be gone: a refusal is expected
        here, counted apart, and nothing is resent (the connection is
        forgotten)."""
        try:
            self.sock.send_multipart([ident, pkt], self.zmq.NOBLOCK)
        except (self.zmq.Again, self.zmq.ZMQError):
            self.unrouted_final += 1

    def close(self):
        self.sock.close()


class ZmqDealerCarrier:
    """RFC 12.1: one frame per packet out; every frame in is a packet."""

    def __init__(self, ctx, endpoint):
        import zmq
        self.zmq = zmq
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.pending = []

    def send(self, pkt):
        self.sock.send(pkt)

    def recv(self, timeout):
        if not self.pending:
            if timeout > 0 and not self.sock.poll(int(timeout * 1000)):
                return None
            try:
                self.pending = self.sock.recv_multipart(self.zmq.NOBLOCK)
            except self.zmq.Again:
                return None
        return self.pending.pop(0)

    def close(self):
        self.sock.close()


def zmq_client(ctx, endpoint, server_pk, messages, deadline, expect=None,
               greeting=ZCCP_GREETING, **kw):
    """Sends application messages (lists of frames) over ØMQ and closes once
    `expect` messages (default: as many as sent) have come back, or at once
    when expect is 0 (RFC 12.7: replies still queued at the server when it
    reads our EOF are discarded, so an echo client waits for them first).
    Returns (ClientResult, decoded messages the server sent, decoder)."""
    car = ZmqDealerCarrier(ctx, endpoint)
    hs_limit = kw.pop("handshake_limit", 10.0)  # RFC 12.3: 10 s on ØMQ
    linger = kw.pop("linger", 1.0)              # RFC 12.7: 1 s
    conn = ClientConn(server_pk, **kw)
    payload = greeting + b"".join(zccp_encode(m) for m in messages)
    want = len(messages) if expect is None else expect
    dec = ZccpDecoder()
    got = []
    seen = [0]

    def replies_in(received):
        try:
            got.extend(dec.feed(received[seen[0]:]))
        except ValueError:
            return True                 # a broken server stream: give up, close
        seen[0] = len(received)
        return len(got) >= want

    try:
        res = run_client(car.send, car.recv, conn, payload, deadline,
                         handshake_limit=hs_limit, gap=0.0, linger=linger,
                         close_when=replies_in, zmq_end=True)
    finally:
        car.close()
    replies_in(res.received)
    return res, got, dec
