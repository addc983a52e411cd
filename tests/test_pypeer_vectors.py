#!/usr/bin/python3
"""The independent Python peer (tests/peer_py, written from rfc/curvecp.md
alone) reproduces every test vector of the RFC's Appendix A from its inputs:
keys, long-term nonces, the five packets and the message-layer exchange of
A.9 played by two of its Stream instances, and the selective acknowledgement
of A.10.  It also refuses altered packets.

Usage: test_pypeer_vectors.py BUILD_DIR SOURCE_DIR"""

import os
import re
import sys

SRC = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "tests", "peer_py"))

import curvecp_peer as cp          # noqa: E402
from rfcvectors import Vectors     # noqa: E402

FAILS = []
CHECKS = [0]


def check(what, got, want):
    CHECKS[0] += 1
    if got != want:
        FAILS.append(what)
        g = got.hex() if isinstance(got, (bytes, bytearray)) else repr(got)
        w = want.hex() if isinstance(want, (bytes, bytearray)) else repr(want)
        print("FAIL %s\n  got  %s\n  want %s" % (what, g, w))
    else:
        print("ok   %s" % what)


def parse_fields(line):
    """'M fields: id 1, acknowledged id 0, range 1 = [0, 0), D = 6, EOF none, position 0'"""
    m = re.match(r"M fields: id (\d+), acknowledged id (\d+), range 1 = \[0, (\d+)\), "
                 r"D = (\d+), EOF (none|success|failure)[^,]*, position (\d+)", line)
    if not m:
        raise ValueError("cannot parse %r" % line)
    eof = None if m.group(5) == "none" else m.group(5)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)), eof,
            int(m.group(6)))


def main():
    v = Vectors(os.path.join(SRC, "rfc", "curvecp.md"))

    # ---- A.1 keys
    s, c = v.get("A.1", "s "), v.get("A.1", "c ")
    cp_, sp_ = v.get("A.1", "c' "), v.get("A.1", "s' ")
    S, C = cp.keypair(s)[0], cp.keypair(c)[0]
    Cp, Sp = cp.keypair(cp_)[0], cp.keypair(sp_)[0]
    check("A.1 S", S, v.get("A.1", "S "))
    check("A.1 C", C, v.get("A.1", "C "))
    check("A.1 C'", Cp, v.get("A.1", "C' "))
    check("A.1 S'", Sp, v.get("A.1", "S' "))
    k_hello = v.get("A.1", "K_hello")
    k_vouch = v.get("A.1", "K_vouch")
    k_session = v.get("A.1", "K_session")
    check("A.1 K_hello client side", cp.beforenm(S, cp_), k_hello)
    check("A.1 K_hello server side", cp.beforenm(Cp, s), k_hello)
    check("A.1 K_vouch client side", cp.beforenm(S, c), k_vouch)
    check("A.1 K_vouch server side", cp.beforenm(C, s), k_vouch)
    check("A.1 K_session client side", cp.beforenm(Sp, cp_), k_session)
    check("A.1 K_session server side", cp.beforenm(Cp, sp_), k_session)

    # ---- A.2 inputs
    sext, cext = v.get("A.2", "server extension"), v.get("A.2", "client extension")
    minute = v.get("A.2", "minute key")
    n16, v16 = v.get("A.2", "N16"), v.get("A.2", "V16")
    name = "test.example.com"
    check("A.2 name field", cp.encode_name(name), v.get("A.2", "server name field"))
    check("5.7 empty labels skipped", cp.encode_name("test..example.com."), cp.encode_name(name))
    ctr = v.counters
    print("     counters from the RFC: %r" % ctr)

    # ---- A.3 long-term nonces (TEA64)
    nk = v.get("A.3", "noncekey")
    for i in range(2):
        block = v.get("A.3", "block", i)
        check("A.3 counter %d block starts with u64(counter)" % i, block[:8], cp.u64(i))
        check("A.3 nonce %d" % i, cp.tea64_encrypt(nk, block), v.get("A.3", "nonce = TEA64", i))

    # ---- A.4 Hello
    client = cp.ClientConn(S, server_ext=sext, client_ext=cext, name=name,
                           longterm=(C, c), short_secret=cp_,
                           counter_start=ctr["Hello counter"] - 1, vouch_nonce=v16)
    check("A.4 Hello nonce", cp.NONCE_HELLO + cp.u64(ctr["Hello counter"]),
          v.get("A.4", "nonce (24"))
    hello = client.hello()
    check("A.4 Hello packet", hello, v.get("A.4", "Hello packet"))

    # ---- A.5 Cookie, made by our server from the Hello
    server = cp.Server((S, s), server_ext=sext, names=[name], minute_key=minute, now=0.0)
    server.inject_short_secret, server.inject_n16 = sp_, n16
    r = server.handle(hello, 0.0)
    check("A.5 server answers the Hello with a Cookie", r and r[0], "cookie")
    cookie = r[1]
    check("A.5 cookie secretbox nonce", cp.NONCE_MINUTE + n16, v.get("A.5", "nonce (24", 0))
    check("A.5 Cookie box nonce", cp.NONCE_COOKIE + n16, v.get("A.5", "nonce (24", 1))
    K = v.get("A.5", "K = N16")
    check("A.5 K inside our Cookie", cp.unbox(cookie[56:], cp.NONCE_COOKIE + n16, k_hello),
          v.get("A.5", "Cookie box plaintext"))
    check("A.5 K opens to C' || s'", cp.secretunbox(K[16:], cp.NONCE_MINUTE + n16, minute),
          v.get("A.5", "secretbox plaintext"))
    check("A.5 Cookie packet", cookie, v.get("A.5", "Cookie packet"))
    check("A.5 client accepts the Cookie", client.on_cookie(cookie), True)
    check("A.5 client refuses a second Cookie", client.on_cookie(cookie), False)
    check("A.5 second Cookie counted as wrong-state", client.drops.get("wrong-state"), 1)

    # ---- A.6 vouch
    check("A.6 vouch nonce", cp.NONCE_VOUCH + v16, v.get("A.6", "nonce (24", 0))
    check("A.6 vouch", client.vouch, v.get("A.6", "vouch ("))

    # ---- A.9 exchange, which contains A.6-A.8, played by two Streams
    fields = [parse_fields(l) for sec, l in v.fields if sec == "A.9"]
    check("A.9 has six steps", len(fields), 6)
    cs = cp.Stream(max_block=512)
    t = 0.0

    def step(n, m, pkt):
        check("A.9 step %d M" % n, m, v.get("A.9", "M (", n - 1))
        check("A.9 step %d packet" % n, pkt, v.get("A.9", "packet", n - 1))
        d = cp.decode_message(m)
        check("A.9 step %d fields decode as printed" % n,
              (d.id, d.acked, d.range1, d.d, d.eof, d.pos), fields[n - 1])

    cs.write(b"hello\n")
    out = cs.poll(t)
    check("A.9 step 1: one message", len(out), 1)
    m1 = out[0]
    check("A.6 Initiate box nonce",
          cp.NONCE_INITIATE + cp.u64(ctr["Initiate counter"]), v.get("A.6", "nonce (24", 1))
    pkt1 = client.seal(m1)
    step(1, m1, pkt1)
    check("A.6 Initiate packet", pkt1, v.get("A.6", "Initiate packet"))
    check("A.6 Initiate box plaintext",
          cp.unbox(pkt1[176:], cp.NONCE_INITIATE + pkt1[168:176], k_session),
          v.get("A.6", "Initiate box plaintext"))

    r = server.handle(pkt1, t)
    check("7.2 server makes the connection from the Initiate", r and r[0], "new")
    sconn = r[1]
    check("7.2 connection has the client's C", sconn.C, C)
    check("7.2 message delivered", r[2], m1)
    sconn.counter.value = ctr["Server Message counter"] - 1
    ss = cp.Stream(max_block=1024)
    ss.receive(r[2], t)
    check("A.9 server read hello", ss.read(), b"hello\n")
    out = ss.poll(t)
    check("A.9 step 2: one message", len(out), 1)
    pkt2 = sconn.seal(out[0])
    step(2, out[0], pkt2)
    check("A.7 Server Message nonce", cp.NONCE_SERVER_MSG + pkt2[40:48],
          v.get("A.7", "nonce (24"))
    check("A.7 Server Message packet", pkt2, v.get("A.7", "Server Message packet"))

    m2 = client.open_server_message(pkt2)
    check("A.9 client opens step 2", m2, out[0])
    check("7.1 client established after the first Server Message", client.state, "established")
    cs.receive(m2, t)
    cs.close()
    out = cs.poll(t)
    check("A.9 step 3: one message", len(out), 1)
    pkt3 = client.seal(out[0])
    step(3, out[0], pkt3)
    check("A.8 Client Message packet", pkt3, v.get("A.8", "Client Message packet"))
    check("A.8 Client Message nonce", cp.NONCE_CLIENT_MSG + pkt3[72:80],
          v.get("A.8", "nonce (24"))

    r = server.handle(pkt3, t)
    check("A.9 server opens step 3", r and r[0], "msg")
    check("5.9 replayed Client Message dropped", server.handle(pkt3, t), None)
    check("5.9 replay counted", server.drops.get("replayed-nonce"), 1)
    ss.receive(r[2], t)
    out = ss.poll(t)
    check("A.9 step 4: one message", len(out), 1)
    step(4, out[0], sconn.seal(out[0]))
    pkt4 = v.get("A.9", "packet", 3)

    ss.write(b"HELLO\n")
    ss.close()
    out = ss.poll(t)
    check("A.9 step 5: one message", len(out), 1)
    pkt5 = sconn.seal(out[0])
    step(5, out[0], pkt5)

    for p in (pkt4, pkt5):
        m = client.open_server_message(p)
        cs.receive(m, t)
    check("5.9 client drops a replayed Server Message", client.open_server_message(pkt5), None)
    check("A.9 client read HELLO", cs.read(), b"HELLO\n")
    check("A.9 client saw the server's success EOF", cs.peer_eof, "success")
    out = cs.poll(t)
    check("A.9 step 6: one message", len(out), 1)
    pkt6 = client.seal(out[0])
    step(6, out[0], pkt6)
    ss.receive(server.handle(pkt6, t)[2], t)
    check("8.6 client finished", cs.done, True)
    check("8.6 server finished", ss.done, True)
    check("8.5 nothing more to send", (cs.poll(t), ss.poll(t)), ([], []))

    # ---- A.10 a selective acknowledgement, from a Stream that received
    # [0, 3072), [4096, 5120) and [6144, 6400), the last with ID 9
    rs = cp.Stream()
    blocks = [(1, 0, 1024), (2, 1024, 1024), (3, 2048, 1024), (4, 4096, 1024), (9, 6144, 256)]
    for mid, pos, d in blocks:
        ok = rs.receive(cp.encode_message(mid, 0, 0, [], bytes(d), 0, pos), t)
        check("A.10 block id %d accepted" % mid, ok, True)
    out = rs.poll(t)
    check("A.10 one pure acknowledgement", len(out), 1)
    # A.10 is a wire-format example: its fields, encoded, give its bytes
    check("A.10 selective acknowledgement message (format)",
          cp.encode_message(0, 9, 3072, [(1024, 1024), (1024, 256)]), v.get("A.10", "M ("))
    # What 8.5 has our receiver send for the same state differs from A.10
    # (RFC_GAPS.md, second pass): ID 9 lies above a hole, so the latest
    # qualifying message (ID 3) is named, and the top range stops a byte short
    check("8.5 receiver's own acknowledgement of A.10's state", out[0],
          cp.encode_message(0, 3, 3072, [(1024, 1024), (1024, 255)]))

    # ---- 8.5 "acknowledged ID": only a new block inside range 1 is named,
    # in arrival order; else the one named before; 0 when nothing is owed
    def acked_after(st, *msgs):
        for mid, pos, d, flags in msgs:
            st.receive(cp.encode_message(mid, 0, 0, [], bytes(d), flags, pos), t)
        out = st.poll(t)
        return cp.decode_message(out[0]).acked if out else None
    check("8.5 in-order block named", acked_after(cp.Stream(), (1, 0, 100, 0)), 1)
    st = cp.Stream()
    check("8.5 block above a hole not named (0: none yet)",
          acked_after(st, (2, 200, 100, 0)), 0)
    check("8.5 block filling the hole named", acked_after(st, (1, 0, 200, 0)), 1)
    check("8.5 duplicate not named: the one named before",
          acked_after(st, (3, 0, 100, 0)), 1)
    check("8.5 arrival order, not highest ID",
          acked_after(st, (9, 400, 10, 0), (4, 300, 100, 0)), 4)
    check("8.5 EOF block named once every byte arrived",
          acked_after(st, (5, 410, 0, cp.EOF_SUCCESS)), 5)
    check("8.5 nothing owed, nothing sent", st.poll(t), [])
    check("8.5 a ping (empty block at 0) is named", acked_after(cp.Stream(), (7, 0, 0, 0)), 7)
    st = cp.Stream()
    for i in range(32):
        st.receive(cp.encode_message(i + 1, 0, 0, [], b"z", 0, 10 * i + 10), t)
    st.poll(t)
    check("8.5 a 33rd interval is dropped and owes nothing",
          (st.receive(cp.encode_message(40, 0, 0, [], b"z", 0, 5000), t), st.poll(t),
           len(st.rx_ooo)), (True, [], 32))

    # ---- refusals (RFC 5.9, 6, 7.2, 8.5)
    srv2 = cp.Server((S, s), server_ext=sext, names=[name], minute_key=minute, now=0.0)
    bad = bytearray(hello)
    bad[150] ^= 1
    check("5.9 altered Hello dropped", srv2.handle(bytes(bad), 0.0), None)
    check("5.9 counted bad-hello-box", srv2.drops.get("bad-hello-box"), 1)
    check("5.9 Hello with another server extension dropped",
          srv2.handle(hello[:8] + bytes(16) + hello[24:], 0.0), None)
    check("5.9 Hello of 223+1 bytes (not a multiple of 16) dropped",
          srv2.handle(hello[:-1], 0.0), None)
    srv3 = cp.Server((S, s), server_ext=sext, names=["other.example.com"],
                     minute_key=minute, now=0.0)
    check("7.2 Initiate for another name dropped", srv3.handle(pkt1, 0.0), None)
    check("7.2 counted wrong-name", srv3.drops.get("wrong-name"), 1)
    srv4 = cp.Server((S, s), server_ext=sext, names=[name], now=0.0)   # other minute key
    check("6 Initiate with a cookie of another minute key dropped", srv4.handle(pkt1, 0.0), None)
    check("6 counted bad-cookie", srv4.drops.get("bad-cookie"), 1)
    srv5 = cp.Server((S, s), server_ext=sext, names=[name], minute_key=minute, now=0.0)
    check("6 cookie still good after one rotation", srv5.handle(pkt1, 61.0)[0], "new")
    srv6 = cp.Server((S, s), server_ext=sext, names=[name], minute_key=minute, now=0.0)
    srv6.handle(hello, 61.0)
    check("6 cookie refused after two rotations", srv6.handle(pkt1, 121.0), None)
    bm = bytearray(cp.encode_message(1, 0, 0, [], b"x", 0, 0))
    bm[39] |= 0x20
    check("8.5 unknown flag bit refused", cp.Stream().receive(bytes(bm), t), False)
    check("8.5 ack of unsent bytes refused",
          cp.Stream().receive(cp.encode_message(0, 0, 5, []), t), False)

    print("%d checks, %d failed" % (CHECKS[0], len(FAILS)))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
