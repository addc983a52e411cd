#!/usr/bin/python3
"""The independent Python peer (tests/peer_py, written from rfc/curvecp.md
alone) over UDP on 127.0.0.1 against:
  (a) NaCl's curvecpserver + curvecpmessage cat (and NaCl's curvecpclient +
      curvecpmessage -c against the Python server);
  (b) the project's curvecp-server (-m, and with curvecp-message cat);
  (c) the project's curvecp-client (-m, and with curvecp-message -c) against
      the Python server.
Data goes both ways byte for byte, both EOFs arrive, and bad cases (wrong
server key, wrong server extension, wrong name) make no session.

Usage: test_pypeer_udp.py BUILD_DIR SOURCE_DIR"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build"
SRC = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "tests", "peer_py"))

import curvecp_peer as cp                                  # noqa: E402
from harness import Children, Report, free_udp_port        # noqa: E402

NAME = "test.example.com"
SEXT = bytes.fromhex("a1a2a3a4a5a6a7a8a9aaabacadaeafb0")
R = Report(55.0)
KIDS = Children()
TMP = tempfile.mkdtemp(prefix="pypeer-udp-")
NACL = {t: "/usr/bin/" + t for t in ("curvecpserver", "curvecpclient", "curvecpmessage",
                                      "curvecpmakekey")}
OURS = {t: os.path.join(BUILD, t) for t in ("curvecp-server", "curvecp-client", "curvecp-message")}


def makekey(name):
    path = os.path.join(TMP, name)
    subprocess.run([NACL["curvecpmakekey"], path], check=True, timeout=10)
    with open(os.path.join(path, "publickey"), "rb") as f:
        return path, f.read()


def start_server(argv_head, keydir, port, prog):
    argv = argv_head + [NAME, keydir, "127.0.0.1", str(port), SEXT.hex()] + prog
    p = KIDS.start(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.2)                         # let it bind; Hellos retry anyway
    if p.poll() is not None:
        print("server exited at once (%s): %s" % (p.returncode, p.stderr.read().decode()[-500:]))
    return p


def py_client_cases(label, argv_head, prog, keydir, pk, lossy=False):
    """Good exchanges and refusals of the Python client against one server."""
    port = free_udp_port()
    srv = start_server(argv_head, keydir, port, prog)
    addr = ("127.0.0.1", port)
    try:
        for size in (0, 1000, 150000):
            data = os.urandom(size)
            cext = os.urandom(16)           # any client extension comes back
            limit = min(15.0, R.left() - 1)
            r = cp.udp_client(addr, pk, data, time.monotonic() + limit,
                              server_ext=SEXT, client_ext=cext, name=NAME)
            what = "%s: %d bytes echoed" % (label, size)
            R.check(what + ": handshake", r.cookie and r.established, r.failed_reason)
            R.check(what + ": byte-exact", r.received == data,
                    "got %d bytes" % len(r.received))
            R.check(what + ": server's success EOF arrived", r.peer_eof == "success",
                    repr(r.peer_eof))
            R.check(what + ": our EOF acknowledged, both done", r.done, repr(r.failed_reason))
        if lossy:
            data = os.urandom(150000)
            r = cp.udp_client(addr, pk, data, time.monotonic() + min(20.0, R.left() - 1),
                              server_ext=SEXT, name=NAME, drop_every=9)
            what = "%s: 150000 bytes, every 9th packet lost each way" % label
            print("     lossy run: %r" % r.stats)
            R.check(what + ": losses happened and were repaired",
                    r.stats.get("dropped", 0) > 10 and r.stats.get("resent", 0) > 0,
                    repr(r.stats))
            R.check(what + ": byte-exact, both EOFs, done",
                    r.received == data and r.peer_eof == "success" and r.done,
                    "%d bytes %r %r" % (len(r.received), r.peer_eof, r.failed_reason))
        # refusals: each must leave the client without a session
        wrong_pk = cp.keypair()[0]
        r = cp.udp_client(addr, wrong_pk, b"x", time.monotonic() + 1.5,
                          server_ext=SEXT, name=NAME, handshake_limit=1.5)
        R.check("%s: wrong server key -> no Cookie, no session" % label,
                not r.cookie and not r.established and r.received == b"", r.failed_reason)
        r = cp.udp_client(addr, pk, b"x", time.monotonic() + 1.5,
                          server_ext=bytes(16), name=NAME, handshake_limit=1.5)
        R.check("%s: wrong server extension -> no Cookie" % label,
                not r.cookie and not r.established, r.failed_reason)
        r = cp.udp_client(addr, pk, b"x", time.monotonic() + 1.5,
                          server_ext=SEXT, name="other.example.com", handshake_limit=1.5)
        R.check("%s: wrong name -> Cookie but Initiates refused, no session" % label,
                r.cookie and not r.established and r.received == b"", r.failed_reason)
        R.check("%s: server still running" % label, srv.poll() is None,
                "exit %s" % srv.poll())
    finally:
        KIDS.kill(srv)


def py_server_case(label, client_argv_fn, size, wrong_key=False):
    """A tool client against the Python server (echo)."""
    pub, sec = cp.keypair()
    server = cp.Server((pub, sec), server_ext=SEXT, names=[NAME])
    sock = cp.UdpServerSocket()
    loop = cp.ServerLoop(server, sock.recv, sock.send, linger=0.3)
    stop = threading.Event()
    th = threading.Thread(target=loop.run, args=(stop, time.monotonic() + min(20, R.left())))
    th.start()
    data = os.urandom(size)
    inp, out = os.path.join(TMP, "in"), os.path.join(TMP, "out")
    with open(inp, "wb") as f:
        f.write(data)
    if os.path.exists(out):
        os.unlink(out)
    # prog: writes the file on fd 7, closes it, reads the echo from fd 6
    prog = ["sh", "-c", 'cat "$1" >&7; exec 7>&-; cat <&6 >"$2"', "sh", inp, out]
    key = cp.keypair()[0] if wrong_key else pub
    argv = client_argv_fn(key.hex(), sock.addr[1], prog)
    p = KIDS.start(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if wrong_key:
            time.sleep(2.5)
            R.check("%s: wrong server key -> Hellos refused [bad-hello-box]" % label,
                    server.drops.get("bad-hello-box", 0) >= 1, repr(server.drops))
            R.check("%s: wrong server key -> no connection, client not successful" % label,
                    not server.conns and not loop.finished and p.poll() != 0,
                    "conns %d finished %d rc %s" % (len(server.conns), len(loop.finished), p.poll()))
            return
        try:
            rc = p.wait(timeout=max(1, min(15, R.left() - 2)))
        except subprocess.TimeoutExpired:
            rc = "timeout"
        time.sleep(0.5)                     # the last acknowledgement, the linger
        got = open(out, "rb").read() if os.path.exists(out) else b""
        what = "%s: %d bytes" % (label, size)
        R.check(what + ": client exit 0", rc == 0, "rc %s: %s" % (rc, p.stderr.read().decode()[-400:]
                                                               if rc != "timeout" else ""))
        R.check(what + ": echo byte-exact at the client", got == data, "got %d bytes" % len(got))
        apps = [a for c, a in loop.finished]
        R.check(what + ": Python server finished the connection", len(apps) == 1,
                "finished %d, open %d" % (len(apps), len(server.conns)))
        if apps:
            R.check(what + ": server got the bytes and a success EOF",
                    bytes(apps[0].received) == data and apps[0].peer_eof == "success",
                    "%d bytes, eof %r" % (len(apps[0].received), apps[0].peer_eof))
        R.check(what + ": no packet refused by the Python server", not server.drops,
                repr(server.drops))
    finally:
        KIDS.kill(p)
        stop.set()
        th.join()
        sock.close()


def main():
    for t, path in NACL.items():
        if not os.access(path, os.X_OK):
            print("FAIL: NaCl tool %s missing (apt-get install nacl-tools)" % path)
            return 1
    keydir, pk = makekey("server")

    # (a) NaCl
    py_client_cases("(a) py client <-> NaCl curvecpserver+curvecpmessage cat",
                    [NACL["curvecpserver"]], [NACL["curvecpmessage"], "cat"], keydir, pk)
    nacl_client = lambda pk_hex, port, prog: [          # noqa: E731
        NACL["curvecpclient"], NAME, pk_hex, "127.0.0.1", str(port), SEXT.hex(),
        NACL["curvecpmessage"], "-c"] + prog
    py_server_case("(a) NaCl curvecpclient+curvecpmessage -c <-> py server", nacl_client, 100000)

    # (b) our server
    if os.access(OURS["curvecp-server"], os.X_OK):
        py_client_cases("(b) py client <-> curvecp-server -m cat",
                        [OURS["curvecp-server"], "-m"], ["cat"], keydir, pk, lossy=True)
        if os.access(OURS["curvecp-message"], os.X_OK):
            py_client_cases("(b) py client <-> curvecp-server + curvecp-message cat",
                            [OURS["curvecp-server"]], [OURS["curvecp-message"], "cat"],
                            keydir, pk)
        else:
            R.skip("(b) curvecp-server + curvecp-message", "%s not built" % OURS["curvecp-message"])
    else:
        R.skip("(b) py client <-> curvecp-server", "%s not built yet" % OURS["curvecp-server"])

    # (c) our client
    if os.access(OURS["curvecp-client"], os.X_OK):
        ours_m = lambda pk_hex, port, prog: [            # noqa: E731
            OURS["curvecp-client"], "-m", NAME, pk_hex, "127.0.0.1", str(port), SEXT.hex()] + prog
        for size in (0, 150000):
            py_server_case("(c) curvecp-client -m <-> py server", ours_m, size)
        py_server_case("(c) curvecp-client -m <-> py server", ours_m, 10, wrong_key=True)
        if os.access(OURS["curvecp-message"], os.X_OK):
            ours_h = lambda pk_hex, port, prog: [        # noqa: E731
                OURS["curvecp-client"], NAME, pk_hex, "127.0.0.1", str(port), SEXT.hex(),
                OURS["curvecp-message"], "-c"] + prog
            py_server_case("(c) curvecp-client + curvecp-message -c <-> py server", ours_h, 100000)
    else:
        R.skip("(c) curvecp-client <-> py server", "%s not built yet" % OURS["curvecp-client"])
    return R.finish()


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        KIDS.kill_all()
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(rc)
