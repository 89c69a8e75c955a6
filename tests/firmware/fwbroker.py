"""A QoS 1 subscriber with a persistent session: what the platform would receive."""

from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


class Collector:
    """A persistent-session QoS 1 subscriber: what the platform would receive."""

    def __init__(self, port: int, topic: str) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="collector", protocol=mqtt.MQTTv5)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600

        def on_connect(client, userdata, flags, rc, p):  # type: ignore[no-untyped-def]
            client.subscribe(topic, qos=1)
            self.ready.set()

        def on_message(client, userdata, m):  # type: ignore[no-untyped-def]
            with self.lock:
                self.messages.append((m.topic, m.payload, m.retain))

        c.on_connect = on_connect
        c.on_message = on_message
        c.reconnect_delay_set(0.1, 0.5)
        c.connect("127.0.0.1", port, 30, clean_start=False, properties=props)
        c.loop_start()
        assert self.ready.wait(5)
        self.client = c

    def taps(self) -> set[tuple[int, int]]:
        with self.lock:
            return {
                (json.loads(p)["boot"], json.loads(p)["seq"])
                for t, p, _ in self.messages
                if t.endswith("/tap")
            }

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def payloads(self, channel: str) -> list[bytes]:
        with self.lock:
            return [p for t, p, _ in self.messages if t.endswith("/" + channel)]
