"""Load for the gateway benchmarks: a fleet's registry, its message mix, a paced publisher.

The mix is what devices really send (CONTRACT.md): 80 % occupancy messages of four
15-minute periods (a sensor waking hourly), 15 % heartbeats, 5 % taps, from 5,000
sensors and 1,200 stations. Every message is dated in the past and unique per device,
so each point is its own and nothing overwrites anything in InfluxDB.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import select
import socket
import subprocess
import time
from pathlib import Path

from pletfri.services import pletfri_process
from pletfri.settings import Settings
from pletfri_fw import contract

SENSORS = [f"occ-{i:012x}" for i in range(5000)]
STATIONS = [f"nfc-{i:012x}" for i in range(1200)]
CARD = "0123456789abcdef"
HOUR_MS = 3_600_000
# Points per message of the mix: 0.80 x 4 + 0.15 + 0.05.
POINTS_PER_MESSAGE = 3.4
# QoS 1 messages the publisher has sent and the broker not yet acknowledged, at most.
INFLIGHT = 1000


def write_registry(s: Settings) -> None:
    rows = ["device,kind,building,room,room_type"]
    rows += [f"{d},sensor,b{i % 155:03d},r{i},classroom" for i, d in enumerate(SENSORS)]
    rows += [f"{d},station,b{i % 155:03d},r{i},classroom" for i, d in enumerate(STATIONS)]
    s.gateway.registry_file.parent.mkdir(parents=True, exist_ok=True)
    s.gateway.registry_file.write_text("\n".join(rows) + "\n")
    (s.gateway.registry_file.parent / "cards.csv").write_text(f"card,role\n{CARD},cleaner\n")


def messages(n: int, boot: int, base_ms: int) -> tuple[list[tuple[str, bytes]], int]:
    """n messages of the mix and the points they make; `boot` keeps rounds apart."""
    out: list[tuple[str, bytes]] = []
    pts = 0
    for i in range(n):
        kind = i % 20
        if kind < 16:
            dev = SENSORS[i % len(SENSORS)]
            t = base_ms + (i // len(SENSORS)) * HOUR_MS
            periods = [
                contract.period_record(900, motion=j, presence_s=60 * j, ts=t - (3 - j) * 900_000)
                for j in range(4)
            ]
            topic, body = contract.OCCUPANCY, contract.occupancy_payload(boot, i, periods, t)
            pts += 4
        elif kind < 19:
            dev = STATIONS[i % len(STATIONS)] if kind == 18 else SENSORS[(i * 7) % len(SENSORS)]
            t = base_ms + (i // 20) * 1000 + 7
            body = contract.heartbeat_payload(boot, i, {"batt_mv": 2900, "rssi": -60}, t)
            topic = contract.HEARTBEAT
            pts += 1
        else:
            dev = STATIONS[i % len(STATIONS)]
            t = base_ms + (i // 20) * 1000 + 11
            topic, body = contract.TAP, contract.tap_payload(boot, i, CARD, t)
            pts += 1
        out.append((contract.topic(dev, topic), json.dumps(body, separators=(",", ":")).encode()))
    return out, pts


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _packet(header: int, body: bytes) -> bytes:
    return bytes([header]) + _varint(len(body)) + body


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def _publish_packet(topic: str, payload: bytes, mid: int) -> bytes:
    # MQTT 5 PUBLISH, QoS 1: topic, packet id, no properties, payload.
    return _packet(0x32, _utf8(topic) + mid.to_bytes(2, "big") + b"\x00" + payload)


class _Pubacks:
    """Counts the broker's PUBACKs in the bytes it sends back."""

    def __init__(self) -> None:
        self.buf = b""
        self.count = 0

    def feed(self, data: bytes) -> None:
        buf = self.buf + data
        pos = 0
        while pos + 2 <= len(buf):
            size = shift = 0
            end = pos + 1
            while end < len(buf):
                size |= (buf[end] & 0x7F) << shift
                shift += 7
                end += 1
                if not buf[end - 1] & 0x80:
                    break
            else:
                break
            if end + size > len(buf):
                break
            if buf[pos] >> 4 == 4:  # PUBACK
                if size > 2 and buf[end + 2] >= 0x80:
                    raise RuntimeError(f"the broker refused a message: reason {buf[end + 2]:#x}")
                self.count += 1
            pos = end + size
        self.buf = buf[pos:]


def _publish(port: int, rate: float, msgs: list[tuple[str, bytes]], result: mp.Queue) -> None:
    # Raw MQTT over one socket rather than paho: the packets are encoded before timing and
    # sent in paced slices, so the load generator costs a few us per message instead of
    # paho's ~40-90 (more when its inflight queue backs up), CPU that the gateway and the
    # plain subscriber under test would otherwise not get on a 2-core machine.
    packets = [_publish_packet(t, p, i % 65535 + 1) for i, (t, p) in enumerate(msgs)]
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    connect = b"\x00\x04MQTT\x05\x02\x00\x00\x00" + _utf8(f"bench-pub-{os.getpid()}")
    sock.sendall(_packet(0x10, connect))
    connack = sock.recv(64)
    if len(connack) < 4 or connack[0] != 0x20 or connack[3] != 0:
        raise RuntimeError(f"the broker refused the publisher: {connack!r}")
    acks = _Pubacks()
    sent = 0
    t0, cpu0 = time.monotonic(), time.process_time()
    while sent < len(packets):
        due = min(len(packets), int((time.monotonic() - t0) * rate) + 1, acks.count + INFLIGHT)
        if due > sent:
            sock.sendall(b"".join(packets[sent:due]))
            sent = due
        if sent - acks.count >= INFLIGHT:
            wait = 0.005
        else:
            wait = min(0.005, max(0.0, (sent + 1) / rate - (time.monotonic() - t0)))
        if select.select([sock], [], [], wait)[0]:
            data = sock.recv(65536)
            if not data:
                raise RuntimeError(f"the broker closed the connection after {sent} messages")
            acks.feed(data)
    t_sent = time.monotonic()
    deadline = t_sent + 120
    sock.settimeout(0.1)
    while acks.count < len(packets) and time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        if not data:
            break
        acks.feed(data)
    result.put(
        {
            "t0": t0,
            "t_sent": t_sent,
            "t_acked": time.monotonic(),
            "acked": acks.count,
            "cpu_s": time.process_time() - cpu0,
        }
    )
    sock.sendall(b"\xe0\x00")  # DISCONNECT, normal
    sock.close()


def start_publisher(
    port: int, rate: float, msgs: list[tuple[str, bytes]]
) -> tuple[mp.Process, mp.Queue]:
    """A paced QoS 1 publisher in a process of its own (the messages are made beforehand)."""
    q: mp.Queue = mp.Queue()
    p = mp.get_context("fork").Process(target=_publish, args=(port, rate, msgs, q), daemon=True)
    p.start()
    return p, q


def gateway_process(s: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`pletfri gateway run` as production runs it: its own process."""
    return pletfri_process(s, ["gateway", "run"], log, PLETFRI_LOG_LEVEL="WARNING")
