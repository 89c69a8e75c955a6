"""Many simulated devices over a few real MQTT connections, paced so the broker keeps up.

A real device has a connection of its own; thousands of them would cost thousands of
sockets and threads here, so devices share a few paho clients (picked by a hash of the
device id, so a device's messages stay in order). What a shared connection cannot carry
is a per-device Last Will: the fleet publishes the retained `offline` status itself when
it takes a device off the air, as the broker would have done.

Publishing is paced by a token bucket: an unpaced QoS 1 flood makes Mosquitto collapse
(shared/research/baselines.md). The clients have no network threads: `publish` writes to
the socket at once and `pump()` reads broker acknowledgements and downlink messages and
hands them to the devices, all in the caller's thread. Four network threads fighting the
fleet for the interpreter lock cost more than the fleet itself; and the firmware logic
stays single-threaded, as on the device.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import zlib
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pletfri.settings import MqttSettings
from pletfri_fw import contract

log = logging.getLogger(__name__)

Acked = Callable[[], None]
Incoming = Callable[[str, str, bytes], None]  # device, channel, payload


class LinkError(Exception):
    pass


class Pool:
    def __init__(
        self,
        settings: MqttSettings,
        connections: int,
        rate: float,
        max_inflight: int = 2000,
        client_prefix: str = "pletfri-sim",
    ) -> None:
        self.rate = rate
        self.max_inflight = max_inflight
        self.published = 0
        self.acked = 0
        # Messages by channel, and the occupancy period records inside them.
        self.sent: collections.Counter[str] = collections.Counter()
        self.periods = 0
        self._tokens = 0.0
        self._last = time.monotonic()
        self._pending: dict[tuple[int, int], Acked | None] = {}
        self._acks: collections.deque[tuple[int, int]] = collections.deque()
        self._inbox: collections.deque[tuple[str, bytes]] = collections.deque()
        self._connected = [threading.Event() for _ in range(connections)]
        self._settings = settings
        self.on_message: Incoming | None = None
        self._subscriptions: list[str] = []
        self.clients = [self._client(i, f"{client_prefix}-{i}") for i in range(connections)]

    def _client(self, i: int, client_id: str) -> mqtt.Client:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if self._settings.username:
            c.username_pw_set(self._settings.username, self._settings.password)
        c.max_inflight_messages_set(self.max_inflight)

        def on_connect(client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
            if reason_code.is_failure:
                log.error("broker refused simulator connection %d: %s", i, reason_code)
                return
            if self._subscriptions:
                client.subscribe([(t, 1) for t in self._subscriptions])
            self._connected[i].set()

        c.on_connect = on_connect
        # paho calls these with its own locks held: only queue here.
        c.on_publish = lambda client, u, mid, rc, p: self._acks.append((i, mid))
        c.on_message = lambda client, u, m: self._inbox.append((m.topic, m.payload))
        return c

    def subscribe(self, channels: tuple[str, ...]) -> None:
        """Receive these downlink channels for every device (before `start`)."""
        self._subscriptions = [contract.subscription(ch) for ch in channels]

    def start(self, timeout: float = 10.0) -> None:
        for c in self.clients:
            c.connect(self._settings.host, self._settings.port, self._settings.keepalive_s)
        deadline = time.monotonic() + timeout
        while not all(ev.is_set() for ev in self._connected):
            if time.monotonic() > deadline:
                raise LinkError(
                    f"simulator connections to {self._settings.host}:{self._settings.port} "
                    f"not up within {timeout:.0f} s; is the broker running?"
                )
            for c in self.clients:
                c.loop(timeout=0.01)

    def stop(self) -> None:
        for c in self.clients:
            c.disconnect()
            c.loop(timeout=0.1)

    def _index(self, device: str) -> int:
        return zlib.crc32(device.encode()) % len(self.clients)

    def _pace(self) -> None:
        while True:
            now = time.monotonic()
            self._tokens = min(self.rate / 10, self._tokens + (now - self._last) * self.rate)
            self._last = now
            inflight = self.published - self.acked
            if self._tokens >= 1 and inflight < self.max_inflight * len(self.clients):
                self._tokens -= 1
                return
            self.pump()
            time.sleep(0.002)

    def publish(
        self,
        device: str,
        channel: str,
        payload: bytes | str,
        qos: int = 1,
        retain: bool = False,
        on_acked: Acked | None = None,
    ) -> None:
        """Send one device's message; `on_acked` runs in `pump()` once the broker has it."""
        self._pace()
        i = self._index(device)
        info = self.clients[i].publish(contract.topic(device, channel), payload, qos, retain)
        self.published += 1
        self.sent[channel] += 1
        if channel == contract.OCCUPANCY:
            raw = payload.encode() if isinstance(payload, str) else payload
            self.periods += raw.count(b'"period_s"')
        if qos == 0:
            self.acked += 1
            if on_acked:
                on_acked()
            return
        self._pending[(i, info.mid)] = on_acked

    def pump(self) -> None:
        """Read and write the sockets; hand acknowledgements and downlink to the devices."""
        for c in self.clients:
            rc = c.loop(timeout=0)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                raise LinkError(
                    f"simulator connection to the broker failed: {mqtt.error_string(rc)}"
                )
        while self._acks:
            # `publish` recorded the mid before this thread could see its ack.
            cb = self._pending.pop(self._acks.popleft(), None)
            self.acked += 1
            if cb:
                cb()
        while self._inbox:
            topic, payload = self._inbox.popleft()
            parts = contract.parse_topic(topic)
            if parts and self.on_message:
                self.on_message(parts[0], parts[1], payload)

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until the broker has acknowledged everything published."""
        deadline = time.monotonic() + timeout
        while self.published > self.acked:
            self.pump()
            if time.monotonic() > deadline:
                raise LinkError(
                    f"{self.published - self.acked} messages not acknowledged by the broker "
                    f"within {timeout:.0f} s"
                )
            time.sleep(0.005)
