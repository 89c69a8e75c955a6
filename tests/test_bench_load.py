"""The gateway benchmarks' load generator: what it sends is what the broker delivers.

bench/gateway_load.py writes MQTT by hand (so it costs little CPU); a subscriber on the
real broker must get every message, topic and payload as made, and the publisher must
count exactly the broker's PUBACKs.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from pletfri.services import Stack

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import gateway_load


def test_pubacks_counted_across_arbitrary_splits() -> None:
    # Two v5 PUBACKs (short form and with a success reason code), then a PINGRESP.
    stream = b"\x40\x02\x00\x01" + b"\x40\x03\x00\x02\x00" + b"\xd0\x00"
    for cut in range(len(stream) + 1):
        acks = gateway_load._Pubacks()
        acks.feed(stream[:cut])
        acks.feed(stream[cut:])
        assert acks.count == 2
        assert acks.buf == b""


def test_pubacks_refusal_is_an_error() -> None:
    acks = gateway_load._Pubacks()
    with pytest.raises(RuntimeError, match="0x87"):
        acks.feed(b"\x40\x03\x00\x01\x87")


def test_publisher_delivers_every_message_as_made(stack: Stack) -> None:
    made, _ = gateway_load.messages(3000, 1, int(time.time() * 1000) - 86_400_000)
    # A tree of its own: the session's broker holds other tests' retained statuses.
    root = f"loadtest/{uuid.uuid4().hex}/"
    msgs = [(root + topic, payload) for topic, payload in made]
    # A payload longer than 127 bytes needs a two-byte remaining length.
    msgs.append((root + "occ-000000000001/heartbeat", b"x" * 300))
    got: list[tuple[str, bytes]] = []
    subscribed = threading.Event()
    sub = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="bench-load-test", protocol=mqtt.MQTTv5
    )
    sub.on_message = lambda c, u, m: got.append((m.topic, m.payload))
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect("127.0.0.1", stack.mosquitto.port)
    sub.subscribe(root + "#", qos=1)
    sub.loop_start()
    try:
        assert subscribed.wait(10)
        pub, result = gateway_load.start_publisher(stack.mosquitto.port, 5000.0, msgs)
        r = result.get(timeout=60)
        pub.join(10)
        deadline = time.monotonic() + 20
        while len(got) < len(msgs) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert r["acked"] == len(msgs)
    assert sorted(got) == sorted(msgs)
    # Paced: 3,001 messages at 5,000/s take about 0.6 s, not an unpaced burst.
    assert r["t_sent"] - r["t0"] >= 0.5
