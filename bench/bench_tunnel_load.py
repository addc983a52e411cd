#!/usr/bin/env python3
"""bench_tunnel_load.py - the TCP ends of bench_tunnel.sh.

  serve PORT            a TCP service on 127.0.0.1:PORT: a connection
                        whose first byte is b"S" is a sink (it counts the
                        bytes to EOF, answers the count and closes), any
                        other is an echo (FIN answered with FIN)
  bulk PORT MB          send MB megabytes through PORT to a sink, print
                        MB/s (from connect to the sink's answer)
  conns PORT SECONDS    new connection + 10-byte echo + close, repeated
                        for SECONDS; print connections per second
  rtt PORT COUNT        10-byte round trips on one open connection; print
                        the median in microseconds

The service runs one thread per connection; the clients are sequential,
so each figure is the tunnel's latency or throughput for one connection
at a time."""
import os
import socket
import statistics
import sys
import threading
import time


def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1024)

    def handle(c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            first = c.recv(1 << 16)
            if first[:1] == b"S":
                total = len(first) - 1
                buf = bytearray(1 << 20)
                while True:
                    n = c.recv_into(buf)
                    if not n:
                        break
                    total += n
                c.sendall(str(total).encode())
            else:
                d = first
                while d:
                    c.sendall(d)
                    d = c.recv(1 << 16)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        c.close()
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def connect(port):
    c = socket.create_connection(("127.0.0.1", port), timeout=60)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def bulk(port, mb):
    total = mb * 1000 * 1000
    block = os.urandom(1 << 20)
    t0 = time.monotonic()
    c = connect(port)
    c.sendall(b"S")
    left = total
    while left > 0:
        n = min(left, len(block))
        c.sendall(block[:n])
        left -= n
    c.shutdown(socket.SHUT_WR)
    answer = b""
    while True:
        d = c.recv(100)
        if not d:
            break
        answer += d
    elapsed = time.monotonic() - t0
    c.close()
    if answer != str(total).encode():
        sys.exit("bulk: the sink counted %r, not %d" % (answer, total))
    print("%.1f" % (total / 1e6 / elapsed))


def echo10(c):
    c.sendall(b"0123456789")
    got = b""
    while len(got) < 10:
        d = c.recv(10 - len(got))
        if not d:
            sys.exit("echo: EOF")
        got += d


def conns(port, seconds):
    n = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        c = connect(port)
        echo10(c)
        c.close()
        n += 1
    print("%.1f" % (n / (time.monotonic() - t0)))


def rtt(port, count):
    c = connect(port)
    for _ in range(20):            # warm up
        echo10(c)
    times = []
    for _ in range(count):
        t0 = time.monotonic_ns()
        echo10(c)
        times.append(time.monotonic_ns() - t0)
    c.close()
    print("%.1f" % (statistics.median(times) / 1000))


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "serve":
        serve(port)
    elif mode == "bulk":
        bulk(port, int(sys.argv[3]))
    elif mode == "conns":
        conns(port, float(sys.argv[3]))
    elif mode == "rtt":
        rtt(port, int(sys.argv[3]))
    else:
        sys.exit("bench_tunnel_load.py serve|bulk|conns|rtt PORT [ARG]")
