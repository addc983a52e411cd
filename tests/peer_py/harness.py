"""Test plumbing for the tests/test_pypeer_*.py scripts: child processes that
are always killed, free loopback ports, and PASS/FAIL/SKIP bookkeeping."""

import atexit
import os
import signal
import socket
import subprocess
import sys
import time


class Children:
    """Child processes started by this test, each in its own process group so
    that its own children (message handlers, cat) go with it."""

    def __init__(self):
        self.procs = []
        atexit.register(self.kill_all)

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def kill(self, p):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(timeout=2)
        else:
            # the leader is gone; its group may still hold children
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def kill_all(self):
        for p in self.procs:
            self.kill(p)
        self.procs = []


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def free_tcp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Report:
    def __init__(self, budget):
        self.t0 = time.monotonic()
        self.deadline = self.t0 + budget
        self.fails = []
        self.passes = 0
        self.skips = []

    def left(self):
        return self.deadline - time.monotonic()

    def check(self, what, cond, detail=""):
        if cond:
            self.passes += 1
            print("ok   %s" % what)
        else:
            self.fails.append(what)
            print("FAIL %s %s" % (what, detail))
        sys.stdout.flush()
        return cond

    def skip(self, what, why):
        self.skips.append(what)
        print("SKIP %s: %s" % (what, why))
        sys.stdout.flush()

    def finish(self):
        print("%d passed, %d failed, %d skipped in %.1f s"
              % (self.passes, len(self.fails), len(self.skips), time.monotonic() - self.t0))
        for s in self.skips:
            print("  skipped: %s" % s)
        return 1 if self.fails else 0
