#!/usr/bin/env python3
"""gateway_flood.py GATEWAY_IP PORT KNOWN_EXTHEX COUNT SECONDS - a flood at
a gateway: COUNT datagrams over about SECONDS, from many loopback source
addresses (127.1.x.y, all of 127/8 is local on Linux) and ports, a third
each of:
  - well-formed client packets (Hello, Initiate, Message sizes and magic)
    with random extensions: no route, dropped as wrong-server-ext;
  - the same with the known server extension and a random C': each makes
    a flow, which the server never answers;
  - random bytes of random length (1..1300): dropped by size or magic.
Prints how many of each it sent."""
import os, random, socket, sys, time

ip, port, known, count, seconds = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
rng = random.Random(13)
socks = []
for i in range(64):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.1.%d.%d" % (i // 200, 1 + i % 200), 0))
    socks.append(s)
magics = [(b"QvnQ5XlH", 224), (b"QvnQ5XlI", 544 + 16 * rng.randint(1, 40)), (b"QvnQ5XlM", 96 + 16 * rng.randint(1, 68))]
sent = {"unknown-ext": 0, "known-ext": 0, "random": 0}
start = time.time()
for i in range(count):
    kind = i % 3
    if kind == 2:
        pkt = os.urandom(rng.randint(1, 1300))
        sent["random"] += 1
    else:
        magic, size = rng.choice(magics)
        ext = os.urandom(16) if kind == 0 else known
        pkt = magic + ext + os.urandom(size - 24)
        sent["unknown-ext" if kind == 0 else "known-ext"] += 1
    try:
        rng.choice(socks).sendto(pkt, (ip, port))
    except OSError:
        pass
    if i % 200 == 199:
        lag = start + seconds * (i + 1) / count - time.time()
        if lag > 0:
            time.sleep(lag)
print(" ".join("%s=%d" % kv for kv in sent.items()), flush=True)
