"""The device's MQTT link interface over paho-mqtt 2.x, for firmware logic run under CPython.

Speaks MQTT 3.1.1 with a clean session, a Last Will and QoS 1, as the device does. paho's
network thread only queues what arrives; `poll()` hands it to the logic in the caller's
thread, so the logic stays single-threaded as on the device. Reconnecting is the uplink's
job: after a drop this link stays down until `open()` is called again.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class PahoLink:
    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        user: str | None = None,
        password: str | None = None,
        keepalive_s: int = 60,
        timeout_s: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.client_id = client_id
        self.user = user
        self.password = password
        self.keepalive_s = keepalive_s
        self.timeout_s = timeout_s
        self.on_message: Callable[[str, bytes], None] | None = None
        self.on_puback: Callable[[int], None] | None = None
        self._client: mqtt.Client | None = None
        self._events: collections.deque[tuple[str, Any, Any]] = collections.deque()
        self._up = False

    def up(self) -> bool:
        return self._up

    def open(self, will_topic: str, will_payload: bytes, now_ms: int) -> None:
        self.close(False)
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv311
        )
        if self.user:
            c.username_pw_set(self.user, self.password)
        c.will_set(will_topic, will_payload, qos=1, retain=True)
        connected = threading.Event()
        result: list[Any] = []

        def on_connect(client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
            result.append(reason_code)
            connected.set()

        def on_disconnect(client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
            self._events.append(("down", None, None))

        c.on_connect = on_connect
        c.on_disconnect = on_disconnect
        c.on_publish = lambda client, u, mid, rc, p: self._events.append(("ack", mid, None))
        c.on_message = lambda client, u, m: self._events.append(("msg", m.topic, m.payload))
        try:
            c.connect(self.host, self.port, self.keepalive_s)
        except OSError as e:
            raise OSError(f"cannot reach the broker at {self.host}:{self.port}: {e}") from e
        c.loop_start()
        if not connected.wait(self.timeout_s) or result[0].is_failure:
            c.loop_stop()
            c.disconnect()
            why = result[0] if result else f"no CONNACK within {self.timeout_s:.0f} s"
            raise OSError(f"broker at {self.host}:{self.port} refused: {why}")
        self._events.clear()
        self._client = c
        self._up = True

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        if self._client is None:
            raise OSError("not connected")
        info = self._client.publish(topic, payload, qos, retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            self.close(False)
            raise OSError(f"publish failed: {mqtt.error_string(info.rc)}")
        return info.mid if qos else 0

    def subscribe(self, topics: list[str], qos: int = 1) -> None:
        if self._client is None:
            raise OSError("not connected")
        self._client.subscribe([(t, qos) for t in topics])

    def poll(self, now_ms: int) -> None:
        while self._events:
            kind, a, b = self._events.popleft()
            if kind == "ack" and self.on_puback:
                self.on_puback(a)
            elif kind == "msg" and self.on_message:
                self.on_message(a, b)
            elif kind == "down":
                self.close(False)
                raise OSError("connection to the broker lost")

    def close(self, clean: bool = True) -> None:
        c = self._client
        self._client = None
        self._up = False
        if c is None:
            return
        if clean:
            c.disconnect()
        else:
            # No DISCONNECT packet: the broker publishes the Will, as after a crash.
            sock = c.socket()
            if sock is not None:
                sock.close()
        c.loop_stop()


def clear_retained(host: str, port: int, topics: list[str]) -> None:
    """Remove retained messages (an empty retained publish each), so a broker shared by
    several tests does not hand one test's device status to the next."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
    c.connect(host, port)
    c.loop_start()
    try:
        for t in topics:
            c.publish(t, b"", qos=1, retain=True).wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()
