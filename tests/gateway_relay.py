#!/usr/bin/env python3
"""gateway_relay.py LISTEN_PORT TARGET_IP TARGET_PORT SWITCH_AFTER -
a UDP relay in front of a client that changes its source port mid-transfer.

It listens on 127.0.0.1:LISTEN_PORT, forwards each client datagram to the
target from its current outgoing socket, and sends what comes back to the
client's latest address. After SWITCH_AFTER client datagrams it opens a new
outgoing socket (a new source port: to the gateway the client has moved)
and closes the old one, so answers to the old port are lost, as they are
when a NAT rebinds. Prints "switched" when it does; stops after 120 s."""
import select, socket, sys, time

listen_port, target_ip, target_port, switch_after = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
front.bind(("127.0.0.1", listen_port))
back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
client, forwarded, switched = None, 0, False
deadline = time.time() + 120
while time.time() < deadline:
    ready, _, _ = select.select([front, back], [], [], 0.5)
    for sock in ready:
        if sock.fileno() < 0:
            continue                      # the old outgoing socket, closed by the switch
        data, addr = sock.recvfrom(4096)
        if sock is front:
            client = addr
            back.sendto(data, (target_ip, target_port))
            forwarded += 1
            if forwarded == switch_after and not switched:
                back.close()
                back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                switched = True
                print("switched after %d datagrams" % forwarded, flush=True)
        elif client is not None:
            front.sendto(data, client)
