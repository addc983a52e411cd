#!/usr/bin/env python3
"""test_tunnel.py - curvecp-tunnel end to end on loopback (ports from 0).

A TCP service (echo; a connection that starts with b"RESET" is reset by
the service) behind a decrypting tunnel (-d), an encrypting tunnel (-e)
in front of it, and clients that check:
  - bulk both ways through the tunnel, verified by SHA-256, with
    half-close (the client's FIN ends its direction, the echo goes on);
  - many connections at once, each verified;
  - backpressure: a client that does not read holds the service back;
  - a graceful close is a clean EOF at the far TCP end, both ways;
  - a reset propagates as a reset, both ways;
  - the connection limit (-c) at either side: over it, new TCP
    connections are reset and counted;
  - a silent peer (kill -STOP the -d side, then the -e side) ends the
    TCP connection it carries with a reset, never a clean close;
  - roaming: the -e side moves to a new UDP port (SIGUSR1) mid-transfer
    and the TCP connection carries on;
  - random datagrams to the -d socket are counted, not crashing, and
    the tunnel still works;
  - -K: on -d, or out of range, a usage error (exit 100);
  - keepalive: through a curvecp-gateway whose flows expire after 1 s
    of silence, a TCP connection idle for 3 s still gets the service's
    bytes with -K 0.25 (the flow never expires, the -d side never sees
    the -e side move); with -K 0 the flow expires and the bytes do not
    arrive (the -e side sends nothing that would open a new flow).
Usage: test_tunnel.py BUILD_DIR [SRC_DIR]"""
import hashlib
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
TOOL = os.path.join(BUILD, "curvecp-tunnel")
procs = []


def fail(what):
    print("FAIL:", what)
    for p in procs:
        try:
            p.kill()
        except OSError:
            pass
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)
    print("ok:", what)


# ---- the TCP service ------------------------------------------------------

class Service:
    """Echo; b"RESET" first resets; b"SPEAK" first makes it send 1000
    bytes every 50 ms until the connection breaks; b"LATER" first is
    answered b"ready", then b"late news" 3 s later; records how each
    connection ended."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.ends = []          # "eof" or "reset", per connection
        self.flooded = 0        # bytes sent by b"FLOOD" connections
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            c, _ = self.sock.accept()
            threading.Thread(target=self.handle, args=(c,), daemon=True).start()

    def end(self, how):
        with self.lock:
            self.ends.append(how)

    def handle(self, c):
        first = True
        try:
            while True:
                d = c.recv(1 << 16)
                if not d:
                    self.end("eof")
                    c.shutdown(socket.SHUT_WR)
                    c.close()
                    return
                if first and d.startswith(b"FLOOD"):
                    block = b"f" * 65536
                    while True:
                        c.sendall(block)
                        with self.lock:
                            self.flooded += len(block)
                if first and d.startswith(b"SPEAK"):
                    while True:
                        c.sendall(b"s" * 1000)
                        time.sleep(0.05)
                if first and d.startswith(b"LATER"):
                    c.sendall(b"ready")
                    time.sleep(3)
                    c.sendall(b"late news")
                    d = b""             # echo nothing more: only what the client sends next
                if first and d.startswith(b"RESET"):
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    c.close()
                    self.end("did-reset")
                    return
                first = False
                c.sendall(d)
        except (ConnectionResetError, BrokenPipeError):
            self.end("reset")
            c.close()
        except OSError:
            self.end("error")
            c.close()

    def count(self, how):
        with self.lock:
            return self.ends.count(how)


# ---- the tunnels ------------------------------------------------------------

def start(args, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.Popen([TOOL, "-v"] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=e)
    procs.append(p)
    line = p.stderr.readline()
    m = re.search(r"listening on (tcp|udp) (\S+):(\d+)", line)
    if not m:
        fail("tunnel did not start: %r" % line)
    return p, int(m.group(3))


def stop(p):
    """SIGTERM; the counts line it prints on its way out."""
    p.send_signal(signal.SIGTERM)
    try:
        out = p.communicate(timeout=10)[1]
    except subprocess.TimeoutExpired:
        fail("tunnel did not stop within 10 s of SIGTERM")
    procs.remove(p)
    check(p.returncode == 0, "tunnel exits 0 on SIGTERM (%s%s)" % (p.returncode, "" if p.returncode == 0 else ": " + out))
    counts = {}
    for m in re.finditer(r"(\w+) (\d+)", out.split("connections", 1)[-1]):
        counts[m.group(1)] = int(m.group(2))
    m = re.search(r"connections (\d+)", out)
    counts["connections"] = int(m.group(1)) if m else -1
    return counts, out


def pair(keydir, pk, service_port, e_args=(), d_args=(), env=None):
    d, dport = start(["-d", "-s", "127.0.0.1:0", "-t", "127.0.0.1:%d" % service_port, "-k", keydir] + list(d_args), env)
    e, eport = start(["-e", "-s", "127.0.0.1:0", "-t", "127.0.0.1:%d" % dport, "-p", pk] + list(e_args), env)
    return d, dport, e, eport


# ---- clients -----------------------------------------------------------------

def connect(port):
    c = socket.create_connection(("127.0.0.1", port), timeout=30)
    return c


def echo_through(port, data, during=None):
    """Send data, FIN, read the echo to EOF; returns the echo."""
    c = connect(port)
    got = bytearray()

    def writer():
        view = memoryview(data)
        step = 1 << 16
        for i in range(0, len(data), step):
            c.sendall(view[i:i + step])
            if during and i >= len(data) // 2 and during[0]:
                during[0]()
                during[0] = None
        c.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=writer)
    t.start()
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        got += d
    t.join()
    c.close()
    return bytes(got)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def expect_reset(c, what, wait=30):
    c.settimeout(wait)
    try:
        while True:
            d = c.recv(1 << 16)
            if not d:
                fail(what + ": clean EOF where a reset was due")
    except ConnectionResetError:
        print("ok:", what)
    except socket.timeout:
        fail(what + ": nothing within %d s" % wait)


GATEWAY_EXT = "6b656570616c6976650000000000000a"


def free_udp_port(host):
    """A UDP port free on host now (the gateway takes no port 0 report)."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((host, 0))
    port = u.getsockname()[1]
    u.close()
    return port


def idle_through_gateway(tmp, keydir, pk, svc, keepalive):
    """A tunnel through curvecp-gateway -i 1 (flows expire after 1 s of
    silence); a TCP connection idle for 3 s, then the service speaks.
    Returns (the bytes that arrived within 2.5 s, the gateway's log, the
    counts of the -e and the -d side)."""
    d, dport = start(["-d", "-s", "127.0.0.1:0", "-t", "127.0.0.1:%d" % svc.port, "-k", keydir,
                      "-x", GATEWAY_EXT])
    routes = os.path.join(tmp, "routes")
    with open(routes, "w") as f:
        f.write("%s 127.0.0.1 %d\n" % (GATEWAY_EXT, dport))
    gw_host = "127.0.0.7"
    gw_port = free_udp_port(gw_host)
    gw_log = os.path.join(tmp, "gateway.%s.err" % keepalive)
    with open(gw_log, "w") as log:
        gw = subprocess.Popen([os.path.join(BUILD, "curvecp-gateway"), "-v", "-i", "1", gw_host, str(gw_port),
                               routes], stdout=subprocess.DEVNULL, stderr=log)
    procs.append(gw)
    time.sleep(0.3)
    e, eport = start(["-e", "-s", "127.0.0.1:0", "-t", "%s:%d" % (gw_host, gw_port), "-p", pk,
                      "-x", GATEWAY_EXT, "-K", keepalive])
    c = connect(eport)
    c.settimeout(10)
    c.sendall(b"LATER")
    check(c.recv(100) == b"ready", "-K %s: the service answers through the gateway" % keepalive)
    c.settimeout(0.1)
    got = b""
    deadline = time.time() + 3 + 2.5        # the service speaks after 3 s
    while time.time() < deadline and len(got) < len(b"late news"):
        try:
            data = c.recv(100)
        except socket.timeout:
            continue
        if not data:
            break
        got += data
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    ecounts, _ = stop(e)
    dcounts, _ = stop(d)
    gw.send_signal(signal.SIGTERM)
    try:
        gw.wait(timeout=10)
    except subprocess.TimeoutExpired:
        fail("the gateway did not stop within 10 s of SIGTERM")
    procs.remove(gw)
    with open(gw_log) as f:
        return got, f.read(), ecounts, dcounts


def keepalive_usage_errors(keydir, pk):
    """-K belongs to -e and takes 0 or 0.05..3600 seconds, up to 3 decimals,
    digits only: else exit 100."""
    e = ["-e", "-s", "127.0.0.1:0", "-t", "127.0.0.1:9", "-p", pk]
    d = ["-d", "-s", "127.0.0.1:0", "-t", "127.0.0.1:9", "-k", keydir]
    for args, says in ((d + ["-K", "1"], "-K is for -e"), (e + ["-K", "0.01"], "bad keepalive interval"),
                       (e + ["-K", "3601"], "bad keepalive interval"), (e + ["-K", "1s"], "bad keepalive interval"),
                       (e + ["-K", "nan"], "bad keepalive interval"), (e + ["-K", ""], "bad keepalive interval"),
                       (e + ["-K", "+1"], "bad keepalive interval"), (e + ["-K", "1.2345"], "bad keepalive interval"),
                       (e + ["-K", "1e1"], "bad keepalive interval"), (e + ["-K", "-1"], "bad keepalive interval")):
        r = subprocess.run([TOOL] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=10)
        check(r.returncode == 100 and says in r.stderr, "%s: exit 100, '%s' (%d)" % (" ".join(args[-2:]), says,
                                                                                  r.returncode))


def watchdog(signum, frame):
    fail("the test ran out of time (240 s)")


def main():
    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(240)
    tmp = tempfile.mkdtemp(prefix="test_tunnel.")
    keydir = os.path.join(tmp, "key")
    subprocess.run([os.path.join(BUILD, "curvecp-makekey"), keydir], check=True)
    pk = subprocess.run([os.path.join(BUILD, "curvecp-printkey"), keydir], check=True,
                        capture_output=True, text=True).stdout.strip()
    svc = Service()
    keepalive_usage_errors(keydir, pk)
    d, dport, e, eport = pair(keydir, pk, svc.port)

    # bulk, half-close
    data = os.urandom(16 * 1000 * 1000)
    t0 = time.time()
    got = echo_through(eport, data)
    check(sha(got) == sha(data), "16 MB each way through the tunnel, SHA-256 equal (%.2f s)" % (time.time() - t0))

    # many at once
    results = {}

    def one(i):
        blob = os.urandom(100000 + i)
        results[i] = sha(echo_through(eport, blob)) == sha(blob)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    check(len(results) == 60 and all(results.values()), "60 concurrent connections, each echoed exactly")

    # graceful close: clean EOF at the service, then at the client
    before = svc.count("eof")
    c = connect(eport)
    c.sendall(b"hello")
    c.shutdown(socket.SHUT_WR)
    check(c.recv(100) == b"hello", "echo before the close")
    c.settimeout(10)
    check(c.recv(100) == b"", "the service's FIN is a clean EOF at the client")
    c.close()
    time.sleep(0.3)
    check(svc.count("eof") == before + 1, "the client's FIN is a clean EOF at the service")

    # reset, client -> service
    c = connect(eport)
    c.sendall(b"x" * 1000)
    check(c.recv(1000) != b"", "echo before the reset")
    before = svc.count("reset")
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    for _ in range(100):
        if svc.count("reset") > before:
            break
        time.sleep(0.05)
    check(svc.count("reset") == before + 1, "a client's reset reaches the service as a reset")

    # reset, service -> client
    c = connect(eport)
    c.sendall(b"RESET please")
    expect_reset(c, "the service's reset reaches the client as a reset")
    c.close()

    # backpressure: a client that does not read holds the service back
    c = connect(eport)
    c.sendall(b"FLOOD")
    time.sleep(3)
    with svc.lock:
        held = svc.flooded
    check(0 < held < 80 * 1000 * 1000, "a client that does not read: the service could send only %d bytes in 3 s"
          " (socket buffers and stream windows), not without bound" % held)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    time.sleep(0.3)

    # bad input: random datagrams to the -d socket
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(2000):
        n = [0, 1, 7, 63, 64, 80, 144, 224, 1184, 1400][i % 10]
        blob = os.urandom(n)
        if i % 3 == 0 and n >= 8:
            blob = b"QvnQ5XlM" + blob[8:]     # a client Message's magic, random after it
        u.sendto(blob, ("127.0.0.1", dport))
    u.close()
    time.sleep(0.5)
    check(d.poll() is None, "the -d side lives through 2000 random datagrams")
    blob = os.urandom(200000)
    check(sha(echo_through(eport, blob)) == sha(blob), "the tunnel still works after them")

    # roaming: the -e side moves to a new UDP port in mid-transfer
    data = os.urandom(24 * 1000 * 1000)
    got = echo_through(eport, data, during=[lambda: e.send_signal(signal.SIGUSR1)])
    check(sha(got) == sha(data), "24 MB each way, the -e side moved UDP port in the middle, SHA-256 equal")

    ecounts, eout = stop(e)
    dcounts, dout = stop(d)
    print(eout.strip())
    print(dout.strip())
    check("moved to a new UDP port" in eout, "the -e side said it moved")
    check(dcounts.get("datagrams_refused", 0) >= 2000, "the -d side counted every random datagram refused (%d)"
          % dcounts.get("datagrams_refused", -1))
    check(ecounts.get("refused", -1) == 0, "no refusals at -e")
    check(ecounts.get("failed", -1) == 1, "one failure EOF at -e: the service's reset")
    check(dcounts.get("roams", 0) >= 1, "the -d side followed the -e side to its new port")

    # connection limit at the -e side
    d, dport, e, eport = pair(keydir, pk, svc.port, e_args=["-c", "2"])
    held = []
    for i in range(2):
        c = connect(eport)
        c.sendall(b"hold")
        check(c.recv(100) == b"hold", "connection %d under the limit works" % (i + 1))
        held.append(c)
    try:
        c = connect(eport)          # the reset may come before connect returns
        expect_reset(c, "a third connection over -c 2 is reset", wait=10)
        c.close()
    except ConnectionResetError:
        print("ok: a third connection over -c 2 is reset (at once)")
    for c in held:
        c.close()
    time.sleep(0.5)
    c = connect(eport)
    c.sendall(b"again")
    check(c.recv(100) == b"again", "after the others closed a new connection works")
    c.close()
    ecounts, _ = stop(e)
    stop(d)
    check(ecounts.get("refused") == 1, "the refusal is counted (%s)" % ecounts.get("refused"))

    # connection limit at the -d side: over it, a failure EOF, a reset at the client
    d, dport, e, eport = pair(keydir, pk, svc.port, d_args=["-c", "1"])
    c1 = connect(eport)
    c1.sendall(b"hold")
    check(c1.recv(100) == b"hold", "one connection under the -d side's limit works")
    try:
        c = connect(eport)
        c.sendall(b"over")
        expect_reset(c, "a second connection over the -d side's -c 1 is reset", wait=10)
        c.close()
    except ConnectionResetError:
        fail("the -e side refused a connection it had room for")
    c1.sendall(b"still")
    check(c1.recv(100) == b"still", "the first connection goes on")
    c1.close()
    ecounts, _ = stop(e)
    dcounts, _ = stop(d)
    check(dcounts.get("refused") == 1, "the -d side counts the refusal (%s)" % dcounts.get("refused"))
    check(ecounts.get("failed") == 1, "the -e side counts the failure EOF (%s)" % ecounts.get("failed"))

    # a silent peer: -d stopped, data outstanding -> reset after the give-up
    env = {"CURVECP_GIVE_UP_MS": "1500"}
    d, dport, e, eport = pair(keydir, pk, svc.port, env=env)
    c = connect(eport)
    c.sendall(b"alive")
    check(c.recv(100) == b"alive", "before the silence")
    os.kill(d.pid, signal.SIGSTOP)
    t0 = time.time()
    c.sendall(b"anyone there?")
    expect_reset(c, "a silent -d side: the client's connection is reset, not closed", wait=30)
    print("   (after %.1f s)" % (time.time() - t0))
    c.close()
    os.kill(d.pid, signal.SIGCONT)
    ecounts, _ = stop(e)
    stop(d)
    check(ecounts.get("failed", 0) >= 1 and ecounts.get("resets", 0) >= 1, "the failure is counted")

    # a silent -e side: the -d side, with the service's bytes outstanding,
    # gives up and resets the service's connection
    d, dport, e, eport = pair(keydir, pk, svc.port, env=env)
    c = connect(eport)
    c.sendall(b"SPEAK")
    check(len(c.recv(100)) > 0, "the service speaks through the tunnel")
    before = svc.count("reset")
    os.kill(e.pid, signal.SIGSTOP)
    for _ in range(300):
        if svc.count("reset") > before:
            break
        time.sleep(0.05)
    check(svc.count("reset") == before + 1, "a silent -e side: the service's connection is reset, not closed")
    os.kill(e.pid, signal.SIGCONT)
    c.close()
    stop(e)
    dcounts, _ = stop(d)
    check(dcounts.get("failed", 0) >= 1 and dcounts.get("resets", 0) >= 1, "the failure is counted at -d")

    # keepalive through a gateway whose flows expire after 1 s idle
    got, log, ecounts, dcounts = idle_through_gateway(tmp, keydir, pk, svc, "0.25")
    check(got == b"late news", "-K 0.25: after 3 s idle behind a gateway -i 1, the service's bytes arrive (%r)" % got)
    check(not re.search(r"flow \d+ expired", log), "-K 0.25: the gateway's flow never expired")
    check(ecounts.get("keepalives", 0) >= 6, "-K 0.25: the -e side counts its keepalives (%s)"
          % ecounts.get("keepalives"))
    check(dcounts.get("roams", -1) == 0, "-K 0.25: the -d side saw the -e side at one address (roams %s)"
          % dcounts.get("roams"))
    got, log, ecounts, _ = idle_through_gateway(tmp, keydir, pk, svc, "0")
    check(ecounts.get("keepalives", -1) == 0, "-K 0: no keepalive (%s)" % ecounts.get("keepalives"))
    check(re.search(r"flow \d+ expired", log), "-K 0: the idle flow expired at the gateway")
    check(got == b"", "-K 0: the service's bytes are lost with the flow (%r within 2.5 s)" % got)

    print("PASS")
    return 0


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        for p in procs:
            p.kill()
    sys.exit(rc)
