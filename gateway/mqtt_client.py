"""paho's Client with buffered socket reads and no Nagle delay, for the gateway.

paho reads each packet with three or more recv() calls (command byte, length bytes one
at a time, body), and each call releases and re-takes the GIL, so with the gateway's
other threads busy the network thread waits for the GIL several times per message.
Here the plain TCP socket is read 64 KiB at a time and paho is served from that
buffer; `pending()`, the hook paho already uses for TLS sockets, tells its loop that
buffered bytes are waiting, and `loop_read` goes on while they are. TLS sockets buffer
on their own and are left as they are.

`ack_many` acknowledges a committed group of QoS 1 messages as one write: paho's `ack`
queues each PUBACK as its own packet, with a wake-up byte to its loop and a send() each.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from typing import Any

import paho.mqtt.client as mqtt

CHUNK = 65536
# Packets handled per loop turn at most, so writes (acks) and keepalive still get turns.
MAX_BURST = 500
# PUBACK without reason code or properties (success), MQTT 3.1.1 and 5: type, length 2, mid.
PUBACK = struct.Struct("!BBH")


class BufferedSocket:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, n: int) -> bytes:
        if self._pos >= len(self._buf):
            data = self._sock.recv(CHUNK)  # BlockingIOError and b"" (closed) go to paho
            if not data:
                return data
            self._buf, self._pos = data, 0
        out = self._buf[self._pos : self._pos + n]
        self._pos += len(out)
        return out

    def pending(self) -> int:
        return len(self._buf) - self._pos

    def __getattr__(self, name: str) -> Any:
        # send, fileno, close, setblocking, ...: the socket's own.
        return getattr(self._sock, name)


class Client(mqtt.Client):
    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
            # paho leaves Nagle on: a tap's ack queued behind a stream of small PUBACKs
            # would wait for the broker's delayed TCP ACK (about 40 ms).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return BufferedSocket(sock) if isinstance(sock, socket.socket) else sock

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        rc = super().loop_read(max_packets)
        for _ in range(MAX_BURST):
            sock = self._sock
            if rc or not isinstance(sock, BufferedSocket) or not sock.pending():
                break
            rc = super().loop_read(max_packets)
        return rc

    def ack_many(self, mids: Iterable[int]) -> None:
        """PUBACK each QoS 1 message id, all in one queued packet (needs manual_ack)."""
        packet = b"".join([PUBACK.pack(mqtt.PUBACK, 2, mid) for mid in mids])
        if packet:
            # paho writes queued bytes as they are; the broker reads them as separate PUBACKs.
            self._packet_queue(mqtt.PUBACK, packet, 0, 0)
