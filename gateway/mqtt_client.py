"""paho's Client with buffered socket reads and no Nagle delay, for the gateway.

paho reads each packet with three or more recv() calls (command byte, length bytes one
at a time, body), and each call releases and re-takes the GIL, so with the gateway's
other threads busy the network thread waits for the GIL several times per message.
Here the plain TCP socket is read 64 KiB at a time and paho is served from that
buffer; `pending()`, the hook paho already uses for TLS sockets, tells its loop that
buffered bytes are waiting, and `loop_read` goes on while they are. TLS sockets buffer
on their own and are left as they are.

`on_publish_raw`, when set, takes each incoming QoS 0/1 PUBLISH as (topic, payload, mid,
qos) straight from the packet: paho's own path builds a `Properties` object (dozens of
dicts and attributes), an `MQTTMessage` and runs its topic matcher and two mutexes for
every message, about a fifth of the network thread's time, none of which the gateway
uses. QoS 2 and clients without manual_ack keep paho's path.

`ack_many` acknowledges a committed group of QoS 1 messages as one write: paho's `ack`
queues each PUBACK as its own packet, with a wake-up byte to its loop and a send() each.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.exception import MalformedPacket

CHUNK = 65536
# Packets handled per loop turn at most, so writes (acks) and keepalive still get turns.
MAX_BURST = 500
# PUBACK without reason code or properties (success), MQTT 3.1.1 and 5: type, length 2, mid.
PUBACK = struct.Struct("!BBH")
# (topic as sent, payload, mid, qos), on paho's network thread.
RawPublish = Callable[[bytes, bytes, int, int], None]


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
    on_publish_raw: RawPublish | None = None

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

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        handler = self.on_publish_raw
        header = self._in_packet["command"]
        qos = (header & 0x06) >> 1
        if handler is None or qos > 1 or not self._manual_ack:
            return super()._handle_publish()
        handler(*_decode_publish(self._in_packet["packet"], qos, self._protocol == mqtt.MQTTv5))
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS


def _decode_publish(packet: bytearray, qos: int, v5: bool) -> tuple[bytes, bytes, int, int]:
    """A PUBLISH after its fixed header: topic, payload, mid (0 at QoS 0), qos (MQTT 3.1.4)."""
    end = len(packet)
    if end < 2:
        raise MalformedPacket("PUBLISH shorter than its topic length")
    pos = 2 + int.from_bytes(packet[0:2], "big")
    topic = bytes(packet[2:pos])
    mid = 0
    if qos:
        mid = int.from_bytes(packet[pos : pos + 2], "big")
        pos += 2
    if v5:
        # Properties: a variable byte integer length, then that many bytes (skipped: the
        # gateway uses none, and the broker sends no topic alias since none was allowed).
        size = shift = 0
        while True:
            if pos >= end or shift > 21:
                raise MalformedPacket("PUBLISH with a malformed property length")
            byte = packet[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        pos += size
    if pos > end:
        raise MalformedPacket("PUBLISH shorter than its header says")
    return topic, bytes(packet[pos:]), mid, qos
